//! What a working control-plane or gitops repository must contain, per branch.
//!
//! This is the single source of that knowledge: rendering uses it for the executable bits of
//! helper scripts, and validating an existing repository (FR-007) asks [`missing`] which
//! requirements the files on a branch do not meet.

use std::collections::BTreeSet;
use std::fmt;

/// The two repositories the tool creates or validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoKind {
    ControlPlane,
    Gitops,
}

impl RepoKind {
    pub const ALL: [RepoKind; 2] = [RepoKind::ControlPlane, RepoKind::Gitops];

    /// Directory name used for this repository in the template sources and in rendered output.
    pub fn dir_name(self) -> &'static str {
        match self {
            RepoKind::ControlPlane => "control-plane",
            RepoKind::Gitops => "gitops",
        }
    }
}

impl fmt::Display for RepoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name())
    }
}

/// The two branches of each repository: `main` and the environment branch (named after the
/// environment, `dev` by default; Kalypso keeps one branch per environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BranchKind {
    Main,
    Environment,
}

impl BranchKind {
    pub const ALL: [BranchKind; 2] = [BranchKind::Main, BranchKind::Environment];

    /// The git branch name, given the environment's name.
    pub fn branch_name(self, environment: &str) -> &str {
        match self {
            BranchKind::Main => MAIN_BRANCH,
            BranchKind::Environment => environment,
        }
    }

    /// Directory of this branch's files inside a repository's template sources.
    pub(crate) fn source_dir(self) -> &'static str {
        match self {
            BranchKind::Main => "main",
            BranchKind::Environment => "environment",
        }
    }
}

/// The branch every repository starts from; an environment may not reuse this name.
pub const MAIN_BRANCH: &str = "main";

/// One thing a branch must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A file at exactly this path (relative to the repository root, `/`-separated).
    File {
        path: &'static str,
        /// Helper scripts the workflows run directly must carry the executable bit.
        executable: bool,
        purpose: &'static str,
    },
    /// At least one `.yaml`/`.yml` file anywhere below this directory.
    YamlUnder {
        dir: &'static str,
        purpose: &'static str,
    },
}

impl Requirement {
    pub fn purpose(&self) -> &'static str {
        match self {
            Requirement::File { purpose, .. } | Requirement::YamlUnder { purpose, .. } => purpose,
        }
    }

    /// Whether the given set of normalised paths satisfies this requirement.
    fn is_met_by(&self, present: &BTreeSet<String>) -> bool {
        match self {
            Requirement::File { path, .. } => present.contains(*path),
            Requirement::YamlUnder { dir, .. } => {
                let prefix = format!("{dir}/");
                present.iter().any(|path| {
                    path.starts_with(&prefix) && (path.ends_with(".yaml") || path.ends_with(".yml"))
                })
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::File {
                path,
                executable: true,
                purpose,
            } => write!(f, "{path} (executable; {purpose})"),
            Requirement::File { path, purpose, .. } => write!(f, "{path} ({purpose})"),
            Requirement::YamlUnder { dir, purpose } => {
                write!(f, "a YAML file under {dir}/ ({purpose})")
            }
        }
    }
}

const CONTROL_PLANE_MAIN: &[Requirement] = &[
    Requirement::File {
        path: ".github/workflows/ci.yaml",
        executable: false,
        purpose: "checks every push to main and starts the promotion to the first environment",
    },
    Requirement::File {
        path: ".github/workflows/cd.yaml",
        executable: false,
        purpose: "pins the promoted commit in an environment branch",
    },
    Requirement::File {
        path: ".github/workflows/check-promote.yaml",
        executable: false,
        purpose: "post-deployment checks, commit statuses and promotion to the next environment",
    },
    Requirement::File {
        path: ".github/workflows/utils/check-manifests.py",
        executable: true,
        purpose: "run by ci.yaml",
    },
    Requirement::File {
        path: ".github/workflows/utils/promote.sh",
        executable: true,
        purpose: "run by cd.yaml",
    },
    Requirement::File {
        path: ".github/workflows/utils/update-status.sh",
        executable: true,
        purpose: "run by cd.yaml and check-promote.yaml",
    },
    Requirement::File {
        path: ".github/workflows/utils/verify-deployment.sh",
        executable: true,
        purpose: "run by check-promote.yaml",
    },
    Requirement::File {
        path: ".sourceignore",
        executable: false,
        purpose: "keeps .github/ and .environments/ out of the BaseRepo sync",
    },
    Requirement::YamlUnder {
        dir: ".environments",
        purpose: "Kalypso Environment definitions",
    },
    Requirement::YamlUnder {
        dir: "templates",
        purpose: "Kalypso Templates the cluster types refer to",
    },
];

const CONTROL_PLANE_ENVIRONMENT: &[Requirement] = &[
    Requirement::File {
        path: "base-repo.yaml",
        executable: false,
        purpose: "Kalypso BaseRepo; cd.yaml pins it to the promoted commit",
    },
    Requirement::File {
        path: "gitops-repo.yaml",
        executable: false,
        purpose: "Kalypso GitOpsRepo that receives the generated manifests",
    },
    Requirement::YamlUnder {
        dir: "cluster-types",
        purpose: "Kalypso ClusterTypes",
    },
    Requirement::YamlUnder {
        dir: "scheduling-policies",
        purpose: "Kalypso SchedulingPolicies",
    },
];

const GITOPS_MAIN: &[Requirement] = &[];

const GITOPS_ENVIRONMENT: &[Requirement] = &[Requirement::File {
    path: ".github/workflows/check-promote.yaml",
    executable: false,
    purpose: "hands merged promotions back to the control plane",
}];

/// Everything the given branch of the given repository must contain.
pub fn requirements(repo: RepoKind, branch: BranchKind) -> &'static [Requirement] {
    match (repo, branch) {
        (RepoKind::ControlPlane, BranchKind::Main) => CONTROL_PLANE_MAIN,
        (RepoKind::ControlPlane, BranchKind::Environment) => CONTROL_PLANE_ENVIRONMENT,
        (RepoKind::Gitops, BranchKind::Main) => GITOPS_MAIN,
        (RepoKind::Gitops, BranchKind::Environment) => GITOPS_ENVIRONMENT,
    }
}

/// The requirements of `repo`/`branch` that the `present` file paths do not meet, in the
/// order [`requirements`] lists them. Paths are relative to the repository root; a leading
/// `./` and Windows separators are accepted.
pub fn missing<I, S>(repo: RepoKind, branch: BranchKind, present: I) -> Vec<&'static Requirement>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let present: BTreeSet<String> = present
        .into_iter()
        .map(|path| normalise(path.as_ref()))
        .collect();
    requirements(repo, branch)
        .iter()
        .filter(|requirement| !requirement.is_met_by(&present))
        .collect()
}

/// Whether the file at `path` on `repo`/`branch` must be executable.
pub fn is_executable(repo: RepoKind, branch: BranchKind, path: &str) -> bool {
    let path = normalise(path);
    requirements(repo, branch).iter().any(|requirement| {
        matches!(requirement, Requirement::File { path: p, executable: true, .. } if *p == path)
    })
}

/// The API group of every Kalypso resource.
pub const KALYPSO_API_GROUP: &str = "scheduler.kalypso.io";

/// Whether a file on a branch may hold Kalypso resources (YAML outside `.github/`): these are
/// the files the existing-repository check reads.
pub fn is_resource_candidate(path: &str) -> bool {
    let path = normalise(path);
    (path.ends_with(".yaml") || path.ends_with(".yml")) && !path.starts_with(".github/")
}

/// What an existing control plane lacks (failures: Kalypso cannot work) and what differs from
/// the files this tool renders (warnings: Kalypso works, promotions may not).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ControlPlaneFindings {
    /// The environment branch that was checked (the first configured environment).
    pub branch: String,
    pub missing: Vec<String>,
    pub warnings: Vec<String>,
    /// The environment branch's GitOpsRepo (the first found by kind): where the scheduler
    /// opens its pull requests.
    pub gitops_repo: Option<GitopsRepoPointer>,
    /// Every GitOpsRepo of the environment branch with a `spec.repo`, in the order found
    /// (the first is [`ControlPlaneFindings::gitops_repo`]).
    pub gitops_repos: Vec<GitopsRepoPointer>,
    /// The names of the Environments under `.environments/` on `main`: the scheduler
    /// reconciles each, opening pull requests against the gitops branch of that name.
    pub environments: Vec<String>,
    /// The repositories the scheduler follows for the environment, as the control plane
    /// names them: its Environment's `spec.controlPlane.repo` (on `main`) and its BaseRepos'
    /// `spec.repo` (on the environment branch).
    pub followed: Vec<FollowedRepo>,
}

/// A repository URL a Kalypso resource of the control plane tells the scheduler to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedRepo {
    pub branch: String,
    pub path: String,
    /// `Environment` or `BaseRepo`.
    pub kind: String,
    pub name: Option<String>,
    /// The field that names it, e.g. `spec.controlPlane.repo`.
    pub key: &'static str,
    pub repo: String,
}

/// The only BaseRepo name the controller reads the promoted commit from.
pub const MAIN_BASE_REPO: &str = "main";

/// The GitOpsRepo resource of an environment branch: the file it is in and its `spec.repo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitopsRepoPointer {
    pub path: String,
    pub name: Option<String>,
    pub repo: String,
}

/// Whether two repository URLs name the same GitHub repository (case, a trailing `/` or
/// `.git` aside).
pub fn same_repo_url(a: &str, b: &str) -> bool {
    fn canonical(url: &str) -> String {
        let url = url.trim().trim_end_matches('/');
        let url = url.strip_suffix(".git").unwrap_or(url);
        url.to_ascii_lowercase()
    }
    canonical(a) == canonical(b)
}

fn is_gitops_repo(value: &serde_yaml::Value) -> bool {
    value
        .get("apiVersion")
        .and_then(serde_yaml::Value::as_str)
        .is_some_and(|api| api.starts_with(&format!("{KALYPSO_API_GROUP}/")))
        && value.get("kind").and_then(serde_yaml::Value::as_str) == Some("GitOpsRepo")
}

/// `content` with only `spec.repo` of its (first) GitOpsRepo set to `new_repo`: the line is
/// rewritten in place, so the rest of the file (comments, order, other documents) is kept.
/// The result is parsed again and must differ from the original in that one value only;
/// anything this cannot rewrite so (a flow-style `spec`, no GitOpsRepo) is an error saying why.
pub fn point_gitops_repo(content: &str, new_repo: &str) -> Result<String, String> {
    use serde::Deserialize as _;
    let parse = |text: &str| -> Result<Vec<serde_yaml::Value>, String> {
        serde_yaml::Deserializer::from_str(text)
            .map(|document| serde_yaml::Value::deserialize(document).map_err(|e| e.to_string()))
            .collect()
    };
    let mut expected = parse(content)?;
    let Some(target) = expected.iter_mut().find(|v| is_gitops_repo(v)) else {
        return Err("it has no GitOpsRepo".to_string());
    };
    match target.get_mut("spec").and_then(|spec| spec.get_mut("repo")) {
        Some(repo) => *repo = serde_yaml::Value::String(new_repo.to_string()),
        None => return Err("its GitOpsRepo has no spec.repo".to_string()),
    }
    // The `spec.repo` line of the document whose top-level `kind:` is GitOpsRepo: a
    // child of the top-level `spec:`, at the indentation of its first child.
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    let mut repo_line = None;
    let (mut is_gitops, mut in_spec) = (false, false);
    let mut child_indent: Option<usize> = None;
    let mut candidate = None;
    for (number, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if line.trim_end() == "---" || line.starts_with("--- ") {
            if is_gitops && candidate.is_some() {
                break;
            }
            (is_gitops, in_spec, child_indent, candidate) = (false, false, None, None);
            continue;
        }
        if trimmed.trim().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indent == 0 {
            let key = trimmed.split('#').next().unwrap_or_default().trim_end();
            if key.starts_with("kind:") {
                is_gitops = key
                    .trim_start_matches("kind:")
                    .trim()
                    .trim_matches(['"', '\''])
                    == "GitOpsRepo";
            }
            in_spec = key == "spec:";
            continue;
        }
        if !in_spec {
            continue;
        }
        let level = *child_indent.get_or_insert(indent);
        if indent == level && candidate.is_none() && trimmed.starts_with("repo:") {
            candidate = Some((number, indent));
        }
    }
    if is_gitops {
        repo_line = candidate;
    }
    let (number, indent) = repo_line.ok_or("its spec.repo is not a line of its own")?;
    let ending = if lines[number].ends_with("\r\n") {
        "\r\n"
    } else if lines[number].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    let mut rewritten: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    rewritten[number] = format!("{}repo: {new_repo}{ending}", " ".repeat(indent));
    let rewritten = rewritten.concat();
    if parse(&rewritten)? != expected {
        return Err("rewriting its spec.repo line would change more than spec.repo".to_string());
    }
    Ok(rewritten)
}

/// One Kalypso resource found in a file.
struct KalypsoResource {
    path: String,
    kind: String,
    name: Option<String>,
    spec: serde_yaml::Value,
}

/// The required `spec` fields per kind (the CRDs' `required` lists; nested with `.`). The
/// product checks these lightly; the tests validate whole documents against the vendored CRDs.
fn required_spec_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Environment" => &[
            "controlPlane.repo",
            "controlPlane.branch",
            "controlPlane.path",
        ],
        "BaseRepo" | "GitOpsRepo" => &["repo", "branch", "path"],
        "ClusterType" => &["reconciler", "namespaceService", "configType"],
        _ => &[],
    }
}

fn field<'v>(value: &'v serde_yaml::Value, dotted: &str) -> Option<&'v serde_yaml::Value> {
    dotted
        .split('.')
        .try_fold(value, |value, key| value.get(key))
        .filter(|value| !value.is_null())
}

fn read_resources(files: &[(String, String)], problems: &mut Vec<String>) -> Vec<KalypsoResource> {
    use serde::Deserialize as _;
    let mut found = Vec::new();
    for (path, content) in files {
        for document in serde_yaml::Deserializer::from_str(content) {
            let value = match serde_yaml::Value::deserialize(document) {
                Ok(value) => value,
                Err(error) => {
                    problems.push(format!("{path} is not valid YAML ({error})"));
                    break;
                }
            };
            let is_kalypso = value
                .get("apiVersion")
                .and_then(serde_yaml::Value::as_str)
                .is_some_and(|api| api.starts_with(&format!("{KALYPSO_API_GROUP}/")));
            if !is_kalypso {
                continue;
            }
            let Some(kind) = value.get("kind").and_then(serde_yaml::Value::as_str) else {
                problems.push(format!(
                    "{path}: a {KALYPSO_API_GROUP} resource without kind"
                ));
                continue;
            };
            let name = field(&value, "metadata.name")
                .and_then(serde_yaml::Value::as_str)
                .map(str::to_string);
            found.push(KalypsoResource {
                path: path.clone(),
                kind: kind.to_string(),
                name,
                spec: value.get("spec").cloned().unwrap_or_default(),
            });
        }
    }
    for resource in &found {
        if resource.name.is_none() {
            problems.push(format!(
                "{}: {} without metadata.name",
                resource.path, resource.kind
            ));
        }
        for required in required_spec_fields(&resource.kind) {
            if field(&resource.spec, required).is_none() {
                problems.push(format!(
                    "{}: {} {} lacks spec.{required}",
                    resource.path,
                    resource.kind,
                    resource.name.as_deref().unwrap_or("(unnamed)")
                ));
            }
        }
    }
    found
}

/// The names of the Templates (`scheduler.kalypso.io`) in `files`, sorted.
pub fn template_names(files: &[(String, String)]) -> Vec<String> {
    let mut ignored = Vec::new();
    read_resources(files, &mut ignored)
        .into_iter()
        .filter(|r| r.kind == "Template")
        .filter_map(|r| r.name)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Check an existing control-plane repository by what Kalypso consumes, found by kind and
/// not by folder name: Environments under `.environments/` on `main`; on the environment
/// branch a BaseRepo, a GitOpsRepo, at least one ClusterType and the Templates the
/// ClusterTypes name (on either branch). `*_files` are the `(path, content)` of the
/// [`is_resource_candidate`] files; `main_paths` every file on `main`, for the warnings about
/// the workflows and helper scripts this tool would render.
pub fn check_control_plane<S: AsRef<str>>(
    main_paths: &[S],
    main_files: &[(String, String)],
    environment: &str,
    environment_files: &[(String, String)],
) -> ControlPlaneFindings {
    let mut findings = ControlPlaneFindings {
        branch: environment.to_string(),
        ..ControlPlaneFindings::default()
    };
    let main = read_resources(main_files, &mut findings.missing);
    let branch = read_resources(environment_files, &mut findings.missing);
    findings.gitops_repos = branch
        .iter()
        .filter(|r| r.kind == "GitOpsRepo")
        .filter_map(|r| {
            let repo = field(&r.spec, "repo").and_then(serde_yaml::Value::as_str)?;
            Some(GitopsRepoPointer {
                path: r.path.clone(),
                name: r.name.clone(),
                repo: repo.to_string(),
            })
        })
        .collect();
    findings.gitops_repo = findings.gitops_repos.first().cloned();
    findings.environments = main
        .iter()
        .filter(|r| r.kind == "Environment" && normalise(&r.path).starts_with(".environments/"))
        .filter_map(|r| r.name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The Environment the environment branch is for, and the BaseRepos on that branch: the
    // controllers make Flux follow the repositories they name (`environment_controller.go`,
    // `baserepo_controller.go` in microsoft/kalypso-scheduler).
    let environment_resource = main.iter().filter(|r| {
        r.kind == "Environment"
            && normalise(&r.path).starts_with(".environments/")
            && r.name.as_deref() == Some(environment)
    });
    let followed_from = |branch: &str, resource: &KalypsoResource, key: &'static str| {
        let repo = field(&resource.spec, key.trim_start_matches("spec."))?.as_str()?;
        Some(FollowedRepo {
            branch: branch.to_string(),
            path: resource.path.clone(),
            kind: resource.kind.clone(),
            name: resource.name.clone(),
            key,
            repo: repo.to_string(),
        })
    };
    findings.followed = environment_resource
        .filter_map(|r| followed_from(MAIN_BRANCH, r, "spec.controlPlane.repo"))
        .chain(
            branch
                .iter()
                .filter(|r| r.kind == "BaseRepo")
                .filter_map(|r| followed_from(environment, r, "spec.repo")),
        )
        .collect();
    let on_main = |prefix: &str| format!("on {MAIN_BRANCH}: {prefix}");
    let on_branch = |what: &str| format!("on {environment}: {what}");

    if !main
        .iter()
        .any(|r| r.kind == "Environment" && normalise(&r.path).starts_with(".environments/"))
    {
        findings.missing.push(on_main(&format!(
            "no Environment ({KALYPSO_API_GROUP}) under .environments/"
        )));
    }
    for kind in ["BaseRepo", "GitOpsRepo", "ClusterType"] {
        if !branch.iter().any(|r| r.kind == kind) {
            findings
                .missing
                .push(on_branch(&format!("no {kind} ({KALYPSO_API_GROUP})")));
        }
    }
    let templates: BTreeSet<&str> = main
        .iter()
        .chain(&branch)
        .filter(|r| r.kind == "Template")
        .filter_map(|r| r.name.as_deref())
        .collect();
    let mut reported = BTreeSet::new();
    for cluster_type in branch.iter().filter(|r| r.kind == "ClusterType") {
        for reference in ["reconciler", "namespaceService"] {
            let Some(template) =
                field(&cluster_type.spec, reference).and_then(serde_yaml::Value::as_str)
            else {
                continue;
            };
            if !templates.contains(template) && reported.insert(template.to_string()) {
                findings.missing.push(format!(
                    "no Template {template} (named by spec.{reference} of ClusterType {} in {}) on {MAIN_BRANCH} or {environment}",
                    cluster_type.name.as_deref().unwrap_or("(unnamed)"),
                    cluster_type.path
                ));
            }
        }
    }

    // The controller takes the promoted commit only from the BaseRepo named exactly `main`
    // (`getRepoContent` in controllers/gitopsrepo_controller.go of microsoft/kalypso-scheduler).
    let base_repos: Vec<&KalypsoResource> =
        branch.iter().filter(|r| r.kind == "BaseRepo").collect();
    if !base_repos.is_empty()
        && !base_repos
            .iter()
            .any(|r| r.name.as_deref() == Some(MAIN_BASE_REPO))
    {
        let named: Vec<String> = base_repos
            .iter()
            .map(|r| format!("{} in {}", r.name.as_deref().unwrap_or("(unnamed)"), r.path))
            .collect();
        findings.warnings.push(on_branch(&format!(
            "no BaseRepo is named {MAIN_BASE_REPO} (found {}): the controller takes the promoted commit only from the BaseRepo named {MAIN_BASE_REPO}, so promotion tracking (.github/tracking/Promoted_Commit_Id, the promoted label) will not work; fix: set metadata.name: {MAIN_BASE_REPO} on the BaseRepo",
            named.join(", ")
        )));
    }

    let present: BTreeSet<String> = main_paths.iter().map(|p| normalise(p.as_ref())).collect();
    for requirement in requirements(RepoKind::ControlPlane, BranchKind::Main) {
        if let Requirement::File { path, purpose, .. } = requirement {
            if !present.contains(*path) {
                findings.warnings.push(format!(
                    "on {MAIN_BRANCH}: {path} is not there ({purpose}); this tool's promotion flow does not run, promotions follow the repository's own workflows"
                ));
            }
        }
    }
    findings
}

fn normalise(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut path = path.as_str();
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    path.trim_start_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_paths(repo: RepoKind, branch: BranchKind) -> Vec<String> {
        requirements(repo, branch)
            .iter()
            .map(|requirement| match requirement {
                Requirement::File { path, .. } => path.to_string(),
                Requirement::YamlUnder { dir, .. } => format!("{dir}/x.yaml"),
            })
            .collect()
    }

    #[test]
    fn a_branch_with_every_required_file_misses_nothing() {
        for repo in RepoKind::ALL {
            for branch in BranchKind::ALL {
                assert!(missing(repo, branch, all_paths(repo, branch)).is_empty());
            }
        }
    }

    #[test]
    fn an_empty_control_plane_main_misses_every_requirement_in_order() {
        let missing = missing(
            RepoKind::ControlPlane,
            BranchKind::Main,
            Vec::<String>::new(),
        );
        assert_eq!(
            missing,
            requirements(RepoKind::ControlPlane, BranchKind::Main)
                .iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn removing_one_file_reports_exactly_that_file() {
        let mut paths = all_paths(RepoKind::ControlPlane, BranchKind::Environment);
        paths.retain(|p| p != "gitops-repo.yaml");
        let missing = missing(RepoKind::ControlPlane, BranchKind::Environment, &paths);
        assert_eq!(missing.len(), 1);
        assert_eq!(
            missing[0].to_string(),
            "gitops-repo.yaml (Kalypso GitOpsRepo that receives the generated manifests)"
        );
    }

    #[test]
    fn a_yaml_directory_requirement_needs_a_yaml_file_below_it() {
        let base = [
            "base-repo.yaml",
            "gitops-repo.yaml",
            "scheduling-policies/p.yml",
        ];
        let with = |extra: &str| {
            let mut paths: Vec<&str> = base.to_vec();
            paths.push(extra);
            missing(RepoKind::ControlPlane, BranchKind::Environment, paths)
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
        };
        assert!(with("cluster-types/nested/large.yaml").is_empty());
        let expected = vec!["a YAML file under cluster-types/ (Kalypso ClusterTypes)".to_string()];
        assert_eq!(with("cluster-types/README.md"), expected);
        assert_eq!(with("cluster-types.yaml"), expected);
        assert_eq!(with("other/cluster-types/a.yaml"), expected);
    }

    #[test]
    fn leading_dot_slash_and_backslashes_are_accepted() {
        let workflow = ".\\.github\\workflows\\check-promote.yaml";
        assert!(missing(RepoKind::Gitops, BranchKind::Environment, [workflow]).is_empty());
        assert_eq!(
            missing(RepoKind::Gitops, BranchKind::Environment, ["README.md"]).len(),
            1
        );
    }

    #[test]
    fn only_helper_scripts_are_executable() {
        assert!(is_executable(
            RepoKind::ControlPlane,
            BranchKind::Main,
            "./.github/workflows/utils/promote.sh"
        ));
        assert!(!is_executable(
            RepoKind::ControlPlane,
            BranchKind::Main,
            ".github/workflows/cd.yaml"
        ));
        assert!(!is_executable(
            RepoKind::ControlPlane,
            BranchKind::Environment,
            ".github/workflows/utils/promote.sh"
        ));
    }

    fn yaml(path: &str, content: &str) -> (String, String) {
        (path.to_string(), content.to_string())
    }

    const ENVIRONMENT: &str = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: Environment\nmetadata:\n  name: dev\nspec:\n  controlPlane:\n    repo: https://github.com/a/b\n    branch: dev\n    path: .\n";
    const TEMPLATES: &str = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: Template\nmetadata:\n  name: flux\nspec: {}\n---\napiVersion: scheduler.kalypso.io/v1alpha1\nkind: Template\nmetadata:\n  name: ns\nspec: {}\n";
    const BASE: &str = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: BaseRepo\nmetadata:\n  name: main\nspec:\n  repo: r\n  branch: main\n  path: .\n";
    const GITOPS: &str = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: GitOpsRepo\nmetadata:\n  name: dev\nspec:\n  repo: r\n  branch: dev\n  path: .\n";
    const CLUSTER_TYPE: &str = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: ClusterType\nmetadata:\n  name: small\nspec:\n  reconciler: flux\n  namespaceService: ns\n  configType: configmap\n";

    fn helpers() -> Vec<String> {
        all_paths(RepoKind::ControlPlane, BranchKind::Main)
    }

    #[test]
    fn a_control_plane_is_found_by_kind_in_any_folder() {
        let findings = check_control_plane(
            &helpers(),
            &[
                yaml(".environments/dev.yaml", ENVIRONMENT),
                yaml("anywhere/t.yml", TEMPLATES),
            ],
            "dev",
            &[
                yaml("a/b.yaml", BASE),
                yaml("c/g.yaml", GITOPS),
                yaml("scheduling/x/small.yaml", CLUSTER_TYPE),
            ],
        );
        assert!(findings.missing.is_empty(), "{:?}", findings.missing);
        assert!(findings.warnings.is_empty(), "{:?}", findings.warnings);
        assert_eq!(
            findings.gitops_repo.map(|p| p.path),
            Some("c/g.yaml".to_string())
        );
    }

    #[test]
    fn each_consumed_resource_missing_is_named() {
        let findings = check_control_plane(
            &helpers(),
            &[yaml("environments/dev.yaml", ENVIRONMENT)],
            "dev",
            &[
                yaml("base-repo.yaml", "kind: BaseRepo\n"),
                yaml("g.yaml", GITOPS),
                yaml(
                    "ct.yaml",
                    &CLUSTER_TYPE.replace("  configType: configmap\n", ""),
                ),
            ],
        );
        assert_eq!(
            findings.missing,
            [
                "ct.yaml: ClusterType small lacks spec.configType",
                "on main: no Environment (scheduler.kalypso.io) under .environments/",
                "on dev: no BaseRepo (scheduler.kalypso.io)",
                "no Template flux (named by spec.reconciler of ClusterType small in ct.yaml) on main or dev",
                "no Template ns (named by spec.namespaceService of ClusterType small in ct.yaml) on main or dev",
            ]
        );
        assert!(findings.warnings.is_empty());
    }

    #[test]
    fn missing_helpers_are_warnings_and_broken_yaml_is_a_problem() {
        let findings = check_control_plane(
            &[".github/workflows/ci.yaml"],
            &[
                yaml(".environments/dev.yaml", ENVIRONMENT),
                yaml("t.yaml", TEMPLATES),
                yaml("broken.yaml", "a: [\n"),
            ],
            "dev",
            &[yaml(
                "all.yaml",
                &[BASE, GITOPS, CLUSTER_TYPE].join("---\n"),
            )],
        );
        assert_eq!(findings.missing.len(), 1, "{:?}", findings.missing);
        assert!(findings.missing[0].starts_with("broken.yaml is not valid YAML"));
        assert!(findings
            .warnings
            .iter()
            .any(|w| w.contains(".github/workflows/utils/promote.sh")));
        assert!(!findings
            .warnings
            .iter()
            .any(|w| w.contains(".github/workflows/ci.yaml ")));
    }

    #[test]
    fn the_environment_branch_is_named_after_the_environment() {
        assert_eq!(BranchKind::Main.branch_name("stage"), "main");
        assert_eq!(BranchKind::Environment.branch_name("stage"), "stage");
    }

    #[test]
    fn pointing_the_gitops_repo_rewrites_only_its_spec_repo() {
        let content = "# the dev environment's manifests\napiVersion: scheduler.kalypso.io/v1alpha1\nkind: GitOpsRepo\nmetadata:\n  name: dev\n  labels:\n    repo: keep-me\nspec:\n  repo: https://github.com/microsoft/kalypso-gitops # upstream\n  branch: dev\n  path: .\n";
        let rewritten = point_gitops_repo(content, "https://github.com/acme/gitops").unwrap();
        assert_eq!(
            rewritten,
            content.replace(
                "  repo: https://github.com/microsoft/kalypso-gitops # upstream",
                "  repo: https://github.com/acme/gitops"
            )
        );
    }

    #[test]
    fn pointing_finds_the_gitops_repo_among_other_documents() {
        let content = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: BaseRepo\nmetadata:\n  name: dev\nspec:\n  repo: https://github.com/acme/base\n  branch: dev\n  path: .\n---\napiVersion: scheduler.kalypso.io/v1alpha1\nkind: GitOpsRepo\nmetadata:\n  name: dev\nspec:\n  branch: dev\n  repo: https://github.com/old/gitops\n  path: .\n";
        let rewritten = point_gitops_repo(content, "https://github.com/acme/gitops").unwrap();
        assert!(
            rewritten.contains("repo: https://github.com/acme/base"),
            "{rewritten}"
        );
        assert!(
            rewritten.ends_with("  repo: https://github.com/acme/gitops\n  path: .\n"),
            "{rewritten}"
        );
    }

    #[test]
    fn a_spec_that_is_not_one_line_per_key_is_refused_with_why() {
        let flow = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: GitOpsRepo\nmetadata:\n  name: dev\nspec: {repo: https://github.com/old/gitops, branch: dev, path: .}\n";
        let error = point_gitops_repo(flow, "https://github.com/acme/gitops").unwrap_err();
        assert!(error.contains("spec.repo"), "{error}");
        let none = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
        assert_eq!(
            point_gitops_repo(none, "https://github.com/acme/gitops").unwrap_err(),
            "it has no GitOpsRepo"
        );
    }

    #[test]
    fn the_check_finds_the_gitops_repo_by_kind() {
        let files = vec![("envs/dev/where.yaml".to_string(), GITOPS.to_string())];
        let findings = check_control_plane::<&str>(&[], &[], "dev", &files);
        let pointer = findings.gitops_repo.expect("found by kind");
        assert_eq!(pointer.path, "envs/dev/where.yaml");
        assert_eq!(pointer.repo, "r");
        assert!(same_repo_url(
            "https://github.com/Acme/GitOps.git",
            "https://github.com/acme/gitops/"
        ));
        assert!(!same_repo_url(
            "https://github.com/acme/gitops",
            "https://github.com/acme/gitops2"
        ));
    }

    #[test]
    fn the_check_lists_every_gitops_repo_and_the_environments_on_main() {
        let second = GITOPS
            .replace("name: dev", "name: other")
            .replace("repo: r", "repo: s");
        let branch = vec![
            yaml("gitops-repo.yaml", GITOPS),
            yaml("more/other.yaml", &second),
            yaml("base-repo.yaml", BASE),
        ];
        let main = vec![
            yaml(".environments/dev.yaml", ENVIRONMENT),
            yaml(
                ".environments/stage.yaml",
                &ENVIRONMENT.replace("name: dev", "name: stage"),
            ),
        ];
        let findings = check_control_plane::<&str>(&[], &main, "dev", &branch);
        let repos: Vec<(&str, &str)> = findings
            .gitops_repos
            .iter()
            .map(|p| (p.path.as_str(), p.repo.as_str()))
            .collect();
        assert_eq!(repos, [("gitops-repo.yaml", "r"), ("more/other.yaml", "s")]);
        assert_eq!(
            findings.gitops_repo.map(|p| p.path),
            Some("gitops-repo.yaml".into())
        );
        assert_eq!(findings.environments, ["dev", "stage"]);
        assert!(
            !findings
                .warnings
                .iter()
                .any(|w| w.contains("no BaseRepo is named main")),
            "{:?}",
            findings.warnings
        );
    }

    #[test]
    fn a_base_repo_not_named_main_is_a_warning_about_promotion_tracking() {
        let branch = vec![yaml(
            "base-repo.yaml",
            &BASE.replace("name: main", "name: platform"),
        )];
        let findings = check_control_plane::<&str>(&[], &[], "dev", &branch);
        let warning = findings
            .warnings
            .iter()
            .find(|w| w.contains("no BaseRepo is named main"))
            .expect("warned");
        assert!(
            warning.contains("found platform in base-repo.yaml"),
            "{warning}"
        );
        assert!(warning.contains("Promoted_Commit_Id"), "{warning}");
        assert!(
            !findings.missing.iter().any(|m| m.contains("BaseRepo")),
            "a warning, not a failure: {:?}",
            findings.missing
        );
    }
}
