//! The demo community (content/demo, embedded in the binary) for a first look at Townhall.

use std::collections::HashMap;

use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::accounts::{self, Actor, CreatedBy, Role};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{self, Seed};
use crate::forms::FieldErrors;
use crate::forum::{
    self,
    categories::{self, CategoryInput},
};
use crate::kb;
use crate::settings::{SettingsForm, SiteSettings};

#[derive(RustEmbed)]
#[folder = "content/demo/"]
struct DemoFiles;

#[derive(Deserialize)]
struct DemoSite {
    settings: SettingsForm,
    #[serde(default)]
    users: Vec<DemoUser>,
}

#[derive(Deserialize)]
struct DemoForum {
    categories: Vec<DemoCategory>,
    topics: Vec<DemoTopic>,
}

#[derive(Deserialize)]
struct DemoCategory {
    slug: String,
    name: String,
    description: String,
    color: String,
    #[serde(default)]
    staff_only: bool,
    /// "ideas" for a category of ideas.
    #[serde(default)]
    kind: String,
}

#[derive(Deserialize)]
struct DemoTopic {
    category: String,
    author: String,
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    days_ago: i64,
    solved_by: Option<usize>,
    body: String,
    #[serde(default)]
    replies: Vec<DemoReply>,
    /// Page views so far, so that "most read" and the KB's candidates mean something.
    #[serde(default)]
    views: i64,
    /// The title of an earlier topic this one asks again (staff marked it a duplicate).
    #[serde(default)]
    duplicate_of: Option<String>,
}

#[derive(Deserialize)]
struct DemoReply {
    author: String,
    body: String,
    #[serde(default)]
    likes: Vec<String>,
}

#[derive(Deserialize)]
struct DemoUser {
    username: String,
    email: String,
    role: String,
}

/// A stored hash that no password matches: demo authors cannot log in.
const NO_PASSWORD: &str = "!demo-author";

/// Loads the demo into an empty database (no users, no settings); returns whether it did.
pub fn seed_if_empty(db: &Db, themes: &[&str]) -> anyhow::Result<bool> {
    let file = DemoFiles::get("site.toml")
        .ok_or_else(|| anyhow::anyhow!("content/demo/site.toml is missing"))?;
    let site: DemoSite = toml::from_str(std::str::from_utf8(&file.data)?)
        .map_err(|e| anyhow::anyhow!("content/demo/site.toml: {e}"))?;
    let settings = SiteSettings::from_form(&site.settings, themes).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        anyhow::anyhow!("content/demo/site.toml settings: {}", lines.join("; "))
    })?;
    let mut users = Vec::new();
    for u in &site.users {
        let (username, username_key) = accounts::normalize_username(&u.username)
            .map_err(|e| anyhow::anyhow!("demo user {}: {e}", u.username))?;
        let (email, email_key) = accounts::normalize_email(&u.email)
            .map_err(|e| anyhow::anyhow!("demo user {}: {e}", u.username))?;
        let role = Role::parse(&u.role)
            .ok_or_else(|| anyhow::anyhow!("demo user {}: unknown role {}", u.username, u.role))?;
        users.push((username, username_key, email, email_key, role));
    }
    let forum_file = DemoFiles::get("forum.toml")
        .ok_or_else(|| anyhow::anyhow!("content/demo/forum.toml is missing"))?;
    let forum: DemoForum = toml::from_str(std::str::from_utf8(&forum_file.data)?)
        .map_err(|e| anyhow::anyhow!("content/demo/forum.toml: {e}"))?;
    let kb = read_kb()?;
    let status_file = DemoFiles::get("status.toml")
        .ok_or_else(|| anyhow::anyhow!("content/demo/status.toml is missing"))?;
    let status: DemoStatus = toml::from_str(std::str::from_utf8(&status_file.data)?)
        .map_err(|e| anyhow::anyhow!("content/demo/status.toml: {e}"))?;
    let ideas: DemoIdeas = read_toml("ideas.toml")?;
    let changelog: DemoChangelog = read_toml("changelog.toml")?;
    let seeded = events::seeding(Seed::Demo, || {
        db.write_sync(|conn| {
            if db::users::count(conn)? > 0 || !db::settings::load_all(conn)?.is_empty() {
                return Ok(false);
            }
            crate::settings::save_in(conn, &settings, None)?;
            let mut ids: HashMap<String, Actor> = HashMap::new();
            for (username, username_key, email, email_key, role) in &users {
                let new = accounts::NewAccount {
                    username,
                    username_key,
                    email,
                    email_key,
                    password_hash: NO_PASSWORD,
                    role: *role,
                };
                let id = accounts::create_user_in(conn, &new, CreatedBy::System)?;
                ids.insert(username.clone(), Actor { id, role: *role });
            }
            let topics = load_forum(conn, &forum, &ids)?;
            load_kb(conn, &kb, &ids, &topics)?;
            load_status(conn, &status, &ids, &topics)?;
            load_ideas(conn, &ideas, &ids, &topics)?;
            load_changelog(conn, &changelog, &ids, &topics)?;
            Ok::<_, AppError>(true)
        })
    })?;
    Ok(seeded)
}

fn read_toml<T: serde::de::DeserializeOwned>(name: &str) -> anyhow::Result<T> {
    let file =
        DemoFiles::get(name).ok_or_else(|| anyhow::anyhow!("content/demo/{name} is missing"))?;
    toml::from_str(std::str::from_utf8(&file.data)?)
        .map_err(|e| anyhow::anyhow!("content/demo/{name}: {e}"))
}

#[derive(Deserialize)]
struct DemoIdeas {
    ideas: Vec<DemoIdea>,
}

#[derive(Deserialize)]
struct DemoIdea {
    title: String,
    #[serde(default)]
    votes: Vec<String>,
    #[serde(default)]
    statuses: Vec<DemoIdeaStatus>,
}

#[derive(Deserialize)]
struct DemoIdeaStatus {
    status: String,
    by: String,
    days_ago: i64,
    explanation: String,
}

#[derive(Deserialize)]
struct DemoChangelog {
    posts: Vec<DemoChange>,
}

#[derive(Deserialize)]
struct DemoChange {
    title: String,
    slug: String,
    #[serde(default)]
    labels: Vec<String>,
    author: String,
    days_ago: i64,
    /// Demo topic or idea titles, or "kb:slug" for an article.
    #[serde(default)]
    links: Vec<String>,
    body: String,
}

fn demo_user(users: &HashMap<String, Actor>, name: &str) -> Result<Actor, AppError> {
    users
        .get(name)
        .copied()
        .ok_or_else(|| AppError::Internal(format!("demo: unknown user {name}")))
}

fn demo_topic(topics: &HashMap<String, i64>, title: &str) -> Result<i64, AppError> {
    topics
        .get(title)
        .copied()
        .ok_or_else(|| AppError::Internal(format!("demo: no topic titled {title}")))
}

/// Votes and status changes of the demo ideas, through the ideas domain (each status change
/// is a staff reply in the topic), at the times the file gives.
fn load_ideas(
    conn: &mut db::DbConn,
    demo: &DemoIdeas,
    users: &HashMap<String, Actor>,
    topics: &HashMap<String, i64>,
) -> Result<(), AppError> {
    let now = db::now();
    for idea in &demo.ideas {
        let topic = demo_topic(topics, &idea.title)?;
        let created = crate::db::forum::topic(conn, topic)?
            .ok_or(AppError::NotFound)?
            .created_at;
        let n = idea.votes.len().max(1) as i32;
        for (i, voter) in idea.votes.iter().enumerate() {
            // Spread between the idea's posting and now, so trending means something.
            let at = created + (now - created) * (i as i32 + 1) / (n + 1);
            crate::ideas::vote_in(conn, demo_user(users, voter)?.id, topic, true, at)?;
        }
        for st in &idea.statuses {
            let status = crate::ideas::Status::parse(&st.status).ok_or_else(|| {
                AppError::Internal(format!("demo idea {}: status {}", idea.title, st.status))
            })?;
            let at = now - chrono::TimeDelta::days(st.days_ago);
            let by = demo_user(users, &st.by)?;
            crate::ideas::set_status_in(conn, by, topic, status, st.explanation.trim(), at)?
                .map_err(|e| invalid(&idea.title, e))?;
        }
    }
    Ok(())
}

/// The demo changelog, published through the changelog domain: linked ideas ship and linked
/// topics get their staff reply.
fn load_changelog(
    conn: &mut db::DbConn,
    demo: &DemoChangelog,
    users: &HashMap<String, Actor>,
    topics: &HashMap<String, i64>,
) -> Result<(), AppError> {
    let now = db::now();
    for post in &demo.posts {
        let mut links = Vec::new();
        for l in &post.links {
            links.push(match l.strip_prefix("kb:") {
                Some(slug) => crate::subject::article_path(slug),
                None => crate::subject::topic_short_path(demo_topic(topics, l)?),
            });
        }
        let at = now - chrono::TimeDelta::days(post.days_ago);
        let has = |l: &str| post.labels.iter().any(|x| x == l).then(|| "on".to_string());
        let input = crate::changelog::ChangelogInput {
            title: post.title.clone(),
            slug: post.slug.clone(),
            raw: post.body.trim().to_string(),
            label_new: has("new"),
            label_improved: has("improved"),
            label_fixed: has("fixed"),
            links: links.join("\n"),
            published_on: at.date().to_string(),
            status: "published".into(),
        };
        let checked = crate::changelog::check(&input, &forum::Limits::default())
            .map_err(|e| invalid(&post.slug, e))?;
        let cooked = forum::cook_text(conn, &input.raw)?;
        crate::changelog::save_in(
            conn,
            demo_user(users, &post.author)?,
            None,
            &checked,
            &cooked.html,
            at,
        )?
        .map_err(|e| invalid(&post.slug, e))?;
    }
    Ok(())
}

/// Writes the demo forum through the forum's own write functions, as members would;
/// returns the topics' ids by title.
fn load_forum(
    conn: &mut db::DbConn,
    forum: &DemoForum,
    users: &HashMap<String, Actor>,
) -> Result<HashMap<String, i64>, AppError> {
    let mut topic_ids = HashMap::new();
    let user = |name: &str| {
        users
            .get(name)
            .copied()
            .ok_or_else(|| AppError::Internal(format!("demo: unknown user {name}")))
    };
    let mut categories = HashMap::new();
    for (position, c) in forum.categories.iter().enumerate() {
        let input = CategoryInput {
            name: c.name.clone(),
            slug: c.slug.clone(),
            description: c.description.clone(),
            color: c.color.clone(),
            position: position.to_string(),
            staff_only: c.staff_only.then(|| "on".into()),
            kind: c.kind.clone(),
        };
        let checked = categories::checked(&input).map_err(|e| invalid(&c.slug, e))?;
        let id =
            categories::save_in(conn, None, None, &checked)?.map_err(|e| invalid(&c.slug, e))?;
        let row = crate::db::forum::category(conn, id)?.ok_or(AppError::NotFound)?;
        categories.insert(c.slug.clone(), row);
    }
    let now = db::now();
    for t in &forum.topics {
        let category = categories
            .get(&t.category)
            .ok_or_else(|| AppError::Internal(format!("demo: unknown category {}", t.category)))?;
        let author = user(&t.author)?;
        let asked = now
            - chrono::TimeDelta::days(t.days_ago)
            - chrono::TimeDelta::hours(t.replies.len() as i64 * 3 + 1);
        let text = forum::cook_text(conn, t.body.trim())?;
        let created = forum::start_topic_in(
            conn,
            author,
            &forum::NewTopic {
                category,
                title: &t.title,
                text: &text,
                tags: &t.tags,
                flow: None,
                at: asked,
            },
        )?;
        topic_ids.insert(t.title.clone(), created.topic_id);
        for (i, r) in t.replies.iter().enumerate() {
            let replier = user(&r.author)?;
            let at = asked + chrono::TimeDelta::hours(3 * (i as i64 + 1))
                - chrono::TimeDelta::minutes(17 * i as i64 % 60);
            let text = forum::cook_text(conn, r.body.trim())?;
            let reply = forum::reply_in(conn, replier, created.topic_id, &text, at)?
                .map_err(|e| invalid(&t.title, e))?;
            for liker in &r.likes {
                forum::set_like_in(conn, user(liker)?, reply.post_id, true)?;
            }
            if t.solved_by == Some(i + 1) {
                forum::set_solution_in(conn, author, reply.post_id, true)?;
            }
        }
        if t.views > 0 {
            forum::add_views_in(conn, created.topic_id, t.views, 0)?;
        }
        if let Some(original) = &t.duplicate_of {
            let of = *topic_ids.get(original).ok_or_else(|| {
                AppError::Internal(format!("demo: {} duplicates unknown {original}", t.title))
            })?;
            let staff = users
                .values()
                .copied()
                .filter(|a| a.role.is_staff())
                .min_by_key(|a| a.id)
                .ok_or_else(|| AppError::Internal("demo: no staff".into()))?;
            forum::mark_duplicate_in(conn, staff, created.topic_id, Some(of), asked)?;
        }
    }
    Ok(topic_ids)
}

#[derive(Deserialize)]
struct DemoKb {
    sections: Vec<kb::files::SectionFile>,
    #[serde(default)]
    links: Vec<DemoLink>,
    #[serde(default)]
    feedback: Vec<DemoFeedback>,
    /// Page views so far, so that "Most viewed" means something on first run.
    #[serde(default)]
    views: Vec<DemoViews>,
}

#[derive(Deserialize)]
struct DemoViews {
    article: String,
    count: i64,
}

/// "Was this helpful?" answers of a few visitors, so staff pages show helpfulness and
/// comments on first run.
#[derive(Deserialize)]
struct DemoFeedback {
    article: String,
    yes: u32,
    no: u32,
    #[serde(default)]
    comments: Vec<String>,
}

#[derive(Deserialize)]
struct DemoLink {
    article: String,
    topic: String,
}

/// The demo knowledge base: sections and links (kb.toml) and articles (kb/*.md).
struct KbFiles {
    index: DemoKb,
    articles: Vec<kb::files::ArticleFile>,
}

fn read_kb() -> anyhow::Result<KbFiles> {
    let file = DemoFiles::get("kb.toml")
        .ok_or_else(|| anyhow::anyhow!("content/demo/kb.toml is missing"))?;
    let index: DemoKb = toml::from_str(std::str::from_utf8(&file.data)?)
        .map_err(|e| anyhow::anyhow!("content/demo/kb.toml: {e}"))?;
    let mut names: Vec<String> = DemoFiles::iter()
        .filter(|n| n.starts_with("kb/") && n.ends_with(".md"))
        .map(|n| n.to_string())
        .collect();
    names.sort();
    let mut articles = Vec::new();
    for name in names {
        let file = DemoFiles::get(&name).ok_or_else(|| anyhow::anyhow!("{name} vanished"))?;
        let text = std::str::from_utf8(&file.data)?.to_string();
        let input =
            kb::files::parse(&text).map_err(|e| anyhow::anyhow!("content/demo/{name}: {e}"))?;
        articles.push(kb::files::ArticleFile { name, text, input });
    }
    Ok(KbFiles { index, articles })
}

/// Writes the demo knowledge base through the KB's write functions, as staff would, and links
/// the articles to the solved topics they answer.
fn load_kb(
    conn: &mut db::DbConn,
    files: &KbFiles,
    users: &HashMap<String, Actor>,
    topics: &HashMap<String, i64>,
) -> Result<(), AppError> {
    let editor = users
        .values()
        .copied()
        .filter(|a| a.role.is_staff())
        .min_by_key(|a| a.id);
    let at = db::now();
    // The same write path as `townhall kb import`.
    kb::files::import_in(conn, editor, &files.index.sections, &files.articles, at)
        .map_err(|e| AppError::Internal(format!("demo knowledge base: {e}")))?;
    for link in &files.index.links {
        let article = kb::find_in(conn, &link.article)?
            .ok_or_else(|| {
                AppError::Internal(format!("demo kb link: no article {}", link.article))
            })?
            .id;
        let topic = *topics
            .get(&link.topic)
            .ok_or_else(|| AppError::Internal(format!("demo kb link: no topic {}", link.topic)))?;
        kb::link_topic_in(conn, editor, topic, article, at)?;
    }
    for v in &files.index.views {
        if !kb::add_views_in(conn, &v.article, v.count)? {
            return Err(AppError::Internal(format!(
                "demo views: no article {}",
                v.article
            )));
        }
    }
    let mut visitor = 0;
    for f in &files.index.feedback {
        let article = kb::find_in(conn, &f.article)?
            .ok_or_else(|| AppError::Internal(format!("demo feedback: no article {}", f.article)))?
            .id;
        let answers = (0..f.yes).map(|_| true).chain((0..f.no).map(|_| false));
        for (i, helpful) in answers.enumerate() {
            visitor += 1;
            // Demo visitors stand for cookies nobody holds.
            let voter = kb::Voter::Visitor(format!("demo-visitor-{visitor}"));
            let comment = (!helpful)
                .then(|| f.comments.get(i - f.yes as usize))
                .flatten()
                .map(String::as_str);
            kb::vote_in(conn, &voter, article, helpful, comment, at)?;
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct DemoStatus {
    groups: Vec<DemoGroup>,
    #[serde(default)]
    incidents: Vec<DemoIncident>,
    #[serde(default)]
    maintenance: Vec<DemoMaintenance>,
}

#[derive(Deserialize)]
struct DemoGroup {
    name: String,
    #[serde(default)]
    description: String,
    started_days_ago: i64,
    components: Vec<DemoComponent>,
}

#[derive(Deserialize)]
struct DemoComponent {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct DemoIncident {
    name: String,
    days_ago: i64,
    /// UTC, "HH:MM".
    at: String,
    /// Titles of demo topics that reported it.
    #[serde(default)]
    reports: Vec<String>,
    updates: Vec<DemoUpdate>,
}

#[derive(Deserialize)]
struct DemoUpdate {
    minutes: i64,
    status: String,
    body: String,
    /// Component name → status.
    #[serde(default)]
    components: HashMap<String, String>,
}

#[derive(Deserialize)]
struct DemoMaintenance {
    name: String,
    /// Negative: in the future.
    days_ago: i64,
    at: String,
    hours: i64,
    components: Vec<String>,
    body: String,
}

/// Writes the demo status page through the status domain, as staff would have, at the
/// times the file gives (the incidents' updates, component history and topic replies all
/// carry those times, so the 90-day bars show them).
fn load_status(
    conn: &mut db::DbConn,
    demo: &DemoStatus,
    users: &HashMap<String, Actor>,
    topics: &HashMap<String, i64>,
) -> Result<(), AppError> {
    use crate::status::{self, By, ComponentInput, OpenIncident, UpdateIncident};
    let staff = users
        .iter()
        .filter(|(_, a)| a.role.is_staff())
        .find(|(name, _)| name.as_str() == "devon_ops")
        .map(|(_, a)| *a)
        .ok_or_else(|| AppError::Internal("demo status: no staff member devon_ops".into()))?;
    let by = By {
        user_id: Some(staff.id),
        token_id: None,
    };
    let today = db::now().date();
    let at = |days_ago: i64, hhmm: &str| -> Result<chrono::NaiveDateTime, AppError> {
        let time = chrono::NaiveTime::parse_from_str(hhmm, "%H:%M")
            .map_err(|_| AppError::Internal(format!("demo status: bad time {hhmm}")))?;
        Ok((today - chrono::TimeDelta::days(days_ago)).and_time(time))
    };
    let mut ids: HashMap<String, i64> = HashMap::new();
    for (g, group) in demo.groups.iter().enumerate() {
        let start = (today - chrono::TimeDelta::days(group.started_days_ago))
            .format("%Y-%m-%d")
            .to_string();
        let input = ComponentInput {
            name: group.name.clone(),
            description: group.description.clone(),
            is_group: Some("on".into()),
            position: g.to_string(),
            start_date: start.clone(),
            ..Default::default()
        };
        let group_id = status::save_component_in(conn, Some(staff.id), None, &input)?
            .map_err(|e| invalid(&group.name, e))?;
        for (c, component) in group.components.iter().enumerate() {
            let input = ComponentInput {
                name: component.name.clone(),
                description: component.description.clone(),
                group: group_id.to_string(),
                position: c.to_string(),
                start_date: start.clone(),
                ..Default::default()
            };
            let id = status::save_component_in(conn, Some(staff.id), None, &input)?
                .map_err(|e| invalid(&component.name, e))?;
            ids.insert(component.name.clone(), id);
        }
    }
    let component = |name: &str| {
        ids.get(name)
            .copied()
            .ok_or_else(|| AppError::Internal(format!("demo status: no component {name}")))
    };
    let changes = |map: &HashMap<String, String>| -> Result<Vec<(i64, String)>, AppError> {
        let mut v = Vec::new();
        for (name, s) in map {
            v.push((component(name)?, s.clone()));
        }
        v.sort();
        Ok(v)
    };
    for incident in &demo.incidents {
        let start = at(incident.days_ago, &incident.at)?;
        let (first, rest) = incident.updates.split_first().ok_or_else(|| {
            AppError::Internal(format!("demo incident {}: no updates", incident.name))
        })?;
        let input = OpenIncident {
            name: incident.name.clone(),
            status: first.status.clone(),
            body: first.body.clone(),
            components: changes(&first.components)?,
            ..Default::default()
        };
        let cooked = crate::markdown::cook(first.body.trim(), &|_| false).html;
        let written = status::open_in(conn, by, &input, &cooked, start)?
            .map_err(|e| invalid(&incident.name, e))?;
        for title in &incident.reports {
            let topic = *topics
                .get(title)
                .ok_or_else(|| AppError::Internal(format!("demo status: no topic {title}")))?;
            status::link_topic_in(conn, staff.id, written.incident_id, topic, start)?;
        }
        for u in rest {
            let input = UpdateIncident {
                status: u.status.clone(),
                body: u.body.clone(),
                components: changes(&u.components)?,
                ..Default::default()
            };
            let cooked = crate::markdown::cook(u.body.trim(), &|_| false).html;
            let when = start + chrono::TimeDelta::minutes(u.minutes);
            status::update_in(conn, by, written.incident_id, &input, &cooked, when)?
                .map_err(|e| invalid(&incident.name, e))?;
        }
    }
    for m in &demo.maintenance {
        let from = at(m.days_ago, &m.at)?;
        let until = from + chrono::TimeDelta::hours(m.hours);
        let past = m.days_ago > 0;
        let input = OpenIncident {
            name: m.name.clone(),
            status: if past { "in_progress" } else { "scheduled" }.into(),
            body: if past {
                "Scheduled maintenance is now in progress.".into()
            } else {
                m.body.clone()
            },
            component_ids: m
                .components
                .iter()
                .map(|c| component(c))
                .collect::<Result<_, _>>()?,
            scheduled_for: Some(from),
            scheduled_until: Some(until),
            ..Default::default()
        };
        let cooked = crate::markdown::cook(input.body.trim(), &|_| false).html;
        if !past {
            // Upcoming: scheduled now; it starts and ends by itself.
            status::open_in(conn, by, &input, &cooked, db::now())?
                .map_err(|e| invalid(&m.name, e))?;
            continue;
        }
        // A past window: under way at its start, completed at its end, so that its day shows
        // in the uptime bars as maintenance.
        let written =
            status::open_in(conn, by, &input, &cooked, from)?.map_err(|e| invalid(&m.name, e))?;
        let done = UpdateIncident {
            status: "completed".into(),
            body: m.body.clone(),
            ..Default::default()
        };
        let cooked = crate::markdown::cook(m.body.trim(), &|_| false).html;
        status::update_in(conn, by, written.incident_id, &done, &cooked, until)?
            .map_err(|e| invalid(&m.name, e))?;
    }
    Ok(())
}

/// A demo file the domain refused: a defect of the shipped content, named by what it was.
fn invalid(what: &str, errors: FieldErrors) -> AppError {
    let lines: Vec<String> = errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    AppError::Internal(format!("demo {what}: {}", lines.join("; ")))
}
