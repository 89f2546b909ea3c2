//! The real binary's full-screen wizard in a real terminal (see tests/support/pty.rs): `--demo`
//! runs the whole flow on the simulated environment. The two full runs take most of the
//! time; they run in parallel as tests of one binary.

use crate::support::pty::*;

/// Every command quick, and AKS provisioning and deletion slow enough to be seen running.
const SHORT_DEMO_LATENCY: &str =
    "KALYPSO_DEMO_LATENCY=zero,default=50ms,aks-provisioning=3s,aks-deletion=1s ";

#[test]
fn the_demo_walks_from_welcome_to_summary_and_gives_the_terminal_back() {
    let pane = Pane::start();
    // The demo's own proportions, shortened: provisioning still takes long enough to watch
    // a running step on the dashboard, and the test does not wait the 30 s a person would.
    pane.run(&command_line(SHORT_DEMO_LATENCY, "--demo"));

    pane.wait_for_all(
        "welcome",
        &[
            "How do you want to start?",
            "Welcome",
            "DEMO",
            "Create everything",
            "Bring your own cluster",
        ],
        STAGE,
    );
    assert!(
        pane.alternate_screen_on(),
        "the wizard uses the alternate screen"
    );

    // Cluster form: a bad name is refused under its field, a good one names the defaults.
    pane.keys(&["Enter"]);
    pane.wait_for_all(
        "cluster form",
        &["Cluster name", "kalypso-demo", "Region", "Node count"],
        STAGE,
    );
    pane.keys(&["Down", "C-u"]);
    pane.type_text("Bad_Name");
    pane.keys(&["Tab"]);
    pane.wait_for_all("validation error", &["must match", "\"Bad_Name\""], STAGE);
    pane.keys(&["Up", "C-u"]);
    pane.type_text("pty-demo");
    pane.keys(&["Tab"]);
    // The default resource group follows the name, and the error is gone.
    pane.wait_until(STAGE, |screen| {
        screen.contains("pty-demo-rg") && !screen.contains("must match")
    })
    .unwrap_or_else(|screen| {
        panic!("name fixed: the error stayed or the default did not follow:\n{screen}")
    });

    pane.keys(&["NPage"]);
    pane.wait_for_all(
        "repositories form",
        &[
            "pty-demo-control-plane",
            "GitHub organization",
            "pty-demo-gitops",
            "GitHub token",
        ],
        STAGE,
    );
    pane.keys(&["NPage"]);
    pane.wait_for("installation form", "Skip installation", STAGE);
    pane.keys(&["NPage"]);
    pane.wait_for("options form", "Roll back on failure", STAGE);
    pane.keys(&["NPage"]);

    pane.wait_for_all(
        "prerequisites",
        &[
            "Prerequisites: PASSED",
            "kubectl",
            "helm",
            "Azure sign-in",
            "GitHub sign-in",
            "kalypso-demo",
        ],
        STAGE,
    );

    pane.keys(&["Enter"]);
    pane.wait_for_all(
        "plan",
        &[
            "Proceed? [y/N]",
            "+ AKS cluster",
            "+ Helm release kalypso-scheduler",
            "GitHub owner: kalypso-demo",
            "Plan: 15 to create, 0 to change, 0 to reuse.",
            "pty-demo",
        ],
        STAGE,
    );

    pane.keys(&["y"]);
    pane.wait_until(STAGE, |screen| {
        screen.contains("Kalypso bootstrap · Running")
            && screen.contains('↳')
            && ["Overall", "Steps", "Health checks", "Log"]
                .iter()
                .all(|panel| screen.contains(panel))
    })
    .unwrap_or_else(|screen| {
        panic!("the dashboard with its panels and a running step did not appear:\n{screen}")
    });

    pane.wait_for_all(
        "summary",
        &[
            "The Kalypso Scheduler is set up.",
            "https://github.com/kalypso-demo/pty-demo-control-plane",
            "https://github.com/kalypso-demo/pty-demo-gitops",
            "Kube context   pty-demo",
            "Next steps",
        ],
        RUN,
    );

    pane.keys(&["Enter"]);
    let after = pane.assert_left_cleanly(0);
    assert!(after.contains("DEMO: simulated Azure"), "{after}");
    // What the run did stays on the normal screen once the wizard has left it.
    for kept in [
        "Bootstrap (DEMO) completed",
        "Control plane:",
        "https://github.com/kalypso-demo/pty-demo-control-plane",
        "GitOps:",
        "Next:",
        "Report:",
        "Log file:",
    ] {
        assert!(after.contains(kept), "{kept}: {after}");
    }
    // A plain --demo's world ends with it: no later run uses its state file's path.
    assert!(!after.contains("State file:"), "{after}");
}

#[test]
fn a_failed_demo_run_offers_rollback_and_shows_what_each_removal_did() {
    let pane = Pane::start();
    pane.run(&command_line(
        &format!("{SHORT_DEMO_LATENCY}KALYPSO_DEMO_FAIL=installation.kalypso "),
        "--demo",
    ));

    pane.wait_for("welcome", "How do you want to start?", STAGE);
    pane.keys(&["Enter"]);
    pane.wait_for("cluster form", "Cluster name", STAGE);
    // Through the four groups with the defaults.
    pane.keys(&["NPage", "NPage", "NPage", "NPage"]);
    pane.wait_for("prerequisites", "Prerequisites: PASSED", STAGE);
    pane.keys(&["Enter"]);
    pane.wait_for("plan", "Proceed? [y/N]", STAGE);
    pane.keys(&["y"]);

    pane.wait_for_all(
        "rollback question",
        &[
            "Roll back? [y/N]",
            "exit code 6",
            "Kalypso Scheduler (Helm) (installation.kalypso) failed",
            "Roll back the resources created by this run?",
            "AKS cluster kalypso-demo",
            "repository https://github.com/kalypso-demo/kalypso-demo-control-plane",
            "repository https://github.com/kalypso-demo/kalypso-demo-gitops",
        ],
        RUN,
    );

    pane.keys(&["y"]);
    pane.wait_for_all(
        "rollback result",
        &[
            "Rolled back: removed",
            "✓ Kalypso CRDs (12 CRDs) in context kalypso-demo · deleted",
            "✓ repository https://github.com/kalypso-demo/kalypso-demo-control-plane · deleted",
            "✓ repository https://github.com/kalypso-demo/kalypso-demo-gitops · deleted",
            "✓ AKS cluster kalypso-demo (resource group kalypso-demo-rg)",
            "deletion started",
        ],
        RUN,
    );

    pane.keys(&["Enter"]);
    pane.assert_left_cleanly(6);
    let after = pane.history();
    // The failure stays on the normal screen once the wizard has left it: the step, the
    // error, the hint, what the rollback did, the report and what to do next.
    for kept in [
        "Failed step:",
        "Kalypso Scheduler (Helm) (installation.kalypso)",
        "Error:",
        "Hint:",
        "--explain",
        "Rollback:",
        "Report:",
        "Next:",
    ] {
        assert!(after.contains(kept), "{kept}: {after}");
    }
}

#[test]
fn missing_values_reach_the_wizard_but_invalid_ones_stop_before_it() {
    let pane = Pane::start();

    // No cluster name anywhere (and no --demo default): the forms will ask for it.
    pane.run(&command_line("", ""));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    pane.keys(&["q"]);
    pane.assert_left_cleanly(7);

    pane.clear();

    // A value that breaks a rule: exit 3 with the rule, the screen never taken over.
    pane.run(&command_line("", "--cluster-name Bad_Name"));
    let refused = pane.assert_left_cleanly(3);
    assert_contains("refused", &refused, &["Bad_Name", "must match"]);
    assert!(
        !refused.contains("How do you want to start?"),
        "the wizard did not start:\n{refused}"
    );
}

#[test]
fn a_panic_on_the_wizard_thread_gives_the_terminal_back_with_a_masked_message() {
    let pane = Pane::start();
    let canary = "ghp_PtyPanicCanary0123456789abcdefABCDEF";
    pane.run(&command_line(
        &format!("GITHUB_TOKEN={canary} KALYPSO_DEMO_PANIC='carrying {canary}' "),
        "--demo --mouse",
    ));
    // The Rust runtime's exit code for a panic that ends the program.
    let after = pane.assert_left_cleanly(101);
    assert_contains(
        "after the panic",
        &after,
        &[
            "kalypso-bootstrap crashed",
            "KALYPSO_DEMO_PANIC: a deliberate panic on the wizard's thread (carrying ***)",
        ],
    );
    // What the program printed: everything after the typed command line.
    let (_, printed) = after
        .split_once("END-$((6*7))")
        .unwrap_or_else(|| panic!("no typed command line; the screen:\n{after}"));
    assert!(!printed.contains(canary), "the token is masked:\n{after}");
    assert!(!pane.mouse_captured(), "mouse capture was left on");
}

#[test]
fn the_mouse_is_captured_only_with_the_mouse_flag_and_released_at_the_end() {
    let pane = Pane::start();
    pane.run(&command_line("", "--demo"));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    assert!(
        !pane.mouse_captured(),
        "no --mouse, yet the mouse is captured"
    );
    pane.keys(&["q"]);
    pane.assert_left_cleanly(7);
    pane.clear();

    pane.run(&command_line("", "--demo --mouse"));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    assert!(
        pane.mouse_captured(),
        "--mouse, yet the mouse is not captured"
    );
    pane.keys(&["q"]);
    pane.assert_left_cleanly(7);
    assert!(
        !pane.mouse_captured(),
        "mouse capture was left on after the exit"
    );
}

#[test]
fn the_demo_brings_its_own_simulated_cluster_to_pick() {
    let pane = Pane::start();
    pane.run(&command_line("", "--demo"));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    // "Bring your own cluster": the context comes from the simulated kubeconfig.
    pane.keys(&["2", "Enter"]);
    pane.wait_for("cluster form", "Kube context", STAGE);
    pane.keys(&["Down", "Down", "Right"]);
    let picked = pane.wait_for("context picked", "◂ kind-kalypso-demo ▸", STAGE);
    assert!(!picked.contains("no contexts in"), "{picked}");
    pane.keys(&["NPage", "NPage", "NPage", "NPage"]);
    pane.wait_for("prerequisites", "Prerequisites: PASSED", STAGE);
    pane.keys(&["Enter"]);
    let plan = pane.wait_for_all("plan", &["Proceed? [y/N]", "kind-kalypso-demo"], STAGE);
    assert!(
        !plan.contains("+ AKS cluster"),
        "no cluster is created:\n{plan}"
    );
    // Back to the forms, whose picked context `q` would throw away: asked first.
    pane.keys(&["n", "q"]);
    pane.wait_for("asked before losing the answers", "Quit? [y/N]", STAGE);
    pane.keys(&["y"]);
    pane.assert_left_cleanly(7);
}

#[test]
fn a_panic_in_a_step_fails_that_step_and_the_wizard_keeps_the_screen() {
    let pane = Pane::start();
    pane.run(&command_line(
        "KALYPSO_DEMO_PANIC=step KALYPSO_DEMO_LATENCY=zero ",
        "--demo --skip-confirmation",
    ));
    let failure = pane.wait_for_all(
        "rollback question",
        &[
            "Roll back? [y/N]",
            "Kalypso Scheduler (Helm) (installation.kalypso) failed",
            "internal error (the step panicked)",
        ],
        RUN,
    );
    assert!(
        pane.alternate_screen_on(),
        "the step's panic gave the terminal back under the wizard:\n{failure}"
    );
    assert!(!failure.contains("crashed"), "{failure}");
    pane.keys(&["n"]);
    pane.wait_for("declined", "Enter/q exit", STAGE);
    pane.keys(&["Enter"]);
    let after = pane.assert_left_cleanly(6);
    assert!(
        !after.contains("crashed"),
        "the program did not crash:\n{after}"
    );
}

/// The wizard under `--non-interactive`: a failure shows no "Roll back?" and waits
/// for nothing; everything is kept, and the command the wizard leaves on the terminal, typed
/// exactly as printed, asks on the terminal and removes it all on "y".
#[test]
fn non_interactive_never_asks_to_roll_back_and_the_printed_clean_command_works() {
    let pane = Pane::start();
    let state = pane.home().join("state.json");
    pane.run(&command_line(
        "KALYPSO_DEMO_LATENCY=zero KALYPSO_DEMO_FAIL=installation.kalypso ",
        &format!(
            "--demo --non-interactive --state-file {}",
            shell_quote(&state.to_string_lossy())
        ),
    ));
    let failure = pane.wait_for_all(
        "failure, kept",
        &[
            "Kalypso Scheduler (Helm) (installation.kalypso) failed",
            "Nothing was rolled back (--non-interactive without --auto-rollback)",
        ],
        RUN,
    );
    assert!(!failure.contains("Roll back?"), "{failure}");
    pane.keys(&["Enter"]);
    pane.assert_left_cleanly(6);
    // The summary left on the screen ends with what to do next: resume, or this command.
    let after = pane.history();
    let removal = "or remove what this run created with: ";
    let printed = after
        .lines()
        .find_map(|line| line.split_once(removal).map(|(_, command)| command))
        .unwrap_or_else(|| panic!("no clean command after the wizard:\n{after}"))
        .trim()
        .to_string();
    assert_eq!(
        printed,
        format!(
            "kalypso-bootstrap --clean --demo --state-file {}",
            state.display()
        )
    );
    let kept = std::fs::read_to_string(&state).unwrap();
    assert!(kept.contains("\"aks_cluster\""), "{kept}");

    // The printed command, exactly, with the binary on PATH as an installed one would be.
    let binary_dir = std::path::Path::new(BINARY).parent().unwrap();
    pane.clear();
    pane.run(&format!(
        "PATH={}:\"$PATH\"; export PATH; KALYPSO_DEMO_LATENCY=zero; export KALYPSO_DEMO_LATENCY",
        shell_quote(&binary_dir.to_string_lossy())
    ));
    pane.run(&format!(
        "{printed}; echo \"EXIT=$?\"; stty -a; echo END-$((6*7))"
    ));
    pane.wait_for_all(
        "clean question",
        &["Remove them? [y/N]", "- AKS cluster kalypso-demo"],
        STAGE,
    );
    pane.type_text("y");
    pane.keys(&["Enter"]);
    pane.assert_left_cleanly(0);
    let cleaned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(cleaned["status"], "rolled_back");
}

/// Fast typing and a paste of 6,000 characters into a form field (issue 12, item 8): every
/// character arrives in the field (the count under the field after leaving it), the key
/// after them takes effect (the focus moves on, so the error appears), a bracketed paste
/// with a line break in it is one edit that does not press Enter, and bracketed paste is
/// switched off again at the end (a paste into the shell then has no markers).
#[test]
fn six_thousand_typed_or_pasted_characters_all_arrive_and_the_next_key_acts() {
    const LONG: usize = 6000;
    let pane = Pane::start();
    pane.run(&command_line("", "--demo"));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    pane.keys(&["Enter"]);
    pane.wait_for_all("cluster form", &["Cluster name", "kalypso-demo"], STAGE);

    // Typed: the characters as keys, as fast as tmux sends them.
    pane.keys(&["Down", "C-u"]);
    pane.type_text(&"a".repeat(LONG));
    pane.keys(&["Tab"]);
    pane.wait_for_all(
        "typed text, then Tab",
        &["must match", &format!("({LONG} characters)")],
        STAGE,
    );

    // Pasted (bracketed): one event; its line breaks are not Enter.
    pane.keys(&["Up", "C-u"]);
    let half = "b".repeat(LONG / 2 - 1);
    let buffer = pane.root().join("paste.txt");
    std::fs::write(&buffer, format!("{half}\n{half}\n")).unwrap();
    pane.tmux(&["load-buffer", "-b", "long", &buffer.to_string_lossy()]);
    pane.tmux(&["paste-buffer", "-p", "-b", "long", "-t", SESSION]);
    pane.keys(&["Tab"]);
    // The trailing line break is dropped, the inner one is a space: LONG - 1 characters.
    pane.wait_for_all(
        "pasted text, then Tab",
        &["must match", &format!("({} characters)", LONG - 1)],
        STAGE,
    );

    // Ctrl+C asks before throwing the typed values away; `y` leaves.
    pane.keys(&["C-c", "y"]);
    pane.assert_left_cleanly(7);
    pane.clear();
    std::fs::write(&buffer, "echo PASTED-$((6*7))").unwrap();
    pane.tmux(&["load-buffer", "-b", "shell", &buffer.to_string_lossy()]);
    pane.tmux(&["paste-buffer", "-p", "-b", "shell", "-t", SESSION]);
    pane.keys(&["Enter"]);
    let screen = pane.wait_for("a paste into the shell", "PASTED-42", STAGE);
    assert!(
        !screen.contains("200~"),
        "bracketed paste was left on after the exit:\n{screen}"
    );
}

/// The wizard, given the state file of another installation (a completed demo run for
/// cluster `alpha`, then the wizard for `beta`), shows why it stops, changes nothing and
/// exits 3 (issue 12: a state file belongs to exactly one installation).
#[test]
fn the_wizard_refuses_the_state_file_of_another_installation_and_changes_nothing() {
    let pane = Pane::start();
    let state = pane.root().join("state.json");
    let first = std::process::Command::new(BINARY)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", pane.home())
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .args([
            "--demo",
            "--no-tui",
            "--non-interactive",
            "--cluster-name",
            "alpha",
        ])
        .arg("--state-file")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = std::fs::read(&state).unwrap();

    pane.run(&command_line(
        "KALYPSO_DEMO_LATENCY=zero ",
        &format!(
            "--demo --cluster-name beta --state-file {}",
            shell_quote(&state.to_string_lossy())
        ),
    ));
    // The forms are filled in by the flags; the state is met when the plan is made.
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    pane.keys(&["Enter"]);
    pane.wait_for_all("cluster form", &["Cluster name", "beta"], STAGE);
    for _ in 0..4 {
        pane.keys(&["NPage"]);
    }
    pane.wait_for("prerequisites", "Prerequisites: PASSED", STAGE);
    pane.keys(&["Enter"]);
    pane.wait_until(STAGE, |screen| {
        screen.contains("alpha") && screen.contains("beta") && !screen.contains("Proceed?")
    })
    .unwrap_or_else(|screen| panic!("no refusal naming both installations:\n{screen}"));
    pane.keys(&["q"]);
    let after = pane.assert_left_cleanly(3);
    assert!(
        after.contains("--state-file"),
        "the way out is named: {after}"
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "the state is unchanged"
    );
}

/// The wizard draws at the size the terminal has now, after it grows and after it shrinks:
/// the header's right-aligned DEMO ends two columns before the edge (its padding), the welcome panel's bottom
/// border spans the width above the key hints, and those are on the last line.
#[test]
fn the_wizard_redraws_at_the_terminals_new_size_after_a_resize() {
    let pane = Pane::exec(100, 30, &[], &["--demo"]);
    let fills = |width: usize, height: usize| {
        move |screen: &str| {
            let lines: Vec<&str> = screen.lines().collect();
            let header = lines.first().map_or("", |line| line.trim_end());
            let bottom = lines.get(height - 2).map_or("", |line| line.trim_end());
            let hints = lines.get(height - 1).map_or("", |line| line.trim());
            lines.len() == height
                && hints.starts_with("↑/↓ choose")
                && header.ends_with("DEMO")
                && header.chars().count() == width - 2
                && bottom.starts_with('╰')
                && bottom.chars().count() == width
        }
    };
    pane.wait_for("the welcome screen", "How do you want to start?", STAGE);
    pane.wait_until(STAGE, fills(100, 30))
        .unwrap_or_else(|screen| panic!("the first frame does not fill 100x30:\n{screen}"));
    for (width, height) in [(140, 40), (90, 26)] {
        pane.resize(width, height);
        pane.wait_until(STAGE, fills(width.into(), height.into()))
            .unwrap_or_else(|screen| {
                panic!("after a resize to {width}x{height}, the wizard does not fill it:\n{screen}")
            });
    }
    // Still answering at the last size.
    pane.keys(&["Enter"]);
    pane.wait_for("the first form", "Cluster name", STAGE);
}
