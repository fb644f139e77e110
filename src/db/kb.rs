//! Knowledge-base queries: sections, articles and their revisions, topic links, votes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::{
    kb_article_topics, kb_articles, kb_revisions, kb_sections, kb_slug_redirects, kb_votes, topics,
    users,
};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = kb_sections)]
pub struct SectionRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i32,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = kb_articles)]
pub struct ArticleRow {
    pub id: i64,
    pub section_id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub raw: String,
    pub cooked: String,
    pub tags: String,
    pub applies_to: String,
    pub status: String,
    pub author_id: i64,
    pub version: i32,
    pub views: i64,
    pub helpful_yes: i32,
    pub helpful_no: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

/// An article as lists show it (no body).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = kb_articles)]
pub struct ArticleListRow {
    pub id: i64,
    pub section_id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub status: String,
    pub views: i64,
    pub helpful_yes: i32,
    pub helpful_no: i32,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = kb_revisions)]
pub struct RevisionRow {
    pub id: i64,
    pub article_id: i64,
    pub version: i32,
    pub editor_id: Option<i64>,
    pub note: String,
    pub title: String,
    pub slug: String,
    pub summary: String,
    pub raw: String,
    pub section_id: i64,
    pub tags: String,
    pub applies_to: String,
    pub status: String,
    pub created_at: NaiveDateTime,
}

/// What an article version holds: written to the article and, in full, to its revision.
pub struct ArticleFields<'a> {
    pub section_id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub raw: &'a str,
    pub cooked: &'a str,
    pub tags: &'a str,
    pub applies_to: &'a str,
    pub status: &'a str,
}

// ---- sections ----------------------------------------------------------------------------

pub fn sections(conn: &mut DbConn) -> Result<Vec<SectionRow>, AppError> {
    Ok(kb_sections::table
        .order((kb_sections::position.asc(), kb_sections::id.asc()))
        .select(SectionRow::as_select())
        .load(conn)?)
}

pub fn section_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<SectionRow>, AppError> {
    Ok(kb_sections::table
        .filter(kb_sections::slug.eq(slug))
        .select(SectionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_section(
    conn: &mut DbConn,
    slug: &str,
    name: &str,
    description: &str,
    position: i32,
    at: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(diesel::insert_into(kb_sections::table)
        .values((
            kb_sections::slug.eq(slug),
            kb_sections::name.eq(name),
            kb_sections::description.eq(description),
            kb_sections::position.eq(position),
            kb_sections::created_at.eq(at),
        ))
        .returning(kb_sections::id)
        .get_result(conn)?)
}

pub fn update_section(
    conn: &mut DbConn,
    id: i64,
    slug: &str,
    name: &str,
    description: &str,
    position: i32,
) -> Result<usize, AppError> {
    Ok(diesel::update(kb_sections::table.find(id))
        .set((
            kb_sections::slug.eq(slug),
            kb_sections::name.eq(name),
            kb_sections::description.eq(description),
            kb_sections::position.eq(position),
        ))
        .execute(conn)?)
}

// ---- slugs -------------------------------------------------------------------------------

/// Is `slug` used by a section, by another article, or as an old slug of another article?
/// Sections and articles share `/kb/{slug}`.
pub fn slug_taken(
    conn: &mut DbConn,
    slug: &str,
    except_article: Option<i64>,
    except_section: Option<i64>,
) -> Result<bool, AppError> {
    let except_article = except_article.unwrap_or(-1);
    let articles: i64 = kb_articles::table
        .filter(kb_articles::slug.eq(slug))
        .filter(kb_articles::id.ne(except_article))
        .count()
        .get_result(conn)?;
    let sections: i64 = kb_sections::table
        .filter(kb_sections::slug.eq(slug))
        .filter(kb_sections::id.ne(except_section.unwrap_or(-1)))
        .count()
        .get_result(conn)?;
    let redirects: i64 = kb_slug_redirects::table
        .filter(kb_slug_redirects::old_slug.eq(slug))
        .filter(kb_slug_redirects::article_id.ne(except_article))
        .count()
        .get_result(conn)?;
    Ok(articles + sections + redirects > 0)
}

/// Keeps `old_slug` leading to the article (replacing where it led before).
pub fn add_redirect(conn: &mut DbConn, old_slug: &str, article_id: i64) -> Result<(), AppError> {
    diesel::delete(kb_slug_redirects::table.find(old_slug)).execute(conn)?;
    diesel::insert_into(kb_slug_redirects::table)
        .values((
            kb_slug_redirects::old_slug.eq(old_slug),
            kb_slug_redirects::article_id.eq(article_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// A slug the article does not use any more: drop its redirect (it took the slug back).
pub fn remove_redirect(conn: &mut DbConn, slug: &str) -> Result<(), AppError> {
    diesel::delete(kb_slug_redirects::table.find(slug)).execute(conn)?;
    Ok(())
}

/// The article an old slug leads to.
pub fn redirect_target(conn: &mut DbConn, old_slug: &str) -> Result<Option<i64>, AppError> {
    Ok(kb_slug_redirects::table
        .find(old_slug)
        .select(kb_slug_redirects::article_id)
        .first(conn)
        .optional()?)
}

// ---- articles ----------------------------------------------------------------------------

pub fn article(conn: &mut DbConn, id: i64) -> Result<Option<ArticleRow>, AppError> {
    Ok(kb_articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn article_by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<ArticleRow>, AppError> {
    Ok(kb_articles::table
        .filter(kb_articles::slug.eq(slug))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_article(
    conn: &mut DbConn,
    f: &ArticleFields,
    author_id: i64,
    at: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(diesel::insert_into(kb_articles::table)
        .values((
            kb_articles::section_id.eq(f.section_id),
            kb_articles::slug.eq(f.slug),
            kb_articles::title.eq(f.title),
            kb_articles::summary.eq(f.summary),
            kb_articles::raw.eq(f.raw),
            kb_articles::cooked.eq(f.cooked),
            kb_articles::tags.eq(f.tags),
            kb_articles::applies_to.eq(f.applies_to),
            kb_articles::status.eq(f.status),
            kb_articles::author_id.eq(author_id),
            kb_articles::version.eq(1),
            kb_articles::created_at.eq(at),
            kb_articles::updated_at.eq(at),
            kb_articles::published_at.eq((f.status == "published").then_some(at)),
        ))
        .returning(kb_articles::id)
        .get_result(conn)?)
}

pub fn update_article(
    conn: &mut DbConn,
    id: i64,
    f: &ArticleFields,
    version: i32,
    at: NaiveDateTime,
    published_at: Option<NaiveDateTime>,
) -> Result<(), AppError> {
    diesel::update(kb_articles::table.find(id))
        .set((
            kb_articles::section_id.eq(f.section_id),
            kb_articles::slug.eq(f.slug),
            kb_articles::title.eq(f.title),
            kb_articles::summary.eq(f.summary),
            kb_articles::raw.eq(f.raw),
            kb_articles::cooked.eq(f.cooked),
            kb_articles::tags.eq(f.tags),
            kb_articles::applies_to.eq(f.applies_to),
            kb_articles::status.eq(f.status),
            kb_articles::version.eq(version),
            kb_articles::updated_at.eq(at),
            kb_articles::published_at.eq(published_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets the rendered body only (re-cooking after a renderer upgrade).
pub fn set_cooked(conn: &mut DbConn, id: i64, cooked: &str) -> Result<(), AppError> {
    diesel::update(kb_articles::table.find(id))
        .set(kb_articles::cooked.eq(cooked))
        .execute(conn)?;
    Ok(())
}

pub fn insert_revision(
    conn: &mut DbConn,
    article_id: i64,
    version: i32,
    editor_id: Option<i64>,
    note: &str,
    f: &ArticleFields,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(kb_revisions::table)
        .values((
            kb_revisions::article_id.eq(article_id),
            kb_revisions::version.eq(version),
            kb_revisions::editor_id.eq(editor_id),
            kb_revisions::note.eq(note),
            kb_revisions::title.eq(f.title),
            kb_revisions::slug.eq(f.slug),
            kb_revisions::summary.eq(f.summary),
            kb_revisions::raw.eq(f.raw),
            kb_revisions::section_id.eq(f.section_id),
            kb_revisions::tags.eq(f.tags),
            kb_revisions::applies_to.eq(f.applies_to),
            kb_revisions::status.eq(f.status),
            kb_revisions::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every version of an article, newest first, with the editor's name.
pub fn revisions(
    conn: &mut DbConn,
    article_id: i64,
) -> Result<Vec<(RevisionRow, Option<String>)>, AppError> {
    Ok(kb_revisions::table
        .left_join(users::table.on(kb_revisions::editor_id.eq(users::id.nullable())))
        .filter(kb_revisions::article_id.eq(article_id))
        .order(kb_revisions::version.desc())
        .select((RevisionRow::as_select(), users::username.nullable()))
        .load(conn)?)
}

pub fn revision(
    conn: &mut DbConn,
    article_id: i64,
    version: i32,
) -> Result<Option<RevisionRow>, AppError> {
    Ok(kb_revisions::table
        .filter(kb_revisions::article_id.eq(article_id))
        .filter(kb_revisions::version.eq(version))
        .select(RevisionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Articles with `status` (all when `None`), in a section or everywhere, newest change first.
pub fn list(
    conn: &mut DbConn,
    status: Option<&str>,
    section_id: Option<i64>,
    limit: i64,
) -> Result<Vec<ArticleListRow>, AppError> {
    let mut q = kb_articles::table
        .select(ArticleListRow::as_select())
        .order((kb_articles::updated_at.desc(), kb_articles::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(kb_articles::status.eq(s));
    }
    if let Some(id) = section_id {
        q = q.filter(kb_articles::section_id.eq(id));
    }
    Ok(q.load(conn)?)
}

/// Published articles, most viewed first.
pub fn most_viewed(conn: &mut DbConn, limit: i64) -> Result<Vec<ArticleListRow>, AppError> {
    Ok(kb_articles::table
        .filter(kb_articles::status.eq("published"))
        .order((kb_articles::views.desc(), kb_articles::id.asc()))
        .limit(limit)
        .select(ArticleListRow::as_select())
        .load(conn)?)
}

/// Published articles per section: (section id, count).
pub fn published_counts(conn: &mut DbConn) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(kb_articles::table
        .filter(kb_articles::status.eq("published"))
        .group_by(kb_articles::section_id)
        .select((kb_articles::section_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Published articles after `after` in id order (search indexing, export).
pub fn ids_after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<i64>, AppError> {
    Ok(kb_articles::table
        .filter(kb_articles::id.gt(after))
        .order(kb_articles::id.asc())
        .limit(limit)
        .select(kb_articles::id)
        .load(conn)?)
}

pub fn articles_by_ids(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<ArticleRow>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(kb_articles::table
        .filter(kb_articles::id.eq_any(ids))
        .order(kb_articles::id.asc())
        .select(ArticleRow::as_select())
        .load(conn)?)
}

/// Adds counted page views.
pub fn add_views(conn: &mut DbConn, id: i64, views: i64) -> Result<(), AppError> {
    diesel::update(kb_articles::table.find(id))
        .set(kb_articles::views.eq(kb_articles::views + views))
        .execute(conn)?;
    Ok(())
}

// ---- topics ------------------------------------------------------------------------------

/// Points a topic at an article (replacing an earlier link of that topic).
pub fn link_topic(
    conn: &mut DbConn,
    topic_id: i64,
    article_id: i64,
    linked_by: Option<i64>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::delete(kb_article_topics::table.find(topic_id)).execute(conn)?;
    diesel::insert_into(kb_article_topics::table)
        .values((
            kb_article_topics::topic_id.eq(topic_id),
            kb_article_topics::article_id.eq(article_id),
            kb_article_topics::linked_by.eq(linked_by),
            kb_article_topics::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The article a topic is answered in: (id, slug, title, status).
pub fn article_of_topic(
    conn: &mut DbConn,
    topic_id: i64,
) -> Result<Option<(i64, String, String, String)>, AppError> {
    Ok(kb_article_topics::table
        .inner_join(kb_articles::table)
        .filter(kb_article_topics::topic_id.eq(topic_id))
        .select((
            kb_articles::id,
            kb_articles::slug,
            kb_articles::title,
            kb_articles::status,
        ))
        .first(conn)
        .optional()?)
}

/// The topics an article was built from or answers, oldest link first: (id, slug, title),
/// those not deleted.
pub fn topics_of_article(
    conn: &mut DbConn,
    article_id: i64,
) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(kb_article_topics::table
        .inner_join(topics::table)
        .filter(kb_article_topics::article_id.eq(article_id))
        .filter(super::forum::public_topic())
        .order(kb_article_topics::created_at.asc())
        .select((topics::id, topics::slug, topics::title))
        .load(conn)?)
}

// ---- votes -------------------------------------------------------------------------------

/// A voter's earlier answer on an article, if any.
pub fn vote_of(conn: &mut DbConn, article_id: i64, voter: &str) -> Result<Option<bool>, AppError> {
    Ok(kb_votes::table
        .find((article_id, voter))
        .select(kb_votes::helpful)
        .first(conn)
        .optional()?)
}

/// Records a vote (one row per voter) and keeps the article's counts in step. Which count
/// moves is decided by the rows each statement touched, not by a read before them: the
/// same answer sent twice at once, or a change of mind racing itself, counts once. Returns
/// whether anything was recorded (a new answer, a changed one or a comment).
pub fn put_vote(
    conn: &mut DbConn,
    article_id: i64,
    voter: &str,
    helpful: bool,
    comment: Option<&str>,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    // A change of mind: only a row with the other answer is updated.
    let changed = diesel::update(kb_votes::table.find((article_id, voter)))
        .filter(kb_votes::helpful.ne(helpful))
        .set((kb_votes::helpful.eq(helpful), kb_votes::updated_at.eq(at)))
        .execute(conn)?;
    let inserted = if changed == 0 {
        super::insert_or_ignore!(
            conn,
            kb_votes::table,
            (
                kb_votes::article_id.eq(article_id),
                kb_votes::voter.eq(voter),
                kb_votes::helpful.eq(helpful),
                kb_votes::created_at.eq(at),
                kb_votes::updated_at.eq(at),
            )
        )
    } else {
        0
    };
    if let Some(c) = comment {
        diesel::update(kb_votes::table.find((article_id, voter)))
            .set(kb_votes::comment.eq(c))
            .execute(conn)?;
    }
    let (yes, no) = match (changed, inserted, helpful) {
        (1, _, true) => (1, -1),
        (1, _, false) => (-1, 1),
        (_, 1, true) => (1, 0),
        (_, 1, false) => (0, 1),
        // The same answer again: nothing to count.
        _ => (0, 0),
    };
    if (yes, no) != (0, 0) {
        diesel::update(kb_articles::table.find(article_id))
            .set((
                kb_articles::helpful_yes.eq(kb_articles::helpful_yes + yes),
                kb_articles::helpful_no.eq(kb_articles::helpful_no + no),
            ))
            .execute(conn)?;
    }
    Ok(changed + inserted > 0 || comment.is_some())
}

/// Votes that came with a comment, newest first: (helpful, comment, when).
pub fn comments(
    conn: &mut DbConn,
    article_id: i64,
    limit: i64,
) -> Result<Vec<(bool, String, NaiveDateTime)>, AppError> {
    let rows: Vec<(bool, Option<String>, NaiveDateTime)> = kb_votes::table
        .filter(kb_votes::article_id.eq(article_id))
        .filter(kb_votes::comment.is_not_null())
        .order(kb_votes::updated_at.desc())
        .limit(limit)
        .select((kb_votes::helpful, kb_votes::comment, kb_votes::updated_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(h, c, at)| Some((h, c?, at)))
        .collect())
}

// ---- what needs writing or attention -----------------------------------------------------

/// A solved topic without an article, with what counts towards its rank.
#[derive(Debug, Clone, QueryableByName)]
pub struct CandidateRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub slug: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub title: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub views: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub search_clicks: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub deflection_opens: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub duplicates: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub likes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub score: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub bumped_at: NaiveDateTime,
}

/// How much each signal weighs in [`candidates`] (set by the domain: `kb::CANDIDATE_WEIGHTS`).
pub struct CandidateWeights {
    pub view: i64,
    pub search_click: i64,
    pub deflection_open: i64,
    pub duplicate: i64,
    pub like: i64,
}

/// Listed, solved topics that no article answers and that are not themselves marked
/// duplicates, highest score first (one scan of the topics; a staff page).
pub fn candidates(
    conn: &mut DbConn,
    w: &CandidateWeights,
    limit: i64,
) -> Result<Vec<CandidateRow>, AppError> {
    let public = super::forum::public_topic_sql_as("t");
    Ok(diesel::sql_query(format!(
        "SELECT t.id, t.slug, t.title, t.views, t.search_clicks, t.deflection_opens, \
                CAST(COALESCE(d.n, 0) AS BIGINT) AS duplicates, \
                CAST(t.like_count AS BIGINT) AS likes, \
                CAST(t.views * {view} + t.search_clicks * {click} + t.deflection_opens * {open} \
                     + COALESCE(d.n, 0) * {dup} + t.like_count * {like} AS BIGINT) AS score, \
                t.bumped_at \
         FROM topics t \
         LEFT JOIN (SELECT of_topic_id, COUNT(*) AS n FROM topic_duplicates GROUP BY of_topic_id) d \
                ON d.of_topic_id = t.id \
         WHERE t.solved_post_id IS NOT NULL AND {public} \
           AND NOT EXISTS (SELECT 1 FROM kb_article_topics k WHERE k.topic_id = t.id) \
           AND NOT EXISTS (SELECT 1 FROM topic_duplicates x WHERE x.topic_id = t.id) \
         ORDER BY score DESC, t.id DESC LIMIT {limit}",
        view = w.view,
        click = w.search_click,
        open = w.deflection_open,
        dup = w.duplicate,
        like = w.like,
    ))
    .load(conn)?)
}

/// "Was this helpful?" answered "no" since `since`, per article: (article id, count).
pub fn recent_no_votes(
    conn: &mut DbConn,
    since: NaiveDateTime,
) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(kb_votes::table
        .filter(kb_votes::helpful.eq(false))
        .filter(kb_votes::updated_at.ge(since))
        .group_by(kb_votes::article_id)
        .select((kb_votes::article_id, diesel::dsl::count_star()))
        .load(conn)?)
}
