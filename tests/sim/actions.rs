//! `gh pr merge` and the simulated GitHub Actions runs of the workflows this tool generates:
//! a push to the control plane's main runs ci → cd (pinning the first environment), and a
//! merged pull request labelled `promoted` on a gitops environment branch hands back to the
//! control plane's check-promote, which promotes to the next environment.

use std::path::Path;
use std::process::Command;

use crate::support::sim::*;
use kalypso_bootstrap::sim::{GithubPullRequest, SeedRepo, SimulatedEnvironment, WorkflowRun};
use kalypso_bootstrap::templates::{self, BranchKind, RepoRef, TemplateContext};
use secrecy::SecretSlice;

const CARO_TOKEN: &str = "ghp_caroSimToken0000000000000000000000003";

/// git on `bare` with no user or system configuration, committing as "Someone".
fn git_as_someone(bare: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .arg("--git-dir")
        .arg(bare)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Someone")
        .env("GIT_AUTHOR_EMAIL", "someone@example.test")
        .env("GIT_COMMITTER_NAME", "Someone")
        .env("GIT_COMMITTER_EMAIL", "someone@example.test");
    command
}

/// Real git on a bare repository of the simulated GitHub (what a push lands in).
fn git(bare: &Path, args: &[&str]) -> String {
    let out = git_as_someone(bare, args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Commit `files` on top of `parent` (no branch moved), returning the commit.
fn commit_on(bare: &Path, parent: &str, files: &[(&str, &str)], message: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let index = scratch.path().join("index");
    let with_index = |args: &[&str], stdin: Option<&str>| -> String {
        let mut command = git_as_someone(bare, args);
        command
            .env("GIT_INDEX_FILE", &index)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    with_index(&["read-tree", parent], None);
    for (path, contents) in files {
        let blob = {
            let mut child = Command::new("git")
                .arg("--git-dir")
                .arg(bare)
                .args(["hash-object", "-w", "--stdin"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(contents.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        with_index(
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("100644,{blob},{path}"),
            ],
            None,
        );
    }
    let tree = with_index(&["write-tree"], None);
    with_index(&["commit-tree", &tree, "-p", parent, "-m", message], None)
}

/// A push of a small ConfigMap to acme/cp's main: what starts the ci → cd chain.
fn push_notes_to_control_plane_main(env: &SimulatedEnvironment) -> String {
    push_commit(
        env,
        "acme",
        "cp",
        "main",
        &[(
            "notes.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n",
        )],
    )
}

/// The promotion pull request of `promoted` into the gitops `environment` branch, merged,
/// and whatever that starts run.
async fn merge_promotion(env: &SimulatedEnvironment, environment: &str, promoted: &str) {
    let (number, pr_head) = promotion_pull_request(env, environment, promoted);
    merge(env, number, &pr_head).await;
    let_actions_run(env).await;
}

/// A push: `branch` of `owner/name` moves to a new commit with `files` on top of it.
fn push_commit(
    env: &SimulatedEnvironment,
    owner: &str,
    name: &str,
    branch: &str,
    files: &[(&str, &str)],
) -> String {
    let bare = env.bare_repo_path(owner, name);
    let parent = git(&bare, &["rev-parse", &format!("refs/heads/{branch}")]);
    let commit = commit_on(&bare, &parent, files, "A change");
    git(
        &bare,
        &[
            "update-ref",
            &format!("refs/heads/{branch}"),
            &commit,
            &parent,
        ],
    );
    commit
}

fn file_at(env: &SimulatedEnvironment, owner: &str, name: &str, rev: &str, path: &str) -> String {
    git(
        &env.bare_repo_path(owner, name),
        &["show", &format!("{rev}:{path}")],
    )
}

fn head(env: &SimulatedEnvironment, owner: &str, name: &str, branch: &str) -> String {
    git(
        &env.bare_repo_path(owner, name),
        &["rev-parse", &format!("refs/heads/{branch}")],
    )
}

/// The control plane `acme/cp` and gitops repository `acme/gitops` with exactly the files
/// this tool renders for environments dev and stage (scripts executable), on GitHub Team
/// (environments in private repositories).
fn seeded_repositories(env: &SimulatedEnvironment) {
    env.set_github_plan("acme", kalypso_bootstrap::sim::GithubPlan::Team);
    let mut context =
        TemplateContext::new(RepoRef::new("acme", "cp"), RepoRef::new("acme", "gitops"));
    context.environments = vec!["dev".into(), "stage".into()];
    let rendered = templates::render(&context).expect("render");
    for repo in rendered.repos() {
        let mut seed = SeedRepo::new(&repo.repo.owner, &repo.repo.name);
        for branch in &repo.branches {
            for file in &branch.files {
                seed = if file.executable {
                    seed.with_executable(&branch.name, &file.path, file.contents.clone())
                } else {
                    seed.with_file(&branch.name, &file.path, file.contents.clone())
                };
            }
        }
        env.seed_repo(seed).expect("seeded");
    }
    // The rendering has both environment branches.
    assert!(rendered
        .control_plane
        .branches
        .iter()
        .any(|b| b.kind == BranchKind::Environment && b.name == "stage"));
}

async fn set_secret(
    env: &SimulatedEnvironment,
    repo: &str,
    environment: Option<&str>,
    name: &str,
    value: &str,
) {
    let mut args = vec!["secret", "set", name, "--repo", repo];
    if let Some(environment) = environment {
        args.extend(["--env", environment]);
    }
    ok(
        env,
        gh(ALICE_TOKEN, &args).secret_stdin(SecretSlice::from(value.as_bytes().to_vec())),
    )
    .await;
}

/// The secrets and GitHub environments the bootstrap sets: on the control plane
/// GITOPS_REPO, GITOPS_REPO_TOKEN, environments dev (NEXT_ENVIRONMENT=stage) and stage
/// (none: the last); on gitops CONTROL_PLANE_TOKEN (unless `control_plane_token` is false).
async fn configured(env: &SimulatedEnvironment, control_plane_token: bool) {
    set_secret(env, "acme/cp", None, "GITOPS_REPO", "acme/gitops").await;
    set_secret(env, "acme/cp", None, "GITOPS_REPO_TOKEN", ALICE_TOKEN).await;
    for environment in ["dev", "stage"] {
        ok(
            env,
            gh_words(
                ALICE_TOKEN,
                &format!("api --method PUT repos/acme/cp/environments/{environment}"),
            ),
        )
        .await;
    }
    set_secret(env, "acme/cp", Some("dev"), "NEXT_ENVIRONMENT", "stage").await;
    if control_plane_token {
        set_secret(env, "acme/gitops", None, "CONTROL_PLANE_TOKEN", ALICE_TOKEN).await;
    }
}

/// A world with Actions enabled, the repositories seeded and configured.
async fn promotion_world(control_plane_token: bool) -> (tempfile::TempDir, SimulatedEnvironment) {
    let (dir, env) = standard();
    seeded_repositories(&env);
    configured(&env, control_plane_token).await;
    env.set_github_actions_enabled(true);
    (dir, env)
}

/// Any simulated command lets GitHub Actions catch up (as it does before each command).
async fn let_actions_run(env: &SimulatedEnvironment) {
    ok(env, gh_words(ALICE_TOKEN, "api user")).await;
}

fn runs(env: &SimulatedEnvironment, repo: &str) -> Vec<WorkflowRun> {
    let (owner, name) = repo.split_once('/').unwrap();
    env.workflow_runs(owner, name)
}

fn summary(runs: &[WorkflowRun]) -> Vec<(String, String, String, String)> {
    runs.iter()
        .map(|r| {
            (
                r.path.rsplit('/').next().unwrap().to_string(),
                r.event.clone(),
                r.head_branch.clone(),
                r.conclusion.clone(),
            )
        })
        .collect()
}

fn run_of(kind: (&str, &str, &str, &str)) -> (String, String, String, String) {
    (kind.0.into(), kind.1.into(), kind.2.into(), kind.3.into())
}

/// The pull request the scheduler would open against `base` of the gitops repository: a
/// `deployment/…` branch from `base` with a manifest and the promoted commit recorded,
/// labelled `promoted`.
fn promotion_pull_request(env: &SimulatedEnvironment, base: &str, promoted: &str) -> (u64, String) {
    let bare = env.bare_repo_path("acme", "gitops");
    let parent = head(env, "acme", "gitops", base);
    let branch = format!("deployment/{base}-1");
    let commit = commit_on(
        &bare,
        &parent,
        &[
            ("default/README.md", "# default\n"),
            (
                ".github/tracking/Promoted_Commit_Id",
                &format!("{promoted}\n"),
            ),
        ],
        "Kalypso Scheduler commit",
    );
    git(
        &bare,
        &["update-ref", &format!("refs/heads/{branch}"), &commit],
    );
    let number = env
        .seed_pull_request(
            "acme",
            "gitops",
            GithubPullRequest {
                title: format!("Update manifests in {base} from {branch}"),
                body: "This PR updates the manifests in GitOps Repo".into(),
                head: branch,
                base: base.into(),
                state: "OPEN".into(),
                author: "alice".into(),
                labels: vec!["promoted".into()],
                ..Default::default()
            },
        )
        .unwrap();
    (number, commit)
}

async fn merge(env: &SimulatedEnvironment, number: u64, head_sha: &str) {
    ok(
        env,
        gh(
            ALICE_TOKEN,
            &[
                "pr",
                "merge",
                &number.to_string(),
                "--repo",
                "acme/gitops",
                "--merge",
                "--match-head-commit",
                head_sha,
            ],
        ),
    )
    .await;
}

fn pinned(env: &SimulatedEnvironment, environment: &str) -> String {
    file_at(env, "acme", "cp", environment, "base-repo.yaml")
}

/// A push to main runs ci, which dispatches cd for the first environment, which pins the
/// pushed commit in dev's base-repo.yaml (a commit by github-actions[bot], which starts no
/// run) and marks it pending; `gh run list` answers the runs as the real gh does.
#[tokio::test]
async fn a_push_to_main_runs_ci_then_cd_which_pins_dev() {
    let (_dir, env) = promotion_world(true).await;
    let_actions_run(&env).await;
    assert!(
        runs(&env, "acme/cp").is_empty(),
        "what was there before is no push"
    );
    let stage_before = head(&env, "acme", "cp", "stage");
    let pushed = push_commit(
        &env,
        "acme",
        "cp",
        "main",
        &[(
            "workloads/extra.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
        )],
    );
    let_actions_run(&env).await;

    assert_eq!(
        summary(&runs(&env, "acme/cp")),
        [
            run_of(("ci.yaml", "push", "main", "success")),
            run_of(("cd.yaml", "workflow_dispatch", "main", "success")),
        ]
    );
    let cd = &runs(&env, "acme/cp")[1];
    assert_eq!(cd.inputs["environment"], "dev");
    assert_eq!(cd.inputs["promoted_commit_id"], pushed);
    let base_repo = pinned(&env, "dev");
    assert!(
        base_repo.contains(&format!("commit: \"{pushed}\"")),
        "{base_repo}"
    );
    assert!(
        base_repo.contains("repo: \"https://github.com/acme/cp\""),
        "{base_repo}"
    );
    let author = git(
        &env.bare_repo_path("acme", "cp"),
        &["log", "-1", "--format=%an %s", "dev"],
    );
    assert_eq!(
        author,
        format!("github-actions[bot] Promote {pushed} to dev")
    );
    assert_eq!(head(&env, "acme", "cp", "stage"), stage_before);
    let statuses = &env.snapshot().github.repos["acme/cp"].commit_statuses;
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        (
            statuses[0].sha.as_str(),
            statuses[0].context.as_str(),
            statuses[0].state.as_str()
        ),
        (pushed.as_str(), "kalypso/dev", "pending")
    );

    // No run followed the bot's push to dev; a second look starts nothing new.
    let_actions_run(&env).await;
    assert_eq!(runs(&env, "acme/cp").len(), 2);

    let listed = ok_json(
        &env,
        gh_words(ALICE_TOKEN, "run list --repo acme/cp --json databaseId,workflowName,event,headBranch,headSha,status,conclusion,createdAt"),
    )
    .await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["workflowName"], "cd", "newest first");
    assert_eq!(listed[0]["event"], "workflow_dispatch");
    assert_eq!(listed[1]["workflowName"], "ci");
    assert_eq!(listed[1]["headSha"], pushed.as_str());
    assert_eq!(listed[1]["status"], "completed");
    assert_eq!(listed[1]["conclusion"], "success");
    assert!(listed[1]["databaseId"].as_u64().is_some());
    let only_ci = ok_json(
        &env,
        gh_words(
            ALICE_TOKEN,
            "run list --repo acme/cp --workflow ci.yaml --json workflowName",
        ),
    )
    .await;
    assert_eq!(only_ci.as_array().unwrap().len(), 1);
    let unknown = run(
        &env,
        gh_words(ALICE_TOKEN, "run list --repo acme/cp --json nope"),
    )
    .await;
    assert!(
        unknown.stderr.starts_with("Unknown JSON field: \"nope\""),
        "{}",
        unknown.stderr
    );
}

/// Merging the scheduler's promoted pull request into the gitops dev branch runs the
/// hand-back, which dispatches the control plane's check-promote with
/// CONTROL_PLANE_TOKEN; its checks pass and its promote job (GitHub environment dev,
/// NEXT_ENVIRONMENT=stage) dispatches cd for stage, which pins stage.
#[tokio::test]
async fn a_merged_promotion_hands_back_and_promotes_to_the_next_environment() {
    let (_dir, env) = promotion_world(true).await;
    let_actions_run(&env).await;
    let promoted = push_notes_to_control_plane_main(&env);
    let_actions_run(&env).await;
    assert!(pinned(&env, "dev").contains(&promoted));
    assert!(!pinned(&env, "stage").contains(&promoted));

    merge_promotion(&env, "dev", &promoted).await;

    let merged = head(&env, "acme", "gitops", "dev");
    assert_eq!(
        summary(&runs(&env, "acme/gitops")),
        [run_of(("check-promote.yaml", "push", "dev", "success"))]
    );
    assert_eq!(
        summary(&runs(&env, "acme/cp")),
        [
            run_of(("ci.yaml", "push", "main", "success")),
            run_of(("cd.yaml", "workflow_dispatch", "main", "success")),
            run_of(("check-promote.yaml", "workflow_dispatch", "main", "success")),
            run_of(("cd.yaml", "workflow_dispatch", "main", "success")),
        ]
    );
    let cp_runs = runs(&env, "acme/cp");
    let check = &cp_runs[2];
    assert_eq!(check.inputs["environment"], "dev");
    assert_eq!(check.inputs["commit_id"], merged);
    assert_eq!(check.inputs["promoted_commit_id"], promoted);
    assert_eq!(cp_runs[3].inputs["environment"], "stage");
    assert!(pinned(&env, "stage").contains(&format!("commit: \"{promoted}\"")));
    let statuses: Vec<(String, String)> = env.snapshot().github.repos["acme/cp"]
        .commit_statuses
        .iter()
        .map(|s| (s.context.clone(), s.state.clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("kalypso/dev".into(), "pending".into()),
            ("kalypso/dev".into(), "pending".into()),
            ("kalypso/dev".into(), "success".into()),
            ("kalypso/stage".into(), "pending".into()),
        ]
    );
}

/// Without CONTROL_PLANE_TOKEN the hand-back fails with its workflow's own message, and
/// nothing runs in the control plane.
#[tokio::test]
async fn the_hand_back_without_control_plane_token_fails_with_its_message() {
    let (_dir, env) = promotion_world(false).await;
    let_actions_run(&env).await;
    let promoted = push_notes_to_control_plane_main(&env);
    let_actions_run(&env).await;
    merge_promotion(&env, "dev", &promoted).await;
    let gitops_runs = runs(&env, "acme/gitops");
    assert_eq!(
        summary(&gitops_runs),
        [run_of(("check-promote.yaml", "push", "dev", "failure"))]
    );
    assert_eq!(
        gitops_runs[0].message,
        "::error::The CONTROL_PLANE_TOKEN secret is not set: it needs a token that may run workflows in acme/cp."
    );
    assert_eq!(runs(&env, "acme/cp").len(), 2, "only ci and cd of the push");
    assert!(!pinned(&env, "stage").contains(&promoted));
}

/// The last environment (stage has no NEXT_ENVIRONMENT, and the repository has none) is
/// checked and promotes nowhere; a push that did not come from a promoted pull request
/// hands nothing back.
#[tokio::test]
async fn the_last_environment_promotes_nowhere() {
    let (_dir, env) = promotion_world(true).await;
    let_actions_run(&env).await;
    let promoted = push_notes_to_control_plane_main(&env);
    let_actions_run(&env).await;
    let before = runs(&env, "acme/cp").len();
    merge_promotion(&env, "stage", &promoted).await;
    let cp_runs = runs(&env, "acme/cp");
    assert_eq!(
        summary(&cp_runs[before..]),
        [run_of((
            "check-promote.yaml",
            "workflow_dispatch",
            "main",
            "success"
        ))]
    );
    assert_eq!(
        cp_runs[before].message,
        format!("stage is the last environment (NEXT_ENVIRONMENT is not set or names it), so {promoted} goes no further.")
    );

    // A plain push to the gitops stage branch: the hand-back runs and hands nothing back.
    push_commit(&env, "acme", "gitops", "stage", &[("extra.md", "x\n")]);
    let_actions_run(&env).await;
    let gitops_runs = runs(&env, "acme/gitops");
    let last = gitops_runs.last().unwrap();
    assert_eq!(last.conclusion, "success");
    assert!(
        last.message
            .contains("did not come from a pull request labelled promoted"),
        "{}",
        last.message
    );
    assert_eq!(runs(&env, "acme/cp").len(), before + 1);
}

/// With Actions disabled (the world's default) nothing runs: not on a push, not on a
/// merge; a dispatch and a run listing are refused (the Actions API answers 404).
#[tokio::test]
async fn with_actions_disabled_nothing_runs() {
    let (_dir, env) = standard();
    seeded_repositories(&env);
    configured(&env, true).await;
    let dev_before = head(&env, "acme", "cp", "dev");
    let promoted = push_notes_to_control_plane_main(&env);
    let_actions_run(&env).await;
    merge_promotion(&env, "dev", &promoted).await;
    assert!(runs(&env, "acme/cp").is_empty());
    assert!(runs(&env, "acme/gitops").is_empty());
    assert_eq!(head(&env, "acme", "cp", "dev"), dev_before);
    let dispatch = run(
        &env,
        gh_words(ALICE_TOKEN, &format!("workflow run cd.yaml --repo acme/cp --ref main -f environment=dev -f promoted_commit_id={promoted}")),
    )
    .await;
    assert_eq!(dispatch.exit_code, Some(1));
    // Its Actions API answers 404, as for a repository one cannot see.
    assert_eq!(
        dispatch.stderr.trim(),
        "could not fetch workflows for acme/cp: HTTP 404: Not Found (https://api.github.com/repos/acme/cp/actions/workflows?per_page=100&page=1)"
    );
    let listed = run(
        &env,
        gh_words(ALICE_TOKEN, "run list --repo acme/cp --json databaseId"),
    )
    .await;
    assert_eq!(listed.exit_code, Some(1));
    assert!(
        listed
            .stderr
            .starts_with("failed to get runs: HTTP 404: Not Found"),
        "{}",
        listed.stderr
    );

    // Enabled later, Actions runs nothing for what was pushed before; the next push runs.
    env.set_github_actions_enabled(true);
    let_actions_run(&env).await;
    assert!(runs(&env, "acme/cp").is_empty());
    assert!(runs(&env, "acme/gitops").is_empty());
    push_commit(
        &env,
        "acme",
        "cp",
        "main",
        &[(
            "later.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n",
        )],
    );
    let_actions_run(&env).await;
    assert_eq!(runs(&env, "acme/cp").len(), 2, "ci and cd");
}

/// `gh workflow run` dispatches as the real gh does (silent on success), and GitHub's
/// refusals come back as gh prints them: a missing required input, an unexpected one, an
/// unknown workflow or ref. cd fails as promote.sh does for a commit not on main and for an
/// environment branch that does not exist.
#[tokio::test]
async fn workflow_dispatch_checks_inputs_and_cd_fails_as_promote_sh_does() {
    let (_dir, env) = promotion_world(true).await;
    let_actions_run(&env).await;
    let main = head(&env, "acme", "cp", "main");
    let out = run(
        &env,
        gh_words(
            ALICE_TOKEN,
            "workflow run cd.yaml --repo acme/cp --ref main -f environment=dev",
        ),
    )
    .await;
    assert_eq!(out.exit_code, Some(1));
    assert!(out.stderr.starts_with("could not create workflow dispatch event: HTTP 422: Required input 'promoted_commit_id' not provided"), "{}", out.stderr);
    let out = run(
        &env,
        gh_words(ALICE_TOKEN, &format!("workflow run cd.yaml --repo acme/cp -f environment=dev -f promoted_commit_id={main} -f color=red")),
    )
    .await;
    assert!(out.stderr.starts_with("could not create workflow dispatch event: HTTP 422: Unexpected inputs provided: [\"color\"]"), "{}", out.stderr);
    let out = run(
        &env,
        gh_words(ALICE_TOKEN, "workflow run nope.yaml --repo acme/cp"),
    )
    .await;
    assert_eq!(
        out.stderr.trim(),
        "could not find any workflows named nope.yaml"
    );
    let out = run(
        &env,
        gh_words(ALICE_TOKEN, &format!("workflow run cd.yaml --repo acme/cp --ref nowhere -f environment=dev -f promoted_commit_id={main}")),
    )
    .await;
    assert!(
        out.stderr.contains("HTTP 422: No ref found for: nowhere"),
        "{}",
        out.stderr
    );

    // A commit that is not on main.
    let elsewhere = head(&env, "acme", "cp", "stage");
    let out = run(
        &env,
        gh_words(ALICE_TOKEN, &format!("workflow run cd.yaml --repo acme/cp --ref main -f environment=dev -f promoted_commit_id={elsewhere}")),
    )
    .await;
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "", "silent with no tty");
    // An environment without a branch.
    let out = run(
        &env,
        gh_words(ALICE_TOKEN, &format!("workflow run cd.yaml --repo acme/cp -f environment=prod -f promoted_commit_id={main}")),
    )
    .await;
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    let_actions_run(&env).await;
    let cd_runs = runs(&env, "acme/cp");
    assert_eq!(
        summary(&cd_runs),
        [
            run_of(("cd.yaml", "workflow_dispatch", "main", "failure")),
            run_of(("cd.yaml", "workflow_dispatch", "main", "failure")),
        ]
    );
    assert_eq!(
        cd_runs[0].message,
        format!("::error::{elsewhere} is not a commit of main")
    );
    assert_eq!(
        cd_runs[1].message,
        "A branch or tag with the name 'prod' could not be found"
    );

    // Someone who may read but not write the repository may not dispatch.
    env.seed_github_user("caro", CARO_TOKEN, &["repo"]);
    let out = run(
        &env,
        gh_words(CARO_TOKEN, "workflow run cd.yaml --repo acme/cp"),
    )
    .await;
    assert_eq!(out.exit_code, Some(1));
    assert!(out.stderr.contains("HTTP 404: Not Found"), "{}", out.stderr);
}

/// A run takes the latency profile's `actions_run`: in progress until then, its effect
/// (the pin) only at its end. Runs keep the wall clock, so nothing here depends on how soon
/// the test looks: a run of an hour is in progress whenever it is looked at, and a run of
/// 400 ms is waited for (under the hang guard) and is never seen over before its time.
#[tokio::test]
async fn a_run_takes_the_configured_time() {
    use crate::support::process::HANG_GUARD;
    use kalypso_bootstrap::sim::Latency;
    use std::time::{Duration, Instant};

    let (_dir, env) = promotion_world(true).await;
    env.set_latency(Latency::zero().with_actions_run(Duration::from_secs(3600)));
    let_actions_run(&env).await;
    let dev_before = head(&env, "acme", "cp", "dev");
    push_notes_to_control_plane_main(&env);
    let_actions_run(&env).await;
    let listed = ok_json(
        &env,
        gh_words(
            ALICE_TOKEN,
            "run list --repo acme/cp --json workflowName,status,conclusion",
        ),
    )
    .await;
    assert_eq!(listed[0]["status"], "in_progress");
    assert_eq!(listed[0]["conclusion"], "");
    assert_eq!(head(&env, "acme", "cp", "dev"), dev_before);

    let run_time = Duration::from_millis(400);
    let (_dir, env) = promotion_world(true).await;
    env.set_latency(Latency::zero().with_actions_run(run_time));
    let_actions_run(&env).await;
    let dev_before = head(&env, "acme", "cp", "dev");
    let pushed = Instant::now();
    push_notes_to_control_plane_main(&env);
    let mut ci_seen_over = None;
    loop {
        let_actions_run(&env).await;
        let cp_runs = runs(&env, "acme/cp");
        if ci_seen_over.is_none() && cp_runs[0].status == "completed" {
            ci_seen_over = Some(pushed.elapsed());
            // ci completed and dispatched cd, which now runs its own time.
            assert_eq!(summary(&cp_runs)[0].3, "success");
            assert_eq!(cp_runs[1].status, "in_progress", "{cp_runs:?}");
            assert_eq!(
                head(&env, "acme", "cp", "dev"),
                dev_before,
                "no pin before cd"
            );
        }
        if head(&env, "acme", "cp", "dev") != dev_before {
            break;
        }
        assert!(
            pushed.elapsed() < HANG_GUARD,
            "hang guard: the runs never completed: {cp_runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pinned_after = pushed.elapsed();
    let ci_over_after = ci_seen_over.expect("ci completed before the pin");
    assert!(ci_over_after >= run_time, "ci over after {ci_over_after:?}");
    assert!(
        pinned_after >= 2 * run_time,
        "ci then cd, each its time: pinned after {pinned_after:?}"
    );
}

/// A repository with a pull request from `feature` into `main` (one new file on each side,
/// so they merge cleanly), readable by anyone (public), writable by acme's members.
fn merge_world() -> (tempfile::TempDir, SimulatedEnvironment, u64, String) {
    let (dir, env) = standard();
    env.seed_repo(
        SeedRepo::new("acme", "app")
            .public()
            .with_file("main", "README.md", "# app\n"),
    )
    .expect("seeded");
    let bare = env.bare_repo_path("acme", "app");
    let main = head(&env, "acme", "app", "main");
    let feature = commit_on(&bare, &main, &[("feature.txt", "new\n")], "Add a feature");
    git(&bare, &["update-ref", "refs/heads/feature", &feature]);
    push_commit(&env, "acme", "app", "main", &[("other.txt", "other\n")]);
    let number = env
        .seed_pull_request(
            "acme",
            "app",
            GithubPullRequest {
                title: "Add a feature".into(),
                head: "feature".into(),
                base: "main".into(),
                state: "OPEN".into(),
                author: "bob".into(),
                labels: vec!["promoted".into()],
                ..Default::default()
            },
        )
        .unwrap();
    (dir, env, number, feature)
}

fn pr_merge(token: &str, number: u64, extra: &[&str]) -> kalypso_bootstrap::tools::CommandSpec {
    let number = number.to_string();
    let mut args = vec!["pr", "merge", number.as_str(), "--repo", "acme/app"];
    args.extend_from_slice(extra);
    gh(token, &args)
}

/// `gh pr merge --merge --match-head-commit` makes GitHub's merge commit on the base
/// branch (two parents, "Merge pull request #N from OWNER/HEAD"), prints nothing, and the
/// pull request is MERGED with mergedAt, mergeCommit and mergedBy in view and list.
#[tokio::test]
async fn pr_merge_makes_a_merge_commit_and_view_and_list_show_it() {
    let (_dir, env, number, feature) = merge_world();
    let base_before = head(&env, "acme", "app", "main");
    let listed = ok_json(
        &env,
        gh_words(ALICE_TOKEN, "pr list --repo acme/app --base main --state open --json number,title,headRefName,headRefOid,labels,author,url"),
    )
    .await;
    assert_eq!(listed[0]["headRefOid"], feature.as_str());
    assert_eq!(listed[0]["labels"][0]["name"], "promoted");
    assert_eq!(
        listed[0]["url"],
        format!("https://github.com/acme/app/pull/{number}")
    );

    let out = run(
        &env,
        pr_merge(
            ALICE_TOKEN,
            number,
            &["--merge", "--match-head-commit", &feature],
        ),
    )
    .await;
    assert_eq!(
        (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
        (Some(0), "", "")
    );

    let bare = env.bare_repo_path("acme", "app");
    let merged = head(&env, "acme", "app", "main");
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%P", &merged]),
        format!("{base_before} {feature}")
    );
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s%n%n%b%n%cn <%ce>", &merged]),
        format!("Merge pull request #{number} from acme/feature\n\nAdd a feature\n\nGitHub <noreply@github.com>")
    );
    assert_eq!(file_at(&env, "acme", "app", &merged, "feature.txt"), "new");
    assert_eq!(file_at(&env, "acme", "app", &merged, "other.txt"), "other");

    let view = ok_json(
        &env,
        gh(ALICE_TOKEN, &["pr", "view", &number.to_string(), "--repo", "acme/app", "--json", "number,state,mergedAt,mergeCommit,mergedBy,headRefName,headRefOid,baseRefName,labels,url"]),
    )
    .await;
    assert_eq!(view["state"], "MERGED");
    assert_eq!(view["mergeCommit"]["oid"], merged.as_str());
    assert_eq!(view["mergedBy"]["login"], "alice");
    assert!(view["mergedAt"]
        .as_str()
        .is_some_and(|at| at.ends_with('Z')));
    assert_eq!(view["headRefOid"], feature.as_str());
    for (state, count) in [("open", 0), ("merged", 1), ("closed", 1), ("all", 1)] {
        let listed = ok_json(
            &env,
            gh_words(
                ALICE_TOKEN,
                &format!("pr list --repo acme/app --state {state} --json number,mergedAt"),
            ),
        )
        .await;
        assert_eq!(listed.as_array().unwrap().len(), count, "--state {state}");
    }

    // Merged already: gh warns and exits 0, and nothing changes.
    let again = run(&env, pr_merge(ALICE_TOKEN, number, &["--merge"])).await;
    assert_eq!(again.exit_code, Some(0));
    assert_eq!(
        again.stderr,
        format!("! Pull request acme/app#{number} was already merged\n")
    );
    assert_eq!(head(&env, "acme", "app", "main"), merged);
}

/// The refusals: a moved head (GitHub's "Head branch was modified"), a closed pull
/// request, no write permission, conflicts, and gh's own flag rules.
#[tokio::test]
async fn pr_merge_refuses_as_gh_and_github_do() {
    let (_dir, env, number, feature) = merge_world();
    let base_before = head(&env, "acme", "app", "main");
    let moved = run(
        &env,
        pr_merge(
            ALICE_TOKEN,
            number,
            &["--merge", "--match-head-commit", &base_before],
        ),
    )
    .await;
    assert_eq!(moved.exit_code, Some(1));
    assert_eq!(
        moved.stderr.trim(),
        "GraphQL: Head branch was modified. Review and try the merge again. (mergePullRequest)"
    );

    env.seed_github_user("caro", CARO_TOKEN, &["repo"]);
    let denied = run(&env, pr_merge(CARO_TOKEN, number, &["--merge"])).await;
    assert_eq!(denied.exit_code, Some(1));
    assert_eq!(denied.stderr.trim(), "GraphQL: caro does not have the correct permissions to execute `MergePullRequest` (mergePullRequest)");

    let no_method = run(&env, pr_merge(ALICE_TOKEN, number, &[])).await;
    assert!(
        no_method
            .stderr
            .starts_with("--merge, --rebase, or --squash required when not running interactively"),
        "{}",
        no_method.stderr
    );
    let two = run(
        &env,
        pr_merge(ALICE_TOKEN, number, &["--merge", "--squash"]),
    )
    .await;
    assert!(
        two.stderr
            .starts_with("only one of --merge, --rebase, or --squash can be enabled"),
        "{}",
        two.stderr
    );
    let missing = run(&env, pr_merge(ALICE_TOKEN, 99, &["--merge"])).await;
    assert_eq!(missing.stderr.trim(), "GraphQL: Could not resolve to a PullRequest with the number of 99. (repository.pullRequest)");
    assert_eq!(
        head(&env, "acme", "app", "main"),
        base_before,
        "nothing merged"
    );

    let closed = env
        .seed_pull_request(
            "acme",
            "app",
            GithubPullRequest {
                title: "Closed".into(),
                head: "feature".into(),
                base: "main".into(),
                state: "CLOSED".into(),
                author: "bob".into(),
                head_oid: Some(feature.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    let refused = run(&env, pr_merge(ALICE_TOKEN, closed, &["--merge"])).await;
    assert_eq!(refused.exit_code, Some(1));
    assert_eq!(
        refused.stderr.trim(),
        "GraphQL: Pull Request is not mergeable (mergePullRequest)"
    );

    // Both sides change the same file differently.
    let bare = env.bare_repo_path("acme", "app");
    let main = head(&env, "acme", "app", "main");
    let conflicting = commit_on(&bare, &main, &[("other.txt", "theirs\n")], "Conflict");
    git(
        &bare,
        &["update-ref", "refs/heads/conflicting", &conflicting],
    );
    push_commit(&env, "acme", "app", "main", &[("other.txt", "ours\n")]);
    let dirty = env
        .seed_pull_request(
            "acme",
            "app",
            GithubPullRequest {
                title: "Conflicting".into(),
                head: "conflicting".into(),
                base: "main".into(),
                state: "OPEN".into(),
                author: "bob".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let main = head(&env, "acme", "app", "main");
    let conflict = run(&env, pr_merge(ALICE_TOKEN, dirty, &["--merge"])).await;
    assert_eq!(conflict.exit_code, Some(1));
    assert!(conflict.stderr.starts_with(&format!("X Pull request acme/app#{dirty} is not mergeable: the merge commit cannot be cleanly created.")), "{}", conflict.stderr);
    // gh checks the merge state before it asks for a merge method.
    let unasked = run(&env, pr_merge(ALICE_TOKEN, dirty, &[])).await;
    assert!(
        unasked
            .stderr
            .starts_with(&format!("X Pull request acme/app#{dirty} is not mergeable")),
        "{}",
        unasked.stderr
    );
    assert_eq!(head(&env, "acme", "app", "main"), main);
}

/// With the scheduler running (the end-to-end world: a whole bootstrap), Actions enabled:
/// the seed's push to main runs ci and cd, which pins main's commit in dev's BaseRepo; the
/// Kalypso Scheduler then delivers main at that commit and proposes it as a promotion: its
/// pull request to the gitops dev branch records the commit and is labelled `promoted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_dev_pin_the_schedulers_pull_request_is_a_promotion() {
    use crate::support::e2e::{all_new, Harness, CANARY, CONTROL_PLANE, GITOPS, ORG};
    let harness = Harness::new();
    harness.sim.set_github_actions_enabled(true);
    // The seed pushes main, then dev: a run takes a while (on GitHub ci alone takes half a
    // minute), so cd finds dev pushed. A run faster than the seed's next push would fail
    // as on GitHub: "A branch or tag with the name 'dev' could not be found".
    harness.sim.set_latency(
        harness
            .sim
            .latency()
            .with_actions_run(std::time::Duration::from_secs(1)),
    );
    harness.run(&all_new()).await.assert_success();
    let cp = format!("{ORG}/{CONTROL_PLANE}");
    let main = head(&harness.sim, ORG, CONTROL_PLANE, "main");
    // Runs and the scheduler act before each command; a few looks settle them.
    let mut promotion = None;
    for _ in 0..40 {
        let listed = ok_json(
            &harness.sim,
            gh_words(CANARY, &format!("pr list --repo {ORG}/{GITOPS} --base dev --state open --json number,labels,headRefName")),
        )
        .await;
        promotion = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|pull| {
                pull["labels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l["name"] == "promoted")
            })
            .cloned();
        if promotion.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let cp_runs = runs(&harness.sim, &cp);
    assert!(
        summary(&cp_runs).starts_with(&[
            run_of(("ci.yaml", "push", "main", "success")),
            run_of(("cd.yaml", "workflow_dispatch", "main", "success")),
        ]),
        "{cp_runs:?}"
    );
    assert!(
        pinned_in(&harness.sim, ORG, CONTROL_PLANE, "dev").contains(&format!("commit: \"{main}\""))
    );
    let promotion = promotion.expect("a pull request labelled promoted");
    let branch = promotion["headRefName"].as_str().unwrap();
    assert_eq!(
        file_at(
            &harness.sim,
            ORG,
            GITOPS,
            branch,
            ".github/tracking/Promoted_Commit_Id"
        ),
        main
    );
}

fn pinned_in(env: &SimulatedEnvironment, owner: &str, name: &str, environment: &str) -> String {
    file_at(env, owner, name, environment, "base-repo.yaml")
}

/// `gh api repos/OWNER/NAME/contents/PATH?ref=SHA`: a directory's listing, a file's JSON
/// with its base64 content, the raw file with `Accept: application/vnd.github.raw`, and
/// GitHub's 404s for a missing path or ref.
#[tokio::test]
async fn the_contents_api_reads_files_and_folders_at_a_commit() {
    let (_dir, env, _number, feature) = merge_world();
    let at =
        |path: &str, reference: &str| format!("repos/acme/app/contents/{path}?ref={reference}");
    let listing = ok_json(&env, gh(ALICE_TOKEN, &["api", &at("", &feature)])).await;
    let names: Vec<(&str, &str)> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("README.md", "file"), ("feature.txt", "file")]);

    let file = ok_json(
        &env,
        gh(ALICE_TOKEN, &["api", &at("feature.txt", &feature)]),
    )
    .await;
    assert_eq!(file["type"], "file");
    assert_eq!(file["encoding"], "base64");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(file["content"].as_str().unwrap().replace('\n', ""))
        .unwrap();
    assert_eq!(decoded, b"new\n");
    let raw = ok(
        &env,
        gh(
            ALICE_TOKEN,
            &[
                "api",
                "-H",
                "Accept: application/vnd.github.raw",
                &at("feature.txt", &feature),
            ],
        ),
    )
    .await;
    assert_eq!(raw, "new\n");
    // Not on main: no such file there.
    let missing = run(&env, gh(ALICE_TOKEN, &["api", &at("feature.txt", "main")])).await;
    assert_eq!(missing.exit_code, Some(1));
    assert_eq!(missing.stderr.trim(), "gh: Not Found (HTTP 404)");
    let no_ref = run(
        &env,
        gh(ALICE_TOKEN, &["api", &at("feature.txt", "nowhere")]),
    )
    .await;
    assert_eq!(
        no_ref.stderr.trim(),
        "gh: No commit found for the ref nowhere (HTTP 404)"
    );

    // A folder.
    push_commit(
        &env,
        "acme",
        "app",
        "main",
        &[("default/app/reconciler.yaml", "kind: X\n")],
    );
    let folder = ok_json(&env, gh(ALICE_TOKEN, &["api", &at("default", "main")])).await;
    assert_eq!(folder[0]["name"], "app");
    assert_eq!(folder[0]["type"], "dir");
    assert_eq!(folder[0]["path"], "default/app");
}

/// A world kept on disk (`--demo --state-file`) and restored by a later process: the
/// secret values are gone with the first process, but what the file kept of them (the
/// repository and environment they name, the login of a token) lets the whole chain run.
#[tokio::test]
async fn a_restored_world_runs_the_chain_with_what_its_file_kept_of_the_secrets() {
    use kalypso_bootstrap::sim::{Latency, DEMO_LOGIN};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("world");
    {
        let first = SimulatedEnvironment::demo_persistent(&root).unwrap();
        first.set_latency(Latency::zero());
        first.seed_github_org("acme", &[(DEMO_LOGIN, "admin")]);
        seeded_repositories(&first);
        configured(&first, true).await;
        first.set_github_actions_enabled(true);
        let_actions_run(&first).await;
    }
    let env = SimulatedEnvironment::demo_persistent(&root).unwrap();
    assert!(env.restored());
    env.set_latency(Latency::zero());
    let promoted = push_notes_to_control_plane_main(&env);
    let_actions_run(&env).await;
    assert!(pinned(&env, "dev").contains(&promoted));
    merge_promotion(&env, "dev", &promoted).await;
    let cp_runs = runs(&env, "acme/cp");
    assert!(
        cp_runs.iter().all(|run| run.conclusion == "success"),
        "{cp_runs:?}"
    );
    assert_eq!(cp_runs.len(), 4, "{cp_runs:?}");
    assert!(pinned(&env, "stage").contains(&format!("commit: \"{promoted}\"")));
}
