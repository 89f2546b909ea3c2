//! Failures end up in the state file's `errors[]` (issue 2 §5), each once, recorded by the
//! code that knows about them (never from log lines; issue 13 §4), on the headless front end
//! of the real binary.

use std::path::Path;

use crate::support::demo::demo_command;
use serde_json::Value;
use tempfile::TempDir;

const CANARY: &str = "ghp_STATEerrors0123456789abcdefghijKLMNO";

/// Take the `delete_repo` scope from every token of the saved simulated world: deleting a
/// repository then fails as it does on GitHub.
fn revoke_delete_repo(world_file: &Path) {
    fn strip(value: &mut Value) -> usize {
        match value {
            Value::Object(map) => map
                .iter_mut()
                .map(|(key, child)| match (key.as_str(), child) {
                    ("scopes", Value::Array(scopes)) => {
                        let before = scopes.len();
                        scopes.retain(|s| s != "delete_repo");
                        before - scopes.len()
                    }
                    (_, child) => strip(child),
                })
                .sum(),
            Value::Array(items) => items.iter_mut().map(strip).sum(),
            _ => 0,
        }
    }
    let mut world: Value =
        serde_json::from_str(&std::fs::read_to_string(world_file).unwrap()).unwrap();
    assert!(
        strip(&mut world) > 0,
        "the world has a token with delete_repo"
    );
    std::fs::write(world_file, serde_json::to_string(&world).unwrap()).unwrap();
}

#[test]
fn a_logged_rollback_failure_is_recorded_in_the_state_errors_once() {
    let home = TempDir::new().unwrap();
    let state_file = home.path().join("state.json");
    // A dry run creates the simulated world beside the state file and changes nothing.
    demo_command(home.path(), CANARY)
        .arg("--dry-run")
        .arg("--state-file")
        .arg(&state_file)
        .assert()
        .code(0);
    revoke_delete_repo(&home.path().join("state.json.demo/simulated-world.json"));

    demo_command(home.path(), CANARY)
        .env("KALYPSO_DEMO_FAIL", "installation.kalypso")
        .arg("--auto-rollback")
        .arg("--state-file")
        .arg(&state_file)
        .assert()
        .code(6);

    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let errors: Vec<&str> = state["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .map(|e| e.as_str().expect("a message"))
        .collect();
    // The engine records the step's failure and the rollback's leftovers itself ...
    assert_eq!(
        errors
            .iter()
            .filter(|e| e.starts_with("installation.kalypso: "))
            .count(),
        1,
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("rollback left 2 resources in place")),
        "{errors:#?}"
    );
    // ... and each failed removal, in the words of its ERROR log line.
    for repo in ["kalypso-demo-control-plane", "kalypso-demo-gitops"] {
        let logged =
            format!("rollback of repository https://github.com/kalypso-demo/{repo} failed");
        assert_eq!(
            errors.iter().filter(|e| e.starts_with(&logged)).count(),
            1,
            "{logged} missing from {errors:#?}"
        );
    }
    // Log lines never reach the state: no step or run failure is repeated from them.
    assert!(
        !errors
            .iter()
            .any(|e| e.starts_with("step installation.kalypso failed")
                || e.starts_with("run failed")),
        "{errors:#?}"
    );
    assert!(!errors.iter().any(|e| e.contains(CANARY)));
}
