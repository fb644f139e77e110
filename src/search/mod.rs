//! Full-text search (tantivy) over the forum, derived from the database and never the
//! other way round. Each node keeps its own index in its data dir; an indexer thread
//! follows the `events` table and stores the last event it applied in the index's own
//! commit payload, so a restart (or a crash) resumes exactly where the index stands.
//! `townhall reindex` builds a fresh index beside the live one and swaps a pointer file.

pub mod deflection;
mod indexer;
mod query;
pub mod related;

pub use indexer::{reindex, spawn_indexer};
pub use query::{ParsedQuery, parse};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::error::AppError;
use crate::subject::Subject;

/// Candidates scored per query for a results page: bounds the work whatever the query
/// matches (facet counts cover these candidates).
fn candidates_for(page: usize) -> usize {
    (page * PER_PAGE * 4).clamp(80, 400)
}
pub const PER_PAGE: usize = 10;
const MAX_PAGES: usize = 10;

/// The fields of one indexed document (a post; the first post also carries its topic's title).
/// Documents are keyed by subject (`crate::subject`): `subject` is what the document is (a
/// post, later an article or changelog post), `group` what a result stands for and is
/// collapsed by (the topic of a post; the thing itself otherwise). Both hold `Subject::key`.
#[derive(Clone, Copy)]
pub struct Fields {
    pub subject: Field,
    pub group: Field,
    pub kind: Field,
    pub title: Field,
    pub topic_title: Field,
    pub body: Field,
    pub spell: Field,
    pub category: Field,
    pub tags: Field,
    pub author: Field,
    pub staff: Field,
    pub solved: Field,
    pub accepted: Field,
    pub created: Field,
    pub url: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let stemmed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let plain = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_plain")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        subject: b.add_u64_field("subject", INDEXED | STORED | FAST),
        group: b.add_u64_field("group", INDEXED | STORED | FAST),
        kind: b.add_text_field("kind", STRING | STORED | FAST),
        title: b.add_text_field("title", stemmed.clone()),
        topic_title: b.add_text_field("topic_title", STORED),
        body: b.add_text_field("body", stemmed | STORED),
        // Unstemmed words of titles and questions: typo tolerance and "did you mean".
        spell: b.add_text_field("spell", plain),
        category: b.add_text_field("category", STRING | STORED | FAST),
        tags: b.add_text_field("tags", STRING | STORED | FAST),
        author: b.add_text_field("author", STRING | STORED),
        staff: b.add_u64_field("staff", INDEXED | FAST),
        solved: b.add_u64_field("solved", INDEXED | FAST | STORED),
        accepted: b.add_u64_field("accepted", INDEXED | FAST),
        created: b.add_i64_field("created", FAST | STORED),
        url: b.add_text_field("url", STORED),
    };
    (b.build(), fields)
}

fn register_tokenizers(index: &Index) {
    let stem = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build();
    let plain = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    index.tokenizers().register("en_stem", stem);
    index.tokenizers().register("en_plain", plain);
}

/// One open index directory.
pub struct Generation {
    pub name: String,
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    columns: ColumnCache,
}

impl Generation {
    fn open_or_create(dir: &Path, name: &str) -> tantivy::Result<Generation> {
        let path = dir.join(name);
        std::fs::create_dir_all(&path)?;
        let (schema, fields) = schema();
        let index = Index::open_or_create(tantivy::directory::MmapDirectory::open(&path)?, schema)?;
        register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Generation {
            name: name.to_string(),
            index,
            reader,
            fields,
            columns: ColumnCache::default(),
        })
    }

    /// The last event id this index has applied (0 for a new index).
    pub fn applied_event(&self) -> i64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }
}

/// The node's search index: the live generation, swappable by `reindex`.
#[derive(Clone)]
pub struct SearchIndex {
    dir: PathBuf,
    live: Arc<RwLock<Arc<Generation>>>,
}

const POINTER: &str = "CURRENT";

impl SearchIndex {
    /// Opens the index under `data_dir/search`, creating an empty one the first time.
    pub fn open(data_dir: &Path) -> anyhow::Result<SearchIndex> {
        let dir = data_dir.join("search");
        std::fs::create_dir_all(&dir)?;
        let mut name = current_name(&dir).unwrap_or_else(|| "index-0".to_string());
        let generation = match Generation::open_or_create(&dir, &name) {
            Ok(g) => Ok(g),
            // An index written by a version with other fields: it is derived data, so start an
            // empty one, which the indexer fills from the database.
            Err(tantivy::TantivyError::SchemaError(e)) => {
                tracing::warn!(error = %e, index = %name, "search index has an older layout; rebuilding it");
                name = format!("index-{}", chrono::Utc::now().timestamp_millis());
                Generation::open_or_create(&dir, &name)
            }
            Err(e) => Err(e),
        }
        .map_err(|e| {
            anyhow::anyhow!("cannot open the search index in {}: {e}", dir.display())
        })?;
        write_pointer(&dir, &name)?;
        remove_stale_generations(&dir, &name);
        Ok(SearchIndex {
            dir,
            live: Arc::new(RwLock::new(Arc::new(generation))),
        })
    }

    pub fn live(&self) -> Arc<Generation> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// When `reindex` has pointed CURRENT at a new generation, opens it and returns it.
    fn adopt_new_generation(&self) -> Option<Arc<Generation>> {
        let name = current_name(&self.dir)?;
        if name == self.live().name {
            return None;
        }
        match Generation::open_or_create(&self.dir, &name) {
            Ok(generation) => {
                let generation = Arc::new(generation);
                *self.live.write().unwrap_or_else(|p| p.into_inner()) = generation.clone();
                tracing::info!(index = %name, "switched to the rebuilt search index");
                Some(generation)
            }
            Err(e) => {
                tracing::warn!(error = %e, index = %name, "could not open the rebuilt search index");
                None
            }
        }
    }
}

fn current_name(dir: &Path) -> Option<String> {
    let name = std::fs::read_to_string(dir.join(POINTER)).ok()?;
    let name = name.trim();
    (name.starts_with("index-") && !name.contains(['/', '\\', '.'])).then(|| name.to_string())
}

/// Atomically points CURRENT at `name` (write a temporary file, then rename over).
fn write_pointer(dir: &Path, name: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{POINTER}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, name)?;
    std::fs::rename(tmp, dir.join(POINTER))
}

/// Old generations left by a reindex are removed once nothing points at them.
fn remove_stale_generations(dir: &Path, keep: &str) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("index-") && name != keep {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

// ---- searching --------------------------------------------------------------------------

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SearchParams {
    pub q: String,
    pub page: Option<usize>,
    /// Facet filters chosen from the sidebar; the same as `in:`, `category:`, `tag:`, `is:` in q.
    pub kind: Option<String>,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub solved: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// What the result is about and the document it shows.
    #[serde(skip)]
    pub group: Subject,
    #[serde(skip)]
    pub subject: Subject,
    /// For forum results, the topic and post (0 otherwise): the JSON API's fields.
    pub topic_id: u64,
    pub post_id: u64,
    pub title: String,
    pub url: String,
    pub kind: String,
    /// HTML: the text is escaped, matches are wrapped in <b>.
    pub snippet: String,
    pub category: String,
    pub tags: Vec<String>,
    pub solved: bool,
    pub created: i64,
    /// Ranking only, not published: BM25 statistics count deleted documents until segments
    /// merge, so the same hit may score a little differently on each node.
    #[serde(skip)]
    pub score: f32,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Facets {
    pub kind: Vec<(String, usize)>,
    pub category: Vec<(String, usize)>,
    pub tag: Vec<(String, usize)>,
    pub solved: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Results {
    pub query: String,
    pub hits: Vec<Hit>,
    pub page: usize,
    pub has_more: bool,
    /// Topics among the scored candidates (a lower bound of all matches).
    pub topics_found: usize,
    pub facets: Facets,
    pub did_you_mean: Option<String>,
    pub fuzzy: bool,
    pub notices: Vec<String>,
}

struct Candidate {
    doc: DocAddress,
    /// `Subject::key` of what the result stands for (its topic, for a post).
    group: u64,
    /// `Subject::key` of the document; also the stable tie-breaker: document addresses differ
    /// between nodes (each builds its own segments), subjects do not.
    subject: u64,
    score: f32,
    category: String,
    tags: Vec<String>,
    solved: bool,
    kind: String,
}

impl SearchIndex {
    pub fn search(&self, params: &SearchParams) -> Result<Results, AppError> {
        let mut parsed = parse(&params.q);
        apply_facet_params(&mut parsed, params);
        let page = params.page.unwrap_or(1).clamp(1, MAX_PAGES);
        let mut results = Results {
            query: parsed.normalized(),
            page,
            notices: parsed.notices.clone(),
            ..Default::default()
        };
        if parsed.is_empty() {
            return Ok(results);
        }
        let generation = self.live();
        let searcher = generation.reader.searcher();
        let f = generation.fields;
        let analyzer =
            |field_tokenizer: &str, text: &str| analyze(&generation.index, field_tokenizer, text);
        // A word the index has never seen is almost always a typo: search for the
        // correction too (and offer it), instead of letting the word count for nothing.
        results.did_you_mean = did_you_mean(&searcher, &f, &parsed, &analyzer);
        if let Some(better) = &results.did_you_mean {
            for word in better.split(' ') {
                if !parsed.words.iter().any(|w| w == word) {
                    parsed.words.push(word.to_string());
                }
            }
        }
        let query = build_query(&parsed, &f, &analyzer, false);
        let limit = candidates_for(page);
        let mut candidates = collect(&searcher, &generation.columns, &*query, limit)?;
        if distinct_topics(&candidates) < 3 && !parsed.words.is_empty() {
            let fuzzy = build_query(&parsed, &f, &analyzer, true);
            let more = collect(&searcher, &generation.columns, &*fuzzy, limit)?;
            if distinct_topics(&more) > distinct_topics(&candidates) {
                candidates = more;
                results.fuzzy = true;
            }
        }
        let groups = group_by_topic(candidates);
        results.topics_found = groups.len();
        results.facets = facets(&groups);
        let start = (page - 1) * PER_PAGE;
        results.has_more = groups.len() > start + PER_PAGE;
        let shown: Vec<&Candidate> = groups.iter().skip(start).take(PER_PAGE).collect();
        let snippets = snippet_query(&parsed, &f, &analyzer);
        let mut generator = SnippetGenerator::create(&searcher, &*snippets, f.body)
            .map_err(|e| AppError::Internal(format!("snippets: {e}")))?;
        generator.set_max_num_chars(220);
        for c in shown {
            let doc: TantivyDocument = searcher
                .doc(c.doc)
                .map_err(|e| AppError::Internal(format!("search doc: {e}")))?;
            let snippet = generator.snippet_from_doc(&doc);
            let snippet = if snippet.is_empty() {
                html_escape(&crate::markdown::excerpt(&stored_text(&doc, f.body), 220))
            } else {
                snippet.to_html()
            };
            results.hits.push(hit(&f, &doc, c, snippet));
        }
        Ok(results)
    }

    /// Solved topics similar to `title` (for pre-posting suggestions).
    pub fn similar(
        &self,
        title: &str,
        exclude_topic: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Hit>, AppError> {
        let mut parsed = parse(title);
        parsed.solved = Some(true);
        self.similar_to(parsed, exclude_topic, limit)
    }

    /// Topics in one category (an ideas category) whose words match `title`, solved or
    /// not: "Suggest an improvement" offers a vote on these before a duplicate is posted.
    pub fn similar_in_category(
        &self,
        title: &str,
        category_slug: &str,
        limit: usize,
    ) -> Result<Vec<Hit>, AppError> {
        let mut parsed = parse(title);
        parsed.category = Some(category_slug.to_string());
        parsed.kind = Some("topic".into());
        self.similar_to(parsed, None, limit)
    }

    fn similar_to(
        &self,
        mut parsed: ParsedQuery,
        exclude_topic: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Hit>, AppError> {
        parsed.phrases.clear();
        parsed.excluded.clear();
        if parsed.words.is_empty() {
            return Ok(Vec::new());
        }
        let generation = self.live();
        let searcher = generation.reader.searcher();
        let f = generation.fields;
        let analyzer = |t: &str, text: &str| analyze(&generation.index, t, text);
        let query = build_query(&parsed, &f, &analyzer, false);
        let groups = group_by_topic(collect(
            &searcher,
            &generation.columns,
            &*query,
            candidates_for(1),
        )?);
        let mut hits = Vec::new();
        for c in groups
            .into_iter()
            .filter(|c| Some(c.group) != exclude_topic.map(|t| Subject::Topic(t as i64).key()))
            // Answers only: past incidents and changelog posts are found by search, not
            // offered as answers (an ongoing incident is announced on the form itself).
            .filter(|c| c.kind != "status" && c.kind != "changelog")
            .take(limit)
        {
            let doc: TantivyDocument = searcher
                .doc(c.doc)
                .map_err(|e| AppError::Internal(format!("search doc: {e}")))?;
            hits.push(hit(&f, &doc, &c, String::new()));
        }
        Ok(hits)
    }

    /// Ids of the solved topics whose titles are most like `title` ("related solved topics").
    /// Titles only: their posting lists are a small part of the index, so deriving every
    /// topic's list in the background stays cheap (src/search/related.rs); the body terms of a
    /// million posts made each of these searches cost milliseconds.
    /// Solved topics and published articles whose titles share words with `title`, best
    /// first, without the topic itself.
    pub fn related_subjects(
        &self,
        title: &str,
        exclude_topic: i64,
        limit: usize,
    ) -> Result<Vec<Subject>, AppError> {
        let parsed = parse(title);
        let generation = self.live();
        let f = generation.fields;
        let mut words: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &parsed.words {
            for token in analyze(&generation.index, "en_stem", word) {
                words.push((
                    Occur::Should,
                    term(f.title, &token, IndexRecordOption::WithFreqs),
                ));
            }
        }
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(BooleanQuery::new(words)) as Box<dyn Query>,
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.solved, 1),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        let searcher = generation.reader.searcher();
        let groups = group_by_topic(collect(
            &searcher,
            &generation.columns,
            &query,
            limit * 4 + 1,
        )?);
        Ok(groups
            .into_iter()
            .filter_map(|c| match Subject::from_key(c.group) {
                Some(Subject::Topic(id)) if id == exclude_topic => None,
                Some(s @ (Subject::Topic(_) | Subject::Article(_))) => Some(s),
                _ => None,
            })
            .take(limit)
            .collect())
    }
}

fn stored_text(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

/// A result as shown: the candidate's topic-level facts plus the stored fields of its post.
fn hit(f: &Fields, doc: &TantivyDocument, c: &Candidate, snippet: String) -> Hit {
    let group = Subject::from_key(c.group).unwrap_or(Subject::Topic(0));
    let subject = Subject::from_key(c.subject).unwrap_or(group);
    let forum_id = |s: Subject| match s {
        Subject::Topic(id) | Subject::Post(id) => id as u64,
        _ => 0,
    };
    Hit {
        group,
        subject,
        topic_id: forum_id(group),
        post_id: forum_id(subject),
        title: stored_text(doc, f.topic_title),
        url: stored_text(doc, f.url),
        kind: c.kind.clone(),
        snippet,
        category: c.category.clone(),
        tags: c.tags.clone(),
        solved: c.solved,
        created: doc
            .get_first(f.created)
            .and_then(|v| v.as_i64())
            .unwrap_or(0),
        score: c.score,
    }
}

fn apply_facet_params(parsed: &mut ParsedQuery, p: &SearchParams) {
    let clean = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty() && s.len() <= 60)
    };
    if let Some(kind) = clean(&p.kind) {
        parsed.kind = Some(kind);
    }
    if let Some(c) = clean(&p.category) {
        parsed.category = Some(c);
    }
    if let Some(t) = clean(&p.tag) {
        parsed.tag = Some(t);
    }
    match clean(&p.solved).as_deref() {
        Some("yes" | "true" | "1" | "solved") => parsed.solved = Some(true),
        Some("no" | "false" | "0" | "unsolved") => parsed.solved = Some(false),
        _ => {}
    }
}

fn analyze(index: &Index, tokenizer: &str, text: &str) -> Vec<String> {
    let Some(mut analyzer) = index.tokenizers().get(tokenizer) else {
        return Vec::new();
    };
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

type Analyzer<'a> = dyn Fn(&str, &str) -> Vec<String> + 'a;

fn term(field: Field, text: &str, option: IndexRecordOption) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), option))
}

/// Words are optional (BM25 ranks documents matching more of them higher); phrases and
/// filters are required; `-words` exclude.
fn build_query(p: &ParsedQuery, f: &Fields, analyze: &Analyzer, fuzzy: bool) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut words: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for word in &p.words {
        for token in analyze("en_stem", word) {
            words.push((
                Occur::Should,
                term(f.body, &token, IndexRecordOption::WithFreqs),
            ));
            words.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    term(f.title, &token, IndexRecordOption::WithFreqs),
                    2.5,
                )),
            ));
        }
        if fuzzy {
            for token in analyze("en_plain", word) {
                let distance = match token.chars().count() {
                    0..=3 => continue,
                    4..=7 => 1,
                    _ => 2,
                };
                words.push((
                    Occur::Should,
                    Box::new(FuzzyTermQuery::new(
                        Term::from_field_text(f.spell, &token),
                        distance,
                        true,
                    )),
                ));
            }
        }
    }
    // The words stay one nested union, scored document by document. A flat union would let
    // tantivy's top-k use block-max WAND, but on the benchmark corpus, where every word is
    // common, WAND's pivoting cost more than it skipped (160 vs 172 searches/s), and
    // requiring every word (intersections, 200/s) lost recall (0.906 -> 0.878).
    if !words.is_empty() {
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(words))));
    }
    for phrase in &p.phrases {
        let tokens = analyze("en_stem", phrase);
        match tokens.len() {
            0 => {}
            1 => clauses.push((
                Occur::Must,
                term(f.body, &tokens[0], IndexRecordOption::WithFreqs),
            )),
            _ => {
                let terms = tokens
                    .iter()
                    .map(|t| Term::from_field_text(f.body, t))
                    .collect();
                clauses.push((Occur::Must, Box::new(PhraseQuery::new(terms))));
            }
        }
    }
    for word in &p.excluded {
        for token in analyze("en_stem", word) {
            clauses.push((
                Occur::MustNot,
                term(f.body, &token, IndexRecordOption::Basic),
            ));
            clauses.push((
                Occur::MustNot,
                term(f.title, &token, IndexRecordOption::Basic),
            ));
        }
    }
    let exact = |field: Field, value: &str| -> Box<dyn Query> {
        term(field, value, IndexRecordOption::Basic)
    };
    if let Some(kind) = &p.kind {
        let kinds: Vec<(Occur, Box<dyn Query>)> = match kind.as_str() {
            "forum" => vec![
                (Occur::Should, exact(f.kind, "topic")),
                (Occur::Should, exact(f.kind, "reply")),
            ],
            other => vec![(Occur::Should, exact(f.kind, other))],
        };
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(kinds))));
    }
    if let Some(c) = &p.category {
        clauses.push((Occur::Must, exact(f.category, c)));
    }
    if let Some(t) = &p.tag {
        clauses.push((Occur::Must, exact(f.tags, t)));
    }
    if let Some(a) = &p.by {
        clauses.push((Occur::Must, exact(f.author, a)));
    }
    if let Some(solved) = p.solved {
        clauses.push((
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.solved, solved as u64),
                IndexRecordOption::Basic,
            )),
        ));
    }
    if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// The words and phrases alone, for highlighting.
fn snippet_query(p: &ParsedQuery, f: &Fields, analyze: &Analyzer) -> Box<dyn Query> {
    let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for text in p.words.iter().chain(p.phrases.iter()) {
        for token in analyze("en_stem", text) {
            terms.push((
                Occur::Should,
                term(f.body, &token, IndexRecordOption::WithFreqs),
            ));
        }
    }
    Box::new(BooleanQuery::new(terms))
}

/// Top candidates by BM25 (top-k with block-max pruning), then re-ranked by what makes an
/// answer likely: an accepted answer, a solved topic, a staff reply, the question itself, recency.
fn collect(
    searcher: &Searcher,
    cache: &ColumnCache,
    query: &dyn Query,
    limit: usize,
) -> Result<Vec<Candidate>, AppError> {
    let top = searcher
        .search(query, &TopDocs::with_limit(limit))
        .map_err(|e| AppError::Internal(format!("search: {e}")))?;
    let now = chrono::Utc::now().timestamp();
    let mut out = Vec::with_capacity(top.len());
    let mut columns: HashMap<u32, Arc<SegmentColumns>> = HashMap::new();
    let raw_scores: Vec<f32> = top.iter().map(|(score, _)| *score).collect();
    for (score, addr) in top {
        let cols = columns
            .entry(addr.segment_ord)
            .or_insert_with(|| cache.get(searcher.segment_reader(addr.segment_ord)));
        let doc = addr.doc_id;
        let u = |c: &Option<tantivy::columnar::Column<u64>>| {
            c.as_ref().and_then(|c| c.first(doc)).unwrap_or(0)
        };
        let solved = u(&cols.solved) == 1;
        let accepted = u(&cols.accepted) == 1;
        let staff = u(&cols.staff) == 1;
        let created = cols
            .created
            .as_ref()
            .and_then(|c| c.first(doc))
            .unwrap_or(now);
        let kind = cols.str_value(&cols.kind, doc);
        let age_days = ((now - created).max(0) / 86_400) as f32;
        let mut boost = 1.0;
        if accepted {
            boost *= 1.6;
        }
        if solved {
            boost *= 1.3;
        }
        if staff {
            boost *= 1.15;
        }
        if kind == "topic" {
            boost *= 1.2;
        }
        // A maintained article beats a forum thread that matches as well.
        if kind == "kb" {
            boost *= 1.5;
        }
        boost *= 1.0 + 0.25 * (-age_days / 365.0).exp();
        out.push(Candidate {
            doc: addr,
            group: u(&cols.group),
            subject: u(&cols.subject),
            score: score * boost,
            category: cols.str_value(&cols.category, doc),
            tags: cols.str_values(&cols.tags, doc),
            solved,
            kind,
        });
    }
    drop_ties_at_the_cutoff(&mut out, &raw_scores, limit);
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.subject.cmp(&b.subject)));
    Ok(out)
}

/// When the top-k is full, which of the documents scoring exactly the k-th score made the cut
/// (there may be more beyond it) depends on their addresses, which differ between nodes.
/// Leaving that tail out makes the
/// candidates the same everywhere; it is kept when the ties are most of the list (a query
/// every document matches equally), where dropping them would leave too little.
fn drop_ties_at_the_cutoff(out: &mut Vec<Candidate>, raw_scores: &[f32], limit: usize) {
    if raw_scores.len() < limit || limit == 0 {
        return;
    }
    let cutoff = raw_scores[raw_scores.len() - 1];
    let tied = raw_scores.iter().filter(|s| **s == cutoff).count();
    if tied * 2 > raw_scores.len() {
        return;
    }
    let mut i = 0;
    out.retain(|_| {
        let keep = raw_scores[i] != cutoff;
        i += 1;
        keep
    });
}

struct SegmentColumns {
    group: Option<tantivy::columnar::Column<u64>>,
    subject: Option<tantivy::columnar::Column<u64>>,
    solved: Option<tantivy::columnar::Column<u64>>,
    accepted: Option<tantivy::columnar::Column<u64>>,
    staff: Option<tantivy::columnar::Column<u64>>,
    created: Option<tantivy::columnar::Column<i64>>,
    kind: Option<tantivy::columnar::StrColumn>,
    category: Option<tantivy::columnar::StrColumn>,
    tags: Option<tantivy::columnar::StrColumn>,
}

/// Fast-field column handles per segment, opened once rather than on every query (opening
/// them by name was ~9% of a search). Segments never change once written; entries for
/// segments merged away are dropped when the map outgrows the live segments.
#[derive(Default)]
struct ColumnCache(std::sync::Mutex<HashMap<tantivy::index::SegmentId, Arc<SegmentColumns>>>);

impl ColumnCache {
    const MAX_ENTRIES: usize = 256;

    fn get(&self, reader: &tantivy::SegmentReader) -> Arc<SegmentColumns> {
        let id = reader.segment_id();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(&id) {
            return c.clone();
        }
        if map.len() >= Self::MAX_ENTRIES {
            map.clear();
        }
        let cols = Arc::new(SegmentColumns::open(reader));
        map.insert(id, cols.clone());
        cols
    }
}

impl SegmentColumns {
    fn open(reader: &tantivy::SegmentReader) -> SegmentColumns {
        let ff = reader.fast_fields();
        SegmentColumns {
            group: ff.u64("group").ok(),
            subject: ff.u64("subject").ok(),
            solved: ff.u64("solved").ok(),
            accepted: ff.u64("accepted").ok(),
            staff: ff.u64("staff").ok(),
            created: ff.i64("created").ok(),
            kind: ff.str("kind").ok().flatten(),
            category: ff.str("category").ok().flatten(),
            tags: ff.str("tags").ok().flatten(),
        }
    }

    fn str_values(&self, col: &Option<tantivy::columnar::StrColumn>, doc: u32) -> Vec<String> {
        let Some(col) = col else { return Vec::new() };
        let mut out = Vec::new();
        for ord in col.term_ords(doc) {
            let mut s = String::new();
            if col.ord_to_str(ord, &mut s).is_ok() {
                out.push(s);
            }
        }
        out
    }

    fn str_value(&self, col: &Option<tantivy::columnar::StrColumn>, doc: u32) -> String {
        self.str_values(col, doc)
            .into_iter()
            .next()
            .unwrap_or_default()
    }
}

fn distinct_topics(c: &[Candidate]) -> usize {
    let mut ids: Vec<u64> = c.iter().map(|c| c.group).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// A topic appears once, represented by its best-scoring post.
fn group_by_topic(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = std::collections::HashSet::new();
    candidates
        .into_iter()
        .filter(|c| seen.insert(c.group))
        .collect()
}

fn facets(groups: &[Candidate]) -> Facets {
    fn top(counts: HashMap<String, usize>, n: usize) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> =
            counts.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
    let mut kind = HashMap::new();
    let mut category = HashMap::new();
    let mut tag = HashMap::new();
    let mut solved = HashMap::new();
    for c in groups {
        *kind
            .entry(if c.kind == "reply" || c.kind == "topic" {
                "forum".to_string()
            } else {
                c.kind.clone()
            })
            .or_insert(0) += 1;
        *category.entry(c.category.clone()).or_insert(0) += 1;
        for t in &c.tags {
            *tag.entry(t.clone()).or_insert(0) += 1;
        }
        *solved
            .entry(if c.solved { "solved" } else { "unsolved" }.to_string())
            .or_insert(0) += 1;
    }
    Facets {
        kind: top(kind, 5),
        category: top(category, 10),
        tag: top(tag, 12),
        solved: top(solved, 2),
    }
}

/// For words the index does not know, the closest known word (by edit distance, then by
/// how common it is), scanning a bounded slice of the dictionary.
fn did_you_mean(
    searcher: &Searcher,
    f: &Fields,
    p: &ParsedQuery,
    analyze: &Analyzer,
) -> Option<String> {
    let mut changed = false;
    let mut corrected = Vec::new();
    for word in &p.words {
        let tokens = analyze("en_plain", word);
        let Some(token) = tokens.first().filter(|_| tokens.len() == 1) else {
            corrected.push(word.clone());
            continue;
        };
        // Known anywhere (questions, answers, titles, tags) means not a typo.
        let in_index = |field: Field, t: &str| {
            searcher
                .doc_freq(&Term::from_field_text(field, t))
                .unwrap_or(0)
                > 0
        };
        let known = in_index(f.spell, token)
            || analyze("en_stem", word)
                .iter()
                .any(|t| in_index(f.body, t) || in_index(f.title, t));
        if known || token.chars().count() < 4 {
            corrected.push(word.clone());
            continue;
        }
        match closest_term(searcher, f.spell, token) {
            Some(better) => {
                corrected.push(better);
                changed = true;
            }
            None => corrected.push(word.clone()),
        }
    }
    changed.then(|| corrected.join(" "))
}

/// Walks the dictionary with a Levenshtein automaton: only terms within the distance are
/// visited, so this stays fast on a large index.
fn closest_term(searcher: &Searcher, field: Field, word: &str) -> Option<String> {
    let max = if word.chars().count() >= 8 { 2 } else { 1 };
    // Building the parametric automaton is the expensive part; it depends only on `max`.
    static BUILDERS: std::sync::OnceLock<[levenshtein_automata::LevenshteinAutomatonBuilder; 2]> =
        std::sync::OnceLock::new();
    let builders = BUILDERS.get_or_init(|| {
        [1, 2].map(|d| levenshtein_automata::LevenshteinAutomatonBuilder::new(d, true))
    });
    let dfa = builders[max as usize - 1].build_dfa(word);
    let mut best: Option<(u8, u32, String)> = None;
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inverted.terms().search(Dfa(&dfa)).into_stream() else {
            continue;
        };
        while stream.advance() {
            let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            let distance = match dfa.eval(candidate) {
                levenshtein_automata::Distance::Exact(d) => d,
                levenshtein_automata::Distance::AtLeast(_) => continue,
            };
            if distance == 0 {
                continue;
            }
            let freq = stream.value().doc_freq;
            let better = match &best {
                None => true,
                Some((d, fr, _)) => distance < *d || (distance == *d && freq > *fr),
            };
            if better {
                best = Some((distance, freq, candidate.to_string()));
            }
        }
    }
    best.map(|(_, _, s)| s)
}

struct Dfa<'a>(&'a levenshtein_automata::DFA);

impl tantivy_fst::Automaton for Dfa<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(
            self.0.distance(*state),
            levenshtein_automata::Distance::Exact(_)
        )
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != levenshtein_automata::SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
