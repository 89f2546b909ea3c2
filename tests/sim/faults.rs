//! Fault injection: rules fire on exactly the calls they name, with the real tools' error
//! text, and leave the state untouched.

use std::time::Duration;

use tokio::time::Instant;

use crate::support::sim::*;
use kalypso_bootstrap::sim::{CallOutcome, Fault, FaultKind};
use kalypso_bootstrap::tools::{CancellationToken, CommandRunner, RunControl, RunError};

#[tokio::test]
async fn a_rule_fires_on_the_nth_matching_call_only() {
    let (_dir, env) = standard();
    let rule = env.inject(Fault::new(FaultKind::NotFound, "az group show").nth(2));
    ok(
        &env,
        spec("az", &["group", "create", "-n", "rg", "-l", "eastus"]),
    )
    .await;
    let show = || spec("az", &["group", "show", "--name", "rg", "-o", "json"]);
    ok(&env, show()).await;
    // Calls the rule does not name do not count.
    ok(&env, spec("az", &["account", "show", "-o", "json"])).await;
    let second = run(&env, show()).await;
    assert_eq!(second.exit_code, Some(3));
    assert!(second.stderr.contains("(ResourceGroupNotFound)"));
    ok(&env, show()).await;
    assert_eq!(env.fault_fired(rule), 1);
    assert_eq!(env.fault_matched(rule), 3);
}

#[tokio::test]
async fn first_n_models_a_transient_failure_and_with_arg_narrows_the_rule() {
    let (_dir, env) = standard();
    let reset = 1_900_000_000u64;
    env.inject(
        Fault::new(
            FaultKind::RateLimited {
                status: 403,
                reset_epoch: reset,
            },
            "gh api user",
        )
        .first(2),
    );
    for _ in 0..2 {
        let limited = run(&env, gh(ALICE_TOKEN, &["api", "user"])).await;
        assert_eq!(limited.exit_code, Some(1));
        assert!(
            limited
                .stderr
                .starts_with("HTTP 403: API rate limit exceeded for user ID 1."),
            "{}",
            limited.stderr
        );
        assert!(limited
            .stderr
            .contains(&format!("X-RateLimit-Reset: {reset}")));
    }
    ok(&env, gh(ALICE_TOKEN, &["api", "user"])).await;

    env.inject(
        Fault::new(
            FaultKind::RateLimited {
                status: 429,
                reset_epoch: reset,
            },
            "gh api",
        )
        .with_arg("user/memberships/orgs/acme"),
    );
    let other = ok_json(&env, gh(ALICE_TOKEN, &["api", "user"])).await;
    assert_eq!(other["login"], "alice");
    let limited = run(
        &env,
        gh(ALICE_TOKEN, &["api", "user/memberships/orgs/acme"]),
    )
    .await;
    assert!(
        limited.stderr.starts_with("HTTP 429: Too Many Requests"),
        "{}",
        limited.stderr
    );
}

#[tokio::test]
async fn quota_exceeded_on_aks_create_changes_nothing() {
    let (_dir, env) = standard();
    ok(
        &env,
        spec("az", &["group", "create", "-n", "rg", "-l", "eastus"]),
    )
    .await;
    env.inject(Fault::new(FaultKind::QuotaExceeded, "az aks create"));
    let before = env.snapshot();
    let out = run(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                "rg",
                "-n",
                "c1",
                "--node-count",
                "3",
                "--node-vm-size",
                "Standard_DS2_v2",
                "--no-ssh-key",
                "--no-wait",
            ],
        ),
    )
    .await;
    assert_eq!(out.exit_code, Some(1));
    assert!(out.stderr.starts_with("ERROR: (QuotaExceeded) Operation could not be completed as it results in exceeding approved standardDSv2Family Cores quota."), "{}", out.stderr);
    assert!(
        out.stderr.contains("Location: eastus") && out.stderr.contains("Additional Required: 6")
    );
    assert_same_state(&before, &env.snapshot());
}

#[tokio::test]
async fn auth_expired_forbidden_and_already_exists_read_like_the_tools() {
    let (_dir, env) = standard();
    env.inject(Fault::new(FaultKind::AuthExpired, "az account show").nth(1));
    let expired = run(&env, spec("az", &["account", "show", "-o", "json"])).await;
    assert_eq!(expired.exit_code, Some(1));
    assert!(expired
        .stderr
        .contains("AADSTS700082: The refresh token has expired"));
    assert!(expired.stderr.contains("Please run 'az login'"));
    // The adapter recognises it as a sign-in problem.
    let runner: std::sync::Arc<dyn CommandRunner> = std::sync::Arc::new(env.clone());
    env.inject(Fault::new(FaultKind::AuthExpired, "az account show"));
    let err = kalypso_bootstrap::tools::az::Az::new(runner, None)
        .account_show()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            kalypso_bootstrap::tools::ToolError::NotAuthenticated { .. }
        ),
        "{err}"
    );

    env.inject(Fault::new(FaultKind::Forbidden, "gh repo delete"));
    ok(
        &env,
        gh(ALICE_TOKEN, &["repo", "create", "acme/r", "--private"]),
    )
    .await;
    let forbidden = run(
        &env,
        gh(ALICE_TOKEN, &["repo", "delete", "acme/r", "--yes"]),
    )
    .await;
    assert!(
        forbidden.stderr.contains("delete_repo"),
        "{}",
        forbidden.stderr
    );
    assert!(env.snapshot().github.repos.contains_key("acme/r"));

    env.inject(Fault::new(FaultKind::AlreadyExists, "gh repo create"));
    let exists = run(
        &env,
        gh(ALICE_TOKEN, &["repo", "create", "acme/new", "--private"]),
    )
    .await;
    assert_eq!(
        exists.stderr.trim(),
        "GraphQL: Name already exists on this account (createRepository)"
    );
    assert!(!env.snapshot().github.repos.contains_key("acme/new"));

    env.inject(Fault::new(
        FaultKind::Failure {
            exit_code: 42,
            stderr: "boom".into(),
        },
        "helm version",
    ));
    let custom = run(&env, spec("helm", &["version", "--short"])).await;
    assert_eq!((custom.exit_code, custom.stderr.trim()), (Some(42), "boom"));
}

#[tokio::test]
async fn a_missing_tool_is_not_found_even_for_its_version_probe() {
    let (_dir, env) = standard();
    env.inject(Fault::new(FaultKind::ToolMissing, "helm"));
    let err = env
        .run(spec("helm", &["version", "--short"]))
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::NotFound { ref program } if program == "helm"));
    // Even a usage error never gets that far.
    let err = env.run(spec("helm", &["--bogus"])).await.unwrap_err();
    assert!(matches!(err, RunError::NotFound { .. }));
    assert_eq!(env.calls().last().unwrap().outcome, CallOutcome::NotFound);
}

/// On a paused clock: the hang ends exactly at the timeout, or at the cancellation.
#[tokio::test(start_paused = true)]
async fn a_timeout_fault_hangs_until_the_spec_timeout_or_cancellation() {
    let (_dir, env) = standard();
    env.inject(Fault::new(FaultKind::Timeout, "kubectl"));
    let started = Instant::now();
    let err = env
        .run(spec("kubectl", &["get", "nodes"]).timeout(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RunError::TimedOut { after, .. } if after == Duration::from_millis(200)),
        "{err}"
    );
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    assert_eq!(env.calls().last().unwrap().outcome, CallOutcome::TimedOut);

    let cancel = CancellationToken::new();
    let canceller = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            cancel.cancel();
        })
    };
    let started = Instant::now();
    let err = env
        .run_with(
            spec("kubectl", &["get", "nodes"]),
            RunControl::default().with_cancel(cancel),
        )
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert!(matches!(err, RunError::Cancelled { .. }), "{err}");
    assert_eq!(started.elapsed(), Duration::from_millis(100));
}
