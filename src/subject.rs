//! Subjects: anything that can be linked to, searched, notified about or hidden.
//!
//! Two questions are answered here and nowhere else:
//! - **its URL** ([`Subject::path`]): pages, feeds, the sitemap, JSON, search results and
//!   notifications all build links through it;
//! - **may this viewer see it** ([`may_see`]): each capability says how visible one of its
//!   things is ([`Visibility`]) and this one rule says who that lets in. Feeds, JSON, the
//!   sitemap, search and notifications ask it, so that a draft or a staff-only note cannot
//!   leak through a path someone forgot.
//!
//! A subject is stored as its kind (a short word) and its id: search documents and
//! notifications are keyed by it.

use crate::accounts::{Role, User};

/// What a thing is, and which one. Ids are the row ids of each capability's own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Topic(i64),
    Post(i64),
    Category(i64),
    User(i64),
    Article(i64),
    ChangelogPost(i64),
    Idea(i64),
    Incident(i64),
    TicketNote(i64),
}

/// Every kind, in the order of their numeric codes (see [`Subject::key`]).
const KINDS: [&str; 9] = [
    "topic",
    "post",
    "category",
    "user",
    "article",
    "changelog",
    "idea",
    "incident",
    "ticket_note",
];

/// The human part of a URL and, for a post, the topic it sits in: what [`Subject::path`]
/// needs beyond the id.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    /// The slug (topic, category, article, changelog post) or username (user).
    pub slug: &'a str,
    /// For a post: its topic's id.
    pub topic_id: Option<i64>,
}

impl<'a> Named<'a> {
    pub fn slug(slug: &'a str) -> Named<'a> {
        Named {
            slug,
            topic_id: None,
        }
    }
}

impl Subject {
    pub fn kind(self) -> &'static str {
        KINDS[self.code() as usize]
    }

    pub fn id(self) -> i64 {
        match self {
            Subject::Topic(id)
            | Subject::Post(id)
            | Subject::Category(id)
            | Subject::User(id)
            | Subject::Article(id)
            | Subject::ChangelogPost(id)
            | Subject::Idea(id)
            | Subject::Incident(id)
            | Subject::TicketNote(id) => id,
        }
    }

    fn code(self) -> u64 {
        match self {
            Subject::Topic(_) => 0,
            Subject::Post(_) => 1,
            Subject::Category(_) => 2,
            Subject::User(_) => 3,
            Subject::Article(_) => 4,
            Subject::ChangelogPost(_) => 5,
            Subject::Idea(_) => 6,
            Subject::Incident(_) => 7,
            Subject::TicketNote(_) => 8,
        }
    }

    /// The subject stored as `kind` and `id` (notifications, links between capabilities).
    pub fn from_parts(kind: &str, id: i64) -> Option<Subject> {
        let code = KINDS.iter().position(|k| *k == kind)?;
        Subject::from_code(code as u64, id)
    }

    fn from_code(code: u64, id: i64) -> Option<Subject> {
        Some(match code {
            0 => Subject::Topic(id),
            1 => Subject::Post(id),
            2 => Subject::Category(id),
            3 => Subject::User(id),
            4 => Subject::Article(id),
            5 => Subject::ChangelogPost(id),
            6 => Subject::Idea(id),
            7 => Subject::Incident(id),
            8 => Subject::TicketNote(id),
            _ => return None,
        })
    }

    /// One number for the subject (kind in the top byte), for the search index's fast fields.
    pub fn key(self) -> u64 {
        (self.code() << 56) | (self.id() as u64 & ((1 << 56) - 1))
    }

    pub fn from_key(key: u64) -> Option<Subject> {
        Subject::from_code(key >> 56, (key & ((1 << 56) - 1)) as i64)
    }

    /// The site-relative URL of the subject's page.
    pub fn path(self, named: Named) -> String {
        let slug = named.slug;
        match self {
            Subject::Topic(id) | Subject::Idea(id) => format!("/t/{slug}/{id}"),
            Subject::Post(id) => match named.topic_id {
                Some(topic) => format!("/t/{slug}/{topic}?post={id}#p-{id}"),
                None => format!("/p/{id}"),
            },
            Subject::Category(_) => format!("/c/{slug}"),
            Subject::User(_) => format!(
                "/u/{}",
                url::form_urlencoded::byte_serialize(slug.as_bytes()).collect::<String>()
            ),
            Subject::Article(_) => format!("/kb/{slug}"),
            Subject::ChangelogPost(_) => format!("/changelog/{slug}"),
            Subject::Incident(id) => format!("/status/incidents/{id}"),
            Subject::TicketNote(id) => format!("/staff/notes/{id}"),
        }
    }
}

/// Shorthand for the most common link: a topic's page.
pub fn topic_path(slug: &str, id: i64) -> String {
    Subject::Topic(id).path(Named::slug(slug))
}

/// A topic's address by id alone (`/t/{id}`), which redirects to its canonical URL: for
/// callers that know the id but not the slug.
pub fn topic_short_path(id: i64) -> String {
    format!("/t/{id}")
}

/// Shorthand for a post's place in its topic.
pub fn post_path(slug: &str, topic_id: i64, post_id: i64) -> String {
    Subject::Post(post_id).path(Named {
        slug,
        topic_id: Some(topic_id),
    })
}

/// Shorthand for a knowledge-base article's page.
pub fn article_path(slug: &str) -> String {
    Subject::Article(0).path(Named::slug(slug))
}

/// Shorthand for a category's page.
pub fn category_path(slug: &str) -> String {
    Subject::Category(0).path(Named::slug(slug))
}

/// Shorthand for a member's profile.
pub fn user_path(username: &str) -> String {
    Subject::User(0).path(Named::slug(username))
}

/// How visible one thing is; each capability maps its own flags onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    /// Logged-in members and staff.
    Members,
    StaffOnly,
    /// Not yet published: its editors (staff) only.
    Draft,
    /// Taken down by a moderator: staff see it, with the reason shown to everyone else.
    Hidden,
    /// Soft-deleted: staff may still open it to review or restore.
    Deleted,
}

/// Who is looking: nobody logged in, or a user with a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Visitor,
    Signed(Role),
}

impl Viewer {
    pub fn of(user: Option<&User>) -> Viewer {
        match user {
            Some(u) => Viewer::Signed(u.role),
            None => Viewer::Visitor,
        }
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Viewer::Signed(r) if r.is_staff())
    }
}

/// The one visibility rule.
pub fn may_see(viewer: Viewer, visibility: Visibility) -> bool {
    match visibility {
        Visibility::Public => true,
        Visibility::Members => viewer != Viewer::Visitor,
        Visibility::StaffOnly | Visibility::Draft | Visibility::Hidden | Visibility::Deleted => {
            viewer.is_staff()
        }
    }
}

/// Whether the public (visitors, search engines, feeds, the sitemap, the search index)
/// may see it: the question every derived, shared artefact asks.
pub fn is_public(visibility: Visibility) -> bool {
    may_see(Viewer::Visitor, visibility)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_parts_and_keys() {
        for s in [
            Subject::Topic(1),
            Subject::Post(2),
            Subject::Category(3),
            Subject::User(4),
            Subject::Article(5),
            Subject::ChangelogPost(6),
            Subject::Idea(7),
            Subject::Incident(8),
            Subject::TicketNote(i64::from(u32::MAX) * 1000),
        ] {
            assert_eq!(Subject::from_parts(s.kind(), s.id()), Some(s));
            assert_eq!(Subject::from_key(s.key()), Some(s));
        }
        assert_eq!(Subject::from_parts("nonsense", 1), None);
        assert_ne!(Subject::Topic(1).key(), Subject::Post(1).key());
    }

    #[test]
    fn paths_follow_the_public_url_scheme() {
        assert_eq!(topic_path("a-b", 7), "/t/a-b/7");
        assert_eq!(post_path("a-b", 7, 9), "/t/a-b/7?post=9#p-9");
        assert_eq!(Subject::Article(3).path(Named::slug("reset")), "/kb/reset");
        assert_eq!(
            Subject::Incident(4).path(Named::slug("")),
            "/status/incidents/4"
        );
    }

    #[test]
    fn only_public_things_reach_visitors_and_drafts_only_staff() {
        let visitor = Viewer::Visitor;
        let member = Viewer::Signed(Role::Member);
        let staff = Viewer::Signed(Role::Staff);
        let admin = Viewer::Signed(Role::Admin);
        assert!(may_see(visitor, Visibility::Public));
        assert!(!may_see(visitor, Visibility::Members));
        assert!(may_see(member, Visibility::Members));
        for v in [
            Visibility::StaffOnly,
            Visibility::Draft,
            Visibility::Hidden,
            Visibility::Deleted,
        ] {
            assert!(!may_see(visitor, v), "{v:?}");
            assert!(!may_see(member, v), "{v:?}");
            assert!(may_see(staff, v), "{v:?}");
            assert!(may_see(admin, v), "{v:?}");
            assert!(!is_public(v));
        }
    }
}
