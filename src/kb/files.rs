//! Articles as files: markdown with TOML front matter between `+++` lines, so that a team
//! can keep its articles in git (`townhall kb import|export DIR`) and the demo ships some.
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

use serde::{Deserialize, Serialize};

use super::ArticleInput;

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
}
