//! Colours and symbols. Every state has its own symbol, so a monochrome screen
//! (`--no-color` / `NO_COLOR`) still tells them apart; colour only adds emphasis, and the
//! monochrome styles use bold and dim instead.

use ratatui::style::{Color, Modifier, Style};

pub const SYMBOL_OK: &str = "✓";
pub const SYMBOL_FAIL: &str = "✗";
pub const SYMBOL_WARN: &str = "!";
pub const SYMBOL_PENDING: &str = "○";
pub const SYMBOL_REUSED: &str = "↺";
pub const SYMBOL_SKIPPED: &str = "–";
pub const SYMBOL_INFO: &str = "i";
pub const SYMBOL_SELECTED: &str = "▸";
pub const SYMBOL_BULLET: &str = "•";
pub const SPINNER_FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// How long one spinner frame shows; also the tick interval while something animates.
pub const SPINNER_FRAME_MS: i128 = 200;

/// The styles of one colour mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn new(no_color: bool) -> Self {
        Self { color: !no_color }
    }

    fn pick(self, colored: Style, mono: Style) -> Style {
        if self.color {
            colored
        } else {
            mono
        }
    }

    pub fn plain(self) -> Style {
        Style::default()
    }

    pub fn title(self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    pub fn ok(self) -> Style {
        self.pick(Style::default().fg(Color::Green), Style::default())
    }

    pub fn fail(self) -> Style {
        self.pick(
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    pub fn warn(self) -> Style {
        self.pick(
            Style::default().fg(Color::Yellow),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    pub fn running(self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    pub fn muted(self) -> Style {
        self.pick(
            Style::default().fg(Color::DarkGray),
            Style::default().add_modifier(Modifier::DIM),
        )
    }

    pub fn key(self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }

    /// The focused form row or selected list entry.
    pub fn focus(self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn border(self) -> Style {
        self.pick(Style::default().fg(Color::Blue), Style::default())
    }

    pub fn demo_badge(self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Black)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn gauge(self) -> Style {
        self.pick(Style::default().fg(Color::Green), Style::default())
    }
}

/// The spinner frame shown at `millis` (any monotonic clock in milliseconds).
pub fn spinner_frame(millis: i128) -> &'static str {
    let index = (millis.rem_euclid(SPINNER_FRAME_MS * SPINNER_FRAMES.len() as i128)
        / SPINNER_FRAME_MS) as usize;
    SPINNER_FRAMES[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spinner_advances_one_frame_per_interval_and_wraps() {
        assert_eq!(spinner_frame(0), SPINNER_FRAMES[0]);
        assert_eq!(spinner_frame(SPINNER_FRAME_MS - 1), SPINNER_FRAMES[0]);
        assert_eq!(spinner_frame(SPINNER_FRAME_MS), SPINNER_FRAMES[1]);
        assert_eq!(
            spinner_frame(SPINNER_FRAME_MS * SPINNER_FRAMES.len() as i128),
            SPINNER_FRAMES[0]
        );
        assert_eq!(spinner_frame(-1), SPINNER_FRAMES[9]);
    }

    #[test]
    fn monochrome_styles_carry_no_colour() {
        let theme = Theme::new(true);
        for style in [
            theme.title(),
            theme.ok(),
            theme.fail(),
            theme.warn(),
            theme.running(),
            theme.muted(),
            theme.key(),
            theme.focus(),
            theme.border(),
            theme.demo_badge(),
            theme.gauge(),
        ] {
            assert_eq!(style.fg, None);
            assert_eq!(style.bg, None);
        }
        assert!(theme.fail().add_modifier.contains(Modifier::BOLD));
    }
}
