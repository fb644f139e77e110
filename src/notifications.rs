//! In-app notifications, derived from the event log by an exactly-once follower: each
//! batch reads the shared cursor, writes the notifications and moves the cursor in one
//! transaction, so any node may run it and a crash replays nothing twice. Email will
//! follow the same stream later.

use std::collections::HashMap;

use crate::db::forum::{self as fq, WatchLevel};
use crate::db::notifications::{self as nq, NewNotification, NotificationRow};
use crate::db::status as sq;
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event, StoredEvent};
use crate::subject::{Named, Subject};

const CURSOR: &str = "notifications";

/// What a notification tells its reader; stored as [`Kind::as_str`]. When one event reaches a
/// person several ways, the kind listed first here wins (a mention beats a reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Mention,
    Quote,
    /// An idea the member voted for or took part in changed status (with staff's why).
    IdeaStatus,
    /// A changelog post shipped something the member voted for, asked or replied in.
    Shipped,
    StaffReply,
    SolvedAnswer,
    Solved,
    Like,
    Reply,
    NewTopic,
    /// An incident that the member reported, follows or is subscribed to was resolved.
    IncidentResolved,
    /// A new update on an incident the member follows or is subscribed to.
    IncidentUpdate,
    /// A new incident or maintenance (status subscribers).
    NewIncident,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Mention,
        Kind::Quote,
        Kind::IdeaStatus,
        Kind::Shipped,
        Kind::StaffReply,
        Kind::SolvedAnswer,
        Kind::Solved,
        Kind::Like,
        Kind::Reply,
        Kind::NewTopic,
        Kind::IncidentResolved,
        Kind::IncidentUpdate,
        Kind::NewIncident,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mention => "mention",
            Kind::Quote => "quote",
            Kind::IdeaStatus => "idea_status",
            Kind::Shipped => "shipped",
            Kind::StaffReply => "staff_reply",
            Kind::SolvedAnswer => "solved_answer",
            Kind::Solved => "solved",
            Kind::Like => "like",
            Kind::Reply => "reply",
            Kind::NewTopic => "new_topic",
            Kind::IncidentResolved => "incident_resolved",
            Kind::IncidentUpdate => "incident_update",
            Kind::NewIncident => "new_incident",
        }
    }

    /// `None` for a kind stored by a newer version.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}
/// Events per transaction. Small, because each one holds the database's write lock (on
/// SQLite the only one): a reply to a busy topic notifies every watcher, and 200 events at
/// once held it long enough to add ~100 ms to concurrent replies (load suite, p99).
const BATCH: i64 = 25;

/// Notifications per transaction when one event reaches many people (a changelog post
/// that shipped an idea with 10,000 voters): the event is worked through in slices of this
/// many recipients, each its own transaction, so other writers wait ~10 ms at a time, not
/// for the whole fan-out.
const FANOUT_SLICE: usize = 500;
/// Where a sliced event stands: its id, and the last recipient (user id) already notified.
const PARTIAL_EVENT: &str = "notifications.partial_event";
const PARTIAL_USER: &str = "notifications.partial_user";

/// Turns new events into notifications; returns how many events were consumed.
pub fn process(db: &Db) -> Result<usize, AppError> {
    let mut total = 0;
    loop {
        let (consumed, more) = db.write_sync(|conn| {
            db::advisory_lock(conn, db::NOTIFIER_LOCK)?;
            let cursor = nq::cursor(conn, CURSOR)?;
            let batch = events::after(conn, cursor, BATCH)?;
            if batch.is_empty() {
                return Ok((0, false));
            }
            let partial_event = nq::cursor(conn, PARTIAL_EVENT)?;
            let partial_user = nq::cursor(conn, PARTIAL_USER)?;
            let mut written = 0;
            let mut done = cursor;
            let mut pending: Vec<NewNotification> = Vec::new();
            for event in &batch {
                let mut people = recipients(conn, event)?;
                if event.id == partial_event {
                    people.retain(|r| r.0 > partial_user);
                }
                let room = FANOUT_SLICE.saturating_sub(written).max(1);
                let sliced = people.len() > room;
                if sliced && written > 0 {
                    break; // this event starts the next transaction
                }
                people.truncate(room);
                pending.extend(
                    people
                        .iter()
                        .map(|(user_id, kind, subject)| NewNotification {
                            user_id: *user_id,
                            event_id: event.id,
                            kind: kind.as_str(),
                            subject: *subject,
                            actor_id: event.actor_id,
                            at: event.created_at,
                        }),
                );
                written += people.len();
                if sliced {
                    nq::insert_many(conn, &pending)?;
                    // Part of this event is done: the next transaction goes on from here.
                    let last_user = people.last().map_or(0, |r| r.0);
                    nq::set_cursor(conn, PARTIAL_EVENT, event.id)?;
                    nq::set_cursor(conn, PARTIAL_USER, last_user)?;
                    nq::set_cursor(conn, CURSOR, done)?;
                    return Ok((0, true));
                }
                done = event.id;
            }
            nq::insert_many(conn, &pending)?;
            nq::set_cursor(conn, CURSOR, done)?;
            let consumed = batch.iter().filter(|e| e.id <= done).count();
            // More waits when this batch stopped early or was full.
            let more = consumed < batch.len() || batch.len() as i64 == BATCH;
            Ok((consumed, more))
        })?;
        total += consumed;
        if !more {
            return Ok(total);
        }
    }
}

type Recipient = (i64, Kind, Subject);

/// Who hears about `stored`, and as what: at most one notification per person per event,
/// the most specific kind winning; never the actor; never someone who muted the topic.
fn recipients(conn: &mut DbConn, stored: &StoredEvent) -> Result<Vec<Recipient>, AppError> {
    let Some(event) = &stored.event else {
        return Ok(Vec::new());
    };
    let actor = stored.actor_id.unwrap_or(0);
    // The most specific kind wins when one person qualifies several ways (`Kind`'s order).
    let mut chosen: HashMap<i64, Kind> = HashMap::new();
    let mut offer = |user: i64, kind: Kind| {
        if user != actor {
            let entry = chosen.entry(user).or_insert(kind);
            if kind < *entry {
                *entry = kind;
            }
        }
    };
    let subject = match event {
        Event::TopicCreated { .. } | Event::PostCreated { .. } => {
            let (new_topic, topic_id, post_id, mentions, quotes, staff) = match event {
                Event::TopicCreated {
                    post_id,
                    mentions,
                    quotes,
                    ..
                } => (
                    true,
                    stored.subject_id.unwrap_or(0),
                    Some(*post_id),
                    mentions,
                    quotes,
                    false,
                ),
                Event::PostCreated {
                    topic_id,
                    mentions,
                    quotes,
                    staff,
                    ..
                } => (
                    false,
                    *topic_id,
                    stored.subject_id,
                    mentions,
                    quotes,
                    *staff,
                ),
                _ => unreachable!("matched above"),
            };
            let Some(topic) = fq::topic(conn, topic_id)? else {
                return Ok(Vec::new());
            };
            for user in mentions {
                offer(*user, Kind::Mention);
            }
            for (_, author) in fq::post_authors(conn, quotes)? {
                offer(author, Kind::Quote);
            }
            if !new_topic && staff {
                offer(topic.user_id, Kind::StaffReply);
            }
            let topic_levels: HashMap<i64, WatchLevel> =
                fq::topic_watchers(conn, topic.id)?.into_iter().collect();
            for (user, level) in &topic_levels {
                if *level == WatchLevel::Watching && !new_topic {
                    offer(*user, Kind::Reply);
                }
            }
            for (user, level) in fq::category_watchers(conn, topic.category_id)? {
                let topic_level = topic_levels.get(&user).copied();
                if level == WatchLevel::Watching && topic_level != Some(WatchLevel::Muted) {
                    offer(
                        user,
                        if new_topic {
                            Kind::NewTopic
                        } else {
                            Kind::Reply
                        },
                    );
                }
            }
            if let Event::PostCreated {
                idea_status: Some(_),
                ..
            } = event
            {
                for user in crate::db::ideas::voters_and_participants(conn, &[topic.id])? {
                    offer(user, Kind::IdeaStatus);
                }
            }
            chosen.retain(|user, _| topic_levels.get(user) != Some(&WatchLevel::Muted));
            if let Event::PostCreated {
                incident_id: Some(_),
                ..
            } = event
            {
                // The reporter hears of it once, from the incident (see `IncidentUpdated`).
                chosen.remove(&topic.user_id);
            }
            if let Event::PostCreated {
                changelog_id: Some(_),
                ..
            } = event
            {
                // Everyone concerned hears of it once, from the changelog post.
                return Ok(Vec::new());
            }

            post_id.map_or(Subject::Topic(topic_id), Subject::Post)
        }
        Event::PostLiked {
            topic_id,
            author_id,
        } => {
            let muted = fq::topic_watch(conn, *author_id, *topic_id)? == Some(WatchLevel::Muted);
            if !muted {
                offer(*author_id, Kind::Like);
            }
            stored
                .subject_id
                .map_or(Subject::Topic(*topic_id), Subject::Post)
        }
        Event::TopicSolved {
            post_id,
            answer_author_id,
            topic_author_id,
        } => {
            offer(*answer_author_id, Kind::SolvedAnswer);
            offer(*topic_author_id, Kind::Solved);
            if let Some(topic_id) = stored.subject_id {
                let muted: Vec<i64> = fq::topic_watchers(conn, topic_id)?
                    .into_iter()
                    .filter(|(_, level)| *level == WatchLevel::Muted)
                    .map(|(user, _)| user)
                    .collect();
                chosen.retain(|user, _| !muted.contains(user));
            }
            Subject::Post(*post_id)
        }
        Event::IncidentOpened { .. } => {
            let Some(id) = stored.subject_id else {
                return Ok(Vec::new());
            };
            for user in sq::subscribers(conn)? {
                offer(user, Kind::NewIncident);
            }
            Subject::Incident(id)
        }
        Event::IncidentUpdated { resolved, .. } => {
            let Some(id) = stored.subject_id else {
                return Ok(Vec::new());
            };
            let update = if *resolved {
                Kind::IncidentResolved
            } else {
                Kind::IncidentUpdate
            };
            for user in sq::subscribers(conn)?
                .into_iter()
                .chain(sq::followers_of(conn, id)?)
            {
                offer(user, update);
            }
            if *resolved {
                for (_, _, author) in sq::reports_of(conn, &[id])? {
                    offer(author, Kind::IncidentResolved);
                }
            }
            Subject::Incident(id)
        }
        Event::ChangelogPublished { topics, .. } => {
            let Some(id) = stored.subject_id else {
                return Ok(Vec::new());
            };
            for user in crate::db::ideas::voters_and_participants(conn, topics)? {
                offer(user, Kind::Shipped);
            }
            Subject::ChangelogPost(id)
        }
        _ => return Ok(Vec::new()),
    };
    let mut out: Vec<Recipient> = chosen
        .into_iter()
        .map(|(user, kind)| (user, kind, subject))
        .collect();
    out.sort_by_key(|r| r.0);
    Ok(out)
}

/// A notification ready to show: what happened, who did it, where.
pub struct Shown {
    pub row: NotificationRow,
    pub actor: Option<String>,
    pub topic_title: Option<String>,
    pub href: String,
}

impl Shown {
    pub fn sentence(&self) -> String {
        let actor = self.actor.as_deref().unwrap_or("Someone");
        let topic = self.topic_title.as_deref().unwrap_or("a topic");
        match Kind::parse(&self.row.kind) {
            Some(Kind::Mention) => format!("{actor} mentioned you in “{topic}”"),
            Some(Kind::Quote) => format!("{actor} quoted you in “{topic}”"),
            Some(Kind::IdeaStatus) => format!("An idea you follow changed status: “{topic}”"),
            Some(Kind::Shipped) => format!("Because you asked: “{topic}”"),
            Some(Kind::StaffReply) => {
                format!("{actor} from our team answered your question “{topic}”")
            }
            Some(Kind::Reply) => format!("{actor} replied to “{topic}”"),
            Some(Kind::NewTopic) => format!("{actor} started “{topic}”"),
            Some(Kind::Like) => format!("{actor} liked your post in “{topic}”"),
            Some(Kind::SolvedAnswer) => {
                format!("Your answer in “{topic}” was accepted as the solution")
            }
            Some(Kind::Solved) => format!("{actor} marked your question “{topic}” as solved"),
            Some(Kind::IncidentResolved) => format!("Resolved: “{topic}”"),
            Some(Kind::IncidentUpdate) => format!("New status update on “{topic}”"),
            Some(Kind::NewIncident) => format!("On our status page: “{topic}”"),
            None => format!("{} in “{topic}”", self.row.kind),
        }
    }
}

/// A page of a user's notifications with names and titles filled in (three queries).
pub fn list(
    db: &Db,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Shown>, AppError> {
    db.read_sync(|conn| {
        let rows = nq::for_user(conn, user_id, before, limit)?;
        let mut actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).collect();
        actor_ids.sort_unstable();
        actor_ids.dedup();
        let actors: HashMap<i64, String> = fq::authors(conn, &actor_ids)?
            .into_iter()
            .map(|a| (a.id, a.username))
            .collect();
        // Posts are shown with their topic's title and linked in place.
        let post_ids: Vec<i64> = rows
            .iter()
            .filter_map(|r| match r.subject() {
                Some(Subject::Post(id)) => Some(id),
                _ => None,
            })
            .collect();
        let post_topics: HashMap<i64, i64> =
            fq::post_topics(conn, &post_ids)?.into_iter().collect();
        let topic_of = |row: &NotificationRow| match row.subject() {
            Some(Subject::Topic(id)) => Some(id),
            Some(Subject::Post(id)) => post_topics.get(&id).copied(),
            _ => None,
        };
        let mut topic_ids: Vec<i64> = rows.iter().filter_map(topic_of).collect();
        topic_ids.sort_unstable();
        topic_ids.dedup();
        let topics: HashMap<i64, (String, String)> = fq::topics_by_ids(conn, &topic_ids)?
            .into_iter()
            .map(|t| (t.id, (t.title, t.slug)))
            .collect();
        // Incidents are named by their own title and link to their status page.
        let mut incidents: HashMap<i64, String> = HashMap::new();
        for row in &rows {
            if let Some(Subject::Incident(id)) = row.subject()
                && !incidents.contains_key(&id)
                && let Some(i) = sq::incident(conn, id)?
            {
                incidents.insert(id, i.name);
            }
        }
        // Changelog posts: by their title, to their page.
        let changelog_ids: Vec<i64> = rows
            .iter()
            .filter_map(|r| match r.subject() {
                Some(Subject::ChangelogPost(id)) => Some(id),
                _ => None,
            })
            .collect();
        let changelog: HashMap<i64, (String, String)> =
            crate::db::changelog::posts_by_ids(conn, &changelog_ids)?
                .into_iter()
                .map(|p| (p.id, (p.title, p.slug)))
                .collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                if let Some(Subject::ChangelogPost(id)) = row.subject() {
                    let post = changelog.get(&id);
                    return Shown {
                        actor: None,
                        topic_title: post.map(|(title, _)| title.clone()),
                        href: post.map_or_else(
                            || "/changelog".to_string(),
                            |(_, slug)| Subject::ChangelogPost(id).path(Named::slug(slug)),
                        ),
                        row,
                    };
                }
                if let Some(Subject::Incident(id)) = row.subject() {
                    return Shown {
                        actor: None,
                        topic_title: incidents.get(&id).cloned(),
                        href: Subject::Incident(id).path(Named::slug("")),
                        row,
                    };
                }
                let topic_id = topic_of(&row);
                let topic = topic_id.and_then(|t| topics.get(&t));
                let href = match (row.subject(), topic_id, topic) {
                    (Some(subject), Some(topic_id), Some((_, slug))) => subject.path(Named {
                        slug,
                        topic_id: Some(topic_id),
                    }),
                    _ => "/notifications".into(),
                };
                Shown {
                    actor: row.actor_id.and_then(|a| actors.get(&a).cloned()),
                    topic_title: topic.map(|(title, _)| title.clone()),
                    href,
                    row,
                }
            })
            .collect())
    })
}

/// Opens one of `user_id`'s notifications: marks it read and returns where it leads.
/// Someone else's notification is `NotFound`.
pub fn open(db: &Db, user_id: i64, id: i64) -> Result<String, AppError> {
    let row = db
        .read_sync(|c| nq::one(c, id))?
        .filter(|r| r.user_id == user_id)
        .ok_or(AppError::NotFound)?;
    if row.read_at.is_none() {
        mark_read(db, user_id, Some(id))?;
    }
    Ok(list(db, user_id, Some(id + 1), 1)?
        .into_iter()
        .next()
        .map(|s| s.href)
        .unwrap_or_else(|| "/notifications".into()))
}

/// Marks one notification (or all, with `None`) read.
pub fn mark_read(db: &Db, user_id: i64, id: Option<i64>) -> Result<(), AppError> {
    db.write_sync(|conn| {
        nq::mark_read(conn, user_id, id)?;
        events::append(conn, &Event::NotificationsRead {}, id, Some(user_id))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn kinds_read_back_what_they_store_and_the_specific_one_wins() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("from_the_future"), None);
        assert!(Kind::Mention < Kind::Quote && Kind::Quote < Kind::StaffReply);
        assert!(Kind::IdeaStatus < Kind::StaffReply && Kind::IdeaStatus < Kind::Reply);
        assert!(Kind::StaffReply < Kind::Reply && Kind::Reply < Kind::NewTopic);
        assert!(Kind::SolvedAnswer < Kind::Solved);
    }
}
