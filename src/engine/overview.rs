//! The plan as people read it, like `terraform plan`: grouped by resource, each marked `+`
//! (created), `~` (changed), `=` (reused, checked live), the owner of new repositories,
//! the earlier run a resumed run continues, and a count line ("Plan: 15 to create, 0 to
//! change, 0 to reuse."). Built once from the [`Plan`] (never from anything else), and
//! laid out as [`OverviewLine`]s that every front end draws: the headless text, the
//! wizard's plan screen and, as data, the JSON plan document.

use serde::Serialize;

use super::plan::Plan;
use super::step::{Action, StepId};
use super::steps::repositories::changes_to_existing;
use crate::config::configuration::{ClusterTarget, Configuration, RepoTarget};
use crate::state::{BootstrapState, RunStatus, StepStatus};

/// What the plan does to a resource or in a step. The bootstrap plan removes nothing
/// (removals have their own plan: the rollback question and `--clean --dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// `+`: made by this run.
    Create,
    /// `~`: something that exists is changed (a repository the user gave).
    Change,
    /// `=`: exists, checked live, used as it is.
    Reuse,
}

impl Change {
    pub fn symbol(self) -> &'static str {
        match self {
            Change::Create => "+",
            Change::Change => "~",
            Change::Reuse => "=",
        }
    }

    /// The legend: `+ create ~ change = reuse`.
    pub const LEGEND: &'static str = "+ create ~ change = reuse";
}

/// One step of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StepChange {
    pub id: StepId,
    pub title: String,
    pub change: Change,
    /// Why the plan chose it.
    pub reason: String,
}

/// A resource and the steps that make, change or check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ResourceChange {
    /// What it is, named: "AKS cluster demo (3 × Standard_DS2_v2, eastus)".
    pub resource: String,
    pub change: Change,
    pub steps: Vec<StepChange>,
}

/// Whose the new repositories will be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OwnerOfNewRepositories {
    /// `None` when it is not known yet (no GitHub sign-in during a dry run).
    pub login: Option<String>,
    /// `--github-org` names an organisation; otherwise the token's own account.
    pub organisation: bool,
}

impl OwnerOfNewRepositories {
    /// "GitHub owner: kalypso-demo (your account)".
    pub fn line(&self) -> String {
        match (&self.login, self.organisation) {
            (Some(login), true) => format!("GitHub owner: {login} (organisation)"),
            (Some(login), false) => format!("GitHub owner: {login} (your account)"),
            (None, _) => "GitHub owner: the account of the GitHub token (not known: not signed in)"
                .to_string(),
        }
    }
}

/// A step of the earlier run that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FailedStep {
    pub id: StepId,
    pub title: String,
    pub message: String,
}

/// The earlier run this run continues, as the state file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EarlierRun {
    /// `failed`, `in_progress` (it was interrupted) or `completed`.
    pub status: String,
    /// When the state file last changed (RFC 3339).
    pub last_change: String,
    /// The steps it finished.
    pub done: Vec<StepId>,
    pub failed: Vec<FailedStep>,
    /// How many steps its plan had (the state records each planned step).
    #[serde(skip)]
    pub planned: usize,
}

impl EarlierRun {
    /// "an earlier run that failed (last change 2026-12-07 05:25 UTC)".
    pub fn described(&self) -> String {
        format!(
            "an earlier run that {} (last change {})",
            match self.status.as_str() {
                "failed" => "failed",
                "completed" => "completed",
                _ => "was interrupted",
            },
            self.last_change_shown()
        )
    }

    /// Before any plan (the wizard's first screen): what the earlier run did and failed, and
    /// what runs now (the plan then checks each done step live).
    pub fn summary_lines(&self) -> Vec<String> {
        let steps = |n: usize| {
            if n == 1 {
                "1 step".to_string()
            } else {
                format!("{n} steps")
            }
        };
        let failed: Vec<&str> = self.failed.iter().map(|f| f.title.as_str()).collect();
        let left = self.planned.saturating_sub(self.done.len());
        vec![
            format!("Resumes {}:", self.described()),
            format!(
                "  done: {}; failed: {}; runs now: the other {}",
                steps(self.done.len()),
                if failed.is_empty() {
                    "none".to_string()
                } else {
                    failed.join(", ")
                },
                steps(left)
            ),
        ]
    }

    /// [`EarlierRun::last_change`] to the minute, in UTC: "2026-12-07 05:25 UTC".
    pub fn last_change_shown(&self) -> String {
        match time::OffsetDateTime::parse(
            &self.last_change,
            &time::format_description::well_known::Rfc3339,
        ) {
            Ok(at) => {
                let at = at.to_offset(time::UtcOffset::UTC);
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                    at.year(),
                    u8::from(at.month()),
                    at.day(),
                    at.hour(),
                    at.minute()
                )
            }
            Err(_) => self.last_change.clone(),
        }
    }

    /// The earlier run in `state`, `None` when there is none to continue (no step done or
    /// failed, or it was rolled back).
    pub fn from_state(state: &BootstrapState) -> Option<EarlierRun> {
        if state.status == RunStatus::RolledBack {
            return None;
        }
        let with = |status: StepStatus| {
            state
                .steps
                .iter()
                .filter(move |record| record.status == status)
                .filter_map(|record| StepId::parse(&record.id).map(|id| (id, record)))
        };
        let done: Vec<StepId> = with(StepStatus::Succeeded).map(|(id, _)| id).collect();
        let failed: Vec<FailedStep> = with(StepStatus::Failed)
            .map(|(id, record)| FailedStep {
                id,
                title: id.title().to_string(),
                message: record.message.clone().unwrap_or_default(),
            })
            .collect();
        if done.is_empty() && failed.is_empty() {
            return None;
        }
        let status = match state.status {
            // A run that died without recording its end.
            RunStatus::InProgress => "interrupted",
            other => other.as_str(),
        };
        Some(EarlierRun {
            status: status.to_string(),
            last_change: state.timestamp.to_rfc3339(),
            done,
            failed,
            planned: state.steps.len(),
        })
    }
}

/// "Plan: 15 to create, 0 to change, 0 to reuse.": steps, by their change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ChangeCounts {
    pub create: usize,
    pub change: usize,
    pub reuse: usize,
}

impl ChangeCounts {
    pub fn line(&self) -> String {
        format!(
            "Plan: {} to create, {} to change, {} to reuse.",
            self.create, self.change, self.reuse
        )
    }
}

/// How a line of the overview is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// The owner, the count line.
    Heading,
    /// About the earlier run.
    Resume,
    /// A resource, with its change.
    Resource(Change),
    /// A step of the resource above, with its change.
    Step(Change),
    /// Steps not part of this run.
    Skipped,
}

/// One line of the overview: what every front end draws (the wizard styles it by kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverviewLine {
    pub kind: LineKind,
    pub text: String,
    /// The step's reason, for front ends with room for it (the headless text).
    pub detail: Option<String>,
}

impl OverviewLine {
    fn new(kind: LineKind, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
            detail: None,
        }
    }
}

/// The plan, by resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PlanOverview {
    /// `None` when no repository is created.
    pub owner: Option<OwnerOfNewRepositories>,
    /// `None` when this run starts afresh.
    pub resumes: Option<EarlierRun>,
    pub resources: Vec<ResourceChange>,
    /// Steps the plan skips, with why (an existing cluster, `--skip-install`).
    pub skipped: Vec<StepChangeSkipped>,
    pub counts: ChangeCounts,
    /// What a yes accepts beyond the steps themselves (the pull requests the scheduler will
    /// close on a gitops repository the user gave); escaped text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consequences: Vec<String>,
}

/// A step not part of this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StepChangeSkipped {
    pub id: StepId,
    pub title: String,
    pub reason: String,
}

impl PlanOverview {
    /// The overview of `plan` for `configuration`; `owner` is the login new repositories get
    /// when known, `resumes` the earlier run of the state file.
    pub fn new(
        configuration: &Configuration,
        plan: &Plan,
        owner: Option<&str>,
        resumes: Option<EarlierRun>,
    ) -> PlanOverview {
        let changed: Vec<StepId> = changes_to_existing(configuration, plan)
            .into_iter()
            .map(|step| step.id)
            .collect();
        let change_of = |id: StepId| -> Option<Change> {
            match plan.action(id)? {
                Action::Skip => None,
                // A reuse that needs consent (the scheduler will close pull requests there)
                // is a change the user accepts.
                Action::Create | Action::Reuse if changed.contains(&id) => Some(Change::Change),
                Action::Reuse => Some(Change::Reuse),
                Action::Create => Some(Change::Create),
            }
        };
        let repositories = &configuration.repositories;
        let owner_login = repositories.github_org.as_deref().or(owner);
        let repo_label = |kind: &str, target: &RepoTarget| match target {
            RepoTarget::Create { name } => format!(
                "{kind} {}/{name} ({})",
                owner_login.unwrap_or("OWNER"),
                repositories.visibility.as_str()
            ),
            RepoTarget::Existing(repo) => format!("{kind} {} (existing)", repo.slug()),
        };
        let context = match &configuration.cluster {
            ClusterTarget::Create(new) => new.name.clone(),
            ClusterTarget::Existing(existing) => existing.context.clone(),
        };
        let mut groups: Vec<(String, StepId, Vec<StepId>)> = Vec::new();
        match &configuration.cluster {
            ClusterTarget::Create(new) => {
                groups.push((
                    format!("Resource group {} ({})", new.resource_group, new.region),
                    StepId::ClusterResourceGroup,
                    vec![StepId::ClusterResourceGroup],
                ));
                groups.push((
                    format!(
                        "AKS cluster {} ({} × {}, {})",
                        new.name, new.node_count, new.vm_size, new.region
                    ),
                    StepId::ClusterCreate,
                    vec![
                        StepId::ClusterPreflight,
                        StepId::ClusterCreate,
                        StepId::ClusterCredentials,
                        StepId::ClusterReady,
                    ],
                ));
            }
            ClusterTarget::Existing(existing) => groups.push((
                format!("Kube context {} (existing cluster)", existing.context),
                StepId::ClusterReady,
                vec![
                    StepId::ClusterPreflight,
                    StepId::ClusterResourceGroup,
                    StepId::ClusterCreate,
                    StepId::ClusterCredentials,
                    StepId::ClusterReady,
                ],
            )),
        }
        groups.push((
            repo_label("Control-plane repository", &repositories.control_plane),
            StepId::ControlPlaneRepo,
            vec![
                StepId::ControlPlaneRepo,
                StepId::ControlPlaneSeed,
                StepId::ControlPlaneSecrets,
            ],
        ));
        groups.push((
            repo_label("GitOps repository", &repositories.gitops),
            StepId::GitopsRepo,
            vec![
                StepId::GitopsRepo,
                StepId::GitopsSeed,
                StepId::GitopsSecrets,
                StepId::GitopsLabel,
            ],
        ));
        groups.push((
            format!(
                "Flux in namespace {} of {context}",
                crate::tools::kubectl::FLUX_NAMESPACE
            ),
            StepId::InstallFlux,
            vec![StepId::InstallFlux],
        ));
        let installation = &configuration.installation;
        groups.push((
            format!(
                "Helm release {} {} in namespace {}",
                crate::tools::helm::RELEASE_NAME,
                installation.version,
                installation.namespace
            ),
            StepId::InstallKalypso,
            vec![StepId::InstallKalypso],
        ));
        groups.push((
            "Health checks of the installation".to_string(),
            StepId::HealthChecks,
            vec![StepId::HealthChecks],
        ));

        let mut resources = Vec::new();
        let mut skipped = Vec::new();
        let mut counts = ChangeCounts::default();
        for (resource, own_step, ids) in groups {
            let mut steps = Vec::new();
            for id in ids {
                let Some(planned) = plan.step(id) else {
                    continue;
                };
                match change_of(id) {
                    Some(change) => {
                        match change {
                            Change::Create => counts.create += 1,
                            Change::Change => counts.change += 1,
                            Change::Reuse => counts.reuse += 1,
                        }
                        steps.push(StepChange {
                            id,
                            title: id.title().to_string(),
                            change,
                            reason: planned.reason.clone(),
                        });
                    }
                    None => skipped.push(StepChangeSkipped {
                        id,
                        title: id.title().to_string(),
                        reason: planned.reason.clone(),
                    }),
                }
            }
            if steps.is_empty() {
                continue;
            }
            // The resource itself is made, or it exists: changed when a step of it makes
            // or changes something there.
            let change = match change_of(own_step) {
                Some(Change::Create) => Change::Create,
                _ if steps.iter().any(|s| s.change != Change::Reuse) => Change::Change,
                _ => Change::Reuse,
            };
            resources.push(ResourceChange {
                resource,
                change,
                steps,
            });
        }
        let creates_a_repository = [&repositories.control_plane, &repositories.gitops]
            .into_iter()
            .any(|target| matches!(target, RepoTarget::Create { .. }));
        PlanOverview {
            owner: creates_a_repository.then(|| OwnerOfNewRepositories {
                login: owner_login.map(str::to_string),
                organisation: repositories.github_org.is_some(),
            }),
            resumes,
            resources,
            skipped,
            counts,
            consequences: plan
                .steps
                .iter()
                .flat_map(|step| step.info().consequences)
                .collect(),
        }
    }

    /// The steps this run does (made or changed), in plan order.
    pub fn runs_now(&self) -> Vec<&StepChange> {
        self.resources
            .iter()
            .flat_map(|resource| &resource.steps)
            .filter(|step| step.change != Change::Reuse)
            .collect()
    }

    /// What the question under the plan says about what exists: nothing yet, or, when
    /// resuming, that this run has changed nothing yet and the earlier run's work is kept.
    pub fn before_proceeding(&self) -> &'static str {
        match &self.resumes {
            None => "Nothing has been created yet.",
            Some(_) => "This run has changed nothing yet; the earlier run's work is kept.",
        }
    }

    /// [`PlanOverview::before_proceeding`] for a narrow screen.
    pub fn before_proceeding_short(&self) -> &'static str {
        match &self.resumes {
            None => "Nothing has been created yet",
            Some(_) => "The earlier run's work is kept",
        }
    }

    /// The lines every front end draws, top to bottom: the owner, the earlier run, each
    /// resource and its steps, what is skipped, and the count line.
    pub fn lines(&self) -> Vec<OverviewLine> {
        let mut lines = Vec::new();
        if let Some(owner) = &self.owner {
            lines.push(OverviewLine::new(LineKind::Heading, owner.line()));
        }
        if let Some(earlier) = &self.resumes {
            lines.push(OverviewLine::new(
                LineKind::Resume,
                format!("Resumes {}:", earlier.described()),
            ));
            let titles = |ids: &mut dyn Iterator<Item = StepId>| {
                let titles: Vec<&str> = ids.map(StepId::title).collect();
                if titles.is_empty() {
                    "none".to_string()
                } else {
                    titles.join(", ")
                }
            };
            lines.push(OverviewLine::new(
                LineKind::Resume,
                format!("  done: {}", titles(&mut earlier.done.iter().copied())),
            ));
            for failed in &earlier.failed {
                let mut line =
                    OverviewLine::new(LineKind::Resume, format!("  failed: {}", failed.title));
                line.detail = Some(failed.message.clone());
                lines.push(line);
            }
            let runs_now = self.runs_now().len();
            lines.push(OverviewLine::new(
                LineKind::Resume,
                match runs_now {
                    0 => "  runs now: nothing, every step is done (= below)".to_string(),
                    1 => "  runs now: 1 step, marked + or ~ below".to_string(),
                    n => format!("  runs now: {n} steps, marked + or ~ below"),
                },
            ));
        }
        for resource in &self.resources {
            lines.push(OverviewLine::new(
                LineKind::Resource(resource.change),
                resource.resource.clone(),
            ));
            for step in &resource.steps {
                let mut line = OverviewLine::new(LineKind::Step(step.change), step.title.clone());
                // What is made needs no why; what is reused or changed does (the earlier
                // run, the repository the user gave, exactly what changes there).
                if step.change != Change::Create {
                    line.detail = Some(step.reason.clone());
                }
                lines.push(line);
            }
        }
        if !self.skipped.is_empty() {
            let titles: Vec<&str> = self.skipped.iter().map(|s| s.title.as_str()).collect();
            lines.push(OverviewLine::new(
                LineKind::Skipped,
                format!("Not part of this run: {}", titles.join(", ")),
            ));
        }
        lines.push(OverviewLine::new(LineKind::Heading, self.counts.line()));
        lines
    }

    /// The overview as plain text (the headless front end): markers, resources, each
    /// step's reason, and the count line.
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n", self.body_text(), self.counts.line())
    }

    /// [`PlanOverview::to_text`] without the count line (for a text that ends with it).
    pub fn body_text(&self) -> String {
        let mut text = String::new();
        let mut lines = self.lines();
        lines.pop();
        for line in lines {
            let rendered = match line.kind {
                LineKind::Heading | LineKind::Resume | LineKind::Skipped => line.text.clone(),
                LineKind::Resource(change) => {
                    format!("  {} {}", change.symbol(), line.text)
                }
                LineKind::Step(change) => format!("      {} {}", change.symbol(), line.text),
            };
            if matches!(line.kind, LineKind::Resource(_) | LineKind::Skipped)
                || (line.kind == LineKind::Resume && !line.text.starts_with(' '))
            {
                text.push('\n');
            }
            text.push_str(&rendered);
            if let Some(detail) = &line.detail {
                text.push_str(": ");
                text.push_str(detail);
            }
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::configuration::{
        ExistingCluster, GitHubRepo, HelmChart, Installation, NetworkPlugin, NewCluster, Options,
        Repositories, Visibility,
    };
    use crate::engine::plan::{plan, Observed, ObservedRepo};
    use crate::state::{Phase, Timestamp};

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
                github_org: None,
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

    #[test]
    fn a_new_installation_creates_every_step_and_counts_them() {
        let plan = plan(&config(), &Observed::default());
        let overview = PlanOverview::new(&config(), &plan, Some("kalypso-demo"), None);
        assert_eq!(
            overview.counts,
            ChangeCounts {
                create: plan.steps.len(),
                change: 0,
                reuse: 0
            }
        );
        let lines = overview.lines();
        assert_eq!(
            lines.last().unwrap().text,
            "Plan: 15 to create, 0 to change, 0 to reuse."
        );
        assert_eq!(lines[0].text, "GitHub owner: kalypso-demo (your account)");
        assert!(overview
            .resources
            .iter()
            .all(|r| r.change == Change::Create));
    }

    /// The count line counts the plan's steps by their change, whatever the plan.
    #[test]
    fn the_count_line_adds_up_to_the_steps_that_are_not_skipped() {
        let mut cfg = config();
        cfg.cluster = ClusterTarget::Existing(ExistingCluster {
            context: "kind-dev".into(),
            name: None,
        });
        cfg.repositories.github_org = Some("acme".into());
        let observed = Observed {
            gitops: Some(ObservedRepo {
                slug: "acme/demo-gitops".into(),
                empty: false,
                ours: true,
            }),
            succeeded_steps: [StepId::GitopsRepo, StepId::GitopsSeed]
                .into_iter()
                .collect(),
            ..Observed::default()
        };
        let plan = plan(&cfg, &observed);
        let overview = PlanOverview::new(&cfg, &plan, None, None);
        let by_action = |action: Action| plan.steps.iter().filter(|s| s.action == action).count();
        assert_eq!(overview.counts.create, by_action(Action::Create));
        assert_eq!(overview.counts.reuse, by_action(Action::Reuse));
        assert_eq!(overview.counts.change, 0);
        assert_eq!(overview.skipped.len(), by_action(Action::Skip));
        assert_eq!(
            overview.counts.line(),
            format!(
                "Plan: {} to create, 0 to change, {} to reuse.",
                by_action(Action::Create),
                by_action(Action::Reuse)
            )
        );
        assert_eq!(
            overview.owner.as_ref().unwrap().line(),
            "GitHub owner: acme (organisation)"
        );
        let gitops = overview
            .resources
            .iter()
            .find(|r| r.resource.starts_with("GitOps repository acme/demo-gitops"))
            .unwrap();
        // The repository exists and is reused; its secrets and label are made: changed.
        assert_eq!(gitops.change, Change::Change);
    }

    #[test]
    fn a_change_to_a_repository_the_user_gave_is_marked_as_a_change() {
        let mut cfg = config();
        cfg.repositories.gitops = RepoTarget::Existing(GitHubRepo::new("acme".into(), "go".into()));
        let observed = Observed {
            missing_on_existing: [(StepId::GitopsLabel, vec!["promoted".to_string()])]
                .into_iter()
                .collect(),
            ..Observed::default()
        };
        let plan = plan(&cfg, &observed);
        let overview = PlanOverview::new(&cfg, &plan, Some("me"), None);
        let gitops = overview
            .resources
            .iter()
            .find(|r| r.resource == "GitOps repository acme/go (existing)")
            .unwrap();
        assert_eq!(gitops.change, Change::Change);
        let label = gitops
            .steps
            .iter()
            .find(|s| s.id == StepId::GitopsLabel)
            .unwrap();
        assert_eq!(label.change, Change::Change);
        assert_eq!(overview.counts.change, 1);
    }

    #[test]
    fn the_earlier_run_is_read_from_the_state() {
        let now = Timestamp::now();
        let mut state = BootstrapState::new(now);
        assert_eq!(EarlierRun::from_state(&state), None);
        state.step_succeeded("cluster.preflight", Phase::Cluster, None, now);
        state.step_failed("gitops.seed", Phase::Repositories, "push refused", now);
        state.set_status(RunStatus::Failed, now);
        let earlier = EarlierRun::from_state(&state).unwrap();
        assert_eq!(earlier.status, "failed");
        assert_eq!(earlier.done, vec![StepId::ClusterPreflight]);
        assert_eq!(earlier.failed[0].id, StepId::GitopsSeed);
        assert_eq!(earlier.failed[0].message, "push refused");
        state.set_status(RunStatus::RolledBack, now);
        assert_eq!(EarlierRun::from_state(&state), None);
    }
}
