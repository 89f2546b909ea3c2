//! Which installation a state file belongs to: the identity it records against the one a
//! run names, compared field by field, and the refusal shown when they differ. A state
//! file belongs to exactly one installation and one world (real or `--demo`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::error::StateError;
use super::schema::{
    BootstrapState, ClusterIdentity, InstallationIdentity, InstallationWorld, RepositoryIdentity,
    RunStatus,
};

/// Every installation id starts with this.
pub const INSTALLATION_ID_PREFIX: &str = "kb-";

/// A new installation id: `kb-` and 12 hex digits from the operating system's random
/// source (48 bits: two installations of one user never meet the same id).
pub fn new_installation_id() -> Result<String, StateError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|err| StateError::Randomness {
        detail: err.to_string(),
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{INSTALLATION_ID_PREFIX}{hex}"))
}

/// A part of the identity, as the conflict table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityPart {
    World,
    Subscription,
    Cluster,
    ControlPlane,
    Gitops,
    Namespace,
    Environments,
}

impl IdentityPart {
    pub const ALL: [IdentityPart; 7] = [
        IdentityPart::World,
        IdentityPart::Subscription,
        IdentityPart::Cluster,
        IdentityPart::ControlPlane,
        IdentityPart::Gitops,
        IdentityPart::Namespace,
        IdentityPart::Environments,
    ];

    pub fn label(self) -> &'static str {
        match self {
            IdentityPart::World => "world",
            IdentityPart::Subscription => "subscription",
            IdentityPart::Cluster => "cluster",
            IdentityPart::ControlPlane => "control plane",
            IdentityPart::Gitops => "gitops",
            IdentityPart::Namespace => "namespace",
            IdentityPart::Environments => "environments",
        }
    }
}

/// Azure names (subscription ids, resource groups) and GitHub owners and repository names
/// are case-insensitive; kube contexts and namespaces are not.
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn same_cluster(a: &ClusterIdentity, b: &ClusterIdentity) -> bool {
    match (a, b) {
        (
            ClusterIdentity::Aks {
                resource_group: group_a,
                name: name_a,
            },
            ClusterIdentity::Aks {
                resource_group: group_b,
                name: name_b,
            },
        ) => same_ignoring_case(group_a, group_b) && same_ignoring_case(name_a, name_b),
        (ClusterIdentity::KubeContext(a), ClusterIdentity::KubeContext(b)) => a == b,
        _ => false,
    }
}

/// The same repository as far as both sides know: the names match, and the owners match
/// when both are known.
fn same_repository(a: &RepositoryIdentity, b: &RepositoryIdentity) -> bool {
    let owners_agree = match (&a.owner, &b.owner) {
        (Some(a), Some(b)) => same_ignoring_case(a, b),
        _ => true,
    };
    owners_agree && same_ignoring_case(&a.name, &b.name)
}

impl InstallationIdentity {
    /// The parts in which `self` and `other` name different things. A part one side does
    /// not know (a subscription, a repository's owner) is not compared; the id is not part
    /// of the comparison.
    pub fn differences(&self, other: &InstallationIdentity) -> Vec<IdentityPart> {
        IdentityPart::ALL
            .into_iter()
            .filter(|part| !self.agrees_on(other, *part))
            .collect()
    }

    fn agrees_on(&self, other: &InstallationIdentity, part: IdentityPart) -> bool {
        match part {
            IdentityPart::World => self.world == other.world,
            IdentityPart::Subscription => match (&self.subscription, &other.subscription) {
                (Some(a), Some(b)) => same_ignoring_case(a, b),
                _ => true,
            },
            IdentityPart::Cluster => same_cluster(&self.cluster, &other.cluster),
            IdentityPart::ControlPlane => {
                self.same_github_host(other)
                    && same_repository(
                        &self.repositories.control_plane,
                        &other.repositories.control_plane,
                    )
            }
            IdentityPart::Gitops => {
                self.same_github_host(other)
                    && same_repository(&self.repositories.gitops, &other.repositories.gitops)
            }
            IdentityPart::Namespace => self.namespace == other.namespace,
            // Each environment has its branches and its place in the promotion chain:
            // another list is another installation.
            IdentityPart::Environments => self.environments == other.environments,
        }
    }

    /// Both repositories of one installation are on one GitHub host: another host names
    /// other repositories, whatever their owners and names.
    fn same_github_host(&self, other: &InstallationIdentity) -> bool {
        same_ignoring_case(
            &self.repositories.github_host,
            &other.repositories.github_host,
        )
    }

    /// Fill in what this identity does not know yet and `other` (naming the same
    /// installation) does: the subscription, the repositories' owners. True when
    /// something was filled in.
    pub fn learn_from(&mut self, other: &InstallationIdentity) -> bool {
        let mut learnt = false;
        if self.subscription.is_none()
            && other.subscription.is_some()
            && matches!(self.cluster, ClusterIdentity::Aks { .. })
        {
            self.subscription = other.subscription.clone();
            learnt = true;
        }
        for (mine, theirs) in [
            (
                &mut self.repositories.control_plane,
                &other.repositories.control_plane,
            ),
            (&mut self.repositories.gitops, &other.repositories.gitops),
        ] {
            if mine.owner.is_none() && theirs.owner.is_some() {
                mine.owner = theirs.owner.clone();
                learnt = true;
            }
        }
        learnt
    }

    /// This identity with a new installation id: the identity of a new state.
    pub fn adopted(mut self) -> Result<InstallationIdentity, StateError> {
        self.id = new_installation_id()?;
        Ok(self)
    }

    /// One part as the user reads it.
    pub fn describe(&self, part: IdentityPart) -> String {
        match part {
            IdentityPart::World => match self.world {
                InstallationWorld::Real => "real".to_string(),
                InstallationWorld::Demo => "demo (simulated)".to_string(),
            },
            IdentityPart::Subscription => match (&self.subscription, &self.cluster) {
                (Some(id), _) => id.clone(),
                (None, ClusterIdentity::KubeContext(_)) => "(none: a kube context)".to_string(),
                (None, ClusterIdentity::Aks { .. }) => "(not known)".to_string(),
            },
            IdentityPart::Cluster => self.describe_cluster(),
            IdentityPart::ControlPlane => describe_repository(
                &self.repositories.control_plane,
                &self.repositories.github_host,
            ),
            IdentityPart::Gitops => {
                describe_repository(&self.repositories.gitops, &self.repositories.github_host)
            }
            IdentityPart::Namespace => self.namespace.clone(),
            IdentityPart::Environments => self.environments.join(","),
        }
    }

    /// `AKS alpha (resource group alpha-rg)` or `kube context kind-dev`.
    pub fn describe_cluster(&self) -> String {
        match &self.cluster {
            ClusterIdentity::Aks {
                resource_group,
                name,
            } => format!("AKS {name} (resource group {resource_group})"),
            ClusterIdentity::KubeContext(context) => format!("kube context {context}"),
        }
    }

    /// A name for a file of this installation: the cluster's name or the kube context,
    /// reduced to characters safe in a file name.
    fn file_label(&self) -> String {
        let raw = match &self.cluster {
            ClusterIdentity::Aks { name, .. } => name.as_str(),
            ClusterIdentity::KubeContext(context) => context.as_str(),
        };
        let label: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let label = label.trim_matches(|c| c == '-' || c == '.').to_string();
        if label.is_empty() {
            "other".to_string()
        } else {
            label
        }
    }
}

/// `OWNER/NAME`, with ` on HOST` for a GitHub Enterprise Server.
fn describe_repository(repo: &RepositoryIdentity, host: &str) -> String {
    let named = match &repo.owner {
        Some(owner) => format!("{owner}/{}", repo.name),
        None => format!("{} (owner not known yet)", repo.name),
    };
    if host.eq_ignore_ascii_case(crate::config::github_host::DEFAULT_HOST) {
        named
    } else {
        format!("{named} on {host}")
    }
}

/// The recorded and the requested identity side by side, each differing part marked.
pub fn side_by_side(recorded: &InstallationIdentity, requested: &InstallationIdentity) -> String {
    let differing = recorded.differences(requested);
    let left_title = format!("this state file ({})", recorded.id);
    let rows: Vec<(IdentityPart, String, String)> = IdentityPart::ALL
        .into_iter()
        .map(|part| (part, recorded.describe(part), requested.describe(part)))
        .collect();
    let label_width = IdentityPart::ALL
        .iter()
        .map(|p| p.label().len())
        .max()
        .unwrap_or(0);
    let left_width = rows
        .iter()
        .map(|(_, left, _)| left.chars().count())
        .chain([left_title.chars().count()])
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "  {:label_width$}  {left_title:left_width$}  this run",
        ""
    );
    for (part, left, right) in rows {
        let marker = if differing.contains(&part) {
            "   <- differs"
        } else {
            ""
        };
        let line = format!(
            "  {:label_width$}  {left:left_width$}  {right}{marker}",
            part.label()
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// A state file for `requested` beside `path`: `bootstrap-state-<cluster>.json`.
pub fn suggested_state_file(path: &Path, requested: &InstallationIdentity) -> PathBuf {
    let name = format!("bootstrap-state-{}.json", requested.file_label());
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

/// `path` as a shell word: as it is when it needs no quoting, else in single quotes.
pub fn shell_word(path: &Path) -> String {
    crate::text::shell_word(&path.display().to_string())
}

/// Where `--demo --state-file X` keeps its simulated world: `X.demo/`.
pub fn demo_world_dir(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".demo");
    PathBuf::from(name)
}

/// The world a state belongs to: the one its identity records. A state written before
/// identities were recorded is a demo's when the demo's simulated world is beside it
/// (`X.demo/`, which only `--demo` makes), else its world is unknown.
pub fn world_of(path: &Path, state: &BootstrapState) -> Option<InstallationWorld> {
    match &state.identity {
        Some(identity) => Some(identity.world),
        None if demo_world_dir(path).is_dir() => Some(InstallationWorld::Demo),
        None => None,
    }
}

/// Refuse a state of the other world: a `--demo` state outside `--demo`, a real one in it.
/// A state whose world is unknown (see [`world_of`]) is not refused.
pub fn check_world(
    path: &Path,
    state: &BootstrapState,
    world: InstallationWorld,
) -> Result<(), StateError> {
    match world_of(path, state) {
        Some(recorded) if recorded != world => Err(StateError::OtherWorld {
            path: path.to_path_buf(),
            id: state.identity.as_ref().map(|identity| identity.id.clone()),
            recorded,
        }),
        _ => Ok(()),
    }
}

/// Refuse a state that belongs to another installation than `requested` (world first).
/// A completely rolled-back state holds nothing any more and starts afresh, so only its
/// world is checked; a state without an identity is not refused.
pub fn check_installation(
    path: &Path,
    state: &BootstrapState,
    requested: &InstallationIdentity,
) -> Result<(), StateError> {
    check_world(path, state, requested.world)?;
    if state.status == RunStatus::RolledBack {
        return Ok(());
    }
    match &state.identity {
        Some(recorded) if !recorded.differences(requested).is_empty() => {
            Err(StateError::OtherInstallation {
                path: path.to_path_buf(),
                recorded: Box::new(recorded.clone()),
                requested: Box::new(requested.clone()),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::schema::RepositoriesIdentity;

    fn repo(owner: Option<&str>, name: &str) -> RepositoryIdentity {
        RepositoryIdentity {
            owner: owner.map(str::to_string),
            name: name.to_string(),
        }
    }

    fn alpha() -> InstallationIdentity {
        InstallationIdentity {
            id: "kb-000000000001".into(),
            world: InstallationWorld::Real,
            subscription: Some("11111111-2222-3333-4444-555555555555".into()),
            cluster: ClusterIdentity::Aks {
                resource_group: "alpha-rg".into(),
                name: "alpha".into(),
            },
            repositories: RepositoriesIdentity {
                control_plane: repo(Some("acme"), "alpha-control-plane"),
                gitops: repo(Some("acme"), "alpha-gitops"),
                github_host: "github.com".into(),
            },
            namespace: "kalypso-system".into(),
            environments: vec!["dev".into()],
        }
    }

    #[test]
    fn ids_are_kb_and_twelve_hex_digits_and_differ() {
        let a = new_installation_id().unwrap();
        let b = new_installation_id().unwrap();
        assert_ne!(a, b);
        for id in [a, b] {
            let hex = id.strip_prefix("kb-").unwrap();
            assert_eq!(hex.len(), 12, "{id}");
            assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
    }

    #[test]
    fn each_part_that_names_something_else_differs_and_the_id_does_not_count() {
        let recorded = alpha();
        let mut same = alpha();
        same.id = String::new();
        same.repositories.gitops.owner = Some("ACME".into());
        assert!(recorded.differences(&same).is_empty());

        let mut beta = alpha();
        beta.cluster = ClusterIdentity::Aks {
            resource_group: "beta-rg".into(),
            name: "beta".into(),
        };
        beta.repositories.control_plane.name = "beta-control-plane".into();
        assert_eq!(
            recorded.differences(&beta),
            [IdentityPart::Cluster, IdentityPart::ControlPlane]
        );
        let mut demo = alpha();
        demo.world = InstallationWorld::Demo;
        demo.namespace = "kalypso".into();
        demo.subscription = Some("99999999-2222-3333-4444-555555555555".into());
        assert_eq!(
            recorded.differences(&demo),
            [
                IdentityPart::World,
                IdentityPart::Subscription,
                IdentityPart::Namespace
            ]
        );
        let mut context = alpha();
        context.cluster = ClusterIdentity::KubeContext("alpha".into());
        assert_eq!(recorded.differences(&context), [IdentityPart::Cluster]);
        // Another list of environments (or another order: another promotion chain).
        for environments in [vec!["dev", "stage"], vec!["stage"], vec!["prod", "dev"]] {
            let mut more = alpha();
            more.environments = environments.iter().map(|e| e.to_string()).collect();
            assert_eq!(
                recorded.differences(&more),
                [IdentityPart::Environments],
                "{environments:?}"
            );
            let table = side_by_side(&recorded, &more);
            assert!(
                table.contains("  environments   dev  ") && table.contains("<- differs"),
                "{table}"
            );
        }
        let mut reordered = alpha();
        reordered.environments = vec!["dev".into(), "stage".into()];
        let mut swapped = reordered.clone();
        swapped.environments = vec!["stage".into(), "dev".into()];
        assert_eq!(
            reordered.differences(&swapped),
            [IdentityPart::Environments]
        );
    }

    /// A state of the one default environment does not write the key, so it reads as it
    /// always did; a state without the key reads as `dev` alone.
    #[test]
    fn the_default_environment_is_not_written_and_is_read_back() {
        let json = serde_json::to_value(alpha()).unwrap();
        assert!(json.get("environments").is_none(), "{json}");
        let read: InstallationIdentity = serde_json::from_value(json).unwrap();
        assert_eq!(read.environments, ["dev"]);
        let mut three = alpha();
        three.environments = vec!["dev".into(), "stage".into(), "prod".into()];
        let json = serde_json::to_value(&three).unwrap();
        assert_eq!(
            json["environments"],
            serde_json::json!(["dev", "stage", "prod"])
        );
        let read: InstallationIdentity = serde_json::from_value(json).unwrap();
        assert_eq!(read, three);
    }

    #[test]
    fn unknown_parts_are_not_compared_and_are_learnt_later() {
        let mut recorded = alpha();
        recorded.subscription = None;
        recorded.repositories.gitops.owner = None;
        let mut other_owner = alpha();
        other_owner.repositories.control_plane.owner = Some("octocat".into());
        assert_eq!(
            recorded.differences(&other_owner),
            [IdentityPart::ControlPlane]
        );
        let mut requested = alpha();
        requested.id = String::new();
        assert!(recorded.differences(&requested).is_empty());
        assert!(recorded.learn_from(&requested));
        assert_eq!(recorded.subscription, alpha().subscription);
        assert_eq!(recorded.repositories.gitops.owner.as_deref(), Some("acme"));
        assert_eq!(recorded.id, alpha().id, "the id stays");
        assert!(!recorded.learn_from(&requested), "nothing more to learn");
    }

    /// The same owners and names on another GitHub host are other repositories, and a
    /// state written before the host was recorded is on github.com.
    #[test]
    fn another_github_host_names_other_repositories() {
        let mut enterprise = alpha();
        enterprise.repositories.github_host = "ghe.example.test".into();
        assert_eq!(
            alpha().differences(&enterprise),
            [IdentityPart::ControlPlane, IdentityPart::Gitops]
        );
        let mut same_host_other_case = enterprise.clone();
        same_host_other_case.repositories.github_host = "GHE.example.test".into();
        assert!(enterprise.differences(&same_host_other_case).is_empty());
        assert_eq!(
            enterprise.describe(IdentityPart::Gitops),
            "acme/alpha-gitops on ghe.example.test"
        );
        assert_eq!(alpha().describe(IdentityPart::Gitops), "acme/alpha-gitops");
        let table = side_by_side(&alpha(), &enterprise);
        assert!(
            table.contains("acme/alpha-gitops on ghe.example.test   <- differs"),
            "{table}"
        );

        let mut recorded = serde_json::to_value(alpha()).unwrap();
        assert_eq!(recorded["repositories"]["githubHost"], "github.com");
        recorded["repositories"]
            .as_object_mut()
            .unwrap()
            .remove("githubHost");
        let older: InstallationIdentity = serde_json::from_value(recorded).unwrap();
        assert_eq!(older, alpha());
    }

    #[test]
    fn the_table_shows_both_sides_and_marks_what_differs() {
        let mut beta = alpha();
        beta.id = String::new();
        beta.cluster = ClusterIdentity::Aks {
            resource_group: "beta-rg".into(),
            name: "beta".into(),
        };
        let table = side_by_side(&alpha(), &beta);
        let cluster = table.lines().find(|l| l.contains("cluster")).unwrap();
        assert!(
            cluster.contains("AKS alpha (resource group alpha-rg)")
                && cluster.contains("AKS beta (resource group beta-rg)")
                && cluster.ends_with("<- differs"),
            "{table}"
        );
        let namespace = table.lines().find(|l| l.contains("namespace")).unwrap();
        assert!(!namespace.contains("differs"), "{table}");
        assert!(
            table.lines().next().unwrap().contains("kb-000000000001"),
            "{table}"
        );
        assert_eq!(
            suggested_state_file(Path::new("/h/.kalypso/bootstrap-state.json"), &beta),
            PathBuf::from("/h/.kalypso/bootstrap-state-beta.json")
        );
        beta.cluster = ClusterIdentity::KubeContext("arn:aws:eks/Prod Cluster".into());
        assert_eq!(
            suggested_state_file(Path::new("s.json"), &beta),
            PathBuf::from("bootstrap-state-arn-aws-eks-prod-cluster.json")
        );
        assert_eq!(shell_word(Path::new("/a b/it's")), r"'/a b/it'\''s'");
        assert_eq!(shell_word(Path::new("/h/x.json")), "/h/x.json");
    }
}
