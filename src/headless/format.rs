//! Small text pieces of the line output: the ►/✔/✗ marks and their colours.

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
    fn marks_are_coloured_only_when_asked() {
        assert_eq!(Mark::Done.render(false), "✔");
        assert_eq!(Mark::Failed.render(false), "✗");
        assert_eq!(Mark::Start.render(false), "►");
        assert_eq!(Mark::Done.render(true), "\x1b[32m✔\x1b[0m");
        assert_eq!(Mark::Failed.render(true), "\x1b[1m\x1b[31m✗\x1b[0m");
    }
}
