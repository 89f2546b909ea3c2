//! The headless front end's console lines:
//! `[INFO]  2025-11-11 10:30:45 - message key=value`.
//!
//! The time is local wall-clock time (people read the console; the log file keeps UTC). The
//! UTC offset is fixed when logging is set up: reading it later from a multi-threaded
//! process is unsound on Unix, and `time` then refuses, so
//! [`local_offset_or_utc`](super::local_offset_or_utc) falls back to UTC.

use std::fmt;

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::clock::Clock;
use super::CRATE_TARGET;

/// How much the console (and the TUI log tail) shows. The file always gets everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// `--quiet`: errors only.
    Quiet,
    /// INFO and up.
    #[default]
    Normal,
    /// `--verbose` or `DEBUG`: DEBUG and up.
    Verbose,
}

impl Verbosity {
    /// From the resolved flags; `quiet` wins if both are set (the CLI forbids that anyway).
    pub fn from_flags(quiet: bool, verbose: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Self::Quiet,
            (false, true) => Self::Verbose,
            (false, false) => Self::Normal,
        }
    }

    /// The most detailed level shown from this crate.
    pub fn crate_level(self) -> LevelFilter {
        match self {
            Self::Quiet => LevelFilter::ERROR,
            Self::Normal => LevelFilter::INFO,
            Self::Verbose => LevelFilter::DEBUG,
        }
    }

    /// The most detailed level shown from dependencies: one step quieter than ours, since
    /// their INFO chatter means nothing to someone installing Kalypso.
    pub fn dependency_level(self) -> LevelFilter {
        match self {
            Self::Quiet => LevelFilter::ERROR,
            Self::Normal => LevelFilter::WARN,
            Self::Verbose => LevelFilter::INFO,
        }
    }

    /// The per-layer filter for the console and the tap.
    pub(crate) fn filter(self) -> Targets {
        Targets::new()
            .with_target(CRATE_TARGET, self.crate_level())
            .with_default(self.dependency_level())
    }
}

/// The console event formatter.
pub(crate) struct ConsoleFormat {
    pub(crate) color: bool,
    pub(crate) utc_offset: UtcOffset,
    pub(crate) clock: Clock,
}

/// Width of the level tag column: `[ERROR] ` is the longest tag plus one space.
const TAG_WIDTH: usize = 8;

fn level_tag(level: Level) -> &'static str {
    match level {
        Level::ERROR => "[ERROR]",
        Level::WARN => "[WARN]",
        Level::INFO => "[INFO]",
        Level::DEBUG => "[DEBUG]",
        Level::TRACE => "[TRACE]",
    }
}

/// Colour of each tag: red, yellow, green, cyan, magenta.
fn level_style(level: Level) -> anstyle::Style {
    use crate::color;
    match level {
        Level::ERROR => color::FAILURE,
        Level::WARN => color::WARNING,
        Level::INFO => color::SUCCESS,
        Level::DEBUG => color::DEBUG,
        Level::TRACE => color::TRACE,
    }
}

/// The level tag padded to the tag column (`[INFO]  `, `[ERROR] `), coloured when asked.
/// Shared with the headless printer so its lines look like the console's.
pub(crate) fn write_level_tag(out: &mut impl fmt::Write, level: Level, color: bool) -> fmt::Result {
    let tag = level_tag(level);
    out.write_str(&crate::color::paint(tag, level_style(level), color))?;
    // Pad outside the colour codes so the visible column width is the same either way.
    write!(out, "{:width$}", "", width = TAG_WIDTH - tag.len())
}

/// The console's timestamp: `2025-11-11 10:30:45` at `utc_offset`.
pub(crate) fn console_time(at: OffsetDateTime, utc_offset: UtcOffset) -> Option<String> {
    at.to_offset(utc_offset)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .ok()
}

impl<S, N> FormatEvent<S, N> for ConsoleFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_level_tag(&mut writer, *event.metadata().level(), self.color)?;
        let stamp = console_time(self.clock.now(), self.utc_offset).ok_or(fmt::Error)?;
        write!(writer, "{stamp} - ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
