//! Synthetic event sequences shared by the headless tests.

use kalypso_bootstrap::cli::OutputFormat;
use kalypso_bootstrap::engine::events::{LogLevel, RunSummary};
use kalypso_bootstrap::engine::steps::validation::{
    crds_not_registered, crds_registered, pods_not_running, pods_running, HealthCheck, WAITING,
};
use kalypso_bootstrap::engine::{Action, Event, EventKind, HealthStatus, Outcome, StepId};
use kalypso_bootstrap::headless::{HeadlessPrinter, PrinterSettings};
use kalypso_bootstrap::logging::Verbosity;
use kalypso_bootstrap::state::Phase;
use time::macros::datetime;

pub use super::events::planned;
use super::events::EventClock;

/// The headless tests' events: `seconds` after 2025-11-11 10:30:45 UTC.
pub const CLOCK: EventClock = EventClock::new(datetime!(2025-11-11 10:30:45 UTC));

/// Every event `seconds` after 2025-11-11 10:30:45 UTC.
pub fn at(seconds: i64, kind: EventKind) -> Event {
    CLOCK.event(seconds, kind)
}

pub fn progress(seconds: i64, step: StepId, transition: Option<&str>, message: &str) -> Event {
    CLOCK.progress(seconds, step, transition, message)
}

pub fn finished(
    seconds: i64,
    step: StepId,
    outcome: Outcome,
    duration_ms: u64,
    message: &str,
) -> Event {
    CLOCK.finished(seconds, step, outcome, duration_ms, message)
}

pub fn health(seconds: i64, check: &str, status: HealthStatus, message: &str) -> Event {
    CLOCK.health(seconds, check, status, message)
}

/// A log line of the cluster's creation.
pub fn log(seconds: i64, level: LogLevel, message: &str) -> Event {
    CLOCK.log(seconds, level, Some(StepId::ClusterCreate), message)
}

pub fn summary() -> RunSummary {
    RunSummary {
        cluster: Some("kalypso-aks".into()),
        kube_context: Some("kalypso-aks".into()),
        control_plane_url: Some("https://github.com/contoso/kalypso-control-plane".into()),
        gitops_url: Some("https://github.com/contoso/kalypso-gitops".into()),
        namespace: Some("kalypso-system".into()),
        chart_version: Some("0.1.0".into()),
        state_file: Some("/home/u/.kalypso/state.json".into()),
        log_file: Some("/home/u/.kalypso/bootstrap-1762857045.log".into()),
        report_file: Some("/home/u/.kalypso/report.md".into()),
        // As the orchestrator measures them over `success_run`'s events (a phase from
        // its first step's start to its last step's end): the cluster 1 s to 253 s, the
        // repository beside it (1.2 s, done at 254 s), Flux skipped at 254 s, the checks
        // from then until the run's end at 260 s.
        phase_durations_ms: vec![
            (Phase::Cluster, 252_000),
            (Phase::Repositories, 1_200),
            (Phase::Installation, 0),
            (Phase::Validation, 6_000),
        ],
        next_steps: vec![
            "Add an application to the control-plane repository".into(),
            "kubectl --context kalypso-aks get workloads -A".into(),
        ],
    }
}

/// A complete successful run: cluster created while the gitops repo is created, health
/// checks pending then passing, and the summary.
pub fn success_run() -> Vec<Event> {
    vec![
        at(
            0,
            EventKind::RunStarted {
                demo: false,
                steps: vec![
                    planned(StepId::ClusterCreate, Action::Create, vec![]),
                    planned(StepId::GitopsRepo, Action::Create, vec![]),
                    planned(
                        StepId::InstallFlux,
                        Action::Skip,
                        vec![StepId::ClusterCreate],
                    ),
                    planned(
                        StepId::HealthChecks,
                        Action::Create,
                        vec![StepId::ClusterCreate, StepId::GitopsRepo],
                    ),
                ],
            },
        ),
        at(
            0,
            EventKind::PhaseStarted {
                phase: Phase::Cluster,
            },
        ),
        at(
            1,
            EventKind::StepStarted {
                phase: Phase::Cluster,
                step: StepId::ClusterCreate,
                action: Action::Create,
                message: "cluster kalypso-aks in westeurope".into(),
            },
        ),
        progress(2, StepId::ClusterCreate, Some("Creating"), "Creating"),
        progress(
            90,
            StepId::ClusterCreate,
            Some("Creating"),
            "provisioningState Creating",
        ),
        progress(
            100,
            StepId::ClusterCreate,
            None,
            "waiting for provisioningState",
        ),
        progress(
            240,
            StepId::ClusterCreate,
            Some("Running"),
            "provisioningState Succeeded",
        ),
        finished(253, StepId::ClusterCreate, Outcome::Succeeded, 252_000, ""),
        finished(
            254,
            StepId::GitopsRepo,
            Outcome::Reused,
            1_200,
            "contoso/kalypso-gitops",
        ),
        finished(
            254,
            StepId::InstallFlux,
            Outcome::Skipped,
            0,
            "--skip-install",
        ),
        log(255, LogLevel::Debug, "az aks show returned Succeeded"),
        log(255, LogLevel::Warn, "quota nearly used up"),
        // The checks' names and words as the validation step makes them.
        health(
            256,
            HealthCheck::Pods.name(),
            HealthStatus::Pending,
            WAITING,
        ),
        health(
            257,
            HealthCheck::Pods.name(),
            HealthStatus::Failing,
            &pods_not_running([(
                "kalypso-scheduler-controller-manager-6f7b9c-x2x4k",
                "ContainerCreating",
            )]),
        ),
        health(
            258,
            HealthCheck::Pods.name(),
            HealthStatus::Passing,
            &pods_running(1, "kalypso-system"),
        ),
        health(
            258,
            HealthCheck::Crds.name(),
            HealthStatus::Failing,
            &crds_not_registered(&["assignments.scheduler.kalypso.io"]),
        ),
        health(
            259,
            HealthCheck::Crds.name(),
            HealthStatus::Passing,
            &crds_registered(),
        ),
        at(
            260,
            EventKind::RunFinished {
                duration_ms: 260_000,
                summary: Box::new(summary()),
            },
        ),
    ]
}

/// The gitops repository fails with a hint, rollback removes the cluster but leaves the
/// resource group behind, then the run fails with exit code 5.
pub fn failure_with_rollback() -> Vec<Event> {
    vec![
        at(
            0,
            EventKind::PhaseStarted {
                phase: Phase::Repositories,
            },
        ),
        at(
            1,
            EventKind::StepStarted {
                phase: Phase::Repositories,
                step: StepId::GitopsRepo,
                action: Action::Create,
                message: String::new(),
            },
        ),
        at(
            3,
            EventKind::StepFinished {
                phase: Phase::Repositories,
                step: StepId::GitopsRepo,
                action: Action::Create,
                outcome: Outcome::Failed,
                duration_ms: 2_000,
                message: "contoso/kalypso-gitops exists and was not created by this tool".into(),
                hint: Some(
                    "pass it as existing: --gitops-repo https://github.com/contoso/kalypso-gitops"
                        .into(),
                ),
            },
        ),
        at(
            4,
            EventKind::RollbackStarted {
                resources: vec![
                    "AKS cluster kalypso-aks".into(),
                    "resource group kalypso-rg".into(),
                ],
            },
        ),
        at(
            5,
            EventKind::RollbackAction {
                resource: "AKS cluster kalypso-aks".into(),
                outcome: Outcome::Succeeded,
                message: "deletion started (asynchronous)".into(),
                duration_ms: 1_500,
            },
        ),
        at(
            6,
            EventKind::RollbackAction {
                resource: "resource group kalypso-rg".into(),
                outcome: Outcome::Failed,
                message: "AuthorizationFailed".into(),
                duration_ms: 800,
            },
        ),
        at(
            7,
            EventKind::RollbackFinished {
                outcome: Outcome::Failed,
                message: "1 of 2 resources could not be removed".into(),
                leftovers: vec![
                    "resource group kalypso-rg: az group delete --name kalypso-rg --yes".into(),
                ],
            },
        ),
        at(
            8,
            EventKind::RunFailed {
                phase: Phase::Repositories,
                step: Some(StepId::GitopsRepo),
                message: "contoso/kalypso-gitops exists and was not created by this tool".into(),
                hint: Some(
                    "pass it as existing: --gitops-repo https://github.com/contoso/kalypso-gitops"
                        .into(),
                ),
                exit_code: 5,
                duration_ms: 8_000,
                report_file: Some("/home/u/.kalypso/bootstrap-report-20251111T103045Z.md".into()),
            },
        ),
    ]
}

/// Print `events` with the given settings and return the output.
pub fn print(settings: PrinterSettings, events: &[Event]) -> String {
    let mut printer = HeadlessPrinter::new(settings, Vec::new());
    for event in events {
        printer.handle(event).unwrap();
    }
    String::from_utf8(printer.into_inner()).unwrap()
}

pub fn text(verbosity: Verbosity) -> PrinterSettings {
    PrinterSettings::new(OutputFormat::Text, verbosity)
}
