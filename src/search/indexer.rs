//! Keeps the index equal to the database: follows events in id order, re-reads what they
//! touched, commits in batches with the last applied event id as the commit payload.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use tantivy::{IndexWriter, TantivyDocument, Term};

use super::{Fields, Generation, SearchIndex, write_pointer};
use crate::db::search::{self as sq, TopicForIndex};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{self, Event, StoredEvent};
use crate::subject::{Named, Subject, post_path, topic_path};

/// Memory budget for building a whole index (a first build or `reindex`): bigger buffers
/// mean fewer, larger segments and a faster build.
pub const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;
/// Memory budget while following events: a batch is at most a few thousand posts, and the
/// budget is resident memory of every server (tantivy's minimum is 15 MB).
pub const FOLLOW_HEAP_BYTES: usize = 16 * 1024 * 1024;
const EVENT_BATCH: i64 = 2000;
const POLL: Duration = Duration::from_millis(150);

fn index_err(e: tantivy::TantivyError) -> AppError {
    AppError::Internal(format!("search index: {e}"))
}

fn writer(generation: &Generation, heap: usize) -> Result<IndexWriter<TantivyDocument>, AppError> {
    generation
        .index
        .writer_with_num_threads(1, heap)
        .map_err(index_err)
}

/// Commits with the id of the last event the index now reflects: where a restart resumes.
fn commit_through(
    writer: &mut IndexWriter<TantivyDocument>,
    event_id: i64,
) -> Result<(), AppError> {
    let mut commit = writer.prepare_commit().map_err(index_err)?;
    commit.set_payload(&event_id.to_string());
    commit.commit().map_err(index_err)?;
    Ok(())
}

/// Starts the indexer thread for this node.
pub fn spawn_indexer(db: Db, index: SearchIndex) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("search-indexer".into())
        .spawn(move || {
            loop {
                // A failure (database away, disk full) restarts the loop from the index's own
                // record of what it applied, so nothing is skipped or applied twice.
                if let Err(e) = follow(&db, &index) {
                    tracing::warn!(error = %e, "search indexer stopped; restarting");
                    std::thread::sleep(Duration::from_secs(2));
                }
            }
        })?;
    Ok(())
}

fn follow(db: &Db, index: &SearchIndex) -> Result<(), AppError> {
    let mut generation = index.live();
    let mut last = generation.applied_event();
    if last == 0 {
        // A new, empty index: reading the tables once beats replaying every event.
        let mut writer = writer(&generation, WRITER_HEAP_BYTES)?;
        let (start_event, topics) = bulk_load(db, &generation.fields, &writer)?;
        commit_through(&mut writer, start_event)?;
        generation.reader.reload().map_err(index_err)?;
        tracing::info!(
            topics,
            through_event = start_event,
            "built the search index from the database"
        );
        last = start_event;
    }
    let mut writer = writer(&generation, FOLLOW_HEAP_BYTES)?;
    loop {
        if let Some(newer) = index.adopt_new_generation() {
            drop(writer);
            generation = newer;
            writer = self::writer(&generation, FOLLOW_HEAP_BYTES)?;
            last = generation.applied_event();
        }
        let batch = db.read_sync(|conn| events::after(conn, last, EVENT_BATCH))?;
        let Some(newest) = batch.last().map(|e| e.id) else {
            std::thread::sleep(POLL);
            continue;
        };
        apply(db, &generation.fields, &mut writer, &batch)?;
        commit_through(&mut writer, newest)?;
        generation.reader.reload().map_err(index_err)?;
        last = newest;
        if (batch.len() as i64) < EVENT_BATCH {
            std::thread::sleep(POLL);
        }
    }
}

/// Applies a batch of events: whole topics are re-read when something topic-wide changed;
/// a new reply is added on its own (idempotently: any earlier copy is deleted first).
fn apply(
    db: &Db,
    f: &Fields,
    writer: &mut IndexWriter<TantivyDocument>,
    batch: &[StoredEvent],
) -> Result<(), AppError> {
    let mut rebuild: BTreeSet<i64> = BTreeSet::new();
    let mut new_posts: Vec<i64> = Vec::new();
    let mut categories: BTreeSet<i64> = BTreeSet::new();
    let mut articles: BTreeSet<i64> = BTreeSet::new();
    let mut incidents: BTreeSet<i64> = BTreeSet::new();
    let mut changes: BTreeSet<i64> = BTreeSet::new();
    for e in batch {
        let Some(event) = &e.event else { continue };
        match event {
            Event::IncidentOpened { .. } | Event::IncidentUpdated { .. } => {
                incidents.extend(e.subject_id)
            }
            Event::KbArticleSaved { .. } => articles.extend(e.subject_id),
            Event::ChangelogSaved { .. } | Event::ChangelogPublished { .. } => {
                changes.extend(e.subject_id)
            }
            Event::TopicCreated { .. }
            | Event::TopicSolved { .. }
            | Event::TopicUnsolved { .. }
            | Event::TopicMoved { .. }
            | Event::TopicUnlisted {}
            | Event::TopicRelisted {} => {
                rebuild.extend(e.subject_id);
            }
            Event::PostEdited { topic_id, .. }
            | Event::PostDeleted { topic_id, .. }
            | Event::PostHidden { topic_id, .. }
            | Event::PostUnhidden { topic_id, .. } => {
                rebuild.insert(*topic_id);
            }
            Event::PostCreated { .. } => new_posts.extend(e.subject_id),
            Event::CategoryUpdated(_) => categories.extend(e.subject_id),
            _ => {}
        }
    }
    if !categories.is_empty() {
        db.read_sync(|conn| {
            for c in &categories {
                rebuild.extend(sq::topic_ids_in_category(conn, *c)?);
            }
            Ok(())
        })?;
    }
    let article_ids: Vec<i64> = articles.iter().copied().collect();
    for chunk in article_ids.chunks(200) {
        for id in chunk {
            writer.delete_term(Term::from_field_u64(f.subject, Subject::Article(*id).key()));
        }
        for a in db.read_sync(|conn| kb_articles_for_index(conn, chunk))? {
            add_article(f, writer, &a)?;
        }
    }
    let change_ids: Vec<i64> = changes.iter().copied().collect();
    for chunk in change_ids.chunks(200) {
        for id in chunk {
            writer.delete_term(Term::from_field_u64(
                f.subject,
                Subject::ChangelogPost(*id).key(),
            ));
        }
        for p in db.read_sync(|conn| crate::changelog::for_index(conn, chunk))? {
            add_change(f, writer, &p)?;
        }
    }
    for id in &incidents {
        writer.delete_term(Term::from_field_u64(
            f.subject,
            Subject::Incident(*id).key(),
        ));
        let found = db.read_sync(|conn| {
            let rows: Vec<_> = crate::db::status::incident(conn, *id)?
                .into_iter()
                .collect();
            crate::status::board::hydrate(conn, rows)
        })?;
        for i in &found {
            add_incident(f, writer, i)?;
        }
    }
    let ids: Vec<i64> = rebuild.iter().copied().collect();
    for chunk in ids.chunks(200) {
        let topics = db.read_sync(|conn| sq::topics_for_index(conn, chunk))?;
        for id in chunk {
            writer.delete_term(Term::from_field_u64(f.group, Subject::Topic(*id).key()));
        }
        for t in &topics {
            add_topic(f, writer, t)?;
        }
    }
    for post_id in new_posts {
        let Some(t) = db.read_sync(|conn| sq::post_for_index(conn, post_id))? else {
            continue;
        };
        if rebuild.contains(&t.topic.id) {
            continue; // already re-read whole
        }
        writer.delete_term(Term::from_field_u64(
            f.subject,
            Subject::Post(post_id).key(),
        ));
        add_topic(f, writer, &t)?;
    }
    Ok(())
}

fn add_topic(
    f: &Fields,
    writer: &IndexWriter<TantivyDocument>,
    t: &TopicForIndex,
) -> Result<(), AppError> {
    for (post, author) in &t.posts {
        let mut doc = TantivyDocument::default();
        let first = post.post_number == 1;
        let body = crate::markdown::plain_text(&post.raw);
        doc.add_u64(f.subject, Subject::Post(post.id).key());
        doc.add_u64(f.group, Subject::Topic(t.topic.id).key());
        doc.add_text(f.kind, if first { "topic" } else { "reply" });
        if first {
            doc.add_text(f.title, &t.topic.title);
            // Tags are words people search with ("propagation", "git"), not only filters.
            for tag in &t.tags {
                doc.add_text(f.title, tag.replace('-', " "));
                doc.add_text(f.spell, tag.replace('-', " "));
            }
            doc.add_text(f.spell, &t.topic.title);
            doc.add_text(f.spell, &body);
        }
        doc.add_text(f.topic_title, &t.topic.title);
        doc.add_text(f.body, &body);
        doc.add_text(f.category, &t.category_slug);
        for tag in &t.tags {
            doc.add_text(f.tags, tag);
        }
        doc.add_text(f.author, crate::accounts::username_key(&author.username));
        doc.add_u64(f.staff, author.is_staff() as u64);
        doc.add_u64(f.solved, t.topic.solved_post_id.is_some() as u64);
        doc.add_u64(f.accepted, (t.topic.solved_post_id == Some(post.id)) as u64);
        doc.add_i64(f.created, post.created_at.and_utc().timestamp());
        doc.add_text(
            f.url,
            if first {
                topic_path(&t.topic.slug, t.topic.id)
            } else {
                post_path(&t.topic.slug, t.topic.id, post.id)
            },
        );
        writer.add_document(doc).map_err(index_err)?;
    }
    Ok(())
}

/// Published articles among `ids` with their section's slug.
fn kb_articles_for_index(
    conn: &mut db::DbConn,
    ids: &[i64],
) -> Result<Vec<(crate::db::kb::ArticleRow, String)>, AppError> {
    let sections = crate::db::kb::sections(conn)?;
    Ok(crate::db::kb::articles_by_ids(conn, ids)?
        .into_iter()
        .filter(|a| crate::kb::listed(crate::kb::Status::of(a)))
        .map(|a| {
            let section = sections
                .iter()
                .find(|s| s.id == a.section_id)
                .map(|s| s.slug.clone())
                .unwrap_or_default();
            (a, section)
        })
        .collect())
}

/// One knowledge-base article as one document (kind "kb"), keyed by its subject.
fn add_article(
    f: &Fields,
    writer: &IndexWriter<TantivyDocument>,
    (a, section): &(crate::db::kb::ArticleRow, String),
) -> Result<(), AppError> {
    let subject = Subject::Article(a.id);
    let mut doc = TantivyDocument::default();
    let body = crate::markdown::plain_text(&a.raw);
    doc.add_u64(f.subject, subject.key());
    doc.add_u64(f.group, subject.key());
    doc.add_text(f.kind, "kb");
    doc.add_text(f.title, &a.title);
    for tag in a.tags.split_whitespace() {
        doc.add_text(f.title, tag.replace('-', " "));
        doc.add_text(f.spell, tag.replace('-', " "));
        doc.add_text(f.tags, tag);
    }
    doc.add_text(f.spell, &a.title);
    doc.add_text(f.spell, &body);
    doc.add_text(f.topic_title, &a.title);
    doc.add_text(f.body, format!("{}\n{}", a.summary, body));
    doc.add_text(f.category, section);
    doc.add_u64(f.staff, 1);
    doc.add_u64(f.solved, 1);
    doc.add_u64(f.accepted, 0);
    doc.add_i64(f.created, a.updated_at.and_utc().timestamp());
    doc.add_text(f.url, subject.path(Named::slug(&a.slug)));
    writer.add_document(doc).map_err(index_err)?;
    Ok(())
}

/// One status-page incident or maintenance as one document (kind "status"): its name and
/// every update, so that "is the API down?" finds it. Counted as solved once resolved.
fn add_incident(
    f: &Fields,
    writer: &IndexWriter<TantivyDocument>,
    i: &crate::status::board::Incident,
) -> Result<(), AppError> {
    let subject = Subject::Incident(i.row.id);
    let mut doc = TantivyDocument::default();
    let body: Vec<String> = i
        .updates
        .iter()
        .rev()
        .map(|u| crate::markdown::plain_text(&u.row.raw))
        .collect();
    let body = body.join("\n");
    doc.add_u64(f.subject, subject.key());
    doc.add_u64(f.group, subject.key());
    doc.add_text(f.kind, "status");
    doc.add_text(f.title, &i.row.name);
    doc.add_text(f.spell, &i.row.name);
    doc.add_text(f.spell, &body);
    doc.add_text(f.topic_title, &i.row.name);
    doc.add_text(f.body, &body);
    doc.add_u64(f.staff, 1);
    doc.add_u64(f.solved, u64::from(i.status().is_closed()));
    doc.add_u64(f.accepted, 0);
    doc.add_i64(f.created, i.row.started_at.and_utc().timestamp());
    doc.add_text(f.url, subject.path(Named::slug("")));
    writer.add_document(doc).map_err(index_err)?;
    Ok(())
}

/// One published changelog post as one document (kind "changelog"): "was dark mode ever
/// added?" finds the post that says it was.
fn add_change(
    f: &Fields,
    writer: &IndexWriter<TantivyDocument>,
    p: &crate::db::changelog::ChangelogRow,
) -> Result<(), AppError> {
    let subject = Subject::ChangelogPost(p.id);
    let mut doc = TantivyDocument::default();
    let body = crate::markdown::plain_text(&p.raw);
    doc.add_u64(f.subject, subject.key());
    doc.add_u64(f.group, subject.key());
    doc.add_text(f.kind, "changelog");
    doc.add_text(f.title, &p.title);
    for label in crate::changelog::Label::of(p) {
        doc.add_text(f.tags, label.as_str());
    }
    doc.add_text(f.spell, &p.title);
    doc.add_text(f.spell, &body);
    doc.add_text(f.topic_title, &p.title);
    doc.add_text(f.body, &body);
    doc.add_u64(f.staff, 1);
    doc.add_u64(f.solved, 1);
    doc.add_u64(f.accepted, 0);
    doc.add_i64(
        f.created,
        p.published_at.unwrap_or(p.updated_at).and_utc().timestamp(),
    );
    doc.add_text(f.url, subject.path(Named::slug(&p.slug)));
    writer.add_document(doc).map_err(index_err)?;
    Ok(())
}

/// Adds every indexable topic; returns the event id the result corresponds to and the
/// number of topics. Events after that id are applied afterwards by the follower;
/// re-applying one whose effect the scan already saw is harmless (documents are replaced).
fn bulk_load(
    db: &Db,
    f: &Fields,
    writer: &IndexWriter<TantivyDocument>,
) -> Result<(i64, usize), AppError> {
    let start_event = db.read_sync(db::events::last_id)?;
    let mut after = 0;
    let mut topics = 0;
    loop {
        let ids = db.read_sync(|conn| sq::topic_ids_after(conn, after, 500))?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        after = last;
        for t in db.read_sync(|conn| sq::topics_for_index(conn, &ids))? {
            add_topic(f, writer, &t)?;
            topics += 1;
        }
    }
    let mut after = 0;
    loop {
        let ids = db.read_sync(|conn| crate::db::kb::ids_after(conn, after, 500))?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        after = last;
        for a in db.read_sync(|conn| kb_articles_for_index(conn, &ids))? {
            add_article(f, writer, &a)?;
        }
    }
    let mut after = 0;
    loop {
        let incidents = db.read_sync(|conn| {
            let rows = crate::db::status::incidents_after(conn, after, 200)?;
            crate::status::board::hydrate(conn, rows)
        })?;
        let Some(last) = incidents.last().map(|i| i.row.id) else {
            break;
        };
        after = last;
        for i in &incidents {
            add_incident(f, writer, i)?;
        }
    }
    let mut after = 0;
    loop {
        let ids =
            db.read_sync(|conn| crate::db::changelog::published_ids_after(conn, after, 500))?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        after = last;
        for p in db.read_sync(|conn| crate::changelog::for_index(conn, &ids))? {
            add_change(f, writer, &p)?;
        }
    }
    Ok((start_event, topics))
}

/// Builds a fresh index from the database into a new directory and points CURRENT at it;
/// a running server switches over on its next poll and carries on from the events after.
pub fn reindex(db: &Db, data_dir: &Path) -> anyhow::Result<(usize, String)> {
    let dir = data_dir.join("search");
    std::fs::create_dir_all(&dir)?;
    let name = format!("index-{}", chrono::Utc::now().timestamp_millis());
    let generation = Generation::open_or_create(&dir, &name)?;
    let mut writer = writer(&generation, WRITER_HEAP_BYTES)?;
    let (start_event, topics) = bulk_load(db, &generation.fields, &writer)?;
    commit_through(&mut writer, start_event)?;
    writer.wait_merging_threads()?;
    write_pointer(&dir, &name)?;
    Ok((topics, name))
}
