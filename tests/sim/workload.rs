//! Workload clusters of the simulation: a second kind cluster and its context beside the
//! management cluster, Flux installed there as on any cluster, and Flux's
//! kustomize-controller applying what a Kustomization names (the gitops repository's
//! cluster-type folder, then the sample workload's manifests from
//! microsoft/kalypso-app-gitops), with garbage collection and new commits followed.

use crate::support::sim::*;
use kalypso_bootstrap::sim::{SeedRepo, SimulatedEnvironment};
use serde_json::Value;

const FLUX_275: &str = "https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml";
const WORKLOAD_SERVER: &str = "https://127.0.0.1:37443";
const NAMESPACE: &str = "dev-default-hello-world-app-functional-test";
const FOLDER: &str = "default/hello-world-app-functional-test";

/// What the Kalypso Scheduler writes for the sample's functional-test target (the
/// templates of templates/control-plane/main/templates/default-template.yaml, rendered),
/// with a platform config holding `config`.
fn target_files(config: &str) -> Vec<(String, String)> {
    vec![
        (
            "default/README.md".to_string(),
            "This folder contains deployment targets scheduled on the cluster type".to_string(),
        ),
        (
            format!("{FOLDER}/namespace.yaml"),
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"{NAMESPACE}\"\n  labels:\n    environment: \"dev\"\n    workspace: \"kaizen-app-team\"\n    workload: \"hello-world-app\"\n    deployment-target: \"functional-test\"\n"),
        ),
        (
            format!("{FOLDER}/reconciler.yaml"),
            format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: \"{NAMESPACE}\"\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  url: \"https://github.com/microsoft/kalypso-app-gitops\"\n  ref:\n    branch: \"dev\"\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: \"{NAMESPACE}\"\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  targetNamespace: \"{NAMESPACE}\"\n  sourceRef:\n    kind: GitRepository\n    name: \"{NAMESPACE}\"\n  path: \"./functional-test\"\n  prune: true\n"),
        ),
        (
            format!("{FOLDER}/platform-config.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: platform-config\n  namespace: \"{NAMESPACE}\"\ndata:\n{config}"),
        ),
    ]
}

const FULL_CONFIG: &str = "  CLUSTER_NAME: default\n  DATABASE_URL: postgres://db\n  ENVIRONMENT: dev\n  REGION: westus\n";

/// A world with a management AKS cluster (context `mgmt` in its own kubeconfig) and the
/// workload kind cluster `kind-workload` in the default kubeconfig; the gitops repository
/// `acme/gitops` (private) with `dev` holding `files`.
async fn world(files: &[(String, String)]) -> (tempfile::TempDir, SimulatedEnvironment, String) {
    let (dir, env) = standard();
    cluster_with_context(&env, "rg", "mgmt", "mgmt").await;
    let context = env
        .seed_kind_cluster("workload", WORKLOAD_SERVER, 2)
        .expect("a kind cluster");
    assert_eq!(context, "kind-workload");
    let mut seed = SeedRepo::new("acme", "gitops").with_file("main", "README.md", "gitops\n");
    for (path, content) in files {
        seed = seed.with_file("dev", path, content.as_bytes().to_vec());
    }
    env.seed_repo(seed).unwrap();
    let kubeconfig = env.default_kubeconfig().display().to_string();
    (dir, env, kubeconfig)
}

fn workload(kubeconfig: &str, args: &[&str]) -> kalypso_bootstrap::tools::CommandSpec {
    kubectl(kubeconfig, "kind-workload", args)
}

async fn install_flux(env: &SimulatedEnvironment, kubeconfig: &str) {
    ok(
        env,
        workload(kubeconfig, &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
}

/// The engine's objects on a workload cluster (the contract): a read credential, the
/// GitRepository on the environment branch and the Kustomization on `./CLUSTER_TYPE`.
fn attach_manifest(url: &str, secret: Option<&str>) -> String {
    let secret_ref = secret
        .map(|s| format!("  secretRef:\n    name: {s}\n"))
        .unwrap_or_default();
    format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: kalypso-gitops-dev\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  url: {url}\n  ref:\n    branch: dev\n{secret_ref}---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: kalypso-gitops-dev\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  path: ./default\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: kalypso-gitops-dev\n")
}

fn token_secret() -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: kalypso-gitops-dev-auth\n  namespace: flux-system\nstringData:\n  username: git\n  password: {ALICE_TOKEN}\n")
}

async fn get_json(env: &SimulatedEnvironment, kubeconfig: &str, args: &[&str]) -> Value {
    let mut full = vec!["get"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["-o", "json"]);
    ok_json(env, workload(kubeconfig, &full)).await
}

/// A kubectl call on the workload cluster as one reads it: `words` split at white space.
fn workload_words(kubeconfig: &str, words: &str) -> kalypso_bootstrap::tools::CommandSpec {
    workload(kubeconfig, &words.split_whitespace().collect::<Vec<_>>())
}

/// Attach the workload cluster to acme/gitops as the engine does: the token Secret and the
/// GitRepository and Kustomization that read with it.
async fn attach_with_token(env: &SimulatedEnvironment, kubeconfig: &str) {
    attach_with_token_on(env, kubeconfig, "kind-workload").await;
}

/// [`attach_with_token`] on the cluster of `context`.
async fn attach_with_token_on(env: &SimulatedEnvironment, kubeconfig: &str, context: &str) {
    ok(
        env,
        kubectl(kubeconfig, context, &["apply", "-f", "-"]).stdin_bytes(format!(
            "{}---\n{}",
            token_secret(),
            attach_manifest(
                "https://github.com/acme/gitops",
                Some("kalypso-gitops-dev-auth")
            )
        )),
    )
    .await;
}

/// A Flux object (`kind` named `name` in flux-system) on the workload cluster, as JSON.
async fn flux_object(
    env: &SimulatedEnvironment,
    kubeconfig: &str,
    kind: &str,
    name: &str,
) -> Value {
    get_json(env, kubeconfig, &[kind, name, "-n", "flux-system"]).await
}

fn ready(object: &Value) -> (String, String) {
    let condition = object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .cloned()
        .unwrap_or(Value::Null);
    (
        condition["status"]
            .as_str()
            .unwrap_or("missing")
            .to_string(),
        condition["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Commit `content` at `path` on `branch` of `acme/gitops` with real git; returns the new
/// head.
fn commit(env: &SimulatedEnvironment, branch: &str, path: &str, content: &str) -> String {
    let bare = env.bare_repo_path("acme", "gitops");
    let work = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.test"])
            .args(args)
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&[
        "clone",
        "-q",
        "-b",
        branch,
        &bare.display().to_string(),
        ".",
    ]);
    let file = work.path().join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, content).unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "change"]);
    git(&["push", "-q", "origin", branch]);
    git(&["rev-parse", "HEAD"])
}

/// The second context answers with its own nodes and no Flux; Flux installs there the way
/// it does on the management cluster, which keeps being the current context.
#[tokio::test]
async fn a_workload_cluster_answers_beside_the_management_cluster_and_takes_flux() {
    let (_dir, env, kc) = world(&[]).await;
    let nodes = get_json(&env, &kc, &["nodes"]).await;
    let names: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["workload-control-plane", "workload-worker"]);
    let no_flux = run(
        &env,
        workload(
            &kc,
            &["get", "crd", "kustomizations.kustomize.toolkit.fluxcd.io"],
        ),
    )
    .await;
    assert_eq!(no_flux.exit_code, Some(1));
    assert!(no_flux.stderr.contains("NotFound"), "{}", no_flux.stderr);
    let current = ok(
        &env,
        spec(
            "kubectl",
            &["--kubeconfig", &kc, "config", "current-context"],
        ),
    )
    .await;
    assert_eq!(
        current.trim(),
        "kind-workload",
        "the only context of this kubeconfig"
    );

    install_flux(&env, &kc).await;
    let waited = ok(
        &env,
        workload_words(
            &kc,
            "wait --for=condition=Available deployment --all -n flux-system --timeout=300s",
        ),
    )
    .await;
    assert!(
        waited.contains("deployment.apps/kustomize-controller condition met"),
        "{waited}"
    );
    // The management cluster has no Flux of it.
    let mgmt = env.root().join("kubeconfig-test").display().to_string();
    let none = run(
        &env,
        kubectl(&mgmt, "mgmt", &["get", "deployments", "-n", "flux-system"]),
    )
    .await;
    assert!(
        none.stderr
            .contains("No resources found in flux-system namespace."),
        "{}",
        none.stderr
    );
}

/// The gitops branch's cluster-type folder applied on the workload cluster: the Namespace,
/// the platform ConfigMap and the nested GitRepository/Kustomization, which fetch
/// microsoft/kalypso-app-gitops and run the hello-world Deployment there. A new commit moves
/// `lastAppliedRevision`; deleting the outer Kustomization removes all of it.
#[tokio::test]
async fn a_kustomization_applies_the_gitops_folder_and_the_sample_workload_runs() {
    let (_dir, env, kc) = world(&target_files(FULL_CONFIG)).await;
    install_flux(&env, &kc).await;
    attach_with_token(&env, &kc).await;
    let head = env.snapshot().github.repos["acme/gitops"].heads["dev"].clone();
    let outer = flux_object(&env, &kc, "kustomization", "kalypso-gitops-dev").await;
    assert_eq!(
        ready(&outer),
        (
            "True".to_string(),
            format!("Applied revision: dev@sha1:{head}")
        )
    );
    assert_eq!(
        outer["status"]["lastAppliedRevision"],
        format!("dev@sha1:{head}")
    );

    let namespace = get_json(&env, &kc, &["namespace", NAMESPACE]).await;
    assert_eq!(
        namespace["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "kalypso-gitops-dev"
    );
    assert_eq!(
        namespace["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/namespace"],
        "flux-system"
    );
    assert_eq!(
        namespace["metadata"]["labels"]["deployment-target"],
        "functional-test"
    );
    let config = get_json(
        &env,
        &kc,
        &["configmap", "platform-config", "-n", NAMESPACE],
    )
    .await;
    assert_eq!(config["data"]["REGION"], "westus");

    let app_head = env.snapshot().github.repos["microsoft/kalypso-app-gitops"].heads["dev"].clone();
    let source = flux_object(&env, &kc, "gitrepository", NAMESPACE).await;
    assert_eq!(ready(&source).0, "True", "{source}");
    assert_eq!(
        source["status"]["artifact"]["revision"],
        format!("dev@sha1:{app_head}")
    );
    let nested = flux_object(&env, &kc, "kustomization", NAMESPACE).await;
    assert_eq!(
        ready(&nested),
        (
            "True".to_string(),
            format!("Applied revision: dev@sha1:{app_head}")
        )
    );

    // functional-test/kustomization.yaml names only gen_manifests.yaml: the Service and the
    // Deployment, into the target namespace (not the nested folders' copies).
    let deployments = get_json(&env, &kc, &["deployments", "-n", NAMESPACE]).await;
    let items = deployments["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{deployments}");
    let deployment = &items[0];
    assert_eq!(deployment["metadata"]["name"], "hello-world-deployment");
    assert_eq!(
        deployment["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        NAMESPACE
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/microsoft/kalypso-app-src/hello-world:0.0.1-33"
    );
    let service = get_json(
        &env,
        &kc,
        &["service", "hello-world-service", "-n", NAMESPACE],
    )
    .await;
    assert_eq!(service["spec"]["ports"][0]["port"], 9090);
    let waited = ok(
        &env,
        workload_words(&kc, &format!("wait --for=condition=Available deployment/hello-world-deployment -n {NAMESPACE} --timeout=120s")),
    )
    .await;
    assert!(waited.contains("condition met"), "{waited}");
    let pods = get_json(
        &env,
        &kc,
        &["pods", "-n", NAMESPACE, "-l", "app=hello-world"],
    )
    .await;
    let pods = pods["items"].as_array().unwrap();
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["status"]["phase"], "Running");
    let table = ok(&env, workload(&kc, &["get", "pods", "-n", NAMESPACE])).await;
    assert!(table.contains("hello-world-deployment-"), "{table}");

    // A new commit on the branch is applied.
    let moved = commit(
        &env,
        "dev",
        &format!("{FOLDER}/platform-config.yaml"),
        &target_files(&FULL_CONFIG.replace("westus", "eastus"))[3].1,
    );
    let outer = flux_object(&env, &kc, "kustomization", "kalypso-gitops-dev").await;
    assert_eq!(
        outer["status"]["lastAppliedRevision"],
        format!("dev@sha1:{moved}")
    );
    let config = get_json(
        &env,
        &kc,
        &["configmap", "platform-config", "-n", NAMESPACE],
    )
    .await;
    assert_eq!(config["data"]["REGION"], "eastus");

    // Deleting the Kustomization (prune: true) garbage-collects everything it applied.
    ok(
        &env,
        workload_words(
            &kc,
            "delete kustomization kalypso-gitops-dev -n flux-system --ignore-not-found",
        ),
    )
    .await;
    let gone = run(&env, workload(&kc, &["get", "namespace", NAMESPACE])).await;
    assert_eq!(gone.exit_code, Some(1));
    assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
    for kind in ["kustomizations", "gitrepositories"] {
        let left = get_json(&env, &kc, &[kind, "-n", "flux-system"]).await;
        let names: Vec<&str> = left["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if kind == "gitrepositories" {
            &["kalypso-gitops-dev"]
        } else {
            &[]
        };
        assert_eq!(names, expected, "{kind}");
    }
    let pods = get_json(&env, &kc, &["pods", "-A", "-l", "app=hello-world"]).await;
    assert!(pods["items"].as_array().unwrap().is_empty());
}

/// The hello-world pod reads four keys of ConfigMap `platform-config`: without one of them
/// the kubelet leaves it in CreateContainerConfigError and the Deployment unavailable.
#[tokio::test]
async fn the_sample_pod_waits_for_the_platform_config_it_reads() {
    let (_dir, env, kc) = world(&target_files(
        "  ENVIRONMENT: dev\n  CLUSTER_TYPE: default\n",
    ))
    .await;
    install_flux(&env, &kc).await;
    attach_with_token(&env, &kc).await;
    let pods = get_json(&env, &kc, &["pods", "-n", NAMESPACE]).await;
    let pod = &pods["items"][0];
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"],
        serde_json::json!({"reason": "CreateContainerConfigError", "message": format!("couldn't find key CLUSTER_NAME in ConfigMap {NAMESPACE}/platform-config")})
    );
    let waited = run(
        &env,
        workload_words(&kc, &format!("wait --for=condition=Available deployment/hello-world-deployment -n {NAMESPACE} --timeout=1s")),
    )
    .await;
    assert_eq!(waited.exit_code, Some(1));
    let rollout = run(
        &env,
        workload_words(
            &kc,
            &format!(
                "rollout status deployment/hello-world-deployment -n {NAMESPACE} --timeout=1s"
            ),
        ),
    )
    .await;
    assert_eq!(rollout.exit_code, Some(1));
    assert_eq!(
        rollout.stderr.trim(),
        "error: timed out waiting for the condition"
    );
}

/// Flux's failures: a private gitops repository without a credential, a path the branch
/// does not have, and a nested source whose branch has no such folder (the sample's
/// `uat-test` target on the real stage branch) keep the real errors.
#[tokio::test]
async fn failing_sources_and_paths_keep_fluxs_errors() {
    let mut files = target_files(FULL_CONFIG);
    files[2].1 = files[2]
        .1
        .replace("branch: \"dev\"", "branch: \"stage\"")
        .replace("./functional-test", "./uat-test");
    let (_dir, env, kc) = world(&files).await;
    install_flux(&env, &kc).await;
    ok(
        &env,
        workload(&kc, &["apply", "-f", "-"])
            .stdin_bytes(attach_manifest("https://github.com/acme/gitops", None)),
    )
    .await;
    let source = flux_object(&env, &kc, "gitrepository", "kalypso-gitops-dev").await;
    assert_eq!(
        ready(&source),
        ("False".to_string(), "failed to checkout and determine revision: unable to clone 'https://github.com/acme/gitops': authentication required: Repository not found.".to_string())
    );
    let outer = flux_object(&env, &kc, "kustomization", "kalypso-gitops-dev").await;
    assert_eq!(ready(&outer).0, "False");
    let absent = run(&env, workload(&kc, &["get", "namespace", NAMESPACE])).await;
    assert_eq!(absent.exit_code, Some(1));

    attach_with_token(&env, &kc).await;
    let nested = flux_object(&env, &kc, "kustomization", NAMESPACE).await;
    assert_eq!(
        ready(&nested),
        ("False".to_string(), "kustomization path not found: stat /tmp/kustomization-2718281828/uat-test: no such file or directory".to_string())
    );
    // What the outer one applied is there; nothing of the workload.
    get_json(&env, &kc, &["namespace", NAMESPACE]).await;
    let deployments = get_json(&env, &kc, &["deployments", "-n", NAMESPACE]).await;
    assert!(deployments["items"].as_array().unwrap().is_empty());

    // A nested source on a branch the repository does not have: source-controller's error,
    // and its last artifact (of `stage`) kept.
    let stage = env.snapshot().github.repos["microsoft/kalypso-app-gitops"].heads["stage"].clone();
    commit(
        &env,
        "dev",
        &format!("{FOLDER}/reconciler.yaml"),
        &files[2]
            .1
            .replace("branch: \"stage\"", "branch: \"no-such-branch\""),
    );
    let source = flux_object(&env, &kc, "gitrepository", NAMESPACE).await;
    assert_eq!(
        ready(&source),
        ("False".to_string(), "failed to checkout and determine revision: unable to clone 'https://github.com/microsoft/kalypso-app-gitops': couldn't find remote ref \"refs/heads/no-such-branch\"".to_string())
    );
    assert_eq!(
        source["status"]["artifact"]["revision"],
        format!("stage@sha1:{stage}")
    );
}

/// The engine's read-only credential (the contract): a Secret with `identity`,
/// `identity.pub` and `known_hosts`.
fn ssh_secret(identity: &str, public: &str, known_hosts: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "kalypso-gitops-dev-deploy-key", "namespace": "flux-system"},
        "stringData": {"identity": identity, "identity.pub": public, "known_hosts": known_hosts},
    })
    .to_string()
}

async fn add_deploy_key(env: &SimulatedEnvironment, repo: &str, public: &str) -> u64 {
    let body = serde_json::json!({"title": "workload", "key": public, "read_only": true});
    let created = ok_json(
        env,
        gh_words(
            ALICE_TOKEN,
            &format!("api --method POST repos/{repo}/keys --input -"),
        )
        .stdin_bytes(body.to_string()),
    )
    .await;
    created["id"].as_u64().unwrap()
}

/// An `ssh://git@github.com/OWNER/NAME.git` source is Ready with a deploy key of that
/// repository and github.com's key in `known_hosts` (from `gh api meta`); each missing piece
/// gives Flux's own error, and deleting the deploy key fails it again.
#[tokio::test]
async fn an_ssh_source_reads_with_a_deploy_key_and_known_hosts() {
    let (_dir, env, kc) = world(&target_files(FULL_CONFIG)).await;
    env.seed_repo(SeedRepo::new("acme", "other").with_file("main", "README.md", "x\n"))
        .unwrap();
    install_flux(&env, &kc).await;
    let url = "ssh://git@github.com/acme/gitops.git";
    let meta = ok_json(&env, gh_words(ALICE_TOKEN, "api meta")).await;
    let known_hosts: String = meta["ssh_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("github.com {}\n", k.as_str().unwrap()))
        .collect();
    let (identity, public) = ssh_key_pair("flux@workload");
    let apply = |secret: String| {
        workload(&kc, &["apply", "-f", "-"]).stdin_bytes(format!(
            "{secret}\n---\n{}",
            attach_manifest(url, Some("kalypso-gitops-dev-deploy-key"))
        ))
    };
    let source_status = || async {
        let source = flux_object(&env, &kc, "gitrepository", "kalypso-gitops-dev").await;
        ready(&source)
    };
    let clone_error = |why: &str| {
        format!("failed to checkout and determine revision: unable to clone '{url}': {why}")
    };

    // No key on GitHub yet.
    ok(&env, apply(ssh_secret(&identity, &public, &known_hosts))).await;
    assert_eq!(
        source_status().await,
        ("False".to_string(), clone_error("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"))
    );
    // A deploy key of another repository: GitHub knows the key, not for this one.
    let elsewhere = add_deploy_key(&env, "acme/other", &public).await;
    assert_eq!(
        source_status().await,
        ("False".to_string(), clone_error("repository not found"))
    );
    ok(
        &env,
        gh_words(
            ALICE_TOKEN,
            &format!("api --method DELETE repos/acme/other/keys/{elsewhere}"),
        ),
    )
    .await;

    let id = add_deploy_key(&env, "acme/gitops", &public).await;
    let head = env.snapshot().github.repos["acme/gitops"].heads["dev"].clone();
    let (status, message) = source_status().await;
    assert_eq!(status, "True", "{message}");
    assert_eq!(
        message,
        format!("stored artifact for revision 'dev@sha1:{head}'")
    );
    let outer = flux_object(&env, &kc, "kustomization", "kalypso-gitops-dev").await;
    assert_eq!(
        outer["status"]["lastAppliedRevision"],
        format!("dev@sha1:{head}")
    );
    get_json(&env, &kc, &["namespace", NAMESPACE]).await;

    // known_hosts without github.com, then with a key that is not github.com's.
    ok(&env, apply(ssh_secret(&identity, &public, "gitlab.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfuCHKVTjquxvt6CM6tdG4SLp1Btn/nOeGdHEDZAxv0\n"))).await;
    assert_eq!(
        source_status().await,
        (
            "False".to_string(),
            clone_error("ssh: handshake failed: knownhosts: key is unknown")
        )
    );
    ok(&env, apply(ssh_secret(&identity, &public, "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfuCHKVTjquxvt6CM6tdG4SLp1Btn/nOeGdHEDZAxv0\n"))).await;
    assert_eq!(
        source_status().await,
        (
            "False".to_string(),
            clone_error("ssh: handshake failed: knownhosts: key mismatch")
        )
    );
    // Another identity, not a deploy key anywhere.
    let (stranger, stranger_public) = ssh_key_pair("stranger");
    ok(
        &env,
        apply(ssh_secret(&stranger, &stranger_public, &known_hosts)),
    )
    .await;
    assert_eq!(
        source_status().await,
        ("False".to_string(), clone_error("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"))
    );
    // A Secret without known_hosts.
    let no_known_hosts = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "kalypso-gitops-dev-deploy-key", "namespace": "flux-system"},
        "stringData": {"identity": identity},
    });
    ok(
        &env,
        workload_words(
            &kc,
            "delete secret kalypso-gitops-dev-deploy-key -n flux-system",
        ),
    )
    .await;
    ok(&env, apply(no_known_hosts.to_string())).await;
    assert_eq!(
        source_status().await,
        ("False".to_string(), "failed to configure authentication options: invalid 'ssh' auth option: 'known_hosts' is required".to_string())
    );

    // Back to the right Secret: Ready; the key deleted on GitHub: failing again.
    ok(&env, apply(ssh_secret(&identity, &public, &known_hosts))).await;
    assert_eq!(source_status().await.0, "True");
    ok(
        &env,
        gh_words(
            ALICE_TOKEN,
            &format!("api --method DELETE repos/acme/gitops/keys/{id}"),
        ),
    )
    .await;
    assert_eq!(
        source_status().await,
        ("False".to_string(), clone_error("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"))
    );
    // source-controller keeps its last artifact through failed fetches, and what the
    // Kustomization applied from it stays.
    let source = flux_object(&env, &kc, "gitrepository", "kalypso-gitops-dev").await;
    assert_eq!(
        source["status"]["artifact"]["revision"],
        format!("dev@sha1:{head}")
    );
    let outer = flux_object(&env, &kc, "kustomization", "kalypso-gitops-dev").await;
    assert_eq!(
        outer["status"]["lastAppliedRevision"],
        format!("dev@sha1:{head}")
    );
    get_json(&env, &kc, &["namespace", NAMESPACE]).await;
}

/// `--workload-cluster self`: on the management cluster, beside the Kalypso chart's own
/// `control-plane` Kustomization (whose content the simulated scheduler derives), a
/// Kustomization a client applies is applied as on any cluster.
#[tokio::test]
async fn the_management_cluster_applies_a_client_kustomization_beside_the_charts() {
    let (dir, env, _) = world(&target_files(FULL_CONFIG)).await;
    env.seed_repo(
        SeedRepo::new("acme", "cp")
            .with_file(
                "main",
                ".environments/dev/kustomization.yaml",
                "resources: []\n",
            )
            .with_file("main", "README.md", "control plane\n"),
    )
    .unwrap();
    let mgmt = env.root().join("kubeconfig-test").display().to_string();
    ok(
        &env,
        kubectl(&mgmt, "mgmt", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    let values = dir.path().join("values.yaml");
    std::fs::write(
        &values,
        format!("controlPlaneURL: https://github.com/acme/cp\ncontrolPlaneBranch: main\nghRepoToken: {ALICE_TOKEN}\n"),
    )
    .unwrap();
    ok(
        &env,
        helm(
            &mgmt,
            "mgmt",
            &[
                "upgrade",
                "--install",
                "kalypso-scheduler",
                "kalypso-scheduler",
                "--repo",
                "https://microsoft.github.io/kalypso-scheduler",
                "--version",
                "1.1.2-alpha",
                "--namespace",
                "kalypso-system",
                "--create-namespace",
                "-f",
                &values.display().to_string(),
                "--wait",
                "--timeout",
                "5m0s",
            ],
        ),
    )
    .await;
    attach_with_token_on(&env, &mgmt, "mgmt").await;
    let listed = ok_json(
        &env,
        kubectl(
            &mgmt,
            "mgmt",
            &["get", "kustomizations", "-n", "flux-system", "-o", "json"],
        ),
    )
    .await;
    let mut names: Vec<(String, String)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["metadata"]["name"].as_str().unwrap().to_string(),
                ready(k).0,
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("control-plane".to_string(), "True".to_string()),
            (NAMESPACE.to_string(), "True".to_string()),
            ("kalypso-gitops-dev".to_string(), "True".to_string()),
        ]
    );
    let pods = ok_json(
        &env,
        kubectl(
            &mgmt,
            "mgmt",
            &["get", "pods", "-n", NAMESPACE, "-o", "json"],
        ),
    )
    .await;
    assert_eq!(pods["items"][0]["status"]["phase"], "Running");
}
