//! Attaching workload clusters (`--workload-cluster`): each attached cluster is checked
//! before anything is created (`workloads.preflight`), gets Flux when it lacks it
//! (`workloads.flux`), then a read-only credential for the gitops repository and a
//! GitRepository and Kustomization on its environment branch at `./<cluster type>`
//! (`workloads.gitops-source`), where the scheduler writes that cluster type's deployment
//! targets (`scheduler/githubrepo.go` in microsoft/kalypso-scheduler).
//!
//! The credential is a read-only deploy key of the gitops repository, one per attached
//! (cluster, environment): GitHub enforces it read-only and scoped to the one repository,
//! each is revoked alone, and the user's token never lands on a cluster. Its private half
//! is generated in memory and goes only into the Secret's manifest on kubectl's stdin.

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde_json::{json, Value};

use super::installation::{self, FluxUse};
use super::{
    call, forget_refused_creation, resources, tool_error, BootstrapSteps, CreateAttempts, Preview,
    StepCommands, StepEnv, Tools,
};
use crate::config::{ClusterTarget, Configuration, WorkloadCluster, WorkloadContext};
use crate::engine::context::{fact, StepContext};
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::{Decisions, Observed, PlannedStep};
use crate::engine::retry::poll_step;
use crate::engine::step::{Action, StepId};
use crate::state::{BootstrapState, Ownership, Resource, ResourceStatus};
use crate::templates::RepoRef;
use crate::tools::kubectl::{
    FluxKind, KubectlContext, FLUX_GITREPOSITORY_CRD, FLUX_KUSTOMIZATION_CRD, INSTALLATION_LABEL,
    MANAGED_BY_LABEL, MANAGED_BY_VALUE,
};
use crate::tools::retry::Poll;
use crate::troubleshooting::Topic;
use crate::UserError;

/// The namespace of our Flux objects on a workload cluster.
pub const NAMESPACE: &str = resources::FLUX_NAMESPACE;
/// How often Flux looks at the gitops branch.
pub const INTERVAL: &str = "1m";
/// The resource kubectl names a Secret by.
pub const SECRET_RESOURCE: &str = "secret";
/// What a dry run shows in place of the private key generated at run time.
pub const PRIVATE_KEY_PLACEHOLDER: &str = "<ed25519 private key generated in memory>";
/// What a dry run shows in place of the public key generated at run time.
pub const PUBLIC_KEY_PLACEHOLDER: &str = "ssh-ed25519 <public key generated at run time>";

/// The name of our GitRepository and Kustomization of `environment` on a workload cluster.
pub fn source_name(environment: &str) -> String {
    format!("kalypso-gitops-{environment}")
}

/// The name of the Secret holding the deploy key of `environment`.
pub fn credential_secret_name(environment: &str) -> String {
    format!("{}-deploy-key", source_name(environment))
}

/// The kube context a workload cluster is reached through: the management cluster's own
/// for `self`.
pub fn kube_context_of(configuration: &Configuration, context: &WorkloadContext) -> String {
    match context {
        WorkloadContext::Management => resources::kube_context_name(configuration),
        WorkloadContext::Named(name) => name.clone(),
    }
}

/// A kubectl on an attached cluster's context, streaming to the step's log.
pub fn kubectl_for(env: &StepEnv, ctx: &StepContext, context: &str) -> KubectlContext {
    Tools::for_step(env, ctx).kubectl.with_context(context)
}

/// The title of the deploy key of one attached (cluster, environment).
pub fn deploy_key_title(installation_id: &str, context: &str, environment: &str) -> String {
    format!("kalypso-bootstrap {installation_id} {context}/{environment}")
}

/// `ssh://git@HOST/OWNER/NAME.git`: the gitops repository as Flux reads it over SSH.
pub fn ssh_url(gitops: &RepoRef) -> String {
    format!(
        "ssh://git@{}/{}/{}.git",
        gitops.host, gitops.owner, gitops.name
    )
}

/// `known_hosts` lines (`HOST TYPE BASE64`) of the host's SSH keys as `gh api meta` lists them.
pub fn known_hosts(host: &str, keys: &[String]) -> String {
    keys.iter()
        .map(|key| format!("{host} {}\n", key.trim()))
        .collect()
}

/// The distinct contexts attached, in the order given.
pub fn attached_contexts(configuration: &Configuration) -> Vec<WorkloadContext> {
    let mut contexts: Vec<WorkloadContext> = Vec::new();
    for cluster in &configuration.workload_clusters {
        if !contexts.contains(&cluster.context) {
            contexts.push(cluster.context.clone());
        }
    }
    contexts
}

fn marks(installation_id: &str) -> Value {
    json!({
        MANAGED_BY_LABEL: MANAGED_BY_VALUE,
        INSTALLATION_LABEL: installation_id,
    })
}

/// The GitRepository of one attached (cluster, environment): the environment's branch of
/// the gitops repository over SSH, with the deploy key's Secret.
pub fn git_repository_manifest(
    cluster: &WorkloadCluster,
    gitops_ssh_url: &str,
    installation_id: &str,
) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {
            "name": source_name(&cluster.environment),
            "namespace": NAMESPACE,
            "labels": marks(installation_id),
        },
        "spec": {
            "interval": INTERVAL,
            "url": gitops_ssh_url,
            "ref": {"branch": cluster.environment},
            "secretRef": {"name": credential_secret_name(&cluster.environment)},
        },
    })
}

/// The Kustomization of one attached (cluster, environment): `./<cluster type>` of the
/// GitRepository, pruned.
pub fn kustomization_manifest(cluster: &WorkloadCluster, installation_id: &str) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {
            "name": source_name(&cluster.environment),
            "namespace": NAMESPACE,
            "labels": marks(installation_id),
        },
        "spec": {
            "interval": INTERVAL,
            "path": format!("./{}", cluster.cluster_type),
            "prune": true,
            "sourceRef": {
                "kind": "GitRepository",
                "name": source_name(&cluster.environment),
            },
        },
    })
}

/// The Secret of the deploy key (`identity`, `identity.pub`, `known_hosts`, as Flux's SSH
/// sources read them), as the bytes kubectl reads on its stdin: secret throughout.
pub fn credential_secret_manifest(
    environment: &str,
    identity: &SecretString,
    identity_pub: &str,
    known_hosts: &str,
    installation_id: &str,
) -> SecretSlice<u8> {
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": credential_secret_name(environment),
            "namespace": NAMESPACE,
            "labels": marks(installation_id),
        },
        "type": "Opaque",
        "stringData": {
            "identity": identity.expose_secret(),
            "identity.pub": identity_pub,
            "known_hosts": known_hosts,
        },
    });
    SecretSlice::from(manifest.to_string().into_bytes())
}

/// The objects of one (cluster, environment), in the order they are created: the Secret,
/// the GitRepository, the Kustomization (the resource kubectl names each by, and its name).
pub fn objects(environment: &str) -> [(&'static str, String); 3] {
    [
        (SECRET_RESOURCE, credential_secret_name(environment)),
        (FLUX_GITREPOSITORY_CRD, source_name(environment)),
        (FLUX_KUSTOMIZATION_CRD, source_name(environment)),
    ]
}

/// The state record of one of our objects on a workload cluster.
pub fn object_resource(context: &str, kind: &str, name: &str) -> Resource {
    Resource::WorkloadObject {
        kube_context: context.to_string(),
        kind: kind.to_string(),
        namespace: NAMESPACE.to_string(),
        name: name.to_string(),
    }
}

/// Whether the state records `resource` as created by this installation (and not removed).
fn recorded_ours(state: &BootstrapState, resource: &Resource) -> bool {
    state
        .rollback_candidates()
        .iter()
        .any(|record| &record.resource == resource)
}

/// What each attached cluster follows, for the plan: `kind-w: dev at ./default`.
pub fn attachments(configuration: &Configuration) -> Vec<String> {
    configuration
        .workload_clusters
        .iter()
        .map(|cluster| {
            let context = match &cluster.context {
                WorkloadContext::Management => format!(
                    "{} (the management cluster)",
                    kube_context_of(configuration, &cluster.context)
                ),
                WorkloadContext::Named(name) => name.clone(),
            };
            format!(
                "{context}: {} at ./{}",
                cluster.environment, cluster.cluster_type
            )
        })
        .collect()
}

/// The workload steps' actions; nothing when no cluster is attached (the plan then has
/// no workload steps, see [`crate::engine::plan::is_part_of`]).
pub(crate) fn plan(config: &Configuration, _observed: &Observed, decisions: &mut Decisions) {
    if config.workload_clusters.is_empty() {
        return;
    }
    let contexts: Vec<String> = attached_contexts(config)
        .iter()
        .map(|context| kube_context_of(config, context))
        .collect();
    let named: Vec<String> = attached_contexts(config)
        .iter()
        .filter_map(|context| match context {
            WorkloadContext::Named(name) => Some(name.clone()),
            WorkloadContext::Management => None,
        })
        .collect();
    decisions.insert(
        StepId::WorkloadPreflight,
        (
            Action::Create,
            format!(
                "check {}: answers, Flux absent or compatible, our names free",
                contexts.join(", ")
            ),
        ),
    );
    let flux = if named.is_empty() {
        "nothing: the management cluster's Flux is installation.flux's".to_string()
    } else {
        format!("install Flux where missing on {}", named.join(", "))
    };
    decisions.insert(StepId::WorkloadFlux, (Action::Create, flux));
    decisions.insert(
        StepId::WorkloadSource,
        (
            Action::Create,
            format!(
                "a read-only deploy key, GitRepository and Kustomization for {}",
                attachments(config).join("; ")
            ),
        ),
    );
}

/// What the workload steps run, for the dry run: the same builders as the run.
pub fn commands(env: &StepEnv, planned: &PlannedStep, preview: &Preview) -> StepCommands {
    let configuration = &env.configuration;
    let tools = env.tools();
    let mut listed = StepCommands::default();
    match planned.id {
        StepId::WorkloadPreflight => {
            for context in attached_contexts(configuration) {
                let name = kube_context_of(configuration, &context);
                if context == WorkloadContext::Management
                    && matches!(configuration.cluster, ClusterTarget::Create(_))
                {
                    listed.note(format!(
                        "{name}: the cluster this run creates, nothing to check yet"
                    ));
                    continue;
                }
                let kubectl = tools.kubectl.with_context(&name);
                listed.push(kubectl.reachability_spec());
                listed.push(kubectl.get_crd_spec(FLUX_GITREPOSITORY_CRD));
                listed.push(kubectl.get_crd_spec(FLUX_KUSTOMIZATION_CRD));
                for cluster in configuration
                    .workload_clusters
                    .iter()
                    .filter(|c| c.context == context)
                {
                    for (kind, object) in objects(&cluster.environment) {
                        listed.push(kubectl.get_object_spec(kind, &object, NAMESPACE));
                    }
                }
            }
        }
        StepId::WorkloadFlux => {
            for context in attached_contexts(configuration) {
                let WorkloadContext::Named(name) = &context else {
                    listed.note("the management cluster's Flux is installation.flux's");
                    continue;
                };
                let kubectl = tools.kubectl.with_context(name);
                listed.push(kubectl.get_crd_spec(FLUX_GITREPOSITORY_CRD));
                listed.push(kubectl.get_crd_spec(FLUX_KUSTOMIZATION_CRD));
                listed.note(format!(
                    "{name}: when Flux is present, {} of GitRepository and Kustomization must be served; otherwise:",
                    FluxUse::Workload.api_version()
                ));
                listed.push(kubectl.get_namespace_spec(NAMESPACE));
                listed.push(
                    kubectl.apply_server_side_url_spec(&installation::flux_manifest_filename(env)),
                );
                listed.push(kubectl.label_mark_spec(
                    "namespace",
                    &[NAMESPACE],
                    preview.installation_id,
                ));
                listed.push(
                    kubectl.wait_deployments_available_spec(NAMESPACE, env.timings.flux_wait),
                );
            }
        }
        StepId::WorkloadSource => {
            let Some(context) = preview.context else {
                listed.note("the gitops repository's owner is known once GitHub is asked");
                return listed;
            };
            let gitops = &context.gitops;
            let gh = tools.gh;
            listed.push(gh.meta_spec());
            listed.note(
                "an ed25519 key pair is generated in memory per (cluster, environment); the private key goes only into the Secret on kubectl's standard input",
            );
            for cluster in &configuration.workload_clusters {
                let name = kube_context_of(configuration, &cluster.context);
                let kubectl = tools.kubectl.with_context(&name);
                listed.push(gh.deploy_key_add_spec(
                    &gitops.slug(),
                    &deploy_key_title(preview.installation_id, &name, &cluster.environment),
                    PUBLIC_KEY_PLACEHOLDER,
                ));
                listed.push(kubectl.apply_secret_stdin_spec(credential_secret_manifest(
                    &cluster.environment,
                    &SecretString::from(PRIVATE_KEY_PLACEHOLDER.to_string()),
                    PUBLIC_KEY_PLACEHOLDER,
                    &format!("{} <the host's SSH keys from gh api meta>", gitops.host),
                    preview.installation_id,
                )));
                listed.push(
                    kubectl.apply_stdin_spec(
                        &git_repository_manifest(
                            cluster,
                            &ssh_url(gitops),
                            preview.installation_id,
                        )
                        .to_string(),
                    ),
                );
                listed.push(kubectl.apply_stdin_spec(
                    &kustomization_manifest(cluster, preview.installation_id).to_string(),
                ));
                listed.push(kubectl.get_flux_object_spec(
                    FluxKind::GitRepository,
                    &source_name(&cluster.environment),
                    NAMESPACE,
                ));
            }
        }
        _ => {}
    }
    listed
}

pub(crate) async fn run(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    match planned.id {
        StepId::WorkloadPreflight => preflight(steps, ctx).await,
        StepId::WorkloadFlux => flux(steps, ctx).await,
        StepId::WorkloadSource => gitops_source(steps, ctx).await,
        other => Err(UserError::in_step(other, "not a workload-cluster step")),
    }
}

/// The outcome of work done on every attached cluster at once: each cluster's work
/// finished (none is dropped half-way through a create, so the state records exactly what
/// exists), then the results in the configured order, or the first error in that order.
async fn on_each<T, F>(work: impl IntoIterator<Item = F>) -> Result<Vec<T>, UserError>
where
    F: std::future::Future<Output = Result<T, UserError>>,
{
    futures_util::future::join_all(work)
        .await
        .into_iter()
        .collect()
}

/// Read-only, before anything is created: each attached context answers, its Flux is
/// absent or compatible, and none of our names is taken by something not ours. The
/// contexts are checked at once.
async fn preflight(steps: &BootstrapSteps, ctx: &StepContext) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let checked = on_each(
        attached_contexts(&env.configuration)
            .into_iter()
            .map(|context| preflight_context(env, ctx, context)),
    )
    .await?;
    Ok(StepOutcome::succeeded(format!(
        "workload clusters checked: {}",
        checked.join(", ")
    )))
}

/// The pre-flight of one attached context: what the step's outcome says of it.
async fn preflight_context(
    env: &StepEnv,
    ctx: &StepContext,
    context: WorkloadContext,
) -> Result<String, UserError> {
    let configuration = &env.configuration;
    let step = ctx.step();
    let name = kube_context_of(configuration, &context);
    if context == WorkloadContext::Management
        && matches!(configuration.cluster, ClusterTarget::Create(_))
    {
        ctx.progress(format!(
            "{name}: the management cluster this run creates, nothing to check yet"
        ));
        return Ok(format!("{name} (created by this run)"));
    }
    let kubectl = kubectl_for(env, ctx, &name);
    ctx.progress(format!(
        "checking that workload cluster context {name} answers"
    ));
    kubectl.reachable().await.map_err(|e| {
        tool_error(step, &format!("reach workload cluster context {name}"), &e).with_hint(
            Topic::ClusterUnreachable.hint(format!(
                "check it with `kubectl --context {name} get nodes`; fix the kubeconfig, or drop --workload-cluster {name}"
            )),
        )
    })?;
    let flux = match installation::flux_crds(env, ctx, &kubectl).await? {
        (Some(git), Some(kustomization)) => {
            installation::check_flux_apis(step, &name, FluxUse::Workload, &git, &kustomization)?;
            true
        }
        (None, None) => false,
        (git, kustomization) => {
            return Err(installation::partial_flux_error(
                step,
                &name,
                FluxUse::Workload,
                &git,
                &kustomization,
            ))
        }
    };
    for cluster in configuration
        .workload_clusters
        .iter()
        .filter(|c| c.context == context)
    {
        for (kind, object) in objects(&cluster.environment) {
            // Without Flux's CRDs there is no object of their kinds to look up.
            if !flux && kind != SECRET_RESOURCE {
                continue;
            }
            let labels = call(
                env,
                ctx,
                &format!("look up {kind} {object} on {name}"),
                || kubectl.object_labels(kind, &object, NAMESPACE),
            )
            .await?;
            if labels.is_none() {
                continue;
            }
            let resource = object_resource(&name, kind, &object);
            if ctx.state().read(|s| recorded_ours(s, &resource)) {
                continue;
            }
            return Err(UserError::in_step(
                step,
                format!(
                    "{kind} {object} already exists in namespace {NAMESPACE} of workload cluster context {name}, and this installation did not create it"
                ),
            )
            .with_hint(Topic::AlreadyExists.hint(format!(
                "it may be another installation's: remove it (`kubectl --context {name} delete {kind} {object} -n {NAMESPACE}`) if it is no one's, or attach another cluster"
            ))));
        }
    }
    Ok(format!(
        "{name} ({})",
        if flux {
            "Flux present"
        } else {
            "Flux to install"
        }
    ))
}

/// Flux on each attached cluster that lacks it, by the management cluster's own rules,
/// on every context at once. Each context is installed once, however many environments
/// it follows ([`attached_contexts`] lists each once).
async fn flux(steps: &BootstrapSteps, ctx: &StepContext) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let done = on_each(attached_contexts(&env.configuration).into_iter().map(
        |context| async move {
            let WorkloadContext::Named(name) = &context else {
                return Ok("the management cluster's Flux is installation.flux's".to_string());
            };
            let kubectl = kubectl_for(env, ctx, name);
            let outcome =
                installation::ensure_flux(env, ctx, name, &kubectl, FluxUse::Workload).await?;
            Ok(format!("{name}: {}", outcome.message()))
        },
    ))
    .await?;
    Ok(StepOutcome::succeeded(done.join("; ")))
}

/// A fresh ed25519 key pair: the private key in OpenSSH form (registered as a secret so
/// nothing ever shows it), the public key as `ssh-ed25519 BASE64`.
fn generate_key_pair(step: StepId) -> Result<(SecretString, String), UserError> {
    use ssh_key::{rand_core::OsRng, Algorithm, LineEnding, PrivateKey};
    let failed = |e: ssh_key::Error| {
        UserError::in_step(step, format!("could not generate an ed25519 key pair: {e}"))
    };
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).map_err(failed)?;
    let private = key.to_openssh(LineEnding::LF).map_err(failed)?;
    crate::secrets::register(private.as_str());
    let public = key.public_key().to_openssh().map_err(failed)?;
    Ok((SecretString::from(private.to_string()), public))
}

/// Whether an earlier run of this installation left the credential of one attached
/// (cluster, environment) in place: its deploy key recorded and live (the same key under
/// the same title), its Secret recorded and live with our mark. A resumed run then keeps
/// it instead of adding a second key.
#[allow(clippy::too_many_arguments)]
async fn credential_in_place(
    env: &StepEnv,
    ctx: &StepContext,
    tools: &Tools,
    kubectl: &KubectlContext,
    slug: &str,
    title: &str,
    context: &str,
    environment: &str,
    installation_id: &str,
) -> Result<bool, UserError> {
    let recorded = ctx.state().read(|s| {
        s.rollback_candidates()
            .iter()
            .find_map(|record| match &record.resource {
                Resource::DeployKey {
                    repository,
                    title: recorded_title,
                    key,
                    id: Some(id),
                } if repository == slug && recorded_title == title => Some((key.clone(), *id)),
                _ => None,
            })
    });
    let Some((key, id)) = recorded else {
        return Ok(false);
    };
    let secret = object_resource(
        context,
        SECRET_RESOURCE,
        &credential_secret_name(environment),
    );
    if !ctx.state().read(|s| recorded_ours(s, &secret)) {
        return Ok(false);
    }
    let live_key = call(
        env,
        ctx,
        &format!("look up deploy key {id} of {slug}"),
        || tools.gh.deploy_key(slug, id),
    )
    .await?;
    let key_in_place = live_key.is_some_and(|live| {
        live.title == title
            && live
                .key
                .split_whitespace()
                .take(2)
                .eq(key.split_whitespace().take(2))
    });
    if !key_in_place {
        return Ok(false);
    }
    let secret_name = credential_secret_name(environment);
    let labels = call(
        env,
        ctx,
        &format!("look up Secret {secret_name} on {context}"),
        || kubectl.object_labels(SECRET_RESOURCE, &secret_name, NAMESPACE),
    )
    .await?;
    Ok(labels
        .is_some_and(|labels| crate::tools::kubectl::check_mark(&labels, installation_id).is_ok()))
}

/// Per attached (cluster, environment): the deploy key, its Secret, the GitRepository and
/// the Kustomization, each recorded before it is created; then the GitRepository Ready.
async fn gitops_source(
    steps: &BootstrapSteps,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let configuration = &env.configuration;
    let step = ctx.step();
    let installation_id = ctx.installation_id()?;
    let template = steps.template_context(ctx).await?;
    let gitops = &template.gitops;
    let slug = gitops.slug();
    let tools = Tools::for_step(env, ctx);
    let host_keys = call(env, ctx, "read the host's SSH keys (gh api meta)", || {
        tools.gh.ssh_host_keys()
    })
    .await?;
    if host_keys.is_empty() {
        return Err(UserError::in_step(
            step,
            format!(
                "gh api meta of {} lists no SSH host keys, so Flux could not trust the host",
                gitops.host
            ),
        ));
    }
    let known_hosts = known_hosts(&gitops.host, &host_keys);
    let source = SourceInputs {
        env,
        ctx,
        tools: &tools,
        slug: &slug,
        url: ssh_url(gitops),
        known_hosts: &known_hosts,
        installation_id: &installation_id,
    };
    // Every (cluster, environment) at once: each has its own deploy key and objects
    // (named per environment), so two environments on one context never touch the same.
    let attached = on_each(
        configuration
            .workload_clusters
            .iter()
            .map(|cluster| source.attach(cluster)),
    )
    .await?;
    ctx.facts().set(fact::GITOPS_URL, gitops.url());
    Ok(StepOutcome::succeeded(attached.join("; ")))
}

/// What the source of each attached (cluster, environment) is made from.
struct SourceInputs<'a> {
    env: &'a StepEnv,
    ctx: &'a StepContext,
    tools: &'a Tools,
    slug: &'a str,
    url: String,
    known_hosts: &'a str,
    installation_id: &'a str,
}

impl SourceInputs<'_> {
    /// One attached (cluster, environment): its credential (kept when an earlier run's is
    /// in place), GitRepository and Kustomization, each recorded before it is created; then
    /// the GitRepository Ready. What the step's outcome says of it.
    async fn attach(&self, cluster: &WorkloadCluster) -> Result<String, UserError> {
        let Self {
            env,
            ctx,
            tools,
            slug,
            installation_id,
            ..
        } = *self;
        let step = ctx.step();
        let name = kube_context_of(&env.configuration, &cluster.context);
        let kubectl = kubectl_for(env, ctx, &name);
        let environment = &cluster.environment;
        let title = deploy_key_title(installation_id, &name, environment);
        if credential_in_place(
            env,
            ctx,
            tools,
            &kubectl,
            slug,
            &title,
            &name,
            environment,
            installation_id,
        )
        .await?
        {
            ctx.progress(format!(
                "{name}: the deploy key {title:?} and its Secret made by an earlier run are in place"
            ));
        } else {
            self.add_credential(&kubectl, &name, environment, &title)
                .await?;
        }

        for (kind, manifest) in [
            (
                FLUX_GITREPOSITORY_CRD,
                git_repository_manifest(cluster, &self.url, installation_id),
            ),
            (
                FLUX_KUSTOMIZATION_CRD,
                kustomization_manifest(cluster, installation_id),
            ),
        ] {
            let object = object_resource(&name, kind, &source_name(environment));
            ctx.record(
                object.clone(),
                Ownership::CreatedByUs,
                ResourceStatus::Creating,
            )?;
            let text = manifest.to_string();
            call(
                env,
                ctx,
                &format!("apply {kind} {} on {name}", source_name(environment)),
                || kubectl.apply_stdin(&text),
            )
            .await?;
            ctx.record(object, Ownership::CreatedByUs, ResourceStatus::Present)?;
        }

        let source = source_name(environment);
        poll_step(
            ctx,
            &env.timings.health,
            &format!("GitRepository {source} on {name} Ready"),
            || {
                let kubectl = kubectl.clone();
                let source = source.clone();
                async move {
                    let object = kubectl
                        .get_flux_object(FluxKind::GitRepository, &source, NAMESPACE)
                        .await
                        .map_err(|e| {
                            tool_error(step, &format!("read GitRepository {source}"), &e)
                        })?;
                    Ok(match object {
                        Some(object) if object.is_ready() => Poll::Ready(()),
                        Some(object) => Poll::Pending(
                            object
                                .ready
                                .and_then(|c| c.message)
                                .filter(|m| !m.is_empty())
                                .unwrap_or_else(|| "not Ready yet".to_string()),
                        ),
                        None => Poll::Pending("not there yet".to_string()),
                    })
                }
            },
        )
        .await?;
        Ok(format!(
            "{name} follows {environment} at ./{}",
            cluster.cluster_type
        ))
    }

    /// A new read-only deploy key of the gitops repository and its Secret on `name`, each
    /// recorded before it is created.
    async fn add_credential(
        &self,
        kubectl: &KubectlContext,
        name: &str,
        environment: &str,
        title: &str,
    ) -> Result<(), UserError> {
        let Self {
            env,
            ctx,
            tools,
            slug,
            known_hosts,
            installation_id,
            ..
        } = *self;
        let step = ctx.step();
        ctx.progress(format!(
            "{name}: a read-only deploy key of {slug} for {environment}"
        ));
        let (identity, identity_pub) = generate_key_pair(step)?;
        let pending = Resource::DeployKey {
            repository: slug.to_string(),
            title: title.to_string(),
            key: identity_pub.clone(),
            id: None,
        };
        ctx.record(
            pending.clone(),
            Ownership::CreatedByUs,
            ResourceStatus::Creating,
        )?;
        let attempts = CreateAttempts::default();
        let added = call(
            env,
            ctx,
            &format!("add deploy key {title:?} to {slug}"),
            || async { attempts.note(tools.gh.deploy_key_add(slug, title, &identity_pub).await) },
        )
        .await;
        let added = match added {
            Ok(added) => added,
            Err(error) => {
                forget_refused_creation(ctx, &attempts, &pending)?;
                return Err(error);
            }
        };
        ctx.update_state(|s| {
            s.forget_creation(&pending, crate::state::Timestamp::now());
        })?;
        ctx.record(
            Resource::DeployKey {
                repository: slug.to_string(),
                title: title.to_string(),
                key: identity_pub.clone(),
                id: Some(added.id),
            },
            Ownership::CreatedByUs,
            ResourceStatus::Present,
        )?;

        let secret = object_resource(name, SECRET_RESOURCE, &credential_secret_name(environment));
        ctx.record(
            secret.clone(),
            Ownership::CreatedByUs,
            ResourceStatus::Creating,
        )?;
        let manifest = credential_secret_manifest(
            environment,
            &identity,
            &identity_pub,
            known_hosts,
            installation_id,
        );
        call(
            env,
            ctx,
            &format!(
                "apply Secret {} on {name}",
                credential_secret_name(environment)
            ),
            || kubectl.apply_secret_stdin(manifest.clone()),
        )
        .await?;
        ctx.record(secret, Ownership::CreatedByUs, ResourceStatus::Present)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rollback::removal_rank;

    fn cluster() -> WorkloadCluster {
        WorkloadCluster {
            context: WorkloadContext::Named("kind-workload".into()),
            cluster_type: "edge".into(),
            environment: "stage".into(),
        }
    }

    #[test]
    fn the_objects_are_named_per_environment_and_follow_its_branch_at_the_cluster_type() {
        assert_eq!(source_name("stage"), "kalypso-gitops-stage");
        assert_eq!(
            credential_secret_name("stage"),
            "kalypso-gitops-stage-deploy-key"
        );
        let source = git_repository_manifest(&cluster(), "ssh://git@github.com/a/b.git", "kb-1");
        assert_eq!(source["spec"]["ref"]["branch"], "stage");
        assert_eq!(
            source["spec"]["secretRef"]["name"],
            "kalypso-gitops-stage-deploy-key"
        );
        assert_eq!(source["metadata"]["labels"][INSTALLATION_LABEL], "kb-1");
        let kustomization = kustomization_manifest(&cluster(), "kb-1");
        assert_eq!(kustomization["spec"]["path"], "./edge");
        assert_eq!(kustomization["spec"]["prune"], true);
        assert_eq!(
            kustomization["spec"]["sourceRef"]["name"],
            "kalypso-gitops-stage"
        );
        assert_eq!(
            known_hosts("github.com", &["ssh-ed25519 AAAA".to_string()]),
            "github.com ssh-ed25519 AAAA\n"
        );
    }

    /// The Kustomization goes first (its prune removes what it applied), then the
    /// GitRepository, the Secret, the deploy key, and only then the Flux we installed.
    #[test]
    fn the_rollback_removes_the_kustomization_first_and_flux_last() {
        let object = |kind: &str| object_resource("kind-workload", kind, "kalypso-gitops-dev");
        let order = [
            removal_rank(&object(FLUX_KUSTOMIZATION_CRD)),
            removal_rank(&object(FLUX_GITREPOSITORY_CRD)),
            removal_rank(&object(SECRET_RESOURCE)),
            removal_rank(&Resource::DeployKey {
                repository: "a/b".into(),
                title: "t".into(),
                key: "k".into(),
                id: None,
            }),
            removal_rank(&resources::flux("kind-workload", None)),
        ];
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{order:?}");
    }

    /// The private key is OpenSSH ed25519 and masked from the moment it exists.
    #[test]
    fn a_generated_key_pair_is_ed25519_and_its_private_half_is_a_registered_secret() {
        let (private, public) = generate_key_pair(StepId::WorkloadSource).unwrap();
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        let private = private.expose_secret();
        assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let shown = format!("applying {private}");
        assert!(
            !crate::secrets::redact(&shown).contains(private),
            "the key is masked"
        );
    }
}
