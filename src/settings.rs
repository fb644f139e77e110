//! Site settings that admins change at runtime: identity, the support contact block and
//! the first-response promise. Read on every page from an in-memory snapshot that the
//! event follower refreshes, so every node shows a change within a moment.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{self, Event, StoredEvent};
use crate::forms::FieldErrors;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteSettings {
    pub site_name: String,
    pub tagline: String,
    pub public_url: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub support_hours: String,
    pub first_response_hours: u32,
    pub theme: String,
    /// Published articles not updated for this many days are listed for review.
    pub kb_review_days: u32,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            site_name: "Townhall".into(),
            tagline: "Answers from our team and our community.".into(),
            public_url: "http://127.0.0.1:8080".into(),
            contact_phone: String::new(),
            contact_email: String::new(),
            support_hours: String::new(),
            first_response_hours: 24,
            theme: "default".into(),
            kb_review_days: 180,
        }
    }
}

/// The raw form values, kept as typed so that a rejected form comes back unchanged.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub site_name: String,
    pub tagline: String,
    pub public_url: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub support_hours: String,
    pub first_response_hours: String,
    pub theme: String,
    pub kb_review_days: String,
}

impl From<&SiteSettings> for SettingsForm {
    fn from(s: &SiteSettings) -> Self {
        SettingsForm {
            site_name: s.site_name.clone(),
            tagline: s.tagline.clone(),
            public_url: s.public_url.clone(),
            contact_phone: s.contact_phone.clone(),
            contact_email: s.contact_email.clone(),
            support_hours: s.support_hours.clone(),
            first_response_hours: s.first_response_hours.to_string(),
            theme: s.theme.clone(),
            kb_review_days: s.kb_review_days.to_string(),
        }
    }
}

impl SiteSettings {
    fn from_rows(rows: Vec<(String, String)>) -> SiteSettings {
        let mut s = SiteSettings::default();
        let map: HashMap<String, String> = rows.into_iter().collect();
        let text = |key: &str, into: &mut String| {
            if let Some(v) = map.get(key) {
                *into = v.clone();
            }
        };
        text("site_name", &mut s.site_name);
        text("tagline", &mut s.tagline);
        text("public_url", &mut s.public_url);
        text("contact_phone", &mut s.contact_phone);
        text("contact_email", &mut s.contact_email);
        text("support_hours", &mut s.support_hours);
        text("theme", &mut s.theme);
        if let Some(h) = map.get("first_response_hours").and_then(|v| v.parse().ok()) {
            s.first_response_hours = h;
        }
        if let Some(d) = map.get("kb_review_days").and_then(|v| v.parse().ok()) {
            s.kb_review_days = d;
        }
        s
    }

    fn to_rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("site_name", self.site_name.clone()),
            ("tagline", self.tagline.clone()),
            ("public_url", self.public_url.clone()),
            ("contact_phone", self.contact_phone.clone()),
            ("contact_email", self.contact_email.clone()),
            ("support_hours", self.support_hours.clone()),
            (
                "first_response_hours",
                self.first_response_hours.to_string(),
            ),
            ("theme", self.theme.clone()),
            ("kb_review_days", self.kb_review_days.to_string()),
        ]
    }

    /// Cookies get the Secure flag when the site is served over https.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The phone number as a `tel:` URI: digits only, with a leading + kept.
    pub fn tel_uri(&self) -> String {
        let mut uri = String::from("tel:");
        for (i, c) in self.contact_phone.trim().chars().enumerate() {
            if c.is_ascii_digit() || (c == '+' && i == 0) {
                uri.push(c);
            }
        }
        uri
    }

    pub fn has_contact(&self) -> bool {
        !self.contact_phone.is_empty() || !self.contact_email.is_empty()
    }

    /// Checks a submitted form against `themes`; returns the settings or every field's problem.
    pub fn from_form(form: &SettingsForm, themes: &[&str]) -> Result<SiteSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let site_name = form.site_name.trim().to_string();
        if site_name.is_empty() {
            errors.add("site_name", "Give the site a name.");
        } else if site_name.chars().count() > 60 {
            errors.add("site_name", "At most 60 characters.");
        }
        let tagline = form.tagline.trim().to_string();
        if tagline.chars().count() > 140 {
            errors.add("tagline", "At most 140 characters.");
        }
        let public_url = form.public_url.trim().trim_end_matches('/').to_string();
        match url::Url::parse(&public_url) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && public_url.len() <= 200 => {}
            _ => errors.add(
                "public_url",
                "Enter the address people use to reach this site, like https://community.example.com",
            ),
        }
        let contact_phone = form.contact_phone.trim().to_string();
        let digits = contact_phone.chars().filter(char::is_ascii_digit).count();
        if !contact_phone.is_empty()
            && (contact_phone.chars().count() > 40
                || digits < 3
                || !contact_phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().x/".contains(c)))
        {
            errors.add(
                "contact_phone",
                "Use digits, spaces and + - ( ) only, like +1 555 010 0199 (at most 40 characters).",
            );
        }
        let contact_email = form.contact_email.trim().to_string();
        if let Err(e) = crate::accounts::normalize_email(&contact_email)
            && !contact_email.is_empty()
        {
            errors.add("contact_email", e);
        }
        let support_hours = form.support_hours.trim().to_string();
        if support_hours.chars().count() > 120 {
            errors.add("support_hours", "At most 120 characters.");
        }
        let first_response_hours = match form.first_response_hours.trim().parse::<u32>() {
            Ok(h) if (1..=720).contains(&h) => h,
            _ => {
                errors.add(
                    "first_response_hours",
                    "A whole number of hours from 1 to 720.",
                );
                0
            }
        };
        // Optional on the form: a form without it keeps the default.
        let kb_review_days = match form.kb_review_days.trim() {
            "" => SiteSettings::default().kb_review_days,
            d => match d.parse::<u32>() {
                Ok(d) if (7..=3650).contains(&d) => d,
                _ => {
                    errors.add("kb_review_days", "A whole number of days from 7 to 3650.");
                    0
                }
            },
        };
        let theme = form.theme.trim().to_string();
        if !themes.contains(&theme.as_str()) {
            errors.add("theme", format!("Choose one of: {}.", themes.join(", ")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SiteSettings {
            site_name,
            tagline,
            public_url,
            contact_phone,
            contact_email,
            support_hours,
            first_response_hours,
            theme,
            kb_review_days,
        })
    }
}

pub fn load(db: &Db) -> Result<SiteSettings, AppError> {
    Ok(SiteSettings::from_rows(
        db.read_sync(db::settings::load_all)?,
    ))
}

/// Stores every setting and appends one event, in one transaction.
pub fn save(db: &Db, settings: &SiteSettings, actor: Option<i64>) -> Result<(), AppError> {
    db.write_sync(|conn| save_in(conn, settings, actor))
}

/// [`save`] inside the caller's transaction.
pub fn save_in(
    conn: &mut db::DbConn,
    settings: &SiteSettings,
    actor: Option<i64>,
) -> Result<(), AppError> {
    put_all(conn, settings)?;
    events::append(conn, &Event::SettingsUpdated {}, None, actor)?;
    Ok(())
}

/// Writes every setting; the caller appends the event in the same transaction.
fn put_all(conn: &mut db::DbConn, settings: &SiteSettings) -> Result<(), AppError> {
    for (key, value) in settings.to_rows() {
        db::settings::put(conn, key, &value)?;
    }
    Ok(())
}

/// The settings every request reads, shared by all workers of this node.
#[derive(Clone, Default)]
pub struct Snapshot(Arc<RwLock<Arc<SiteSettings>>>);

impl Snapshot {
    pub fn new(settings: SiteSettings) -> Snapshot {
        Snapshot(Arc::new(RwLock::new(Arc::new(settings))))
    }

    pub fn get(&self) -> Arc<SiteSettings> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, settings: SiteSettings) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
    }
}

/// Keeps this node's [`Snapshot`] current: reloads every setting when a batch holds
/// `settings.updated` (a subscriber of the event follower: `src/followers.rs`).
pub struct SnapshotSubscriber {
    pub db: Db,
    pub snapshot: Snapshot,
}

impl crate::followers::Subscriber for SnapshotSubscriber {
    fn name(&self) -> &'static str {
        "settings snapshot"
    }

    fn apply(&self, batch: &[StoredEvent]) {
        let changed = batch
            .iter()
            .any(|e| matches!(e.event, Some(Event::SettingsUpdated {})));
        if changed {
            match load(&self.db) {
                Ok(s) => self.snapshot.set(s),
                Err(e) => tracing::warn!(error = %e, "could not reload settings"),
            }
        }
    }
}
