//! The headless printer's text mode: exact lines for a success run, a failure with a hint
//! and a rollback with a leftover, health checks, verbosity and colour.

use crate::support::headless::*;
use kalypso_bootstrap::cli::OutputFormat;
use kalypso_bootstrap::engine::events::LogLevel;
use kalypso_bootstrap::engine::{EventKind, HealthStatus, Outcome, StepId};
use kalypso_bootstrap::headless::{HeadlessPrinter, PrinterSettings, ReportedEnd};
use kalypso_bootstrap::logging::Verbosity;
use kalypso_bootstrap::state::Phase;
use time::macros::offset;

const SUCCESS: &str = "\
► Bootstrap: 4 steps (3 to create, 0 to reuse, 1 to skip)
► Cluster: AKS cluster
◎ AKS cluster: provisioningState Creating (1m 30s elapsed)
◎ AKS cluster: provisioningState Succeeded (4m 00s elapsed)
✔ AKS cluster created (4m 12s)
✔ GitOps repository reused (1s): contoso/kalypso-gitops
Flux skipped: --skip-install
⚠ AKS cluster: quota nearly used up
✔ Health check pods: 1 pod Running in kalypso-system
✔ Health check crds: all 12 Kalypso CRDs registered
✔ Bootstrap completed in 4m 20s (cluster 4m 12s, repositories 1s, installation 0ms, validation 6s)
  Next:        1. Add an application to the control-plane repository
               2. kubectl --context kalypso-aks get workloads -A
  Log file:    /home/u/.kalypso/bootstrap-1762857045.log
  State file:  /home/u/.kalypso/state.json
  Report:      /home/u/.kalypso/report.md
";

const SUMMARY_BLOCK_START: &str = "✔ Bootstrap completed in 4m 20s";

#[test]
fn a_successful_run_prints_a_line_per_action_and_the_summary_block() {
    assert_eq!(print(text(Verbosity::Normal), &success_run()), SUCCESS);
}

/// Progress that only repeats the step's name and state is never printed; a wait is
/// reported once it is long (`LONG_WAIT_MS`), then at most every `PROGRESS_INTERVAL_MS`
/// (never more often than every 30 s); a pending or failing health check that soon passes
/// is not printed at all.
#[test]
fn only_long_waits_are_reported_and_no_more_often_than_the_interval() {
    assert_eq!(kalypso_bootstrap::headless::LONG_WAIT_MS, 60_000);
    assert_eq!(kalypso_bootstrap::headless::PROGRESS_INTERVAL_MS, 120_000);
    let out = print(text(Verbosity::Normal), &success_run());
    // At 2 s: too early; at 90 s: printed; at 100 s: 10 s after the last line; at 240 s:
    // printed.
    assert_eq!(out.matches('◎').count(), 2, "{out}");
    assert!(
        !out.contains("(2s elapsed)") && !out.contains("1m 40s"),
        "{out}"
    );
    assert!(
        !out.contains("pending") && !out.contains("failing"),
        "{out}"
    );

    let echo = print(
        text(Verbosity::Normal),
        &[
            progress(
                45,
                StepId::ControlPlaneRepo,
                Some("Creating"),
                "Control-plane repository: Creating",
            ),
            progress(
                75,
                StepId::ControlPlaneRepo,
                Some("Creating"),
                "Control-plane repository: Creating",
            ),
        ],
    );
    // 45 s is not a long wait yet; 75 s is.
    assert_eq!(
        echo,
        "◎ Control-plane repository: Creating (1m 15s elapsed)\n"
    );

    let mut waits = Vec::new();
    for seconds in (31..=330).step_by(2) {
        waits.push(progress(seconds, StepId::ClusterCreate, None, "waiting"));
    }
    let out = print(text(Verbosity::Normal), &waits);
    // 61 s, 181 s, 301 s: the first once the wait is long, then one per two minutes.
    assert_eq!(out.lines().count(), 3, "{out}");
}

/// The health checks are one step's wait: while some are not passing, one line names them
/// all, once they have waited the interval and then at most that often.
#[test]
fn health_checks_still_waiting_are_reported_together_after_the_interval() {
    let events = [
        health(0, "pods", HealthStatus::Failing, "0 of 1 pods Running"),
        health(0, "crds", HealthStatus::Pending, ""),
        health(20, "pods", HealthStatus::Failing, "0 of 1 pods Running"),
        health(61, "pods", HealthStatus::Failing, "0 of 1 pods Running"),
        health(65, "crds", HealthStatus::Passing, "12 registered"),
        health(150, "pods", HealthStatus::Pending, "0 of 1 pods Running"),
        health(181, "pods", HealthStatus::Pending, "0 of 1 pods Running"),
        health(190, "pods", HealthStatus::Passing, "1 pod Running"),
        health(200, "pods", HealthStatus::Passing, "1 pod Running"),
    ];
    let out = print(text(Verbosity::Normal), &events);
    assert_eq!(
        out,
        "◎ Health checks: waiting for crds (pending), pods (failing: 0 of 1 pods Running) (1m 01s elapsed)\n\
         ✔ Health check crds: 12 registered\n\
         ◎ Health checks: waiting for pods (pending: 0 of 1 pods Running) (3m 01s elapsed)\n\
         ✔ Health check pods: 1 pod Running\n"
    );
}

#[test]
fn the_step_restarting_reports_its_wait_again() {
    let mut events = vec![progress(70, StepId::ClusterCreate, Some("Creating"), "")];
    events.push(success_run()[2].clone()); // started again (a resumed run)
    events.push(progress(80, StepId::ClusterCreate, Some("Creating"), ""));
    let out = print(text(Verbosity::Normal), &events);
    assert_eq!(out.matches("AKS cluster: Creating").count(), 2, "{out}");
}

#[test]
fn a_failure_prints_the_step_the_rollback_and_the_error_and_hint_once() {
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
► Repositories
✗ GitOps repository failed (2s)
► Rollback: removing 2 resources created by this run, in this order:
  1. AKS cluster kalypso-aks
  2. resource group kalypso-rg
✔ Rollback: AKS cluster kalypso-aks (1s): deletion started (asynchronous)
✗ Rollback: resource group kalypso-rg failed, not removed: AuthorizationFailed
✗ Rollback incomplete: 1 of 2 resources could not be removed
Left behind; remove by hand with these commands:
  leftover: resource group kalypso-rg: az group delete --name kalypso-rg --yes

✗ Bootstrap failed in the repositories phase after 8s, exit code 5: repository operation failed
  Failed step:  GitOps repository (gitops.repo)
  Error:        contoso/kalypso-gitops exists and was not created by this tool
  Hint:         pass it as existing: --gitops-repo https://github.com/contoso/kalypso-gitops
  Rollback:     incomplete: 1 resource left, see the commands above
  Log file:     /home/u/.kalypso/bootstrap.log
  State file:   /home/u/.kalypso/state.json
  Report:       /home/u/.kalypso/bootstrap-report-20251111T103045Z.md
  Next:         fix the cause above and run the same command again to resume at the failed step, or remove what this run created with: kalypso-bootstrap --clean --state-file /home/u/.kalypso/state.json
";
    assert_eq!(out, expected);
    for once in [
        "exists and was not created by this tool",
        "pass it as existing",
    ] {
        assert_eq!(out.matches(once).count(), 1, "{once:?} in\n{out}");
    }
}

/// Steps run concurrently: a second failing step's own error is not lost, and is said once.
#[test]
fn another_failed_step_keeps_its_error_in_the_block() {
    let mut events = failure_with_rollback();
    events.insert(
        2,
        at(
            2,
            EventKind::StepFinished {
                phase: Phase::Cluster,
                step: StepId::ClusterCreate,
                action: kalypso_bootstrap::engine::Action::Create,
                outcome: Outcome::Failed,
                duration_ms: 1_000,
                message: "QuotaExceeded".into(),
                hint: None,
            },
        ),
    );
    let out = print(text(Verbosity::Normal), &events);
    assert!(out.contains("✗ AKS cluster failed (1s)\n"), "{out}");
    assert!(
        out.contains("  Also failed:  AKS cluster (cluster.create): QuotaExceeded\n"),
        "{out}"
    );
    assert_eq!(out.matches("QuotaExceeded").count(), 1, "{out}");
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
        out.contains("✔ Rollback finished: everything removed\n"),
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
            "\n✗ Bootstrap cancelled in the cluster phase after 3s, exit code 7: user cancelled\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  Error:        interrupted (Ctrl+C)\n"),
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
    // Errors only: the failed step and the rollback's failures, not its successes.
    assert!(failure.contains("✗ GitOps repository failed"), "{failure}");
    assert!(
        !failure.contains('✔') && !failure.contains('►'),
        "{failure}"
    );
    assert!(
        failure.contains("Hint:         pass it as existing"),
        "{failure}"
    );
    assert!(
        failure.contains("leftover: resource group kalypso-rg"),
        "{failure}"
    );
    assert!(
        failure.contains("✗ Bootstrap failed in the repositories phase after 8s, exit code 5"),
        "{failure}"
    );
}

#[test]
fn verbose_adds_levels_times_and_debug_detail_and_normal_hides_them() {
    let normal = print(text(Verbosity::Normal), &success_run());
    assert!(
        !normal.contains("[DEBUG]") && !normal.contains("[INFO]"),
        "{normal}"
    );
    assert!(!normal.contains("2025-11-11"), "{normal}");

    let verbose = print(text(Verbosity::Verbose), &success_run());
    for expected in [
        "[DEBUG] 2025-11-11 10:35:00 - AKS cluster: az aks show returned Succeeded\n",
        "[DEBUG] 2025-11-11 10:32:25 - AKS cluster: waiting for provisioningState (1m 40s elapsed)\n",
        "[DEBUG] 2025-11-11 10:30:45 - Plan: Health checks (validation.health): create, after cluster.create, gitops.repo\n",
        "[DEBUG] 2025-11-11 10:30:46 - Starting AKS cluster (create): cluster kalypso-aks in westeurope\n",
        "[DEBUG] 2025-11-11 10:35:01 - Health check pods: pending: waiting\n",
        "[INFO]  2025-11-11 10:34:58 - ✔ AKS cluster created (4m 12s)\n",
    ] {
        assert!(verbose.contains(expected), "missing {expected:?} in\n{verbose}");
    }
    // Everything normal shows, verbose shows too, in the same order, tagged.
    let tag = regex::Regex::new(r"^\[(INFO|WARN|ERROR)\] +2025-11-11 \d\d:\d\d:\d\d - ").unwrap();
    let without_debug: String = verbose
        .lines()
        .filter(|l| !l.starts_with("[DEBUG]"))
        .map(|l| format!("{}\n", tag.replace(l, "")))
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
        out.contains("\x1b[32m✔\x1b[0m AKS cluster created (4m 12s)\n"),
        "{out}"
    );
    assert!(
        out.contains("\x1b[1m\x1b[31m✗\x1b[0m GitOps repository failed"),
        "{out}"
    );
    assert!(out.contains("\x1b[33m⚠\x1b[0m AKS cluster: quota"), "{out}");
    let verbose = print(text(Verbosity::Verbose).with_color(true), &events);
    assert!(
        verbose.contains("\x1b[32m[INFO]\x1b[0m  2025-11-11 10:34:58 - \x1b[32m✔\x1b[0m AKS cluster created (4m 12s)\n"),
        "{verbose}"
    );
    assert!(verbose.contains("\x1b[33m[WARN]\x1b[0m  "), "{verbose}");
}

#[test]
fn timestamps_are_shown_in_the_given_local_offset() {
    let settings = text(Verbosity::Verbose).with_utc_offset(offset!(+2));
    let out = print(settings, &success_run()[..1]);
    assert!(
        out.starts_with("[INFO]  2025-11-11 12:30:45 - ► Bootstrap: 4 steps"),
        "{out}"
    );
}

#[test]
fn multi_line_messages_are_indented_and_with_verbose_keep_the_tag_on_every_line() {
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
        "✗ AKS cluster: az failed:\n  ERROR: quota exceeded\n  see the portal\n"
    );
    let out = print(
        text(Verbosity::Verbose),
        &[log(
            0,
            LogLevel::Error,
            "az failed:\nERROR: quota exceeded\r\nsee the portal",
        )],
    );
    assert_eq!(
        out,
        "[ERROR] 2025-11-11 10:30:45 - ✗ AKS cluster: az failed:\n\
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
    assert!(out.starts_with("► Bootstrap (DEMO): 4 steps"), "{out}");
    assert!(
        out.contains("\n✔ Bootstrap (DEMO) completed in 4m 20s"),
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
            333,
            "pull-request",
            kalypso_bootstrap::engine::HealthStatus::Failing,
            reason,
        ),
    );
    let out = print(text(Verbosity::Normal), &events);
    // A check not passing yet is one of the waited-for checks of the health step's wait
    // line, with its reason.
    assert!(
        out.contains(&format!("pull-request (failing: {reason})")),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------
// Real runs (see `support::replay`): the product's own words, printed

/// The configuration of a `--demo` run with `--cluster-name demo` and nothing else given.
fn demo_configuration() -> kalypso_bootstrap::config::Configuration {
    crate::support::tui::parsed(crate::support::tui::named("demo"))
        .validate(&[])
        .expect("the demo's flags are valid")
        .configuration()
        .clone()
}

/// The printer's settings as a plain `--demo` run has them: its world's files, no clean
/// command (nothing later reaches a world that is not kept), nothing to resume.
fn as_a_plain_demo(verbosity: Verbosity) -> PrinterSettings {
    use crate::support::replay::DEMO_ROOT;
    let root = std::path::Path::new(DEMO_ROOT);
    text(verbosity)
        .with_files(
            Some(&root.join("kalypso-bootstrap.log")),
            Some(&root.join("kalypso-bootstrap-state.json")),
        )
        .with_clean_command(None)
        .with_resume(kalypso_bootstrap::engine::Resume::for_invocation(
            &["--demo".to_string()],
            false,
        ))
}

/// A real demo run, its Flux source late for the first round of checks, on a real
/// installation's clock (minutes for the cluster): one success line per step in the
/// product's words, the long waits reported, the summary with the phases the
/// orchestrator measured.
#[test]
fn a_real_demo_run_prints_one_line_per_step_in_the_products_words() {
    use crate::support::replay::DemoRun;
    let replay = DemoRun::new(&demo_configuration())
        .with_flux_source_late()
        .replay(CLOCK);
    let out = print(as_a_plain_demo(Verbosity::Normal), &replay.events);
    for step in StepId::WITHOUT_WORKLOAD_CLUSTERS {
        let done = format!("✔ {} ", step.title());
        assert_eq!(
            out.lines().filter(|l| l.starts_with(&done)).count(),
            1,
            "{done}\n{out}"
        );
    }
    insta::assert_snapshot!("headless_real_demo_run", out);
}

/// A real demo run over its cluster's quota, rolled back but for a repository the token
/// may not delete: the error and its hint once each, the leftover with its command.
#[test]
fn a_real_failure_prints_its_error_and_hint_once_and_the_rollbacks_leftover() {
    use crate::support::replay::DemoRun;
    let replay = DemoRun::new(&demo_configuration())
        .over_cluster_quota("kalypso-demo/demo-control-plane")
        .replay(CLOCK);
    let out = print(as_a_plain_demo(Verbosity::Normal), &replay.events);
    let Some(EventKind::RunFailed { hint, .. }) = replay
        .events
        .iter()
        .find_map(|e| matches!(e.kind, EventKind::RunFailed { .. }).then(|| e.kind.clone()))
    else {
        panic!("the run failed");
    };
    let hint = hint.expect("a hint");
    assert_eq!(out.matches(hint.as_str()).count(), 1, "{out}");
    assert!(
        out.contains("gh repo delete kalypso-demo/demo-control-plane"),
        "{out}"
    );
    // `az aks create` was refused over the quota: no cluster was created, so the rollback
    // neither asks about one nor reports one "already gone".
    let asked = replay.asked.clone().expect("the session asked");
    assert!(
        !asked
            .iter()
            .any(|resource| resource.contains("AKS cluster")),
        "{asked:?}"
    );
    assert!(!out.contains("AKS cluster demo (resource group"), "{out}");
    // Each error once: the rollback's own, and the repository's it could not delete (on
    // its rollback line; the leftover line gives only the command).
    assert!(
        !out.to_lowercase()
            .contains("rollback incomplete: rollback incomplete"),
        "{out}"
    );
    assert_eq!(
        out.matches("Must have admin rights to Repository").count(),
        1,
        "{out}"
    );
    assert!(
        out.contains("  repository https://github.com/kalypso-demo/demo-control-plane: gh repo delete kalypso-demo/demo-control-plane --yes\n"),
        "{out}"
    );
    // A plain --demo's world ends with it: no `--clean` command is offered, since none
    // would reach it; the hint says so instead.
    assert!(!out.contains("--clean"), "{out}");
    assert!(out.contains("nothing is left to resume or remove"), "{out}");
    insta::assert_snapshot!("headless_real_quota_failure", out);
}

/// Colour as the real binary decides it, with stdout and stderr pipes (as in a CI log):
/// `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE` and `FORCE_COLOR`, in anstream's order with
/// `FORCE_COLOR` beside `CLICOLOR_FORCE`. Both the line output (stdout: the marks) and the
/// console log (stderr: the level tags of `--validate-only -v`).
#[test]
fn colour_follows_no_color_clicolor_and_force_color_on_pipes() {
    // (environment, flags, coloured)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], bool);
    let cases: &[Case] = &[
        // Not a terminal: no colour unless forced.
        (&[], &[], false),
        (&[("TERM", "xterm-256color"), ("CLICOLOR", "1")], &[], false),
        (&[("CLICOLOR_FORCE", "1")], &[], true),
        (&[("FORCE_COLOR", "1")], &[], true),
        // bixense.com/clicolors: CLICOLOR_FORCE wins over CLICOLOR=0.
        (&[("CLICOLOR_FORCE", "1"), ("CLICOLOR", "0")], &[], true),
        // An empty value is unset.
        (&[("CLICOLOR_FORCE", ""), ("FORCE_COLOR", "")], &[], false),
        // no-color.org: NO_COLOR wins over every way of forcing.
        (
            &[
                ("NO_COLOR", "1"),
                ("CLICOLOR_FORCE", "1"),
                ("FORCE_COLOR", "1"),
            ],
            &[],
            false,
        ),
        // And so does the flag.
        (&[("FORCE_COLOR", "1")], &["--no-color"], false),
    ];
    for (env, flags, coloured) in cases {
        let home = tempfile::TempDir::new().unwrap();
        let with = |command: &mut assert_cmd::Command| {
            for (name, value) in env.iter() {
                command.env(name, value);
            }
            command.args(flags.iter());
        };
        let mut run = crate::support::demo::demo_command(home.path(), "ghp_colourCanary");
        with(&mut run);
        let run = run.assert().code(0).get_output().clone();
        let stdout = String::from_utf8(run.stdout).unwrap();
        let mut check = crate::support::demo::demo_command(home.path(), "ghp_colourCanary");
        with(&mut check);
        let check = check
            .args(["--validate-only", "-v"])
            .assert()
            .code(0)
            .get_output()
            .clone();
        let stderr = String::from_utf8(check.stderr).unwrap();
        if *coloured {
            assert!(
                stdout.contains("\x1b[32m✔\x1b[0m Prerequisites passed"),
                "{env:?} {flags:?}: {stdout}"
            );
            assert!(
                stderr.contains("\x1b[36m[DEBUG]\x1b[0m "),
                "{env:?} {flags:?}: {stderr}"
            );
        } else {
            assert!(!stdout.contains('\x1b'), "{env:?} {flags:?}: {stdout}");
            assert!(!stderr.contains('\x1b'), "{env:?} {flags:?}: {stderr}");
            assert!(stdout.contains("✔ Prerequisites passed"), "{stdout}");
            assert!(stderr.contains("[DEBUG] "), "{stderr}");
        }
    }
}

/// The first workload's chain: a line per link reached, one left for the user
/// (`--no-merge`) or warned about; waiting is only a debug line (the step's wait line says
/// what it waits for). The same in the JSON stream (see headless_json).
#[test]
fn the_first_workloads_chain_prints_a_line_per_link_reached() {
    use kalypso_bootstrap::engine::events::{ChainLink, LinkStatus};
    let link = |seconds, environment: &str, link, status, message: &str| {
        at(
            seconds,
            EventKind::WorkloadChain {
                step: StepId::FirstWorkload,
                environment: environment.into(),
                link,
                status,
                message: message.into(),
            },
        )
    };
    let events = [
        link(
            1,
            "dev",
            ChainLink::PullRequest,
            LinkStatus::Waiting,
            "waiting",
        ),
        link(
            2,
            "dev",
            ChainLink::PullRequest,
            LinkStatus::Done,
            "#3 from deployment/2025-11-11-10-31-02 (promoted)",
        ),
        link(
            3,
            "dev",
            ChainLink::Merged,
            LinkStatus::Done,
            "#3 merged as 1a2b3c4",
        ),
        link(
            4,
            "dev",
            ChainLink::Reconciled,
            LinkStatus::Done,
            "kind-kind: kalypso-gitops-dev Ready at 1a2b3c4",
        ),
        link(
            5,
            "dev",
            ChainLink::Running,
            LinkStatus::Done,
            "kind-kind: namespace dev-default-hello-world-app-functional-test",
        ),
        link(
            6,
            "stage",
            ChainLink::PullRequest,
            LinkStatus::Done,
            "#5 from deployment/2025-11-11-10-33-40 (promoted)",
        ),
        link(
            7,
            "stage",
            ChainLink::Merged,
            LinkStatus::Left,
            "waits for you: gh pr merge 5 --repo acme/gitops --merge --match-head-commit 0123",
        ),
        link(
            8,
            "stage",
            ChainLink::Running,
            LinkStatus::Warning,
            "the workload's own Kustomization flux-system/x fails",
        ),
    ];
    assert_eq!(
        print(text(Verbosity::Normal), &events),
        "\
✔ First workload, dev: pull request: #3 from deployment/2025-11-11-10-31-02 (promoted)
✔ First workload, dev: merged: #3 merged as 1a2b3c4
✔ First workload, dev: reconciled: kind-kind: kalypso-gitops-dev Ready at 1a2b3c4
✔ First workload, dev: workload running: kind-kind: namespace dev-default-hello-world-app-functional-test
✔ First workload, stage: pull request: #5 from deployment/2025-11-11-10-33-40 (promoted)
◎ First workload, stage: merged: waits for you: gh pr merge 5 --repo acme/gitops --merge --match-head-commit 0123
⚠ First workload, stage: workload running: the workload's own Kustomization flux-system/x fails
"
    );
}
