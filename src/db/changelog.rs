//! Changelog posts, what each links to, their old slugs, and who last read the changelog.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::AggregateExpressionMethods;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::{changelog_links, changelog_posts, changelog_slug_redirects, topics, users};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = changelog_posts)]
pub struct ChangelogRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    #[serde(skip)]
    pub raw: String,
    #[serde(skip)]
    pub cooked: String,
    pub label_new: bool,
    pub label_improved: bool,
    pub label_fixed: bool,
    pub status: String,
    #[serde(skip)]
    pub author_id: i64,
    pub published_on: NaiveDate,
    pub published_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub loop_closed_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ChangelogRow {
    pub fn is_published(&self) -> bool {
        self.status == "published"
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = changelog_links)]
pub struct LinkRow {
    pub post_id: i64,
    pub subject_kind: String,
    pub subject_id: i64,
}

pub struct Fields<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub raw: &'a str,
    pub cooked: &'a str,
    pub labels: [bool; 3],
    pub status: &'a str,
    pub published_on: NaiveDate,
}

pub fn insert(
    conn: &mut DbConn,
    f: &Fields,
    author_id: i64,
    at: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(diesel::insert_into(changelog_posts::table)
        .values((
            changelog_posts::slug.eq(f.slug),
            changelog_posts::title.eq(f.title),
            changelog_posts::raw.eq(f.raw),
            changelog_posts::cooked.eq(f.cooked),
            changelog_posts::label_new.eq(f.labels[0]),
            changelog_posts::label_improved.eq(f.labels[1]),
            changelog_posts::label_fixed.eq(f.labels[2]),
            changelog_posts::status.eq(f.status),
            changelog_posts::author_id.eq(author_id),
            changelog_posts::published_on.eq(f.published_on),
            changelog_posts::created_at.eq(at),
            changelog_posts::updated_at.eq(at),
        ))
        .returning(changelog_posts::id)
        .get_result(conn)?)
}

pub fn update(conn: &mut DbConn, id: i64, f: &Fields, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(changelog_posts::table.find(id))
        .set((
            changelog_posts::slug.eq(f.slug),
            changelog_posts::title.eq(f.title),
            changelog_posts::raw.eq(f.raw),
            changelog_posts::cooked.eq(f.cooked),
            changelog_posts::label_new.eq(f.labels[0]),
            changelog_posts::label_improved.eq(f.labels[1]),
            changelog_posts::label_fixed.eq(f.labels[2]),
            changelog_posts::status.eq(f.status),
            changelog_posts::published_on.eq(f.published_on),
            changelog_posts::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A draft becomes published as it stands (the "Publish" button).
pub fn set_published(
    conn: &mut DbConn,
    id: i64,
    published_on: NaiveDate,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(changelog_posts::table.find(id))
        .set((
            changelog_posts::status.eq("published"),
            changelog_posts::published_on.eq(published_on),
            changelog_posts::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the first publication (`published_at` is kept across later edits).
pub fn mark_published(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(changelog_posts::table.find(id))
        .filter(changelog_posts::published_at.is_null())
        .set(changelog_posts::published_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

/// Claims the closing of a post's loop: true for the one transaction that sets
/// `loop_closed_at`. A second one publishing at the same moment (another node, on
/// PostgreSQL) waits for the row, then finds it set and gets false.
pub fn claim_loop(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<bool, AppError> {
    let claimed = diesel::update(changelog_posts::table.find(id))
        .filter(changelog_posts::loop_closed_at.is_null())
        .set(changelog_posts::loop_closed_at.eq(Some(at)))
        .execute(conn)?;
    Ok(claimed == 1)
}

pub fn post(conn: &mut DbConn, id: i64) -> Result<Option<ChangelogRow>, AppError> {
    Ok(changelog_posts::table
        .find(id)
        .select(ChangelogRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<ChangelogRow>, AppError> {
    Ok(changelog_posts::table
        .filter(changelog_posts::slug.eq(slug))
        .select(ChangelogRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn posts_by_ids(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<ChangelogRow>, AppError> {
    Ok(changelog_posts::table
        .filter(changelog_posts::id.eq_any(ids))
        .select(ChangelogRow::as_select())
        .load(conn)?)
}

/// Is `slug` used by another post, now or as one of its old slugs?
pub fn slug_taken(conn: &mut DbConn, slug: &str, except: Option<i64>) -> Result<bool, AppError> {
    let except = except.unwrap_or(-1);
    let posts: i64 = changelog_posts::table
        .filter(changelog_posts::slug.eq(slug))
        .filter(changelog_posts::id.ne(except))
        .count()
        .get_result(conn)?;
    let redirects: i64 = changelog_slug_redirects::table
        .filter(changelog_slug_redirects::old_slug.eq(slug))
        .filter(changelog_slug_redirects::post_id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(posts + redirects > 0)
}

/// Keeps `old_slug` leading to the post; a post taking a slug back drops its redirect.
pub fn rename(conn: &mut DbConn, old_slug: &str, new_slug: &str, id: i64) -> Result<(), AppError> {
    diesel::delete(changelog_slug_redirects::table.find(new_slug)).execute(conn)?;
    diesel::delete(changelog_slug_redirects::table.find(old_slug)).execute(conn)?;
    diesel::insert_into(changelog_slug_redirects::table)
        .values((
            changelog_slug_redirects::old_slug.eq(old_slug),
            changelog_slug_redirects::post_id.eq(id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn redirect_target(conn: &mut DbConn, old_slug: &str) -> Result<Option<i64>, AppError> {
    Ok(changelog_slug_redirects::table
        .find(old_slug)
        .select(changelog_slug_redirects::post_id)
        .first(conn)
        .optional()?)
}

/// Replaces what a post links to.
pub fn set_links(conn: &mut DbConn, id: i64, links: &[(&str, i64)]) -> Result<(), AppError> {
    diesel::delete(changelog_links::table.filter(changelog_links::post_id.eq(id))).execute(conn)?;
    for (kind, subject_id) in links {
        diesel::insert_into(changelog_links::table)
            .values((
                changelog_links::post_id.eq(id),
                changelog_links::subject_kind.eq(*kind),
                changelog_links::subject_id.eq(*subject_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn links_of(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<LinkRow>, AppError> {
    Ok(changelog_links::table
        .filter(changelog_links::post_id.eq_any(ids))
        .order((changelog_links::post_id, changelog_links::subject_kind))
        .select(LinkRow::as_select())
        .load(conn)?)
}

/// Published posts that link one of `kinds` with `subject_id`, newest first.
pub fn published_linking(
    conn: &mut DbConn,
    kinds: &[&str],
    subject_id: i64,
) -> Result<Vec<ChangelogRow>, AppError> {
    Ok(changelog_posts::table
        .inner_join(changelog_links::table)
        .filter(changelog_links::subject_kind.eq_any(kinds.to_vec()))
        .filter(changelog_links::subject_id.eq(subject_id))
        .filter(changelog_posts::status.eq("published"))
        .order((
            changelog_posts::published_on.desc(),
            changelog_posts::id.desc(),
        ))
        .select(ChangelogRow::as_select())
        .load(conn)?)
}

/// Which label a list is filtered by (index into `Fields::labels`).
pub fn list(
    conn: &mut DbConn,
    published_only: bool,
    label: Option<usize>,
    offset: i64,
    limit: i64,
) -> Result<Vec<ChangelogRow>, AppError> {
    let mut q = changelog_posts::table
        .select(ChangelogRow::as_select())
        .order((
            changelog_posts::published_on.desc(),
            changelog_posts::id.desc(),
        ))
        .offset(offset)
        .limit(limit)
        .into_boxed();
    if published_only {
        q = q.filter(changelog_posts::status.eq("published"));
    }
    match label {
        Some(0) => q = q.filter(changelog_posts::label_new.eq(true)),
        Some(1) => q = q.filter(changelog_posts::label_improved.eq(true)),
        Some(2) => q = q.filter(changelog_posts::label_fixed.eq(true)),
        _ => {}
    }
    Ok(q.load(conn)?)
}

pub fn drafts(conn: &mut DbConn) -> Result<Vec<ChangelogRow>, AppError> {
    Ok(changelog_posts::table
        .filter(changelog_posts::status.eq("draft"))
        .order(changelog_posts::updated_at.desc())
        .select(ChangelogRow::as_select())
        .load(conn)?)
}

/// When the newest published post was first published.
pub fn latest_published_at(conn: &mut DbConn) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(changelog_posts::table
        .filter(changelog_posts::status.eq("published"))
        .select(diesel::dsl::max(changelog_posts::published_at))
        .first(conn)?)
}

/// Published post ids after `after`, for the search index and the sitemap.
pub fn published_ids_after(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, AppError> {
    Ok(changelog_posts::table
        .filter(changelog_posts::status.eq("published"))
        .filter(changelog_posts::id.gt(after))
        .order(changelog_posts::id)
        .limit(limit)
        .select(changelog_posts::id)
        .load(conn)?)
}

/// (published posts, of which link an idea or topic that a customer started).
pub fn customer_share(conn: &mut DbConn) -> Result<(i64, i64), AppError> {
    let published: i64 = changelog_posts::table
        .filter(changelog_posts::status.eq("published"))
        .count()
        .get_result(conn)?;
    let from_customers = changelog_posts::table
        .inner_join(changelog_links::table)
        .inner_join(topics::table.on(topics::id.eq(changelog_links::subject_id)))
        .inner_join(users::table.on(users::id.eq(topics::user_id)))
        .filter(changelog_posts::status.eq("published"))
        .filter(changelog_links::subject_kind.eq_any(["idea", "topic"]))
        .filter(users::role.eq("member"))
        .select(diesel::dsl::count(changelog_posts::id).aggregate_distinct())
        .get_result::<i64>(conn)?;
    Ok((published, from_customers))
}

/// The member has read the changelog up to now.
pub fn set_seen(conn: &mut DbConn, user_id: i64, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set(users::changelog_seen_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}
