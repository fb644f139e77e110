//! Page views of topics and articles ("most viewed", and which solved problems customers
//! reach most). Counted in memory per node, cached pages included, and added to the
//! database every few seconds in one small transaction: a page view never costs a write.

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
    topics: HashMap<i64, i64>,
    articles: HashMap<String, i64>,
}

impl Views {
    /// Counts a GET of `path` when it is a topic (`/t/{slug}/{id}`) or an article
    /// (`/kb/{slug}`); anything else is ignored.
    pub fn record(&self, path: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.topics.len() + counts.articles.len() >= MAX_KEYS {
            return;
        }
        if let Some(rest) = path.strip_prefix("/t/") {
            let id = rest.rsplit('/').next().and_then(|s| s.parse::<i64>().ok());
            if let Some(id) = id.filter(|_| rest.contains('/')) {
                *counts.topics.entry(id).or_default() += 1;
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
            for (id, n) in &counts.topics {
                crate::db::forum::add_views(conn, *id, *n)?;
            }
            for (slug, n) in &counts.articles {
                if let Some(a) = crate::db::kb::article_by_slug(conn, slug)? {
                    crate::db::kb::add_views(conn, a.id, *n)?;
                }
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
            v.record(p);
        }
        let c = v.take();
        assert_eq!(c.topics.get(&7), Some(&2));
        assert_eq!(c.articles.get("reset"), Some(&1));
        assert_eq!(c.topics.len() + c.articles.len(), 2);
    }
}
