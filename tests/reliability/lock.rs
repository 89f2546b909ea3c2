//! One run per state file (issue 6, item 3), through the binary: a second run on the same
//! state file fails at once naming the holder's PID with exit 1, and the first run then
//! completes as if nothing had happened. A run refused for an unusable state file leaves
//! nothing behind (no lock file, no log, no state directory), real or demo, run or clean.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::support::demo::demo_process;
use crate::support::process::{real_git, wait_until};
use kalypso_bootstrap::engine::{Bootstrap, BootstrapError};
use kalypso_bootstrap::state::StateError;
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;

const TOKEN: &str = "ghp_LOCKcanary0123456789abcdefghijKLMNOP";

/// A `git` that holds every `push` until `<dir>/open` exists (saying so in
/// `<dir>/waiting`), then runs the real git. It pauses the first run in the middle of its
/// work, holding the state lock, for as long as the test needs. After a minute (a hang
/// guard) it gives up waiting and says so in `<dir>/gave-up`.
fn gated_git(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = push ]; then\n\
           : > '{gate}/waiting'\n\
           i=0\n\
           while [ ! -e '{gate}/open' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n\
           [ -e '{gate}/open' ] || : > '{gate}/gave-up'\n\
         fi\n\
         exec '{git}' \"$@\"\n",
        gate = dir.display(),
        git = real_git().display()
    );
    let path = bin.join("git");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn demo_command(home: &Path, path_var: &str) -> Command {
    let mut cmd = demo_process(home, TOKEN);
    cmd.env("PATH", path_var).stdin(Stdio::null());
    cmd
}

fn wait_for(path: &Path, what: &str) {
    wait_until(&format!("{what}: {}", path.display()), || path.exists());
}

#[test]
fn a_second_run_fails_at_once_with_the_holders_pid_and_the_first_completes_unaffected() {
    let home = TempDir::new().unwrap();
    let gate = home.path().join("gate");
    let bin = gated_git(&gate);
    let path_var = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let state = home.path().join("state.json");

    let mut first = demo_command(home.path(), &path_var)
        .arg("--state-file")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = first.id();
    // The first run is inside its repository seeding, holding the lock.
    wait_for(&gate.join("waiting"), "the first run's push");

    let second = demo_command(home.path(), &std::env::var("PATH").unwrap_or_default())
        .arg("--state-file")
        .arg(&state)
        .output()
        .unwrap();
    let second_err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "stderr: {second_err}");
    // At once: refused while the first run is still held at its push, which only this
    // test releases (a second run that waited for the lock would wait for the gate's give-up,
    // a hang guard, and then run).
    assert!(
        first.try_wait().unwrap().is_none() && !gate.join("gave-up").exists(),
        "refused while the first run still held the lock, held at its push"
    );
    assert!(
        second_err.contains(&format!("PID {first_pid}")),
        "names the holder: {second_err}"
    );
    assert!(second_err.contains("state.json"), "{second_err}");
    assert!(!second_err.contains(TOKEN));

    // Let the first run go on: it completes as if it had been alone.
    std::fs::write(gate.join("open"), "").unwrap();
    let output = first.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the first run: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("✔ Bootstrap (DEMO) completed in"),
        "{stdout}"
    );
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(recorded["status"], "completed");
    assert_eq!(
        recorded["errors"].as_array().map(Vec::len),
        Some(0),
        "nothing of the second run reached the first's state: {}",
        recorded["errors"]
    );
    for step in recorded["steps"].as_array().unwrap() {
        assert_eq!(step["status"], "succeeded", "{step}");
    }
    // Each resource once, all ours.
    let mut kinds = BTreeMap::new();
    for resource in recorded["resources"].as_array().unwrap() {
        assert_eq!(resource["ownership"], "created_by_us", "{resource}");
        assert_eq!(resource["status"], "present", "{resource}");
        *kinds.entry(resource["resource"].to_string()).or_insert(0) += 1;
    }
    assert!(kinds.len() >= 5, "{kinds:?}");
    assert!(kinds.values().all(|n| *n == 1), "{kinds:?}");
    // The lock is released: the next run takes it (and finds nothing left to do).
    let again = demo_command(home.path(), &std::env::var("PATH").unwrap_or_default())
        .arg("--state-file")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Every file and directory under `root`, with each file's bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path.clone());
                found.insert(path, None);
            } else {
                found.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    found
}

const CORRUPT: &str = "{ \"version\": \"1.0\", \"status\": ";
const FUTURE: &str = r#"{"version": "99.0", "timestamp": "2026-01-01T00:00:00Z", "status": "completed", "errors": [], "steps": [], "resources": []}"#;

/// A real (not demo) run refused for its state file: no tool is on PATH and the
/// prerequisite check is skipped, so the state file is the first thing it meets.
#[test]
fn a_refused_run_leaves_nothing_behind() {
    struct Case {
        name: &'static str,
        /// Relative to HOME; `None`: the default state file.
        state_file: Option<&'static str>,
        contents: &'static str,
        args: &'static [&'static str],
        demo: bool,
        says: &'static str,
    }
    let run = &[
        "--cluster-name",
        "abc",
        "--cluster-region",
        "eastus",
        "--github-org",
        "acme",
    ];
    let cases = [
        Case {
            name: "corrupt --state-file",
            state_file: Some("state.json"),
            contents: CORRUPT,
            args: run,
            demo: false,
            says: "truncated",
        },
        Case {
            name: "future version in the default state file",
            state_file: None,
            contents: FUTURE,
            args: run,
            demo: false,
            says: "99.0",
        },
        Case {
            name: "corrupt state file in a directory of its own",
            state_file: Some("states/one/state.json"),
            contents: "not json at all",
            args: run,
            demo: false,
            says: "corrupt",
        },
        Case {
            name: "--clean of a corrupt state file",
            state_file: Some("state.json"),
            contents: CORRUPT,
            args: &["--clean"],
            demo: false,
            says: "truncated",
        },
        Case {
            name: "demo run of a state file that is not ours",
            state_file: Some("state.json"),
            contents: r#"{"name": "someone else's"}"#,
            args: &[],
            demo: true,
            says: "state file",
        },
    ];
    for case in cases {
        let home = TempDir::new().unwrap();
        let empty_bin = home.path().join("bin");
        std::fs::create_dir(&empty_bin).unwrap();
        let state = match case.state_file {
            Some(relative) => home.path().join(relative),
            None => home.path().join(".kalypso").join("bootstrap-state.json"),
        };
        std::fs::create_dir_all(state.parent().unwrap()).unwrap();
        std::fs::write(&state, case.contents).unwrap();
        let before = snapshot(home.path());

        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"));
        cmd.env_clear()
            .env("PATH", &empty_bin)
            .env("HOME", home.path())
            .env("TMPDIR", home.path())
            .env("GITHUB_TOKEN", TOKEN)
            .current_dir(home.path())
            .stdin(Stdio::null())
            .args(["--no-tui", "--non-interactive", "--skip-validation"])
            .args(case.args);
        if case.demo {
            cmd.env("KALYPSO_DEMO_LATENCY", "zero").arg("--demo");
        }
        if case.state_file.is_some() {
            cmd.arg("--state-file").arg(&state);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{}: {stderr}", case.name);
        assert!(
            stderr.contains(&state.display().to_string()) && stderr.contains(case.says),
            "{}: the message names the file and the problem: {stderr}",
            case.name
        );
        let after = snapshot(home.path());
        let changed: Vec<&PathBuf> = after
            .keys()
            .chain(before.keys())
            .filter(|path| before.get(*path) != after.get(*path))
            .collect();
        assert!(
            changed.is_empty(),
            "{}: the refused run left {changed:?}",
            case.name
        );
    }
}

/// The engine itself (what the wizard opens after its forms) refuses an unusable state
/// file before creating its lock file.
#[test]
fn the_engine_refuses_an_unusable_state_file_without_creating_a_lock() {
    let harness = crate::support::e2e::Harness::new();
    let paths = harness.paths();
    std::fs::create_dir_all(paths.state_file.parent().unwrap()).unwrap();
    std::fs::write(&paths.state_file, CORRUPT).unwrap();
    let opened = Bootstrap::open(
        crate::support::e2e::all_new(),
        Arc::new(harness.sim.clone()),
        Some(SecretString::from(crate::support::e2e::CANARY)),
        paths.clone(),
        harness.options(),
    );
    assert!(
        matches!(
            opened,
            Err(BootstrapError::State(StateError::Unusable { .. }))
        ),
        "{:?}",
        opened.err()
    );
    let lock = PathBuf::from(format!("{}.lock", paths.state_file.display()));
    assert!(!lock.exists(), "the refused open left {}", lock.display());
    assert_eq!(std::fs::read_to_string(&paths.state_file).unwrap(), CORRUPT);
}
