//! The headless front end's questions on a real terminal (`--no-tui` with stdin a TTY, see
//! tests/pty_support): the rollback offered after a failure, and `--clean`'s confirmation.
//! Answers are typed like a user would, each followed by Enter.

mod demo_support;
mod pty_support;

use std::path::Path;

use pty_support::*;
use serde_json::Value;

fn state_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn answer(pane: &Pane, text: &str) {
    pane.type_text(text);
    pane.keys(&["Enter"]);
}

/// The resources the state records as created by us and not yet deleted.
fn left_over(state: &Value) -> Vec<String> {
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ownership"] == "created_by_us" && r["status"] != "deleted")
        .map(|r| r["resource"]["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_failed_headless_run_asks_to_roll_back_listing_the_resources_and_rolls_back_on_yes() {
    let pane = Pane::start();
    let state = pane.home().join("state.json");
    pane.run(&command_line(
        "KALYPSO_DEMO_LATENCY=zero KALYPSO_DEMO_FAIL=installation.kalypso ",
        &format!(
            "--demo --no-tui --state-file {}",
            shell_quote(&state.to_string_lossy())
        ),
    ));
    pane.wait_for("plan", "Proceed? [y/N]", STAGE);
    answer(&pane, "y");

    let question = pane.wait_for(
        "rollback question",
        "Roll back the resources created by this run? [y/N]",
        RUN,
    );
    assert_contains(
        "rollback question",
        &question,
        &[
            "This run created:",
            "- helm_release kalypso-scheduler",
            "- aks_cluster kalypso-demo",
            "- repository https://github.com/kalypso-demo/kalypso-demo-control-plane",
            "- repository https://github.com/kalypso-demo/kalypso-demo-gitops",
            "- kube_context kalypso-demo",
        ],
    );
    assert_eq!(state_of(&state)["status"], "failed", "nothing removed yet");
    answer(&pane, "y");

    pane.assert_left_cleanly(6);
    let history = pane.history();
    assert_contains(
        "rollback",
        &history,
        &[
            "Rollback started: removing 9 resources created by this run",
            "✓ Rollback: aks_cluster kalypso-demo (resource group kalypso-demo-rg) removed",
            "✓ Rollback finished: rolled back: removed 9 resource(s)",
        ],
    );
    let recorded = state_of(&state);
    assert_eq!(recorded["status"], "rolled_back");
    assert!(left_over(&recorded).is_empty(), "{}", recorded["resources"]);
}

#[test]
fn clean_asks_first_removes_nothing_on_no_and_everything_on_yes() {
    let pane = Pane::start();
    let home = pane.home();
    let state = home.join("state.json");
    // A failed run left its resources in place (non-interactive, no --auto-rollback).
    demo_support::demo_command(&home, "ghp_ptyCleanCanary0123456789abcdef")
        .env("KALYPSO_DEMO_FAIL", "installation.kalypso")
        .arg("--state-file")
        .arg(&state)
        .assert()
        .code(6);
    let before = left_over(&state_of(&state));
    assert!(before.contains(&"aks_cluster".to_string()), "{before:?}");
    let clean = command_line(
        "KALYPSO_DEMO_LATENCY=zero ",
        &format!(
            "--demo --no-tui --clean --state-file {}",
            shell_quote(&state.to_string_lossy())
        ),
    );

    pane.run(&clean);
    let question = pane.wait_for("clean question", "Remove them? [y/N]", STAGE);
    assert_contains(
        "clean question",
        &question,
        &[
            "The state file records these resources as created by kalypso-bootstrap:",
            "- aks_cluster kalypso-demo",
            "- resource_group kalypso-demo-rg",
        ],
    );
    answer(&pane, "n");
    let declined = pane.assert_left_cleanly(7);
    assert!(
        declined.contains("Cancelled: nothing was removed."),
        "{declined}"
    );
    let after_no = state_of(&state);
    assert_eq!(after_no["status"], "failed");
    assert_eq!(left_over(&after_no), before, "nothing removed on no");

    pane.clear();
    pane.run(&clean);
    pane.wait_for(
        "clean question again",
        "Remove them? [y/N]",
        STAGE,
    );
    answer(&pane, "y");
    pane.assert_left_cleanly(0);
    assert!(pane.history().contains("Rollback finished"));
    let after_yes = state_of(&state);
    assert_eq!(after_yes["status"], "rolled_back");
    assert!(
        left_over(&after_yes).is_empty(),
        "{}",
        after_yes["resources"]
    );
}
