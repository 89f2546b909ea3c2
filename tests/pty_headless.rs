//! The headless front end's questions in a real terminal (see `pty_support`): it asks only
//! when stdin is a terminal, so these run the binary in tmux.

mod pty_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pty_support::*;

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

    let everything = pane.scrollback();
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
