//! The real binary's full-screen wizard in a real terminal (see `pty_support`). `--demo`
//! runs the whole flow on the simulated environment.
//!
//! The demo's latencies make a run take about 35 s; the two full runs take most of the
//! time and run in parallel as tests of one binary.

mod pty_support;

use pty_support::*;

#[test]
fn the_demo_walks_from_welcome_to_summary_and_gives_the_terminal_back() {
    let pane = Pane::start();
    pane.run(&command_line("", "--demo"));

    let welcome = pane.wait_for("welcome", "How do you want to start?", STAGE);
    assert_contains(
        "welcome",
        &welcome,
        &[
            "Welcome",
            "DEMO",
            "Create everything",
            "Bring your own cluster",
        ],
    );
    assert!(
        pane.alternate_screen_on(),
        "the wizard uses the alternate screen"
    );

    // Cluster form: a bad name is refused under its field, a good one names the defaults.
    pane.keys(&["Enter"]);
    let cluster = pane.wait_for("cluster form", "Cluster name", STAGE);
    assert_contains(
        "cluster form",
        &cluster,
        &["kalypso-demo", "Region", "Node count"],
    );
    pane.keys(&["Down", "C-u"]);
    pane.type_text("Bad_Name");
    pane.keys(&["Tab"]);
    let invalid = pane.wait_for("validation error", "must match", STAGE);
    assert_contains("validation error", &invalid, &["\"Bad_Name\""]);
    pane.keys(&["Up", "C-u"]);
    pane.type_text("pty-demo");
    pane.keys(&["Tab"]);
    let fixed = pane.wait_for("name fixed", "pty-demo-rg", STAGE);
    assert!(!fixed.contains("must match"), "the error is gone:\n{fixed}");

    pane.keys(&["NPage"]);
    let repositories = pane.wait_for("repositories form", "pty-demo-control-plane", STAGE);
    assert_contains(
        "repositories form",
        &repositories,
        &["GitHub organization", "pty-demo-gitops", "GitHub token"],
    );
    pane.keys(&["NPage"]);
    pane.wait_for("installation form", "Skip installation", STAGE);
    pane.keys(&["NPage"]);
    pane.wait_for("options form", "Roll back on failure", STAGE);
    pane.keys(&["NPage"]);

    let prerequisites = pane.wait_for("prerequisites", "Prerequisites: PASSED", STAGE);
    assert_contains(
        "prerequisites",
        &prerequisites,
        &[
            "kubectl",
            "helm",
            "Azure sign-in",
            "GitHub sign-in",
            "kalypso-demo",
        ],
    );

    pane.keys(&["Enter"]);
    let plan = pane.wait_for("plan", "Proceed? [y/N]", STAGE);
    assert_contains(
        "plan",
        &plan,
        &["+ AKS cluster", "+ Kalypso Scheduler (Helm)", "pty-demo"],
    );

    pane.keys(&["y"]);
    let dashboard = pane
        .wait_until(STAGE, |screen| {
            screen.contains("Kalypso bootstrap · Running") && screen.contains('↳')
        })
        .unwrap_or_else(|screen| panic!("dashboard with a running step did not appear:\n{screen}"));
    assert_contains(
        "dashboard",
        &dashboard,
        &["Overall", "Steps", "Health checks", "Log"],
    );

    let summary = pane.wait_for("summary", "The Kalypso Scheduler is set up.", RUN);
    assert_contains(
        "summary",
        &summary,
        &[
            "https://github.com/kalypso-demo/pty-demo-control-plane",
            "https://github.com/kalypso-demo/pty-demo-gitops",
            "Kube context   pty-demo",
            "Next steps",
        ],
    );

    pane.keys(&["Enter"]);
    let after = pane.assert_left_cleanly(0);
    assert!(after.contains("DEMO: simulated Azure"), "{after}");
}

#[test]
fn a_failed_demo_run_offers_rollback_and_shows_what_each_removal_did() {
    let pane = Pane::start();
    pane.run(&command_line(
        "KALYPSO_DEMO_FAIL=installation.kalypso ",
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

    let failure = pane.wait_for("rollback question", "Roll back? [y/N]", RUN);
    assert_contains(
        "failure",
        &failure,
        &[
            "exit code 6",
            "Kalypso Scheduler (Helm) (installation.kalypso) failed",
            "Roll back the resources created by this run?",
            "aks_cluster kalypso-demo",
            "repository https://github.com/kalypso-demo/kalypso-demo-control-plane",
            "repository https://github.com/kalypso-demo/kalypso-demo-gitops",
        ],
    );

    pane.keys(&["y"]);
    let rolled_back = pane.wait_for("rollback result", "Rollback succeeded", RUN);
    assert_contains(
        "rollback result",
        &rolled_back,
        &[
            "✓ kalypso_crds (12 CRDs) in context kalypso-demo · deleted",
            "✓ repository https://github.com/kalypso-demo/kalypso-demo-control-plane · deleted",
            "✓ repository https://github.com/kalypso-demo/kalypso-demo-gitops · deleted",
            "✓ aks_cluster kalypso-demo (resource group kalypso-demo-rg)",
            "deletion started",
        ],
    );

    pane.keys(&["Enter"]);
    pane.assert_left_cleanly(6);
}

#[test]
fn missing_values_reach_the_wizard_but_invalid_ones_stop_before_it() {
    let pane = Pane::start();

    // No cluster name anywhere (and no --demo default): the forms will ask for it.
    pane.run(&command_line("", ""));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    pane.keys(&["q"]);
    pane.assert_left_cleanly(7);

    pane.run("clear");
    pane.wait_until(STAGE, |screen| !screen.contains(END_MARKER))
        .unwrap_or_else(|screen| panic!("the screen was not cleared:\n{screen}"));

    // A value that breaks a rule: exit 3 with the rule, the screen never taken over.
    pane.run(&command_line("", "--cluster-name Bad_Name"));
    let refused = pane.assert_left_cleanly(3);
    assert_contains("refused", &refused, &["Bad_Name", "must match"]);
    assert!(
        !refused.contains("How do you want to start?"),
        "the wizard did not start:\n{refused}"
    );
}
