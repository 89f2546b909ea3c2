//! The whole program, headless, on the built-in simulated environment (`--demo`): exit
//! codes by phase, JSON lines, dry-run, rollback, `--status`, `--clean` and the lock.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::process::{wait_until, KillOnDrop, HANG_GUARD};

const CANARY: &str = "ghp_DEMOcanary0123456789abcdefghijKLMN";

fn demo(home: &Path) -> Command {
    crate::support::demo::demo_command(home, CANARY)
}

fn state_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn a_demo_run_completes_and_records_what_it_created() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let out = stdout_of(&output);
    assert!(out.contains("✔ Bootstrap (DEMO) completed in"), "{out}");
    assert!(
        out.contains("https://github.com/kalypso-demo/kalypso-demo-control-plane"),
        "{out}"
    );
    assert!(!out.contains(CANARY) && !String::from_utf8_lossy(&output.stderr).contains(CANARY));

    let recorded = state_of(&state);
    assert_eq!(recorded["status"], "completed");
    assert_eq!(recorded["cluster"]["name"], "kalypso-demo");
    assert_eq!(recorded["cluster"]["created"], true);
    assert!(!std::fs::read_to_string(&state).unwrap().contains(CANARY));

    let status = demo(home.path())
        .arg("--status")
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert!(stdout_of(&status).contains("completed"));
}

#[test]
fn a_failure_exits_with_the_code_of_its_phase_and_changes_nothing_else_without_rollback() {
    for (step, code) in [
        ("cluster.create", 4),
        ("control-plane.secrets", 5),
        ("installation.kalypso", 6),
        ("validation.health", 6),
    ] {
        let home = TempDir::new().unwrap();
        let state = home.path().join("state.json");
        let output = demo(home.path())
            .env("KALYPSO_DEMO_FAIL", step)
            .arg("--state-file")
            .arg(&state)
            .assert()
            .code(code)
            .get_output()
            .clone();
        let out = stdout_of(&output);
        assert!(out.contains(&format!("({step})")), "{step}: {out}");
        let recorded = state_of(&state);
        assert_eq!(recorded["status"], "failed", "{step}");
        let errors = recorded["errors"].as_array().unwrap();
        assert_eq!(
            errors.len(),
            1,
            "{step}: the error is recorded once: {errors:?}"
        );
        // With --state-file X the simulated world, and the default log, live in X.demo/.
        let log =
            std::fs::read_to_string(home.path().join("state.json.demo/kalypso-bootstrap.log"))
                .unwrap();
        assert!(
            log.contains("failed in")
                && log.contains(&format!("step_id=\"{step}\""))
                && log.contains("run failed"),
            "{step}: the log file records the transitions"
        );
        assert!(
            !log.contains(CANARY),
            "{step}: the token never reaches the log"
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--clean"),
            "{step}: a non-interactive run without --auto-rollback says how to clean up"
        );
    }
}

#[test]
fn auto_rollback_removes_what_the_run_created_in_the_issue_order() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        .env("KALYPSO_DEMO_FAIL", "installation.kalypso")
        .args(["--auto-rollback", "--output", "json", "--state-file"])
        .arg(&state)
        .assert()
        .code(6)
        .get_output()
        .clone();
    let events = json_events(&output);
    let removed: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "rollback_action")
        .map(|e| e["resource"].as_str().unwrap())
        .collect();
    // The issue's order: Helm release, Kalypso CRDs, namespace, Flux, repositories, AKS
    // cluster, resource group, kube context.
    let kinds: Vec<&str> = removed
        .iter()
        .map(|r| r.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "helm_release",
            "kalypso_crds",
            "namespace",
            "flux",
            "repository",
            "repository",
            "aks_cluster",
            "resource_group",
            "kube_context"
        ],
        "{removed:?}"
    );
    // The two repositories are created concurrently: either may be the newer.
    let mut repositories = removed[4..6].to_vec();
    repositories.sort();
    assert_eq!(
        repositories,
        [
            "repository https://github.com/kalypso-demo/kalypso-demo-control-plane",
            "repository https://github.com/kalypso-demo/kalypso-demo-gitops"
        ]
    );
    let started = events
        .iter()
        .find(|e| e["event"] == "rollback_started")
        .unwrap();
    let announced: Vec<&str> = started["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(announced, removed, "announced in the order it is done");
    let finished = events
        .iter()
        .find(|e| e["event"] == "rollback_finished")
        .unwrap();
    assert_eq!(finished["outcome"], "succeeded");
    assert_eq!(state_of(&state)["status"], "rolled_back");
}

/// Every stdout line as JSON (panics naming a line that is not).
fn json_events(output: &std::process::Output) -> Vec<Value> {
    stdout_of(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

#[test]
fn json_output_is_one_contract_object_per_line() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--output", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let mut names = std::collections::BTreeSet::new();
    for line in stdout_of(&output).lines() {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for key in kalypso_bootstrap::engine::events::JSON_LINE_KEYS {
            assert!(event.get(key).is_some(), "{key} missing: {line}");
        }
        names.insert(event["event"].as_str().unwrap().to_string());
    }
    for expected in [
        "run_started",
        "phase_started",
        "step_started",
        "step_finished",
        "health_check",
        "run_finished",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
}

/// Issue 14 §3: `--demo --no-tui --output json` shows the checks that prove the scheduler
/// works, each passing with what it saw, and the run report lists them.
#[test]
fn the_demo_json_shows_the_scheduler_checks_passing() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--output", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let mut last = std::collections::BTreeMap::new();
    let mut report = None;
    for line in stdout_of(&output).lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["event"] == "health_check" {
            last.insert(
                event["check"].as_str().unwrap().to_string(),
                (
                    event["status"].as_str().unwrap().to_string(),
                    event["message"].as_str().unwrap_or_default().to_string(),
                ),
            );
        }
        if event["event"] == "run_finished" {
            report = event["summary"]["report_file"].as_str().map(str::to_string);
        }
    }
    let expect = [
        ("environment-flux", "GitRepository and Kustomization dev Ready"),
        ("baserepo", "BaseRepo main (https://github.com/kalypso-demo/kalypso-demo-control-plane@main) Ready"),
        ("gitopsrepo", "GitOpsRepo dev (https://github.com/kalypso-demo/kalypso-demo-gitops@dev): Ready=True, reason PRCreated"),
        ("pull-request", "\"Update manifests in dev from deployment/"),
    ];
    for (check, seen) in expect {
        let (status, message) = last
            .get(check)
            .unwrap_or_else(|| panic!("no {check} in {last:?}"));
        assert_eq!(status, "passing", "{check}: {message}");
        assert!(message.contains(seen), "{check}: {message}");
    }
    // The sample workload was scheduled: its deployment target's folder is in the pull
    // request, and the check's reason says so in the events and the report.
    let scheduled = "schedules default/hello-world-app-functional-test";
    assert!(last["pull-request"].1.contains(scheduled), "{last:?}");
    let body = std::fs::read_to_string(report.expect("the report is named")).unwrap();
    assert!(body.contains(scheduled), "{body}");
    for (check, _) in expect {
        assert!(
            body.contains(&format!("| {check} | passing |")),
            "{check} in the report:\n{body}"
        );
    }
}

/// `--dry-run --detailed-exitcode`, terraform's drift check: 2 while the plan would create
/// something, 0 once a completed run's world has everything (the same plan says "0 to
/// create, 0 to change"), and without the flag a dry run stays 0 either way.
#[test]
fn detailed_exitcode_is_two_for_a_plan_with_changes_and_zero_when_all_exists() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let dry_run = |detailed: bool| {
        let mut cmd = demo(home.path());
        cmd.args(["--dry-run", "--state-file"]).arg(&state);
        if detailed {
            cmd.arg("--detailed-exitcode");
        }
        cmd
    };
    let fresh = dry_run(true).assert().code(2).get_output().clone();
    assert!(
        stdout_of(&fresh).contains("Plan: 15 to create, 0 to change, 0 to reuse."),
        "{}",
        stdout_of(&fresh)
    );
    dry_run(false).assert().code(0);
    assert!(!state.exists(), "a dry run writes no state");

    demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0);
    // The pre-flight is skipped once the cluster exists: 14 steps, not 15.
    let done = dry_run(true).assert().code(0).get_output().clone();
    assert!(
        stdout_of(&done).contains("Plan: 0 to create, 0 to change, 14 to reuse."),
        "{}",
        stdout_of(&done)
    );

    // A removal plan is a plan too: `--clean --dry-run` of that world would remove it.
    dry_run(true).arg("--clean").assert().code(2);
}

/// With `--detailed-exitcode` every failure exits 1, whatever its documented code, so 2
/// always means "changes": a failed prerequisite check (2 otherwise) and an invalid
/// configuration (3 otherwise).
#[test]
fn detailed_exitcode_turns_every_failure_into_one() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    for detailed in [false, true] {
        let mut cmd = demo(home.path());
        cmd.env("KALYPSO_DEMO_ABSENT", "gh")
            .args(["--dry-run", "--state-file"])
            .arg(&state);
        if detailed {
            cmd.arg("--detailed-exitcode");
        }
        cmd.assert().code(if detailed { 1 } else { 2 });

        let mut cmd = demo(home.path());
        cmd.args(["--dry-run", "--cluster-name", "Bad_Name"]);
        if detailed {
            cmd.arg("--detailed-exitcode");
        }
        cmd.assert()
            .code(if detailed { 1 } else { 3 })
            .stderr(predicates::str::contains("Bad_Name"));
    }
}

/// `--detailed-exitcode` reports on a dry run's plan: without `--dry-run` it is bad input,
/// exit 64 naming the flag and the rule, before anything runs.
#[test]
fn detailed_exitcode_without_dry_run_is_a_usage_error() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    demo(home.path())
        .args(["--detailed-exitcode", "--state-file"])
        .arg(&state)
        .assert()
        .code(64)
        .stderr(predicates::str::contains(
            "--detailed-exitcode is only valid with --dry-run",
        ));
    assert!(!state.exists());
    assert!(!state.with_file_name("state.json.demo").exists());
}

#[test]
fn dry_run_lists_every_command_and_runs_none() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        .args(["--dry-run", "--output", "json", "--state-file"])
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let plan: Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    let create = steps
        .iter()
        .find(|s| s["id"] == "cluster.create")
        .expect("cluster.create is planned");
    assert_eq!(create["action"], "create");
    let commands = create["commands"].as_array().unwrap();
    assert!(commands
        .iter()
        .any(|argv| argv[0] == "az" && argv[1] == "aks" && argv[2] == "create"));
    assert!(!stdout_of(&output).contains(CANARY));
    assert!(!state.exists(), "a dry run writes no state");
}

#[test]
fn a_second_run_on_the_same_state_fails_at_once_naming_the_holder() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    // The first run's `helm upgrade` takes ten minutes: it holds the lock far longer than
    // the hang guard below, however slow the machine, and is killed once checked (or when
    // the guard drops, if an assertion fails before).
    let mut first = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TMPDIR", home.path())
            .env("KALYPSO_DEMO_LATENCY", "zero,helm upgrade=600s")
            .args(["--demo", "--no-tui", "--non-interactive", "--state-file"])
            .arg(&state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lock = PathBuf::from(format!("{}.lock", state.display()));
    wait_until("the first run taking the lock", || {
        state.exists() && std::fs::read_to_string(&lock).is_ok_and(|pid| !pid.trim().is_empty())
    });
    // At once: a second run that waited for the lock would still be waiting when the hang
    // guard kills it (no exit code), and the first run would have ended.
    let second = demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(1),
        "refused (killed without a code: it waited past the hang guard): {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&first.id().to_string()),
        "names the PID: {stderr}"
    );
    assert!(first.running(), "the first run is unaffected");
    drop(first);

    // The killed run's lock is stale: the next run takes it and resumes.
    demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0);
}

#[test]
fn clean_without_a_state_file_says_there_is_nothing_to_do() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--clean", "--state-file"])
        .arg(home.path().join("none.json"))
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert!(stdout_of(&output).contains("nothing to clean"));
}

#[test]
fn ctrl_c_cancels_the_run_saves_the_state_as_failed_and_exits_7() {
    let (output, recorded) = cancelled_by(libc::SIGINT, &[]);
    assert_eq!(recorded["status"], "failed");
    assert!(
        !stdout_of(&output).contains("Rollback started"),
        "no rollback without --auto-rollback"
    );
}

/// A CI job cancelled (SIGTERM) or a closed terminal (SIGHUP) stops as orderly as Ctrl+C.
#[test]
fn sigterm_and_sighup_cancel_the_run_the_same_way() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let (_, recorded) = cancelled_by(signal, &[]);
        assert_eq!(recorded["status"], "failed");
    }
}

/// Ctrl+C, then `--auto-rollback` removes what the cancelled run had started.
#[test]
fn ctrl_c_with_auto_rollback_rolls_back_what_was_started_and_exits_7() {
    let (output, recorded) = cancelled_by(libc::SIGINT, &["--auto-rollback", "--output", "json"]);
    let events = json_events(&output);
    let finished = events
        .iter()
        .find(|e| e["event"] == "rollback_finished")
        .unwrap_or_else(|| panic!("no rollback_finished: {}", stdout_of(&output)));
    assert_eq!(finished["outcome"], "succeeded", "{finished}");
    assert!(events.iter().any(|e| e["event"] == "rollback_action"
        && e["resource"].as_str().unwrap().starts_with("aks_cluster")));
    assert_eq!(recorded["status"], "rolled_back");
    assert!(
        recorded["errors"].to_string().contains("cancelled"),
        "the cancellation stays on record: {}",
        recorded["errors"]
    );
}

/// Run the demo, send `signal` while the cluster is being created, and check the cancelled
/// run's exit code (7) and that the started cluster is recorded. The output and the final
/// state, for more checks.
fn cancelled_by(signal: libc::c_int, extra_args: &[&str]) -> (std::process::Output, Value) {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    // Every command answers at once but the cluster provisions for a minute: it is still
    // provisioning when the signal arrives, however slow the machine.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("KALYPSO_DEMO_LATENCY", "zero,aks-provisioning=60s")
        .args(["--demo", "--no-tui", "--non-interactive", "--state-file"])
        .arg(&state)
        .args(extra_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the cluster creation starting", || {
        std::fs::read_to_string(&state).is_ok_and(|text| text.contains("aks_cluster"))
    });
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(run.id() as i32, signal) }, 0);
    let output = run.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let recorded = state_of(&state);
    assert!(
        recorded["errors"].to_string().contains("cancelled"),
        "{}",
        recorded["errors"]
    );
    let resources = recorded["resources"].to_string();
    assert!(
        resources.contains("aks_cluster"),
        "the started cluster is recorded for rollback"
    );
    (output, recorded)
}

/// `--demo` runs no external program but git: stand-ins for az, gh, kubectl and helm first
/// on PATH leave a mark when called, and none is left after a full run, nor after a failed
/// run rolled back.
#[test]
fn a_demo_run_never_calls_the_real_az_gh_kubectl_or_helm() {
    use std::os::unix::fs::PermissionsExt;
    let home = TempDir::new().unwrap();
    let stand_ins = home.path().join("stand-ins");
    let marks = home.path().join("marks");
    std::fs::create_dir_all(&stand_ins).unwrap();
    std::fs::create_dir_all(&marks).unwrap();
    for tool in ["az", "gh", "kubectl", "helm"] {
        let script = stand_ins.join(tool);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n",
                marks.join(tool).display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        stand_ins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The stand-ins work: a real (non-demo) check of the tools calls them.
    let real = std::process::Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"))
        .env_clear()
        .env("PATH", &path)
        .env("HOME", home.path())
        .args(["--validate-only", "--non-interactive"])
        .output()
        .unwrap();
    assert_eq!(real.status.code(), Some(2));
    assert!(marks.join("az").exists(), "the stand-ins are first on PATH");
    std::fs::remove_dir_all(&marks).unwrap();
    std::fs::create_dir_all(&marks).unwrap();

    demo(home.path()).env("PATH", &path).assert().code(0);
    demo(home.path())
        .env("PATH", &path)
        .env("KALYPSO_DEMO_FAIL", "validation.health")
        .arg("--auto-rollback")
        .assert()
        .code(6);
    let called: Vec<_> = std::fs::read_dir(&marks)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(called.is_empty(), "the demo called {called:?}");
}

#[test]
fn an_explicit_log_file_is_written() {
    let home = TempDir::new().unwrap();
    let log = home.path().join("logs").join("demo.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    demo(home.path())
        .arg("--log-file")
        .arg(&log)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&log).expect("the --log-file is written");
    assert!(
        text.contains("bootstrap started") && text.contains("run completed"),
        "{text}"
    );
    assert!(!text.contains(CANARY));
}

#[test]
fn skip_install_points_to_running_again_without_it_not_at_pods_that_do_not_exist() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .arg("--skip-install")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let out = stdout_of(&output);
    let next_steps = &out[out.find("  Next:").expect("a summary with next steps")..];
    assert!(
        next_steps.contains("run the same command again without --skip-install"),
        "{out}"
    );
    assert!(!out.contains("get pods -n kalypso-system"), "{out}");

    let output = demo(home.path())
        .args(["--skip-install", "--output", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let events = json_events(&output);
    let finished = events
        .iter()
        .find(|e| e["event"] == "run_finished")
        .unwrap();
    let steps = finished["summary"]["next_steps"].to_string();
    assert!(steps.contains("without --skip-install"), "{steps}");
    assert!(!steps.contains("get pods"), "{steps}");

    // Without --skip-install the pods are the next thing to look at.
    let installed = demo(home.path()).assert().code(0).get_output().clone();
    assert!(stdout_of(&installed).contains("get pods -n kalypso-system"));
}

#[test]
fn the_demo_names_the_subscription_from_the_environment_on_every_az_call() {
    let home = TempDir::new().unwrap();
    let subscription = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
    let output = demo(home.path())
        .env("AZURE_SUBSCRIPTION_ID", subscription)
        .args(["--dry-run", "--output", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let plan: Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    let az_calls: Vec<&Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|step| step["commands"].as_array().unwrap())
        .filter(|argv| argv[0] == "az")
        .collect();
    assert!(az_calls
        .iter()
        .any(|argv| argv[1] == "aks" && argv[2] == "create"));
    for argv in az_calls {
        let args: Vec<&str> = argv
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let at = args
            .iter()
            .position(|a| *a == "--subscription")
            .unwrap_or_else(|| panic!("no --subscription: {args:?}"));
        assert_eq!(args[at + 1], subscription, "{args:?}");
    }
}

#[test]
fn flux_version_picks_the_install_manifest_and_a_bad_one_is_refused_naming_the_flag() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--dry-run", "--flux-version", "v2.6.0"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let out = stdout_of(&output);
    assert!(
        out.contains("https://github.com/fluxcd/flux2/releases/download/v2.6.0/install.yaml"),
        "{out}"
    );
    assert!(!out.contains("/v2.7.5/"), "{out}");

    for bad in ["latest", "2.6", "v2.6.0-rc.1", "v2..0"] {
        let refused = demo(home.path())
            .args(["--dry-run", "--flux-version", bad])
            .assert()
            .code(3)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("--flux-version")
                && stderr.contains(&format!("{bad:?}"))
                && stderr.contains("vMAJOR.MINOR.PATCH"),
            "{bad}: {stderr}"
        );
        assert!(stdout_of(&refused).is_empty(), "{bad}: nothing planned");
    }
}

/// The binary as the demo tests run it, without `--non-interactive`: stdin decides.
fn bare(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kalypso-bootstrap").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("GITHUB_TOKEN", CANARY)
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .current_dir(home);
    cmd
}

/// A run that failed at the Helm step and kept all it created: its state file and stderr.
fn failed_run(home: &Path) -> (PathBuf, String) {
    let state = home.join("state.json");
    let output = demo(home)
        .env("KALYPSO_DEMO_FAIL", "installation.kalypso")
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(6)
        .get_output()
        .clone();
    assert_eq!(kept(&state).len(), 9, "{}", state_of(&state)["resources"]);
    (state, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// What the state records as ours and not yet deleted, by kind.
fn kept(state: &Path) -> Vec<String> {
    state_of(state)["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ownership"] == "created_by_us" && r["status"] != "deleted")
        .map(|r| r["resource"]["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The simulated world and the state file, byte for byte.
fn on_disk(state: &Path) -> (String, String) {
    let world = std::fs::read_to_string(
        state
            .with_file_name("state.json.demo")
            .join("simulated-world.json"),
    )
    .unwrap();
    (std::fs::read_to_string(state).unwrap(), world)
}

/// The issue's `echo | kalypso-bootstrap --clean --dry-run --demo --state-file S`: the
/// removal plan, each resource in order with its exact command, and nothing removed.
#[test]
fn clean_dry_run_prints_the_removal_plan_in_order_and_removes_nothing() {
    let home = TempDir::new().unwrap();
    let (state, _) = failed_run(home.path());
    let before = on_disk(&state);
    let output = bare(home.path())
        .args(["--clean", "--dry-run", "--demo", "--state-file"])
        .arg(&state)
        .write_stdin("\n")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = stdout_of(&output);
    assert!(text.contains("nothing is removed"), "{text}");
    let expected = [
        ("1. Helm release kalypso-scheduler", "$ helm uninstall kalypso-scheduler -n kalypso-system --kube-context kalypso-demo"),
        ("2. Kalypso CRDs", "$ kubectl --context kalypso-demo delete crd "),
        ("3. namespace kalypso-system", "$ kubectl --context kalypso-demo delete namespace kalypso-system --wait=false"),
        ("4. Flux v2.7.5", "$ kubectl --context kalypso-demo delete -f https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml"),
        // The two repositories are created concurrently: the newer is removed first.
        (
            "5. repository https://github.com/kalypso-demo/kalypso-demo-",
            "$ gh repo delete kalypso-demo/kalypso-demo-",
        ),
        (
            "6. repository https://github.com/kalypso-demo/kalypso-demo-",
            "$ gh repo delete kalypso-demo/kalypso-demo-",
        ),
        ("7. AKS cluster kalypso-demo", "$ az aks delete --resource-group kalypso-demo-rg --name kalypso-demo --yes --no-wait"),
        ("8. resource group kalypso-demo-rg", "$ az group delete --name kalypso-demo-rg --yes --no-wait"),
        ("9. kube context kalypso-demo", "$ kubectl config delete-context kalypso-demo --kubeconfig "),
    ];
    let mut at = 0;
    for (resource, command) in expected {
        let found = text[at..]
            .find(resource)
            .unwrap_or_else(|| panic!("{resource:?} missing or out of order:\n{text}"));
        at += found;
        let next_line = text[at..].lines().nth(1).unwrap_or_default().trim();
        assert!(next_line.starts_with(command), "{resource}: {next_line:?}");
    }
    for repository in ["control-plane", "gitops"] {
        let command = format!("$ gh repo delete kalypso-demo/kalypso-demo-{repository} --yes");
        assert!(text.contains(&command), "{text}");
    }
    assert_eq!(
        on_disk(&state),
        before,
        "a preview changes neither the state nor the world"
    );

    // The same plan as one JSON document.
    let output = bare(home.path())
        .args([
            "--clean",
            "--dry-run",
            "--output",
            "json",
            "--demo",
            "--state-file",
        ])
        .arg(&state)
        .write_stdin("\n")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let plan: Value = serde_json::from_str(stdout_of(&output).trim()).expect("one JSON document");
    let removals = plan["removals"].as_array().unwrap();
    assert_eq!(removals.len(), expected.len());
    for (index, ((resource, command), entry)) in expected.iter().zip(removals).enumerate() {
        assert_eq!(entry["order"], index + 1);
        let (_, described) = resource.split_once(". ").unwrap();
        // The JSON keeps the identifiers (`helm_release …`); the text says them in words.
        let in_json = entry["resource"].as_str().unwrap();
        let in_words = kalypso_bootstrap::state::in_human_words(in_json).to_lowercase();
        assert!(in_words.starts_with(&described.to_lowercase()), "{entry}");
        assert!(entry["kind"].as_str().is_some(), "{entry}");
        let shown = format!("$ {}", entry["command"].as_str().unwrap());
        assert!(shown.starts_with(command), "{entry}");
        assert!(
            text.contains(&shown),
            "the text and JSON plans agree: {shown}"
        );
    }
    assert_eq!(on_disk(&state), before);
}

/// A stdin that is not a terminal is never consent, not even a "y" on it: `--clean`
/// removes nothing and exits 64 naming `--yes`; `-y`/`--yes` is consent.
#[test]
fn clean_without_a_terminal_needs_yes_and_removes_nothing_until_given() {
    let home = TempDir::new().unwrap();
    let (state, _) = failed_run(home.path());
    let before = on_disk(&state);
    for extra in [&[][..], &["--non-interactive"][..]] {
        let output = bare(home.path())
            .args(["--clean", "--demo", "--state-file"])
            .arg(&state)
            .args(extra)
            .write_stdin("y\n")
            .assert()
            .code(64)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--yes") && stderr.contains("nothing was removed"),
            "{stderr}"
        );
        assert_eq!(on_disk(&state), before, "{extra:?}: nothing removed");
    }
    bare(home.path())
        .args(["--clean", "--demo", "-y", "--state-file"])
        .arg(&state)
        .assert()
        .code(0);
    assert!(kept(&state).is_empty(), "{}", state_of(&state)["resources"]);
    assert_eq!(state_of(&state)["status"], "rolled_back");
}

/// The clean command a failed run prints, run exactly as printed from another directory
/// (a script: it must not remove without consent), then with the `--yes` it says a script
/// adds. The run report names the same command.
#[test]
fn the_clean_command_a_failed_run_prints_works_when_copied() {
    let home = TempDir::new().unwrap();
    let (state, stderr) = failed_run(home.path());
    let printed = stderr
        .lines()
        .skip_while(|line| !line.ends_with("remove what this run created with:"))
        .nth(1)
        .unwrap_or_else(|| panic!("no clean command printed:\n{stderr}"))
        .trim()
        .to_string();
    assert!(
        printed.starts_with("kalypso-bootstrap --clean --demo --state-file "),
        "{printed}"
    );
    assert!(stderr.contains("in a script, add --yes"), "{stderr}");
    let report = std::fs::read_dir(home.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.to_string_lossy().ends_with(".md"))
        .expect("the run report");
    let report = std::fs::read_to_string(report).unwrap();
    assert!(report.contains(&format!("`{printed}`")), "{report}");

    let binary_dir = assert_cmd::cargo::cargo_bin("kalypso-bootstrap")
        .parent()
        .unwrap()
        .to_path_buf();
    let elsewhere = home.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let shell = |line: &str| {
        let mut cmd = Command::new("sh");
        cmd.env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    binary_dir.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", home.path())
            .env("TMPDIR", home.path())
            .env("GITHUB_TOKEN", CANARY)
            .env("KALYPSO_DEMO_LATENCY", "zero")
            .current_dir(&elsewhere)
            .args(["-c", line]);
        cmd
    };
    let before = on_disk(&state);
    shell(&printed)
        .write_stdin("")
        .assert()
        .code(64)
        .stderr(predicates::str::contains("--yes"));
    assert_eq!(
        on_disk(&state),
        before,
        "a script's run without --yes removes nothing"
    );
    shell(&format!("{printed} --yes")).assert().code(0);
    assert!(kept(&state).is_empty(), "{}", state_of(&state)["resources"]);
    assert_eq!(state_of(&state)["status"], "rolled_back");
}

// ---- What you see is what runs (issue 13, §2) ----

/// The tracing target of the log file's line for every executed command.
const COMMAND_LINE: &str = " kalypso_bootstrap::command: ran ";

/// What a dry run shows for the installation id before a state file has chosen one.
const NEW_INSTALLATION_ID: &str = "<new-installation-id>";

/// Whether a command changes something (on Azure, GitHub, a cluster, a kubeconfig or a local
/// work tree), judged from its argv alone. Reads are named; anything else counts as a
/// change, so a command this rule does not know must appear in the dry run.
fn changes_something(argv: &[String]) -> bool {
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    // The words before the first flag (`az aks show`, `gh repo view`).
    let words: Vec<&str> = args
        .iter()
        .copied()
        .take_while(|a| !a.starts_with('-'))
        .collect();
    // The first word after the global flags with a value (`kubectl --context C get`,
    // `git -c k=v -c k=v commit`).
    let verb = |global_flags: &[&str]| {
        let mut rest = args.iter().copied();
        while let Some(arg) = rest.next() {
            if global_flags.contains(&arg) {
                rest.next();
            } else {
                return Some(arg);
            }
        }
        None
    };
    let read = match argv[0].as_str() {
        "az" => words.last().is_some_and(|last| {
            [
                "show",
                "list",
                "list-skus",
                "list-usage",
                "get-versions",
                "version",
            ]
            .contains(last)
        }),
        "gh" => match words.as_slice() {
            [] => args == ["--version"],
            ["repo", "view", ..]
            | ["secret", "list", ..]
            | ["label", "list", ..]
            | ["pr", "list" | "view", ..] => true,
            ["auth", "status" | "token", ..] => true,
            // `gh api` is a GET unless a method or a field says otherwise.
            ["api", ..] => !args.iter().any(|a| {
                [
                    "-X",
                    "--method",
                    "-f",
                    "-F",
                    "--field",
                    "--raw-field",
                    "--input",
                ]
                .contains(a)
                    || a.starts_with("--method=")
                    || a.starts_with("-X")
            }),
            _ => false,
        },
        "kubectl" => match verb(&["--context", "--kubeconfig"]) {
            Some("get" | "version" | "wait" | "api-resources" | "cluster-info" | "auth") => true,
            Some("config") => args
                .iter()
                .any(|a| ["get-contexts", "current-context", "view"].contains(a)),
            _ => false,
        },
        "helm" => matches!(
            verb(&["--kube-context", "--kubeconfig"]),
            Some("status" | "show" | "version" | "list" | "get" | "search" | "history")
        ),
        "git" => matches!(
            verb(&["-c", "-C"]),
            Some("ls-remote" | "--version" | "version" | "status" | "log" | "rev-parse")
        ),
        _ => false,
    };
    !read
}

#[test]
fn the_read_or_change_rule_knows_the_commands_of_a_run() {
    let argv = |line: &str| -> Vec<String> { line.split(' ').map(str::to_string).collect() };
    for read in [
        "az aks show --resource-group rg --name c -o json",
        "az vm list-usage --location eastus -o json",
        "az role assignment list --assignee me -o json",
        "gh api user",
        "gh api repos/o/n",
        "gh repo view o/n --json name",
        "gh secret list --repo o/n",
        "gh pr list --repo o/n --base dev --state open --json number",
        "kubectl --context c get pods -n ns -o json",
        "kubectl --context c wait --for=condition=Available deployment --all",
        "helm status r -n ns -o json --kube-context c",
        "git ls-remote --heads https://github.com/o/n.git",
    ] {
        assert!(!changes_something(&argv(read)), "a read: {read}");
    }
    for change in [
        "az group create --name rg --location eastus",
        "az aks get-credentials --resource-group rg --name c",
        "gh repo create o/n --private",
        "gh repo edit o/n --add-topic kalypso-bootstrap",
        "gh api -X DELETE repos/o/n",
        "gh secret set S --repo o/n",
        "kubectl --context c label namespace ns a=b",
        "kubectl --context c apply -f -",
        "kubectl --context c config delete-context c",
        "helm upgrade --install r chart",
        "git -c user.name=x commit -m m",
        "git push https://github.com/o/n.git main",
        "somethingelse run",
    ] {
        assert!(changes_something(&argv(change)), "a change: {change}");
    }
}

/// The commands a `--dry-run --output json` lists, each step's in order.
fn listed_commands(output: &std::process::Output) -> Vec<Vec<String>> {
    let plan: Value = serde_json::from_str(&stdout_of(output)).unwrap();
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|step| step["commands"].as_array().unwrap())
        .map(|argv| serde_json::from_value(argv.clone()).unwrap())
        .collect()
}

/// The argv of every command the log file records as executed, in order.
/// Each line is `… DEBUG kalypso_bootstrap::command: ran ["az",…] exit_code=0 duration_ms=12`,
/// a failed command's stderr quoted after it (`stderr="…"`).
fn executed_commands(log: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(log).unwrap();
    assert!(!text.contains(CANARY), "the token never reaches the log");
    let shape = regex::Regex::new(
        r#"^\S+Z DEBUG kalypso_bootstrap::command: ran (\[.*\]) exit_code=(\d+|signal|none) duration_ms=\d+( stderr=".*")?( error=.*)?$"#,
    )
    .unwrap();
    text.lines()
        .filter(|line| line.contains(COMMAND_LINE))
        .map(|line| {
            let argv = shape
                .captures(line)
                .unwrap_or_else(|| panic!("not a command line: {line}"))[1]
                .to_string();
            serde_json::from_str(&argv).unwrap_or_else(|e| panic!("{e}: {line}"))
        })
        .collect()
}

/// Dry-run `args`, then run them for real, on the demo world kept beside `home/state.json`
/// (`setup` seeds it first); assert that what the dry run showed is what ran: every listed
/// command ran, every executed command that changes something was listed, and each change
/// ran exactly as often as it was listed. Reads may run more often (polls, the
/// prerequisite check, the observation before planning).
fn assert_the_dry_run_is_what_runs(
    name: &str,
    args: &[&str],
    setup: impl FnOnce(&Path, &Path) -> Vec<(String, String)>,
) -> Vec<Vec<String>> {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let log = home.path().join("run.log");
    let env = setup(home.path(), &state);
    let with = |cmd: &mut Command| {
        for (key, value) in &env {
            cmd.env(key, value);
        }
        cmd.arg("--state-file").arg(&state).args(args);
    };

    let mut dry = demo(home.path());
    with(&mut dry);
    let dry = dry
        .args(["--dry-run", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let mut listed = listed_commands(&dry);
    assert!(!listed.is_empty(), "{name}");

    let mut run = demo(home.path());
    with(&mut run);
    let run = run.arg("--log-file").arg(&log).output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{name}: {}{}",
        stdout_of(&run),
        String::from_utf8_lossy(&run.stderr)
    );
    let executed = executed_commands(&log);

    // The placeholders of the dry run, replaced by what the run chose, exactly: the
    // installation id the run recorded in its new state file. The owner of new
    // repositories is looked up by the dry run too (the demo is signed in), so its
    // placeholder must not appear.
    let id = state_of(&state)["identity"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The scheduler's pull request, whose files the health checks read: the number the
    // run saw.
    let pull_number = executed
        .iter()
        .find(|argv| argv.len() > 3 && argv[..3] == ["gh", "pr", "view"])
        .map(|argv| argv[3].clone());
    for argv in &mut listed {
        for arg in argv.iter_mut() {
            if arg == "<number>" {
                if let Some(number) = &pull_number {
                    *arg = number.clone();
                }
            }
            if arg.contains(NEW_INSTALLATION_ID) {
                *arg = arg.replace(NEW_INSTALLATION_ID, &id);
            }
            assert!(
                !arg.contains("OWNER/"),
                "{name}: the dry run did not know the owner: {argv:?}"
            );
        }
    }

    for argv in &listed {
        // The files of the scheduler's pull request are read only when the scheduler has
        // made Assignments (a control plane with registered workloads).
        if pull_number.is_none() && argv.len() > 3 && argv[..4] == ["gh", "pr", "view", "<number>"]
        {
            continue;
        }
        assert!(
            executed.contains(argv),
            "{name}: listed by the dry run but never run: {argv:?}"
        );
    }
    let count = |commands: &[Vec<String>], argv: &Vec<String>| {
        commands.iter().filter(|c| *c == argv).count()
    };
    for argv in executed.iter().filter(|argv| changes_something(argv)) {
        assert!(
            listed.contains(argv),
            "{name}: ran a change the dry run did not list: {argv:?}"
        );
        assert_eq!(
            count(&executed, argv),
            count(&listed, argv),
            "{name}: a change ran another number of times than listed: {argv:?}"
        );
    }
    listed
}

/// Whether a listed command starts with `words`.
fn lists(listed: &[Vec<String>], words: &[&str]) -> bool {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    listed.iter().any(|argv| argv.starts_with(&words))
}

#[test]
fn the_dry_run_lists_what_the_run_executes_all_new() {
    let listed = assert_the_dry_run_is_what_runs("all new", &[], |_, _| Vec::new());
    assert!(lists(&listed, &["az", "aks", "create"]));
    assert!(lists(&listed, &["gh", "repo", "create"]));
    assert!(lists(&listed, &["helm", "upgrade", "--install"]));
}

#[test]
fn the_dry_run_lists_what_the_run_executes_custom_names() {
    let listed = assert_the_dry_run_is_what_runs(
        "custom names",
        &[
            "--cluster-name",
            "orion",
            "--cluster-resource-group",
            "orion-platform",
            "--cluster-region",
            "westeurope",
            "--cluster-nodes",
            "2",
            "--control-plane-name",
            "orion-cp",
            "--gitops-name",
            "orion-manifests",
            "--github-org",
            "kalypso-demo-org",
            "--repo-visibility",
            "public",
            "--namespace",
            "kalypso-orion",
        ],
        |_, _| Vec::new(),
    );
    assert!(lists(
        &listed,
        &[
            "az",
            "group",
            "create",
            "--name",
            "orion-platform",
            "--location",
            "westeurope"
        ]
    ));
    assert!(lists(
        &listed,
        &[
            "gh",
            "repo",
            "create",
            "kalypso-demo-org/orion-manifests",
            "--public"
        ]
    ));
    assert!(lists(
        &listed,
        &[
            "kubectl",
            "--context",
            "orion",
            "create",
            "namespace",
            "kalypso-orion"
        ]
    ));
}

/// A kube context of the user's own (a kind cluster) in the demo world, as the wizard
/// offers it: the run installs on it instead of creating an AKS cluster.
#[test]
fn the_dry_run_lists_what_the_run_executes_existing_cluster() {
    let listed = assert_the_dry_run_is_what_runs(
        "existing cluster",
        &["--cluster-existing", "kind-mine"],
        |_, state| {
            let sim = kalypso_bootstrap::sim::SimulatedEnvironment::demo_persistent(
                state.with_file_name("state.json.demo"),
            )
            .unwrap();
            sim.seed_kube_cluster_as(
                "https://127.0.0.1:36443",
                kalypso_bootstrap::sim::KubeFlavour::Kind { cluster: "mine" },
                "1.33.1",
                2,
            );
            sim.seed_kube_context("kind-mine", "https://127.0.0.1:36443")
                .unwrap();
            // The configuration checks the context against the kubeconfig it reads.
            vec![(
                "KUBECONFIG".to_string(),
                sim.default_kubeconfig().display().to_string(),
            )]
        },
    );
    assert!(!lists(&listed, &["az"]), "no Azure call: {listed:?}");
    assert!(lists(
        &listed,
        &[
            "kubectl",
            "--context",
            "kind-mine",
            "apply",
            "--server-side"
        ]
    ));
}

/// Both repositories exist (the user's, with the structure Kalypso needs): they are
/// checked, not created, seeded or given secrets.
#[test]
fn the_dry_run_lists_what_the_run_executes_existing_repositories() {
    use kalypso_bootstrap::templates::{self, RepoKind, RepoRef, TemplateContext};
    let listed = assert_the_dry_run_is_what_runs(
        "existing repositories",
        &[
            "--control-plane-repo",
            "https://github.com/kalypso-demo/platform-cp",
            "--gitops-repo",
            "https://github.com/kalypso-demo/platform-gitops",
        ],
        |_, state| {
            let sim = kalypso_bootstrap::sim::SimulatedEnvironment::demo_persistent(
                state.with_file_name("state.json.demo"),
            )
            .unwrap();
            let context = TemplateContext::new(
                RepoRef::new("kalypso-demo", "platform-cp"),
                RepoRef::new("kalypso-demo", "platform-gitops"),
            );
            let rendered = templates::render(&context).unwrap();
            for (kind, name) in [
                (RepoKind::ControlPlane, "platform-cp"),
                (RepoKind::Gitops, "platform-gitops"),
            ] {
                let mut seed = kalypso_bootstrap::sim::SeedRepo::new("kalypso-demo", name);
                // Complete: the secrets and label its workflows need are there too (a
                // repository lacking them is changed, with consent: see the next test).
                for secret in kalypso_bootstrap::engine::steps::repositories::secret_names(kind) {
                    seed = seed.with_secret(secret);
                }
                if kind == RepoKind::Gitops {
                    seed = seed.with_label("promoted", "0E8A16", "theirs");
                }
                for branch in &rendered.repo(kind).branches {
                    for file in &branch.files {
                        seed = if file.executable {
                            seed.with_executable(&branch.name, &file.path, file.contents.clone())
                        } else {
                            seed.with_file(&branch.name, &file.path, file.contents.clone())
                        };
                    }
                }
                sim.seed_repo(seed).unwrap();
            }
            Vec::new()
        },
    );
    assert!(lists(
        &listed,
        &["gh", "repo", "view", "kalypso-demo/platform-cp"]
    ));
    for change in [
        &["gh", "repo"][..],
        &["gh", "secret"],
        &["gh", "label"],
        &["git"],
    ] {
        assert!(
            !listed.iter().any(|argv| argv
                .starts_with(&change.iter().map(|w| w.to_string()).collect::<Vec<_>>())
                && changes_something(argv)),
            "the repositories are left as they are: {listed:?}"
        );
    }
}

/// A completed installation run again: every step finds its work done, and neither the
/// dry run nor the run lists or runs a change.
#[test]
fn the_dry_run_lists_what_the_run_executes_completed_installation_run_again() {
    let listed = assert_the_dry_run_is_what_runs("run again", &[], |home, state| {
        demo(home).arg("--state-file").arg(state).assert().code(0);
        Vec::new()
    });
    let changes: Vec<&Vec<String>> = listed
        .iter()
        .filter(|argv| changes_something(argv))
        .collect();
    assert!(changes.is_empty(), "nothing to change: {changes:?}");
}

#[test]
fn demo_repos_let_the_user_bring_their_own_control_plane_to_the_demo() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let bundle = reference_promoted(home.path());
    // The reference as it is (once promoted): its Environment and BaseRepo name this
    // repository, its GitOpsRepo Microsoft's gitops repository, which the run points at
    // the new one.
    let output = demo(home.path())
        .env(
            "KALYPSO_DEMO_REPOS",
            format!("microsoft/kalypso-control-plane={}", bundle.display()),
        )
        .args([
            "--control-plane-repo",
            "https://github.com/microsoft/kalypso-control-plane",
            // Consent to point its GitOpsRepo at the new gitops repository and add its
            // missing secrets.
            "--yes",
        ])
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let out = stdout_of(&output);
    // The warnings about its own helpers are printed with the step's result (once: the
    // step's start, which repeated them, is a --verbose line since issue 15).
    assert_eq!(
        out.matches(".github/workflows/utils/promote.sh").count(),
        1,
        "{out}"
    );
    assert!(
        out.contains("pointed the GitOpsRepo in gitops-repo.yaml on dev of microsoft/kalypso-control-plane at https://github.com/"),
        "{out}"
    );
    assert!(!out.contains(CANARY), "the token never reaches the output");
    assert!(!String::from_utf8_lossy(&output.stderr).contains(CANARY));
    let state = state_of(&state);
    assert_eq!(state["status"], "completed");
    let kinds: Vec<&str> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"]["kind"].as_str().unwrap_or_default())
        .collect();
    assert!(kinds.contains(&"repo_file_commit"), "{kinds:?}");
}

/// The same without `--yes` (the demo runs `--non-interactive`): exit 5 before anything is
/// created, naming the file, branch, key and value, and the `gh` commands.
#[test]
fn demo_repos_without_consent_stop_before_anything_is_created() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let output = demo(home.path())
        .env(
            "KALYPSO_DEMO_REPOS",
            format!("microsoft/kalypso-control-plane={}", bundle.display()),
        )
        .args([
            "--control-plane-repo",
            "https://github.com/microsoft/kalypso-control-plane",
        ])
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(5)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    for part in [
        "gitops-repo.yaml",
        "branch dev",
        "set spec.repo to https://github.com/",
        "gh secret set GITOPS_REPO --repo microsoft/kalypso-control-plane",
        "--yes",
    ] {
        assert!(err.contains(part), "{part} not in {err}");
    }
    assert!(!err.contains(CANARY));
    // Nothing was created in the demo world: only the repository brought in.
    let sim = kalypso_bootstrap::sim::SimulatedEnvironment::demo_persistent(
        state.with_file_name("state.json.demo"),
    )
    .unwrap();
    let snapshot = sim.snapshot();
    // (The upstream workload repositories are in every simulated world.)
    assert_eq!(
        snapshot.github.repos.keys().collect::<Vec<_>>(),
        [
            "microsoft/kalypso-app-gitops",
            "microsoft/kalypso-app-src",
            "microsoft/kalypso-control-plane",
            "microsoft/kalypso-svc-src"
        ]
    );
    assert!(snapshot.github.repos["microsoft/kalypso-control-plane"]
        .secrets
        .is_empty());
    assert!(
        snapshot.azure.resource_groups.is_empty(),
        "no Azure resource"
    );
    assert!(snapshot.azure.clusters.is_empty(), "no Azure resource");
}

/// The reference control plane as a user has it once its cd workflow has promoted `main`
/// to `dev`: the published reference's `dev` pins an older commit of `main`, one without
/// the `configmap` Template its `large` cluster type names, so the scheduler (real and
/// simulated) cannot render that assignment (see
/// `the_reference_as_published_pins_a_main_without_its_configmap_template`). A local
/// repository with the bundle's history and one more commit on `dev`.
fn reference_promoted(dir: &Path) -> PathBuf {
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let repo = dir.join("reference-promoted");
    let git = |args: &[&str]| {
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    std::fs::create_dir_all(&repo).unwrap();
    git(&["init", "--quiet"]);
    git(&[
        "fetch",
        "--quiet",
        bundle.to_str().unwrap(),
        "+refs/heads/*:refs/heads/*",
    ]);
    git(&["checkout", "--quiet", "dev"]);
    let main = git(&["rev-parse", "refs/heads/main"]);
    let base_repo = std::fs::read_to_string(repo.join("base-repo.yaml")).unwrap();
    let promoted = regex::Regex::new(r"commit: [0-9a-f]{40}")
        .unwrap()
        .replace(&base_repo, format!("commit: {}", main.trim()).as_str())
        .into_owned();
    assert_ne!(promoted, base_repo);
    std::fs::write(repo.join("base-repo.yaml"), promoted).unwrap();
    git(&[
        "commit",
        "--quiet",
        "-am",
        "Promoting Commit_Id to the environment",
    ]);
    repo
}

/// The reference control plane exactly as published: its `dev` pins a `main` commit that
/// predates the `configmap` Template of its `large` cluster type, so the scheduler's
/// Assignment fails, and the run's checks say so, as they would on a real cluster.
#[test]
fn the_reference_as_published_pins_a_main_without_its_configmap_template() {
    let home = TempDir::new().unwrap();
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let output = demo(home.path())
        .env(
            "KALYPSO_DEMO_REPOS",
            format!("microsoft/kalypso-control-plane={}", bundle.display()),
        )
        .args([
            "--control-plane-repo",
            "https://github.com/microsoft/kalypso-control-plane",
            "--yes",
        ])
        .output()
        .unwrap();
    let out = stdout_of(&output);
    assert_eq!(output.status.code(), Some(6), "{out}");
    assert!(
        out.contains("Template.scheduler.kalypso.io \"configmap\" not found"),
        "{out}"
    );
}

/// An existing control plane (the reference, brought in with `KALYPSO_DEMO_REPOS`) and a new
/// gitops repository, with `--yes`: the dry run lists the commit to the control plane's
/// environment branch and the secrets it lacks, and the run executes exactly those.
#[test]
fn the_dry_run_lists_what_the_run_executes_existing_control_plane_new_gitops() {
    let dir = TempDir::new().unwrap();
    let bundle = reference_promoted(dir.path());
    let listed = assert_the_dry_run_is_what_runs(
        "existing control plane, new gitops",
        &[
            "--control-plane-repo",
            "https://github.com/microsoft/kalypso-control-plane",
            "--yes",
        ],
        |_, _| {
            vec![(
                "KALYPSO_DEMO_REPOS".to_string(),
                format!("microsoft/kalypso-control-plane={}", bundle.display()),
            )]
        },
    );
    assert!(listed.iter().any(
        |argv| argv.first().is_some_and(|p| p == "git") && argv.contains(&"clone".to_string())
    ));
    assert!(listed
        .iter()
        .any(|argv| argv.first().is_some_and(|p| p == "git")
            && argv.contains(&"push".to_string())
            && argv.contains(&"dev".to_string())
            && argv
                .contains(&"https://github.com/microsoft/kalypso-control-plane.git".to_string())));
    assert!(lists(
        &listed,
        &[
            "gh",
            "secret",
            "set",
            "GITOPS_REPO_TOKEN",
            "--repo",
            "microsoft/kalypso-control-plane"
        ]
    ));
}

#[test]
fn a_malformed_demo_repos_value_exits_64_naming_the_variable() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .env("KALYPSO_DEMO_REPOS", "someone/cp")
        .assert()
        .code(64)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&output.stderr).into_owned() + &stdout_of(&output);
    assert!(err.contains("KALYPSO_DEMO_REPOS=\"someone/cp\""), "{err}");
}

/// The plan of the demo world as `--dry-run` prints it, like `terraform plan`: the owner,
/// each resource with its steps marked `+`, and the count line last.
#[test]
fn the_dry_run_text_shows_the_plan_by_resource_and_ends_with_the_count_line() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .arg("--dry-run")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = stdout_of(&output);
    assert!(
        text.starts_with("Dry run: nothing is created or changed.\n"),
        "{text}"
    );
    let overview = text
        .split("The commands, step by step:")
        .next()
        .unwrap()
        .to_string();
    insta::assert_snapshot!("demo_dry_run_plan_by_resource", overview);
    assert_eq!(
        text.trim_end().lines().last(),
        Some("Plan: 15 to create, 0 to change, 0 to reuse.")
    );
}

/// A plain `--demo` keeps no world: a later `--demo` starts a new one, so nothing it prints
/// after a failure tells the user to run again to resume (issue 15 §3).
#[test]
fn a_demo_without_a_state_file_never_offers_to_resume() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .env("KALYPSO_DEMO_FAIL", "gitops.secrets")
        .assert()
        .code(5)
        .get_output()
        .clone();
    let everything = format!(
        "{}{}",
        stdout_of(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    for offer in ["again to resume", "to resume at", "command to resume"] {
        assert!(!everything.contains(offer), "{offer}: {everything}");
    }
    assert!(
        everything.contains("nothing is left to resume or remove once it exits"),
        "{everything}"
    );
    // Nor to clean it: `--clean --demo --state-file` of a world that ended with its run
    // finds an empty new world and fails on what it cannot reach. Not on the terminal,
    // not in the report.
    assert!(
        !everything.contains("kalypso-bootstrap --clean"),
        "{everything}"
    );
    let report = everything
        .lines()
        .find_map(|line| line.trim().strip_prefix("Report:"))
        .map(|path| std::fs::read_to_string(path.trim()).unwrap())
        .expect("the report's path is printed");
    assert!(!report.contains("kalypso-bootstrap --clean"), "{report}");
    assert!(
        report.contains("nothing is left to resume or remove once it exits"),
        "{report}"
    );

    // Tried anyway, `--clean` says there is nothing left and makes no new world there.
    let report_path = everything
        .lines()
        .find_map(|line| line.trim().strip_prefix("Report:"))
        .map(|path| PathBuf::from(path.trim()))
        .unwrap();
    let state = report_path
        .parent()
        .unwrap()
        .join("kalypso-bootstrap-state.json");
    assert!(state.is_file(), "{}", state.display());
    let cleaned = demo(home.path())
        .args(["--clean", "--yes", "--state-file"])
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let said = stdout_of(&cleaned);
    assert!(said.contains("nothing is left to clean"), "{said}");
    let world = PathBuf::from(format!("{}.demo", state.display()));
    assert!(!world.exists(), "a new world was made: {}", world.display());
}

/// `--demo --validate-only` checks what a demo run uses: the simulated az, gh, kubectl and
/// helm and their sign-ins, not this machine's (here: none of them on PATH, only git, which
/// the demo runs for real).
#[test]
fn demo_validate_only_checks_the_simulated_tools() {
    let home = TempDir::new().unwrap();
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let git = which_git();
    std::os::unix::fs::symlink(&git, bin.join("git")).unwrap();
    let output = demo(home.path())
        .env("PATH", &bin)
        .arg("--validate-only")
        .output()
        .unwrap();
    let out = stdout_of(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for tool in ["az", "gh", "kubectl", "helm"] {
        let row = out
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{tool} ")))
            .unwrap_or_else(|| panic!("no {tool} row:\n{out}"));
        assert!(row.contains(" PASS "), "{row}");
    }
    assert!(out.contains("Prerequisites: PASSED"), "{out}");
}

fn which_git() -> PathBuf {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|dir| Path::new(dir).join("git"))
        .find(|candidate| candidate.is_file())
        .expect("git on PATH")
}

/// `--demo --status` without `--state-file` shows the most recent demo run (its state lives
/// in a new `kalypso-demo-*` directory under $TMPDIR), not `~/.kalypso`; with no demo run yet
/// it says where demo states are and how to point at one.
#[test]
fn demo_status_finds_the_most_recent_demo_run() {
    let home = TempDir::new().unwrap();
    let none = demo(home.path()).arg("--status").output().unwrap();
    assert_eq!(none.status.code(), Some(0));
    let said = stdout_of(&none);
    assert!(said.contains("No demo state found"), "{said}");
    assert!(said.contains("--demo --status --state-file"), "{said}");
    let json = demo(home.path())
        .args(["--status", "--output", "json"])
        .output()
        .unwrap();
    let absent: Value = serde_json::from_str(stdout_of(&json).trim()).expect("JSON");
    assert_eq!(absent["found"], false, "{absent}");

    for _ in 0..2 {
        demo(home.path()).assert().code(0);
    }
    let newest = std::fs::read_dir(home.path())
        .unwrap()
        .map(|entry| entry.unwrap().path().join("kalypso-bootstrap-state.json"))
        .filter(|state| state.is_file())
        .max_by_key(|state| std::fs::metadata(state).unwrap().modified().unwrap())
        .unwrap();
    let shown = demo(home.path()).arg("--status").output().unwrap();
    assert_eq!(shown.status.code(), Some(0));
    let out = stdout_of(&shown);
    assert!(
        out.starts_with(&format!("Kalypso bootstrap state ({})", newest.display())),
        "{out}"
    );
    assert!(out.contains("Status:          completed"), "{out}");
}

/// Issue 15 §8: a full demo run reads like `flux bootstrap`: at most 40 lines on the
/// terminal (stdout and stderr) with a `✔` line for every step, no timestamps or levels, no
/// line that only repeats a step's name and state.
#[test]
fn a_headless_demo_run_is_at_most_40_lines_with_a_done_line_per_step() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = stdout_of(&output);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let lines = stdout.lines().count() + stderr.lines().count();
    assert!(lines <= 40, "{lines} lines:\n{stdout}{stderr}");
    for step in kalypso_bootstrap::engine::StepId::WITHOUT_WORKLOAD_CLUSTERS {
        let done = format!("✔ {} ", step.title());
        assert_eq!(
            stdout
                .lines()
                .filter(|line| line.starts_with(&done))
                .count(),
            1,
            "{step}: no single {done:?} line in\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("[INFO]") && !stdout.contains("elapsed): "),
        "{stdout}"
    );
    assert!(
        stdout.starts_with("✔ Prerequisites passed: az "),
        "{stdout}"
    );
    for singular in ["1 pod Running", "main (1 file)"] {
        assert!(stdout.contains(singular), "{singular:?} in\n{stdout}");
    }
    assert!(
        !stdout.contains("1 pods") && !stdout.contains("1 files"),
        "{stdout}"
    );
}

/// Issue 15 §8 on a real installation's clock: the demo's own latencies are short, so the
/// test above sees no long wait. Here the run's part is a real demo run replayed on
/// realistic durations (minutes for the AKS cluster, `support::replay`), printed as a plain
/// `--demo` prints it; the lines the binary prints around the run (the DEMO note, the
/// prerequisites) are measured from the binary itself. Together: at most 40 lines, the
/// long wait still reported.
#[test]
fn a_headless_demo_run_on_a_realistic_clock_is_at_most_40_lines() {
    use crate::support::headless::{print, text, CLOCK};
    use crate::support::replay::{DemoRun, DEMO_ROOT};
    use kalypso_bootstrap::logging::Verbosity;

    let home = TempDir::new().unwrap();
    let output = demo(home.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = stdout_of(&output);
    let around_the_run = stdout
        .lines()
        .take_while(|line| !line.starts_with("► Bootstrap"))
        .count()
        + String::from_utf8_lossy(&output.stderr).lines().count();
    assert!(around_the_run >= 2, "the DEMO note and the prerequisites");

    let configuration = crate::support::tui::parsed(crate::support::tui::named("demo"))
        .validate(&[])
        .expect("the demo's flags are valid")
        .configuration()
        .clone();
    let replay = DemoRun::new(&configuration)
        .with_flux_source_late()
        .replay(CLOCK);
    let root = Path::new(DEMO_ROOT);
    let settings = text(Verbosity::Normal)
        .with_files(
            Some(&root.join("kalypso-bootstrap.log")),
            Some(&root.join("kalypso-bootstrap-state.json")),
        )
        .with_clean_command(None)
        .with_resume(kalypso_bootstrap::engine::Resume::for_invocation(
            &["--demo".to_string()],
            false,
        ));
    let run = print(settings, &replay.events);
    let lines = around_the_run + run.lines().count();
    assert!(lines <= 40, "{lines} lines:\n{stdout}\n---\n{run}");
    assert!(
        run.lines().any(|line| line.starts_with("◎ AKS cluster")),
        "the cluster's long wait is reported:\n{run}"
    );
}

/// Issue 15 §8: a failing run says its error once (it was three times: the step's line,
/// the run's line and the failure block), and its hint once.
#[test]
fn a_failing_headless_demo_run_prints_its_error_once() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .env("KALYPSO_DEMO_FAIL", "installation.kalypso")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let all = format!(
        "{}{}",
        stdout_of(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    for once in [
        "secrets is forbidden: User \"clusterUser\" cannot list resource",
        "your cluster identity lacks RBAC permissions",
    ] {
        assert_eq!(all.matches(once).count(), 1, "{once:?} in\n{all}");
    }
    assert!(all.contains("✗ Kalypso Scheduler (Helm) failed"), "{all}");
}

/// Issue 16 §1: on an existing cluster (the demo's own kind cluster) a run needs no Azure
/// CLI at all. With the simulated machine's az not installed (`KALYPSO_DEMO_ABSENT=az`), the
/// whole bootstrap succeeds and no az command runs, not even `az version`.
#[test]
fn a_demo_on_an_existing_cluster_succeeds_with_no_az_installed_and_runs_no_az_command() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let log = home.path().join("run.log");
    let output = demo(home.path())
        .env("KALYPSO_DEMO_ABSENT", "az")
        .args([
            "--cluster-existing",
            "kind-kalypso-demo",
            "--yes",
            "--verbose",
        ])
        .arg("--state-file")
        .arg(&state)
        .arg("--log-file")
        .arg(&log)
        .output()
        .unwrap();
    let out = stdout_of(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.contains("✔ Bootstrap (DEMO) completed in"), "{out}");
    let recorded = state_of(&state);
    assert_eq!(recorded["status"], "completed");
    assert_eq!(recorded["cluster"]["created"], false);
    assert_eq!(recorded["cluster"]["kubeContext"], "kind-kalypso-demo");
    let executed = executed_commands(&log);
    assert!(
        executed.iter().any(|argv| argv[0] == "kubectl"),
        "the log records the commands: {executed:?}"
    );
    let az: Vec<_> = executed.iter().filter(|argv| argv[0] == "az").collect();
    assert!(az.is_empty(), "az ran: {az:?}");

    // A failed run rolled back: the removal needs no az either.
    let home = TempDir::new().unwrap();
    let log = home.path().join("failed.log");
    let failed = demo(home.path())
        .env("KALYPSO_DEMO_ABSENT", "az")
        .env("KALYPSO_DEMO_FAIL", "validation.health")
        .args([
            "--cluster-existing",
            "kind-kalypso-demo",
            "--yes",
            "--auto-rollback",
        ])
        .arg("--log-file")
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(6), "{}", stdout_of(&failed));
    let executed = executed_commands(&log);
    assert!(
        executed
            .iter()
            .any(|argv| argv[0] == "helm" && argv.iter().any(|a| a == "uninstall")),
        "the rollback ran: {executed:?}"
    );
    let az: Vec<_> = executed.iter().filter(|argv| argv[0] == "az").collect();
    assert!(az.is_empty(), "az ran: {az:?}");
}

/// `--validate-only` on an existing cluster with no az installed: az is not required, the
/// Azure rows say "not needed", exit 0. The same machine fails the check for a run that
/// creates an AKS cluster, so it is the configuration that decides.
#[test]
fn validate_only_on_an_existing_cluster_says_azure_is_not_needed() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .env("KALYPSO_DEMO_ABSENT", "az")
        .args(["--validate-only", "--cluster-existing", "kind-kalypso-demo"])
        .output()
        .unwrap();
    let out = stdout_of(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    for check in ["Azure sign-in", "Azure role"] {
        let row = out
            .lines()
            .find(|line| line.trim_start().starts_with(check))
            .unwrap_or_else(|| panic!("no {check} row:\n{out}"));
        assert!(
            row.contains(" INFO ") && row.contains("not needed"),
            "{row}"
        );
    }
    assert!(
        !out.lines().any(|line| line.trim_start().starts_with("az ")),
        "no az row in the tools table:\n{out}"
    );
    assert!(out.contains("Prerequisites: PASSED"), "{out}");

    let json = demo(home.path())
        .env("KALYPSO_DEMO_ABSENT", "az")
        .args(["--validate-only", "--cluster-existing", "kind-kalypso-demo"])
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    let report: Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    let az = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == "az")
        .unwrap();
    assert_eq!(az["required"], false);
    assert_eq!(az["verdict"], "info");

    let creating = demo(home.path())
        .env("KALYPSO_DEMO_ABSENT", "az")
        .arg("--validate-only")
        .output()
        .unwrap();
    let said = stdout_of(&creating);
    assert_eq!(creating.status.code(), Some(2), "{said}");
    let az_row = said
        .lines()
        .find(|line| line.trim_start().starts_with("az "))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        az_row.contains(" FAIL ") && az_row.contains("not found"),
        "{az_row}"
    );
}

#[test]
fn a_demo_absent_value_naming_no_simulated_program_exits_64_naming_the_variable() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .env("KALYPSO_DEMO_ABSENT", "az,docker")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("KALYPSO_DEMO_ABSENT")
            && said.contains("\"docker\"")
            && said.contains("az, gh, kubectl, helm"),
        "{said}"
    );
}

/// The commands a dry run on a GitHub Enterprise Server prints reach the server when copied:
/// each gh command carries its `GH_HOST`, in the text and, beside the argv, in the JSON.
#[test]
fn a_dry_run_on_an_enterprise_server_shows_each_gh_command_with_its_host() {
    let home = TempDir::new().unwrap();
    let text = demo(home.path())
        .args(["--dry-run", "--github-host", "ghe.example.test"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let out = stdout_of(&text);
    let gh_lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("$ ") && l.contains(" gh ") || l.starts_with("$ gh "))
        .collect();
    assert!(!gh_lines.is_empty(), "{out}");
    for line in &gh_lines {
        assert!(line.starts_with("$ GH_HOST=ghe.example.test gh "), "{line}");
    }
    assert!(
        out.contains("$ git push --no-verify https://ghe.example.test/"),
        "{out}"
    );
    // The chart's values name the control plane on the server.
    assert!(
        out.contains(
            "controlPlaneURL: https://ghe.example.test/kalypso-demo/kalypso-demo-control-plane"
        ),
        "{out}"
    );
    let json = demo(home.path())
        .args([
            "--dry-run",
            "--github-host",
            "ghe.example.test",
            "--output",
            "json",
        ])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let plan: Value = serde_json::from_str(stdout_of(&json).trim()).unwrap();
    let step = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "control-plane.repo")
        .unwrap();
    assert_eq!(
        step["commands"][0],
        serde_json::json!(["gh", "api", "user"])
    );
    assert_eq!(
        step["env"][0],
        serde_json::json!(["GH_HOST=ghe.example.test"])
    );
}

/// `--demo --github-host ghe.example.test`: the simulated GitHub is an Enterprise Server on
/// that host only, and the GitHub half of the bootstrap runs end to end against it (the
/// scheduler's own pull request cannot: it calls api.github.com, see the e2e tests), is
/// recorded with its host, and is cleaned up from it. `GH_HOST` names the host the same way.
#[test]
fn a_demo_on_a_github_enterprise_server_runs_end_to_end_and_is_cleaned_up() {
    for by_gh_host in [false, true] {
        let home = TempDir::new().unwrap();
        let state = home.path().join("state.json");
        let mut run = demo(home.path());
        run.arg("--skip-install").arg("--state-file").arg(&state);
        if by_gh_host {
            run.env("GH_HOST", "ghe.example.test");
        } else {
            run.args(["--github-host", "ghe.example.test"]);
        }
        let output = run.assert().code(0).get_output().clone();
        let out = stdout_of(&output);
        assert!(out.contains("✔ Bootstrap (DEMO) completed in"), "{out}");
        assert!(
            out.contains("https://ghe.example.test/kalypso-demo/kalypso-demo-control-plane"),
            "{out}"
        );
        assert!(!out.contains("https://github.com/"), "{out}");
        let recorded = state_of(&state);
        assert_eq!(
            recorded["identity"]["repositories"]["githubHost"],
            "ghe.example.test"
        );

        // Another host names other repositories: refused before anything changes (past the
        // prerequisites, which would fail first: github.com is unreachable in this world).
        let other = demo(home.path())
            .args(["--skip-install", "--skip-validation", "--state-file"])
            .arg(&state)
            .assert()
            .code(3)
            .get_output()
            .clone();
        let said = format!(
            "{}{}",
            stdout_of(&other),
            String::from_utf8_lossy(&other.stderr)
        );
        assert!(said.contains("on ghe.example.test"), "{said}");

        let clean = demo(home.path())
            .args(["--clean", "--yes", "--state-file"])
            .arg(&state)
            .assert()
            .code(0)
            .get_output()
            .clone();
        let cleaned = stdout_of(&clean);
        assert!(
            cleaned
                .contains("repository https://ghe.example.test/kalypso-demo/kalypso-demo-gitops"),
            "{cleaned}"
        );
    }
}

/// `--validate-only` checks the token on the configured GitHub host: the demo's Enterprise
/// Server answers there, where github.com would not.
#[test]
fn validate_only_checks_the_token_on_the_enterprise_server() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--validate-only", "--github-host", "ghe.example.test"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let out = stdout_of(&output);
    assert!(out.contains("GitHub sign-in  PASS"), "{out}");
}

/// `--demo --environments dev,stage,prod --no-tui --yes` end to end: both repositories get
/// a branch per environment, the control plane's GitHub environments dev and stage carry
/// NEXT_ENVIRONMENT (prod none), the health checks pass with every environment's Flux
/// objects, the state records the environments; `--clean --yes` then removes everything the
/// run created, every environment's branches going with their repositories.
#[test]
fn a_three_environment_demo_completes_and_is_rolled_back() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        // GitHub answering in 150 ms, as the default demo's 300 ms: the scheduler's one
        // worker then opens the environments' pull requests in different seconds.
        .env("KALYPSO_DEMO_LATENCY", "zero,gh api=150ms")
        .args([
            "--environments",
            "dev,stage,prod",
            "--yes",
            "--output",
            "json",
        ])
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let events = json_events(&output);
    let environment_flux = events
        .iter()
        .rfind(|e| e["event"] == "health_check" && e["check"] == "environment-flux")
        .expect("the environment-flux check");
    assert_eq!(environment_flux["status"], "passing", "{environment_flux}");
    for environment in ["dev", "stage", "prod"] {
        assert!(
            environment_flux["message"]
                .as_str()
                .unwrap()
                .contains(&format!(
                    "GitRepository and Kustomization {environment} Ready"
                )),
            "{environment_flux}"
        );
    }
    let secrets = events
        .iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == "control-plane.secrets")
        .expect("the secrets step");
    assert!(
        secrets["message"]
            .as_str()
            .unwrap()
            .contains("NEXT_ENVIRONMENT of dev (stage), NEXT_ENVIRONMENT of stage (prod)"),
        "{secrets}"
    );
    let report = std::fs::read_dir(home.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("bootstrap-report-"))
        })
        .expect("a run report");
    let report = std::fs::read_to_string(report).unwrap();
    assert!(
        report.contains("| Environments | dev → stage → prod"),
        "{report}"
    );
    let recorded = state_of(&state);
    assert_eq!(recorded["status"], "completed");
    assert_eq!(
        recorded["identity"]["environments"],
        serde_json::json!(["dev", "stage", "prod"])
    );
    let world_file = home
        .path()
        .join("state.json.demo")
        .join("simulated-world.json");
    let world: Value =
        serde_json::from_str(&std::fs::read_to_string(&world_file).unwrap()).unwrap();
    for (name, branches) in [
        (
            "kalypso-demo-control-plane",
            ["dev", "main", "prod", "stage"],
        ),
        ("kalypso-demo-gitops", ["dev", "main", "prod", "stage"]),
    ] {
        let bare = std::fs::read_dir(home.path().join("state.json.demo"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .map(|dir| dir.join("kalypso-demo").join(format!("{name}.git")))
            .find(|path| path.is_dir())
            .unwrap_or_else(|| panic!("no bare repository of {name}"));
        let heads = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&bare)
            .args(["for-each-ref", "--format=%(refname:short)", "refs/heads/"])
            .output()
            .unwrap();
        let heads: Vec<String> = String::from_utf8_lossy(&heads.stdout)
            .lines()
            .filter(|b| !b.starts_with("deployment/"))
            .map(str::to_string)
            .collect();
        assert_eq!(heads, branches, "{name}");
    }
    let control_plane = &world["github"]["repos"]["kalypso-demo/kalypso-demo-control-plane"];
    let environments: Vec<&String> = control_plane["environments"]
        .as_object()
        .map(|e| e.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        environments,
        ["dev", "stage"],
        "{}",
        control_plane["environments"]
    );
    for environment in ["dev", "stage"] {
        assert!(
            control_plane["environments"][environment]
                .get("NEXT_ENVIRONMENT")
                .is_some(),
            "{environment}: {}",
            control_plane["environments"]
        );
    }

    // Another list of environments is another installation: refused, nothing changed.
    let refused = demo(home.path())
        .args(["--environments", "dev,stage", "--yes", "--state-file"])
        .arg(&state)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("environments") && stderr.contains("differs"),
        "{stderr}"
    );

    bare(home.path())
        .args([
            "--clean",
            "--demo",
            "-y",
            "--environments",
            "dev,stage,prod",
            "--state-file",
        ])
        .arg(&state)
        .assert()
        .code(0);
    assert!(kept(&state).is_empty(), "{}", state_of(&state)["resources"]);
    assert_eq!(state_of(&state)["status"], "rolled_back");
    let world: Value =
        serde_json::from_str(&std::fs::read_to_string(&world_file).unwrap()).unwrap();
    let ours: Vec<&String> = world["github"]["repos"]
        .as_object()
        .map(|repos| {
            repos
                .keys()
                .filter(|k| k.starts_with("kalypso-demo/"))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        ours.is_empty(),
        "the repositories, with every environment's branches, are gone: {ours:?}"
    );
}

#[test]
fn the_dry_run_lists_what_the_run_executes_three_environments() {
    let listed = assert_the_dry_run_is_what_runs(
        "three environments",
        &["--environments", "dev,stage,prod"],
        // GitHub answering in 150 ms: the scheduler opens each environment's pull request
        // in a second of its own (see a_three_environment_demo_completes_and_is_rolled_back).
        |_, _| vec![("KALYPSO_DEMO_LATENCY".into(), "zero,gh api=150ms".into())],
    );
    for environment in ["dev", "stage"] {
        assert!(lists(
            &listed,
            &[
                "gh",
                "secret",
                "set",
                "NEXT_ENVIRONMENT",
                "--env",
                environment
            ]
        ));
    }
    assert!(!lists(
        &listed,
        &["gh", "secret", "set", "NEXT_ENVIRONMENT", "--env", "prod"]
    ));
}

/// Three environments with a gitops repository the user brings: the dry run lists the check
/// of `main` and of every environment's branch, as the run does.
#[test]
fn the_dry_run_lists_what_the_run_executes_three_environments_existing_gitops() {
    use kalypso_bootstrap::templates::{self, RepoKind, RepoRef, TemplateContext};
    let listed = assert_the_dry_run_is_what_runs(
        "three environments, existing gitops",
        &[
            "--environments",
            "dev,stage,prod",
            "--gitops-repo",
            "https://github.com/kalypso-demo/platform-gitops",
        ],
        |_, state| {
            let sim = kalypso_bootstrap::sim::SimulatedEnvironment::demo_persistent(
                state.with_file_name("state.json.demo"),
            )
            .unwrap();
            let mut context = TemplateContext::new(
                RepoRef::new("kalypso-demo", "kalypso-control-plane"),
                RepoRef::new("kalypso-demo", "platform-gitops"),
            );
            context.environments = vec!["dev".into(), "stage".into(), "prod".into()];
            let rendered = templates::render(&context).unwrap();
            let mut seed = kalypso_bootstrap::sim::SeedRepo::new("kalypso-demo", "platform-gitops")
                .with_label("promoted", "0E8A16", "theirs");
            for secret in
                kalypso_bootstrap::engine::steps::repositories::secret_names(RepoKind::Gitops)
            {
                seed = seed.with_secret(secret);
            }
            for branch in &rendered.repo(RepoKind::Gitops).branches {
                for file in &branch.files {
                    seed = if file.executable {
                        seed.with_executable(&branch.name, &file.path, file.contents.clone())
                    } else {
                        seed.with_file(&branch.name, &file.path, file.contents.clone())
                    };
                }
            }
            sim.seed_repo(seed).unwrap();
            vec![("KALYPSO_DEMO_LATENCY".into(), "zero,gh api=150ms".into())]
        },
    );
    for branch in ["main", "dev", "stage", "prod"] {
        assert!(
            lists(
                &listed,
                &[
                    "gh",
                    "api",
                    &format!("repos/kalypso-demo/platform-gitops/git/trees/{branch}?recursive=1")
                ]
            ),
            "{branch}: {listed:?}"
        );
    }
}

/// `--render-templates` writes what a run would push: main and a branch per environment.
#[test]
fn render_templates_writes_a_branch_per_environment() {
    let home = TempDir::new().unwrap();
    bare(home.path())
        .args([
            "--render-templates",
            "rendered",
            "--cluster-name",
            "demo",
            "--github-org",
            "acme",
            "--environments",
            "dev,stage,prod",
        ])
        .assert()
        .code(0);
    for repo in ["control-plane", "gitops"] {
        let mut branches: Vec<String> = std::fs::read_dir(home.path().join("rendered").join(repo))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        branches.sort();
        assert_eq!(branches, ["dev", "main", "prod", "stage"], "{repo}");
    }
    let main = home
        .path()
        .join("rendered/control-plane/main/.environments");
    for environment in ["dev", "stage", "prod"] {
        assert!(
            main.join(format!("{environment}.yaml")).is_file(),
            "{environment}"
        );
    }
}

/// Issue 18 §2, §3: `--demo --environments dev,stage --workload-cluster self --no-tui
/// --yes` plays the whole chain on the simulated world: the workload cluster attached, the
/// scheduler's pull request merged (the --yes consents), the sample reaching dev, then,
/// after the simulated Actions promote it, stage; the summary ends with what shows the
/// workload (in the demo: where it ran, no command that cannot work when copied).
/// `--clean` afterwards leaves nothing of ours.
#[test]
fn a_demo_delivers_the_workload_to_dev_then_after_promotion_to_stage_and_is_cleaned() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        // GitHub answering in 150 ms (the environments' pull requests in seconds of their
        // own); Actions runs of a second (cd finds the branches the seed pushes after main).
        .env("KALYPSO_DEMO_LATENCY", "zero,gh api=150ms,actions-run=1s")
        .args([
            "--environments",
            "dev,stage",
            "--workload-cluster",
            "self",
            "--yes",
            "--output",
            "json",
        ])
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let events = json_events(&output);
    let reached: Vec<(String, String)> = events
        .iter()
        .filter(|e| {
            e["event"] == "workload_chain" && e["link"] == "running" && e["status"] != "waiting"
        })
        .map(|e| {
            (
                e["environment"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Stage's own sample Kustomization fails upstream (no uat-test folder on the sample's
    // stage branch): a warning naming it, the workload's objects there all the same.
    assert_eq!(
        reached,
        [
            ("dev".to_string(), "done".to_string()),
            ("stage".to_string(), "warning".to_string())
        ],
        "dev, then stage"
    );
    let merged: Vec<String> = events
        .iter()
        .filter(|e| {
            e["event"] == "workload_chain" && e["link"] == "pull_request" && e["status"] == "done"
        })
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(merged.len(), 2, "{merged:?}");
    assert!(
        merged.iter().all(|m| m.ends_with("(promoted)")),
        "{merged:?}"
    );
    let summary = events
        .iter()
        .find(|e| e["event"] == "run_finished")
        .expect("the run finished");
    let next: Vec<&str> = summary["summary"]["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let last = next.last().expect("next steps");
    assert!(
        last.starts_with("DEMO: the sample workload ran in namespace stage-"),
        "{next:#?}"
    );
    assert!(
        next.iter().any(|s| s
            .contains("labelled promoted in dev runs the gitops repository's check-promote.yaml")),
        "{next:#?}"
    );

    bare(home.path())
        .args(["--clean", "--demo", "-y", "--state-file"])
        .arg(&state)
        .assert()
        .code(0);
    assert!(kept(&state).is_empty(), "{}", state_of(&state)["resources"]);
    assert_eq!(state_of(&state)["status"], "rolled_back");
}
