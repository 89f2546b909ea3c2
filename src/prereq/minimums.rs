//! Why each tool's minimum version is what it is: every flag the adapters put on a command
//! line, with the release of the tool that has it and where that was read. A tool's declared
//! minimum ([`super::tools`]) is the newest release in its rows (a test checks both that
//! every flag the adapters use has a row and that the maximum is the declared minimum).
//!
//! Releases were read in the tools' own sources at their release tags (cli/cli,
//! helm/helm, kubernetes/kubectl). Where a row names an old release with "present in", the
//! flag is older than that release and nothing we support goes further back.

use crate::tools::Version;

/// What a row makes a minimum of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// A flag after the command words `command` (a row with no command words covers the
    /// flag wherever it appears, e.g. a global flag).
    Flag {
        command: &'static [&'static str],
        flag: &'static str,
    },
    /// Something other than a flag that the adapters depend on (an environment variable
    /// the tool reads), or a floor kept for a reason stated in the citation.
    Other(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureMinimum {
    pub tool: &'static str,
    pub feature: Feature,
    pub minimum: Version,
    pub citation: &'static str,
}

const fn flag(
    tool: &'static str,
    command: &'static [&'static str],
    flag: &'static str,
    minimum: Version,
    citation: &'static str,
) -> FeatureMinimum {
    FeatureMinimum {
        tool,
        feature: Feature::Flag { command, flag },
        minimum,
        citation,
    }
}

const GH_2_0: Version = Version::new(2, 0, 0);
const HELM_3_0: Version = Version::new(3, 0, 0);
const KUBECTL_1_16: Version = Version::new(1, 16, 0);
const AZ_2_50: Version = Version::new(2, 50, 0);
const AZ_UNTRACED: &str = "not traced to its release: the azure-cli sources were not \
    readable here; the floor 2.50.0 stands (the contract test runs az 2.91)";
/// Flags git had long before 2.23 (the oldest release a row names).
const GIT_OLD: &str = "in git 1.x already, long before 2.23";
const KUBECTL_PRESENT: &str = "present in kubectl 1.16.0 (kubernetes/kubectl, tag \
    kubernetes-1.16.0, pkg/cmd)";

/// Every feature the adapters use, by tool.
pub static FEATURE_MINIMUMS: &[FeatureMinimum] = &[
    // gh: decided by `secret list --json`.
    flag(
        "gh",
        &[],
        "--version",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/root/root.go)",
    ),
    flag(
        "gh",
        &["auth", "token"],
        "--hostname",
        Version::new(2, 17, 0),
        "gh auth token came in gh 2.17.0 (cli/cli#6324)",
    ),
    flag(
        "gh",
        &["repo", "view"],
        "--json",
        GH_2_0,
        "present in gh 2.0.0 (repo view --json since 1.10.0)",
    ),
    flag(
        "gh",
        &["repo", "create"],
        "--private",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["repo", "create"],
        "--public",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["repo", "create"],
        "--description",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["repo", "delete"],
        "--yes",
        Version::new(2, 22, 0),
        "repo delete --yes (was --confirm) came in gh 2.22.0 (cli/cli#6911)",
    ),
    flag(
        "gh",
        &["repo", "edit"],
        "--add-topic",
        Version::new(2, 4, 0),
        "repo edit --add-topic came in gh 2.4.0 (cli/cli#4318)",
    ),
    flag(
        "gh",
        &["secret", "set"],
        "--repo",
        GH_2_0,
        "present in gh 2.0.0 (value read from stdin too)",
    ),
    flag(
        "gh",
        &["secret", "delete"],
        "--repo",
        Version::new(2, 11, 0),
        "secret delete (was remove) came in gh 2.11.0 (cli/cli#5617)",
    ),
    flag(
        "gh",
        &["secret", "list"],
        "--repo",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["secret", "list"],
        "--json",
        Version::new(2, 36, 0),
        "secret list --json came in gh 2.36.0 (cli/cli#8081)",
    ),
    // The promotion chain of several environments: a GitHub environment per environment
    // (`gh api --method PUT …/environments/NAME --silent`) and its NEXT_ENVIRONMENT secret
    // (`gh secret set/list --env`). Environment secrets came to gh in 2021, before 2.0.0;
    // not traced to their pull request here (the contract test runs gh 2.103), so the
    // floor 2.0.0 stands on that.
    flag(
        "gh",
        &["api"],
        "--method",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/api/api.go: -X, --method)",
    ),
    flag(
        "gh",
        &["api"],
        "--silent",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/api/api.go: --silent)",
    ),
    // A deploy key of an attached workload cluster: the JSON body on stdin.
    flag(
        "gh",
        &["api"],
        "--input",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/api/api.go: --input, reading the body from a file or - for stdin)",
    ),
    flag(
        "gh",
        &["secret", "set"],
        "--env",
        GH_2_0,
        "environment secrets (secret set --env) came to gh in 2021, before 2.0.0 (pkg/cmd/secret/set/set.go); not traced to their pull request here",
    ),
    // The rollback of a NEXT_ENVIRONMENT this tool set on a control plane the user gave.
    flag(
        "gh",
        &["secret", "delete"],
        "--env",
        Version::new(2, 11, 0),
        "secret delete (was remove, which had --env) came in gh 2.11.0 (cli/cli#5617)",
    ),
    flag(
        "gh",
        &["secret", "list"],
        "--env",
        GH_2_0,
        "environment secrets (secret list --env) came to gh in 2021, before 2.0.0 (pkg/cmd/secret/list/list.go); not traced to their pull request here",
    ),
    // The health check of the scheduler's pull request: `gh pr list --json` came with the
    // JSON export of pull requests and issues (cli/cli#3414, May 2021), before gh 2.0.0.
    flag(
        "gh",
        &["pr", "list"],
        "--repo",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["pr", "list"],
        "--base",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["pr", "list"],
        "--state",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["pr", "list"],
        "--json",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    // The plan's list of the open pull requests the scheduler would close: `--limit`
    // (`-L`) is one of `gh pr list`'s first flags (gh 0.5), before gh 2.0.0.
    flag(
        "gh",
        &["pr", "list"],
        "--limit",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    // `gh pr view N --json files`: the `files` field is in api/query_builder.go at tag
    // v2.0.0 (and v1.14.0) of cli/cli.
    flag(
        "gh",
        &["pr", "view"],
        "--repo",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["pr", "view"],
        "--json",
        GH_2_0,
        "present in gh 2.0.0, with the files field (api/query_builder.go)",
    ),
    // The first workload (`validation.first-workload`): the scheduler's pull request
    // merged only at the head looked at, the gitops content read at a commit, and the
    // promotion by hand the summary prints.
    flag(
        "gh",
        &["pr", "merge"],
        "--repo",
        GH_2_0,
        "present in gh 2.0.0",
    ),
    flag(
        "gh",
        &["pr", "merge"],
        "--merge",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/pr/merge/merge.go: -m, --merge)",
    ),
    flag(
        "gh",
        &["pr", "merge"],
        "--match-head-commit",
        Version::new(2, 13, 0),
        "pr merge --match-head-commit came in gh 2.13.0 (cli/cli#5692, merged June 2022)",
    ),
    flag(
        "gh",
        &["api"],
        "-H",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/api/api.go: -H, --header)",
    ),
    flag(
        "gh",
        &["workflow", "run"],
        "--repo",
        GH_2_0,
        "present in gh 2.0.0 (workflow run since 1.9.0)",
    ),
    flag(
        "gh",
        &["workflow", "run"],
        "--ref",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/workflow/run/run.go: -r, --ref)",
    ),
    flag(
        "gh",
        &["workflow", "run"],
        "-f",
        GH_2_0,
        "present in gh 2.0.0 (pkg/cmd/workflow/run/run.go: -f, --raw-field)",
    ),
    flag(
        "gh",
        &["label", "create"],
        "--repo",
        Version::new(2, 7, 0),
        "label create came in gh 2.7.0 (cli/cli#5316)",
    ),
    flag(
        "gh",
        &["label", "create"],
        "--color",
        Version::new(2, 7, 0),
        "label create came in gh 2.7.0 (cli/cli#5316)",
    ),
    flag(
        "gh",
        &["label", "create"],
        "--description",
        Version::new(2, 7, 0),
        "label create came in gh 2.7.0 (cli/cli#5316)",
    ),
    flag(
        "gh",
        &["label", "create"],
        "--force",
        Version::new(2, 9, 0),
        "label create --force came in gh 2.9.0 (cli/cli#5452)",
    ),
    flag(
        "gh",
        &["label", "delete"],
        "--repo",
        Version::new(2, 10, 0),
        "label delete came in gh 2.10.0 (cli/cli#5503)",
    ),
    flag(
        "gh",
        &["label", "delete"],
        "--yes",
        Version::new(2, 22, 1),
        "label delete --yes (was --confirm) came in gh 2.22.1 (cli/cli#6915)",
    ),
    flag(
        "gh",
        &["label", "list"],
        "--json",
        Version::new(2, 10, 0),
        "label list --json came in gh 2.10.0 (cli/cli#5567, merged 2022-05-04)",
    ),
    flag(
        "gh",
        &["label", "list"],
        "--repo",
        Version::new(2, 10, 0),
        "present with label list --json in gh 2.10.0 (cli/cli#5567)",
    ),
    flag(
        "gh",
        &["label", "list"],
        "--limit",
        Version::new(2, 10, 0),
        "present with label list --json in gh 2.10.0 (cli/cli#5567)",
    ),
    // helm: decided by `--labels` and `get metadata`.
    flag(
        "helm",
        &["version"],
        "--short",
        HELM_3_0,
        "present in helm 3.0.0",
    ),
    flag(
        "helm",
        &[],
        "--kube-context",
        HELM_3_0,
        "present in helm 3.0.0",
    ),
    flag("helm", &[], "-n", HELM_3_0, "present in helm 3.0.0"),
    flag(
        "helm",
        &[],
        "--namespace",
        HELM_3_0,
        "present in helm 3.0.0",
    ),
    flag(
        "helm",
        &[],
        "-o",
        HELM_3_0,
        "present in helm 3.0.0 (status, list; get metadata has it from its start)",
    ),
    flag(
        "helm",
        &[],
        "--repo",
        HELM_3_0,
        "present in helm 3.0.0 (show, upgrade)",
    ),
    flag(
        "helm",
        &[],
        "--version",
        HELM_3_0,
        "present in helm 3.0.0 (show, upgrade)",
    ),
    flag(
        "helm",
        &["upgrade"],
        "--install",
        HELM_3_0,
        "present in helm 3.0.0",
    ),
    flag(
        "helm",
        &["upgrade"],
        "--create-namespace",
        Version::new(3, 2, 0),
        "--create-namespace came in helm 3.2.0 (helm/helm#7648)",
    ),
    flag(
        "helm",
        &["upgrade"],
        "-f",
        HELM_3_0,
        "present in helm 3.0.0, `-f -` (stdin) included (pkg/cli/values/options.go)",
    ),
    flag(
        "helm",
        &["upgrade"],
        "--labels",
        Version::new(3, 13, 0),
        "upgrade --labels came in helm 3.13.0 (helm/helm#10533)",
    ),
    flag(
        "helm",
        &["upgrade"],
        "--wait",
        HELM_3_0,
        "present in helm 3.0.0",
    ),
    flag(
        "helm",
        &["upgrade"],
        "--timeout",
        HELM_3_0,
        "present in helm 3.0.0",
    ),
    flag(
        "helm",
        &["get", "metadata"],
        "-o",
        Version::new(3, 13, 0),
        "helm get metadata came in helm 3.13.0 (helm/helm#11631)",
    ),
    // kubectl: every flag is older than 1.16; the floor 1.25 is kept (below).
    flag("kubectl", &[], "--context", KUBECTL_1_16, KUBECTL_PRESENT),
    flag(
        "kubectl",
        &[],
        "--request-timeout",
        KUBECTL_1_16,
        "present in kubectl 1.16.0: a global flag of every command \
         (k8s.io/cli-runtime, pkg/genericclioptions/config_flags.go, flagTimeout, 2018)",
    ),
    flag("kubectl", &[], "-o", KUBECTL_1_16, KUBECTL_PRESENT),
    flag("kubectl", &[], "-n", KUBECTL_1_16, KUBECTL_PRESENT),
    flag("kubectl", &[], "-f", KUBECTL_1_16, KUBECTL_PRESENT),
    flag(
        "kubectl",
        &[],
        "--kubeconfig",
        KUBECTL_1_16,
        KUBECTL_PRESENT,
    ),
    flag(
        "kubectl",
        &["version"],
        "--client",
        KUBECTL_1_16,
        KUBECTL_PRESENT,
    ),
    flag(
        "kubectl",
        &["apply"],
        "--server-side",
        KUBECTL_1_16,
        "present in kubectl 1.16.0 (pkg/cmd/util/helpers.go; server-side apply is GA in 1.22)",
    ),
    // The removal of an attached workload cluster's objects: one already gone is no error.
    flag(
        "kubectl",
        &["delete"],
        "--ignore-not-found",
        KUBECTL_1_16,
        KUBECTL_PRESENT,
    ),
    flag("kubectl", &["wait"], "--for", KUBECTL_1_16, KUBECTL_PRESENT),
    flag("kubectl", &["wait"], "--all", KUBECTL_1_16, KUBECTL_PRESENT),
    flag(
        "kubectl",
        &["wait"],
        "--timeout",
        KUBECTL_1_16,
        KUBECTL_PRESENT,
    ),
    flag(
        "kubectl",
        &["label"],
        "--overwrite",
        KUBECTL_1_16,
        KUBECTL_PRESENT,
    ),
    flag(
        "kubectl",
        &["delete"],
        "--wait",
        KUBECTL_1_16,
        KUBECTL_PRESENT,
    ),
    FeatureMinimum {
        tool: "kubectl",
        feature: Feature::Other("the floor kept from before this table"),
        minimum: Version::new(1, 25, 0),
        citation: "kept from before this table: no flag needs more than 1.16, but a kubectl \
            more than one minor from the API server is outside Kubernetes' version skew \
            policy, and clusters that old are out of support",
    },
    // az: not traced (see AZ_UNTRACED).
    flag("az", &[], "-o", AZ_2_50, AZ_UNTRACED),
    flag("az", &[], "--subscription", AZ_2_50, AZ_UNTRACED),
    flag("az", &[], "--name", AZ_2_50, AZ_UNTRACED),
    flag("az", &[], "--resource-group", AZ_2_50, AZ_UNTRACED),
    flag("az", &[], "--location", AZ_2_50, AZ_UNTRACED),
    flag("az", &[], "--tags", AZ_2_50, AZ_UNTRACED),
    flag("az", &[], "--yes", AZ_2_50, AZ_UNTRACED),
    flag("az", &[], "--no-wait", AZ_2_50, AZ_UNTRACED),
    flag("az", &["login"], "--tenant", AZ_2_50, AZ_UNTRACED),
    flag(
        "az",
        &["role", "assignment", "list"],
        "--assignee",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["role", "assignment", "list"],
        "--scope",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["role", "assignment", "list"],
        "--include-inherited",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["role", "assignment", "list"],
        "--include-groups",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag("az", &["vm", "list-skus"], "--size", AZ_2_50, AZ_UNTRACED),
    flag(
        "az",
        &["vm", "list-skus"],
        "--resource-type",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "create"],
        "--node-count",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "create"],
        "--node-vm-size",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "create"],
        "--kubernetes-version",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "create"],
        "--network-plugin",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "create"],
        "--enable-managed-identity",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "create"],
        "--no-ssh-key",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "get-credentials"],
        "--context",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "get-credentials"],
        "--file",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    flag(
        "az",
        &["aks", "get-credentials"],
        "--overwrite-existing",
        AZ_2_50,
        AZ_UNTRACED,
    ),
    // git: decided by GIT_CONFIG_COUNT.
    flag("git", &[], "--version", Version::new(2, 23, 0), GIT_OLD),
    flag("git", &[], "-c", Version::new(2, 23, 0), GIT_OLD),
    flag(
        "git",
        &["init"],
        "-b",
        Version::new(2, 28, 0),
        "init -b (--initial-branch) came in git 2.28.0 with the configurable first branch \
        (Documentation/RelNotes/2.28.0.txt)",
    ),
    flag(
        "git",
        &["switch"],
        "--orphan",
        Version::new(2, 23, 0),
        "git switch came in git 2.23.0 (Documentation/RelNotes/2.23.0.txt)",
    ),
    flag("git", &["add"], "-A", Version::new(2, 23, 0), GIT_OLD),
    flag("git", &["add"], "--", Version::new(2, 23, 0), GIT_OLD),
    // The revert of that commit on rollback: every command in the clone (`-C DIR`).
    flag(
        "git",
        &[],
        "-C",
        Version::new(2, 23, 0),
        "git -C came in git 1.8.5 (Documentation/RelNotes/1.8.5.txt)",
    ),
    flag("git", &["diff"], "--quiet", Version::new(2, 23, 0), GIT_OLD),
    flag("git", &["diff"], "--", Version::new(2, 23, 0), GIT_OLD),
    flag("git", &["checkout"], "--", Version::new(2, 23, 0), GIT_OLD),
    // The revert of a file this tool added (an Environment on main): removed.
    flag("git", &["rm"], "--quiet", Version::new(2, 23, 0), GIT_OLD),
    flag("git", &["rm"], "--", Version::new(2, 23, 0), GIT_OLD),
    flag(
        "git",
        &["commit"],
        "--quiet",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    // The one-file commit to an existing control plane (and its revert on rollback).
    flag(
        "git",
        &["clone"],
        "--quiet",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    flag(
        "git",
        &["clone"],
        "--depth",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    flag(
        "git",
        &["clone"],
        "--branch",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    flag(
        "git",
        &["clone"],
        "--single-branch",
        Version::new(2, 23, 0),
        "clone --single-branch came in git 1.7.10 (Documentation/RelNotes/1.7.10.txt)",
    ),
    flag(
        "git",
        &["clone"],
        "--no-tags",
        Version::new(2, 23, 0),
        "clone --no-tags came in git 2.14.0 (Documentation/RelNotes/2.14.0.txt)",
    ),
    flag("git", &["clone"], "--", Version::new(2, 23, 0), GIT_OLD),
    flag(
        "git",
        &["commit"],
        "--no-verify",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    flag(
        "git",
        &["commit"],
        "--allow-empty",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    flag("git", &["commit"], "-m", Version::new(2, 23, 0), GIT_OLD),
    flag(
        "git",
        &["push"],
        "--no-verify",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    flag(
        "git",
        &["ls-remote"],
        "--heads",
        Version::new(2, 23, 0),
        GIT_OLD,
    ),
    FeatureMinimum {
        tool: "git",
        feature: Feature::Other("GIT_CONFIG_COUNT"),
        minimum: Version::new(2, 31, 0),
        citation:
            "GIT_CONFIG_COUNT/KEY/VALUE came in git 2.31.0 (Documentation/RelNotes/2.31.0.txt: \
            configuration pairs fed through environment variables); it carries gh's credential \
            helper to the push",
    },
];

/// The rows of one tool.
pub fn feature_minimums(tool: &str) -> impl Iterator<Item = &'static FeatureMinimum> + '_ {
    FEATURE_MINIMUMS.iter().filter(move |row| row.tool == tool)
}
