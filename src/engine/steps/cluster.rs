//! The cluster phase: AKS pre-flight, the resource group, the cluster (created with
//! `--no-wait` and polled), its credentials, and readiness; or, for an existing cluster,
//! its kube context answering with Ready nodes.
//!
//! Progress names the data model's transitions: Not Exists → Creating → Running →
//! Accessible → Ready.

use super::{
    call, forget_refused_creation, resources, tool_error, BootstrapSteps, CreateAttempts, Preview,
    StepCommands, StepEnv, Tools,
};
use crate::config::Configuration;
use crate::config::{ClusterTarget, NewCluster};
use crate::engine::context::{fact, StepContext};
use crate::engine::orchestrator::StepOutcome;
use crate::engine::plan::PlannedStep;
use crate::engine::plan::{resume_decision, Decisions, Observed, PlanConflict};
use crate::engine::retry::poll_step;
use crate::engine::step::{Action, StepId};
use crate::state::{Ownership, ResourceStatus};
use crate::text::format_duration;
use crate::text::plural;
use crate::tools::az::{
    exact_sku, find_usage, AksCluster, AksCreateParams, ProvisioningState, REGIONAL_VCPUS,
};
use crate::tools::kubectl::KubectlContext;
use crate::tools::retry::Poll;
use crate::tools::ErrorClass;
use crate::troubleshooting::Topic;
use crate::ExitCode;
use crate::UserError;

/// The cluster to create, or the error of a cluster step run for an existing cluster.
fn new_cluster<'a>(env: &'a StepEnv, ctx: &StepContext) -> Result<&'a NewCluster, UserError> {
    match &env.configuration.cluster {
        ClusterTarget::Create(new) => Ok(new),
        ClusterTarget::Existing(existing) => Err(UserError::in_step(
            ctx.step(),
            format!(
                "{} is for new clusters, but the configuration uses the existing context {}",
                ctx.step().title(),
                existing.context
            ),
        )),
    }
}

/// The `az aks create` of `new`, marked with `installation_id`: the run and the dry run
/// build it here.
fn aks_create_params(new: &NewCluster, installation_id: &str) -> AksCreateParams {
    AksCreateParams {
        resource_group: new.resource_group.clone(),
        name: new.name.clone(),
        location: new.region.clone(),
        node_count: new.node_count,
        node_vm_size: new.vm_size.clone(),
        kubernetes_version: new.kubernetes_version.clone(),
        network_plugin: new.network_plugin,
        installation_id: installation_id.to_string(),
    }
}

/// The cluster steps' actions: skipped for an existing kube context (whose readiness is
/// checked), created or reused by what the observation found. Pure, like [`crate::engine::plan::plan`].
pub(crate) fn plan(
    config: &Configuration,
    observed: &Observed,
    decisions: &mut Decisions,
    conflicts: &mut Vec<PlanConflict>,
) {
    use StepId::*;
    let new = match &config.cluster {
        ClusterTarget::Existing(existing) => {
            let given = format!("existing cluster: kube context {}", existing.context);
            for id in [
                ClusterPreflight,
                ClusterResourceGroup,
                ClusterCreate,
                ClusterCredentials,
            ] {
                decisions.insert(id, (Action::Skip, given.clone()));
            }
            decisions.insert(
                ClusterReady,
                (
                    Action::Reuse,
                    format!(
                        "check that kube context {} answers and its nodes are Ready",
                        existing.context
                    ),
                ),
            );
            return;
        }
        ClusterTarget::Create(new) => new,
    };
    let succeeded = |id| observed.succeeded_steps.contains(&id);
    let group_decision = match &observed.resource_group {
        None => (
            Action::Create,
            format!("resource group {} does not exist", new.resource_group),
        ),
        Some(group) if group.ours => (
            Action::Reuse,
            format!(
                "resource group {} was created by an earlier run",
                new.resource_group
            ),
        ),
        Some(_) => (
            Action::Reuse,
            format!("resource group {} exists", new.resource_group),
        ),
    };
    decisions.insert(ClusterResourceGroup, group_decision);

    match &observed.cluster {
        None => {
            decisions.insert(
                ClusterPreflight,
                (
                    Action::Create,
                    format!(
                        "check region {}, VM size {}, Kubernetes version and vCPU quota",
                        new.region, new.vm_size
                    ),
                ),
            );
            decisions.insert(
                ClusterCreate,
                (
                    Action::Create,
                    format!("cluster {} does not exist", new.name),
                ),
            );
            for id in [ClusterCredentials, ClusterReady] {
                decisions.insert(id, (Action::Create, format!("new cluster {}", new.name)));
            }
        }
        Some(cluster) if !cluster.ours => {
            conflicts.push(PlanConflict {
                step: ClusterCreate,
                message: format!(
                    "an AKS cluster named {} already exists in resource group {} and this tool did not create it",
                    new.name, new.resource_group
                ),
                hint: Topic::ClusterNotOurs.hint(format!(
                    "to install Kalypso on it, fetch its credentials (az aks get-credentials --resource-group {} --name {}) and pass the context with --cluster-existing <context>; or choose another --cluster-name",
                    new.resource_group, new.name
                )),
                exit_code: ExitCode::ConfigInvalid,
            });
            for id in [
                ClusterPreflight,
                ClusterCreate,
                ClusterCredentials,
                ClusterReady,
            ] {
                decisions.insert(
                    id,
                    (
                        Action::Create,
                        format!("blocked: cluster {} is not ours", new.name),
                    ),
                );
            }
        }
        Some(cluster) => {
            let state = cluster.provisioning_state.as_deref().unwrap_or("unknown");
            decisions.insert(
                ClusterPreflight,
                (
                    Action::Skip,
                    format!("cluster {} exists (created by an earlier run)", new.name),
                ),
            );
            let create = if state.eq_ignore_ascii_case("Succeeded") {
                (
                    Action::Reuse,
                    format!("cluster {} was created by an earlier run", new.name),
                )
            } else {
                (
                    Action::Create,
                    format!(
                        "finish creating cluster {} (provisioning state: {state})",
                        new.name
                    ),
                )
            };
            decisions.insert(ClusterCreate, create);
            for id in [ClusterCredentials, ClusterReady] {
                decisions.insert(id, resume_decision(succeeded(id), &new.name));
            }
        }
    }
}

/// What each cluster step runs, for the dry run: the same builders as the steps below, in
/// their order. A command a step repeats while it polls is listed once.
pub fn commands(env: &StepEnv, planned: &PlannedStep, preview: &Preview) -> StepCommands {
    let tools = env.tools();
    let context = env.kube_context();
    let kubectl = tools.kubectl.with_context(&context);
    let create = planned.action == Action::Create;
    let mut listed = StepCommands::default();
    let new = match &env.configuration.cluster {
        ClusterTarget::Create(new) => Some(new),
        ClusterTarget::Existing(_) => None,
    };
    match (planned.id, new) {
        (StepId::ClusterPreflight, Some(new)) => {
            listed.push(tools.az.aks_get_versions_spec(&new.region));
            listed.push(tools.az.vm_list_skus_spec(&new.region, &new.vm_size));
            listed.push(tools.az.vm_list_usage_spec(&new.region));
        }
        (StepId::ClusterResourceGroup, Some(new)) => {
            listed.push(tools.az.group_show_spec(&new.resource_group));
            if create {
                listed.push(tools.az.group_create_spec(
                    &new.resource_group,
                    &new.region,
                    preview.installation_id,
                ));
            }
        }
        (StepId::ClusterCreate, Some(new)) => {
            let show = tools.az.aks_show_spec(&new.resource_group, &new.name);
            listed.push(show.clone());
            if create {
                listed.push(
                    tools
                        .az
                        .aks_create_no_wait_spec(&aks_create_params(new, preview.installation_id)),
                );
                listed.push(show);
                listed.note("az aks show repeats until provisioningState is Succeeded");
            }
        }
        (StepId::ClusterCredentials, Some(new)) => {
            if create {
                listed.push(tools.az.aks_get_credentials_spec(
                    &new.resource_group,
                    &new.name,
                    &context,
                    &env.kubeconfig,
                ));
            }
            listed.push(kubectl.server_version_spec());
        }
        (StepId::ClusterReady, new) => {
            listed.push(kubectl.server_version_spec());
            listed.push(kubectl.get_nodes_spec());
            if new.is_some() {
                listed.push(kubectl.get_pods_spec("kube-system"));
            }
        }
        // A step for new clusters, planned for an existing one: it fails without running
        // anything.
        _ => {}
    }
    listed
}

fn record_cluster_summary(ctx: &StepContext, new: &NewCluster) -> Result<(), UserError> {
    ctx.update_state(|state| {
        state.cluster.name = Some(new.name.clone());
        state.cluster.resource_group = Some(new.resource_group.clone());
        state.cluster.region = Some(new.region.clone());
    })
}

/// Region offers AKS, the Kubernetes version is available, the VM size is offered, and
/// the vCPU quota covers nodes × vCPUs of the size. Read-only.
pub async fn preflight(
    steps: &BootstrapSteps,
    _planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let new = new_cluster(env, ctx)?;
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    record_cluster_summary(ctx, new)?;

    ctx.progress(format!("checking that region {} offers AKS", new.region));
    let versions = call(
        env,
        ctx,
        &format!("list the AKS versions of region {}", new.region),
        || tools.az.aks_get_versions(&new.region),
    )
    .await
    .map_err(|error| region_error(error, &new.region))?;
    if versions.values.is_empty() {
        return Err(UserError::in_step(
            step,
            format!(
                "region {} offers no Kubernetes versions for AKS",
                new.region
            ),
        )
        .with_hint(Topic::RegionUnavailable.hint("choose another --cluster-region"))
        .with_exit_code(ExitCode::ConfigInvalid));
    }
    let version = match &new.kubernetes_version {
        Some(wanted) if !versions.offers(wanted) => {
            let offered: Vec<&str> = versions.values.iter().map(|v| v.version.as_str()).collect();
            return Err(UserError::in_step(
                step,
                format!(
                    "Kubernetes version {wanted} is not available for AKS in {}: offered are {}",
                    new.region,
                    offered.join(", ")
                ),
            )
            .with_hint(Topic::KubernetesVersion.hint("choose one of the offered versions with --cluster-k8s-version, or leave it out for the region's default"))
            .with_exit_code(ExitCode::ConfigInvalid));
        }
        Some(wanted) => wanted.clone(),
        None => versions
            .default_version()
            .map(|v| format!("{v} (the region's default)"))
            .unwrap_or_else(|| "the region's default".to_string()),
    };

    ctx.progress(format!(
        "checking that VM size {} is offered in {}",
        new.vm_size, new.region
    ));
    let skus = call(
        env,
        ctx,
        &format!("list VM size {} in {}", new.vm_size, new.region),
        || tools.az.vm_list_skus(&new.region, &new.vm_size),
    )
    .await?;
    let Some(sku) = exact_sku(&skus, &new.vm_size) else {
        return Err(UserError::in_step(
            step,
            format!("VM size {} is not offered in region {}", new.vm_size, new.region),
        )
        .with_hint(Topic::VmSize.hint(format!(
            "choose a size the region offers (az vm list-skus --location {} --resource-type virtualMachines -o table) with --cluster-vm-size, or another --cluster-region",
            new.region
        )))
        .with_exit_code(ExitCode::ConfigInvalid));
    };
    if !sku.available_in(&new.region) {
        let reasons: Vec<String> = sku
            .restrictions
            .iter()
            .filter_map(|r| r.reason_code.clone())
            .collect();
        return Err(UserError::in_step(
            step,
            format!(
                "VM size {} is restricted for this subscription in region {}{}",
                new.vm_size,
                new.region,
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", reasons.join(", "))
                }
            ),
        )
        .with_hint(Topic::VmSize.hint(
            "choose another --cluster-vm-size or --cluster-region, or ask Azure support to lift the restriction",
        ))
        .with_exit_code(ExitCode::ConfigInvalid));
    }
    let Some(vcpus) = sku.vcpus() else {
        return Err(UserError::in_step(
            step,
            format!(
                "could not read the vCPU count of VM size {} from az vm list-skus",
                new.vm_size
            ),
        ));
    };
    let needed = u64::from(new.node_count) * u64::from(vcpus);

    ctx.progress(format!("checking the vCPU quota in {}", new.region));
    let usages = call(
        env,
        ctx,
        &format!("read the compute quotas of {}", new.region),
        || tools.az.vm_list_usage(&new.region),
    )
    .await?;
    let mut quotas = vec![(
        REGIONAL_VCPUS.to_string(),
        "Total Regional vCPUs".to_string(),
    )];
    if let Some(family) = &sku.family {
        quotas.push((family.clone(), format!("{family} vCPUs")));
    }
    for (name, label) in quotas {
        let Some(usage) = find_usage(&usages, &name) else {
            continue;
        };
        if usage.remaining() < needed {
            let label = usage.name.localized_value.clone().unwrap_or(label);
            return Err(UserError::in_step(
                step,
                format!(
                    "the vCPU quota is too small: {} × {} of {} need {needed}, but {label} in {} has {} left (limit {}, in use {})",
                    plural(new.node_count as usize, "node"),
                    plural(vcpus as usize, "vCPU"),
                    new.vm_size,
                    new.region,
                    usage.remaining(),
                    usage.limit,
                    usage.current_value
                ),
            )
            .with_hint(ErrorClass::QuotaExceeded.hint(crate::tools::ToolKind::Az)));
        }
    }
    Ok(StepOutcome::succeeded(format!(
        "region {} offers AKS with Kubernetes {version}; {} × {} ({}) fit the quota",
        new.region,
        new.node_count,
        new.vm_size,
        plural(needed as usize, "vCPU")
    )))
}

/// `az aks get-versions` fails for a region without AKS (or a misspelt one) with a
/// message of its own: say what it means. Sign-in, permission and network problems keep
/// their own hints.
fn region_error(error: UserError, region: &str) -> UserError {
    let generic = [ErrorClass::Other, ErrorClass::NotFound]
        .map(|class| class.hint(crate::tools::ToolKind::Az));
    if error.transient || !error.hint.as_ref().is_some_and(|h| generic.contains(h)) {
        return error;
    }
    let message = format!("region {region} does not offer AKS: {}", error.message);
    UserError {
        message,
        hint: Some(Topic::RegionUnavailable.hint(
            "choose a region where AKS is available (`az account list-locations -o table` lists them, `az aks get-versions --location REGION` checks one)",
        )),
        ..error
    }
    // The configuration names a region the cluster cannot live in: found before anything
    // is created, like an unknown Kubernetes version or VM size.
    .with_exit_code(ExitCode::ConfigInvalid)
}

/// The resource group: created only when missing, and then recorded as ours.
pub async fn resource_group(
    steps: &BootstrapSteps,
    _planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let new = new_cluster(env, ctx)?;
    let tools = Tools::for_step(env, ctx);
    record_cluster_summary(ctx, new)?;
    let resource = resources::resource_group(new, env.subscription.as_deref());
    let existing = call(
        env,
        ctx,
        &format!("look up resource group {}", new.resource_group),
        || tools.az.group_show(&new.resource_group),
    )
    .await?;
    if existing.is_some() {
        let ours = ctx.state().read(|s| s.is_ours(&resource));
        let ownership = if ours {
            Ownership::CreatedByUs
        } else {
            Ownership::Reused
        };
        ctx.record(resource, ownership, ResourceStatus::Present)?;
        let whose = if ours {
            " (created by an earlier run)"
        } else {
            ""
        };
        return Ok(StepOutcome::reused(format!(
            "resource group {} exists{whose}",
            new.resource_group
        )));
    }
    ctx.record(
        resource.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
    )?;
    ctx.transition("Creating");
    let installation_id = ctx.installation_id()?;
    let attempts = CreateAttempts::default();
    let created = call(
        env,
        ctx,
        &format!("create resource group {}", new.resource_group),
        || async {
            attempts.note(
                tools
                    .az
                    .group_create(&new.resource_group, &new.region, &installation_id)
                    .await,
            )
        },
    )
    .await;
    if let Err(error) = created {
        forget_refused_creation(ctx, &attempts, &resource)?;
        return Err(error);
    }
    ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
    Ok(StepOutcome::succeeded(format!(
        "resource group {} created in {}",
        new.resource_group, new.region
    )))
}

/// `az aks create --no-wait`, recorded before it starts, then polled until `Succeeded`.
pub async fn create(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let new = new_cluster(env, ctx)?;
    let tools = Tools::for_step(env, ctx);
    let step = ctx.step();
    let resource = resources::aks_cluster(new, env.subscription.as_deref());
    record_cluster_summary(ctx, new)?;

    let existing = call(
        env,
        ctx,
        &format!("look up AKS cluster {}", new.name),
        || tools.az.aks_show(&new.resource_group, &new.name),
    )
    .await?;
    let started_by_us = match existing {
        Some(cluster) => {
            if !ctx.state().read(|s| s.is_ours(&resource)) {
                return Err(UserError::in_step(
                    step,
                    format!(
                        "an AKS cluster named {} already exists in resource group {} and this tool did not create it",
                        new.name, new.resource_group
                    ),
                )
                .with_hint(Topic::ClusterNotOurs.hint(format!(
                    "to install Kalypso on it, fetch its credentials (az aks get-credentials --resource-group {} --name {}) and pass the context with --cluster-existing <context>; or choose another --cluster-name",
                    new.resource_group, new.name
                )))
                .with_exit_code(ExitCode::ConfigInvalid));
            }
            ctx.update_state(|s| s.cluster.created = true)?;
            match cluster.provisioning() {
                ProvisioningState::Succeeded => {
                    ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
                    ctx.transition("Running");
                    return Ok(StepOutcome::reused(format!(
                        "AKS cluster {} was created by an earlier run ({})",
                        new.name,
                        describe(&cluster)
                    )));
                }
                ProvisioningState::Failed | ProvisioningState::Canceled => {
                    return Err(UserError::in_step(
                        step,
                        format!(
                            "AKS cluster {} (created by an earlier run) is in provisioning state {}",
                            new.name,
                            cluster.provisioning_state.as_deref().unwrap_or("unknown")
                        ),
                    )
                    .with_hint(Topic::ClusterProvisioning.hint("remove it with --clean (or az aks delete), then run again")));
                }
                ProvisioningState::Deleting => {
                    return Err(UserError::in_step(
                        step,
                        format!("AKS cluster {} is being deleted", new.name),
                    )
                    .with_hint(
                        Topic::ClusterProvisioning
                            .hint("wait until the deletion has finished, then run again"),
                    ));
                }
                ProvisioningState::InProgress(state) => {
                    ctx.transition_with(
                        "Creating",
                        format!(
                            "AKS cluster {}: {state} (started by an earlier run)",
                            new.name
                        ),
                    );
                    false
                }
                ProvisioningState::Unknown => false,
            }
        }
        None => {
            ctx.record(
                resource.clone(),
                Ownership::CreatedByUs,
                ResourceStatus::Creating,
            )?;
            ctx.transition_with(
                "Not Exists",
                format!(
                    "AKS cluster {} does not exist in resource group {}",
                    new.name, new.resource_group
                ),
            );
            ctx.update_state(|s| s.cluster.created = true)?;
            ctx.transition("Creating");
            let params = aks_create_params(new, &ctx.installation_id()?);
            let mut attempt = 0;
            let taken = std::sync::atomic::AtomicBool::new(false);
            let attempts = CreateAttempts::default();
            let started = call(
                env,
                ctx,
                &format!("start creating AKS cluster {}", new.name),
                || {
                    attempt += 1;
                    let first = attempt == 1;
                    let (az, params, taken, attempts) = (&tools.az, &params, &taken, &attempts);
                    async move {
                        match attempts.note(az.aks_create_no_wait(params).await) {
                            // An earlier attempt that timed out on our side did start it.
                            Err(e) if !first && e.class() == ErrorClass::AlreadyExists => Ok(()),
                            Err(e) if e.class() == ErrorClass::AlreadyExists => {
                                taken.store(true, std::sync::atomic::Ordering::SeqCst);
                                Err(e)
                            }
                            other => other,
                        }
                    }
                },
            )
            .await;
            if let Err(error) = started {
                if taken.load(std::sync::atomic::Ordering::SeqCst) {
                    // Someone else made it after we looked: not ours, never to be removed.
                    ctx.update_state(|s| {
                        s.forget_creation(&resource, crate::state::Timestamp::now());
                        s.cluster.created = false;
                    })?;
                    return Err(UserError {
                        message: format!(
                            "{}; the AKS cluster was created by someone else after this run looked for it, so this tool did not create it",
                            error.message
                        ),
                        hint: Some(Topic::ClusterNotOurs.hint(format!(
                            "the cluster already exists and is not ours: to install Kalypso on it, fetch its credentials (az aks get-credentials --resource-group {} --name {}) and pass the context with --cluster-existing <context>; or choose another --cluster-name",
                            new.resource_group, new.name
                        ))),
                        ..error
                    }
                    .with_exit_code(ExitCode::ConfigInvalid));
                }
                // Refused outright (e.g. over the vCPU quota): no cluster was created, so
                // none is recorded, and the rollback does not offer to delete one.
                if attempts.all_refused() {
                    ctx.update_state(|s| {
                        s.forget_creation(&resource, crate::state::Timestamp::now());
                        s.cluster.created = false;
                    })?;
                }
                return Err(error);
            }
            true
        }
    };

    let az = tools.az.clone();
    let (group, name) = (new.resource_group.clone(), new.name.clone());
    let cluster = poll_step(ctx, &env.timings.aks_provisioning, &format!("AKS cluster {}", new.name), || {
        let az = az.clone();
        let (group, name) = (group.clone(), name.clone());
        async move {
            let cluster = az
                .aks_show(&group, &name)
                .await
                .map_err(|e| tool_error(step, &format!("check AKS cluster {name}"), &e))?;
            let Some(cluster) = cluster else {
                return Ok(Poll::Pending("not visible yet".to_string()));
            };
            match cluster.provisioning() {
                ProvisioningState::Succeeded => Ok(Poll::Ready(cluster)),
                ProvisioningState::InProgress(state) => {
                    Ok(Poll::Pending(format!("provisioningState {state}")))
                }
                ProvisioningState::Unknown => Ok(Poll::Pending("provisioningState unknown".to_string())),
                other => Err(UserError::in_step(
                    step,
                    format!(
                        "AKS cluster {name} provisioning ended in state {}",
                        match other {
                            ProvisioningState::Failed => "Failed",
                            ProvisioningState::Canceled => "Canceled",
                            _ => "Deleting",
                        }
                    ),
                )
                .with_hint(Topic::ClusterProvisioning.hint("see the cluster's activity log in the Azure portal; remove it with --clean, then run again"))),
            }
        }
    })
    .await?;
    ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
    ctx.transition_with(
        "Running",
        format!(
            "AKS cluster {}: Running ({} elapsed)",
            new.name,
            format_duration(ctx.elapsed())
        ),
    );
    let message = format!(
        "AKS cluster {} provisioned ({})",
        new.name,
        describe(&cluster)
    );
    Ok(if started_by_us || planned.action == Action::Create {
        StepOutcome::succeeded(message)
    } else {
        StepOutcome::reused(message)
    })
}

fn describe(cluster: &AksCluster) -> String {
    let version = cluster
        .current_kubernetes_version
        .as_deref()
        .or(cluster.kubernetes_version.as_deref())
        .unwrap_or("unknown version");
    format!("Kubernetes {version} in {}", cluster.location)
}

/// `az aks get-credentials` into the kubeconfig, under the cluster's name as context.
pub async fn credentials(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let new = new_cluster(env, ctx)?;
    let tools = Tools::for_step(env, ctx);
    let context = env.kube_context();
    let resource = resources::kube_context(&context, Some(&env.kubeconfig));
    ctx.facts().set(fact::KUBE_CONTEXT, context.clone());
    ctx.facts().set(fact::KUBECONFIG, env.kubeconfig.clone());
    let kubectl = tools.kubectl.with_context(&context);

    if planned.action == Action::Reuse && kubectl.server_version().await.is_ok() {
        ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
        ctx.update_state(|s| s.cluster.kube_context = Some(context.clone()))?;
        ctx.transition("Accessible");
        return Ok(StepOutcome::reused(format!(
            "kube context {context} answers (fetched by an earlier run)"
        )));
    }

    if let Some(dir) = env.kubeconfig.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            UserError::in_step(
                ctx.step(),
                format!(
                    "cannot create the kubeconfig directory {}: {e}",
                    dir.display()
                ),
            )
        })?;
    }
    ctx.state()
        .read(|state| check_context_free(env, state, ctx.step()))?;
    ctx.record(
        resource.clone(),
        Ownership::CreatedByUs,
        ResourceStatus::Creating,
    )?;
    call(
        env,
        ctx,
        &format!("fetch the credentials of AKS cluster {}", new.name),
        || {
            tools
                .az
                .aks_get_credentials(&new.resource_group, &new.name, &context, &env.kubeconfig)
        },
    )
    .await?;
    ctx.record(resource, Ownership::CreatedByUs, ResourceStatus::Present)?;
    ctx.update_state(|s| s.cluster.kube_context = Some(context.clone()))?;
    wait_for_api(env, ctx, &kubectl).await?;
    ctx.transition("Accessible");
    Ok(StepOutcome::succeeded(format!(
        "kube context {context} written to {}",
        env.kubeconfig.display()
    )))
}

/// A new cluster's credentials must never replace a context the user already has (and a
/// rollback would then delete it): when `env.kubeconfig` holds a context named like the
/// new cluster's and the state does not record it as written by this tool, stop with the
/// configuration exit code. Checked before anything is created (the observation) and
/// again right before `az aks get-credentials`.
pub fn check_context_free(
    env: &StepEnv,
    state: &crate::state::BootstrapState,
    step: StepId,
) -> Result<(), UserError> {
    let context = env.kube_context();
    let contexts = crate::config::kubeconfig::read_contexts(std::slice::from_ref(&env.kubeconfig))
        .map_err(|e| UserError::in_step(step, e.to_string()))?;
    let ours = state.is_ours(&resources::kube_context(&context, Some(&env.kubeconfig)));
    if !contexts.contains(&context) || ours {
        return Ok(());
    }
    Err(UserError::in_step(
        step,
        format!(
            "the kubeconfig {} already has a context named {context}, and this tool did not write it: the new cluster's credentials would replace it",
            env.kubeconfig.display()
        ),
    )
    .with_hint(Topic::KubeContextTaken.hint(format!(
        "choose another --cluster-name, or rename your context first (kubectl config rename-context {context} {context}-old)"
    )))
    .with_exit_code(ExitCode::ConfigInvalid))
}

/// Poll until the API server behind `kubectl`'s context answers.
async fn wait_for_api(
    env: &StepEnv,
    ctx: &StepContext,
    kubectl: &KubectlContext,
) -> Result<(), UserError> {
    let step = ctx.step();
    let context = kubectl.context().to_string();
    poll_step(
        ctx,
        &env.timings.cluster_ready,
        &format!("API server of context {context}"),
        || {
            let kubectl = kubectl.clone();
            let context = context.clone();
            async move {
                // A transient error is "not answering yet": the poll checks again, and
                // should the wait end on it, its hint says what to do.
                match kubectl.server_version().await {
                    Ok(_) => Ok(Poll::Ready(())),
                    Err(e) => Err(context_error(step, &context, &e)),
                }
            }
        },
    )
    .await
}

fn context_error(step: StepId, context: &str, error: &crate::tools::ToolError) -> UserError {
    let text = error.to_string();
    if text.contains("does not exist") || text.contains("no context exists") {
        return UserError::in_step(step, format!("kube context {context} is not in the kubeconfig: {text}"))
            .with_hint(Topic::KubeContextMissing.hint("list the contexts with `kubectl config get-contexts` and pass an existing one with --cluster-existing"));
    }
    tool_error(
        step,
        &format!("reach the API server of kube context {context}"),
        error,
    )
}

/// New cluster: nodes Ready and kube-system pods running. Existing cluster: the context
/// exists, its API server answers, and its nodes are Ready.
pub async fn ready(
    steps: &BootstrapSteps,
    planned: &PlannedStep,
    ctx: &StepContext,
) -> Result<StepOutcome, UserError> {
    let env = steps.env();
    let tools = Tools::for_step(env, ctx);
    let context = env.kube_context();
    let step = ctx.step();
    ctx.facts().set(fact::KUBE_CONTEXT, context.clone());
    let kubectl = tools.kubectl.with_context(&context);
    let new_cluster = matches!(env.configuration.cluster, ClusterTarget::Create(_));
    if let ClusterTarget::Existing(existing) = &env.configuration.cluster {
        ctx.progress(format!("checking that kube context {context} answers"));
        let version = kubectl
            .server_version()
            .await
            .map_err(|e| context_error(step, &context, &e))?;
        ctx.record(
            resources::kube_context(&context, None),
            Ownership::Reused,
            ResourceStatus::Present,
        )?;
        ctx.update_state(|s| {
            s.cluster.created = false;
            s.cluster.name = existing.name.clone();
            s.cluster.kube_context = Some(context.clone());
        })?;
        ctx.transition_with(
            "Accessible",
            format!("kube context {context}: API server {version} answers"),
        );
    } else {
        ctx.facts().set(fact::KUBECONFIG, env.kubeconfig.clone());
        wait_for_api(env, ctx, &kubectl).await?;
    }

    let summary = poll_step(ctx, &env.timings.cluster_ready, "cluster readiness", || {
        let kubectl = kubectl.clone();
        async move {
            let nodes = kubectl
                .get_nodes()
                .await
                .map_err(|e| tool_error(step, "list the nodes", &e))?;
            let ready = nodes.iter().filter(|n| n.ready).count();
            if nodes.is_empty() || ready < nodes.len() {
                let waiting: Vec<String> = nodes
                    .iter()
                    .filter(|n| !n.ready)
                    .map(|n| {
                        format!(
                            "{} ({})",
                            n.name,
                            n.reason.as_deref().unwrap_or("not Ready")
                        )
                    })
                    .collect();
                return Ok(Poll::Pending(format!(
                    "{ready}/{} nodes Ready{}",
                    nodes.len(),
                    if waiting.is_empty() {
                        String::new()
                    } else {
                        format!("; waiting for {}", waiting.join(", "))
                    }
                )));
            }
            if !new_cluster {
                return Ok(Poll::Ready(format!("{} Ready", plural(ready, "node"))));
            }
            let pods = kubectl
                .get_pods("kube-system")
                .await
                .map_err(|e| tool_error(step, "list the kube-system pods", &e))?;
            let not_running: Vec<String> = pods
                .iter()
                .filter(|p| !(p.is_running() || p.phase == "Succeeded"))
                .map(|p| {
                    format!(
                        "{} ({})",
                        p.name,
                        p.waiting_reason.as_deref().unwrap_or(&p.phase)
                    )
                })
                .collect();
            if pods.is_empty() || !not_running.is_empty() {
                return Ok(Poll::Pending(format!(
                    "{} Ready; kube-system pods not running yet: {}",
                    plural(ready, "node"),
                    if pods.is_empty() {
                        "none listed".to_string()
                    } else {
                        not_running.join(", ")
                    }
                )));
            }
            Ok(Poll::Ready(format!(
                "{} Ready, {} running",
                plural(ready, "node"),
                plural(pods.len(), "kube-system pod")
            )))
        }
    })
    .await?;
    ctx.transition_with("Ready", format!("cluster ready: {summary}"));
    let message = format!("kube context {context}: {summary}");
    Ok(match planned.action {
        Action::Reuse => StepOutcome::reused(message),
        _ => StepOutcome::succeeded(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolKind;

    #[test]
    fn a_region_failure_is_explained_but_sign_in_problems_keep_their_hint() {
        let unknown = UserError::in_step(StepId::ClusterPreflight, "list the AKS versions of region mars: `az aks get-versions` failed (exit code 1): (NoRegisteredProviderFound) No registered resource provider found for location 'mars'")
            .with_hint(ErrorClass::Other.hint(ToolKind::Az));
        let explained = region_error(unknown, "mars");
        assert!(
            explained
                .message
                .starts_with("region mars does not offer AKS: "),
            "{}",
            explained.message
        );
        assert_eq!(explained.exit_code, ExitCode::ConfigInvalid);
        assert!(explained
            .hint
            .unwrap()
            .contains("az account list-locations"));

        let signed_out = UserError::in_step(
            StepId::ClusterPreflight,
            "list the AKS versions: not signed in",
        )
        .with_hint(ErrorClass::NotAuthenticated.hint(ToolKind::Az));
        let kept = region_error(signed_out.clone(), "eastus");
        assert_eq!(kept, signed_out);
    }
}
