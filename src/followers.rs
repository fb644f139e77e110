//! Followers of the `events` table: everything derived from the log, and how each one gets
//! its events. The events themselves (kinds and payloads) are `src/events.rs`; followers read
//! them typed (`crate::events::after` → [`StoredEvent`]) and skip rows they cannot read.
//!
//! | subscriber | code | thread | delivery |
//! | --- | --- | --- | --- |
//! | notifications | `notifications::process` | event follower (below) | exactly once across nodes: shared cursor `notifications` in `follower_cursors`, moved in the same transaction as the rows it writes, under `NOTIFIER_LOCK` |
//! | settings snapshot | [`SnapshotSubscriber`](crate::settings::SnapshotSubscriber) | event follower, as a [`Subscriber`] | per node, every batch after start-up (start-up loads the current state) |
//! | visitors' page cache | `web::page_cache::PageCache` | event follower, as a [`Subscriber`] | per node, every batch after start-up (the cache starts empty) |
//! | search index | `search::indexer` | `search-indexer` | per node; the cursor is the last event id in the index's own commit |
//! | related topics | `search::related` | `related-topics` | exactly once across nodes: shared cursor `related_topics` in `follower_cursors`, under `RELATED_LOCK`, only up to what this node's index has applied |
//!
//! Work due at a time rather than on an event (expiring sessions, maintenance windows,
//! response-time reminders) is a job of `crate::scheduler`: once across nodes, restart-safe.
//!
//! A new capability that keeps per-node state (a snapshot, a cache) implements [`Subscriber`]
//! and is added to the list `cli.rs` passes to [`spawn`] (in order: the page cache stays last,
//! so that pages rendered after it empties see the other subscribers' new state). Work that
//! must happen once however many nodes run (mail, notifications) keeps a shared cursor in
//! `follower_cursors` and moves it in the transaction that records its work, as
//! `notifications::process` does; state that costs its own loop (an index) runs its own
//! thread like the search indexer. Add a row to the table above either way.
//!
//! Nothing is shared between nodes but the database.

use std::time::Duration;

use crate::db::{self, Db};
use crate::events::{self, StoredEvent};

const POLL_EVERY: Duration = Duration::from_millis(250);
const BATCH: i64 = 500;

/// Per-node derived state, told about every batch of new events (oldest first) on this
/// node's event-follower thread, after notifications were derived from it.
pub trait Subscriber: Send {
    /// For logs.
    fn name(&self) -> &'static str;
    /// Brings the state up to date with `batch`. Rows this version cannot read come with
    /// `event: None`; treat them as "anything may have changed" or skip them.
    fn apply(&self, batch: &[StoredEvent]);
}

impl<S: Subscriber + Sync> Subscriber for std::sync::Arc<S> {
    fn name(&self) -> &'static str {
        S::name(self)
    }

    fn apply(&self, batch: &[StoredEvent]) {
        S::apply(self, batch)
    }
}

/// Starts this node's event-follower thread with its subscribers (called in this order with
/// each batch); it begins after the newest event, since start-up already loaded the current
/// state.
pub fn spawn(db: Db, subscribers: Vec<Box<dyn Subscriber>>) -> std::io::Result<()> {
    let start = db.read_sync(db::events::last_id).unwrap_or(0);
    let names: Vec<&str> = subscribers.iter().map(|s| s.name()).collect();
    tracing::debug!(subscribers = ?names, "event follower starts");
    std::thread::Builder::new()
        .name("event-follower".into())
        .spawn(move || follow(db, start, subscribers))?;
    Ok(())
}

fn follow(db: Db, mut last: i64, subscribers: Vec<Box<dyn Subscriber>>) {
    // Events written while no node ran still need their notifications.
    let mut notify = true;
    loop {
        match db.read_sync(|conn| events::after(conn, last, BATCH)) {
            Ok(batch) => {
                notify |= !batch.is_empty();
                if notify {
                    // Retried on the next poll when it fails.
                    notify = match crate::notifications::process(&db) {
                        Ok(_) => false,
                        Err(e) => {
                            tracing::warn!(error = %e, "could not derive notifications");
                            true
                        }
                    };
                }
                if let Some(e) = batch.last() {
                    last = e.id;
                }
                if !batch.is_empty() {
                    for subscriber in &subscribers {
                        subscriber.apply(&batch);
                    }
                }
                if batch.len() as i64 == BATCH {
                    continue; // more waiting: no sleep
                }
            }
            Err(e) => tracing::warn!(error = %e, "event follower could not read events"),
        }
        std::thread::sleep(POLL_EVERY);
    }
}
