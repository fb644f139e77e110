//! The search box's little language: words, "exact phrases", -excluded words, and filters
//! `in:kb|forum`, `category:slug`, `tag:name`, `is:solved|unsolved`, `by:username`.
//! Anything malformed degrades to plain words; nothing here can fail.

/// Longest query considered, in characters, and most words used from it.
pub const MAX_QUERY_CHARS: usize = 500;
pub const MAX_TERMS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedQuery {
    pub words: Vec<String>,
    pub phrases: Vec<String>,
    pub excluded: Vec<String>,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub solved: Option<bool>,
    pub by: Option<String>,
    /// Things the person should know about how their query was read.
    pub notices: Vec<String>,
}

impl ParsedQuery {
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
            && self.phrases.is_empty()
            && self.kind.is_none()
            && self.category.is_none()
            && self.tag.is_none()
            && self.solved.is_none()
            && self.by.is_none()
    }

    /// The query as understood, in the search box's own syntax.
    pub fn normalized(&self) -> String {
        let mut parts: Vec<String> = self.words.clone();
        parts.extend(self.phrases.iter().map(|p| format!("\"{p}\"")));
        parts.extend(self.excluded.iter().map(|w| format!("-{w}")));
        if let Some(k) = &self.kind {
            parts.push(format!("in:{k}"));
        }
        if let Some(c) = &self.category {
            parts.push(format!("category:{c}"));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("tag:{t}"));
        }
        if let Some(s) = self.solved {
            parts.push(if s {
                "is:solved".into()
            } else {
                "is:unsolved".into()
            });
        }
        if let Some(b) = &self.by {
            parts.push(format!("by:{b}"));
        }
        parts.join(" ")
    }
}

/// Words too common to help ranking; dropped unless they are all there is.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "that",
    "the", "this", "to", "was", "we", "what", "when", "where", "which", "why", "with", "you",
    "your",
];

pub fn parse(input: &str) -> ParsedQuery {
    let mut q = ParsedQuery::default();
    let text: String = input.chars().take(MAX_QUERY_CHARS).collect();
    if input.chars().count() > MAX_QUERY_CHARS {
        q.notices.push(format!(
            "Only the first {MAX_QUERY_CHARS} characters of your search were used."
        ));
    }
    let mut rest = text.as_str();
    let mut terms = 0;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        if terms >= MAX_TERMS {
            q.notices.push(format!(
                "Only the first {MAX_TERMS} words of your search were used."
            ));
            break;
        }
        terms += 1;
        if let Some(after) = rest.strip_prefix('"') {
            // A phrase runs to the closing quote, or to the end when it is missing.
            let (phrase, next) = match after.find('"') {
                Some(end) => (&after[..end], &after[end + 1..]),
                None => (after, ""),
            };
            let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
            if !phrase.is_empty() {
                q.phrases.push(phrase);
            }
            rest = next;
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        rest = &rest[end..];
        if let Some(word) = token.strip_prefix('-') {
            let word = trim_punctuation(word);
            if !word.is_empty() {
                q.excluded.push(word.to_lowercase());
            }
            continue;
        }
        if let Some((name, value)) = token.split_once(':') {
            let value = value.trim().to_lowercase();
            let known = match name.to_lowercase().as_str() {
                "in" if matches!(value.as_str(), "kb" | "forum" | "changelog" | "status") => {
                    q.kind = Some(value.clone());
                    true
                }
                "category" | "c" if is_slug(&value) => {
                    q.category = Some(value.clone());
                    true
                }
                "tag" | "tags" if is_slug(&value) => {
                    q.tag = Some(value.clone());
                    true
                }
                "is" if value == "solved" || value == "unsolved" => {
                    q.solved = Some(value == "solved");
                    true
                }
                "by" | "user" if !value.is_empty() && value.chars().count() <= 20 => {
                    q.by = Some(crate::accounts::username_key(&value));
                    true
                }
                _ => false,
            };
            if known {
                continue;
            }
            if !name.is_empty()
                && !value.is_empty()
                && name.chars().all(char::is_alphabetic)
                && name.len() <= 12
            {
                q.notices.push(format!(
                    "“{name}:” is not a filter here (try in:, category:, tag:, is:solved or by:); searched as words."
                ));
            }
        }
        for part in token
            .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-' && c != '_' && c != '.')
        {
            let word = trim_punctuation(part);
            if !word.is_empty() {
                q.words.push(word.to_lowercase());
            }
        }
    }
    let meaningful: Vec<String> = q
        .words
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if !meaningful.is_empty() {
        q.words = meaningful;
    }
    q.words.dedup();
    q
}

fn trim_punctuation(s: &str) -> &str {
    s.trim_matches(|c: char| !c.is_alphanumeric())
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 60
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn understands_the_syntax() {
        let q = parse(
            r#"sso "login loop" -okta tag:saml is:solved category:billing-accounts by:Maya in:forum"#,
        );
        assert_eq!(q.words, vec!["sso"]);
        assert_eq!(q.phrases, vec!["login loop"]);
        assert_eq!(q.excluded, vec!["okta"]);
        assert_eq!(q.tag.as_deref(), Some("saml"));
        assert_eq!(q.solved, Some(true));
        assert_eq!(q.category.as_deref(), Some("billing-accounts"));
        assert_eq!(q.kind.as_deref(), Some("forum"));
        // Authors are matched by username key (the same for "Maya", "MAYA", "rnaya").
        assert_eq!(q.by, Some(crate::accounts::username_key("maya")));
    }

    #[test]
    fn malformed_input_degrades_to_words() {
        let q = parse(r#"unbalanced "quote here"#);
        assert_eq!(q.phrases, vec!["quote here"]);
        let q = parse("-- :: \" \" - : foo:bar");
        assert!(q.phrases.is_empty());
        assert_eq!(q.words, vec!["foo", "bar"]);
        assert!(!q.notices.is_empty());
        assert!(parse("").is_empty());
        assert!(parse("    ").is_empty());
    }

    #[test]
    fn long_queries_are_capped() {
        let q = parse(&"word ".repeat(2000));
        assert!(q.words.len() <= 1 && !q.notices.is_empty());
        let many: String = (0..500).map(|i| format!("w{i} ")).collect();
        assert!(parse(&many).words.len() <= MAX_TERMS);
    }

    #[test]
    fn stop_words_are_dropped_unless_alone() {
        assert_eq!(
            parse("how do I renew my ssl certificate").words,
            vec!["renew", "ssl", "certificate"]
        );
        assert_eq!(parse("the").words, vec!["the"]);
    }
}
