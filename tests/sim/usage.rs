//! The simulated tools parse argv as the real ones do and fail on bad argv with the real
//! tools' messages and exit codes.

use std::sync::Arc;

use crate::support::sim::*;
use kalypso_bootstrap::prereq::{self, AuthCheckKind, Interaction, PrereqEnv, Verdict};
use kalypso_bootstrap::sim::SimulatedEnvironment;
use kalypso_bootstrap::tools::{az, gh, helm, kubectl, CommandRunner, RunError};

#[tokio::test]
async fn unknown_flags_get_each_tools_usage_error_and_exit_code() {
    let (_dir, env) = standard();
    let az_out = run(
        &env,
        spec(
            "az",
            &["group", "show", "--name", "rg", "--x", "-o", "json"],
        ),
    )
    .await;
    assert_eq!(az_out.exit_code, Some(2));
    assert!(
        az_out
            .stderr
            .starts_with("ERROR: unrecognized arguments: --x"),
        "{}",
        az_out.stderr
    );

    let kubectl_out = run(&env, spec("kubectl", &["get", "nodes", "--x"])).await;
    assert_eq!(kubectl_out.exit_code, Some(1));
    assert!(
        kubectl_out
            .stderr
            .starts_with("error: unknown flag: --x\nSee 'kubectl get --help' for usage."),
        "{}",
        kubectl_out.stderr
    );

    let gh_out = run(&env, gh(ALICE_TOKEN, &["repo", "view", "acme/x", "--x"])).await;
    assert_eq!(gh_out.exit_code, Some(1));
    assert!(
        gh_out.stderr.starts_with("unknown flag: --x"),
        "{}",
        gh_out.stderr
    );

    let helm_out = run(&env, spec("helm", &["list", "--x"])).await;
    assert_eq!(helm_out.exit_code, Some(1));
    assert_eq!(helm_out.stderr.trim(), "Error: unknown flag: --x");
}

#[tokio::test]
async fn unknown_commands_and_missing_arguments() {
    let (_dir, env) = standard();
    let out = run(&env, spec("az", &["aks", "frobnicate"])).await;
    assert_eq!(out.exit_code, Some(2));
    assert!(out
        .stderr
        .contains("'frobnicate' is misspelled or not recognized by the system."));

    let out = run(&env, spec("az", &["aks", "show", "-n", "c1"])).await;
    assert_eq!(out.exit_code, Some(2));
    assert_eq!(
        out.stderr.trim(),
        "ERROR: the following arguments are required: --resource-group/-g"
    );

    let out = run(&env, spec("az", &["aks", "show", "--name"])).await;
    assert_eq!(out.exit_code, Some(2));
    assert!(
        out.stderr
            .contains("argument --name/-n: expected one argument"),
        "{}",
        out.stderr
    );

    let out = run(&env, spec("kubectl", &["frob"])).await;
    assert_eq!(out.exit_code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "error: unknown command \"frob\" for \"kubectl\""
    );

    let out = run(&env, spec("helm", &["frob"])).await;
    assert_eq!(out.exit_code, Some(1));
    assert!(out
        .stderr
        .starts_with("Error: unknown command \"frob\" for \"helm\""));

    let out = run(&env, gh(ALICE_TOKEN, &["repo", "frob"])).await;
    assert_eq!(out.exit_code, Some(1));
    assert!(
        out.stderr
            .starts_with("unknown command \"frob\" for \"gh repo\""),
        "{}",
        out.stderr
    );

    let out = run(&env, spec("kubectl", &["get", "pods", "-n"])).await;
    assert_eq!(out.exit_code, Some(1));
    assert!(
        out.stderr
            .starts_with("error: flag needs an argument: 'n' in -n"),
        "{}",
        out.stderr
    );

    let out = run(
        &env,
        spec("kubectl", &["delete", "namespace", "x", "--wait=maybe"]),
    )
    .await;
    assert_eq!(out.exit_code, Some(1));
    assert!(
        out.stderr
            .contains("invalid argument \"maybe\" for \"--wait\" flag"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn flags_parse_in_any_order_and_spelling() {
    let (_dir, env) = standard();
    ok(
        &env,
        spec(
            "az",
            &[
                "group",
                "create",
                "-l",
                "westeurope",
                "--name=rg-a",
                "--output",
                "json",
            ],
        ),
    )
    .await;
    let shown = ok_json(
        &env,
        spec(
            "az",
            &[
                "group",
                "show",
                "-o",
                "json",
                "-g",
                "rg-a",
                "--subscription",
                SUBSCRIPTION,
            ],
        ),
    )
    .await;
    assert_eq!(shown["name"], "rg-a");
    assert_eq!(shown["location"], "westeurope");

    let kubeconfig = cluster_with_context(&env, "rg-b", "c1", "ctx1").await;
    // Global flags before the verb, flags with `=`, glued shorthands.
    let a = ok_json(
        &env,
        spec(
            "kubectl",
            &[
                "--context=ctx1",
                &format!("--kubeconfig={kubeconfig}"),
                "get",
                "pods",
                "-nkube-system",
                "-ojson",
            ],
        ),
    )
    .await;
    let b = ok_json(
        &env,
        spec(
            "kubectl",
            &[
                "get",
                "pods",
                "--namespace",
                "kube-system",
                "--context",
                "ctx1",
                "--kubeconfig",
                &kubeconfig,
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(a, b);
    assert!(!a["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn every_version_probe_parses_with_the_real_adapters_parsers() {
    let (_dir, env) = standard();
    let runner: Arc<dyn CommandRunner> = Arc::new(env.clone());
    assert!(az::Az::new(runner.clone(), None).version().await.is_ok());
    assert!(gh::Gh::new(runner.clone()).version().await.is_ok());
    assert!(kubectl::Kubectl::new(runner.clone())
        .version()
        .await
        .is_ok());
    assert!(helm::Helm::new(runner.clone()).version().await.is_ok());
    let version = kubectl::Kubectl::new(runner.clone())
        .version()
        .await
        .unwrap();
    assert_eq!(version.major, 1);
    // jq and bash are not simulated: like a machine without them.
    let err = env.run(spec("jq", &["--version"])).await.unwrap_err();
    assert!(
        matches!(err, RunError::NotFound { ref program } if program == "jq"),
        "{err}"
    );
}

#[tokio::test]
async fn the_prerequisite_check_passes_against_the_demo_world() {
    let dir = tempfile::tempdir().unwrap();
    let env = SimulatedEnvironment::demo(dir.path().join("demo")).unwrap();
    env.set_latency(kalypso_bootstrap::sim::Latency::zero());
    let runner: Arc<dyn CommandRunner> = Arc::new(env.clone());
    let report = prereq::check(runner, &PrereqEnv::default(), &Interaction::NonInteractive).await;
    for kind in [AuthCheckKind::AzureLogin, AuthCheckKind::AzureRole] {
        let row = report
            .auth_check(kind)
            .unwrap_or_else(|| panic!("{kind:?} row"));
        assert_eq!(row.verdict, Verdict::Pass, "{}", report.render_text());
    }
    let github = report
        .github
        .as_ref()
        .expect("GitHub identity from `gh auth token` + `gh api user`");
    assert_eq!(github.login, "kalypso-demo");
    assert!(report.tool("git").unwrap().found, "git runs for real");
    // Every call that reached a simulated tool was accepted (no usage error).
    for call in env.calls() {
        assert!(
            !matches!(call.outcome, kalypso_bootstrap::sim::CallOutcome::Exited(2)),
            "{}",
            call.command_line()
        );
    }
}

#[tokio::test]
async fn a_secret_in_argv_is_refused_like_the_process_runner_does() {
    let (_dir, env) = standard();
    let canary = "sim-usage-canary-7f3e1d";
    kalypso_bootstrap::secrets::register(canary);
    let err = env
        .run(spec(
            "gh",
            &["secret", "set", "X", "--repo", "acme/r", "--body", canary],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::SecretInArgv { .. }), "{err}");
    assert_eq!(
        env.calls().last().unwrap().outcome,
        kalypso_bootstrap::sim::CallOutcome::Refused
    );
}
