//! The demo community (content/demo, embedded in the binary) for a first look at Townhall.

use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::accounts::{self, Role};
use crate::db::{self, Db, events};
use crate::error::AppError;
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
    let seeded = db.write_sync(|conn| {
        if db::users::count(conn)? > 0 || !db::settings::load_all(conn)?.is_empty() {
            return Ok(false);
        }
        crate::settings::put_all(conn, &settings)?;
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
            events::append(
                conn,
                "user.registered",
                Some(id),
                None,
                serde_json::json!({ "username": username, "role": role.as_str(), "demo": true }),
            )?;
        }
        events::append(
            conn,
            crate::settings::SETTINGS_CHANGED,
            None,
            None,
            serde_json::json!({ "demo": true }),
        )?;
        Ok::<_, AppError>(true)
    })?;
    Ok(seeded)
}
