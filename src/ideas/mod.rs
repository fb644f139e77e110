//! Ideas: topics in a category of kind "ideas", which members vote on and staff move
//! through statuses (open → under review → planned → in progress → shipped, or declined).
//! A status change always comes with a staff explanation, posted in the topic, and everyone
//! who voted or took part hears of it. Duplicates merge into one idea (votes move over,
//! once per member). Shipping usually happens by publishing a changelog post that links the
//! idea (`crate::changelog::publish`).

pub mod rankings;

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, TimeDelta};

use crate::accounts::{Actor, User};
use crate::db::forum::{self as fq, CategoryRow, TopicRow};
use crate::db::ideas::{self as q, IdeaFilter, IdeaRow, Order};
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event};
use crate::forms::FieldErrors;
use crate::forum::{self, Because, TopicSummary};
use crate::subject::{self, Viewer};

/// Where an idea stands. Stored as [`Status::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    UnderReview,
    Planned,
    InProgress,
    Shipped,
    Declined,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Open,
        Status::UnderReview,
        Status::Planned,
        Status::InProgress,
        Status::Shipped,
        Status::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::UnderReview => "under_review",
            Status::Planned => "planned",
            Status::InProgress => "in_progress",
            Status::Shipped => "shipped",
            Status::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::UnderReview => "Under review",
            Status::Planned => "Planned",
            Status::InProgress => "In progress",
            Status::Shipped => "Shipped",
            Status::Declined => "Declined",
        }
    }

    pub fn of(idea: &IdeaRow) -> Status {
        Status::parse(&idea.status).unwrap_or(Status::Open)
    }

    /// Still taking votes that matter (shipped and declined ideas are settled).
    pub fn is_settled(self) -> bool {
        matches!(self, Status::Shipped | Status::Declined)
    }
}

/// How a list of ideas is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sort {
    Votes,
    /// Votes in the last [`TRENDING_DAYS`].
    Trending,
    Newest,
}

impl Sort {
    pub const ALL: [Sort; 3] = [Sort::Votes, Sort::Trending, Sort::Newest];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Votes => "votes",
            Sort::Trending => "trending",
            Sort::Newest => "newest",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Votes => "Most votes",
            Sort::Trending => "Trending",
            Sort::Newest => "Newest",
        }
    }
}

pub const TRENDING_DAYS: i64 = 30;
pub const PER_PAGE: i64 = 30;
/// How long a shipped idea stays on the roadmap.
pub const ROADMAP_SHIPPED_DAYS: i64 = 90;
/// The longest staff explanation of a status change.
const MAX_EXPLANATION: usize = 5_000;

/// One idea in a list.
#[derive(Debug, Clone)]
pub struct IdeaSummary {
    pub topic: TopicSummary,
    pub idea: IdeaRow,
    /// Did the viewer vote for it?
    pub voted: bool,
}

impl IdeaSummary {
    pub fn status(&self) -> Status {
        Status::of(&self.idea)
    }
}

pub struct IdeaList {
    pub ideas: Vec<IdeaSummary>,
    /// Listed ideas per status (the filter shows them).
    pub counts: HashMap<Status, i64>,
    /// Is there a next page?
    pub more: bool,
    pub categories: Vec<CategoryRow>,
}

/// A page (1-based) of the ideas in `category` (all ideas categories with `None`), ranked
/// from this node's memo (`rankings`).
pub fn list(
    db: &Db,
    rankings: &rankings::Rankings,
    category_id: Option<i64>,
    status: Option<Status>,
    sort: Sort,
    page: i64,
    viewer: Option<&User>,
) -> Result<IdeaList, AppError> {
    let viewer_id = viewer.map(|u| u.id);
    db.read_sync(|conn| {
        let order = rankings.order(conn, category_id, status, sort)?;
        let from = ((page - 1).max(0) * PER_PAGE) as usize;
        let ids: Vec<i64> = order
            .iter()
            .skip(from)
            .take(PER_PAGE as usize)
            .copied()
            .collect();
        let more = order.len() > from + ids.len();
        let rows = q::with_topics(conn, ids)?;
        let ideas = summarize(conn, rows, viewer_id)?;
        let counts = rankings.counts(conn, category_id)?.as_ref().clone();
        Ok(IdeaList {
            ideas,
            counts,
            more,
            categories: fq::categories(conn)?,
        })
    })
}

fn order_of(sort: Sort) -> Order {
    match sort {
        Sort::Votes => Order::Votes,
        Sort::Newest => Order::Newest,
        Sort::Trending => Order::Trending(db::now() - TimeDelta::days(TRENDING_DAYS)),
    }
}

/// Topics and ideas made into list entries (authors and tags in two queries, the viewer's
/// votes in one).
fn summarize(
    conn: &mut DbConn,
    rows: Vec<(TopicRow, IdeaRow)>,
    viewer_id: Option<i64>,
) -> Result<Vec<IdeaSummary>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|(t, _)| t.id).collect();
    let voted: HashSet<i64> = match viewer_id {
        Some(uid) if !ids.is_empty() => q::voted_among(conn, uid, &ids)?.into_iter().collect(),
        _ => HashSet::new(),
    };
    let (topics, ideas): (Vec<TopicRow>, Vec<IdeaRow>) = rows.into_iter().unzip();
    let summaries = forum::summaries(conn, topics)?;
    Ok(summaries
        .into_iter()
        .zip(ideas)
        .map(|(topic, idea)| IdeaSummary {
            voted: voted.contains(&idea.topic_id),
            topic,
            idea,
        })
        .collect())
}

/// What a topic page shows of its idea.
#[derive(Debug, Clone)]
pub struct IdeaView {
    pub idea: IdeaRow,
    pub voted: bool,
    /// The idea this one was merged into: (title, slug, id).
    pub merged_into: Option<(String, String, i64)>,
}

impl IdeaView {
    pub fn status(&self) -> Status {
        Status::of(&self.idea)
    }
}

/// The idea of a topic page, if the topic is one (two queries; none for other topics).
pub fn view_in(
    conn: &mut DbConn,
    topic: &TopicRow,
    category: &CategoryRow,
    viewer: Option<&User>,
) -> Result<Option<IdeaView>, AppError> {
    if !category.is_ideas() {
        return Ok(None);
    }
    let Some(idea) = q::idea(conn, topic.id)? else {
        return Ok(None);
    };
    let voted = match viewer {
        Some(u) => q::has_voted(conn, topic.id, u.id)?,
        None => false,
    };
    let merged_into = match idea.merged_into {
        Some(id) => fq::topic(conn, id)?
            .filter(|t| subject::may_see(Viewer::of(viewer), forum::topic_visibility(t)))
            .map(|t| (t.title, t.slug, t.id)),
        None => None,
    };
    Ok(Some(IdeaView {
        idea,
        voted,
        merged_into,
    }))
}

/// Where an idea stands now (`None`: the topic is not an idea).
pub fn status_of(db: &Db, topic_id: i64) -> Result<Option<Status>, AppError> {
    db.read_sync(|conn| Ok(q::idea(conn, topic_id)?.map(|i| Status::of(&i))))
}

/// An idea that may take votes: listed, visible, not merged away.
fn votable(conn: &mut DbConn, topic_id: i64) -> Result<(TopicRow, IdeaRow), AppError> {
    let topic = fq::topic(conn, topic_id)?
        .filter(|t| forum::listed(t) && subject::is_public(forum::topic_visibility(t)))
        .ok_or(AppError::NotFound)?;
    let idea = q::idea(conn, topic_id)?
        .ok_or_else(|| AppError::BadRequest("Only ideas take votes.".into()))?;
    Ok((topic, idea))
}

/// Adds (`vote`) or withdraws a member's vote. Idempotent: voting twice counts once and
/// records nothing the second time. Returns the idea after it.
pub fn vote(db: &Db, actor: &User, topic_id: i64, vote: bool) -> Result<IdeaRow, AppError> {
    let at = db::now();
    db.write_sync(|conn| vote_in(conn, actor.id, topic_id, vote, at))
}

/// [`vote`] inside the caller's transaction (the demo loader and the bench seeder use it).
pub fn vote_in(
    conn: &mut DbConn,
    voter_id: i64,
    topic_id: i64,
    vote: bool,
    at: NaiveDateTime,
) -> Result<IdeaRow, AppError> {
    let (_, idea) = votable(conn, topic_id)?;
    if let Some(into) = idea.merged_into {
        return Err(AppError::Conflict(format!(
            "This idea was merged into another one; vote there: {}",
            subject::topic_short_path(into)
        )));
    }
    if q::set_vote(conn, topic_id, voter_id, vote, at)? {
        let after = q::idea(conn, topic_id)?.ok_or(AppError::NotFound)?;
        events::append(
            conn,
            &Event::IdeaVoted {
                voted: vote,
                votes: after.vote_count,
            },
            Some(topic_id),
            Some(voter_id),
        )?;
        Ok(after)
    } else {
        Ok(idea)
    }
}

fn require_staff(actor: &User, what: &str) -> Result<(), AppError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("Only staff {what}.")))
    }
}

/// Sets an idea's status with a staff explanation, which is posted in the topic (as staff)
/// and notifies voters and participants, all in one transaction. `Ok(Err)` names what to
/// correct in the form.
pub fn set_status(
    db: &Db,
    actor: &User,
    topic_id: i64,
    status: &str,
    explanation: &str,
) -> Result<Result<forum::Created, FieldErrors>, AppError> {
    require_staff(actor, "change the status of ideas")?;
    let mut errors = FieldErrors::default();
    let status = Status::parse(status.trim());
    if status.is_none() {
        errors.add(
            "status",
            "Choose one of: open, under review, planned, in progress, shipped, declined.",
        );
    }
    let explanation = explanation.trim();
    if explanation.is_empty() {
        errors.add(
            "explanation",
            "Say in a sentence or two why: it is posted in the topic and sent to everyone who voted.",
        );
    } else if explanation.chars().count() > MAX_EXPLANATION {
        errors.add("explanation", "At most 5,000 characters.");
    }
    let (Some(status), true) = (status, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let at = db::now();
    db.write_sync(|conn| set_status_in(conn, Actor::from(actor), topic_id, status, explanation, at))
}

/// [`set_status`] inside the caller's transaction. The staff reply starts with the new
/// status, so the topic reads as a timeline ("**Planned:** …").
pub fn set_status_in(
    conn: &mut DbConn,
    actor: Actor,
    topic_id: i64,
    status: Status,
    explanation: &str,
    at: NaiveDateTime,
) -> Result<Result<forum::Created, FieldErrors>, AppError> {
    let topic = fq::topic(conn, topic_id)?
        .filter(|t| t.deleted_at.is_none())
        .ok_or(AppError::NotFound)?;
    let idea = q::idea(conn, topic.id)?
        .ok_or_else(|| AppError::BadRequest("This topic is not an idea.".into()))?;
    let from = Status::of(&idea);
    if from == status {
        let mut errors = FieldErrors::default();
        errors.add(
            "status",
            format!("This idea is already {}.", status.label().to_lowercase()),
        );
        return Ok(Err(errors));
    }
    let text = forum::cook_text(conn, &format!("**{}:** {}", status.label(), explanation))?;
    let created = match forum::reply_because_in(
        conn,
        actor,
        topic.id,
        &text,
        at,
        Because::IdeaStatus(status.as_str().into()),
    )? {
        Ok(c) => c,
        Err(errors) => return Ok(Err(errors)),
    };
    q::set_status(conn, topic.id, status.as_str(), at)?;
    events::append(
        conn,
        &Event::IdeaStatusChanged {
            from: from.as_str().into(),
            to: status.as_str().into(),
            post_id: Some(created.post_id),
            changelog_id: None,
        },
        Some(topic.id),
        Some(actor.id),
    )?;
    Ok(Ok(created))
}

/// Marks an idea shipped by a changelog post, inside the publishing transaction (the reply
/// in its topic is the changelog's). Already shipped: nothing happens.
pub fn ship_in(
    conn: &mut DbConn,
    actor_id: i64,
    topic_id: i64,
    changelog_id: i64,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(idea) = q::idea(conn, topic_id)? else {
        return Ok(());
    };
    let from = Status::of(&idea);
    if from == Status::Shipped {
        return Ok(());
    }
    q::set_status(conn, topic_id, Status::Shipped.as_str(), at)?;
    events::append(
        conn,
        &Event::IdeaStatusChanged {
            from: from.as_str().into(),
            to: Status::Shipped.as_str().into(),
            post_id: None,
            changelog_id: Some(changelog_id),
        },
        Some(topic_id),
        Some(actor_id),
    )?;
    Ok(())
}

/// Votes moved per transaction by a merge: a duplicate with 10,000 votes holds the other
/// writers for one slice at a time, not for the whole move.
const MERGE_SLICE: i64 = 1_000;

/// Merges the duplicate idea `from` into the one `into` names (its number or address):
/// votes move over once per member, the duplicate points to the survivor and leaves lists.
///
/// The first transaction marks the duplicate merged (it takes no votes from then on); its
/// votes then move in slices of [`MERGE_SLICE`], and `idea.merged` is appended with the
/// last. Should the node stop between slices, merging again into the same idea finishes the
/// move.
pub fn merge(db: &Db, actor: &User, from: i64, into: &str) -> Result<TopicRow, AppError> {
    merge_in_slices(db, actor, from, into, MERGE_SLICE)
}

/// [`merge`] moving `slice` votes per transaction (tests use small slices).
pub fn merge_in_slices(
    db: &Db,
    actor: &User,
    from: i64,
    into: &str,
    slice: i64,
) -> Result<TopicRow, AppError> {
    require_staff(actor, "merge ideas")?;
    let into = forum::parse_topic_ref(into).ok_or_else(|| {
        AppError::BadRequest(
            "Name the idea to keep by its number or address, like 123 or /t/some-title/123.".into(),
        )
    })?;
    if into == from {
        return Err(AppError::BadRequest(
            "An idea cannot be merged into itself.".into(),
        ));
    }
    let at = db::now();
    let survivor_topic = db.write_sync(|conn| {
        let (_, duplicate) = votable(conn, from)?;
        let (survivor_topic, survivor) = votable(conn, into).map_err(|_| {
            AppError::BadRequest(format!("There is no public idea #{into} to merge into."))
        })?;
        if survivor.merged_into.is_some() {
            return Err(AppError::BadRequest(format!(
                "Idea #{into} was itself merged into another; merge into that one."
            )));
        }
        let already = AppError::Conflict("This idea was already merged into another one.".into());
        match duplicate.merged_into {
            // An unfinished move (the node stopped between slices) is finished below.
            Some(same) if same == into && duplicate.vote_count > 0 => {}
            Some(_) => return Err(already),
            None => {
                if !q::claim_merge(conn, from, into, at)? {
                    return Err(already);
                }
                forum::mark_duplicate_in(conn, Actor::from(actor), from, Some(into), at)?;
            }
        }
        Ok(survivor_topic)
    })?;
    let mut moved = 0;
    loop {
        let done = db.write_sync(|conn| {
            let (taken, added) = q::move_votes(conn, from, into, slice)?;
            moved += added;
            let done = taken < slice;
            if done {
                events::append(
                    conn,
                    &Event::IdeaMerged {
                        into,
                        moved_votes: moved,
                    },
                    Some(from),
                    Some(actor.id),
                )?;
            }
            Ok(done)
        })?;
        if done {
            return Ok(survivor_topic);
        }
    }
}

/// The public roadmap: planned, in progress, and shipped in the last
/// [`ROADMAP_SHIPPED_DAYS`]: planned and in progress most-voted first, shipped newest first.
#[derive(Debug, Clone)]
pub struct Roadmap {
    pub planned: Vec<IdeaSummary>,
    pub in_progress: Vec<IdeaSummary>,
    pub shipped: Vec<IdeaSummary>,
}

/// Ideas per roadmap column.
const ROADMAP_COLUMN: i64 = 50;

/// The roadmap (memoized per node in `rankings`), with the viewer's own votes marked.
pub fn roadmap(
    db: &Db,
    rankings: &rankings::Rankings,
    viewer: Option<&User>,
) -> Result<Roadmap, AppError> {
    let shared = rankings.roadmap(|| roadmap_for_everyone(db))?;
    let mut map = shared.as_ref().clone();
    if let Some(u) = viewer {
        let ids: Vec<i64> = map
            .planned
            .iter()
            .chain(&map.in_progress)
            .chain(&map.shipped)
            .map(|i| i.idea.topic_id)
            .collect();
        if !ids.is_empty() {
            let voted: HashSet<i64> = db
                .read_sync(|conn| q::voted_among(conn, u.id, &ids))?
                .into_iter()
                .collect();
            for i in map
                .planned
                .iter_mut()
                .chain(map.in_progress.iter_mut())
                .chain(map.shipped.iter_mut())
            {
                i.voted = voted.contains(&i.idea.topic_id);
            }
        }
    }
    Ok(map)
}

fn roadmap_for_everyone(db: &Db) -> Result<Roadmap, AppError> {
    let since = db::now() - TimeDelta::days(ROADMAP_SHIPPED_DAYS);
    db.read_sync(|conn| {
        let mut column = |status: Status, order: Order| -> Result<Vec<IdeaSummary>, AppError> {
            let s = [status.as_str()];
            let rows = q::list(
                conn,
                &IdeaFilter {
                    category_id: None,
                    statuses: Some(&s),
                    order,
                    offset: 0,
                    limit: ROADMAP_COLUMN,
                },
            )?;
            summarize(conn, rows, None)
        };
        let planned = column(Status::Planned, Order::Votes)?;
        let in_progress = column(Status::InProgress, Order::Votes)?;
        let shipped = column(Status::Shipped, Order::ShippedSince(since))?;
        Ok(Roadmap {
            planned,
            in_progress,
            shipped,
        })
    })
}

/// The ideas categories (where "Suggest an improvement" leads).
pub fn categories(db: &Db) -> Result<Vec<CategoryRow>, AppError> {
    db.read_sync(q::ideas_categories)
}

/// Staff's feedback numbers (`/staff/feedback`).
pub struct FeedbackNumbers {
    /// The most-voted ideas still open or under review.
    pub top_open: Vec<(TopicRow, IdeaRow)>,
    pub shipped_this_quarter: i64,
    /// Median days from an idea's posting to its shipping, over all shipped ideas.
    pub median_days_to_ship: Option<f64>,
    pub ideas_total: i64,
    pub votes_total: i64,
    /// Published changelog posts, and how many of them link an idea or topic a customer
    /// (not staff) started.
    pub changes_published: i64,
    pub changes_from_customers: i64,
    pub quarter_start: chrono::NaiveDate,
}

pub fn feedback_numbers(db: &Db, actor: &User) -> Result<FeedbackNumbers, AppError> {
    require_staff(actor, "see the feedback numbers")?;
    let now = db::now();
    let quarter_start = quarter_start(now.date());
    db.read_sync(|conn| {
        let all = q::all_with_topics(conn)?;
        // Ideas people can see and vote on: merged duplicates and deleted or unlisted
        // topics count neither as ideas nor among the open ones.
        let live: Vec<&(TopicRow, IdeaRow)> = all
            .iter()
            .filter(|(t, i)| forum::listed(t) && i.merged_into.is_none())
            .collect();
        let mut top_open: Vec<(TopicRow, IdeaRow)> = live
            .iter()
            .filter(|(_, i)| matches!(Status::of(i), Status::Open | Status::UnderReview))
            .map(|pair| (*pair).clone())
            .collect();
        top_open.sort_by_key(|(t, i)| (std::cmp::Reverse(i.vote_count), std::cmp::Reverse(t.id)));
        top_open.truncate(10);
        let shipped: Vec<&(TopicRow, IdeaRow)> = all
            .iter()
            .filter(|(_, i)| Status::of(i) == Status::Shipped && i.shipped_at.is_some())
            .collect();
        let shipped_this_quarter = shipped
            .iter()
            .filter(|(_, i)| i.shipped_at.is_some_and(|at| at.date() >= quarter_start))
            .count() as i64;
        let mut days: Vec<f64> = shipped
            .iter()
            .filter_map(|(t, i)| {
                i.shipped_at
                    .map(|at| (at - t.created_at).num_seconds() as f64 / 86_400.0)
            })
            .collect();
        days.sort_by(|a, b| a.total_cmp(b));
        let median_days_to_ship = match days.len() {
            0 => None,
            n if n % 2 == 1 => Some(days[n / 2]),
            n => Some((days[n / 2 - 1] + days[n / 2]) / 2.0),
        };
        let votes_total = live.iter().map(|(_, i)| i64::from(i.vote_count)).sum();
        let (changes_published, changes_from_customers) =
            crate::db::changelog::customer_share(conn)?;
        Ok(FeedbackNumbers {
            top_open,
            shipped_this_quarter,
            median_days_to_ship,
            ideas_total: live.len() as i64,
            votes_total,
            changes_published,
            changes_from_customers,
            quarter_start,
        })
    })
}

/// The first day of the calendar quarter `day` falls in.
pub fn quarter_start(day: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    let month = (day.month0() / 3) * 3 + 1;
    chrono::NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_sorts_read_back_what_they_store() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for s in Sort::ALL {
            assert_eq!(Sort::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
        assert!(Status::Shipped.is_settled() && !Status::Planned.is_settled());
    }

    #[test]
    fn quarters_start_in_january_april_july_october() {
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(quarter_start(d(2026, 12, 3)), d(2026, 10, 1));
        assert_eq!(quarter_start(d(2026, 1, 1)), d(2026, 1, 1));
        assert_eq!(quarter_start(d(2026, 6, 30)), d(2026, 4, 1));
    }
}
