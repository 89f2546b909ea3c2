//! The `run:` blocks of the workflows that decide whether to dispatch another workflow,
//! executed for real with bash, jq and the fake `gh` (tests/support/templates/fake_gh.rs): the
//! gitops hand-back's promoted-label check, the control plane's promotion to NEXT_ENVIRONMENT
//! and ci's start of cd. Conditions, `env:` and step outputs are applied as GitHub would.

use crate::support::templates::acme_context;
use crate::support::templates::fake_gh::Gh;
use crate::support::templates::workflow::{workflow, JobRun, JobRunner};
use kalypso_bootstrap::templates::{render, RepoKind, TemplateContext};
use serde_json::json;

const PROMOTED: &str = "1111111111111111111111111111111111111111";
const DEPLOYED: &str = "2222222222222222222222222222222222222222";
const PUSHED: &str = "3333333333333333333333333333333333333333";
const GITHUB_TOKEN: &str = "the-workflow-github-token";
const CONTROL_PLANE_TOKEN: &str = "the-control-plane-token";

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn assert_no_dispatch(gh: &Gh, run: &JobRun) {
    assert!(gh.dispatches().is_empty(), "{}", run.output());
}

// ---- gitops: check-promote.yaml, job hand-back ----

/// A pull request of the gitops repository as `GET /repos/…/commits/SHA/pulls` lists it.
fn pull(number: u32, merged: bool, base: &str, labels: &[&str]) -> serde_json::Value {
    json!({
        "number": number,
        "state": if merged { "closed" } else { "open" },
        "merged_at": if merged { json!("2024-05-01T10:00:00Z") } else { json!(null) },
        "base": {"ref": base},
        "labels": labels.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
    })
}

/// Runs the hand-back job for a push of DEPLOYED to the dev branch of acme/go.
fn hand_back(
    gh: &Gh,
    pulls: &[serde_json::Value],
    tracking: &str,
    control_plane_token: Option<&str>,
) -> JobRun {
    let rendered = render(&acme_context()).unwrap();
    let gitops = workflow(&rendered, RepoKind::Gitops, "check-promote.yaml");
    let mut runner = JobRunner::new(gh)
        .github("GITHUB_REPOSITORY", "acme/go")
        .github("GITHUB_SHA", DEPLOYED)
        .github("GITHUB_REF_NAME", "dev")
        .expression("github.token", GITHUB_TOKEN)
        .fake("FAKE_PULLS", &json!(pulls).to_string())
        .fake("FAKE_TRACKING", tracking);
    if let Some(token) = control_plane_token {
        runner = runner.expression("secrets.CONTROL_PLANE_TOKEN", token);
    }
    runner.run_job(&gitops, "hand-back")
}

#[test]
fn a_merged_promoted_pull_request_is_handed_back_to_the_control_plane_once() {
    let gh = Gh::new();
    let pulls = [
        pull(3, false, "dev", &["promoted"]),
        pull(4, true, "dev", &["promoted", "automerge"]),
    ];
    let run = hand_back(
        &gh,
        &pulls,
        &format!("{PROMOTED}\n"),
        Some(CONTROL_PLANE_TOKEN),
    );
    assert!(run.success(), "{}", run.output());
    assert_eq!(
        gh.dispatches(),
        [(
            args(&[
                "workflow",
                "run",
                "check-promote.yaml",
                "--repo",
                "acme/cp",
                "--ref",
                "main",
                "-f",
                "environment=dev",
                "-f",
                &format!("commit_id={DEPLOYED}"),
                "-f",
                &format!("promoted_commit_id={PROMOTED}"),
            ]),
            CONTROL_PLANE_TOKEN.to_string()
        )]
    );
    // The lookups use the workflow's own token, on this push's commit.
    let calls = gh.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(
        calls[0][1],
        format!("repos/acme/go/commits/{DEPLOYED}/pulls")
    );
    assert!(calls[1].contains(&format!(
        "repos/acme/go/contents/.github/tracking/Promoted_Commit_Id?ref={DEPLOYED}"
    )));
    assert_eq!(gh.tokens()[..2], [GITHUB_TOKEN, GITHUB_TOKEN]);
}

#[test]
fn a_push_that_is_not_a_merged_promotion_hands_nothing_back() {
    let cases = [
        (
            "an open pull request",
            vec![pull(5, false, "dev", &["promoted"])],
        ),
        (
            "an unlabelled pull request",
            vec![pull(6, true, "dev", &["documentation"])],
        ),
        (
            "a promotion of another branch",
            vec![pull(7, true, "stage", &["promoted"])],
        ),
        ("a direct push", vec![]),
    ];
    for (case, pulls) in cases {
        let gh = Gh::new();
        let run = hand_back(&gh, &pulls, PROMOTED, Some(CONTROL_PLANE_TOKEN));
        assert!(run.success(), "{case}: {}", run.output());
        assert_no_dispatch(&gh, &run);
        assert_eq!(
            gh.calls().len(),
            1,
            "{case}: only the pull requests are looked up"
        );
        assert!(
            run.steps[0].output.contains("nothing to hand back"),
            "{case}: {}",
            run.output()
        );
        assert!(!run.steps[1].ran, "{case}: the dispatch step is skipped");
    }
}

#[test]
fn a_promotion_without_a_readable_promoted_commit_fails() {
    let merged = [pull(8, true, "dev", &["promoted"])];
    for (tracking, message) in [
        ("not-a-commit", "holds no commit id: 'not-a-commit'"),
        (&PROMOTED[..12], "holds no commit id"),
        ("", "Not Found"),
    ] {
        let gh = Gh::new();
        let run = hand_back(&gh, &merged, tracking, Some(CONTROL_PLANE_TOKEN));
        assert!(!run.success(), "{tracking:?}: {}", run.output());
        assert!(run.output().contains(message), "{}", run.output());
        assert_no_dispatch(&gh, &run);
    }
}

#[test]
fn a_missing_control_plane_token_is_an_error_not_a_silent_skip() {
    let merged = [pull(9, true, "dev", &["promoted"])];
    for token in [None, Some("")] {
        let gh = Gh::new();
        let run = hand_back(&gh, &merged, PROMOTED, token);
        assert!(!run.success(), "{token:?}: {}", run.output());
        assert!(
            run.output()
                .contains("The CONTROL_PLANE_TOKEN secret is not set: it needs a token that may run workflows in acme/cp."),
            "{}",
            run.output()
        );
        assert_no_dispatch(&gh, &run);
    }
}

// ---- control plane: check-promote.yaml, job promote ----

fn promote_job(gh: &Gh, promoted: &str, next_environment: Option<&str>) -> JobRun {
    promote_job_at(gh, promoted, next_environment, None)
}

/// [`promote_job`] on the GitHub at `server` (`GITHUB_SERVER_URL`), when given.
fn promote_job_at(
    gh: &Gh,
    promoted: &str,
    next_environment: Option<&str>,
    server: Option<&str>,
) -> JobRun {
    let rendered = render(&acme_context()).unwrap();
    let check_promote = workflow(&rendered, RepoKind::ControlPlane, "check-promote.yaml");
    let mut runner = JobRunner::new(gh)
        .github("GITHUB_REPOSITORY", "acme/cp")
        .github("GITHUB_SHA", PUSHED)
        .github("GITHUB_REF_NAME", "main")
        .expression("github.token", GITHUB_TOKEN)
        .expression("inputs.environment", "dev")
        .expression("inputs.commit_id", DEPLOYED)
        .expression("inputs.promoted_commit_id", promoted);
    if let Some(next) = next_environment {
        runner = runner.expression("secrets.NEXT_ENVIRONMENT", next);
    }
    if let Some(server) = server {
        runner = runner.github("GITHUB_SERVER_URL", server);
    }
    runner.run_job(&check_promote, "promote")
}

#[test]
fn a_checked_promotion_goes_on_to_next_environment() {
    let gh = Gh::new();
    let run = promote_job(&gh, PROMOTED, Some("stage"));
    assert!(run.ran && run.success(), "{}", run.output());
    assert_eq!(
        gh.dispatches(),
        [(
            args(&[
                "workflow",
                "run",
                "cd.yaml",
                "--repo",
                "acme/cp",
                "--ref",
                "main",
                "-f",
                "environment=stage",
                "-f",
                &format!("promoted_commit_id={PROMOTED}"),
            ]),
            GITHUB_TOKEN.to_string()
        )]
    );
    assert!(run.output().contains(&format!(
        "Started the promotion of {PROMOTED} from dev to stage"
    )));
}

#[test]
fn without_a_next_environment_the_promotion_ends_here() {
    // Unset, empty, or naming the checked environment itself (a repository-wide secret on
    // a two-stage chain): the end of the chain.
    for next_environment in [None, Some(""), Some("dev")] {
        let gh = Gh::new();
        let run = promote_job(&gh, PROMOTED, next_environment);
        assert!(run.ran && run.success(), "{}", run.output());
        assert!(
            gh.calls().is_empty(),
            "{next_environment:?}: {:?}",
            gh.calls()
        );
        assert!(
            run.output().contains(&format!(
                "dev is the last environment (NEXT_ENVIRONMENT is not set or names it), so {PROMOTED} goes no further."
            )),
            "{}",
            run.output()
        );
    }
    // A deployment that was no promotion promotes nothing, even with a next environment.
    let gh = Gh::new();
    let run = promote_job(&gh, "", Some("stage"));
    assert!(!run.ran);
    assert!(gh.calls().is_empty());
}

// ---- control plane: ci.yaml, job start-cd ----

/// Runs ci's start-cd job for a push of PUSHED to main; `gh workflow run` exits `dispatch_exit`.
fn start_cd(gh: &Gh, context: &TemplateContext, dispatch_exit: &str) -> JobRun {
    let rendered = render(context).unwrap();
    let ci = workflow(&rendered, RepoKind::ControlPlane, "ci.yaml");
    JobRunner::new(gh)
        .github("GITHUB_REPOSITORY", &context.control_plane.slug())
        .github("GITHUB_SHA", PUSHED)
        .github("GITHUB_REF_NAME", "main")
        .expression("github.token", GITHUB_TOKEN)
        .fake("FAKE_WORKFLOW_RUN_EXIT", dispatch_exit)
        .run_job(&ci, "start-cd")
}

#[test]
fn ci_promotes_the_pushed_commit_to_the_first_environment() {
    let mut context = acme_context();
    for environment in ["dev", "qa"] {
        context.environments = vec![environment.into()];
        let gh = Gh::new();
        let run = start_cd(&gh, &context, "0");
        assert!(run.success(), "{}", run.output());
        assert_eq!(
            gh.dispatches(),
            [(
                args(&[
                    "workflow",
                    "run",
                    "cd.yaml",
                    "--repo",
                    "acme/cp",
                    "--ref",
                    "main",
                    "-f",
                    &format!("environment={environment}"),
                    "-f",
                    &format!("promoted_commit_id={PUSHED}"),
                ]),
                GITHUB_TOKEN.to_string()
            )]
        );
    }
}

#[test]
fn a_failed_dispatch_fails_the_job() {
    let gh = Gh::new();
    let run = start_cd(&gh, &acme_context(), "1");
    assert!(!run.success(), "{}", run.output());
    assert_eq!(gh.dispatches().len(), 1);
    assert!(!run.output().contains("Started the promotion"));
}

// ---- on a GitHub Enterprise Server ----

/// The workflows call gh on the GitHub they run on: `GITHUB_SERVER_URL` names an Enterprise
/// Server there, and gh, which reads the token of such a host from `GH_ENTERPRISE_TOKEN` only,
/// gets it there. On github.com nothing changes.
#[test]
fn on_an_enterprise_server_every_gh_call_goes_to_its_host_with_the_token() {
    for (server, host) in [
        ("https://ghe.example.test", "ghe.example.test"),
        ("https://github.com", "github.com"),
    ] {
        let gh = Gh::new();
        let rendered = render(&acme_context()).unwrap();
        let ci = workflow(&rendered, RepoKind::ControlPlane, "ci.yaml");
        let run = JobRunner::new(&gh)
            .github("GITHUB_REPOSITORY", "acme/cp")
            .github("GITHUB_SHA", PUSHED)
            .github("GITHUB_REF_NAME", "main")
            .github("GITHUB_SERVER_URL", server)
            .expression("github.token", GITHUB_TOKEN)
            .run_job(&ci, "start-cd");
        assert!(run.success(), "{}", run.output());
        assert_eq!(gh.reached(), [(host.to_string(), GITHUB_TOKEN.to_string())]);

        let gh = Gh::new();
        let gitops = workflow(&rendered, RepoKind::Gitops, "check-promote.yaml");
        let run = JobRunner::new(&gh)
            .github("GITHUB_REPOSITORY", "acme/go")
            .github("GITHUB_SHA", DEPLOYED)
            .github("GITHUB_REF_NAME", "dev")
            .github("GITHUB_SERVER_URL", server)
            .expression("github.token", GITHUB_TOKEN)
            .expression("secrets.CONTROL_PLANE_TOKEN", CONTROL_PLANE_TOKEN)
            .fake(
                "FAKE_PULLS",
                &json!([pull(4, true, "dev", &["promoted"])]).to_string(),
            )
            .fake("FAKE_TRACKING", &format!("{PROMOTED}\n"))
            .run_job(&gitops, "hand-back");
        assert!(run.success(), "{}", run.output());
        assert_eq!(gh.dispatches().len(), 1, "{}", run.output());
        let reached = gh.reached();
        assert_eq!(reached.len(), 3, "{reached:?}");
        assert!(reached[..2]
            .iter()
            .all(|r| *r == (host.to_string(), GITHUB_TOKEN.to_string())));
        assert_eq!(
            reached[2],
            (host.to_string(), CONTROL_PLANE_TOKEN.to_string())
        );

        let gh = Gh::new();
        let run = promote_job_at(&gh, PROMOTED, Some("stage"), Some(server));
        assert!(run.success(), "{}", run.output());
        assert_eq!(gh.reached(), [(host.to_string(), GITHUB_TOKEN.to_string())]);
    }
}

// ---- the whole promotion chain of three environments ----

/// The value of `-f NAME=VALUE` in a `gh workflow run` call.
fn field<'a>(call: &'a [String], name: &str) -> Option<&'a str> {
    call.windows(2)
        .find(|pair| pair[0] == "-f" && pair[1].starts_with(&format!("{name}=")))
        .map(|pair| &pair[1][name.len() + 1..])
}

/// A push to main of a control plane with dev, stage and prod, promoted through all three
/// by the rendered workflows: ci starts cd for dev; for each environment the gitops
/// repository's hand-back (on that environment's branch) starts check-promote, whose
/// promote job reads the NEXT_ENVIRONMENT secret of that environment, as the bootstrap
/// sets them (`next_environments`, checked against the simulated GitHub by the e2e test
/// `three_environments_are_bootstrapped_chained_verified_and_rolled_back`). The dispatches
/// go dev → stage → prod and stop at prod.
#[test]
fn a_promotion_walks_dev_stage_prod_and_stops_at_prod() {
    use kalypso_bootstrap::engine::steps::repositories::next_environments;
    let mut context = acme_context();
    context.environments = vec!["dev".into(), "stage".into(), "prod".into()];
    let rendered = render(&context).unwrap();
    let secrets: std::collections::BTreeMap<&str, &str> =
        next_environments(&context).into_iter().collect();
    assert_eq!(
        secrets,
        std::collections::BTreeMap::from([("dev", "stage"), ("stage", "prod")])
    );

    // ci: the push to main goes to the first environment.
    let gh = Gh::new();
    let run = start_cd(&gh, &context, "0");
    assert!(run.success(), "{}", run.output());
    let dispatches = gh.dispatches();
    assert_eq!(dispatches.len(), 1);
    let mut environment = field(&dispatches[0].0, "environment")
        .expect("an environment")
        .to_string();
    let mut promoted_to = vec![environment.clone()];

    let check_promote = workflow(&rendered, RepoKind::ControlPlane, "check-promote.yaml");
    for _ in 0..context.environments.len() + 1 {
        // cd pinned PROMOTED on the environment's branch; the scheduler's pull request,
        // labelled promoted, was merged into the gitops branch of that environment.
        let hand_back = crate::support::templates::workflow::workflows(&rendered)
            .into_iter()
            .find(|w| {
                w.repo == RepoKind::Gitops
                    && w.branch == environment
                    && w.file_name() == "check-promote.yaml"
            })
            .unwrap_or_else(|| panic!("no hand-back workflow on the gitops branch {environment}"));
        let gh = Gh::new();
        let run = JobRunner::new(&gh)
            .github("GITHUB_REPOSITORY", "acme/go")
            .github("GITHUB_SHA", DEPLOYED)
            .github("GITHUB_REF_NAME", &environment)
            .expression("github.token", GITHUB_TOKEN)
            .expression("secrets.CONTROL_PLANE_TOKEN", CONTROL_PLANE_TOKEN)
            .fake(
                "FAKE_PULLS",
                &json!([pull(9, true, &environment, &["promoted"])]).to_string(),
            )
            .fake("FAKE_TRACKING", PROMOTED)
            .run_job(&hand_back, "hand-back");
        assert!(run.success(), "{environment}: {}", run.output());
        let handed = gh.dispatches();
        assert_eq!(handed.len(), 1, "{environment}: {}", run.output());
        assert_eq!(
            field(&handed[0].0, "environment"),
            Some(environment.as_str())
        );

        // check-promote in the control plane, in the GitHub environment it checked.
        let gh = Gh::new();
        let mut runner = JobRunner::new(&gh)
            .github("GITHUB_REPOSITORY", "acme/cp")
            .github("GITHUB_SHA", PUSHED)
            .github("GITHUB_REF_NAME", "main")
            .expression("github.token", GITHUB_TOKEN)
            .expression("inputs.environment", &environment)
            .expression("inputs.commit_id", DEPLOYED)
            .expression("inputs.promoted_commit_id", PROMOTED);
        if let Some(next) = secrets.get(environment.as_str()) {
            runner = runner.expression("secrets.NEXT_ENVIRONMENT", next);
        }
        let run = runner.run_job(&check_promote, "promote");
        assert!(run.ran && run.success(), "{environment}: {}", run.output());
        let next = gh.dispatches();
        match next.as_slice() {
            [] => {
                assert!(
                    run.output()
                        .contains(&format!("{environment} is the last environment")),
                    "{}",
                    run.output()
                );
                break;
            }
            [(call, token)] => {
                assert_eq!(token, GITHUB_TOKEN);
                assert_eq!(call[2], "cd.yaml");
                assert_eq!(field(call, "promoted_commit_id"), Some(PROMOTED));
                environment = field(call, "environment")
                    .expect("an environment")
                    .to_string();
                promoted_to.push(environment.clone());
            }
            more => panic!("{environment}: several dispatches {more:?}"),
        }
    }
    assert_eq!(promoted_to, ["dev", "stage", "prod"]);
}
