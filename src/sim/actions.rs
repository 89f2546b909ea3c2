//! GitHub Actions on the simulated GitHub, for the workflows this tool generates: the
//! control plane's `ci.yaml`, `cd.yaml` and `check-promote.yaml` (with their
//! `utils/*.sh`) and the gitops environment branches' `check-promote.yaml`. What a run
//! does is modelled here natively, step by step as the workflow and its scripts do it (not
//! by interpreting YAML steps); what starts a run is read from the workflow file as GitHub
//! reads it:
//!
//! - a push (any change of a branch head of a simulated repository: a git push, a merge,
//!   a commit of the scheduler) runs every workflow of the pushed commit's tree whose
//!   `on: push` matches the branch (`branches`, `branches-ignore`, GitHub's glob
//!   patterns). A push made by a run with its `GITHUB_TOKEN` starts no run, as on GitHub
//!   ("events triggered by the GITHUB_TOKEN … will not create a new workflow run");
//! - `workflow_dispatch` (`gh workflow run`, or a run's own dispatch): the workflow of the
//!   default branch named by file or name, run at the given ref with its inputs checked
//!   against the workflow's `inputs` at that ref.
//!
//! A run starts `in_progress` and completes [`super::Latency::actions_run`] later, when
//! its effects happen (the commit `cd.yaml` pushes, the dispatches, commit statuses). Runs
//! advance before each simulated command, like the Kalypso Scheduler's controllers
//! ([`super::kalypso::reconcile`]): a chain of zero-latency runs completes at once.
//!
//! Secrets are read the way a job sees them: an environment's secret first when the job
//! names a GitHub environment, else the repository's; a missing one is empty, and the
//! workflow fails with its own `::error::` text. The values live only in this process (as
//! every secret value of the simulation): in a world restored from its file a run that
//! needs one fails, saying so.
//!
//! A workflow the simulation does not know (any other file) is recorded as a run that
//! fails, saying it is not simulated, never as a success.

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::ExposeSecret;
use serde_yaml::Value as Yaml;

use super::command::Ctx;
use super::git;
use super::state::{CommitStatus, WorkflowRun};
use super::world::RestoredActionsSecret;

/// The login of a run's own `GITHUB_TOKEN`.
pub(crate) const ACTIONS_BOT: &str = "github-actions[bot]";
const ACTIONS_BOT_EMAIL: &str = "41898282+github-actions[bot]@users.noreply.github.com";
const WORKFLOWS_DIR: &str = ".github/workflows/";
/// How many rounds of pushes and completed runs one call may go through (a chain of
/// dispatches is a few rounds; a workflow dispatching itself would never end).
const MAX_ROUNDS: usize = 64;

/// What the simulation knows a workflow to be.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Control plane `ci.yaml`: checks, then dispatches `cd.yaml` for `environment`.
    Ci { environment: String },
    /// Control plane `cd.yaml` (`promote.sh`).
    Cd { control_plane_url: String },
    /// Control plane `check-promote.yaml` (`verify-deployment.sh`, then the promotion).
    CheckPromote,
    /// Gitops environment `check-promote.yaml`: the hand-back to the control plane.
    HandBack { control_plane_repo: String },
    /// Anything else.
    Unknown,
}

/// One `workflow_dispatch` input.
#[derive(Clone, Debug)]
struct Input {
    required: bool,
    default: Option<String>,
}

/// A workflow file as GitHub reads it.
#[derive(Clone, Debug)]
struct Workflow {
    path: String,
    name: String,
    /// `on: push`: the branch filter (`None`: not triggered by pushes).
    push: Option<BranchFilter>,
    /// `on: workflow_dispatch`: its inputs (`None`: cannot be dispatched).
    dispatch: Option<BTreeMap<String, Input>>,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum BranchFilter {
    All,
    Branches(Vec<String>),
    Ignore(Vec<String>),
}

impl BranchFilter {
    fn matches(&self, branch: &str) -> bool {
        match self {
            BranchFilter::All => true,
            BranchFilter::Branches(patterns) => {
                // Later patterns win; a `!pattern` excludes again.
                let mut selected = false;
                for pattern in patterns {
                    match pattern.strip_prefix('!') {
                        Some(negated) if glob_matches(negated, branch) => selected = false,
                        None if glob_matches(pattern, branch) => selected = true,
                        _ => {}
                    }
                }
                selected
            }
            BranchFilter::Ignore(patterns) => !patterns.iter().any(|p| glob_matches(p, branch)),
        }
    }
}

/// GitHub's filter patterns: `*` any characters but `/`, `**` any characters, `?` one
/// character (of the previous one: zero or one), `+` one or more of the previous one.
/// `[…]` classes are not used by the generated workflows and match literally.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut regex = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        match chars[index] {
            '*' if chars.get(index + 1) == Some(&'*') => {
                regex.push_str(".*");
                index += 1;
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push('?'),
            '+' => regex.push('+'),
            other => regex.push_str(&regex::escape(&other.to_string())),
        }
        index += 1;
    }
    regex.push('$');
    regex::Regex::new(&regex).is_ok_and(|r| r.is_match(text))
}

fn yaml_str(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(value: Option<&Yaml>) -> Vec<String> {
    match value {
        Some(Yaml::Sequence(items)) => items.iter().filter_map(yaml_str).collect(),
        Some(other) => yaml_str(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The `on:` section: a string, a list of events, or a map of events (YAML 1.1 readers
/// take a bare `on` for `true`; GitHub reads it as the key `on`, and so does this).
fn triggers(document: &Yaml) -> (Option<BranchFilter>, Option<BTreeMap<String, Input>>) {
    let on = document
        .get("on")
        .or_else(|| document.as_mapping().and_then(|m| m.get(Yaml::Bool(true))));
    let mut push = None;
    let mut dispatch = None;
    let mut event = |name: &str, config: Option<&Yaml>| match name {
        "push" => {
            let config = config.filter(|c| !c.is_null());
            push = Some(match config {
                Some(c) if c.get("branches").is_some() => {
                    BranchFilter::Branches(string_list(c.get("branches")))
                }
                Some(c) if c.get("branches-ignore").is_some() => {
                    BranchFilter::Ignore(string_list(c.get("branches-ignore")))
                }
                // Only tags: no branch push runs it.
                Some(c) if c.get("tags").is_some() => BranchFilter::Branches(Vec::new()),
                _ => BranchFilter::All,
            });
        }
        "workflow_dispatch" => {
            let inputs = config
                .and_then(|c| c.get("inputs"))
                .and_then(Yaml::as_mapping)
                .map(|inputs| {
                    inputs
                        .iter()
                        .filter_map(|(name, spec)| {
                            Some((
                                yaml_str(name)?,
                                Input {
                                    required: spec
                                        .get("required")
                                        .and_then(Yaml::as_bool)
                                        .unwrap_or(false),
                                    default: spec.get("default").and_then(yaml_str),
                                },
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            dispatch = Some(inputs);
        }
        _ => {}
    };
    match on {
        Some(Yaml::String(name)) => event(name, None),
        Some(Yaml::Sequence(names)) => {
            for name in names.iter().filter_map(Yaml::as_str) {
                event(name, None);
            }
        }
        Some(Yaml::Mapping(events)) => {
            for (name, config) in events {
                if let Some(name) = name.as_str() {
                    event(name, Some(config));
                }
            }
        }
        _ => {}
    }
    (push, dispatch)
}

/// The `env` value `name` of any step of job `job`.
fn step_env(document: &Yaml, job: &str, name: &str) -> Option<String> {
    document["jobs"][job]["steps"]
        .as_sequence()?
        .iter()
        .find_map(|step| {
            step.get("env")
                .and_then(|env| env.get(name))
                .and_then(yaml_str)
        })
}

fn kind_of(document: &Yaml) -> Kind {
    let jobs = &document["jobs"];
    let has = |job: &str| jobs.get(job).is_some();
    if has("start-cd") {
        if let Some(environment) = step_env(document, "start-cd", "ENVIRONMENT") {
            return Kind::Ci { environment };
        }
    }
    if has("hand-back") {
        if let Some(control_plane_repo) = step_env(document, "hand-back", "CONTROL_PLANE_REPO") {
            return Kind::HandBack { control_plane_repo };
        }
    }
    if has("check") && has("promote") {
        return Kind::CheckPromote;
    }
    let runs_promote_sh = jobs["promote"]["steps"].as_sequence().is_some_and(|steps| {
        steps.iter().any(|step| {
            step.get("run")
                .and_then(Yaml::as_str)
                .is_some_and(|run| run.contains("utils/promote.sh"))
        })
    });
    if runs_promote_sh {
        if let Some(control_plane_url) = jobs["promote"]["env"]
            .get("CONTROL_PLANE_URL")
            .and_then(yaml_str)
        {
            return Kind::Cd { control_plane_url };
        }
    }
    Kind::Unknown
}

/// The workflows of the tree at `rev` (files directly in `.github/workflows` ending in
/// `.yml` or `.yaml` that parse).
fn workflows_at(bare: &Path, rev: &str) -> Vec<Workflow> {
    let Some((_, entries)) = git::tree(bare, rev) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter(|e| e.kind == "blob")
        .filter(|e| {
            e.path
                .strip_prefix(WORKFLOWS_DIR)
                .is_some_and(|rest| !rest.contains('/'))
                && (e.path.ends_with(".yaml") || e.path.ends_with(".yml"))
        })
        .filter_map(|entry| {
            let text = git::blob(bare, &entry.sha)?;
            let document: Yaml = serde_yaml::from_str(&text).ok()?;
            let (push, dispatch) = triggers(&document);
            Some(Workflow {
                name: document
                    .get("name")
                    .and_then(yaml_str)
                    .unwrap_or_else(|| entry.path.clone()),
                push,
                dispatch,
                kind: kind_of(&document),
                path: entry.path,
            })
        })
        .collect()
}

/// A stable id for a workflow file of a repository (`workflowDatabaseId`).
fn workflow_id(repo_key: &str, path: &str) -> u64 {
    super::kube::fnv(&format!("{repo_key}:{path}")) % 100_000_000
}

fn now_precise() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// What starts a run: its event, the branch and commit it runs at, its inputs.
struct Trigger<'a> {
    event: &'a str,
    branch: &'a str,
    sha: &'a str,
    inputs: BTreeMap<String, String>,
    display_title: String,
}

/// Start a run of `workflow` (recorded `in_progress`, completing after the run latency).
fn start_run(ctx: &mut Ctx<'_>, key: &str, workflow: &Workflow, trigger: Trigger<'_>) {
    let Trigger {
        event,
        branch,
        sha,
        inputs,
        display_title,
    } = trigger;
    let id = ctx.world.next_github_id();
    let completes = now_precise() + ctx.world.latency.actions_run;
    let timestamp = ctx.timestamp.clone();
    if let Some(repo) = ctx.world.github.repos.get_mut(key) {
        repo.workflow_runs.push(WorkflowRun {
            id,
            path: workflow.path.clone(),
            workflow_name: workflow.name.clone(),
            event: event.to_string(),
            head_branch: branch.to_string(),
            head_sha: sha.to_string(),
            inputs,
            status: "in_progress".to_string(),
            conclusion: String::new(),
            display_title,
            created_at: timestamp,
            completes_at: rfc3339(completes),
            message: String::new(),
        });
    }
}

/// Let GitHub Actions catch up: deliver the pushes since the last look to the workflows,
/// and complete every run that is due (whose effects may start more). Nothing happens
/// while Actions are disabled.
pub(crate) fn advance(ctx: &mut Ctx<'_>) {
    if !ctx.world.github.actions_enabled {
        return;
    }
    for _ in 0..MAX_ROUNDS {
        let pushed = deliver_pushes(ctx);
        let completed = complete_due_runs(ctx);
        if !pushed && !completed {
            break;
        }
    }
}

/// Start the push runs of every branch whose head moved since Actions last looked.
fn deliver_pushes(ctx: &mut Ctx<'_>) -> bool {
    let keys: Vec<String> = ctx.world.github.repos.keys().cloned().collect();
    let mut any = false;
    for key in keys {
        let (owner, name, seen) = {
            let repo = &ctx.world.github.repos[&key];
            (
                repo.owner.clone(),
                repo.name.clone(),
                repo.actions_heads.clone(),
            )
        };
        let bare = ctx.paths.bare_repo(&owner, &name);
        let heads = git::heads(&bare);
        if let Some(seen) = &seen {
            for (branch, sha) in &heads {
                if seen.get(branch) == Some(sha) {
                    continue;
                }
                let title = commit_subject(&bare, sha);
                for workflow in workflows_at(&bare, sha) {
                    if workflow.push.as_ref().is_some_and(|f| f.matches(branch)) {
                        start_run(
                            ctx,
                            &key,
                            &workflow,
                            Trigger {
                                event: "push",
                                branch,
                                sha,
                                inputs: BTreeMap::new(),
                                display_title: title.clone(),
                            },
                        );
                        any = true;
                    }
                }
            }
        }
        if let Some(repo) = ctx.world.github.repos.get_mut(&key) {
            repo.actions_heads = Some(heads);
        }
    }
    any
}

fn commit_subject(bare: &Path, sha: &str) -> String {
    let path = bare.display().to_string();
    std::process::Command::new("git")
        .args(["--git-dir", &path, "log", "-1", "--format=%s", sha])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Complete the runs that are due, oldest first.
fn complete_due_runs(ctx: &mut Ctx<'_>) -> bool {
    let now = now_precise();
    let mut due: Vec<(time::OffsetDateTime, u64, String)> = Vec::new();
    for (key, repo) in &ctx.world.github.repos {
        for run in &repo.workflow_runs {
            if run.status != "completed" {
                let at = parse_time(&run.completes_at).unwrap_or(now);
                if at <= now {
                    due.push((at, run.id, key.clone()));
                }
            }
        }
    }
    due.sort();
    let any = !due.is_empty();
    for (_, id, key) in due {
        let Some(run) = ctx.world.github.repos.get(&key).and_then(|r| {
            r.workflow_runs
                .iter()
                .find(|run| run.id == id && run.status != "completed")
                .cloned()
        }) else {
            continue;
        };
        let outcome = execute(ctx, &key, &run);
        if let Some(stored) = ctx
            .world
            .github
            .repos
            .get_mut(&key)
            .and_then(|r| r.workflow_runs.iter_mut().find(|r| r.id == id))
        {
            stored.status = "completed".to_string();
            let (conclusion, message) = match outcome {
                Ok(message) => ("success", message),
                Err(message) => ("failure", message),
            };
            stored.conclusion = conclusion.to_string();
            stored.message = message;
        }
    }
    any
}

/// What a job's `${{ secrets.NAME }}` gives.
enum SecretRead {
    Value(String),
    /// A token of a world restored from its file: only the login it signs in as is known.
    Login(String),
    /// Not set: GitHub gives an empty string.
    Missing,
    /// Set, but its value is not in this process (a world restored from its file).
    Unknown,
}

fn read_secret(ctx: &Ctx<'_>, key: &str, name: &str, environment: Option<&str>) -> SecretRead {
    let Some(repo) = ctx.world.github.repos.get(key) else {
        return SecretRead::Missing;
    };
    let upper = name.to_ascii_uppercase();
    let scope = environment
        .filter(|environment| {
            repo.environments
                .get(*environment)
                .is_some_and(|secrets| secrets.contains_key(&upper))
        })
        .map(str::to_string);
    let known = match &scope {
        Some(environment) => ctx.world.gh_environment_secret_values.get(&(
            key.to_string(),
            environment.clone(),
            upper.clone(),
        )),
        None if repo.secrets.contains(&upper) => ctx
            .world
            .gh_secret_values
            .get(&(key.to_string(), upper.clone())),
        None => return SecretRead::Missing,
    };
    if let Some(value) = known {
        return SecretRead::Value(value.expose_secret().to_string());
    }
    match ctx
        .world
        .gh_secret_restored
        .get(&(key.to_string(), scope, upper))
    {
        Some(RestoredActionsSecret::Name { name }) => SecretRead::Value(name.clone()),
        Some(RestoredActionsSecret::Token { github_login }) => {
            SecretRead::Login(github_login.clone())
        }
        Some(RestoredActionsSecret::Unknown) | None => SecretRead::Unknown,
    }
}

fn unknown_secret(name: &str) -> String {
    format!(
        "the simulated world was restored from its file, which never holds secret values: the value of the {name} secret is not known to this process (set it again with gh secret set)"
    )
}

/// A secret read as text, empty when missing.
fn secret_text(
    ctx: &Ctx<'_>,
    key: &str,
    name: &str,
    environment: Option<&str>,
) -> Result<String, String> {
    match read_secret(ctx, key, name, environment) {
        SecretRead::Value(value) => Ok(value),
        SecretRead::Missing => Ok(String::new()),
        SecretRead::Login(_) | SecretRead::Unknown => Err(unknown_secret(name)),
    }
}

/// A secret used as a GitHub token.
enum TokenRead {
    Missing,
    /// The account it signs in as; `None`: not a valid token.
    Login(Option<String>),
}

fn secret_token(
    ctx: &Ctx<'_>,
    key: &str,
    name: &str,
    environment: Option<&str>,
) -> Result<TokenRead, String> {
    match read_secret(ctx, key, name, environment) {
        SecretRead::Value(value) if value.is_empty() => Ok(TokenRead::Missing),
        SecretRead::Value(value) => Ok(TokenRead::Login(ctx.world.login_for_token(&value))),
        SecretRead::Login(login) => Ok(TokenRead::Login(Some(login))),
        SecretRead::Missing => Ok(TokenRead::Missing),
        SecretRead::Unknown => Err(unknown_secret(name)),
    }
}

fn is_commit_id(text: &str) -> bool {
    text.len() == 40 && text.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

fn is_environment_branch_name(text: &str) -> bool {
    regex::Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").is_ok_and(|r| r.is_match(text))
}

/// The repository's key, owner and name and its bare repository.
fn repo_parts(ctx: &Ctx<'_>, key: &str) -> Option<(String, std::path::PathBuf)> {
    let repo = ctx.world.github.repos.get(key)?;
    Some((
        repo.full_name(),
        ctx.paths.bare_repo(&repo.owner, &repo.name),
    ))
}

/// Run `run` to its end: `Ok(notice)` on success, `Err(error)` on failure.
fn execute(ctx: &mut Ctx<'_>, key: &str, run: &WorkflowRun) -> Result<String, String> {
    let (_, bare) = repo_parts(ctx, key).ok_or("the repository is gone")?;
    let workflow = workflows_at(&bare, &run.head_sha)
        .into_iter()
        .find(|w| w.path == run.path)
        .ok_or_else(|| format!("{} is not in {}", run.path, run.head_sha))?;
    match &workflow.kind {
        Kind::Ci { environment } => ci(ctx, key, run, environment),
        Kind::Cd { control_plane_url } => cd(ctx, key, run, control_plane_url),
        Kind::CheckPromote => check_promote(ctx, key, run),
        Kind::HandBack { control_plane_repo } => hand_back(ctx, key, run, control_plane_repo),
        Kind::Unknown => Err(format!(
            "the simulated GitHub Actions runs only the workflows Kalypso Bootstrap generates; {} is not one of them",
            run.path
        )),
    }
}

/// `ci.yaml`: `check-manifests.py` on the pushed commit, then `start-cd`.
fn ci(
    ctx: &mut Ctx<'_>,
    key: &str,
    run: &WorkflowRun,
    environment: &str,
) -> Result<String, String> {
    let (_, bare) = repo_parts(ctx, key).ok_or("the repository is gone")?;
    check_manifests(&bare, &run.head_sha)?;
    let inputs = BTreeMap::from([
        ("environment".to_string(), environment.to_string()),
        ("promoted_commit_id".to_string(), run.head_sha.clone()),
    ]);
    dispatch(ctx, key, "cd.yaml", &run.head_branch, inputs, None)
        .map_err(|e| format!("could not create workflow dispatch event: {e}"))?;
    Ok(format!(
        "Started the promotion of {} to {environment}",
        run.head_sha
    ))
}

/// `check-manifests.py`: every YAML file parses; every document outside `.github/` is a
/// Kubernetes object naming apiVersion, kind and metadata.name (and a spec for a Kalypso
/// object); the helper scripts are executable.
fn check_manifests(bare: &Path, sha: &str) -> Result<(), String> {
    use serde::Deserialize;
    let (_, entries) = git::tree(bare, sha).ok_or("the commit has no tree")?;
    let mut problems = Vec::new();
    for entry in entries.iter().filter(|e| e.kind == "blob") {
        let path = entry.path.as_str();
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            let text = git::blob(bare, &entry.sha).unwrap_or_default();
            let documents: Result<Vec<Yaml>, _> = serde_yaml::Deserializer::from_str(&text)
                .map(Yaml::deserialize)
                .collect();
            let documents = match documents {
                Ok(documents) => documents,
                Err(error) => {
                    problems.push(format!("::error file={path}::not valid YAML: {error}"));
                    continue;
                }
            };
            if path.starts_with(".github/") {
                continue;
            }
            for (index, document) in documents.iter().enumerate() {
                let at = format!("document {}", index + 1);
                if document.is_null() {
                    continue;
                }
                if !document.is_mapping() {
                    problems.push(format!(
                        "::error file={path}::{at} is not a Kubernetes object"
                    ));
                    continue;
                }
                for field in ["apiVersion", "kind"] {
                    if document
                        .get(field)
                        .and_then(Yaml::as_str)
                        .is_none_or(str::is_empty)
                    {
                        problems.push(format!("::error file={path}::{at} has no {field}"));
                    }
                }
                if document["metadata"]["name"]
                    .as_str()
                    .is_none_or(str::is_empty)
                {
                    problems.push(format!("::error file={path}::{at} has no metadata.name"));
                }
                let kalypso = document["apiVersion"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("scheduler.kalypso.io/"));
                if kalypso && !document["spec"].is_mapping() {
                    problems.push(format!(
                        "::error file={path}::{at} ({}) has no spec",
                        document["kind"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
        let in_utils = path
            .strip_prefix(".github/workflows/utils/")
            .is_some_and(|rest| !rest.contains('/'));
        if in_utils && (path.ends_with(".sh") || path.ends_with(".py")) && entry.mode != "100755" {
            problems.push(format!(
                "::error file={path}::helper script is not executable (git update-index --chmod=+x)"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// `cd.yaml`: check out main (the run's commit) and the environment branch, then
/// `promote.sh` and `update-status.sh pending`.
fn cd(
    ctx: &mut Ctx<'_>,
    key: &str,
    run: &WorkflowRun,
    control_plane_url: &str,
) -> Result<String, String> {
    let (_, bare) = repo_parts(ctx, key).ok_or("the repository is gone")?;
    let environment = run.inputs.get("environment").cloned().unwrap_or_default();
    let promoted = run
        .inputs
        .get("promoted_commit_id")
        .cloned()
        .unwrap_or_default();
    // actions/checkout of `ref: ENVIRONMENT`.
    let Some(branch_head) = git::heads(&bare).get(&environment).cloned() else {
        return Err(format!(
            "A branch or tag with the name '{environment}' could not be found"
        ));
    };
    if !is_environment_branch_name(&environment) || environment == "main" {
        return Err(format!("::error::environment must name an environment branch (lowercase letters, digits and '-', not main); got '{environment}'"));
    }
    if !is_commit_id(&promoted) {
        return Err(format!(
            "::error::promoted_commit_id must be a full 40-character commit id; got '{promoted}'"
        ));
    }
    if !git::is_ancestor(&bare, &promoted, &run.head_sha) {
        return Err(format!("::error::{promoted} is not a commit of main"));
    }
    let base_repo = format!(
        "# Delivers the main branch of this repository into the {environment} environment, pinned by the cd\n# workflow at the commit promoted to {environment}.\napiVersion: scheduler.kalypso.io/v1alpha1\nkind: BaseRepo\nmetadata:\n  name: main\nspec:\n  repo: \"{control_plane_url}\"\n  branch: main\n  path: .\n  commit: \"{promoted}\"\n"
    );
    let current = git::file_at(&bare, &branch_head, "base-repo.yaml");
    let notice = if current.as_deref() == Some(base_repo.as_str()) {
        format!("The {environment} branch already pins {promoted}; nothing to push.")
    } else {
        let commit = git::commit_files_as(
            &bare,
            &branch_head,
            &[("base-repo.yaml".to_string(), base_repo.into_bytes())],
            &format!("Promote {promoted} to {environment}"),
            (ACTIONS_BOT, ACTIONS_BOT_EMAIL),
        )
        .map_err(|e| e.to_string())?;
        // A plain (not forced) push: it fails if the branch moved meanwhile.
        git::move_branch(&bare, &environment, &commit, &branch_head).map_err(|_| {
            format!(
                "! [rejected] HEAD -> {environment} (fetch first)\nerror: failed to push some refs"
            )
        })?;
        // Pushed with the run's GITHUB_TOKEN: no workflow run follows.
        mark_seen(ctx, key, &environment, &commit);
        format!("Pinned {promoted} in the {environment} branch.")
    };
    set_status(
        ctx,
        key,
        &promoted,
        &environment,
        "pending",
        &format!("Promoted to {environment}, waiting for deployment"),
    );
    Ok(notice)
}

/// A push made with a run's `GITHUB_TOKEN`: Actions sees it but starts nothing.
fn mark_seen(ctx: &mut Ctx<'_>, key: &str, branch: &str, sha: &str) {
    if let Some(heads) = ctx
        .world
        .github
        .repos
        .get_mut(key)
        .and_then(|r| r.actions_heads.as_mut())
    {
        heads.insert(branch.to_string(), sha.to_string());
    }
}

/// `update-status.sh STATE DESCRIPTION`: the commit status `kalypso/ENVIRONMENT`.
fn set_status(
    ctx: &mut Ctx<'_>,
    key: &str,
    sha: &str,
    environment: &str,
    state: &str,
    description: &str,
) {
    let created_at = ctx.timestamp.clone();
    if let Some(repo) = ctx.world.github.repos.get_mut(key) {
        repo.commit_statuses.push(CommitStatus {
            sha: sha.to_string(),
            context: format!("kalypso/{environment}"),
            state: state.to_string(),
            description: description.to_string(),
            created_at,
        });
    }
}

/// The gitops environment branch's `check-promote.yaml`: find the merged pull request
/// labelled `promoted` this push came from, read the promoted commit it records, and
/// dispatch the control plane's `check-promote.yaml` with `CONTROL_PLANE_TOKEN`.
fn hand_back(
    ctx: &mut Ctx<'_>,
    key: &str,
    run: &WorkflowRun,
    control_plane_repo: &str,
) -> Result<String, String> {
    let (_, bare) = repo_parts(ctx, key).ok_or("the repository is gone")?;
    let (sha, branch) = (&run.head_sha, &run.head_branch);
    // `gh api repos/R/commits/SHA/pulls`: the pull requests the commit belongs to (merged
    // by it, or heading at it).
    let promoted_pulls = ctx.world.github.repos[key]
        .pulls
        .iter()
        .filter(|pull| {
            pull.merged_at.is_some()
                && pull.base == *branch
                && pull.labels.iter().any(|l| l == "promoted")
                && (pull.merge_commit.as_deref() == Some(sha.as_str())
                    || pull.head_oid.as_deref() == Some(sha.as_str()))
        })
        .count();
    if promoted_pulls == 0 {
        return Ok(format!(
            "{sha} on {branch} did not come from a pull request labelled promoted; nothing to hand back."
        ));
    }
    let promoted = git::file_at(&bare, sha, ".github/tracking/Promoted_Commit_Id")
        .unwrap_or_default()
        .split_whitespace()
        .collect::<String>();
    if !is_commit_id(&promoted) {
        return Err(format!("::error::.github/tracking/Promoted_Commit_Id at {sha} holds no commit id: '{promoted}'"));
    }
    let TokenRead::Login(login) = secret_token(ctx, key, "CONTROL_PLANE_TOKEN", None)? else {
        return Err(format!("::error::The CONTROL_PLANE_TOKEN secret is not set: it needs a token that may run workflows in {control_plane_repo}."));
    };
    let Some(login) = login else {
        return Err(format!(
            "could not fetch workflows for {control_plane_repo}: HTTP 401: Bad credentials ({api}/repos/{control_plane_repo}/actions/workflows?per_page=100&page=1)",
            api = super::gh::api_base_of(ctx)
        ));
    };
    let Some((owner, name)) = super::world::parse_repo_ref(control_plane_repo) else {
        return Err(format!(
            "expected the \"[HOST/]OWNER/REPO\" format, got \"{control_plane_repo}\""
        ));
    };
    let target = super::state::key2(&owner, &name);
    let inputs = BTreeMap::from([
        ("environment".to_string(), branch.clone()),
        ("commit_id".to_string(), sha.clone()),
        ("promoted_commit_id".to_string(), promoted.clone()),
    ]);
    dispatch(
        ctx,
        &target,
        "check-promote.yaml",
        "main",
        inputs,
        Some(&login),
    )?;
    Ok(format!(
        "Asked {control_plane_repo} to check {sha} on {branch} (promoting {promoted})."
    ))
}

/// The control plane's `check-promote.yaml`: job `check` (`verify-deployment.sh` with
/// `GITOPS_REPO` and `GITOPS_REPO_TOKEN`, commit statuses), then job `promote` in the
/// GitHub environment of the checked environment, dispatching `cd.yaml` for its
/// `NEXT_ENVIRONMENT` unless that is empty or the same environment.
fn check_promote(ctx: &mut Ctx<'_>, key: &str, run: &WorkflowRun) -> Result<String, String> {
    let input = |name: &str| run.inputs.get(name).cloned().unwrap_or_default();
    let (environment, commit_id, promoted) = (
        input("environment"),
        input("commit_id"),
        input("promoted_commit_id"),
    );
    if !promoted.is_empty() {
        set_status(
            ctx,
            key,
            &promoted,
            &environment,
            "pending",
            &format!("Deploying to {environment}"),
        );
    }
    if let Err(error) = verify_deployment(ctx, key, &environment, &commit_id, &promoted) {
        if !promoted.is_empty() {
            set_status(
                ctx,
                key,
                &promoted,
                &environment,
                "failure",
                &format!("Deployment to {environment} failed its checks"),
            );
        }
        return Err(error);
    }
    if promoted.is_empty() {
        return Ok(format!("Post-deployment checks for {environment} passed."));
    }
    set_status(
        ctx,
        key,
        &promoted,
        &environment,
        "success",
        &format!("Deployed to {environment}"),
    );
    // Job `promote`: `environment: ENVIRONMENT`, so its secret comes first.
    let next = secret_text(ctx, key, "NEXT_ENVIRONMENT", Some(&environment))?;
    if next.is_empty() || next == environment {
        return Ok(format!("{environment} is the last environment (NEXT_ENVIRONMENT is not set or names it), so {promoted} goes no further."));
    }
    let inputs = BTreeMap::from([
        ("environment".to_string(), next.clone()),
        ("promoted_commit_id".to_string(), promoted.clone()),
    ]);
    dispatch(ctx, key, "cd.yaml", "main", inputs, None)
        .map_err(|e| format!("could not create workflow dispatch event: {e}"))?;
    Ok(format!(
        "Started the promotion of {promoted} from {environment} to {next}"
    ))
}

/// `verify-deployment.sh`.
fn verify_deployment(
    ctx: &Ctx<'_>,
    key: &str,
    environment: &str,
    commit_id: &str,
    promoted: &str,
) -> Result<(), String> {
    let gitops_repo = secret_text(ctx, key, "GITOPS_REPO", None)?;
    if gitops_repo.is_empty() {
        return Err(
            "GITOPS_REPO: the GITOPS_REPO secret (owner/name of the gitops repository) is not set"
                .to_string(),
        );
    }
    let TokenRead::Login(token_login) = secret_token(ctx, key, "GITOPS_REPO_TOKEN", None)? else {
        return Err("GH_TOKEN: the GITOPS_REPO_TOKEN secret (a token that can read the gitops repository) is not set".to_string());
    };
    let fail = |message: String| Err(format!("::error::{message}"));
    let owner_name = regex::Regex::new(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$").expect("a valid regex");
    if !owner_name.is_match(&gitops_repo) {
        return fail("the GITOPS_REPO secret must be owner/name".to_string());
    }
    if !is_environment_branch_name(environment) {
        return fail(format!(
            "environment '{environment}' is not an environment branch name"
        ));
    }
    if !is_commit_id(commit_id) {
        return fail(format!(
            "commit_id must be a full 40-character commit id; got '{commit_id}'"
        ));
    }
    if !promoted.is_empty() && !is_commit_id(promoted) {
        return fail(format!(
            "promoted_commit_id must be a full 40-character commit id; got '{promoted}'"
        ));
    }
    // `gh api repos/GITOPS_REPO/compare/COMMIT_ID...ENVIRONMENT` with the token.
    let gitops_key = {
        let (owner, name) = gitops_repo.split_once('/').expect("checked above");
        super::state::key2(owner, name)
    };
    let readable = token_login.is_some_and(|login| ctx.world.can_read_repo(&login, &gitops_key));
    let gitops_bare = ctx
        .world
        .github
        .repos
        .get(&gitops_key)
        .map(|r| ctx.paths.bare_repo(&r.owner, &r.name));
    let branch_head = gitops_bare
        .as_ref()
        .and_then(|bare| git::heads(bare).get(environment).cloned());
    let commit_known = gitops_bare
        .as_ref()
        .is_some_and(|bare| git::rev_parse(bare, &format!("{commit_id}^{{commit}}")).is_some());
    let (Some(bare), Some(branch_head), true, true) =
        (gitops_bare, branch_head, readable, commit_known)
    else {
        return fail(format!(
            "could not compare {commit_id} with the {environment} branch of {gitops_repo}"
        ));
    };
    if !git::is_ancestor(&bare, commit_id, &branch_head) {
        let relation = if git::is_ancestor(&bare, &branch_head, commit_id) {
            "behind"
        } else {
            "diverged"
        };
        return fail(format!(
            "{commit_id} is not on the {environment} branch of {gitops_repo} (it is {relation})"
        ));
    }
    if !promoted.is_empty() {
        let Some(recorded) = git::file_at(&bare, commit_id, ".github/tracking/Promoted_Commit_Id")
        else {
            return fail(format!("{commit_id} in {gitops_repo} records no promoted commit (.github/tracking/Promoted_Commit_Id)"));
        };
        let recorded: String = recorded.split_whitespace().collect();
        if recorded != promoted {
            return fail(format!("{commit_id} in {gitops_repo} carries {recorded}, not the promoted commit {promoted}"));
        }
    }
    Ok(())
}

/// A `workflow_dispatch` of `selector` (a workflow file name, path, name or id on the
/// default branch) at branch `git_ref` with `inputs`, as GitHub's REST API answers it:
/// `Err` is gh's error text. `as_login` is the token's account (`None`: the repository's
/// own `GITHUB_TOKEN`, which may dispatch).
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    key: &str,
    selector: &str,
    git_ref: &str,
    inputs: BTreeMap<String, String>,
    as_login: Option<&str>,
) -> Result<(), String> {
    let api = super::gh::api_base_of(ctx);
    let Some((full_name, bare)) = repo_parts(ctx, key) else {
        return Err(format!(
            "could not fetch workflows for {selector}: HTTP 404: Not Found ({api}/repos/{key}/actions/workflows?per_page=100&page=1)"
        ));
    };
    // A repository whose Actions are disabled answers its Actions API with 404, like one
    // the token cannot see.
    let readable = as_login.is_none_or(|login| ctx.world.can_read_repo(login, key));
    if !readable || !ctx.world.github.actions_enabled {
        return Err(format!("could not fetch workflows for {full_name}: HTTP 404: Not Found ({api}/repos/{full_name}/actions/workflows?per_page=100&page=1)"));
    }
    let default_branch = "main";
    let workflows = workflows_at(&bare, &format!("refs/heads/{default_branch}"));
    let wanted = selector.trim_start_matches("./");
    let Some(workflow) = workflows.iter().find(|w| {
        w.path == wanted
            || w.path.rsplit('/').next() == Some(wanted)
            || w.name == wanted
            || workflow_id(key, &w.path).to_string() == wanted
    }) else {
        return Err(format!("could not find any workflows named {selector}"));
    };
    let url = format!(
        "{api}/repos/{full_name}/actions/workflows/{}/dispatches",
        workflow_id(key, &workflow.path)
    );
    if let Some(login) = as_login {
        if !ctx.world.can_write_repo(login, key) {
            return Err(format!(
                "HTTP 403: Resource not accessible by personal access token ({url})"
            ));
        }
    }
    let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
    let Some(sha) = git::heads(&bare).get(branch).cloned() else {
        return Err(format!("HTTP 422: No ref found for: {git_ref} ({url})"));
    };
    let Some(at_ref) = workflows_at(&bare, &sha)
        .into_iter()
        .find(|w| w.path == workflow.path)
    else {
        return Err(format!("HTTP 404: Not Found ({url})"));
    };
    let Some(declared) = at_ref.dispatch.clone() else {
        return Err(format!(
            "HTTP 422: Workflow does not have 'workflow_dispatch' trigger ({url})"
        ));
    };
    let unexpected: Vec<String> = inputs
        .keys()
        .filter(|name| !declared.contains_key(*name))
        .map(|name| format!("\"{name}\""))
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "HTTP 422: Unexpected inputs provided: [{}] ({url})",
            unexpected.join(", ")
        ));
    }
    let mut resolved = BTreeMap::new();
    for (name, input) in &declared {
        match inputs.get(name).or(input.default.as_ref()) {
            Some(value) => {
                resolved.insert(name.clone(), value.clone());
            }
            None if input.required => {
                return Err(format!(
                    "HTTP 422: Required input '{name}' not provided ({url})"
                ));
            }
            None => {}
        }
    }
    let title = at_ref.name.clone();
    start_run(
        ctx,
        key,
        &at_ref,
        Trigger {
            event: "workflow_dispatch",
            branch,
            sha: &sha,
            inputs: resolved,
            display_title: title,
        },
    );
    Ok(())
}

/// The runs of a repository, newest first, with each one's number among its workflow's
/// runs and its workflow's id (what `gh run list` shows).
pub(crate) fn runs_newest_first(ctx: &Ctx<'_>, key: &str) -> Vec<(WorkflowRun, u64, u64)> {
    let Some(repo) = ctx.world.github.repos.get(key) else {
        return Vec::new();
    };
    let mut numbers: BTreeMap<&str, u64> = BTreeMap::new();
    let mut out: Vec<(WorkflowRun, u64, u64)> = repo
        .workflow_runs
        .iter()
        .map(|run| {
            let number = numbers.entry(run.path.as_str()).or_insert(0);
            *number += 1;
            (run.clone(), *number, workflow_id(key, &run.path))
        })
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_filters_follow_githubs_patterns() {
        let filter = BranchFilter::Branches(vec![
            "main".into(),
            "releases/**".into(),
            "!releases/old".into(),
        ]);
        assert!(filter.matches("main"));
        assert!(filter.matches("releases/v1/x"));
        assert!(!filter.matches("releases/old"));
        assert!(!filter.matches("dev"));
        let star = BranchFilter::Branches(vec!["feature/*".into()]);
        assert!(star.matches("feature/a"));
        assert!(!star.matches("feature/a/b"));
        assert!(BranchFilter::Ignore(vec!["dev".into()]).matches("main"));
        assert!(!BranchFilter::Ignore(vec!["dev".into()]).matches("dev"));
    }

    #[test]
    fn the_on_section_is_read_in_each_of_its_forms() {
        let doc: Yaml = serde_yaml::from_str("on: push\n").unwrap();
        assert!(matches!(triggers(&doc).0, Some(BranchFilter::All)));
        let doc: Yaml = serde_yaml::from_str("on: [push, workflow_dispatch]\n").unwrap();
        let (push, dispatch) = triggers(&doc);
        assert!(push.is_some() && dispatch.is_some());
        let doc: Yaml = serde_yaml::from_str(
            "on:\n  workflow_dispatch:\n    inputs:\n      x:\n        required: true\n      y:\n        default: d\n",
        )
        .unwrap();
        let (push, dispatch) = triggers(&doc);
        assert!(push.is_none());
        let inputs = dispatch.unwrap();
        assert!(inputs["x"].required);
        assert_eq!(inputs["y"].default.as_deref(), Some("d"));
    }
}
