//! The changelog: staff posts saying what changed, linked to what prompted the change
//! (ideas, support topics, KB articles, incidents).
//!
//! Publishing a post for the first time closes the loop in one transaction with its event
//! ([`publish_in`]): each linked idea becomes shipped, each linked topic gets a staff reply
//! pointing to the post, and the `changelog.published` event makes the notifier tell
//! everyone who voted on, started or replied in a linked topic, once per person for the
//! post (`crate::notifications`, in batches). `loop_closed_at` is set then and never again:
//! editing, unpublishing and re-publishing notify nobody twice.

pub mod whats_new;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};

use crate::accounts::{Actor, User};
use crate::db::changelog::{self as q, ChangelogRow, Fields, LinkRow};
use crate::db::forum::{self as fq, TopicRow};
use crate::db::ideas::{self as iq, IdeaRow};
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event};
use crate::forms::FieldErrors;
use crate::forum::{self, Because, Limits};
use crate::subject::{self, Named, Subject, Viewer, Visibility};

/// What kind of change a post announces; a post may carry several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    New,
    Improved,
    Fixed,
}

impl Label {
    pub const ALL: [Label; 3] = [Label::New, Label::Improved, Label::Fixed];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::New => "new",
            Label::Improved => "improved",
            Label::Fixed => "fixed",
        }
    }

    pub fn parse(s: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Label::New => "New",
            Label::Improved => "Improved",
            Label::Fixed => "Fixed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The labels a post carries.
    pub fn of(p: &ChangelogRow) -> Vec<Label> {
        let flags = [p.label_new, p.label_improved, p.label_fixed];
        Label::ALL
            .into_iter()
            .filter(|l| flags[l.index()])
            .collect()
    }
}

pub fn visibility(p: &ChangelogRow) -> Visibility {
    if p.is_published() {
        Visibility::Public
    } else {
        Visibility::Draft
    }
}

pub fn path(p: &ChangelogRow) -> String {
    Subject::ChangelogPost(p.id).path(Named::slug(&p.slug))
}

pub const PER_PAGE: i64 = 20;
const MAX_TITLE: usize = 150;
const MAX_LINKS: usize = 50;

/// The post form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ChangelogInput {
    pub title: String,
    pub slug: String,
    pub raw: String,
    pub label_new: Option<String>,
    pub label_improved: Option<String>,
    pub label_fixed: Option<String>,
    /// One address per line: `/t/…/123` (idea or topic), `/kb/slug`, `/status/incidents/4`.
    pub links: String,
    /// `YYYY-MM-DD`; empty means today.
    pub published_on: String,
    /// "published" or "draft".
    pub status: String,
}

impl ChangelogInput {
    pub fn from_post(p: &ChangelogRow, links: &[String]) -> ChangelogInput {
        let on = |b: bool| b.then(|| "on".to_string());
        ChangelogInput {
            title: p.title.clone(),
            slug: p.slug.clone(),
            raw: p.raw.clone(),
            label_new: on(p.label_new),
            label_improved: on(p.label_improved),
            label_fixed: on(p.label_fixed),
            links: links.join("\n"),
            published_on: p.published_on.to_string(),
            status: p.status.clone(),
        }
    }
}

/// What a link line names, before it is checked against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRef {
    Topic(i64),
    Article(String),
    Incident(i64),
}

/// Reads one link line: a site address (with or without scheme and host) or `#123`.
pub fn parse_link(line: &str) -> Option<LinkRef> {
    let line = line.trim();
    let path = match line.find("://") {
        Some(i) => {
            let rest = &line[i + 3..];
            &rest[rest.find('/').unwrap_or(rest.len())..]
        }
        None => line,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    if let Some(n) = line.strip_prefix('#') {
        return n.parse().ok().filter(|n| *n > 0).map(LinkRef::Topic);
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["t", id] | ["t", _, id] => id.parse().ok().filter(|n| *n > 0).map(LinkRef::Topic),
        ["kb", slug] if !slug.is_empty() => Some(LinkRef::Article(slug.to_string())),
        ["status", "incidents", id] => id.parse().ok().filter(|n| *n > 0).map(LinkRef::Incident),
        _ => None,
    }
}

/// A link that passed its checks: stored as (kind, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    kind: &'static str,
    id: i64,
}

/// Checks every link against what exists and who may see it; the error names the link.
fn resolve_links(conn: &mut DbConn, lines: &[&str]) -> Result<Result<Vec<Link>, String>, AppError> {
    let mut out: Vec<Link> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let named = format!("Link {} (“{}”)", n + 1, line);
        let Some(link) = parse_link(line) else {
            return Ok(Err(format!(
                "{named} is not the address of a topic, idea, article or incident."
            )));
        };
        let resolved = match link {
            LinkRef::Topic(id) => {
                let Some((topic, category)) = fq::topic_with_category(conn, id)? else {
                    return Ok(Err(format!("{named}: there is no topic #{id}.")));
                };
                if topic.deleted_at.is_some() {
                    return Ok(Err(format!("{named}: topic #{id} was deleted.")));
                }
                if !forum::listed(&topic) || !subject::is_public(forum::topic_visibility(&topic)) {
                    return Ok(Err(format!(
                        "{named}: topic #{id} is staff-only; link only what customers can read."
                    )));
                }
                let is_idea = category.is_ideas() && iq::idea(conn, id)?.is_some();
                Link {
                    kind: if is_idea { "idea" } else { "topic" },
                    id,
                }
            }
            LinkRef::Article(slug) => {
                let article = match crate::db::kb::article_by_slug(conn, &slug)? {
                    Some(a) => Some(a),
                    None => match crate::db::kb::redirect_target(conn, &slug)? {
                        Some(id) => crate::db::kb::article(conn, id)?,
                        None => None,
                    },
                };
                let Some(article) = article else {
                    return Ok(Err(format!("{named}: there is no article “{slug}”.")));
                };
                if !crate::kb::listed(crate::kb::Status::of(&article)) {
                    return Ok(Err(format!(
                        "{named}: the article “{}” is not published.",
                        article.title
                    )));
                }
                Link {
                    kind: "article",
                    id: article.id,
                }
            }
            LinkRef::Incident(id) => {
                if crate::db::status::incident(conn, id)?.is_none() {
                    return Ok(Err(format!("{named}: there is no incident #{id}.")));
                }
                Link {
                    kind: "incident",
                    id,
                }
            }
        };
        if !out.contains(&resolved) {
            out.push(resolved);
        }
    }
    Ok(Ok(out))
}

/// A post that passed the field checks (links are checked in the saving transaction).
pub struct Checked {
    title: String,
    slug: String,
    raw: String,
    labels: [bool; 3],
    links: Vec<String>,
    published_on: Option<NaiveDate>,
    publish: bool,
}

pub fn check(input: &ChangelogInput, limits: &Limits) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::default();
    let title = input.title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        errors.add("title", "A title of 1 to 150 characters: what changed?");
    }
    let slug = if input.slug.trim().is_empty() {
        slug::slugify(&title)
    } else {
        input.slug.trim().to_lowercase()
    };
    let slug: String = slug.chars().take(80).collect();
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty()
        || !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || matches!(slug.as_str(), "new" | "drafts")
    {
        errors.add(
            "slug",
            "Lowercase letters, digits and '-', as in faster-deploys (in the address /changelog/…).",
        );
    }
    let raw = limits.check_body(&input.raw, &mut errors);
    let links: Vec<String> = input
        .links
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if links.len() > MAX_LINKS {
        errors.add("links", "At most 50 links.");
    }
    let published_on = match input.published_on.trim() {
        "" => None,
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("published_on", "A date like 2026-12-03.");
                None
            }
        },
    };
    let publish = match input.status.trim() {
        "" | "draft" => false,
        "published" => true,
        _ => {
            errors.add("status", "Draft or published.");
            false
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        title,
        slug,
        raw,
        labels: [
            input.label_new.is_some(),
            input.label_improved.is_some(),
            input.label_fixed.is_some(),
        ],
        links,
        published_on,
        publish,
    })
}

/// A new draft about a topic or idea, for "Write a changelog post" on its page: its title
/// to start from and the topic as the first link (checked again when saved).
pub fn draft_about_topic(db: &Db, actor: &User, topic_id: i64) -> Result<ChangelogInput, AppError> {
    require_staff(actor, "write changelog posts")?;
    let topic = db
        .read_sync(|conn| fq::topic(conn, topic_id))?
        .filter(|t| t.deleted_at.is_none())
        .ok_or(AppError::NotFound)?;
    Ok(ChangelogInput {
        title: topic.title.clone(),
        links: subject::topic_path(&topic.slug, topic.id),
        status: "draft".into(),
        published_on: db::now().date().to_string(),
        ..Default::default()
    })
}

fn require_staff(actor: &User, what: &str) -> Result<(), AppError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("Only staff {what}.")))
    }
}

/// Creates (`id` = None) or edits a post, publishing it if the form says so; `Ok(Err)` names
/// what to correct (a bad link is refused by name).
pub fn save(
    db: &Db,
    actor: &User,
    id: Option<i64>,
    input: &ChangelogInput,
    limits: &Limits,
) -> Result<Result<ChangelogRow, FieldErrors>, AppError> {
    require_staff(actor, "write the changelog")?;
    let checked = match check(input, limits) {
        Ok(c) => c,
        Err(errors) => return Ok(Err(errors)),
    };
    let cooked = db.read_sync(|conn| forum::cook_text(conn, &checked.raw))?;
    let at = db::now();
    db.write_sync(|conn| save_in(conn, Actor::from(actor), id, &checked, &cooked.html, at))
}

/// [`save`] inside the caller's transaction (the demo loader and the bench seeder use it).
pub fn save_in(
    conn: &mut DbConn,
    actor: Actor,
    id: Option<i64>,
    c: &Checked,
    cooked: &str,
    at: NaiveDateTime,
) -> Result<Result<ChangelogRow, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    if q::slug_taken(conn, &c.slug, id)? {
        errors.add(
            "slug",
            "Another changelog post uses this address; choose another.",
        );
    }
    let lines: Vec<&str> = c.links.iter().map(String::as_str).collect();
    let links = match resolve_links(conn, &lines)? {
        Ok(l) => l,
        Err(message) => {
            errors.add("links", message);
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let before = match id {
        Some(id) => Some(q::post(conn, id)?.ok_or(AppError::NotFound)?),
        None => None,
    };
    // A published post stays published unless the form takes it back to draft.
    let status = if c.publish { "published" } else { "draft" };
    let fields = Fields {
        slug: &c.slug,
        title: &c.title,
        raw: &c.raw,
        cooked,
        labels: c.labels,
        status,
        published_on: c
            .published_on
            .or(before.as_ref().map(|b| b.published_on))
            .unwrap_or(at.date()),
    };
    let id = match &before {
        Some(b) => {
            q::update(conn, b.id, &fields, at)?;
            if b.slug != c.slug {
                q::rename(conn, &b.slug, &c.slug, b.id)?;
            }
            b.id
        }
        None => q::insert(conn, &fields, actor.id, at)?,
    };
    let pairs: Vec<(&str, i64)> = links.iter().map(|l| (l.kind, l.id)).collect();
    q::set_links(conn, id, &pairs)?;
    events::append(
        conn,
        &Event::ChangelogSaved {
            slug: c.slug.clone(),
            status: status.into(),
            created: before.is_none(),
            renamed_from: before
                .as_ref()
                .filter(|b| b.slug != c.slug)
                .map(|b| b.slug.clone()),
        },
        Some(id),
        Some(actor.id),
    )?;
    if c.publish {
        publish_in(conn, actor, id, at)?;
    }
    let post = q::post(conn, id)?.ok_or(AppError::NotFound)?;
    Ok(Ok(post))
}

/// Publishes a draft (the "Publish" button).
pub fn publish(db: &Db, actor: &User, slug: &str) -> Result<ChangelogRow, AppError> {
    require_staff(actor, "publish changelog posts")?;
    let at = db::now();
    db.write_sync(|conn| {
        let post = q::by_slug(conn, slug)?.ok_or(AppError::NotFound)?;
        if !post.is_published() {
            // A draft dated in the past is published today.
            let published_on = if post.published_at.is_none() {
                post.published_on.max(at.date())
            } else {
                post.published_on
            };
            q::set_published(conn, post.id, published_on, at)?;
            events::append(
                conn,
                &Event::ChangelogSaved {
                    slug: post.slug.clone(),
                    status: "published".into(),
                    created: false,
                    renamed_from: None,
                },
                Some(post.id),
                Some(actor.id),
            )?;
        }
        publish_in(conn, Actor::from(actor), post.id, at)?;
        q::post(conn, post.id)?.ok_or(AppError::NotFound)
    })
}

/// Closes the loop for a post that is now published, once in its life: linked ideas are
/// shipped, linked topics get a staff reply, and `changelog.published` is appended (the
/// notifier derives everyone's notice from it). A post whose loop is closed is left alone.
pub fn publish_in(
    conn: &mut DbConn,
    actor: Actor,
    id: i64,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    q::mark_published(conn, id, at)?;
    if !q::claim_loop(conn, id, at)? {
        return Ok(());
    }
    let post = q::post(conn, id)?.ok_or(AppError::NotFound)?;
    let links = q::links_of(conn, &[id])?;
    let mut topics = Vec::new();
    let mut articles = Vec::new();
    let reply = forum::cook_text(conn, &reply_text(&post))?;
    for link in &links {
        match link.subject_kind.as_str() {
            "idea" | "topic" => {
                if link.subject_kind == "idea" {
                    crate::ideas::ship_in(conn, actor.id, link.subject_id, id, at)?;
                }
                match forum::reply_because_in(
                    conn,
                    actor,
                    link.subject_id,
                    &reply,
                    at,
                    Because::Changelog(id),
                ) {
                    Ok(_) => topics.push(link.subject_id),
                    // Deleted since it was linked: nobody to tell there.
                    Err(AppError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            "article" => articles.push(link.subject_id),
            _ => {}
        }
    }
    events::append(
        conn,
        &Event::ChangelogPublished {
            slug: post.slug.clone(),
            topics,
            articles,
        },
        Some(id),
        Some(actor.id),
    )?;
    Ok(())
}

/// The staff reply posted in each linked topic.
fn reply_text(post: &ChangelogRow) -> String {
    let excerpt = crate::markdown::excerpt(&post.raw, 280);
    format!(
        "**We made a change because of this:** [{}]({})\n\n> {}\n\nThank you for telling us.",
        post.title.replace(['[', ']'], ""),
        path(post),
        excerpt.replace('\n', " ")
    )
}

// ---- reading -----------------------------------------------------------------------------

/// How much customer feedback led to a post: "Because you asked: N ideas, M topics, K votes".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BecauseYouAsked {
    pub ideas: i64,
    pub topics: i64,
    pub votes: i64,
}

impl BecauseYouAsked {
    pub fn is_empty(&self) -> bool {
        self.ideas == 0 && self.topics == 0
    }
}

/// A post in a list, with its labels and counts.
pub struct Entry {
    pub post: ChangelogRow,
    pub labels: Vec<Label>,
    pub because: BecauseYouAsked,
}

fn entries(conn: &mut DbConn, posts: Vec<ChangelogRow>) -> Result<Vec<Entry>, AppError> {
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let links = q::links_of(conn, &ids)?;
    let idea_ids: Vec<i64> = links
        .iter()
        .filter(|l| l.subject_kind == "idea")
        .map(|l| l.subject_id)
        .collect();
    let votes: HashMap<i64, i64> = iq::ideas_by_ids(conn, &idea_ids)?
        .into_iter()
        .map(|i| (i.topic_id, i64::from(i.vote_count)))
        .collect();
    Ok(posts
        .into_iter()
        .map(|post| {
            let mine: Vec<&LinkRow> = links.iter().filter(|l| l.post_id == post.id).collect();
            let because = BecauseYouAsked {
                ideas: mine.iter().filter(|l| l.subject_kind == "idea").count() as i64,
                topics: mine.iter().filter(|l| l.subject_kind == "topic").count() as i64,
                votes: mine
                    .iter()
                    .filter(|l| l.subject_kind == "idea")
                    .map(|l| votes.get(&l.subject_id).copied().unwrap_or(0))
                    .sum(),
            };
            Entry {
                labels: Label::of(&post),
                post,
                because,
            }
        })
        .collect())
}

pub struct ChangelogList {
    pub entries: Vec<Entry>,
    pub more: bool,
    /// Staff see drafts first.
    pub drafts: Vec<ChangelogRow>,
}

/// A page (1-based) of published posts, newest first, optionally of one label.
pub fn list(
    db: &Db,
    label: Option<Label>,
    page: i64,
    viewer: Viewer,
) -> Result<ChangelogList, AppError> {
    db.read_sync(|conn| {
        let mut posts = q::list(
            conn,
            true,
            label.map(Label::index),
            (page - 1).max(0) * PER_PAGE,
            PER_PAGE + 1,
        )?;
        let more = posts.len() as i64 > PER_PAGE;
        posts.truncate(PER_PAGE as usize);
        let drafts = if viewer.is_staff() && page <= 1 {
            q::drafts(conn)?
        } else {
            Vec::new()
        };
        Ok(ChangelogList {
            entries: entries(conn, posts)?,
            more,
            drafts,
        })
    })
}

/// Everything a post's page shows.
pub struct PostPage {
    pub entry: Entry,
    pub author: String,
    pub ideas: Vec<(TopicRow, IdeaRow)>,
    pub topics: Vec<TopicRow>,
    /// (slug, title)
    pub articles: Vec<(String, String)>,
    /// (id, name)
    pub incidents: Vec<(i64, String)>,
    /// The link lines as staff typed them back (the edit form).
    pub link_lines: Vec<String>,
}

pub enum Found {
    Post(Box<PostPage>),
    /// An old slug: the post's address now.
    Moved(String),
}

pub fn find(db: &Db, slug: &str, viewer: Viewer) -> Result<Found, AppError> {
    db.read_sync(|conn| {
        let post = match q::by_slug(conn, slug)? {
            Some(p) => p,
            None => {
                let moved = match q::redirect_target(conn, slug)? {
                    Some(id) => q::post(conn, id)?,
                    None => None,
                };
                return match moved {
                    Some(p) if subject::may_see(viewer, visibility(&p)) => {
                        Ok(Found::Moved(path(&p)))
                    }
                    _ => Err(AppError::NotFound),
                };
            }
        };
        if !subject::may_see(viewer, visibility(&post)) {
            return Err(AppError::NotFound);
        }
        let author = fq::authors(conn, &[post.author_id])?
            .into_iter()
            .next()
            .map(|a| a.username)
            .unwrap_or_default();
        let links = q::links_of(conn, &[post.id])?;
        let ids_of = |kind: &str| -> Vec<i64> {
            links
                .iter()
                .filter(|l| l.subject_kind == kind)
                .map(|l| l.subject_id)
                .collect()
        };
        let visible = |t: &TopicRow| subject::may_see(viewer, forum::topic_visibility(t));
        let idea_ids = ids_of("idea");
        let idea_rows = iq::ideas_by_ids(conn, &idea_ids)?;
        let ideas: Vec<(TopicRow, IdeaRow)> = fq::topics_by_ids(conn, &idea_ids)?
            .into_iter()
            .filter(visible)
            .filter_map(|t| {
                let i = idea_rows.iter().find(|i| i.topic_id == t.id)?.clone();
                Some((t, i))
            })
            .collect();
        let topics: Vec<TopicRow> = fq::topics_by_ids(conn, &ids_of("topic"))?
            .into_iter()
            .filter(visible)
            .collect();
        let article_rows = crate::db::kb::articles_by_ids(conn, &ids_of("article"))?;
        let articles: Vec<(String, String)> = article_rows
            .iter()
            .filter(|a| crate::kb::may_see_status(viewer, &a.status))
            .map(|a| (a.slug.clone(), a.title.clone()))
            .collect();
        let mut incidents = Vec::new();
        for id in ids_of("incident") {
            if let Some(i) = crate::db::status::incident(conn, id)? {
                incidents.push((i.id, i.name));
            }
        }
        let mut link_lines: Vec<String> = Vec::new();
        for l in &links {
            link_lines.push(match l.subject_kind.as_str() {
                "idea" | "topic" => ideas
                    .iter()
                    .map(|(t, _)| t)
                    .chain(topics.iter())
                    .find(|t| t.id == l.subject_id)
                    .map(|t| subject::topic_path(&t.slug, t.id))
                    .unwrap_or_else(|| subject::topic_short_path(l.subject_id)),
                "article" => article_rows
                    .iter()
                    .find(|a| a.id == l.subject_id)
                    .map(|a| subject::article_path(&a.slug))
                    .unwrap_or_default(),
                _ => Subject::Incident(l.subject_id).path(Named::slug("")),
            });
        }
        let entry = entries(conn, vec![post])?.pop().ok_or(AppError::NotFound)?;
        Ok(Found::Post(Box::new(PostPage {
            entry,
            author,
            ideas,
            topics,
            articles,
            incidents,
            link_lines,
        })))
    })
}

/// Published posts that reference a topic or idea (its page lists them): (slug, title, date).
pub fn referencing_topic(
    conn: &mut DbConn,
    topic_id: i64,
) -> Result<Vec<(String, String, NaiveDate)>, AppError> {
    Ok(q::published_linking(conn, &["idea", "topic"], topic_id)?
        .into_iter()
        .map(|p| (p.slug, p.title, p.published_on))
        .collect())
}

/// Published posts that changed what an article describes ("Updated because of this change").
pub fn referencing_article_in(
    conn: &mut DbConn,
    article_id: i64,
) -> Result<Vec<(String, String, NaiveDate)>, AppError> {
    Ok(q::published_linking(conn, &["article"], article_id)?
        .into_iter()
        .map(|p| (p.slug, p.title, p.published_on))
        .collect())
}

/// A post for its edit form: (post, link lines). Staff only.
pub fn for_edit(
    db: &Db,
    actor: &User,
    slug: &str,
) -> Result<(ChangelogRow, Vec<String>), AppError> {
    require_staff(actor, "edit the changelog")?;
    match find(db, slug, Viewer::of(Some(actor)))? {
        Found::Post(p) => Ok((p.entry.post, p.link_lines)),
        Found::Moved(_) => Err(AppError::NotFound),
    }
}

/// Published posts for the sitemap: (slug, last change), newest first.
pub fn sitemap_entries(db: &Db, limit: i64) -> Result<Vec<(String, NaiveDateTime)>, AppError> {
    db.read_sync(|conn| {
        Ok(q::list(conn, true, None, 0, limit)?
            .into_iter()
            .map(|p| (p.slug, p.updated_at))
            .collect())
    })
}

/// The member has now seen every published post ("What's new" clears).
pub fn mark_seen(db: &Db, user: &User) -> Result<(), AppError> {
    let at = db::now();
    db.write_sync(|conn| q::set_seen(conn, user.id, at))
}

/// Published posts for the search index: with their labels' words.
pub fn for_index(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<ChangelogRow>, AppError> {
    Ok(q::posts_by_ids(conn, ids)?
        .into_iter()
        .filter(ChangelogRow::is_published)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_lines_name_topics_articles_and_incidents() {
        assert_eq!(parse_link("/t/dark-mode/12"), Some(LinkRef::Topic(12)));
        assert_eq!(
            parse_link("https://help.example.com/t/dark-mode/12?page=2#p-4"),
            Some(LinkRef::Topic(12))
        );
        assert_eq!(parse_link("/t/12"), Some(LinkRef::Topic(12)));
        assert_eq!(parse_link("#7"), Some(LinkRef::Topic(7)));
        assert_eq!(
            parse_link("/kb/reset-password"),
            Some(LinkRef::Article("reset-password".into()))
        );
        assert_eq!(
            parse_link("/status/incidents/4"),
            Some(LinkRef::Incident(4))
        );
        assert_eq!(parse_link("/t/x/abc"), None);
        assert_eq!(parse_link("/u/someone"), None);
        assert_eq!(parse_link("hello"), None);
        assert_eq!(parse_link("/t/x/0"), None);
    }

    #[test]
    fn labels_read_back() {
        for l in Label::ALL {
            assert_eq!(Label::parse(l.as_str()), Some(l));
        }
        assert_eq!(Label::parse("broken"), None);
    }
}
