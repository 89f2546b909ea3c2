//! What the engine tells its front ends. The orchestrator sends [`Event`]s over a channel;
//! the TUI and the headless printer only consume them. `--output json` writes each event as
//! one line (see [`Event::to_json_line`]).

use serde::Serialize;
use serde_json::Value;

use super::step::{Action, StepId};
use crate::state::{Phase, Timestamp};

/// How a step (or the run, or a rollback action) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// Nothing to do: the resource exists and is ours or given by the user.
    Reused,
    Skipped,
    Failed,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Reused => "reused",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }

    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Succeeded | Outcome::Reused | Outcome::Skipped
        )
    }
}

/// The state of one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Pending,
    Passing,
    Failing,
}

/// One link of the chain that delivers the first workload to an environment's attached
/// clusters (`validation.first-workload`), in the order they happen.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChainLink {
    /// The scheduler's pull request against the environment branch.
    PullRequest,
    /// That pull request merged.
    Merged,
    /// Each attached cluster's Kustomization Ready at the merged commit.
    Reconciled,
    /// The workload's objects present on each attached cluster.
    Running,
}

impl ChainLink {
    pub const ALL: [ChainLink; 4] = [
        ChainLink::PullRequest,
        ChainLink::Merged,
        ChainLink::Reconciled,
        ChainLink::Running,
    ];

    /// The link in a few words, as the front ends show it.
    pub fn label(self) -> &'static str {
        match self {
            ChainLink::PullRequest => "pull request",
            ChainLink::Merged => "merged",
            ChainLink::Reconciled => "reconciled",
            ChainLink::Running => "workload running",
        }
    }
}

/// Where one link of the chain stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Not reached yet, or being waited for.
    Waiting,
    Done,
    /// Done, with something the user should know that is not this tool's failure (the
    /// workload repository's own Kustomization failing).
    Warning,
    /// Left for a human (`--no-merge`): the message says what to run.
    Left,
    Failed,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Waiting => "waiting",
            LinkStatus::Done => "done",
            LinkStatus::Warning => "warning",
            LinkStatus::Left => "left",
            LinkStatus::Failed => "failed",
        }
    }
}

/// Severity of a free-form log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One planned step as announced at the start of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PlannedStepInfo {
    pub step: StepId,
    pub phase: Phase,
    pub action: Action,
    pub title: String,
    pub depends_on: Vec<StepId>,
    /// What consenting to the plan accepts beyond the step's action, one line each (the
    /// open pull requests of others the scheduler will close), escaped. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consequences: Vec<String>,
}

/// What a finished run produced, for the summary screen and block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RunSummary {
    pub cluster: Option<String>,
    pub kube_context: Option<String>,
    pub control_plane_url: Option<String>,
    pub gitops_url: Option<String>,
    pub namespace: Option<String>,
    pub chart_version: Option<String>,
    pub state_file: Option<String>,
    pub log_file: Option<String>,
    pub report_file: Option<String>,
    /// (phase, milliseconds) in phase order.
    pub phase_durations_ms: Vec<(Phase, u64)>,
    pub next_steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        demo: bool,
        steps: Vec<PlannedStepInfo>,
    },
    PhaseStarted {
        phase: Phase,
    },
    StepStarted {
        phase: Phase,
        step: StepId,
        action: Action,
        message: String,
    },
    /// A step's progress; `transition` names the data model's state when it changes
    /// (e.g. `Creating`, `Running`, `Accessible`, `Ready`).
    StepProgress {
        phase: Phase,
        step: StepId,
        message: String,
        transition: Option<String>,
        elapsed_ms: u64,
    },
    StepFinished {
        phase: Phase,
        step: StepId,
        action: Action,
        outcome: Outcome,
        duration_ms: u64,
        message: String,
        hint: Option<String>,
    },
    HealthCheck {
        check: String,
        status: HealthStatus,
        message: String,
    },
    /// One link of the first workload's chain in one environment changed
    /// (`validation.first-workload`).
    WorkloadChain {
        step: StepId,
        environment: String,
        link: ChainLink,
        status: LinkStatus,
        message: String,
    },
    Log {
        level: LogLevel,
        phase: Option<Phase>,
        step: Option<StepId>,
        message: String,
    },
    RollbackStarted {
        /// Human descriptions of what will be removed, in the order it will be removed.
        resources: Vec<String>,
    },
    /// One rollback action's result.
    RollbackAction {
        resource: String,
        outcome: Outcome,
        message: String,
        duration_ms: u64,
    },
    RollbackFinished {
        outcome: Outcome,
        message: String,
        /// What could not be removed, with the command to remove it by hand.
        leftovers: Vec<String>,
    },
    RunFinished {
        duration_ms: u64,
        summary: Box<RunSummary>,
    },
    RunFailed {
        phase: Phase,
        step: Option<StepId>,
        message: String,
        hint: Option<String>,
        exit_code: i32,
        duration_ms: u64,
        /// The run report written at the end of the run.
        report_file: Option<String>,
    },
}

/// The keys every `--output json` line carries (null where they do not apply).
pub const JSON_LINE_KEYS: [&str; 8] = [
    "event",
    "ts",
    "phase",
    "step",
    "action",
    "outcome",
    "duration_ms",
    "message",
];

/// An event with the time it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub ts: Timestamp,
    pub kind: EventKind,
}

impl Event {
    pub fn now(kind: EventKind) -> Self {
        Self {
            ts: Timestamp::now(),
            kind,
        }
    }

    /// The phase the event belongs to, where it has one.
    /// The step the event is about, if any (for the log file's `step_id` field).
    pub fn step(&self) -> Option<StepId> {
        match &self.kind {
            EventKind::StepStarted { step, .. }
            | EventKind::StepProgress { step, .. }
            | EventKind::StepFinished { step, .. } => Some(*step),
            EventKind::RunFailed { step, .. } => *step,
            EventKind::Log { step, .. } => *step,
            EventKind::WorkloadChain { step, .. } => Some(*step),
            _ => None,
        }
    }

    pub fn phase(&self) -> Option<Phase> {
        match &self.kind {
            EventKind::PhaseStarted { phase }
            | EventKind::StepStarted { phase, .. }
            | EventKind::StepProgress { phase, .. }
            | EventKind::StepFinished { phase, .. }
            | EventKind::RunFailed { phase, .. } => Some(*phase),
            EventKind::Log { phase, .. } => *phase,
            EventKind::HealthCheck { .. } | EventKind::WorkloadChain { .. } => {
                Some(Phase::Validation)
            }
            EventKind::RollbackStarted { .. }
            | EventKind::RollbackAction { .. }
            | EventKind::RollbackFinished { .. } => Some(Phase::Rollback),
            EventKind::RunStarted { .. } | EventKind::RunFinished { .. } => None,
        }
    }

    /// How the event reads in the log file and the wizard's log pane: a level and one
    /// line, in people's words (step titles, "AKS cluster demo", "4s"), like the rest of
    /// the screen. JSON output keeps the stable identifiers.
    pub fn log_line(&self) -> (tracing::Level, String) {
        use crate::state::in_human_words as human;
        use tracing::Level;
        let took = crate::text::format_duration_ms;
        match &self.kind {
            EventKind::RunStarted { demo, steps } => (
                Level::INFO,
                format!(
                    "run started ({} planned{})",
                    crate::text::plural(steps.len(), "step"),
                    if *demo { ", DEMO" } else { "" }
                ),
            ),
            EventKind::PhaseStarted { phase } => {
                (Level::INFO, format!("{} phase started", phase.as_str()))
            }
            EventKind::StepStarted {
                step,
                action,
                message,
                ..
            } => {
                // The message is "Title (reason)": said once, the action after the title.
                let title = step.title();
                let reason = message
                    .strip_prefix(title)
                    .and_then(|rest| rest.strip_prefix(" ("))
                    .and_then(|rest| rest.strip_suffix(')'))
                    .unwrap_or(message);
                (
                    Level::INFO,
                    format!("{title} started ({action}): {}", human(reason)),
                )
            }
            EventKind::StepProgress {
                step,
                message,
                transition,
                ..
            } => {
                let title = step.title();
                let mut line = if message.starts_with(title) {
                    message.to_string()
                } else {
                    format!("{title}: {message}")
                };
                let level = match transition {
                    Some(state) => {
                        if !line.contains(state.as_str()) {
                            line = format!("{line} ({state})");
                        }
                        Level::INFO
                    }
                    None => Level::DEBUG,
                };
                (level, human(&line).into_owned())
            }
            EventKind::StepFinished {
                step,
                outcome,
                duration_ms,
                message,
                hint,
                ..
            } => {
                let level = match outcome {
                    Outcome::Failed => Level::ERROR,
                    Outcome::Cancelled => Level::WARN,
                    _ => Level::INFO,
                };
                let hint = hint
                    .as_deref()
                    .map(|h| format!(" (hint: {h})"))
                    .unwrap_or_default();
                let took = match outcome {
                    Outcome::Skipped => String::new(),
                    _ => format!(" in {}", took(*duration_ms)),
                };
                (
                    level,
                    format!(
                        "{} {}{took}: {}{hint}",
                        step.title(),
                        outcome.as_str(),
                        human(message)
                    ),
                )
            }
            EventKind::HealthCheck {
                check,
                status,
                message,
            } => {
                let level = if *status == HealthStatus::Failing {
                    Level::WARN
                } else {
                    Level::INFO
                };
                let status = format!("{status:?}").to_lowercase();
                (level, format!("Health check {check}: {status}: {message}"))
            }
            EventKind::WorkloadChain {
                environment,
                link,
                status,
                message,
                ..
            } => {
                let level = match status {
                    LinkStatus::Failed | LinkStatus::Warning => Level::WARN,
                    _ => Level::INFO,
                };
                (
                    level,
                    format!(
                        "First workload, {environment}, {}: {}: {message}",
                        link.label(),
                        status.as_str()
                    ),
                )
            }
            EventKind::Log { level, message, .. } => (
                match level {
                    LogLevel::Debug => Level::DEBUG,
                    LogLevel::Info => Level::INFO,
                    LogLevel::Warn => Level::WARN,
                    LogLevel::Error => Level::ERROR,
                },
                message.clone(),
            ),
            EventKind::RollbackStarted { resources } => (
                Level::WARN,
                format!("rollback started: {}", human(&resources.join(", "))),
            ),
            EventKind::RollbackAction {
                resource,
                outcome,
                message,
                ..
            } => {
                let level = if *outcome == Outcome::Failed {
                    Level::ERROR
                } else {
                    Level::INFO
                };
                (
                    level,
                    format!(
                        "rollback of {} {}: {}",
                        human(resource),
                        outcome.as_str(),
                        human(message)
                    ),
                )
            }
            EventKind::RollbackFinished {
                outcome,
                message,
                leftovers,
            } => {
                let level = if outcome.is_success() {
                    Level::INFO
                } else {
                    Level::ERROR
                };
                let left = if leftovers.is_empty() {
                    String::new()
                } else {
                    format!("; left in place: {}", human(&leftovers.join("; ")))
                };
                (
                    level,
                    format!("rollback {}: {}{left}", outcome.as_str(), human(message)),
                )
            }
            EventKind::RunFinished { duration_ms, .. } => (
                Level::INFO,
                format!("run completed in {}", took(*duration_ms)),
            ),
            EventKind::RunFailed {
                phase,
                step,
                message,
                hint,
                exit_code,
                ..
            } => {
                let at = step
                    .map(|s| format!(" at {}", s.title()))
                    .unwrap_or_default();
                let hint = hint
                    .as_deref()
                    .map(|h| format!(" (hint: {h})"))
                    .unwrap_or_default();
                (
                    Level::ERROR,
                    format!(
                        "run failed in the {} phase{at}, exit code {exit_code}: {message}{hint}",
                        phase.as_str()
                    ),
                )
            }
        }
    }

    /// One JSON object for `--output json`. Every line carries the keys `event`, `ts`
    /// (RFC 3339 with milliseconds), `phase`, `step`, `action`, `outcome`, `duration_ms` and
    /// `message` (null where they do not apply), then the event's own fields. Redacted.
    pub fn to_json_line(&self) -> String {
        json_line(self.ts, self.phase(), &self.kind)
    }
}

/// The keys of every `--output json` line ([`JSON_LINE_KEYS`] with `event`), null where they
/// do not apply; an event's own fields of the same name replace them. The event stream's
/// schema is built from this type and [`EventKind`] ([`crate::schemas`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct JsonLineKeys {
    /// The event's name: `version` first, then [`EventKind`]'s.
    pub event: String,
    pub ts: Timestamp,
    pub phase: Option<Phase>,
    pub step: Option<StepId>,
    pub action: Option<Action>,
    pub outcome: Option<Outcome>,
    pub duration_ms: Option<u64>,
    pub message: Option<String>,
}

/// The name of the event stream's first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionEventName {
    Version,
}

/// The event stream's first line, like terraform's `version` message: which contract the
/// lines after it follow, and the tool that wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StreamVersion {
    pub event: VersionEventName,
    /// [`crate::contracts::EVENTS`]'s name.
    pub schema: String,
    /// [`crate::contracts::EVENTS`]'s version.
    pub schema_version: u32,
    /// The version of kalypso-bootstrap.
    pub tool: String,
}

impl StreamVersion {
    pub fn current() -> Self {
        Self {
            event: VersionEventName::Version,
            schema: crate::contracts::EVENTS.name.to_string(),
            schema_version: crate::contracts::EVENTS.version,
            tool: crate::contracts::TOOL_VERSION.to_string(),
        }
    }
}

/// The first line of every `--output json` event stream, at `ts`: `{"event":"version",
/// "schema":"kalypso-bootstrap/events","schema_version":1,"tool":"0.1.0",…}` with the other
/// keys every line carries.
pub fn stream_version_line(ts: Timestamp) -> String {
    json_line(ts, None, &StreamVersion::current())
}

/// [`JsonLineKeys`] overlaid by `body`'s own fields, redacted.
fn json_line(ts: Timestamp, phase: Option<Phase>, body: &impl Serialize) -> String {
    let keys = JsonLineKeys {
        event: String::new(),
        ts,
        phase,
        step: None,
        action: None,
        outcome: None,
        duration_ms: None,
        message: None,
    };
    let (Ok(Value::Object(mut object)), Ok(Value::Object(fields))) =
        (serde_json::to_value(keys), serde_json::to_value(body))
    else {
        return String::new();
    };
    object.extend(fields);
    let line = Value::Object(object).to_string();
    crate::secrets::redact(&line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_json_line_carries_the_contract_keys() {
        let events = [
            EventKind::PhaseStarted {
                phase: Phase::Cluster,
            },
            EventKind::StepFinished {
                phase: Phase::Repositories,
                step: StepId::GitopsLabel,
                action: Action::Create,
                outcome: Outcome::Succeeded,
                duration_ms: 12,
                message: "label created".into(),
                hint: None,
            },
            EventKind::RollbackFinished {
                outcome: Outcome::Succeeded,
                message: "done".into(),
                leftovers: vec![],
            },
        ];
        for kind in events {
            let line = Event::now(kind).to_json_line();
            let value: Value = serde_json::from_str(&line).unwrap();
            for key in JSON_LINE_KEYS {
                assert!(value.get(key).is_some(), "{key} missing in {line}");
            }
            let ts = value["ts"].as_str().unwrap();
            assert!(
                ts.len() == "2025-11-11T10:30:45.123Z".len() && ts.ends_with('Z'),
                "{ts}"
            );
        }
    }

    #[test]
    fn json_lines_name_events_phases_and_steps_in_the_contract_spelling() {
        let line = Event::now(EventKind::StepFinished {
            phase: Phase::Repositories,
            step: StepId::GitopsLabel,
            action: Action::Create,
            outcome: Outcome::Succeeded,
            duration_ms: 12,
            message: "ok".into(),
            hint: None,
        })
        .to_json_line();
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "step_finished");
        assert_eq!(value["phase"], "repositories");
        assert_eq!(value["step"], "gitops.label");
        assert_eq!(value["action"], "create");
        assert_eq!(value["outcome"], "succeeded");
        assert_eq!(value["duration_ms"], 12);
        let rollback = Event::now(EventKind::RollbackStarted { resources: vec![] }).to_json_line();
        assert!(rollback.contains("\"phase\":\"rollback\""), "{rollback}");
    }

    #[test]
    fn the_version_line_names_the_event_contract_with_the_keys_of_every_line() {
        let line = stream_version_line(Timestamp::now());
        let value: Value = serde_json::from_str(&line).unwrap();
        for key in JSON_LINE_KEYS {
            assert!(value.get(key).is_some(), "{key} missing in {line}");
        }
        assert_eq!(value["event"], "version");
        assert_eq!(value["schema"], crate::contracts::EVENTS.name);
        assert_eq!(value["schema_version"], crate::contracts::EVENTS.version);
        assert_eq!(value["tool"], env!("CARGO_PKG_VERSION"));
        assert_eq!(value["phase"], Value::Null);
    }

    #[test]
    fn json_lines_are_redacted() {
        crate::secrets::register("ghp_eventCanary0123456789");
        let line = Event::now(EventKind::Log {
            level: LogLevel::Info,
            phase: None,
            step: None,
            message: "token ghp_eventCanary0123456789".into(),
        })
        .to_json_line();
        assert!(!line.contains("ghp_eventCanary0123456789"));
    }
}
