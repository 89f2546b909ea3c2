//! What each event says in the text output, in the manner of `flux bootstrap`: `►` when a
//! phase starts (naming its steps), `✔`/`✗` when a step ends, `◎` for a wait that goes on
//! (no more often than every [`PROGRESS_INTERVAL_MS`] per step), then the summary or failure
//! block. Every error is said once: the failed step's line names the step, the failure block
//! gives its error and hint. What a normal run does not need (each step's start, every state
//! transition, pending health checks) is a debug line, shown by `--verbose` and kept in the
//! log file. The printer decides which lines the verbosity lets through and how they look.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::engine::events::{LogLevel, PlannedStepInfo, RunSummary};
use crate::engine::{Action, Event, EventKind, HealthStatus, Outcome, StepId};
use crate::prereq::{PrereqReport, Verdict};
use crate::state::{Phase, Timestamp};
use crate::text::plural;
use crate::ExitCode;

use super::format::Mark;
use crate::text::format_duration_ms;

/// A wait is reported once it has lasted this long (a long wait, such as an AKS cluster
/// being created); shorter ones are said by the step's `✔` line and its time alone.
pub const LONG_WAIT_MS: u64 = 60_000;

/// After its first wait line, a wait is reported at most this often per step (or for the
/// health checks together): a line every poll would bury what matters, and a full run
/// must stay short (issue 15 §8: a full demo in at most 40 lines).
pub const PROGRESS_INTERVAL_MS: u64 = 120_000;

/// One piece of text output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A line (one per line of `text`) with an optional mark before the first line's text;
    /// `--verbose` prefixes it with its level and time.
    Line {
        level: LogLevel,
        mark: Option<Mark>,
        text: String,
    },
    /// The summary or failure block: lines shown as they are, at every verbosity.
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

/// A step that failed: its error is said in the failure block, once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StepFailureNote {
    step: StepId,
    message: String,
}

/// Turns events into [`Piece`]s, remembering what it needs to say each thing once.
#[derive(Debug, Default)]
pub(crate) struct TextRenderer {
    paths: FilePaths,
    demo: bool,
    /// The plan, for the phase lines.
    planned: Vec<PlannedStepInfo>,
    /// Per step: the elapsed time of the last wait line printed.
    last_wait_line: HashMap<StepId, u64>,
    /// The health checks: which passed (said once each), which are still waited for.
    health: HealthChecks,
    /// Failed steps, in order: the failure block gives their errors.
    failed: Vec<StepFailureNote>,
    rollback: Option<RollbackResult>,
    /// Resources the rollback could not remove, whose error its line already gave: their
    /// leftover line gives only the command.
    rollback_failed: Vec<String>,
    /// The summary names where things are (cluster, repositories, namespace): for a front
    /// end whose screen that showed them is gone (the wizard's).
    places: bool,
}

/// What the text said about the health checks so far. The checks are one step's wait: one
/// wait line for all that are not passing yet, under the step's rule.
#[derive(Debug, Default)]
struct HealthChecks {
    /// When the first check was reported.
    first_seen: Option<Timestamp>,
    /// When the last wait line was printed.
    last_line: Option<Timestamp>,
    /// Checks whose pass was printed.
    passed: HashSet<String>,
    /// Checks not passing yet, with their state and reason, in name order.
    waiting: BTreeMap<String, (HealthStatus, String)>,
}

impl TextRenderer {
    pub(crate) fn new(paths: FilePaths) -> Self {
        Self {
            paths,
            ..Self::default()
        }
    }

    /// The summary block also names where things are.
    pub(crate) fn with_places(mut self) -> Self {
        self.places = true;
        self
    }

    pub(crate) fn render(&mut self, event: &Event) -> Vec<Piece> {
        match &event.kind {
            EventKind::RunStarted { demo, steps } => self.run_started(*demo, steps),
            EventKind::PhaseStarted { phase } => self.phase_started(*phase),
            EventKind::StepStarted {
                step,
                action,
                message,
                ..
            } => {
                self.last_wait_line.remove(step);
                vec![line(
                    LogLevel::Debug,
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
                ..
            } => self.step_finished(*step, *action, *outcome, *duration_ms, message),
            EventKind::HealthCheck {
                check,
                status,
                message,
            } => self.health_check(event.ts, check, *status, message),
            EventKind::WorkloadChain {
                environment,
                link,
                status,
                message,
                ..
            } => chain_link(environment, *link, *status, message),
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
                vec![match level {
                    LogLevel::Warn => marked(*level, Mark::Warning, text),
                    LogLevel::Error => marked(*level, Mark::Failed, text),
                    _ => line(*level, text),
                }]
            }
            EventKind::RollbackStarted { resources } => self.rollback_started(resources),
            EventKind::RollbackAction {
                resource,
                outcome,
                message,
                duration_ms,
            } => {
                if *outcome == Outcome::Failed {
                    self.rollback_failed.push(resource.clone());
                }
                rollback_action(resource, *outcome, message, *duration_ms)
            }
            EventKind::RollbackFinished {
                outcome,
                message,
                leftovers,
            } => self.rollback_finished(*outcome, message, leftovers),
            EventKind::RunFinished {
                duration_ms,
                summary,
            } => vec![Piece::Block(summary_block(
                self.demo,
                *duration_ms,
                summary,
                self.places,
                self.paths.resume.possible(),
            ))],
            EventKind::RunFailed {
                phase,
                step,
                message,
                hint,
                exit_code,
                duration_ms,
                report_file,
            } => {
                let failure = Failure {
                    phase: *phase,
                    step: *step,
                    message,
                    hint: hint.as_deref(),
                    exit_code: *exit_code,
                    duration_ms: *duration_ms,
                    report_file: report_file.as_deref(),
                };
                vec![Piece::Block(self.failure_block(&failure))]
            }
        }
    }

    /// The prerequisite check, compactly: one line with each tool's version and who is
    /// signed in, then a line per warning (a failed check prints the full report instead).
    pub(crate) fn prerequisites(&self, report: &PrereqReport) -> Vec<Piece> {
        let tools: Vec<String> = report
            .tools
            .iter()
            .filter(|tool| tool.matters())
            .map(|tool| match tool.version {
                Some(version) => format!("{} {version}", tool.name),
                None => tool.name.to_string(),
            })
            .collect();
        let mut who = Vec::new();
        if let Some(azure) = &report.azure {
            let role = azure
                .role
                .map(|role| format!(", {}", role.name()))
                .unwrap_or_default();
            who.push(format!(
                "Azure as {} ({}{role})",
                azure.user, azure.subscription_name
            ));
        }
        if let Some(github) = &report.github {
            who.push(format!("GitHub as {}", github.login));
        }
        let mut text = format!("Prerequisites passed: {}", tools.join(", "));
        if !who.is_empty() {
            text.push_str(&format!("; signed in to {}", who.join(" and ")));
        }
        let mut pieces = vec![marked(LogLevel::Info, Mark::Done, text)];
        for tool in report.tools.iter().filter(|t| t.verdict == Verdict::Warn) {
            pieces.push(marked(
                LogLevel::Warn,
                Mark::Warning,
                format!("{}: {}", tool.name, tool.detail),
            ));
        }
        for check in report.auth.iter().filter(|a| a.verdict == Verdict::Warn) {
            let fix = check
                .hint
                .as_deref()
                .map(|hint| format!("; {hint}"))
                .unwrap_or_default();
            pieces.push(marked(
                LogLevel::Warn,
                Mark::Warning,
                format!("{}: {}{fix}", check.check.label(), check.detail),
            ));
        }
        pieces
    }

    fn run_started(&mut self, demo: bool, steps: &[PlannedStepInfo]) -> Vec<Piece> {
        self.demo = demo;
        self.planned = steps.to_vec();
        let count = |action: Action| steps.iter().filter(|s| s.action == action).count();
        let mut pieces = vec![marked(
            LogLevel::Info,
            Mark::Start,
            format!(
                "Bootstrap{}: {} ({} to create, {} to reuse, {} to skip)",
                if demo { " (DEMO)" } else { "" },
                plural(steps.len(), "step"),
                count(Action::Create),
                count(Action::Reuse),
                count(Action::Skip)
            ),
        )];
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

    /// `► Cluster: AKS pre-flight checks, Resource group, AKS cluster (reuse), …`.
    fn phase_started(&self, phase: Phase) -> Vec<Piece> {
        let steps: Vec<String> = self
            .planned
            .iter()
            .filter(|planned| planned.phase == phase)
            .map(|planned| match planned.action {
                Action::Create => planned.title.clone(),
                other => format!("{} ({other})", planned.title),
            })
            .collect();
        let text = if steps.is_empty() {
            phase_title(phase).to_string()
        } else {
            format!("{}: {}", phase_title(phase), steps.join(", "))
        };
        vec![marked(LogLevel::Info, Mark::Start, text)]
    }

    /// A wait line only once the step has waited [`LONG_WAIT_MS`], and then at most every
    /// [`PROGRESS_INTERVAL_MS`]; everything else is detail for `--verbose`.
    fn step_progress(
        &mut self,
        step: StepId,
        message: &str,
        transition: Option<&str>,
        elapsed_ms: u64,
    ) -> Vec<Piece> {
        let title = step.title();
        let what = match transition {
            Some(transition) if !adds_to(message, title, transition) => transition.to_string(),
            _ => message.to_string(),
        };
        // A poll's own message may name the step and the time already.
        let mut text = if what.starts_with(title) {
            what
        } else {
            format!("{title}: {what}")
        };
        if !text.contains("elapsed") {
            text.push_str(&format!(" ({} elapsed)", format_duration_ms(elapsed_ms)));
        }
        let since_last_line = match self.last_wait_line.get(&step) {
            Some(last) => elapsed_ms.saturating_sub(*last),
            None => u64::MAX,
        };
        let due = elapsed_ms >= LONG_WAIT_MS && since_last_line >= PROGRESS_INTERVAL_MS;
        if !due {
            return vec![line(LogLevel::Debug, text)];
        }
        self.last_wait_line.insert(step, elapsed_ms);
        vec![marked(LogLevel::Info, Mark::Waiting, text)]
    }

    fn step_finished(
        &mut self,
        step: StepId,
        action: Action,
        outcome: Outcome,
        duration_ms: u64,
        message: &str,
    ) -> Vec<Piece> {
        let title = step.title();
        let duration = format_duration_ms(duration_ms);
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
            // The error and its hint follow once, in the failure block; here the step.
            Outcome::Failed => {
                self.failed.push(StepFailureNote {
                    step,
                    message: message.to_string(),
                });
                vec![
                    marked(
                        LogLevel::Error,
                        Mark::Failed,
                        format!("{title} failed ({duration})"),
                    ),
                    line(LogLevel::Debug, format!("{title}: {message}")),
                ]
            }
            // Stopped because another step failed or the run was interrupted: that is
            // said once, below; the details are in the log.
            Outcome::Cancelled => vec![
                marked(
                    LogLevel::Warn,
                    Mark::Failed,
                    format!("{title} cancelled ({duration})"),
                ),
                line(LogLevel::Debug, format!("{title}: {message}")),
            ],
        }
    }

    /// `✔` when a check passes; while some are pending or failing, one wait line for them
    /// all under the step's rule ([`LONG_WAIT_MS`], [`PROGRESS_INTERVAL_MS`], on the
    /// events' times); every
    /// state is a debug line.
    fn health_check(
        &mut self,
        at: Timestamp,
        check: &str,
        status: HealthStatus,
        message: &str,
    ) -> Vec<Piece> {
        let reason = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        let health = &mut self.health;
        let first_seen = *health.first_seen.get_or_insert(at);
        let mut pieces = vec![line(
            LogLevel::Debug,
            format!("Health check {check}: {}{reason}", status_word(status)),
        )];
        if status == HealthStatus::Passing {
            health.waiting.remove(check);
            if health.passed.insert(check.to_string()) {
                pieces = vec![marked(
                    LogLevel::Info,
                    Mark::Done,
                    format!("Health check {check}{reason}"),
                )];
            }
            return pieces;
        }
        health.passed.remove(check);
        health
            .waiting
            .insert(check.to_string(), (status, message.to_string()));
        let waited = millis_between(first_seen, at);
        let since_line = health
            .last_line
            .map_or(u64::MAX, |last| millis_between(last, at));
        if waited < LONG_WAIT_MS || since_line < PROGRESS_INTERVAL_MS {
            return pieces;
        }
        health.last_line = Some(at);
        let waiting: Vec<String> = health
            .waiting
            .iter()
            .map(|(check, (status, message))| {
                if message.is_empty() {
                    format!("{check} ({})", status_word(*status))
                } else {
                    format!("{check} ({}: {message})", status_word(*status))
                }
            })
            .collect();
        vec![marked(
            LogLevel::Info,
            Mark::Waiting,
            format!(
                "Health checks: waiting for {} ({} elapsed)",
                waiting.join(", "),
                format_duration_ms(waited)
            ),
        )]
    }

    fn rollback_started(&mut self, resources: &[String]) -> Vec<Piece> {
        self.rollback = Some(RollbackResult::Running);
        let mut pieces = vec![marked(
            LogLevel::Warn,
            Mark::Start,
            format!(
                "Rollback: removing {} created by this run, in this order:",
                plural(resources.len(), "resource")
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
            // Each error once: one the rollback's line gave is not repeated here.
            pieces.extend(leftovers.iter().map(|leftover| {
                match crate::engine::leftover_command(leftover, &self.rollback_failed) {
                    Some((resource, command)) => {
                        line(LogLevel::Error, format!("  {resource}: {command}"))
                    }
                    None => line(LogLevel::Error, format!("  leftover: {leftover}")),
                }
            }));
        }
        pieces
    }

    /// `✗ Bootstrap failed …`, then the failed step, its error and hint (the only place
    /// they are printed), the rollback, the files and what to do next.
    fn failure_block(&self, failure: &Failure<'_>) -> Vec<String> {
        let cancelled = failure.exit_code == ExitCode::Cancelled.code();
        let verb = if cancelled { "cancelled" } else { "failed" };
        let meaning = ExitCode::ALL
            .into_iter()
            .find(|code| code.code() == failure.exit_code)
            .map(|code| format!(": {}", code.meaning()))
            .unwrap_or_default();
        let mut rows: Vec<(&str, String)> = Vec::new();
        if let Some(step) = failure.step {
            rows.push(("Failed step", format!("{} ({step})", step.title())));
        }
        rows.push(("Error", failure.message.to_string()));
        if let Some(hint) = failure.hint {
            rows.push(("Hint", hint.to_string()));
        }
        // Another step that failed with its own error (steps run concurrently).
        for other in &self.failed {
            if Some(other.step) != failure.step && other.message != failure.message {
                rows.push((
                    "Also failed",
                    format!("{} ({}): {}", other.step.title(), other.step, other.message),
                ));
            }
        }
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
                    (_, n) => format!(
                        "incomplete: {} left, see the commands above",
                        plural(*n, "resource")
                    ),
                })
            }
        };
        if let Some(rolled_back) = rolled_back {
            rows.push(("Rollback", rolled_back));
        }
        if let Some(log) = &self.paths.log_file {
            rows.push(("Log file", log.clone()));
        }
        // A plain --demo's state file is of no use to a later run (see `summary_block`).
        if let Some(state) = self
            .paths
            .state_file
            .as_ref()
            .filter(|_| self.paths.resume.possible())
        {
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
                "{} Bootstrap{demo} {verb} in the {} phase after {}, exit code {}{meaning}",
                Mark::Failed.symbol(),
                failure.phase.as_str(),
                format_duration_ms(failure.duration_ms),
                failure.exit_code
            ),
        ];
        block.extend(aligned(&rows, "  "));
        block
    }
}

/// What the failure block reports.
struct Failure<'a> {
    phase: Phase,
    step: Option<StepId>,
    message: &'a str,
    hint: Option<&'a str>,
    exit_code: i32,
    duration_ms: u64,
    report_file: Option<&'a str>,
}

/// Whether `message` says more than the step's title and the state it reached
/// ("Control-plane repository: Creating" says nothing `Creating` does not).
fn adds_to(message: &str, title: &str, transition: &str) -> bool {
    let rest = message.trim();
    let rest = rest.strip_prefix(title).unwrap_or(rest);
    let rest = rest.trim_start_matches([':', ' ']);
    !rest.trim().is_empty() && !rest.trim().eq_ignore_ascii_case(transition.trim())
}

fn status_word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Pending => "pending",
        HealthStatus::Passing => "passing",
        HealthStatus::Failing => "failing",
    }
}

/// Milliseconds from `earlier` to `later` (0 when the clock went back).
fn millis_between(earlier: Timestamp, later: Timestamp) -> u64 {
    let span = later.as_offset_date_time() - earlier.as_offset_date_time();
    u64::try_from(span.whole_milliseconds()).unwrap_or(0)
}

/// The word after the step's title when it went well: "AKS cluster created".
fn success_word(step: StepId, action: Action, outcome: Outcome) -> &'static str {
    match step {
        StepId::ClusterPreflight | StepId::HealthChecks | StepId::WorkloadPreflight => {
            return "passed"
        }
        StepId::FirstWorkload => return "delivered",
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
        StepId::InstallFlux | StepId::InstallKalypso | StepId::WorkloadFlux => "installed",
        _ => "created",
    }
}

fn rollback_action(
    resource: &str,
    outcome: Outcome,
    message: &str,
    duration_ms: u64,
) -> Vec<Piece> {
    let duration = format_duration_ms(duration_ms);
    vec![match outcome {
        // The message says what happened: deleted, deletion started, already gone.
        Outcome::Succeeded | Outcome::Reused => marked(
            LogLevel::Info,
            Mark::Done,
            with_detail(format!("Rollback: {resource} ({duration})"), message),
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
/// `head: detail`; a detail that starts by saying `head` again ("Rollback incomplete:
/// rollback incomplete: …") says it once.
fn with_detail(head: String, detail: &str) -> String {
    if detail.trim().is_empty() {
        return head;
    }
    let repeated = detail
        .get(..head.len())
        .filter(|start| start.eq_ignore_ascii_case(&head))
        .and_then(|_| detail[head.len()..].strip_prefix(": "));
    match repeated {
        Some(rest) => format!("{head}: {rest}"),
        None => format!("{head}: {detail}"),
    }
}

fn phase_title(phase: Phase) -> &'static str {
    match phase {
        Phase::Prerequisites => "Prerequisites",
        Phase::Cluster => "Cluster",
        Phase::Repositories => "Repositories",
        Phase::Installation => "Installation",
        Phase::Workloads => "Workload clusters",
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

/// One link of the first workload's chain: a line when it is reached, left for the user,
/// warned about or failed; a debug line while it is waited for (the step's wait line says
/// what it waits for).
fn chain_link(
    environment: &str,
    link: crate::engine::events::ChainLink,
    status: crate::engine::events::LinkStatus,
    message: &str,
) -> Vec<Piece> {
    use crate::engine::events::LinkStatus;
    let text = format!("First workload, {environment}: {}: {message}", link.label());
    vec![match status {
        LinkStatus::Waiting => line(LogLevel::Debug, text),
        LinkStatus::Done => marked(LogLevel::Info, Mark::Done, text),
        LinkStatus::Left => marked(LogLevel::Warn, Mark::Waiting, text),
        LinkStatus::Warning => marked(LogLevel::Warn, Mark::Warning, text),
        LinkStatus::Failed => marked(LogLevel::Error, Mark::Failed, text),
    }]
}

/// The block printed when the run completes: the outcome with the time per phase, what to
/// do next, and where the files are. What the run made (cluster, context, repositories,
/// namespace, chart) is on the steps' lines above.
/// `state_kept`: whether a later run reaches the state file; a plain `--demo`'s is not
/// named (its world ends with it, and `--demo --status` finds it without its path).
fn summary_block(
    demo: bool,
    duration_ms: u64,
    summary: &RunSummary,
    places: bool,
    state_kept: bool,
) -> Vec<String> {
    let phases: Vec<String> = summary
        .phase_durations_ms
        .iter()
        .map(|(phase, ms)| format!("{} {}", phase.as_str(), format_duration_ms(*ms)))
        .collect();
    let timing = if phases.is_empty() {
        String::new()
    } else {
        format!(" ({})", phases.join(", "))
    };
    let mut block = vec![format!(
        "{} Bootstrap{} completed in {}{timing}",
        Mark::Done.symbol(),
        if demo { " (DEMO)" } else { "" },
        format_duration_ms(duration_ms)
    )];
    let mut rows: Vec<(&str, String)> = Vec::new();
    if places {
        let cluster = match (&summary.cluster, &summary.kube_context) {
            (Some(cluster), Some(context)) if cluster != context => {
                Some(format!("{cluster} (kube context {context})"))
            }
            (Some(name), _) | (None, Some(name)) => Some(name.clone()),
            (None, None) => None,
        };
        let namespace = summary
            .namespace
            .as_ref()
            .map(|namespace| match &summary.chart_version {
                Some(version) => format!("{namespace} (Kalypso Scheduler {version})"),
                None => namespace.clone(),
            });
        for (label, value) in [
            ("Cluster", cluster),
            ("Control plane", summary.control_plane_url.clone()),
            ("GitOps", summary.gitops_url.clone()),
            ("Namespace", namespace),
        ] {
            if let Some(value) = value {
                rows.push((label, value));
            }
        }
    }
    if !summary.next_steps.is_empty() {
        let steps: Vec<String> = summary
            .next_steps
            .iter()
            .enumerate()
            .map(|(index, step)| format!("{}. {step}", index + 1))
            .collect();
        rows.push(("Next", steps.join("\n")));
    }
    let state_file = summary.state_file.as_ref().filter(|_| state_kept);
    for (label, value) in [
        ("Log file", summary.log_file.as_ref()),
        ("State file", state_file),
        ("Report", summary.report_file.as_ref()),
    ] {
        if let Some(value) = value {
            rows.push((label, value.clone()));
        }
    }
    block.extend(aligned(&rows, "  "));
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

    #[test]
    fn the_prerequisites_are_one_line_and_a_line_per_warning() {
        use crate::prereq::tools::{AZ, BASH, HELM};
        use crate::prereq::{evaluate_tool, GithubIdentity, TokenSource};
        use crate::tools::{RunError, ToolError, Version};
        let missing = ToolError::Run(RunError::NotFound {
            program: "bash".into(),
        });
        let report = PrereqReport {
            tools: vec![
                evaluate_tool(&AZ, Ok(Version::new(2, 67, 0))),
                evaluate_tool(&HELM, Ok(Version::new(9, 0, 0))),
                evaluate_tool(&BASH, Err(missing)),
            ],
            auth: Vec::new(),
            azure: None,
            github: Some(GithubIdentity {
                login: "octocat".into(),
                token_source: TokenSource::GithubTokenEnv,
            }),
            cancelled: false,
            github_token: None,
        };
        let pieces = TextRenderer::default().prerequisites(&report);
        let texts: Vec<String> = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Line { mark, text, .. } => {
                    format!("{} {text}", mark.map_or("", Mark::symbol))
                }
                Piece::Block(lines) => lines.join("\n"),
            })
            .collect();
        assert_eq!(
            texts,
            [
                "✔ Prerequisites passed: az 2.67.0, helm 9.0.0; signed in to GitHub as octocat",
                "⚠ helm: major version 9 is newer than the newest tested (4)",
            ]
        );
    }

    #[test]
    fn a_message_that_repeats_the_title_and_the_state_adds_nothing() {
        let title = "Control-plane repository";
        assert!(!adds_to(
            "Control-plane repository: Creating",
            title,
            "Creating"
        ));
        assert!(!adds_to("Creating", title, "Creating"));
        assert!(!adds_to("", title, "Creating"));
        assert!(adds_to(
            "AKS cluster kalypso-demo: Running (73ms elapsed)",
            "AKS cluster",
            "Running"
        ));
        assert!(adds_to("installing Flux v2.7.5", "Flux", "Installing"));
    }
}
