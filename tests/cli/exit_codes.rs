//! The documented exit codes, as the binary returns them, and the utility modes that
//! issue 2 delivers (--status, --export-config, --validate-only, --render-templates).

use std::path::Path;

use crate::support::templates::listing::{assert_acme_cp_go_dev_snapshot, tree_listing};
use assert_cmd::Command;
use kalypso_bootstrap::ExitCode;
use predicates::prelude::*;
use tempfile::TempDir;

/// The binary with a clean environment: only PATH and a private HOME.
fn bin(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kalypso-bootstrap").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .current_dir(home);
    cmd
}

#[test]
fn the_exit_code_table_is_the_documented_one() {
    let table: Vec<(i32, &str)> = ExitCode::ALL
        .iter()
        .map(|c| (c.code(), c.meaning()))
        .collect();
    assert_eq!(
        table,
        vec![
            (0, "success"),
            (1, "general error"),
            (2, "prerequisite validation failed"),
            (3, "configuration validation failed"),
            (4, "cluster operation failed"),
            (5, "repository operation failed"),
            (6, "installation failed"),
            (7, "user cancelled"),
            (64, "invalid command-line syntax"),
        ]
    );
}

#[test]
fn an_invalid_cluster_name_exits_3_naming_the_field_and_writes_nothing() {
    let home = TempDir::new().unwrap();
    bin(home.path())
        .args([
            "--cluster-name",
            "Bad_Name",
            "--non-interactive",
            "--dry-run",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cluster.name"))
        .stderr(predicate::str::contains("Bad_Name"))
        .stderr(predicate::str::contains("--cluster-name"));
    assert!(
        !home.path().join(".kalypso").exists(),
        "a rejected configuration must change nothing"
    );
}

#[test]
fn every_invalid_value_is_reported_at_once() {
    let home = TempDir::new().unwrap();
    let out = bin(home.path())
        .args([
            "--cluster-name",
            "Bad_Name",
            "--cluster-nodes",
            "0",
            "--namespace",
            "Not_A_Label",
            "--repo-visibility",
            "secret",
        ])
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(out).unwrap();
    for field in [
        "cluster.name",
        "cluster.nodeCount",
        "installation.namespace",
        "repositories.visibility",
    ] {
        assert!(stderr.contains(field), "{field} missing from:\n{stderr}");
    }
}

#[test]
fn an_invalid_value_from_the_environment_or_file_also_exits_3() {
    let home = TempDir::new().unwrap();
    bin(home.path())
        .env("KALYPSO_CLUSTER_NODES", "many")
        .args([
            "--cluster-name",
            "demo",
            "--github-org",
            "acme",
            "--export-config",
            "x.yaml",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("KALYPSO_CLUSTER_NODES"));
    std::fs::write(
        home.path().join("bad.yaml"),
        "cluster:\n  nodeCount: lots\n",
    )
    .unwrap();
    bin(home.path())
        .args(["--config", "bad.yaml", "--export-config", "x.yaml"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cluster.nodeCount"))
        .stderr(predicate::str::contains("line 2"));
    assert!(!home.path().join("x.yaml").exists());
}

#[test]
fn status_without_a_state_file_says_so_and_succeeds() {
    let home = TempDir::new().unwrap();
    bin(home.path())
        .arg("--status")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No bootstrap state found"));
}

#[test]
fn status_of_a_corrupt_state_file_is_a_general_error_and_leaves_it_alone() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    std::fs::write(&state, "{ not json").unwrap();
    bin(home.path())
        .args(["--status", "--state-file"])
        .arg(&state)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{ not json");
}

#[test]
fn status_prints_a_recorded_state_as_text_and_as_json() {
    use kalypso_bootstrap::state::{BootstrapState, RunStatus, StateStore, Timestamp};
    let home = TempDir::new().unwrap();
    let path = home.path().join("state.json");
    let mut recorded = BootstrapState::new(Timestamp::now());
    recorded.cluster.name = Some("demo".into());
    recorded.set_status(RunStatus::Completed, Timestamp::now());
    StateStore::at_custom(&path).save(&recorded).unwrap();

    bin(home.path())
        .args(["--status", "--state-file"])
        .arg(&path)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("demo"))
        .stdout(predicate::str::contains("completed"));
    let out = bin(home.path())
        .args(["--status", "--output", "json", "--state-file"])
        .arg(&path)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["status"], "completed");
    assert_eq!(json["cluster"]["name"], "demo");
}

#[test]
fn validate_only_without_the_tools_exits_2_with_the_full_table() {
    let home = TempDir::new().unwrap();
    let empty_path = TempDir::new().unwrap();
    let log = home.path().join("run.log");
    let out = bin(home.path())
        .env("PATH", empty_path.path())
        .args(["--validate-only", "--non-interactive", "--log-file"])
        .arg(&log)
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(out).unwrap();
    let words =
        |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_string).collect() };
    let lines: Vec<&str> = table.lines().collect();
    let header = lines
        .iter()
        .position(|line| line.trim_start().starts_with("TOOL"))
        .unwrap_or_else(|| panic!("no tool header in:\n{table}"));
    assert_eq!(
        words(lines[header]),
        ["TOOL", "FOUND", "VERSION", "MINIMUM", "VERDICT", "DETAIL"],
        "{table}"
    );
    // One row per tool, in this order, each with its minimum and verdict.
    let expected = [
        ("az", "2.50.0", "FAIL"),
        ("kubectl", "1.25.0", "FAIL"),
        ("gh", "2.36.0", "FAIL"),
        ("helm", "3.13.0", "FAIL"),
        ("git", "2.31.0", "FAIL"),
    ];
    let rows: Vec<Vec<String>> = lines[header + 1..]
        .iter()
        .take_while(|line| !line.trim().is_empty())
        .map(|line| words(line))
        .collect();
    assert_eq!(rows.len(), expected.len(), "{table}");
    for (row, (tool, minimum, verdict)) in rows.iter().zip(expected) {
        assert_eq!(
            row[..5],
            [tool, "no", "-", minimum, verdict].map(String::from),
            "{table}"
        );
    }
    // jq and bash are only reported: not installed, they are no row at all.
    assert!(!table.contains("not needed"), "{table}");
    assert_eq!(
        lines.last().map(|line| line.trim()),
        Some("Prerequisites: FAILED (7 failures)"),
        "{table}"
    );
    assert!(log.exists(), "the log file is written");
}

#[test]
fn a_broken_kubeconfig_is_named_in_the_existing_context_error() {
    let home = TempDir::new().unwrap();
    let kubeconfig = home.path().join("broken-kubeconfig");
    std::fs::write(&kubeconfig, "contexts: [unclosed\n").unwrap();
    let out = bin(home.path())
        .env("KUBECONFIG", &kubeconfig)
        .args(["--cluster-existing", "x", "--non-interactive", "--dry-run"])
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(out).unwrap();
    assert!(
        stderr.contains("cluster.existingContext: \"x\""),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "kubeconfig {}: is not a valid kubeconfig",
            kubeconfig.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("no contexts were found"), "{stderr}");
}

#[test]
fn a_create_flag_agreeing_with_the_existing_resource_is_accepted() {
    let home = TempDir::new().unwrap();
    bin(home.path())
        .env("KUBECONFIG", write_kubeconfig(home.path(), "kind-dev"))
        .args([
            "--cluster-create=false",
            "--cluster-existing",
            "kind-dev",
            "--control-plane-create=false",
            "--control-plane-repo",
            "https://github.com/acme/cp",
            "--gitops-create",
            "false",
            "--gitops-repo",
            "https://github.com/acme/go",
            "--export-config",
            "out.yaml",
        ])
        .assert()
        .code(0);
    let exported = std::fs::read_to_string(home.path().join("out.yaml")).unwrap();
    assert!(exported.contains("existingContext: kind-dev"), "{exported}");
    assert!(
        exported.contains("https://github.com/acme/cp"),
        "{exported}"
    );
    assert!(
        exported.contains("https://github.com/acme/go"),
        "{exported}"
    );
}

#[test]
fn a_create_flag_contradicting_the_existing_resource_exits_64_naming_both() {
    let home = TempDir::new().unwrap();
    for (args, named) in [
        (
            ["--cluster-create=true", "--cluster-existing", "x"],
            ["--cluster-create=true", "--cluster-existing"],
        ),
        (
            [
                "--control-plane-create",
                "--control-plane-repo",
                "https://github.com/a/b",
            ],
            ["--control-plane-create=true", "--control-plane-repo"],
        ),
    ] {
        bin(home.path())
            .args(args)
            .assert()
            .code(64)
            .stderr(predicate::str::contains(named[0]))
            .stderr(predicate::str::contains(named[1]))
            .stderr(predicate::str::contains("contradicts"));
    }
}

#[test]
fn precedence_is_flags_over_env_over_file_over_defaults() {
    let home = TempDir::new().unwrap();
    std::fs::write(
        home.path().join("c.yaml"),
        "cluster:\n  name: demo\n  region: westus\nrepositories:\n  githubOrg: acme\n",
    )
    .unwrap();
    let region_with = |env: Option<&str>, flag: Option<&str>, file: bool| -> String {
        let mut cmd = bin(home.path());
        if file {
            cmd.args(["--config", "c.yaml"]);
        } else {
            cmd.args(["--cluster-name", "demo"]);
        }
        if let Some(value) = env {
            cmd.env("KALYPSO_CLUSTER_REGION", value);
        }
        if let Some(value) = flag {
            cmd.args(["--cluster-region", value]);
        }
        let out_file = home.path().join("out.yaml");
        // An existing file is not overwritten without --force.
        let _ = std::fs::remove_file(&out_file);
        cmd.arg("--export-config").arg(&out_file).assert().code(0);
        let exported: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
        exported["cluster"]["region"].as_str().unwrap().to_string()
    };
    assert_eq!(
        region_with(Some("northeurope"), Some("westeurope"), true),
        "westeurope"
    );
    assert_eq!(region_with(Some("northeurope"), None, true), "northeurope");
    assert_eq!(region_with(None, None, true), "westus");
    assert_eq!(region_with(None, None, false), "eastus");
}

#[test]
fn an_exported_configuration_reads_back_to_the_same_configuration() {
    let home = TempDir::new().unwrap();
    bin(home.path())
        .args([
            "--cluster-existing",
            "kind-dev",
            "--cluster-name",
            "demo",
            "--control-plane-repo",
            "https://github.com/acme/cp.git",
            "--gitops-name",
            "go",
            "--github-org",
            "acme",
            "--repo-visibility",
            "public",
            "--export-config",
            "first.yaml",
        ])
        .env("KUBECONFIG", write_kubeconfig(home.path(), "kind-dev"))
        .assert()
        .code(0);
    bin(home.path())
        .env("KUBECONFIG", home.path().join("kubeconfig"))
        .args(["--config", "first.yaml", "--export-config", "second.yaml"])
        .assert()
        .code(0);
    let first = std::fs::read_to_string(home.path().join("first.yaml")).unwrap();
    let second = std::fs::read_to_string(home.path().join("second.yaml")).unwrap();
    assert_eq!(first, second);
    assert!(first.contains("existingContext: kind-dev"), "{first}");
    assert!(first.contains("https://github.com/acme/cp"), "{first}");
}

#[test]
fn render_templates_writes_both_repositories_and_needs_an_owner() {
    let home = TempDir::new().unwrap();
    bin(home.path())
        .args([
            "--cluster-name",
            "demo",
            "--github-org",
            "acme",
            "--control-plane-name",
            "cp",
            "--gitops-name",
            "go",
            "--render-templates",
            "out",
        ])
        .assert()
        .code(0);
    // The written DIR is exactly the library's rendering of this configuration (the snapshot
    // the template tests record), so the CLI maps its flags onto the template context fully.
    let listing = tree_listing(&home.path().join("out"));
    assert_acme_cp_go_dev_snapshot(&listing);

    bin(home.path())
        .args(["--cluster-name", "demo", "--render-templates", "out2"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--github-org"));
}

fn write_kubeconfig(dir: &Path, context: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n\
             contexts:\n- name: {context}\n  context:\n    cluster: c\n    user: u\n\
             current-context: {context}\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    path
}

/// Modes that make no sense together exit 64 naming both flags, and do nothing (no state,
/// no log); `--clean --dry-run` is the removal preview and is accepted.
#[test]
fn contradictory_mode_flags_exit_64_naming_both_and_change_nothing() {
    let modes: [&[&str]; 6] = [
        &["--status"],
        &["--clean"],
        &["--validate-only"],
        &["--dry-run"],
        &["--export-config", "out.yaml"],
        &["--render-templates", "rendered"],
    ];
    for (i, first) in modes.iter().enumerate() {
        for second in &modes[i + 1..] {
            if first[0] == "--clean" && second[0] == "--dry-run" {
                continue;
            }
            let home = TempDir::new().unwrap();
            bin(home.path())
                .args(first.iter().chain(second.iter()))
                .arg("--non-interactive")
                .assert()
                .code(64)
                .stderr(predicate::str::contains(first[0]))
                .stderr(predicate::str::contains(second[0]));
            let left: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
            assert!(left.is_empty(), "{first:?} {second:?} wrote {left:?}");
        }
    }
    let home = TempDir::new().unwrap();
    bin(home.path())
        .args(["--clean", "--dry-run", "--state-file"])
        .arg(home.path().join("none.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("nothing to clean"));
}

// ---------------------------------------------------------------------------------------
// Issue 12, item 5: paths the user gives are used, never abused.

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn make_fifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// Every entry under `dir`, not following symlinks.
fn entries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        found.push(path.strip_prefix(dir).unwrap().display().to_string());
        if entry.file_type().unwrap().is_dir() {
            found.extend(
                entries(&path)
                    .into_iter()
                    .map(|e| format!("{}/{e}", entry.file_name().to_string_lossy())),
            );
        }
    }
    found.sort();
    found
}

#[test]
fn a_dry_run_writes_no_state_lock_or_log_and_never_follows_a_symlinked_lock() {
    let home = TempDir::new().unwrap();
    let state_dir = home.path().join("s");
    std::fs::create_dir(&state_dir).unwrap();
    let victim = home.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, state_dir.join("state.json.lock")).unwrap();
    bin(home.path())
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .args(["--demo", "--dry-run", "--no-tui", "--non-interactive"])
        .arg("--state-file")
        .arg(state_dir.join("state.json"))
        .arg("--log-file")
        .arg(home.path().join("logs/run.log"))
        .assert()
        .code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // Only the simulated world (the stand-in for Azure, GitHub and the cluster) is there.
    let written: Vec<String> = entries(home.path())
        .into_iter()
        .filter(|e| !e.starts_with("s/state.json.demo"))
        .collect();
    assert_eq!(
        written,
        ["s", "s/state.json.lock", "victim.txt"],
        "a dry run writes no state, lock, log or report"
    );
}

#[test]
fn a_log_file_that_is_a_device_or_a_symlink_is_refused_and_left_alone() {
    let home = TempDir::new().unwrap();
    let before = mode_of(Path::new("/dev/full"));
    bin(home.path())
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .args([
            "--demo",
            "--no-tui",
            "--non-interactive",
            "--log-file",
            "/dev/full",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--log-file /dev/full"))
        .stderr(predicate::str::contains("character device"));
    assert_eq!(mode_of(Path::new("/dev/full")), before);

    let target = home.path().join("theirs.txt");
    std::fs::write(&target, "theirs\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&target, home.path().join("link.log")).unwrap();
    bin(home.path())
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .args([
            "--demo",
            "--no-tui",
            "--non-interactive",
            "--log-file",
            "link.log",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--log-file link.log"))
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(mode_of(&target), 0o644);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs\n");
}

#[test]
fn a_config_that_is_a_device_or_a_fifo_is_refused_at_once() {
    let home = TempDir::new().unwrap();
    make_fifo(&home.path().join("fifo.yaml"));
    for (config, says) in [("/dev/zero", "a character device"), ("fifo.yaml", "a FIFO")] {
        // Reading a FIFO no one writes would block: the timeout is a hang guard.
        bin(home.path())
            .timeout(crate::support::process::HANG_GUARD)
            .args([
                "--config",
                config,
                "--cluster-name",
                "demo",
                "--export-config",
                "-",
            ])
            .assert()
            .code(3)
            .stderr(predicate::str::contains(config))
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn export_config_writes_stdout_for_dash_and_never_overwrites_or_follows_a_symlink() {
    let home = TempDir::new().unwrap();
    let export = |target: &str, force: bool| {
        let mut cmd = bin(home.path());
        cmd.timeout(crate::support::process::HANG_GUARD).args([
            "--cluster-name",
            "demo",
            "--github-org",
            "acme",
            "--export-config",
            target,
        ]);
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
    };
    let out = export("-", false).code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("name: demo"), "{stdout}");
    assert!(!home.path().join("-").exists(), "no file named -");

    let existing = home.path().join("existing.yaml");
    std::fs::write(&existing, "mine\n").unwrap();
    export("existing.yaml", false)
        .code(1)
        .stderr(predicate::str::contains("--export-config existing.yaml"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "mine\n");
    export("existing.yaml", true).code(0);
    assert!(std::fs::read_to_string(&existing)
        .unwrap()
        .contains("name: demo"));

    let target = home.path().join("target.yaml");
    std::fs::write(&target, "theirs\n").unwrap();
    std::os::unix::fs::symlink(&target, home.path().join("link.yaml")).unwrap();
    for force in [false, true] {
        export("link.yaml", force)
            .code(1)
            .stderr(predicate::str::contains("symbolic link"));
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs\n");

    make_fifo(&home.path().join("fifo.yaml"));
    export("fifo.yaml", true)
        .code(1)
        .stderr(predicate::str::contains("not a regular file"));
}

/// An existing repository and a new one of the token's account (no `--github-org`) can be
/// one repository only once the account is known: the run finds that out before it creates
/// anything and exits 3 naming both fields, as validation does when the owner is given.
#[test]
fn a_new_repository_that_is_the_existing_one_of_the_tokens_account_exits_3_before_any_change() {
    let home = TempDir::new().unwrap();
    let state_file = home.path().join("state.json");
    let output = bin(home.path())
        .env("GITHUB_TOKEN", "ghp_SameRepo0123456789abcdefghijKLMNOPQ")
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .args([
            "--demo",
            "--no-tui",
            "--non-interactive",
            "--cluster-name",
            "demo",
        ])
        .args([
            "--control-plane-repo",
            "https://github.com/Kalypso-Demo/Shared",
        ])
        .args(["--gitops-name", "shared"])
        .arg("--state-file")
        .arg(&state_file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    for named in [
        "repositories.gitops.name",
        "repositories.controlPlane.url",
        "ignores letter case",
        "--gitops-name",
    ] {
        assert!(stderr.contains(named), "lacks {named:?}: {stderr}");
    }
    // Refused before the run: no state was recorded, so nothing was created.
    assert!(!state_file.exists(), "{stderr}");
}

/// clap's own output (help, errors) is coloured by anstream, which reads `NO_COLOR` and
/// `CLICOLOR_FORCE`; `FORCE_COLOR` is honoured there too, and `NO_COLOR` still wins.
#[test]
fn help_is_coloured_when_forced_and_never_with_no_color() {
    let home = TempDir::new().unwrap();
    let help = |env: &[(&str, &str)]| {
        let mut cmd = bin(home.path());
        for (name, value) in env {
            cmd.env(name, value);
        }
        let output = cmd.arg("--help").assert().code(0).get_output().clone();
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(!help(&[]).contains('\x1b'));
    assert!(help(&[("FORCE_COLOR", "1")]).contains('\x1b'));
    assert!(help(&[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    assert!(!help(&[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]).contains('\x1b'));
}
