//! The public forum: categories, topics, replies, tags, likes, solved answers, edits with
//! revisions, soft deletes, staff moderation and watching. Every write is one transaction
//! that ends with its event.

pub mod categories;

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;

use crate::accounts::{Actor, Role, User, username_key};
use crate::db::forum::{
    self as q, Author, CategoryRow, ListFilter, PostRow, TopicFlag, TopicRow, WatchLevel,
};
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event};
use crate::forms::FieldErrors;
use crate::markdown;
use crate::subject::{self, Viewer, Visibility};

/// Posts per topic page and topics per list page.
pub const POSTS_PER_PAGE: i32 = 50;
pub const TOPICS_PER_PAGE: i64 = 30;
pub const MAX_TAGS: usize = 5;
pub const MAX_TAG_CHARS: usize = 30;
pub const MAX_HIDE_REASON_CHARS: usize = 300;

/// Size limits for what people write (configurable: see `Config`).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub min_title_chars: usize,
    pub max_title_chars: usize,
    pub min_post_chars: usize,
    pub max_post_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_title_chars: 8,
            max_title_chars: 150,
            min_post_chars: 2,
            max_post_bytes: 64 * 1024,
        }
    }
}

impl Limits {
    pub fn check_title(&self, title: &str, errors: &mut FieldErrors) -> String {
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        let chars = title.chars().count();
        if chars == 0 {
            errors.add("title", "Give your topic a title: what is it about?");
        } else if chars < self.min_title_chars {
            errors.add(
                "title",
                format!(
                    "Titles need at least {} characters; say a little more.",
                    self.min_title_chars
                ),
            );
        } else if chars > self.max_title_chars {
            errors.add(
                "title",
                format!(
                    "Titles can be at most {} characters (this one has {chars}).",
                    self.max_title_chars
                ),
            );
        }
        title
    }

    pub fn check_body(&self, raw: &str, errors: &mut FieldErrors) -> String {
        let raw = raw.replace("\r\n", "\n");
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            errors.add("raw", "Write something first.");
        } else if trimmed.chars().count() < self.min_post_chars {
            errors.add(
                "raw",
                format!("Posts need at least {} characters.", self.min_post_chars),
            );
        } else if raw.len() > self.max_post_bytes {
            errors.add(
                "raw",
                format!(
                    "Posts can be at most {} KB; this one is {} KB. Split it, or attach long logs elsewhere.",
                    self.max_post_bytes / 1024,
                    raw.len().div_ceil(1024)
                ),
            );
        }
        trimmed.to_string()
    }
}

/// Tags as typed ("sso, Billing  vat") to their canonical list, or why not.
pub fn parse_tags(input: &str, errors: &mut FieldErrors) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for raw in input.split(|c: char| c == ',' || c.is_whitespace()) {
        let tag = raw.trim().trim_start_matches('#').to_lowercase();
        if tag.is_empty() {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS
            || !tag.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            errors.add("tags", format!("Tags are single words of letters, digits and '-' (at most {MAX_TAG_CHARS} characters)."));
            return Vec::new();
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("At most {MAX_TAGS} tags."));
    }
    tags
}

pub fn slugify(title: &str) -> String {
    let mut s = slug::slugify(title);
    if s.len() > 80 {
        s.truncate(80);
        s = s.trim_end_matches('-').to_string();
        // slug::slugify output is ASCII, so truncating by bytes is safe.
    }
    if s.is_empty() { "topic".into() } else { s }
}

// ---- reading ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct TopicSummary {
    pub topic: TopicRow,
    pub author: Author,
    pub last_poster: Author,
    pub tags: Vec<String>,
}

pub struct TopicList {
    pub pinned: Vec<TopicSummary>,
    pub topics: Vec<TopicSummary>,
    /// Cursor of the next page, when there is one.
    pub next: Option<String>,
    pub categories: Vec<CategoryRow>,
}

/// Keyset cursor "MICROS-ID": the (bumped_at, id) of the last topic shown.
pub fn encode_cursor(t: &TopicRow) -> String {
    format!("{}-{}", t.bumped_at.and_utc().timestamp_micros(), t.id)
}

pub fn decode_cursor(s: &str) -> Option<(NaiveDateTime, i64)> {
    let (micros, id) = s.split_once('-')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.parse().ok()?))
}

pub fn list_topics(db: &Db, filter: ListFilter) -> Result<TopicList, AppError> {
    db.read_sync(|conn| {
        let pinned = if filter.before.is_none() {
            q::list_topics(
                conn,
                &ListFilter {
                    pinned: true,
                    ..filter.clone()
                },
                10,
            )?
        } else {
            Vec::new()
        };
        let mut rows = q::list_topics(conn, &filter, TOPICS_PER_PAGE + 1)?;
        let next = if rows.len() as i64 > TOPICS_PER_PAGE {
            rows.truncate(TOPICS_PER_PAGE as usize);
            rows.last().map(encode_cursor)
        } else {
            None
        };
        let all: Vec<&TopicRow> = pinned.iter().chain(rows.iter()).collect();
        let (authors, tags) = decorate(conn, &all)?;
        let summarize = |rows: Vec<TopicRow>| -> Vec<TopicSummary> {
            rows.into_iter()
                .map(|t| summary(t, &authors, &tags))
                .collect()
        };
        Ok(TopicList {
            pinned: summarize(pinned),
            topics: summarize(rows),
            next,
            categories: q::categories(conn)?,
        })
    })
}

/// Topics made into list entries with their authors and tags (two queries), in order.
pub fn summaries(conn: &mut DbConn, topics: Vec<TopicRow>) -> Result<Vec<TopicSummary>, AppError> {
    let all: Vec<&TopicRow> = topics.iter().collect();
    let (authors, tags) = decorate(conn, &all)?;
    Ok(topics
        .into_iter()
        .map(|t| summary(t, &authors, &tags))
        .collect())
}

type Decorations = (HashMap<i64, Author>, HashMap<i64, Vec<String>>);

/// Authors and tags of many topics in two queries.
fn decorate(conn: &mut DbConn, topics: &[&TopicRow]) -> Result<Decorations, AppError> {
    let mut user_ids: Vec<i64> = topics
        .iter()
        .flat_map(|t| [t.user_id, t.last_poster_id])
        .collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let authors = q::authors(conn, &user_ids)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let ids: Vec<i64> = topics.iter().map(|t| t.id).collect();
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (topic_id, name) in q::tags_of(conn, &ids)? {
        tags.entry(topic_id).or_default().push(name);
    }
    Ok((authors, tags))
}

fn summary(
    t: TopicRow,
    authors: &HashMap<i64, Author>,
    tags: &HashMap<i64, Vec<String>>,
) -> TopicSummary {
    let unknown = |id: i64| Author {
        id,
        username: "unknown".into(),
        role: "member".into(),
    };
    TopicSummary {
        author: authors
            .get(&t.user_id)
            .cloned()
            .unwrap_or_else(|| unknown(t.user_id)),
        last_poster: authors
            .get(&t.last_poster_id)
            .cloned()
            .unwrap_or_else(|| unknown(t.last_poster_id)),
        tags: tags.get(&t.id).cloned().unwrap_or_default(),
        topic: t,
    }
}

// ---- visibility -------------------------------------------------------------------------

/// How visible a topic is. Unlisted topics stay public (anyone with the link may read them);
/// they only leave lists, see [`listed`].
pub fn topic_visibility(topic: &TopicRow) -> Visibility {
    if topic.deleted_at.is_some() {
        Visibility::Deleted
    } else {
        Visibility::Public
    }
}

/// How visible one post is: its own state first, then its topic's.
pub fn post_visibility(topic: &TopicRow, post: &PostRow) -> Visibility {
    if post.deleted_at.is_some() {
        Visibility::Deleted
    } else if post.hidden_reason.is_some() {
        Visibility::Hidden
    } else {
        topic_visibility(topic)
    }
}

/// Whether a topic belongs in lists, feeds, the sitemap and the search index.
/// `db::forum::public_topic` is the same rule in SQL.
pub fn listed(topic: &TopicRow) -> bool {
    subject::is_public(topic_visibility(topic)) && !topic.unlisted
}

/// (id, title, slug) of those of `ids` that are listed, in the order given (links from other
/// capabilities: the topics that reported an incident).
pub fn public_topic_titles(
    conn: &mut DbConn,
    ids: &[i64],
) -> Result<Vec<(i64, String, String)>, AppError> {
    let rows = q::topics_by_ids(conn, ids)?;
    Ok(ids
        .iter()
        .filter_map(|id| rows.iter().find(|t| t.id == *id))
        .filter(|t| listed(t))
        .map(|t| (t.id, t.title.clone(), t.slug.clone()))
        .collect())
}

#[derive(Debug, Clone)]
pub struct PostView {
    pub post: PostRow,
    pub author: Author,
}

impl PostView {
    /// May `viewer` read this post's text (in a topic they may see)?
    pub fn is_visible_to(&self, topic: &TopicRow, viewer: Option<&User>) -> bool {
        subject::may_see(Viewer::of(viewer), post_visibility(topic, &self.post))
    }

    /// May everyone read it (page descriptions, feeds, the search index)?
    pub fn is_public(&self, topic: &TopicRow) -> bool {
        subject::is_public(post_visibility(topic, &self.post))
    }
}

pub struct TopicPage {
    pub topic: TopicRow,
    pub category: CategoryRow,
    pub tags: Vec<String>,
    pub posts: Vec<PostView>,
    /// The accepted answer, shown under the question on page 1.
    pub accepted: Option<PostView>,
    pub page: i32,
    pub pages: i32,
    pub liked: HashSet<i64>,
    pub watch_level: Option<WatchLevel>,
    /// For staff only (the move menu); empty for everyone else.
    pub categories: Vec<CategoryRow>,
    /// "Related solved topics", as last derived (src/search/related.rs).
    pub related: Vec<crate::db::related::RelatedTopic>,
    /// The knowledge-base article this topic is answered in, if the viewer may see it:
    /// (slug, title).
    pub kb_answer: Option<(String, String)>,
    /// The topic this one is marked a duplicate of, when the viewer may see it.
    pub duplicate_of: Option<TopicRow>,
    /// Its votes and status when the topic is an idea.
    pub idea: Option<crate::ideas::IdeaView>,
    /// Published changelog posts that reference it: (slug, title, date).
    pub changelog: Vec<(String, String, chrono::NaiveDate)>,
}

pub enum PageNo {
    Number(i32),
    Last,
}

/// Everything a topic page shows, in a constant number of queries whatever its length.
pub fn topic_page(
    db: &Db,
    topic_id: i64,
    page: PageNo,
    viewer: Option<&User>,
) -> Result<TopicPage, AppError> {
    let viewer_id = viewer.map(|u| u.id);
    let staff = viewer.is_some_and(|u| u.role.is_staff());
    db.read_sync(|conn| {
        let (topic, category) =
            q::topic_with_category(conn, topic_id)?.ok_or(AppError::NotFound)?;
        if !subject::may_see(Viewer::of(viewer), topic_visibility(&topic)) {
            return Err(AppError::NotFound);
        }
        let pages = ((topic.highest_post_number + POSTS_PER_PAGE - 1) / POSTS_PER_PAGE).max(1);
        let page = match page {
            PageNo::Last => pages,
            PageNo::Number(n) if (1..=pages).contains(&n) => n,
            PageNo::Number(_) => return Err(AppError::NotFound),
        };
        let from = (page - 1) * POSTS_PER_PAGE + 1;
        let rows = q::posts_in_range(conn, topic.id, from, from + POSTS_PER_PAGE - 1)?;
        let posts: Vec<PostView> = rows
            .into_iter()
            .map(|(post, author)| PostView { post, author })
            .collect();
        let accepted = match topic.solved_post_id {
            Some(id) => match posts.iter().find(|p| p.post.id == id) {
                Some(p) => Some(p.clone()),
                None => {
                    q::post_with_author(conn, id)?.map(|(post, author)| PostView { post, author })
                }
            },
            None => None,
        };
        let tags = q::tags_of_topic(conn, topic.id)?;
        let (liked, watch_level) = match viewer_id {
            Some(uid) => (
                q::liked_in_range(conn, uid, topic.id, from, from + POSTS_PER_PAGE - 1)?
                    .into_iter()
                    .collect(),
                q::topic_watch(conn, uid, topic.id)?,
            ),
            None => (HashSet::new(), None),
        };
        let categories = if staff {
            q::categories(conn)?
        } else {
            Vec::new()
        };
        let related = crate::db::related::related_to(conn, topic.id)?;
        let links = q::topic_links(conn, topic.id)?;
        let kb_answer = match (
            links.article_slug,
            links.article_title,
            links.article_status,
        ) {
            (Some(slug), Some(title), Some(status))
                if crate::kb::may_see_status(Viewer::of(viewer), &status) =>
            {
                Some((slug, title))
            }
            _ => None,
        };
        let duplicate_of = match links.duplicate_of {
            Some(id) => q::topic(conn, id)?
                .filter(|t| subject::may_see(Viewer::of(viewer), topic_visibility(t))),
            None => None,
        };
        let idea = crate::ideas::view_in(conn, &topic, &category, viewer)?;
        let changelog = crate::changelog::referencing_topic(conn, topic.id)?;
        Ok(TopicPage {
            topic,
            category,
            tags,
            posts,
            accepted,
            page,
            pages,
            liked,
            watch_level,
            categories,
            related,
            kb_answer,
            duplicate_of,
            idea,
            changelog,
        })
    })
}

/// Which page of its topic a post number is on.
pub fn page_of(post_number: i32) -> i32 {
    (post_number - 1) / POSTS_PER_PAGE + 1
}

// ---- writing ----------------------------------------------------------------------------

/// Mentions that name real accounts: (display names for cooking, their user ids).
fn resolve_mentions(conn: &mut DbConn, raw: &str) -> Result<HashMap<String, i64>, AppError> {
    let keys: Vec<String> = markdown::mention_candidates(raw)
        .iter()
        .map(|n| username_key(n))
        .collect();
    Ok(q::user_ids_by_keys(conn, &keys)?
        .into_iter()
        .map(|(id, key)| (key, id))
        .collect())
}

/// Cooks `raw`; returns the HTML, mentioned user ids and quoted post ids.
fn cook(db: &Db, raw: &str) -> Result<(String, Vec<i64>, Vec<i64>), AppError> {
    let known = db.read_sync(|conn| resolve_mentions(conn, raw))?;
    Ok(cook_with(raw, &known))
}

fn cook_with(raw: &str, known: &HashMap<String, i64>) -> (String, Vec<i64>, Vec<i64>) {
    let cooked = markdown::cook(raw, &|name| known.contains_key(&username_key(name)));
    let mut mentioned: Vec<i64> = cooked
        .mentions
        .iter()
        .filter_map(|n| known.get(&username_key(n)).copied())
        .collect();
    mentioned.sort_unstable();
    mentioned.dedup();
    (cooked.html, mentioned, cooked.quoted_post_ids)
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct TopicInput {
    pub category: String,
    pub title: String,
    pub raw: String,
    pub tags: String,
    /// The new-topic form's deflection flow id (see `search::deflection`).
    pub flow: String,
    /// "1" once the customer has seen suggested answers and still wants to post.
    pub confirmed: String,
}

pub struct Created {
    pub topic_id: i64,
    pub slug: String,
    pub post_id: i64,
    pub post_number: i32,
}

/// A post's text, cooked: what `cook` makes and every post write stores.
#[derive(Debug, Clone)]
pub struct CookedText {
    pub raw: String,
    pub html: String,
    pub mentions: Vec<i64>,
    pub quotes: Vec<i64>,
}

/// Cooks `raw` on `conn` (mentions are resolved against the accounts on it).
pub fn cook_text(conn: &mut DbConn, raw: &str) -> Result<CookedText, AppError> {
    let known = resolve_mentions(conn, raw)?;
    let (html, mentions, quotes) = cook_with(raw, &known);
    Ok(CookedText {
        raw: raw.to_string(),
        html,
        mentions,
        quotes,
    })
}

/// A checked new topic, ready to write.
pub struct NewTopic<'a> {
    pub category: &'a CategoryRow,
    pub title: &'a str,
    pub text: &'a CookedText,
    pub tags: &'a [String],
    /// The deflection flow it came from, if any (see `search::deflection`).
    pub flow: Option<String>,
    pub at: NaiveDateTime,
}

/// Writes a topic and its first post with its event, inside the caller's transaction.
pub fn start_topic_in(
    conn: &mut DbConn,
    author: Actor,
    new: &NewTopic,
) -> Result<Created, AppError> {
    if new.category.staff_only && !author.role.is_staff() {
        return Err(AppError::Forbidden(staff_only_category(new.category)));
    }
    let slug = slugify(new.title);
    let topic_id = q::insert_topic(
        conn,
        &q::NewTopic {
            category_id: new.category.id,
            user_id: author.id,
            title: new.title,
            slug: &slug,
            at: new.at,
        },
    )?;
    let post_id = q::insert_post(
        conn,
        &q::NewPost {
            topic_id,
            user_id: author.id,
            post_number: 1,
            raw: &new.text.raw,
            cooked: &new.text.html,
            at: new.at,
        },
    )?;
    let tag_ids = q::ensure_tags(conn, new.tags)?;
    q::set_topic_tags(conn, topic_id, &tag_ids)?;
    q::auto_watch(conn, author.id, topic_id)?;
    if new.category.is_ideas() {
        crate::db::ideas::ensure(conn, topic_id, new.at)?;
    }
    events::append(
        conn,
        &Event::TopicCreated {
            post_id,
            category_id: new.category.id,
            mentions: new.text.mentions.clone(),
            quotes: new.text.quotes.clone(),
            flow: new.flow.clone(),
        },
        Some(topic_id),
        Some(author.id),
    )?;
    Ok(Created {
        topic_id,
        slug,
        post_id,
        post_number: 1,
    })
}

fn staff_only_category(c: &CategoryRow) -> String {
    format!("Only staff can start topics in {}.", c.name)
}

pub fn create_topic(
    db: &Db,
    user: &User,
    input: &TopicInput,
    limits: &Limits,
) -> Result<Result<Created, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let title = limits.check_title(&input.title, &mut errors);
    let raw = limits.check_body(&input.raw, &mut errors);
    let tags = parse_tags(&input.tags, &mut errors);
    let category = db.read_sync(|conn| q::category_by_slug(conn, input.category.trim()))?;
    match &category {
        None => errors.add("category", "Choose a category."),
        Some(c) if c.staff_only && !user.role.is_staff() => {
            errors.add("category", staff_only_category(c))
        }
        Some(_) => {}
    }
    let Some(category) = category.filter(|_| errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let text = db.read_sync(|conn| cook_text(conn, &raw))?;
    let flow = crate::search::deflection::valid_flow(&input.flow).then(|| input.flow.clone());
    let new = NewTopic {
        category: &category,
        title: &title,
        text: &text,
        tags: &tags,
        flow,
        at: db::now(),
    };
    let created = db.write_sync(|conn| start_topic_in(conn, Actor::from(user), &new))?;
    Ok(Ok(created))
}

/// Why a reply was refused with the text kept (the form shows it next to the box).
pub const LOCKED_MESSAGE: &str = "This topic is locked: it no longer accepts replies. Your text is kept below; start a new topic if you still need help.";

/// Writes a reply with its event inside the caller's transaction. A locked topic refuses
/// members (`Ok(Err)`, for the form); a deleted or missing one is `NotFound`.
pub fn reply_in(
    conn: &mut DbConn,
    author: Actor,
    topic_id: i64,
    text: &CookedText,
    at: NaiveDateTime,
) -> Result<Result<Created, FieldErrors>, AppError> {
    reply_because_in(conn, author, topic_id, text, at, Because::Member)
}

/// Why a reply is written, when another capability writes it: its notifications come from
/// that capability's event instead (one notice per person, however many topics).
#[derive(Debug, Clone, PartialEq)]
pub enum Because {
    /// Someone replied; the usual notifications.
    Member,
    /// Resolving this incident replies in each topic that reported it.
    Incident(i64),
    /// A staff explanation of an idea's new status.
    IdeaStatus(String),
    /// Publishing this changelog post replies in each linked topic.
    Changelog(i64),
}

/// [`reply_in`], for replies that another capability writes (see [`Because`]).
pub fn reply_because_in(
    conn: &mut DbConn,
    author: Actor,
    topic_id: i64,
    text: &CookedText,
    at: NaiveDateTime,
    because: Because,
) -> Result<Result<Created, FieldErrors>, AppError> {
    let staff = author.role.is_staff();
    let topic = q::topic(conn, topic_id)?.ok_or(AppError::NotFound)?;
    if topic.deleted_at.is_some() {
        return Err(AppError::NotFound);
    }
    if topic.locked && !staff {
        let mut errors = FieldErrors::default();
        errors.add("locked", LOCKED_MESSAGE);
        return Ok(Err(errors));
    }
    let post_number = q::bump_for_reply(conn, topic_id, author.id, staff, at)?;
    let post_id = q::insert_post(
        conn,
        &q::NewPost {
            topic_id,
            user_id: author.id,
            post_number,
            raw: &text.raw,
            cooked: &text.html,
            at,
        },
    )?;
    q::auto_watch(conn, author.id, topic_id)?;
    events::append(
        conn,
        &Event::PostCreated {
            topic_id,
            post_number,
            staff,
            mentions: text.mentions.clone(),
            quotes: text.quotes.clone(),
            incident_id: match because {
                Because::Incident(id) => Some(id),
                _ => None,
            },
            idea_status: match &because {
                Because::IdeaStatus(s) => Some(s.clone()),
                _ => None,
            },
            changelog_id: match because {
                Because::Changelog(id) => Some(id),
                _ => None,
            },
        },
        Some(post_id),
        Some(author.id),
    )?;
    Ok(Ok(Created {
        topic_id,
        slug: topic.slug,
        post_id,
        post_number,
    }))
}

pub fn reply(
    db: &Db,
    user: &User,
    topic_id: i64,
    raw: &str,
    limits: &Limits,
) -> Result<Result<Created, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let raw = limits.check_body(raw, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let text = db.read_sync(|conn| cook_text(conn, &raw))?;
    let at = db::now();
    db.write_sync(|conn| reply_in(conn, Actor::from(user), topic_id, &text, at))
}

/// May `actor` change this post? Its author (while it is not hidden) or staff.
pub fn can_edit(actor: &User, post: &PostRow) -> bool {
    actor.role.is_staff() || (actor.id == post.user_id && post.hidden_reason.is_none())
}

fn editable_post(
    conn: &mut DbConn,
    actor: &User,
    post_id: i64,
) -> Result<(PostRow, TopicRow), AppError> {
    let post = q::post(conn, post_id)?.ok_or(AppError::NotFound)?;
    let topic = q::topic(conn, post.topic_id)?.ok_or(AppError::NotFound)?;
    if post.deleted_at.is_some() || topic.deleted_at.is_some() {
        return Err(AppError::NotFound);
    }
    if !can_edit(actor, &post) {
        return Err(AppError::Forbidden(
            "Only the author or staff can change this post.".into(),
        ));
    }
    Ok((post, topic))
}

/// The post and its topic for the edit form, when `actor` may edit it.
pub fn post_for_edit(db: &Db, actor: &User, post_id: i64) -> Result<(PostRow, TopicRow), AppError> {
    db.read_sync(|conn| editable_post(conn, actor, post_id))
}

/// A post's edit history: its revisions, oldest first, with their editors.
pub struct PostHistory {
    pub post: PostRow,
    pub topic: TopicRow,
    pub revisions: Vec<q::RevisionRow>,
    pub editors: Vec<Author>,
}

/// The edit history of a post `viewer` may see (anyone, for a public post).
pub fn post_history(db: &Db, viewer: Option<&User>, post_id: i64) -> Result<PostHistory, AppError> {
    db.read_sync(|c| {
        let post = q::post(c, post_id)?.ok_or(AppError::NotFound)?;
        let topic = q::topic(c, post.topic_id)?.ok_or(AppError::NotFound)?;
        if !subject::may_see(Viewer::of(viewer), post_visibility(&topic, &post)) {
            return Err(AppError::NotFound);
        }
        let revisions = q::revisions(c, post_id)?;
        let mut ids: Vec<i64> = revisions.iter().map(|r| r.editor_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let editors = q::authors(c, &ids)?;
        Ok(PostHistory {
            post,
            topic,
            revisions,
            editors,
        })
    })
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct EditInput {
    pub raw: String,
    /// Only for the first post: the topic's title.
    pub title: Option<String>,
}

/// Saves an edit and keeps the previous text as a revision anyone can read.
pub fn edit_post(
    db: &Db,
    actor: &User,
    post_id: i64,
    input: &EditInput,
    limits: &Limits,
) -> Result<Result<Created, FieldErrors>, AppError> {
    let (post, topic) = db.read_sync(|conn| editable_post(conn, actor, post_id))?;
    let mut errors = FieldErrors::default();
    let raw = limits.check_body(&input.raw, &mut errors);
    let title = match (&input.title, post.post_number) {
        (Some(t), 1) => Some(limits.check_title(t, &mut errors)),
        _ => None,
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let title_changed = title.as_ref().is_some_and(|t| *t != topic.title);
    if raw == post.raw && !title_changed {
        return Ok(Ok(Created {
            topic_id: topic.id,
            slug: topic.slug,
            post_id,
            post_number: post.post_number,
        }));
    }
    let (cooked, _, _) = cook(db, &raw)?;
    let actor_id = actor.id;
    let at = db::now();
    db.write_sync(|conn| {
        // Re-read inside the transaction: the revision must hold what was really there.
        let (current, topic) = editable_post(conn, actor, post_id)?;
        let version = current.version + 1;
        q::insert_revision(
            conn,
            post_id,
            current.version,
            actor_id,
            &current.raw,
            title_changed.then_some(topic.title.as_str()),
        )?;
        q::update_post_raw(conn, post_id, &raw, &cooked, version, at)?;
        let mut slug = topic.slug.clone();
        if let (true, Some(t)) = (title_changed, &title) {
            slug = slugify(t);
            q::set_topic_title(conn, topic.id, t, &slug)?;
        }
        events::append(
            conn,
            &Event::PostEdited {
                topic_id: topic.id,
                version,
                title_changed,
            },
            Some(post_id),
            Some(actor_id),
        )?;
        Ok(Ok(Created {
            topic_id: topic.id,
            slug,
            post_id,
            post_number: current.post_number,
        }))
    })
}

/// Soft-deletes a post (the whole topic when it is the first post).
pub fn delete_post(db: &Db, actor: &User, post_id: i64) -> Result<TopicRow, AppError> {
    let actor_id = actor.id;
    db.write_sync(|conn| {
        let (post, topic) = editable_post(conn, actor, post_id)?;
        let at = db::now();
        q::soft_delete_post(conn, post_id, at)?;
        let mut topic = topic;
        if post.post_number == 1 {
            q::soft_delete_topic(conn, topic.id, at)?;
            topic.deleted_at = Some(at);
        } else {
            q::forget_reply(conn, topic.id, post_id)?;
        }
        let deleted = Event::PostDeleted {
            topic_id: topic.id,
            post_number: post.post_number,
            author_id: post.user_id,
        };
        events::append(conn, &deleted, Some(post_id), Some(actor_id))?;
        Ok(topic)
    })
}

fn require_staff(actor: &User) -> Result<(), AppError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden("Only staff can do that.".into()))
    }
}

/// Hides a post from everyone but staff, with a reason shown in its place.
pub fn hide_post(
    db: &Db,
    actor: &User,
    post_id: i64,
    reason: Option<&str>,
) -> Result<TopicRow, AppError> {
    require_staff(actor)?;
    let reason = match reason.map(str::trim) {
        Some("") => {
            return Err(AppError::BadRequest(
                "Say why the post is hidden: the author and readers see the reason.".into(),
            ));
        }
        Some(r) if r.chars().count() > MAX_HIDE_REASON_CHARS => {
            return Err(AppError::BadRequest(format!(
                "Keep the reason under {MAX_HIDE_REASON_CHARS} characters."
            )));
        }
        other => other.map(str::to_string),
    };
    let actor_id = actor.id;
    db.write_sync(|conn| {
        let post = q::post(conn, post_id)?.ok_or(AppError::NotFound)?;
        let topic = q::topic(conn, post.topic_id)?.ok_or(AppError::NotFound)?;
        q::set_hidden(conn, post_id, reason.as_deref())?;
        let (topic_id, author_id) = (topic.id, post.user_id);
        let event = match &reason {
            Some(reason) => Event::PostHidden {
                topic_id,
                reason: reason.clone(),
                author_id,
            },
            None => Event::PostUnhidden {
                topic_id,
                reason: (),
                author_id,
            },
        };
        events::append(conn, &event, Some(post_id), Some(actor_id))?;
        Ok(topic)
    })
}

pub fn set_like(db: &Db, actor: &User, post_id: i64, like: bool) -> Result<TopicRow, AppError> {
    db.write_sync(|conn| set_like_in(conn, Actor::from(actor), post_id, like))
}

/// Likes (or unlikes) a post inside the caller's transaction; liking twice is one like.
pub fn set_like_in(
    conn: &mut DbConn,
    actor: Actor,
    post_id: i64,
    like: bool,
) -> Result<TopicRow, AppError> {
    let actor_id = actor.id;
    let post = q::post(conn, post_id)?.ok_or(AppError::NotFound)?;
    let topic = q::topic(conn, post.topic_id)?.ok_or(AppError::NotFound)?;
    if !subject::is_public(post_visibility(&topic, &post)) {
        return Err(AppError::NotFound);
    }
    if post.user_id == actor_id {
        return Err(AppError::BadRequest(
            "You cannot like your own post.".into(),
        ));
    }
    if q::set_like(conn, post_id, topic.id, actor_id, like)? {
        let (topic_id, author_id) = (topic.id, post.user_id);
        let event = if like {
            Event::PostLiked {
                topic_id,
                author_id,
            }
        } else {
            Event::PostUnliked {
                topic_id,
                author_id,
            }
        };
        events::append(conn, &event, Some(post_id), Some(actor_id))?;
    }
    Ok(topic)
}

/// Marks `post_id` as the accepted answer of its topic (`accept`), or clears it.
pub fn set_solution(
    db: &Db,
    actor: &User,
    post_id: i64,
    accept: bool,
) -> Result<TopicRow, AppError> {
    db.write_sync(|conn| set_solution_in(conn, Actor::from(actor), post_id, accept))
}

/// Accepts `post_id` as its topic's answer (or clears it) inside the caller's transaction.
pub fn set_solution_in(
    conn: &mut DbConn,
    actor: Actor,
    post_id: i64,
    accept: bool,
) -> Result<TopicRow, AppError> {
    let (actor_id, staff) = (actor.id, actor.role.is_staff());
    let post = q::post(conn, post_id)?.ok_or(AppError::NotFound)?;
    let topic = q::topic(conn, post.topic_id)?.ok_or(AppError::NotFound)?;
    if topic.deleted_at.is_some() || post.deleted_at.is_some() {
        return Err(AppError::NotFound);
    }
    if topic.user_id != actor_id && !staff {
        return Err(AppError::Forbidden(
            "Only the person who asked, or staff, can choose the answer.".into(),
        ));
    }
    if accept {
        if post.post_number == 1 {
            return Err(AppError::BadRequest(
                "The question itself cannot be its answer; accept a reply.".into(),
            ));
        }
        if post.hidden_reason.is_some() {
            return Err(AppError::BadRequest(
                "A hidden post cannot be the answer.".into(),
            ));
        }
        q::set_solved(conn, topic.id, Some(post_id))?;
        let solved = Event::TopicSolved {
            post_id,
            answer_author_id: post.user_id,
            topic_author_id: topic.user_id,
        };
        events::append(conn, &solved, Some(topic.id), Some(actor_id))?;
    } else if topic.solved_post_id == Some(post_id) {
        q::set_solved(conn, topic.id, None)?;
        events::append(
            conn,
            &Event::TopicUnsolved { post_id },
            Some(topic.id),
            Some(actor_id),
        )?;
    }
    Ok(topic)
}

/// Staff actions on a topic; each is recorded as an event (the audit log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TopicAction {
    Lock,
    Unlock,
    Pin,
    Unpin,
    Unlist,
    Relist,
    Move(i64),
}

impl TopicAction {
    pub fn parse(action: &str, category_id: Option<i64>) -> Option<TopicAction> {
        Some(match action {
            "lock" => TopicAction::Lock,
            "unlock" => TopicAction::Unlock,
            "pin" => TopicAction::Pin,
            "unpin" => TopicAction::Unpin,
            "unlist" => TopicAction::Unlist,
            "relist" => TopicAction::Relist,
            "move" => TopicAction::Move(category_id?),
            _ => return None,
        })
    }

    /// The event that records this action on a topic now in `from_category`.
    fn event(self, from_category: i64) -> Event {
        match self {
            TopicAction::Lock => Event::TopicLocked {},
            TopicAction::Unlock => Event::TopicUnlocked {},
            TopicAction::Pin => Event::TopicPinned {},
            TopicAction::Unpin => Event::TopicUnpinned {},
            TopicAction::Unlist => Event::TopicUnlisted {},
            TopicAction::Relist => Event::TopicRelisted {},
            TopicAction::Move(to) => Event::TopicMoved {
                from: from_category,
                to,
            },
        }
    }
}

pub fn moderate_topic(
    db: &Db,
    actor: &User,
    topic_id: i64,
    action: TopicAction,
) -> Result<TopicRow, AppError> {
    require_staff(actor)?;
    let actor_id = actor.id;
    db.write_sync(|conn| {
        let topic = q::topic(conn, topic_id)?.ok_or(AppError::NotFound)?;
        match action {
            TopicAction::Lock => q::set_topic_flag(conn, topic_id, TopicFlag::Locked, true)?,
            TopicAction::Unlock => q::set_topic_flag(conn, topic_id, TopicFlag::Locked, false)?,
            TopicAction::Pin => q::set_topic_flag(conn, topic_id, TopicFlag::Pinned, true)?,
            TopicAction::Unpin => q::set_topic_flag(conn, topic_id, TopicFlag::Pinned, false)?,
            TopicAction::Unlist => q::set_topic_flag(conn, topic_id, TopicFlag::Unlisted, true)?,
            TopicAction::Relist => q::set_topic_flag(conn, topic_id, TopicFlag::Unlisted, false)?,
            TopicAction::Move(category_id) => {
                let target = q::category(conn, category_id)?
                    .ok_or_else(|| AppError::BadRequest("That category does not exist.".into()))?;
                q::move_topic(conn, topic_id, category_id)?;
                if target.is_ideas() {
                    crate::db::ideas::ensure(conn, topic_id, crate::db::now())?;
                }
            }
        }
        events::append(
            conn,
            &action.event(topic.category_id),
            Some(topic_id),
            Some(actor_id),
        )?;
        Ok(topic)
    })
}

/// Reads a topic reference as staff type it: `123`, `#123`, `/t/slug/123` or a full URL.
pub fn parse_topic_ref(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text
        .split(['?', '#'])
        .find(|part| !part.is_empty())
        .unwrap_or("");
    let last = text.trim_end_matches('/').rsplit('/').next()?;
    last.parse::<i64>().ok().filter(|id| *id > 0)
}

/// Marks `topic_id` as asking what another topic answers (`of` names it as staff type it;
/// empty removes the mark), in one transaction with its event. Visitors of the duplicate
/// are pointed at the original, and the original ranks higher among the knowledge base's
/// candidates.
pub fn mark_duplicate(
    db: &Db,
    actor: &User,
    topic_id: i64,
    of: &str,
) -> Result<TopicRow, AppError> {
    require_staff(actor)?;
    let target = if of.trim().is_empty() {
        None
    } else {
        Some(parse_topic_ref(of).ok_or_else(|| {
            AppError::BadRequest(
                "Name the original topic by its number or address, like 123 or /t/some-title/123."
                    .into(),
            )
        })?)
    };
    let at = db::now();
    let actor = Actor::from(actor);
    db.write_sync(|conn| mark_duplicate_in(conn, actor, topic_id, target, at))
}

/// [`mark_duplicate`] inside the caller's transaction, with the original resolved to its id.
pub fn mark_duplicate_in(
    conn: &mut DbConn,
    actor: Actor,
    topic_id: i64,
    target: Option<i64>,
    at: NaiveDateTime,
) -> Result<TopicRow, AppError> {
    let actor_id = actor.id;
    let topic = q::topic(conn, topic_id)?
        .filter(listed)
        .ok_or(AppError::NotFound)?;
    match target {
        None => {
            if !q::unmark_duplicate(conn, topic_id)? {
                return Ok(topic);
            }
        }
        Some(of_id) => {
            if of_id == topic_id {
                return Err(AppError::BadRequest(
                    "A topic cannot be a duplicate of itself.".into(),
                ));
            }
            let original = q::topic(conn, of_id)?
                .filter(|t| listed(t) && subject::is_public(topic_visibility(t)))
                .ok_or_else(|| {
                    AppError::BadRequest(format!("There is no public topic #{of_id} to point to."))
                })?;
            // Point at the end of a chain, never round in a circle.
            let original = match q::duplicate_of(conn, original.id)? {
                Some(further) if further.id != topic_id && listed(&further) => further,
                Some(_) => {
                    return Err(AppError::BadRequest(format!(
                        "Topic #{of_id} is itself marked a duplicate of this one."
                    )));
                }
                None => original,
            };
            q::mark_duplicate(conn, topic_id, original.id, Some(actor_id), at)?;
        }
    }
    events::append(
        conn,
        &Event::TopicDuplicateMarked {
            of_topic_id: target,
        },
        Some(topic_id),
        Some(actor_id),
    )?;
    Ok(topic)
}

// ---- reading for feeds, sitemaps, profiles and links -------------------------------------

/// The first post of each listed topic, by topic id, where everyone may read it (feed
/// entries carry it).
pub fn public_first_posts(
    db: &Db,
    topics: &[TopicSummary],
) -> Result<HashMap<i64, PostRow>, AppError> {
    let ids: Vec<i64> = topics.iter().map(|t| t.topic.id).collect();
    let posts = db.read_sync(|c| q::first_posts(c, &ids))?;
    Ok(posts
        .into_iter()
        .filter_map(|p| {
            let topic = &topics.iter().find(|t| t.topic.id == p.topic_id)?.topic;
            let public = subject::is_public(post_visibility(topic, &p));
            public.then_some((p.topic_id, p))
        })
        .collect())
}

/// The topic sitemap files that list at least one topic.
pub fn sitemap_chunks(db: &Db) -> Result<Vec<crate::db::forum::SitemapChunk>, AppError> {
    db.read_sync(q::sitemap_chunks)
}

/// One topic sitemap file's listed topics: (id, slug, last activity).
pub fn sitemap_topics(db: &Db, chunk: i64) -> Result<Vec<(i64, String, NaiveDateTime)>, AppError> {
    db.read_sync(|c| q::sitemap_topics(c, chunk))
}

/// Where a post is: (topic id, post number), for `?post=` links.
pub fn post_location(db: &Db, post_id: i64) -> Result<Option<(i64, i32)>, AppError> {
    db.read_sync(|c| q::post_number(c, post_id))
}

/// A post of `topic` that `viewer` may read and so quote in a reply.
pub fn quotable_post(
    db: &Db,
    topic: &TopicRow,
    post_id: i64,
    viewer: Option<&User>,
) -> Result<Option<PostView>, AppError> {
    Ok(db
        .read_sync(|c| q::post_with_author(c, post_id))?
        .map(|(post, author)| PostView { post, author })
        .filter(|p| p.post.topic_id == topic.id && p.is_visible_to(topic, viewer)))
}

/// How `user` watches `category`, for the category page's watch menu.
pub fn category_watch(
    db: &Db,
    user: &User,
    category_id: i64,
) -> Result<Option<WatchLevel>, AppError> {
    let user_id = user.id;
    db.read_sync(|c| q::category_watch(c, user_id, category_id))
}

/// A member's public profile: who they are and what they wrote lately.
pub struct Profile {
    pub user: crate::db::users::UserRow,
    pub topics: Vec<TopicRow>,
    pub replies: Vec<(PostRow, TopicRow)>,
    /// (topics, replies, accepted answers).
    pub counts: (i64, i64, i64),
}

/// The profile of the member whose name normalises to `username`.
pub fn profile(db: &Db, username: &str) -> Result<Profile, AppError> {
    let key = username_key(username);
    db.read_sync(|c| {
        let user = crate::db::users::by_username_key(c, &key)?.ok_or(AppError::NotFound)?;
        Ok(Profile {
            topics: q::user_topics(c, user.id, 10)?,
            replies: q::user_replies(c, user.id, 10)?,
            counts: q::user_counts(c, user.id)?,
            user,
        })
    })
}

/// Adds page views counted elsewhere (the view counter; the demo's reading history), and
/// how many of them came from search results.
pub fn add_views_in(
    conn: &mut DbConn,
    topic_id: i64,
    views: i64,
    from_search: i64,
) -> Result<(), AppError> {
    q::add_views(conn, topic_id, views, from_search)
}

fn watch_level(level: &str) -> Result<WatchLevel, AppError> {
    WatchLevel::parse(level)
        .ok_or_else(|| AppError::BadRequest("Choose watching, normal or muted.".into()))
}

pub fn watch_topic(db: &Db, user: &User, topic_id: i64, level: &str) -> Result<TopicRow, AppError> {
    let level = watch_level(level)?;
    let user_id = user.id;
    db.write_sync(|conn| {
        let topic = q::topic(conn, topic_id)?
            .filter(|t| t.deleted_at.is_none())
            .ok_or(AppError::NotFound)?;
        q::set_topic_watch(conn, user_id, topic_id, level)?;
        events::append(
            conn,
            &Event::TopicWatchChanged {
                level: level.as_str().into(),
            },
            Some(topic_id),
            Some(user_id),
        )?;
        Ok(topic)
    })
}

pub fn watch_category(db: &Db, user: &User, slug: &str, level: &str) -> Result<(), AppError> {
    let level = watch_level(level)?;
    let user_id = user.id;
    db.write_sync(|conn| {
        let category_id = q::category_by_slug(conn, slug)?
            .ok_or(AppError::NotFound)?
            .id;
        q::set_category_watch(conn, user_id, category_id, level)?;
        events::append(
            conn,
            &Event::CategoryWatchChanged {
                level: level.as_str().into(),
            },
            Some(category_id),
            Some(user_id),
        )?;
        Ok(())
    })
}

/// Re-renders every post with the current renderer (after an upgrade); returns how many changed.
pub fn recook(db: &Db) -> Result<usize, AppError> {
    let mut after = 0;
    let mut changed = 0;
    loop {
        let batch = db.read_sync(|conn| q::raw_batch(conn, after, 500))?;
        let Some(last) = batch.last() else { break };
        after = last.0;
        let mut updates = Vec::new();
        for (id, raw) in &batch {
            let (html, _, _) = cook(db, raw)?;
            updates.push((*id, html));
        }
        changed += updates.len();
        db.write_sync(|conn| {
            for (id, html) in &updates {
                q::set_cooked(conn, *id, html)?;
            }
            let recooked = Event::PostsRecooked {
                through_post_id: after,
                count: updates.len() as u64,
            };
            events::append(conn, &recooked, None, None)?;
            Ok(())
        })?;
    }
    Ok(changed)
}

pub fn role_of(author: &Author) -> Role {
    Role::parse(&author.role).unwrap_or(Role::Member)
}
