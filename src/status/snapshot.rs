//! This node's copy of the status board, so that `/status`, the JSON API and the banner on
//! every page cost no query: rebuilt when a batch of events holds a status change (a
//! subscriber of the event follower, `src/followers.rs`), and once a minute so that the
//! uptime bars roll over at midnight and relative states stay right.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::board::{self, Board};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{Event, StoredEvent};

const REFRESH_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Snapshot(Arc<RwLock<Arc<Board>>>);

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot(Arc::new(RwLock::new(Arc::new(Board::empty(db::now())))))
    }
}

impl Snapshot {
    /// Loads the current board (at start-up).
    pub fn load(db: &Db) -> Result<Snapshot, AppError> {
        let s = Snapshot::default();
        s.refresh(db)?;
        Ok(s)
    }

    pub fn get(&self) -> Arc<Board> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn refresh(&self, db: &Db) -> Result<(), AppError> {
        let board = db.read_sync(|c| board::load(c, db::now()))?;
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(board);
        Ok(())
    }

    /// Starts the once-a-minute refresh.
    pub fn spawn_refresh(&self, db: Db) -> std::io::Result<()> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("status-refresh".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(REFRESH_EVERY);
                    if let Err(e) = me.refresh(&db) {
                        tracing::warn!(error = %e, "could not refresh the status board");
                    }
                }
            })?;
        Ok(())
    }
}

/// Whether an event changes what the status board shows.
pub fn changes_board(e: &StoredEvent) -> bool {
    match &e.event {
        Some(
            Event::StatusComponentSaved { .. }
            | Event::StatusComponentChanged { .. }
            | Event::IncidentOpened { .. }
            | Event::IncidentUpdated { .. }
            | Event::IncidentTopicLinked { .. }
            | Event::PostDeleted { .. },
        ) => true,
        Some(_) => false,
        None => true, // a kind from a newer version: anything may have changed
    }
}

/// Keeps this node's [`Snapshot`] current (a subscriber of the event follower).
pub struct SnapshotSubscriber {
    pub db: Db,
    pub snapshot: Snapshot,
}

impl crate::followers::Subscriber for SnapshotSubscriber {
    fn name(&self) -> &'static str {
        "status board"
    }

    fn apply(&self, batch: &[StoredEvent]) {
        if batch.iter().any(changes_board)
            && let Err(e) = self.snapshot.refresh(&self.db)
        {
            tracing::warn!(error = %e, "could not refresh the status board");
        }
    }
}
