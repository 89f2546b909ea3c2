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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prereq::{AuthCheckKind, InstallHint};

    fn report(verdict: Verdict, cancelled: bool) -> PrereqReport {
        PrereqReport {
            tools: vec![ToolCheck {
                name: "helm",
                required: true,
                found: true,
                version: None,
                minimum: None,
                verdict,
                detail: "too old".into(),
                install: InstallHint {
                    macos: "brew install helm",
                    linux: "get-helm-3",
                },
            }],
            auth: vec![AuthCheck {
                check: AuthCheckKind::AzureRole,
                verdict: Verdict::Warn,
                detail: "Reader only".into(),
                hint: Some("ask for Contributor".into()),
            }],
            azure: None,
            github: None,
            cancelled,
            github_token: None,
        }
    }

    fn levels_and_messages(events: &[Event]) -> Vec<(LogLevel, String)> {
        events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Log { level, message, .. } => Some((*level, message.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn rows_take_the_level_of_their_verdict_and_a_warning_keeps_its_fix() {
        let events = prerequisite_events(&report(Verdict::Pass, false), Duration::ZERO);
        assert!(matches!(
            events[0].kind,
            EventKind::PhaseStarted {
                phase: Phase::Prerequisites
            }
        ));
        let rows = levels_and_messages(&events);
        assert_eq!(rows[0], (LogLevel::Info, "helm: PASS: too old".into()));
        assert_eq!(
            rows[1],
            (
                LogLevel::Warn,
                "Azure role: WARN: Reader only; fix: ask for Contributor".into()
            )
        );
        assert!(rows[2].1.starts_with("Prerequisites: PASSED"));
        assert!(!events
            .iter()
            .any(|e| matches!(e.kind, EventKind::RunFailed { .. })));
    }

    #[test]
    fn a_failure_ends_with_run_failed_and_a_cancelled_prompt_exits_7() {
        let failed = prerequisite_events(&report(Verdict::Fail, false), Duration::ZERO);
        let rows = levels_and_messages(&failed);
        assert_eq!(rows[0].0, LogLevel::Error);
        assert!(rows[0]
            .1
            .ends_with("; install: macOS: brew install helm; Linux: get-helm-3"));
        match &failed.last().unwrap().kind {
            EventKind::RunFailed {
                phase: Phase::Prerequisites,
                exit_code: 2,
                message,
                hint: Some(_),
                ..
            } => assert!(message.ends_with(": helm"), "{message}"),
            other => panic!("{other:?}"),
        }
        let cancelled = prerequisite_events(&report(Verdict::Pass, true), Duration::ZERO);
        assert!(matches!(
            cancelled.last().unwrap().kind,
            EventKind::RunFailed {
                exit_code: 7,
                hint: None,
                ..
            }
        ));
    }
}
