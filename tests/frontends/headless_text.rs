//! The headless printer's text mode: exact lines for a success run, a failure with a hint
//! and a rollback with a leftover, health checks, verbosity and colour.

use crate::support::headless::*;
use kalypso_bootstrap::cli::OutputFormat;
use kalypso_bootstrap::engine::events::LogLevel;
use kalypso_bootstrap::engine::{EventKind, Outcome, StepId};
use kalypso_bootstrap::headless::{HeadlessPrinter, PrinterSettings, ReportedEnd};
use kalypso_bootstrap::logging::Verbosity;
use kalypso_bootstrap::state::Phase;
use time::macros::offset;

const SUCCESS: &str = "\
[INFO]  2025-11-11 10:30:45 - Bootstrap started: 4 steps (3 to create, 0 to reuse, 1 to skip)
[INFO]  2025-11-11 10:30:45 - Cluster phase started
[INFO]  2025-11-11 10:30:46 - Starting AKS cluster (create): cluster kalypso-aks in westeurope
[INFO]  2025-11-11 10:30:47 - AKS cluster: Creating (2s elapsed)
[INFO]  2025-11-11 10:34:45 - AKS cluster: Running (4m 0s elapsed): provisioningState Succeeded
[INFO]  2025-11-11 10:34:58 - ✓ AKS cluster created (4m 12s)
[INFO]  2025-11-11 10:34:59 - ✓ GitOps repository reused (1s): contoso/kalypso-gitops
[INFO]  2025-11-11 10:34:59 - Flux skipped: --skip-install
[WARN]  2025-11-11 10:35:00 - AKS cluster: quota nearly used up
[INFO]  2025-11-11 10:35:01 - Health check pods-running: pending (2 of 3 pods Running)
[INFO]  2025-11-11 10:35:03 - ✓ Health check pods-running: passing
[WARN]  2025-11-11 10:35:03 - ✗ Health check crds-registered: failing (11 of 12 CRDs registered)
[INFO]  2025-11-11 10:35:04 - ✓ Health check crds-registered: passing (12 of 12)
[INFO]  2025-11-11 10:35:05 - ✓ Bootstrap completed in 8m 15s

Summary: bootstrap completed in 8m 15s
  Cluster:             kalypso-aks
  Kube context:        kalypso-aks
  Control-plane repo:  https://github.com/contoso/kalypso-control-plane
  GitOps repo:         https://github.com/contoso/kalypso-gitops
  Namespace:           kalypso-system
  Chart version:       0.1.0
  Time per phase:
    cluster:       5m 0s
    repositories:  45s
    installation:  2m 0s
    validation:    30s
    total:         8m 15s
  Next steps:
    1. Add an application to the control-plane repository
    2. kubectl --context kalypso-aks get workloads -A
  Log file:    /home/u/.kalypso/bootstrap-1762857045.log
  State file:  /home/u/.kalypso/state.json
  Report:      /home/u/.kalypso/report.md
";

const SUMMARY_BLOCK_START: &str = "\nSummary: bootstrap completed in 8m 15s\n";

#[test]
fn a_successful_run_prints_a_line_per_transition_and_the_summary_block() {
    assert_eq!(print(text(Verbosity::Normal), &success_run()), SUCCESS);
}

#[test]
fn repeated_progress_and_unchanged_health_checks_are_printed_once() {
    let out = print(text(Verbosity::Normal), &success_run());
    assert_eq!(out.matches("AKS cluster: Creating").count(), 1, "{out}");
    assert_eq!(out.matches("pods-running: pending").count(), 1, "{out}");
}

#[test]
fn the_step_restarting_shows_its_transitions_again() {
    let mut events = success_run()[..4].to_vec();
    events.push(success_run()[2].clone()); // started again (a resumed run)
    events.push(progress(300, StepId::ClusterCreate, Some("Creating"), ""));
    let out = print(text(Verbosity::Normal), &events);
    assert_eq!(out.matches("AKS cluster: Creating").count(), 2, "{out}");
}

#[test]
fn a_failure_prints_the_mark_the_hint_the_rollback_and_the_failure_block() {
    let settings = text(Verbosity::Normal)
        .with_files(
            Some("/home/u/.kalypso/bootstrap.log".as_ref()),
            Some("/home/u/.kalypso/state.json".as_ref()),
        )
        .with_clean_command(Some(kalypso_bootstrap::engine::clean_command(
            "/home/u/.kalypso/state.json".as_ref(),
            false,
        )));
    let out = print(settings, &failure_with_rollback());
    let expected = "\
[INFO]  2025-11-11 10:30:45 - Repositories phase started
[INFO]  2025-11-11 10:30:46 - Starting GitOps repository (create)
[ERROR] 2025-11-11 10:30:48 - ✗ GitOps repository failed: contoso/kalypso-gitops exists and was not created by this tool
[ERROR] 2025-11-11 10:30:48 - hint: pass it as existing: --gitops-repo https://github.com/contoso/kalypso-gitops
[WARN]  2025-11-11 10:30:49 - Rollback started: removing 2 resources created by this run, in this order:
[INFO]  2025-11-11 10:30:49 -   1. AKS cluster kalypso-aks
[INFO]  2025-11-11 10:30:49 -   2. resource group kalypso-rg
[INFO]  2025-11-11 10:30:50 - ✓ Rollback: AKS cluster kalypso-aks removed (1s): deletion started (asynchronous)
[ERROR] 2025-11-11 10:30:51 - ✗ Rollback: resource group kalypso-rg failed, not removed: AuthorizationFailed
[ERROR] 2025-11-11 10:30:52 - ✗ Rollback incomplete: 1 of 2 resources could not be removed
[ERROR] 2025-11-11 10:30:52 - Left behind; remove by hand with these commands:
[ERROR] 2025-11-11 10:30:52 -   leftover: resource group kalypso-rg: az group delete --name kalypso-rg --yes
[ERROR] 2025-11-11 10:30:53 - ✗ Bootstrap failed in the repositories phase after 8s: contoso/kalypso-gitops exists and was not created by this tool

Failure summary: bootstrap failed, exit code 5
  Failed step:  GitOps repository (gitops.repo)
  Phase:        repositories
  Error:        contoso/kalypso-gitops exists and was not created by this tool
  Hint:         pass it as existing: --gitops-repo https://github.com/contoso/kalypso-gitops
  Exit code:    5 (repository operation failed)
  Rollback:     incomplete: 1 leftover(s), see the commands above
  Log file:     /home/u/.kalypso/bootstrap.log
  State file:   /home/u/.kalypso/state.json
  Report:       /home/u/.kalypso/bootstrap-report-20251111T103045Z.md
  Next:         fix the cause above and run the same command again to resume at the failed step, or remove what this run created with: kalypso-bootstrap --clean --state-file /home/u/.kalypso/state.json
";
    assert_eq!(out, expected);
}

#[test]
fn a_complete_rollback_says_so_and_suggests_simply_running_again() {
    let mut events = failure_with_rollback();
    events.retain(|event| {
        !matches!(
            event.kind,
            EventKind::RollbackAction { .. } | EventKind::RollbackFinished { .. }
        )
    });
    events.insert(
        events.len() - 1,
        at(
            7,
            EventKind::RollbackFinished {
                outcome: Outcome::Succeeded,
                message: "everything removed".into(),
                leftovers: vec![],
            },
        ),
    );
    let out = print(text(Verbosity::Normal), &events);
    assert!(
        out.contains("[INFO]  2025-11-11 10:30:52 - ✓ Rollback finished: everything removed\n"),
        "{out}"
    );
    assert!(
        out.contains("  Rollback:     complete: everything this run created was removed\n"),
        "{out}"
    );
    assert!(
        out.contains("  Next:         fix the cause above and run the same command again\n"),
        "{out}"
    );
    assert!(!out.contains("leftover"), "{out}");
}

#[test]
fn a_cancelled_run_is_called_cancelled_with_exit_code_7() {
    let out = print(
        text(Verbosity::Normal),
        &[at(
            3,
            EventKind::RunFailed {
                phase: Phase::Cluster,
                step: Some(StepId::ClusterCreate),
                message: "interrupted (Ctrl+C)".into(),
                hint: None,
                exit_code: 7,
                duration_ms: 3_000,
                report_file: None,
            },
        )],
    );
    assert!(
        out.starts_with(
            "[ERROR] 2025-11-11 10:30:48 - ✗ Bootstrap cancelled in the cluster phase after 3s: interrupted (Ctrl+C)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("Failure summary: bootstrap cancelled, exit code 7\n"),
        "{out}"
    );
    assert!(
        out.contains("  Exit code:    7 (user cancelled)\n"),
        "{out}"
    );
    assert!(!out.contains("Hint:"), "{out}");
}

#[test]
fn quiet_shows_only_errors_and_the_final_blocks() {
    let success = print(text(Verbosity::Quiet), &success_run());
    let block_at = SUCCESS.find(SUMMARY_BLOCK_START).unwrap();
    assert_eq!(success, &SUCCESS[block_at..]);

    let failure = print(text(Verbosity::Quiet), &failure_with_rollback());
    let tagged: Vec<&str> = failure.lines().filter(|l| l.starts_with('[')).collect();
    assert!(!tagged.is_empty());
    assert!(
        tagged.iter().all(|l| l.starts_with("[ERROR] ")),
        "{failure}"
    );
    assert!(failure.contains("hint: pass it as existing"), "{failure}");
    assert!(
        failure.contains("leftover: resource group kalypso-rg"),
        "{failure}"
    );
    assert!(
        failure.contains("Failure summary: bootstrap failed, exit code 5"),
        "{failure}"
    );
}

#[test]
fn verbose_adds_debug_detail_and_normal_hides_it() {
    let normal = print(text(Verbosity::Normal), &success_run());
    assert!(!normal.contains("[DEBUG]"), "{normal}");

    let verbose = print(text(Verbosity::Verbose), &success_run());
    for expected in [
        "[DEBUG] 2025-11-11 10:35:00 - AKS cluster: az aks show returned Succeeded\n",
        "[DEBUG] 2025-11-11 10:32:25 - AKS cluster: waiting for provisioningState (1m 40s elapsed)\n",
        "[DEBUG] 2025-11-11 10:30:45 - Plan: Health checks (validation.health): create, after cluster.create, gitops.repo\n",
    ] {
        assert!(verbose.contains(expected), "missing {expected:?} in\n{verbose}");
    }
    // Everything normal shows, verbose shows too, in the same order.
    let without_debug: String = verbose
        .lines()
        .filter(|l| !l.starts_with("[DEBUG]"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without_debug, normal);
}

#[test]
fn without_colour_nothing_but_text_is_written() {
    let mut events = success_run();
    events.extend(failure_with_rollback());
    let out = print(text(Verbosity::Verbose).with_color(false), &events);
    assert!(!out.contains('\x1b'), "{out}");
}

#[test]
fn with_colour_tags_are_coloured_like_the_console_and_marks_green_or_red() {
    let mut events = success_run();
    events.extend(failure_with_rollback());
    let out = print(text(Verbosity::Normal).with_color(true), &events);
    assert!(
        out.contains("\x1b[32m[INFO]\x1b[0m  2025-11-11 10:34:58 - \x1b[32m✓\x1b[0m AKS cluster created (4m 12s)\n"),
        "{out}"
    );
    assert!(
        out.contains("\x1b[1;31m[ERROR]\x1b[0m 2025-11-11 10:30:48 - \x1b[1;31m✗\x1b[0m GitOps repository failed"),
        "{out}"
    );
    assert!(out.contains("\x1b[33m[WARN]\x1b[0m  "), "{out}");
}

#[test]
fn timestamps_are_shown_in_the_given_local_offset() {
    let settings = text(Verbosity::Normal).with_utc_offset(offset!(+2));
    let out = print(settings, &success_run()[..1]);
    assert!(
        out.starts_with("[INFO]  2025-11-11 12:30:45 - Bootstrap started"),
        "{out}"
    );
}

#[test]
fn multi_line_messages_keep_the_tag_on_every_line() {
    let out = print(
        text(Verbosity::Normal),
        &[log(
            0,
            LogLevel::Error,
            "az failed:\nERROR: quota exceeded\r\nsee the portal",
        )],
    );
    assert_eq!(
        out,
        "[ERROR] 2025-11-11 10:30:45 - AKS cluster: az failed:\n\
         [ERROR] 2025-11-11 10:30:45 - ERROR: quota exceeded\n\
         [ERROR] 2025-11-11 10:30:45 - see the portal\n"
    );
}

#[test]
fn a_demo_run_is_labelled_in_the_lines_and_the_summary() {
    let mut events = success_run();
    if let EventKind::RunStarted { demo, .. } = &mut events[0].kind {
        *demo = true;
    }
    let out = print(text(Verbosity::Normal), &events);
    assert!(
        out.starts_with("[INFO]  2025-11-11 10:30:45 - DEMO: "),
        "{out}"
    );
    assert!(
        out.contains("\nSummary (DEMO): bootstrap completed in 8m 15s\n"),
        "{out}"
    );
}

#[test]
fn a_registered_canary_secret_never_reaches_the_text_output() {
    const CANARY: &str = "ghp_headlessTextCanary0123456789";
    kalypso_bootstrap::secrets::register(CANARY);
    let mut events = failure_with_rollback();
    events.insert(0, log(0, LogLevel::Info, &format!("token is {CANARY}")));
    if let EventKind::RunFailed { message, hint, .. } = &mut events.last_mut().unwrap().kind {
        *message = format!("push to https://x-access-token:{CANARY}@github.com failed");
        *hint = Some(format!("check {CANARY}"));
    }
    for verbosity in [Verbosity::Quiet, Verbosity::Normal, Verbosity::Verbose] {
        let out = print(text(verbosity).with_color(true), &events);
        assert!(!out.contains(CANARY), "{out}");
        assert!(out.contains("x-access-token:***@github.com"), "{out}");
    }
}

#[tokio::test]
async fn the_printer_drains_a_channel_and_reports_how_the_run_ended() {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let producer = tokio::spawn(async move {
        for event in success_run() {
            sender.send(event).await.unwrap();
        }
    });
    let mut printer = HeadlessPrinter::new(text(Verbosity::Normal), Vec::new());
    let end = printer.run(receiver).await.unwrap();
    producer.await.unwrap();
    assert_eq!(end, Some(ReportedEnd::Finished));
    assert_eq!(String::from_utf8(printer.into_inner()).unwrap(), SUCCESS);
}

#[tokio::test]
async fn an_unbounded_channel_works_and_a_failed_run_reports_its_exit_code() {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    for event in failure_with_rollback() {
        sender.send(event).unwrap();
    }
    drop(sender);
    let mut printer = HeadlessPrinter::new(text(Verbosity::Quiet), Vec::new());
    let end = printer.run(&mut receiver).await.unwrap();
    assert_eq!(end, Some(ReportedEnd::Failed { exit_code: 5 }));
    assert_eq!(end.unwrap().exit_code(), 5);
}

#[tokio::test]
async fn a_stream_that_ends_without_an_outcome_reports_none() {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    for event in success_run().into_iter().take(5) {
        sender.send(event).unwrap();
    }
    drop(sender);
    let mut printer = HeadlessPrinter::new(
        PrinterSettings::new(OutputFormat::Text, Verbosity::Normal),
        Vec::new(),
    );
    assert_eq!(printer.run(receiver).await.unwrap(), None);
}

/// Issue 14 §3: the pull-request check's scheduling reason is printed with its status.
#[test]
fn the_pull_request_checks_scheduling_reason_is_printed() {
    let mut events = success_run();
    let reason = "pull request #3 has no folder for assignment hello-world-app-hello-world-app-functional-test-default (cluster type default, deployment target hello-world-app-functional-test)";
    events.insert(
        events.len() - 2,
        health(
            303,
            "pull-request",
            kalypso_bootstrap::engine::HealthStatus::Failing,
            reason,
        ),
    );
    let out = print(text(Verbosity::Normal), &events);
    assert!(
        out.contains(&format!("✗ Health check pull-request: failing ({reason})")),
        "{out}"
    );
}
