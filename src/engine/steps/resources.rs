//! The names of everything a run creates or reuses, and the [`Resource`] records the
//! state keeps for them. Steps, observation and rollback build them here, so the same
//! thing is always recorded the same way (ownership is looked up by equality).

use std::path::Path;

use crate::config::{ClusterTarget, Configuration, GitHubHost, NewCluster, RepoTarget};
use crate::state::Resource;
use crate::tools::helm::RELEASE_NAME;

/// The namespace of the Flux objects the Kalypso chart creates (its GitRepository and
/// Kustomization `control-plane`).
pub const FLUX_NAMESPACE: &str = crate::tools::kubectl::FLUX_NAMESPACE;
/// The name of the chart's GitRepository and Kustomization.
pub const CONTROL_PLANE_SOURCE: &str = "control-plane";
/// The controller deployment of the Kalypso chart.
pub const CONTROLLER_DEPLOYMENT: &str = "kalypso-scheduler-controller-manager";
/// The branch Flux follows in the control-plane repository.
pub const CONTROL_PLANE_BRANCH: &str = "main";

/// The API group of the Kalypso CRDs.
pub const KALYPSO_GROUP: &str = "scheduler.kalypso.io";
/// The 12 CRDs the Kalypso chart installs (Helm leaves them behind on uninstall).
pub const KALYPSO_CRDS: [&str; 12] = [
    "assignmentpackages.scheduler.kalypso.io",
    "assignments.scheduler.kalypso.io",
    "baserepoes.scheduler.kalypso.io",
    "clustertypes.scheduler.kalypso.io",
    "configschemas.scheduler.kalypso.io",
    "deploymenttargets.scheduler.kalypso.io",
    "environments.scheduler.kalypso.io",
    "gitopsrepoes.scheduler.kalypso.io",
    "schedulingpolicies.scheduler.kalypso.io",
    "templates.scheduler.kalypso.io",
    "workloadregistrations.scheduler.kalypso.io",
    "workloads.scheduler.kalypso.io",
];

/// The kube context of the configured cluster: the given one, or for a new cluster its
/// name (what `az aks get-credentials --context` is told to write).
pub fn kube_context_name(configuration: &Configuration) -> String {
    match &configuration.cluster {
        ClusterTarget::Existing(existing) => existing.context.clone(),
        ClusterTarget::Create(new) => new.name.clone(),
    }
}

pub fn resource_group(new: &NewCluster, subscription: Option<&str>) -> Resource {
    Resource::ResourceGroup {
        name: new.resource_group.clone(),
        subscription_id: subscription.map(str::to_string),
    }
}

pub fn aks_cluster(new: &NewCluster, subscription: Option<&str>) -> Resource {
    Resource::AksCluster {
        name: new.name.clone(),
        resource_group: new.resource_group.clone(),
        subscription_id: subscription.map(str::to_string),
    }
}

pub fn kube_context(name: &str, kubeconfig: Option<&Path>) -> Resource {
    Resource::KubeContext {
        name: name.to_string(),
        kubeconfig: kubeconfig.map(|p| p.display().to_string()),
    }
}

pub fn repository(host: &GitHubHost, owner: &str, name: &str) -> Resource {
    Resource::Repository {
        owner: owner.to_string(),
        name: name.to_string(),
        url: repo_url(host, owner, name),
    }
}

/// `https://HOST/OWNER/NAME`.
pub fn repo_url(host: &GitHubHost, owner: &str, name: &str) -> String {
    host.repo_url(owner, name)
}

pub fn flux(kube_context: &str, version: Option<&str>) -> Resource {
    Resource::Flux {
        kube_context: kube_context.to_string(),
        version: version.map(str::to_string),
        manifest: None,
    }
}

/// Flux installed from `manifest` (`--flux-manifest`) rather than the release asset.
pub fn flux_from_manifest(kube_context: &str, version: &str, manifest: String) -> Resource {
    Resource::Flux {
        kube_context: kube_context.to_string(),
        version: Some(version.to_string()),
        manifest: Some(manifest),
    }
}

pub fn namespace(kube_context: &str, name: &str) -> Resource {
    Resource::Namespace {
        kube_context: kube_context.to_string(),
        name: name.to_string(),
    }
}

pub fn helm_release(kube_context: &str, namespace: &str) -> Resource {
    Resource::HelmRelease {
        kube_context: kube_context.to_string(),
        namespace: namespace.to_string(),
        name: RELEASE_NAME.to_string(),
    }
}

pub fn kalypso_crds(kube_context: &str, names: Vec<String>) -> Resource {
    Resource::KalypsoCrds {
        kube_context: kube_context.to_string(),
        names,
    }
}

/// The repository a new-or-existing target names, given the owner of new ones.
pub fn repo_slug(target: &RepoTarget, owner: &str) -> (String, String) {
    match target {
        RepoTarget::Existing(existing) => {
            (existing.owner().to_string(), existing.name().to_string())
        }
        RepoTarget::Create { name } => (owner.to_string(), name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kalypso_crds_are_all_of_the_kalypso_group() {
        // That they are the chart's twelve is checked against the simulator's catalogue
        // there: the engine compiles without the simulator.
        assert!(KALYPSO_CRDS
            .iter()
            .all(|name| name.ends_with(KALYPSO_GROUP)));
    }

    #[test]
    fn resources_are_recorded_the_same_way_every_time() {
        assert_eq!(
            repository(&GitHubHost::default(), "acme", "cp"),
            Resource::Repository {
                owner: "acme".into(),
                name: "cp".into(),
                url: "https://github.com/acme/cp".into(),
            }
        );
        assert_eq!(
            kube_context("demo", Some(Path::new("/home/u/.kube/config"))),
            Resource::KubeContext {
                name: "demo".into(),
                kubeconfig: Some("/home/u/.kube/config".into()),
            }
        );
        assert_eq!(
            helm_release("demo", "ns").describe(),
            "helm_release kalypso-scheduler in namespace ns, context demo"
        );
    }
}
