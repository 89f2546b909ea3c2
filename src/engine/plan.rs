//! The plan: which steps run, with which action, after which other steps. A pure function
//! of the configuration and of what read-only queries and the state file observed, so the
//! same inputs always give the same plan (and `--dry-run` shows exactly what a run does).
//! Each phase decides its own steps' actions in the module that runs them
//! (`steps::cluster::plan`, `steps::repositories::plan`, `steps::installation::plan`,
//! `steps::validation::plan`);
//! this module puts the decisions together with the dependencies and checks the graph.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::events::PlannedStepInfo;
use super::step::{Action, StepId};
use super::steps;
use crate::config::configuration::Configuration;
use crate::state::{BootstrapState, Phase, StepStatus};
use crate::troubleshooting::Hint;
use crate::ExitCode;
use crate::UserError;

/// What the read-only queries and the state file found before planning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The configured AKS cluster, `None` when it does not exist (or an existing kube
    /// context is configured, where nothing is queried here).
    pub cluster: Option<ObservedCluster>,
    /// The configured resource group, `None` when it does not exist.
    pub resource_group: Option<ObservedResourceGroup>,
    /// The control-plane repository, `None` when it does not exist.
    pub control_plane: Option<ObservedRepo>,
    /// The gitops repository, `None` when it does not exist.
    pub gitops: Option<ObservedRepo>,
    /// An existing control plane checked by what Kalypso consumes; `None` when none is
    /// configured or it is not reachable (its step reports that).
    pub control_plane_check: Option<crate::templates::structure::ControlPlaneFindings>,
    /// An existing control plane: each configured environment as it has it, in promotion
    /// order (empty when none is configured or it is not reachable).
    pub control_plane_environments: Vec<ExistingEnvironment>,
    /// An existing control plane: the names of the Templates on its `main`.
    pub control_plane_templates: Vec<String>,
    /// The URL the control plane's GitOpsRepo must name: the configured gitops repository
    /// (a new one's owner known once the token's account is); `None` when not known.
    pub gitops_url: Option<String>,
    /// For a repository the user gave: what its secrets and label steps would add (the
    /// names `gh secret list` and `gh label list` lack), by step. Absent: nothing missing.
    pub missing_on_existing: std::collections::BTreeMap<StepId, Vec<String>>,
    /// For a repository the user gave whose secrets the token may not list: why, by the
    /// secrets step (nothing is set; the plan says what the workflows need).
    pub unchecked_on_existing: std::collections::BTreeMap<StepId, String>,
    /// Steps the state file records as succeeded (see [`succeeded_steps`]).
    pub succeeded_steps: BTreeSet<StepId>,
    /// The repository steps (`control-plane.repo`, `gitops.repo`) of repositories the user
    /// gave that `gh repo view` did not find: they do not exist, or the token cannot see
    /// them. Such a repository is never planned as reused.
    pub unreachable_existing: BTreeSet<StepId>,
    /// On a gitops repository the user gave: the open pull requests of others against its
    /// environment branches, which the scheduler will close (see [`UserPullRequest`]).
    pub user_pull_requests: Vec<UserPullRequest>,
}

/// The head branch prefix of the scheduler's own pull requests (`deployment/<time>`, see
/// `gitopsrepo_controller.go` in microsoft/kalypso-scheduler).
pub const SCHEDULER_BRANCH_PREFIX: &str = "deployment/";

/// An open pull request against an environment branch of a gitops repository the user gave,
/// from a branch that is not the scheduler's own. Each time the scheduler opens its pull
/// request it closes EVERY open pull request against that branch and deletes its head
/// branch (`cleanPullRequests` in scheduler/githubrepo.go of microsoft/kalypso-scheduler):
/// a consequence of the run that needs consent. Title, branch and author are text from
/// outside, escaped wherever shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPullRequest {
    pub repository: String,
    pub base: String,
    pub number: u64,
    pub title: String,
    pub head: String,
    pub author: Option<String>,
}

impl UserPullRequest {
    /// `#3 "Fix a typo" (branch docs-typo into dev, by bob)`, escaped.
    pub fn describe(&self) -> String {
        let escape = |text: &str| crate::text::escape_controls(text).into_owned();
        format!(
            "#{} \"{}\" (branch {} into {}{})",
            self.number,
            escape(&self.title),
            escape(&self.head),
            escape(&self.base),
            self.author
                .as_deref()
                .map(|login| format!(", by {}", escape(login)))
                .unwrap_or_default()
        )
    }
}

/// One configured environment as a control plane the user gave has it: its branch, its
/// Environment on `main`, its GitHub environment and `NEXT_ENVIRONMENT` secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingEnvironment {
    pub name: String,
    /// The environment it promotes to (`None`: the last).
    pub next: Option<String>,
    /// The check of its branch; `None` when the branch does not exist.
    pub branch: Option<crate::templates::structure::ControlPlaneFindings>,
    /// `main` has an Environment of this name under `.environments/`.
    pub declared: bool,
    /// `.environments/<name>.yaml` is on `main` (a file this tool would write).
    pub file_taken: bool,
    /// Its GitHub environment exists (looked up only for an environment with a next).
    pub github_environment: bool,
    /// Its GitHub environment has the secret `NEXT_ENVIRONMENT`.
    pub next_secret: bool,
}

/// An AKS cluster that exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedCluster {
    /// The state records it as created by this tool.
    pub ours: bool,
    /// `provisioningState` from `az aks show` (`Succeeded`, `Creating`, `Failed`, ...).
    pub provisioning_state: Option<String>,
}

/// A resource group that exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedResourceGroup {
    /// The state records it as created by this tool.
    pub ours: bool,
}

/// A GitHub repository that exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedRepo {
    /// `OWNER/NAME`.
    pub slug: String,
    /// No commits yet (`isEmpty`).
    pub empty: bool,
    /// The state records it as created by this tool.
    pub ours: bool,
}

/// The steps the state records as succeeded, for [`Observed::succeeded_steps`]. Steps
/// skipped by an earlier run do not count: this run may need them.
pub fn succeeded_steps(state: &BootstrapState) -> BTreeSet<StepId> {
    state
        .steps
        .iter()
        .filter(|record| record.status == StepStatus::Succeeded)
        .filter_map(|record| StepId::parse(&record.id))
        .collect()
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    pub id: StepId,
    pub phase: Phase,
    pub action: Action,
    /// Steps that must have succeeded (or been skipped) before this one starts.
    pub depends_on: Vec<StepId>,
    /// Why the plan chose this action, for the user (e.g. `--skip-install`).
    pub reason: String,
    /// The Actions secrets this step sets on a repository the user gave (those it lacks),
    /// by name: the reason and the dry run's commands both come from it.
    pub secrets: Vec<String>,
    /// The open pull requests of others the scheduler will close once this step's gitops
    /// repository (one the user gave) is in use: the run needs consent for it.
    pub pull_requests_closed: Vec<UserPullRequest>,
    /// What this step changes, per environment, in a control plane the user gave (see
    /// [`steps::existing_environments`]): the reason, the dry run's commands and the run
    /// all come from it.
    pub changes: Vec<steps::existing_environments::ControlPlaneChange>,
    /// The scheduler's pull requests this step merges on the user's account, one line each
    /// (see [`steps::first_workload::merge_consequences`]): the run needs consent for it.
    pub merges: Vec<String>,
}

impl PlannedStep {
    pub fn new(
        id: StepId,
        action: Action,
        depends_on: Vec<StepId>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            id,
            phase: id.phase(),
            action,
            depends_on,
            reason: reason.into(),
            secrets: Vec::new(),
            pull_requests_closed: Vec::new(),
            changes: Vec::new(),
            merges: Vec::new(),
        }
    }

    pub fn info(&self) -> PlannedStepInfo {
        PlannedStepInfo {
            step: self.id,
            phase: self.phase,
            action: self.action,
            title: self.id.title().to_string(),
            depends_on: self.depends_on.clone(),
            consequences: self
                .pull_requests_closed
                .iter()
                .map(|pull| {
                    format!(
                        "the scheduler closes pull request {} of {}",
                        pull.describe(),
                        crate::text::escape_controls(&pull.repository)
                    )
                })
                .chain(self.merges.iter().cloned())
                .collect(),
        }
    }
}

/// Something found that makes the configuration unsafe to run as given: creating it
/// would take over a resource this tool did not create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConflict {
    pub step: StepId,
    pub message: String,
    pub hint: Hint,
    pub exit_code: ExitCode,
}

impl PlanConflict {
    pub fn to_user_error(&self) -> UserError {
        UserError::in_step(self.step, self.message.clone())
            .with_hint(self.hint.clone())
            .with_exit_code(self.exit_code)
    }
}

/// The steps to run. A plan with conflicts must not run (the orchestrator refuses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// In a stable order (dependencies before dependants).
    pub steps: Vec<PlannedStep>,
    pub conflicts: Vec<PlanConflict>,
}

impl Plan {
    /// A plan of these steps with no conflicts.
    pub fn new(steps: Vec<PlannedStep>) -> Self {
        Self {
            steps,
            conflicts: Vec::new(),
        }
    }

    pub fn step(&self, id: StepId) -> Option<&PlannedStep> {
        self.steps.iter().find(|step| step.id == id)
    }

    pub fn action(&self, id: StepId) -> Option<Action> {
        self.step(id).map(|step| step.action)
    }

    /// The plan as announced in `RunStarted`.
    pub fn infos(&self) -> Vec<PlannedStepInfo> {
        self.steps.iter().map(PlannedStep::info).collect()
    }

    /// The conflict the run stops on (the first found).
    pub fn first_conflict(&self) -> Option<&PlanConflict> {
        self.conflicts.first()
    }

    /// Every conflict as one error, so that all of them are fixed at once: the first alone
    /// as it is; several listed, each with its hint, under the first one's step, hint and
    /// exit code.
    pub fn conflicts_error(&self) -> Option<(StepId, UserError)> {
        let first = self.conflicts.first()?;
        if self.conflicts.len() == 1 {
            return Some((first.step, first.to_user_error()));
        }
        let listed: Vec<String> = self
            .conflicts
            .iter()
            .map(|conflict| {
                format!(
                    "  - {}: {}; {}",
                    conflict.step, conflict.message, conflict.hint
                )
            })
            .collect();
        let error = UserError::in_step(
            first.step,
            format!(
                "{} problems stop this plan; nothing was created:\n{}",
                self.conflicts.len(),
                listed.join("\n")
            ),
        )
        .with_hint(first.hint.clone())
        .with_exit_code(first.exit_code);
        Some((first.step, error))
    }

    /// Why this plan must not run, if it must not, and the step that stops it: a plan
    /// that breaks its own rules (see [`Plan::check`]), or its first conflict. The one
    /// check before a run, made by the session before it asks anything and by the
    /// orchestrator before it runs a step.
    pub fn refusal(&self) -> Option<(Option<StepId>, UserError)> {
        if let Err(problem) = self.check() {
            let error =
                UserError::new(ExitCode::General, format!("the plan cannot run: {problem}"));
            return Some((None, error));
        }
        self.conflicts_error()
            .map(|(step, error)| (Some(step), error))
    }

    /// Every step appears once, every dependency is a step of the plan, and there is no
    /// cycle. [`plan`] always passes; hand-built plans (tests, tools) are checked here.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = HashSet::new();
        for step in &self.steps {
            if !seen.insert(step.id) {
                return Err(format!("step {} appears twice in the plan", step.id));
            }
        }
        for step in &self.steps {
            if let Some(missing) = step.depends_on.iter().find(|d| !seen.contains(d)) {
                return Err(format!(
                    "step {} depends on {missing}, which is not in the plan",
                    step.id
                ));
            }
        }
        // Kahn's algorithm: whatever cannot be ordered sits on a cycle.
        let mut waiting: HashMap<StepId, usize> = self
            .steps
            .iter()
            .map(|s| (s.id, s.depends_on.len()))
            .collect();
        let mut ready: Vec<StepId> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        while let Some(done) = ready.pop() {
            waiting.remove(&done);
            for step in self.steps.iter().filter(|s| s.depends_on.contains(&done)) {
                if let Some(count) = waiting.get_mut(&step.id) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(step.id);
                    }
                }
            }
        }
        if waiting.is_empty() {
            Ok(())
        } else {
            let mut cycle: Vec<_> = waiting.keys().map(|id| id.as_str()).collect();
            cycle.sort_unstable();
            Err(format!(
                "steps {} depend on each other in a cycle",
                cycle.join(", ")
            ))
        }
    }
}

/// The dependencies of each step: the cluster chain, one chain per repository, Flux
/// after the cluster, Kalypso after Flux and every repository step, health after Kalypso.
/// The repositories wait for the cluster's pre-flight (a few read-only queries) so that a
/// configuration AKS cannot serve stops the run before anything at all is created; they
/// still run while the cluster provisions. A skipped pre-flight (existing cluster) is
/// satisfied at once.
pub fn dependencies(id: StepId) -> Vec<StepId> {
    use StepId::*;
    match id {
        ClusterPreflight => vec![],
        // With workload clusters attached, nothing is created before they are checked too.
        ClusterResourceGroup | ControlPlaneRepo | GitopsRepo => {
            vec![ClusterPreflight, WorkloadPreflight]
        }
        ClusterCreate => vec![ClusterResourceGroup],
        ClusterCredentials => vec![ClusterCreate],
        ClusterReady => vec![ClusterCredentials],
        ControlPlaneSeed => vec![ControlPlaneRepo],
        ControlPlaneSecrets => vec![ControlPlaneSeed],
        GitopsSeed => vec![GitopsRepo],
        GitopsSecrets => vec![GitopsSeed],
        GitopsLabel => vec![GitopsSecrets],
        InstallFlux => vec![ClusterReady, WorkloadPreflight],
        InstallKalypso => vec![
            InstallFlux,
            ControlPlaneRepo,
            ControlPlaneSeed,
            ControlPlaneSecrets,
            GitopsRepo,
            GitopsSeed,
            GitopsSecrets,
            GitopsLabel,
        ],
        HealthChecks => vec![InstallKalypso],
        WorkloadPreflight => vec![],
        WorkloadFlux => vec![WorkloadPreflight, ClusterReady],
        WorkloadSource => vec![WorkloadFlux, InstallFlux, GitopsSeed],
        FirstWorkload => vec![HealthChecks, WorkloadSource],
    }
}

/// Each step's action and why, as the phases decide them.
pub(crate) type Decisions = HashMap<StepId, (Action, String)>;

/// Decide every step's action. Pure: no I/O, same inputs, same plan.
pub fn plan(config: &Configuration, observed: &Observed) -> Plan {
    let mut decisions: Decisions = HashMap::new();
    let mut conflicts = Vec::new();

    // Each phase decides its steps in the module that runs them.
    steps::cluster::plan(config, observed, &mut decisions, &mut conflicts);
    steps::repositories::plan(
        &config.repositories.control_plane,
        observed.control_plane.as_ref(),
        &[
            StepId::ControlPlaneRepo,
            StepId::ControlPlaneSeed,
            StepId::ControlPlaneSecrets,
        ],
        steps::repositories::ExistingFlag {
            flag: "--control-plane-repo",
            host: &config.repositories.github_host,
        },
        observed,
        &mut decisions,
        &mut conflicts,
    );
    steps::repositories::plan(
        &config.repositories.gitops,
        observed.gitops.as_ref(),
        &[
            StepId::GitopsRepo,
            StepId::GitopsSeed,
            StepId::GitopsSecrets,
            StepId::GitopsLabel,
        ],
        steps::repositories::ExistingFlag {
            flag: "--gitops-repo",
            host: &config.repositories.github_host,
        },
        observed,
        &mut decisions,
        &mut conflicts,
    );
    steps::installation::plan(config, observed, &mut decisions);
    steps::validation::plan(config, observed, &mut decisions);
    steps::workloads::plan(config, observed, &mut decisions);
    steps::first_workload::plan(config, observed, &mut decisions);

    let control_plane_changes = steps::existing_environments::changes(observed);
    let steps: Vec<PlannedStep> = StepId::ALL
        .into_iter()
        .filter(|id| is_part_of(config, *id))
        .map(|id| {
            let (action, reason) = decisions
                .remove(&id)
                .unwrap_or_else(|| unreachable!("every step is decided, {id} was not"));
            let mut step = PlannedStep::new(id, action, dependencies(id), reason);
            if action == Action::Create {
                step.secrets = steps::repositories::secrets_to_set(id, config, observed);
            }
            if matches!(id, StepId::ControlPlaneSeed | StepId::ControlPlaneSecrets)
                && matches!(
                    config.repositories.control_plane,
                    crate::config::RepoTarget::Existing(_)
                )
            {
                step.changes = steps::existing_environments::of_step(&control_plane_changes, id);
            }
            if action == Action::Create {
                if let Some(work) = per_environment_work(config, id) {
                    step.reason.push_str(&work);
                }
            }
            if id == StepId::FirstWorkload && action == Action::Create {
                step.merges = steps::first_workload::merge_consequences(config);
            }
            if id == StepId::GitopsRepo && !observed.user_pull_requests.is_empty() {
                step.pull_requests_closed = observed.user_pull_requests.clone();
                step.reason
                    .push_str(&steps::repositories::pull_requests_closed_text(
                        &step.pull_requests_closed,
                    ));
            }
            step
        })
        .collect();
    // A dependency on a step this configuration has no part for is no dependency.
    let present: HashSet<StepId> = steps.iter().map(|step| step.id).collect();
    let steps = steps
        .into_iter()
        .map(|mut step| {
            step.depends_on
                .retain(|dependency| present.contains(dependency));
            step
        })
        .collect();
    Plan { steps, conflicts }
}

/// Whether `id` belongs in the plan of `config` at all: the workload-cluster steps only
/// when a cluster is attached, so that a run without any shows no trace of them. Every
/// other step is always planned (skipped when its part is not wanted, which the plan says).
pub fn is_part_of(config: &Configuration, id: StepId) -> bool {
    !id.attaches_workload_clusters() || !config.workload_clusters.is_empty()
}

/// What a step does per environment, when there are several (one environment's branch is
/// the default, said nowhere): the branches a seed pushes, the `NEXT_ENVIRONMENT` secrets
/// that wire the promotion chain. Appended to the step's reason, so the plan, the dry run
/// and the dashboard show it.
fn per_environment_work(config: &Configuration, id: StepId) -> Option<String> {
    let names = config.environments.names();
    if names.len() < 2 {
        return None;
    }
    match id {
        // A control plane the user gave lists its own changes per environment instead.
        StepId::ControlPlaneSeed
            if matches!(
                config.repositories.control_plane,
                crate::config::RepoTarget::Existing(_)
            ) =>
        {
            None
        }
        StepId::ControlPlaneSeed | StepId::GitopsSeed => Some(format!(
            "; branches: {}, {}",
            crate::templates::structure::MAIN_BRANCH,
            names.join(", ")
        )),
        StepId::ControlPlaneSecrets
            if matches!(
                config.repositories.control_plane,
                crate::config::RepoTarget::Create { .. }
            ) =>
        {
            let chain: Vec<(&str, &str)> = names
                .iter()
                .filter_map(|name| {
                    config
                        .environments
                        .next_after(name)
                        .map(|next| (name.as_str(), next))
                })
                .collect();
            let plan_note = match config.repositories.visibility {
                crate::config::Visibility::Private => {
                    " (a GitHub environment of a private repository needs GitHub Pro, Team or Enterprise)"
                }
                crate::config::Visibility::Public => "",
            };
            Some(format!(
                "; the promotion chain: {}{plan_note}",
                steps::repositories::describe_chain(&chain)
            ))
        }
        _ => None,
    }
}

/// A step whose resource exists: reuse it when an earlier run finished the step, else
/// do (or finish) the step.
pub(crate) fn resume_decision(succeeded_before: bool, resource: &str) -> (Action, String) {
    if succeeded_before {
        (
            Action::Reuse,
            format!("done by an earlier run; {resource} still exists"),
        )
    } else {
        (
            Action::Create,
            format!("{resource} exists; finish what an earlier run started"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::configuration::{
        ClusterTarget, ExistingCluster, GitHubRepo, HelmChart, Installation, NetworkPlugin,
        NewCluster, Options, RepoTarget, Repositories, Visibility,
    };
    use StepId::*;

    fn config() -> Configuration {
        Configuration {
            cluster: ClusterTarget::Create(NewCluster {
                name: "demo".into(),
                region: "eastus".into(),
                resource_group: "demo-rg".into(),
                node_count: 3,
                vm_size: "Standard_DS2_v2".into(),
                kubernetes_version: None,
                network_plugin: NetworkPlugin::Azure,
            }),
            repositories: Repositories {
                control_plane: RepoTarget::Create {
                    name: "demo-control-plane".into(),
                },
                gitops: RepoTarget::Create {
                    name: "demo-gitops".into(),
                },
                github_org: Some("acme".into()),
                visibility: Visibility::Private,
                github_host: Default::default(),
            },
            environments: Default::default(),
            installation: Installation {
                namespace: "kalypso-system".into(),
                chart: HelmChart::published("kalypso-scheduler"),
                version: "1.1.2-alpha".into(),
                values: None,
                flux_manifest: None,
                skip_install: false,
            },
            workload_clusters: Vec::new(),
            options: Options::default(),
        }
    }

    fn existing_cluster(mut config: Configuration) -> Configuration {
        config.cluster = ClusterTarget::Existing(ExistingCluster {
            context: "kind-dev".into(),
            name: None,
        });
        config
    }

    fn existing_repos(mut config: Configuration) -> Configuration {
        config.repositories.control_plane =
            RepoTarget::Existing(GitHubRepo::new("acme".into(), "cp".into()));
        config.repositories.gitops =
            RepoTarget::Existing(GitHubRepo::new("acme".into(), "gitops".into()));
        config
    }

    fn actions(plan: &Plan) -> Vec<(StepId, Action)> {
        plan.steps.iter().map(|s| (s.id, s.action)).collect()
    }

    fn ours_repo(slug: &str, empty: bool) -> ObservedRepo {
        ObservedRepo {
            slug: slug.into(),
            empty,
            ours: true,
        }
    }

    #[test]
    fn merging_the_schedulers_pull_request_is_a_consequence_that_needs_consent_unless_no_merge() {
        use crate::config::{WorkloadCluster, WorkloadContext};
        let mut attached = config();
        attached.workload_clusters = vec![WorkloadCluster {
            context: WorkloadContext::Management,
            cluster_type: "default".into(),
            environment: "dev".into(),
        }];
        let planned = plan(&attached, &Observed::default());
        let step = planned
            .step(FirstWorkload)
            .expect("the first workload is planned");
        assert!(
            step.reason
                .contains("merge it on your account (gh pr merge)"),
            "{}",
            step.reason
        );
        assert_eq!(
            step.info().consequences,
            ["the scheduler's pull request against the gitops branch dev is merged on your account (gh pr merge); --no-merge leaves it for you"]
        );
        let consent: Vec<StepId> = steps::repositories::changes_to_existing(&attached, &planned)
            .iter()
            .map(|step| step.id)
            .collect();
        assert_eq!(consent, [FirstWorkload]);

        attached.options.no_merge = true;
        let planned = plan(&attached, &Observed::default());
        let step = planned
            .step(FirstWorkload)
            .expect("the first workload is planned");
        assert!(step.info().consequences.is_empty());
        assert!(step.reason.contains("--no-merge"), "{}", step.reason);
        assert!(steps::repositories::changes_to_existing(&attached, &planned).is_empty());
    }

    #[test]
    fn all_new_creates_every_step_in_a_valid_graph() {
        let plan = plan(&config(), &Observed::default());
        assert!(plan.conflicts.is_empty());
        assert_eq!(plan.steps.len(), StepId::WITHOUT_WORKLOAD_CLUSTERS.len());
        for step in &plan.steps {
            assert_eq!(step.action, Action::Create, "{}", step.id);
            assert_eq!(step.phase, step.id.phase());
        }
        plan.check().unwrap();
    }

    #[test]
    fn dependencies_follow_the_chains_without_phase_barriers() {
        let plan = plan(&config(), &Observed::default());
        let deps = |id| plan.step(id).unwrap().depends_on.clone();
        assert_eq!(deps(ClusterPreflight), vec![]);
        assert_eq!(deps(ClusterResourceGroup), vec![ClusterPreflight]);
        assert_eq!(deps(ClusterCreate), vec![ClusterResourceGroup]);
        assert_eq!(deps(ClusterCredentials), vec![ClusterCreate]);
        assert_eq!(deps(ClusterReady), vec![ClusterCredentials]);
        // Repositories start after the pre-flight, alongside the cluster's creation.
        assert_eq!(deps(ControlPlaneRepo), vec![ClusterPreflight]);
        assert_eq!(deps(GitopsRepo), vec![ClusterPreflight]);
        assert_eq!(deps(ControlPlaneSeed), vec![ControlPlaneRepo]);
        assert_eq!(deps(ControlPlaneSecrets), vec![ControlPlaneSeed]);
        assert_eq!(deps(GitopsSeed), vec![GitopsRepo]);
        assert_eq!(deps(GitopsSecrets), vec![GitopsSeed]);
        assert_eq!(deps(GitopsLabel), vec![GitopsSecrets]);
        // Flux needs only the cluster.
        assert_eq!(deps(InstallFlux), vec![ClusterReady]);
        let kalypso: BTreeSet<_> = deps(InstallKalypso).into_iter().collect();
        let expected: BTreeSet<_> = [
            InstallFlux,
            ControlPlaneRepo,
            ControlPlaneSeed,
            ControlPlaneSecrets,
            GitopsRepo,
            GitopsSeed,
            GitopsSecrets,
            GitopsLabel,
        ]
        .into_iter()
        .collect();
        assert_eq!(kalypso, expected);
        assert_eq!(deps(HealthChecks), vec![InstallKalypso]);
    }

    #[test]
    fn existing_cluster_only_checks_readiness() {
        let plan = plan(&existing_cluster(config()), &Observed::default());
        for id in [
            ClusterPreflight,
            ClusterResourceGroup,
            ClusterCreate,
            ClusterCredentials,
        ] {
            assert_eq!(plan.action(id), Some(Action::Skip), "{id}");
        }
        assert_eq!(plan.action(ClusterReady), Some(Action::Reuse));
        assert!(plan.step(ClusterReady).unwrap().reason.contains("kind-dev"));
        assert_eq!(plan.action(InstallFlux), Some(Action::Create));
        assert!(plan.conflicts.is_empty());
    }

    #[test]
    fn existing_repositories_are_validated_and_left_alone() {
        let plan = plan(&existing_repos(config()), &Observed::default());
        assert_eq!(plan.action(ControlPlaneRepo), Some(Action::Reuse));
        assert_eq!(plan.action(GitopsRepo), Some(Action::Reuse));
        for id in [
            ControlPlaneSeed,
            ControlPlaneSecrets,
            GitopsSeed,
            GitopsSecrets,
            GitopsLabel,
        ] {
            assert_eq!(plan.action(id), Some(Action::Skip), "{id}");
        }
        assert!(plan
            .step(ControlPlaneRepo)
            .unwrap()
            .reason
            .contains("https://github.com/acme/cp"));
    }

    #[test]
    fn existing_control_plane_with_new_gitops_mixes_per_repository() {
        let mut cfg = config();
        cfg.repositories.control_plane =
            RepoTarget::Existing(GitHubRepo::new("acme".into(), "cp".into()));
        let plan = plan(&cfg, &Observed::default());
        assert_eq!(plan.action(ControlPlaneRepo), Some(Action::Reuse));
        assert_eq!(plan.action(ControlPlaneSeed), Some(Action::Skip));
        assert_eq!(plan.action(GitopsRepo), Some(Action::Create));
        assert_eq!(plan.action(GitopsLabel), Some(Action::Create));
    }

    #[test]
    fn skip_install_skips_installation_and_validation() {
        let mut cfg = config();
        cfg.installation.skip_install = true;
        let plan = plan(&cfg, &Observed::default());
        for id in [InstallFlux, InstallKalypso, HealthChecks] {
            assert_eq!(plan.action(id), Some(Action::Skip), "{id}");
            assert_eq!(plan.step(id).unwrap().reason, "--skip-install");
        }
        assert_eq!(plan.action(ClusterCreate), Some(Action::Create));
    }

    /// A step's decision sits beside its commands and its execution: the installation
    /// module decides the installation steps only, the validation module the health checks.
    #[test]
    fn each_phase_module_decides_its_own_steps_only() {
        let decided = |decide: fn(&Configuration, &Observed, &mut Decisions)| {
            let mut decisions = Decisions::new();
            decide(&config(), &Observed::default(), &mut decisions);
            decisions.into_keys().collect::<BTreeSet<_>>()
        };
        assert_eq!(
            decided(steps::installation::plan),
            [InstallFlux, InstallKalypso].into_iter().collect()
        );
        assert_eq!(
            decided(steps::validation::plan),
            [HealthChecks].into_iter().collect()
        );
    }

    #[test]
    fn skip_validation_skips_the_prerequisites_not_the_health_checks() {
        let mut cfg = config();
        cfg.options.skip_validation = true;
        let skipping = plan(&cfg, &Observed::default());
        assert_eq!(skipping.action(HealthChecks), Some(Action::Create));
        assert_eq!(skipping, plan(&config(), &Observed::default()));
    }

    #[test]
    fn existing_resource_group_is_reused_never_created() {
        let observed = Observed {
            resource_group: Some(ObservedResourceGroup { ours: false }),
            ..Observed::default()
        };
        let plan = plan(&config(), &observed);
        assert_eq!(plan.action(ClusterResourceGroup), Some(Action::Reuse));
        assert_eq!(plan.action(ClusterCreate), Some(Action::Create));
        assert!(plan.conflicts.is_empty());
    }

    #[test]
    fn foreign_cluster_is_a_configuration_conflict_suggesting_cluster_existing() {
        let observed = Observed {
            cluster: Some(ObservedCluster {
                ours: false,
                provisioning_state: Some("Succeeded".into()),
            }),
            resource_group: Some(ObservedResourceGroup { ours: false }),
            ..Observed::default()
        };
        let plan = plan(&config(), &observed);
        let conflict = plan.first_conflict().expect("a conflict");
        assert_eq!(conflict.exit_code, ExitCode::ConfigInvalid);
        assert_eq!(conflict.step, ClusterCreate);
        assert!(conflict.message.contains("demo"), "{}", conflict.message);
        assert!(
            conflict.hint.contains("--cluster-existing"),
            "{}",
            conflict.hint
        );
        let error = conflict.to_user_error();
        assert_eq!(error.exit_code, ExitCode::ConfigInvalid);
        assert_eq!(error.hint.as_ref(), Some(&conflict.hint));
        // Never planned as a reuse: that would adopt a cluster that is not ours.
        assert_ne!(plan.action(ClusterCreate), Some(Action::Reuse));
    }

    #[test]
    fn foreign_repository_is_a_repository_conflict_asking_to_pass_it_as_existing() {
        let observed = Observed {
            gitops: Some(ObservedRepo {
                slug: "acme/demo-gitops".into(),
                empty: false,
                ours: false,
            }),
            ..Observed::default()
        };
        let plan = plan(&config(), &observed);
        assert_eq!(plan.conflicts.len(), 1);
        let conflict = &plan.conflicts[0];
        assert_eq!(conflict.exit_code, ExitCode::RepositoryFailed);
        assert_eq!(conflict.step, GitopsRepo);
        assert!(
            conflict
                .hint
                .contains("--gitops-repo https://github.com/acme/demo-gitops"),
            "{}",
            conflict.hint
        );
        assert_eq!(plan.action(ControlPlaneRepo), Some(Action::Create));
    }

    #[test]
    fn both_foreign_resources_are_reported() {
        let observed = Observed {
            cluster: Some(ObservedCluster::default()),
            control_plane: Some(ObservedRepo {
                slug: "acme/demo-control-plane".into(),
                empty: true,
                ours: false,
            }),
            ..Observed::default()
        };
        let plan = plan(&config(), &observed);
        let steps: Vec<_> = plan.conflicts.iter().map(|c| c.step).collect();
        assert_eq!(steps, vec![ClusterCreate, ControlPlaneRepo]);
        assert!(plan.conflicts[1].hint.contains("--control-plane-repo"));
    }

    #[test]
    fn two_unreachable_repositories_are_both_reported_and_neither_is_reused() {
        let observed = Observed {
            unreachable_existing: [ControlPlaneRepo, GitopsRepo].into_iter().collect(),
            ..Observed::default()
        };
        let plan = plan(&existing_repos(config()), &observed);
        let steps: Vec<_> = plan.conflicts.iter().map(|c| c.step).collect();
        assert_eq!(steps, vec![ControlPlaneRepo, GitopsRepo]);
        for id in [ControlPlaneRepo, GitopsRepo] {
            assert_ne!(plan.action(id), Some(Action::Reuse), "{id}");
        }
        let (step, error) = plan.refusal().expect("refused");
        assert_eq!(step, Some(ControlPlaneRepo));
        assert_eq!(error.exit_code, ExitCode::RepositoryFailed);
        for url in [
            "https://github.com/acme/cp",
            "https://github.com/acme/gitops",
        ] {
            assert!(
                error
                    .message
                    .contains(&format!("repository {url} is not reachable")),
                "{}",
                error.message
            );
        }
        assert!(error.message.starts_with("2 problems"), "{}", error.message);
    }

    #[test]
    fn resume_reuses_succeeded_steps_whose_resources_still_exist() {
        let observed = Observed {
            cluster: Some(ObservedCluster {
                ours: true,
                provisioning_state: Some("Succeeded".into()),
            }),
            resource_group: Some(ObservedResourceGroup { ours: true }),
            control_plane: Some(ours_repo("acme/demo-control-plane", false)),
            gitops: Some(ours_repo("acme/demo-gitops", false)),
            control_plane_check: None,
            control_plane_environments: Vec::new(),
            control_plane_templates: Vec::new(),
            gitops_url: None,
            missing_on_existing: Default::default(),
            unchecked_on_existing: Default::default(),
            unreachable_existing: Default::default(),
            user_pull_requests: Vec::new(),
            succeeded_steps: [
                ClusterPreflight,
                ClusterResourceGroup,
                ClusterCreate,
                ClusterCredentials,
                ControlPlaneRepo,
                ControlPlaneSeed,
                ControlPlaneSecrets,
                GitopsRepo,
                GitopsSeed,
            ]
            .into_iter()
            .collect(),
        };
        let plan = plan(&config(), &observed);
        assert!(plan.conflicts.is_empty());
        let reused: Vec<_> = actions(&plan)
            .into_iter()
            .filter(|(_, a)| *a == Action::Reuse)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            reused,
            vec![
                ClusterResourceGroup,
                ClusterCreate,
                ClusterCredentials,
                ControlPlaneRepo,
                ControlPlaneSeed,
                ControlPlaneSecrets,
                GitopsRepo,
                GitopsSeed,
            ]
        );
        // Where the earlier run stopped: these are done now.
        for id in [
            ClusterReady,
            GitopsSecrets,
            GitopsLabel,
            InstallFlux,
            InstallKalypso,
        ] {
            assert_eq!(plan.action(id), Some(Action::Create), "{id}");
        }
        assert_eq!(plan.action(ClusterPreflight), Some(Action::Skip));
    }

    #[test]
    fn completed_configuration_re_run_creates_nothing() {
        let observed = Observed {
            cluster: Some(ObservedCluster {
                ours: true,
                provisioning_state: Some("Succeeded".into()),
            }),
            resource_group: Some(ObservedResourceGroup { ours: true }),
            control_plane: Some(ours_repo("acme/demo-control-plane", false)),
            gitops: Some(ours_repo("acme/demo-gitops", false)),
            control_plane_check: None,
            control_plane_environments: Vec::new(),
            control_plane_templates: Vec::new(),
            gitops_url: None,
            missing_on_existing: Default::default(),
            unchecked_on_existing: Default::default(),
            unreachable_existing: Default::default(),
            user_pull_requests: Vec::new(),
            succeeded_steps: StepId::ALL.into_iter().collect(),
        };
        let plan = plan(&config(), &observed);
        assert!(
            plan.steps.iter().all(|s| s.action != Action::Create),
            "{:?}",
            actions(&plan)
        );
    }

    #[test]
    fn succeeded_step_whose_resource_vanished_is_done_again() {
        // The state says the gitops repo was created and seeded, but it is gone.
        let observed = Observed {
            succeeded_steps: [GitopsRepo, GitopsSeed, ClusterCreate, InstallFlux]
                .into_iter()
                .collect(),
            ..Observed::default()
        };
        let plan = plan(&config(), &observed);
        for id in [GitopsRepo, GitopsSeed, ClusterCreate, InstallFlux] {
            assert_eq!(plan.action(id), Some(Action::Create), "{id}");
        }
    }

    #[test]
    fn our_cluster_still_provisioning_is_finished_not_reused() {
        let observed = Observed {
            cluster: Some(ObservedCluster {
                ours: true,
                provisioning_state: Some("Creating".into()),
            }),
            resource_group: Some(ObservedResourceGroup { ours: true }),
            ..Observed::default()
        };
        let plan = plan(&config(), &observed);
        assert_eq!(plan.action(ClusterCreate), Some(Action::Create));
        assert!(plan
            .step(ClusterCreate)
            .unwrap()
            .reason
            .contains("Creating"));
        assert_eq!(plan.action(ClusterCredentials), Some(Action::Create));
        assert!(plan.conflicts.is_empty());
    }

    #[test]
    fn our_empty_repository_is_seeded_even_if_recorded_as_seeded() {
        let observed = Observed {
            control_plane: Some(ours_repo("acme/demo-control-plane", true)),
            succeeded_steps: [ControlPlaneRepo, ControlPlaneSeed].into_iter().collect(),
            ..Observed::default()
        };
        let plan = plan(&config(), &observed);
        assert_eq!(plan.action(ControlPlaneRepo), Some(Action::Reuse));
        assert_eq!(plan.action(ControlPlaneSeed), Some(Action::Create));
        assert_eq!(plan.action(ControlPlaneSecrets), Some(Action::Create));
    }

    #[test]
    fn succeeded_steps_are_read_from_the_state() {
        let now = crate::state::Timestamp::now();
        let mut state = BootstrapState::new(now);
        state.step_succeeded("cluster.create", Phase::Cluster, None, now);
        state.step_skipped(
            "installation.flux",
            Phase::Installation,
            "--skip-install",
            now,
        );
        state.step_failed("gitops.seed", Phase::Repositories, "boom", now);
        state.step_succeeded("not.a.step", Phase::Cluster, None, now);
        assert_eq!(
            succeeded_steps(&state),
            [ClusterCreate].into_iter().collect::<BTreeSet<_>>()
        );
    }

    #[test]
    fn the_plan_is_a_pure_function_of_its_inputs() {
        let observed = Observed {
            gitops: Some(ours_repo("acme/demo-gitops", true)),
            ..Observed::default()
        };
        assert_eq!(plan(&config(), &observed), plan(&config(), &observed));
    }

    #[test]
    fn check_rejects_unknown_dependencies_duplicates_and_cycles() {
        let step = |id, deps| PlannedStep::new(id, Action::Create, deps, "test");
        assert!(Plan::new(vec![step(GitopsSeed, vec![GitopsRepo])])
            .check()
            .unwrap_err()
            .contains("not in the plan"));
        assert!(
            Plan::new(vec![step(GitopsRepo, vec![]), step(GitopsRepo, vec![])])
                .check()
                .unwrap_err()
                .contains("twice")
        );
        let cycle = Plan::new(vec![
            step(GitopsRepo, vec![GitopsLabel]),
            step(GitopsLabel, vec![GitopsRepo]),
            step(ClusterCreate, vec![]),
        ]);
        let error = cycle.check().unwrap_err();
        assert!(
            error.contains("gitops.label") && error.contains("gitops.repo"),
            "{error}"
        );
        assert!(!error.contains("cluster.create"), "{error}");
    }
}
