//! What each event says in the text output: tagged lines (`[INFO]  … - ✓ AKS cluster
//! created (4m 12s)`) and, at the end, the summary or failure block. The printer decides
//! which lines the verbosity lets through and how they are written.

use std::collections::HashMap;

use crate::engine::events::{LogLevel, PlannedStepInfo, RunSummary};
use crate::engine::{Action, Event, EventKind, HealthStatus, Outcome, StepId};
use crate::state::Phase;
use crate::ExitCode;

use super::format::{format_duration, format_elapsed, Mark};

/// One piece of text output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A `[LEVEL] timestamp - message` line (one per line of `text`), with an optional mark
    /// before the first line's text.
    Line {
        level: LogLevel,
        mark: Option<Mark>,
        text: String,
    },
    /// The summary or failure block: untagged lines, shown at every verbosity.
    Block(Vec<String>),
}

fn line(level: LogLevel, text: impl Into<String>) -> Piece {
    Piece::Line {
        level,
        mark: None,
        text: text.into(),
    }
}

fn marked(level: LogLevel, mark: Mark, text: impl Into<String>) -> Piece {
    Piece::Line {
        level,
        mark: Some(mark),
        text: text.into(),
    }
}

/// How the rollback of this run went, for the failure block.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RollbackResult {
    Running,
    Finished { outcome: Outcome, leftovers: usize },
}

/// Where the log and state files are, for the failure block (the summary block gets them
/// from the run summary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FilePaths {
    pub log_file: Option<String>,
    pub state_file: Option<String>,
    /// See [`super::PrinterSettings::clean_command`].
    pub clean_command: Option<String>,
    /// See [`super::PrinterSettings::resume`].
    pub resume: crate::engine::Resume,
}

/// Turns events into [`Piece`]s, remembering what it needs to print transitions only once.
#[derive(Debug, Default)]
pub(crate) struct TextRenderer {
    paths: FilePaths,
    demo: bool,
    /// The last transition printed per step: polling repeats the same one.
    last_transition: HashMap<StepId, String>,
    /// The last status and reason printed per health check.
    last_health: HashMap<String, (HealthStatus, String)>,
    rollback: Option<RollbackResult>,
}

impl TextRenderer {
    pub(crate) fn new(paths: FilePaths) -> Self {
        Self {
            paths,
            ..Self::default()
        }
    }

    pub(crate) fn render(&mut self, event: &Event) -> Vec<Piece> {
        match &event.kind {
            EventKind::RunStarted { demo, steps } => self.run_started(*demo, steps),
            EventKind::PhaseStarted { phase } => {
                vec![line(
                    LogLevel::Info,
                    format!("{} phase started", phase_title(*phase)),
                )]
            }
            EventKind::StepStarted {
                step,
                action,
                message,
                ..
            } => {
                self.last_transition.remove(step);
                vec![line(
                    LogLevel::Info,
                    with_detail(format!("Starting {} ({action})", step.title()), message),
                )]
            }
            EventKind::StepProgress {
                step,
                message,
                transition,
                elapsed_ms,
                ..
            } => self.step_progress(*step, message, transition.as_deref(), *elapsed_ms),
            EventKind::StepFinished {
                step,
                action,
                outcome,
                duration_ms,
                message,
                hint,
                ..
            } => step_finished(*step, *action, *outcome, *duration_ms, message, hint),
            EventKind::HealthCheck {
                check,
                status,
                message,
            } => self.health_check(check, *status, message),
            EventKind::Log {
                level,
                step,
                message,
                ..
            } => {
                let text = match step {
                    Some(step) => format!("{}: {message}", step.title()),
                    None => message.clone(),
                };
                vec![line(*level, text)]
            }
            EventKind::RollbackStarted { resources } => self.rollback_started(resources),
            EventKind::RollbackAction {
                resource,
                outcome,
                message,
                duration_ms,
            } => rollback_action(resource, *outcome, message, *duration_ms),
            EventKind::RollbackFinished {
                outcome,
                message,
                leftovers,
            } => self.rollback_finished(*outcome, message, leftovers),
            EventKind::RunFinished {
                duration_ms,
                summary,
            } => vec![
                marked(
                    LogLevel::Info,
                    Mark::Done,
                    format!("Bootstrap completed in {}", format_duration(*duration_ms)),
                ),
                Piece::Block(summary_block(self.demo, *duration_ms, summary)),
            ],
            EventKind::RunFailed {
                phase,
                step,
                message,
                hint,
                exit_code,
                duration_ms,
                report_file,
            } => {
                let cancelled = *exit_code == ExitCode::Cancelled.code();
                let verb = if cancelled { "cancelled" } else { "failed" };
                let headline = format!(
                    "Bootstrap {verb} in the {} phase after {}: {message}",
                    phase.as_str(),
                    format_duration(*duration_ms)
                );
                let failure = Failure {
                    verb,
                    phase: *phase,
                    step: *step,
                    message,
                    hint: hint.as_deref(),
                    exit_code: *exit_code,
                    report_file: report_file.as_deref(),
                };
                vec![
                    marked(LogLevel::Error, Mark::Failed, headline),
                    Piece::Block(self.failure_block(&failure)),
                ]
            }
        }
    }

    fn run_started(&mut self, demo: bool, steps: &[PlannedStepInfo]) -> Vec<Piece> {
        self.demo = demo;
        let mut pieces = Vec::new();
        if demo {
            pieces.push(line(
                LogLevel::Info,
                "DEMO: simulated Azure, GitHub and Kubernetes; nothing real is created or changed",
            ));
        }
        let count = |action: Action| steps.iter().filter(|s| s.action == action).count();
        pieces.push(line(
            LogLevel::Info,
            format!(
                "Bootstrap started: {} steps ({} to create, {} to reuse, {} to skip)",
                steps.len(),
                count(Action::Create),
                count(Action::Reuse),
                count(Action::Skip)
            ),
        ));
        for planned in steps {
            let after = if planned.depends_on.is_empty() {
                String::new()
            } else {
                let ids: Vec<&str> = planned.depends_on.iter().map(|id| id.as_str()).collect();
                format!(", after {}", ids.join(", "))
            };
            pieces.push(line(
                LogLevel::Debug,
                format!(
                    "Plan: {} ({}): {}{after}",
                    planned.title, planned.step, planned.action
                ),
            ));
        }
        pieces
    }

    fn step_progress(
        &mut self,
        step: StepId,
        message: &str,
        transition: Option<&str>,
        elapsed_ms: u64,
    ) -> Vec<Piece> {
        let elapsed = format_elapsed(elapsed_ms);
        match transition {
            Some(transition)
                if self.last_transition.get(&step).map(String::as_str) != Some(transition) =>
            {
                self.last_transition.insert(step, transition.to_string());
                let detail = if message.trim().eq_ignore_ascii_case(transition.trim()) {
                    ""
                } else {
                    message
                };
                vec![line(
                    LogLevel::Info,
                    with_detail(
                        format!("{}: {transition} ({elapsed} elapsed)", step.title()),
                        detail,
                    ),
                )]
            }
            // The same state again, or a message without a state: detail for --verbose.
            _ => vec![line(
                LogLevel::Debug,
                format!("{}: {message} ({elapsed} elapsed)", step.title()),
            )],
        }
    }

    fn health_check(&mut self, check: &str, status: HealthStatus, message: &str) -> Vec<Piece> {
        let current = (status, message.to_string());
        if self.last_health.get(check) == Some(&current) {
            return vec![line(
                LogLevel::Debug,
                format!("Health check {check}: unchanged"),
            )];
        }
        self.last_health.insert(check.to_string(), current);
        let reason = if message.is_empty() {
            String::new()
        } else {
            format!(" ({message})")
        };
        vec![match status {
            HealthStatus::Pending => line(
                LogLevel::Info,
                format!("Health check {check}: pending{reason}"),
            ),
            HealthStatus::Passing => marked(
                LogLevel::Info,
                Mark::Done,
                format!("Health check {check}: passing{reason}"),
            ),
            HealthStatus::Failing => marked(
                LogLevel::Warn,
                Mark::Failed,
                format!("Health check {check}: failing{reason}"),
            ),
        }]
    }

    fn rollback_started(&mut self, resources: &[String]) -> Vec<Piece> {
        self.rollback = Some(RollbackResult::Running);
        let mut pieces = vec![line(
            LogLevel::Warn,
            format!(
                "Rollback started: removing {} resource{} created by this run, in this order:",
                resources.len(),
                if resources.len() == 1 { "" } else { "s" }
            ),
        )];
        pieces.extend(
            resources.iter().enumerate().map(|(index, resource)| {
                line(LogLevel::Info, format!("  {}. {resource}", index + 1))
            }),
        );
        pieces
    }

    fn rollback_finished(
        &mut self,
        outcome: Outcome,
        message: &str,
        leftovers: &[String],
    ) -> Vec<Piece> {
        self.rollback = Some(RollbackResult::Finished {
            outcome,
            leftovers: leftovers.len(),
        });
        let mut pieces = vec![match outcome {
            Outcome::Succeeded | Outcome::Reused | Outcome::Skipped if leftovers.is_empty() => {
                marked(
                    LogLevel::Info,
                    Mark::Done,
                    with_detail("Rollback finished".to_string(), message),
                )
            }
            Outcome::Cancelled => marked(
                LogLevel::Warn,
                Mark::Failed,
                with_detail("Rollback cancelled".to_string(), message),
            ),
            _ => marked(
                LogLevel::Error,
                Mark::Failed,
                with_detail("Rollback incomplete".to_string(), message),
            ),
        }];
        if !leftovers.is_empty() {
            pieces.push(line(
                LogLevel::Error,
                "Left behind; remove by hand with these commands:",
            ));
            pieces.extend(
                leftovers
                    .iter()
                    .map(|leftover| line(LogLevel::Error, format!("  leftover: {leftover}"))),
            );
        }
        pieces
    }

    fn failure_block(&self, failure: &Failure<'_>) -> Vec<String> {
        let mut rows: Vec<(&str, String)> = Vec::new();
        if let Some(step) = failure.step {
            rows.push(("Failed step", format!("{} ({step})", step.title())));
        }
        rows.push(("Phase", failure.phase.as_str().to_string()));
        rows.push(("Error", failure.message.to_string()));
        if let Some(hint) = failure.hint {
            rows.push(("Hint", hint.to_string()));
        }
        let meaning = ExitCode::ALL
            .into_iter()
            .find(|code| code.code() == failure.exit_code)
            .map(|code| format!(" ({})", code.meaning()))
            .unwrap_or_default();
        rows.push(("Exit code", format!("{}{meaning}", failure.exit_code)));
        let rolled_back = match &self.rollback {
            None => None,
            Some(RollbackResult::Running) => Some("started, not finished".to_string()),
            Some(RollbackResult::Finished { outcome, leftovers }) => {
                Some(match (outcome.is_success(), leftovers) {
                    (true, 0) => "complete: everything this run created was removed".to_string(),
                    (_, 0) => format!(
                        "{}, see the lines above and the log for what remains",
                        outcome.as_str()
                    ),
                    (_, n) => format!("incomplete: {n} leftover(s), see the commands above"),
                })
            }
        };
        if let Some(rolled_back) = rolled_back {
            rows.push(("Rollback", rolled_back));
        }
        if let Some(log) = &self.paths.log_file {
            rows.push(("Log file", log.clone()));
        }
        if let Some(state) = &self.paths.state_file {
            rows.push(("State file", state.clone()));
        }
        if let Some(report) = failure.report_file {
            rows.push(("Report", report.to_string()));
        }
        // Exact commands, as the user copies them (`--demo`, `--state-file`); nothing about
        // resuming a demo whose world ends with it.
        let resume = &self.paths.resume;
        let again = match resume {
            crate::engine::Resume::Command(command) => {
                format!("fix the cause above and run this again: {command}")
            }
            _ => "fix the cause above and run the same command again".to_string(),
        };
        let next = match (&self.rollback, &self.paths.clean_command) {
            (
                Some(RollbackResult::Finished {
                    outcome,
                    leftovers: 0,
                }),
                _,
            ) if outcome.is_success() => again,
            (_, Some(clean)) if resume.possible() => format!(
                "fix the cause above and {}{} or remove what this run created with: {clean}",
                resume.clause(),
                if matches!(resume, crate::engine::Resume::Command(_)) {
                    ";"
                } else {
                    ","
                }
            ),
            (_, _) if resume.possible() => format!("fix the cause above and {}", resume.clause()),
            (_, _) => resume.clause(),
        };
        rows.push(("Next", next));

        let demo = if self.demo { " (DEMO)" } else { "" };
        let mut block = vec![
            String::new(),
            format!(
                "Failure summary{demo}: bootstrap {}, exit code {}",
                failure.verb, failure.exit_code
            ),
        ];
        block.extend(aligned(&rows, "  "));
        block
    }
}

/// What the failure block reports.
struct Failure<'a> {
    verb: &'static str,
    phase: Phase,
    step: Option<StepId>,
    message: &'a str,
    hint: Option<&'a str>,
    exit_code: i32,
    report_file: Option<&'a str>,
}

fn step_finished(
    step: StepId,
    action: Action,
    outcome: Outcome,
    duration_ms: u64,
    message: &str,
    hint: &Option<String>,
) -> Vec<Piece> {
    let title = step.title();
    let duration = format_duration(duration_ms);
    match outcome {
        Outcome::Succeeded | Outcome::Reused => vec![marked(
            LogLevel::Info,
            Mark::Done,
            with_detail(
                format!(
                    "{title} {} ({duration})",
                    success_word(step, action, outcome)
                ),
                message,
            ),
        )],
        Outcome::Skipped => vec![line(
            LogLevel::Info,
            with_detail(format!("{title} skipped"), message),
        )],
        Outcome::Failed | Outcome::Cancelled => {
            let (level, verb) = if outcome == Outcome::Failed {
                (LogLevel::Error, "failed")
            } else {
                (LogLevel::Warn, "cancelled")
            };
            let mut pieces = vec![marked(
                level,
                Mark::Failed,
                with_detail(format!("{title} {verb}"), message),
            )];
            if let Some(hint) = hint {
                pieces.push(line(level, format!("hint: {hint}")));
            }
            pieces
        }
    }
}

/// The word after the step's title when it went well: "AKS cluster created".
fn success_word(step: StepId, action: Action, outcome: Outcome) -> &'static str {
    match step {
        StepId::ClusterPreflight | StepId::HealthChecks => return "passed",
        StepId::ClusterReady => return "checked",
        _ => {}
    }
    if outcome == Outcome::Reused {
        return "reused";
    }
    if action == Action::Reuse {
        return "verified";
    }
    match step {
        StepId::ClusterCredentials => "fetched",
        StepId::ControlPlaneSeed | StepId::GitopsSeed => "pushed",
        StepId::ControlPlaneSecrets | StepId::GitopsSecrets => "set",
        StepId::InstallFlux | StepId::InstallKalypso => "installed",
        _ => "created",
    }
}

fn rollback_action(
    resource: &str,
    outcome: Outcome,
    message: &str,
    duration_ms: u64,
) -> Vec<Piece> {
    let duration = format_duration(duration_ms);
    vec![match outcome {
        Outcome::Succeeded | Outcome::Reused => marked(
            LogLevel::Info,
            Mark::Done,
            with_detail(
                format!("Rollback: {resource} removed ({duration})"),
                message,
            ),
        ),
        // A rollback skips only what the live check found not ours: it is kept.
        Outcome::Skipped => marked(
            LogLevel::Warn,
            Mark::Failed,
            with_detail(format!("Rollback: {resource} kept, not removed"), message),
        ),
        Outcome::Failed => marked(
            LogLevel::Error,
            Mark::Failed,
            with_detail(format!("Rollback: {resource} failed, not removed"), message),
        ),
        Outcome::Cancelled => marked(
            LogLevel::Warn,
            Mark::Failed,
            with_detail(
                format!("Rollback: {resource} cancelled, not removed"),
                message,
            ),
        ),
    }]
}

/// `head: detail`, or `head` alone when there is no detail.
fn with_detail(head: String, detail: &str) -> String {
    if detail.trim().is_empty() {
        head
    } else {
        format!("{head}: {detail}")
    }
}

fn phase_title(phase: Phase) -> &'static str {
    match phase {
        Phase::Prerequisites => "Prerequisites",
        Phase::Cluster => "Cluster",
        Phase::Repositories => "Repositories",
        Phase::Installation => "Installation",
        Phase::Validation => "Validation",
        Phase::Rollback => "Rollback",
    }
}

/// `label:  value` rows with the values in one column; continuation lines of a multi-line
/// value are indented to that column.
fn aligned(rows: &[(&str, String)], indent: &str) -> Vec<String> {
    // The longest label, its colon and two spaces.
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0) + 3;
    let mut lines = Vec::new();
    for (label, value) in rows {
        let mut value_lines = value.lines();
        let first = value_lines.next().unwrap_or("");
        lines.push(format!("{indent}{:width$}{first}", format!("{label}:")));
        for more in value_lines {
            lines.push(format!("{indent}{:width$}{more}", ""));
        }
    }
    lines
}

/// The block printed when the run completes.
fn summary_block(demo: bool, duration_ms: u64, summary: &RunSummary) -> Vec<String> {
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut push = |label: &'static str, value: &Option<String>| {
        if let Some(value) = value {
            rows.push((label, value.clone()));
        }
    };
    push("Cluster", &summary.cluster);
    push("Kube context", &summary.kube_context);
    push("Control-plane repo", &summary.control_plane_url);
    push("GitOps repo", &summary.gitops_url);
    push("Namespace", &summary.namespace);
    push("Chart version", &summary.chart_version);
    let mut block = vec![
        String::new(),
        format!(
            "Summary{}: bootstrap completed in {}",
            if demo { " (DEMO)" } else { "" },
            format_duration(duration_ms)
        ),
    ];
    block.extend(aligned(&rows, "  "));

    let mut timings: Vec<(&str, String)> = summary
        .phase_durations_ms
        .iter()
        .map(|(phase, ms)| (phase.as_str(), format_duration(*ms)))
        .collect();
    timings.push(("total", format_duration(duration_ms)));
    block.push("  Time per phase:".to_string());
    block.extend(aligned(&timings, "    "));

    if !summary.next_steps.is_empty() {
        block.push("  Next steps:".to_string());
        for (index, step) in summary.next_steps.iter().enumerate() {
            block.push(format!("    {}. {step}", index + 1));
        }
    }

    let mut files: Vec<(&str, String)> = Vec::new();
    for (label, value) in [
        ("Log file", &summary.log_file),
        ("State file", &summary.state_file),
        ("Report", &summary.report_file),
    ] {
        if let Some(value) = value {
            files.push((label, value.clone()));
        }
    }
    block.extend(aligned(&files, "  "));
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_rows_share_a_value_column() {
        let rows = [
            ("Cluster", "a".to_string()),
            ("Kube context", "b\nc".to_string()),
        ];
        assert_eq!(
            aligned(&rows, "  "),
            vec![
                "  Cluster:       a",
                "  Kube context:  b",
                "                 c"
            ]
        );
    }

    #[test]
    fn success_words_fit_the_step() {
        assert_eq!(
            success_word(StepId::ClusterCreate, Action::Create, Outcome::Succeeded),
            "created"
        );
        assert_eq!(
            success_word(StepId::GitopsSeed, Action::Create, Outcome::Succeeded),
            "pushed"
        );
        assert_eq!(
            success_word(StepId::GitopsRepo, Action::Reuse, Outcome::Succeeded),
            "verified"
        );
        assert_eq!(
            success_word(StepId::GitopsRepo, Action::Create, Outcome::Reused),
            "reused"
        );
        assert_eq!(
            success_word(StepId::HealthChecks, Action::Create, Outcome::Succeeded),
            "passed"
        );
    }
}
