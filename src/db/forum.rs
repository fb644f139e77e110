//! Categories, topics, posts, tags, likes, revisions and watches.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::{
    categories, category_watches, likes, post_revisions, posts, tags, topic_duplicates, topic_tags,
    topic_watches, topics, users,
};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub color: String,
    pub position: i32,
    pub staff_only: bool,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
    /// "discussion" or "ideas" (see `crate::ideas`).
    pub kind: String,
}

impl CategoryRow {
    /// Topics here are ideas that members vote on.
    pub fn is_ideas(&self) -> bool {
        self.kind == "ideas"
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = topics)]
pub struct TopicRow {
    pub id: i64,
    pub category_id: i64,
    pub user_id: i64,
    pub title: String,
    pub slug: String,
    pub created_at: NaiveDateTime,
    pub bumped_at: NaiveDateTime,
    pub last_poster_id: i64,
    pub reply_count: i32,
    pub like_count: i32,
    pub highest_post_number: i32,
    pub solved_post_id: Option<i64>,
    pub has_staff_reply: bool,
    pub locked: bool,
    pub pinned: bool,
    pub unlisted: bool,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct PostRow {
    pub id: i64,
    pub topic_id: i64,
    pub user_id: i64,
    pub post_number: i32,
    pub raw: String,
    pub cooked: String,
    pub created_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub version: i32,
    pub like_count: i32,
    pub deleted_at: Option<NaiveDateTime>,
    pub hidden_reason: Option<String>,
}

/// The part of a user that is shown beside their posts.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
pub struct Author {
    pub id: i64,
    pub username: String,
    pub role: String,
}

impl Author {
    pub fn is_staff(&self) -> bool {
        crate::accounts::Role::parse(&self.role).is_some_and(crate::accounts::Role::is_staff)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = post_revisions)]
pub struct RevisionRow {
    pub id: i64,
    pub post_id: i64,
    pub version: i32,
    pub editor_id: i64,
    pub raw_before: String,
    pub title_before: Option<String>,
    pub created_at: NaiveDateTime,
}

// ---- categories -------------------------------------------------------------------------

pub fn categories(conn: &mut DbConn) -> Result<Vec<CategoryRow>, AppError> {
    Ok(categories::table
        .order((categories::position.asc(), categories::name.asc()))
        .select(CategoryRow::as_select())
        .load(conn)?)
}

pub fn category_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<CategoryRow>, AppError> {
    Ok(categories::table
        .filter(categories::slug.eq(slug))
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn category(conn: &mut DbConn, id: i64) -> Result<Option<CategoryRow>, AppError> {
    Ok(categories::table
        .find(id)
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()?)
}

pub struct CategoryFields<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub color: &'a str,
    pub position: i32,
    pub staff_only: bool,
    pub kind: &'a str,
}

pub fn insert_category(conn: &mut DbConn, c: &CategoryFields) -> Result<i64, AppError> {
    Ok(diesel::insert_into(categories::table)
        .values((
            categories::slug.eq(c.slug),
            categories::name.eq(c.name),
            categories::description.eq(c.description),
            categories::color.eq(c.color),
            categories::position.eq(c.position),
            categories::staff_only.eq(c.staff_only),
            categories::kind.eq(c.kind),
            categories::created_at.eq(super::now()),
        ))
        .returning(categories::id)
        .get_result(conn)?)
}

pub fn update_category(conn: &mut DbConn, id: i64, c: &CategoryFields) -> Result<usize, AppError> {
    Ok(diesel::update(categories::table.find(id))
        .set((
            categories::slug.eq(c.slug),
            categories::name.eq(c.name),
            categories::description.eq(c.description),
            categories::color.eq(c.color),
            categories::position.eq(c.position),
            categories::staff_only.eq(c.staff_only),
            categories::kind.eq(c.kind),
        ))
        .execute(conn)?)
}

pub fn category_slug_taken(conn: &mut DbConn, slug: &str, except: i64) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        categories::table
            .filter(categories::slug.eq(slug))
            .filter(categories::id.ne(except)),
    ))
    .get_result(conn)?)
}

// ---- topic lists ------------------------------------------------------------------------

/// Which topics a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub category_id: Option<i64>,
    /// `Some(true)`: solved only; `Some(false)`: unsolved only.
    pub solved: Option<bool>,
    /// Keyset cursor: topics bumped strictly before (time, id).
    pub before: Option<(NaiveDateTime, i64)>,
    pub pinned: bool,
    pub include_unlisted: bool,
}

// ---- visibility in SQL ------------------------------------------------------------------

/// The SQL form of "listed for everyone": what `forum::listed` says of one loaded topic, for
/// queries that page, count or list (lists, the sitemap, profiles, related topics, the
/// search index). Change one, change the other; `forum::tests` checks they agree.
pub type PublicTopic = diesel::dsl::And<
    diesel::dsl::IsNull<topics::deleted_at>,
    diesel::dsl::Eq<topics::unlisted, bool>,
>;

pub fn public_topic() -> PublicTopic {
    topics::deleted_at.is_null().and(topics::unlisted.eq(false))
}

/// [`public_topic`] as raw SQL, for the one hand-written query (sitemap chunks).
pub const PUBLIC_TOPIC_SQL: &str = "deleted_at IS NULL AND unlisted = FALSE";

/// [`PUBLIC_TOPIC_SQL`] for `topics` under another name in a query (`FROM topics t`).
pub fn public_topic_sql_as(alias: &str) -> String {
    PUBLIC_TOPIC_SQL
        .replace("deleted_at", &format!("{alias}.deleted_at"))
        .replace("unlisted", &format!("{alias}.unlisted"))
}

/// The SQL form of `subject::is_public(forum::post_visibility(..))` for the post itself.
pub type PublicPost = diesel::dsl::And<
    diesel::dsl::IsNull<posts::deleted_at>,
    diesel::dsl::IsNull<posts::hidden_reason>,
>;

pub fn public_post() -> PublicPost {
    posts::deleted_at
        .is_null()
        .and(posts::hidden_reason.is_null())
}

/// One page of topics, newest activity first, without OFFSET.
pub fn list_topics(
    conn: &mut DbConn,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<TopicRow>, AppError> {
    let mut q = topics::table
        .filter(topics::deleted_at.is_null())
        .filter(topics::pinned.eq(f.pinned))
        .select(TopicRow::as_select())
        .order((topics::bumped_at.desc(), topics::id.desc()))
        .limit(limit)
        .into_boxed();
    if !f.include_unlisted {
        q = q.filter(topics::unlisted.eq(false));
    }
    if let Some(c) = f.category_id {
        q = q.filter(topics::category_id.eq(c));
    }
    match f.solved {
        Some(true) => q = q.filter(topics::solved_post_id.is_not_null()),
        Some(false) => q = q.filter(topics::solved_post_id.is_null()),
        None => {}
    }
    if let Some((at, id)) = f.before {
        // (bumped_at, id) < (at, id), written so that `bumped_at <= at` bounds an index
        // range scan: page 1,000 costs what page 1 costs.
        q = q
            .filter(topics::bumped_at.le(at))
            .filter(topics::bumped_at.lt(at).or(topics::id.lt(id)));
    }
    Ok(q.load(conn)?)
}

pub fn authors(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<Author>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select(Author::as_select())
        .load(conn)?)
}

/// (topic id, tag name) for the given topics.
pub fn tags_of(conn: &mut DbConn, topic_ids: &[i64]) -> Result<Vec<(i64, String)>, AppError> {
    if topic_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(topic_tags::table
        .inner_join(tags::table)
        .filter(topic_tags::topic_id.eq_any(topic_ids))
        .order(tags::name.asc())
        .select((topic_tags::topic_id, tags::name))
        .load(conn)?)
}

/// One topic's tag names. Not `tags_of(&[id])`: a statement with `IN (…)` is prepared anew
/// on every run, this one stays in the statement cache.
pub fn tags_of_topic(conn: &mut DbConn, topic_id: i64) -> Result<Vec<String>, AppError> {
    Ok(topic_tags::table
        .inner_join(tags::table)
        .filter(topic_tags::topic_id.eq(topic_id))
        .order(tags::name.asc())
        .select(tags::name)
        .load(conn)?)
}

pub fn topic(conn: &mut DbConn, id: i64) -> Result<Option<TopicRow>, AppError> {
    Ok(topics::table
        .find(id)
        .select(TopicRow::as_select())
        .first(conn)
        .optional()?)
}

/// The topic and its category in one query.
pub fn topic_with_category(
    conn: &mut DbConn,
    id: i64,
) -> Result<Option<(TopicRow, CategoryRow)>, AppError> {
    Ok(topics::table
        .inner_join(categories::table)
        .filter(topics::id.eq(id))
        .select((TopicRow::as_select(), CategoryRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Posts numbered `from..=to` with their authors, in order.
pub fn posts_in_range(
    conn: &mut DbConn,
    topic_id: i64,
    from: i32,
    to: i32,
) -> Result<Vec<(PostRow, Author)>, AppError> {
    Ok(posts::table
        .inner_join(users::table)
        .filter(posts::topic_id.eq(topic_id))
        .filter(posts::post_number.between(from, to))
        .order(posts::post_number.asc())
        .select((PostRow::as_select(), Author::as_select()))
        .load(conn)?)
}

pub fn post_with_author(conn: &mut DbConn, id: i64) -> Result<Option<(PostRow, Author)>, AppError> {
    Ok(posts::table
        .inner_join(users::table)
        .filter(posts::id.eq(id))
        .select((PostRow::as_select(), Author::as_select()))
        .first(conn)
        .optional()?)
}

pub fn post(conn: &mut DbConn, id: i64) -> Result<Option<PostRow>, AppError> {
    Ok(posts::table
        .find(id)
        .select(PostRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn first_posts(conn: &mut DbConn, topic_ids: &[i64]) -> Result<Vec<PostRow>, AppError> {
    if topic_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(posts::table
        .filter(posts::topic_id.eq_any(topic_ids))
        .filter(posts::post_number.eq(1))
        .select(PostRow::as_select())
        .load(conn)?)
}

/// Which posts numbered `from..=to` in a topic `user_id` has liked. The post range is a
/// subquery rather than a list of ids: `IN (?, ?, …)` statements are prepared anew on every
/// run, this one stays in the statement cache.
pub fn liked_in_range(
    conn: &mut DbConn,
    user_id: i64,
    topic_id: i64,
    from: i32,
    to: i32,
) -> Result<Vec<i64>, AppError> {
    let in_range = posts::table
        .filter(posts::topic_id.eq(topic_id))
        .filter(posts::post_number.between(from, to))
        .select(posts::id);
    Ok(likes::table
        .filter(likes::user_id.eq(user_id))
        .filter(likes::post_id.eq_any(in_range))
        .select(likes::post_id)
        .load(conn)?)
}

pub fn revisions(conn: &mut DbConn, post_id: i64) -> Result<Vec<RevisionRow>, AppError> {
    Ok(post_revisions::table
        .filter(post_revisions::post_id.eq(post_id))
        .order(post_revisions::version.asc())
        .select(RevisionRow::as_select())
        .load(conn)?)
}

/// Topics per sitemap file: the sitemaps protocol allows at most 50,000 URLs in one file.
pub const SITEMAP_CHUNK: i64 = 50_000;

#[derive(QueryableByName)]
pub struct SitemapChunk {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub chunk: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub lastmod: NaiveDateTime,
}

/// The topic sitemap files that have at least one listed topic: chunk n holds the topics with
/// ids in (n × SITEMAP_CHUNK, (n + 1) × SITEMAP_CHUNK], so each file is one primary-key range.
pub fn sitemap_chunks(conn: &mut DbConn) -> Result<Vec<SitemapChunk>, AppError> {
    Ok(diesel::sql_query(format!(
        "SELECT CAST((id - 1) / {SITEMAP_CHUNK} AS BIGINT) AS chunk, MAX(bumped_at) AS lastmod \
         FROM topics WHERE {PUBLIC_TOPIC_SQL} \
         GROUP BY (id - 1) / {SITEMAP_CHUNK} ORDER BY chunk"
    ))
    .load(conn)?)
}

/// One sitemap file's topics: (id, slug, bumped_at) in id order.
pub fn sitemap_topics(
    conn: &mut DbConn,
    chunk: i64,
) -> Result<Vec<(i64, String, NaiveDateTime)>, AppError> {
    Ok(topics::table
        .filter(topics::id.gt(chunk * SITEMAP_CHUNK))
        .filter(topics::id.le((chunk + 1) * SITEMAP_CHUNK))
        .filter(public_topic())
        .order(topics::id)
        .select((topics::id, topics::slug, topics::bumped_at))
        .load(conn)?)
}

// ---- profile ----------------------------------------------------------------------------

pub fn user_topics(conn: &mut DbConn, user_id: i64, limit: i64) -> Result<Vec<TopicRow>, AppError> {
    Ok(topics::table
        .filter(topics::user_id.eq(user_id))
        .filter(public_topic())
        .order(topics::id.desc())
        .limit(limit)
        .select(TopicRow::as_select())
        .load(conn)?)
}

/// A user's recent replies with their topics.
pub fn user_replies(
    conn: &mut DbConn,
    user_id: i64,
    limit: i64,
) -> Result<Vec<(PostRow, TopicRow)>, AppError> {
    Ok(posts::table
        .inner_join(topics::table)
        .filter(posts::user_id.eq(user_id))
        .filter(posts::post_number.gt(1))
        .filter(public_post())
        .filter(public_topic())
        .order(posts::id.desc())
        .limit(limit)
        .select((PostRow::as_select(), TopicRow::as_select()))
        .load(conn)?)
}

/// (topics started, replies written, answers accepted).
pub fn user_counts(conn: &mut DbConn, user_id: i64) -> Result<(i64, i64, i64), AppError> {
    let topics_started = topics::table
        .filter(topics::user_id.eq(user_id))
        .filter(topics::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    let replies = posts::table
        .filter(posts::user_id.eq(user_id))
        .filter(posts::post_number.gt(1))
        .filter(posts::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    let solutions = topics::table
        .inner_join(posts::table.on(topics::solved_post_id.eq(posts::id.nullable())))
        .filter(posts::user_id.eq(user_id))
        .filter(topics::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    Ok((topics_started, replies, solutions))
}

// ---- writes -----------------------------------------------------------------------------

pub struct NewTopic<'a> {
    pub category_id: i64,
    pub user_id: i64,
    pub title: &'a str,
    pub slug: &'a str,
    pub at: NaiveDateTime,
}

pub fn insert_topic(conn: &mut DbConn, t: &NewTopic) -> Result<i64, AppError> {
    Ok(diesel::insert_into(topics::table)
        .values((
            topics::category_id.eq(t.category_id),
            topics::user_id.eq(t.user_id),
            topics::title.eq(t.title),
            topics::slug.eq(t.slug),
            topics::created_at.eq(t.at),
            topics::bumped_at.eq(t.at),
            topics::last_poster_id.eq(t.user_id),
        ))
        .returning(topics::id)
        .get_result(conn)?)
}

pub struct NewPost<'a> {
    pub topic_id: i64,
    pub user_id: i64,
    pub post_number: i32,
    pub raw: &'a str,
    pub cooked: &'a str,
    pub at: NaiveDateTime,
}

pub fn insert_post(conn: &mut DbConn, p: &NewPost) -> Result<i64, AppError> {
    Ok(diesel::insert_into(posts::table)
        .values((
            posts::topic_id.eq(p.topic_id),
            posts::user_id.eq(p.user_id),
            posts::post_number.eq(p.post_number),
            posts::raw.eq(p.raw),
            posts::cooked.eq(p.cooked),
            posts::created_at.eq(p.at),
        ))
        .returning(posts::id)
        .get_result(conn)?)
}

/// Claims the next post number and bumps the topic. The row update also locks the topic
/// on PostgreSQL, so concurrent replies to one topic get distinct numbers.
pub fn bump_for_reply(
    conn: &mut DbConn,
    topic_id: i64,
    poster_id: i64,
    staff: bool,
    at: NaiveDateTime,
) -> Result<i32, AppError> {
    let number: i32 = diesel::update(topics::table.find(topic_id))
        .set((
            topics::highest_post_number.eq(topics::highest_post_number + 1),
            topics::reply_count.eq(topics::reply_count + 1),
            topics::bumped_at.eq(at),
            topics::last_poster_id.eq(poster_id),
        ))
        .returning(topics::highest_post_number)
        .get_result(conn)?;
    if staff {
        diesel::update(topics::table.find(topic_id))
            .set(topics::has_staff_reply.eq(true))
            .execute(conn)?;
    }
    Ok(number)
}

/// Tag ids for `names`, creating missing tags. Insert first, then read: two topics
/// bringing the same new tag at the same moment (two nodes on PostgreSQL) both get it,
/// where a read first would have had the second fail on the unique name.
pub fn ensure_tags(conn: &mut DbConn, names: &[String]) -> Result<Vec<i64>, AppError> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        super::insert_or_ignore!(conn, tags::table, tags::name.eq(name));
        ids.push(
            tags::table
                .filter(tags::name.eq(name))
                .select(tags::id)
                .first(conn)?,
        );
    }
    Ok(ids)
}

pub fn set_topic_tags(conn: &mut DbConn, topic_id: i64, tag_ids: &[i64]) -> Result<(), AppError> {
    diesel::delete(topic_tags::table.filter(topic_tags::topic_id.eq(topic_id))).execute(conn)?;
    for tag_id in tag_ids {
        diesel::insert_into(topic_tags::table)
            .values((
                topic_tags::topic_id.eq(topic_id),
                topic_tags::tag_id.eq(tag_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn update_post_raw(
    conn: &mut DbConn,
    post_id: i64,
    raw: &str,
    cooked: &str,
    version: i32,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(posts::table.find(post_id))
        .set((
            posts::raw.eq(raw),
            posts::cooked.eq(cooked),
            posts::version.eq(version),
            posts::edited_at.eq(Some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Re-rendering after a renderer change is not an edit: no revision, no version bump.
pub fn set_cooked(conn: &mut DbConn, post_id: i64, cooked: &str) -> Result<(), AppError> {
    diesel::update(posts::table.find(post_id))
        .set(posts::cooked.eq(cooked))
        .execute(conn)?;
    Ok(())
}

/// (id, raw) of posts with id greater than `after`, in id order: the recook batches.
pub fn raw_batch(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, AppError> {
    Ok(posts::table
        .filter(posts::id.gt(after))
        .order(posts::id.asc())
        .limit(limit)
        .select((posts::id, posts::raw))
        .load(conn)?)
}

pub fn insert_revision(
    conn: &mut DbConn,
    post_id: i64,
    version: i32,
    editor_id: i64,
    raw_before: &str,
    title_before: Option<&str>,
) -> Result<(), AppError> {
    diesel::insert_into(post_revisions::table)
        .values((
            post_revisions::post_id.eq(post_id),
            post_revisions::version.eq(version),
            post_revisions::editor_id.eq(editor_id),
            post_revisions::raw_before.eq(raw_before),
            post_revisions::title_before.eq(title_before),
            post_revisions::created_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_topic_title(
    conn: &mut DbConn,
    topic_id: i64,
    title: &str,
    slug: &str,
) -> Result<(), AppError> {
    diesel::update(topics::table.find(topic_id))
        .set((topics::title.eq(title), topics::slug.eq(slug)))
        .execute(conn)?;
    Ok(())
}

pub fn soft_delete_post(
    conn: &mut DbConn,
    post_id: i64,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(posts::table.find(post_id))
        .set(posts::deleted_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

pub fn soft_delete_topic(
    conn: &mut DbConn,
    topic_id: i64,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(topics::table.find(topic_id))
        .set(topics::deleted_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

/// A reply went away (deleted): fewer replies, and no longer the solution.
pub fn forget_reply(conn: &mut DbConn, topic_id: i64, post_id: i64) -> Result<(), AppError> {
    diesel::update(topics::table.find(topic_id))
        .set(topics::reply_count.eq(topics::reply_count - 1))
        .execute(conn)?;
    diesel::update(
        topics::table
            .find(topic_id)
            .filter(topics::solved_post_id.eq(post_id)),
    )
    .set(topics::solved_post_id.eq(None::<i64>))
    .execute(conn)?;
    Ok(())
}

pub fn set_hidden(conn: &mut DbConn, post_id: i64, reason: Option<&str>) -> Result<(), AppError> {
    diesel::update(posts::table.find(post_id))
        .set(posts::hidden_reason.eq(reason))
        .execute(conn)?;
    Ok(())
}

pub fn set_solved(conn: &mut DbConn, topic_id: i64, post_id: Option<i64>) -> Result<(), AppError> {
    diesel::update(topics::table.find(topic_id))
        .set(topics::solved_post_id.eq(post_id))
        .execute(conn)?;
    Ok(())
}

/// The flags staff set on a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicFlag {
    Locked,
    Pinned,
    Unlisted,
}

pub fn set_topic_flag(
    conn: &mut DbConn,
    topic_id: i64,
    flag: TopicFlag,
    value: bool,
) -> Result<(), AppError> {
    let target = topics::table.find(topic_id);
    match flag {
        TopicFlag::Locked => diesel::update(target)
            .set(topics::locked.eq(value))
            .execute(conn)?,
        TopicFlag::Pinned => diesel::update(target)
            .set(topics::pinned.eq(value))
            .execute(conn)?,
        TopicFlag::Unlisted => diesel::update(target)
            .set(topics::unlisted.eq(value))
            .execute(conn)?,
    };
    Ok(())
}

/// Adds counted page views, and how many of them came from search results
/// (src/web/views.rs).
pub fn add_views(
    conn: &mut DbConn,
    topic_id: i64,
    views: i64,
    search_clicks: i64,
) -> Result<(), AppError> {
    diesel::update(topics::table.find(topic_id))
        .set((
            topics::views.eq(topics::views + views),
            topics::search_clicks.eq(topics::search_clicks + search_clicks),
        ))
        .execute(conn)?;
    Ok(())
}

/// Counts one suggestion opened from the new-topic form (src/search/deflection.rs).
pub fn add_deflection_open(conn: &mut DbConn, topic_id: i64) -> Result<(), AppError> {
    diesel::update(topics::table.find(topic_id))
        .set(topics::deflection_opens.eq(topics::deflection_opens + 1))
        .execute(conn)?;
    Ok(())
}

// ---- duplicates -------------------------------------------------------------------------

/// Marks `topic_id` as asking what `of_topic_id` answers (replacing an earlier mark).
pub fn mark_duplicate(
    conn: &mut DbConn,
    topic_id: i64,
    of_topic_id: i64,
    marked_by: Option<i64>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    unmark_duplicate(conn, topic_id)?;
    diesel::insert_into(topic_duplicates::table)
        .values((
            topic_duplicates::topic_id.eq(topic_id),
            topic_duplicates::of_topic_id.eq(of_topic_id),
            topic_duplicates::marked_by.eq(marked_by),
            topic_duplicates::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes a duplicate mark; returns whether there was one.
pub fn unmark_duplicate(conn: &mut DbConn, topic_id: i64) -> Result<bool, AppError> {
    Ok(diesel::delete(topic_duplicates::table.find(topic_id)).execute(conn)? > 0)
}

/// The topic `topic_id` is marked a duplicate of, whatever its state.
pub fn duplicate_of(conn: &mut DbConn, topic_id: i64) -> Result<Option<TopicRow>, AppError> {
    Ok(topic_duplicates::table
        .find(topic_id)
        .inner_join(topics::table.on(topics::id.eq(topic_duplicates::of_topic_id)))
        .select(TopicRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a topic page shows beside the topic itself, in one round trip: the knowledge-base
/// article that answers it (id, slug, title, status) and the topic it duplicates.
#[derive(Debug, Clone, QueryableByName)]
pub struct TopicLinks {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub article_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub article_slug: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub article_title: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub article_status: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub duplicate_of: Option<i64>,
}

pub fn topic_links(conn: &mut DbConn, topic_id: i64) -> Result<TopicLinks, AppError> {
    // Both lookups are by primary key; one statement instead of two on every topic page.
    Ok(diesel::sql_query(format!(
        "SELECT a.id AS article_id, a.slug AS article_slug, a.title AS article_title, \
         a.status AS article_status, \
         (SELECT d.of_topic_id FROM topic_duplicates d WHERE d.topic_id = {topic_id}) AS duplicate_of \
         FROM (SELECT 1 AS one) x \
         LEFT JOIN kb_article_topics kt ON kt.topic_id = {topic_id} \
         LEFT JOIN kb_articles a ON a.id = kt.article_id"
    ))
    .get_result(conn)?)
}

/// How many topics are marked duplicates of `topic_id`.
pub fn duplicate_count(conn: &mut DbConn, topic_id: i64) -> Result<i64, AppError> {
    Ok(topic_duplicates::table
        .filter(topic_duplicates::of_topic_id.eq(topic_id))
        .count()
        .get_result(conn)?)
}

pub fn move_topic(conn: &mut DbConn, topic_id: i64, category_id: i64) -> Result<(), AppError> {
    diesel::update(topics::table.find(topic_id))
        .set(topics::category_id.eq(category_id))
        .execute(conn)?;
    Ok(())
}

/// Adds or removes one like; returns false when there was nothing to change. The change is
/// decided by the rows the statement touched, so the same click sent twice at once (two
/// nodes on PostgreSQL) counts once.
pub fn set_like(
    conn: &mut DbConn,
    post_id: i64,
    topic_id: i64,
    user_id: i64,
    like: bool,
) -> Result<bool, AppError> {
    let changed = if like {
        super::insert_or_ignore!(
            conn,
            likes::table,
            (
                likes::post_id.eq(post_id),
                likes::user_id.eq(user_id),
                likes::created_at.eq(super::now()),
            )
        )
    } else {
        diesel::delete(
            likes::table
                .filter(likes::post_id.eq(post_id))
                .filter(likes::user_id.eq(user_id)),
        )
        .execute(conn)?
    };
    if changed == 0 {
        return Ok(false);
    }
    let delta = if like { 1 } else { -1 };
    diesel::update(posts::table.find(post_id))
        .set(posts::like_count.eq(posts::like_count + delta))
        .execute(conn)?;
    diesel::update(topics::table.find(topic_id))
        .set(topics::like_count.eq(topics::like_count + delta))
        .execute(conn)?;
    Ok(true)
}

// ---- watching ---------------------------------------------------------------------------

/// How closely someone follows a topic or category (stored as its word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchLevel {
    /// Every reply.
    Watching,
    /// Mentions, quotes and answers only.
    Normal,
    /// Nothing.
    Muted,
}

impl WatchLevel {
    pub const ALL: [WatchLevel; 3] = [WatchLevel::Watching, WatchLevel::Normal, WatchLevel::Muted];

    pub fn as_str(self) -> &'static str {
        match self {
            WatchLevel::Watching => "watching",
            WatchLevel::Normal => "normal",
            WatchLevel::Muted => "muted",
        }
    }

    pub fn parse(s: &str) -> Option<WatchLevel> {
        WatchLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

fn levels(rows: Vec<(i64, String)>) -> Vec<(i64, WatchLevel)> {
    rows.into_iter()
        .filter_map(|(user, level)| Some((user, WatchLevel::parse(&level)?)))
        .collect()
}

pub fn topic_watch(
    conn: &mut DbConn,
    user_id: i64,
    topic_id: i64,
) -> Result<Option<WatchLevel>, AppError> {
    let level: Option<String> = topic_watches::table
        .filter(topic_watches::user_id.eq(user_id))
        .filter(topic_watches::topic_id.eq(topic_id))
        .select(topic_watches::level)
        .first(conn)
        .optional()?;
    Ok(level.as_deref().and_then(WatchLevel::parse))
}

pub fn set_topic_watch(
    conn: &mut DbConn,
    user_id: i64,
    topic_id: i64,
    level: WatchLevel,
) -> Result<(), AppError> {
    let level = level.as_str();
    let updated = diesel::update(
        topic_watches::table
            .filter(topic_watches::user_id.eq(user_id))
            .filter(topic_watches::topic_id.eq(topic_id)),
    )
    .set(topic_watches::level.eq(level))
    .execute(conn)?;
    // No row yet: insert one. Should another request have inserted it in the meantime,
    // that row takes this level instead of the insert failing.
    if updated == 0
        && super::insert_or_ignore!(
            conn,
            topic_watches::table,
            (
                topic_watches::user_id.eq(user_id),
                topic_watches::topic_id.eq(topic_id),
                topic_watches::level.eq(level),
            )
        ) == 0
    {
        diesel::update(
            topic_watches::table
                .filter(topic_watches::user_id.eq(user_id))
                .filter(topic_watches::topic_id.eq(topic_id)),
        )
        .set(topic_watches::level.eq(level))
        .execute(conn)?;
    }
    Ok(())
}

/// Watch a topic one takes part in, unless one already chose a level for it.
pub fn auto_watch(conn: &mut DbConn, user_id: i64, topic_id: i64) -> Result<(), AppError> {
    if topic_watch(conn, user_id, topic_id)?.is_none() {
        set_topic_watch(conn, user_id, topic_id, WatchLevel::Watching)?;
    }
    Ok(())
}

pub fn category_watch(
    conn: &mut DbConn,
    user_id: i64,
    category_id: i64,
) -> Result<Option<WatchLevel>, AppError> {
    let level: Option<String> = category_watches::table
        .filter(category_watches::user_id.eq(user_id))
        .filter(category_watches::category_id.eq(category_id))
        .select(category_watches::level)
        .first(conn)
        .optional()?;
    Ok(level.as_deref().and_then(WatchLevel::parse))
}

pub fn set_category_watch(
    conn: &mut DbConn,
    user_id: i64,
    category_id: i64,
    level: WatchLevel,
) -> Result<(), AppError> {
    let level = level.as_str();
    let updated = diesel::update(
        category_watches::table
            .filter(category_watches::user_id.eq(user_id))
            .filter(category_watches::category_id.eq(category_id)),
    )
    .set(category_watches::level.eq(level))
    .execute(conn)?;
    if updated == 0
        && super::insert_or_ignore!(
            conn,
            category_watches::table,
            (
                category_watches::user_id.eq(user_id),
                category_watches::category_id.eq(category_id),
                category_watches::level.eq(level),
            )
        ) == 0
    {
        diesel::update(
            category_watches::table
                .filter(category_watches::user_id.eq(user_id))
                .filter(category_watches::category_id.eq(category_id)),
        )
        .set(category_watches::level.eq(level))
        .execute(conn)?;
    }
    Ok(())
}

/// (user id, level) of everyone with an explicit level on the topic.
pub fn topic_watchers(
    conn: &mut DbConn,
    topic_id: i64,
) -> Result<Vec<(i64, WatchLevel)>, AppError> {
    Ok(levels(
        topic_watches::table
            .filter(topic_watches::topic_id.eq(topic_id))
            .select((topic_watches::user_id, topic_watches::level))
            .load(conn)?,
    ))
}

pub fn category_watchers(
    conn: &mut DbConn,
    category_id: i64,
) -> Result<Vec<(i64, WatchLevel)>, AppError> {
    Ok(levels(
        category_watches::table
            .filter(category_watches::category_id.eq(category_id))
            .select((category_watches::user_id, category_watches::level))
            .load(conn)?,
    ))
}

/// Ids of users whose username key is one of `keys`.
pub fn user_ids_by_keys(
    conn: &mut DbConn,
    keys: &[String],
) -> Result<Vec<(i64, String)>, AppError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::username_key.eq_any(keys))
        .select((users::id, users::username_key))
        .load(conn)?)
}

/// Authors of the given posts: (post id, user id).
pub fn post_authors(conn: &mut DbConn, post_ids: &[i64]) -> Result<Vec<(i64, i64)>, AppError> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(posts::table
        .filter(posts::id.eq_any(post_ids))
        .select((posts::id, posts::user_id))
        .load(conn)?)
}

/// (post id, topic id) for each of `post_ids` that exists.
pub fn post_topics(conn: &mut DbConn, post_ids: &[i64]) -> Result<Vec<(i64, i64)>, AppError> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(posts::table
        .filter(posts::id.eq_any(post_ids))
        .select((posts::id, posts::topic_id))
        .load(conn)?)
}

pub fn topics_by_ids(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<TopicRow>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(topics::table
        .filter(topics::id.eq_any(ids))
        .select(TopicRow::as_select())
        .load(conn)?)
}

/// Which page a post is on: its number within its topic.
pub fn post_number(conn: &mut DbConn, post_id: i64) -> Result<Option<(i64, i32)>, AppError> {
    Ok(posts::table
        .find(post_id)
        .select((posts::topic_id, posts::post_number))
        .first(conn)
        .optional()?)
}
