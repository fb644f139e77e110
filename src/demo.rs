//! The demo community (content/demo, embedded in the binary) for a first look at Townhall.

use std::collections::HashMap;

use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::accounts::{self, Role};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{self, CategoryPayload, Event, Seed};
use crate::markdown;
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
    let seeded = db.write_sync(|conn| {
        if db::users::count(conn)? > 0 || !db::settings::load_all(conn)?.is_empty() {
            return Ok(false);
        }
        crate::settings::put_all(conn, &settings)?;
        let mut ids: HashMap<String, (i64, Role)> = HashMap::new();
        for (username, username_key, email, email_key, role) in &users {
            let id = db::users::insert(
                conn,
                &db::users::NewUser {
                    username,
                    username_key,
                    email,
                    email_key,
                    password_hash: NO_PASSWORD,
                    role: role.as_str(),
                },
            )?;
            events::append_seeded(
                conn,
                &Event::UserRegistered {
                    username: username.clone(),
                    role: role.as_str().into(),
                },
                Some(id),
                None,
                Seed::Demo,
            )?;
            ids.insert(username.clone(), (id, *role));
        }
        load_forum(conn, &forum, &ids)?;
        events::append_seeded(conn, &Event::SettingsUpdated {}, None, None, Seed::Demo)?;
        Ok::<_, AppError>(true)
    })?;
    Ok(seeded)
}

/// Writes the demo forum as real writes would: rows plus their events.
fn load_forum(
    conn: &mut db::DbConn,
    forum: &DemoForum,
    users: &HashMap<String, (i64, Role)>,
) -> Result<(), AppError> {
    use crate::db::forum as q;
    let user = |name: &str| {
        users
            .get(name)
            .copied()
            .ok_or_else(|| AppError::Internal(format!("demo: unknown user {name}")))
    };
    let known: HashMap<String, i64> = users
        .iter()
        .map(|(n, (id, _))| (accounts::username_key(n), *id))
        .collect();
    let cook = |raw: &str| {
        markdown::cook(raw, &|name| {
            known.contains_key(&accounts::username_key(name))
        })
        .html
    };
    let mut categories = HashMap::new();
    for (position, c) in forum.categories.iter().enumerate() {
        let id = q::insert_category(
            conn,
            &q::CategoryFields {
                slug: &c.slug,
                name: &c.name,
                description: &c.description,
                color: &c.color,
                position: position as i32,
                staff_only: c.staff_only,
            },
        )?;
        events::append_seeded(
            conn,
            &Event::CategoryCreated(CategoryPayload {
                slug: c.slug.clone(),
                name: c.name.clone(),
                staff_only: c.staff_only,
            }),
            Some(id),
            None,
            Seed::Demo,
        )?;
        categories.insert(c.slug.clone(), id);
    }
    let now = db::now();
    for t in &forum.topics {
        let category_id = *categories
            .get(&t.category)
            .ok_or_else(|| AppError::Internal(format!("demo: unknown category {}", t.category)))?;
        let (author, _) = user(&t.author)?;
        let asked = now
            - chrono::TimeDelta::days(t.days_ago)
            - chrono::TimeDelta::hours(t.replies.len() as i64 * 3 + 1);
        let slug = crate::forum::slugify(&t.title);
        let topic_id = q::insert_topic(
            conn,
            &q::NewTopic {
                category_id,
                user_id: author,
                title: &t.title,
                slug: &slug,
                at: asked,
            },
        )?;
        let first = q::insert_post(
            conn,
            &q::NewPost {
                topic_id,
                user_id: author,
                post_number: 1,
                raw: t.body.trim(),
                cooked: &cook(&t.body),
                at: asked,
            },
        )?;
        let tag_ids = q::ensure_tags(conn, &t.tags)?;
        q::set_topic_tags(conn, topic_id, &tag_ids)?;
        q::auto_watch(conn, author, topic_id)?;
        events::append_seeded(
            conn,
            &Event::TopicCreated {
                post_id: first,
                category_id,
                mentions: Vec::new(),
                quotes: Vec::new(),
                flow: None,
            },
            Some(topic_id),
            Some(author),
            Seed::Demo,
        )?;
        for (i, r) in t.replies.iter().enumerate() {
            let (replier, role) = user(&r.author)?;
            let at = asked + chrono::TimeDelta::hours(3 * (i as i64 + 1))
                - chrono::TimeDelta::minutes(17 * i as i64 % 60);
            let number = q::bump_for_reply(conn, topic_id, replier, role.is_staff(), at)?;
            let post_id = q::insert_post(
                conn,
                &q::NewPost {
                    topic_id,
                    user_id: replier,
                    post_number: number,
                    raw: r.body.trim(),
                    cooked: &cook(&r.body),
                    at,
                },
            )?;
            q::auto_watch(conn, replier, topic_id)?;
            events::append_seeded(
                conn,
                &Event::PostCreated {
                    topic_id,
                    post_number: number,
                    staff: role.is_staff(),
                    mentions: Vec::new(),
                    quotes: Vec::new(),
                },
                Some(post_id),
                Some(replier),
                Seed::Demo,
            )?;
            for liker in &r.likes {
                let (liker, _) = user(liker)?;
                if q::set_like(conn, post_id, topic_id, liker, true)? {
                    events::append_seeded(
                        conn,
                        &Event::PostLiked {
                            topic_id,
                            author_id: replier,
                        },
                        Some(post_id),
                        Some(liker),
                        Seed::Demo,
                    )?;
                }
            }
            if t.solved_by == Some(i + 1) {
                q::set_solved(conn, topic_id, Some(post_id))?;
                events::append_seeded(
                    conn,
                    &Event::TopicSolved {
                        post_id,
                        answer_author_id: replier,
                        topic_author_id: author,
                    },
                    Some(topic_id),
                    Some(author),
                    Seed::Demo,
                )?;
            }
        }
    }
    Ok(())
}
