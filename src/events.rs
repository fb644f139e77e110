//! Typed events: the one place that defines every kind of event Townhall writes, with its
//! payload. Every write appends one in its transaction ([`append`]); followers read them back
//! typed ([`after`], [`StoredEvent`]). Who follows the log, and how each is delivered:
//! `src/followers.rs`.
//!
//! The `events` table keeps what it always kept: `kind` is the serde tag of the variant
//! (`"topic.created"`) and `payload` the variant's fields as a JSON object with its keys in
//! sorted order (the audit log at `/admin/audit` shows both as stored). `subject_id` and
//! `actor_id` are columns, not fields: each variant says what its subject is.
//!
//! Adding a kind: add the variant (with its `rename`), its arm in [`Event::kind`] and
//! [`Event::visible_to_visitors`], and a row in the round-trip table test below. Never rename
//! a kind or a payload key: the database keeps old rows for good. A field added later needs
//! `#[serde(default)]`, so that older rows still read.
//!
//! Readers skip rows they cannot read (a kind from a newer version, or a payload of another
//! shape): [`StoredEvent::event`] is `None` for them; they never panic.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::db::{self, DbConn};
use crate::error::AppError;

/// Every event kind, with its payload. Subjects and actors are noted per variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum Event {
    // ---- accounts ------------------------------------------------------------------------
    /// Subject: the new user. Actor: the same user (none for seeded accounts).
    #[serde(rename = "user.registered")]
    UserRegistered { username: String, role: String },
    /// Subject and actor: the user who logged in.
    #[serde(rename = "session.started")]
    SessionStarted {},
    /// Subject and actor: the user whose session(s) ended.
    #[serde(rename = "session.ended")]
    SessionEnded(SessionEnd),
    /// Expired sessions deleted by housekeeping. No subject, no actor.
    #[serde(rename = "sessions.expired")]
    SessionsExpired { count: u64 },
    /// Subject and actor: the user.
    #[serde(rename = "account.password_changed")]
    PasswordChanged { other_sessions_ended: u64 },
    /// Subject and actor: the user. No addresses: the event log is kept for good and shown
    /// in the audit.
    #[serde(rename = "account.email_changed")]
    EmailChanged {},
    /// Subject: the notification (none for "all read"). Actor: its reader.
    #[serde(rename = "notifications.read")]
    NotificationsRead {},

    // ---- site settings -------------------------------------------------------------------
    /// Every setting was stored. No subject. Actor: the admin (none at setup or seeding).
    #[serde(rename = "settings.updated")]
    SettingsUpdated {},

    // ---- forum ---------------------------------------------------------------------------
    /// Subject: the category. Actor: the admin.
    #[serde(rename = "category.created")]
    CategoryCreated(CategoryPayload),
    /// Subject: the category. Actor: the admin.
    #[serde(rename = "category.updated")]
    CategoryUpdated(CategoryPayload),
    /// Subject: the new topic. Actor: its author.
    #[serde(rename = "topic.created")]
    TopicCreated {
        post_id: i64,
        category_id: i64,
        /// Users mentioned in the first post (they are notified).
        #[serde(default)]
        mentions: Vec<i64>,
        /// Posts quoted in the first post (their authors are notified).
        #[serde(default)]
        quotes: Vec<i64>,
        /// The deflection flow of the new-topic form, when it carried a valid one.
        #[serde(default)]
        flow: Option<String>,
    },
    /// Subject: the new reply. Actor: its author.
    #[serde(rename = "post.created")]
    PostCreated {
        topic_id: i64,
        post_number: i32,
        /// Written by staff (the asker hears "our team answered").
        staff: bool,
        #[serde(default)]
        mentions: Vec<i64>,
        #[serde(default)]
        quotes: Vec<i64>,
        /// Posted because this incident was resolved: the topic's author hears of it from
        /// the incident instead (one notice per reporter however many topics they opened).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident_id: Option<i64>,
        /// A staff explanation of an idea's new status (`ideas::set_status`): voters and
        /// participants hear of it as a status change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idea_status: Option<String>,
        /// Posted because this changelog post was published: everyone concerned hears of it
        /// once, from the changelog post, not from each reply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changelog_id: Option<i64>,
    },
    /// Subject: the post. Actor: the editor.
    #[serde(rename = "post.edited")]
    PostEdited {
        topic_id: i64,
        version: i32,
        title_changed: bool,
    },
    /// Subject: the post (its first post deletes the topic). Actor: who deleted it.
    #[serde(rename = "post.deleted")]
    PostDeleted {
        topic_id: i64,
        post_number: i32,
        author_id: i64,
    },
    /// Subject: the post. Actor: the staff member.
    #[serde(rename = "post.hidden")]
    PostHidden {
        topic_id: i64,
        reason: String,
        author_id: i64,
    },
    /// Subject: the post. Actor: the staff member.
    #[serde(rename = "post.unhidden")]
    PostUnhidden {
        topic_id: i64,
        /// Always `null`: the payload keeps the shape of `post.hidden`.
        #[serde(default)]
        reason: (),
        author_id: i64,
    },
    /// Subject: the post. Actor: who liked it.
    #[serde(rename = "post.liked")]
    PostLiked { topic_id: i64, author_id: i64 },
    /// Subject: the post. Actor: who took the like back.
    #[serde(rename = "post.unliked")]
    PostUnliked { topic_id: i64, author_id: i64 },
    /// Subject: the topic. Actor: the asker or staff.
    #[serde(rename = "topic.solved")]
    TopicSolved {
        post_id: i64,
        answer_author_id: i64,
        topic_author_id: i64,
    },
    /// Subject: the topic. Actor: the asker or staff.
    #[serde(rename = "topic.unsolved")]
    TopicUnsolved { post_id: i64 },
    /// Subject: the topic. Actor: staff (and likewise for the moderation kinds below).
    #[serde(rename = "topic.locked")]
    TopicLocked {},
    #[serde(rename = "topic.unlocked")]
    TopicUnlocked {},
    #[serde(rename = "topic.pinned")]
    TopicPinned {},
    #[serde(rename = "topic.unpinned")]
    TopicUnpinned {},
    #[serde(rename = "topic.unlisted")]
    TopicUnlisted {},
    #[serde(rename = "topic.relisted")]
    TopicRelisted {},
    /// Moved between categories (ids).
    #[serde(rename = "topic.moved")]
    TopicMoved { from: i64, to: i64 },
    /// Marked as asking what another topic answers (`null`: the mark was removed).
    /// Subject: the duplicate. Actor: the staff member.
    #[serde(rename = "topic.duplicate_marked")]
    TopicDuplicateMarked { of_topic_id: Option<i64> },
    /// Subject: the topic. Actor: the watcher. `level`: watching, normal or muted.
    #[serde(rename = "topic.watch_changed")]
    TopicWatchChanged { level: String },
    /// Subject: the category. Actor: the watcher.
    #[serde(rename = "category.watch_changed")]
    CategoryWatchChanged { level: String },
    /// One batch of `townhall recook`. No subject, no actor.
    #[serde(rename = "posts.recooked")]
    PostsRecooked { through_post_id: i64, count: u64 },

    // ---- search: deflection --------------------------------------------------------------
    /// Answers offered while someone wrote a question (once per flow and node). No subject.
    /// Actor: the writer, when logged in.
    #[serde(rename = "deflection.suggested")]
    DeflectionSuggested {
        flow: String,
        query: String,
        topic_ids: Vec<u64>,
    },
    /// Subject: the suggested topic opened. Actor: the writer, when logged in.
    #[serde(rename = "deflection.opened")]
    DeflectionOpened { flow: String },

    // ---- knowledge base ------------------------------------------------------------------
    /// Subject: the section. Actor: the staff member.
    #[serde(rename = "kb.section_saved")]
    KbSectionSaved { slug: String, created: bool },
    /// A new version of an article was saved (created, edited, restored, imported).
    /// Subject: the article. Actor: the editor (none for imports and seeding).
    #[serde(rename = "kb.article_saved")]
    KbArticleSaved {
        slug: String,
        status: String,
        version: i32,
        /// The slug it had before, when this version renamed it (it keeps redirecting).
        #[serde(default)]
        renamed_from: Option<String>,
    },
    /// A forum topic now points to an article. Subject: the article. Actor: staff.
    #[serde(rename = "kb.topic_linked")]
    KbTopicLinked { topic_id: i64 },
    /// "Was this helpful?" answered (or changed). Subject: the article. Actor: the member,
    /// none for a visitor.
    #[serde(rename = "kb.voted")]
    KbVoted {
        helpful: bool,
        #[serde(default)]
        commented: bool,
    },

    // ---- status page ---------------------------------------------------------------------
    /// A component (or group) was created or edited. Subject: the component. Actor: the admin.
    #[serde(rename = "status.component_saved")]
    StatusComponentSaved { name: String, created: bool },
    /// A component's status was set outside any incident. Subject: the component. Actor: the
    /// token's creator or the staff member.
    #[serde(rename = "status.component_changed")]
    StatusComponentChanged {
        old_status: String,
        new_status: String,
        #[serde(default)]
        token_id: Option<i64>,
    },
    /// An incident was opened or a maintenance scheduled, with its first update.
    /// Subject: the incident. Actor: staff, the token's creator, or none.
    #[serde(rename = "status.incident_opened")]
    IncidentOpened {
        kind: String,
        status: String,
        impact: String,
        update_id: i64,
        #[serde(default)]
        token_id: Option<i64>,
    },
    /// A new update (`resolved`: this one resolved or completed it). Subject: the incident.
    /// Actor: staff, the token's creator, or none (the scheduler).
    #[serde(rename = "status.incident_updated")]
    IncidentUpdated {
        kind: String,
        status: String,
        update_id: i64,
        resolved: bool,
        #[serde(default)]
        token_id: Option<i64>,
    },
    /// A forum topic reports the incident. Subject: the incident. Actor: staff.
    #[serde(rename = "status.topic_linked")]
    IncidentTopicLinked { topic_id: i64 },
    /// Subject: the incident. Actor: the member who follows it.
    #[serde(rename = "status.incident_followed")]
    IncidentFollowed {},
    /// Subject and actor: the member.
    #[serde(rename = "status.subscription_changed")]
    StatusSubscriptionChanged { subscribed: bool },

    // ---- API tokens ----------------------------------------------------------------------
    /// Subject: the token. Actor: the admin (none from the command line).
    #[serde(rename = "api_token.created")]
    ApiTokenCreated { name: String, scopes: String },
    /// Subject: the token. Actor: the admin.
    #[serde(rename = "api_token.revoked")]
    ApiTokenRevoked {},

    // ---- ideas ---------------------------------------------------------------------------
    /// A member's vote added (`voted`) or withdrawn; `votes` is the count after it.
    /// Subject: the idea (its topic). Actor: the member.
    #[serde(rename = "idea.voted")]
    IdeaVoted { voted: bool, votes: i32 },
    /// Subject: the idea. Actor: staff. `post_id`: the staff post explaining it;
    /// `changelog_id`: the changelog post that shipped it.
    #[serde(rename = "idea.status_changed")]
    IdeaStatusChanged {
        from: String,
        to: String,
        #[serde(default)]
        post_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changelog_id: Option<i64>,
    },
    /// A duplicate idea was merged into `into` (its votes moved over, once per member).
    /// Subject: the duplicate. Actor: staff.
    #[serde(rename = "idea.merged")]
    IdeaMerged { into: i64, moved_votes: i64 },

    // ---- changelog -----------------------------------------------------------------------
    /// Created or edited (`renamed_from`: its old slug). Subject: the post. Actor: staff.
    #[serde(rename = "changelog.saved")]
    ChangelogSaved {
        slug: String,
        status: String,
        created: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        renamed_from: Option<String>,
    },
    /// Published for the first time: the loop was closed for what it links (ideas shipped,
    /// replies posted); everyone concerned is notified from this event, once.
    /// Subject: the post. Actor: staff.
    #[serde(rename = "changelog.published")]
    ChangelogPublished {
        slug: String,
        /// Linked forum topics, ideas among them.
        topics: Vec<i64>,
        #[serde(default)]
        articles: Vec<i64>,
    },
}

/// How sessions ended (`session.ended`): three payload shapes under one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SessionEnd {
    /// One session ended from the account page.
    One { session_id: i64 },
    /// "Log out everywhere": `everywhere` is always true.
    Everywhere { everywhere: bool, count: u64 },
    /// This device logged out. Tried last: it matches any payload.
    Logout {},
}

/// The payload of `category.created` and `category.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryPayload {
    pub slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub staff_only: bool,
}

impl Event {
    /// The stored `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::UserRegistered { .. } => "user.registered",
            Event::SessionStarted {} => "session.started",
            Event::SessionEnded(_) => "session.ended",
            Event::SessionsExpired { .. } => "sessions.expired",
            Event::PasswordChanged { .. } => "account.password_changed",
            Event::EmailChanged {} => "account.email_changed",
            Event::NotificationsRead {} => "notifications.read",
            Event::SettingsUpdated {} => "settings.updated",
            Event::CategoryCreated(_) => "category.created",
            Event::CategoryUpdated(_) => "category.updated",
            Event::TopicCreated { .. } => "topic.created",
            Event::PostCreated { .. } => "post.created",
            Event::PostEdited { .. } => "post.edited",
            Event::PostDeleted { .. } => "post.deleted",
            Event::PostHidden { .. } => "post.hidden",
            Event::PostUnhidden { .. } => "post.unhidden",
            Event::PostLiked { .. } => "post.liked",
            Event::PostUnliked { .. } => "post.unliked",
            Event::TopicSolved { .. } => "topic.solved",
            Event::TopicUnsolved { .. } => "topic.unsolved",
            Event::TopicLocked {} => "topic.locked",
            Event::TopicUnlocked {} => "topic.unlocked",
            Event::TopicPinned {} => "topic.pinned",
            Event::TopicUnpinned {} => "topic.unpinned",
            Event::TopicUnlisted {} => "topic.unlisted",
            Event::TopicRelisted {} => "topic.relisted",
            Event::TopicMoved { .. } => "topic.moved",
            Event::TopicDuplicateMarked { .. } => "topic.duplicate_marked",
            Event::TopicWatchChanged { .. } => "topic.watch_changed",
            Event::CategoryWatchChanged { .. } => "category.watch_changed",
            Event::PostsRecooked { .. } => "posts.recooked",
            Event::DeflectionSuggested { .. } => "deflection.suggested",
            Event::DeflectionOpened { .. } => "deflection.opened",
            Event::KbSectionSaved { .. } => "kb.section_saved",
            Event::KbArticleSaved { .. } => "kb.article_saved",
            Event::KbTopicLinked { .. } => "kb.topic_linked",
            Event::KbVoted { .. } => "kb.voted",
            Event::StatusComponentSaved { .. } => "status.component_saved",
            Event::StatusComponentChanged { .. } => "status.component_changed",
            Event::IncidentOpened { .. } => "status.incident_opened",
            Event::IncidentUpdated { .. } => "status.incident_updated",
            Event::IncidentTopicLinked { .. } => "status.topic_linked",
            Event::IncidentFollowed {} => "status.incident_followed",
            Event::StatusSubscriptionChanged { .. } => "status.subscription_changed",
            Event::ApiTokenCreated { .. } => "api_token.created",
            Event::ApiTokenRevoked {} => "api_token.revoked",
            Event::IdeaVoted { .. } => "idea.voted",
            Event::IdeaStatusChanged { .. } => "idea.status_changed",
            Event::IdeaMerged { .. } => "idea.merged",
            Event::ChangelogSaved { .. } => "changelog.saved",
            Event::ChangelogPublished { .. } => "changelog.published",
        }
    }

    /// Can this event change a page that anonymous visitors see? The visitors' page cache
    /// empties on every event that can (and on every event it cannot read).
    pub fn visible_to_visitors(&self) -> bool {
        match self {
            Event::SessionStarted {}
            | Event::SessionEnded(_)
            | Event::SessionsExpired { .. }
            | Event::PasswordChanged { .. }
            | Event::EmailChanged {}
            | Event::NotificationsRead {}
            | Event::TopicWatchChanged { .. }
            | Event::CategoryWatchChanged { .. }
            | Event::DeflectionSuggested { .. }
            | Event::DeflectionOpened { .. }
            | Event::KbVoted { .. }
            | Event::IncidentFollowed {}
            | Event::StatusSubscriptionChanged { .. }
            | Event::ApiTokenCreated { .. }
            | Event::ApiTokenRevoked {} => false,
            Event::UserRegistered { .. }
            | Event::SettingsUpdated {}
            | Event::CategoryCreated(_)
            | Event::CategoryUpdated(_)
            | Event::TopicCreated { .. }
            | Event::PostCreated { .. }
            | Event::PostEdited { .. }
            | Event::PostDeleted { .. }
            | Event::PostHidden { .. }
            | Event::PostUnhidden { .. }
            | Event::PostLiked { .. }
            | Event::PostUnliked { .. }
            | Event::TopicSolved { .. }
            | Event::TopicUnsolved { .. }
            | Event::TopicLocked {}
            | Event::TopicUnlocked {}
            | Event::TopicPinned {}
            | Event::TopicUnpinned {}
            | Event::TopicUnlisted {}
            | Event::TopicRelisted {}
            | Event::TopicMoved { .. }
            | Event::TopicDuplicateMarked { .. }
            | Event::PostsRecooked { .. }
            | Event::KbSectionSaved { .. }
            | Event::KbArticleSaved { .. }
            | Event::KbTopicLinked { .. }
            | Event::StatusComponentSaved { .. }
            | Event::StatusComponentChanged { .. }
            | Event::IncidentOpened { .. }
            | Event::IncidentUpdated { .. }
            | Event::IncidentTopicLinked { .. }
            // Vote counts show on lists, the roadmap and the idea.
            | Event::IdeaVoted { .. }
            | Event::IdeaStatusChanged { .. }
            | Event::IdeaMerged { .. }
            | Event::ChangelogSaved { .. }
            | Event::ChangelogPublished { .. } => true,
        }
    }

    /// The `kind` and `payload` columns for this event.
    pub fn encode(&self) -> (&'static str, String) {
        (self.kind(), Value::Object(self.payload(None)).to_string())
    }

    /// Like [`Event::encode`], for rows written by the demo loader or the benchmark
    /// generator: their payload carries `"demo": true` or `"bench": true` besides.
    pub fn encode_seeded(&self, seed: Seed) -> (&'static str, String) {
        (
            self.kind(),
            Value::Object(self.payload(Some(seed))).to_string(),
        )
    }

    /// The payload as a JSON object; `serde_json`'s map keeps keys sorted, as the stored
    /// payloads always had them.
    fn payload(&self, seed: Option<Seed>) -> Map<String, Value> {
        let mut tagged = match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            // Every variant is a struct of plain fields: serialising cannot fail.
            _ => unreachable!("an event serialises to an object"),
        };
        let mut payload = match tagged.remove("payload") {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        if let Some(seed) = seed {
            payload.insert(seed.key().into(), Value::Bool(true));
        }
        payload
    }

    /// Reads a stored row back; `None` for a kind this version does not know or a payload
    /// it cannot read.
    pub fn decode(kind: &str, payload: &str) -> Option<Event> {
        let payload: Value = serde_json::from_str(payload).ok()?;
        let mut tagged = Map::new();
        tagged.insert("kind".into(), Value::String(kind.into()));
        tagged.insert("payload".into(), payload);
        serde_json::from_value(Value::Object(tagged)).ok()
    }
}

/// Who wrote a seeded row (see [`Event::encode_seeded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    Demo,
    Bench,
}

impl Seed {
    fn key(self) -> &'static str {
        match self {
            Seed::Demo => "demo",
            Seed::Bench => "bench",
        }
    }
}

thread_local! {
    /// Set by [`seeding`] while the demo loader or a fixture writes through the domain.
    static SEEDING: std::cell::Cell<Option<Seed>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` (which writes through the domain on this thread) with every event it appends
/// marked as seeded (`"demo": true`), so that sample data stays recognisable in the log.
pub fn seeding<T>(seed: Seed, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Seed>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SEEDING.set(self.0);
        }
    }
    let _restore = Restore(SEEDING.replace(Some(seed)));
    f()
}

/// A page of the audit trail (`/admin/audit`): events newest first before `before`, with
/// the names of their actors.
pub fn audit(
    db: &crate::db::Db,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<db::events::EventRow>, Vec<db::forum::Author>), AppError> {
    db.read_sync(|c| {
        let events = db::events::before(c, before, limit)?;
        let mut ids: Vec<i64> = events.iter().filter_map(|e| e.actor_id).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok((events, db::forum::authors(c, &ids)?))
    })
}

/// Appends `event` about `subject_id` by `actor_id`; call it last in a write transaction.
/// Returns the event id.
pub fn append(
    conn: &mut DbConn,
    event: &Event,
    subject_id: Option<i64>,
    actor_id: Option<i64>,
) -> Result<i64, AppError> {
    let (kind, payload) = match SEEDING.get() {
        Some(seed) => event.encode_seeded(seed),
        None => event.encode(),
    };
    db::events::insert(conn, kind, subject_id, actor_id, &payload)
}

/// One row of the log, read back typed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub created_at: chrono::NaiveDateTime,
    pub subject_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// `None` when this version cannot read the row (see the module notes): skip it.
    pub event: Option<Event>,
}

impl From<db::events::EventRow> for StoredEvent {
    fn from(row: db::events::EventRow) -> StoredEvent {
        let event = Event::decode(&row.kind, &row.payload);
        if event.is_none() {
            tracing::debug!(id = row.id, kind = %row.kind, "event skipped: unknown kind or payload");
        }
        StoredEvent {
            id: row.id,
            created_at: row.created_at,
            subject_id: row.subject_id,
            actor_id: row.actor_id,
            event,
        }
    }
}

/// Events with id greater than `after`, oldest first, at most `limit` (rows this version
/// cannot read included, with `event: None`, so that cursors move past them).
pub fn after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<StoredEvent>, AppError> {
    Ok(db::events::after(conn, after, limit)?
        .into_iter()
        .map(StoredEvent::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind, with the payload the code before typed events wrote for it (literal JSON
    /// as stored: keys sorted). A new kind adds its row.
    fn table() -> Vec<(Event, &'static str, &'static str)> {
        vec![
            (
                Event::UserRegistered {
                    username: "eve_n".into(),
                    role: "member".into(),
                },
                "user.registered",
                r#"{"role":"member","username":"eve_n"}"#,
            ),
            (Event::SessionStarted {}, "session.started", "{}"),
            (
                Event::SessionEnded(SessionEnd::Logout {}),
                "session.ended",
                "{}",
            ),
            (
                Event::SessionEnded(SessionEnd::One { session_id: 17 }),
                "session.ended",
                r#"{"session_id":17}"#,
            ),
            (
                Event::SessionEnded(SessionEnd::Everywhere {
                    everywhere: true,
                    count: 3,
                }),
                "session.ended",
                r#"{"count":3,"everywhere":true}"#,
            ),
            (
                Event::SessionsExpired { count: 12 },
                "sessions.expired",
                r#"{"count":12}"#,
            ),
            (
                Event::PasswordChanged {
                    other_sessions_ended: 2,
                },
                "account.password_changed",
                r#"{"other_sessions_ended":2}"#,
            ),
            (Event::EmailChanged {}, "account.email_changed", "{}"),
            (Event::NotificationsRead {}, "notifications.read", "{}"),
            (Event::SettingsUpdated {}, "settings.updated", "{}"),
            (
                Event::CategoryCreated(CategoryPayload {
                    slug: "billing".into(),
                    name: "Billing".into(),
                    staff_only: false,
                }),
                "category.created",
                r#"{"name":"Billing","slug":"billing","staff_only":false}"#,
            ),
            (
                Event::CategoryUpdated(CategoryPayload {
                    slug: "news".into(),
                    name: "News \"now\"".into(),
                    staff_only: true,
                }),
                "category.updated",
                r#"{"name":"News \"now\"","slug":"news","staff_only":true}"#,
            ),
            (
                Event::TopicCreated {
                    post_id: 10,
                    category_id: 2,
                    mentions: vec![4, 5],
                    quotes: vec![],
                    flow: Some("AbCd".into()),
                },
                "topic.created",
                r#"{"category_id":2,"flow":"AbCd","mentions":[4,5],"post_id":10,"quotes":[]}"#,
            ),
            (
                Event::TopicCreated {
                    post_id: 10,
                    category_id: 2,
                    mentions: vec![],
                    quotes: vec![7],
                    flow: None,
                },
                "topic.created",
                r#"{"category_id":2,"flow":null,"mentions":[],"post_id":10,"quotes":[7]}"#,
            ),
            (
                Event::PostCreated {
                    topic_id: 3,
                    post_number: 4,
                    staff: true,
                    mentions: vec![1],
                    quotes: vec![9, 8],
                    incident_id: None,
                    idea_status: None,
                    changelog_id: None,
                },
                "post.created",
                r#"{"mentions":[1],"post_number":4,"quotes":[9,8],"staff":true,"topic_id":3}"#,
            ),
            (
                Event::PostEdited {
                    topic_id: 3,
                    version: 2,
                    title_changed: false,
                },
                "post.edited",
                r#"{"title_changed":false,"topic_id":3,"version":2}"#,
            ),
            (
                Event::PostDeleted {
                    topic_id: 3,
                    post_number: 1,
                    author_id: 6,
                },
                "post.deleted",
                r#"{"author_id":6,"post_number":1,"topic_id":3}"#,
            ),
            (
                Event::PostHidden {
                    topic_id: 3,
                    reason: "spam".into(),
                    author_id: 6,
                },
                "post.hidden",
                r#"{"author_id":6,"reason":"spam","topic_id":3}"#,
            ),
            (
                Event::PostUnhidden {
                    topic_id: 3,
                    reason: (),
                    author_id: 6,
                },
                "post.unhidden",
                r#"{"author_id":6,"reason":null,"topic_id":3}"#,
            ),
            (
                Event::PostLiked {
                    topic_id: 3,
                    author_id: 6,
                },
                "post.liked",
                r#"{"author_id":6,"topic_id":3}"#,
            ),
            (
                Event::PostUnliked {
                    topic_id: 3,
                    author_id: 6,
                },
                "post.unliked",
                r#"{"author_id":6,"topic_id":3}"#,
            ),
            (
                Event::TopicSolved {
                    post_id: 11,
                    answer_author_id: 6,
                    topic_author_id: 5,
                },
                "topic.solved",
                r#"{"answer_author_id":6,"post_id":11,"topic_author_id":5}"#,
            ),
            (
                Event::TopicUnsolved { post_id: 11 },
                "topic.unsolved",
                r#"{"post_id":11}"#,
            ),
            (Event::TopicLocked {}, "topic.locked", "{}"),
            (Event::TopicUnlocked {}, "topic.unlocked", "{}"),
            (Event::TopicPinned {}, "topic.pinned", "{}"),
            (Event::TopicUnpinned {}, "topic.unpinned", "{}"),
            (Event::TopicUnlisted {}, "topic.unlisted", "{}"),
            (Event::TopicRelisted {}, "topic.relisted", "{}"),
            (
                Event::TopicMoved { from: 1, to: 2 },
                "topic.moved",
                r#"{"from":1,"to":2}"#,
            ),
            (
                Event::TopicDuplicateMarked {
                    of_topic_id: Some(9),
                },
                "topic.duplicate_marked",
                r#"{"of_topic_id":9}"#,
            ),
            (
                Event::TopicWatchChanged {
                    level: "muted".into(),
                },
                "topic.watch_changed",
                r#"{"level":"muted"}"#,
            ),
            (
                Event::CategoryWatchChanged {
                    level: "watching".into(),
                },
                "category.watch_changed",
                r#"{"level":"watching"}"#,
            ),
            (
                Event::PostsRecooked {
                    through_post_id: 500,
                    count: 500,
                },
                "posts.recooked",
                r#"{"count":500,"through_post_id":500}"#,
            ),
            (
                Event::DeflectionSuggested {
                    flow: "AbCd".into(),
                    query: "pdf invoices".into(),
                    topic_ids: vec![3, 1],
                },
                "deflection.suggested",
                r#"{"flow":"AbCd","query":"pdf invoices","topic_ids":[3,1]}"#,
            ),
            (
                Event::DeflectionOpened {
                    flow: "AbCd".into(),
                },
                "deflection.opened",
                r#"{"flow":"AbCd"}"#,
            ),
            (
                Event::KbSectionSaved {
                    slug: "billing".into(),
                    created: true,
                },
                "kb.section_saved",
                r#"{"created":true,"slug":"billing"}"#,
            ),
            (
                Event::KbArticleSaved {
                    slug: "reset".into(),
                    status: "published".into(),
                    version: 3,
                    renamed_from: Some("old".into()),
                },
                "kb.article_saved",
                r#"{"renamed_from":"old","slug":"reset","status":"published","version":3}"#,
            ),
            (
                Event::KbTopicLinked { topic_id: 4 },
                "kb.topic_linked",
                r#"{"topic_id":4}"#,
            ),
            (
                Event::KbVoted {
                    helpful: false,
                    commented: true,
                },
                "kb.voted",
                r#"{"commented":true,"helpful":false}"#,
            ),
            (
                Event::StatusComponentSaved {
                    name: "API".into(),
                    created: true,
                },
                "status.component_saved",
                r#"{"created":true,"name":"API"}"#,
            ),
            (
                Event::StatusComponentChanged {
                    old_status: "operational".into(),
                    new_status: "major_outage".into(),
                    token_id: Some(2),
                },
                "status.component_changed",
                r#"{"new_status":"major_outage","old_status":"operational","token_id":2}"#,
            ),
            (
                Event::IncidentOpened {
                    kind: "incident".into(),
                    status: "investigating".into(),
                    impact: "major".into(),
                    update_id: 5,
                    token_id: None,
                },
                "status.incident_opened",
                r#"{"impact":"major","kind":"incident","status":"investigating","token_id":null,"update_id":5}"#,
            ),
            (
                Event::IncidentUpdated {
                    kind: "maintenance".into(),
                    status: "completed".into(),
                    update_id: 6,
                    resolved: true,
                    token_id: None,
                },
                "status.incident_updated",
                r#"{"kind":"maintenance","resolved":true,"status":"completed","token_id":null,"update_id":6}"#,
            ),
            (
                Event::IncidentTopicLinked { topic_id: 3 },
                "status.topic_linked",
                r#"{"topic_id":3}"#,
            ),
            (Event::IncidentFollowed {}, "status.incident_followed", "{}"),
            (
                Event::StatusSubscriptionChanged { subscribed: true },
                "status.subscription_changed",
                r#"{"subscribed":true}"#,
            ),
            (
                Event::ApiTokenCreated {
                    name: "monitor".into(),
                    scopes: "status".into(),
                },
                "api_token.created",
                r#"{"name":"monitor","scopes":"status"}"#,
            ),
            (Event::ApiTokenRevoked {}, "api_token.revoked", "{}"),
            (
                Event::IdeaVoted {
                    voted: true,
                    votes: 4,
                },
                "idea.voted",
                r#"{"voted":true,"votes":4}"#,
            ),
            (
                Event::IdeaStatusChanged {
                    from: "open".into(),
                    to: "planned".into(),
                    post_id: Some(9),
                    changelog_id: None,
                },
                "idea.status_changed",
                r#"{"from":"open","post_id":9,"to":"planned"}"#,
            ),
            (
                Event::IdeaMerged {
                    into: 3,
                    moved_votes: 2,
                },
                "idea.merged",
                r#"{"into":3,"moved_votes":2}"#,
            ),
            (
                Event::ChangelogSaved {
                    slug: "dark-mode".into(),
                    status: "draft".into(),
                    created: true,
                    renamed_from: None,
                },
                "changelog.saved",
                r#"{"created":true,"slug":"dark-mode","status":"draft"}"#,
            ),
            (
                Event::ChangelogPublished {
                    slug: "dark-mode".into(),
                    topics: vec![3, 4],
                    articles: vec![1],
                },
                "changelog.published",
                r#"{"articles":[1],"slug":"dark-mode","topics":[3,4]}"#,
            ),
        ]
    }

    #[test]
    fn every_kind_writes_the_kind_and_payload_it_always_wrote_and_reads_back() {
        let table = table();
        for (event, kind, payload) in &table {
            assert_eq!(event.encode(), (*kind, payload.to_string()), "{event:?}");
            assert_eq!(
                Event::decode(kind, payload).as_ref(),
                Some(event),
                "{kind} {payload}"
            );
        }
        // Every variant has a row (51 kinds; session.ended has three shapes).
        let mut kinds: Vec<&str> = table.iter().map(|(_, k, _)| *k).collect();
        kinds.dedup();
        assert_eq!(kinds.len(), 51);
    }

    #[test]
    fn the_kind_is_the_serde_tag() {
        for (event, _, _) in table() {
            let tagged = serde_json::to_value(&event).unwrap();
            assert_eq!(tagged["kind"], event.kind());
        }
    }

    #[test]
    fn seeded_rows_carry_their_marker() {
        let e = Event::SettingsUpdated {};
        assert_eq!(
            e.encode_seeded(Seed::Demo),
            ("settings.updated", r#"{"demo":true}"#.into())
        );
        let e = Event::PostLiked {
            topic_id: 1,
            author_id: 2,
        };
        assert_eq!(
            e.encode_seeded(Seed::Bench).1,
            r#"{"author_id":2,"bench":true,"topic_id":1}"#
        );
    }

    #[test]
    fn rows_written_before_typed_events_still_read() {
        // The demo loader and the benchmark generator wrote shorter payloads, with markers.
        assert_eq!(
            Event::decode(
                "topic.created",
                r#"{"post_id":1,"category_id":2,"demo":true}"#
            ),
            Some(Event::TopicCreated {
                post_id: 1,
                category_id: 2,
                mentions: vec![],
                quotes: vec![],
                flow: None,
            })
        );
        assert_eq!(
            Event::decode(
                "post.created",
                r#"{"topic_id":1,"post_number":2,"staff":false}"#
            ),
            Some(Event::PostCreated {
                topic_id: 1,
                post_number: 2,
                staff: false,
                mentions: vec![],
                quotes: vec![],
                incident_id: None,
                idea_status: None,
                changelog_id: None,
            })
        );
        assert_eq!(
            Event::decode("category.created", r#"{"slug":"hosting","bench":true}"#),
            Some(Event::CategoryCreated(CategoryPayload {
                slug: "hosting".into(),
                name: String::new(),
                staff_only: false,
            }))
        );
        assert_eq!(
            Event::decode("settings.updated", r#"{"demo":true}"#),
            Some(Event::SettingsUpdated {})
        );
    }

    #[test]
    fn unknown_kinds_and_unreadable_payloads_are_skipped() {
        assert_eq!(Event::decode("changelog.published", r#"{"id":1}"#), None);
        assert_eq!(Event::decode("", "{}"), None);
        assert_eq!(Event::decode("topic.moved", r#"{"from":"x"}"#), None);
        assert_eq!(Event::decode("topic.moved", "not json"), None);
        let row = db::events::EventRow {
            id: 9,
            kind: "changelog.published".into(),
            subject_id: Some(1),
            actor_id: None,
            created_at: db::now(),
            payload: "{}".into(),
        };
        let stored = StoredEvent::from(row);
        assert_eq!((stored.id, stored.event), (9, None));
    }
}
