//! Integration tests: the real `townhall` binary over HTTP against a real database.
//! SQLite by default; set TOWNHALL_TEST_DATABASE=postgres://postgres@127.0.0.1:5432 to run
//! the same tests on PostgreSQL (a fresh database per test, dropped afterwards).

mod accounts;
mod axe;
mod bad_input;
mod cli;
mod fixtures;
mod forum;
mod html;
mod http;
mod ideas;
mod ideas_http;
mod kb;
mod outage;
mod page_cache;
mod races;
mod scheduler;
mod search;
mod search_quality;
mod shell;
mod status;
mod support;
mod xss;
