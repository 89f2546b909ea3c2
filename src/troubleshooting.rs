//! The one table linking what the tool prints to `docs/troubleshooting.md`: every hint is a
//! [`Hint`], made only by [`Topic::hint`], so it always ends with
//! `run kalypso-bootstrap --explain <topic>`. The page is compiled into the binary
//! ([`explain`]), so that command works after `cargo install`, where no `docs/` exists; the
//! page stays the one source of the text. `tests/cli/docs_truth.rs` checks that every
//! [`Topic`]'s anchor is a heading of that page, and [`explain`]'s tests that every topic
//! section of the page is a [`Topic`].

use std::fmt;
use std::ops::Deref;

pub mod explain;

/// The troubleshooting page, relative to the repository root.
pub const TROUBLESHOOTING_DOC: &str = "docs/troubleshooting.md";

/// A section of the troubleshooting page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    // Prerequisites and sign-in.
    ToolMissing,
    AzureSignIn,
    AzureSubscription,
    AzureRole,
    GithubToken,
    GithubScopes,
    GithubOrganization,
    GithubPlan,
    ClusterCredentials,
    ClusterPermission,
    // What a tool can report about any call.
    QuotaExceeded,
    RateLimited,
    Timeout,
    HelmTimeout,
    ServiceError,
    ServiceUnreachable,
    ClusterUnreachable,
    ToolUsage,
    ToolOutput,
    NotFound,
    AlreadyExists,
    ToolFailed,
    // Cluster phase.
    RegionUnavailable,
    KubernetesVersion,
    VmSize,
    ClusterNotOurs,
    ClusterProvisioning,
    KubeContextMissing,
    KubeContextTaken,
    // Repositories phase.
    RepositoryNotOurs,
    RepositoryUnreachable,
    RepositoryStructure,
    ExistingRepositoryChanges,
    OpenPullRequestsClosed,
    ControlPlaneFollowsAnotherRepository,
    RepositoryGone,
    // Installation and validation phases.
    FluxApiVersions,
    FluxPartial,
    KalypsoNotOurs,
    ChartNotFound,
    NamespaceTerminating,
    HealthChecks,
    SchedulerEnvironment,
    SchedulerRepositories,
    SchedulerPullRequest,
    /// `validation.first-workload`: the chain to the attached clusters stopped.
    FirstWorkload,
    // State file, rollback, the run itself.
    StateNotWritable,
    StateLocked,
    StateUnusable,
    StateOtherInstallation,
    RepositoryDeleteScope,
    CleanConsent,
    RollbackIncomplete,
    RollbackKeptNotOurs,
    Cancelled,
    ConfigurationInvalid,
    InternalError,
}

impl Topic {
    pub const ALL: [Topic; 57] = [
        Topic::ToolMissing,
        Topic::AzureSignIn,
        Topic::AzureSubscription,
        Topic::AzureRole,
        Topic::GithubToken,
        Topic::GithubScopes,
        Topic::GithubOrganization,
        Topic::GithubPlan,
        Topic::ClusterCredentials,
        Topic::ClusterPermission,
        Topic::QuotaExceeded,
        Topic::RateLimited,
        Topic::Timeout,
        Topic::HelmTimeout,
        Topic::ServiceError,
        Topic::ServiceUnreachable,
        Topic::ClusterUnreachable,
        Topic::ToolUsage,
        Topic::ToolOutput,
        Topic::NotFound,
        Topic::AlreadyExists,
        Topic::ToolFailed,
        Topic::RegionUnavailable,
        Topic::KubernetesVersion,
        Topic::VmSize,
        Topic::ClusterNotOurs,
        Topic::ClusterProvisioning,
        Topic::KubeContextMissing,
        Topic::KubeContextTaken,
        Topic::RepositoryNotOurs,
        Topic::RepositoryUnreachable,
        Topic::RepositoryStructure,
        Topic::ExistingRepositoryChanges,
        Topic::OpenPullRequestsClosed,
        Topic::ControlPlaneFollowsAnotherRepository,
        Topic::RepositoryGone,
        Topic::FluxApiVersions,
        Topic::FluxPartial,
        Topic::KalypsoNotOurs,
        Topic::ChartNotFound,
        Topic::NamespaceTerminating,
        Topic::HealthChecks,
        Topic::SchedulerEnvironment,
        Topic::SchedulerRepositories,
        Topic::SchedulerPullRequest,
        Topic::FirstWorkload,
        Topic::StateNotWritable,
        Topic::StateLocked,
        Topic::StateUnusable,
        Topic::StateOtherInstallation,
        Topic::RepositoryDeleteScope,
        Topic::CleanConsent,
        Topic::RollbackIncomplete,
        Topic::RollbackKeptNotOurs,
        Topic::Cancelled,
        Topic::ConfigurationInvalid,
        Topic::InternalError,
    ];

    /// The GitHub anchor of the topic's heading on the troubleshooting page. Part of the
    /// documentation's contract: links printed by older versions keep working.
    pub fn anchor(self) -> &'static str {
        match self {
            Topic::ToolMissing => "tool-missing-or-too-old",
            Topic::AzureSignIn => "azure-not-signed-in",
            Topic::AzureSubscription => "azure-subscription-not-usable",
            Topic::AzureRole => "azure-role-missing",
            Topic::GithubToken => "github-token-missing-or-rejected",
            Topic::GithubScopes => "github-token-lacks-a-scope",
            Topic::GithubOrganization => "github-organization-not-usable",
            Topic::GithubPlan => "github-plan-lacks-a-feature",
            Topic::ClusterCredentials => "cluster-credentials-rejected",
            Topic::ClusterPermission => "cluster-permission-denied",
            Topic::QuotaExceeded => "quota-exceeded",
            Topic::RateLimited => "rate-limited",
            Topic::Timeout => "operation-timed-out",
            Topic::HelmTimeout => "helm-timeout",
            Topic::ServiceError => "service-error",
            Topic::ServiceUnreachable => "service-unreachable",
            Topic::ClusterUnreachable => "cluster-unreachable",
            Topic::ToolUsage => "tool-rejected-the-command-line",
            Topic::ToolOutput => "unexpected-tool-output",
            Topic::NotFound => "resource-not-found",
            Topic::AlreadyExists => "resource-already-exists",
            Topic::ToolFailed => "other-tool-failure",
            Topic::RegionUnavailable => "region-does-not-offer-aks",
            Topic::KubernetesVersion => "kubernetes-version-not-available",
            Topic::VmSize => "vm-size-not-available",
            Topic::ClusterNotOurs => "cluster-exists-not-created-by-this-tool",
            Topic::ClusterProvisioning => "cluster-provisioning-failed",
            Topic::KubeContextMissing => "kube-context-not-found",
            Topic::KubeContextTaken => "kube-context-already-in-the-kubeconfig",
            Topic::RepositoryNotOurs => "repository-exists-not-created-by-this-tool",
            Topic::RepositoryUnreachable => "existing-repository-not-reachable",
            Topic::RepositoryStructure => "existing-repository-lacks-what-kalypso-needs",
            Topic::ExistingRepositoryChanges => "existing-repository-needs-changes",
            Topic::OpenPullRequestsClosed => "scheduler-would-close-open-pull-requests",
            Topic::ControlPlaneFollowsAnotherRepository => {
                "control-plane-follows-another-repository"
            }
            Topic::RepositoryGone => "repository-disappeared-during-the-run",
            Topic::FluxApiVersions => "flux-api-versions",
            Topic::FluxPartial => "flux-partly-installed",
            Topic::KalypsoNotOurs => "kalypso-installed-by-someone-else",
            Topic::ChartNotFound => "chart-not-found",
            Topic::NamespaceTerminating => "namespace-being-deleted",
            Topic::HealthChecks => "health-checks-failed",
            Topic::SchedulerEnvironment => "environment-flux-objects-not-ready",
            Topic::SchedulerRepositories => "baserepo-or-gitopsrepo-reports-an-error",
            Topic::SchedulerPullRequest => "no-pull-request-against-the-environment-branch",
            Topic::FirstWorkload => "the-first-workload-does-not-arrive",
            Topic::StateNotWritable => "state-file-not-writable",
            Topic::StateLocked => "state-file-locked",
            Topic::StateUnusable => "state-file-corrupt-or-newer",
            Topic::StateOtherInstallation => "state-file-belongs-to-another-installation",
            Topic::RepositoryDeleteScope => "rollback-cannot-delete-a-repository",
            Topic::CleanConsent => "clean-needs-consent",
            Topic::RollbackIncomplete => "rollback-incomplete",
            Topic::RollbackKeptNotOurs => "rollback-kept-a-resource-without-our-mark",
            Topic::Cancelled => "run-cancelled",
            Topic::ConfigurationInvalid => "configuration-invalid",
            Topic::InternalError => "internal-error",
        }
    }

    /// `docs/troubleshooting.md#<anchor>`.
    pub fn link(self) -> String {
        format!("{TROUBLESHOOTING_DOC}#{}", self.anchor())
    }

    /// `kalypso-bootstrap --explain <anchor>`: the command that prints the topic.
    pub fn explain_command(self) -> String {
        format!("kalypso-bootstrap --explain {}", self.anchor())
    }

    /// `run kalypso-bootstrap --explain <anchor>`: what follows a message that is not a hint
    /// (e.g. a state file error printed on its own).
    pub fn see(self) -> String {
        format!("run {}", self.explain_command())
    }

    /// The topic whose anchor is `name` (what `--explain` takes).
    pub fn from_anchor(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|topic| topic.anchor() == name)
    }

    /// A hint about this topic: `text`, then the link to the topic's section.
    pub fn hint(self, text: impl Into<String>) -> Hint {
        Hint::new(self, text.into())
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.anchor())
    }
}

/// What the user can do about a failure, with the command that explains its topic.
/// Reads (`Display`, `Deref<Target = str>`) as `<text>; run kalypso-bootstrap --explain <anchor>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    text: String,
    topic: Topic,
    rendered: String,
}

impl Hint {
    fn new(topic: Topic, text: String) -> Self {
        let rendered = format!("{text}; {}", topic.see());
        Self {
            text,
            topic,
            rendered,
        }
    }

    /// The advice without the link.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// The same hint with `note` added to its advice (the link stays last).
    pub fn with_note(self, note: &str) -> Hint {
        Hint::new(self.topic, format!("{}; {note}", self.text))
    }

    pub fn as_str(&self) -> &str {
        &self.rendered
    }
}

impl Deref for Hint {
    type Target = str;

    fn deref(&self) -> &str {
        &self.rendered
    }
}

impl AsRef<str> for Hint {
    fn as_ref(&self) -> &str {
        &self.rendered
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl From<Hint> for String {
    fn from(hint: Hint) -> String {
        hint.rendered
    }
}

/// Every topic `text` points to, in order: `--explain <anchor>` (what hints print) and
/// `docs/troubleshooting.md#<anchor>` links (the documentation's form), as the anchors.
pub fn linked_anchors(text: &str) -> Vec<String> {
    let doc_link = format!("{TROUBLESHOOTING_DOC}#");
    let mut found: Vec<(usize, String)> = Vec::new();
    for marker in ["--explain ", doc_link.as_str()] {
        for (at, _) in text.match_indices(marker) {
            let anchor: String = text[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if !anchor.is_empty() {
                found.push((at, anchor));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, anchor)| anchor).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_is_listed_once_with_its_own_anchor() {
        let mut anchors = std::collections::HashSet::new();
        for topic in Topic::ALL {
            assert!(anchors.insert(topic.anchor()), "duplicate anchor {topic}");
            assert!(
                topic
                    .anchor()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{topic} is not a GitHub anchor"
            );
        }
        // `ALL` and the enum agree: a topic missing from ALL would not be checked
        // against the page.
        let mut sorted = Topic::ALL;
        sorted.sort();
        assert_eq!(
            sorted,
            Topic::ALL,
            "ALL lists the topics in declaration order"
        );
    }

    #[test]
    fn a_hint_ends_with_its_link_and_a_note_keeps_the_link_last() {
        let hint = Topic::QuotaExceeded.hint("lower the node count");
        assert_eq!(
            hint.to_string(),
            "lower the node count; run kalypso-bootstrap --explain quota-exceeded"
        );
        assert_eq!(hint.text(), "lower the node count");
        let noted = hint.with_note("wait an hour");
        assert_eq!(
            &*noted,
            "lower the node count; wait an hour; run kalypso-bootstrap --explain quota-exceeded"
        );
        assert_eq!(linked_anchors(&noted), vec!["quota-exceeded".to_string()]);
    }

    #[test]
    fn linked_anchors_finds_every_link() {
        let text = "a; see docs/troubleshooting.md#state-file-locked\nhint: b; run kalypso-bootstrap --explain rate-limited.";
        assert_eq!(
            linked_anchors(text),
            vec!["state-file-locked".to_string(), "rate-limited".to_string()]
        );
        assert!(linked_anchors("no links").is_empty());
    }
}
