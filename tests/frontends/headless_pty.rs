//! The headless front end's questions on a real terminal (`--no-tui` with stdin a TTY, see
//! tests/support/pty.rs): it asks only when stdin is a terminal. The rollback offered after a
//! failure, `--clean`'s confirmation, "Proceed?", and the hidden GitHub token prompt.
//! Answers are typed like a user would, each followed by Enter.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::pty::*;
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
    // The real run's plan is not a dry run: it says so truthfully, and ends with its count.
    let plan = pane.history();
    assert_contains(
        "plan",
        &plan,
        &[
            "Plan (not applied yet):",
            "Plan: 15 to create, 0 to change, 0 to reuse.",
        ],
    );
    assert!(!plan.contains("Dry run"), "{plan}");
    answer(&pane, "y");

    pane.wait_for_all(
        "rollback question",
        &[
            "Roll back the resources created by this run? [y/N]",
            "This run created:",
            "- Helm release kalypso-scheduler",
            "- AKS cluster kalypso-demo",
            "- repository https://github.com/kalypso-demo/kalypso-demo-control-plane",
            "- repository https://github.com/kalypso-demo/kalypso-demo-gitops",
            "- kube context kalypso-demo",
        ],
        RUN,
    );
    assert_eq!(state_of(&state)["status"], "failed", "nothing removed yet");
    answer(&pane, "y");

    pane.assert_left_cleanly(6);
    let history = pane.history();
    assert_contains(
        "rollback",
        &history,
        &[
            "► Rollback: removing 9 resources created by this run",
            "✔ Rollback: AKS cluster kalypso-demo (resource group kalypso-demo-rg) (",
            // The Helm release whose installation failed was never there to remove.
            "✔ Rollback finished: rolled back: removed 8 resources created by this tool, 1 already gone",
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
    crate::support::demo::demo_command(&home, "ghp_ptyCleanCanary0123456789abcdef")
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
    pane.wait_for_all(
        "clean question",
        &[
            "Remove them? [y/N]",
            "The state file records these resources as created by kalypso-bootstrap:",
            "- AKS cluster kalypso-demo",
            "- resource group kalypso-demo-rg",
        ],
        STAGE,
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
    pane.wait_for("clean question again", "Remove them? [y/N]", STAGE);
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

/// Typed at the hidden prompt; must appear nowhere.
const TYPED_TOKEN: &str = "ghp_TYPEDcanary0123456789abcdefghijKLMNOP";

/// A stand-in `gh` with no stored login (`gh auth token` fails as gh does) that accepts
/// only [`TYPED_TOKEN`], given as `GH_TOKEN`, for `gh api user`.
fn gh_without_login(bin: &Path) {
    let script = format!(
        "#!/bin/sh\n\
         case \"$1\" in\n\
         --version) echo 'gh version 2.103.3 (2026-10-26)';;\n\
         auth) echo 'no oauth token found for github.com' >&2; exit 1;;\n\
         api) if [ \"$GH_TOKEN\" = '{TYPED_TOKEN}' ]; then echo '{{\"login\": \"octocat\", \"id\": 583231}}'; \
         else echo 'HTTP 401: Bad credentials (https://api.github.com/user)' >&2; exit 1; fi;;\n\
         *) exit 1;;\n\
         esac\n"
    );
    let path = bin.join("gh");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_token_typed_at_the_hidden_prompt_is_used_and_shown_nowhere() {
    let pane = Pane::start();
    let bin = pane.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    gh_without_login(&bin);
    let log = pane.root().join("validate.log");
    // Only the stand-in on PATH: no token in the environment, no other tool.
    pane.run(&command_line(
        &format!("PATH={} ", shell_quote(&bin.to_string_lossy())),
        &format!(
            "--validate-only --no-tui --log-file {}",
            shell_quote(&log.to_string_lossy())
        ),
    ));
    pane.wait_for("the token prompt", "GitHub token (input hidden", STAGE);
    pane.type_text(TYPED_TOKEN);
    pane.keys(&["Enter"]);
    // The other tools are missing: the check fails, after using the typed token.
    pane.assert_left_cleanly(2);

    let everything = pane.history();
    assert!(
        !everything.contains(TYPED_TOKEN),
        "the typed token is on the screen:\n{everything}"
    );
    // The table's row (not the prompt, which starts with the same words).
    let row = |check: &str| {
        everything
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<&str>>().join(" "))
            .find(|line| {
                line.strip_prefix(check).is_some_and(|rest| {
                    [" PASS", " FAIL", " WARN"]
                        .iter()
                        .any(|v| rest.starts_with(v))
                })
            })
            .unwrap_or_else(|| panic!("no {check} row in:\n{everything}"))
    };
    assert_eq!(row("GitHub token"), "GitHub token PASS from the prompt");
    assert!(
        row("GitHub sign-in").starts_with("GitHub sign-in PASS")
            && row("GitHub sign-in").contains("octocat"),
        "{everything}"
    );
    let logged = std::fs::read_to_string(&log).expect("the log file");
    assert!(
        logged.contains("from the prompt"),
        "the log has the report:\n{logged}"
    );
    assert!(
        !logged.contains(TYPED_TOKEN),
        "the typed token is in the log:\n{logged}"
    );
}

#[test]
fn answering_no_to_proceed_exits_7_and_creates_nothing() {
    let pane = Pane::start();
    let state = pane.root().join("state.json");
    pane.run(&command_line(
        "GITHUB_TOKEN=ghp_PROCEEDcanary0123456789abcdefghijKLMN KALYPSO_DEMO_LATENCY=zero ",
        &format!(
            "--demo --no-tui --state-file {}",
            shell_quote(&state.to_string_lossy())
        ),
    ));
    pane.wait_for("the plan's question", "Proceed? [y/N]", RUN);
    pane.type_text("n");
    pane.keys(&["Enter"]);
    let screen = pane.assert_left_cleanly(7);
    assert_contains("cancelled", &screen, &["Cancelled: nothing was changed."]);

    // The simulated world holds only what it was seeded with: no resource group, cluster
    // or repository of this run.
    let world = std::fs::read_to_string(pane.root().join("state.json.demo/simulated-world.json"))
        .expect("the demo's world file");
    for created in [
        "kalypso-demo-rg",
        "kalypso-demo-control-plane",
        "kalypso-demo-gitops",
    ] {
        assert!(!world.contains(created), "{created} exists after a no");
    }
    // And the state records nothing created.
    if let Ok(text) = std::fs::read_to_string(&state) {
        let recorded: serde_json::Value = serde_json::from_str(&text).unwrap();
        let resources = recorded["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(resources.is_empty(), "{text}");
    }
}
