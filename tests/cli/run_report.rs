//! The run report, on the real binary in `--demo`: written beside the state file (0600) at
//! the end of every run, success or failure, named in the summary (text and JSON); it
//! says what was created, reused or skipped, where things are, each step's time, the
//! health checks, the errors with their hints, the rollback and the next steps; the token
//! never appears in it; and the commands that change nothing write none.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kalypso_bootstrap::engine::StepId;
use serde_json::Value;
use tempfile::TempDir;

const CANARY: &str = "ghp_REPORTcanary0123456789abcdefghijKLM";

fn demo(home: &Path) -> Command {
    crate::support::demo::demo_command(home, CANARY)
}

/// The run reports in `dir`, oldest first (by when they were written: two runs in the same
/// second get `-2` names, which do not sort after the first).
fn reports(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("bootstrap-report-") && name.ends_with(".md")
        })
        .collect();
    found.sort_by_key(|path| std::fs::metadata(path).unwrap().modified().unwrap());
    found
}

/// Every report anywhere under `dir` (to prove that none was written).
fn reports_anywhere(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("bootstrap-report-")
            {
                found.push(path);
            }
        }
    }
    found
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The value after `label` in the summary or failure block.
fn block_value(stdout: &str, label: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(label)?;
        Some(rest.trim().to_string())
    })
}

fn assert_private(path: &Path) {
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} is readable by others", path.display());
}

#[test]
fn a_successful_run_writes_its_report_beside_the_state_file_and_names_it() {
    let home = TempDir::new().unwrap();
    let state_dir = home.path().join("state");
    let state = state_dir.join("state.json");
    let output = demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");

    let written = reports(&state_dir);
    assert_eq!(written.len(), 1, "one report: {written:?}");
    let report = &written[0];
    assert_eq!(
        block_value(&stdout, "Report:").map(PathBuf::from).as_ref(),
        Some(report),
        "the summary names the report:\n{stdout}"
    );
    assert_private(report);
    let body = std::fs::read_to_string(report).unwrap();

    assert!(
        body.contains("- Result: **completed** (exit code 0)"),
        "{body}"
    );
    assert!(body.contains("DEMO"), "labelled as a demo");
    assert!(body.contains(&format!("- State file: `{}`", state.display())));
    assert!(body.contains("| Kube context | kalypso-demo |"), "{body}");
    for url in [
        "https://github.com/kalypso-demo/kalypso-demo-control-plane (created by kalypso-bootstrap)",
        "https://github.com/kalypso-demo/kalypso-demo-gitops (created by kalypso-bootstrap)",
    ] {
        assert!(body.contains(url), "{url} missing:\n{body}");
    }
    // Every step, created, with its time.
    for step in StepId::WITHOUT_WORKLOAD_CLUSTERS {
        let row = body
            .lines()
            .find(|line| line.starts_with(&format!("| `{step}` |")))
            .unwrap_or_else(|| panic!("no row for {step}:\n{body}"));
        assert!(row.contains("| create | succeeded |"), "{row}");
        assert!(
            row.contains("ms |") || row.contains("s |"),
            "{step} has no time: {row}"
        );
    }
    assert!(body.contains("Time per phase: cluster"), "{body}");
    // The health checks, each passing.
    for check in [
        "pods",
        "crds",
        "controller",
        "webhooks",
        "flux-gitrepository",
        "flux-kustomization",
        "test-workload",
        "environment-flux",
        "baserepo",
        "gitopsrepo",
        "pull-request",
    ] {
        assert!(
            body.contains(&format!("| {check} | passing |")),
            "health check {check}:\n{body}"
        );
    }
    assert!(body.contains("## Errors\n\nNone."), "{body}");
    assert!(!body.contains("## Rollback"), "no rollback ran");
    assert!(
        body.contains("`kubectl --context kalypso-demo get pods -n kalypso-system`")
            && body.contains("docs/repositories.md#deploy-your-first-workload"),
        "the next steps:\n{body}"
    );
    assert!(!body.contains(CANARY), "the token is in the report");
}

#[test]
fn a_re_run_reports_what_it_reused_in_a_report_of_its_own() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0);
    let output = demo(home.path())
        .args(["--output", "json", "--state-file"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let written = reports(home.path());
    assert_eq!(written.len(), 2, "each run has its report: {written:?}");
    let finished: Value = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON lines"))
        .find(|event| event["event"] == "run_finished")
        .expect("a run_finished event");
    assert_eq!(
        finished["summary"]["report_file"]
            .as_str()
            .map(PathBuf::from)
            .as_ref(),
        Some(&written[1]),
        "the JSON summary names the new report"
    );
    let body = std::fs::read_to_string(&written[1]).unwrap();
    assert!(
        !body.contains("| create |"),
        "a re-run creates nothing:\n{body}"
    );
    let reused = body
        .lines()
        .filter(|l| l.contains("| reuse | reused |"))
        .count();
    assert!(reused >= 10, "steps reused: {reused}\n{body}");
    assert!(
        body.contains("| `cluster.preflight` | AKS pre-flight checks | skip | skipped |"),
        "the pre-flight check of an existing cluster is skipped:\n{body}"
    );
}

#[test]
fn a_failed_run_with_rollback_reports_the_error_its_hint_and_each_removal() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        .env("KALYPSO_DEMO_FAIL", "installation.kalypso")
        .args(["--auto-rollback", "--output", "json", "--state-file"])
        .arg(&state)
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(6), "{stdout}");

    let events: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let failed = events
        .iter()
        .find(|e| e["event"] == "run_failed")
        .expect("a run_failed event");
    let named = PathBuf::from(
        failed["report_file"]
            .as_str()
            .expect("run_failed names the report"),
    );
    assert_eq!(reports(home.path()), vec![named.clone()]);
    assert_private(&named);

    let body = std::fs::read_to_string(&named).unwrap();
    assert!(
        body.contains(
            "- Result: **failed** in the installation phase at step `installation.kalypso` (exit code 6: installation failed)"
        ),
        "{body}"
    );
    assert!(
        body.contains("| `installation.kalypso` | Kalypso Scheduler (Helm) | create | failed |")
    );
    assert!(body.contains("| `validation.health` | Health checks | create | not started | - |"));
    let error = body
        .lines()
        .find(|l| l.starts_with("- `installation.kalypso`"))
        .unwrap_or_else(|| panic!("the error:\n{body}"));
    assert!(
        error.contains("helm upgrade --install kalypso-scheduler"),
        "{error}"
    );
    assert!(
        body.contains("  - Hint: your cluster identity lacks RBAC permissions")
            && body.contains("run kalypso-bootstrap --explain cluster-permission-denied"),
        "the hint with its link:\n{body}"
    );
    // Rewritten after the rollback: each removal, and nothing left.
    assert!(body.contains("## Rollback"), "{body}");
    assert!(body.contains(
        "| repository https://github.com/kalypso-demo/kalypso-demo-gitops | succeeded |"
    ));
    assert!(body.contains("Rollback succeeded"), "{body}");
    assert!(
        body.contains("everything this run created was removed"),
        "{body}"
    );
    // People's words, not the state's identifiers; what was already gone counted apart.
    assert!(
        body.contains("| AKS cluster kalypso-demo (resource group kalypso-demo-rg) | succeeded |"),
        "{body}"
    );
    for identifier in [
        "aks_cluster",
        "helm_release",
        "created_by_us",
        "resource(s)",
    ] {
        assert!(
            !body.contains(identifier),
            "{identifier} in the report:\n{body}"
        );
    }
    assert!(
        body.contains("removed 8 resources created by this tool, 1 already gone"),
        "{body}"
    );
    assert!(!body.contains(CANARY), "the token is in the report");
}

#[test]
fn a_failed_run_without_rollback_tells_how_to_resume_or_clean() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    // The resource group's look-up outlasts the repositories, so the failure comes before
    // the cluster could be created (else whether it was would be a race).
    let output = demo(home.path())
        .env("KALYPSO_DEMO_FAIL", "gitops.seed")
        .env("KALYPSO_DEMO_LATENCY", "zero,az group show=5s")
        .arg("--state-file")
        .arg(&state)
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(5), "{stdout}");
    let written = reports(home.path());
    assert_eq!(written.len(), 1);
    assert_eq!(
        block_value(&stdout, "Report:").map(PathBuf::from).as_ref(),
        Some(&written[0]),
        "the failure block names the report:\n{stdout}"
    );
    let body = std::fs::read_to_string(&written[0]).unwrap();
    assert!(!body.contains("## Rollback"), "{body}");
    assert!(
        body.contains("run kalypso-bootstrap --explain rate-limited"),
        "{body}"
    );
    assert!(
        body.contains("the run resumes at the failed step")
            && body.contains(&format!(
                "`kalypso-bootstrap --clean --demo --state-file {}`",
                state.display()
            )),
        "{body}"
    );
    // What the run created is listed as ours; the cluster was never started.
    assert!(body.contains("| repository https://github.com/kalypso-demo/kalypso-demo-gitops | created by kalypso-bootstrap | present |"), "{body}");
    assert!(body.contains("(not created)"), "{body}");
    assert!(!body.contains(CANARY));
}

#[test]
fn commands_that_change_nothing_write_no_report() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    // Something to show and to clean, and its report.
    demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0);
    let before = reports_anywhere(home.path());
    assert_eq!(before.len(), 1);

    let state_arg = state.to_str().unwrap();
    // A dry run naming another installation is refused (exit 3) before it plans anything.
    let output = demo(home.path())
        .args([
            "--dry-run",
            "--cluster-name",
            "other",
            "--state-file",
            state_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert_eq!(reports_anywhere(home.path()), before);

    let runs: [&[&str]; 5] = [
        // A setting outside the installation's identity: the same installation.
        &["--dry-run", "--cluster-nodes", "5"],
        &["--status"],
        &["--export-config", "exported.yaml"],
        &["--render-templates", "rendered", "--github-org", "acme"],
        &["--clean", "--yes"],
    ];
    for args in runs {
        let output = demo(home.path())
            .args(args)
            .args(["--state-file", state_arg])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        assert_eq!(
            reports_anywhere(home.path()),
            before,
            "{args:?} wrote a report"
        );
    }

    // The prerequisite check, failing (no tool on PATH).
    let output = Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .args([
            "--validate-only",
            "--non-interactive",
            "--state-file",
            state_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    // An invalid configuration.
    Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .args([
            "--cluster-name",
            "Bad_Name",
            "--non-interactive",
            "--no-tui",
        ])
        .args(["--state-file", state_arg])
        .assert()
        .code(3);
    assert_eq!(reports_anywhere(home.path()), before);
}
