//! Text from outside the tool (config keys, kube context names, tool output, error
//! messages) on its way to a terminal, a log line or the report: its control characters
//! are shown, never obeyed. One function, applied where text enters each sink (the
//! printers and writers), so every message is covered wherever it was made.

use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
