//! Rendering of the repository templates: embedded sources, placeholder handling, the required
//! structure, executable bits, the written layout, and a snapshot of a custom-named rendering.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::templates::listing::{assert_acme_cp_go_dev_snapshot, tree_listing};
use crate::support::templates::Rendered;
use kalypso_bootstrap::templates::structure::{self, Requirement};
use kalypso_bootstrap::templates::{
    render, sources, BranchKind, RenderedTemplates, RepoKind, RepoRef, TemplateContext,
    TemplateError, BLOCK_END, BLOCK_START, COMMENT_END, COMMENT_START, VARIABLES, VARIABLE_END,
    VARIABLE_START,
};
use kalypso_bootstrap::ExitCode;
use regex::Regex;

fn default_context() -> TemplateContext {
    TemplateContext::new(
        RepoRef::new("contoso", "kalypso-control-plane"),
        RepoRef::new("contoso", "kalypso-gitops"),
    )
}

fn custom_context() -> TemplateContext {
    crate::support::templates::acme_context()
}

fn contexts() -> [TemplateContext; 2] {
    [default_context(), custom_context()]
}

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("rendered files are text")
}

/// Every file below `dir`, as `/`-separated relative path → (contents, executable bit).
fn files_on_disk(dir: &Path) -> BTreeMap<String, (Vec<u8>, bool)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, bool)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                let relative = relative.to_str().unwrap().replace('\\', "/");
                let mode = fs::metadata(&path).unwrap().permissions().mode();
                out.insert(relative, (fs::read(&path).unwrap(), mode & 0o111 != 0));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn source_dir(branch: BranchKind) -> &'static str {
    match branch {
        BranchKind::Main => "main",
        BranchKind::Environment => "environment",
    }
}

fn all_files(rendered: &RenderedTemplates) -> Vec<(String, &[u8])> {
    let mut files = Vec::new();
    for repo in rendered.repos() {
        for branch in &repo.branches {
            for file in &branch.files {
                let name = format!("{}/{}/{}", repo.kind.dir_name(), branch.name, file.path);
                files.push((name, file.contents.as_slice()));
            }
        }
    }
    files
}

#[test]
fn the_embedded_sources_are_the_templates_directory() {
    let mut embedded = BTreeMap::new();
    for source in sources() {
        let name = format!(
            "{}/{}/{}",
            source.repo.dir_name(),
            source_dir(source.branch),
            source.path
        );
        embedded.insert(name, source.contents.to_vec());
    }
    let mut on_disk = BTreeMap::new();
    for repo in RepoKind::ALL {
        let dir = templates_dir().join(repo.dir_name());
        for (path, (contents, _)) in files_on_disk(&dir) {
            on_disk.insert(format!("{}/{path}", repo.dir_name()), contents);
        }
    }
    assert_eq!(
        embedded.keys().collect::<Vec<_>>(),
        on_disk.keys().collect::<Vec<_>>(),
        "the binary embeds a stale copy of templates/ (touch src/templates/render.rs to re-embed)"
    );
    assert_eq!(embedded, on_disk);
    // Hidden files and folders are part of the templates and must be embedded too.
    assert!(embedded.contains_key("control-plane/main/.sourceignore"));
    assert!(embedded.contains_key("gitops/environment/.github/workflows/check-promote.yaml"));
}

#[test]
fn the_executable_bits_of_the_sources_are_the_declared_ones() {
    for repo in RepoKind::ALL {
        for branch in BranchKind::ALL {
            let dir = templates_dir()
                .join(repo.dir_name())
                .join(source_dir(branch));
            for (path, (_, executable)) in files_on_disk(&dir) {
                assert_eq!(
                    executable,
                    structure::is_executable(repo, branch, &path),
                    "{repo}/{}/{path}: executable bit on disk vs. structure.rs",
                    source_dir(branch)
                );
            }
        }
    }
}

#[test]
fn each_repository_has_main_and_the_environment_branch() {
    let mut context = custom_context();
    context.environments = vec!["stage".into()];
    let rendered = render(&context).unwrap();
    for repo in rendered.repos() {
        let names: Vec<&str> = repo.branches.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["main", "stage"], "{}", repo.kind);
        assert_eq!(repo.branch(BranchKind::Environment).name, "stage");
    }
    assert_eq!(rendered.control_plane.repo, context.control_plane);
    assert_eq!(rendered.gitops.repo, context.gitops);
    let main = rendered.control_plane.branch(BranchKind::Main);
    assert!(main.file(".environments/stage.yaml").is_some());
    assert!(main.file(".environments/dev.yaml").is_none());
}

#[test]
fn every_rendered_branch_has_the_required_structure() {
    for context in contexts() {
        let rendered = render(&context).unwrap();
        for repo in rendered.repos() {
            for branch in &repo.branches {
                let missing = structure::missing(repo.kind, branch.kind, branch.paths());
                assert!(
                    missing.is_empty(),
                    "{} {}: {missing:?}",
                    repo.kind,
                    branch.name
                );
                for requirement in structure::requirements(repo.kind, branch.kind) {
                    if let Requirement::File {
                        path, executable, ..
                    } = requirement
                    {
                        assert_eq!(branch.file(path).unwrap().executable, *executable, "{path}");
                    }
                }
            }
        }
    }
}

#[test]
fn a_branch_without_a_required_file_reports_exactly_that_file() {
    let rendered = render(&default_context()).unwrap();
    for repo in rendered.repos() {
        for branch in &repo.branches {
            for requirement in structure::requirements(repo.kind, branch.kind) {
                let remaining: Vec<&str> = branch
                    .paths()
                    .filter(|path| match requirement {
                        Requirement::File { path: p, .. } => path != p,
                        Requirement::YamlUnder { dir, .. } => !path.starts_with(&format!("{dir}/")),
                    })
                    .collect();
                let missing = structure::missing(repo.kind, branch.kind, remaining);
                assert_eq!(missing, vec![requirement], "{} {}", repo.kind, branch.name);
            }
        }
    }
}

#[test]
fn the_files_named_in_the_issue_are_rendered() {
    let rendered = render(&default_context()).unwrap();
    let expect = |repo: RepoKind, branch: BranchKind, paths: &[&str]| {
        let branch = rendered.repo(repo).branch(branch);
        for path in paths {
            assert!(
                branch.file(path).is_some(),
                "{repo} {}: {path}",
                branch.name
            );
        }
    };
    expect(
        RepoKind::ControlPlane,
        BranchKind::Main,
        &[
            ".environments/dev.yaml",
            ".github/workflows/ci.yaml",
            ".github/workflows/cd.yaml",
            ".github/workflows/check-promote.yaml",
            "templates/default-template.yaml",
            "workloads/sample-workload-registration.yaml",
            ".sourceignore",
            "README.md",
        ],
    );
    expect(
        RepoKind::ControlPlane,
        BranchKind::Environment,
        &[
            "cluster-types/default.yaml",
            "configs/default-config.yaml",
            "scheduling-policies/default-policy.yaml",
            "base-repo.yaml",
            "gitops-repo.yaml",
            "README.md",
        ],
    );
    expect(RepoKind::Gitops, BranchKind::Main, &["README.md"]);
    expect(
        RepoKind::Gitops,
        BranchKind::Environment,
        &[".github/workflows/check-promote.yaml", "README.md"],
    );
    let sourceignore = rendered
        .control_plane
        .branch(BranchKind::Main)
        .file(".sourceignore")
        .unwrap();
    let ignored: Vec<&str> = text(&sourceignore.contents)
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    assert_eq!(ignored, [".github/", ".environments/"]);
}

/// The files the Kalypso Scheduler writes per deployment target, as its `githubrepo.go`
/// names them (1.1.0 and later, the chart we install): `reconciler`, `namespace` and
/// `platform-config`, each `.yaml` for YAML content.
const SCHEDULER_WRITES: [&str; 3] = ["reconciler.yaml", "namespace.yaml", "platform-config.yaml"];

#[test]
fn the_gitops_readme_and_the_docs_name_the_files_the_scheduler_writes() {
    let rendered = render(&default_context()).unwrap();
    let readme = rendered
        .repo(RepoKind::Gitops)
        .branch(BranchKind::Main)
        .file("README.md")
        .unwrap();
    let readme = text(&readme.contents).to_string();
    let docs =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/repositories.md"))
            .unwrap();
    // The scheduler writes no `config.yaml`: only `platform-config.yaml`.
    let stray = Regex::new(r"[^-]\bconfig\.yaml").unwrap();
    for (page, contents) in [("gitops README", &readme), ("docs/repositories.md", &docs)] {
        for file in SCHEDULER_WRITES {
            assert!(contents.contains(file), "{page} does not name {file}");
        }
        assert!(
            !stray.is_match(contents),
            "{page} names a config.yaml the scheduler does not write"
        );
    }
}

fn yaml_documents(name: &str, contents: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(contents)
        .map(|document| {
            serde_yaml::Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{name} is not valid YAML: {error}"))
        })
        .collect()
}

#[test]
fn every_yaml_file_parses() {
    let mut checked = 0;
    for context in contexts() {
        let rendered = render(&context).unwrap();
        for (name, contents) in all_files(&rendered) {
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                let documents = yaml_documents(&name, text(contents));
                assert!(documents.iter().any(|d| !d.is_null()), "{name} is empty");
                checked += 1;
            }
        }
    }
    assert!(checked >= 2 * 12, "only {checked} YAML files rendered");
}

#[test]
fn a_yaml_file_that_does_not_parse_is_detected() {
    // The check above relies on the parser rejecting broken YAML.
    let broken = "kind: Environment\nspec:\n  controlPlane: [repo\n";
    let result = std::panic::catch_unwind(|| yaml_documents("broken.yaml", broken));
    assert!(result.is_err());
}

/// The placeholders of others: GitHub expressions, Go templates (Kalypso's) and shell variables.
fn foreign_placeholders(source: &str) -> Vec<String> {
    let github = Regex::new(r"\$\{\{.*?\}\}").unwrap();
    let go_template = Regex::new(r"(?:^|[^$])(\{\{.*?\}\})").unwrap();
    let shell = Regex::new(r"\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^{}]*\}").unwrap();
    let mut found: Vec<String> = github
        .find_iter(source)
        .map(|m| m.as_str().to_string())
        .collect();
    found.extend(
        go_template
            .captures_iter(source)
            .map(|c| c.get(1).unwrap().as_str().to_string()),
    );
    found.extend(shell.find_iter(source).map(|m| m.as_str().to_string()));
    found
}

fn value_of(context: &TemplateContext, name: &str) -> String {
    let cp = &context.control_plane;
    let gitops = &context.gitops;
    match name {
        "control_plane_url" => cp.url(),
        "control_plane_repo" => cp.slug(),
        "control_plane_owner" => cp.owner.clone(),
        "control_plane_name" => cp.name.clone(),
        "gitops_url" => gitops.url(),
        "gitops_repo" => gitops.slug(),
        "gitops_owner" => gitops.owner.clone(),
        "gitops_name" => gitops.name.clone(),
        "namespace" => context.namespace.clone(),
        "environment" => context.first_environment().to_string(),
        "cluster_type" => context.cluster_type.clone(),
        other => panic!("unknown placeholder {other}"),
    }
}

/// A substitution done independently of the engine: each `[[= name =]]` replaced by its value.
fn substitute(context: &TemplateContext, source: &str) -> String {
    let tag = Regex::new(r"\[\[=\s*([a-z_]+)\s*=\]\]").unwrap();
    tag.replace_all(source, |captures: &regex::Captures| {
        value_of(context, &captures[1])
    })
    .into_owned()
}

#[test]
fn everything_but_our_placeholders_comes_out_byte_for_byte() {
    for context in contexts() {
        let rendered = render(&context).unwrap();
        for source in sources() {
            let source_text = text(source.contents);
            let branch = rendered.repo(source.repo).branch(source.branch);
            let path = substitute(&context, source.path);
            let file = branch
                .file(&path)
                .unwrap_or_else(|| panic!("{} was not rendered", source.path));
            assert_eq!(
                text(&file.contents),
                substitute(&context, source_text),
                "{}/{}",
                source.repo,
                source.path
            );
        }
    }
}

#[test]
fn github_expressions_go_templates_and_shell_variables_survive() {
    let rendered = render(&custom_context()).unwrap();
    let shell_variable = Regex::new(r"\$[A-Z_]+\b").unwrap();
    let mut totals = BTreeMap::from([("${{", 0), ("{{ .", 0), ("$VAR", 0)]);
    for source in sources() {
        let source_text = text(source.contents);
        let branch = rendered.repo(source.repo).branch(source.branch);
        let file = branch
            .file(&substitute(&custom_context(), source.path))
            .unwrap();
        let output = text(&file.contents);
        let mut expected: BTreeMap<String, usize> = BTreeMap::new();
        for placeholder in foreign_placeholders(source_text) {
            *expected.entry(placeholder).or_default() += 1;
        }
        for (placeholder, count) in &expected {
            assert!(
                output.matches(placeholder.as_str()).count() >= *count,
                "{}/{}: {placeholder} lost in rendering",
                source.repo,
                source.path
            );
        }
        *totals.get_mut("${{").unwrap() += source_text.matches("${{").count();
        *totals.get_mut("{{ .").unwrap() += source_text.matches("{{ .").count();
        *totals.get_mut("$VAR").unwrap() += shell_variable.find_iter(source_text).count();
        assert_eq!(
            output.matches("${{").count(),
            source_text.matches("${{").count()
        );
        assert_eq!(
            output.matches("{{ .").count(),
            source_text.matches("{{ .").count()
        );
    }
    // The check means something only if the sources use all three kinds.
    for (kind, total) in totals {
        assert!(
            total > 5,
            "the sources contain only {total} {kind} placeholders"
        );
    }
}

#[test]
fn no_placeholder_of_ours_remains() {
    for context in contexts() {
        let rendered = render(&context).unwrap();
        for (name, contents) in all_files(&rendered) {
            for marker in [
                VARIABLE_START,
                VARIABLE_END,
                BLOCK_START,
                BLOCK_END,
                COMMENT_START,
                COMMENT_END,
            ] {
                assert!(!name.contains(marker), "{name}");
                assert!(!text(contents).contains(marker), "{name} contains {marker}");
            }
        }
    }
}

#[test]
fn every_placeholder_name_is_used_and_no_other() {
    let tag = Regex::new(r"\[\[=\s*([a-z_]+)\s*=\]\]").unwrap();
    let mut used = BTreeSet::new();
    for source in sources() {
        for text in [source.path, text(source.contents)] {
            for captures in tag.captures_iter(text) {
                used.insert(captures[1].to_string());
            }
            // Only variable tags: anything else would be engine syntax the tests do not model.
            for marker in [BLOCK_START, COMMENT_START] {
                assert!(!text.contains(marker), "{}: {marker}", source.path);
            }
        }
    }
    let known: BTreeSet<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
    assert!(
        used.is_subset(&known),
        "unknown: {:?}",
        used.difference(&known)
    );
    for required in [
        "control_plane_url",
        "control_plane_repo",
        "gitops_url",
        "gitops_repo",
        "namespace",
        "environment",
        "cluster_type",
    ] {
        assert!(used.contains(required), "{required} is never used");
    }
}

#[test]
fn custom_repository_names_flow_into_every_reference() {
    let context = TemplateContext::new(
        RepoRef::new("sentinel-org", "sentinel-cp"),
        RepoRef::new("sentinel-org", "sentinel-go"),
    );
    let rendered = render(&context).unwrap();
    let url =
        Regex::new(r"https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9._-]*[A-Za-z0-9_-])").unwrap();
    let allowed: BTreeSet<&str> = [
        "sentinel-org/sentinel-cp",
        "sentinel-org/sentinel-go",
        // References to Kalypso itself and to the public sample workload.
        "microsoft/kalypso-scheduler",
        "microsoft/kalypso-app-src",
    ]
    .into();
    for (name, contents) in all_files(&rendered) {
        let contents = text(contents);
        for captures in url.captures_iter(contents) {
            let slug = format!("{}/{}", &captures[1], &captures[2]);
            assert!(allowed.contains(slug.as_str()), "{name} refers to {slug}");
        }
        for default_name in [
            "kalypso-control-plane",
            "kalypso-gitops",
            "control-plane-repo",
        ] {
            assert!(
                !contents.contains(default_name),
                "{name} hard-codes {default_name}"
            );
        }
    }

    let yaml = |repo: RepoKind, branch: BranchKind, path: &str| {
        let file = rendered.repo(repo).branch(branch).file(path).unwrap();
        yaml_documents(path, text(&file.contents))
            .into_iter()
            .find(|d| !d.is_null())
            .unwrap()
    };
    let cp_url = "https://github.com/sentinel-org/sentinel-cp";
    let gitops_url = "https://github.com/sentinel-org/sentinel-go";
    let environment = yaml(
        RepoKind::ControlPlane,
        BranchKind::Main,
        ".environments/dev.yaml",
    );
    assert_eq!(environment["spec"]["controlPlane"]["repo"], cp_url);
    assert_eq!(environment["spec"]["controlPlane"]["branch"], "dev");
    let base = yaml(
        RepoKind::ControlPlane,
        BranchKind::Environment,
        "base-repo.yaml",
    );
    assert_eq!(base["spec"]["repo"], cp_url);
    assert_eq!(base["spec"]["branch"], "main");
    let gitops = yaml(
        RepoKind::ControlPlane,
        BranchKind::Environment,
        "gitops-repo.yaml",
    );
    assert_eq!(gitops["spec"]["repo"], gitops_url);
    assert_eq!(gitops["spec"]["branch"], "dev");
    let cd = yaml(
        RepoKind::ControlPlane,
        BranchKind::Main,
        ".github/workflows/cd.yaml",
    );
    assert_eq!(cd["jobs"]["promote"]["env"]["CONTROL_PLANE_URL"], cp_url);
    // The gitops workflow dispatches into the control-plane repository by its custom name.
    let hand_back = yaml(
        RepoKind::Gitops,
        BranchKind::Environment,
        ".github/workflows/check-promote.yaml",
    );
    let dispatch = &hand_back["jobs"]["hand-back"]["steps"][1];
    assert_eq!(
        dispatch["env"]["CONTROL_PLANE_REPO"],
        "sentinel-org/sentinel-cp"
    );
    assert!(dispatch["run"]
        .as_str()
        .unwrap()
        .contains("--repo \"$CONTROL_PLANE_REPO\""));
    assert_eq!(hand_back["on"]["push"]["branches"][0], "dev");
}

#[test]
fn the_workflows_read_the_secrets_the_engine_sets() {
    let rendered = render(&default_context()).unwrap();
    let cp_main = rendered.control_plane.branch(BranchKind::Main);
    let check_promote = text(
        &cp_main
            .file(".github/workflows/check-promote.yaml")
            .unwrap()
            .contents,
    );
    for secret in ["GITOPS_REPO", "GITOPS_REPO_TOKEN", "NEXT_ENVIRONMENT"] {
        assert!(
            check_promote.contains(&format!("${{{{ secrets.{secret} }}}}")),
            "{secret}"
        );
    }
    let gitops_workflow = text(
        &rendered
            .gitops
            .branch(BranchKind::Environment)
            .file(".github/workflows/check-promote.yaml")
            .unwrap()
            .contents,
    );
    assert!(gitops_workflow.contains("${{ secrets.CONTROL_PLANE_TOKEN }}"));
    assert!(gitops_workflow.contains(r#".name == "promoted""#));
    // The READMEs name the secrets and the label.
    let cp_readme = text(&cp_main.file("README.md").unwrap().contents);
    for secret in ["GITOPS_REPO", "GITOPS_REPO_TOKEN", "NEXT_ENVIRONMENT"] {
        assert!(cp_readme.contains(&format!("`{secret}`")), "{secret}");
    }
    let gitops_readme = text(
        &rendered
            .gitops
            .branch(BranchKind::Main)
            .file("README.md")
            .unwrap()
            .contents,
    );
    assert!(gitops_readme.contains("`CONTROL_PLANE_TOKEN`"));
    assert!(gitops_readme.contains("`promoted`"));
}

#[test]
fn executable_bits_survive_rendering_and_writing() {
    let rendered = render(&custom_context()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    rendered.write_rendered(dir.path()).unwrap();
    let mut scripts = 0;
    for source in sources() {
        let disk_mode = fs::metadata(
            templates_dir()
                .join(source.repo.dir_name())
                .join(source_dir(source.branch))
                .join(source.path),
        )
        .unwrap()
        .permissions()
        .mode();
        let branch = rendered.repo(source.repo).branch(source.branch);
        let path = substitute(&custom_context(), source.path);
        let file = branch.file(&path).unwrap();
        assert_eq!(file.executable, disk_mode & 0o111 != 0, "{path}");
        let written = dir
            .path()
            .join(source.repo.dir_name())
            .join(&branch.name)
            .join(&path);
        let mode = fs::metadata(&written).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, if file.executable { 0o755 } else { 0o644 }, "{path}");
        scripts += usize::from(file.executable);
    }
    assert_eq!(scripts, 4, "the four helper scripts of the control plane");
}

#[test]
fn write_rendered_lays_out_repository_and_branch_directories() {
    let rendered = render(&custom_context()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let written = rendered.write_rendered(&out).unwrap();
    assert_eq!(
        written,
        [
            "control-plane/main",
            "control-plane/dev",
            "gitops/main",
            "gitops/dev"
        ]
        .iter()
        .map(|p| out.join(p))
        .collect::<Vec<_>>()
    );
    for repo in rendered.repos() {
        for branch in &repo.branches {
            let on_disk = files_on_disk(&out.join(repo.kind.dir_name()).join(&branch.name));
            let expected: BTreeMap<String, (Vec<u8>, bool)> = branch
                .files
                .iter()
                .map(|f| (f.path.clone(), (f.contents.clone(), f.executable)))
                .collect();
            assert_eq!(on_disk, expected, "{} {}", repo.kind, branch.name);
        }
    }
    // A second rendering never mixes with the first.
    match rendered.write_rendered(&out) {
        Err(error @ TemplateError::TargetNotEmpty { .. }) => {
            let message = error.to_string();
            assert!(message.contains("control-plane/main"), "{message}");
            assert!(message.contains("not empty"), "{message}");
        }
        other => panic!("expected TargetNotEmpty, got {other:?}"),
    }
}

#[test]
fn an_invalid_context_is_rejected_with_a_configuration_error() {
    let mut context = custom_context();
    context.namespace = "Kalypso System".into();
    let error = render(&context).unwrap_err();
    assert_eq!(error.exit_code(), ExitCode::ConfigInvalid);
    let message = error.to_string();
    assert!(message.contains("namespace"), "{message}");
    assert!(message.contains("Kalypso System"), "{message}");
    assert!(message.contains("lowercase"), "{message}");
}

#[test]
fn snapshot_of_the_custom_named_rendering() {
    let rendered = Rendered::new(&custom_context());
    assert_acme_cp_go_dev_snapshot(&tree_listing(rendered.dir.path()));
}

/// Whether a Kubernetes label selector (`matchLabels`, `matchExpressions` with `In`, `NotIn`,
/// `Exists`, `DoesNotExist`) selects `labels`.
fn label_selector_selects(selector: &serde_yaml::Value, labels: &serde_yaml::Value) -> bool {
    let label = |key: &str| labels.get(key).and_then(serde_yaml::Value::as_str);
    let by_labels = selector
        .get("matchLabels")
        .and_then(serde_yaml::Value::as_mapping)
        .is_none_or(|wanted| {
            wanted
                .iter()
                .all(|(key, value)| label(key.as_str().unwrap()) == value.as_str())
        });
    let by_expressions = selector
        .get("matchExpressions")
        .and_then(serde_yaml::Value::as_sequence)
        .is_none_or(|expressions| {
            expressions.iter().all(|expression| {
                let value = label(expression["key"].as_str().unwrap());
                let values: Vec<&str> = expression
                    .get("values")
                    .and_then(serde_yaml::Value::as_sequence)
                    .map(|values| values.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                match expression["operator"].as_str().unwrap() {
                    "In" => value.is_some_and(|v| values.contains(&v)),
                    "NotIn" => value.is_none_or(|v| !values.contains(&v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    other => panic!("{other} is not a label selector operator"),
                }
            })
        });
    by_labels && by_expressions
}

/// The default SchedulingPolicy of every environment branch places exactly the sample
/// workload's deployment target of that environment (upstream's workload.yaml, as the
/// simulator vendors it: functional-test in dev, uat-test in stage), so a workload reaches
/// each environment of a dev, stage chain.
#[test]
fn the_default_policy_places_the_sample_target_of_each_environment() {
    let workload_yaml = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/sim/upstream/kalypso-app-src/workload/workload.yaml"),
    )
    .unwrap();
    let workload = &yaml_documents("workload.yaml", &workload_yaml)[0];
    let targets = workload["spec"]["deploymentTargets"].as_sequence().unwrap();
    for (environment, expected) in [("dev", "functional-test"), ("stage", "uat-test")] {
        let mut context = custom_context();
        context.environments = vec![environment.into()];
        let rendered = render(&context).unwrap();
        let policy = rendered
            .control_plane
            .branch(BranchKind::Environment)
            .file("scheduling-policies/default-policy.yaml")
            .unwrap();
        let policy = &yaml_documents("default-policy.yaml", text(&policy.contents))[0];
        let selector = &policy["spec"]["deploymentTargetSelector"]["labelSelector"];
        // The scheduler offers a namespace's policies the targets of its environment only.
        let placed: Vec<&str> = targets
            .iter()
            .filter(|target| target["environment"].as_str() == Some(environment))
            .filter(|target| label_selector_selects(selector, &target["labels"]))
            .map(|target| target["name"].as_str().unwrap())
            .collect();
        assert_eq!(placed, [expected], "{environment}");
    }
}
