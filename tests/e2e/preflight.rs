//! The AKS pre-flight on the simulated environment: a region without AKS, a VM size the
//! region does not offer (or restricts), an unavailable Kubernetes version and a vCPU
//! quota too small each stop the run before anything is created, with a message naming
//! the problem and a hint. And a resource group that exists already is used, recorded
//! as reused, and outlives a rollback.

use crate::support::e2e::*;
use crate::support::sim::assert_same_state;
use kalypso_bootstrap::config::{ClusterTarget, Configuration, NewCluster};
use kalypso_bootstrap::engine::{Action, Outcome, StepId};
use kalypso_bootstrap::state::{Ownership, Resource, ResourceStatus, RunStatus};
use kalypso_bootstrap::ExitCode;
use kalypso_bootstrap::UserError;

fn with_cluster(change: impl FnOnce(&mut NewCluster)) -> Configuration {
    let mut config = all_new();
    let ClusterTarget::Create(new) = &mut config.cluster else {
        unreachable!("all_new creates a cluster")
    };
    change(new);
    config
}

/// Run `config` and require the pre-flight to fail it with `exit`, having changed
/// nothing: the repository steps wait for the pre-flight, so none of them starts.
async fn preflight_fails(harness: &Harness, config: &Configuration, exit: ExitCode) -> UserError {
    let before = harness.settled();
    let run = harness.run(config).await;
    let (step, error) = run.failure();
    assert_eq!(step, Some(StepId::ClusterPreflight), "{}", error.message);
    assert_eq!(run.outcome.exit_code, exit, "{}", error.message);
    assert!(error.hint.is_some(), "a failure says what to do: {error:?}");
    let mutating: Vec<String> = harness
        .sim
        .calls()
        .iter()
        .filter(|c| is_mutating(c))
        .map(|c| c.command_line())
        .collect();
    assert!(mutating.is_empty(), "nothing is created: {mutating:#?}");
    assert_eq!(
        run.outcome
            .step(StepId::ClusterResourceGroup)
            .and_then(|s| s.outcome),
        None,
        "the resource group step never started"
    );
    for repo_step in [StepId::ControlPlaneRepo, StepId::GitopsRepo] {
        assert_eq!(
            run.outcome.step(repo_step).and_then(|s| s.outcome),
            None,
            "{repo_step} waits for the pre-flight"
        );
    }
    assert_same_state(&before, &harness.settled());
    error.clone()
}

fn hint(error: &UserError) -> &str {
    error.hint.as_deref().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_without_aks_is_a_configuration_error() {
    let harness = Harness::new();
    let config = with_cluster(|c| c.region = "francesouth".into());
    let error = preflight_fails(&harness, &config, ExitCode::ConfigInvalid).await;
    assert!(
        error
            .message
            .starts_with("region francesouth does not offer AKS"),
        "{}",
        error.message
    );
    assert!(
        hint(&error).contains("az account list-locations"),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_size_the_region_does_not_offer_is_a_configuration_error() {
    let harness = Harness::new();
    let config = with_cluster(|c| c.vm_size = "Standard_Imaginary_v9".into());
    let error = preflight_fails(&harness, &config, ExitCode::ConfigInvalid).await;
    assert!(
        error
            .message
            .contains("VM size Standard_Imaginary_v9 is not offered in region eastus"),
        "{}",
        error.message
    );
    assert!(hint(&error).contains("--cluster-vm-size"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_size_restricted_in_the_region_is_a_configuration_error() {
    let harness = Harness::new();
    harness.sim.restrict_vm_size(REGION, "Standard_DS2_v2");
    let error = preflight_fails(&harness, &all_new(), ExitCode::ConfigInvalid).await;
    assert!(
        error.message.contains(
            "VM size Standard_DS2_v2 is restricted for this subscription in region eastus (NotAvailableForSubscription)"
        ),
        "{}",
        error.message
    );
    assert!(
        hint(&error).contains("--cluster-vm-size") && hint(&error).contains("Azure support"),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubernetes_version_aks_does_not_offer_is_a_configuration_error() {
    let harness = Harness::new();
    let config = with_cluster(|c| c.kubernetes_version = Some("1.20".into()));
    let error = preflight_fails(&harness, &config, ExitCode::ConfigInvalid).await;
    assert!(
        error
            .message
            .contains("Kubernetes version 1.20 is not available for AKS in eastus"),
        "{}",
        error.message
    );
    // The versions the region does offer are listed.
    assert!(error.message.contains("1.35"), "{}", error.message);
    assert!(hint(&error).contains("--cluster-k8s-version"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vcpu_quota_too_small_names_what_is_needed_and_what_is_left() {
    let harness = Harness::new();
    // 3 nodes × 2 vCPUs of Standard_DS2_v2 need 6; 10 granted, 6 used elsewhere: 4 left.
    harness.sim.set_quota(REGION, "cores", 10, 6);
    let error = preflight_fails(&harness, &all_new(), ExitCode::ClusterFailed).await;
    assert!(
        error.message.contains("the vCPU quota is too small")
            && error
                .message
                .contains("3 nodes × 2 vCPUs of Standard_DS2_v2 need 6")
            && error.message.contains("has 4 left (limit 10, in use 6)"),
        "{}",
        error.message
    );
    assert!(hint(&error).contains("quota increase"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_resource_group_is_reused_and_outlives_the_rollback() {
    let harness = Harness::new();
    harness.sim.seed_resource_group(RESOURCE_GROUP, REGION);
    let before = harness.settled();
    let config = all_new();
    let run = harness.run(&config).await;
    run.assert_success();
    assert_eq!(
        run.plan.action(StepId::ClusterResourceGroup),
        Some(Action::Reuse)
    );
    assert_eq!(
        run.outcome
            .step(StepId::ClusterResourceGroup)
            .and_then(|s| s.outcome),
        Some(Outcome::Reused)
    );
    let group_creates: Vec<String> = harness
        .sim
        .calls()
        .iter()
        .filter(|c| c.program == "az" && c.words.starts_with(&["group".into(), "create".into()]))
        .map(|c| c.command_line())
        .collect();
    assert!(group_creates.is_empty(), "{group_creates:?}");
    let state = harness.state();
    let group = state
        .resources
        .iter()
        .find(|r| matches!(&r.resource, Resource::ResourceGroup { name, .. } if name == RESOURCE_GROUP))
        .expect("the resource group is recorded");
    assert_eq!(group.ownership, Ownership::Reused);
    assert_eq!(group.status, ResourceStatus::Present);

    let report = harness.rollback(&config).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);
    assert_eq!(harness.state().status, RunStatus::RolledBack);
    let after = harness.settled();
    assert!(after.azure.resource_groups.contains_key(RESOURCE_GROUP));
    assert!(
        harness.sim.calls().iter().all(
            |c| !(c.program == "az" && c.words.starts_with(&["group".into(), "delete".into()]))
        ),
        "the resource group is not ours to delete"
    );
    assert_same_state(&before, &after);
}
