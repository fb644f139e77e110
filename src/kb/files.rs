//! Articles as files: markdown with TOML front matter between `+++` lines, so that a team
//! can keep its articles in git (`townhall kb import|export DIR`) and the demo ships some.
//! A directory holds one `<slug>.md` per article and, optionally, `sections.toml` with the
//! sections in display order (`[[sections]]` with `slug`, `name`, `description`).
//!
//! ```text
//! +++
//! title = "Point your domain at Northwind"
//! slug = "point-your-domain-at-northwind"
//! section = "domains-dns-ssl"
//! tags = ["dns", "domains"]
//! status = "published"
//! summary = "One or two sentences."
//! applies_to = ["All plans"]
//! +++
//! The article in Markdown…
//! ```

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::ArticleInput;
use crate::accounts::Actor;
use crate::db::kb as q;
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::forum::{self, Limits};

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(default)]
    slug: String,
    section: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default = "draft")]
    status: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    applies_to: Vec<String>,
}

fn draft() -> String {
    "draft".into()
}

/// Why a file cannot be read: where (1-based line of the file) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Reads one article file.
pub fn parse(text: &str) -> Result<ArticleInput, FileError> {
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n");
    let Some(rest) = text.strip_prefix("+++\n") else {
        return Err(FileError {
            line: 1,
            message: "the file must start with a line of +++ opening the front matter".into(),
        });
    };
    let Some(end) = rest
        .find("\n+++\n")
        .or_else(|| rest.strip_suffix("\n+++").map(|r| r.len()))
    else {
        return Err(FileError {
            line: 1,
            message: "the front matter is not closed by a line of +++".into(),
        });
    };
    let front = &rest[..end];
    let body = rest[end..]
        .trim_start_matches("\n+++")
        .trim_start_matches('\n');
    let fm: FrontMatter = toml::from_str(front).map_err(|e| {
        // toml reports a byte span within the front matter; the file has one line before it.
        let line = e
            .span()
            .map(|s| front[..s.start.min(front.len())].matches('\n').count() + 2)
            .unwrap_or(2);
        FileError {
            line,
            message: e.message().to_string(),
        }
    })?;
    Ok(ArticleInput {
        title: fm.title,
        slug: fm.slug,
        section: fm.section,
        summary: fm.summary,
        raw: body.to_string(),
        tags: fm.tags.join(", "),
        applies_to: fm.applies_to.join("\n"),
        status: fm.status,
        note: String::new(),
    })
}

/// Writes one article as a file (the inverse of [`parse`]).
pub fn render(a: &crate::db::kb::ArticleRow, section_slug: &str) -> String {
    let fm = FrontMatter {
        title: a.title.clone(),
        slug: a.slug.clone(),
        section: section_slug.to_string(),
        tags: a.tags.split_whitespace().map(str::to_string).collect(),
        status: a.status.clone(),
        summary: a.summary.clone(),
        applies_to: a.applies_to.lines().map(str::to_string).collect(),
    };
    let front = toml::to_string(&fm).unwrap_or_default();
    format!("+++\n{front}+++\n{}\n", a.raw.trim_end())
}

/// A section as `sections.toml` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SectionFile {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct SectionsToml {
    #[serde(default)]
    sections: Vec<SectionFile>,
}

/// Reads `sections.toml` text (the demo's `kb.toml` has the same `[[sections]]`).
pub fn parse_sections(text: &str) -> Result<Vec<SectionFile>, FileError> {
    #[derive(Deserialize)]
    struct Loose {
        #[serde(default)]
        sections: Vec<SectionFile>,
    }
    toml::from_str::<Loose>(text)
        .map(|l| l.sections)
        .map_err(|e| FileError {
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1),
            message: e.message().to_string(),
        })
}

/// The line of `text` where front-matter key `field` is set, or where the body starts for
/// `raw` (so that a refused value is reported where it is written).
fn line_of(text: &str, field: &str) -> usize {
    let mut closing_seen = false;
    for (i, line) in text.lines().enumerate() {
        if i > 0 && line.trim_end() == "+++" {
            if field == "raw" {
                return i + 2;
            }
            closing_seen = true;
        }
        if !closing_seen
            && line
                .split('=')
                .next()
                .is_some_and(|key| key.trim() == field && line.contains('='))
        {
            return i + 1;
        }
    }
    1
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportReport {
    pub sections_created: usize,
    pub sections_updated: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// One article file, read: its name (for messages), its text and what it says.
pub struct ArticleFile {
    pub name: String,
    pub text: String,
    pub input: ArticleInput,
}

/// Reads every `*.md` file and `sections.toml` of `dir` (sorted by name). Every file that
/// cannot be read is reported, by file and line; nothing is returned unless all can.
pub fn read_dir(dir: &Path) -> Result<(Vec<SectionFile>, Vec<ArticleFile>), Vec<String>> {
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return Err(vec![format!("{}: {e}", dir.display())]),
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
        .collect();
    paths.sort();
    let sections_path = dir.join("sections.toml");
    let sections = match std::fs::read_to_string(&sections_path) {
        Ok(text) => parse_sections(&text).unwrap_or_else(|e| {
            problems.push(format!("{}: {e}", sections_path.display()));
            Vec::new()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            problems.push(format!("{}: {e}", sections_path.display()));
            Vec::new()
        }
    };
    let mut articles = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse(&text) {
                Ok(input) => articles.push(ArticleFile { name, text, input }),
                Err(e) => problems.push(format!("{name}: {e}")),
            },
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok((sections, articles))
    } else {
        Err(problems)
    }
}

/// Writes sections and articles as the files say, inside the caller's transaction: sections
/// and articles that exist (by slug) are updated when they differ, the others created. Saving
/// what is already stored writes nothing, so importing the same files twice adds no
/// revisions. Any file the knowledge base refuses fails the whole import with every problem
/// named by file and line (`BadRequest`), so that the caller's transaction rolls back.
pub fn import_in(
    conn: &mut DbConn,
    editor: Option<Actor>,
    sections: &[SectionFile],
    articles: &[ArticleFile],
    at: NaiveDateTime,
) -> Result<ImportReport, AppError> {
    let mut report = ImportReport::default();
    let mut problems = Vec::new();
    let existing: HashMap<String, q::SectionRow> = q::sections(conn)?
        .into_iter()
        .map(|s| (s.slug.clone(), s))
        .collect();
    for (position, s) in sections.iter().enumerate() {
        let current = existing.get(&s.slug);
        let position = position as i32;
        let input = super::SectionInput {
            name: s.name.clone(),
            slug: s.slug.clone(),
            description: s.description.clone(),
            position: position.to_string(),
        };
        // Unchanged sections are left alone (no event), compared as they would be stored.
        let (name, description) = input.normalized();
        if current.is_some_and(|c| {
            c.name == name && c.description == description && c.position == position
        }) {
            continue;
        }
        let actor = editor.map(|e| e.id);
        match super::save_section_in(conn, actor, current.map(|c| c.id), &input, at)? {
            Ok(_) if current.is_some() => report.sections_updated += 1,
            Ok(_) => report.sections_created += 1,
            Err(errors) => {
                for (field, message) in errors.iter() {
                    problems.push(format!(
                        "sections.toml: section “{}”: {field}: {message}",
                        s.slug
                    ));
                }
            }
        }
    }
    let known: Vec<String> = q::sections(conn)?.into_iter().map(|s| s.slug).collect();
    let mut seen: HashMap<String, &str> = HashMap::new();
    for file in articles {
        let checked = match super::check(&file.input, &Limits::default()) {
            Ok(c) => c,
            Err(errors) => {
                for (field, message) in errors.iter() {
                    let line = line_of(&file.text, field);
                    problems.push(format!("{}: line {line}: {field}: {message}", file.name));
                }
                continue;
            }
        };
        if !known.contains(&checked.section) {
            problems.push(format!(
                "{}: line {}: section “{}” does not exist: add it to sections.toml or create it first",
                file.name,
                line_of(&file.text, "section"),
                checked.section
            ));
            continue;
        }
        // The address the file means, so that a file without a slug finds its article again.
        let slug = if checked.slug.is_empty() {
            forum::slugify(&checked.title)
        } else {
            checked.slug.clone()
        };
        if let Some(other) = seen.insert(slug.clone(), &file.name) {
            problems.push(format!(
                "{}: the slug “{slug}” is also used by {other}",
                file.name
            ));
            continue;
        }
        let id = q::article_by_slug(conn, &slug)?.map(|a| a.id);
        let checked = super::Checked {
            slug,
            note: if checked.note.is_empty() {
                "Imported from files".into()
            } else {
                checked.note
            },
            ..checked
        };
        match super::save_in(conn, editor, id, &checked, at)? {
            Ok(saved) if !saved.changed => report.unchanged += 1,
            Ok(_) if id.is_some() => report.updated += 1,
            Ok(_) => report.created += 1,
            Err(errors) => {
                for (field, message) in errors.iter() {
                    let line = line_of(&file.text, field);
                    problems.push(format!("{}: line {line}: {field}: {message}", file.name));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(AppError::BadRequest(problems.join("\n")))
    }
}

/// `townhall kb import DIR`: reads every file first, then writes all of them in one
/// transaction or, when any is refused, none.
pub fn import_dir(db: &Db, dir: &Path) -> Result<ImportReport, AppError> {
    let (sections, articles) =
        read_dir(dir).map_err(|problems| AppError::BadRequest(problems.join("\n")))?;
    let at = db::now();
    db.write_sync(|conn| import_in(conn, None, &sections, &articles, at))
}

/// `townhall kb export DIR`: every article (drafts and archived included) as `<slug>.md`,
/// and the sections as `sections.toml`; returns how many articles were written.
pub fn export_dir(db: &Db, dir: &Path) -> Result<usize, AppError> {
    let (sections, articles) = db.read_sync(|conn| {
        let sections = q::sections(conn)?;
        let mut articles = Vec::new();
        let mut after = 0;
        loop {
            let ids = q::ids_after(conn, after, 500)?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            articles.extend(q::articles_by_ids(conn, &ids)?);
            after = last;
        }
        Ok((sections, articles))
    })?;
    let io = |e: std::io::Error| AppError::Internal(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let slugs: HashMap<i64, String> = sections.iter().map(|s| (s.id, s.slug.clone())).collect();
    let index = SectionsToml {
        sections: sections
            .iter()
            .map(|s| SectionFile {
                slug: s.slug.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
            })
            .collect(),
    };
    let text = toml::to_string(&index).map_err(|e| AppError::Internal(e.to_string()))?;
    std::fs::write(dir.join("sections.toml"), text).map_err(io)?;
    for a in &articles {
        let section = slugs.get(&a.section_id).map(String::as_str).unwrap_or("");
        std::fs::write(dir.join(format!("{}.md", a.slug)), render(a, section)).map_err(io)?;
    }
    Ok(articles.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_front_matter_and_body() {
        let a = parse("+++\ntitle = \"Reset a password\"\nsection = \"accounts\"\ntags = [\"login\"]\nstatus = \"published\"\n+++\nBody *here*.\n").unwrap();
        assert_eq!(a.title, "Reset a password");
        assert_eq!(a.section, "accounts");
        assert_eq!(a.tags, "login");
        assert_eq!(a.status, "published");
        assert_eq!(a.raw, "Body *here*.\n");
    }

    #[test]
    fn broken_front_matter_names_the_line() {
        let e = parse("+++\ntitle = \"A\"\nsection = \"s\"\ntags = [\"x\"\n+++\nBody").unwrap_err();
        assert!(e.line >= 4, "{e}");
        let e =
            parse("+++\ntitle = \"A\"\nsection = \"s\"\ncolour = \"red\"\n+++\nBody").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert_eq!(parse("no front matter").unwrap_err().line, 1);
        assert_eq!(parse("+++\ntitle = \"A\"\n").unwrap_err().line, 1);
    }

    #[test]
    fn refused_values_are_reported_where_they_are_written() {
        let text = "+++\ntitle = \"A\"\nslug = \"Bad Slug\"\nsection = \"s\"\n+++\nBody\n";
        assert_eq!(line_of(text, "title"), 2);
        assert_eq!(line_of(text, "slug"), 3);
        assert_eq!(line_of(text, "raw"), 6);
        assert_eq!(line_of(text, "tags"), 1);
    }

    #[test]
    fn sections_files_read_back_what_export_writes() {
        let s = vec![SectionFile {
            slug: "billing".into(),
            name: "Billing".into(),
            description: "Invoices".into(),
        }];
        let text = toml::to_string(&SectionsToml {
            sections: s.clone(),
        })
        .unwrap();
        assert_eq!(parse_sections(&text).unwrap(), s);
        assert_eq!(
            parse_sections("[[sections]]\nslug = 1\n").unwrap_err().line,
            2
        );
    }
}
