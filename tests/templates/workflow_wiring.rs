//! The rendered workflows are wired to each other and to their helper scripts correctly, read
//! statically from the YAML: every `gh workflow run` names a dispatchable workflow of the right
//! repository with inputs it accepts; every helper script gets the variables it requires and
//! the checkout it works on; the concurrency groups cannot drop a check.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::templates::acme_context;
use crate::support::templates::workflow::{
    command_lines, dispatches, env_of, resolve_word, workflow, workflows, Workflow,
};
use kalypso_bootstrap::templates::{render, RenderedTemplates, RepoKind, RepoRef, TemplateContext};
use regex::Regex;
use serde_yaml::Value;

/// The issue's custom-named configuration, and one with other names, environment and owner.
fn contexts() -> [TemplateContext; 2] {
    let mut stage = TemplateContext::new(
        RepoRef::new("contoso", "platform-control"),
        RepoRef::new("contoso-ops", "platform-gitops"),
    );
    stage.environments = vec!["stage".into()];
    [acme_context(), stage]
}

/// The variables GitHub sets in every step (the subset the templates may rely on).
const GITHUB_PROVIDED: [&str; 8] = [
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_REF_NAME",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    "GITHUB_OUTPUT",
    "GITHUB_WORKSPACE",
];

/// One `gh workflow run` call as the workflows make it, with each word resolved through the
/// step's and job's `env:` (`$NEXT_ENVIRONMENT` → `${{ secrets.NEXT_ENVIRONMENT }}`).
#[derive(Debug, PartialEq, Eq)]
struct ResolvedDispatch {
    caller: String,
    job: String,
    repo: String,
    target: RepoKind,
    workflow_file: String,
    git_ref: String,
    fields: BTreeMap<String, String>,
}

fn resolved_dispatches(
    rendered: &RenderedTemplates,
    context: &TemplateContext,
) -> Vec<ResolvedDispatch> {
    let mut found = Vec::new();
    for caller in workflows(rendered) {
        for (job_name, job) in caller.jobs() {
            let job_env = env_of(job);
            for step in job["steps"].as_sequence().unwrap() {
                let Some(run) = step["run"].as_str() else {
                    continue;
                };
                let step_env = env_of(step);
                for dispatch in dispatches(run) {
                    let resolve = |word: &str| resolve_word(word, &step_env, &job_env);
                    let repo = resolve(dispatch.repo.as_deref().unwrap_or_else(|| {
                        panic!("{}: gh workflow run without --repo", caller.name())
                    }));
                    // Inside its own repository a workflow names it by $GITHUB_REPOSITORY;
                    // anything else must be one of the two rendered slugs.
                    let target = if repo == "$GITHUB_REPOSITORY" {
                        caller.repo
                    } else if repo == context.control_plane.slug() {
                        RepoKind::ControlPlane
                    } else if repo == context.gitops.slug() {
                        RepoKind::Gitops
                    } else {
                        panic!("{}: --repo {repo} is neither repository", caller.name())
                    };
                    let mut fields = BTreeMap::new();
                    for (name, value) in &dispatch.fields {
                        let previous = fields.insert(name.clone(), resolve(value));
                        assert!(previous.is_none(), "{}: -f {name} twice", caller.name());
                    }
                    found.push(ResolvedDispatch {
                        caller: caller.name(),
                        job: job_name.clone(),
                        repo,
                        target,
                        workflow_file: dispatch.workflow_file.clone(),
                        git_ref: resolve(dispatch.git_ref.as_deref().unwrap_or_else(|| {
                            panic!("{}: gh workflow run without --ref", caller.name())
                        })),
                        fields,
                    });
                }
            }
        }
    }
    found
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[test]
fn every_dispatch_passes_inputs_the_called_workflow_accepts_and_requires() {
    for context in contexts() {
        let rendered = render(&context).unwrap();
        let found = resolved_dispatches(&rendered, &context);
        assert_eq!(found.len(), 3, "{found:#?}");
        for dispatch in &found {
            let callee = workflow(&rendered, dispatch.target, &dispatch.workflow_file);
            // gh dispatches the callee as it is on --ref; all of them live on main.
            assert_eq!(callee.branch, "main", "{dispatch:?}");
            let inputs = callee.dispatch_inputs();
            let passed: BTreeSet<&String> = dispatch.fields.keys().collect();
            let accepted: BTreeSet<&String> = inputs.keys().collect();
            assert!(
                passed.is_subset(&accepted),
                "{}: {} accepts no {:?}",
                dispatch.caller,
                callee.name(),
                passed.difference(&accepted).collect::<Vec<_>>()
            );
            for (input, required) in &inputs {
                assert!(
                    !required || passed.contains(input),
                    "{}: {} requires {input}",
                    dispatch.caller,
                    callee.name()
                );
            }
        }
    }
}

#[test]
fn the_dispatches_carry_the_right_commits_environments_and_repositories() {
    for context in contexts() {
        let rendered = render(&context).unwrap();
        let mut found = resolved_dispatches(&rendered, &context);
        found.sort_by(|a, b| (&a.caller, &a.job).cmp(&(&b.caller, &b.job)));
        let environment = context.first_environment();
        let expected = vec![
            // A checked deployment is promoted to the environment NEXT_ENVIRONMENT names.
            ResolvedDispatch {
                caller: "control-plane/main/.github/workflows/check-promote.yaml".into(),
                job: "promote".into(),
                repo: "$GITHUB_REPOSITORY".into(),
                target: RepoKind::ControlPlane,
                workflow_file: "cd.yaml".into(),
                git_ref: "main".into(),
                fields: fields(&[
                    ("environment", "${{ secrets.NEXT_ENVIRONMENT }}"),
                    ("promoted_commit_id", "${{ inputs.promoted_commit_id }}"),
                ]),
            },
            // ci promotes the pushed commit of main to the first environment.
            ResolvedDispatch {
                caller: "control-plane/main/.github/workflows/ci.yaml".into(),
                job: "start-cd".into(),
                repo: "$GITHUB_REPOSITORY".into(),
                target: RepoKind::ControlPlane,
                workflow_file: "cd.yaml".into(),
                git_ref: "$GITHUB_REF_NAME".into(),
                fields: fields(&[
                    ("environment", environment),
                    ("promoted_commit_id", "$GITHUB_SHA"),
                ]),
            },
            // gitops hands the pushed (deployed) commit and the promoted commit back to the
            // control-plane repository under its rendered name.
            ResolvedDispatch {
                caller: format!("gitops/{environment}/.github/workflows/check-promote.yaml"),
                job: "hand-back".into(),
                repo: context.control_plane.slug(),
                target: RepoKind::ControlPlane,
                workflow_file: "check-promote.yaml".into(),
                git_ref: "main".into(),
                fields: fields(&[
                    ("environment", "$GITHUB_REF_NAME"),
                    ("commit_id", "$GITHUB_SHA"),
                    (
                        "promoted_commit_id",
                        "${{ steps.promotion.outputs.promoted_commit_id }}",
                    ),
                ]),
            },
        ];
        assert_eq!(found, expected);

        // ci's $GITHUB_SHA and $GITHUB_REF_NAME are the pushed commit of main: it runs on
        // pushes to main and nothing else.
        let ci = workflow(&rendered, RepoKind::ControlPlane, "ci.yaml");
        let triggers: Vec<&Value> = ci.yaml["on"].as_mapping().unwrap().keys().collect();
        assert_eq!(triggers, [&Value::from("push")]);
        assert_eq!(
            ci.yaml["on"]["push"]["branches"],
            serde_yaml::from_str::<Value>("[main]").unwrap()
        );
        // The gitops workflow's $GITHUB_REF_NAME is the environment branch it runs on.
        let gitops = workflow(&rendered, RepoKind::Gitops, "check-promote.yaml");
        assert_eq!(
            gitops.yaml["on"]["push"]["branches"],
            serde_yaml::from_str::<Value>(&format!("[{environment}]")).unwrap()
        );
        // The promoted commit it passes on is the output the lookup step sets.
        let lookup = &gitops.job("hand-back")["steps"][0];
        assert_eq!(lookup["id"], "promotion");
        assert!(lookup["run"]
            .as_str()
            .unwrap()
            .contains(r#"echo "promoted_commit_id=$promoted_commit_id" >> "$GITHUB_OUTPUT""#));
    }
}

#[test]
fn the_dispatch_parser_reads_options_and_refuses_unknown_ones() {
    let found = dispatches(
        "echo start\ngh workflow run cd.yaml \\\n  --repo \"$R\" --ref main \\\n  -f a=\"$X\" -f 'b=two words' # why\n",
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].workflow_file, "cd.yaml");
    assert_eq!(found[0].repo.as_deref(), Some("$R"));
    assert_eq!(found[0].git_ref.as_deref(), Some("main"));
    assert_eq!(found[0].field("a"), Some("$X"));
    assert_eq!(found[0].field("b"), Some("two words"));
    let unknown = std::panic::catch_unwind(|| dispatches("gh workflow run cd.yaml --json"));
    assert!(unknown.is_err());
}

/// The helper scripts a step runs (`.github/workflows/utils/X …`), with their arguments.
fn script_calls(run: &str) -> Vec<(String, Vec<String>)> {
    let script = Regex::new(r"^\.github/workflows/utils/([A-Za-z0-9._-]+)$").unwrap();
    command_lines(run)
        .into_iter()
        .filter_map(|words| {
            let name = script.captures(&words[0])?[1].to_string();
            Some((name, words[1..].to_vec()))
        })
        .collect()
}

/// The variables a script refuses to run without: its `: "${VAR:?…}"` lines, and `GH_TOKEN`
/// when it calls `gh` (which has no other way to authenticate on a runner).
fn required_variables(script: &str) -> BTreeSet<String> {
    let required = Regex::new(r#"(?m)^\s*:\s*"\$\{([A-Za-z_][A-Za-z0-9_]*):\?"#).unwrap();
    let gh = Regex::new(r"(?m)^[^#\n]*\bgh (api|workflow) ").unwrap();
    let mut names: BTreeSet<String> = required
        .captures_iter(script)
        .map(|c| c[1].to_string())
        .collect();
    if gh.is_match(script) {
        names.insert("GH_TOKEN".into());
    }
    names
}

fn script_text(rendered: &RenderedTemplates, name: &str) -> String {
    let path = format!(".github/workflows/utils/{name}");
    let file = rendered
        .control_plane
        .branches
        .iter()
        .find_map(|branch| branch.file(&path))
        .unwrap_or_else(|| panic!("a step runs {path}, which is not rendered"));
    String::from_utf8(file.contents.clone()).unwrap()
}

#[test]
fn every_helper_script_gets_the_variables_it_requires() {
    let input = Regex::new(r"^\$\{\{\s*inputs\.([a-z_]+)\s*\}\}$").unwrap();
    let rendered = render(&acme_context()).unwrap();
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    for caller in workflows(&rendered) {
        let inputs = if caller.yaml["on"]["workflow_dispatch"].is_mapping() {
            caller.dispatch_inputs()
        } else {
            BTreeMap::new()
        };
        for (job_name, job) in caller.jobs() {
            let job_env = env_of(job);
            let mut checked_out = false;
            for step in job["steps"].as_sequence().unwrap() {
                let uses = step["uses"].as_str().unwrap_or_default();
                if uses.starts_with("actions/checkout@") && step["with"]["path"].is_null() {
                    checked_out = true;
                }
                let Some(run) = step["run"].as_str() else {
                    continue;
                };
                let step_env = env_of(step);
                let condition = step["if"].as_str().unwrap_or_default();
                for (script, _) in script_calls(run) {
                    let at = format!("{} {job_name}: {script}", caller.name());
                    assert!(
                        checked_out,
                        "{at}: runs before the repository is checked out"
                    );
                    for variable in required_variables(&script_text(&rendered, &script)) {
                        let value = step_env.get(&variable).or(job_env.get(&variable));
                        match value {
                            Some(value) => {
                                assert!(!value.trim().is_empty(), "{at}: {variable} is empty");
                                // An optional input may be empty: the step must then not run.
                                if let Some(name) = input.captures(value).map(|c| c[1].to_string()) {
                                    let required = inputs.get(&name).copied().unwrap_or_else(|| {
                                        panic!("{at}: {variable} comes from an unknown input {name}")
                                    });
                                    assert!(
                                        required || condition.contains(&format!("inputs.{name} != ''")),
                                        "{at}: {variable} comes from the optional input {name}, \
                                         but the step runs when it is empty"
                                    );
                                }
                            }
                            None => assert!(
                                GITHUB_PROVIDED.contains(&variable.as_str()),
                                "{at}: {variable} is required but set neither by the job nor the step"
                            ),
                        }
                    }
                    *checked.entry(script).or_default() += 1;
                }
            }
        }
    }
    assert_eq!(
        checked,
        BTreeMap::from([
            ("check-manifests.py".to_string(), 1),
            ("promote.sh".to_string(), 1),
            ("update-status.sh".to_string(), 4),
            ("verify-deployment.sh".to_string(), 1),
        ])
    );
    // The requirement scan finds what the scripts declare.
    assert_eq!(
        required_variables(&script_text(&rendered, "promote.sh")),
        ["CONTROL_PLANE_URL", "ENVIRONMENT", "PROMOTED_COMMIT_ID"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        required_variables(&script_text(&rendered, "update-status.sh")),
        [
            "ENVIRONMENT",
            "GH_TOKEN",
            "GITHUB_REPOSITORY",
            "PROMOTED_COMMIT_ID"
        ]
        .map(String::from)
        .into()
    );
}

#[test]
fn promote_sh_works_on_the_checkout_of_the_environment_branch() {
    let rendered = render(&acme_context()).unwrap();
    let cd = workflow(&rendered, RepoKind::ControlPlane, "cd.yaml");
    let steps = cd.job("promote")["steps"].as_sequence().unwrap();
    let checkouts: Vec<&Value> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        })
        .collect();
    assert_eq!(checkouts.len(), 2);
    // main, with its whole history: promote.sh checks the promoted commit is an ancestor.
    assert!(checkouts[0]["with"]["ref"].is_null());
    assert!(checkouts[0]["with"]["path"].is_null());
    assert_eq!(checkouts[0]["with"]["fetch-depth"], 0);
    // The environment branch, in the folder promote.sh is given, with the credentials it pushes with.
    let environment_checkout = checkouts[1];
    assert_eq!(
        environment_checkout["with"]["ref"],
        "${{ inputs.environment }}"
    );
    assert!(environment_checkout["with"]["persist-credentials"].is_null());
    let path = environment_checkout["with"]["path"].as_str().unwrap();
    let promote_calls: Vec<Vec<String>> = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .flat_map(script_calls)
        .filter(|(script, _)| script == "promote.sh")
        .map(|(_, args)| args)
        .collect();
    assert_eq!(promote_calls, [[path.to_string()]]);
}

#[test]
fn check_promote_runs_are_grouped_per_deployment_and_cd_runs_per_environment() {
    let rendered = render(&acme_context()).unwrap();
    // GitHub keeps one pending run per concurrency group and cancels the older one, whose
    // commit status would then stay pending: every checked deployment gets its own group.
    let check_promote = workflow(&rendered, RepoKind::ControlPlane, "check-promote.yaml");
    let group = check_promote.yaml["concurrency"]["group"].as_str().unwrap();
    assert!(group.contains("${{ inputs.environment }}"), "{group}");
    assert!(group.contains("${{ inputs.commit_id }}"), "{group}");
    assert_eq!(
        check_promote.yaml["concurrency"]["cancel-in-progress"],
        false
    );
    // cd pushes to the environment branch: one at a time per environment.
    let cd = workflow(&rendered, RepoKind::ControlPlane, "cd.yaml");
    assert_eq!(
        cd.yaml["concurrency"]["group"],
        "cd-${{ inputs.environment }}"
    );
    assert_eq!(cd.yaml["concurrency"]["cancel-in-progress"], false);
    // Nothing else is serialised.
    let grouped: Vec<String> = workflows(&rendered)
        .iter()
        .filter(|w| !w.yaml["concurrency"].is_null())
        .map(Workflow::name)
        .collect();
    assert_eq!(grouped.len(), 2, "{grouped:?}");
}
