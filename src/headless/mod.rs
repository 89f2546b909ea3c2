//! The headless front end (`--no-tui`, and the default off a terminal): consumes the
//! engine's [`Event`]s and writes them as lines.
//!
//! - **text**: lines like `flux bootstrap`'s: `► Cluster: AKS pre-flight checks, …` as a
//!   phase starts, `✔ AKS cluster created (4m 12s): …` or `✗ … failed` as a step ends, `◎`
//!   for a long wait (see [`LONG_WAIT_MS`], [`PROGRESS_INTERVAL_MS`]), then the summary block (success) or
//!   the failure block (failed step, error, hint, exit code: each said once). `--quiet`
//!   shows errors and the final block only; `--verbose` adds each line's level and local
//!   time (`[INFO]  2025-11-11 10:30:45 - `) and the debug detail (each step's start, every
//!   state transition, pending health checks, the plan). Resource kinds read in people's
//!   words ([`crate::state::in_human_words`]).
//! - **json**: first the stream's `version` line
//!   ([`crate::engine::events::stream_version_line`]), then exactly one
//!   [`Event::to_json_line`] per line and nothing else. Every
//!   structural event is written; `log` events follow the verbosity like in text mode.
//!   The prerequisite check comes first as events too ([`prerequisite_events`]).
//!
//! Everything written passes through the redactor ([`crate::secrets::global`] unless
//! another is injected). The printer writes to an injected writer, never to the real stdout
//! itself; prompts ([`prompts`]) go to their own writer (stderr in production).

mod format;
pub mod front_end;
pub mod prerequisites;
pub mod prompts;
mod text;

use std::fmt::Write as _;
use std::future::Future;
use std::io::{self, Write};
use std::path::Path;

use time::UtcOffset;
use tokio::sync::mpsc;

use crate::cli::OutputFormat;
use crate::engine::events::LogLevel;
use crate::engine::{Event, EventKind, Resume};
use crate::logging::{console_time, write_level_tag, Verbosity};
use crate::secrets::{self, Redactor};

pub use front_end::{choose_front_end, headless_color, FrontEnd, HeadlessReason, TerminalFacts};
pub use prerequisites::{prerequisite_events, skipped_prerequisite_events};
pub use prompts::{is_yes, LinePrompts, NoPrompts, Prompts};
pub use text::{LONG_WAIT_MS, PROGRESS_INTERVAL_MS};

use text::{FilePaths, Piece, TextRenderer};

/// Where events come from: the orchestrator's channel, bounded or not.
pub trait EventSource {
    /// The next event, or `None` once the sender is gone.
    fn next_event(&mut self) -> impl Future<Output = Option<Event>> + Send;
}

impl EventSource for mpsc::Receiver<Event> {
    fn next_event(&mut self) -> impl Future<Output = Option<Event>> + Send {
        self.recv()
    }
}

impl EventSource for mpsc::UnboundedReceiver<Event> {
    fn next_event(&mut self) -> impl Future<Output = Option<Event>> + Send {
        self.recv()
    }
}

impl<S: EventSource + Send> EventSource for &mut S {
    fn next_event(&mut self) -> impl Future<Output = Option<Event>> + Send {
        (**self).next_event()
    }
}

/// How the printer writes.
#[derive(Debug, Clone)]
pub struct PrinterSettings {
    pub format: OutputFormat,
    pub verbosity: Verbosity,
    /// ANSI colour in text mode; see [`headless_color`].
    pub color: bool,
    /// Offset of the local time shown in text mode; see
    /// [`crate::logging::local_offset_or_utc`].
    pub utc_offset: UtcOffset,
    pub redactor: &'static Redactor,
    /// Shown in the failure block (the summary block takes them from the run summary).
    pub log_file: Option<String>,
    pub state_file: Option<String>,
    /// The exact command that removes what this run created (named in the failure block's
    /// next steps); `None` when no command can reach the run's world.
    pub clean_command: Option<String>,
    /// What resumes the run (named in the failure block's next steps).
    pub resume: Resume,
}

impl PrinterSettings {
    /// No colour, UTC, the process-wide redactor, no file paths.
    pub fn new(format: OutputFormat, verbosity: Verbosity) -> Self {
        Self {
            format,
            verbosity,
            color: false,
            utc_offset: UtcOffset::UTC,
            redactor: secrets::global(),
            log_file: None,
            state_file: None,
            clean_command: None,
            resume: Resume::default(),
        }
    }

    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    pub fn with_utc_offset(mut self, utc_offset: UtcOffset) -> Self {
        self.utc_offset = utc_offset;
        self
    }

    pub fn with_redactor(mut self, redactor: &'static Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    pub fn with_files(mut self, log_file: Option<&Path>, state_file: Option<&Path>) -> Self {
        self.log_file = log_file.map(|path| path.display().to_string());
        self.state_file = state_file.map(|path| path.display().to_string());
        self
    }

    pub fn with_clean_command(mut self, command: Option<String>) -> Self {
        self.clean_command = command;
        self
    }

    pub fn with_resume(mut self, resume: Resume) -> Self {
        self.resume = resume;
        self
    }
}

/// How the run ended, as far as the events said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedEnd {
    Finished,
    Failed { exit_code: i32 },
}

impl ReportedEnd {
    pub fn exit_code(self) -> i32 {
        match self {
            ReportedEnd::Finished => 0,
            ReportedEnd::Failed { exit_code } => exit_code,
        }
    }
}

/// Writes events as text lines or JSON lines to `out`.
pub struct HeadlessPrinter<W: Write> {
    settings: PrinterSettings,
    out: W,
    renderer: TextRenderer,
    run_end: Option<ReportedEnd>,
    /// JSON: the stream's `version` line is written before its first event.
    version_written: bool,
}

/// What the line output would end with, for a front end that drew the run itself (the
/// wizard): fed every event of a run, it keeps the closing block (the summary after a
/// success; after a failure the failed step, the error, the hint, the rollback and the
/// next commands) to print on the normal screen once the wizard has left it, where the
/// scrollback keeps it.
pub struct ClosingSummary {
    renderer: TextRenderer,
    block: Option<Vec<String>>,
    /// The run's failure: the wizard asks about the rollback after it, so its block is
    /// made again once the rollback has finished, to say what it did.
    failure: Option<Event>,
}

impl ClosingSummary {
    pub fn new(settings: &PrinterSettings) -> Self {
        Self {
            renderer: TextRenderer::new(FilePaths {
                log_file: settings.log_file.clone(),
                state_file: settings.state_file.clone(),
                clean_command: settings.clean_command.clone(),
                resume: settings.resume.clone(),
            })
            .with_places(),
            block: None,
            failure: None,
        }
    }

    pub fn record(&mut self, event: &Event) {
        match event.kind {
            // A run started again from the wizard: only its own end counts.
            EventKind::RunStarted { .. } => {
                self.block = None;
                self.failure = None;
            }
            EventKind::RunFailed { .. } => self.failure = Some(event.clone()),
            _ => {}
        }
        self.keep_block(event);
        if let (EventKind::RollbackFinished { .. }, Some(failure)) =
            (&event.kind, self.failure.clone())
        {
            self.keep_block(&failure);
        }
    }

    fn keep_block(&mut self, event: &Event) {
        for piece in self.renderer.render(event) {
            if let Piece::Block(lines) = piece {
                self.block = Some(lines);
            }
        }
    }

    /// The closing block as the line output prints it: control characters escaped, secrets
    /// masked, resource kinds in people's words.
    pub fn text(&self) -> Option<String> {
        let lines = self.block.as_ref()?;
        let text: Vec<String> = lines
            .iter()
            .map(|line| crate::text::escape_controls(&secrets::redact(line)).into_owned())
            .collect();
        Some(crate::state::in_human_words(&text.join("\n")).into_owned())
    }
}

impl<W: Write> HeadlessPrinter<W> {
    pub fn new(settings: PrinterSettings, out: W) -> Self {
        let renderer = TextRenderer::new(FilePaths {
            log_file: settings.log_file.clone(),
            state_file: settings.state_file.clone(),
            clean_command: settings.clean_command.clone(),
            resume: settings.resume.clone(),
        });
        Self {
            settings,
            out,
            renderer,
            run_end: None,
            version_written: false,
        }
    }

    /// Print every event until the source closes. Returns how the run ended, or `None` when
    /// the source closed without a `run_finished`/`run_failed` (the caller reports that: in
    /// JSON mode nothing but events may reach the output). Stops at the first write error.
    pub async fn run(&mut self, mut source: impl EventSource) -> io::Result<Option<ReportedEnd>> {
        while let Some(event) = source.next_event().await {
            self.handle(&event)?;
        }
        Ok(self.run_end)
    }

    /// Print one event (and flush, so piped output keeps pace with the run).
    pub fn handle(&mut self, event: &Event) -> io::Result<()> {
        match &event.kind {
            EventKind::RunFinished { .. } => self.run_end = Some(ReportedEnd::Finished),
            EventKind::RunFailed { exit_code, .. } => {
                self.run_end = Some(ReportedEnd::Failed {
                    exit_code: *exit_code,
                })
            }
            _ => {}
        }
        let text = match self.settings.format {
            OutputFormat::Json => self.json(event),
            OutputFormat::Text => self.text(event),
        };
        self.write(&text)
    }

    fn write(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let redacted = self.settings.redactor.redact(text);
        self.out.write_all(redacted.as_bytes())?;
        self.out.flush()
    }

    /// The prerequisite check that passed, in text mode: one line of versions and
    /// sign-ins, a line per warning. JSON has its events instead ([`prerequisite_events`]).
    pub fn prerequisites(&mut self, report: &crate::prereq::PrereqReport) -> io::Result<()> {
        if self.settings.format != OutputFormat::Text {
            return Ok(());
        }
        let pieces = self.renderer.prerequisites(report);
        let text = self.pieces_text(&crate::state::Timestamp::now(), pieces);
        self.write(&text)
    }

    /// How the run ended so far.
    pub fn run_end(&self) -> Option<ReportedEnd> {
        self.run_end
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn json(&mut self, event: &Event) -> String {
        if let EventKind::Log { level, .. } = &event.kind {
            if !self.shows(*level) {
                return String::new();
            }
        }
        let mut lines = String::new();
        if !self.version_written {
            self.version_written = true;
            lines.push_str(&crate::engine::events::stream_version_line(event.ts));
            lines.push('\n');
        }
        // serde escapes C0 controls but writes C1 ones (`\u{9b}`, a CSI) as they are.
        lines.push_str(&crate::text::escape_controls(&event.to_json_line()));
        lines.push('\n');
        lines
    }

    fn text(&mut self, event: &Event) -> String {
        let pieces = self.renderer.render(event);
        self.pieces_text(&event.ts, pieces)
    }

    fn pieces_text(&self, at: &crate::state::Timestamp, pieces: Vec<Piece>) -> String {
        let stamp = console_time(at.as_offset_date_time(), self.settings.utc_offset)
            .unwrap_or_else(|| at.to_rfc3339());
        let mut text = String::new();
        for piece in pieces {
            match piece {
                Piece::Line {
                    level,
                    mark,
                    text: message,
                } => {
                    if self.shows(level) {
                        self.write_line(&mut text, level, mark, &stamp, &message);
                    }
                }
                Piece::Block(lines) => {
                    for line in lines {
                        text.push_str(&crate::text::escape_controls(&line));
                        text.push('\n');
                    }
                }
            }
        }
        // Resource kinds from the events' descriptions, in people's words.
        crate::state::in_human_words(&text).into_owned()
    }

    /// `[mark ]message`, continuation lines indented under the text; with `--verbose`
    /// each line is led by its level and time: `[LEVEL] stamp - [mark ]message`.
    fn write_line(
        &self,
        text: &mut String,
        level: LogLevel,
        mark: Option<format::Mark>,
        stamp: &str,
        message: &str,
    ) {
        let color = self.settings.color;
        let tagged = self.settings.verbosity == Verbosity::Verbose;
        for (index, part) in message.split('\n').enumerate() {
            if tagged {
                let _ = write_level_tag(text, tracing_level(level), color);
                let _ = write!(text, "{stamp} - ");
            }
            match (index, mark) {
                (0, Some(mark)) => {
                    text.push_str(&mark.render(color));
                    text.push(' ');
                }
                (0, None) => {}
                (_, _) if !tagged => text.push_str("  "),
                _ => {}
            }
            // The message may quote a tool or a name from outside: its controls are
            // shown; only the tag's and the mark's colours are ours.
            text.push_str(&crate::text::escape_controls(part.trim_end_matches('\r')));
            text.push('\n');
        }
    }

    fn shows(&self, level: LogLevel) -> bool {
        match self.settings.verbosity {
            Verbosity::Quiet => level == LogLevel::Error,
            Verbosity::Normal => level != LogLevel::Debug,
            Verbosity::Verbose => true,
        }
    }
}

fn tracing_level(level: LogLevel) -> tracing::Level {
    match level {
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Error => tracing::Level::ERROR,
    }
}
