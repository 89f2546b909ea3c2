//! Colour outside the wizard (the line output on stdout, the console log on stderr): whether
//! a stream gets it, and the styles, from `anstream`/`anstyle` rather than escape codes
//! written by hand. The wizard has its own theme (`tui::theme`).

use anstream::stream::RawStream;
use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

/// `FORCE_COLOR` (<https://force-color.org>): set to anything non-empty, colour even when the
/// stream is not a terminal (GitHub Actions' logs are not). anstream does not read it.
pub const FORCE_COLOR_VAR: &str = "FORCE_COLOR";

/// Whether `stream` gets colour. Never with `--no-color` (which `KALYPSO_NO_COLOR` and a
/// non-empty `NO_COLOR` also set). Otherwise the conventions, in anstream's order:
/// a non-empty `NO_COLOR` never; a non-empty `CLICOLOR_FORCE` (<https://bixense.com/clicolors>)
/// or `FORCE_COLOR` always; `CLICOLOR=0` never; else only a terminal whose `TERM` is set and
/// not `dumb` (or, on a terminal, `CLICOLOR` set to anything but `0`, or `CI` set).
pub fn stream_wants_color<S: RawStream>(no_color_option: bool, stream: &S) -> bool {
    if no_color_option || non_empty("NO_COLOR") {
        return false;
    }
    if non_empty(FORCE_COLOR_VAR) {
        return true;
    }
    AutoStream::choice(stream) != ColorChoice::Never
}

/// `FORCE_COLOR` for what anstream itself prints (clap's help and errors), which reads
/// `NO_COLOR` and `CLICOLOR_FORCE` but not `FORCE_COLOR`. Called first thing in `main`.
pub fn apply_force_color() {
    if !non_empty("NO_COLOR") && non_empty(FORCE_COLOR_VAR) {
        ColorChoice::Always.write_global();
    }
}

fn non_empty(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|value| !value.is_empty())
}

/// Something went well: `✔`, `[INFO]`.
pub const SUCCESS: Style = AnsiColor::Green.on_default();
/// Something failed: `✗`, `[ERROR]`.
pub const FAILURE: Style = AnsiColor::Red.on_default().bold();
/// A warning: `⚠`, `[WARN]`.
pub const WARNING: Style = AnsiColor::Yellow.on_default();
/// Something starts or goes on: `►`, `◎`.
pub const PROGRESS: Style = AnsiColor::Blue.on_default();
/// `[DEBUG]`.
pub const DEBUG: Style = AnsiColor::Cyan.on_default();
/// `[TRACE]`.
pub const TRACE: Style = AnsiColor::Magenta.on_default();

/// `text` in `style` when `color`, as it is otherwise.
pub fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_in_the_style_and_its_reset_only_when_asked() {
        assert_eq!(paint("✔", SUCCESS, true), "\x1b[32m✔\x1b[0m");
        assert_eq!(paint("✗", FAILURE, true), "\x1b[1m\x1b[31m✗\x1b[0m");
        assert_eq!(paint("✔", SUCCESS, false), "✔");
    }
}
