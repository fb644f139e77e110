//! Ideas (topics in a category of kind "ideas"): their status, votes and merges.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::forum::TopicRow;
use super::schema::{categories, idea_votes, ideas, posts, topic_watches, topics};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ideas)]
pub struct IdeaRow {
    pub topic_id: i64,
    pub status: String,
    pub vote_count: i32,
    pub merged_into: Option<i64>,
    pub status_changed_at: NaiveDateTime,
    pub shipped_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// Makes `topic_id` an idea (open, no votes) unless it already is one.
pub fn ensure(conn: &mut DbConn, topic_id: i64, at: NaiveDateTime) -> Result<(), AppError> {
    if idea(conn, topic_id)?.is_none() {
        diesel::insert_into(ideas::table)
            .values((
                ideas::topic_id.eq(topic_id),
                ideas::status.eq("open"),
                ideas::status_changed_at.eq(at),
                ideas::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A category became one of ideas: each of its topics becomes an open idea.
pub fn adopt_category(conn: &mut DbConn, category_id: i64) -> Result<(), AppError> {
    let ids: Vec<(i64, NaiveDateTime)> = topics::table
        .filter(topics::category_id.eq(category_id))
        .select((topics::id, topics::created_at))
        .load(conn)?;
    for (id, at) in ids {
        ensure(conn, id, at)?;
    }
    Ok(())
}

pub fn idea(conn: &mut DbConn, topic_id: i64) -> Result<Option<IdeaRow>, AppError> {
    Ok(ideas::table
        .find(topic_id)
        .select(IdeaRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn ideas_by_ids(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<IdeaRow>, AppError> {
    Ok(ideas::table
        .filter(ideas::topic_id.eq_any(ids))
        .select(IdeaRow::as_select())
        .load(conn)?)
}

pub fn has_voted(conn: &mut DbConn, topic_id: i64, user_id: i64) -> Result<bool, AppError> {
    Ok(idea_votes::table
        .find((topic_id, user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Of `topic_ids`, those `user_id` voted for.
pub fn voted_among(
    conn: &mut DbConn,
    user_id: i64,
    topic_ids: &[i64],
) -> Result<Vec<i64>, AppError> {
    Ok(idea_votes::table
        .filter(idea_votes::user_id.eq(user_id))
        .filter(idea_votes::topic_id.eq_any(topic_ids))
        .select(idea_votes::topic_id)
        .load(conn)?)
}

/// Adds or withdraws one member's vote; returns whether anything changed. The change is
/// decided by the rows the statement touched, not by a read before it: two requests of one
/// member at once (two nodes on PostgreSQL) change the count once between them.
pub fn set_vote(
    conn: &mut DbConn,
    topic_id: i64,
    user_id: i64,
    vote: bool,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let changed = if vote {
        let row = (
            idea_votes::topic_id.eq(topic_id),
            idea_votes::user_id.eq(user_id),
            idea_votes::created_at.eq(at),
        );
        super::insert_or_ignore!(conn, idea_votes::table, row)
    } else {
        diesel::delete(idea_votes::table.find((topic_id, user_id))).execute(conn)?
    };
    if changed == 0 {
        return Ok(false);
    }
    let delta = if vote { 1 } else { -1 };
    diesel::update(ideas::table.find(topic_id))
        .set(ideas::vote_count.eq(ideas::vote_count + delta))
        .execute(conn)?;
    Ok(true)
}

pub fn set_status(
    conn: &mut DbConn,
    topic_id: i64,
    status: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let shipped_at = (status == "shipped").then_some(at);
    diesel::update(ideas::table.find(topic_id))
        .set((
            ideas::status.eq(status),
            ideas::status_changed_at.eq(at),
            ideas::shipped_at.eq(shipped_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks `from` merged into `into`; false when it was merged already (two staff merging it
/// at the same moment: the second waits for the row, then finds it taken). Its votes move
/// afterwards, in slices ([`move_votes`]).
pub fn claim_merge(
    conn: &mut DbConn,
    from: i64,
    into: i64,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let claimed = diesel::update(ideas::table.find(from))
        .filter(ideas::merged_into.is_null())
        .set((
            ideas::merged_into.eq(Some(into)),
            ideas::status_changed_at.eq(at),
        ))
        .execute(conn)?;
    Ok(claimed == 1)
}

/// Moves up to `limit` of `from`'s votes to `into` (a member who voted for both keeps one
/// vote) and keeps both counts equal to their rows. Returns (votes taken from `from`, votes
/// added to `into`); fewer than `limit` taken means none are left.
pub fn move_votes(
    conn: &mut DbConn,
    from: i64,
    into: i64,
    limit: i64,
) -> Result<(i64, i64), AppError> {
    let users: Vec<i64> = idea_votes::table
        .filter(idea_votes::topic_id.eq(from))
        .order(idea_votes::user_id)
        .limit(limit)
        .select(idea_votes::user_id)
        .load(conn)?;
    if users.is_empty() {
        return Ok((0, 0));
    }
    // INSERT … SELECT inside the database; a vote the member already gave the survivor
    // (even one given a moment ago) is skipped by the conflict clause, so only the rows
    // inserted count.
    let moving = idea_votes::table
        .filter(idea_votes::topic_id.eq(from))
        .filter(idea_votes::user_id.eq_any(&users))
        .select((
            into.into_sql::<diesel::sql_types::BigInt>(),
            idea_votes::user_id,
            idea_votes::created_at,
        ));
    let columns = (
        idea_votes::topic_id,
        idea_votes::user_id,
        idea_votes::created_at,
    );
    let added = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(idea_votes::table)
            .values(moving)
            .into_columns(columns)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(idea_votes::table)
            .values(moving)
            .into_columns(columns)
            .on_conflict_do_nothing()
            .execute(c)?,
    } as i32;
    let taken = diesel::delete(
        idea_votes::table
            .filter(idea_votes::topic_id.eq(from))
            .filter(idea_votes::user_id.eq_any(&users)),
    )
    .execute(conn)? as i32;
    diesel::update(ideas::table.find(into))
        .set(ideas::vote_count.eq(ideas::vote_count + added))
        .execute(conn)?;
    diesel::update(ideas::table.find(from))
        .set(ideas::vote_count.eq(ideas::vote_count - taken))
        .execute(conn)?;
    Ok((i64::from(taken), i64::from(added)))
}

/// How an ideas list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Votes,
    /// Votes since a time (the last 30 days), then all votes.
    Trending(NaiveDateTime),
    Newest,
    /// Shipped since a time, most recently shipped first.
    ShippedSince(NaiveDateTime),
}

pub struct IdeaFilter<'a> {
    /// `None`: every ideas category.
    pub category_id: Option<i64>,
    /// `None`: every status.
    pub statuses: Option<&'a [&'a str]>,
    pub order: Order,
    pub offset: i64,
    pub limit: i64,
}

/// One page of listed ideas (not deleted, not unlisted, not merged away), with their topics.
pub fn list(conn: &mut DbConn, f: &IdeaFilter) -> Result<Vec<(TopicRow, IdeaRow)>, AppError> {
    let ids = ranked_ids(conn, f)?;
    with_topics(conn, ids)
}

/// The ids of [`list`], in its order.
pub fn ranked_ids(conn: &mut DbConn, f: &IdeaFilter) -> Result<Vec<i64>, AppError> {
    let mut q = ideas::table
        .inner_join(topics::table.on(topics::id.eq(ideas::topic_id)))
        .filter(super::forum::public_topic())
        .filter(ideas::merged_into.is_null())
        .select((ideas::topic_id, ideas::vote_count, topics::created_at))
        .into_boxed();
    if let Some(c) = f.category_id {
        q = q.filter(topics::category_id.eq(c));
    }
    if let Some(s) = f.statuses {
        q = q.filter(ideas::status.eq_any(s.to_vec()));
    }
    let sorted = match f.order {
        Order::Votes => q.order((ideas::vote_count.desc(), ideas::topic_id.desc())),
        Order::Newest => q.order((topics::created_at.desc(), ideas::topic_id.desc())),
        Order::ShippedSince(since) => q
            .filter(ideas::shipped_at.ge(since))
            .order((ideas::shipped_at.desc(), ideas::topic_id.desc())),
        Order::Trending(since) => {
            // Every candidate with its recent votes, ranked here: a category holds hundreds
            // of ideas, not millions, and this keeps the query portable.
            let candidates: Vec<(i64, i32, NaiveDateTime)> = q.load(conn)?;
            let ids: Vec<i64> = candidates.iter().map(|c| c.0).collect();
            let recent: std::collections::HashMap<i64, i64> =
                recent_votes(conn, &ids, since)?.into_iter().collect();
            let mut ranked: Vec<(i64, i64, i32)> = candidates
                .iter()
                .map(|(id, votes, _)| (*id, recent.get(id).copied().unwrap_or(0), *votes))
                .collect();
            ranked.sort_by_key(|r| std::cmp::Reverse((r.1, r.2, r.0)));
            return Ok(ranked
                .into_iter()
                .skip(f.offset as usize)
                .take(f.limit as usize)
                .map(|r| r.0)
                .collect());
        }
    };
    Ok(sorted
        .offset(f.offset)
        .limit(f.limit)
        .load::<(i64, i32, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|r| r.0)
        .collect())
}

/// The topics and ideas of `ids`, in that order (ids without both are skipped).
pub fn with_topics(conn: &mut DbConn, ids: Vec<i64>) -> Result<Vec<(TopicRow, IdeaRow)>, AppError> {
    let mut topics_found = super::forum::topics_by_ids(conn, &ids)?;
    let mut found = ideas_by_ids(conn, &ids)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let (Some(t), Some(i)) = (
            topics_found.iter().position(|t| t.id == id),
            found.iter().position(|i| i.topic_id == id),
        ) else {
            continue;
        };
        out.push((topics_found.swap_remove(t), found.swap_remove(i)));
    }
    Ok(out)
}

/// Votes cast on each of `ids` since `since`.
pub fn recent_votes(
    conn: &mut DbConn,
    ids: &[i64],
    since: NaiveDateTime,
) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(idea_votes::table
        .filter(idea_votes::topic_id.eq_any(ids))
        .filter(idea_votes::created_at.ge(since))
        .group_by(idea_votes::topic_id)
        .select((idea_votes::topic_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// How many listed ideas each status has in a category (for the filter's counts).
pub fn status_counts(
    conn: &mut DbConn,
    category_id: Option<i64>,
) -> Result<Vec<(String, i64)>, AppError> {
    let mut q = ideas::table
        .inner_join(topics::table.on(topics::id.eq(ideas::topic_id)))
        .filter(super::forum::public_topic())
        .filter(ideas::merged_into.is_null())
        .group_by(ideas::status)
        .select((ideas::status, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(c) = category_id {
        q = q.filter(topics::category_id.eq(c));
    }
    Ok(q.load(conn)?)
}

/// Everyone who voted for, started or replied in any of `topic_ids`, without those who
/// muted the topic they took part in; sorted, each once.
pub fn voters_and_participants(conn: &mut DbConn, topic_ids: &[i64]) -> Result<Vec<i64>, AppError> {
    let mut people: Vec<i64> = idea_votes::table
        .filter(idea_votes::topic_id.eq_any(topic_ids))
        .select(idea_votes::user_id)
        .load(conn)?;
    people.extend(
        posts::table
            .filter(posts::topic_id.eq_any(topic_ids))
            .filter(posts::deleted_at.is_null())
            .select(posts::user_id)
            .distinct()
            .load::<i64>(conn)?,
    );
    people.sort_unstable();
    people.dedup();
    let mut muted: Vec<i64> = topic_watches::table
        .filter(topic_watches::topic_id.eq_any(topic_ids))
        .filter(topic_watches::level.eq("muted"))
        .select(topic_watches::user_id)
        .load(conn)?;
    muted.sort_unstable();
    people.retain(|p| muted.binary_search(p).is_err());
    Ok(people)
}

pub fn vote_total(conn: &mut DbConn, topic_ids: &[i64]) -> Result<i64, AppError> {
    Ok(idea_votes::table
        .filter(idea_votes::topic_id.eq_any(topic_ids))
        .count()
        .get_result(conn)?)
}

/// Ideas of every category with their topic rows, for the staff's numbers: (topic, idea).
pub fn all_with_topics(conn: &mut DbConn) -> Result<Vec<(TopicRow, IdeaRow)>, AppError> {
    Ok(ideas::table
        .inner_join(topics::table.on(topics::id.eq(ideas::topic_id)))
        .filter(topics::deleted_at.is_null())
        .select((TopicRow::as_select(), IdeaRow::as_select()))
        .load(conn)?)
}

/// The ideas categories, in display order.
pub fn ideas_categories(conn: &mut DbConn) -> Result<Vec<super::forum::CategoryRow>, AppError> {
    Ok(categories::table
        .filter(categories::kind.eq("ideas"))
        .order((categories::position.asc(), categories::name.asc()))
        .select(super::forum::CategoryRow::as_select())
        .load(conn)?)
}
