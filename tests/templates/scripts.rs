//! The helper scripts the control-plane workflows run, executed for real on the rendered
//! output: `check-manifests.py` (needs python3 with PyYAML), `promote.sh` against a local bare
//! repository with real git, and `update-status.sh` / `verify-deployment.sh` with a recording
//! stand-in for `gh` (the GitHub API is not reachable from tests).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::templates::crd::{load_crds, validate_resource};
use crate::support::templates::fake_gh::Gh;
use crate::support::templates::{all_output, stdout, Rendered};
use serde_json::Value;
use tempfile::TempDir;

const CP_URL: &str = "https://github.com/acme/cp";

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git must be installed");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        all_output(&output)
    );
    stdout(&output).trim().to_string()
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

// ---- check-manifests.py ----

fn check_manifests(rendered: &Rendered, root: &Path) -> Output {
    let output = Command::new(rendered.script("check-manifests.py"))
        .arg(root)
        .output()
        .unwrap_or_else(|error| {
            panic!("check-manifests.py could not run (needs python3): {error}")
        });
    assert!(
        !all_output(&output).contains("PyYAML is required"),
        "check-manifests.py needs PyYAML: python3 -m pip install PyYAML"
    );
    output
}

#[test]
fn check_manifests_accepts_the_rendered_control_plane() {
    let rendered = Rendered::acme();
    let output = check_manifests(&rendered, &rendered.branch("control-plane", "main"));
    assert!(output.status.success(), "{}", all_output(&output));
    assert!(stdout(&output).contains("YAML file(s) checked, no problems"));
    // The environment branch holds Kubernetes objects only, and passes too.
    let output = check_manifests(&rendered, &rendered.branch("control-plane", "dev"));
    assert!(output.status.success(), "{}", all_output(&output));
}

#[test]
fn check_manifests_reports_each_broken_file() {
    let rendered = Rendered::acme();
    let root = rendered.branch("control-plane", "main");
    let workload = root.join("workloads/sample-workload-registration.yaml");
    let text = fs::read_to_string(&workload).unwrap();
    fs::write(&workload, text.replace("  name: hello-world-app\n", "")).unwrap();
    fs::write(root.join("templates/broken.yaml"), "kind: [Template\n").unwrap();
    let promote = rendered.script("promote.sh");
    fs::set_permissions(&promote, fs::Permissions::from_mode(0o644)).unwrap();

    let output = check_manifests(&rendered, &root);
    assert_eq!(output.status.code(), Some(1), "{}", all_output(&output));
    let report = stdout(&output);
    assert!(report.contains(
        "::error file=workloads/sample-workload-registration.yaml::document 1 has no metadata.name"
    ), "{report}");
    assert!(
        report.contains("::error file=templates/broken.yaml::not valid YAML"),
        "{report}"
    );
    assert!(
        report.contains(
            "::error file=.github/workflows/utils/promote.sh::helper script is not executable"
        ),
        "{report}"
    );
    assert_eq!(report.matches("::error").count(), 3, "{report}");
}

// ---- promote.sh ----

/// A bare "origin" with the rendered control-plane `main` and `dev` branches, a full clone
/// of main (the workflow's first checkout) and a clone of dev (its second checkout).
struct ControlPlaneRemote {
    _dir: TempDir,
    origin: PathBuf,
    main_checkout: PathBuf,
    dev_checkout: PathBuf,
    main_head: String,
}

fn control_plane_remote(rendered: &Rendered) -> ControlPlaneRemote {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin.git");
    let seed = dir.path().join("seed");
    fs::create_dir_all(&origin).unwrap();
    fs::create_dir_all(&seed).unwrap();
    git(&origin, &["init", "--bare", "--quiet"]);
    git(&seed, &["init", "--quiet"]);
    git(
        &seed,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    copy_tree(&rendered.branch("control-plane", "main"), &seed);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "--quiet", "-m", "main"]);
    git(
        &seed,
        &["push", "--quiet", "origin", "HEAD:refs/heads/main"],
    );
    let main_head = git(&seed, &["rev-parse", "HEAD"]);
    git(&seed, &["checkout", "--quiet", "--orphan", "dev"]);
    git(&seed, &["rm", "-r", "--quiet", "-f", "."]);
    copy_tree(&rendered.branch("control-plane", "dev"), &seed);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "--quiet", "-m", "dev"]);
    git(&seed, &["push", "--quiet", "origin", "HEAD:refs/heads/dev"]);

    let main_checkout = dir.path().join("main-checkout");
    let dev_checkout = main_checkout.join(".environment-branch");
    let origin_str = origin.to_str().unwrap();
    git(
        dir.path(),
        &[
            "clone",
            "--quiet",
            "--branch",
            "main",
            origin_str,
            "main-checkout",
        ],
    );
    git(
        &main_checkout,
        &[
            "clone",
            "--quiet",
            "--branch",
            "dev",
            origin_str,
            ".environment-branch",
        ],
    );
    ControlPlaneRemote {
        _dir: dir,
        origin,
        main_checkout,
        dev_checkout,
        main_head,
    }
}

fn promote(
    rendered: &Rendered,
    remote: &ControlPlaneRemote,
    environment: &str,
    commit: &str,
) -> Output {
    Command::new(rendered.script("promote.sh"))
        .arg(".environment-branch")
        .current_dir(&remote.main_checkout)
        .env("ENVIRONMENT", environment)
        .env("PROMOTED_COMMIT_ID", commit)
        .env("CONTROL_PLANE_URL", CP_URL)
        .output()
        .unwrap()
}

#[test]
fn promote_pins_the_commit_in_the_environment_branch_with_plain_git() {
    let rendered = Rendered::acme();
    let remote = control_plane_remote(&rendered);
    let before = git(&remote.origin, &["rev-parse", "dev"]);

    let output = promote(&rendered, &remote, "dev", &remote.main_head);
    assert!(output.status.success(), "{}", all_output(&output));

    let head = git(&remote.origin, &["rev-parse", "dev"]);
    assert_ne!(head, before, "nothing was pushed to dev");
    assert_eq!(git(&remote.origin, &["rev-parse", "dev~1"]), before);
    assert_eq!(
        git(&remote.origin, &["log", "-1", "--format=%s", "dev"]),
        format!("Promote {} to dev", remote.main_head)
    );
    let written = git(&remote.origin, &["show", "dev:base-repo.yaml"]);
    let base_repo: Value = serde_yaml::from_str(&written).unwrap();
    // What promote.sh writes is what the Kalypso Scheduler accepts: a valid BaseRepo.
    let errors = validate_resource(&load_crds(), &base_repo);
    assert!(errors.is_empty(), "{written}\n{errors:#?}");
    assert_eq!(base_repo["apiVersion"], "scheduler.kalypso.io/v1alpha1");
    assert_eq!(base_repo["kind"], "BaseRepo");
    assert_eq!(base_repo["metadata"]["name"], "main");
    assert_eq!(base_repo["spec"]["repo"], CP_URL);
    assert_eq!(base_repo["spec"]["branch"], "main");
    assert_eq!(base_repo["spec"]["path"], ".");
    assert_eq!(base_repo["spec"]["commit"], remote.main_head.as_str());
    // Only base-repo.yaml changed; the rest of the environment branch is untouched.
    assert_eq!(
        git(&remote.origin, &["diff", "--name-only", &before, &head]),
        "base-repo.yaml"
    );

    // Promoting the same commit again pushes nothing.
    let output = promote(&rendered, &remote, "dev", &remote.main_head);
    assert!(output.status.success(), "{}", all_output(&output));
    assert!(
        stdout(&output).contains("already pins"),
        "{}",
        stdout(&output)
    );
    assert_eq!(git(&remote.origin, &["rev-parse", "dev"]), head);
    assert!(remote.dev_checkout.join("base-repo.yaml").exists());
}

#[test]
fn promote_refuses_a_commit_that_is_not_on_main_and_bad_inputs() {
    let rendered = Rendered::acme();
    let remote = control_plane_remote(&rendered);
    let before = git(&remote.origin, &["rev-parse", "dev"]);
    let cases = [
        (
            "dev",
            "0123456789abcdef0123456789abcdef01234567",
            "is not a commit of main",
        ),
        ("dev", "HEAD", "full 40-character commit id"),
        (
            "main",
            remote.main_head.as_str(),
            "environment must name an environment branch",
        ),
        (
            "dev;rm",
            remote.main_head.as_str(),
            "environment must name an environment branch",
        ),
    ];
    for (environment, commit, message) in cases {
        let output = promote(&rendered, &remote, environment, commit);
        assert!(!output.status.success(), "{environment} {commit}");
        assert!(
            all_output(&output).contains(message),
            "{}",
            all_output(&output)
        );
    }
    assert_eq!(git(&remote.origin, &["rev-parse", "dev"]), before);
}

// ---- update-status.sh and verify-deployment.sh, with a stand-in for gh ----

const PROMOTED: &str = "1111111111111111111111111111111111111111";
const DEPLOYED: &str = "2222222222222222222222222222222222222222";

#[test]
fn update_status_sets_the_environment_status_on_the_promoted_commit() {
    let rendered = Rendered::acme();
    let gh = Gh::new();
    let output = gh
        .command(rendered.script("update-status.sh"))
        .args(["pending", "Deploying to dev"])
        .env("GITHUB_REPOSITORY", "acme/cp")
        .env("PROMOTED_COMMIT_ID", PROMOTED)
        .env("ENVIRONMENT", "dev")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "42")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", all_output(&output));
    assert_eq!(
        gh.calls(),
        [[
            "api",
            "--method",
            "POST",
            &format!("repos/acme/cp/statuses/{PROMOTED}"),
            "-f",
            "state=pending",
            "-f",
            "context=kalypso/dev",
            "-f",
            "description=Deploying to dev",
            "-f",
            "target_url=https://github.com/acme/cp/actions/runs/42",
            "--silent",
        ]
        .map(String::from)]
    );

    let output = gh
        .command(rendered.script("update-status.sh"))
        .args(["done", "x"])
        .env("GITHUB_REPOSITORY", "acme/cp")
        .env("PROMOTED_COMMIT_ID", PROMOTED)
        .env("ENVIRONMENT", "dev")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(all_output(&output).contains("must be pending, success, failure or error"));
    assert_eq!(gh.calls().len(), 1, "no call for a bad state");
}

fn verify(
    gh: &Gh,
    rendered: &Rendered,
    compare: &str,
    tracking: Option<&str>,
    promoted: Option<&str>,
) -> Output {
    let mut command = gh.command(rendered.script("verify-deployment.sh"));
    command
        .env("GITOPS_REPO", "acme/go")
        .env("ENVIRONMENT", "dev")
        .env("COMMIT_ID", DEPLOYED)
        .env("FAKE_COMPARE_STATUS", compare);
    if let Some(tracking) = tracking {
        command.env("FAKE_TRACKING", tracking);
    }
    if let Some(promoted) = promoted {
        command.env("PROMOTED_COMMIT_ID", promoted);
    }
    command.output().unwrap()
}

#[test]
fn verify_deployment_passes_when_the_commit_is_deployed_and_carries_the_promotion() {
    let rendered = Rendered::acme();
    for relation in ["identical", "ahead"] {
        let gh = Gh::new();
        let output = verify(&gh, &rendered, relation, Some(PROMOTED), Some(PROMOTED));
        assert!(output.status.success(), "{}", all_output(&output));
        assert!(stdout(&output).contains("Post-deployment checks for dev passed."));
        let calls = gh.calls();
        assert_eq!(calls.len(), 2);
        assert!(calls[0].contains(&format!("repos/acme/go/compare/{DEPLOYED}...dev")));
        assert!(calls[1].contains(&format!(
            "repos/acme/go/contents/.github/tracking/Promoted_Commit_Id?ref={DEPLOYED}"
        )));
    }
    // Without a promoted commit only the branch is checked.
    let gh = Gh::new();
    let output = verify(&gh, &rendered, "identical", None, None);
    assert!(output.status.success(), "{}", all_output(&output));
    assert_eq!(gh.calls().len(), 1);
}

#[test]
fn verify_deployment_fails_when_the_deployment_does_not_match() {
    let rendered = Rendered::acme();
    let cases = [
        (
            "diverged",
            Some(PROMOTED),
            "is not on the dev branch of acme/go (it is diverged)",
        ),
        (
            "behind",
            Some(PROMOTED),
            "is not on the dev branch of acme/go (it is behind)",
        ),
        (
            "ahead",
            Some(DEPLOYED),
            &*format!("carries {DEPLOYED}, not the promoted commit {PROMOTED}"),
        ),
        ("ahead", None, "records no promoted commit"),
    ];
    for (relation, tracking, message) in cases {
        let gh = Gh::new();
        let output = verify(&gh, &rendered, relation, tracking, Some(PROMOTED));
        assert!(!output.status.success(), "{relation} {tracking:?}");
        assert!(
            all_output(&output).contains(message),
            "{}",
            all_output(&output)
        );
    }
}

#[test]
fn verify_deployment_names_a_missing_secret() {
    let rendered = Rendered::acme();
    let gh = Gh::new();
    let output = gh
        .command(rendered.script("verify-deployment.sh"))
        .env("ENVIRONMENT", "dev")
        .env("COMMIT_ID", DEPLOYED)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        all_output(&output).contains("the GITOPS_REPO secret"),
        "{}",
        all_output(&output)
    );
    assert!(gh.calls().is_empty());
}

/// On an Enterprise Server runner the scripts call gh on the server's host, with the token
/// where gh reads it for such a host (`GH_ENTERPRISE_TOKEN`).
#[test]
fn the_scripts_call_gh_on_the_github_they_run_on() {
    let rendered = Rendered::acme();
    for (server, host) in [
        ("https://ghe.example.test", "ghe.example.test"),
        ("https://github.com", "github.com"),
    ] {
        let gh = Gh::new();
        let status = gh
            .command(rendered.script("update-status.sh"))
            .args(["pending", "Deploying to dev"])
            .env("GITHUB_REPOSITORY", "acme/cp")
            .env("PROMOTED_COMMIT_ID", PROMOTED)
            .env("ENVIRONMENT", "dev")
            .env("GITHUB_SERVER_URL", server)
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", all_output(&status));
        let verify = gh
            .command(rendered.script("verify-deployment.sh"))
            .env("GITOPS_REPO", "acme/go")
            .env("ENVIRONMENT", "dev")
            .env("COMMIT_ID", DEPLOYED)
            .env("GITHUB_SERVER_URL", server)
            .env("FAKE_COMPARE_STATUS", "identical")
            .output()
            .unwrap();
        assert!(verify.status.success(), "{}", all_output(&verify));
        let reached = gh.reached();
        assert_eq!(reached.len(), 2, "{reached:?}");
        for call in reached {
            assert_eq!(call, (host.to_string(), "test-token".to_string()));
        }
    }
}
