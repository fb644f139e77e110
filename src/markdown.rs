//! Markdown "cooking": raw markdown in, safe HTML out. Runs once, at write time; pages
//! serve the stored result. pulldown-cmark parses, this module adds mentions, bare-URL
//! links, footnote ids and a nesting cap, and ammonia removes anything executable.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// Deeper block quotes or lists than this are flattened: a "markdown bomb" of 10,000
/// nested quotes renders as text instead of 10,000 nested elements.
pub const MAX_NESTING: usize = 16;

pub struct Cooked {
    pub html: String,
    /// Usernames (as written) that were mentioned and exist.
    pub mentions: Vec<String>,
    /// Ids of posts this text quotes (links of the form `/t/…#p-ID`).
    pub quoted_post_ids: Vec<i64>,
}

/// Candidate `@names` in `raw`, to look up before cooking (outside code is checked later).
pub fn mention_candidates(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, _) in raw.match_indices('@') {
        let before = raw[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue; // an email address or the middle of a word
        }
        let name = take_username(&raw[i + 1..]);
        if name.chars().count() >= 3 && seen.insert(name.to_lowercase()) {
            out.push(name.to_string());
        }
        if out.len() >= 50 {
            break; // bound the lookup; more mentions than this are not notified
        }
    }
    out
}

fn take_username(s: &str) -> &str {
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() || "_-.".contains(c) {
            end = i + c.len_utf8();
        } else {
            break;
        }
        if s[..end].chars().count() >= 20 {
            break;
        }
    }
    s[..end].trim_end_matches(['.', '-'])
}

/// Cooks `raw`. `is_user` says whether a mentioned name belongs to an account
/// (only those become profile links).
pub fn cook(raw: &str, is_user: &dyn Fn(&str) -> bool) -> Cooked {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    options.insert(Options::ENABLE_FOOTNOTES);
    let footnote_prefix = footnote_prefix(raw);

    let mut events: Vec<Event> = Vec::new();
    let mut mentions: Vec<String> = Vec::new();
    let mut quoted: Vec<i64> = Vec::new();
    let mut in_code = 0usize;
    let mut in_link = 0usize;
    // For each open block quote or list: was its tag dropped for being too deep?
    let mut containers: Vec<bool> = Vec::new();
    let mut depth = 0usize;

    for event in Parser::new_ext(raw, options) {
        match event {
            Event::Start(Tag::BlockQuote(_)) | Event::Start(Tag::List(_)) => {
                depth += 1;
                let dropped = depth > MAX_NESTING;
                containers.push(dropped);
                if !dropped {
                    events.push(event);
                }
            }
            Event::End(TagEnd::BlockQuote(_)) | Event::End(TagEnd::List(_)) => {
                depth = depth.saturating_sub(1);
                if !containers.pop().unwrap_or(false) {
                    events.push(event);
                }
            }
            Event::Start(Tag::Item) | Event::End(TagEnd::Item) => {
                if !containers.last().copied().unwrap_or(false) {
                    events.push(event);
                } else if matches!(event, Event::End(_)) {
                    events.push(Event::SoftBreak);
                }
            }
            Event::Start(Tag::CodeBlock(_)) => {
                in_code += 1;
                events.push(event);
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = in_code.saturating_sub(1);
                events.push(event);
            }
            Event::Start(Tag::Link {
                ref dest_url,
                link_type,
                ..
            }) => {
                if let Some(id) = quoted_post_id(dest_url) {
                    quoted.push(id);
                }
                let _ = link_type;
                in_link += 1;
                events.push(event);
            }
            Event::End(TagEnd::Link) => {
                in_link = in_link.saturating_sub(1);
                events.push(event);
            }
            Event::Text(text) if in_code == 0 && in_link == 0 => {
                enrich_text(&text, is_user, &mut mentions, &mut events);
            }
            // Task-list boxes are drawn as text: no form controls in user content at all.
            Event::TaskListMarker(done) => {
                events.push(Event::Html(CowStr::from(if done {
                    "<span class=\"task done\">☑</span> "
                } else {
                    "<span class=\"task\">☐</span> "
                })));
            }
            Event::FootnoteReference(label) => {
                let id = footnote_id(&footnote_prefix, &label);
                events.push(Event::Html(CowStr::from(format!(
                    "<sup class=\"footnote-ref\"><a href=\"#{id}\" id=\"{id}-ref\">{}</a></sup>",
                    escape(&label)
                ))));
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                let id = footnote_id(&footnote_prefix, &label);
                events.push(Event::Html(CowStr::from(format!(
                    "<div class=\"footnote\" id=\"{id}\"><sup>{}</sup>",
                    escape(&label)
                ))));
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                events.push(Event::Html(CowStr::from("</div>")));
            }
            other => events.push(other),
        }
    }

    let mut unsafe_html = String::with_capacity(raw.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events.into_iter());
    quoted.sort_unstable();
    quoted.dedup();
    Cooked {
        html: sanitizer().clean(&unsafe_html).to_string(),
        mentions,
        quoted_post_ids: quoted,
    }
}

/// Splits plain text into text, bare-URL links and @mention links.
fn enrich_text<'a>(
    text: &str,
    is_user: &dyn Fn(&str) -> bool,
    mentions: &mut Vec<String>,
    out: &mut Vec<Event<'a>>,
) {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    for span in finder.spans(text) {
        let piece = span.as_str();
        match span.kind() {
            Some(linkify::LinkKind::Url)
                if piece.starts_with("http://") || piece.starts_with("https://") =>
            {
                out.push(Event::Start(Tag::Link {
                    link_type: LinkType::Autolink,
                    dest_url: CowStr::from(piece.to_string()),
                    title: CowStr::from(""),
                    id: CowStr::from(""),
                }));
                out.push(Event::Text(CowStr::from(piece.to_string())));
                out.push(Event::End(TagEnd::Link));
            }
            _ => link_mentions(piece, is_user, mentions, out),
        }
    }
}

fn link_mentions<'a>(
    text: &str,
    is_user: &dyn Fn(&str) -> bool,
    mentions: &mut Vec<String>,
    out: &mut Vec<Event<'a>>,
) {
    let mut rest_start = 0;
    for (i, _) in text.match_indices('@') {
        if i < rest_start {
            continue;
        }
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let name = take_username(&text[i + 1..]);
        if name.chars().count() < 3 || !is_user(name) {
            continue;
        }
        if i > rest_start {
            out.push(Event::Text(CowStr::from(text[rest_start..i].to_string())));
        }
        out.push(Event::Html(CowStr::from(format!(
            "<a class=\"mention\" href=\"/u/{}\">@{}</a>",
            escape(name),
            escape(name)
        ))));
        if !mentions.iter().any(|m| m.eq_ignore_ascii_case(name)) {
            mentions.push(name.to_string());
        }
        rest_start = i + 1 + name.len();
    }
    if rest_start < text.len() {
        out.push(Event::Text(CowStr::from(text[rest_start..].to_string())));
    }
}

/// `/t/some-slug/12#p-345` (or a full URL to one) quotes post 345.
fn quoted_post_id(url: &str) -> Option<i64> {
    let (path, fragment) = url.split_once("#p-")?;
    if !path.contains("/t/") {
        return None;
    }
    fragment.parse().ok()
}

/// Footnote ids must be unique on a page that shows many posts; derive them from the text.
fn footnote_prefix(raw: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("fn-{}", &hex::encode(Sha256::digest(raw.as_bytes()))[..8])
}

fn footnote_id(prefix: &str, label: &str) -> String {
    let clean: String = label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(32)
        .collect();
    format!("{prefix}-{clean}")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The one sanitiser for user content: no scripts, no event handlers, no style,
/// only http(s)/mailto/relative URLs; every link gets rel="nofollow ugc noopener".
fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.add_tags(["details", "summary"])
            .add_tag_attributes("span", ["class"])
            .add_tag_attributes("code", ["class"])
            .add_tag_attributes("a", ["class", "id"])
            .add_tag_attributes("div", ["class", "id"])
            .add_tag_attributes("sup", ["class"])
            .url_schemes(HashSet::from(["http", "https", "mailto"]))
            .url_relative(ammonia::UrlRelative::PassThrough)
            .link_rel(Some("nofollow ugc noopener"))
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                ("span", "class") => matches!(value, "task" | "task done").then_some(value.into()),
                ("code", "class") => (value.starts_with("language-")
                    && value.len() <= 40
                    && value[9..]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-_#".contains(c)))
                .then_some(value.into()),
                ("a", "class") => (value == "mention").then_some(value.into()),
                ("div", "class") => (value == "footnote").then_some(value.into()),
                ("sup", "class") => (value == "footnote-ref").then_some(value.into()),
                // Ids only in the footnote namespace: user HTML cannot clobber page ids.
                (_, "id") => {
                    (value.starts_with("fn-") && value.len() <= 60).then_some(value.into())
                }
                _ => Some(value.into()),
            });
        b
    })
}

/// All the text of `raw`, without markup: what search indexes.
pub fn plain_text(raw: &str) -> String {
    excerpt(raw, usize::MAX / 8)
}

/// Plain text of the markdown, cut to `max_chars`, for excerpts, feeds and meta descriptions.
pub fn excerpt(raw: &str, max_chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new(raw) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            // Space between blocks and lines, not around inline markup like **bold**.
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableCell,
            ) if !text.ends_with(' ') => text.push(' '),
            _ => {}
        }
        // Bytes bound characters from above: stop parsing once there is enough.
        if text.len() > 4 * (max_chars + 1) {
            break;
        }
    }
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() > max_chars {
        let cut: String = words.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cook_plain(raw: &str) -> String {
        cook(raw, &|name| name == "maya").html
    }

    #[test]
    fn renders_the_common_extensions() {
        let html = cook_plain(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~\n\n- [x] done\n\n```rust\nfn x() {}\n```\n",
        );
        assert!(html.contains("<table>"));
        assert!(html.contains("<del>old</del>"));
        assert!(html.contains("<span class=\"task done\">☑</span>"));
        assert!(
            !cook_plain("<input type=submit value=x> <input type=checkbox>").contains("<input")
        );
        assert!(html.contains("class=\"language-rust\""));
    }

    #[test]
    fn links_mentions_of_existing_users_only_and_not_in_code() {
        let cooked = cook("hi @maya and @nobody, mail a@maya.example `@maya`", &|n| {
            n == "maya"
        });
        assert_eq!(cooked.mentions, vec!["maya"]);
        assert_eq!(cooked.html.matches("href=\"/u/maya\"").count(), 1);
        assert!(cooked.html.contains("@nobody"));
    }

    #[test]
    fn bare_urls_become_links_with_rel() {
        let html = cook_plain("see https://docs.example.com/a?b=1 now");
        assert!(html.contains("href=\"https://docs.example.com/a?b=1\""));
        assert!(html.contains("rel=\"nofollow ugc noopener\""));
    }

    #[test]
    fn scripts_and_handlers_are_removed() {
        let html = cook_plain(
            "<script>alert(1)</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) <a href=\"JaVaScRiPt:alert(1)\">y</a>",
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        assert!(!html.to_lowercase().contains("href=\"javascript"), "{html}");
    }

    #[test]
    fn deep_nesting_is_capped() {
        let raw = ">".repeat(10_000) + " deep";
        let html = cook_plain(&raw);
        assert!(html.matches("<blockquote>").count() <= MAX_NESTING);
        assert!(html.contains("deep"));
    }

    #[test]
    fn excerpts_are_plain_text_with_spaces_between_blocks_only() {
        assert_eq!(
            excerpt("Use **this** one.\n\n- a\n- b", 100),
            "Use this one. a b"
        );
        assert_eq!(
            excerpt("word ".repeat(100).as_str(), 20),
            "word word word word…"
        );
    }

    #[test]
    fn quotes_are_detected() {
        let cooked = cook("[maya wrote](/t/slug/7#p-42):\n> hi", &|_| false);
        assert_eq!(cooked.quoted_post_ids, vec![42]);
    }

    #[test]
    fn footnotes_get_page_unique_ids() {
        let html = cook_plain("text[^1]\n\n[^1]: note");
        assert!(html.contains("href=\"#fn-"));
        assert!(html.contains("class=\"footnote\" id=\"fn-"));
    }
}
