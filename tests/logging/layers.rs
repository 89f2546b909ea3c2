//! The subscriber's layers, driven through `with_default` with in-memory writers: console
//! format and filtering, file content, redaction, tap.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kalypso_bootstrap::logging::{
    build_subscriber, Clock, LogRecord, LogWriters, SubscriberConfig, Verbosity,
};
use kalypso_bootstrap::secrets;
use regex::Regex;
use time::macros::{datetime, offset};
use time::UtcOffset;
use tokio::sync::mpsc;
use tracing::Level;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Events from "our crate" carry this target explicitly: the test binary's own target
/// would count as a dependency.
macro_rules! ours {
    ($mac:ident, $($arg:tt)+) => { tracing::$mac!(target: "kalypso_bootstrap::test", $($arg)+) };
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
    fn make_writer(&self) -> BoxMakeWriter {
        let buffer = self.clone();
        BoxMakeWriter::new(move || buffer.clone())
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Setup {
    verbosity: Verbosity,
    color: bool,
    offset: UtcOffset,
    console: bool,
    tap: Option<mpsc::Sender<LogRecord>>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            verbosity: Verbosity::Normal,
            color: false,
            offset: UtcOffset::UTC,
            console: true,
            tap: None,
        }
    }
}

struct Captured {
    file: String,
    console: String,
}

fn capture(setup: Setup, emit: impl FnOnce()) -> Captured {
    let file = Buffer::default();
    let console = Buffer::default();
    let subscriber = build_subscriber(
        SubscriberConfig {
            verbosity: setup.verbosity,
            color: setup.color,
            console_utc_offset: setup.offset,
            clock: Clock::fixed(datetime!(2025-11-11 10:30:45.123456 UTC)),
            redactor: secrets::global(),
            tap: setup.tap,
        },
        LogWriters {
            file: Some(file.make_writer()),
            console: setup.console.then(|| console.make_writer()),
        },
    );
    tracing::subscriber::with_default(subscriber, emit);
    Captured {
        file: file.text(),
        console: console.text(),
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn console_lines_have_the_exact_format_and_aligned_messages() {
    let out = capture(
        Setup {
            verbosity: Verbosity::Verbose,
            ..Setup::default()
        },
        || {
            ours!(info, "Creating cluster");
            ours!(warn, "Region is busy");
            ours!(error, "Cluster failed");
            ours!(debug, step = "cluster", "Polling");
        },
    );
    assert_eq!(
        lines(&out.console),
        [
            "[INFO]  2025-11-11 10:30:45 - Creating cluster",
            "[WARN]  2025-11-11 10:30:45 - Region is busy",
            "[ERROR] 2025-11-11 10:30:45 - Cluster failed",
            "[DEBUG] 2025-11-11 10:30:45 - Polling step=\"cluster\"",
        ]
    );
    let shape =
        Regex::new(r"^\[(INFO|WARN|ERROR|DEBUG)\] {1,2}\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - \S")
            .unwrap();
    for line in lines(&out.console) {
        assert!(shape.is_match(line), "{line:?}");
        assert_eq!(
            line.find(" - "),
            Some(27),
            "message column differs: {line:?}"
        );
    }
}

#[test]
fn console_time_is_shown_at_the_given_local_offset() {
    let out = capture(
        Setup {
            offset: offset!(+2),
            ..Setup::default()
        },
        || ours!(info, "hello"),
    );
    assert_eq!(out.console, "[INFO]  2025-11-11 12:30:45 - hello\n");
}

#[test]
fn colour_wraps_only_the_level_tag_and_no_colour_means_no_escapes() {
    let coloured = capture(
        Setup {
            color: true,
            ..Setup::default()
        },
        || {
            ours!(info, "a");
            ours!(error, "b");
        },
    );
    assert_eq!(
        lines(&coloured.console),
        [
            "\x1b[32m[INFO]\x1b[0m  2025-11-11 10:30:45 - a",
            "\x1b[1m\x1b[31m[ERROR]\x1b[0m 2025-11-11 10:30:45 - b",
        ]
    );
    assert!(!coloured.file.contains('\x1b'), "{:?}", coloured.file);

    let plain = capture(Setup::default(), || ours!(info, "a"));
    assert!(!plain.console.contains('\x1b'));
}

fn console_levels(verbosity: Verbosity) -> Vec<String> {
    let out = capture(
        Setup {
            verbosity,
            ..Setup::default()
        },
        || {
            ours!(trace, "t");
            ours!(debug, "d");
            ours!(info, "i");
            ours!(warn, "w");
            ours!(error, "e");
        },
    );
    out.console
        .lines()
        .map(|line| line.rsplit(" - ").next().unwrap().to_string())
        .collect()
}

#[test]
fn quiet_shows_errors_only_normal_info_up_verbose_adds_debug() {
    assert_eq!(console_levels(Verbosity::Quiet), ["e"]);
    assert_eq!(console_levels(Verbosity::Normal), ["i", "w", "e"]);
    assert_eq!(console_levels(Verbosity::Verbose), ["d", "i", "w", "e"]);
}

#[test]
fn verbosity_from_flags() {
    assert_eq!(Verbosity::from_flags(false, false), Verbosity::Normal);
    assert_eq!(Verbosity::from_flags(true, false), Verbosity::Quiet);
    assert_eq!(Verbosity::from_flags(false, true), Verbosity::Verbose);
    assert_eq!(Verbosity::from_flags(true, true), Verbosity::Quiet);
}

#[test]
fn the_file_gets_trace_and_debug_that_the_console_does_not() {
    let out = capture(
        Setup {
            verbosity: Verbosity::Quiet,
            ..Setup::default()
        },
        || {
            ours!(trace, "tracing detail");
            ours!(debug, "debug detail");
            ours!(info, "info line");
            ours!(error, "error line");
        },
    );
    assert_eq!(out.console, "[ERROR] 2025-11-11 10:30:45 - error line\n");
    let file = lines(&out.file);
    assert_eq!(file.len(), 4, "{}", out.file);
    assert!(file[0].contains("TRACE") && file[0].ends_with("tracing detail"));
    assert!(file[1].contains("DEBUG") && file[1].ends_with("debug detail"));
}

#[test]
fn file_lines_carry_an_iso8601_utc_timestamp_level_target_message_and_fields() {
    let out = capture(Setup::default(), || {
        ours!(debug, attempt = 3, "retrying az");
        let span = tracing::info_span!(target: "kalypso_bootstrap::test", "step", name = "flux");
        let _entered = span.enter();
        ours!(info, "installing");
    });
    let file = lines(&out.file);
    assert_eq!(
        file[0],
        "2025-11-11T10:30:45.123Z DEBUG kalypso_bootstrap::test: retrying az attempt=3"
    );
    let iso = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z  INFO ").unwrap();
    assert!(iso.is_match(file[1]), "{}", file[1]);
    assert!(file[1].contains("step{name=\"flux\"}"), "{}", file[1]);
    assert!(
        file[1].ends_with("kalypso_bootstrap::test: installing"),
        "{}",
        file[1]
    );
}

#[test]
fn dependencies_reach_the_file_at_info_and_the_console_at_warn() {
    let out = capture(Setup::default(), || {
        tracing::debug!(target: "hyper::client", "dependency debug");
        tracing::info!(target: "hyper::client", "dependency info");
        tracing::warn!(target: "hyper::client", "dependency warn");
    });
    assert!(!out.file.contains("dependency debug"));
    assert!(out.file.contains("dependency info"));
    assert!(out.file.contains("dependency warn"));
    assert!(!out.console.contains("dependency info"));
    assert!(out.console.contains("dependency warn"));
}

#[test]
fn a_registered_canary_and_its_base64_never_reach_file_console_or_tap() {
    const CANARY: &str = "ghp_layersCANARY0123456789abcdef";
    secrets::register(CANARY);
    let encoded = STANDARD.encode(CANARY);
    let header = STANDARD.encode(format!("x-access-token:{CANARY}"));
    let (sender, mut receiver) = mpsc::channel(16);

    let out = capture(
        Setup {
            tap: Some(sender),
            ..Setup::default()
        },
        || {
            ours!(info, "token is {CANARY}");
            ours!(warn, token = CANARY, "as a field");
            ours!(info, "encoded {encoded} and header {header}");
            let span =
                tracing::info_span!(target: "kalypso_bootstrap::test", "auth", secret = CANARY);
            let _entered = span.enter();
            ours!(error, "push failed for {CANARY}");
        },
    );

    let mut tapped = Vec::new();
    while let Ok(record) = receiver.try_recv() {
        tapped.push(record.message);
    }
    let outputs = [
        ("file", out.file.clone()),
        ("console", out.console.clone()),
        ("tap", tapped.join("\n")),
    ];
    for (name, text) in outputs {
        assert!(!text.is_empty(), "{name} got nothing");
        assert!(!text.contains(CANARY), "{name}: {text}");
        assert!(!text.contains(&encoded), "{name}: {text}");
        assert!(
            !text.contains(&encoded[..encoded.len() - 4]),
            "{name}: {text}"
        );
        assert!(text.contains("***"), "{name}: {text}");
    }
    assert!(out.file.contains("token is ***"));
    assert!(out.console.contains("push failed for ***"));
}

#[test]
fn the_tap_forwards_console_level_records_and_drops_when_full() {
    let (sender, mut receiver) = mpsc::channel(2);
    let out = capture(
        Setup {
            console: false,
            tap: Some(sender),
            ..Setup::default()
        },
        || {
            ours!(debug, "not at normal verbosity");
            ours!(info, "first");
            ours!(error, stage = "helm", "second");
            ours!(info, "dropped: channel full");
        },
    );
    assert_eq!(out.console, "", "console disabled");
    assert!(out.file.contains("dropped: channel full"));

    let first = receiver.try_recv().unwrap();
    assert_eq!(
        first,
        LogRecord {
            level: Level::INFO,
            timestamp: datetime!(2025-11-11 10:30:45.123456 UTC),
            message: "first".into(),
        }
    );
    let second = receiver.try_recv().unwrap();
    assert_eq!(second.level, Level::ERROR);
    assert_eq!(second.message, "second stage=helm");
    assert!(
        receiver.try_recv().is_err(),
        "third record should be dropped"
    );
}

#[test]
fn a_closed_tap_does_not_disturb_logging() {
    let (sender, receiver) = mpsc::channel(1);
    drop(receiver);
    let out = capture(
        Setup {
            tap: Some(sender),
            ..Setup::default()
        },
        || ours!(info, "still logged"),
    );
    assert_eq!(out.console, "[INFO]  2025-11-11 10:30:45 - still logged\n");
}

/// A message or field quoting a tool's output with terminal controls (a title change, a
/// C1 CSI, a bell, a colour) reaches the console, the file, and the tap as
/// visible escapes; the console's own colour on the level tag stays (issue 12, item 7).
#[test]
fn control_characters_from_outside_are_escaped_in_every_layer_but_our_colour_stays() {
    const HOSTILE: &str = "tool said \u{1b}]0;OWNED\u{7}\u{9b}2J\r\u{1b}[31mred";
    let (tap, mut tapped) = mpsc::channel(8);
    let out = capture(
        Setup {
            color: true,
            tap: Some(tap),
            ..Setup::default()
        },
        || {
            ours!(error, output = HOSTILE, "{HOSTILE}");
        },
    );
    let raw = |text: &str| -> Vec<char> {
        text.chars()
            .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
            .collect()
    };
    assert_eq!(raw(&out.file), Vec::<char>::new(), "{:?}", out.file);
    // (tracing-subscriber writes ESC and BEL as `\x1b`, `\x07` itself; the rest is ours.)
    assert!(out.file.contains("OWNED"), "{:?}", out.file);
    // The console: only the level tag's own colour codes.
    let console = out
        .console
        .replacen("\x1b[1m\x1b[31m", "", 1)
        .replacen("\x1b[0m", "", 1);
    assert_eq!(raw(&console), Vec::<char>::new(), "{:?}", out.console);
    assert!(out.console.starts_with("\x1b[1m\x1b[31m[ERROR]\x1b[0m"));
    let record = tapped.try_recv().expect("the tap got the record");
    assert_eq!(
        raw(&record.message),
        Vec::<char>::new(),
        "{:?}",
        record.message
    );
}
