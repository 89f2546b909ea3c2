//! Fixed knowledge the simulated tools answer from: what Azure offers (regions, Kubernetes
//! versions, VM sizes), what the Flux install manifest and the Kalypso chart contain, and
//! which chart versions a Helm repository publishes. Everything is configurable per
//! environment; these are the defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The API group of the Kalypso Scheduler's resources.
pub const KALYPSO_GROUP: &str = "scheduler.kalypso.io";
pub const KALYPSO_VERSION: &str = "v1alpha1";

/// The 12 Kalypso CRDs: (plural, kind). All namespaced, served and stored at `v1alpha1`.
pub const KALYPSO_CRDS: [(&str, &str); 12] = [
    ("assignmentpackages", "AssignmentPackage"),
    ("assignments", "Assignment"),
    ("baserepoes", "BaseRepo"),
    ("clustertypes", "ClusterType"),
    ("configschemas", "ConfigSchema"),
    ("deploymenttargets", "DeploymentTarget"),
    ("environments", "Environment"),
    ("gitopsrepoes", "GitOpsRepo"),
    ("schedulingpolicies", "SchedulingPolicy"),
    ("templates", "Template"),
    ("workloadregistrations", "WorkloadRegistration"),
    ("workloads", "Workload"),
];

/// The CRD names of the Kalypso chart (`workloads.scheduler.kalypso.io`, …).
pub fn kalypso_crd_names() -> Vec<String> {
    KALYPSO_CRDS
        .iter()
        .map(|(plural, _)| format!("{plural}.{KALYPSO_GROUP}"))
        .collect()
}

/// The Kalypso chart's release name and controller deployment suffix.
pub const KALYPSO_CHART: &str = "kalypso-scheduler";
pub const KALYPSO_REPO_URL: &str = "https://microsoft.github.io/kalypso-scheduler";
pub const KALYPSO_CONTROLLER_SUFFIX: &str = "controller-manager";

/// A Flux CRD: plural, group, kind, and its API versions with the storage one first.
pub struct FluxCrd {
    pub plural: &'static str,
    pub group: &'static str,
    pub kind: &'static str,
}

pub const FLUX_CRDS: [FluxCrd; 11] = [
    FluxCrd {
        plural: "alerts",
        group: "notification.toolkit.fluxcd.io",
        kind: "Alert",
    },
    FluxCrd {
        plural: "buckets",
        group: "source.toolkit.fluxcd.io",
        kind: "Bucket",
    },
    FluxCrd {
        plural: "externalartifacts",
        group: "source.toolkit.fluxcd.io",
        kind: "ExternalArtifact",
    },
    FluxCrd {
        plural: "gitrepositories",
        group: "source.toolkit.fluxcd.io",
        kind: "GitRepository",
    },
    FluxCrd {
        plural: "helmcharts",
        group: "source.toolkit.fluxcd.io",
        kind: "HelmChart",
    },
    FluxCrd {
        plural: "helmreleases",
        group: "helm.toolkit.fluxcd.io",
        kind: "HelmRelease",
    },
    FluxCrd {
        plural: "helmrepositories",
        group: "source.toolkit.fluxcd.io",
        kind: "HelmRepository",
    },
    FluxCrd {
        plural: "kustomizations",
        group: "kustomize.toolkit.fluxcd.io",
        kind: "Kustomization",
    },
    FluxCrd {
        plural: "ocirepositories",
        group: "source.toolkit.fluxcd.io",
        kind: "OCIRepository",
    },
    FluxCrd {
        plural: "providers",
        group: "notification.toolkit.fluxcd.io",
        kind: "Provider",
    },
    FluxCrd {
        plural: "receivers",
        group: "notification.toolkit.fluxcd.io",
        kind: "Receiver",
    },
];

/// A Flux release version (`2.7.5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FluxVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl FluxVersion {
    /// `v2.7.5` or `2.7.5`; only Flux 2 releases exist (2.0.0 to 2.8.x are simulated).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let mut parts = text.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        if parts.next().is_some() || major != 2 || minor > 8 || patch > 9 {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
        })
    }

    /// The API versions a Flux CRD serves in this release, storage version first.
    /// Flux 2.7 removed the `v1beta1` APIs and deprecated `v1beta2`; 2.8 removed `v1beta2`.
    pub fn served_versions(&self, crd: &FluxCrd) -> Vec<&'static str> {
        let before_2_7 = self.minor < 7;
        let before_2_8 = self.minor < 8;
        match (crd.group, crd.plural) {
            (_, "externalartifacts") if self.minor >= 7 => vec!["v1"],
            (_, "externalartifacts") => vec![],
            ("helm.toolkit.fluxcd.io", _) => {
                let mut versions = vec!["v2"];
                if before_2_8 {
                    versions.push("v2beta2");
                }
                if before_2_7 {
                    versions.push("v2beta1");
                }
                versions
            }
            ("notification.toolkit.fluxcd.io", "alerts" | "providers") => {
                let mut versions = vec!["v1beta3"];
                if before_2_8 {
                    versions.push("v1beta2");
                }
                if before_2_7 {
                    versions.push("v1beta1");
                }
                versions
            }
            (_, "ocirepositories") if self.minor < 6 => vec!["v1beta2"],
            (_, "buckets") if self.minor < 5 => vec!["v1beta2", "v1beta1"],
            _ => {
                let mut versions = vec!["v1"];
                if before_2_8 {
                    versions.push("v1beta2");
                }
                if before_2_7 {
                    versions.push("v1beta1");
                }
                versions
            }
        }
    }

    /// Controllers of the default install manifest.
    pub fn controllers(&self) -> [&'static str; 4] {
        [
            "helm-controller",
            "kustomize-controller",
            "notification-controller",
            "source-controller",
        ]
    }

    pub fn tag(&self) -> String {
        format!("v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The Flux version an install manifest URL names, when it is one of Flux's release assets
/// (`https://github.com/fluxcd/flux2/releases/download/vX.Y.Z/install.yaml`).
pub fn flux_manifest_version(url: &str) -> Option<FluxVersion> {
    let rest = url.strip_prefix("https://github.com/fluxcd/flux2/releases/download/")?;
    let (tag, file) = rest.split_once('/')?;
    if file != "install.yaml" {
        return None;
    }
    FluxVersion::parse(tag)
}

/// A VM size offered by Azure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuOffer {
    pub name: String,
    pub family: String,
    pub vcpus: u32,
    pub memory_gb: u32,
}

/// What the Azure side offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureCatalog {
    /// Regions where AKS is available.
    pub aks_regions: Vec<String>,
    /// AKS minor versions (`1.34`) to their patch versions, oldest first.
    pub kubernetes_versions: BTreeMap<String, Vec<String>>,
    /// The default minor version.
    pub default_kubernetes_version: String,
    pub vm_skus: Vec<SkuOffer>,
    /// `(location, size)` pairs restricted for the subscription.
    pub restricted_skus: Vec<(String, String)>,
    /// Quota granted in a region nobody configured: limit per family and for `cores`.
    pub default_family_limit: u64,
    pub default_regional_limit: u64,
}

impl Default for AzureCatalog {
    fn default() -> Self {
        let aks_regions = crate::config::regions::AZURE_REGIONS
            .iter()
            .filter(|region| !NO_AKS_REGIONS.contains(region))
            .map(|region| region.to_string())
            .collect();
        let kubernetes_versions = [
            ("1.34", &["1.34.4", "1.34.5"][..]),
            ("1.35", &["1.35.1", "1.35.2"][..]),
            ("1.36", &["1.36.0", "1.36.1"][..]),
        ]
        .into_iter()
        .map(|(minor, patches)| {
            (
                minor.to_string(),
                patches.iter().map(|p| p.to_string()).collect(),
            )
        })
        .collect();
        let sku = |name: &str, family: &str, vcpus: u32, memory_gb: u32| SkuOffer {
            name: name.to_string(),
            family: family.to_string(),
            vcpus,
            memory_gb,
        };
        Self {
            aks_regions,
            kubernetes_versions,
            default_kubernetes_version: "1.35".to_string(),
            vm_skus: vec![
                sku("Standard_B2s", "standardBSFamily", 2, 4),
                sku("Standard_B2ms", "standardBSFamily", 2, 8),
                sku("Standard_D2s_v3", "standardDSv3Family", 2, 8),
                sku("Standard_D4s_v3", "standardDSv3Family", 4, 16),
                sku("Standard_D2s_v5", "standardDSv5Family", 2, 8),
                sku("Standard_D4s_v5", "standardDSv5Family", 4, 16),
                sku("Standard_D8s_v5", "standardDSv5Family", 8, 32),
                sku("Standard_DS2_v2", "standardDSv2Family", 2, 7),
                sku("Standard_DS3_v2", "standardDSv2Family", 4, 14),
                sku("Standard_DS4_v2", "standardDSv2Family", 8, 28),
                sku("Standard_E4s_v5", "standardESv5Family", 4, 32),
                sku("Standard_F4s_v2", "standardFSv2Family", 4, 8),
            ],
            restricted_skus: Vec::new(),
            default_family_limit: 100,
            default_regional_limit: 100,
        }
    }
}

impl AzureCatalog {
    pub fn sku(&self, size: &str) -> Option<&SkuOffer> {
        self.vm_skus
            .iter()
            .find(|sku| sku.name.eq_ignore_ascii_case(size))
    }

    pub fn is_restricted(&self, location: &str, size: &str) -> bool {
        self.restricted_skus
            .iter()
            .any(|(l, s)| l.eq_ignore_ascii_case(location) && s.eq_ignore_ascii_case(size))
    }

    pub fn supports_aks(&self, location: &str) -> bool {
        self.aks_regions
            .iter()
            .any(|r| r.eq_ignore_ascii_case(location))
    }

    /// The patch version `requested` resolves to (`1.34` → newest `1.34.x`; `1.34.1` itself),
    /// or the default's newest patch when nothing was requested.
    pub fn resolve_kubernetes_version(&self, requested: Option<&str>) -> Option<String> {
        let requested = requested.unwrap_or(&self.default_kubernetes_version);
        if let Some(patches) = self.kubernetes_versions.get(requested) {
            return patches.last().cloned();
        }
        self.kubernetes_versions
            .values()
            .flatten()
            .find(|patch| patch.as_str() == requested)
            .cloned()
    }
}

/// Physical regions without AKS (access-restricted paired regions).
const NO_AKS_REGIONS: [&str; 6] = [
    "australiacentral2",
    "brazilsoutheast",
    "francesouth",
    "germanynorth",
    "norwaywest",
    "southafricawest",
];

/// One published chart version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartVersion {
    pub version: String,
    pub app_version: String,
    pub description: String,
}

/// Helm repositories by URL, their charts by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartCatalog {
    pub repos: BTreeMap<String, BTreeMap<String, Vec<ChartVersion>>>,
}

impl Default for ChartCatalog {
    fn default() -> Self {
        let versions = ["1.0.2-alpha", "1.1.0-alpha", "1.1.1-alpha", "1.1.2-alpha"]
            .into_iter()
            .map(|v| ChartVersion {
                version: v.to_string(),
                app_version: v.to_string(),
                description: "A Helm chart for Kubernetes".to_string(),
            })
            .collect();
        let mut charts = BTreeMap::new();
        charts.insert(KALYPSO_CHART.to_string(), versions);
        let mut repos = BTreeMap::new();
        repos.insert(KALYPSO_REPO_URL.to_string(), charts);
        Self { repos }
    }
}

impl ChartCatalog {
    /// A repository URL as helm compares them: without a trailing slash.
    pub fn normalise(url: &str) -> String {
        url.trim_end_matches('/').to_string()
    }

    pub fn chart(&self, repo: &str, chart: &str) -> Option<&Vec<ChartVersion>> {
        self.repos.get(&Self::normalise(repo))?.get(chart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kalypso_crd_names_match_the_shared_crd_files() {
        let names = kalypso_crd_names();
        assert_eq!(names.len(), 12);
        assert!(names.contains(&"workloads.scheduler.kalypso.io".to_string()));
        // The CRD files (vendored from upstream) are named GROUP_PLURAL.yaml; every one
        // must have its name here.
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kalypso-crds");
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("the vendored CRDs in {}: {err}", dir.display()));
        let mut from_files: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|f| {
                let stem = f.strip_suffix(".yaml")?;
                let (group, plural) = stem.split_once('_')?;
                Some(format!("{plural}.{group}"))
            })
            .collect();
        from_files.sort();
        let mut ours = names.clone();
        ours.sort();
        assert_eq!(ours, from_files);
    }

    #[test]
    fn the_engine_waits_for_the_charts_twelve_crds() {
        let mut simulated = kalypso_crd_names();
        simulated.sort();
        let engine: Vec<String> = crate::engine::steps::resources::KALYPSO_CRDS
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(engine, simulated);
    }

    #[test]
    fn flux_versions_serve_v1beta2_until_2_8() {
        let git = &FLUX_CRDS[3];
        assert_eq!(git.plural, "gitrepositories");
        let v275 = flux_manifest_version(
            "https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml",
        )
        .unwrap();
        assert_eq!(v275.served_versions(git), ["v1", "v1beta2"]);
        let v280 = FluxVersion::parse("v2.8.0").unwrap();
        assert_eq!(v280.served_versions(git), ["v1"]);
        let v260 = FluxVersion::parse("2.6.1").unwrap();
        assert_eq!(v260.served_versions(git), ["v1", "v1beta2", "v1beta1"]);
        assert!(FluxVersion::parse("v3.0.0").is_none());
        assert!(flux_manifest_version("https://example.com/install.yaml").is_none());
    }

    #[test]
    fn kubernetes_versions_resolve_minor_to_newest_patch() {
        let catalog = AzureCatalog::default();
        assert_eq!(
            catalog.resolve_kubernetes_version(Some("1.34")).as_deref(),
            Some("1.34.5")
        );
        assert_eq!(
            catalog
                .resolve_kubernetes_version(Some("1.34.4"))
                .as_deref(),
            Some("1.34.4")
        );
        assert_eq!(
            catalog.resolve_kubernetes_version(None).as_deref(),
            Some("1.35.2")
        );
        assert_eq!(catalog.resolve_kubernetes_version(Some("1.20")), None);
        assert!(catalog.supports_aks("eastus"));
        assert!(!catalog.supports_aks("francesouth"));
    }
}
