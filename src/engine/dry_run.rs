//! `--dry-run`: every step of a plan with its action and the exact argv of every command
//! it would run, built by the same adapter `*_spec` builders the steps use. Secrets are
//! never in an argv (they travel by environment and stdin); any registered secret that
//! appeared would be shown as `***`.

use std::fmt::Write as _;

use secrecy::{SecretSlice, SecretString};
use serde::Serialize;

use super::plan::{Plan, PlannedStep};
use super::step::{Action, StepId};
use super::steps::installation::FLUX_API_VERSION;
use super::steps::repositories::{repo_kind, secret_values, target, PROMOTED_LABEL_DESCRIPTION};
use super::steps::validation::{test_workload_manifest, TEST_WORKLOAD};
use super::steps::{resources, template_context, BootstrapSteps, StepEnv, Tools};
use crate::config::{ClusterTarget, RepoTarget};
use crate::state::Phase;
use crate::templates::{self, structure::MAIN_BRANCH, BranchKind, RepoKind, TemplateContext};
use crate::tools::az::AksCreateParams;
use crate::tools::gh::{PROMOTED_LABEL, PROMOTED_LABEL_COLOR};
use crate::tools::git::{github_remote_url, SEED_MESSAGE};
use crate::tools::helm::{ChartRef, InstallParams, RELEASE_NAME};
use crate::tools::kubectl::{
    flux_install_url, FluxKind, FLUX_GITREPOSITORY_CRD, FLUX_KUSTOMIZATION_CRD,
};
use crate::tools::CommandSpec;

/// The owner shown when it could not be learned (no GitHub sign-in during the dry run).
pub const UNKNOWN_OWNER: &str = "OWNER";

/// One step of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRunStep {
    pub phase: Phase,
    pub id: StepId,
    pub action: Action,
    /// Why the plan chose the action.
    pub reason: String,
    /// Each command's argv, in order, secrets as `***`.
    pub commands: Vec<Vec<String>>,
    /// What the commands cannot show (a choice made at run time, a file's content).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What `--dry-run` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRun {
    pub steps: Vec<DryRunStep>,
}

impl DryRun {
    /// `{"steps":[{"phase":…,"id":…,"action":…,"commands":[[…],…]}]}` on one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("dry run serialises: {e}"))
    }

    /// The plan for people: each step, its action and reason, and its commands as a shell
    /// would read them.
    pub fn to_text(&self) -> String {
        let mut text = String::from("Dry run: nothing is created or changed. The plan:\n");
        for step in &self.steps {
            let _ = writeln!(
                text,
                "\n[{}] {} ({}): {}\n  {}",
                step.phase,
                step.id,
                step.action,
                step.id.title(),
                step.reason
            );
            for command in &step.commands {
                let line: Vec<String> = command.iter().map(|part| shell_word(part)).collect();
                let _ = writeln!(text, "    $ {}", line.join(" "));
            }
            for note in &step.notes {
                let _ = writeln!(text, "    note: {note}");
            }
        }
        text
    }
}

fn shell_word(part: &str) -> String {
    let plain = !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-*".contains(c));
    if plain {
        part.to_string()
    } else {
        format!("'{}'", part.replace('\'', r"'\''"))
    }
}

/// The dry run of `plan`: nothing runs.
/// What a dry run shows for the installation id when no state file holds one yet: the run
/// chooses it when it creates the state file.
pub const NEW_INSTALLATION_ID: &str = "<new-installation-id>";

/// `installation_id` is the mark the Azure resources would be tagged with.
pub fn dry_run(steps: &BootstrapSteps, plan: &Plan, installation_id: &str) -> DryRun {
    let env = steps.env();
    let owner = steps
        .known_owner()
        .unwrap_or_else(|| UNKNOWN_OWNER.to_string());
    let context = template_context(&env.configuration, Some(&owner)).ok();
    DryRun {
        steps: plan
            .steps
            .iter()
            .map(|step| describe(env, step, &owner, context.as_ref(), installation_id))
            .collect(),
    }
}

fn describe(
    env: &StepEnv,
    step: &PlannedStep,
    owner: &str,
    context: Option<&TemplateContext>,
    installation_id: &str,
) -> DryRunStep {
    let (specs, notes) = if step.action == Action::Skip {
        (Vec::new(), Vec::new())
    } else {
        commands(env, step, owner, context, installation_id)
    };
    DryRunStep {
        phase: step.phase,
        id: step.id,
        action: step.action,
        reason: step.reason.clone(),
        commands: specs.iter().map(CommandSpec::redacted_argv).collect(),
        notes,
    }
}

fn commands(
    env: &StepEnv,
    step: &PlannedStep,
    owner: &str,
    context: Option<&TemplateContext>,
    installation_id: &str,
) -> (Vec<CommandSpec>, Vec<String>) {
    let tools = env.tools();
    let kube_context = env.kube_context();
    let kubectl = tools.kubectl.with_context(&kube_context);
    let helm = tools.helm.with_kube_context(&kube_context);
    let create = step.action == Action::Create;
    let mut notes = Vec::new();
    let new = match &env.configuration.cluster {
        ClusterTarget::Create(new) => Some(new),
        ClusterTarget::Existing(_) => None,
    };
    let specs = match step.id {
        StepId::ClusterPreflight => new
            .map(|new| {
                vec![
                    tools.az.aks_get_versions_spec(&new.region),
                    tools.az.vm_list_skus_spec(&new.region, &new.vm_size),
                    tools.az.vm_list_usage_spec(&new.region),
                ]
            })
            .unwrap_or_default(),
        StepId::ClusterResourceGroup => new
            .map(|new| {
                let mut specs = vec![tools.az.group_show_spec(&new.resource_group)];
                if create {
                    specs.push(tools.az.group_create_spec(
                        &new.resource_group,
                        &new.region,
                        installation_id,
                    ));
                }
                specs
            })
            .unwrap_or_default(),
        StepId::ClusterCreate => new
            .map(|new| {
                let show = tools.az.aks_show_spec(&new.resource_group, &new.name);
                let mut specs = vec![show.clone()];
                if create {
                    specs.push(tools.az.aks_create_no_wait_spec(&AksCreateParams {
                        resource_group: new.resource_group.clone(),
                        name: new.name.clone(),
                        location: new.region.clone(),
                        node_count: new.node_count,
                        node_vm_size: new.vm_size.clone(),
                        kubernetes_version: new.kubernetes_version.clone(),
                        network_plugin: new.network_plugin,
                        installation_id: installation_id.to_string(),
                    }));
                    specs.push(show);
                    notes.push(
                        "az aks show repeats until provisioningState is Succeeded".to_string(),
                    );
                }
                specs
            })
            .unwrap_or_default(),
        StepId::ClusterCredentials => new
            .map(|new| {
                let mut specs = Vec::new();
                if create {
                    specs.push(tools.az.aks_get_credentials_spec(
                        &new.resource_group,
                        &new.name,
                        &kube_context,
                        &env.kubeconfig,
                    ));
                }
                specs.push(kubectl.server_version_spec());
                specs
            })
            .unwrap_or_default(),
        StepId::ClusterReady => {
            let mut specs = vec![kubectl.server_version_spec(), kubectl.get_nodes_spec()];
            if new.is_some() {
                specs.push(kubectl.get_pods_spec("kube-system"));
            }
            specs
        }
        StepId::ControlPlaneRepo | StepId::GitopsRepo => {
            repository_commands(env, &tools, repo_kind(step.id), owner)
        }
        StepId::ControlPlaneSeed | StepId::GitopsSeed => {
            let kind = repo_kind(step.id);
            match context {
                Some(context) => seed_commands(env, &tools, kind, context),
                None => {
                    notes.push(
                        "the repository's owner is not known: the push commands cannot be listed"
                            .to_string(),
                    );
                    Vec::new()
                }
            }
        }
        StepId::ControlPlaneSecrets | StepId::GitopsSecrets => {
            let kind = repo_kind(step.id);
            match context {
                Some(context) => {
                    let slug = repo(context, kind).slug();
                    let token = env
                        .github_token
                        .clone()
                        .unwrap_or_else(|| SecretString::from(String::new()));
                    let mut specs = Vec::new();
                    if !create {
                        specs.push(tools.gh.secret_list_spec(&slug));
                    }
                    for (name, value) in secret_values(kind, context, &token) {
                        specs.push(tools.gh.secret_set_spec(&slug, name, &value));
                    }
                    notes.push("secret values are written to gh's stdin".to_string());
                    specs
                }
                None => Vec::new(),
            }
        }
        StepId::GitopsLabel => match context {
            Some(context) if create => vec![tools.gh.label_create_spec(
                &context.gitops.slug(),
                PROMOTED_LABEL,
                PROMOTED_LABEL_COLOR,
                PROMOTED_LABEL_DESCRIPTION,
            )],
            _ => Vec::new(),
        },
        StepId::InstallFlux => {
            let mut specs = vec![
                kubectl.get_crd_spec(FLUX_GITREPOSITORY_CRD),
                kubectl.get_crd_spec(FLUX_KUSTOMIZATION_CRD),
            ];
            notes.push(format!(
                "when Flux is present, {FLUX_API_VERSION} of GitRepository and Kustomization must be served; otherwise:"
            ));
            specs.push(kubectl.get_namespace_spec(resources::FLUX_NAMESPACE));
            specs.push(kubectl.apply_server_side_url_spec(&flux_install_url(&env.flux_version)));
            notes.push(format!(
                "the {} namespace is labelled as ours only when the manifest created it",
                resources::FLUX_NAMESPACE
            ));
            specs.push(kubectl.label_mark_spec(
                "namespace",
                &[resources::FLUX_NAMESPACE],
                installation_id,
            ));
            specs.push(
                kubectl.wait_deployments_available_spec(
                    resources::FLUX_NAMESPACE,
                    env.timings.flux_wait,
                ),
            );
            specs
        }
        StepId::InstallKalypso => {
            let installation = &env.configuration.installation;
            let chart = ChartRef {
                chart: installation.chart.clone(),
                version: installation.version.clone(),
            };
            notes.push(
                "`-f -`: the values controlPlane.URL, controlPlane.branch and ghRepo.token are written to helm's standard input (no file holds the token)"
                    .to_string(),
            );
            vec![
                helm.status_spec(RELEASE_NAME, &installation.namespace),
                tools.helm.show_chart_spec(&chart),
                kubectl.get_namespace_spec(&installation.namespace),
                kubectl.create_namespace_spec(&installation.namespace),
                kubectl.label_mark_spec(
                    "namespace",
                    &[installation.namespace.as_str()],
                    installation_id,
                ),
                kubectl.list_crds_spec(),
                helm.upgrade_install_spec(&InstallParams {
                    release: RELEASE_NAME.to_string(),
                    chart,
                    namespace: installation.namespace.clone(),
                    // A dry run shows the command, never its input.
                    our_values: SecretSlice::from(Vec::new()),
                    values_files: installation.values.iter().cloned().collect(),
                    timeout: env.timings.helm_timeout,
                    installation_id: installation_id.to_string(),
                }),
                // The Kalypso CRDs the chart added, labelled as ours.
                kubectl.label_mark_spec("crd", &resources::KALYPSO_CRDS, installation_id),
                kubectl.get_deployments_spec(&installation.namespace),
            ]
        }
        StepId::HealthChecks => {
            let namespace = &env.configuration.installation.namespace;
            let mut specs = vec![
                kubectl.get_pods_spec(namespace),
                kubectl.list_crds_spec(),
                kubectl.get_deployments_spec(namespace),
                kubectl.get_validating_webhooks_spec(),
                kubectl.get_flux_object_spec(
                    FluxKind::GitRepository,
                    resources::CONTROL_PLANE_SOURCE,
                    resources::FLUX_NAMESPACE,
                ),
                kubectl.get_flux_object_spec(
                    FluxKind::Kustomization,
                    resources::CONTROL_PLANE_SOURCE,
                    resources::FLUX_NAMESPACE,
                ),
            ];
            if create {
                specs.push(kubectl.apply_stdin_spec(&test_workload_manifest(namespace)));
                specs.push(kubectl.delete_workload_spec(TEST_WORKLOAD, namespace));
                notes.push(format!(
                    "the test Workload {TEST_WORKLOAD} is given to kubectl apply on stdin"
                ));
            }
            specs
        }
    };
    (specs, notes)
}

fn repo(context: &TemplateContext, kind: RepoKind) -> &templates::GitHubRepo {
    match kind {
        RepoKind::ControlPlane => &context.control_plane,
        RepoKind::Gitops => &context.gitops,
    }
}

fn repository_commands(
    env: &StepEnv,
    tools: &Tools,
    kind: RepoKind,
    owner: &str,
) -> Vec<CommandSpec> {
    match target(env, kind) {
        RepoTarget::Existing(existing) => {
            let slug = existing.slug();
            let mut specs = vec![tools.gh.repo_view_spec(&slug)];
            for branch in BranchKind::ALL {
                specs.push(tools.gh.repo_tree_spec(
                    &slug,
                    branch.branch_name(TemplateContext::DEFAULT_ENVIRONMENT),
                ));
            }
            specs
        }
        RepoTarget::Create { name } => {
            let slug = format!("{owner}/{name}");
            let mut specs = Vec::new();
            match &env.configuration.repositories.github_org {
                Some(org) => specs.push(tools.gh.org_membership_spec(org)),
                None => specs.push(tools.gh.api_user_spec()),
            }
            specs.push(tools.gh.repo_view_spec(&slug));
            specs.push(tools.gh.repo_create_spec(
                &slug,
                env.configuration.repositories.visibility,
                repo_description(kind),
            ));
            specs.push(tools.gh.repo_identity_spec(&slug));
            specs.push(tools.gh.repo_add_mark_topic_spec(&slug));
            specs
        }
    }
}

fn repo_description(kind: RepoKind) -> &'static str {
    super::steps::repositories::description(kind)
}

fn seed_commands(
    env: &StepEnv,
    tools: &Tools,
    kind: RepoKind,
    context: &TemplateContext,
) -> Vec<CommandSpec> {
    let repo = repo(context, kind);
    let Ok(rendered) = templates::render(context) else {
        return Vec::new();
    };
    let remote = github_remote_url(&repo.owner, &repo.name);
    let git_env = tools.gh.git_env().merge(env.git_env.clone());
    let workdir = env
        .work_dir
        .join("kalypso-seed-XXXXXX")
        .join(kind.dir_name());
    let mut specs = vec![tools.gh.repo_view_spec(&repo.slug())];
    specs.extend(tools.git.seed_specs(
        &workdir,
        &remote,
        &rendered.repo(kind).branches,
        SEED_MESSAGE,
        &git_env,
    ));
    debug_assert!(rendered
        .repo(kind)
        .branches
        .first()
        .is_some_and(|b| b.name == MAIN_BRANCH));
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_quotes_words_a_shell_would_split() {
        assert_eq!(shell_word("--no-wait"), "--no-wait");
        assert_eq!(shell_word("***"), "***");
        assert_eq!(
            shell_word("Kalypso control plane"),
            "'Kalypso control plane'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
