//! The knowledge base: maintained articles built from the forum's solved cases. Staff write
//! and edit (every save keeps a full revision), visitors and members read published
//! articles, and everyone may say whether one helped. Every write is one transaction ending
//! with its event.

pub mod files;

use chrono::NaiveDateTime;

use crate::accounts::{Actor, User};
use crate::db::forum as fq;
use crate::db::kb::{
    self as q, ArticleFields, ArticleListRow, ArticleRow, CandidateRow, CandidateWeights,
    SectionRow,
};
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event};
use crate::forms::FieldErrors;
use crate::forum::{self, Limits};
use crate::subject::{self, Viewer, Visibility};

pub const MAX_SUMMARY_CHARS: usize = 300;
pub const MAX_SLUG_CHARS: usize = 80;
pub const MAX_LABELS: usize = 5;
pub const MAX_LABEL_CHARS: usize = 40;
pub const MAX_NOTE_CHARS: usize = 200;
pub const MAX_COMMENT_CHARS: usize = 1000;
/// Slugs `/kb/{slug}` cannot take: they name pages of their own.
pub const RESERVED_SLUGS: [&str; 6] = ["new", "search", "staff", "sections", "candidates", "feed"];

/// Where an article stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Published,
    Archived,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Draft, Status::Published, Status::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn of(a: &ArticleRow) -> Status {
        Status::parse(&a.status).unwrap_or(Status::Draft)
    }
}

/// Drafts are for staff only; published and archived articles are public (archived ones
/// stay readable by link but leave lists, search and feeds: see [`listed`]).
pub fn visibility(status: Status) -> Visibility {
    match status {
        Status::Draft => Visibility::Draft,
        Status::Published | Status::Archived => Visibility::Public,
    }
}

/// Whether an article belongs in lists, search, feeds, the sitemap and JSON lists.
pub fn listed(status: Status) -> bool {
    status == Status::Published && subject::is_public(visibility(status))
}

fn require_staff(actor: &User) -> Result<(), AppError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only staff can write and edit knowledge-base articles.".into(),
        ))
    }
}

// ---- input -------------------------------------------------------------------------------

/// An article as typed in the editor (or read from a file).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ArticleInput {
    pub title: String,
    pub slug: String,
    pub section: String,
    pub summary: String,
    pub raw: String,
    pub tags: String,
    /// One label per line or separated by commas.
    pub applies_to: String,
    pub status: String,
    /// What changed, for the history.
    pub note: String,
}

impl ArticleInput {
    pub fn from_article(a: &ArticleRow, section_slug: &str) -> ArticleInput {
        ArticleInput {
            title: a.title.clone(),
            slug: a.slug.clone(),
            section: section_slug.to_string(),
            summary: a.summary.clone(),
            raw: a.raw.clone(),
            tags: a.tags.replace(' ', ", "),
            applies_to: a.applies_to.replace('\n', ", "),
            status: a.status.clone(),
            note: String::new(),
        }
    }
}

/// An article input that passed the checks (the section is resolved when saving).
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub title: String,
    /// Empty: made from the title when saving.
    pub slug: String,
    pub section: String,
    pub summary: String,
    pub raw: String,
    pub tags: Vec<String>,
    pub applies_to: Vec<String>,
    pub status: Status,
    pub note: String,
}

pub fn check(input: &ArticleInput, limits: &Limits) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::default();
    let title = limits.check_title(&input.title, &mut errors);
    let raw = limits.check_body(&input.raw, &mut errors);
    let slug = input.slug.trim().to_lowercase();
    if !slug.is_empty() {
        if slug.chars().count() > MAX_SLUG_CHARS
            || !slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || slug.starts_with('-')
            || slug.ends_with('-')
        {
            errors.add(
                "slug",
                format!("Use lowercase letters, digits and '-' (at most {MAX_SLUG_CHARS}), or leave it empty to make one from the title."),
            );
        } else if RESERVED_SLUGS.contains(&slug.as_str())
            || slug.chars().all(|c| c.is_ascii_digit())
        {
            errors.add(
                "slug",
                format!("“{slug}” is reserved for a page of its own: choose another."),
            );
        }
    }
    let summary = input
        .summary
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if summary.chars().count() > MAX_SUMMARY_CHARS {
        errors.add(
            "summary",
            format!("Keep the summary under {MAX_SUMMARY_CHARS} characters: it shows in lists and search results."),
        );
    }
    let section = input.section.trim().to_string();
    if section.is_empty() {
        errors.add("section", "Choose a section.");
    }
    let tags = forum::parse_tags(&input.tags, &mut errors);
    let mut applies_to: Vec<String> = Vec::new();
    for label in input.applies_to.split([',', '\n']) {
        let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
        if label.is_empty() || applies_to.contains(&label) {
            continue;
        }
        if label.chars().count() > MAX_LABEL_CHARS {
            errors.add(
                "applies_to",
                format!("Each label at most {MAX_LABEL_CHARS} characters."),
            );
            break;
        }
        applies_to.push(label);
    }
    if applies_to.len() > MAX_LABELS {
        errors.add("applies_to", format!("At most {MAX_LABELS} labels."));
    }
    let status = match input.status.trim() {
        "" => Status::Draft,
        s => Status::parse(s).unwrap_or_else(|| {
            errors.add("status", "Choose draft, published or archived.");
            Status::Draft
        }),
    };
    let note = input.note.split_whitespace().collect::<Vec<_>>().join(" ");
    if note.chars().count() > MAX_NOTE_CHARS {
        errors.add(
            "note",
            format!("Keep the change note under {MAX_NOTE_CHARS} characters."),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        title,
        slug,
        section,
        summary,
        raw,
        tags,
        applies_to,
        status,
        note,
    })
}

// ---- writing -----------------------------------------------------------------------------

/// The outcome of a save: the article as stored, and whether a new version was written.
pub struct Saved {
    pub article: ArticleRow,
    pub changed: bool,
}

/// Saves a checked article as a new version inside the caller's transaction: creates it
/// (`id` None) or edits it. Saving what is already stored writes nothing (imports are
/// idempotent). A renamed slug keeps redirecting to the article.
pub fn save_in(
    conn: &mut DbConn,
    editor: Option<Actor>,
    id: Option<i64>,
    c: &Checked,
    at: NaiveDateTime,
) -> Result<Result<Saved, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let section = q::section_by_slug(conn, &c.section)?;
    if section.is_none() {
        errors.add("section", "Choose a section.");
    }
    let current = match id {
        Some(id) => Some(q::article(conn, id)?.ok_or(AppError::NotFound)?),
        None => None,
    };
    let slug = if c.slug.is_empty() {
        match &current {
            Some(a) => a.slug.clone(),
            None => unique_slug(conn, &forum::slugify(&c.title))?,
        }
    } else {
        c.slug.clone()
    };
    if q::slug_taken(conn, &slug, id, None)? {
        errors.add(
            "slug",
            "Another article or section already uses this address: choose another slug.",
        );
    }
    let Some(section) = section.filter(|_| errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let html = forum::cook_text(conn, &c.raw)?.html;
    let tags = c.tags.join(" ");
    let applies_to = c.applies_to.join("\n");
    let fields = ArticleFields {
        section_id: section.id,
        slug: &slug,
        title: &c.title,
        summary: &c.summary,
        raw: &c.raw,
        cooked: &html,
        tags: &tags,
        applies_to: &applies_to,
        status: c.status.as_str(),
    };
    let editor_id = editor.map(|e| e.id);
    let (article_id, version, renamed_from) = match &current {
        Some(a) => {
            let same = a.section_id == section.id
                && a.slug == slug
                && a.title == c.title
                && a.summary == c.summary
                && a.raw == c.raw
                && a.tags == tags
                && a.applies_to == applies_to
                && a.status == c.status.as_str();
            if same {
                return Ok(Ok(Saved {
                    article: a.clone(),
                    changed: false,
                }));
            }
            let published_at = match (c.status, a.published_at) {
                (Status::Published, None) => Some(at),
                (_, p) => p,
            };
            q::update_article(conn, a.id, &fields, a.version + 1, at, published_at)?;
            let renamed = (a.slug != slug).then(|| a.slug.clone());
            if let Some(old) = &renamed {
                q::add_redirect(conn, old, a.id)?;
                q::remove_redirect(conn, &slug)?;
            }
            (a.id, a.version + 1, renamed)
        }
        None => {
            let author = editor_id.map_or_else(|| first_staff(conn), Ok)?;
            (q::insert_article(conn, &fields, author, at)?, 1, None)
        }
    };
    q::insert_revision(conn, article_id, version, editor_id, &c.note, &fields, at)?;
    events::append(
        conn,
        &Event::KbArticleSaved {
            slug: slug.clone(),
            status: c.status.as_str().into(),
            version,
            renamed_from,
        },
        Some(article_id),
        editor_id,
    )?;
    let article = q::article(conn, article_id)?.ok_or(AppError::NotFound)?;
    Ok(Ok(Saved {
        article,
        changed: true,
    }))
}

/// Imported articles without an editor are credited to the first administrator or staff.
fn first_staff(conn: &mut DbConn) -> Result<i64, AppError> {
    db::users::first_staff_id(conn)?.ok_or_else(|| {
        AppError::BadRequest("Create an administrator first: articles need an author.".into())
    })
}

/// `base`, or `base-2`, `base-3`… whichever no article or section uses yet.
fn unique_slug(conn: &mut DbConn, base: &str) -> Result<String, AppError> {
    let base = if RESERVED_SLUGS.contains(&base) || base.chars().all(|c| c.is_ascii_digit()) {
        format!("{base}-article")
    } else {
        base.to_string()
    };
    let mut slug = base.clone();
    let mut n = 2;
    while q::slug_taken(conn, &slug, None, None)? {
        slug = format!("{base}-{n}");
        n += 1;
    }
    Ok(slug)
}

/// Creates or edits an article as `actor` (staff only).
pub fn save(
    db: &Db,
    actor: &User,
    id: Option<i64>,
    input: &ArticleInput,
    limits: &Limits,
) -> Result<Result<Saved, FieldErrors>, AppError> {
    require_staff(actor)?;
    let checked = match check(input, limits) {
        Ok(c) => c,
        Err(errors) => return Ok(Err(errors)),
    };
    let at = db::now();
    db.write_sync(|conn| save_in(conn, Some(Actor::from(actor)), id, &checked, at))
}

/// Restores an earlier version as a new one.
pub fn restore(db: &Db, actor: &User, article_id: i64, version: i32) -> Result<Saved, AppError> {
    require_staff(actor)?;
    let at = db::now();
    db.write_sync(|conn| {
        let old = q::revision(conn, article_id, version)?.ok_or(AppError::NotFound)?;
        let section = q::sections(conn)?
            .into_iter()
            .find(|s| s.id == old.section_id)
            .ok_or_else(|| {
                AppError::BadRequest("That version's section no longer exists.".into())
            })?;
        let checked = Checked {
            title: old.title,
            slug: old.slug,
            section: section.slug,
            summary: old.summary,
            raw: old.raw,
            tags: old.tags.split_whitespace().map(str::to_string).collect(),
            applies_to: old.applies_to.lines().map(str::to_string).collect(),
            status: Status::parse(&old.status).unwrap_or(Status::Draft),
            note: format!("Restored version {version}"),
        };
        match save_in(
            conn,
            Some(Actor::from(actor)),
            Some(article_id),
            &checked,
            at,
        )? {
            Ok(saved) => Ok(saved),
            // The old slug now belongs to someone else: keep the current one.
            Err(_) => {
                let current = q::article(conn, article_id)?.ok_or(AppError::NotFound)?;
                let checked = Checked {
                    slug: current.slug,
                    ..checked
                };
                save_in(
                    conn,
                    Some(Actor::from(actor)),
                    Some(article_id),
                    &checked,
                    at,
                )?
                .map_err(|_| AppError::BadRequest("That version cannot be restored.".into()))
            }
        }
    })
}

/// A draft article from a solved topic, in one transaction with its events: the question
/// (title and problem statement) and the accepted answer, plus other staff replies, quoted
/// and attributed. The topic is linked to the article.
pub fn draft_from_topic(
    db: &Db,
    actor: &User,
    topic_id: i64,
    limits: &Limits,
) -> Result<ArticleRow, AppError> {
    require_staff(actor)?;
    let at = db::now();
    let editor = Actor::from(actor);
    db.write_sync(|conn| draft_from_topic_in(conn, editor, topic_id, limits, at))
}

/// [`draft_from_topic`] inside the caller's transaction. The draft stays within the size an
/// article may have (`limits`), so that the editor can save it as it comes: staff replies
/// that would not fit are left out and counted instead.
pub fn draft_from_topic_in(
    conn: &mut DbConn,
    editor: Actor,
    topic_id: i64,
    limits: &Limits,
    at: NaiveDateTime,
) -> Result<ArticleRow, AppError> {
    let topic = fq::topic(conn, topic_id)?
        .filter(forum::listed)
        .ok_or(AppError::NotFound)?;
    let Some(answer_id) = topic.solved_post_id else {
        return Err(AppError::BadRequest(
            "Only a solved topic can become an article: accept an answer first.".into(),
        ));
    };
    if let Some((_, slug, title, _)) = q::article_of_topic(conn, topic_id)? {
        return Err(AppError::BadRequest(format!(
            "This topic is already answered in the article “{title}” (/kb/{slug})."
        )));
    }
    let sections = q::sections(conn)?;
    let Some(section) = sections.first() else {
        return Err(AppError::BadRequest(
            "Add a knowledge-base section first (Staff → Knowledge base → Sections).".into(),
        ));
    };
    let posts = fq::posts_in_range(conn, topic_id, 1, topic.highest_post_number)?;
    let visible = |p: &fq::PostRow| subject::is_public(forum::post_visibility(&topic, p));
    let question = posts
        .iter()
        .find(|(p, _)| p.post_number == 1 && visible(p))
        .map(|(p, _)| p.raw.clone())
        .unwrap_or_default();
    let mut raw = format!("## Problem\n\n{}\n\n## Solution\n\n", question.trim());
    let quote = |text: &str| -> String { text.lines().map(|l| format!("> {l}\n")).collect() };
    if let Some((p, a)) = posts.iter().find(|(p, _)| p.id == answer_id && visible(p)) {
        raw.push_str(&format!(
            "{}\n— accepted answer by @{}\n\n",
            quote(p.raw.trim()),
            a.username
        ));
    }
    // Room left for the closing note about replies that did not fit.
    let budget = limits.max_post_bytes.saturating_sub(200);
    let mut left_out = 0;
    for (p, a) in posts
        .iter()
        .filter(|(p, a)| p.post_number > 1 && p.id != answer_id && a.is_staff() && visible(p))
    {
        let part = format!(
            "{}\n— @{} from our team\n\n",
            quote(p.raw.trim()),
            a.username
        );
        if raw.len() + part.len() <= budget {
            raw.push_str(&part);
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        raw.push_str(&format!(
            "_{left_out} more staff {} in the topic did not fit here._\n",
            if left_out == 1 { "reply" } else { "replies" }
        ));
    }
    if raw.len() > limits.max_post_bytes {
        // A question or an answer alone too long for an article: keep the start of each.
        let mut cut = limits.max_post_bytes.saturating_sub(100);
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        raw.truncate(cut);
        raw.push_str("\n\n_(shortened: see the topic for the rest)_\n");
    }
    let summary: String = crate::markdown::excerpt(&question, MAX_SUMMARY_CHARS - 1);
    let checked = Checked {
        title: topic.title.clone(),
        slug: String::new(),
        section: section.slug.clone(),
        summary,
        raw: raw.trim_end().to_string(),
        tags: fq::tags_of_topic(conn, topic_id)?,
        applies_to: Vec::new(),
        status: Status::Draft,
        note: format!("Drafted from the community topic #{topic_id}"),
    };
    let saved = save_in(conn, Some(editor), None, &checked, at)?.map_err(|errors| {
        AppError::BadRequest(
            errors
                .iter()
                .map(|(_, m)| m.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    link_in(conn, Some(editor), topic_id, saved.article.id, at)?;
    Ok(saved.article)
}

fn link_in(
    conn: &mut DbConn,
    editor: Option<Actor>,
    topic_id: i64,
    article_id: i64,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let editor_id = editor.map(|e| e.id);
    q::link_topic(conn, topic_id, article_id, editor_id, at)?;
    events::append(
        conn,
        &Event::KbTopicLinked { topic_id },
        Some(article_id),
        editor_id,
    )?;
    Ok(())
}

/// Points a topic (a duplicate of the same problem, say) at an existing article.
pub fn link_topic(
    db: &Db,
    actor: &User,
    topic_id: i64,
    article_slug: &str,
) -> Result<ArticleRow, AppError> {
    require_staff(actor)?;
    let slug = article_slug
        .trim()
        .trim_start_matches("/kb/")
        .trim_matches('/')
        .to_string();
    let at = db::now();
    let editor = Actor::from(actor);
    db.write_sync(|conn| {
        fq::topic(conn, topic_id)?
            .filter(forum::listed)
            .ok_or(AppError::NotFound)?;
        let article = q::article_by_slug(conn, &slug)?.ok_or_else(|| {
            AppError::BadRequest(format!("No article has the address /kb/{slug}."))
        })?;
        link_in(conn, Some(editor), topic_id, article.id, at)?;
        Ok(article)
    })
}

/// Links a topic to an article inside the caller's transaction (the demo loader).
pub fn link_topic_in(
    conn: &mut DbConn,
    editor: Option<Actor>,
    topic_id: i64,
    article_id: i64,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    link_in(conn, editor, topic_id, article_id, at)
}

/// Who answers "was this helpful?": a member, or a visitor known by a first-party cookie.
#[derive(Debug, Clone)]
pub enum Voter {
    Member(i64),
    /// The SHA-256 of the visitor's random cookie value (the cookie itself is not stored).
    Visitor(String),
}

impl Voter {
    /// How the voter is stored (and rate-limited): `u<id>` or `v<hash>`.
    pub fn key(&self) -> String {
        match self {
            Voter::Member(id) => format!("u{id}"),
            Voter::Visitor(hash) => format!("v{hash}"),
        }
    }
}

/// Records a helpful / not helpful answer (one per voter per article; answering again
/// changes it) with an optional comment that only staff see.
pub fn vote(
    db: &Db,
    voter: &Voter,
    article_id: i64,
    helpful: bool,
    comment: Option<&str>,
) -> Result<ArticleRow, AppError> {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(AppError::BadRequest(format!(
            "Keep your comment under {MAX_COMMENT_CHARS} characters."
        )));
    }
    let at = db::now();
    db.write_sync(|conn| vote_in(conn, voter, article_id, helpful, comment, at))
}

/// [`vote`] inside the caller's transaction (the comment already checked).
pub fn vote_in(
    conn: &mut DbConn,
    voter: &Voter,
    article_id: i64,
    helpful: bool,
    comment: Option<&str>,
    at: NaiveDateTime,
) -> Result<ArticleRow, AppError> {
    let key = voter.key();
    let actor = match voter {
        Voter::Member(id) => Some(*id),
        Voter::Visitor(_) => None,
    };
    let article = q::article(conn, article_id)?
        .filter(|a| listed(Status::of(a)))
        .ok_or(AppError::NotFound)?;
    if !q::put_vote(conn, article_id, &key, helpful, comment, at)? {
        return Ok(article);
    }
    events::append(
        conn,
        &Event::KbVoted {
            helpful,
            commented: comment.is_some(),
        },
        Some(article_id),
        actor,
    )?;
    Ok(article)
}

// ---- sections ----------------------------------------------------------------------------

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SectionInput {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub position: String,
}

impl SectionInput {
    /// The name and description as stored: runs of whitespace in the name made one space,
    /// the description trimmed.
    pub fn normalized(&self) -> (String, String) {
        (
            self.name.split_whitespace().collect::<Vec<_>>().join(" "),
            self.description.trim().to_string(),
        )
    }
}

/// Creates (`id` None) or updates a section; administrators only.
pub fn save_section(
    db: &Db,
    actor: &User,
    id: Option<i64>,
    input: &SectionInput,
) -> Result<Result<i64, FieldErrors>, AppError> {
    if actor.role != crate::accounts::Role::Admin {
        return Err(AppError::Forbidden(
            "Only administrators manage knowledge-base sections.".into(),
        ));
    }
    let at = db::now();
    db.write_sync(|conn| save_section_in(conn, Some(actor.id), id, input, at))
}

pub fn save_section_in(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    id: Option<i64>,
    input: &SectionInput,
    at: NaiveDateTime,
) -> Result<Result<i64, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let (name, description) = input.normalized();
    if name.is_empty() || name.chars().count() > 60 {
        errors.add("name", "Give the section a name (at most 60 characters).");
    }
    let slug = match input.slug.trim() {
        "" => forum::slugify(&name),
        s => s.to_lowercase(),
    };
    if slug.chars().count() > MAX_SLUG_CHARS
        || !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || RESERVED_SLUGS.contains(&slug.as_str())
    {
        errors.add(
            "slug",
            "Use lowercase letters, digits and '-', and not a reserved word.",
        );
    } else if q::slug_taken(conn, &slug, None, id)? {
        errors.add(
            "slug",
            "An article or another section already uses this address.",
        );
    }
    if description.chars().count() > 300 {
        errors.add("description", "Keep the description under 300 characters.");
    }
    let position = match input.position.trim() {
        "" => 0,
        p => p.parse::<i32>().unwrap_or_else(|_| {
            errors.add("position", "A whole number; lower comes first.");
            0
        }),
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let (id, created) = match id {
        Some(id) => {
            if q::update_section(conn, id, &slug, &name, &description, position)? == 0 {
                return Err(AppError::NotFound);
            }
            (id, false)
        }
        None => (
            q::insert_section(conn, &slug, &name, &description, position, at)?,
            true,
        ),
    };
    events::append(
        conn,
        &Event::KbSectionSaved { slug, created },
        Some(id),
        actor_id,
    )?;
    Ok(Ok(id))
}

// ---- reading -----------------------------------------------------------------------------

pub struct Home {
    pub sections: Vec<(SectionRow, i64)>,
    pub most_viewed: Vec<ArticleListRow>,
    pub recent: Vec<ArticleListRow>,
}

/// `/kb`: sections with their article counts, the most viewed and the recently updated.
pub fn home(db: &Db) -> Result<Home, AppError> {
    db.read_sync(|conn| {
        let counts: std::collections::HashMap<i64, i64> =
            q::published_counts(conn)?.into_iter().collect();
        let sections = q::sections(conn)?
            .into_iter()
            .map(|s| {
                let n = counts.get(&s.id).copied().unwrap_or(0);
                (s, n)
            })
            .collect();
        Ok(Home {
            sections,
            most_viewed: q::most_viewed(conn, 8)?,
            recent: q::list(conn, Some(Status::Published.as_str()), None, 8)?,
        })
    })
}

pub struct ArticlePage {
    pub article: ArticleRow,
    pub section: SectionRow,
    /// Community topics it was built from or answers: (id, slug, title).
    pub topics: Vec<(i64, String, String)>,
    pub author: Option<String>,
    /// The viewer's earlier answer to "was this helpful?".
    pub my_vote: Option<bool>,
    /// For staff: comments left with votes.
    pub comments: Vec<(bool, String, NaiveDateTime)>,
    /// Published changelog posts that changed what it describes: (slug, title, date).
    pub changes: Vec<(String, String, chrono::NaiveDate)>,
}

pub struct SectionPage {
    pub section: SectionRow,
    pub articles: Vec<ArticleListRow>,
    pub sections: Vec<SectionRow>,
}

/// What `/kb/{slug}` is.
pub enum Found {
    Article(Box<ArticlePage>),
    Section(SectionPage),
    /// An old slug: the article's address now.
    MovedTo(String),
}

/// Resolves `/kb/{slug}` for `viewer`: a section, an article they may see, or an old slug.
pub fn find(
    db: &Db,
    viewer: Option<&User>,
    voter: Option<&Voter>,
    slug: &str,
) -> Result<Found, AppError> {
    let staff = viewer.is_some_and(|u| u.role.is_staff());
    db.read_sync(|conn| {
        if let Some(section) = q::section_by_slug(conn, slug)? {
            let status = (!staff).then_some(Status::Published.as_str());
            let articles = q::list(conn, status, Some(section.id), 500)?;
            return Ok(Found::Section(SectionPage {
                section,
                articles,
                sections: q::sections(conn)?,
            }));
        }
        let article = match q::article_by_slug(conn, slug)? {
            Some(a) => a,
            None => {
                return match q::redirect_target(conn, slug)? {
                    Some(id) => {
                        let a = q::article(conn, id)?.ok_or(AppError::NotFound)?;
                        if subject::may_see(Viewer::of(viewer), visibility(Status::of(&a))) {
                            Ok(Found::MovedTo(a.slug))
                        } else {
                            Err(AppError::NotFound)
                        }
                    }
                    None => Err(AppError::NotFound),
                };
            }
        };
        if !subject::may_see(Viewer::of(viewer), visibility(Status::of(&article))) {
            return Err(AppError::NotFound);
        }
        let section = q::sections(conn)?
            .into_iter()
            .find(|s| s.id == article.section_id)
            .ok_or(AppError::NotFound)?;
        let topics = q::topics_of_article(conn, article.id)?;
        let author = fq::authors(conn, &[article.author_id])?
            .into_iter()
            .next()
            .map(|a| a.username);
        let my_vote = match voter {
            Some(v) => q::vote_of(conn, article.id, &v.key())?,
            None => None,
        };
        let comments = if staff {
            q::comments(conn, article.id, 50)?
        } else {
            Vec::new()
        };
        let changes = crate::changelog::referencing_article_in(conn, article.id)?;
        Ok(Found::Article(Box::new(ArticlePage {
            article,
            section,
            topics,
            author,
            my_vote,
            comments,
            changes,
        })))
    })
}

/// May `viewer` see an article in this stored status (a topic page's "answered in the
/// knowledge base" link asks, with the status it read alongside the topic).
pub fn may_see_status(viewer: Viewer, status: &str) -> bool {
    Status::parse(status).is_some_and(|s| subject::may_see(viewer, visibility(s)))
}

/// A published article a customer asks about after reading it ("Ask the community"):
/// (slug, title), or `None` when there is no such article for this viewer.
pub fn linked_from_question(
    db: &Db,
    viewer: Option<&User>,
    slug: &str,
) -> Result<Option<(String, String)>, AppError> {
    let slug = slug.trim();
    if slug.is_empty() || slug.len() > 200 {
        return Ok(None);
    }
    Ok(db
        .read_sync(|conn| q::article_by_slug(conn, slug))?
        .filter(|a| {
            listed(Status::of(a)) && subject::may_see(Viewer::of(viewer), visibility(Status::of(a)))
        })
        .map(|a| (a.slug, a.title)))
}

/// Adds page views counted by the view counter to the article at `slug`; false when there
/// is no such article.
pub fn add_views_in(conn: &mut DbConn, slug: &str, views: i64) -> Result<bool, AppError> {
    let Some(a) = q::article_by_slug(conn, slug)? else {
        return Ok(false);
    };
    q::add_views(conn, a.id, views)?;
    Ok(true)
}

/// The article at `slug`, whatever its status (inside a caller's transaction).
pub fn find_in(conn: &mut DbConn, slug: &str) -> Result<Option<ArticleRow>, AppError> {
    q::article_by_slug(conn, slug)
}

pub struct History {
    pub article: ArticleRow,
    pub revisions: Vec<(q::RevisionRow, Option<String>)>,
}

/// Every version of an article, for staff.
pub fn history(db: &Db, actor: &User, slug: &str) -> Result<History, AppError> {
    require_staff(actor)?;
    db.read_sync(|conn| {
        let article = q::article_by_slug(conn, slug)?.ok_or(AppError::NotFound)?;
        let revisions = q::revisions(conn, article.id)?;
        Ok(History { article, revisions })
    })
}

/// Every article with its helpfulness, for the staff overview (drafts included).
pub fn staff_overview(db: &Db, actor: &User) -> Result<Vec<ArticleListRow>, AppError> {
    require_staff(actor)?;
    db.read_sync(|conn| q::list(conn, None, None, 1000))
}

/// Published articles for feeds, JSON and the sitemap (newest change first).
pub fn published(db: &Db, limit: i64) -> Result<Vec<ArticleListRow>, AppError> {
    db.read_sync(|conn| q::list(conn, Some(Status::Published.as_str()), None, limit))
}

pub fn sections(db: &Db) -> Result<Vec<SectionRow>, AppError> {
    db.read_sync(q::sections)
}

/// The editor's data for an article (staff only): the article and its section's slug.
pub fn for_edit(db: &Db, actor: &User, slug: &str) -> Result<(ArticleRow, String), AppError> {
    require_staff(actor)?;
    db.read_sync(|conn| {
        let article = q::article_by_slug(conn, slug)?.ok_or(AppError::NotFound)?;
        let section = q::sections(conn)?
            .into_iter()
            .find(|s| s.id == article.section_id)
            .map(|s| s.slug)
            .unwrap_or_default();
        Ok((article, section))
    })
}

// ---- what to write next, what to fix ------------------------------------------------------

/// How much each way customers reach a solved topic counts when ranking what to write up:
/// a view is the unit; opening it from search results or from the suggestions shown while
/// writing a question means someone had the problem; a duplicate is a whole question asked
/// again.
pub const CANDIDATE_WEIGHTS: CandidateWeights = CandidateWeights {
    view: 1,
    search_click: 5,
    deflection_open: 10,
    duplicate: 25,
    like: 3,
};

/// Solved topics without an article, the ones that would save the most questions first.
pub fn candidates(db: &Db, actor: &User, limit: i64) -> Result<Vec<CandidateRow>, AppError> {
    require_staff(actor)?;
    db.read_sync(|conn| q::candidates(conn, &CANDIDATE_WEIGHTS, limit))
}

/// Votes an article needs before its helpful share counts.
pub const MIN_VOTES_FOR_SCORE: i32 = 5;
/// Below this share of "yes" an article needs attention.
pub const LOW_HELPFUL_PERCENT: i32 = 50;
/// "No" answers within [`RECENT_DAYS`] that call for a look, whatever the overall share.
pub const RECENT_NO_VOTES: i64 = 3;
pub const RECENT_DAYS: i64 = 30;

/// Why a published article needs attention.
#[derive(Debug, Clone, PartialEq)]
pub enum Attention {
    /// Share of "yes" (percent) over at least [`MIN_VOTES_FOR_SCORE`] votes.
    LowHelpful { percent: i32, votes: i32 },
    /// "No" answers in the last [`RECENT_DAYS`] days.
    RecentNo(i64),
    /// Not updated for this many days (the site's review interval or more).
    NotReviewed(i64),
}

pub struct NeedsAttention {
    pub article: ArticleListRow,
    pub reasons: Vec<Attention>,
}

/// Published articles with a low helpful score, several recent "no" answers, or no update
/// within `review_days`; the ones with most reasons first.
pub fn needs_attention(
    db: &Db,
    actor: &User,
    review_days: u32,
    now: NaiveDateTime,
) -> Result<Vec<NeedsAttention>, AppError> {
    require_staff(actor)?;
    let since = now - chrono::Duration::days(RECENT_DAYS);
    let (articles, recent_no) = db.read_sync(|conn| {
        Ok((
            q::list(conn, Some(Status::Published.as_str()), None, 100_000)?,
            q::recent_no_votes(conn, since)?
                .into_iter()
                .collect::<std::collections::HashMap<i64, i64>>(),
        ))
    })?;
    let mut list: Vec<NeedsAttention> = articles
        .into_iter()
        .filter_map(|article| {
            let mut reasons = Vec::new();
            let votes = article.helpful_yes + article.helpful_no;
            if votes >= MIN_VOTES_FOR_SCORE {
                let percent = article.helpful_yes * 100 / votes;
                if percent < LOW_HELPFUL_PERCENT {
                    reasons.push(Attention::LowHelpful { percent, votes });
                }
            }
            let no = recent_no.get(&article.id).copied().unwrap_or(0);
            if no >= RECENT_NO_VOTES {
                reasons.push(Attention::RecentNo(no));
            }
            let age = (now - article.updated_at).num_days();
            if age >= i64::from(review_days) {
                reasons.push(Attention::NotReviewed(age));
            }
            (!reasons.is_empty()).then_some(NeedsAttention { article, reasons })
        })
        .collect();
    list.sort_by(|a, b| {
        b.reasons
            .len()
            .cmp(&a.reasons.len())
            .then(b.article.views.cmp(&a.article.views))
            .then(a.article.id.cmp(&b.article.id))
    });
    Ok(list)
}
