//! The whole program, headless, on the built-in simulated environment (`--demo`): exit
//! codes by phase, JSON lines, dry-run, rollback, `--status`, `--clean` and the lock.

mod demo_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const CANARY: &str = "ghp_DEMOcanary0123456789abcdefghijKLMN";

fn demo(home: &Path) -> Command {
    demo_support::demo_command(home, CANARY)
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
    assert!(out.contains("Summary (DEMO)"), "{out}");
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
            log.contains(&format!("step {step} failed")) && log.contains("run failed"),
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
fn auto_rollback_removes_what_the_run_created_in_reverse_order() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        .env("KALYPSO_DEMO_FAIL", "gitops.label")
        .args(["--auto-rollback", "--output", "json", "--state-file"])
        .arg(&state)
        .assert()
        .code(5)
        .get_output()
        .clone();
    let events: Vec<Value> = stdout_of(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is JSON"))
        .collect();
    let removed: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "rollback_action")
        .map(|e| e["resource"].as_str().unwrap())
        .collect();
    assert!(!removed.is_empty());
    let position = |needle: &str| removed.iter().position(|r| r.contains(needle));
    assert!(
        position("aks_cluster") < position("resource_group"),
        "the cluster goes before its resource group: {removed:?}"
    );
    let finished = events
        .iter()
        .find(|e| e["event"] == "rollback_finished")
        .unwrap();
    assert_eq!(finished["outcome"], "succeeded");
    assert_eq!(state_of(&state)["status"], "rolled_back");
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
    // The first run keeps the demo's realistic latencies, so it holds the lock for a while.
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .args(["--demo", "--no-tui", "--non-interactive", "--state-file"])
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = PathBuf::from(format!("{}.lock", state.display()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(state.exists()
        && std::fs::read_to_string(&lock).is_ok_and(|pid| !pid.trim().is_empty()))
    {
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let second = demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it fails at once"
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&first.id().to_string()),
        "names the PID: {stderr}"
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run is unaffected"
    );
    first.kill().unwrap();
    first.wait().unwrap();

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
    cancelled_by(libc::SIGINT);
}

/// A CI job cancelled (SIGTERM) or a closed terminal (SIGHUP) stops as orderly as Ctrl+C.
#[test]
fn sigterm_and_sighup_cancel_the_run_the_same_way() {
    cancelled_by(libc::SIGTERM);
    cancelled_by(libc::SIGHUP);
}

fn cancelled_by(signal: libc::c_int) {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    // Realistic latencies: the cluster is still provisioning when the signal arrives.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .args(["--demo", "--no-tui", "--non-interactive", "--state-file"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&state).is_ok_and(|text| text.contains("aks_cluster")) {
        assert!(
            Instant::now() < deadline,
            "the cluster creation never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
    assert_eq!(recorded["status"], "failed");
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
}
