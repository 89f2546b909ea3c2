//! Logging: a log file with everything we emit, the headless console, secret redaction,
//! rotation and a tap for the TUI's log tail. Log lines never flow back into the state file:
//! the code that knows about a failure records it in the state's `errors[]` itself.
//!
//! Layers of the subscriber built by [`build_subscriber`]:
//! - **file**: every level from this crate (TRACE up), dependencies at INFO up; lines like
//!   `2025-11-11T10:30:45.123Z DEBUG kalypso_bootstrap::cluster: message key=value`
//!   (UTC with milliseconds, level right-aligned to 5 columns, span context, target,
//!   message, fields).
//! - **console** (optional; off while the TUI owns the screen): `[INFO]  2025-11-11 10:30:45 -
//!   message` in local time, at the [`Verbosity`] the caller resolved from `--quiet`,
//!   `--verbose` and `DEBUG`; the level tag is coloured unless colour is off.
//! - **tap** (optional): [`LogRecord`]s at the console's verbosity into a tokio channel,
//!   dropped when the channel is full.
//!
//! File and console output both go through one [`RedactingMakeWriter`] (see `redact.rs` for
//! why redacting per write is sound); the tap redacts the text it keeps.

#[cfg(test)]
mod captured;
mod clock;
mod console;
mod file;
mod redact;
mod render;
mod rotation;
mod tap;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use time::UtcOffset;
use tokio::sync::mpsc;
use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::Registry;

#[cfg(test)]
pub(crate) use captured::{alone_in_a_child, CapturedLog};
pub use clock::Clock;
pub use console::Verbosity;
pub(crate) use console::{console_time, write_level_tag};
pub use file::{
    check_log_path, default_log_path, format_iso8601_utc, open_log_file, LogPathProblem,
    LOG_DIR_MODE, LOG_DIR_NAME, LOG_FILE_MODE,
};
pub use redact::{RedactingMakeWriter, RedactingWriter};
pub use rotation::{log_file_timestamp, rotate_logs, RotationOutcome, KEEP_LOG_FILES};
pub use tap::LogRecord;

use crate::secrets::{self, Redactor};

/// Log lines formatted but not yet written to the file, at most (a few hundred bytes each).
const FILE_QUEUE_LINES: usize = 4096;
/// Bytes of log lines joined into one write.
const FILE_BUFFER_BYTES: usize = 64 * 1024;

/// The tracing target (prefix) of every event from this crate.
pub const CRATE_TARGET: &str = env!("CARGO_CRATE_NAME");

/// Whether the console layer writes to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsoleOutput {
    /// The headless front end: lines on stderr.
    #[default]
    Stderr,
    /// No console lines: the TUI owns the screen (use the tap instead).
    Off,
}

/// What [`init`] sets up. The caller resolves flags, environment and config first.
#[derive(Debug, Clone)]
pub struct LoggingSettings {
    /// The log file (`--log-file`, else [`default_log_path`]); `None` for no file.
    pub log_file: Option<PathBuf>,
    pub console: ConsoleOutput,
    /// Console and tap verbosity; the file always gets everything.
    pub verbosity: Verbosity,
    /// Colour the console's level tag (see [`crate::color::stream_wants_color`]).
    pub color: bool,
    /// Offset of the console's local time; see [`local_offset_or_utc`].
    pub console_utc_offset: UtcOffset,
    /// Feed for the TUI's log tail.
    pub tap: Option<mpsc::Sender<LogRecord>>,
}

impl LoggingSettings {
    /// Console on stderr in colour, no tap, local time for the console.
    pub fn new(log_file: Option<PathBuf>, verbosity: Verbosity) -> Self {
        Self {
            log_file,
            console: ConsoleOutput::Stderr,
            verbosity,
            color: true,
            console_utc_offset: local_offset_or_utc(),
            tap: None,
        }
    }
}

/// The local UTC offset, or UTC when it cannot be read soundly (on Unix once the process has
/// more than one thread). Call early in `main`, before the async runtime starts.
pub fn local_offset_or_utc() -> UtcOffset {
    UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC)
}

/// Everything [`build_subscriber`] needs besides the writers.
#[derive(Debug, Clone)]
pub struct SubscriberConfig {
    pub verbosity: Verbosity,
    pub color: bool,
    pub console_utc_offset: UtcOffset,
    pub clock: Clock,
    /// In production [`secrets::global`].
    pub redactor: &'static Redactor,
    pub tap: Option<mpsc::Sender<LogRecord>>,
}

/// Where the file and console layers write; `None` leaves that layer out.
#[derive(Debug, Default)]
pub struct LogWriters {
    pub file: Option<BoxMakeWriter>,
    pub console: Option<BoxMakeWriter>,
}

/// Keeps logging alive: dropping it flushes the file writer's queue and stops its thread.
#[must_use = "dropping the guard stops file logging"]
#[derive(Debug)]
pub struct LoggingGuard {
    log_file: Option<PathBuf>,
    file_worker: Option<WorkerGuard>,
    write_failure: WriteFailure,
}

impl LoggingGuard {
    /// The log file in use, to tell the user where to look.
    pub fn log_file(&self) -> Option<&Path> {
        self.log_file.as_deref()
    }

    /// The first write to the log file that failed, if any (later lines are lost).
    pub fn write_failure(&self) -> Option<String> {
        self.write_failure.get()
    }
}

impl Drop for LoggingGuard {
    /// Flush the file, then say on stderr if any line could not be written: a lost log is
    /// reported, never silent.
    fn drop(&mut self) {
        drop(self.file_worker.take());
        if let (Some(path), Some(error)) = (&self.log_file, self.write_failure.get()) {
            eprintln!(
                "WARN: the log file {} could not be written ({error}): lines from that point on are missing",
                path.display()
            );
        }
    }
}

/// The first error a write to the log file met, shared with the writer thread.
#[derive(Debug, Clone, Default)]
pub struct WriteFailure(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl WriteFailure {
    fn record(&self, error: &io::Error) {
        let mut first = self.0.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert_with(|| error.to_string());
    }

    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A writer that remembers its first error in a [`WriteFailure`] (the log writer thread
/// otherwise drops write errors).
#[derive(Debug)]
pub struct FailureRecordingWriter<W> {
    inner: W,
    failure: WriteFailure,
}

impl<W> FailureRecordingWriter<W> {
    pub fn new(inner: W, failure: WriteFailure) -> Self {
        Self { inner, failure }
    }
}

impl<W: io::Write> io::Write for FailureRecordingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .write(buf)
            .inspect_err(|e| self.failure.record(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|e| self.failure.record(e))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("cannot create the log directory {path}: {source}")]
    CreateDirectory { path: PathBuf, source: io::Error },
    #[error("cannot open the log file {path}: {source}")]
    OpenFile { path: PathBuf, source: io::Error },
    #[error("refusing the log file {path}: it {problem}")]
    Refused {
        path: PathBuf,
        problem: file::LogPathProblem,
    },
    #[error("cannot restrict the log file {path} to mode 0600: {source}")]
    SetPermissions { path: PathBuf, source: io::Error },
    #[error("logging is already set up in this process")]
    AlreadyInitialized,
}

/// The subscriber with the layers described in the module docs, writing to `writers`.
/// Tests install it with `tracing::subscriber::with_default`; [`init`] installs it globally.
pub fn build_subscriber(
    config: SubscriberConfig,
    writers: LogWriters,
) -> impl Subscriber + Send + Sync + 'static {
    let SubscriberConfig {
        verbosity,
        color,
        console_utc_offset,
        clock,
        redactor,
        tap,
    } = config;

    let file_layer = writers.file.map(|writer| {
        tracing_subscriber::fmt::layer()
            .event_format(
                tracing_subscriber::fmt::format()
                    .with_timer(file::UtcMillisTimer {
                        clock: clock.clone(),
                    })
                    .with_target(true)
                    .with_level(true),
            )
            .fmt_fields(render::EscapingFields::new())
            .with_ansi(false)
            .with_writer(RedactingMakeWriter::new(writer, redactor))
            .with_filter(file_filter())
    });

    let console_layer = writers.console.map(|writer| {
        tracing_subscriber::fmt::layer()
            .event_format(console::ConsoleFormat {
                color,
                utc_offset: console_utc_offset,
                clock: clock.clone(),
            })
            .fmt_fields(render::EscapingFields::new())
            .with_ansi(false)
            .with_writer(RedactingMakeWriter::new(writer, redactor))
            .with_filter(verbosity.filter())
    });

    let tap_layer = tap.map(|sender| {
        tap::TapLayer {
            sender,
            clock: clock.clone(),
            redactor,
        }
        .with_filter(verbosity.filter())
    });

    Registry::default()
        .with(file_layer)
        .with(console_layer)
        .with(tap_layer)
}

/// The file's filter: all of ours, INFO and up from dependencies.
fn file_filter() -> Targets {
    Targets::new()
        .with_target(CRATE_TARGET, LevelFilter::TRACE)
        .with_default(LevelFilter::INFO)
}

/// Open the log file (directory 0700, file 0600), prune old logs, and install the global
/// subscriber with console output on stderr, redaction through [`secrets::redact`] and the
/// optional tap. Keep the guard until the program ends.
///
/// Old logs are pruned only when the file's name follows our `bootstrap-{timestamp}.log`
/// pattern, so a custom `--log-file` in a shared directory never deletes anything; a file
/// that cannot be deleted is reported as a warning, not an error.
pub fn init(settings: LoggingSettings) -> Result<LoggingGuard, LoggingError> {
    if tracing::dispatcher::has_been_set() {
        return Err(LoggingError::AlreadyInitialized);
    }

    let mut rotation = None;
    let write_failure = WriteFailure::default();
    let mut file_worker = None;
    let mut file_writer = None;
    if let Some(path) = &settings.log_file {
        let prepared = prepare_log_file(path)?;
        rotation = prepared.rotation;
        // The writer thread flushes whenever its queue runs empty, so buffering only
        // joins the lines of a burst into few writes; nothing waits in the buffer longer.
        let file = io::BufWriter::with_capacity(
            FILE_BUFFER_BYTES,
            FailureRecordingWriter::new(prepared.file, write_failure.clone()),
        );
        // Lossless: when the queue is full the logging thread waits instead of dropping
        // lines, since the file is the record of what happened. The queue is short, so a
        // burst of child output waits for the disk rather than filling memory.
        let (writer, worker) = NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(FILE_QUEUE_LINES)
            .thread_name("kalypso-log-file")
            .finish(file);
        file_writer = Some(BoxMakeWriter::new(writer));
        file_worker = Some(worker);
    }

    let console_writer = match settings.console {
        ConsoleOutput::Stderr => Some(BoxMakeWriter::new(io::stderr)),
        ConsoleOutput::Off => None,
    };

    let subscriber = build_subscriber(
        SubscriberConfig {
            verbosity: settings.verbosity,
            color: settings.color,
            console_utc_offset: settings.console_utc_offset,
            clock: Clock::system(),
            redactor: secrets::global(),
            tap: settings.tap,
        },
        LogWriters {
            file: file_writer,
            console: console_writer,
        },
    );
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|_| LoggingError::AlreadyInitialized)?;

    if let Some(rotation) = rotation {
        report_rotation(rotation);
    }
    Ok(LoggingGuard {
        log_file: settings.log_file,
        file_worker,
        write_failure,
    })
}

/// A log file opened by [`prepare_log_file`], and what pruning its directory did.
#[derive(Debug)]
pub struct PreparedLogFile {
    pub file: File,
    /// `None` when the file's name is not ours and nothing was pruned.
    pub rotation: Option<io::Result<RotationOutcome>>,
}

/// [`open_log_file`], then, only when the name follows our `bootstrap-{timestamp}.log`
/// pattern, keep the newest [`KEEP_LOG_FILES`] of ours in its directory.
pub fn prepare_log_file(path: &Path) -> Result<PreparedLogFile, LoggingError> {
    let file = open_log_file(path)?;
    let is_ours = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(log_file_timestamp)
        .is_some();
    let rotation = is_ours.then(|| rotate_logs(file::log_directory(path), KEEP_LOG_FILES, path));
    Ok(PreparedLogFile { file, rotation })
}

/// Log what pruning did, now that there is somewhere to log it.
fn report_rotation(rotation: io::Result<RotationOutcome>) {
    match rotation {
        Ok(outcome) => {
            for path in &outcome.removed {
                tracing::debug!(path = %path.display(), "removed old log file");
            }
            for (path, error) in &outcome.failures {
                tracing::warn!(path = %path.display(), %error, "could not remove old log file");
            }
        }
        Err(error) => tracing::warn!(%error, "could not prune old log files"),
    }
}
