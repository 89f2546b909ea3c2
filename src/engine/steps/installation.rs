//! The installation phase: Flux (kept when present and still serving the `v1beta2` APIs
//! Kalypso uses, installed from the pinned release otherwise), then the Kalypso Scheduler
//! chart with our values on helm's standard input (`-f -`).
//!
//! Progress names the transitions Installing → Deployed → Running (the health checks add
//! Healthy → Verified).

use crate::config::{ClusterTarget, Configuration};
use crate::engine::plan::{Decisions, Observed};
use std::collections::BTreeSet;

use secrecy::{SecretSlice, SecretString};

use super::{call, resources, tool_error, BootstrapSteps, Preview, StepCommands, StepEnv, Tools};
use crate::config::Installation;
use crate::engine::context::{fact, StepContext};
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::PlannedStep;
use crate::engine::retry::{poll_step, retry_step};
use crate::engine::step::{Action, StepId};
use crate::state::{BootstrapState, Ownership, Resource, ResourceStatus};
use crate::tools::helm::{ChartRef, InstallParams, KalypsoValues, RELEASE_NAME};
use crate::tools::kubectl::{
    flux_install_url, Crd, KubectlContext, FLUX_GITREPOSITORY_CRD, FLUX_KUSTOMIZATION_CRD,
};
use crate::tools::retry::Poll;
use crate::tools::{ErrorClass, ToolError};
use crate::troubleshooting::Topic;
use crate::ExitCode;
use crate::UserError;

/// The Flux API version of GitRepository and Kustomization the Kalypso chart uses.
pub const FLUX_API_VERSION: &str = "v1beta2";

/// The Flux resource recorded for `context`, when the state holds one created by us.
fn our_flux(state: &BootstrapState, context: &str) -> Option<Resource> {
    state
        .rollback_candidates()
        .into_iter()
        .map(|record| &record.resource)
        .find(|resource| matches!(resource, Resource::Flux { kube_context, .. } if kube_context == context))
        .cloned()
}

fn kube(env: &StepEnv, ctx: &StepContext, tools: &Tools) -> (String, KubectlContext) {
    let context = ctx
        .facts()
        .get(fact::KUBE_CONTEXT)
        .unwrap_or_else(|| env.kube_context());
    let kubectl = tools.kubectl.with_context(&context);
    (context, kubectl)
}

fn served(crd: &Crd) -> String {
    let versions: Vec<&str> = crd
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| v.name.as_str())
        .collect();
    if versions.is_empty() {
        "none".to_string()
    } else {
        versions.join(", ")
    }
}

/// The Flux API version this tool writes its own GitRepository and Kustomization at on
/// an attached workload cluster (served by Flux 2.0 and later).
pub const WORKLOAD_FLUX_API_VERSION: &str = "v1";

/// The Flux APIs a cluster must serve: the management cluster `v1beta2` of both (the
/// Kalypso Scheduler's), a workload cluster `v1` (ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FluxUse {
    Management,
    Workload,
}

impl FluxUse {
    pub fn api_version(self) -> &'static str {
        match self {
            FluxUse::Management => FLUX_API_VERSION,
            FluxUse::Workload => WORKLOAD_FLUX_API_VERSION,
        }
    }
}

/// Whether a present Flux serves the API version `usage` needs of both kinds: the one
/// compatibility rule of the management cluster and the workload clusters.
pub(super) fn check_flux_apis(
    step: StepId,
    context: &str,
    usage: FluxUse,
    gitrepository: &Crd,
    kustomization: &Crd,
) -> Result<(), UserError> {
    let version = usage.api_version();
    let missing: Vec<String> = [gitrepository, kustomization]
        .into_iter()
        .filter(|crd| !crd.serves(version))
        .map(|crd| format!("{} (serves {})", crd.name, served(crd)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let (why, hint) = match usage {
        FluxUse::Management => (
            format!("the Kalypso Scheduler creates its GitRepository and Kustomization at {version}, which Flux 2.8 removed"),
            "use Flux 2.7 or earlier on this cluster (e.g. the pinned v2.7.5), or a cluster without Flux, where this tool installs v2.7.5".to_string(),
        ),
        FluxUse::Workload => (
            format!("this tool writes the workload cluster's GitRepository and Kustomization at {version} (Flux 2.0 and later)"),
            format!("upgrade Flux on context {context} to 2.x (e.g. the pinned v2.7.5), or attach a cluster without Flux, where this tool installs v2.7.5"),
        ),
    };
    let on = match usage {
        FluxUse::Management => "this cluster".to_string(),
        FluxUse::Workload => format!("context {context}"),
    };
    Err(UserError::in_step(
        step,
        format!(
            "the Flux on {on} does not serve {version} of {}: {why}",
            missing.join(" and ")
        ),
    )
    .with_hint(Topic::FluxApiVersions.hint(hint))
    .with_exit_code(ExitCode::InstallationFailed))
}

/// The chart the configuration names.
fn chart_ref(installation: &Installation) -> ChartRef {
    ChartRef {
        chart: installation.chart.clone(),
        version: installation.version.clone(),
    }
}

/// The values the install step gives the chart, as helm reads them from its stdin (`-f -`):
/// the control-plane URL, its branch and the token. The contract test renders the real
/// chart with exactly these.
pub fn chart_values_stdin(
    control_plane_url: String,
    token: SecretString,
) -> Result<SecretSlice<u8>, serde_yaml::Error> {
    KalypsoValues {
        control_plane_url,
        control_plane_branch: resources::CONTROL_PLANE_BRANCH.to_string(),
        gh_repo_token: token,
    }
    .to_stdin()
}

/// `helm upgrade --install` of the Kalypso release, `our_values` on its stdin.
fn install_params(
    env: &StepEnv,
    our_values: SecretSlice<u8>,
    installation_id: &str,
) -> InstallParams {
    let installation = &env.configuration.installation;
    InstallParams {
        release: RELEASE_NAME.to_string(),
        chart: chart_ref(installation),
        namespace: installation.namespace.clone(),
        our_values,
        values_files: installation.values.iter().cloned().collect(),
        timeout: env.timings.helm_timeout,
        installation_id: installation_id.to_string(),
    }
}

/// The installation steps' actions: skipped with `--skip-install`, reused when an earlier
/// run did them on a cluster that still exists. Pure, like [`crate::engine::plan::plan`].
pub(crate) fn plan(config: &Configuration, observed: &Observed, decisions: &mut Decisions) {
    use StepId::*;
    if config.installation.skip_install {
        for id in [InstallFlux, InstallKalypso] {
            decisions.insert(id, (Action::Skip, "--skip-install".to_string()));
        }
        return;
    }
    let flux = match &config.installation.flux_manifest {
        Some(manifest) => format!("install Flux from {}", manifest.kubectl_filename()),
        None => "install Flux".to_string(),
    };
    let (action, reason) = on_the_cluster(config, observed, InstallFlux, &flux, &flux);
    let reason = match github_com_flux_manifest_note(config) {
        Some(note) if action == Action::Create => format!("{reason}; note: {note}"),
        _ => reason,
    };
    decisions.insert(InstallFlux, (action, reason));
    let chart = format!("install the Kalypso chart {}", config.installation.version);
    decisions.insert(
        InstallKalypso,
        on_the_cluster(config, observed, InstallKalypso, &chart, &chart),
    );
}

/// On a GitHub Enterprise Server with the default Flux manifest: the one download from
/// github.com left, and how to avoid it. `None` elsewhere, with `--flux-manifest`, or with
/// `--skip-install`.
pub fn github_com_flux_manifest_note(config: &Configuration) -> Option<String> {
    let host = &config.repositories.github_host;
    if host.is_github_com()
        || config.installation.flux_manifest.is_some()
        || config.installation.skip_install
    {
        return None;
    }
    Some(format!(
        "Flux's install manifest still comes from github.com (the release's install.yaml), not from {host}; without access to github.com, give a copy or a mirror with --flux-manifest FILE|URL"
    ))
}

/// A step acting on the cluster (installation, health checks): its earlier success counts
/// only while the cluster still exists. `what` names the work in the reuse reason; `fresh`
/// is the reason when it runs (never the step's title again).
pub(super) fn on_the_cluster(
    config: &Configuration,
    observed: &Observed,
    id: StepId,
    what: &str,
    fresh: &str,
) -> (Action, String) {
    let cluster_present = match &config.cluster {
        ClusterTarget::Existing(_) => true,
        ClusterTarget::Create(_) => observed.cluster.as_ref().is_some_and(|c| c.ours),
    };
    if cluster_present && observed.succeeded_steps.contains(&id) {
        (
            Action::Reuse,
            format!("{what} done by an earlier run; check it is still in place"),
        )
    } else {
        (Action::Create, fresh.to_string())
    }
}

/// What each installation step runs, for the dry run: the same builders as the steps
/// below, in their order. A second look at another moment (the CRDs before and after the
/// install) is listed where it happens; a poll's repeated query is listed once.
pub fn commands(env: &StepEnv, planned: &PlannedStep, preview: &Preview) -> StepCommands {
    let tools = env.tools();
    let context = env.kube_context();
    let kubectl = tools.kubectl.with_context(&context);
    let helm = tools.helm.with_kube_context(&context);
    let create = planned.action == Action::Create;
    let mut listed = StepCommands::default();
    match planned.id {
        StepId::InstallFlux => {
            listed.push(kubectl.get_crd_spec(FLUX_GITREPOSITORY_CRD));
            listed.push(kubectl.get_crd_spec(FLUX_KUSTOMIZATION_CRD));
            if create {
                if let Some(note) = github_com_flux_manifest_note(&env.configuration) {
                    listed.note(note);
                }
                listed.note(format!(
                    "when Flux is present, {FLUX_API_VERSION} of GitRepository and Kustomization must be served; otherwise:"
                ));
                listed.push(kubectl.get_namespace_spec(resources::FLUX_NAMESPACE));
                listed.push(kubectl.apply_server_side_url_spec(&flux_manifest_filename(env)));
                listed.note(format!(
                    "the {} namespace is labelled as ours only when the manifest created it",
                    resources::FLUX_NAMESPACE
                ));
                listed.push(kubectl.label_mark_spec(
                    "namespace",
                    &[resources::FLUX_NAMESPACE],
                    preview.installation_id,
                ));
            }
            listed.push(
                kubectl.wait_deployments_available_spec(
                    resources::FLUX_NAMESPACE,
                    env.timings.flux_wait,
                ),
            );
        }
        StepId::InstallKalypso => {
            let installation = &env.configuration.installation;
            let namespace = installation.namespace.as_str();
            listed.push(helm.status_spec(RELEASE_NAME, namespace));
            if !create {
                listed.note(format!(
                    "nothing more while release {RELEASE_NAME} {} is deployed",
                    installation.version
                ));
                return listed;
            }
            // What the run does first when an interrupted helm left the release pending:
            // the plan cannot know, so the dry run names the exact commands.
            listed.note(format!(
                "only if an interrupted helm left release {RELEASE_NAME} pending and it carries this installation's label: `{}`, then `{}`, before installing it again",
                helm.metadata_spec(RELEASE_NAME, namespace).display(),
                helm.uninstall_spec(RELEASE_NAME, namespace).display(),
            ));
            listed.note(
                "`-f -`: the values controlPlaneURL, controlPlaneBranch and ghRepoToken are written to helm's standard input (no file holds the token)",
            );
            // The values the run writes (the dry run masks the token).
            let our_values = preview.context.and_then(|context| {
                chart_values_stdin(context.control_plane.url(), Preview::github_token(env)).ok()
            });
            listed.push(tools.helm.show_chart_spec(&chart_ref(installation)));
            listed.push(kubectl.get_namespace_spec(namespace));
            listed.push(kubectl.create_namespace_spec(namespace));
            listed.push(kubectl.label_mark_spec(
                "namespace",
                &[namespace],
                preview.installation_id,
            ));
            listed.push(kubectl.list_crds_spec());
            listed.push(helm.upgrade_install_spec(&install_params(
                env,
                our_values.unwrap_or_else(|| SecretSlice::from(Vec::new())),
                preview.installation_id,
            )));
            // The Kalypso CRDs the chart added, looked up again after the install and
            // labelled as ours.
            listed.push(kubectl.list_crds_spec());
            listed.push(kubectl.label_mark_spec(
                "crd",
                &resources::KALYPSO_CRDS,
                preview.installation_id,
            ));
            listed.push(kubectl.get_deployments_spec(namespace));
        }
        _ => {}
    }
    listed
}

/// Flux: kept when present (and serving `v1beta2`), else installed server-side from the
/// pinned release manifest and waited for.
pub async fn flux(
    steps: &BootstrapSteps,
    _planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let (context, kubectl) = kube(env, ctx, &tools);
    ensure_flux(env, ctx, &context, &kubectl, FluxUse::Management).await
}

/// The Flux CRDs of a cluster, both looked up at once.
pub(super) async fn flux_crds(
    env: &StepEnv,
    ctx: &StepContext,
    kubectl: &KubectlContext,
) -> Result<(Option<Crd>, Option<Crd>), UserError> {
    let git_what = format!("look up CRD {FLUX_GITREPOSITORY_CRD}");
    let kustomization_what = format!("look up CRD {FLUX_KUSTOMIZATION_CRD}");
    let (git, kustomization) = tokio::join!(
        call(env, ctx, &git_what, || kubectl
            .get_crd(FLUX_GITREPOSITORY_CRD)),
        call(env, ctx, &kustomization_what, || kubectl
            .get_crd(FLUX_KUSTOMIZATION_CRD)),
    );
    Ok((git?, kustomization?))
}

/// The error for a Flux of which only one of the two CRDs is present.
pub(super) fn partial_flux_error(
    step: StepId,
    context: &str,
    usage: FluxUse,
    git: &Option<Crd>,
    kustomization: &Option<Crd>,
) -> UserError {
    let who = match usage {
        FluxUse::Management => "Kalypso needs",
        FluxUse::Workload => "a workload cluster needs",
    };
    let present = |crd: &Option<Crd>| if crd.is_some() { "present" } else { "missing" };
    UserError::in_step(
        step,
        format!(
            "Flux is only partly installed on context {context}: {FLUX_GITREPOSITORY_CRD} {}, {FLUX_KUSTOMIZATION_CRD} {}",
            present(git),
            present(kustomization)
        ),
    )
    .with_hint(Topic::FluxPartial.hint(format!("{who} Flux's source and kustomize controllers: complete the Flux installation or remove it, then run again")))
}

/// Flux on `context`: kept when present (and serving what `usage` needs), else installed
/// server-side from the pinned release manifest (or `--flux-manifest`), recorded as ours,
/// its namespace marked, and waited for. The management cluster's `installation.flux` and
/// each workload cluster's `workloads.flux` both install through here.
pub(super) async fn ensure_flux(
    env: &StepEnv,
    ctx: &StepContext,
    context: &str,
    kubectl: &KubectlContext,
    usage: FluxUse,
) -> Result<StepOutcome, UserError> {
    let context = context.to_string();
    let step = ctx.step();
    let api_version = usage.api_version();
    // Workload clusters are handled at once within their step: each line names its own.
    let on = match usage {
        FluxUse::Management => String::new(),
        FluxUse::Workload => format!("{context}: "),
    };
    let running = || match usage {
        FluxUse::Management => ctx.transition("Running"),
        FluxUse::Workload => ctx.transition_with("Running", format!("{on}Flux is running")),
    };
    // Both CRDs at once.
    let flux_crds = || async {
        let git_what = format!("look up CRD {FLUX_GITREPOSITORY_CRD}");
        let kustomization_what = format!("look up CRD {FLUX_KUSTOMIZATION_CRD}");
        let (git, kustomization) = tokio::join!(
            call(env, ctx, &git_what, || kubectl
                .get_crd(FLUX_GITREPOSITORY_CRD)),
            call(env, ctx, &kustomization_what, || kubectl
                .get_crd(FLUX_KUSTOMIZATION_CRD)),
        );
        Ok::<_, UserError>((git?, kustomization?))
    };

    match flux_crds().await? {
        (Some(git), Some(kustomization)) => {
            check_flux_apis(step, &context, usage, &git, &kustomization)?;
            let ours = ctx.state().read(|s| our_flux(s, &context));
            match &ours {
                Some(resource) => ctx.record(
                    resource.clone(),
                    Ownership::CreatedByUs,
                    ResourceStatus::Present,
                )?,
                None => ctx.record(
                    resources::flux(&context, None),
                    Ownership::Reused,
                    ResourceStatus::Present,
                )?,
            }
            wait_for_controllers(env, ctx, kubectl, &on).await?;
            running();
            let whose = if ours.is_some() {
                "installed by an earlier run"
            } else {
                "already installed"
            };
            return Ok(StepOutcome::reused(format!(
                "Flux {whose}; {api_version} of GitRepository and Kustomization served"
            )));
        }
        (None, None) => {}
        (git, kustomization) => {
            return Err(partial_flux_error(
                step,
                &context,
                usage,
                &git,
                &kustomization,
            ));
        }
    }

    let version = env.flux_version.clone();
    let url = flux_manifest_filename(env);
    let resource = match &env.configuration.installation.flux_manifest {
        Some(_) => resources::flux_from_manifest(&context, &version, url.clone()),
        None => resources::flux(&context, Some(&version)),
    };
    ctx.record(
        resource.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
    )?;
    let flux_namespace_existed = call(
        env,
        ctx,
        &format!("look up namespace {}", resources::FLUX_NAMESPACE),
        || kubectl.get_namespace(resources::FLUX_NAMESPACE),
    )
    .await?
    .is_some();
    let what = match &env.configuration.installation.flux_manifest {
        Some(_) => format!("Flux from {url}"),
        None => format!("Flux {version}"),
    };
    ctx.transition_with("Installing", format!("{on}installing {what}"));
    let applied = call(
        env,
        ctx,
        &match &env.configuration.installation.flux_manifest {
            Some(_) => format!("apply the Flux manifest {url}"),
            None => format!("apply the Flux {version} manifest"),
        },
        || kubectl.apply_server_side_url(&url),
    )
    .await
    .map_err(|err| without_github_com_hint(env, err));
    // The manifest is removed whole on rollback, its namespace with it: the mark goes there,
    // also when the apply stopped half-way; never on a namespace that was there before.
    if !flux_namespace_existed {
        let installation_id = ctx.installation_id()?;
        let marked = mark_namespace_if_present(
            env,
            ctx,
            &context,
            resources::FLUX_NAMESPACE,
            &installation_id,
        )
        .await;
        applied?;
        marked?;
    } else {
        applied?;
    }
    wait_for_controllers(env, ctx, kubectl, &on).await?;
    ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
    // A release chosen with --flux-version may have dropped the APIs Kalypso needs.
    if let (Some(git), Some(kustomization)) = flux_crds().await? {
        check_flux_apis(step, &context, usage, &git, &kustomization)?;
    }
    running();
    Ok(StepOutcome::succeeded(format!(
        "Flux {version} installed; its controllers are available"
    )))
}

/// `on` prefixes the progress line (`CONTEXT: ` on a workload cluster, else nothing).
async fn wait_for_controllers(
    env: &StepEnv,
    ctx: &StepContext,
    kubectl: &KubectlContext,
    on: &str,
) -> Result<(), UserError> {
    ctx.progress(format!("{on}waiting for the Flux controllers"));
    let what = "wait for the Flux controllers to be available";
    retry_step(ctx, &env.timings.retry, what, |_| async {
        kubectl
            .wait_deployments_available(resources::FLUX_NAMESPACE, env.timings.flux_wait)
            .await
            .map_err(|e| long_wait_error(ctx.step(), what, &e))
    })
    .await
}

/// The error of a command that waits by itself (`kubectl wait`, `helm --wait`): a rate
/// limit or a 5xx is tried again, but running out of time is not, since the wait already
/// took all the time it was given.
fn long_wait_error(step: StepId, what: &str, error: &ToolError) -> UserError {
    let mut step_error = tool_error(step, what, error);
    if error.class() == ErrorClass::Timeout {
        step_error.transient = false;
        step_error.retry_after = None;
    }
    step_error
}

/// A release of ours that a killed helm left `pending-install` or `pending-upgrade`: helm
/// refuses every later `upgrade --install` of it ("another operation
/// (install/upgrade/rollback) is in progress"), so it is uninstalled here and installed
/// again below. Uninstalling rather than rolling back: a `pending-install` release has no
/// earlier revision to roll back to, and one path for both states keeps the resume simple;
/// what the uninstall removes is what the install re-creates (helm keeps the CRDs and our
/// namespace, and with them any Kalypso objects). Only a release this installation
/// created is touched: the state records it as ours (checked by the caller) and its live
/// release label carries this installation's id.
async fn recover_interrupted_release(
    env: &StepEnv,
    ctx: &StepContext,
    helm: &crate::tools::helm::HelmContext,
    namespace: &str,
    state: &str,
) -> Result<(), UserError> {
    let step = ctx.step();
    let installation_id = ctx.installation_id()?;
    let metadata = call(
        env,
        ctx,
        &format!("read the labels of Helm release {RELEASE_NAME}"),
        || helm.metadata(RELEASE_NAME, namespace),
    )
    .await?;
    let labels = metadata.map(|m| m.labels).unwrap_or_default();
    if let Err(why) = crate::tools::kubectl::check_mark(&labels, &installation_id) {
        return Err(UserError::in_step(
            step,
            format!(
                "Helm release {RELEASE_NAME} in {namespace} is {state} (an interrupted helm), and it is not marked as this installation's: {}",
                why.replace("its label", "its release label")
            ),
        )
        .with_hint(Topic::KalypsoNotOurs.hint(format!(
            "check it with `helm status {RELEASE_NAME} -n {namespace} --kube-context {}`; roll it back or uninstall it yourself, or choose another --namespace",
            helm.kube_context()
        ))));
    }
    ctx.progress(format!(
        "Helm release {RELEASE_NAME} was left {state} by an interrupted run: uninstalling it to install it again"
    ));
    call(
        env,
        ctx,
        &format!("uninstall the interrupted Helm release {RELEASE_NAME}"),
        || helm.uninstall(RELEASE_NAME, namespace),
    )
    .await?;
    Ok(())
}

/// The Kalypso Scheduler chart: checked first (`helm show chart`), then
/// `helm upgrade --install` with our values on stdin (and the user's file after them).
pub async fn kalypso(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    let (context, kubectl) = kube(env, ctx, &tools);
    let helm = tools.helm.with_kube_context(&context);
    let installation = &env.configuration.installation;
    let namespace = installation.namespace.clone();
    let chart = chart_ref(installation);
    let release = resources::helm_release(&context, &namespace);
    let release_ours = ctx.state().read(|s| s.is_ours(&release));

    let status = call(
        env,
        ctx,
        &format!("look up Helm release {RELEASE_NAME} in {namespace}"),
        || helm.status(RELEASE_NAME, &namespace),
    )
    .await?;
    if let Some(status) = &status {
        if !release_ours {
            let pending = if status.is_pending() {
                format!(
                    ", left {} by an interrupted helm (helm refuses to change it until it is rolled back or uninstalled)",
                    status.info.status
                )
            } else {
                String::new()
            };
            return Err(UserError::in_step(
                step,
                format!(
                    "the Kalypso Scheduler is already installed in namespace {namespace} (Helm release {RELEASE_NAME}, chart {}{pending}), and not by this tool",
                    status.chart_version().unwrap_or("of unknown version")
                ),
            )
            .with_hint(Topic::KalypsoNotOurs.hint(format!(
                "uninstall it (helm uninstall {RELEASE_NAME} -n {namespace} --kube-context {context}) or choose another --namespace"
            ))));
        }
        if status.is_pending() {
            recover_interrupted_release(env, ctx, &helm, &namespace, &status.info.status).await?;
        }
        if planned.action == Action::Reuse
            && status.is_deployed()
            && status.chart_version() == Some(installation.version.as_str())
        {
            record_installation(ctx, &namespace, &installation.version)?;
            ctx.transition("Deployed");
            return Ok(StepOutcome::reused(format!(
                "Helm release {RELEASE_NAME} {} is deployed in {namespace} (installed by an earlier run)",
                installation.version
            )));
        }
    }

    let token = env.require_token(step, "the Kalypso chart's ghRepoToken")?;
    let template = steps.template_context(ctx).await?;
    let control_plane_url = template.control_plane.url();

    ctx.progress(format!(
        "checking chart {} version {}",
        installation.chart.as_config_value(),
        installation.version
    ));
    let chart_info = call(env, ctx, "look up the Kalypso chart", || {
        tools.helm.show_chart(&chart)
    })
    .await?;
    if chart_info.is_none() {
        return Err(UserError::in_step(
            step,
            format!(
                "chart {} version {} was not found (`{}`)",
                installation.chart.as_config_value(),
                installation.version,
                tools.helm.show_chart_spec(&chart).display()
            ),
        )
        .with_hint(Topic::ChartNotFound.hint("the chart or that version of it does not exist: check --helm-chart and --helm-version (helm search repo kalypso-scheduler --versions lists the published versions)"))
        .with_exit_code(ExitCode::InstallationFailed));
    }

    let installation_id = ctx.installation_id()?;
    let existing_namespace = call(env, ctx, &format!("look up namespace {namespace}"), || {
        kubectl.get_namespace(&namespace)
    })
    .await?;
    let namespace_resource = resources::namespace(&context, &namespace);
    let namespace_created = existing_namespace.is_none();
    match existing_namespace {
        Some(ns) if ns.is_terminating() => {
            return Err(UserError::in_step(
                step,
                format!("namespace {namespace} is being deleted"),
            )
            .with_hint(Topic::NamespaceTerminating.hint("wait until it is gone, then run again"))
            .transient());
        }
        Some(_) => {
            let ownership = if ctx.state().read(|s| s.is_ours(&namespace_resource)) {
                Ownership::CreatedByUs
            } else {
                Ownership::Reused
            };
            ctx.record(
                namespace_resource.clone(),
                ownership,
                ResourceStatus::Present,
            )?;
        }
        None => {
            ctx.record(
                namespace_resource.clone(),
                Ownership::CreatedByUs,
                ResourceStatus::Creating,
            )?;
            // Created here rather than by `helm --create-namespace`, so that it carries our
            // mark even when the installation fails.
            let created = call(env, ctx, &format!("create namespace {namespace}"), || {
                kubectl.create_namespace(&namespace)
            })
            .await;
            // Marked also when the create was interrupted after it reached the cluster.
            let marked =
                mark_namespace_if_present(env, ctx, &context, &namespace, &installation_id).await;
            created?;
            marked?;
        }
    }

    let crds = call(env, ctx, "list the CRDs", || kubectl.list_crds()).await?;
    let present: BTreeSet<&str> = crds.iter().map(|c| c.name.as_str()).collect();
    let to_create: Vec<String> = resources::KALYPSO_CRDS
        .iter()
        .filter(|name| !present.contains(*name))
        .map(|name| name.to_string())
        .collect();
    let crds_resource =
        (!to_create.is_empty()).then(|| resources::kalypso_crds(&context, to_create));
    if let Some(resource) = &crds_resource {
        ctx.record(
            resource.clone(),
            Ownership::CreatedByUs,
            ResourceStatus::Creating,
        )?;
    }
    ctx.record(
        release.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
    )?;

    ctx.transition_with(
        "Installing",
        format!(
            "installing {RELEASE_NAME} {} into {namespace}",
            installation.version
        ),
    );
    // Versions before 0.1 (issue 12) wrote the values, token included, to a file that a
    // killed run left behind: remove such leftovers now.
    remove_leftover_values_files(&env.work_dir);
    let our_values = chart_values_stdin(control_plane_url.clone(), token)
        .map_err(|e| UserError::in_step(step, format!("cannot write the Helm values: {e}")))?;
    let params = install_params(env, our_values, &installation_id);
    // A failed `--wait` already waited the whole timeout: only a quick transient failure
    // (a rate limit, a 5xx) is tried again.
    let what = format!("install the Helm release {RELEASE_NAME}");
    let installed = retry_step(ctx, &env.timings.retry, &what, |_| async {
        helm.upgrade_install(&params)
            .await
            .map_err(|e| long_wait_error(step, &what, &e))
    })
    .await;
    // Helm installed the CRDs that were missing: mark them, also after a failed install,
    // so that a rollback can remove them.
    if let Some(crate::state::Resource::KalypsoCrds { names, .. }) = &crds_resource {
        let marked = mark_crds(
            env,
            ctx,
            &marker(env, ctx, &context),
            names,
            &installation_id,
        )
        .await;
        installed?;
        marked?;
    } else {
        installed?;
    }

    if namespace_created {
        ctx.record(
            namespace_resource,
            Ownership::CreatedByUs,
            ResourceStatus::Present,
        )?;
    }
    if let Some(resource) = crds_resource {
        ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
    }
    ctx.record(release, Ownership::CreatedByUs, ResourceStatus::Present)?;
    record_installation(ctx, &namespace, &installation.version)?;
    ctx.transition("Deployed");

    wait_for_controller(env, ctx, &kubectl, &namespace).await?;
    ctx.transition("Running");
    Ok(StepOutcome::succeeded(format!(
        "Kalypso Scheduler {} installed in {namespace} (control plane {control_plane_url})",
        installation.version
    )))
}

/// Remove `kalypso-values-XXXXXX.yaml` files that earlier versions wrote into `work_dir`
/// (holding the token) and a killed run left: only regular files of that exact name form,
/// ours and 0600 as those versions made them; never a symlink.
pub fn remove_leftover_values_files(work_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return Vec::new();
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours_by_name = name
            .to_str()
            .and_then(|n| n.strip_prefix("kalypso-values-"))
            .and_then(|rest| rest.strip_suffix(".yaml"))
            .is_some_and(|random| {
                random.len() == 6 && random.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if !ours_by_name {
            continue;
        }
        let path = entry.path();
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| {
            m.is_file() && m.uid() == uid && m.permissions().mode() & 0o777 == 0o600
        });
        if ours && std::fs::remove_file(&path).is_ok() {
            tracing::info!(path = %path.display(), "removed a Helm values file an earlier run left");
            removed.push(path);
        }
    }
    removed
}

/// kubectl for putting our marks (see [`Tools::for_marking`]).
fn marker(env: &StepEnv, ctx: &StepContext, context: &str) -> KubectlContext {
    Tools::for_marking(env, ctx).kubectl.with_context(context)
}

/// Label the namespace `name` when it exists (a create or apply may have stopped after
/// making it). Not cancellable (see [`marker`]).
async fn mark_namespace_if_present(
    env: &StepEnv,
    ctx: &StepContext,
    context: &str,
    name: &str,
    installation_id: &str,
) -> Result<(), UserError> {
    let marker = marker(env, ctx, context);
    let present = call(env, ctx, &format!("look up namespace {name}"), || {
        marker.get_namespace(name)
    })
    .await?
    .is_some();
    if !present {
        return Ok(());
    }
    let names = [name];
    call(env, ctx, &format!("label namespace {name} as ours"), || {
        marker.label_mark("namespace", &names, installation_id)
    })
    .await
}

/// Label those of `names` that now exist (Helm may have stopped before creating them all).
async fn mark_crds(
    env: &StepEnv,
    ctx: &StepContext,
    kubectl: &KubectlContext,
    names: &[String],
    installation_id: &str,
) -> Result<(), UserError> {
    let crds = call(env, ctx, "list the CRDs", || kubectl.list_crds()).await?;
    let present: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| crds.iter().any(|crd| crd.name == *name))
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    call(env, ctx, "label the Kalypso CRDs as ours", || {
        kubectl.label_mark("crd", &present, installation_id)
    })
    .await
}

fn record_installation(ctx: &StepContext, namespace: &str, version: &str) -> Result<(), UserError> {
    ctx.update_state(|s| {
        s.installation.namespace = Some(namespace.to_string());
        s.installation.helm_release = Some(RELEASE_NAME.to_string());
        s.installation.version = Some(version.to_string());
    })
}

/// The controller deployment has its desired replicas available.
pub async fn wait_for_controller(
    env: &StepEnv,
    ctx: &StepContext,
    kubectl: &KubectlContext,
    namespace: &str,
) -> Result<(), UserError> {
    let step = ctx.step();
    poll_step(
        ctx,
        &env.timings.cluster_ready,
        "Kalypso controller",
        || {
            let kubectl = kubectl.clone();
            let namespace = namespace.to_string();
            async move {
                let deployments = kubectl.get_deployments(&namespace).await.map_err(|e| {
                    tool_error(step, &format!("list the deployments in {namespace}"), &e)
                })?;
                match deployments
                    .iter()
                    .find(|d| d.name == resources::CONTROLLER_DEPLOYMENT)
                {
                    Some(d) if d.is_available() => Ok(Poll::Ready(())),
                    Some(d) => Ok(Poll::Pending(format!(
                        "{} has {}/{} replicas available",
                        d.name, d.available_replicas, d.replicas
                    ))),
                    None => Ok(Poll::Pending(format!(
                        "deployment {} not found in {namespace}",
                        resources::CONTROLLER_DEPLOYMENT
                    ))),
                }
            }
        },
    )
    .await
}

/// A failed download of the release manifest from github.com (a GitHub Enterprise Server
/// user often has no route there): the hint names the way round it.
fn without_github_com_hint(env: &StepEnv, err: UserError) -> UserError {
    let default_manifest = env.configuration.installation.flux_manifest.is_none();
    // kubectl's own download errors (http.Get's, or a status it got back), not any
    // failure whose command line names the URL.
    let download_failed = [
        "Get \"https://github.com/",
        "unable to read URL \"https://github.com/",
    ]
    .iter()
    .any(|said| err.message.contains(said));
    if !default_manifest || !download_failed {
        return err;
    }
    err.with_hint(Topic::ServiceUnreachable.hint(format!(
        "Flux's install manifest comes from github.com ({}); without access there, give a copy or a mirror: --flux-manifest FILE (downloaded elsewhere) or --flux-manifest https://MIRROR/install.yaml",
        flux_install_url(&env.flux_version)
    )))
}

/// What `kubectl apply -f` takes to install Flux: the manifest of `--flux-manifest` (a URL
/// or a local file), else the release's install.yaml on github.com.
pub fn flux_manifest_filename(env: &StepEnv) -> String {
    match &env.configuration.installation.flux_manifest {
        Some(manifest) => manifest.kubectl_filename(),
        None => flux_install_url(&env.flux_version),
    }
}
