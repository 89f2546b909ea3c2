//! The run report: at the end of every run (success or failure, either front end) the
//! engine writes `bootstrap-report-<UTC time>.md` beside the state file, readable by the
//! user only (0600), with every known secret masked. It says what the run created, reused
//! or skipped, where things are (URLs, kube context), how long each step took, what the
//! health checks found, what failed with its hint, the rollback if one followed, and what
//! to do next. A rollback after the run rewrites the same file with its results.
//!
//! Not written by `--dry-run`, `--status`, `--validate-only`, `--export-config`,
//! `--render-templates` or `--clean`, nor when the run stops before the engine starts
//! (invalid configuration, failed prerequisites, a conflict found while planning, "no" at
//! the confirmation): none of these changes anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::context::EventObserver;
use super::events::{Event, EventKind, HealthStatus, Outcome, RunSummary};
use super::resume::Resume;
use super::state_handle::StateHandle;
use super::step::{Action, StepId};
use crate::config::{ClusterTarget, Configuration, RepoTarget};
use crate::state::{BootstrapState, Ownership, Phase, ResourceStatus, Timestamp};
use crate::text::format_duration_ms;
use crate::ExitCode;

/// The documentation page on the created repositories and the first workload.
pub const FIRST_WORKLOAD_DOC: &str = "docs/repositories.md#deploy-your-first-workload";

/// A free path `bootstrap-report-<UTC time>.md` in `dir` (`-2`, `-3`, ... appended when a
/// report of the same second exists).
pub fn new_report_path(dir: &Path, at: Timestamp) -> PathBuf {
    let stem = format!("bootstrap-report-{}", at.to_file_name_part());
    let mut path = dir.join(format!("{stem}.md"));
    let mut counter = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{counter}.md"));
        counter += 1;
    }
    path
}

/// The directory of the state file (where the report goes).
pub fn report_dir(state_file: &Path) -> PathBuf {
    match state_file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Everything the report is made from.
pub struct ReportInput<'a> {
    pub demo: bool,
    pub configuration: &'a Configuration,
    /// The state as the run left it (and the rollback, if one followed).
    pub state: &'a BootstrapState,
    /// The run's events (from `run_started` to `run_finished`/`run_failed`), then the
    /// rollback's.
    pub events: &'a [Event],
    pub state_file: &'a Path,
    pub log_file: Option<&'a Path>,
    /// How a later command reaches this run (none for a demo whose world ends with it):
    /// the next steps name only commands that work.
    pub resume: &'a Resume,
}

/// The report as Markdown, secrets masked.
pub fn render(input: &ReportInput<'_>) -> String {
    let run = RunRecord::from_events(input.events);
    let mut out = String::new();
    title(&mut out, input, &run);
    where_things_are(&mut out, input, &run);
    steps(&mut out, &run);
    resources(&mut out, input);
    health(&mut out, input);
    errors(&mut out, input, &run);
    rollback(&mut out, input);
    next_steps(&mut out, input, &run);
    // Names, messages and tool output from outside: shown, never obeyed by a terminal or
    // viewer that prints the file (the Markdown itself has no control characters).
    // Resource kinds and ownership in people's words (the events carry the identifiers).
    let out = crate::state::in_human_words(&out).into_owned();
    crate::text::escape_controls(&crate::secrets::redact(&out)).into_owned()
}

/// How the run ended, as its last event said.
enum End {
    Completed,
    Failed {
        phase: Phase,
        step: Option<StepId>,
        message: String,
        hint: Option<String>,
        exit_code: i32,
    },
    /// No final event (yet).
    Unknown,
}

/// One planned step and what became of it.
struct StepLine {
    id: StepId,
    action: Action,
    outcome: Option<Outcome>,
    duration_ms: Option<u64>,
    message: Option<String>,
}

/// The run as its events tell it.
struct RunRecord {
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    duration_ms: Option<u64>,
    steps: Vec<StepLine>,
    summary: Option<RunSummary>,
    end: End,
}

impl RunRecord {
    fn from_events(events: &[Event]) -> Self {
        let mut record = RunRecord {
            started_at: events.first().map(|e| e.ts),
            finished_at: None,
            duration_ms: None,
            steps: Vec::new(),
            summary: None,
            end: End::Unknown,
        };
        for event in events {
            match &event.kind {
                EventKind::RunStarted { steps, .. } => {
                    record.started_at = Some(event.ts);
                    record.steps = steps
                        .iter()
                        .map(|info| StepLine {
                            id: info.step,
                            action: info.action,
                            outcome: None,
                            duration_ms: None,
                            message: None,
                        })
                        .collect();
                }
                EventKind::StepFinished {
                    step,
                    action,
                    outcome,
                    duration_ms,
                    message,
                    ..
                } => {
                    let line = match record.steps.iter_mut().position(|l| l.id == *step) {
                        Some(index) => &mut record.steps[index],
                        None => {
                            record.steps.push(StepLine {
                                id: *step,
                                action: *action,
                                outcome: None,
                                duration_ms: None,
                                message: None,
                            });
                            record.steps.last_mut().expect("just pushed")
                        }
                    };
                    line.outcome = Some(*outcome);
                    line.duration_ms = Some(*duration_ms);
                    line.message = Some(message.clone());
                }
                EventKind::RunFinished {
                    duration_ms,
                    summary,
                } => {
                    record.finished_at = Some(event.ts);
                    record.duration_ms = Some(*duration_ms);
                    record.summary = Some((**summary).clone());
                    record.end = End::Completed;
                }
                EventKind::RunFailed {
                    phase,
                    step,
                    message,
                    hint,
                    exit_code,
                    duration_ms,
                    ..
                } => {
                    record.finished_at = Some(event.ts);
                    record.duration_ms = Some(*duration_ms);
                    record.end = End::Failed {
                        phase: *phase,
                        step: *step,
                        message: message.clone(),
                        hint: hint.clone(),
                        exit_code: *exit_code,
                    };
                }
                _ => {}
            }
        }
        record
    }

    fn completed(&self) -> bool {
        matches!(self.end, End::Completed)
    }
}

/// Write `text` to `path`, readable and writable by the user only: a temporary file in the
/// same directory, synced, then renamed into place (a crash never leaves half a report).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = report_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bootstrap-report.md".to_string());
    let partial = dir.join(format!(".{name}.partial"));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Writes the report when the run ends (`run_finished` or `run_failed`) and again when a
/// rollback finishes, before the front end sees that event: a summary that names the
/// report names a file that exists.
pub struct ReportWriter {
    path: PathBuf,
    demo: bool,
    configuration: Configuration,
    state: StateHandle,
    state_file: PathBuf,
    log_file: Option<PathBuf>,
    resume: Resume,
    events: Mutex<Vec<Event>>,
}

impl ReportWriter {
    pub fn new(
        path: PathBuf,
        demo: bool,
        configuration: Configuration,
        state: StateHandle,
        log_file: Option<PathBuf>,
    ) -> Self {
        Self {
            path,
            demo,
            configuration,
            state_file: state.path().to_path_buf(),
            state,
            log_file,
            resume: Resume::default(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// How a later command reaches this run (see [`ReportInput::resume`]).
    pub fn with_resume(mut self, resume: Resume) -> Self {
        self.resume = resume;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, events: &[Event]) {
        let state = self.state.snapshot();
        let text = render(&ReportInput {
            demo: self.demo,
            configuration: &self.configuration,
            state: &state,
            events,
            state_file: &self.state_file,
            log_file: self.log_file.as_deref(),
            resume: &self.resume,
        });
        if let Err(error) = write_private(&self.path, &text) {
            tracing::warn!(
                "could not write the run report {}: {error}",
                self.path.display()
            );
        }
    }
}

impl EventObserver for ReportWriter {
    fn observe(&self, event: &Event) {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        // Only what the report reads is kept (the first event dates the run): a chatty run's
        // log and progress events would otherwise pile up here until its end.
        if events.is_empty() || read_by_the_report(&event.kind) {
            events.push(event.clone());
        }
        if matches!(
            event.kind,
            EventKind::RunFinished { .. }
                | EventKind::RunFailed { .. }
                | EventKind::RollbackFinished { .. }
        ) {
            self.write(&events);
        }
    }
}

fn read_by_the_report(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::RunStarted { .. }
            | EventKind::StepFinished { .. }
            | EventKind::RunFinished { .. }
            | EventKind::RunFailed { .. }
            | EventKind::HealthCheck { .. }
            | EventKind::RollbackStarted { .. }
            | EventKind::RollbackAction { .. }
            | EventKind::RollbackFinished { .. }
    )
}

fn result_line(run: &RunRecord) -> String {
    match &run.end {
        End::Completed => "**completed** (exit code 0)".to_string(),
        End::Failed {
            phase,
            step,
            exit_code,
            ..
        } => {
            let verb = if *exit_code == ExitCode::Cancelled.code() {
                "cancelled"
            } else {
                "failed"
            };
            format!(
                "**{verb}** in the {} phase{} (exit code {})",
                phase.as_str(),
                step.map(|s| format!(" at step `{s}`")).unwrap_or_default(),
                exit_text(*exit_code)
            )
        }
        End::Unknown => "**unknown**: the run did not report its end (see the log)".to_string(),
    }
}

fn exit_text(code: i32) -> String {
    match ExitCode::ALL.into_iter().find(|c| c.code() == code) {
        Some(known) => format!("{code}: {}", known.meaning()),
        None => code.to_string(),
    }
}

fn title(out: &mut String, input: &ReportInput<'_>, run: &RunRecord) {
    let demo = if input.demo {
        " (DEMO: simulated Azure, GitHub and cluster)"
    } else {
        ""
    };
    let stamp = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
    let _ = writeln!(out, "# Kalypso bootstrap report{demo}\n");
    let _ = writeln!(out, "- Result: {}", result_line(run));
    let _ = writeln!(out, "- Started: {}", stamp(run.started_at));
    let _ = writeln!(out, "- Finished: {}", stamp(run.finished_at));
    if let Some(ms) = run.duration_ms {
        let _ = writeln!(out, "- Duration: {}", format_duration_ms(ms));
    }
    let _ = writeln!(out, "- State file: `{}`", input.state_file.display());
    if let Some(log) = input.log_file {
        let _ = writeln!(out, "- Log file: `{}`", log.display());
    }
    out.push('\n');
}

fn where_things_are(out: &mut String, input: &ReportInput<'_>, run: &RunRecord) {
    let configuration = input.configuration;
    let state = input.state;
    let summary = run.summary.as_ref();
    let _ = writeln!(out, "## Where things are\n");
    let mut rows: Vec<(String, String)> = Vec::new();
    match &configuration.cluster {
        ClusterTarget::Create(new) => {
            let verb = if state.cluster.created {
                "created by kalypso-bootstrap"
            } else {
                "not created"
            };
            rows.push((
                "AKS cluster".into(),
                format!(
                    "{} in resource group {}, region {} ({verb})",
                    new.name, new.resource_group, new.region
                ),
            ));
        }
        ClusterTarget::Existing(existing) => rows.push((
            "Cluster".into(),
            format!("existing kube context {} (reused)", existing.context),
        )),
    }
    let known = |from_summary: Option<&Option<String>>, from_state: &Option<String>| {
        from_summary
            .and_then(Clone::clone)
            .or_else(|| from_state.clone())
            .unwrap_or_else(|| "-".to_string())
    };
    // What the run learned, else what the configuration names.
    let configured_context = match &configuration.cluster {
        ClusterTarget::Existing(existing) => Some(existing.context.clone()),
        ClusterTarget::Create(_) => None,
    };
    rows.push((
        "Kube context".into(),
        known(
            summary.map(|s| &s.kube_context),
            &state.cluster.kube_context.clone().or(configured_context),
        ),
    ));
    let configured_url = |target: &RepoTarget| match target {
        RepoTarget::Existing(existing) => Some(existing.url()),
        RepoTarget::Create { .. } => None,
    };
    let repo = |target: &RepoTarget, url: String, created: bool| match target {
        RepoTarget::Existing(_) => format!("{url} (existing, reused)"),
        RepoTarget::Create { .. } if created => format!("{url} (created by kalypso-bootstrap)"),
        RepoTarget::Create { .. } => format!("{url} (not created)"),
    };
    rows.push((
        "Control-plane repository".into(),
        repo(
            &configuration.repositories.control_plane,
            known(
                summary.map(|s| &s.control_plane_url),
                &state
                    .repositories
                    .control_plane
                    .url
                    .clone()
                    .or_else(|| configured_url(&configuration.repositories.control_plane)),
            ),
            state.repositories.control_plane.created,
        ),
    ));
    rows.push((
        "GitOps repository".into(),
        repo(
            &configuration.repositories.gitops,
            known(
                summary.map(|s| &s.gitops_url),
                &state
                    .repositories
                    .gitops
                    .url
                    .clone()
                    .or_else(|| configured_url(&configuration.repositories.gitops)),
            ),
            state.repositories.gitops.created,
        ),
    ));
    rows.push((
        "Environments".into(),
        format!(
            "{} (promotion order: branches of both repositories)",
            configuration.environments.names().join(" → ")
        ),
    ));
    let installation = &configuration.installation;
    if installation.skip_install {
        rows.push((
            "Installation".into(),
            "skipped (--skip-install)".to_string(),
        ));
    } else {
        rows.push(("Namespace".into(), installation.namespace.clone()));
        rows.push((
            "Helm chart".into(),
            format!(
                "{} {}",
                installation.chart.as_config_value(),
                installation.version
            ),
        ));
        rows.push((
            "Installed chart version".into(),
            known(
                summary.map(|s| &s.chart_version),
                &state.installation.version,
            ),
        ));
    }
    table(
        out,
        &["What", "Value"],
        rows.into_iter().map(|(a, b)| vec![a, b]),
    );
}

fn steps(out: &mut String, run: &RunRecord) {
    let _ = writeln!(out, "## Steps\n");
    let _ = writeln!(
        out,
        "What this run did per step: `create` makes what is missing, `reuse` checks what exists, `skip` is not part of this configuration.\n"
    );
    let rows = run.steps.iter().map(|step| {
        vec![
            format!("`{}`", step.id),
            step.id.title().to_string(),
            step.action.as_str().to_string(),
            step.outcome
                .map(|o| o.as_str().to_string())
                .unwrap_or_else(|| "not started".to_string()),
            step.duration_ms
                .map(format_duration_ms)
                .unwrap_or_else(|| "-".to_string()),
            step.message.clone().unwrap_or_default(),
        ]
    });
    table(
        out,
        &["Step", "Title", "Action", "Outcome", "Time", "Result"],
        rows,
    );
    if let Some(summary) = &run.summary {
        let phases: Vec<String> = summary
            .phase_durations_ms
            .iter()
            .map(|(phase, ms)| format!("{} {}", phase.as_str(), format_duration_ms(*ms)))
            .collect();
        if !phases.is_empty() {
            let _ = writeln!(out, "Time per phase: {}.\n", phases.join(", "));
        }
    }
}

fn resources(out: &mut String, input: &ReportInput<'_>) {
    let _ = writeln!(out, "## Resources in the state file\n");
    if input.state.resources.is_empty() {
        let _ = writeln!(out, "None recorded.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Rollback and `--clean` remove only what is marked as created by kalypso-bootstrap.\n"
    );
    let rows = input.state.resources.iter().map(|record| {
        vec![
            record.resource.label(),
            match record.ownership {
                Ownership::CreatedByUs => "created by kalypso-bootstrap",
                Ownership::Reused => "existed before (reused, never removed)",
            }
            .to_string(),
            match record.status {
                ResourceStatus::Creating => "creation started",
                ResourceStatus::Present => "present",
                ResourceStatus::Deleted => "deleted",
                ResourceStatus::DeleteFailed => "deletion failed",
                ResourceStatus::KeptNotOurs => "kept: not marked as ours",
            }
            .to_string(),
            record.step.clone().unwrap_or_default(),
        ]
    });
    table(out, &["Resource", "Ownership", "Status", "Step"], rows);
}

fn health(out: &mut String, input: &ReportInput<'_>) {
    let _ = writeln!(out, "## Health checks\n");
    let mut checks: BTreeMap<usize, (String, HealthStatus, String)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for event in input.events {
        if let EventKind::HealthCheck {
            check,
            status,
            message,
        } = &event.kind
        {
            let index = match order.iter().position(|c| c == check) {
                Some(index) => index,
                None => {
                    order.push(check.clone());
                    order.len() - 1
                }
            };
            checks.insert(index, (check.clone(), *status, message.clone()));
        }
    }
    if checks.is_empty() {
        let _ = writeln!(out, "Not run in this run.\n");
        return;
    }
    let rows = checks.into_values().map(|(check, status, message)| {
        let status = match status {
            HealthStatus::Passing => "passing",
            HealthStatus::Failing => "failing",
            HealthStatus::Pending => "not passing yet",
        };
        vec![check, status.to_string(), message]
    });
    table(out, &["Check", "Status", "Last observed"], rows);
}

fn errors(out: &mut String, input: &ReportInput<'_>, run: &RunRecord) {
    let _ = writeln!(out, "## Errors\n");
    let mut any = false;
    for event in input.events {
        if let EventKind::StepFinished {
            step,
            outcome: Outcome::Failed,
            message,
            hint,
            ..
        } = &event.kind
        {
            any = true;
            let _ = writeln!(out, "- `{step}` ({}): {}", step.title(), one_line(message));
            if let Some(hint) = hint {
                let _ = writeln!(out, "  - Hint: {}", one_line(hint));
            }
        }
    }
    // A failure outside any step (a state that cannot be saved, a cancellation), or one
    // whose step reported no failure of its own.
    if let End::Failed {
        step,
        message,
        hint,
        ..
    } = &run.end
    {
        let reported = step.is_some_and(|step| {
            input.events.iter().any(|event| {
                matches!(&event.kind, EventKind::StepFinished { step: s, outcome: Outcome::Failed, .. } if *s == step)
            })
        });
        if !reported {
            any = true;
            let _ = writeln!(out, "- {}", one_line(message));
            if let Some(hint) = hint {
                let _ = writeln!(out, "  - Hint: {}", one_line(hint));
            }
        }
    }
    if !any {
        let _ = writeln!(out, "None.");
    }
    out.push('\n');
}

fn rollback(out: &mut String, input: &ReportInput<'_>) {
    let mut actions = Vec::new();
    let mut started = false;
    let mut finished: Option<(Outcome, String, Vec<String>)> = None;
    for event in input.events {
        match &event.kind {
            EventKind::RollbackStarted { .. } => started = true,
            EventKind::RollbackAction {
                resource,
                outcome,
                message,
                duration_ms,
            } => actions.push(vec![
                resource.clone(),
                outcome.as_str().to_string(),
                format_duration_ms(*duration_ms),
                message.clone(),
            ]),
            EventKind::RollbackFinished {
                outcome,
                message,
                leftovers,
            } => finished = Some((*outcome, message.clone(), leftovers.clone())),
            _ => {}
        }
    }
    if !started {
        return;
    }
    let _ = writeln!(out, "## Rollback\n");
    if actions.is_empty() {
        let _ = writeln!(out, "Nothing to remove.\n");
    } else {
        table(
            out,
            &["Resource", "Outcome", "Time", "Result"],
            actions.into_iter(),
        );
    }
    match finished {
        Some((outcome, message, leftovers)) => {
            let _ = writeln!(
                out,
                "Rollback {}: {}\n",
                outcome.as_str(),
                one_line(&message)
            );
            if !leftovers.is_empty() {
                let _ = writeln!(out, "Left in place; remove by hand:\n");
                for leftover in leftovers {
                    let _ = writeln!(out, "- {}", one_line(&leftover));
                }
                out.push('\n');
            }
        }
        None => {
            let _ = writeln!(out, "The rollback did not finish.\n");
        }
    }
}

fn next_steps(out: &mut String, input: &ReportInput<'_>, run: &RunRecord) {
    let _ = writeln!(out, "## Next steps\n");
    let clean = input.resume.clean_command(input.state_file, input.demo);
    let rolled_back_completely = input.events.iter().any(|event| {
        matches!(
            &event.kind,
            EventKind::RollbackFinished { outcome, leftovers, .. }
                if outcome.is_success() && leftovers.is_empty()
        )
    });
    let mut steps: Vec<String> = Vec::new();
    if run.completed() {
        if let Some(summary) = &run.summary {
            steps.extend(summary.next_steps.iter().map(|s| as_command_or_text(s)));
        }
        steps.push(format!(
            "deploy your first workload: see {FIRST_WORKLOAD_DOC}"
        ));
        match &clean {
            Some(clean) => steps.push(format!("to remove everything this tool created: `{clean}`")),
            None => steps.push(input.resume.nothing_left_clause()),
        }
    } else if rolled_back_completely {
        steps.push("everything this run created was removed; fix the cause above, then run the same command again".to_string());
    } else if let Some(clean) = &clean {
        steps.push("fix the cause above (see the hint), then run the same command again: the run resumes at the failed step and reuses what exists".to_string());
        steps.push(format!("or remove what this tool created: `{clean}`"));
    } else {
        steps.push(format!(
            "fix the cause above (see the hint); {}",
            input.resume.nothing_left_clause()
        ));
    }
    for (index, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {step}", index + 1);
    }
}

/// A command line as code; advice as it is.
fn as_command_or_text(step: &str) -> String {
    const PROGRAMS: [&str; 6] = ["kubectl", "helm", "az", "gh", "git", "kalypso-bootstrap"];
    let program = step.split_whitespace().next().unwrap_or_default();
    if PROGRAMS.contains(&program) {
        format!("`{step}`")
    } else {
        step.to_string()
    }
}

/// A Markdown table; cells on one line, pipes escaped.
fn table(out: &mut String, headers: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        headers
            .iter()
            .map(|_| " --- ")
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        let cells: Vec<String> = row.iter().map(|cell| cell_text(cell)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn cell_text(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths_sit_beside_the_state_file_and_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let at = Timestamp::new(time::macros::datetime!(2025-11-11 10:30:45 UTC));
        let first = new_report_path(dir.path(), at);
        assert_eq!(
            first,
            dir.path().join("bootstrap-report-20251111T103045Z.md")
        );
        std::fs::write(&first, "x").unwrap();
        let second = new_report_path(dir.path(), at);
        assert_eq!(
            second,
            dir.path().join("bootstrap-report-20251111T103045Z-2.md")
        );
        assert_eq!(
            report_dir(Path::new("state.json")),
            PathBuf::from("."),
            "a bare file name means the current directory"
        );
    }

    #[test]
    fn reports_are_private_and_replace_the_previous_text() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bootstrap-report-x.md");
        write_private(&path, "first").unwrap();
        write_private(&path, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
    }

    fn configuration() -> Configuration {
        use crate::config::{
            ExistingCluster, GitHubRepo, HelmChart, Installation, Options, Repositories, Visibility,
        };
        Configuration {
            cluster: ClusterTarget::Existing(ExistingCluster {
                context: "kind-dev".into(),
                name: None,
            }),
            repositories: Repositories {
                control_plane: RepoTarget::Existing(GitHubRepo::new("acme".into(), "cp".into())),
                gitops: RepoTarget::Create { name: "go".into() },
                github_org: Some("acme".into()),
                visibility: Visibility::Private,
                github_host: Default::default(),
            },
            environments: Default::default(),
            installation: Installation {
                namespace: "kalypso-system".into(),
                chart: HelmChart::published("kalypso-scheduler"),
                version: "1.1.2-alpha".into(),
                values: None,
                flux_manifest: None,
                skip_install: false,
            },
            workload_clusters: Vec::new(),
            options: Options::default(),
        }
    }

    fn event(kind: EventKind) -> Event {
        Event::now(kind)
    }

    #[test]
    fn the_writer_keeps_only_the_events_the_report_reads() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateHandle::new(
            BootstrapState::new(Timestamp::now()),
            crate::state::StateStore::at_custom(dir.path().join("state.json")),
        );
        let writer = ReportWriter::new(
            dir.path().join("report.md"),
            true,
            configuration(),
            state,
            None,
        );
        for n in 0..1000 {
            writer.observe(&event(EventKind::Log {
                level: super::super::events::LogLevel::Info,
                phase: None,
                step: None,
                message: format!("line {n}"),
            }));
        }
        let kept = writer.events.lock().unwrap().len();
        assert_eq!(kept, 1, "only the first event, which dates the run");
    }

    #[test]
    fn a_failure_report_names_the_step_its_error_and_hint_and_masks_secrets() {
        let secret = "ghp_reportUnitCanary0123456789abcdefXY";
        crate::secrets::register(secret);
        let hint = crate::troubleshooting::Topic::GithubScopes.hint("add the workflow scope");
        let events = vec![
            event(EventKind::RunStarted {
                demo: false,
                steps: vec![super::super::events::PlannedStepInfo {
                    step: StepId::GitopsSeed,
                    phase: Phase::Repositories,
                    action: Action::Create,
                    title: StepId::GitopsSeed.title().into(),
                    depends_on: vec![],
                    consequences: Vec::new(),
                }],
            }),
            event(EventKind::StepFinished {
                phase: Phase::Repositories,
                step: StepId::GitopsSeed,
                action: Action::Create,
                outcome: Outcome::Failed,
                duration_ms: 1500,
                message: format!("push refused for token {secret}"),
                hint: Some(hint.to_string()),
            }),
            event(EventKind::RunFailed {
                phase: Phase::Repositories,
                step: Some(StepId::GitopsSeed),
                message: format!("push refused for token {secret}"),
                hint: Some(hint.to_string()),
                exit_code: 5,
                duration_ms: 1600,
                report_file: None,
            }),
        ];
        let state = BootstrapState::new(Timestamp::now());
        let configuration = configuration();
        let text = render(&ReportInput {
            demo: false,
            configuration: &configuration,
            state: &state,
            events: &events,
            state_file: Path::new("/home/u/.kalypso/bootstrap-state.json"),
            log_file: None,
            resume: &Resume::default(),
        });
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("push refused for token ***"), "{text}");
        assert!(
            text.contains("(exit code 5: repository operation failed)"),
            "{text}"
        );
        assert!(
            text.contains("| `gitops.seed` | GitOps content | create | failed | 1s |"),
            "{text}"
        );
        assert!(
            text.contains(
                "  - Hint: add the workflow scope; run kalypso-bootstrap --explain github-token-lacks-a-scope"
            ),
            "{text}"
        );
        // The failed step's error is listed once, not again for the run.
        assert_eq!(
            text.matches("push refused").count(),
            2,
            "step row and error: {text}"
        );
        assert!(
            text.contains("existing kube context kind-dev (reused)"),
            "{text}"
        );
        assert!(text.contains("| Kube context | kind-dev |"), "{text}");
        assert!(
            text.contains("https://github.com/acme/cp (existing, reused)"),
            "{text}"
        );
        assert!(
            text.contains("Not run in this run."),
            "no health checks: {text}"
        );
        assert!(
            text.contains(
                "`kalypso-bootstrap --clean --state-file /home/u/.kalypso/bootstrap-state.json`"
            ),
            "{text}"
        );
    }

    #[test]
    fn table_cells_stay_on_one_line_and_escape_pipes() {
        let mut out = String::new();
        table(
            &mut out,
            &["A", "B"],
            vec![vec!["x | y".to_string(), "two\nlines".to_string()]].into_iter(),
        );
        assert_eq!(out, "| A | B |\n| --- | --- |\n| x \\| y | two lines |\n\n");
    }
}
