//! "Related solved topics" (and knowledge-base articles): the derived lists a topic page
//! shows, and the queue of topics whose list is due (src/search/related.rs computes them).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::forum::public_topic;
use super::schema::{
    categories, kb_articles, kb_sections, related_computed, related_topics, topics,
};
use crate::error::AppError;
use crate::subject::Subject;

/// One entry of a topic's related list, as shown: a solved topic or a published article.
#[derive(Debug, Clone, Queryable)]
pub struct RelatedTopic {
    pub id: i64,
    pub slug: String,
    pub title: String,
    /// The topic's category, or the article's section.
    pub category: String,
    pub article: bool,
}

/// How a list entry's kind is stored.
fn kind_of(s: Subject) -> &'static str {
    match s {
        Subject::Article(_) => "article",
        _ => "topic",
    }
}

/// Entries a stored list holds at most (`search::related::SHOWN`).
pub const MAX_LIST: usize = 5;

/// A topic's stored list, in rank order, without what is no longer solved, listed or there.
/// Two small queries rather than one join: a join's plan depends on table statistics, and
/// PostgreSQL, before it had analysed a freshly filled `related_topics`, hash-joined it
/// against every topic (200 ms a page). The ids are padded to a fixed count so that the
/// statement text, and so SQLite's prepared statement, is the same for every topic.
pub fn related_to(conn: &mut DbConn, topic_id: i64) -> Result<Vec<RelatedTopic>, AppError> {
    let entries: Vec<(i64, String)> = related_topics::table
        .filter(related_topics::topic_id.eq(topic_id))
        .order(related_topics::rank)
        .limit(MAX_LIST as i64)
        .select((related_topics::related_id, related_topics::related_kind))
        .load(conn)?;
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let pick = |kind: &str| -> Vec<i64> {
        let mut ids: Vec<i64> = entries
            .iter()
            .filter(|(_, k)| k == kind)
            .map(|(id, _)| *id)
            .collect();
        ids.resize(MAX_LIST, -1);
        ids
    };
    let topic_ids = pick("topic");
    let mut found: Vec<RelatedTopic> = if topic_ids[0] >= 0 {
        topics::table
            .inner_join(categories::table.on(categories::id.eq(topics::category_id)))
            .filter(topics::id.eq_any(&topic_ids))
            .filter(public_topic())
            .filter(topics::solved_post_id.is_not_null())
            .select((
                topics::id,
                topics::slug,
                topics::title,
                categories::name,
                diesel::dsl::sql::<diesel::sql_types::Bool>("FALSE"),
            ))
            .load(conn)?
    } else {
        Vec::new()
    };
    let article_ids = pick("article");
    if article_ids[0] >= 0 {
        found.extend(
            kb_articles::table
                .inner_join(kb_sections::table.on(kb_sections::id.eq(kb_articles::section_id)))
                .filter(kb_articles::id.eq_any(&article_ids))
                .filter(kb_articles::status.eq("published"))
                .select((
                    kb_articles::id,
                    kb_articles::slug,
                    kb_articles::title,
                    kb_sections::name,
                    diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE"),
                ))
                .load::<RelatedTopic>(conn)?,
        );
    }
    found.sort_by_key(|r| {
        entries
            .iter()
            .position(|(id, kind)| *id == r.id && (kind == "article") == r.article)
    });
    Ok(found)
}

/// The start of time: a list computed "then" is due before any other.
pub fn epoch() -> NaiveDateTime {
    chrono::DateTime::UNIX_EPOCH.naive_utc()
}

/// Marks topics' lists as due now (their content changed, or they are new).
pub fn mark_due(conn: &mut DbConn, topic_ids: &[i64]) -> Result<(), AppError> {
    for chunk in topic_ids.chunks(200) {
        diesel::delete(related_computed::table.filter(related_computed::topic_id.eq_any(chunk)))
            .execute(conn)?;
        // Row by row: the two-engine connection has no multi-row INSERT.
        for id in chunk {
            diesel::insert_into(related_computed::table)
                .values((
                    related_computed::topic_id.eq(*id),
                    related_computed::computed_at.eq(epoch()),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Takes up to `limit` due lists (computed before `due_before`, oldest first) and stamps them
/// with `now`, so that another node does not take them too. Returns (topic id, title) of each
/// topic that still exists.
pub fn claim_due(
    conn: &mut DbConn,
    due_before: NaiveDateTime,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(i64, String)>, AppError> {
    let ids: Vec<i64> = related_computed::table
        .filter(related_computed::computed_at.lt(due_before))
        .order((related_computed::computed_at, related_computed::topic_id))
        .limit(limit)
        .select(related_computed::topic_id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(related_computed::table.filter(related_computed::topic_id.eq_any(&ids)))
        .set(related_computed::computed_at.eq(now))
        .execute(conn)?;
    Ok(topics::table
        .filter(topics::id.eq_any(&ids))
        .filter(topics::deleted_at.is_null())
        .order(topics::id)
        .select((topics::id, topics::title))
        .load(conn)?)
}

/// Replaces a topic's stored list (topics and articles; other subjects are not kept).
pub fn store(conn: &mut DbConn, topic_id: i64, related: &[Subject]) -> Result<(), AppError> {
    diesel::delete(related_topics::table.filter(related_topics::topic_id.eq(topic_id)))
        .execute(conn)?;
    let kept = related
        .iter()
        .filter(|s| matches!(s, Subject::Topic(_) | Subject::Article(_)));
    for (rank, s) in kept.enumerate() {
        diesel::insert_into(related_topics::table)
            .values((
                related_topics::topic_id.eq(topic_id),
                related_topics::rank.eq(rank as i32),
                related_topics::related_id.eq(s.id()),
                related_topics::related_kind.eq(kind_of(*s)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
