//! Per-node memo of how ideas rank (the ordered ids of a category's list for one status
//! filter and sort) and of the status counts beside it. Ranking means reading every idea
//! of the category (2 ms for 2,000 ideas on SQLite, and trending counts a month of votes:
//! 15 ms), which members' uncached lists would otherwise pay on every request. Derived
//! data: emptied by every event that can change a ranking (this node's writes empty it at
//! once, other nodes' through the event follower), and kept at most a minute so that
//! trending's 30-day window moves on.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Sort, Status};
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::{Event, StoredEvent};

type Key = (Option<i64>, Option<Status>, Sort);

#[derive(Clone)]
pub struct Rankings {
    order: moka::sync::Cache<Key, Arc<Vec<i64>>>,
    counts: moka::sync::Cache<Option<i64>, Arc<HashMap<Status, i64>>>,
    /// The roadmap as visitors see it (a member's own votes are marked on a copy).
    roadmap: moka::sync::Cache<(), Arc<super::Roadmap>>,
    /// Bumped by every invalidation: a ranking computed across one is not kept (it may
    /// predate the write that caused it).
    generation: Arc<AtomicU64>,
}

impl Default for Rankings {
    fn default() -> Self {
        let ttl = Duration::from_secs(60);
        Rankings {
            order: moka::sync::Cache::builder()
                .max_capacity(2_000)
                .time_to_live(ttl)
                .build(),
            counts: moka::sync::Cache::builder()
                .max_capacity(200)
                .time_to_live(ttl)
                .build(),
            roadmap: moka::sync::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build(),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Rankings {
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.order.invalidate_all();
        self.counts.invalidate_all();
        self.roadmap.invalidate_all();
    }

    /// The roadmap, from `compute` when it is not memoized.
    pub fn roadmap(
        &self,
        compute: impl FnOnce() -> Result<super::Roadmap, AppError>,
    ) -> Result<Arc<super::Roadmap>, AppError> {
        if let Some(hit) = self.roadmap.get(&()) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let map = Arc::new(compute()?);
        if self.generation.load(Ordering::SeqCst) == generation {
            self.roadmap.insert((), map.clone());
        }
        Ok(map)
    }

    /// The ids of every listed idea of `category` with `status`, ranked by `sort`.
    pub fn order(
        &self,
        conn: &mut DbConn,
        category: Option<i64>,
        status: Option<Status>,
        sort: Sort,
    ) -> Result<Arc<Vec<i64>>, AppError> {
        let key = (category, status, sort);
        if let Some(hit) = self.order.get(&key) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let statuses = status.map(|s| [s.as_str()]);
        let ids = Arc::new(crate::db::ideas::ranked_ids(
            conn,
            &crate::db::ideas::IdeaFilter {
                category_id: category,
                statuses: statuses.as_ref().map(|s| s.as_slice()),
                order: super::order_of(sort),
                offset: 0,
                limit: i64::from(i32::MAX),
            },
        )?);
        if self.generation.load(Ordering::SeqCst) == generation {
            self.order.insert(key, ids.clone());
        }
        Ok(ids)
    }

    /// Listed ideas per status in `category`.
    pub fn counts(
        &self,
        conn: &mut DbConn,
        category: Option<i64>,
    ) -> Result<Arc<HashMap<Status, i64>>, AppError> {
        if let Some(hit) = self.counts.get(&category) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let counts: HashMap<Status, i64> = crate::db::ideas::status_counts(conn, category)?
            .into_iter()
            .filter_map(|(s, n)| Status::parse(&s).map(|s| (s, n)))
            .collect();
        let counts = Arc::new(counts);
        if self.generation.load(Ordering::SeqCst) == generation {
            self.counts.insert(category, counts.clone());
        }
        Ok(counts)
    }
}

/// Can this event change how ideas rank or count, or what the roadmap shows? Votes,
/// statuses and merges; topics created, moved, hidden or shown; first posts edited (a title)
/// or deleted; categories changed.
fn changes_rankings(e: &Event) -> bool {
    let kind = e.kind();
    kind.starts_with("idea.")
        || kind.starts_with("topic.")
        || kind.starts_with("category.")
        || matches!(e, Event::PostDeleted { .. } | Event::PostEdited { .. })
}

/// Keeps a node's [`Rankings`] current from the event log.
pub struct RankingsSubscriber {
    pub rankings: Rankings,
}

impl crate::followers::Subscriber for RankingsSubscriber {
    fn name(&self) -> &'static str {
        "idea rankings"
    }

    fn apply(&self, batch: &[StoredEvent]) {
        // An event this version cannot read might be one of them.
        if batch
            .iter()
            .any(|e| e.event.as_ref().is_none_or(changes_rankings))
        {
            self.rankings.invalidate();
        }
    }
}
