//! `kalypso-bootstrap --explain TOPIC`: the troubleshooting page, compiled in, one topic at
//! a time as plain terminal text (like `rustc --explain`).
//!
//! The page is the one source: its topic sections are the `###` sections after the
//! [`TOPICS_MARKER`] comment, each named by its heading's GitHub anchor (the same name
//! [`Topic::anchor`] gives). Markdown is rendered for a terminal: code blocks indented,
//! prose wrapped at [`WIDTH`] columns, emphasis and backticks dropped, links to other topics
//! written as the `--explain` command that shows them.

use super::Topic;

/// The troubleshooting page as it was when the binary was built.
const PAGE: &str = include_str!("../../docs/troubleshooting.md");

/// The line of the page after which each `###` section is a topic.
pub const TOPICS_MARKER: &str = "<!-- topics: each ### section below is one --explain topic -->";

/// The column prose is wrapped at.
pub const WIDTH: usize = 80;

/// One topic section of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The GitHub anchor of the heading: the topic's name for `--explain`.
    pub anchor: String,
    /// The heading, as plain text.
    pub title: String,
    /// The Markdown between this heading and the next.
    pub body: String,
}

/// Every topic section of the compiled-in page, in page order.
pub fn sections() -> Vec<Section> {
    sections_of(PAGE)
}

/// The topic sections of `page` (see the module documentation).
pub fn sections_of(page: &str) -> Vec<Section> {
    let Some(start) = page.find(TOPICS_MARKER) else {
        return Vec::new();
    };
    let mut sections: Vec<Section> = Vec::new();
    let mut in_fence = false;
    let mut current: Option<Section> = None;
    for line in page[start + TOPICS_MARKER.len()..].lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && line.starts_with('#') {
            if let Some(done) = current.take() {
                sections.push(done);
            }
            if let Some(heading) = line.strip_prefix("### ") {
                current = Some(Section {
                    anchor: github_anchor(heading),
                    title: plain_inline(heading),
                    body: String::new(),
                });
            }
            continue;
        }
        if let Some(section) = current.as_mut() {
            section.body.push_str(line);
            section.body.push('\n');
        }
    }
    sections.extend(current);
    sections
}

/// GitHub's anchor of a heading: lowercase, spaces to `-`, only letters, digits, `-`, `_`.
pub fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// What `--explain NAME` prints, or the error message (naming the value and the valid
/// topics) when NAME is not a topic.
pub fn explain(name: &str) -> Result<String, String> {
    let name = name.trim();
    let found = Topic::from_anchor(name)
        .and_then(|topic| sections().into_iter().find(|s| s.anchor == topic.anchor()));
    match found {
        Some(section) => Ok(render(&section)),
        None => Err(format!(
            "--explain: {name:?} is not a troubleshooting topic; valid topics: {}",
            Topic::ALL.map(Topic::anchor).join(", ")
        )),
    }
}

/// What `--explain` alone prints: each topic's name and title, one a line.
pub fn list() -> String {
    let sections = sections();
    let width = Topic::ALL
        .iter()
        .map(|topic| topic.anchor().len())
        .max()
        .unwrap_or(0);
    let mut out =
        String::from("Troubleshooting topics; `kalypso-bootstrap --explain TOPIC` prints one:\n\n");
    for topic in Topic::ALL {
        let title = sections
            .iter()
            .find(|s| s.anchor == topic.anchor())
            .map_or("", |s| s.title.as_str());
        out.push_str(&format!("  {:width$}  {title}\n", topic.anchor()));
    }
    out
}

/// A section as terminal text: the title, then its paragraphs wrapped, its code blocks
/// indented as they are.
pub fn render(section: &Section) -> String {
    let mut out = format!("{}\n{}\n", section.title, "=".repeat(section.title.len()));
    let mut paragraph: Vec<String> = Vec::new();
    let mut in_fence = false;
    let flush = |paragraph: &mut Vec<String>, out: &mut String| {
        if paragraph.is_empty() {
            return;
        }
        let text = paragraph.join(" ");
        paragraph.clear();
        // A list item keeps its dash and hangs its continuation lines under the text.
        let (first_indent, hanging_indent, text) = match text.strip_prefix("- ") {
            Some(item) => ("  - ", "    ", item.to_string()),
            None => ("", "", text),
        };
        out.push('\n');
        // Never split a word at its hyphens (`--non-interactive` is copied as one), nor a
        // word longer than the line (a URL).
        let options = textwrap::Options::new(WIDTH)
            .initial_indent(first_indent)
            .subsequent_indent(hanging_indent)
            .word_splitter(textwrap::WordSplitter::NoHyphenation)
            .break_words(false);
        for line in textwrap::wrap(&text, options) {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    };
    for line in section.body.lines() {
        if line.trim_start().starts_with("```") {
            flush(&mut paragraph, &mut out);
            if !in_fence {
                out.push('\n');
            }
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            out.push_str(&format!("    {line}\n"));
        } else if line.trim().is_empty() {
            flush(&mut paragraph, &mut out);
        } else {
            // A new list item starts a new wrapped block.
            if line.starts_with("- ") {
                flush(&mut paragraph, &mut out);
            }
            paragraph.push(plain_inline(line.trim()));
        }
    }
    flush(&mut paragraph, &mut out);
    out
}

/// Markdown inline syntax as plain text: `**Fix**` → `Fix`, `` `x` `` → `x`, a link to a
/// topic → `text (kalypso-bootstrap --explain topic)`, a web link → `text (url)`, a link to
/// another page of the documentation → its text (the pages are not installed).
fn plain_inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|at| open + at) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|at| close + at) else {
            break;
        };
        out.push_str(&rest[..open]);
        let label = &rest[open + 1..close];
        let target = &rest[close + 2..end];
        out.push_str(label);
        if target.starts_with("http://") || target.starts_with("https://") {
            out.push_str(&format!(" ({target})"));
        } else if let Some(topic) = target
            .strip_prefix('#')
            .or_else(|| target.strip_prefix("troubleshooting.md#"))
            .and_then(Topic::from_anchor)
        {
            out.push_str(&format!(" ({})", topic.explain_command()));
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace("**", "").replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_topic_has_a_section_and_every_section_is_a_topic() {
        let on_the_page: BTreeSet<String> = sections().into_iter().map(|s| s.anchor).collect();
        let in_the_table: BTreeSet<String> = Topic::ALL
            .iter()
            .map(|topic| topic.anchor().to_string())
            .collect();
        let orphans: Vec<_> = on_the_page.difference(&in_the_table).collect();
        let missing: Vec<_> = in_the_table.difference(&on_the_page).collect();
        assert!(
            orphans.is_empty(),
            "sections of docs/troubleshooting.md that are no Topic: {orphans:?}"
        );
        assert!(
            missing.is_empty(),
            "Topics without a section in docs/troubleshooting.md: {missing:?}"
        );
    }

    #[test]
    fn every_topic_a_hint_can_name_can_be_explained() {
        for topic in Topic::ALL {
            let hint = topic.hint("do this");
            let named = super::super::linked_anchors(&hint);
            assert_eq!(named, vec![topic.anchor().to_string()], "{hint}");
            let text = explain(&named[0]).unwrap_or_else(|err| panic!("{topic:?}: {err}"));
            assert!(text.lines().count() > 3, "{topic:?}: {text}");
        }
    }

    #[test]
    fn a_topic_reads_as_wrapped_plain_text() {
        let text = explain("rate-limited").unwrap();
        assert!(text.starts_with("Rate limited\n============\n"), "{text}");
        assert!(
            text.contains("\nWhy: GitHub's (or Azure's) API limits"),
            "{text}"
        );
        // The example output stays as it is, indented.
        assert!(text.contains("\n    Error: look up repository"), "{text}");
        for line in text.lines().filter(|line| !line.starts_with("    ")) {
            assert!(
                line.chars().count() <= WIDTH,
                "{line:?} is wider than {WIDTH}"
            );
            assert!(!line.contains("**") && !line.contains('`'), "{line:?}");
            assert!(!line.contains("](") && !line.contains(".md#"), "{line:?}");
        }
    }

    #[test]
    fn flags_are_never_split_at_their_hyphens() {
        for topic in Topic::ALL {
            let text = explain(topic.anchor()).unwrap();
            for line in text.lines().filter(|line| !line.starts_with("    ")) {
                assert!(
                    !line.trim_end().ends_with("--non-") && !line.trim_end().ends_with('-'),
                    "{topic:?}: a word split at a hyphen: {line:?}"
                );
            }
        }
    }

    #[test]
    fn links_become_commands_or_plain_words() {
        assert_eq!(
            plain_inline(
                "see [rate limits](#rate-limited) and [the reference](reference.md#exit-codes)"
            ),
            "see rate limits (kalypso-bootstrap --explain rate-limited) and the reference"
        );
        assert_eq!(
            plain_inline("**Fix**: run `az login` ([docs](https://learn.microsoft.com))"),
            "Fix: run az login (docs (https://learn.microsoft.com))"
        );
    }

    #[test]
    fn an_unknown_topic_names_the_value_and_the_valid_ones() {
        let err = explain("no-such-topic").unwrap_err();
        assert!(err.contains("\"no-such-topic\""), "{err}");
        assert!(
            err.contains("rate-limited") && err.contains("internal-error"),
            "{err}"
        );
    }

    #[test]
    fn the_list_has_one_line_per_topic_with_its_title() {
        let list = list();
        for topic in Topic::ALL {
            let line = list
                .lines()
                .find(|line| line.split_whitespace().next() == Some(topic.anchor()))
                .unwrap_or_else(|| panic!("{topic:?} missing from\n{list}"));
            assert!(line.split_whitespace().count() > 1, "no title: {line}");
        }
        assert!(list.contains("  rate-limited"), "{list}");
    }

    #[test]
    fn sections_end_at_the_next_heading_and_ignore_headings_in_code() {
        let page = format!(
            "# T\n### Before\nno\n{TOPICS_MARKER}\n## Group\n### First one\ntext\n```\n### not a heading\n```\n## Next group\nintro\n### Second\nmore\n"
        );
        let found = sections_of(&page);
        let anchors: Vec<&str> = found.iter().map(|s| s.anchor.as_str()).collect();
        assert_eq!(anchors, vec!["first-one", "second"]);
        assert!(found[0].body.contains("### not a heading"));
        assert!(!found[0].body.contains("intro"));
    }
}
