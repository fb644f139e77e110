//! Page views of topics and articles ("most viewed", and which solved problems customers
//! reach most), and which topic views came from this site's search results. Counted in
//! memory per node, cached pages included, and added to the database every few seconds in
//! one small transaction: a page view never costs a write.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::db::Db;
use crate::error::AppError;

const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Distinct pages remembered between flushes; beyond it new ones wait for the next round.
const MAX_KEYS: usize = 50_000;

#[derive(Default)]
pub struct Views {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    /// Topic id → (views, of which opened from search results).
    topics: HashMap<i64, (i64, i64)>,
    articles: HashMap<String, i64>,
}

impl Views {
    /// Counts a GET of `path` when it is a topic (`/t/{slug}/{id}`) or an article
    /// (`/kb/{slug}`); anything else is ignored. `from_search`: the visitor came from a
    /// results page of this site's search.
    pub fn record(&self, path: &str, from_search: bool) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.topics.len() + counts.articles.len() >= MAX_KEYS {
            return;
        }
        if let Some(rest) = path.strip_prefix("/t/") {
            let id = rest.rsplit('/').next().and_then(|s| s.parse::<i64>().ok());
            if let Some(id) = id.filter(|_| rest.contains('/')) {
                let entry = counts.topics.entry(id).or_default();
                entry.0 += 1;
                entry.1 += i64::from(from_search);
            }
        } else if let Some(slug) = path
            .strip_prefix("/kb/")
            .filter(|s| !s.is_empty() && !s.contains(['/', '.']) && s.len() <= 100)
        {
            *counts.articles.entry(slug.to_string()).or_default() += 1;
        }
    }

    fn take(&self) -> Counts {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds the counts so far to the database.
    pub fn flush(&self, db: &Db) -> Result<(), AppError> {
        let counts = self.take();
        if counts.topics.is_empty() && counts.articles.is_empty() {
            return Ok(());
        }
        db.write_sync(|conn| {
            for (id, (n, from_search)) in &counts.topics {
                crate::forum::add_views_in(conn, *id, *n, *from_search)?;
            }
            for (slug, n) in &counts.articles {
                crate::kb::add_views_in(conn, slug, *n)?;
            }
            Ok(())
        })
    }
}

/// Flushes `views` every few seconds on a thread of its own.
pub fn spawn(db: Db, views: std::sync::Arc<Views>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("views".into())
        .spawn(move || {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                if let Err(e) = views.flush(&db) {
                    tracing::debug!(error = %e, "page views not saved this round");
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_topics_and_articles_only() {
        let v = Views::default();
        for p in [
            "/t/a-b/7",
            "/t/a-b/7",
            "/t/7",
            "/kb/reset",
            "/kb/reset.json",
            "/kb",
            "/latest",
        ] {
            v.record(p, false);
        }
        v.record("/t/a-b/7", true);
        let c = v.take();
        assert_eq!(c.topics.get(&7), Some(&(3, 1)));
        assert_eq!(c.articles.get("reset"), Some(&1));
        assert_eq!(c.topics.len() + c.articles.len(), 2);
    }
}
