//! The prerequisite check as events, for `--output json`: `phase_started` of the
//! `prerequisites` phase, one `log` event per row of the report (each tool, then each
//! authentication check), and, when the check did not pass, `run_failed` in that phase
//! with the exit code (2, or 7 when a prompt was cancelled). A row's `log` event reads
//! `<check>: <VERDICT>: <detail>` with what to do appended to a failing row; its level
//! follows the verdict (FAIL error, WARN warn, otherwise info). See docs/reference.md.

use std::time::Duration;

use crate::engine::context::duration_ms;
use crate::engine::events::LogLevel;
use crate::engine::{Event, EventKind};
use crate::prereq::{AuthCheck, PrereqReport, ToolCheck, Verdict, SKIPPED_SUMMARY};
use crate::state::Phase;
use crate::troubleshooting::Topic;

/// The events of a finished prerequisite check that took `duration`.
pub fn prerequisite_events(report: &PrereqReport, duration: Duration) -> Vec<Event> {
    let mut events = vec![Event::now(EventKind::PhaseStarted {
        phase: Phase::Prerequisites,
    })];
    events.extend(
        report
            .tools
            .iter()
            .map(|tool| row(tool.verdict, tool_message(tool))),
    );
    events.extend(
        report
            .auth
            .iter()
            .map(|check| row(check.verdict, auth_message(check))),
    );
    if report.passed() {
        events.push(row(Verdict::Pass, report.summary()));
    } else {
        events.push(Event::now(EventKind::RunFailed {
            phase: Phase::Prerequisites,
            step: None,
            message: failed_message(report),
            hint: (!report.cancelled).then(|| {
                format!(
                    "install or sign in as each failing check says, then run again; {}",
                    Topic::ToolMissing.see()
                )
            }),
            exit_code: report.exit_code().code(),
            duration_ms: duration_ms(duration),
            report_file: None,
        }));
    }
    events
}

/// The events of a run with `--skip-validation`: the phase, and a warning that nothing was
/// checked.
pub fn skipped_prerequisite_events() -> Vec<Event> {
    vec![
        Event::now(EventKind::PhaseStarted {
            phase: Phase::Prerequisites,
        }),
        log(LogLevel::Warn, SKIPPED_SUMMARY.to_string()),
    ]
}

fn row(verdict: Verdict, message: String) -> Event {
    let level = match verdict {
        Verdict::Fail => LogLevel::Error,
        Verdict::Warn => LogLevel::Warn,
        Verdict::Pass | Verdict::Info | Verdict::Skip => LogLevel::Info,
    };
    log(level, message)
}

fn log(level: LogLevel, message: String) -> Event {
    Event::now(EventKind::Log {
        level,
        phase: Some(Phase::Prerequisites),
        step: None,
        message,
    })
}

/// `az: FAIL: not found on PATH (minimum 2.50.0); install: macOS: …; Linux: …`.
fn tool_message(tool: &ToolCheck) -> String {
    let mut versions = Vec::new();
    if let Some(version) = tool.version {
        versions.push(format!("found {version}"));
    }
    if let Some(minimum) = tool.minimum {
        versions.push(format!("minimum {minimum}"));
    }
    let mut message = format!("{}: {}: {}", tool.name, tool.verdict, tool.detail);
    if !versions.is_empty() {
        message.push_str(&format!(" ({})", versions.join(", ")));
    }
    if tool.verdict == Verdict::Fail {
        message.push_str(&format!(
            "; install: macOS: {}; Linux: {}",
            tool.install.macos, tool.install.linux
        ));
    }
    message
}

/// `GitHub token: FAIL: no token …; fix: set GITHUB_TOKEN …`.
fn auth_message(check: &AuthCheck) -> String {
    let mut message = format!(
        "{}: {}: {}",
        check.check.label(),
        check.verdict,
        check.detail
    );
    if let (Verdict::Fail | Verdict::Warn, Some(hint)) = (check.verdict, &check.hint) {
        message.push_str(&format!("; fix: {hint}"));
    }
    message
}

/// `Prerequisites: FAILED (6 failures): az, kubectl, …`.
fn failed_message(report: &PrereqReport) -> String {
    let failing: Vec<&str> = report
        .tools
        .iter()
        .filter(|tool| tool.verdict == Verdict::Fail)
        .map(|tool| tool.name)
        .chain(
            report
                .auth
                .iter()
                .filter(|check| check.verdict == Verdict::Fail)
                .map(|check| check.check.label()),
        )
        .collect();
    if failing.is_empty() {
        report.summary()
    } else {
        format!("{}: {}", report.summary(), failing.join(", "))
    }
}
