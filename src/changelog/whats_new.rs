//! "What's new": when the newest changelog post was published, kept per node so that the
//! header can mark the Changelog link for members who have not read it since, without a
//! query on every page. Loaded at start-up, refreshed when a changelog event arrives (the
//! event follower) and at once on the node that published.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::NaiveDateTime;

use crate::accounts::User;
use crate::db::Db;
use crate::error::AppError;
use crate::events::{Event, StoredEvent};

/// No post published yet.
const NONE: i64 = i64::MIN;

#[derive(Clone)]
pub struct WhatsNew {
    latest_millis: Arc<AtomicI64>,
}

impl Default for WhatsNew {
    fn default() -> Self {
        WhatsNew {
            latest_millis: Arc::new(AtomicI64::new(NONE)),
        }
    }
}

impl WhatsNew {
    pub fn load(db: &Db) -> Result<WhatsNew, AppError> {
        let w = WhatsNew::default();
        w.refresh(db)?;
        Ok(w)
    }

    pub fn refresh(&self, db: &Db) -> Result<(), AppError> {
        let latest = db.read_sync(crate::db::changelog::latest_published_at)?;
        self.latest_millis.store(
            latest.map_or(NONE, |t| t.and_utc().timestamp_millis()),
            Ordering::Relaxed,
        );
        Ok(())
    }

    pub fn latest(&self) -> Option<NaiveDateTime> {
        match self.latest_millis.load(Ordering::Relaxed) {
            NONE => None,
            ms => chrono::DateTime::from_timestamp_millis(ms).map(|t| t.naive_utc()),
        }
    }

    /// Has a post been published since the member last opened the changelog (or, if they
    /// never did, since they joined)?
    pub fn is_new_for(&self, user: &User) -> bool {
        let seen = user.changelog_seen_at.unwrap_or(user.created_at);
        self.latest().is_some_and(|latest| latest > seen)
    }
}

/// Keeps a node's [`WhatsNew`] current from the event log.
pub struct WhatsNewSubscriber {
    pub db: Db,
    pub whats_new: WhatsNew,
}

impl crate::followers::Subscriber for WhatsNewSubscriber {
    fn name(&self) -> &'static str {
        "what's new"
    }

    fn apply(&self, batch: &[StoredEvent]) {
        let changed = batch.iter().any(|e| {
            matches!(
                e.event,
                Some(Event::ChangelogSaved { .. } | Event::ChangelogPublished { .. })
            )
        });
        if changed && let Err(e) = self.whats_new.refresh(&self.db) {
            tracing::warn!(error = %e, "could not reload the changelog's latest date");
        }
    }
}
