//! Followers of the `events` table. Each node runs its own: they read new events in id
//! order and bring this node's derived state (settings snapshot now; search index and
//! notifications later) up to date. Nothing is shared between nodes but the database.

use std::time::Duration;

use crate::db::{self, Db};
use crate::settings::{self, SETTINGS_CHANGED, Snapshot};

const POLL_EVERY: Duration = Duration::from_millis(250);
const BATCH: i64 = 500;

/// Told about every batch of new events, after the follower has applied it (the web layer
/// empties its page cache).
pub type OnEvents = Box<dyn Fn(&[db::events::Event]) + Send>;

/// Starts the follower thread; it begins after the newest event, since start-up already
/// loaded the current state.
pub fn spawn(db: Db, snapshot: Snapshot, on_events: OnEvents) -> std::io::Result<()> {
    let start = db.read_sync(db::events::last_id).unwrap_or(0);
    std::thread::Builder::new()
        .name("event-follower".into())
        .spawn(move || follow(db, snapshot, start, on_events))?;
    Ok(())
}

fn follow(db: Db, snapshot: Snapshot, mut last: i64, on_events: OnEvents) {
    // Events written while no node ran still need their notifications.
    let mut notify = true;
    loop {
        match db.read_sync(|conn| db::events::after(conn, last, BATCH)) {
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
                let settings_changed = batch.iter().any(|e| e.kind == SETTINGS_CHANGED);
                if let Some(e) = batch.last() {
                    last = e.id;
                }
                if settings_changed {
                    match settings::load(&db) {
                        Ok(s) => snapshot.set(s),
                        Err(e) => tracing::warn!(error = %e, "could not reload settings"),
                    }
                }
                if !batch.is_empty() {
                    on_events(&batch);
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
