//! The published contracts (`schemas/`, docs/reference.md "Machine-readable contracts"):
//! the committed schemas are exactly what the types make, and the real outputs validate
//! against them with the real `check-jsonschema` (required: CI installs it, .ci/setup, and
//! a missing tool fails these tests instead of skipping them).
//!
//! `UPDATE_SCHEMAS=1 cargo test --test cli schemas::` rewrites `schemas/` from the types.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as BinCommand;
use serde_json::Value;
use tempfile::TempDir;

use kalypso_bootstrap::schemas::schema_files;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_path(file_name: &str) -> PathBuf {
    root().join("schemas").join(file_name)
}

#[test]
fn committed_schemas_are_the_ones_the_types_make() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for file in schema_files() {
        let path = schema_path(file.file_name);
        let expected = file.text();
        if update {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &expected).unwrap();
            continue;
        }
        if fs::read_to_string(&path).ok().as_deref() != Some(expected.as_str()) {
            stale.push(file.file_name);
        }
    }
    assert!(
        stale.is_empty(),
        "schemas/{stale:?} differ from what the types make: regenerate them with \
         `UPDATE_SCHEMAS=1 cargo test --test cli schemas::` and commit them"
    );
    // Nothing in schemas/ that no type makes.
    let made: Vec<&str> = schema_files().iter().map(|f| f.file_name).collect();
    for entry in fs::read_dir(root().join("schemas")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            made.contains(&name.as_str()),
            "schemas/{name} is made by no type"
        );
    }
}

/// `check-jsonschema --schemafile schemas/<schema> <documents…>`: (passed, output).
fn check(schema: &str, documents: &[PathBuf]) -> (bool, String) {
    assert!(
        !documents.is_empty(),
        "nothing to validate against {schema}"
    );
    let output = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(schema_path(schema))
        .args(documents)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "check-jsonschema could not be run ({error}); install it with \
                 `pipx install check-jsonschema` (.ci/setup does)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn assert_valid(schema: &str, documents: &[PathBuf]) {
    let (passed, text) = check(schema, documents);
    assert!(
        passed,
        "{documents:?} do not validate against {schema}:\n{text}"
    );
}

/// Each JSON value of `lines` in its own file under `dir`.
fn line_files(dir: &Path, stem: &str, lines: &str) -> Vec<PathBuf> {
    lines
        .lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("line {index} is not JSON ({e}): {line}"));
            let path = dir.join(format!("{stem}-{index:04}.json"));
            fs::write(&path, line).unwrap();
            path
        })
        .collect()
}

const CANARY: &str = "ghp_SCHEMAcanary0123456789abcdefghijKLMN";

fn demo(home: &Path) -> BinCommand {
    crate::support::demo::demo_command(home, CANARY)
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A demo run, verbose (so `log` and `step_progress` lines are there too): every line of
/// its event stream, its state file and `--status --output json` validate.
#[test]
fn a_demo_runs_events_state_and_status_validate() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let output = demo(home.path())
        .args(["--output", "json", "--verbose", "--state-file"])
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let lines = stdout(&output);
    let names: std::collections::BTreeSet<String> = lines
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["event"].to_string())
        .collect();
    for expected in [
        "\"version\"",
        "\"log\"",
        "\"step_progress\"",
        "\"run_finished\"",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    let dir = TempDir::new().unwrap();
    assert_valid(
        "events.schema.json",
        &line_files(dir.path(), "event", &lines),
    );
    assert_valid("state.schema.json", std::slice::from_ref(&state));

    let status = demo(home.path())
        .args(["--status", "--output", "json", "--state-file"])
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let status_file = dir.path().join("status.json");
    fs::write(&status_file, stdout(&status)).unwrap();
    assert_valid("state.schema.json", &[status_file]);
}

/// A failed run with its rollback: the failure and rollback events validate, and so does
/// the state the rollback leaves.
#[test]
fn a_failed_demo_runs_rollback_events_and_state_validate() {
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
    let lines = stdout(&output);
    for event in ["run_failed", "rollback_action", "rollback_finished"] {
        assert!(
            lines.contains(&format!("\"event\":\"{event}\"")),
            "{event}: {lines}"
        );
    }
    let dir = TempDir::new().unwrap();
    assert_valid(
        "events.schema.json",
        &line_files(dir.path(), "event", &lines),
    );
    assert_valid("state.schema.json", &[state]);
}

/// The stream starts with its `version` line, once, naming the contract and the tool.
#[test]
fn the_event_stream_starts_with_its_version_line() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--output", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let first = &lines[0];
    assert_eq!(first["event"], "version", "{first}");
    assert_eq!(first["schema"], kalypso_bootstrap::contracts::EVENTS.name);
    assert_eq!(
        first["schema_version"],
        kalypso_bootstrap::contracts::EVENTS.version
    );
    assert_eq!(first["tool"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        lines
            .iter()
            .filter(|line| line["event"] == "version")
            .count(),
        1
    );
    assert_eq!(lines[1]["event"], "phase_started", "{}", lines[1]);
}

/// `--dry-run --output json` names its contract and validates against the plan schema.
#[test]
fn the_dry_run_plan_validates() {
    let home = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--dry-run", "--output", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = stdout(&output);
    let plan: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(plan["schema"], kalypso_bootstrap::contracts::PLAN.name);
    assert_eq!(
        plan["schema_version"],
        kalypso_bootstrap::contracts::PLAN.version
    );
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("plan.json");
    fs::write(&file, &text).unwrap();
    assert_valid("plan.schema.json", std::slice::from_ref(&file));

    // The schema really checks: a plan of another version does not validate.
    let mut other = plan.clone();
    other["schema_version"] = Value::from(PLAN_VERSION_NOT_OURS);
    fs::write(&file, other.to_string()).unwrap();
    let (passed, text) = check("plan.schema.json", &[file]);
    assert!(!passed, "a plan of another version validated: {text}");
}

const PLAN_VERSION_NOT_OURS: u32 = 999;

/// Every other JSON document names its contract and version, and validates against its
/// schema: `--validate-only`, `--clean --dry-run`, and `--status` with no state.
#[test]
fn every_json_document_names_its_version() {
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let output = demo(home.path())
        .args(["--validate-only", "--output", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(
        report["schema"], "kalypso-bootstrap/prerequisites",
        "{report}"
    );
    assert_eq!(report["schema_version"], 1, "{report}");
    let report_file = dir.path().join("prerequisites.json");
    fs::write(&report_file, stdout(&output)).unwrap();
    assert_valid("prerequisites.schema.json", &[report_file]);

    let state = home.path().join("state.json");
    demo(home.path())
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(0);
    let output = demo(home.path())
        .args(["--clean", "--dry-run", "--output", "json", "--state-file"])
        .arg(&state)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let removal: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(
        removal["schema"], "kalypso-bootstrap/removal-plan",
        "{removal}"
    );
    assert_eq!(removal["schema_version"], 1, "{removal}");
    assert!(
        !removal["removals"].as_array().unwrap().is_empty(),
        "{removal}"
    );
    let removal_file = dir.path().join("removal-plan.json");
    fs::write(&removal_file, stdout(&output)).unwrap();
    assert_valid("removal-plan.schema.json", &[removal_file]);

    let output = demo(home.path())
        .args(["--status", "--output", "json", "--state-file"])
        .arg(home.path().join("none.json"))
        .assert()
        .code(0)
        .get_output()
        .clone();
    let absent: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(absent["found"], false, "{absent}");
    assert_eq!(
        absent["version"],
        kalypso_bootstrap::state::SCHEMA_VERSION,
        "{absent}"
    );
}

/// The example configuration validates against the configuration schema and names it on
/// its first line for editors; a configuration with an unknown key does not validate.
#[test]
fn the_example_config_validates_and_names_its_schema() {
    let example = root().join("assets/bootstrap-config.example.yaml");
    let text = fs::read_to_string(&example).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("# yaml-language-server: $schema=../schemas/config.schema.json"),
    );
    // The relative path names the committed schema.
    assert!(example
        .parent()
        .unwrap()
        .join("../schemas/config.schema.json")
        .is_file());
    assert_valid("config.schema.json", &[example]);

    let dir = TempDir::new().unwrap();
    let wrong = dir.path().join("wrong.yaml");
    fs::write(&wrong, "cluster:\n  name: demo\n  nodeCnt: 3\n").unwrap();
    let (passed, text) = check("config.schema.json", &[wrong]);
    assert!(!passed, "an unknown key validated: {text}");
    // A section written with nothing under it is null, which the loader accepts.
    let empty_section = dir.path().join("empty.yaml");
    fs::write(&empty_section, "cluster:\nenvironments: [dev, prod]\n").unwrap();
    assert_valid("config.schema.json", &[empty_section]);
}

/// The first workload's chain as `--output json` writes it (every link, every status)
/// validates against the event schema. (A demo run attaching a cluster validates as a
/// whole once `--workload-cluster` is parsed.)
#[test]
fn the_first_workloads_chain_events_validate() {
    use kalypso_bootstrap::engine::events::{ChainLink, Event, EventKind, LinkStatus};
    use kalypso_bootstrap::engine::StepId;
    let dir = TempDir::new().unwrap();
    let statuses = [
        LinkStatus::Waiting,
        LinkStatus::Done,
        LinkStatus::Warning,
        LinkStatus::Left,
        LinkStatus::Failed,
    ];
    let lines: Vec<String> = ChainLink::ALL
        .into_iter()
        .zip(statuses.into_iter().cycle())
        .chain(
            statuses
                .into_iter()
                .map(|status| (ChainLink::Merged, status)),
        )
        .map(|(link, status)| {
            Event::now(EventKind::WorkloadChain {
                step: StepId::FirstWorkload,
                environment: "dev".into(),
                link,
                status,
                message: "#3 merged as 1a2b3c4".into(),
            })
            .to_json_line()
        })
        .collect();
    for line in &lines {
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["event"], "workload_chain");
        assert_eq!(value["step"], "validation.first-workload");
        assert_eq!(value["phase"], "validation");
    }
    let files = line_files(dir.path(), "chain", &lines.join("\n"));
    assert_valid("events.schema.json", &files);
}
