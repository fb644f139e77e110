//! "Related solved topics" (and knowledge-base articles), derived in the background so that a topic page reads a stored
//! list instead of running a search on every view (that search was ~60% of an uncached
//! topic page's CPU). Lists live in the database (`related_topics`), so every node serves
//! the same ones and a restart keeps them; any node may compute them.
//!
//! A list is due when its topic is new or its content changed (noted from the event log,
//! exactly once across nodes through a shared cursor) or when it is older than a week (so that
//! newly solved topics reach older lists). Each round claims a few due lists under a lock,
//! computes them outside any transaction and stores them.

use std::collections::BTreeSet;
use std::time::Duration;

use super::SearchIndex;
use crate::db::{self, Db, notifications as cursors, related};
use crate::error::AppError;
use crate::events::{self, Event, StoredEvent};

/// How many related topics a page shows.
pub const SHOWN: usize = crate::db::related::MAX_LIST;
const CURSOR: &str = "related_topics";
const EVENT_BATCH: i64 = 500;
/// Lists computed per round: a few tens of milliseconds of searching.
const CLAIM: i64 = 32;
const REFRESH_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(7);
const IDLE: Duration = Duration::from_millis(200);

/// Starts this node's related-topics thread.
pub fn spawn(db: Db, index: SearchIndex) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("related-topics".into())
        .spawn(move || {
            loop {
                match round(&db, &index) {
                    Ok(true) => {}
                    Ok(false) => std::thread::sleep(IDLE),
                    Err(e) => {
                        tracing::warn!(error = %e, "related topics: round failed; retrying");
                        std::thread::sleep(Duration::from_secs(2));
                    }
                }
            }
        })?;
    Ok(())
}

/// The topic whose own list an event makes due, if any.
fn changed_topic(e: &StoredEvent) -> Option<i64> {
    match e.event.as_ref()? {
        Event::TopicCreated { .. }
        | Event::TopicSolved { .. }
        | Event::TopicUnsolved { .. }
        | Event::TopicMoved { .. } => e.subject_id,
        Event::PostEdited { topic_id, .. } => Some(*topic_id),
        _ => None,
    }
}

/// One round; true when there may be more to do right away.
pub fn round(db: &Db, index: &SearchIndex) -> Result<bool, AppError> {
    // Only events this node's index already reflects: a list computed earlier would miss what
    // made it due. Nothing before the index's first build.
    let indexed = index.live().applied_event();
    if indexed == 0 {
        return Ok(false);
    }
    let more_events = db.write_sync(|conn| {
        db::advisory_lock(conn, db::RELATED_LOCK)?;
        let cursor = cursors::cursor(conn, CURSOR)?;
        let mut batch = events::after(conn, cursor, EVENT_BATCH)?;
        batch.retain(|e| e.id <= indexed);
        let Some(last) = batch.last().map(|e| e.id) else {
            return Ok(false);
        };
        let due: BTreeSet<i64> = batch.iter().filter_map(changed_topic).collect();
        related::mark_due(conn, &due.into_iter().collect::<Vec<_>>())?;
        cursors::set_cursor(conn, CURSOR, last)?;
        // A full batch that the index has wholly applied: more may be waiting.
        Ok(batch.len() as i64 == EVENT_BATCH)
    })?;
    let now = db::now();
    let claimed = db.write_sync(|conn| {
        db::advisory_lock(conn, db::RELATED_LOCK)?;
        related::claim_due(conn, now - REFRESH_AFTER, now, CLAIM)
    })?;
    let mut lists = Vec::with_capacity(claimed.len());
    let mut failed = Vec::new();
    for (id, title) in &claimed {
        match index.related_subjects(title, *id, SHOWN) {
            Ok(ids) => lists.push((*id, ids)),
            Err(e) => {
                tracing::warn!(topic = id, error = %e, "related topics: search failed");
                failed.push(*id);
            }
        }
    }
    if !claimed.is_empty() {
        db.write_sync(|conn| {
            for (id, list) in &lists {
                related::store(conn, *id, list)?;
            }
            related::mark_due(conn, &failed)
        })?;
    }
    Ok(more_events || claimed.len() as i64 == CLAIM)
}
