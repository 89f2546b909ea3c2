//! The command-line contract (clap derive). Flags feed the highest-precedence
//! configuration layer; the environment layer is read by `config::env`, and the help
//! text names each flag's environment variable.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum, ValueHint};
use clap_complete::engine::ArgValueCandidates;

use crate::config::model::{
    ClusterLayer, ConfigLayer, InstallationLayer, OptionsLayer, RepoLayer, RepositoriesLayer,
};
use candidates::{
    kube_context_candidates, network_plugin_candidates, region_candidates, topic_candidates,
    visibility_candidates, workload_context_candidates, CompletionShell,
};

pub mod candidates;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Parser, Default)]
#[command(
    name = "kalypso-bootstrap",
    version,
    // Our own -V/--version: clap's stops parsing at it, so `--version --verbose` could not
    // add the build details.
    disable_version_flag = true,
    about = "Set up the Kalypso Scheduler end to end: AKS cluster, control-plane and gitops repositories, Flux and the Kalypso Helm chart.",
    after_help = "Exit codes: 0 success, 1 general error, 2 prerequisites failed, 3 configuration invalid, \
4 cluster operation failed, 5 repository operation failed, 6 installation failed, 7 cancelled, 64 invalid command line; \
with --dry-run --detailed-exitcode: 0 no changes, 2 changes, 1 any error.\n\
Environment: AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID, GITHUB_TOKEN (or GH_TOKEN), KUBECONFIG, NO_COLOR, CLICOLOR, CLICOLOR_FORCE, FORCE_COLOR, DEBUG; \
every configuration flag also reads the KALYPSO_* variable named in its help."
)]
pub struct Cli {
    // ---- Cluster ----
    /// Name of the AKS cluster [env: KALYPSO_CLUSTER_NAME]
    #[arg(long, value_name = "NAME", help_heading = "Cluster")]
    pub cluster_name: Option<String>,
    /// Create a new AKS cluster (default true) [env: KALYPSO_CLUSTER_CREATE]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), help_heading = "Cluster")]
    pub cluster_create: Option<bool>,
    /// Use an existing kube context instead of creating a cluster (implies --cluster-create=false) [env: KALYPSO_CLUSTER_EXISTING]
    #[arg(long, value_name = "CONTEXT", help_heading = "Cluster",
          add = ArgValueCandidates::new(kube_context_candidates))]
    pub cluster_existing: Option<String>,
    /// Azure region (default eastus) [env: KALYPSO_CLUSTER_REGION]
    #[arg(long, value_name = "REGION", help_heading = "Cluster",
          add = ArgValueCandidates::new(region_candidates))]
    pub cluster_region: Option<String>,
    /// Resource group (default {cluster-name}-rg) [env: KALYPSO_CLUSTER_RESOURCE_GROUP]
    #[arg(long, value_name = "RG", help_heading = "Cluster")]
    pub cluster_resource_group: Option<String>,
    /// Number of nodes, 1 to 100 (default 3) [env: KALYPSO_CLUSTER_NODES]
    #[arg(long, value_name = "N", help_heading = "Cluster")]
    pub cluster_nodes: Option<u32>,
    /// VM size of the nodes (default Standard_DS2_v2) [env: KALYPSO_CLUSTER_VM_SIZE]
    #[arg(long, value_name = "SIZE", help_heading = "Cluster")]
    pub cluster_vm_size: Option<String>,
    /// Kubernetes version (default: the AKS default) [env: KALYPSO_CLUSTER_K8S_VERSION]
    #[arg(long, value_name = "V", help_heading = "Cluster")]
    pub cluster_k8s_version: Option<String>,
    /// Network plugin: azure or kubenet (default azure) [env: KALYPSO_CLUSTER_NETWORK_PLUGIN]
    #[arg(long, value_name = "azure|kubenet", help_heading = "Cluster",
          add = ArgValueCandidates::new(network_plugin_candidates))]
    pub cluster_network_plugin: Option<String>,

    // ---- Repositories ----
    /// Create the control-plane repository (default true) [env: KALYPSO_CONTROL_PLANE_CREATE]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), help_heading = "Repositories")]
    pub control_plane_create: Option<bool>,
    /// Use an existing control-plane repository, https://HOST/OWNER/NAME, HOST being --github-host (implies --control-plane-create=false) [env: KALYPSO_CONTROL_PLANE_REPO]
    #[arg(long, value_name = "URL", help_heading = "Repositories")]
    pub control_plane_repo: Option<String>,
    /// Name of the control-plane repository (default {cluster-name}-control-plane) [env: KALYPSO_CONTROL_PLANE_NAME]
    #[arg(long, value_name = "NAME", help_heading = "Repositories")]
    pub control_plane_name: Option<String>,
    /// Create the gitops repository (default true) [env: KALYPSO_GITOPS_CREATE]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), help_heading = "Repositories")]
    pub gitops_create: Option<bool>,
    /// Use an existing gitops repository, https://HOST/OWNER/NAME, HOST being --github-host (implies --gitops-create=false) [env: KALYPSO_GITOPS_REPO]
    #[arg(long, value_name = "URL", help_heading = "Repositories")]
    pub gitops_repo: Option<String>,
    /// Name of the gitops repository (default {cluster-name}-gitops) [env: KALYPSO_GITOPS_NAME]
    #[arg(long, value_name = "NAME", help_heading = "Repositories")]
    pub gitops_name: Option<String>,
    /// GitHub host: github.com or a GitHub Enterprise Server host name (default: GH_HOST, else github.com) [env: KALYPSO_GITHUB_HOST]
    #[arg(long, value_name = "HOST", help_heading = "Repositories")]
    pub github_host: Option<String>,
    /// GitHub organisation that owns new repositories (default: the authenticated user) [env: KALYPSO_GITHUB_ORG]
    #[arg(long, value_name = "ORG", help_heading = "Repositories")]
    pub github_org: Option<String>,
    /// Visibility of new repositories: private or public (default private) [env: KALYPSO_REPO_VISIBILITY]
    #[arg(long, value_name = "private|public", help_heading = "Repositories",
          add = ArgValueCandidates::new(visibility_candidates))]
    pub repo_visibility: Option<String>,

    // ---- Environments ----
    /// Environments to bootstrap, in promotion order, comma-separated: each gets its branch in both repositories and promotes to the next (default dev; at most 8, lower-case DNS labels, not main) [env: KALYPSO_ENVIRONMENTS]
    #[arg(long, value_name = "ENV,...", help_heading = "Environments")]
    pub environments: Option<String>,

    // ---- Workload clusters ----
    /// Attach a cluster to reconcile the gitops repository: a kube context, or self for the management cluster (self: every environment; a context: the first; =CLUSTER_TYPE: the folder it follows, default "default"; =ENV after it: that environment); repeatable [env: KALYPSO_WORKLOAD_CLUSTERS]
    #[arg(long, value_name = "CONTEXT[=CLUSTER_TYPE]", action = ArgAction::Append,
          help_heading = "Workload clusters",
          add = ArgValueCandidates::new(workload_context_candidates))]
    pub workload_cluster: Vec<String>,
    /// Leave the scheduler's first pull request for a human to merge [env: KALYPSO_NO_MERGE]
    #[arg(long, help_heading = "Workload clusters")]
    pub no_merge: bool,

    // ---- Installation ----
    /// Namespace for Kalypso (default kalypso-system) [env: KALYPSO_NAMESPACE]
    #[arg(long, value_name = "NS", help_heading = "Installation")]
    pub namespace: Option<String>,
    /// Helm chart: the published kalypso-scheduler chart, or a local chart path [env: KALYPSO_HELM_CHART]
    #[arg(long, value_name = "CHART", value_hint = ValueHint::AnyPath, help_heading = "Installation")]
    pub helm_chart: Option<String>,
    /// Chart version (default 1.1.2-alpha) [env: KALYPSO_HELM_VERSION]
    #[arg(long, value_name = "V", help_heading = "Installation")]
    pub helm_version: Option<String>,
    /// Extra Helm values file, applied after ours [env: KALYPSO_HELM_VALUES]
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, help_heading = "Installation")]
    pub helm_values: Option<String>,
    /// Flux version to install when the cluster has none (default v2.7.5, the last serving the v1beta2 APIs Kalypso uses)
    #[arg(long, value_name = "V", help_heading = "Installation")]
    pub flux_version: Option<String>,
    /// Flux install manifest: an https URL or a local file, instead of the release's install.yaml on github.com (for a machine without github.com access) [env: KALYPSO_FLUX_MANIFEST]
    #[arg(long, value_name = "URL|FILE", value_hint = ValueHint::FilePath, help_heading = "Installation")]
    pub flux_manifest: Option<String>,
    /// Do not install Flux and Kalypso on the cluster [env: KALYPSO_SKIP_INSTALL]
    #[arg(long, help_heading = "Installation")]
    pub skip_install: bool,

    // ---- Execution ----
    /// Never prompt; every required value must come from flags, env or the config file [env: KALYPSO_NON_INTERACTIVE]
    #[arg(long, help_heading = "Execution")]
    pub non_interactive: bool,
    /// On failure, roll back what this run created without asking [env: KALYPSO_AUTO_ROLLBACK]
    #[arg(long, help_heading = "Execution")]
    pub auto_rollback: bool,
    /// Skip the prerequisite checks [env: KALYPSO_SKIP_VALIDATION]
    #[arg(long, help_heading = "Execution")]
    pub skip_validation: bool,
    /// Do not ask for confirmation: consent to the plan, and with --clean to its removals; alias -y/--yes [env: KALYPSO_SKIP_CONFIRMATION]
    #[arg(short = 'y', long, visible_alias = "yes", help_heading = "Execution")]
    pub skip_confirmation: bool,
    /// YAML configuration file
    #[arg(
        long,
        value_name = "FILE",
        value_hint = ValueHint::FilePath,
        env = "KALYPSO_CONFIG",
        hide_env_values = true,
        help_heading = "Execution"
    )]
    pub config: Option<PathBuf>,
    /// State file (default $HOME/.kalypso/bootstrap-state.json)
    #[arg(
        long,
        value_name = "FILE",
        value_hint = ValueHint::FilePath,
        env = "KALYPSO_STATE_FILE",
        hide_env_values = true,
        help_heading = "Execution"
    )]
    pub state_file: Option<PathBuf>,
    /// Move a corrupt or newer-version state file aside instead of stopping; let --export-config replace an existing file [env: KALYPSO_FORCE]
    #[arg(long, help_heading = "Execution")]
    pub force: bool,

    // ---- Output ----
    /// More detail (DEBUG); also DEBUG=1 [env: KALYPSO_VERBOSE]
    #[arg(short, long, help_heading = "Output", conflicts_with = "quiet")]
    pub verbose: bool,
    /// Errors only [env: KALYPSO_QUIET]
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    /// Monochrome output; also NO_COLOR [env: KALYPSO_NO_COLOR]
    #[arg(long, help_heading = "Output")]
    pub no_color: bool,
    /// Log file (default $HOME/.kalypso/bootstrap-{unix-timestamp}.log)
    #[arg(
        long,
        value_name = "FILE",
        value_hint = ValueHint::FilePath,
        env = "KALYPSO_LOG_FILE",
        hide_env_values = true,
        help_heading = "Output"
    )]
    pub log_file: Option<PathBuf>,
    /// Line output instead of the full-screen interface (automatic when not on a terminal)
    #[arg(long, help_heading = "Output")]
    pub no_tui: bool,
    /// Let the full-screen interface capture the mouse
    #[arg(long, help_heading = "Output")]
    pub mouse: bool,
    /// Output format of the headless front end
    #[arg(long, value_enum, value_name = "text|json", default_value_t = OutputFormat::Text, help_heading = "Output")]
    pub output: OutputFormat,

    // ---- Utility ----
    /// Show the recorded state of the last bootstrap and exit
    #[arg(long, help_heading = "Utility", action = ArgAction::SetTrue,
          conflicts_with_all = ["clean", "validate_only", "dry_run", "export_config", "render_templates"])]
    pub status: bool,
    /// Remove what the state file records as created by this tool, in reverse order (with --dry-run: only show the plan)
    #[arg(long, help_heading = "Utility",
          conflicts_with_all = ["validate_only", "export_config", "render_templates"])]
    pub clean: bool,
    /// Check prerequisites (tools, versions, authentication) and exit
    #[arg(long, help_heading = "Utility",
          conflicts_with_all = ["dry_run", "export_config", "render_templates"])]
    pub validate_only: bool,
    /// Show the plan and every command it would run, change nothing (with --clean: the removal plan)
    #[arg(long, help_heading = "Utility",
          conflicts_with_all = ["export_config", "render_templates"])]
    pub dry_run: bool,
    /// With --dry-run, terraform's exit codes for drift checks: 0 nothing would change, 2 something would, 1 any error
    #[arg(long, help_heading = "Utility")]
    pub detailed_exitcode: bool,
    /// Write the effective configuration as YAML (readable by --config) to FILE (- for stdout; an existing file only with --force) and exit
    #[arg(
        long,
        value_name = "FILE",
        value_hint = ValueHint::FilePath,
        help_heading = "Utility",
        conflicts_with = "render_templates"
    )]
    pub export_config: Option<PathBuf>,
    /// Run everything against the built-in simulated Azure, GitHub and cluster, in a temporary directory
    #[arg(long, help_heading = "Utility")]
    pub demo: bool,
    /// Explain a troubleshooting topic (the name a hint gives) and exit; alone, list the topics
    #[arg(
        long,
        value_name = "TOPIC",
        num_args = 0..=1,
        default_missing_value = "",
        help_heading = "Utility",
        add = ArgValueCandidates::new(topic_candidates)
    )]
    pub explain: Option<String>,
    /// Render the repository templates with the effective configuration into DIR and exit (no network)
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath, help_heading = "Utility")]
    pub render_templates: Option<PathBuf>,
    /// Print the completion script for SHELL and exit; it asks the program for the candidates on each TAB (regions, kube contexts, files, ...)
    #[arg(long, value_enum, value_name = "SHELL", help_heading = "Utility",
          conflicts_with_all = ["man", "version"])]
    pub completions: Option<CompletionShell>,
    /// Print the manual page (roff) and exit
    #[arg(long, help_heading = "Utility", conflicts_with = "version")]
    pub man: bool,
    /// Print the version and exit; with --verbose also the build commit, the pinned Flux and chart versions and the minimum tool versions
    #[arg(short = 'V', long, help_heading = "Utility")]
    pub version: bool,
}

impl Cli {
    /// Parse the process's arguments as [`Cli::try_parse_checked_from`] does.
    pub fn try_parse_checked() -> Result<Cli, clap::Error> {
        Self::try_parse_checked_from(std::env::args_os())
    }

    /// Parse `args`, then refuse flags that contradict each other: `--*-create=true`
    /// together with the existing resource's flag. The consistent pair
    /// (`--cluster-create=false --cluster-existing CONTEXT`) is accepted.
    pub fn try_parse_checked_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Self::try_parse_from(args)?;
        cli.check_create_flags()?;
        cli.check_detailed_exitcode()?;
        Ok(cli)
    }

    /// `--detailed-exitcode` describes a dry run's plan: without `--dry-run` there is none.
    fn check_detailed_exitcode(&self) -> Result<(), clap::Error> {
        if self.detailed_exitcode && !self.dry_run {
            use clap::CommandFactory;
            return Err(Self::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "--detailed-exitcode is only valid with --dry-run: it reports whether the dry \
                 run's plan would change anything (0 nothing, 2 something, 1 an error); add \
                 --dry-run",
            ));
        }
        Ok(())
    }

    fn check_create_flags(&self) -> Result<(), clap::Error> {
        let pairs = [
            (
                "cluster",
                self.cluster_create,
                "--cluster-existing",
                self.cluster_existing.as_deref(),
            ),
            (
                "control-plane",
                self.control_plane_create,
                "--control-plane-repo",
                self.control_plane_repo.as_deref(),
            ),
            (
                "gitops",
                self.gitops_create,
                "--gitops-repo",
                self.gitops_repo.as_deref(),
            ),
        ];
        for (what, create, existing_flag, existing) in pairs {
            if let (Some(true), Some(existing)) = (create, existing) {
                use clap::CommandFactory;
                return Err(Self::command().error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "--{what}-create=true contradicts {existing_flag} {existing:?}, which uses \
                         an existing one (and implies --{what}-create=false); pass only one of them"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The flags' configuration layer: only what was given on the command line.
    pub fn to_layer(&self) -> ConfigLayer {
        let flag = |set: bool| set.then_some(true);
        ConfigLayer {
            cluster: ClusterLayer {
                name: self.cluster_name.clone(),
                create: self
                    .cluster_create
                    .or(self.cluster_existing.as_ref().map(|_| false)),
                existing_context: self.cluster_existing.clone(),
                region: self.cluster_region.clone(),
                resource_group: self.cluster_resource_group.clone(),
                node_count: self.cluster_nodes,
                vm_size: self.cluster_vm_size.clone(),
                kubernetes_version: self.cluster_k8s_version.clone(),
                network_plugin: self.cluster_network_plugin.clone(),
            },
            repositories: RepositoriesLayer {
                control_plane: RepoLayer {
                    create: self
                        .control_plane_create
                        .or(self.control_plane_repo.as_ref().map(|_| false)),
                    name: self.control_plane_name.clone(),
                    url: self.control_plane_repo.clone(),
                },
                gitops: RepoLayer {
                    create: self
                        .gitops_create
                        .or(self.gitops_repo.as_ref().map(|_| false)),
                    name: self.gitops_name.clone(),
                    url: self.gitops_repo.clone(),
                },
                github_host: self.github_host.clone(),
                github_org: self.github_org.clone(),
                visibility: self.repo_visibility.clone(),
            },
            environments: self.environments.clone(),
            workload_clusters: (!self.workload_cluster.is_empty())
                .then(|| self.workload_cluster.join(",")),
            installation: InstallationLayer {
                namespace: self.namespace.clone(),
                helm_chart: self.helm_chart.clone(),
                helm_version: self.helm_version.clone(),
                helm_values: self.helm_values.clone(),
                flux_manifest: self.flux_manifest.clone(),
                skip_install: flag(self.skip_install),
            },
            options: OptionsLayer {
                non_interactive: flag(self.non_interactive),
                auto_rollback: flag(self.auto_rollback),
                skip_validation: flag(self.skip_validation),
                skip_confirmation: flag(self.skip_confirmation),
                verbose: flag(self.verbose),
                quiet: flag(self.quiet),
                no_color: flag(self.no_color),
                force: flag(self.force),
                no_merge: flag(self.no_merge),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let mut argv = vec!["kalypso-bootstrap"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("valid command line")
    }

    #[test]
    fn flags_given_become_the_layer_and_absent_flags_stay_unset() {
        let layer = parse(&["--cluster-name", "demo", "--cluster-nodes", "5"]).to_layer();
        assert_eq!(layer.cluster.name.as_deref(), Some("demo"));
        assert_eq!(layer.cluster.node_count, Some(5));
        assert_eq!(layer.cluster.create, None);
        assert_eq!(layer.options.non_interactive, None);
        assert!(layer.repositories.is_empty());
    }

    #[test]
    fn existing_resources_imply_create_false() {
        let layer = parse(&[
            "--cluster-existing",
            "kind-dev",
            "--control-plane-repo",
            "https://github.com/acme/cp",
            "--gitops-repo",
            "https://github.com/acme/go",
        ])
        .to_layer();
        assert_eq!(layer.cluster.create, Some(false));
        assert_eq!(layer.repositories.control_plane.create, Some(false));
        assert_eq!(layer.repositories.gitops.create, Some(false));
    }

    #[test]
    fn boolean_create_flags_take_an_optional_value() {
        assert_eq!(parse(&["--cluster-create"]).cluster_create, Some(true));
        assert_eq!(
            parse(&["--cluster-create=false"]).cluster_create,
            Some(false)
        );
        assert_eq!(parse(&["--gitops-create", "no"]).gitops_create, Some(false));
    }

    fn checked(args: &[&str]) -> Result<Cli, clap::Error> {
        let mut argv = vec!["kalypso-bootstrap"];
        argv.extend_from_slice(args);
        Cli::try_parse_checked_from(argv)
    }

    #[test]
    fn a_create_flag_agreeing_with_the_existing_resource_is_accepted() {
        let cli = checked(&[
            "--cluster-create=false",
            "--cluster-existing",
            "kind-dev",
            "--control-plane-create=false",
            "--control-plane-repo",
            "https://github.com/acme/cp",
            "--gitops-create",
            "no",
            "--gitops-repo",
            "https://github.com/acme/go",
        ])
        .expect("consistent pairs are accepted");
        let layer = cli.to_layer();
        assert_eq!(layer.cluster.create, Some(false));
        assert_eq!(layer.cluster.existing_context.as_deref(), Some("kind-dev"));
        assert_eq!(layer.repositories.control_plane.create, Some(false));
        assert_eq!(layer.repositories.gitops.create, Some(false));
    }

    #[test]
    fn a_create_flag_contradicting_the_existing_resource_is_a_conflict_naming_both() {
        for (args, named) in [
            (
                vec!["--cluster-create", "--cluster-existing", "x"],
                ["--cluster-create=true", "--cluster-existing \"x\""],
            ),
            (
                vec!["--control-plane-create=true", "--control-plane-repo", "u"],
                ["--control-plane-create=true", "--control-plane-repo \"u\""],
            ),
            (
                vec!["--gitops-repo", "u", "--gitops-create", "yes"],
                ["--gitops-create=true", "--gitops-repo \"u\""],
            ),
        ] {
            let error = checked(&args).expect_err("a contradiction");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
            let message = error.to_string();
            for flag in named {
                assert!(message.contains(flag), "{flag} missing from {message}");
            }
        }
    }

    #[test]
    fn contradictory_flags_are_usage_errors() {
        for args in [
            vec!["--cluster-create", "--cluster-existing", "x"],
            vec!["--verbose", "--quiet"],
            vec!["--status", "--clean"],
            vec!["--cluster-nodes", "three"],
            vec!["--bogus"],
            vec!["--cluster-name"],
        ] {
            assert!(checked(&args).is_err(), "{args:?} must be rejected");
        }
    }

    /// Every pair of mode flags that makes no sense together is refused, naming both; only
    /// `--clean --dry-run` (the removal plan) is a combination.
    #[test]
    fn mode_flags_exclude_each_other_except_clean_with_dry_run() {
        let modes: [(&str, &[&str]); 6] = [
            ("--status", &["--status"]),
            ("--clean", &["--clean"]),
            ("--validate-only", &["--validate-only"]),
            ("--dry-run", &["--dry-run"]),
            ("--export-config", &["--export-config", "out.yaml"]),
            ("--render-templates", &["--render-templates", "dir"]),
        ];
        for (i, (first, first_args)) in modes.iter().enumerate() {
            for (second, second_args) in &modes[i + 1..] {
                let args: Vec<&str> = first_args
                    .iter()
                    .chain(second_args.iter())
                    .copied()
                    .collect();
                let result = checked(&args);
                if (*first, *second) == ("--clean", "--dry-run") {
                    assert!(result.is_ok(), "{args:?} is the removal preview");
                    continue;
                }
                let error = result.expect_err(&format!("{args:?} must be refused"));
                assert_eq!(
                    error.kind(),
                    clap::error::ErrorKind::ArgumentConflict,
                    "{args:?}"
                );
                let message = error.to_string();
                assert!(
                    message.contains(first) && message.contains(second),
                    "{args:?}: {message}"
                );
            }
        }
    }

    /// `--completions`, `--man` and `--version` each print one thing: two of them are refused.
    #[test]
    fn print_and_exit_flags_exclude_each_other() {
        for args in [
            vec!["--completions", "bash", "--man"],
            vec!["--completions", "zsh", "--version"],
            vec!["--man", "-V"],
        ] {
            let error = checked(&args).expect_err(&format!("{args:?} must be refused"));
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
        }
        assert!(parse(&["-vV"]).version && parse(&["-vV"]).verbose);
    }

    #[test]
    fn yes_and_y_are_skip_confirmation() {
        for flag in ["-y", "--yes", "--skip-confirmation"] {
            assert!(parse(&["--clean", flag]).skip_confirmation, "{flag}");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
