//! Micro-benchmarks of the work behind every page: cooking markdown (at write time),
//! excerpts (list pages, meta descriptions, the accepted answer) and loading a topic page's
//! data from SQLite. `cargo bench` runs them in well under a minute.
//!
//! The HTML templates (maud) are private to `townhall::web`; their cost is measured end to
//! end by benches/load.sh instead (topic pages against /healthz and a static file).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use townhall::benchseed::{self, Options};
use townhall::db::Db;
use townhall::db::forum::ListFilter;
use townhall::forum::{self, PageNo};
use townhall::markdown;

/// A typical short reply (~200 bytes).
const SHORT: &str = "Thanks @maya, that fixed it! I had to flush the DNS cache with \
`ipconfig /flushdns` and wait for the **TTL** to expire. See https://status.example.com for \
the incident.";

/// A long answer (~4 KB): paragraphs, a code block, lists, links, a quote and a table.
fn long_post() -> String {
    let mut s = String::from(
        "> My certificate renewed but the site still shows the old one.\n\n\
         This usually happens when the web server was not reloaded after the renewal. \
         Here is what to check, in order:\n\n",
    );
    for i in 1..=6 {
        s.push_str(&format!(
            "{i}. Open the **control panel** and check the certificate for `www.example{i}.com`\n"
        ));
    }
    s.push_str("\n```bash\n");
    for i in 0..20 {
        s.push_str(&format!(
            "$ openssl s_client -connect example{i}.com:443 -servername example{i}.com | openssl x509 -noout -dates\n"
        ));
    }
    s.push_str("```\n\n");
    for _ in 0..4 {
        s.push_str(
            "- If the *expiry date* is still old, reload nginx: `systemctl reload nginx`\n\
             - If you use a CDN, purge its cache too ([how](https://docs.example.com/cdn/purge))\n",
        );
    }
    s.push_str("\n| host | status |\n|---|---|\n| www | ok |\n| mail | expired |\n\n");
    while s.len() < 4_000 {
        s.push_str(
            "After that the new certificate is served within a minute. If it is not, send us \
             the exact time and the output of the command above, and we will look at the \
             server logs for you. ",
        );
    }
    s
}

/// The largest post allowed (64 KiB): a long answer repeated, like a pasted log or guide.
fn huge_post() -> String {
    let block = long_post() + "\n\n";
    let mut s = String::with_capacity(64 * 1024);
    while s.len() + block.len() <= 64 * 1024 {
        s.push_str(&block);
    }
    s
}

fn markdown_benches(c: &mut Criterion) {
    let long = long_post();
    let huge = huge_post();
    let is_user = |name: &str| name == "maya";
    let mut g = c.benchmark_group("markdown");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("cook short post (200 B)", |b| {
        b.iter(|| markdown::cook(black_box(SHORT), &is_user))
    });
    g.bench_function("cook long post (4 KB, code + lists)", |b| {
        b.iter(|| markdown::cook(black_box(&long), &is_user))
    });
    g.bench_function("cook 64 KB post", |b| {
        b.iter(|| markdown::cook(black_box(&huge), &is_user))
    });
    g.bench_function("excerpt 160 chars of a long post", |b| {
        b.iter(|| markdown::excerpt(black_box(&long), 160))
    });
    g.bench_function("excerpt 400 chars of a 64 KB post", |b| {
        b.iter(|| markdown::excerpt(black_box(&huge), 400))
    });
    g.finish();
}

fn page_data_benches(c: &mut Criterion) {
    // A small generated community in a temporary SQLite file: it has a 50-reply topic.
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::connect(&url).expect("open the database");
    db.migrate().expect("migrate");
    let report = benchseed::run(
        &db,
        &Options {
            users: 300,
            topics: 200,
            posts: 3_000,
            kb: 0,
            incidents: 0,
            ideas: 0,
            changelog: 0,
            seed: 42,
            quiet: true,
        },
    )
    .expect("seed");
    let (fifty, _) = report.fifty_topic.expect("a topic with 50 replies");
    let (long, _) = report.long_topic.expect("a topic with 1,249 replies");

    let mut g = c.benchmark_group("page data (sqlite)");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("topic page, 50 posts", |b| {
        b.iter(|| forum::topic_page(&db, black_box(fifty), PageNo::Number(1), None).unwrap())
    });
    g.bench_function("topic page, last page of 1,250 posts", |b| {
        b.iter(|| forum::topic_page(&db, black_box(long), PageNo::Last, None).unwrap())
    });
    g.bench_function("latest topics list", |b| {
        b.iter(|| forum::list_topics(&db, ListFilter::default()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, markdown_benches, page_data_benches);
criterion_main!(benches);
