//! Small text pieces of the line output: durations, the ►/✔/✗ marks and their colours.

/// `850ms`, `12s`, `4m 12s`, `1h 3m 20s`.
pub fn format_duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    format_seconds(ms / 1000)
}

/// Elapsed time of a step still running, to the second: `0s`, `1m 30s`.
pub fn format_elapsed(ms: u64) -> String {
    format_seconds(ms / 1000)
}

fn format_seconds(total: u64) -> String {
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    if hours > 0 {
        format!("{hours}h {minutes}m {seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// The symbol in front of a line, as `flux bootstrap` uses them: `►` something starts,
/// `◎` a long wait goes on, `✔` it succeeded, `✗` it failed, `⚠` a warning. Always followed
/// by words saying the same ("created", "failed"), so the line reads right without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Start,
    Waiting,
    Done,
    Failed,
    Warning,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Start => "►",
            Mark::Waiting => "◎",
            Mark::Done => "✔",
            Mark::Failed => "✗",
            Mark::Warning => "⚠",
        }
    }

    /// The symbol, coloured when `color`.
    pub fn render(self, color: bool) -> String {
        let style = match self {
            Mark::Start | Mark::Waiting => crate::color::PROGRESS,
            Mark::Done => crate::color::SUCCESS,
            Mark::Failed => crate::color::FAILURE,
            Mark::Warning => crate::color::WARNING,
        };
        crate::color::paint(self.symbol(), style, color)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(format_duration(0), "0ms");
        assert_eq!(format_duration(850), "850ms");
        assert_eq!(format_duration(12_400), "12s");
        assert_eq!(format_duration(252_000), "4m 12s");
        assert_eq!(format_duration(3_800_000), "1h 3m 20s");
        assert_eq!(format_elapsed(999), "0s");
        assert_eq!(format_elapsed(90_000), "1m 30s");
    }

    #[test]
    fn marks_are_coloured_only_when_asked() {
        assert_eq!(Mark::Done.render(false), "✔");
        assert_eq!(Mark::Failed.render(false), "✗");
        assert_eq!(Mark::Start.render(false), "►");
        assert_eq!(Mark::Done.render(true), "\x1b[32m✔\x1b[0m");
        assert_eq!(Mark::Failed.render(true), "\x1b[1m\x1b[31m✗\x1b[0m");
    }
}
