//! The simulated Azure CLI: resource groups, AKS clusters that provision over time,
//! credentials written into a real kubeconfig file, pre-flight queries with real shapes.

use std::time::Duration;

use crate::support::sim::*;
use kalypso_bootstrap::sim::{Latency, SeedAksCluster};

#[tokio::test]
async fn resource_groups_show_create_and_delete_with_real_exit_codes() {
    let (_dir, env) = standard();
    let missing = run(
        &env,
        spec("az", &["group", "show", "--name", "rg1", "-o", "json"]),
    )
    .await;
    assert_eq!(missing.exit_code, Some(3));
    assert!(
        missing
            .stderr
            .contains("(ResourceGroupNotFound) Resource group 'rg1' could not be found."),
        "{}",
        missing.stderr
    );

    let created = ok_json(
        &env,
        spec(
            "az",
            &[
                "group",
                "create",
                "--name",
                "rg1",
                "--location",
                "eastus",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        created["id"],
        format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg1")
    );
    // Resource group names are case-insensitive.
    ok(
        &env,
        spec("az", &["group", "show", "--name", "RG1", "-o", "json"]),
    )
    .await;
    let moved = run(
        &env,
        spec(
            "az",
            &[
                "group",
                "create",
                "--name",
                "rg1",
                "--location",
                "westus",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(moved.exit_code, Some(1));
    assert!(moved.stderr.contains("InvalidResourceGroupLocation"));

    let unconfirmed = run(
        &env,
        spec("az", &["group", "delete", "--name", "rg1", "--no-wait"]),
    )
    .await;
    assert_eq!(unconfirmed.exit_code, Some(1));
    assert!(unconfirmed.stderr.contains("Use --yes"));
    ok(
        &env,
        spec(
            "az",
            &["group", "delete", "--name", "rg1", "--yes", "--no-wait"],
        ),
    )
    .await;
    let gone = run(
        &env,
        spec("az", &["group", "show", "--name", "rg1", "-o", "json"]),
    )
    .await;
    assert_eq!(gone.exit_code, Some(3));
}

#[tokio::test]
async fn signed_out_and_wrong_subscription() {
    let (_dir, env) = standard();
    let wrong = run(
        &env,
        spec(
            "az",
            &["account", "show", "-o", "json", "--subscription", "nope"],
        ),
    )
    .await;
    assert_eq!(wrong.exit_code, Some(1));
    assert!(wrong.stderr.contains("Subscription 'nope' not found"));
    env.set_azure_signed_in(false);
    let out = run(&env, spec("az", &["account", "show", "-o", "json"])).await;
    assert_eq!(out.exit_code, Some(1));
    assert!(out
        .stderr
        .contains("Please run 'az login' to setup account."));
    // az version needs no sign-in.
    ok(&env, spec("az", &["version", "-o", "json"])).await;
    ok(&env, spec("az", &["login"])).await;
    let account = ok_json(&env, spec("az", &["account", "show", "-o", "json"])).await;
    assert_eq!(account["id"], SUBSCRIPTION);
    assert_eq!(account["user"]["name"], USER);
}

#[tokio::test]
async fn preflight_queries_have_the_real_shapes() {
    let (_dir, env) = standard();
    let versions = ok_json(
        &env,
        spec(
            "az",
            &["aks", "get-versions", "--location", "eastus", "-o", "json"],
        ),
    )
    .await;
    let values = versions["values"].as_array().unwrap();
    let default: Vec<_> = values.iter().filter(|v| v["isDefault"] == true).collect();
    assert_eq!(default.len(), 1);
    assert!(default[0]["patchVersions"]
        .as_object()
        .unwrap()
        .keys()
        .all(|p| p.starts_with(default[0]["version"].as_str().unwrap())));

    let unsupported = run(
        &env,
        spec(
            "az",
            &[
                "aks",
                "get-versions",
                "--location",
                "francesouth",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(unsupported.exit_code, Some(1));
    assert!(unsupported
        .stderr
        .contains("LocationNotAvailableForResourceType"));

    let skus = ok_json(
        &env,
        spec(
            "az",
            &[
                "vm",
                "list-skus",
                "--location",
                "eastus",
                "--size",
                "Standard_DS2_v2",
                "--resource-type",
                "virtualMachines",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    let sku = skus
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Standard_DS2_v2")
        .expect("the size");
    let vcpus = sku["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vCPUs")
        .unwrap();
    assert_eq!(vcpus["value"], "2");
    assert_eq!(sku["restrictions"], serde_json::json!([]));
    env.restrict_vm_size("eastus", "Standard_DS2_v2");
    let restricted = ok_json(
        &env,
        spec(
            "az",
            &[
                "vm",
                "list-skus",
                "--location",
                "eastus",
                "--size",
                "Standard_DS2_v2",
                "--resource-type",
                "virtualMachines",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    assert_eq!(
        restricted[0]["restrictions"][0]["reasonCode"],
        "NotAvailableForSubscription"
    );

    env.set_quota("eastus", "standardDSv2Family", 10, 4);
    let usage = ok_json(
        &env,
        spec(
            "az",
            &["vm", "list-usage", "--location", "eastus", "-o", "json"],
        ),
    )
    .await;
    let family = usage
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"]["value"] == "standardDSv2Family")
        .unwrap();
    assert_eq!(family["limit"], "10");
    assert_eq!(family["currentValue"], "4");
    assert_eq!(
        family["name"]["localizedValue"],
        "Standard DSv2 Family vCPUs"
    );
    assert!(usage
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"]["value"] == "cores"));
}

/// On a paused clock: the simulated provisioning time is exact, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn aks_create_no_wait_provisions_over_time_and_show_polls_it() {
    let (_dir, env) = standard();
    env.set_latency(Latency::zero().with_aks_provisioning(Duration::from_millis(600)));
    ok(
        &env,
        spec(
            "az",
            &[
                "group",
                "create",
                "--name",
                "rg",
                "--location",
                "eastus",
                "-o",
                "json",
            ],
        ),
    )
    .await;
    let created = ok(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "--resource-group",
                "rg",
                "--name",
                "c1",
                "--location",
                "eastus",
                "--node-count",
                "2",
                "--node-vm-size",
                "Standard_DS2_v2",
                "--kubernetes-version",
                "1.34",
                "--network-plugin",
                "azure",
                "--enable-managed-identity",
                "--no-ssh-key",
                "--no-wait",
                "-o",
                "json",
                "--subscription",
                SUBSCRIPTION,
            ],
        ),
    )
    .await;
    assert_eq!(created, "", "--no-wait prints nothing");

    let show = || {
        spec(
            "az",
            &[
                "aks",
                "show",
                "--resource-group",
                "rg",
                "--name",
                "c1",
                "-o",
                "json",
            ],
        )
    };
    let first = ok_json(&env, show()).await;
    assert_eq!(first["provisioningState"], "Creating");
    assert_eq!(first["kubernetesVersion"], "1.34.5");
    assert_eq!(first["powerState"]["code"], "Running");
    assert!(first["fqdn"]
        .as_str()
        .unwrap()
        .ends_with(".hcp.eastus.azmk8s.io"));
    // Credentials are not available while creating.
    let early = run(
        &env,
        spec(
            "az",
            &[
                "aks",
                "get-credentials",
                "-g",
                "rg",
                "-n",
                "c1",
                "--file",
                "-",
            ],
        ),
    )
    .await;
    assert_eq!(early.exit_code, Some(1));

    let started = tokio::time::Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        let state = ok_json(&env, show()).await;
        if state["provisioningState"] == "Succeeded" {
            break;
        }
        assert!(polls < 100, "still {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "ready only after the provisioning time"
    );
    assert!(polls >= 3, "polled while creating ({polls} polls)");

    let duplicate = run(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                "rg",
                "-n",
                "c1",
                "--no-ssh-key",
                "--no-wait",
            ],
        ),
    )
    .await;
    assert_eq!(duplicate.exit_code, Some(1));
    assert!(duplicate.stderr.contains("already exists"));
}

#[tokio::test]
async fn aks_create_validates_like_azure() {
    let (_dir, env) = standard();
    let no_group = run(
        &env,
        spec(
            "az",
            &["aks", "create", "-g", "nope", "-n", "c1", "--no-ssh-key"],
        ),
    )
    .await;
    assert_eq!(no_group.exit_code, Some(3));
    ok(
        &env,
        spec(
            "az",
            &["group", "create", "--name", "rg", "--location", "eastus"],
        ),
    )
    .await;
    let version = run(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                "rg",
                "-n",
                "c1",
                "--no-ssh-key",
                "-k",
                "1.20",
            ],
        ),
    )
    .await;
    assert!(
        version.stderr.contains("K8sVersionNotSupported"),
        "{}",
        version.stderr
    );
    let plugin = run(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                "rg",
                "-n",
                "c1",
                "--no-ssh-key",
                "--network-plugin",
                "calico",
            ],
        ),
    )
    .await;
    assert_eq!(plugin.exit_code, Some(2));
    let ssh = run(&env, spec("az", &["aks", "create", "-g", "rg", "-n", "c1"])).await;
    assert!(ssh.stderr.contains("--generate-ssh-keys"), "{}", ssh.stderr);

    // 3 nodes of 2 vCPUs need 6; only 10 - 8 = 2 are left.
    env.set_quota("eastus", "standardDSv2Family", 10, 8);
    let quota = run(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                "rg",
                "-n",
                "c1",
                "--no-ssh-key",
                "--node-count",
                "3",
                "--no-wait",
            ],
        ),
    )
    .await;
    assert_eq!(quota.exit_code, Some(1));
    assert!(
        quota.stderr.contains("(QuotaExceeded) Operation could not be completed as it results in exceeding approved standardDSv2Family Cores quota"),
        "{}", quota.stderr
    );
    assert!(quota
        .stderr
        .contains("Current Limit: 10, Current Usage: 8, Additional Required: 6"));
    // A smaller cluster fits, and then counts against the quota.
    ok(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                "rg",
                "-n",
                "c1",
                "--no-ssh-key",
                "--node-count",
                "1",
                "--no-wait",
            ],
        ),
    )
    .await;
    let usage = ok_json(
        &env,
        spec("az", &["vm", "list-usage", "-l", "eastus", "-o", "json"]),
    )
    .await;
    let family = usage
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"]["value"] == "standardDSv2Family")
        .unwrap();
    assert_eq!(family["currentValue"], "10");
}

#[tokio::test]
async fn get_credentials_writes_a_real_kubeconfig_and_delete_context_removes_it() {
    let (_dir, env) = standard();
    let kubeconfig = cluster_with_context(&env, "rg", "c1", "kalypso-c1").await;
    let path = std::path::PathBuf::from(&kubeconfig);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("current-context: kalypso-c1"), "{text}");
    assert!(text.contains("user: clusterUser_rg_c1"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The project's own kubeconfig reader (config validation) sees the context.
    let names =
        kalypso_bootstrap::config::kubeconfig::read_contexts(std::slice::from_ref(&path)).unwrap();
    assert_eq!(names, ["kalypso-c1"]);
    // So does the real kubectl, when installed.
    if let Ok(out) = std::process::Command::new("kubectl")
        .args([
            "config",
            "get-contexts",
            "-o",
            "name",
            "--kubeconfig",
            &kubeconfig,
        ])
        .output()
    {
        assert!(
            out.status.success(),
            "the real kubectl reads the file: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "kalypso-c1");
    }
    // The context reaches the cluster.
    let nodes = ok_json(
        &env,
        kubectl(&kubeconfig, "kalypso-c1", &["get", "nodes", "-o", "json"]),
    )
    .await;
    assert_eq!(nodes["items"].as_array().unwrap().len(), 2);
    let snapshot = env.snapshot();
    assert!(snapshot.kubeconfigs[&kubeconfig]
        .iter()
        .any(|c| c.name == "kalypso-c1"));

    // Fetching again without --overwrite-existing is fine when nothing differs…
    ok(
        &env,
        spec(
            "az",
            &[
                "aks",
                "get-credentials",
                "-g",
                "rg",
                "-n",
                "c1",
                "--context",
                "kalypso-c1",
                "--file",
                &kubeconfig,
            ],
        ),
    )
    .await;

    let deleted = ok(
        &env,
        spec(
            "kubectl",
            &[
                "config",
                "delete-context",
                "kalypso-c1",
                "--kubeconfig",
                &kubeconfig,
            ],
        ),
    )
    .await;
    assert_eq!(
        deleted.trim(),
        format!("deleted context kalypso-c1 from {kubeconfig}")
    );
    let again = run(
        &env,
        spec(
            "kubectl",
            &[
                "config",
                "delete-context",
                "kalypso-c1",
                "--kubeconfig",
                &kubeconfig,
            ],
        ),
    )
    .await;
    assert_eq!(again.exit_code, Some(1));
    assert!(again.stderr.contains("cannot delete context kalypso-c1"));
    assert!(env.snapshot().kubeconfigs[&kubeconfig].is_empty());
    let unknown = run(&env, kubectl(&kubeconfig, "kalypso-c1", &["get", "nodes"])).await;
    assert_eq!(
        unknown.stderr.trim(),
        "Error in configuration: context was not found for specified context: kalypso-c1"
    );
}

#[tokio::test]
async fn aks_delete_removes_the_cluster_its_api_server_and_node_group() {
    let (_dir, env) = standard();
    let kubeconfig = cluster_with_context(&env, "rg", "c1", "ctx").await;
    let snapshot = env.snapshot();
    assert!(snapshot
        .azure
        .resource_groups
        .contains_key("mc_rg_c1_eastus"));
    ok(
        &env,
        spec(
            "az",
            &[
                "aks",
                "delete",
                "-g",
                "rg",
                "-n",
                "c1",
                "--yes",
                "--no-wait",
            ],
        ),
    )
    .await;
    env.settle();
    let after = env.snapshot();
    assert!(after.azure.clusters.is_empty());
    assert!(after.kube_clusters.is_empty());
    assert!(!after.azure.resource_groups.contains_key("mc_rg_c1_eastus"));
    let unreachable = run(&env, kubectl(&kubeconfig, "ctx", &["get", "nodes"])).await;
    assert_eq!(unreachable.exit_code, Some(1));
    assert!(
        unreachable
            .stderr
            .starts_with("Unable to connect to the server: dial tcp: lookup "),
        "{}",
        unreachable.stderr
    );
    let gone = run(&env, spec("az", &["aks", "show", "-g", "rg", "-n", "c1"])).await;
    assert_eq!(gone.exit_code, Some(3));
    assert!(gone.stderr.contains("(ResourceNotFound)"));
}

#[tokio::test]
async fn snapshot_after_create_and_delete_equals_the_snapshot_before() {
    let (_dir, env) = standard();
    env.seed_aks_cluster(SeedAksCluster::new("existing-rg", "existing", "westeurope"))
        .unwrap();
    let before = env.snapshot();

    let kubeconfig = env.default_kubeconfig().display().to_string();
    ok(
        &env,
        spec(
            "az",
            &[
                "group",
                "create",
                "--name",
                "new-rg",
                "--location",
                "eastus",
            ],
        ),
    )
    .await;
    ok(
        &env,
        spec(
            "az",
            &[
                "aks",
                "create",
                "-g",
                "new-rg",
                "-n",
                "c2",
                "--no-ssh-key",
                "--no-wait",
            ],
        ),
    )
    .await;
    ok(
        &env,
        spec(
            "az",
            &[
                "aks",
                "get-credentials",
                "-g",
                "new-rg",
                "-n",
                "c2",
                "--context",
                "c2ctx",
                "--file",
                &kubeconfig,
            ],
        ),
    )
    .await;
    assert_ne!(env.snapshot(), before);

    ok(
        &env,
        spec(
            "kubectl",
            &[
                "config",
                "delete-context",
                "c2ctx",
                "--kubeconfig",
                &kubeconfig,
            ],
        ),
    )
    .await;
    ok(
        &env,
        spec(
            "az",
            &[
                "aks",
                "delete",
                "-g",
                "new-rg",
                "-n",
                "c2",
                "--yes",
                "--no-wait",
            ],
        ),
    )
    .await;
    ok(
        &env,
        spec(
            "az",
            &["group", "delete", "--name", "new-rg", "--yes", "--no-wait"],
        ),
    )
    .await;
    env.settle();
    let after = env.snapshot();
    assert_same_state(&before, &after);
    let json = serde_json::to_string(&after).expect("snapshots serialise");
    assert!(json.contains("existing-rg"));
}
