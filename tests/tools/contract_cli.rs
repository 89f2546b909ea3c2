//! Contract tests against the REAL `az`, `gh`, `kubectl` and `helm`: every command line the
//! adapters build, for several configurations, is run by the real tool, which must accept
//! it. No usage error is allowed ("unrecognized arguments", "unknown flag", "accepts N
//! arg(s)", ...); the expected outcome is a sign-in or connection error, or success for the
//! few calls that need neither (`--version`, a local chart, a local kubeconfig edit).
//!
//! The tools come from `$KALYPSO_REAL_CLI_DIR/bin` (default `/opt/kalypso-cli/bin`), where
//! `bash .ci/setup` installs them. When they are missing these tests FAIL with that hint:
//! a skipped contract test would prove nothing.
//!
//! Every call runs isolated and offline: az with an empty `AZURE_CONFIG_DIR` (not signed
//! in, so it stops before any request); gh with an empty `GH_CONFIG_DIR`, a dummy
//! `GH_TOKEN` and `HTTPS_PROXY` on a closed local port (so its requests are refused at
//! once); kubectl and helm with a private kubeconfig whose contexts point at a closed local
//! port, the same proxy for URLs, and private helm directories.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kalypso_bootstrap::config::{FluxManifest, GitHubHost};
use kalypso_bootstrap::engine::steps::installation::chart_values_stdin;
use kalypso_bootstrap::prereq::minimums::{
    feature_minimums, Feature, FeatureMinimum, FEATURE_MINIMUMS,
};
use kalypso_bootstrap::prereq::tools::{AZ, GH, GIT, HELM, KUBECTL};
use kalypso_bootstrap::tools::az::{AksCreateParams, Az, NetworkPlugin};
use kalypso_bootstrap::tools::gh::{self, Gh, Visibility};
use kalypso_bootstrap::tools::git::{self, Git, GitEnv};
use kalypso_bootstrap::tools::helm::{
    self, ChartRef, Helm, HelmChart, InstallParams, KalypsoValues,
};
use kalypso_bootstrap::tools::kubectl::{self, FluxKind, Kubectl};
use kalypso_bootstrap::tools::{
    classify, CommandOutput, CommandRunner, CommandSpec, EnvValue, ErrorClass, ProcessRunner,
    RunError, ToolKind,
};
use regex::Regex;
use secrecy::{SecretSlice, SecretString};
use serde::Deserialize;
use tokio::sync::Semaphore;

const TOOLS: [&str; 4] = ["az", "gh", "kubectl", "helm"];
/// No single call may take longer (az starts a Python interpreter: ~1-2 s).
const CALL_LIMIT: Duration = Duration::from_secs(60);
const DUMMY_GH_TOKEN: &str = "contract-dummy-token-not-a-real-one";

// ---------------------------------------------------------------------------------------
// Where the real tools are

fn real_cli_bin() -> PathBuf {
    let root = std::env::var_os("KALYPSO_REAL_CLI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/kalypso-cli"));
    let bin = root.join("bin");
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|tool| !is_executable(&bin.join(tool)))
        .collect();
    assert!(
        missing.is_empty(),
        "the contract tests need the real {} in {} (KALYPSO_REAL_CLI_DIR={}); \
         install them with `bash .ci/setup` (or point KALYPSO_REAL_CLI_DIR at the venv that holds them)",
        missing.join(", "),
        bin.display(),
        root.display()
    );
    bin
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

// ---------------------------------------------------------------------------------------
// The isolated, offline environment

struct Sandbox {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// A local port nothing listens on: the "API server" and the HTTPS proxy.
    closed_port: u16,
}

impl Sandbox {
    fn new(contexts: &[&str]) -> Sandbox {
        let bin = real_cli_bin();
        let dir = tempfile::tempdir().unwrap();
        let closed_port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let sandbox = Sandbox {
            dir,
            bin,
            closed_port,
        };
        for sub in [
            "home",
            "az",
            "gh",
            "helm-cache",
            "helm-config",
            "helm-data",
            "work",
        ] {
            std::fs::create_dir_all(sandbox.path(sub)).unwrap();
        }
        std::fs::write(sandbox.kubeconfig(), sandbox.kubeconfig_yaml(contexts)).unwrap();
        sandbox
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn kubeconfig(&self) -> PathBuf {
        self.path("kubeconfig")
    }

    fn kubeconfig_yaml(&self, contexts: &[&str]) -> String {
        let mut yaml = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: offline\n  cluster:\n    server: https://127.0.0.1:{}\n    insecure-skip-tls-verify: true\nusers:\n- name: offline\n  user:\n    token: contract-dummy-kube-token\ncontexts:\n",
            self.closed_port
        );
        for context in contexts {
            yaml.push_str(&format!(
                "- name: {context}\n  context:\n    cluster: offline\n    user: offline\n"
            ));
        }
        yaml.push_str("current-context: \"\"\n");
        yaml
    }

    /// A copy of the kubeconfig for a call that edits it.
    fn kubeconfig_copy(&self, name: &str) -> PathBuf {
        let path = self.path(&format!("kubeconfig-{name}"));
        std::fs::copy(self.kubeconfig(), &path).unwrap();
        path
    }

    /// `spec` pointed at the real tool, with the isolated environment underneath its own.
    fn prepare(&self, mut spec: CommandSpec) -> CommandSpec {
        spec.program = self.bin.join(&spec.program).to_string_lossy().into_owned();
        let proxy = format!("http://127.0.0.1:{}", self.closed_port);
        let path = |name: &str| self.path(name).to_string_lossy().into_owned();
        let sandbox_env: Vec<(String, String)> = vec![
            ("HOME".into(), path("home")),
            ("AZURE_CONFIG_DIR".into(), path("az")),
            ("AZURE_CORE_COLLECT_TELEMETRY".into(), "false".into()),
            ("GH_CONFIG_DIR".into(), path("gh")),
            ("KUBECONFIG".into(), path("kubeconfig")),
            ("HELM_CACHE_HOME".into(), path("helm-cache")),
            ("HELM_CONFIG_HOME".into(), path("helm-config")),
            ("HELM_DATA_HOME".into(), path("helm-data")),
            ("HTTPS_PROXY".into(), proxy.clone()),
            ("HTTP_PROXY".into(), proxy.clone()),
            ("https_proxy".into(), proxy.clone()),
            ("http_proxy".into(), proxy),
            ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
            ("no_proxy".into(), "127.0.0.1,localhost".into()),
        ];
        let own = std::mem::take(&mut spec.env);
        for (name, value) in sandbox_env {
            spec = spec.env(name, value);
        }
        spec.env.extend(own);
        for inherited in [
            "GH_HOST",
            "GH_ENTERPRISE_TOKEN",
            "GITHUB_TOKEN",
            "AZURE_DEFAULTS_GROUP",
        ] {
            spec = spec.env_remove(inherited);
        }
        spec.timeout = Some(spec.timeout.map_or(CALL_LIMIT, |t| t.min(CALL_LIMIT)));
        spec
    }
}

// ---------------------------------------------------------------------------------------
// Judging an outcome

/// Usage-error messages of the tools' argument parsers, kept independent of the adapters'
/// own classifier so the contract does not trust the code under test.
fn usage_error(tool: &str, output: &CommandOutput) -> Option<String> {
    let text = format!("{}\n{}", output.stderr, output.stdout);
    let patterns: &[&str] = match tool {
        "az" => &[
            r"unrecognized arguments",
            r"the following arguments are required",
            r"invalid choice",
            r"expected one argument",
            r"is misspelled or not recognized",
            r"(?i)usage error",
            r"not allowed with argument",
        ],
        _ => &[
            r"unknown flag",
            r"unknown shorthand flag",
            r"unknown command",
            r"(accepts|requires) (at most |at least |between |exactly )?\d+( and \d+)? arg",
            r"flag needs an argument",
            r"required flag\(s\)",
            r#"invalid argument ".*" for"#,
            r"(?m)^Usage:",
        ],
    };
    for pattern in patterns {
        if let Some(found) = Regex::new(pattern).unwrap().find(&text) {
            return Some(format!("usage error ({:?})", found.as_str()));
        }
    }
    // az's parser exits 2 on a usage error (not found is 3, other errors 1).
    if tool == "az" && output.exit_code == Some(2) {
        return Some("az exited 2 (its usage-error code)".to_string());
    }
    None
}

/// `None` when the tool accepted the command line and ended as expected offline.
fn judge(tool: &str, result: &Result<CommandOutput, RunError>) -> Option<String> {
    let output = match result {
        Ok(output) => output,
        Err(err) => return Some(format!("did not complete: {err}")),
    };
    if let Some(usage) = usage_error(tool, output) {
        return Some(usage);
    }
    if output.success() {
        return None;
    }
    let class = classify(
        ToolKind::from_program(tool),
        output.exit_code,
        &output.stderr,
        &output.stdout,
    );
    match class {
        ErrorClass::NotAuthenticated | ErrorClass::Unreachable => None,
        other => Some(format!(
            "expected a sign-in or connection error offline, got {other} (exit {:?})",
            output.exit_code
        )),
    }
}

/// Every spec of every scenario, labelled with the scenario it came from.
fn per_scenario<F>(build: F) -> Vec<(&'static str, CommandSpec)>
where
    F: Fn(&Scenario) -> Vec<CommandSpec>,
{
    scenarios()
        .iter()
        .flat_map(|scenario| {
            build(scenario)
                .into_iter()
                .map(move |spec| (scenario.name, spec))
        })
        .collect()
}

/// Run every spec (deduplicated by command line) with at most `parallel` at once, and fail
/// listing each command the real tool did not accept.
async fn assert_accepted(
    sandbox: &Sandbox,
    tool: &str,
    specs: Vec<(&'static str, CommandSpec)>,
    parallel: usize,
) {
    let mut seen = HashSet::new();
    let specs: Vec<(&'static str, CommandSpec)> = specs
        .into_iter()
        .filter(|(_, spec)| seen.insert(spec.display()))
        .collect();
    assert!(!specs.is_empty());
    for (_, spec) in &specs {
        assert_eq!(
            spec.program,
            tool,
            "{} is not a {tool} command",
            spec.display()
        );
    }
    let runner = Arc::new(ProcessRunner::with_default_timeout(CALL_LIMIT));
    let limit = Arc::new(Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for (scenario, spec) in specs {
        let display = spec.display();
        let prepared = sandbox.prepare(spec);
        let runner = runner.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            (scenario, display, runner.run(prepared).await)
        });
    }
    let mut failures = Vec::new();
    let mut count = 0;
    while let Some(joined) = tasks.join_next().await {
        let (scenario, display, result) = joined.unwrap();
        count += 1;
        if let Some(problem) = judge(tool, &result) {
            let said = match &result {
                Ok(output) => format!("{}{}", output.stderr.trim(), output.stdout.trim()),
                Err(_) => String::new(),
            };
            let said: String = said.chars().take(400).collect();
            failures.push(format!(
                "  [{scenario}] {display}\n    -> {problem}\n    {said}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "the real {tool} rejected {} of {count} command lines:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The configurations

enum ClusterChoice {
    New {
        kubernetes_version: Option<&'static str>,
        network_plugin: NetworkPlugin,
    },
    Existing,
}

struct Scenario {
    name: &'static str,
    subscription: Option<&'static str>,
    cluster: ClusterChoice,
    context: &'static str,
    /// `None`: the authenticated user owns the repositories.
    org: Option<&'static str>,
    owner: &'static str,
    visibility: Visibility,
    local_chart: bool,
    /// `None`: github.com; else a GitHub Enterprise Server's host (`--github-host`).
    github_host: Option<&'static str>,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "new cluster with version, azure CNI, org, private, published chart",
            subscription: Some("3f1c9a52-7d4e-4b8a-9c61-2e5f0d8b7a14"),
            cluster: ClusterChoice::New {
                kubernetes_version: Some("1.33"),
                network_plugin: NetworkPlugin::Azure,
            },
            context: "kalypso-aks",
            org: Some("contoso"),
            owner: "contoso",
            visibility: Visibility::Private,
            local_chart: false,
            github_host: None,
        },
        Scenario {
            name: "new cluster without version, kubenet, user, public, local chart",
            subscription: None,
            cluster: ClusterChoice::New {
                kubernetes_version: None,
                network_plugin: NetworkPlugin::Kubenet,
            },
            context: "kalypso-kubenet",
            org: None,
            owner: "dev-user",
            visibility: Visibility::Public,
            local_chart: true,
            github_host: None,
        },
        Scenario {
            name: "existing context, org, private, local chart",
            subscription: Some("0b6d4e8e-1111-4c2b-9d7e-5a4f3e2d1c0b"),
            cluster: ClusterChoice::Existing,
            context: "existing-ctx",
            org: Some("fabrikam"),
            owner: "fabrikam",
            visibility: Visibility::Private,
            local_chart: true,
            github_host: None,
        },
        Scenario {
            name: "existing context, GitHub Enterprise Server, org, private, published chart",
            subscription: None,
            cluster: ClusterChoice::Existing,
            context: "ghes-ctx",
            org: Some("northwind"),
            owner: "northwind",
            visibility: Visibility::Private,
            local_chart: false,
            github_host: Some("ghe.example.test"),
        },
    ]
}

fn contexts() -> Vec<&'static str> {
    scenarios().iter().map(|s| s.context).collect()
}

fn runner() -> Arc<dyn CommandRunner> {
    Arc::new(ProcessRunner::new())
}

fn az_specs(sandbox: &Sandbox, scenario: &Scenario) -> Vec<CommandSpec> {
    let az = Az::new(runner(), scenario.subscription.map(String::from));
    let mut specs = vec![az.version_spec(), az.account_show_spec()];
    if let Some(subscription) = scenario.subscription {
        specs.push(az.role_assignments_spec("dev@contoso.com", subscription));
    }
    if let ClusterChoice::New {
        kubernetes_version,
        network_plugin,
    } = &scenario.cluster
    {
        let (rg, name, location) = ("kalypso-rg", "kalypso", "westeurope");
        let params = AksCreateParams {
            resource_group: rg.into(),
            name: name.into(),
            location: location.into(),
            node_count: 3,
            node_vm_size: "Standard_DS2_v2".into(),
            kubernetes_version: kubernetes_version.map(String::from),
            network_plugin: *network_plugin,
            installation_id: "kb-0123456789ab".into(),
        };
        specs.extend([
            az.group_show_spec(rg),
            az.group_create_spec(rg, location, "kb-0123456789ab"),
            az.aks_get_versions_spec(location),
            az.vm_list_skus_spec(location, "Standard_DS2_v2"),
            az.vm_list_usage_spec(location),
            az.aks_show_spec(rg, name),
            az.aks_create_no_wait_spec(&params),
            az.aks_get_credentials_spec(
                rg,
                name,
                scenario.context,
                &sandbox.path("aks-kubeconfig"),
            ),
            az.aks_delete_no_wait_spec(rg, name),
            az.group_delete_no_wait_spec(rg),
        ]);
    }
    specs
}

fn gh_specs(scenario: &Scenario) -> Vec<CommandSpec> {
    let host = scenario
        .github_host
        .map(|host| GitHubHost::parse(host).unwrap())
        .unwrap_or_default();
    let gh = Gh::new(runner())
        .with_host(host)
        .with_token(SecretString::from(DUMMY_GH_TOKEN));
    let control_plane = format!("{}/control-plane", scenario.owner);
    let gitops = format!("{}/gitops", scenario.owner);
    let secret = |value: &str| SecretString::from(value.to_string());
    let mut specs = vec![gh.version_spec(), gh.api_user_spec(), gh.auth_token_spec()];
    if let Some(org) = scenario.org {
        specs.push(gh.org_membership_spec(org));
    }
    for slug in [&control_plane, &gitops] {
        specs.extend([
            gh.repo_view_spec(slug),
            gh.repo_create_spec(slug, scenario.visibility, "Kalypso Scheduler repository"),
            // The marks of a repository we created, and the live check before deleting it.
            gh.repo_identity_spec(slug),
            gh.repo_add_mark_topic_spec(slug),
            gh.repo_tree_spec(slug, "main"),
            gh.repo_tree_spec(slug, "dev"),
            gh.secret_list_spec(slug),
            // What an existing repository lacks (the label on gitops).
            gh.label_list_spec(slug),
            // The health check that the scheduler opened its pull request.
            gh.pr_list_spec(slug, "dev"),
            // The open pull requests of others the scheduler would close (the plan).
            gh.open_pull_requests_spec(slug, "dev"),
            // ...and that it carries a folder for every Assignment.
            gh.pr_files_spec(slug, "1"),
            // The first workload: the scheduler's pull request with its head and labels,
            // merged at that head, read back; the gitops content at the merged commit.
            gh.scheduler_pulls_spec(slug, "dev"),
            gh.pr_merge_spec(slug, "1", "0123456789abcdef0123456789abcdef01234567"),
            gh.pr_state_spec(slug, "1"),
            // A re-run after the merge: the scheduler's pull request merged before, and
            // whether its merge commit is still on the branch.
            gh.merged_pulls_spec(slug, "dev"),
            gh.compare_spec(slug, "0123456789abcdef0123456789abcdef01234567", "dev"),
            gh.contents_spec(slug, "default", "0123456789abcdef0123456789abcdef01234567"),
            gh.raw_file_spec(
                slug,
                ".github/tracking/Promoted_Commit_Id",
                "0123456789abcdef0123456789abcdef01234567",
            ),
            gh.repo_delete_spec(slug),
        ]);
    }
    specs.extend([
        gh.secret_set_spec(&control_plane, "GITOPS_REPO", &secret(&gitops)),
        gh.secret_set_spec(&control_plane, "GITOPS_REPO_TOKEN", &secret(DUMMY_GH_TOKEN)),
        gh.secret_set_spec(&gitops, "CONTROL_PLANE_TOKEN", &secret(DUMMY_GH_TOKEN)),
        gh.label_create_spec(
            &gitops,
            gh::PROMOTED_LABEL,
            gh::PROMOTED_LABEL_COLOR,
            "Promoted by the Kalypso Scheduler",
        ),
        // The promotion chain of several environments: a GitHub environment of the control
        // plane, its NEXT_ENVIRONMENT secret, and the list a resumed run reads.
        gh.environment_create_spec(&control_plane, "dev"),
        gh.environment_secret_set_spec(&control_plane, "dev", "NEXT_ENVIRONMENT", &secret("stage")),
        gh.environment_secret_list_spec(&control_plane, "stage"),
        // Rollback of what the two calls above created.
        gh.secret_delete_spec(&control_plane, "GITOPS_REPO"),
        gh.label_delete_spec(&gitops, gh::PROMOTED_LABEL),
        // An existing control plane with several environments: its GitHub environments and
        // branches looked up, and the rollback of those this tool created there.
        gh.environment_view_spec(&control_plane, "stage"),
        gh.environment_delete_spec(&control_plane, "stage"),
        gh.environment_secret_delete_spec(&control_plane, "stage", "NEXT_ENVIRONMENT"),
        gh.branch_head_spec(&control_plane, "stage"),
        gh.branch_delete_spec(&control_plane, "stage"),
        // Promoting by hand, as the summary prints it.
        gh.workflow_run_spec(
            &control_plane,
            "cd.yaml",
            "main",
            &[
                ("environment", "stage"),
                (
                    "promoted_commit_id",
                    "0123456789abcdef0123456789abcdef01234567",
                ),
            ],
        ),
        // Attached workload clusters: the host's SSH keys, a read-only deploy key of the
        // gitops repository, its live check and its removal.
        gh.meta_spec(),
        gh.deploy_key_add_spec(
            &gitops,
            "kalypso-bootstrap kb-0123456789ab kind-workload/dev",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnhNcqgNCJEXeo5JgNlnYOwnLwHV2GZ3FuUu9Oz+1Pk",
        ),
        gh.deploy_keys_spec(&gitops),
        gh.deploy_key_spec(&gitops, 42),
        gh.deploy_key_delete_spec(&gitops, 42),
    ]);
    specs
}

fn kubectl_specs(sandbox: &Sandbox, scenario: &Scenario) -> Vec<CommandSpec> {
    let client = Kubectl::new(runner());
    let k = client.with_context(scenario.context);
    let flux = kubectl::flux_install_url(kubectl::FLUX_VERSION);
    // `--flux-manifest`: a local copy (kubectl reads the file, then needs the API server)
    // and a mirror's URL.
    let local_manifest = sandbox.dir.path().join("flux-install.yaml");
    std::fs::write(
        &local_manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n",
    )
    .unwrap();
    let local_manifest = FluxManifest::File(local_manifest).kubectl_filename();
    let mirror = FluxManifest::Url("https://mirror.example.test/flux/v2.7.5/install.yaml".into())
        .kubectl_filename();
    let ns = "kalypso-system";
    let workload = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: Workload\nmetadata:\n  name: kalypso-bootstrap-probe\n  namespace: kalypso-system\nspec:\n  deploymentTargets: []\n";
    vec![
        client.version_spec(),
        k.server_version_spec(),
        k.reachability_spec(),
        k.get_nodes_spec(),
        k.get_pods_spec("kube-system"),
        k.get_crd_spec(kubectl::FLUX_GITREPOSITORY_CRD),
        k.get_crd_spec(kubectl::FLUX_KUSTOMIZATION_CRD),
        k.list_crds_spec(),
        k.apply_server_side_url_spec(&flux),
        k.apply_server_side_url_spec(&local_manifest),
        k.apply_server_side_url_spec(&mirror),
        k.wait_deployments_available_spec(kubectl::FLUX_NAMESPACE, Duration::from_secs(300)),
        k.get_namespace_spec(ns),
        // The first workload's ConfigMap in its namespace.
        k.get_config_map_spec("platform-config", ns),
        k.create_namespace_spec(ns),
        // Our mark on what we created: the namespace, Flux's namespace, the Kalypso CRDs.
        k.label_mark_spec("namespace", &[ns], "kb-0123456789ab"),
        k.label_mark_spec("namespace", &[kubectl::FLUX_NAMESPACE], "kb-0123456789ab"),
        k.label_mark_spec(
            "crd",
            &[
                "workloads.scheduler.kalypso.io",
                "deploymenttargets.scheduler.kalypso.io",
            ],
            "kb-0123456789ab",
        ),
        k.get_deployments_spec(ns),
        k.get_pods_spec(ns),
        k.get_validating_webhooks_spec(),
        k.get_flux_object_spec(
            FluxKind::GitRepository,
            "control-plane",
            kubectl::FLUX_NAMESPACE,
        ),
        k.get_flux_object_spec(
            FluxKind::Kustomization,
            "control-plane",
            kubectl::FLUX_NAMESPACE,
        ),
        // The health checks of what the scheduler made of the control plane.
        k.list_flux_objects_spec(FluxKind::GitRepository, kubectl::FLUX_NAMESPACE),
        k.list_flux_objects_spec(FluxKind::Kustomization, kubectl::FLUX_NAMESPACE),
        k.list_kalypso_objects_spec(kubectl::KalypsoKind::BaseRepo, "dev"),
        k.list_kalypso_objects_spec(kubectl::KalypsoKind::GitOpsRepo, "dev"),
        k.apply_stdin_spec(workload),
        k.delete_workload_spec("kalypso-bootstrap-probe", ns),
        k.delete_crds_spec(&[
            "workloads.scheduler.kalypso.io",
            "deploymenttargets.scheduler.kalypso.io",
        ]),
        k.delete_namespace_spec(ns),
        k.delete_url_spec(&flux),
        k.delete_url_spec(&local_manifest),
        k.delete_url_spec(&mirror),
        k.delete_context_spec(&sandbox.kubeconfig_copy(scenario.context)),
        // An attached workload cluster: its Secret (on stdin, secret), GitRepository and
        // Kustomization, each looked up and deleted by name.
        k.apply_secret_stdin_spec(SecretSlice::from(
            b"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"kalypso-gitops-dev-deploy-key\",\"namespace\":\"flux-system\"}}".to_vec(),
        )),
        k.get_object_spec("secret", "kalypso-gitops-dev-deploy-key", kubectl::FLUX_NAMESPACE),
        k.get_object_spec(kubectl::FLUX_GITREPOSITORY_CRD, "kalypso-gitops-dev", kubectl::FLUX_NAMESPACE),
        k.delete_object_spec(kubectl::FLUX_KUSTOMIZATION_CRD, "kalypso-gitops-dev", kubectl::FLUX_NAMESPACE),
        k.delete_object_spec("secret", "kalypso-gitops-dev-deploy-key", kubectl::FLUX_NAMESPACE),
    ]
}

fn helm_specs(
    sandbox: &Sandbox,
    scenario: &Scenario,
    values: &SecretSlice<u8>,
) -> Vec<CommandSpec> {
    let chart = if scenario.local_chart {
        ChartRef {
            chart: HelmChart::Local(local_chart(sandbox)),
            version: "0.1.0".into(),
        }
    } else {
        ChartRef {
            chart: HelmChart::published("kalypso-scheduler"),
            version: "1.1.2-alpha".into(),
        }
    };
    let user_values = sandbox.path("user-values.yaml");
    std::fs::write(&user_values, "replicaCount: 1\n").unwrap();
    let client = Helm::new(runner());
    let h = client.with_kube_context(scenario.context);
    let ns = "kalypso-system";
    vec![
        client.version_spec(),
        client.show_chart_spec(&chart),
        h.upgrade_install_spec(&InstallParams {
            release: helm::RELEASE_NAME.into(),
            chart,
            namespace: ns.into(),
            our_values: values.clone(),
            values_files: vec![user_values],
            timeout: Duration::from_secs(300),
            installation_id: "kb-0123456789ab".into(),
        }),
        h.status_spec(helm::RELEASE_NAME, ns),
        h.metadata_spec(helm::RELEASE_NAME, ns),
        h.list_spec(ns),
        h.uninstall_spec(helm::RELEASE_NAME, ns),
    ]
}

/// A minimal chart directory, as a user's local checkout of the Kalypso chart would be.
fn local_chart(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.path("chart/kalypso-scheduler");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: kalypso-scheduler\nversion: 0.1.0\nappVersion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  url: {{ .Values.controlPlaneURL | quote }}\n",
    )
    .unwrap();
    dir
}

// ---------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_az_accepts_every_adapter_command_line() {
    let sandbox = Sandbox::new(&contexts());
    let specs = per_scenario(|s| az_specs(&sandbox, s));
    // az is CPU-bound at start-up: two at a time on a two-core machine.
    assert_accepted(&sandbox, "az", specs, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_gh_accepts_every_adapter_command_line() {
    let sandbox = Sandbox::new(&contexts());
    let specs = per_scenario(gh_specs);
    assert_accepted(&sandbox, "gh", specs, 6).await;
}

/// On a GitHub Enterprise Server every gh call names the server (`GH_HOST`, `--hostname`
/// for `auth token`) and carries the token where gh reads it for such a host; a command
/// shown to the user carries its `GH_HOST`. What the simulator models, checked against the
/// real gh: it takes `GH_ENTERPRISE_TOKEN` for the server and ignores `GH_TOKEN` there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_enterprise_server_every_gh_call_names_it_and_real_gh_reads_its_token_variable() {
    let scenario = scenarios()
        .into_iter()
        .find(|s| s.github_host.is_some())
        .expect("an Enterprise Server scenario");
    for spec in gh_specs(&scenario) {
        let line = spec.display();
        if spec.args == ["--version"] {
            continue;
        }
        let host = spec.env.iter().rev().find(|(name, _)| name == "GH_HOST");
        assert!(
            matches!(host, Some((_, EnvValue::Plain(h))) if h == "ghe.example.test"),
            "{line}"
        );
        assert!(line.starts_with("GH_HOST=ghe.example.test gh "), "{line}");
        assert!(!line.contains("github.com"), "{line}");
        if spec
            .args
            .starts_with(&["auth".to_string(), "token".to_string()])
        {
            assert!(line.ends_with("--hostname ghe.example.test"), "{line}");
        } else {
            let names: Vec<&str> = spec.env.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names.contains(&"GH_ENTERPRISE_TOKEN"), "{line}: {names:?}");
            assert!(!names.contains(&"GH_TOKEN"), "{line}: {names:?}");
        }
    }

    let sandbox = Sandbox::new(&contexts());
    let runner = ProcessRunner::with_default_timeout(CALL_LIMIT);
    let token_for = |variable: &str| {
        sandbox.prepare(
            CommandSpec::new("gh")
                .args(["auth", "token", "--hostname", "ghe.example.test"])
                .env(variable, DUMMY_GH_TOKEN),
        )
    };
    let read = runner.run(token_for("GH_ENTERPRISE_TOKEN")).await.unwrap();
    assert_eq!(read.exit_code, Some(0), "{}", read.stderr);
    assert_eq!(read.stdout.trim(), DUMMY_GH_TOKEN);
    let ignored = runner.run(token_for("GH_TOKEN")).await.unwrap();
    assert_ne!(ignored.exit_code, Some(0), "{}", ignored.stdout);
    assert!(
        ignored
            .stderr
            .contains("no oauth token found for ghe.example.test"),
        "{}",
        ignored.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_kubectl_accepts_every_adapter_command_line() {
    let sandbox = Sandbox::new(&contexts());
    let specs = per_scenario(|s| kubectl_specs(&sandbox, s));
    assert_accepted(&sandbox, "kubectl", specs, 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_helm_accepts_every_adapter_command_line() {
    let sandbox = Sandbox::new(&contexts());
    let values = KalypsoValues {
        control_plane_url: "https://github.com/contoso/control-plane".into(),
        control_plane_branch: "main".into(),
        gh_repo_token: SecretString::from(DUMMY_GH_TOKEN),
    }
    .to_stdin()
    .unwrap();
    let specs = per_scenario(|s| helm_specs(&sandbox, s, &values));
    assert_accepted(&sandbox, "helm", specs, 6).await;
}

/// `-f -` is how our values (the token among them) reach helm. The vendored published
/// chart, rendered by the real `helm template` with exactly the values the install step
/// writes to stdin ([`chart_values_stdin`]), points its GitRepository at our control plane
/// and branch and puts the token in its Secrets: the chart reads every key we write, under
/// the name we write it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_helm_renders_the_real_chart_from_the_values_the_install_step_writes() {
    use base64::Engine;
    // A canary, registered so that anything printed through the project's redaction masks
    // it; the assertions below never print the rendered manifest.
    const CANARY: &str = "ghp_chartContractCanary0123456789abcdef";
    kalypso_bootstrap::secrets::register(CANARY);
    let sandbox = Sandbox::new(&["ctx"]);
    let chart = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-scheduler-1.1.2-alpha.tgz");
    let url = "https://github.com/contoso/stdin-control-plane";
    let values = chart_values_stdin(url.to_string(), SecretString::from(CANARY)).unwrap();
    let template = |stdin: Option<SecretSlice<u8>>| {
        let mut spec = CommandSpec::new("helm").args([
            "template".to_string(),
            helm::RELEASE_NAME.to_string(),
            chart.display().to_string(),
            "--namespace".to_string(),
            "kalypso-system".to_string(),
            "-f".to_string(),
            helm::VALUES_FROM_STDIN.to_string(),
        ]);
        if let Some(stdin) = stdin {
            spec = spec.secret_stdin(stdin);
        }
        sandbox.prepare(spec)
    };
    let runner = ProcessRunner::with_default_timeout(CALL_LIMIT);
    let rendered = runner.run(template(Some(values))).await.unwrap();
    assert_eq!(
        rendered.exit_code,
        Some(0),
        "{}",
        kalypso_bootstrap::secrets::redact(&rendered.stderr)
    );
    let objects: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&rendered.stdout)
        .map(|doc| serde_yaml::Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect();
    let find = |kind: &str, name: &str, namespace: Option<&str>| {
        objects
            .iter()
            .filter(|o| o["kind"].as_str() == Some(kind))
            .filter(|o| o["metadata"]["name"].as_str() == Some(name))
            .filter(|o| namespace.is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns)))
            .collect::<Vec<_>>()
    };
    let git_repository = find("GitRepository", "control-plane", Some("flux-system"));
    assert_eq!(git_repository.len(), 1, "one GitRepository control-plane");
    let spec = &git_repository[0]["spec"];
    assert_eq!(spec["url"].as_str(), Some(url));
    assert_eq!(
        spec["ref"]["branch"].as_str(),
        Some(kalypso_bootstrap::engine::steps::resources::CONTROL_PLANE_BRANCH)
    );
    assert_eq!(spec["secretRef"]["name"].as_str(), Some("gh-repo-secret"));
    // The token, base64 as a Secret holds it: Flux's password and the scheduler's token.
    let decode = |secret: &serde_yaml::Value, key: &str| {
        let encoded = secret["data"][key].as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    };
    let flux_secret = find("Secret", "gh-repo-secret", Some("flux-system"));
    assert_eq!(
        flux_secret.len(),
        1,
        "Flux's secret is rendered only with a token"
    );
    assert!(
        decode(flux_secret[0], "password").as_deref() == Some(CANARY),
        "Flux's gh-repo-secret password is not the token we wrote"
    );
    let scheduler_secrets = find("Secret", "gh-repo-secret", None);
    assert!(
        scheduler_secrets
            .iter()
            .any(|s| s["metadata"]["namespace"].is_null()
                && decode(s, "token").as_deref() == Some(CANARY)),
        "the scheduler's gh-repo-secret token is not the token we wrote"
    );
    // Without our stdin the same command has no values: the chart's `required` fails,
    // with the text the simulated helm reproduces.
    let without = runner.run(template(None)).await.unwrap();
    assert_eq!(without.exit_code, Some(1));
    assert_eq!(
        without.stderr.lines().next(),
        Some("Error: execution error at (kalypso-scheduler/templates/controlplanerepo.yaml:37:11): Control Plane repo URL (controlPlaneURL) is required")
    );
}

/// The judge must be able to fail: a flag no tool knows is caught for each of them, and a
/// rejected command is not excused as a connection error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_error_from_each_real_tool_is_caught() {
    let sandbox = Sandbox::new(&["ctx"]);
    let runner = ProcessRunner::with_default_timeout(CALL_LIMIT);
    let broken = [
        (
            "az",
            vec!["group", "show", "--name", "rg", "--definitely-not-a-flag"],
        ),
        ("az", vec!["aks", "create", "--name", "c"]),
        ("gh", vec!["repo", "view", "o/n", "--definitely-not-a-flag"]),
        ("gh", vec!["repo", "view", "o/n", "extra-arg"]),
        (
            "kubectl",
            vec![
                "--context",
                "ctx",
                "get",
                "nodes",
                "--definitely-not-a-flag",
            ],
        ),
        ("helm", vec!["status", "--kube-context", "ctx"]),
        ("helm", vec!["list", "--definitely-not-a-flag"]),
    ];
    for (tool, args) in broken {
        let spec = sandbox.prepare(CommandSpec::new(tool).args(args.clone()));
        let result = runner.run(spec).await;
        let verdict = judge(tool, &result);
        assert!(
            verdict.as_deref().is_some_and(|v| v.contains("usage")),
            "{tool} {args:?} was not caught: {verdict:?} / {result:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Minimum versions

/// The flags of one command line, with their positions: `--name=value` counts as `--name`,
/// and `-` alone (standard input, as in `-f -`) is a value.
fn flags_of(args: &[String]) -> Vec<(usize, &str)> {
    args.iter()
        .enumerate()
        .filter(|(_, arg)| arg.starts_with('-') && arg.as_str() != "-")
        .map(|(index, arg)| (index, arg.split('=').next().unwrap_or(arg)))
        .collect()
}

/// The row covering `flag` at `index` of `args`: same flag, and the row's command words
/// appear together before it (no words: anywhere). The most specific row wins, so
/// `helm get metadata -o` is decided by its own row, not by the one for every `-o`.
fn covering_row(
    tool: &str,
    args: &[String],
    index: usize,
    flag: &str,
) -> Option<&'static FeatureMinimum> {
    feature_minimums(tool)
        .filter_map(|row| match row.feature {
            Feature::Flag {
                command,
                flag: row_flag,
            } if row_flag == flag
                && (command.is_empty()
                    || args[..index].windows(command.len()).any(|words| {
                        words.iter().map(String::as_str).eq(command.iter().copied())
                    })) =>
            {
                Some((command.len(), row))
            }
            _ => None,
        })
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(_, row)| row)
}

/// Every command line the adapters build, for every scenario, az's login and git's seeding
/// included.
fn every_adapter_spec(sandbox: &Sandbox) -> Vec<CommandSpec> {
    let values = KalypsoValues {
        control_plane_url: "https://github.com/contoso/control-plane".into(),
        control_plane_branch: "main".into(),
        gh_repo_token: SecretString::from(DUMMY_GH_TOKEN),
    }
    .to_stdin()
    .unwrap();
    let mut specs: Vec<CommandSpec> = scenarios()
        .iter()
        .flat_map(|scenario| {
            let mut specs = az_specs(sandbox, scenario);
            specs.extend(gh_specs(scenario));
            specs.extend(kubectl_specs(sandbox, scenario));
            specs.extend(helm_specs(sandbox, scenario, &values));
            specs
        })
        .collect();
    let az = Az::new(runner(), None);
    specs.extend([
        az.login_spec(None),
        az.login_spec(Some("contoso.onmicrosoft.com")),
    ]);
    let git = Git::new(runner());
    let work = sandbox.path("work");
    let remote = "https://github.com/contoso/control-plane.git";
    let env = GitEnv::new().config(
        "credential.https://github.com.helper",
        "!gh auth git-credential",
    );
    specs.extend([
        git.version_spec(),
        git.init_spec(&work, "main", &env),
        git.switch_orphan_spec(&work, "dev", &env),
        git.add_all_spec(&work, &env),
        git.commit_spec(&work, git::SEED_MESSAGE, &env),
        git.push_spec(&work, remote, "main", &env),
        git.ls_remote_heads_spec(remote, &env),
    ]);
    // The one-file commit to an existing control plane's environment branch.
    specs.extend(git.change_file_specs(
        &work.join("control-plane"),
        remote,
        "dev",
        "gitops-repo.yaml",
        "point the GitOpsRepo",
        &env,
    ));
    // A new environment branch of an existing control plane, and an Environment added on main.
    specs.extend(git.create_branch_specs(
        &work.join("control-plane"),
        remote,
        "stage",
        "add the environment branch",
        &env,
    ));
    specs.extend(git.add_file_specs(
        &work.join("control-plane"),
        remote,
        "main",
        ".environments/stage.yaml",
        "add the Environment",
        &env,
    ));
    // Its rollback: the five commands the plan lists and the remover runs.
    specs.extend(git.revert_file_specs(
        git::FileRevert {
            dir: "kalypso-bootstrap-revert",
            remote_url: remote,
            branch: "dev",
            path: "gitops-repo.yaml",
            commit: "0123456789abcdef0123456789abcdef01234567",
            message: "put the GitOpsRepo back",
            added: false,
        },
        &env,
    ));
    // The rollback of a file we added: removed instead of checked out.
    specs.extend(git.revert_file_specs(
        git::FileRevert {
            dir: "kalypso-bootstrap-revert",
            remote_url: remote,
            branch: "main",
            path: ".environments/stage.yaml",
            commit: "0123456789abcdef0123456789abcdef01234567",
            message: "remove the Environment",
            added: true,
        },
        &env,
    ));
    specs
}

/// Issue 14 §6: every flag the adapters use has a row with the release that has it, and
/// each tool's declared minimum is the newest release among its rows (gh's and helm's
/// decided by a flag), so a new flag from a newer release cannot slip in unnoticed.
#[test]
fn every_flag_the_adapters_use_is_covered_by_the_cited_minimum_of_its_tool() {
    let sandbox = Sandbox::new(&contexts());
    let specs = every_adapter_spec(&sandbox);
    let mut uncovered = Vec::new();
    let mut used: HashSet<*const FeatureMinimum> = HashSet::new();
    let mut programs = HashSet::new();
    for spec in &specs {
        let tool = spec.program.as_str();
        programs.insert(tool.to_string());
        for (index, flag) in flags_of(&spec.args) {
            match covering_row(tool, &spec.args, index, flag) {
                Some(row) => {
                    used.insert(row as *const _);
                }
                None => uncovered.push(format!("{tool} {flag}  in  {}", spec.display())),
            }
        }
        if spec.env.iter().any(|(name, _)| name == "GIT_CONFIG_COUNT") {
            let row = feature_minimums(tool)
                .find(|row| row.feature == Feature::Other("GIT_CONFIG_COUNT"))
                .expect("GIT_CONFIG_COUNT has a row");
            used.insert(row as *const _);
        }
    }
    assert!(
        uncovered.is_empty(),
        "flags without a cited minimum:\n{}",
        uncovered.join("\n")
    );
    assert_eq!(programs.len(), 5, "{programs:?}");
    for row in FEATURE_MINIMUMS {
        assert!(!row.citation.trim().is_empty(), "{row:?}");
        // A flag row no command line uses is stale (a floor row stands on its citation).
        if matches!(row.feature, Feature::Flag { .. }) {
            assert!(
                used.contains(&(row as *const _)),
                "no command line uses {row:?}"
            );
        }
    }
    for requirement in [AZ, KUBECTL, GH, HELM, GIT] {
        let rows: Vec<&FeatureMinimum> = feature_minimums(requirement.name).collect();
        let newest = rows.iter().map(|row| row.minimum).max().unwrap();
        assert_eq!(
            requirement.minimum(),
            Some(newest),
            "{}: the declared minimum is the newest release its features need",
            requirement.name
        );
    }
    for (requirement, deciding) in [(GH, "--json"), (HELM, "--labels")] {
        let decided_by: Vec<&Feature> = feature_minimums(requirement.name)
            .filter(|row| Some(row.minimum) == requirement.minimum())
            .map(|row| &row.feature)
            .collect();
        assert!(
            decided_by
                .iter()
                .all(|feature| matches!(feature, Feature::Flag { .. }))
                && decided_by.iter().any(
                    |feature| matches!(feature, Feature::Flag { flag, .. } if *flag == deciding)
                ),
            "{}: decided by {decided_by:?}",
            requirement.name
        );
    }
}

/// The matcher must be able to fail: a flag no row names, or a known flag after the wrong
/// command, is not covered.
#[test]
fn a_flag_without_a_row_is_not_covered() {
    let args = |line: &str| line.split(' ').map(String::from).collect::<Vec<_>>();
    let listed = args("secret list --repo o/n --json name");
    assert!(covering_row("gh", &listed, 4, "--json").is_some());
    let viewed = args("repo view o/n --json name");
    assert_eq!(
        covering_row("gh", &viewed, 3, "--json").map(|row| row.minimum),
        Some(kalypso_bootstrap::tools::Version::new(2, 0, 0))
    );
    let unknown = args("secret list --definitely-not-a-flag");
    assert!(covering_row("gh", &unknown, 2, "--definitely-not-a-flag").is_none());
    let misplaced = args("repo list --labels x");
    assert!(covering_row("helm", &misplaced, 2, "--labels").is_none());
    let metadata = args("get metadata r -n ns -o json");
    assert_eq!(
        covering_row("helm", &metadata, 5, "-o").map(|row| row.minimum),
        Some(kalypso_bootstrap::tools::Version::new(3, 13, 0))
    );
    assert_eq!(
        flags_of(&args("upgrade --install r c -f - --timeout=300s")),
        [(1, "--install"), (4, "-f"), (6, "--timeout")]
    );
}

/// az 2.91 rejects a bad choice with "'cilium' is not a valid value for '--network-plugin'.
/// Allowed values: ..." and exit code 2, not argparse's old "invalid choice". The real
/// az's own output must be classed as a usage error, and the simulated az must answer the
/// same command line with the same line and exit code (before any sign-in or look-up: the
/// resource group here exists nowhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_az_bad_choice_is_a_usage_error_and_the_simulator_answers_alike() {
    let sandbox = Sandbox::new(&["ctx"]);
    let runner = ProcessRunner::with_default_timeout(CALL_LIMIT);
    let args = [
        "aks",
        "create",
        "--resource-group",
        "no-such-rg",
        "--name",
        "c",
        "--network-plugin",
        "cilium",
    ];
    let real = runner
        .run(sandbox.prepare(CommandSpec::new("az").args(args)))
        .await
        .unwrap();
    assert_eq!(real.exit_code, Some(2), "{}", real.stderr);
    assert!(
        real.stderr
            .contains("'cilium' is not a valid value for '--network-plugin'"),
        "{}",
        real.stderr
    );
    assert_eq!(
        classify(ToolKind::Az, real.exit_code, &real.stderr, &real.stdout),
        ErrorClass::Usage,
        "{}",
        real.stderr
    );

    let (_dir, env) = crate::support::sim::standard();
    let simulated = env
        .run(CommandSpec::new("az").args(args))
        .await
        .expect("the simulated az runs");
    assert_eq!(simulated.exit_code, real.exit_code, "{}", simulated.stderr);
    let first_line = |text: &str| text.lines().next().unwrap_or_default().to_string();
    assert_eq!(first_line(&simulated.stderr), first_line(&real.stderr));
    assert_eq!(
        classify(
            ToolKind::Az,
            simulated.exit_code,
            &simulated.stderr,
            &simulated.stdout
        ),
        ErrorClass::Usage
    );
}
