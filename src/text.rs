//! Text for people, shared by the engine and both front ends.
//!
//! Text from outside the tool (config keys, kube context names, tool output, error
//! messages) on its way to a terminal, a log line or the report: its control characters
//! are shown, never obeyed. One function, applied where text enters each sink (the
//! printers and writers), so every message is covered wherever it was made.
//!
//! A duration for people has one form everywhere ([`format_duration`]): the wizard, the
//! line output, the engine's messages and the report.
//!
//! Text laid out in columns (boxes, padding, wrapping, cuts) is measured in display
//! columns, not characters: a CJK character or an emoji in a tool's error takes two.

use std::borrow::Cow;
use std::time::Duration;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `1 file`, `2 files`: a count with its noun in the right number (regular plurals; say
/// the irregular ones with [`plural_of`]).
pub fn plural(count: usize, noun: &str) -> String {
    plural_of(count, noun, &format!("{noun}s"))
}

/// `1 repository`, `2 repositories`: a count with the singular or the given plural.
pub fn plural_of(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}

/// `text` with its first letter in upper case: a message that already says its outcome
/// ("rollback incomplete: …") heads a line as it is, instead of after a label that says it
/// again.
pub fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A duration for people, in the one form every front end, message and report uses:
/// `850ms`, `12s`, `3m 05s`, `1h 02m`. Below a second in milliseconds (a retry's short wait
/// still says how long); whole seconds below a minute; past that two units, the smaller
/// one in two digits, so a clock that ticks keeps its width and a column of times lines up;
/// no seconds past an hour (nobody needs them there).
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs();
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// [`format_duration`] of a count of milliseconds (what events and the state carry).
pub fn format_duration_ms(ms: u64) -> String {
    format_duration(Duration::from_millis(ms))
}

/// Whether `c` would act on a terminal instead of being shown: C0 controls except the
/// line feed and the tab, DEL, and C1 controls (`\u{9b}` is a CSI on many terminals).
fn acts_on_a_terminal(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// `text` with every control character except `\n` and `\t` written out as a visible
/// escape, `\u001b` for ESC (`\u0007` BEL, `\u009b` CSI, `\u000d` carriage return): an
/// OSC title change, a colour, a carriage return that would overwrite a line, all become
/// plain text. The form is also a valid escape inside a JSON string, so JSON text stays
/// JSON. Borrowed when there is nothing to escape (the usual case).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_a_terminal) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts_on_a_terminal(c) {
            shown.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// One terminal cell's worth of a control character: the Unicode control picture for C0
/// and DEL (`␛` for ESC), `�` for C1. For places that cannot widen the text (the wizard's
/// screen buffer).
pub fn control_picture(c: char) -> char {
    match c as u32 {
        code @ 0x00..=0x1f => char::from_u32(0x2400 + code).unwrap_or('\u{fffd}'),
        0x7f => '\u{2421}',
        _ => '\u{fffd}',
    }
}

/// The columns `text` takes on a terminal: two for a CJK character or most emoji, none for a
/// combining mark. What box, padding and wrapping arithmetic must count, not `chars()`.
pub fn display_width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// The longest start of `text` that fits in `width` columns.
fn head_within(text: &str, width: usize) -> (&str, usize) {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            return (&text[..at], used);
        }
        used += w;
    }
    (text, used)
}

/// `text` cut to at most `width` columns (a wide character that would straddle the edge is
/// left out whole).
pub fn cut_to_width(text: &str, width: usize) -> &str {
    head_within(text, width).0
}

/// `text` after its first `columns` display columns (a wide character straddling the edge
/// is skipped whole): where a field scrolled by tui-input's `visual_scroll`, which counts
/// columns, starts.
pub fn skip_width(text: &str, columns: usize) -> &str {
    let mut skipped = 0;
    for (at, c) in text.char_indices() {
        if skipped >= columns {
            return &text[at..];
        }
        skipped += UnicodeWidthChar::width(c).unwrap_or(0);
    }
    ""
}

/// The longest end of `text` that fits in `width` columns (a path's file name, kept when its
/// start is cut).
pub fn tail_within(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (at, c) in text.char_indices().rev() {
        used += UnicodeWidthChar::width(c).unwrap_or(0);
        if used > width {
            return &text[at + c.len_utf8()..];
        }
    }
    text
}

/// `text` in at most `width` columns, ending in `…` when it had to be cut.
pub fn truncate_to_width(text: &str, width: usize) -> Cow<'_, str> {
    if display_width(text) <= width {
        return Cow::Borrowed(text);
    }
    let (kept, _) = head_within(text, width.saturating_sub(1));
    Cow::Owned(format!("{kept}…"))
}

/// `text` cut or padded with spaces to exactly `width` columns.
pub fn pad_to_width(text: &str, width: usize) -> String {
    let (kept, used) = head_within(text, width);
    let mut padded = String::with_capacity(kept.len() + width - used);
    padded.push_str(kept);
    padded.extend(std::iter::repeat_n(' ', width - used));
    padded
}

/// `text` wrapped to `width` columns at spaces, each paragraph (`\n`) on its own lines and
/// runs of white space read as one space. A word wider than `width` gets a line of its own,
/// cut to the width.
pub fn wrap_to_width(text: &str, width: usize) -> Vec<String> {
    let options = textwrap::Options::new(width)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let words = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        for line in textwrap::wrap(&words, &options) {
            lines.push(cut_to_width(&line, width).to_string());
        }
    }
    lines
}

/// `text` as one shell word: as it is when it needs no quoting, else in single quotes
/// (a quote inside closed, escaped and reopened), so that a printed command works when
/// pasted into a POSIX shell.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One form for the wizard (was `0.4s`, `3m 05s`), the line output (was `4m 12s`,
    /// `1h 3m 20s`, and `0s` for a step running less than a second) and the engine's
    /// messages (was `2m05s`, `1h02m`).
    #[test]
    fn durations_have_one_form_everywhere() {
        let cases = [
            (0, "0ms"),
            (400, "400ms"),
            (850, "850ms"),
            (999, "999ms"),
            (1_000, "1s"),
            (9_999, "9s"),
            (12_345, "12s"),
            (59_999, "59s"),
            (60_000, "1m 00s"),
            (90_000, "1m 30s"),
            (125_000, "2m 05s"),
            (185_000, "3m 05s"),
            (252_000, "4m 12s"),
            (3_599_999, "59m 59s"),
            (3_600_000, "1h 00m"),
            (3_720_000, "1h 02m"),
            (3_800_000, "1h 03m"),
            (90_000_000, "25h 00m"),
        ];
        for (ms, shown) in cases {
            assert_eq!(format_duration_ms(ms), shown, "{ms} ms");
            assert_eq!(format_duration(Duration::from_millis(ms)), shown, "{ms} ms");
        }
    }

    #[test]
    fn sentence_case_raises_the_first_letter_only() {
        assert_eq!(
            sentence_case("rollback incomplete: removed 2"),
            "Rollback incomplete: removed 2"
        );
        assert_eq!(sentence_case("Rolled back"), "Rolled back");
        assert_eq!(sentence_case(""), "");
    }

    #[test]
    fn counts_take_the_right_number() {
        assert_eq!(plural(1, "pod"), "1 pod");
        assert_eq!(plural(0, "pod"), "0 pods");
        assert_eq!(plural(12, "file"), "12 files");
        assert_eq!(plural_of(1, "repository", "repositories"), "1 repository");
        assert_eq!(plural_of(2, "repository", "repositories"), "2 repositories");
    }

    #[test]
    fn controls_are_written_out_and_plain_text_is_borrowed() {
        assert!(matches!(escape_controls("plain ünïcode"), Cow::Borrowed(_)));
        assert!(matches!(
            escape_controls("two\nlines\tand a tab"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_controls("\u{1b}]0;TITLE\u{7}x\u{9b}2J\r\u{7f}\u{0}"),
            "\\u001b]0;TITLE\\u0007x\\u009b2J\\u000d\\u007f\\u0000"
        );
        // Inside a JSON string the escape is JSON's own.
        let json = serde_json::to_string("a\u{9b}b").unwrap();
        let escaped = escape_controls(&json);
        assert_eq!(
            serde_json::from_str::<String>(&escaped).unwrap(),
            "a\u{9b}b"
        );
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let shown = escape_controls(&c.to_string()).into_owned();
            if c == '\n' || c == '\t' {
                assert_eq!(shown, c.to_string());
            } else {
                assert!(!shown.chars().any(char::is_control), "{c:?} -> {shown:?}");
            }
        }
    }

    #[test]
    fn control_pictures_take_one_cell() {
        assert_eq!(control_picture('\u{1b}'), '␛');
        assert_eq!(control_picture('\u{7}'), '␇');
        assert_eq!(control_picture('\u{7f}'), '␡');
        assert_eq!(control_picture('\u{9b}'), '\u{fffd}');
    }

    /// A tool's error in Japanese with an emoji: every wrapped line fits the columns it was
    /// given, measured as a terminal draws them (counting characters put 10 CJK characters,
    /// 20 columns, on a 10-column line).
    #[test]
    fn wrapping_counts_display_columns_not_characters() {
        let message = "エラー: 認証トークンが無効です 🙂 再試行してください";
        let lines = wrap_to_width(message, 10);
        assert_eq!(
            lines,
            ["エラー:", "認証トーク", "🙂", "再試行して"],
            "a word wider than the line is cut at a whole character"
        );
        assert!(
            lines.iter().all(|line| display_width(line) <= 10),
            "{lines:?}"
        );
        assert_eq!(
            wrap_to_width("aaa bbb  ccc\n\nddd", 8),
            ["aaa bbb", "ccc", "", "ddd"]
        );
        assert_eq!(
            wrap_to_width("kalypso-bootstrap-cluster", 10),
            ["kalypso-bo"],
            "no break at hyphens, as before"
        );
    }

    #[test]
    fn padding_and_cuts_fill_display_columns() {
        assert_eq!(display_width("漢字🙂é"), 7);
        assert_eq!(pad_to_width("漢字", 6), "漢字  ");
        // A wide character that would straddle the edge is left out, the cell padded.
        assert_eq!(pad_to_width("漢字漢字", 5), "漢字 ");
        for text in ["漢字", "漢字漢字", "ab🙂cd", "plain"] {
            assert_eq!(display_width(&pad_to_width(text, 5)), 5, "{text}");
        }
        assert_eq!(truncate_to_width("漢字漢字", 8), "漢字漢字");
        assert_eq!(truncate_to_width("漢字漢字", 7), "漢字漢…");
        assert_eq!(truncate_to_width("漢字漢字", 6), "漢字…");
        assert_eq!(display_width(&truncate_to_width("漢字漢字", 6)), 5);
        assert_eq!(truncate_to_width("abcdef", 4), "abc…");
        assert_eq!(cut_to_width("ab漢字", 3), "ab");
        assert_eq!(tail_within("/tmp/漢字/report.md", 12), "字/report.md");
        assert_eq!(tail_within("report.md", 20), "report.md");
        assert_eq!(skip_width("漢字abc", 4), "abc");
        assert_eq!(skip_width("漢字abc", 3), "abc");
        assert_eq!(skip_width("漢字abc", 0), "漢字abc");
        assert_eq!(skip_width("ab", 5), "");
    }

    /// A field holding wide characters, scrolled as tui-input scrolls it (in columns): the
    /// shown part starts where the scroll says and fills the field's width, not twice it.
    #[test]
    fn a_scrolled_field_of_wide_characters_shows_the_columns_it_has() {
        let value = "東京リージョンのクラスタ";
        let mut input = tui_input::Input::new(value.to_string());
        let width = 10;
        let scroll = input.visual_scroll(width);
        assert_eq!(scroll, 14, "the cursor at the end: 24 columns, 10 shown");
        let shown = cut_to_width(skip_width(value, scroll), width);
        assert_eq!(shown, "のクラスタ");
        assert_eq!(display_width(shown), width);
        input = input.with_cursor(0);
        assert_eq!(
            cut_to_width(skip_width(value, input.visual_scroll(width)), width),
            "東京リージ"
        );
    }
}
