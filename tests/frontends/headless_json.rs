//! `--output json`: one contract JSON object per event per line, nothing else.

use crate::support::headless::*;
use kalypso_bootstrap::cli::OutputFormat;
use kalypso_bootstrap::engine::events::LogLevel;
use kalypso_bootstrap::engine::{Event, EventKind};
use kalypso_bootstrap::headless::{HeadlessPrinter, PrinterSettings, ReportedEnd};
use kalypso_bootstrap::logging::Verbosity;
use serde_json::Value;

const CONTRACT_KEYS: [&str; 8] = [
    "event",
    "ts",
    "phase",
    "step",
    "action",
    "outcome",
    "duration_ms",
    "message",
];

const EVENT_NAMES: [&str; 13] = [
    "version",
    "run_started",
    "phase_started",
    "step_started",
    "step_progress",
    "step_finished",
    "health_check",
    "log",
    "rollback_started",
    "rollback_action",
    "rollback_finished",
    "run_finished",
    "run_failed",
];

fn json(verbosity: Verbosity) -> PrinterSettings {
    PrinterSettings::new(OutputFormat::Json, verbosity)
}

fn all_events() -> Vec<Event> {
    let mut events = success_run();
    events.extend(failure_with_rollback());
    events
}

fn parse_lines(out: &str) -> Vec<Value> {
    assert!(
        out.ends_with('\n'),
        "output must end with a newline: {out:?}"
    );
    out.lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line:?}"))
        })
        .collect()
}

#[test]
fn every_line_is_a_json_object_with_the_contract_keys() {
    let out = print(json(Verbosity::Verbose), &all_events());
    let values = parse_lines(&out);
    let rfc3339_millis = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    for value in &values {
        let object = value.as_object().expect("an object per line");
        for key in CONTRACT_KEYS {
            assert!(object.contains_key(key), "{key} missing in {value}");
        }
        assert!(
            EVENT_NAMES.contains(&value["event"].as_str().unwrap()),
            "{value}"
        );
        let ts = value["ts"].as_str().unwrap();
        assert!(rfc3339_millis.is_match(ts), "{ts}");
    }
}

#[test]
fn each_event_is_exactly_its_to_json_line() {
    let events = all_events();
    let out = print(json(Verbosity::Verbose), &events);
    // The stream's version line first, at the first event's time (the contract's name and
    // version: docs/reference.md "Machine-readable contracts").
    let mut expected = format!(
        "{}\n",
        kalypso_bootstrap::engine::events::stream_version_line(events[0].ts)
    );
    expected.extend(
        events
            .iter()
            .map(|event| format!("{}\n", event.to_json_line())),
    );
    assert_eq!(out, expected);
    assert_eq!(out.lines().count(), events.len() + 1);
}

#[test]
fn json_lines_carry_the_values_of_the_event() {
    let out = print(json(Verbosity::Normal), &success_run());
    let values = parse_lines(&out);
    let created = values
        .iter()
        .find(|v| v["event"] == "step_finished" && v["step"] == "cluster.create")
        .expect("cluster.create finished");
    assert_eq!(created["phase"], "cluster");
    assert_eq!(created["action"], "create");
    assert_eq!(created["outcome"], "succeeded");
    assert_eq!(created["duration_ms"], 252_000);
    assert_eq!(created["ts"], "2025-11-11T10:34:58.000Z");
    let last = values.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["summary"]["cluster"], "kalypso-aks");
}

#[test]
fn no_text_decoration_reaches_json_output_even_with_colour_on() {
    let out = print(json(Verbosity::Normal).with_color(true), &all_events());
    assert!(!out.contains('\x1b'), "{out}");
    assert!(!out.contains("[INFO]"), "{out}");
    assert!(!out.contains("Summary"), "{out}");
}

#[test]
fn log_events_follow_the_verbosity_and_everything_else_is_always_written() {
    let events = all_events();
    let structural = events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Log { .. }))
        .count();
    let log_levels = |verbosity| -> Vec<String> {
        parse_lines(&print(json(verbosity), &events))
            .iter()
            .filter(|v| v["event"] == "log")
            .map(|v| v["level"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(log_levels(Verbosity::Verbose), ["debug", "warn"]);
    assert_eq!(log_levels(Verbosity::Normal), ["warn"]);
    assert!(log_levels(Verbosity::Quiet).is_empty());
    // Each with the stream's version line before it.
    let quiet = parse_lines(&print(json(Verbosity::Quiet), &events));
    assert_eq!(quiet.len(), 1 + structural);

    let error = [log(0, LogLevel::Error, "boom")];
    assert_eq!(parse_lines(&print(json(Verbosity::Quiet), &error)).len(), 2);
    // A stream of nothing but hidden log lines prints nothing, not even its version.
    let hidden = [log(0, LogLevel::Debug, "quiet")];
    assert_eq!(print(json(Verbosity::Quiet), &hidden), "");
}

#[test]
fn a_registered_canary_secret_never_reaches_the_json_output() {
    const CANARY: &str = "ghp_headlessJsonCanary0123456789";
    kalypso_bootstrap::secrets::register(CANARY);
    let mut events = all_events();
    events.push(log(9, LogLevel::Warn, &format!("GITHUB_TOKEN={CANARY}")));
    let out = print(json(Verbosity::Verbose), &events);
    assert!(!out.contains(CANARY), "{out}");
    let values = parse_lines(&out);
    assert_eq!(values.last().unwrap()["message"], "GITHUB_TOKEN=***");
}

#[tokio::test]
async fn json_mode_over_a_channel_reports_the_exit_code() {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    for event in failure_with_rollback() {
        sender.send(event).unwrap();
    }
    drop(sender);
    let mut printer = HeadlessPrinter::new(json(Verbosity::Normal), Vec::new());
    assert_eq!(
        printer.run(receiver).await.unwrap(),
        Some(ReportedEnd::Failed { exit_code: 5 })
    );
    let out = String::from_utf8(printer.into_inner()).unwrap();
    let values = parse_lines(&out);
    assert_eq!(values.last().unwrap()["event"], "run_failed");
    assert_eq!(values.last().unwrap()["exit_code"], 5);
}

// ---------------------------------------------------------------------------------------
// The binary: the prerequisite check is part of the event stream

/// Every stdout line of `output` parsed, asserting each is a contract JSON object.
fn binary_events(output: &std::process::Output) -> Vec<Value> {
    let out = String::from_utf8(output.stdout.clone()).unwrap();
    let values = parse_lines(&out);
    for value in &values {
        for key in CONTRACT_KEYS {
            assert!(value.get(key).is_some(), "{key} missing in {value}");
        }
    }
    values
}

/// The `log` messages of the prerequisites phase.
fn prerequisite_rows(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "log" && e["phase"] == "prerequisites")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_demo_run_starts_with_the_prerequisites_phase_and_stays_json() {
    let home = tempfile::TempDir::new().unwrap();
    let output = crate::support::demo::demo_command(home.path(), "ghp_jsonPrereqCanary0123456789")
        .args(["--output", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let events = binary_events(&output);
    assert_eq!(events[0]["event"], "version");
    assert_eq!(events[1]["event"], "phase_started");
    assert_eq!(events[1]["phase"], "prerequisites");
    let rows = prerequisite_rows(&events);
    for row in [
        "az: PASS",
        "kubectl: PASS",
        "gh: PASS",
        "helm: PASS",
        "git: PASS",
    ] {
        assert!(rows.iter().any(|r| r.starts_with(row)), "{row}: {rows:?}");
    }
    for check in ["Azure sign-in: PASS", "GitHub sign-in: PASS"] {
        assert!(
            rows.iter().any(|r| r.starts_with(check)),
            "{check}: {rows:?}"
        );
    }
    assert!(rows.iter().any(|r| r.starts_with("Prerequisites: PASSED")));
    // The check comes before the run: nothing of it after `run_started`.
    let run_started = events
        .iter()
        .position(|e| e["event"] == "run_started")
        .unwrap();
    assert!(events[run_started..]
        .iter()
        .all(|e| e["phase"] != "prerequisites"));
    assert_eq!(events.last().unwrap()["event"], "run_finished");
}

/// A directory holding only `git`, for a PATH without az, gh, kubectl and helm.
fn path_with_only_git(dir: &std::path::Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let git = std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("git"))
                .find(|candidate| candidate.is_file())
        })
        .expect("git on PATH");
    std::os::unix::fs::symlink(git, bin.join("git")).unwrap();
    bin
}

#[test]
fn missing_tools_end_the_json_stream_with_run_failed_in_the_prerequisites_phase() {
    let home = tempfile::TempDir::new().unwrap();
    let bin = path_with_only_git(home.path());
    let run = |extra: &[&str]| {
        assert_cmd::Command::cargo_bin("kalypso-bootstrap")
            .unwrap()
            .env_clear()
            .env("PATH", &bin)
            .env("HOME", home.path())
            .args([
                "--no-tui",
                "--non-interactive",
                "--output",
                "json",
                "--cluster-name",
                "json-demo",
                "--github-org",
                "acme",
                "--state-file",
            ])
            .arg(home.path().join("state.json"))
            .args(extra)
            .assert()
            .code(2)
            .get_output()
            .clone()
    };
    for extra in [&[][..], &["--dry-run"][..]] {
        let output = run(extra);
        let events = binary_events(&output);
        assert_eq!(events[0]["event"], "version", "{extra:?}");
        assert_eq!(events[1]["event"], "phase_started", "{extra:?}");
        assert_eq!(events[1]["phase"], "prerequisites", "{extra:?}");
        let rows = prerequisite_rows(&events);
        for tool in ["az", "kubectl", "gh", "helm"] {
            let row = rows
                .iter()
                .find(|r| r.starts_with(&format!("{tool}: FAIL")))
                .unwrap_or_else(|| panic!("{tool}: {rows:?}"));
            assert!(row.contains("install:"), "{row}");
        }
        assert!(rows.iter().any(|r| r.starts_with("git: PASS")), "{rows:?}");
        assert!(
            rows.iter().any(|r| r.starts_with("GitHub token: FAIL")),
            "{rows:?}"
        );
        let failed = events.last().unwrap();
        assert_eq!(failed["event"], "run_failed", "{extra:?}");
        assert_eq!(failed["phase"], "prerequisites");
        assert_eq!(failed["exit_code"], 2);
        assert!(
            failed["message"].as_str().unwrap().contains("az"),
            "{failed}"
        );
        assert!(!events.iter().any(|e| e["event"] == "run_started"));
    }
}
