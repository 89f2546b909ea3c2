//! The simulated kubectl and helm against a simulated AKS cluster: real JSON shapes, Flux
//! installed from its release manifest, the Kalypso chart installed with its CRDs, and
//! rollback commands undoing each.

use crate::support::sim::*;
use kalypso_bootstrap::sim::{kalypso_crd_names, KubeFlavour, SeedRepo, SimulatedEnvironment};
use serde_json::Value;

const FLUX_275: &str = "https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml";
const FLUX_280: &str = "https://github.com/fluxcd/flux2/releases/download/v2.8.0/install.yaml";
const CHART_REPO: &str = "https://microsoft.github.io/kalypso-scheduler";

async fn cluster(env: &SimulatedEnvironment) -> String {
    cluster_with_context(env, "rg", "c1", "ctx").await
}

fn served(crd: &Value) -> Vec<String> {
    crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["served"] == true)
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_new_cluster_answers_with_ready_nodes_and_running_system_pods() {
    let (_dir, env) = standard();
    let kc = cluster(&env).await;
    let version = ok_json(&env, kubectl(&kc, "ctx", &["version", "-o", "json"])).await;
    assert!(version["serverVersion"]["gitVersion"]
        .as_str()
        .unwrap()
        .starts_with("v1."));
    assert!(version["clientVersion"]["gitVersion"].is_string());

    let nodes = ok_json(&env, kubectl(&kc, "ctx", &["get", "nodes", "-o", "json"])).await;
    assert_eq!(nodes["kind"], "List");
    for node in nodes["items"].as_array().unwrap() {
        let ready = node["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
    }
    let pods = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["get", "pods", "-n", "kube-system", "-o", "json"],
        ),
    )
    .await;
    let pods = pods["items"].as_array().unwrap();
    assert!(pods.len() > 5);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Running"));
    assert!(pods
        .iter()
        .all(|p| p["metadata"]["namespace"] == "kube-system"));

    let ns = run(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["get", "namespace", "kalypso-system", "-o", "json"],
        ),
    )
    .await;
    assert_eq!(ns.exit_code, Some(1));
    assert_eq!(
        ns.stderr.trim(),
        "Error from server (NotFound): namespaces \"kalypso-system\" not found"
    );
    let no_type = run(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "gitrepositories.source.toolkit.fluxcd.io",
                "control-plane",
                "-n",
                "x",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(no_type.exit_code, Some(1));
    assert!(no_type
        .stderr
        .contains("the server doesn't have a resource type"));

    let created = ok(
        &env,
        kubectl(&kc, "ctx", &["create", "namespace", "kalypso-system"]),
    )
    .await;
    assert_eq!(created.trim(), "namespace/kalypso-system created");
    let again = run(
        &env,
        kubectl(&kc, "ctx", &["create", "namespace", "kalypso-system"]),
    )
    .await;
    assert_eq!(
        again.stderr.trim(),
        "Error from server (AlreadyExists): namespaces \"kalypso-system\" already exists"
    );
    let single = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["get", "namespace", "kalypso-system", "-o", "json"],
        ),
    )
    .await;
    assert_eq!(single["kind"], "Namespace");
    assert_eq!(single["status"]["phase"], "Active");
    let empty = run(
        &env,
        kubectl(&kc, "ctx", &["get", "pods", "-n", "kalypso-system"]),
    )
    .await;
    assert_eq!(empty.exit_code, Some(0));
    assert_eq!(
        empty.stderr.trim(),
        "No resources found in kalypso-system namespace."
    );
}

#[tokio::test]
async fn flux_install_creates_controllers_and_crds_serving_v1_and_v1beta2() {
    let (_dir, env) = standard();
    let kc = cluster(&env).await;
    let missing = run(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "crd",
                "gitrepositories.source.toolkit.fluxcd.io",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(missing.stderr.trim(), "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"gitrepositories.source.toolkit.fluxcd.io\" not found");

    let applied = ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    assert!(
        applied
            .lines()
            .any(|l| l == "namespace/flux-system serverside-applied"),
        "{applied}"
    );
    assert!(applied.lines().any(|l| l == "customresourcedefinition.apiextensions.k8s.io/gitrepositories.source.toolkit.fluxcd.io serverside-applied"));
    assert!(applied
        .lines()
        .any(|l| l == "deployment.apps/source-controller serverside-applied"));

    for crd in [
        "gitrepositories.source.toolkit.fluxcd.io",
        "kustomizations.kustomize.toolkit.fluxcd.io",
    ] {
        let object = ok_json(
            &env,
            kubectl(&kc, "ctx", &["get", "crd", crd, "-o", "json"]),
        )
        .await;
        assert_eq!(served(&object), ["v1", "v1beta2"], "{crd}");
    }
    let waited = ok(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "wait",
                "--for=condition=Available",
                "deployment",
                "--all",
                "-n",
                "flux-system",
                "--timeout=300s",
            ],
        ),
    )
    .await;
    assert_eq!(waited.lines().count(), 4);
    assert!(
        waited.lines().all(|l| l.ends_with(" condition met")),
        "{waited}"
    );
    let deployments = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["get", "deployment,pods", "-n", "flux-system", "-o", "json"],
        ),
    )
    .await;
    let items = deployments["items"].as_array().unwrap();
    assert_eq!(
        items.iter().filter(|i| i["kind"] == "Deployment").count(),
        4
    );
    assert_eq!(items.iter().filter(|i| i["kind"] == "Pod").count(), 4);
    assert!(items
        .iter()
        .filter(|i| i["kind"] == "Deployment")
        .all(|d| d["status"]["availableReplicas"] == 1));

    let unknown = run(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "apply",
                "--server-side",
                "-f",
                "https://github.com/fluxcd/flux2/releases/download/v9.0.0/install.yaml",
            ],
        ),
    )
    .await;
    assert_eq!(unknown.exit_code, Some(1));
    assert!(unknown.stderr.contains("404"), "{}", unknown.stderr);

    // Rollback: delete -f the same manifest removes it all.
    let deleted = ok(&env, kubectl(&kc, "ctx", &["delete", "-f", FLUX_275])).await;
    assert!(
        deleted.contains("namespace \"flux-system\" deleted"),
        "{deleted}"
    );
    let crds = ok_json(&env, kubectl(&kc, "ctx", &["get", "crd", "-o", "json"])).await;
    assert!(crds["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn flux_2_8_no_longer_serves_v1beta2() {
    let (_dir, env) = standard();
    let kc = cluster(&env).await;
    ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_280]),
    )
    .await;
    let object = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "crd",
                "gitrepositories.source.toolkit.fluxcd.io",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(served(&object), ["v1"]);
}

/// Our values file, with the keys the published chart reads.
fn values_file(dir: &std::path::Path, url: &str, token: &str) -> String {
    let path = dir.join("values.yaml");
    std::fs::write(
        &path,
        format!("controlPlaneURL: {url}\ncontrolPlaneBranch: main\nghRepoToken: {token}\n"),
    )
    .unwrap();
    path.display().to_string()
}

fn install_args<'a>(values: &'a str, version: &'a str) -> Vec<&'a str> {
    vec![
        "upgrade",
        "--install",
        "kalypso-scheduler",
        "kalypso-scheduler",
        "--repo",
        CHART_REPO,
        "--version",
        version,
        "--namespace",
        "kalypso-system",
        "--create-namespace",
        "-f",
        values,
        "--wait",
        "--timeout",
        "5m0s",
    ]
}

#[tokio::test]
async fn helm_install_creates_the_crds_the_controller_and_a_ready_control_plane_source() {
    let (dir, env) = standard();
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
    let kc = cluster(&env).await;
    let shown = ok(
        &env,
        spec(
            "helm",
            &[
                "show",
                "chart",
                "kalypso-scheduler",
                "--repo",
                CHART_REPO,
                "--version",
                "1.1.2-alpha",
            ],
        ),
    )
    .await;
    assert!(
        shown.contains("name: kalypso-scheduler") && shown.contains("version: 1.1.2-alpha"),
        "{shown}"
    );
    let missing = run(
        &env,
        spec(
            "helm",
            &[
                "show",
                "chart",
                "kalypso-scheduler",
                "--repo",
                CHART_REPO,
                "--version",
                "9.9.9",
            ],
        ),
    )
    .await;
    assert_eq!(missing.exit_code, Some(1));
    assert_eq!(missing.stderr.trim(), format!("Error: chart \"kalypso-scheduler\" version \"9.9.9\" not found in {CHART_REPO} repository"));

    let values = values_file(dir.path(), "https://github.com/acme/cp", ALICE_TOKEN);
    // Without Flux, the chart's GitRepository (v1beta2) has no type to map to.
    let no_flux = run(
        &env,
        helm(&kc, "ctx", &install_args(&values, "1.1.2-alpha")),
    )
    .await;
    assert_eq!(no_flux.exit_code, Some(1));
    assert!(
        no_flux.stderr.contains(
            "no matches for kind \"GitRepository\" in version \"source.toolkit.fluxcd.io/v1beta2\""
        ),
        "{}",
        no_flux.stderr
    );
    assert!(env
        .snapshot()
        .kube_clusters
        .values()
        .all(|c| c.releases.is_empty()));

    ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    // `-f -` reads the values from stdin, as real helm does: with nothing there, the
    // chart's `required` URL fails (helm 3.17's text for the vendored chart).
    let empty_stdin = run(&env, helm(&kc, "ctx", &install_args("-", "1.1.2-alpha"))).await;
    assert_eq!(empty_stdin.exit_code, Some(1));
    assert_eq!(
        empty_stdin.stderr.trim(),
        "Error: execution error at (kalypso-scheduler/templates/controlplanerepo.yaml:37:11): Control Plane repo URL (controlPlaneURL) is required"
    );
    let installed = run(
        &env,
        helm(&kc, "ctx", &install_args("-", "1.1.2-alpha"))
            .stdin_bytes(std::fs::read(&values).unwrap()),
    )
    .await;
    assert_eq!(installed.exit_code, Some(0), "{}", installed.stderr);
    assert!(installed.stdout.starts_with("Release \"kalypso-scheduler\" does not exist. Installing it now.\nNAME: kalypso-scheduler"), "{}", installed.stdout);
    assert!(installed.stdout.contains("STATUS: deployed"));

    let crds = ok_json(&env, kubectl(&kc, "ctx", &["get", "crd", "-o", "json"])).await;
    let names: Vec<&str> = crds["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    for name in kalypso_crd_names() {
        assert!(names.contains(&name.as_str()), "{name}");
    }
    let deployment = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "deployment",
                "kalypso-scheduler-controller-manager",
                "-n",
                "kalypso-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(deployment["status"]["availableReplicas"], 1);
    let pods = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["get", "pods", "-n", "kalypso-system", "-o", "json"],
        ),
    )
    .await;
    assert!(pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["status"]["phase"] == "Running"));
    assert!(!pods["items"].as_array().unwrap().is_empty());

    let source = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "gitrepositories.source.toolkit.fluxcd.io",
                "control-plane",
                "-n",
                "flux-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    let ready = &source["status"]["conditions"][0];
    assert_eq!(ready["type"], "Ready");
    assert_eq!(ready["status"], "True", "{source}");
    let kustomization = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "kustomizations.kustomize.toolkit.fluxcd.io",
                "control-plane",
                "-n",
                "flux-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(
        kustomization["status"]["conditions"][0]["status"], "True",
        "{kustomization}"
    );

    let status = ok_json(
        &env,
        helm(
            &kc,
            "ctx",
            &[
                "status",
                "kalypso-scheduler",
                "-n",
                "kalypso-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["chart"]["metadata"]["version"], "1.1.2-alpha");
    // Real helm prints the user-supplied values whole (`config`), the token in plain text:
    // only our adapter may keep it from going further.
    assert_eq!(
        status["config"]["ghRepoToken"], ALICE_TOKEN,
        "helm status shows the values as real helm does"
    );
    let list = ok_json(
        &env,
        helm(&kc, "ctx", &["list", "-n", "kalypso-system", "-o", "json"]),
    )
    .await;
    assert_eq!(list[0]["chart"], "kalypso-scheduler-1.1.2-alpha");
    assert_eq!(list[0]["revision"], "1");

    let snapshot = serde_json::to_string(&env.snapshot()).unwrap();
    assert!(
        !snapshot.contains(ALICE_TOKEN),
        "the chart's token is not in the snapshot"
    );
    let server = env.aks_server("rg", "c1").unwrap();
    assert!(env.kube_secret_is(
        &server,
        "kalypso-system",
        "gh-repo-secret",
        "token",
        ALICE_TOKEN
    ));

    // A Workload is accepted and deleted again.
    let workload = "apiVersion: scheduler.kalypso.io/v1alpha1\nkind: Workload\nmetadata:\n  name: probe\n  namespace: kalypso-system\nspec:\n  deploymentTargets:\n  - name: t\n    environment: dev\n    manifests: {repo: x}\n";
    let applied = ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "-f", "-"]).stdin_bytes(workload),
    )
    .await;
    assert_eq!(
        applied.trim(),
        "workload.scheduler.kalypso.io/probe created"
    );
    let deleted = ok(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "delete",
                "workloads.scheduler.kalypso.io",
                "probe",
                "-n",
                "kalypso-system",
            ],
        ),
    )
    .await;
    assert_eq!(
        deleted.trim(),
        "workload.scheduler.kalypso.io \"probe\" deleted"
    );
    let invalid = run(
        &env,
        kubectl(&kc, "ctx", &["apply", "-f", "-"])
            .stdin_bytes(workload.replace("    manifests: {repo: x}\n", "")),
    )
    .await;
    assert_eq!(invalid.exit_code, Some(1));
    assert!(
        invalid
            .stderr
            .contains("spec.deploymentTargets[0].manifests: Required value"),
        "{}",
        invalid.stderr
    );
}

#[tokio::test]
async fn the_control_plane_source_is_not_ready_until_the_repository_has_its_branch() {
    let (dir, env) = standard();
    env.seed_repo(SeedRepo::new("acme", "cp")).unwrap();
    let kc = cluster(&env).await;
    ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    let values = values_file(dir.path(), "https://github.com/acme/cp", ALICE_TOKEN);
    ok(
        &env,
        helm(&kc, "ctx", &install_args(&values, "1.1.2-alpha")),
    )
    .await;
    let source = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "gitrepositories.source.toolkit.fluxcd.io",
                "control-plane",
                "-n",
                "flux-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(source["status"]["conditions"][0]["status"], "False");
    assert!(
        source["status"]["conditions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("refs/heads/main"),
        "{source}"
    );
    let waited = run(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "wait",
                "--for=condition=Ready",
                "gitrepositories.source.toolkit.fluxcd.io/control-plane",
                "-n",
                "flux-system",
                "--timeout=0s",
            ],
        ),
    )
    .await;
    assert_eq!(waited.exit_code, Some(1));
    assert!(
        waited
            .stderr
            .contains("timed out waiting for the condition on gitrepositories/control-plane"),
        "{}",
        waited.stderr
    );
}

#[tokio::test]
async fn rollback_commands_restore_the_cluster() {
    let (dir, env) = standard();
    env.seed_repo(SeedRepo::new("acme", "cp").with_file("main", ".environments/x.yaml", "a: 1\n"))
        .unwrap();
    let kc = cluster(&env).await;
    let before = env.snapshot();
    ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    let values = values_file(dir.path(), "https://github.com/acme/cp", ALICE_TOKEN);
    ok(
        &env,
        helm(&kc, "ctx", &install_args(&values, "1.1.2-alpha")),
    )
    .await;

    let uninstalled = ok(
        &env,
        helm(
            &kc,
            "ctx",
            &["uninstall", "kalypso-scheduler", "-n", "kalypso-system"],
        ),
    )
    .await;
    assert_eq!(
        uninstalled.trim(),
        "release \"kalypso-scheduler\" uninstalled"
    );
    // Helm leaves the CRDs and the namespace behind.
    let crds = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["get", "crd", "workloads.scheduler.kalypso.io", "-o", "json"],
        ),
    )
    .await;
    assert_eq!(crds["kind"], "CustomResourceDefinition");
    let mut delete_crds = vec!["delete", "crd"];
    let names = kalypso_crd_names();
    delete_crds.extend(names.iter().map(String::as_str));
    let deleted = ok(&env, kubectl(&kc, "ctx", &delete_crds)).await;
    assert_eq!(deleted.lines().count(), 12);
    ok(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["delete", "namespace", "kalypso-system", "--wait=false"],
        ),
    )
    .await;
    ok(&env, kubectl(&kc, "ctx", &["delete", "-f", FLUX_275])).await;
    assert_same_state(&before, &env.snapshot());

    let again = run(
        &env,
        helm(
            &kc,
            "ctx",
            &["uninstall", "kalypso-scheduler", "-n", "kalypso-system"],
        ),
    )
    .await;
    assert_eq!(again.exit_code, Some(1));
    assert_eq!(
        again.stderr.trim(),
        "Error: uninstall: Release not loaded: kalypso-scheduler: release: not found"
    );
    let status = run(
        &env,
        helm(
            &kc,
            "ctx",
            &[
                "status",
                "kalypso-scheduler",
                "-n",
                "kalypso-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(status.stderr.trim(), "Error: release: not found");
    let protected = run(
        &env,
        kubectl(&kc, "ctx", &["delete", "namespace", "kube-system"]),
    )
    .await;
    assert!(protected
        .stderr
        .contains("this namespace may not be deleted"));
}

#[tokio::test]
async fn helm_reports_missing_values_files_namespaces_and_contexts() {
    let (dir, env) = standard();
    let kc = cluster(&env).await;
    ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    let missing_file = dir.path().join("nope.yaml").display().to_string();
    let out = run(
        &env,
        helm(&kc, "ctx", &install_args(&missing_file, "1.1.2-alpha")),
    )
    .await;
    assert_eq!(
        out.stderr.trim(),
        format!("Error: open {missing_file}: no such file or directory")
    );

    let values = values_file(dir.path(), "https://github.com/acme/cp", ALICE_TOKEN);
    let no_create = run(
        &env,
        helm(
            &kc,
            "ctx",
            &[
                "upgrade",
                "--install",
                "kalypso-scheduler",
                "kalypso-scheduler",
                "--repo",
                CHART_REPO,
                "--version",
                "1.1.2-alpha",
                "-n",
                "other",
                "-f",
                &values,
            ],
        ),
    )
    .await;
    // helm 3.17 `cmd/helm/upgrade.go`: `upgrade --install` of a release that does not exist
    // returns the install's error as it is; only `helm install` wraps it.
    assert_eq!(
        no_create.stderr.trim(),
        "Error: create: failed to create: namespaces \"other\" not found"
    );
    let plain_install = run(
        &env,
        helm(
            &kc,
            "ctx",
            &[
                "install",
                "kalypso-scheduler",
                "kalypso-scheduler",
                "--repo",
                CHART_REPO,
                "--version",
                "1.1.2-alpha",
                "-n",
                "other",
                "-f",
                &values,
            ],
        ),
    )
    .await;
    assert_eq!(
        plain_install.stderr.trim(),
        "Error: INSTALLATION FAILED: create: failed to create: namespaces \"other\" not found"
    );
    // A bad release name: `History.Run` refuses it first for `upgrade --install`,
    // `availableName` for `install`.
    let mut bad_name = install_args(&values, "1.1.2-alpha");
    bad_name[2] = "Bad_Name";
    let upgrade_bad = run(&env, helm(&kc, "ctx", &bad_name)).await;
    assert_eq!(
        upgrade_bad.stderr.trim(),
        "Error: release name is invalid: Bad_Name"
    );
    let install_bad = run(
        &env,
        helm(
            &kc,
            "ctx",
            &[
                "install",
                "Bad_Name",
                "kalypso-scheduler",
                "--repo",
                CHART_REPO,
            ],
        ),
    )
    .await;
    assert!(
        install_bad.stderr.starts_with(
            "Error: INSTALLATION FAILED: release name \"Bad_Name\": invalid release name"
        ),
        "{}",
        install_bad.stderr
    );

    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "controlPlaneBranch: main\nghRepoToken: t\n").unwrap();
    let required = run(
        &env,
        helm(
            &kc,
            "ctx",
            &install_args(&empty.display().to_string(), "1.1.2-alpha"),
        ),
    )
    .await;
    // helm 3.17's text for the vendored chart (`helm template` without the key); an
    // `upgrade --install` of a new release returns the install's error unwrapped.
    const TEMPLATE: &str = "kalypso-scheduler/templates/controlplanerepo.yaml";
    assert_eq!(required.exit_code, Some(1));
    assert_eq!(
        required.stderr.trim(),
        format!("Error: execution error at ({TEMPLATE}:37:11): Control Plane repo URL (controlPlaneURL) is required")
    );
    // The chart reads only the flat keys: nested ones (what earlier versions of this
    // tool claimed the chart reads) are no URL and no branch.
    std::fs::write(
        &empty,
        "controlPlane:\n  URL: https://github.com/acme/cp\n  branch: main\ncontrolPlaneURL: https://github.com/acme/cp\nghRepo:\n  token: t\n",
    )
    .unwrap();
    let nested = run(
        &env,
        helm(
            &kc,
            "ctx",
            &install_args(&empty.display().to_string(), "1.1.2-alpha"),
        ),
    )
    .await;
    assert_eq!(
        nested.stderr.trim(),
        format!("Error: execution error at ({TEMPLATE}:39:15): Control Plane repo Branch (controlPlaneBranch) is required")
    );

    let no_context = run(&env, helm(&kc, "nope", &["list", "-o", "json"])).await;
    assert_eq!(no_context.exit_code, Some(1));
    assert!(
        no_context
            .stderr
            .starts_with("Error: Kubernetes cluster unreachable"),
        "{}",
        no_context.stderr
    );
}

#[tokio::test]
async fn a_local_chart_directory_installs_and_a_private_source_needs_the_token() {
    let (dir, env) = standard();
    env.seed_repo(SeedRepo::new("acme", "cp").with_file("main", ".environments/x.yaml", "a: 1\n"))
        .unwrap();
    let kc = cluster(&env).await;
    ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: kalypso-scheduler\nversion: 0.0.1-dev\nappVersion: dev\n",
    )
    .unwrap();
    let chart = chart.display().to_string();
    let shown = ok(&env, spec("helm", &["show", "chart", &chart])).await;
    assert!(shown.contains("version: 0.0.1-dev"), "{shown}");

    // No token: the private control-plane repository cannot be cloned by Flux.
    let values = dir.path().join("values.yaml");
    std::fs::write(
        &values,
        "controlPlaneURL: https://github.com/acme/cp\ncontrolPlaneBranch: main\n",
    )
    .unwrap();
    let values = values.display().to_string();
    let args = [
        "upgrade",
        "--install",
        "kalypso-scheduler",
        &chart,
        "--namespace",
        "kalypso-system",
        "--create-namespace",
        "-f",
        &values,
        "--wait",
    ];
    ok(&env, helm(&kc, "ctx", &args)).await;
    let source = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "gitrepositories.source.toolkit.fluxcd.io",
                "control-plane",
                "-n",
                "flux-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(source["status"]["conditions"][0]["status"], "False");
    assert!(
        source["status"]["conditions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("authentication required"),
        "{source}"
    );

    // An upgrade with the token (a later -f overrides) makes it Ready; revision 2.
    let token_values = dir.path().join("token.yaml");
    std::fs::write(&token_values, format!("ghRepoToken: {ALICE_TOKEN}\n")).unwrap();
    let token_values = token_values.display().to_string();
    let mut upgrade = args.to_vec();
    upgrade.extend(["-f", &token_values]);
    let upgraded = ok(&env, helm(&kc, "ctx", &upgrade)).await;
    assert!(
        upgraded.starts_with("Release \"kalypso-scheduler\" has been upgraded. Happy Helming!"),
        "{upgraded}"
    );
    let source = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "get",
                "gitrepositories.source.toolkit.fluxcd.io",
                "control-plane",
                "-n",
                "flux-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(
        source["status"]["conditions"][0]["status"], "True",
        "{source}"
    );
    let status = ok_json(
        &env,
        helm(
            &kc,
            "ctx",
            &[
                "status",
                "kalypso-scheduler",
                "-n",
                "kalypso-system",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(status["version"], 2);
}

#[tokio::test]
async fn webhooks_and_empty_applies() {
    let (_dir, env) = standard();
    let kc = cluster(&env).await;
    let hooks = ok_json(
        &env,
        kubectl(
            &kc,
            "ctx",
            &["get", "validatingwebhookconfigurations", "-o", "json"],
        ),
    )
    .await;
    assert_eq!(
        hooks["items"][0]["metadata"]["name"],
        "aks-node-validating-webhook"
    );
    let empty = run(
        &env,
        kubectl(&kc, "ctx", &["apply", "-f", "-"]).stdin_bytes(""),
    )
    .await;
    assert_eq!(empty.exit_code, Some(1));
    assert_eq!(empty.stderr.trim(), "error: no objects passed to apply");
    let unknown_kind = run(&env, kubectl(&kc, "ctx", &["apply", "-f", "-"]).stdin_bytes("apiVersion: scheduler.kalypso.io/v1alpha1\nkind: Workload\nmetadata:\n  name: w\n  namespace: default\n")).await;
    assert_eq!(unknown_kind.exit_code, Some(1));
    assert!(unknown_kind.stderr.contains("no matches for kind \"Workload\" in version \"scheduler.kalypso.io/v1alpha1\"\nensure CRDs are installed first"), "{}", unknown_kind.stderr);
}

#[tokio::test]
async fn kubectl_label_marks_objects_and_changes_a_value_only_with_overwrite() {
    let (_dir, env) = standard();
    let kc = cluster(&env).await;
    ok(
        &env,
        kubectl(&kc, "ctx", &["create", "namespace", "marked"]),
    )
    .await;
    let labeled = ok(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "label",
                "namespace",
                "marked",
                "app.kubernetes.io/managed-by=kalypso-bootstrap",
                "kalypso-bootstrap/installation=kb-0123456789ab",
            ],
        ),
    )
    .await;
    assert_eq!(labeled.trim(), "namespace/marked labeled");
    let ns = ok_json(
        &env,
        kubectl(&kc, "ctx", &["get", "namespace", "marked", "-o", "json"]),
    )
    .await;
    assert_eq!(
        ns["metadata"]["labels"]["kalypso-bootstrap/installation"],
        "kb-0123456789ab"
    );
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "marked"
    );

    let same = ok(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "label",
                "namespace",
                "marked",
                "kalypso-bootstrap/installation=kb-0123456789ab",
            ],
        ),
    )
    .await;
    assert_eq!(same.trim(), "namespace/marked not labeled");
    let other = run(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "label",
                "namespace",
                "marked",
                "kalypso-bootstrap/installation=kb-ffffffffffff",
            ],
        ),
    )
    .await;
    assert_eq!(other.exit_code, Some(1));
    assert!(
        other
            .stderr
            .contains("already has a value (kb-0123456789ab), and --overwrite is false"),
        "{}",
        other.stderr
    );
    ok(
        &env,
        kubectl(
            &kc,
            "ctx",
            &[
                "label",
                "namespace",
                "marked",
                "kalypso-bootstrap/installation=kb-ffffffffffff",
                "--overwrite",
            ],
        ),
    )
    .await;
    let ns = ok_json(
        &env,
        kubectl(&kc, "ctx", &["get", "namespace", "marked", "-o", "json"]),
    )
    .await;
    assert_eq!(
        ns["metadata"]["labels"]["kalypso-bootstrap/installation"],
        "kb-ffffffffffff"
    );

    let missing = run(
        &env,
        kubectl(&kc, "ctx", &["label", "namespace", "nope", "a=b"]),
    )
    .await;
    assert_eq!(missing.exit_code, Some(1));
    assert!(missing.stderr.contains("(NotFound)"), "{}", missing.stderr);
    let invalid = run(
        &env,
        kubectl(&kc, "ctx", &["label", "namespace", "marked", "a=-bad-"]),
    )
    .await;
    assert_eq!(invalid.exit_code, Some(1));
    assert!(
        invalid.stderr.contains("invalid label spec"),
        "{}",
        invalid.stderr
    );
}

/// Real helm stores a release pending while it works and marks it `failed` when its
/// `--wait` runs out of `--timeout`; a failed release (unlike a pending one) can be
/// upgraded again.
#[tokio::test]
async fn a_helm_wait_that_outlasts_its_timeout_leaves_the_release_failed_and_upgradable() {
    use kalypso_bootstrap::sim::Latency;
    use std::time::Duration;
    let (dir, env) = standard();
    let kc = cluster(&env).await;
    ok(
        &env,
        kubectl(&kc, "ctx", &["apply", "--server-side", "-f", FLUX_275]),
    )
    .await;
    let values = values_file(dir.path(), "https://github.com/acme/cp", ALICE_TOKEN);
    let mut short = install_args(&values, "1.1.2-alpha");
    *short.last_mut().unwrap() = "1s";
    env.set_latency(Latency::zero().with_command("helm upgrade", Duration::from_secs(2)));
    let timed_out = run(&env, helm(&kc, "ctx", &short)).await;
    assert_eq!(timed_out.exit_code, Some(1), "{}", timed_out.stderr);
    // The first install of the release: `upgrade --install` returns it unwrapped.
    assert_eq!(
        timed_out.stderr.trim(),
        "Error: context deadline exceeded",
        "{}",
        timed_out.stderr
    );
    let status = || {
        helm(
            &kc,
            "ctx",
            &[
                "status",
                "kalypso-scheduler",
                "-n",
                "kalypso-system",
                "-o",
                "json",
            ],
        )
    };
    let failed = ok_json(&env, status()).await;
    assert_eq!(failed["info"]["status"], "failed", "{failed}");

    env.set_latency(Latency::zero());
    ok(
        &env,
        helm(&kc, "ctx", &install_args(&values, "1.1.2-alpha")),
    )
    .await;
    let deployed = ok_json(&env, status()).await;
    assert_eq!(deployed["info"]["status"], "deployed");
    assert_eq!(deployed["version"], 2);

    // An upgrade of a release that exists: `cmd/helm/upgrade.go` wraps it in UPGRADE FAILED.
    env.set_latency(Latency::zero().with_command("helm upgrade", Duration::from_secs(2)));
    let upgrade_timed_out = run(&env, helm(&kc, "ctx", &short)).await;
    assert_eq!(
        upgrade_timed_out.stderr.trim(),
        "Error: UPGRADE FAILED: context deadline exceeded"
    );
}

/// `*` in a fixture's pod name stands for one generated segment (`[a-z0-9]+`).
fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern = format!("^{}$", regex::escape(pattern).replace(r"\*", "[a-z0-9]+"));
    regex::Regex::new(&pattern).unwrap().is_match(name)
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/clusters/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A kind and a k3d cluster of the simulation hold what those tools publish (the lists and
/// their sources are in tests/fixtures/clusters): their node names, labels and provider
/// ids, their namespaces and system pods, and nothing of AKS.
#[tokio::test]
async fn kind_and_k3d_clusters_hold_what_the_tools_publish() {
    for (file, flavour, server) in [
        (
            "kind.json",
            KubeFlavour::Kind { cluster: "laptop" },
            "https://127.0.0.1:40111",
        ),
        (
            "k3d.json",
            KubeFlavour::K3d { cluster: "laptop" },
            "https://0.0.0.0:40222",
        ),
    ] {
        let published = fixture(file);
        let context = published["context"].as_str().unwrap();
        let (_dir, env) = standard();
        env.seed_kube_cluster_as(server, flavour, "1.31.5", 2);
        env.seed_kube_context(context, server).unwrap();
        let kubeconfig = env.default_kubeconfig().display().to_string();
        let get = |args: &[&str]| kubectl(&kubeconfig, context, args);

        let nodes = ok_json(&env, get(&["get", "nodes", "-o", "json"])).await;
        let nodes = nodes["items"].as_array().unwrap();
        let mut names: Vec<&str> = nodes
            .iter()
            .map(|n| n["metadata"]["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            published["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect::<Vec<_>>(),
            "{file}"
        );
        let prefix = published["providerIdPrefix"].as_str().unwrap();
        for node in nodes {
            let labels = node["metadata"]["labels"].as_object().unwrap();
            assert!(
                labels
                    .keys()
                    .all(|k| !k.contains("azure") && k != "agentpool"),
                "{file}: {labels:?}"
            );
            assert_eq!(labels["kubernetes.io/os"], "linux");
            assert!(node["spec"]["providerID"]
                .as_str()
                .unwrap()
                .starts_with(prefix));
        }
        let control_plane = nodes
            .iter()
            .find(|n| {
                let name = n["metadata"]["name"].as_str().unwrap();
                name.ends_with("control-plane") || name.ends_with("server-0")
            })
            .unwrap();
        for (label, value) in published["controlPlaneLabels"].as_object().unwrap() {
            assert_eq!(
                &control_plane["metadata"]["labels"][label], value,
                "{file}: {label}"
            );
        }

        let namespaces = ok_json(&env, get(&["get", "namespaces", "-o", "json"])).await;
        let mut namespaces: Vec<&str> = namespaces["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["metadata"]["name"].as_str().unwrap())
            .collect();
        namespaces.sort_unstable();
        assert_eq!(
            namespaces,
            published["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect::<Vec<_>>(),
            "{file}"
        );

        let completed: Vec<&str> = published["completed"]
            .as_array()
            .map(|c| c.iter().map(|p| p.as_str().unwrap()).collect())
            .unwrap_or_default();
        for (namespace, patterns) in published["pods"].as_object().unwrap() {
            let pods = ok_json(&env, get(&["get", "pods", "-n", namespace, "-o", "json"])).await;
            let pods = pods["items"].as_array().unwrap();
            let mut unmatched: Vec<&str> = patterns
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            for pod in pods {
                let name = pod["metadata"]["name"].as_str().unwrap();
                let at = unmatched
                    .iter()
                    .position(|p| name_matches(p, name))
                    .unwrap_or_else(|| {
                        panic!("{file}: {namespace}/{name} is not published (left: {unmatched:?})")
                    });
                let pattern = unmatched.remove(at);
                let phase = if completed.contains(&pattern) {
                    "Succeeded"
                } else {
                    "Running"
                };
                assert_eq!(pod["status"]["phase"], phase, "{file}: {name}");
            }
            assert!(
                unmatched.is_empty(),
                "{file}: {namespace} lacks {unmatched:?}"
            );
        }
    }
}

/// The wizard's context probe: one short `kubectl version` per context, all at once; a
/// kind and a k3d cluster answer with their versions, a context whose server is gone and
/// one the kubeconfig does not have do not, with kubectl's reason.
#[tokio::test]
async fn the_context_probe_says_which_contexts_answer() {
    use kalypso_bootstrap::prereq::{probe_contexts, Reachability};
    use kalypso_bootstrap::tools::Version;
    let (_dir, env) = standard();
    env.seed_kube_cluster_as(
        "https://127.0.0.1:40111",
        KubeFlavour::Kind { cluster: "laptop" },
        "1.33.1",
        1,
    );
    env.seed_kube_context("kind-laptop", "https://127.0.0.1:40111")
        .unwrap();
    env.seed_kube_cluster_as(
        "https://0.0.0.0:40222",
        KubeFlavour::K3d { cluster: "lab" },
        "1.31.5",
        1,
    );
    env.seed_kube_context("k3d-lab", "https://0.0.0.0:40222")
        .unwrap();
    env.seed_kube_context("aks-gone", "https://aks-gone-dns.hcp.eastus.azmk8s.io:443")
        .unwrap();
    let contexts: Vec<String> = ["kind-laptop", "k3d-lab", "aks-gone", "not-in-kubeconfig"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    let probes = probe_contexts(std::sync::Arc::new(env.clone()), contexts.clone()).await;
    let order: Vec<&str> = probes.iter().map(|p| p.context.as_str()).collect();
    assert_eq!(
        order,
        ["kind-laptop", "k3d-lab", "aks-gone", "not-in-kubeconfig"]
    );
    assert_eq!(
        probes[0].reachability,
        Reachability::Reachable {
            version: Version::new(1, 33, 1)
        }
    );
    assert_eq!(
        probes[1].reachability,
        Reachability::Reachable {
            version: Version::new(1, 31, 5)
        }
    );
    match &probes[2].reachability {
        Reachability::Unreachable { reason } => assert!(
            reason.contains("Unable to connect to the server"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    match &probes[3].reachability {
        Reachability::Unreachable { reason } => {
            assert!(reason.contains("context was not found"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Each probe names its context and bounds its wait with kubectl's own timeout.
    let calls: Vec<Vec<String>> = env.calls().into_iter().map(|c| c.args).collect();
    for context in &contexts {
        assert!(
            calls.iter().any(|args| args[..]
                == [
                    "--context",
                    context.as_str(),
                    "--request-timeout",
                    "5s",
                    "version",
                    "-o",
                    "json"
                ]),
            "{context}: {calls:?}"
        );
    }
}
