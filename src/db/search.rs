//! What the search indexer reads: topics with everything a document needs, in batches.

use diesel::prelude::*;

use super::DbConn;
use super::forum::{Author, PostRow, TopicRow, public_post, public_topic};
use super::schema::{categories, posts, tags, topic_tags, topics, users};
use crate::error::AppError;

/// A topic as the index sees it: only when listed and not deleted, with visible posts.
pub struct TopicForIndex {
    pub topic: TopicRow,
    pub category_slug: String,
    pub tags: Vec<String>,
    pub posts: Vec<(PostRow, Author)>,
}

/// Ids of indexable topics after `after`, in id order.
pub fn topic_ids_after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<i64>, AppError> {
    Ok(topics::table
        .filter(topics::id.gt(after))
        .filter(public_topic())
        .order(topics::id.asc())
        .limit(limit)
        .select(topics::id)
        .load(conn)?)
}

pub fn topic_ids_in_category(conn: &mut DbConn, category_id: i64) -> Result<Vec<i64>, AppError> {
    Ok(topics::table
        .filter(topics::category_id.eq(category_id))
        .select(topics::id)
        .load(conn)?)
}

/// The indexable topics among `ids` with categories, tags and visible posts (three queries).
pub fn topics_for_index(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<TopicForIndex>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(TopicRow, String)> = topics::table
        .inner_join(categories::table)
        .filter(topics::id.eq_any(ids))
        .filter(public_topic())
        .select((TopicRow::as_select(), categories::slug))
        .load(conn)?;
    let live: Vec<i64> = rows.iter().map(|(t, _)| t.id).collect();
    let tag_rows: Vec<(i64, String)> = topic_tags::table
        .inner_join(tags::table)
        .filter(topic_tags::topic_id.eq_any(&live))
        .select((topic_tags::topic_id, tags::name))
        .load(conn)?;
    let post_rows: Vec<(PostRow, Author)> = posts::table
        .inner_join(users::table)
        .filter(posts::topic_id.eq_any(&live))
        .filter(public_post())
        .order((posts::topic_id.asc(), posts::post_number.asc()))
        .select((PostRow::as_select(), Author::as_select()))
        .load(conn)?;
    let mut by_topic: std::collections::HashMap<i64, Vec<(PostRow, Author)>> =
        std::collections::HashMap::new();
    for (p, a) in post_rows {
        by_topic.entry(p.topic_id).or_default().push((p, a));
    }
    Ok(rows
        .into_iter()
        .map(|(topic, category_slug)| TopicForIndex {
            tags: tag_rows
                .iter()
                .filter(|(t, _)| *t == topic.id)
                .map(|(_, n)| n.clone())
                .collect(),
            posts: by_topic.remove(&topic.id).unwrap_or_default(),
            category_slug,
            topic,
        })
        .collect())
}

/// One post with its topic, for indexing a new reply without re-reading the whole topic.
pub fn post_for_index(conn: &mut DbConn, post_id: i64) -> Result<Option<TopicForIndex>, AppError> {
    let Some((post, author)) = posts::table
        .inner_join(users::table)
        .filter(posts::id.eq(post_id))
        .filter(public_post())
        .select((PostRow::as_select(), Author::as_select()))
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut topic = topics_for_index_headers(conn, post.topic_id)?;
    if let Some(t) = topic.as_mut() {
        t.posts = vec![(post, author)];
    }
    Ok(topic)
}

fn topics_for_index_headers(
    conn: &mut DbConn,
    topic_id: i64,
) -> Result<Option<TopicForIndex>, AppError> {
    let Some((topic, category_slug)) = topics::table
        .inner_join(categories::table)
        .filter(topics::id.eq(topic_id))
        .filter(public_topic())
        .select((TopicRow::as_select(), categories::slug))
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let tags = topic_tags::table
        .inner_join(tags::table)
        .filter(topic_tags::topic_id.eq(topic_id))
        .select(tags::name)
        .load(conn)?;
    Ok(Some(TopicForIndex {
        topic,
        category_slug,
        tags,
        posts: Vec::new(),
    }))
}
