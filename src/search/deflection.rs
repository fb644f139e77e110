//! Deflection: answers offered while a customer writes a question, and what they did next.
//! Each new-topic form carries a random "flow" id; the `deflection.*` events below and the flow id in
//! `topic.created` let reports count questions answered before they were asked.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::db::Db;
use crate::error::AppError;
use crate::events::{self, Event};

/// A flow id as issued by the new-topic form (anything else is ignored).
pub fn valid_flow(flow: &str) -> bool {
    crate::tokens::looks_like_token(flow)
}

/// Flows whose suggestions were already recorded on this node, so that typing does not
/// write an event per keystroke.
#[derive(Default)]
pub struct Recorded(Mutex<HashSet<String>>);

impl Recorded {
    fn first_time(&self, flow: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.clear();
        }
        seen.insert(flow.to_string())
    }
}

pub fn record_suggested(
    db: &Db,
    recorded: &Recorded,
    flow: &str,
    user_id: Option<i64>,
    query: &str,
    topic_ids: &[u64],
) -> Result<(), AppError> {
    if topic_ids.is_empty() || !valid_flow(flow) || !recorded.first_time(flow) {
        return Ok(());
    }
    let query: String = query.chars().take(200).collect();
    db.write_sync(|conn| {
        events::append(
            conn,
            &Event::DeflectionSuggested {
                flow: flow.into(),
                query: query.clone(),
                topic_ids: topic_ids.to_vec(),
            },
            None,
            user_id,
        )?;
        Ok(())
    })
}

/// A suggested topic was opened from a deflection flow: returns the topic (to go there),
/// recording the open when the flow id is valid. A topic visitors may not see is `NotFound`.
pub fn open_suggestion(
    db: &Db,
    flow: &str,
    user_id: Option<i64>,
    topic_id: i64,
) -> Result<crate::db::forum::TopicRow, AppError> {
    let topic = db
        .read_sync(|c| crate::db::forum::topic(c, topic_id))?
        .filter(|t| crate::subject::is_public(crate::forum::topic_visibility(t)))
        .ok_or(AppError::NotFound)?;
    record_opened(db, flow, user_id, topic_id)?;
    Ok(topic)
}

fn record_opened(db: &Db, flow: &str, user_id: Option<i64>, topic_id: i64) -> Result<(), AppError> {
    if !valid_flow(flow) {
        return Ok(());
    }
    db.write_sync(|conn| {
        crate::db::forum::add_deflection_open(conn, topic_id)?;
        events::append(
            conn,
            &Event::DeflectionOpened { flow: flow.into() },
            Some(topic_id),
            user_id,
        )?;
        Ok(())
    })
}
