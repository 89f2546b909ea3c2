//! The log tail on screen: a bounded ring of lines (the log file keeps everything), a level
//! filter, and a scroll position counted from the newest line, so following the tail is
//! just "offset 0" and a view scrolled back stays on the same lines as new ones arrive.
//!
//! Rendering asks only for the visible slice ([`LogView::visible`]); counts per level are
//! kept up to date on insert and eviction, so nothing scans the whole buffer per frame
//! unless a filter hides lines.

use std::collections::VecDeque;

use time::OffsetDateTime;

use crate::engine::events::LogLevel;

/// How many lines the screen keeps by default.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Longer lines are cut on screen (the log file has them whole), which bounds the ring's
/// memory whatever a child prints.
pub const MAX_LINE_CHARS: usize = 1_000;

/// One line of the log tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: LogLevel,
    pub at: OffsetDateTime,
    /// Single line, control characters removed, secrets masked.
    pub text: String,
}

/// Which lines the tail shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LevelFilter {
    #[default]
    All,
    InfoAndAbove,
    WarnAndAbove,
    ErrorOnly,
}

impl LevelFilter {
    pub fn next(self) -> Self {
        match self {
            LevelFilter::All => LevelFilter::InfoAndAbove,
            LevelFilter::InfoAndAbove => LevelFilter::WarnAndAbove,
            LevelFilter::WarnAndAbove => LevelFilter::ErrorOnly,
            LevelFilter::ErrorOnly => LevelFilter::All,
        }
    }

    pub fn admits(self, level: LogLevel) -> bool {
        rank(level) >= self.min_rank()
    }

    fn min_rank(self) -> usize {
        match self {
            LevelFilter::All => 0,
            LevelFilter::InfoAndAbove => 1,
            LevelFilter::WarnAndAbove => 2,
            LevelFilter::ErrorOnly => 3,
        }
    }

    /// Short enough for a panel title.
    pub fn label(self) -> &'static str {
        match self {
            LevelFilter::All => "all levels",
            LevelFilter::InfoAndAbove => "info+",
            LevelFilter::WarnAndAbove => "warn+",
            LevelFilter::ErrorOnly => "errors",
        }
    }
}

fn rank(level: LogLevel) -> usize {
    match level {
        LogLevel::Debug => 0,
        LogLevel::Info => 1,
        LogLevel::Warn => 2,
        LogLevel::Error => 3,
    }
}

/// The ring and how it is being looked at.
#[derive(Debug, Clone)]
pub struct LogView {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Lines per level currently in the ring (indexed by [`rank`]).
    counts: [usize; 4],
    filter: LevelFilter,
    /// Filtered lines between the bottom of the view and the newest line.
    offset: usize,
    /// New lines scroll into view. Off, the view stays on the lines it shows.
    follow: bool,
    /// Lines evicted since the start (shown as a note that older lines are in the file).
    dropped: u64,
}

impl Default for LogView {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl LogView {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            lines: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            counts: [0; 4],
            filter: LevelFilter::All,
            offset: 0,
            follow: true,
            dropped: 0,
        }
    }

    /// Add a line (text is cleaned here). Scrolled back, the view keeps showing the same
    /// lines; following, it shows the new one.
    pub fn push(&mut self, level: LogLevel, at: OffsetDateTime, text: &str) {
        if self.lines.len() == self.capacity {
            if let Some(old) = self.lines.pop_front() {
                self.counts[rank(old.level)] -= 1;
                self.dropped += 1;
            }
        }
        self.counts[rank(level)] += 1;
        self.lines.push_back(LogLine {
            level,
            at,
            text: clean_line(text),
        });
        if !self.follow && self.filter.admits(level) {
            self.offset += 1;
        }
        self.offset = self.offset.min(self.max_offset());
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn filter(&self) -> LevelFilter {
        self.filter
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Following the newest line.
    pub fn following(&self) -> bool {
        self.follow
    }

    /// Lines that pass the filter.
    pub fn filtered_len(&self) -> usize {
        (self.filter.min_rank()..4).map(|r| self.counts[r]).sum()
    }

    fn max_offset(&self) -> usize {
        self.filtered_len().saturating_sub(1)
    }

    /// Scroll towards older lines.
    pub fn scroll_up(&mut self, lines: usize) {
        self.offset = (self.offset + lines).min(self.max_offset());
        self.follow = false;
    }

    /// Scroll towards newer lines; reaching the bottom resumes following.
    pub fn scroll_down(&mut self, lines: usize) {
        self.offset = self.offset.saturating_sub(lines);
        if self.offset == 0 {
            self.follow = true;
        }
    }

    pub fn scroll_to_oldest(&mut self) {
        self.offset = self.max_offset();
        self.follow = false;
    }

    /// Jump to the newest line and follow.
    pub fn follow(&mut self) {
        self.offset = 0;
        self.follow = true;
    }

    /// Toggle follow mode: following stops on the lines shown, else jump to the newest.
    pub fn toggle_follow(&mut self) {
        if self.follow {
            self.follow = false;
        } else {
            self.follow();
        }
    }

    pub fn set_filter(&mut self, filter: LevelFilter) {
        self.filter = filter;
        // The old offset counted other lines; start again from the newest.
        self.follow();
    }

    pub fn cycle_filter(&mut self) {
        self.set_filter(self.filter.next());
    }

    /// The lines to show in a view `height` lines tall, oldest first: the filtered lines
    /// ending `offset` lines above the newest.
    pub fn visible(&self, height: usize) -> Vec<&LogLine> {
        if height == 0 {
            return Vec::new();
        }
        let mut shown: Vec<&LogLine> = if self.filter == LevelFilter::All {
            let end = self.lines.len().saturating_sub(self.offset);
            let start = end.saturating_sub(height);
            self.lines.range(start..end).collect()
        } else {
            self.lines
                .iter()
                .rev()
                .filter(|line| self.filter.admits(line.level))
                .skip(self.offset)
                .take(height)
                .collect()
        };
        if self.filter != LevelFilter::All {
            shown.reverse();
        }
        shown
    }
}

/// One printable line: escape sequences dropped, tabs expanded to a space, other control
/// characters removed, and secrets masked (a child may print anything).
pub fn clean_line(text: &str) -> String {
    let redacted = crate::secrets::redact(text);
    let mut out = String::with_capacity(redacted.len().min(MAX_LINE_CHARS * 4));
    let mut chars = redacted.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\t' => out.push(' '),
            '\n' | '\r' => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
        if out.len() >= MAX_LINE_CHARS * 4 {
            break;
        }
    }
    if let Some((cut, _)) = out.char_indices().nth(MAX_LINE_CHARS) {
        out.truncate(cut);
        out.push('…');
    }
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    out
}

/// Skip a CSI (`ESC [ … final`) or OSC (`ESC ] … BEL/ST`) sequence, or a two-byte escape.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => {
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
        Some(']') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    fn texts(view: &LogView, height: usize) -> Vec<String> {
        view.visible(height)
            .into_iter()
            .map(|l| l.text.clone())
            .collect()
    }

    #[test]
    fn the_ring_keeps_only_the_newest_lines_and_counts_what_it_dropped() {
        let mut view = LogView::with_capacity(3);
        for i in 0..5 {
            view.push(LogLevel::Info, at(), &format!("line {i}"));
        }
        assert_eq!(view.len(), 3);
        assert_eq!(view.dropped(), 2);
        assert_eq!(texts(&view, 10), ["line 2", "line 3", "line 4"]);
        assert_eq!(view.filtered_len(), 3);
    }

    #[test]
    fn following_shows_the_newest_lines_and_a_scrolled_view_stays_put() {
        let mut view = LogView::default();
        for i in 0..10 {
            view.push(LogLevel::Info, at(), &format!("l{i}"));
        }
        assert_eq!(texts(&view, 3), ["l7", "l8", "l9"]);
        view.scroll_up(2);
        assert!(!view.following());
        assert_eq!(texts(&view, 3), ["l5", "l6", "l7"]);
        view.push(LogLevel::Info, at(), "l10");
        assert_eq!(texts(&view, 3), ["l5", "l6", "l7"], "view moved");
        view.scroll_down(100);
        assert!(view.following());
        assert_eq!(texts(&view, 3), ["l8", "l9", "l10"]);
    }

    #[test]
    fn scrolling_stops_at_the_oldest_line() {
        let mut view = LogView::default();
        for i in 0..4 {
            view.push(LogLevel::Info, at(), &format!("l{i}"));
        }
        view.scroll_up(1000);
        assert_eq!(view.offset(), 3);
        assert_eq!(texts(&view, 2), ["l0"]);
        view.scroll_to_oldest();
        assert_eq!(view.offset(), 3);
    }

    #[test]
    fn the_filter_hides_lower_levels_and_counts_only_what_it_admits() {
        let mut view = LogView::default();
        view.push(LogLevel::Debug, at(), "d");
        view.push(LogLevel::Info, at(), "i");
        view.push(LogLevel::Warn, at(), "w");
        view.push(LogLevel::Error, at(), "e");
        view.set_filter(LevelFilter::WarnAndAbove);
        assert_eq!(view.filtered_len(), 2);
        assert_eq!(texts(&view, 10), ["w", "e"]);
        view.scroll_up(1);
        assert_eq!(texts(&view, 10), ["w"]);
        // A hidden line does not move a scrolled view.
        view.push(LogLevel::Debug, at(), "d2");
        assert_eq!(texts(&view, 10), ["w"]);
        view.cycle_filter();
        assert_eq!(view.filter(), LevelFilter::ErrorOnly);
        assert_eq!(texts(&view, 10), ["e"]);
        view.cycle_filter();
        assert_eq!(texts(&view, 10), ["d", "i", "w", "e", "d2"]);
    }

    #[test]
    fn toggling_follow_pauses_on_the_current_lines_then_jumps_back() {
        let mut view = LogView::default();
        for i in 0..5 {
            view.push(LogLevel::Info, at(), &format!("l{i}"));
        }
        view.toggle_follow();
        assert!(!view.following());
        view.push(LogLevel::Info, at(), "l5");
        assert!(!view.following());
        assert_eq!(texts(&view, 1), ["l4"], "paused view moved");
        view.toggle_follow();
        assert!(view.following());
        assert_eq!(texts(&view, 1), ["l5"]);
    }

    #[test]
    fn lines_are_cleaned_of_escapes_and_control_characters() {
        assert_eq!(clean_line("\u{1b}[31mred\u{1b}[0m\tok\r\n"), "red ok");
        assert_eq!(clean_line("a\u{7}b\u{1b}]0;title\u{7}c"), "abc");
        assert_eq!(clean_line("two\nlines"), "two lines");
    }

    #[test]
    fn very_long_lines_are_cut() {
        let line = clean_line(&"é".repeat(100_000));
        assert_eq!(line.chars().count(), MAX_LINE_CHARS + 1);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn lines_are_redacted() {
        crate::secrets::register("ghp_logbufCanary123456");
        assert_eq!(clean_line("token ghp_logbufCanary123456"), "token ***");
    }
}
