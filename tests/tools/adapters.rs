//! The az, gh, kubectl and helm adapters over a scripted runner: the exact argv each call
//! builds, how the tools' real output shapes are parsed, and how their real failure
//! messages become typed results (`None`, `DeleteOutcome::NotFound`) or classified errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalypso_bootstrap::secrets;
use kalypso_bootstrap::tools::az::{self, AksCreateParams, Az, NetworkPlugin, ProvisioningState};
use kalypso_bootstrap::tools::gh::{self, Gh, TreeEntryKind, Visibility};
use kalypso_bootstrap::tools::helm::{
    self, ChartRef, Helm, HelmChart, InstallParams, KalypsoValues,
};
use kalypso_bootstrap::tools::kubectl::{self, FluxKind, Kubectl};
use kalypso_bootstrap::tools::{
    BoxFuture, CommandOutput, CommandRunner, CommandSpec, DeleteOutcome, EnvValue, ErrorClass,
    RunControl, RunError, StdinData, ToolError,
};
use secrecy::{ExposeSecret, SecretString};

const SUB: &str = "3f1c9a52-7d4e-4b8a-9c61-2e5f0d8b7a14";
const CTX: &str = "kalypso-dev";

// ---------------------------------------------------------------------------------------
// A runner that answers scripted argv and remembers every spec it was given

#[derive(Clone)]
struct Reply {
    exit: i32,
    stdout: String,
    stderr: String,
}

fn ok(stdout: &str) -> Reply {
    Reply {
        exit: 0,
        stdout: stdout.to_string(),
        stderr: String::new(),
    }
}

fn fail(exit: i32, stderr: &str) -> Reply {
    Reply {
        exit,
        stdout: String::new(),
        stderr: stderr.to_string(),
    }
}

#[derive(Default)]
struct ScriptedRunner {
    replies: Mutex<HashMap<Vec<String>, Reply>>,
    seen: Mutex<Vec<CommandSpec>>,
}

impl ScriptedRunner {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn answer(&self, spec: &CommandSpec, reply: Reply) {
        let argv = spec.argv().into_iter().map(String::from).collect();
        self.replies.lock().unwrap().insert(argv, reply);
    }

    fn last(&self) -> CommandSpec {
        self.seen.lock().unwrap().last().cloned().expect("a call")
    }
}

impl CommandRunner for ScriptedRunner {
    fn run_with(
        &self,
        spec: CommandSpec,
        _control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(spec.clone());
            spec.ensure_no_secret_in_argv()?;
            let argv: Vec<String> = spec.argv().into_iter().map(String::from).collect();
            let reply = self
                .replies
                .lock()
                .unwrap()
                .get(&argv)
                .cloned()
                .unwrap_or_else(|| panic!("scripted runner: unexpected command {argv:?}"));
            Ok(CommandOutput {
                exit_code: Some(reply.exit),
                stdout: reply.stdout,
                stderr: reply.stderr,
                duration: Duration::ZERO,
            })
        })
    }
}

fn argv(spec: &CommandSpec) -> Vec<String> {
    spec.argv().into_iter().map(String::from).collect()
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(String::from).collect()
}

fn env_value(spec: &CommandSpec, name: &str) -> Option<String> {
    spec.env
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| match value {
            EnvValue::Plain(v) => v.clone(),
            EnvValue::Secret(v) => v.expose_secret().to_string(),
        })
}

fn class_of<T: std::fmt::Debug>(result: Result<T, ToolError>) -> ErrorClass {
    result.expect_err("an error").class()
}

// ---------------------------------------------------------------------------------------
// az

fn az(runner: &Arc<ScriptedRunner>) -> Az {
    Az::new(runner.clone(), Some(SUB.to_string()))
}

const GROUP_JSON: &str = r#"{
  "id": "/subscriptions/3f1c9a52-7d4e-4b8a-9c61-2e5f0d8b7a14/resourceGroups/kalypso-rg",
  "location": "westeurope",
  "managedBy": null,
  "name": "kalypso-rg",
  "properties": { "provisioningState": "Succeeded" },
  "tags": null,
  "type": "Microsoft.Resources/resourceGroups"
}"#;

#[tokio::test]
async fn az_group_show_create_delete_have_exact_argv_and_typed_results() {
    let runner = ScriptedRunner::new();
    let az = az(&runner);

    let show = az.group_show_spec("kalypso-rg");
    assert_eq!(
        argv(&show),
        words(&format!(
            "az group show --name kalypso-rg -o json --subscription {SUB}"
        ))
    );
    runner.answer(&show, ok(GROUP_JSON));
    let group = az.group_show("kalypso-rg").await.unwrap().expect("present");
    assert_eq!(group.location, "westeurope");
    assert!(group.tags.is_empty(), "null tags read as empty");
    assert_eq!(
        group.properties.unwrap().provisioning_state.as_deref(),
        Some("Succeeded")
    );

    runner.answer(
        &show,
        fail(
            3,
            "ERROR: (ResourceGroupNotFound) Resource group 'kalypso-rg' could not be found.\nCode: ResourceGroupNotFound\nMessage: Resource group 'kalypso-rg' could not be found.\n",
        ),
    );
    assert_eq!(az.group_show("kalypso-rg").await.unwrap(), None);

    let create = az.group_create_spec("kalypso-rg", "westeurope", "kb-0123456789ab");
    assert_eq!(
        argv(&create),
        words(&format!(
            "az group create --name kalypso-rg --location westeurope \
             --tags kalypso-bootstrap=kb-0123456789ab -o json --subscription {SUB}"
        ))
    );
    runner.answer(&create, ok(GROUP_JSON));
    assert_eq!(
        az.group_create("kalypso-rg", "westeurope", "kb-0123456789ab")
            .await
            .unwrap()
            .name,
        "kalypso-rg"
    );

    let delete = az.group_delete_no_wait_spec("kalypso-rg");
    assert_eq!(
        argv(&delete),
        words(&format!(
            "az group delete --name kalypso-rg --yes --no-wait --subscription {SUB}"
        ))
    );
    runner.answer(&delete, ok(""));
    assert_eq!(
        az.group_delete_no_wait("kalypso-rg").await.unwrap(),
        DeleteOutcome::Deleted
    );
    runner.answer(
        &delete,
        fail(
            3,
            "ERROR: (ResourceGroupNotFound) Resource group 'kalypso-rg' could not be found.",
        ),
    );
    assert_eq!(
        az.group_delete_no_wait("kalypso-rg").await.unwrap(),
        DeleteOutcome::NotFound
    );
}

#[tokio::test]
async fn az_without_a_subscription_adds_no_subscription_flag() {
    let runner = ScriptedRunner::new();
    let az = Az::new(runner.clone(), None);
    assert_eq!(
        argv(&az.aks_show_spec("rg", "c")),
        words("az aks show --resource-group rg --name c -o json")
    );
}

const VERSIONS_JSON: &str = r#"{
  "values": [
    {
      "capabilities": { "supportPlan": ["KubernetesOfficial", "AKSLongTermSupport"] },
      "isDefault": null,
      "isPreview": null,
      "patchVersions": {
        "1.32.5": { "upgrades": ["1.33.1", "1.33.2"] },
        "1.32.6": { "upgrades": ["1.33.2"] }
      },
      "version": "1.32"
    },
    {
      "capabilities": { "supportPlan": ["KubernetesOfficial"] },
      "isDefault": true,
      "isPreview": null,
      "patchVersions": {
        "1.33.1": { "upgrades": ["1.33.2"] },
        "1.33.2": { "upgrades": [] }
      },
      "version": "1.33"
    }
  ]
}"#;

#[tokio::test]
async fn az_aks_versions_answer_whether_a_minor_or_patch_version_is_offered() {
    let runner = ScriptedRunner::new();
    let az = az(&runner);
    let spec = az.aks_get_versions_spec("westeurope");
    assert_eq!(
        argv(&spec),
        words(&format!(
            "az aks get-versions --location westeurope -o json --subscription {SUB}"
        ))
    );
    runner.answer(&spec, ok(VERSIONS_JSON));
    let versions = az.aks_get_versions("westeurope").await.unwrap();
    assert!(versions.offers("1.33"));
    assert!(versions.offers("1.32.6"));
    assert!(versions.offers("v1.33.2"));
    assert!(!versions.offers("1.31"));
    assert!(!versions.offers("1.33.9"));
    assert_eq!(versions.default_version(), Some("1.33"));
    assert_eq!(
        versions.patch_versions(),
        vec!["1.32.5", "1.32.6", "1.33.1", "1.33.2"]
    );
}

const SKUS_JSON: &str = r#"[
  {
    "apiVersions": null,
    "capabilities": [
      { "name": "MaxResourceVolumeMB", "value": "7168" },
      { "name": "vCPUs", "value": "2" },
      { "name": "MemoryGB", "value": "7" }
    ],
    "capacity": null,
    "costs": null,
    "family": "standardDSv2Family",
    "kind": null,
    "locationInfo": [ { "location": "westeurope", "zoneDetails": [], "zones": ["1", "2", "3"] } ],
    "locations": ["westeurope"],
    "name": "Standard_DS2_v2",
    "resourceType": "virtualMachines",
    "restrictions": [
      {
        "reasonCode": "NotAvailableForSubscription",
        "restrictionInfo": { "locations": ["westeurope"], "zones": ["3"] },
        "type": "Zone",
        "values": ["westeurope"]
      }
    ],
    "size": "DS2_v2",
    "tier": "Standard"
  },
  {
    "capabilities": [ { "name": "vCPUs", "value": "4" } ],
    "family": "standardDSv2Family",
    "locations": ["westeurope"],
    "name": "Standard_DS2_v2_Promo",
    "resourceType": "virtualMachines",
    "restrictions": [
      {
        "reasonCode": "NotAvailableForSubscription",
        "restrictionInfo": { "locations": ["westeurope"], "zones": null },
        "type": "Location",
        "values": ["westeurope"]
      }
    ]
  }
]"#;

#[tokio::test]
async fn az_vm_skus_give_vcpus_and_location_restrictions() {
    let runner = ScriptedRunner::new();
    let az = az(&runner);
    let spec = az.vm_list_skus_spec("westeurope", "Standard_DS2_v2");
    assert_eq!(
        argv(&spec),
        words(&format!(
            "az vm list-skus --location westeurope --size Standard_DS2_v2 --resource-type virtualMachines -o json --subscription {SUB}"
        ))
    );
    runner.answer(&spec, ok(SKUS_JSON));
    let skus = az
        .vm_list_skus("westeurope", "Standard_DS2_v2")
        .await
        .unwrap();
    assert_eq!(skus.len(), 2);
    let exact = az::exact_sku(&skus, "standard_ds2_v2").expect("exact match, any case");
    assert_eq!(exact.name, "Standard_DS2_v2");
    assert_eq!(exact.vcpus(), Some(2));
    assert_eq!(exact.family.as_deref(), Some("standardDSv2Family"));
    assert!(
        exact.available_in("West Europe"),
        "a zone restriction does not make the size unavailable"
    );
    let promo = az::exact_sku(&skus, "Standard_DS2_v2_Promo").unwrap();
    assert!(!promo.available_in("westeurope"), "location restriction");
    assert!(az::exact_sku(&skus, "Standard_DS2").is_none());
}

#[tokio::test]
async fn az_vm_usage_reads_string_and_number_counts() {
    let runner = ScriptedRunner::new();
    let az = az(&runner);
    let spec = az.vm_list_usage_spec("westeurope");
    assert_eq!(
        argv(&spec),
        words(&format!(
            "az vm list-usage --location westeurope -o json --subscription {SUB}"
        ))
    );
    runner.answer(
        &spec,
        ok(r#"[
  { "currentValue": "4", "limit": "10", "localName": "Total Regional vCPUs",
    "name": { "localizedValue": "Total Regional vCPUs", "value": "cores" } },
  { "currentValue": 2, "limit": 10,
    "name": { "localizedValue": "Standard DSv2 Family vCPUs", "value": "standardDSv2Family" } },
  { "currentValue": "12", "limit": "10",
    "name": { "localizedValue": "Over", "value": "overFamily" } }
]"#),
    );
    let usages = az.vm_list_usage("westeurope").await.unwrap();
    let regional = az::find_usage(&usages, az::REGIONAL_VCPUS).unwrap();
    assert_eq!((regional.current_value, regional.limit), (4, 10));
    assert_eq!(regional.remaining(), 6);
    assert_eq!(
        az::find_usage(&usages, "StandardDSv2Family")
            .unwrap()
            .remaining(),
        8
    );
    assert_eq!(
        az::find_usage(&usages, "overFamily").unwrap().remaining(),
        0
    );

    runner.answer(
        &spec,
        ok(r#"[{"currentValue": "four", "limit": "10", "name": {"value": "cores"}}]"#),
    );
    let err = az.vm_list_usage("westeurope").await.unwrap_err();
    assert!(matches!(err, ToolError::UnexpectedOutput { .. }), "{err}");
    assert!(err.to_string().contains("\"four\""), "{err}");
}

const AKS_JSON: &str = r#"{
  "agentPoolProfiles": [ { "count": 3, "name": "nodepool1", "vmSize": "Standard_DS2_v2" } ],
  "currentKubernetesVersion": "1.33.2",
  "fqdn": "kalypso-dns-abc123.hcp.westeurope.azmk8s.io",
  "id": "/subscriptions/3f1c9a52-7d4e-4b8a-9c61-2e5f0d8b7a14/resourcegroups/kalypso-rg/providers/Microsoft.ContainerService/managedClusters/kalypso",
  "kubernetesVersion": "1.33",
  "location": "westeurope",
  "name": "kalypso",
  "nodeResourceGroup": "MC_kalypso-rg_kalypso_westeurope",
  "powerState": { "code": "Running" },
  "provisioningState": "Creating",
  "resourceGroup": "kalypso-rg"
}"#;

#[tokio::test]
async fn az_aks_show_reads_state_and_absence() {
    let runner = ScriptedRunner::new();
    let az = az(&runner);
    let spec = az.aks_show_spec("kalypso-rg", "kalypso");
    runner.answer(&spec, ok(AKS_JSON));
    let cluster = az.aks_show("kalypso-rg", "kalypso").await.unwrap().unwrap();
    assert_eq!(
        cluster.provisioning(),
        ProvisioningState::InProgress("Creating".to_string())
    );
    assert!(cluster.is_running());
    assert_eq!(
        cluster.current_kubernetes_version.as_deref(),
        Some("1.33.2")
    );

    runner.answer(&spec, ok(&AKS_JSON.replace("Creating", "Succeeded")));
    let cluster = az.aks_show("kalypso-rg", "kalypso").await.unwrap().unwrap();
    assert_eq!(cluster.provisioning(), ProvisioningState::Succeeded);

    runner.answer(
        &spec,
        fail(
            3,
            "ERROR: (ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/kalypso' under resource group 'kalypso-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix\nCode: ResourceNotFound",
        ),
    );
    assert_eq!(az.aks_show("kalypso-rg", "kalypso").await.unwrap(), None);

    runner.answer(
        &spec,
        fail(1, "ERROR: Please run 'az login' to setup account."),
    );
    let err = az.aks_show("kalypso-rg", "kalypso").await.unwrap_err();
    assert!(matches!(err, ToolError::NotAuthenticated { .. }), "{err:?}");
    assert!(err.hint().contains("az login"), "{}", err.hint());
}

fn aks_params(version: Option<&str>, plugin: NetworkPlugin) -> AksCreateParams {
    AksCreateParams {
        resource_group: "kalypso-rg".into(),
        name: "kalypso".into(),
        location: "westeurope".into(),
        node_count: 3,
        node_vm_size: "Standard_DS2_v2".into(),
        kubernetes_version: version.map(String::from),
        network_plugin: plugin,
        installation_id: "kb-0123456789ab".into(),
    }
}

#[tokio::test]
async fn az_aks_create_argv_with_and_without_a_version() {
    let runner = ScriptedRunner::new();
    let az = az(&runner);
    let with_version = az.aks_create_no_wait_spec(&aks_params(Some("1.33"), NetworkPlugin::Azure));
    assert_eq!(
        argv(&with_version),
        words(&format!(
            "az aks create --resource-group kalypso-rg --name kalypso --location westeurope \
             --node-count 3 --node-vm-size Standard_DS2_v2 --kubernetes-version 1.33 \
             --network-plugin azure --enable-managed-identity --no-ssh-key \
             --tags kalypso-bootstrap=kb-0123456789ab --no-wait -o json \
             --subscription {SUB}"
        ))
    );
    let kubenet = az.aks_create_no_wait_spec(&aks_params(None, NetworkPlugin::Kubenet));
    let kubenet_argv = argv(&kubenet);
    assert!(!kubenet_argv.contains(&"--kubernetes-version".to_string()));
    assert!(kubenet_argv
        .windows(2)
        .any(|w| w == ["--network-plugin", "kubenet"]));
    assert!(kubenet.timeout.unwrap() >= Duration::from_secs(120));

    runner.answer(&with_version, ok(""));
    az.aks_create_no_wait(&aks_params(Some("1.33"), NetworkPlugin::Azure))
        .await
        .unwrap();

    runner.answer(
        &with_version,
        fail(
            1,
            "ERROR: (ErrCode_InsufficientVCPUQuota) Insufficient regional vcpu quota left for location westeurope. left regional vcpu quota 4, requested quota 6.\nCode: ErrCode_InsufficientVCPUQuota",
        ),
    );
    let err = az
        .aks_create_no_wait(&aks_params(Some("1.33"), NetworkPlugin::Azure))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::QuotaExceeded);
    assert!(!err.is_transient());
    assert!(err.hint().contains("quota"), "{}", err.hint());

    runner.answer(
        &with_version,
        fail(
            1,
            "ERROR: (AuthorizationFailed) The client 'dev@contoso.com' with object id '0000' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/write' over scope '/subscriptions/x/resourceGroups/kalypso-rg/providers/Microsoft.ContainerService/managedClusters/kalypso' or the scope is invalid.",
        ),
    );
    let err = az
        .aks_create_no_wait(&aks_params(Some("1.33"), NetworkPlugin::Azure))
        .await
        .unwrap_err();
    assert_eq!(
        err.class(),
        ErrorClass::PermissionDenied {
            missing_scope: None
        }
    );
    assert!(err.hint().contains("Contributor"), "{}", err.hint());
}

#[tokio::test]
async fn az_credentials_and_delete_argv() {
    let runner = ScriptedRunner::new();
    let az = az(&runner);
    let creds = az.aks_get_credentials_spec(
        "kalypso-rg",
        "kalypso",
        CTX,
        Path::new("/home/dev/.kube/config"),
    );
    assert_eq!(
        argv(&creds),
        words(&format!(
            "az aks get-credentials --resource-group kalypso-rg --name kalypso --context {CTX} \
             --file /home/dev/.kube/config --overwrite-existing --subscription {SUB}"
        ))
    );
    let delete = az.aks_delete_no_wait_spec("kalypso-rg", "kalypso");
    assert_eq!(
        argv(&delete),
        words(&format!(
            "az aks delete --resource-group kalypso-rg --name kalypso --yes --no-wait --subscription {SUB}"
        ))
    );
    runner.answer(&delete, ok(""));
    assert_eq!(
        az.aks_delete_no_wait("kalypso-rg", "kalypso")
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
}

// ---------------------------------------------------------------------------------------
// gh

const TOKEN: &str = "ghp_adapterTestToken0123456789abcdefABCD";

fn gh(runner: &Arc<ScriptedRunner>) -> Gh {
    secrets::register(TOKEN);
    Gh::new(runner.clone()).with_token(SecretString::from(TOKEN))
}

fn assert_token_only_in_env(spec: &CommandSpec) {
    assert!(argv(spec).iter().all(|a| !a.contains(TOKEN)));
    assert_eq!(env_value(spec, "GH_TOKEN").as_deref(), Some(TOKEN));
    for var in [
        "GITHUB_TOKEN",
        "GH_ENTERPRISE_TOKEN",
        "GITHUB_ENTERPRISE_TOKEN",
    ] {
        assert!(spec.env_remove.iter().any(|v| v == var), "{var} removed");
    }
}

#[tokio::test]
async fn gh_org_membership_member_or_not() {
    let runner = ScriptedRunner::new();
    let gh = gh(&runner);
    let spec = gh.org_membership_spec("contoso");
    assert_eq!(argv(&spec), words("gh api user/memberships/orgs/contoso"));
    assert_token_only_in_env(&spec);
    runner.answer(
        &spec,
        ok(r#"{"url":"https://api.github.com/orgs/contoso/memberships/dev","state":"active","role":"admin","organization_url":"https://api.github.com/orgs/contoso","organization":{"login":"contoso","id":1},"user":{"login":"dev","id":2}}"#),
    );
    let membership = gh.org_membership("contoso").await.unwrap().unwrap();
    assert!(membership.is_active() && membership.is_admin());

    runner.answer(
        &spec,
        Reply {
            exit: 1,
            stdout: r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user","status":"404"}"#.into(),
            stderr: "gh: Not Found (HTTP 404)\n".into(),
        },
    );
    assert_eq!(gh.org_membership("contoso").await.unwrap(), None);

    runner.answer(
        &spec,
        fail(
            1,
            "gh: You must have the read:org scope to view organization memberships. (HTTP 403)\n",
        ),
    );
    let class = class_of(gh.org_membership("contoso").await);
    assert!(
        matches!(class, ErrorClass::PermissionDenied { .. }),
        "{class:?}"
    );
}

#[tokio::test]
async fn gh_repo_view_parses_or_reports_absence() {
    let runner = ScriptedRunner::new();
    let gh = gh(&runner);
    let spec = gh.repo_view_spec("contoso/control-plane");
    assert_eq!(
        argv(&spec),
        words("gh repo view contoso/control-plane --json name,owner,url,isEmpty,visibility")
    );
    runner.answer(
        &spec,
        ok(r#"{"isEmpty":true,"name":"control-plane","owner":{"id":"O_kgDOB","login":"contoso"},"url":"https://github.com/contoso/control-plane","visibility":"PRIVATE"}"#),
    );
    let repo = gh
        .repo_view("contoso/control-plane")
        .await
        .unwrap()
        .unwrap();
    assert!(repo.is_empty && repo.is_private());
    assert_eq!(repo.slug(), "contoso/control-plane");

    runner.answer(
        &spec,
        fail(
            1,
            "GraphQL: Could not resolve to a Repository with the name 'contoso/control-plane'. (repository)\n",
        ),
    );
    assert_eq!(gh.repo_view("contoso/control-plane").await.unwrap(), None);
}

#[tokio::test]
async fn gh_repo_create_and_delete() {
    let runner = ScriptedRunner::new();
    let gh = gh(&runner);
    let private = gh.repo_create_spec("contoso/gitops", Visibility::Private, "Kalypso GitOps");
    assert_eq!(
        argv(&private),
        vec![
            "gh",
            "repo",
            "create",
            "contoso/gitops",
            "--private",
            "--description",
            "Kalypso GitOps"
        ]
    );
    let public = gh.repo_create_spec("dev/gitops", Visibility::Public, "x");
    assert_eq!(argv(&public)[4], "--public");

    runner.answer(
        &private,
        fail(
            1,
            "GraphQL: Name already exists on this account (createRepository)\n",
        ),
    );
    assert_eq!(
        class_of(
            gh.repo_create("contoso/gitops", Visibility::Private, "Kalypso GitOps")
                .await
        ),
        ErrorClass::AlreadyExists
    );

    let delete = gh.repo_delete_spec("contoso/gitops");
    assert_eq!(argv(&delete), words("gh repo delete contoso/gitops --yes"));
    runner.answer(&delete, ok(""));
    assert_eq!(
        gh.repo_delete("contoso/gitops").await.unwrap(),
        DeleteOutcome::Deleted
    );

    // With and without gh's own scope hint: both name the delete_repo scope.
    for stderr in [
        "HTTP 403: Must have admin rights to Repository. (https://api.github.com/repos/contoso/gitops)\nThis API operation needs the \"delete_repo\" scope. To request it, run:  gh auth refresh -h github.com -s delete_repo\n",
        "HTTP 403: Must have admin rights to Repository. (https://api.github.com/repos/contoso/gitops)\n",
    ] {
        runner.answer(&delete, fail(1, stderr));
        let err = gh.repo_delete("contoso/gitops").await.unwrap_err();
        assert_eq!(
            err.class(),
            ErrorClass::PermissionDenied {
                missing_scope: Some("delete_repo".to_string())
            }
        );
        assert!(
            err.hint()
                .contains("gh auth refresh -h github.com -s delete_repo"),
            "{}",
            err.hint()
        );
    }

    runner.answer(
        &delete,
        fail(
            1,
            "HTTP 404: Not Found (https://api.github.com/repos/contoso/gitops)\n",
        ),
    );
    assert_eq!(
        gh.repo_delete("contoso/gitops").await.unwrap(),
        DeleteOutcome::NotFound
    );
}

#[tokio::test]
async fn gh_repo_tree_lists_entries_or_reports_no_branch() {
    let runner = ScriptedRunner::new();
    let gh = gh(&runner);
    let spec = gh.repo_tree_spec("contoso/control-plane", "main");
    assert_eq!(
        argv(&spec),
        words("gh api repos/contoso/control-plane/git/trees/main?recursive=1")
    );
    runner.answer(
        &spec,
        ok(r#"{"sha":"9fb0","url":"https://api.github.com/repos/contoso/control-plane/git/trees/9fb0","tree":[
          {"path":".github","mode":"040000","type":"tree","sha":"a1","url":"u"},
          {"path":".github/workflows/ci.yaml","mode":"100644","type":"blob","sha":"a2","size":120,"url":"u"},
          {"path":"scripts/promote.sh","mode":"100755","type":"blob","sha":"a3","size":80,"url":"u"}
        ],"truncated":false}"#),
    );
    let tree = gh
        .repo_tree("contoso/control-plane", "main")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tree.len(), 3);
    assert_eq!(tree[0].kind, TreeEntryKind::Tree);
    assert!(tree[2].is_executable() && !tree[1].is_executable());

    runner.answer(&spec, ok(r#"{"sha":"x","tree":[],"truncated":true}"#));
    let err = gh
        .repo_tree("contoso/control-plane", "main")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");

    runner.answer(&spec, fail(1, "gh: Not Found (HTTP 404)\n"));
    assert_eq!(
        gh.repo_tree("contoso/control-plane", "main").await.unwrap(),
        None
    );

    runner.answer(&spec, fail(1, "gh: Git Repository is empty. (HTTP 409)\n"));
    assert_eq!(
        gh.repo_tree("contoso/control-plane", "main").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn gh_secret_value_travels_on_stdin_only() {
    let runner = ScriptedRunner::new();
    let gh = gh(&runner);
    let value = "ghp_secretValueForGitops0123456789abcd";
    secrets::register(value);
    let spec = gh.secret_set_spec(
        "contoso/control-plane",
        "GITOPS_REPO_TOKEN",
        &SecretString::from(value),
    );
    assert_eq!(
        argv(&spec),
        words("gh secret set GITOPS_REPO_TOKEN --repo contoso/control-plane")
    );
    runner.answer(&spec, ok(""));
    gh.secret_set(
        "contoso/control-plane",
        "GITOPS_REPO_TOKEN",
        SecretString::from(value),
    )
    .await
    .unwrap();
    let seen = runner.last();
    match &seen.stdin {
        Some(StdinData::Secret(bytes)) => assert_eq!(bytes.expose_secret(), value.as_bytes()),
        other => panic!("value must be secret stdin, got {other:?}"),
    }
    assert!(!argv(&seen)
        .iter()
        .any(|a| a.contains(value) || a == "--body"));
    assert!(!format!("{seen:?}").contains(value));

    let list = gh.secret_list_spec("contoso/control-plane");
    assert_eq!(
        argv(&list),
        words("gh secret list --repo contoso/control-plane --json name,updatedAt")
    );
    runner.answer(
        &list,
        ok(r#"[{"name":"GITOPS_REPO","updatedAt":"2025-01-02T03:04:05Z"},{"name":"GITOPS_REPO_TOKEN","updatedAt":"2025-01-02T03:04:06Z"}]"#),
    );
    assert_eq!(
        gh.secret_list("contoso/control-plane").await.unwrap(),
        vec!["GITOPS_REPO", "GITOPS_REPO_TOKEN"]
    );
}

#[tokio::test]
async fn gh_label_and_rate_limit() {
    let runner = ScriptedRunner::new();
    let gh = gh(&runner);
    let spec = gh.label_create_spec(
        "contoso/gitops",
        gh::PROMOTED_LABEL,
        gh::PROMOTED_LABEL_COLOR,
        "Promoted by Kalypso",
    );
    assert_eq!(
        argv(&spec),
        vec![
            "gh",
            "label",
            "create",
            "promoted",
            "--repo",
            "contoso/gitops",
            "--color",
            "0E8A16",
            "--description",
            "Promoted by Kalypso",
            "--force"
        ]
    );
    runner.answer(
        &spec,
        fail(
            1,
            "HTTP 403: API rate limit exceeded for user ID 1234567. If you reach out to GitHub Support for help, please include the request ID A1B2:3C4D (https://api.github.com/repos/contoso/gitops/labels)\nX-Ratelimit-Reset: 1767225600\n",
        ),
    );
    let err = gh
        .label_create(
            "contoso/gitops",
            gh::PROMOTED_LABEL,
            gh::PROMOTED_LABEL_COLOR,
            "Promoted by Kalypso",
        )
        .await
        .unwrap_err();
    assert!(err.is_transient());
    match err.class() {
        ErrorClass::RateLimited {
            reset: Some(kalypso_bootstrap::tools::RateLimitReset::At(at)),
        } => assert_eq!(at.unix_timestamp(), 1_767_225_600),
        other => panic!("expected a rate limit with its reset time, got {other:?}"),
    }
    assert!(
        err.hint().contains("2026-01-01T00:00:00Z"),
        "{}",
        err.hint()
    );
}

#[test]
fn gh_git_env_configures_the_credential_helper_and_token_by_environment() {
    let runner = ScriptedRunner::new();
    let gh = gh(&runner);
    let env = gh.git_env();
    let spec =
        env.apply(CommandSpec::new("git").args(["push", "https://github.com/o/n.git", "main"]));
    let get = |name: &str| env_value(&spec, name);
    assert_eq!(get("GIT_CONFIG_COUNT").as_deref(), Some("2"));
    assert_eq!(
        get("GIT_CONFIG_KEY_0").as_deref(),
        Some("credential.https://github.com.helper")
    );
    assert_eq!(get("GIT_CONFIG_VALUE_0").as_deref(), Some(""));
    assert_eq!(
        get("GIT_CONFIG_KEY_1").as_deref(),
        Some("credential.https://github.com.helper")
    );
    assert_eq!(
        get("GIT_CONFIG_VALUE_1").as_deref(),
        Some("!gh auth git-credential")
    );
    assert_eq!(get("GH_TOKEN").as_deref(), Some(TOKEN));
    assert_eq!(get("GIT_TERMINAL_PROMPT").as_deref(), Some("0"));
    assert!(spec
        .env
        .iter()
        .any(|(k, v)| k == "GH_TOKEN" && matches!(v, EnvValue::Secret(_))));
    assert!(spec.env_remove.iter().any(|v| v == "GITHUB_TOKEN"));
    assert!(spec.ensure_no_secret_in_argv().is_ok());

    // A caller's extra entries are numbered after the credential ones.
    let merged = gh_env_with_mapping(&gh);
    assert_eq!(env_value(&merged, "GIT_CONFIG_COUNT").as_deref(), Some("3"));
    assert_eq!(
        env_value(&merged, "GIT_CONFIG_KEY_2").as_deref(),
        Some("url.file:///srv/git/.insteadOf")
    );
}

fn gh_env_with_mapping(gh: &Gh) -> CommandSpec {
    let env = gh.git_env().merge(
        kalypso_bootstrap::tools::git::GitEnv::new()
            .config("url.file:///srv/git/.insteadOf", "https://github.com/"),
    );
    env.apply(CommandSpec::new("git"))
}

// ---------------------------------------------------------------------------------------
// kubectl

fn kube(runner: &Arc<ScriptedRunner>) -> kubectl::KubectlContext {
    Kubectl::new(runner.clone()).with_context(CTX)
}

#[test]
fn every_kubectl_cluster_call_names_the_context_first() {
    let runner = ScriptedRunner::new();
    let k = kube(&runner);
    let specs = [
        k.server_version_spec(),
        k.get_nodes_spec(),
        k.get_pods_spec("kube-system"),
        k.get_crd_spec(kubectl::FLUX_GITREPOSITORY_CRD),
        k.list_crds_spec(),
        k.apply_server_side_url_spec(&kubectl::flux_install_url(kubectl::FLUX_VERSION)),
        k.apply_stdin_spec("kind: Workload"),
        k.wait_deployments_available_spec("flux-system", Duration::from_secs(300)),
        k.get_namespace_spec("kalypso-system"),
        k.create_namespace_spec("kalypso-system"),
        k.delete_namespace_spec("kalypso-system"),
        k.get_deployments_spec("kalypso-system"),
        k.get_validating_webhooks_spec(),
        k.get_flux_object_spec(FluxKind::GitRepository, "control-plane", "flux-system"),
        k.get_flux_object_spec(FluxKind::Kustomization, "control-plane", "flux-system"),
        k.delete_workload_spec("probe", "kalypso-system"),
        k.delete_crds_spec(&["a.example.io", "b.example.io"]),
        k.delete_url_spec(&kubectl::flux_install_url("2.7.5")),
    ];
    for spec in &specs {
        assert_eq!(
            argv(spec)[..3],
            ["kubectl", "--context", CTX],
            "{}",
            spec.display()
        );
    }
    assert_eq!(
        argv(&specs[5]),
        words(&format!(
            "kubectl --context {CTX} apply --server-side -f https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml"
        ))
    );
    assert_eq!(
        argv(&specs[7]),
        words(&format!(
            "kubectl --context {CTX} wait --for=condition=Available deployment --all -n flux-system --timeout=300s"
        ))
    );
    assert!(specs[7].timeout.unwrap() > Duration::from_secs(300));
    assert_eq!(
        argv(&specs[14]),
        words(&format!(
            "kubectl --context {CTX} get kustomizations.kustomize.toolkit.fluxcd.io control-plane -n flux-system -o json"
        ))
    );
    assert_eq!(
        argv(&specs[10]),
        words(&format!(
            "kubectl --context {CTX} delete namespace kalypso-system --wait=false"
        ))
    );
    assert_eq!(
        argv(&k.delete_context_spec(Path::new("/tmp/kc"))),
        words(&format!(
            "kubectl config delete-context {CTX} --kubeconfig /tmp/kc"
        ))
    );
    match &specs[6].stdin {
        Some(StdinData::Plain(bytes)) => assert_eq!(bytes, b"kind: Workload"),
        other => panic!("manifest on stdin expected, got {other:?}"),
    }
}

#[tokio::test]
async fn kubectl_nodes_and_pods_report_readiness() {
    let runner = ScriptedRunner::new();
    let k = kube(&runner);
    runner.answer(
        &k.get_nodes_spec(),
        ok(r#"{"apiVersion":"v1","kind":"List","items":[
          {"metadata":{"name":"aks-nodepool1-1"},"spec":{},"status":{
            "conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True","reason":"KubeletReady"}],
            "nodeInfo":{"kubeletVersion":"v1.33.2"}}},
          {"metadata":{"name":"aks-nodepool1-2"},"spec":{"unschedulable":true},"status":{
            "conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady","message":"container runtime network not ready"}]}}
        ],"metadata":{"resourceVersion":""}}"#),
    );
    let nodes = k.get_nodes().await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(nodes[0].ready && !nodes[0].unschedulable);
    assert_eq!(nodes[0].kubelet_version.as_deref(), Some("v1.33.2"));
    assert!(!nodes[1].ready && nodes[1].unschedulable);
    assert_eq!(nodes[1].reason.as_deref(), Some("KubeletNotReady"));

    runner.answer(
        &k.get_pods_spec("kube-system"),
        ok(r#"{"items":[
          {"metadata":{"name":"coredns-1","namespace":"kube-system"},"status":{"phase":"Running",
            "containerStatuses":[{"name":"coredns","ready":true,"restartCount":1,"state":{"running":{}}}]}},
          {"metadata":{"name":"bad-2","namespace":"kube-system"},"status":{"phase":"Running",
            "containerStatuses":[{"name":"c","ready":false,"restartCount":7,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}},
          {"metadata":{"name":"new-3","namespace":"kube-system"},"status":{"phase":"Pending"}}
        ]}"#),
    );
    let pods = k.get_pods("kube-system").await.unwrap();
    assert!(pods[0].is_running() && pods[0].ready);
    assert_eq!(pods[1].waiting_reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(pods[1].restarts, 7);
    assert!(!pods[1].ready);
    assert!(!pods[2].is_running() && !pods[2].ready);

    runner.answer(
        &k.get_pods_spec("empty"),
        ok(r#"{"apiVersion":"v1","items":null,"kind":"List"}"#),
    );
    assert!(k.get_pods("empty").await.unwrap().is_empty());

    runner.answer(
        &k.get_nodes_spec(),
        fail(
            1,
            "E0101 00:00:00.000000   1 memcache.go:265] couldn't get current server API group list: Get \"https://kalypso-dns.hcp.westeurope.azmk8s.io:443/api?timeout=32s\": dial tcp: lookup kalypso-dns.hcp.westeurope.azmk8s.io: no such host\nUnable to connect to the server: dial tcp: lookup kalypso-dns.hcp.westeurope.azmk8s.io: no such host\n",
        ),
    );
    let err = k.get_nodes().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Unreachable);
    assert!(err.is_transient());
}

const FLUX_CRD_JSON: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": { "name": "gitrepositories.source.toolkit.fluxcd.io" },
  "spec": {
    "group": "source.toolkit.fluxcd.io",
    "names": { "kind": "GitRepository", "plural": "gitrepositories" },
    "scope": "Namespaced",
    "versions": [
      { "name": "v1", "served": true, "storage": true },
      { "name": "v1beta2", "served": true, "storage": false, "deprecated": true }
    ]
  },
  "status": { "conditions": [ { "type": "Established", "status": "True", "reason": "InitialNamesAccepted" } ] }
}"#;

#[tokio::test]
async fn kubectl_crds_tell_which_versions_are_served() {
    let runner = ScriptedRunner::new();
    let k = kube(&runner);
    let spec = k.get_crd_spec(kubectl::FLUX_GITREPOSITORY_CRD);
    runner.answer(&spec, ok(FLUX_CRD_JSON));
    let crd = k
        .get_crd(kubectl::FLUX_GITREPOSITORY_CRD)
        .await
        .unwrap()
        .unwrap();
    assert!(crd.established && crd.serves("v1beta2") && crd.serves("v1"));
    assert!(!crd.serves("v1beta1"));
    assert_eq!(crd.kind, "GitRepository");

    runner.answer(
        &spec,
        ok(&FLUX_CRD_JSON.replace(
            r#""name": "v1beta2", "served": true"#,
            r#""name": "v1beta2", "served": false"#,
        )),
    );
    let crd = k
        .get_crd(kubectl::FLUX_GITREPOSITORY_CRD)
        .await
        .unwrap()
        .unwrap();
    assert!(!crd.serves("v1beta2"), "Flux 2.8 stops serving v1beta2");

    runner.answer(
        &spec,
        fail(
            1,
            "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"gitrepositories.source.toolkit.fluxcd.io\" not found\n",
        ),
    );
    assert_eq!(
        k.get_crd(kubectl::FLUX_GITREPOSITORY_CRD).await.unwrap(),
        None
    );

    runner.answer(
        &k.list_crds_spec(),
        ok(&format!(
            r#"{{"apiVersion":"v1","items":[{FLUX_CRD_JSON}],"kind":"List"}}"#
        )),
    );
    assert_eq!(
        k.list_crds().await.unwrap()[0].group,
        "source.toolkit.fluxcd.io"
    );
}

#[tokio::test]
async fn kubectl_namespaces_deployments_webhooks_and_flux_objects() {
    let runner = ScriptedRunner::new();
    let k = kube(&runner);
    let get_ns = k.get_namespace_spec("kalypso-system");
    runner.answer(
        &get_ns,
        ok(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kalypso-system"},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Terminating"}}"#),
    );
    let ns = k.get_namespace("kalypso-system").await.unwrap().unwrap();
    assert!(ns.is_terminating());
    runner.answer(
        &get_ns,
        fail(
            1,
            "Error from server (NotFound): namespaces \"kalypso-system\" not found\n",
        ),
    );
    assert_eq!(k.get_namespace("kalypso-system").await.unwrap(), None);

    runner.answer(
        &k.create_namespace_spec("kalypso-system"),
        fail(
            1,
            "Error from server (AlreadyExists): namespaces \"kalypso-system\" already exists\n",
        ),
    );
    assert_eq!(
        class_of(k.create_namespace("kalypso-system").await),
        ErrorClass::AlreadyExists
    );
    runner.answer(
        &k.delete_namespace_spec("kalypso-system"),
        fail(
            1,
            "Error from server (NotFound): namespaces \"kalypso-system\" not found\n",
        ),
    );
    assert_eq!(
        k.delete_namespace("kalypso-system").await.unwrap(),
        DeleteOutcome::NotFound
    );

    runner.answer(
        &k.get_deployments_spec("kalypso-system"),
        ok(r#"{"items":[
          {"metadata":{"name":"kalypso-scheduler-controller-manager","namespace":"kalypso-system","generation":1},
           "spec":{"replicas":2},"status":{"availableReplicas":2,"readyReplicas":2,"updatedReplicas":2}},
          {"metadata":{"name":"starting"},"spec":{},"status":{}}
        ]}"#),
    );
    let deployments = k.get_deployments("kalypso-system").await.unwrap();
    assert!(deployments[0].is_available());
    assert_eq!(deployments[1].replicas, 1, "spec.replicas defaults to 1");
    assert!(!deployments[1].is_available());

    runner.answer(
        &k.get_validating_webhooks_spec(),
        ok(r#"{"items":[{"metadata":{"name":"kalypso-validating-webhook"},"webhooks":[
          {"name":"vworkload.kb.io","admissionReviewVersions":["v1"],"clientConfig":{"service":{"name":"kalypso-webhook-service","namespace":"kalypso-system","path":"/validate"}}}]}]}"#),
    );
    let hooks = k.get_validating_webhooks().await.unwrap();
    assert_eq!(
        hooks[0].webhooks[0]
            .client_config
            .service
            .as_ref()
            .unwrap()
            .name,
        "kalypso-webhook-service"
    );

    let flux = k.get_flux_object_spec(FluxKind::GitRepository, "control-plane", "flux-system");
    runner.answer(
        &flux,
        ok(r#"{"kind":"GitRepository","metadata":{"name":"control-plane","namespace":"flux-system","generation":2},
          "status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"True","reason":"Succeeded","message":"stored artifact for revision 'main@sha1:abc'"}]}}"#),
    );
    let repo = k
        .get_flux_object(FluxKind::GitRepository, "control-plane", "flux-system")
        .await
        .unwrap()
        .unwrap();
    assert!(repo.is_ready());
    runner.answer(
        &flux,
        ok(r#"{"kind":"GitRepository","metadata":{"name":"control-plane","generation":3},
          "status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"True","reason":"Succeeded"}]}}"#),
    );
    let stale = k
        .get_flux_object(FluxKind::GitRepository, "control-plane", "flux-system")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stale.is_ready(),
        "not yet reconciled at the new generation"
    );
    runner.answer(
        &flux,
        ok(r#"{"kind":"GitRepository","metadata":{"name":"control-plane"},
          "status":{"conditions":[{"type":"Ready","status":"False","reason":"GitOperationFailed","message":"authentication required"}]}}"#),
    );
    let failing = k
        .get_flux_object(FluxKind::GitRepository, "control-plane", "flux-system")
        .await
        .unwrap()
        .unwrap();
    assert!(!failing.is_ready());
    assert_eq!(
        failing.ready.unwrap().reason.as_deref(),
        Some("GitOperationFailed")
    );
}

#[tokio::test]
async fn kubectl_multi_deletes_tolerate_only_not_found() {
    let runner = ScriptedRunner::new();
    let k = kube(&runner);
    let names = [
        "workloads.scheduler.kalypso.io",
        "templates.scheduler.kalypso.io",
    ];
    let spec = k.delete_crds_spec(&names);
    runner.answer(
        &spec,
        Reply {
            exit: 1,
            stdout: "customresourcedefinition.apiextensions.k8s.io \"workloads.scheduler.kalypso.io\" deleted\n".into(),
            stderr: "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"templates.scheduler.kalypso.io\" not found\n".into(),
        },
    );
    k.delete_crds(&names).await.unwrap();

    runner.answer(
        &spec,
        fail(
            1,
            "Error from server (Forbidden): customresourcedefinitions.apiextensions.k8s.io \"templates.scheduler.kalypso.io\" is forbidden: User \"dev\" cannot delete resource \"customresourcedefinitions\" in API group \"apiextensions.k8s.io\" at the cluster scope\n",
        ),
    );
    let err = k.delete_crds(&names).await.unwrap_err();
    assert!(
        matches!(err.class(), ErrorClass::PermissionDenied { .. }),
        "{err:?}"
    );

    let url = kubectl::flux_install_url("v2.7.5");
    runner.answer(
        &k.delete_url_spec(&url),
        fail(1, "Error from server (NotFound): error when deleting \"https://github.com/fluxcd/flux2/releases/download/v2.7.5/install.yaml\": namespaces \"flux-system\" not found\n"),
    );
    k.delete_url(&url).await.unwrap();

    let ctx = k.delete_context_spec(Path::new("/tmp/kc"));
    runner.answer(
        &ctx,
        fail(
            1,
            &format!("error: cannot delete context {CTX}, not in /tmp/kc\n"),
        ),
    );
    assert_eq!(
        k.delete_context(Path::new("/tmp/kc")).await.unwrap(),
        DeleteOutcome::NotFound
    );
}

#[tokio::test]
async fn kubectl_server_version_and_wait_timeout() {
    let runner = ScriptedRunner::new();
    let k = kube(&runner);
    runner.answer(
        &k.server_version_spec(),
        ok(r#"{"clientVersion":{"gitVersion":"v1.37.1"},"kustomizeVersion":"v5.8.1","serverVersion":{"major":"1","minor":"33","gitVersion":"v1.33.2"}}"#),
    );
    assert_eq!(k.server_version().await.unwrap().to_string(), "1.33.2");

    let wait = k.wait_deployments_available_spec("flux-system", Duration::from_secs(300));
    runner.answer(
        &wait,
        fail(
            1,
            "error: timed out waiting for the condition on deployments/source-controller\n",
        ),
    );
    let err = k
        .wait_deployments_available("flux-system", Duration::from_secs(300))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Timeout);
}

// ---------------------------------------------------------------------------------------
// helm

fn published(version: &str) -> ChartRef {
    ChartRef {
        chart: HelmChart::published("kalypso-scheduler"),
        version: version.to_string(),
    }
}

#[tokio::test]
async fn helm_show_chart_published_or_local() {
    let runner = ScriptedRunner::new();
    let helm = Helm::new(runner.clone());
    let spec = helm.show_chart_spec(&published("1.1.2-alpha"));
    assert_eq!(
        argv(&spec),
        words("helm show chart kalypso-scheduler --repo https://microsoft.github.io/kalypso-scheduler --version 1.1.2-alpha")
    );
    runner.answer(
        &spec,
        ok("apiVersion: v2\nappVersion: 1.1.2-alpha\ndescription: Kalypso Scheduler\nname: kalypso-scheduler\ntype: application\nversion: 1.1.2-alpha\n"),
    );
    let info = helm
        .show_chart(&published("1.1.2-alpha"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.version, "1.1.2-alpha");

    let missing = helm.show_chart_spec(&published("9.9.9"));
    runner.answer(
        &missing,
        fail(1, "Error: chart \"kalypso-scheduler\" version \"9.9.9\" not found in https://microsoft.github.io/kalypso-scheduler repository\n"),
    );
    assert_eq!(helm.show_chart(&published("9.9.9")).await.unwrap(), None);

    let local = ChartRef {
        chart: HelmChart::Local(PathBuf::from("/src/kalypso/helm/kalypso-scheduler")),
        version: "1.1.2-alpha".into(),
    };
    assert_eq!(
        argv(&helm.show_chart_spec(&local)),
        words("helm show chart /src/kalypso/helm/kalypso-scheduler")
    );

    runner.answer(
        &spec,
        fail(1, "Error: looks like \"https://microsoft.github.io/kalypso-scheduler\" is not a valid chart repository or cannot be reached: Get \"https://microsoft.github.io/kalypso-scheduler/index.yaml\": dial tcp: lookup microsoft.github.io: no such host\n"),
    );
    assert_eq!(
        class_of(helm.show_chart(&published("1.1.2-alpha")).await),
        ErrorClass::Unreachable
    );
}

#[tokio::test]
async fn helm_install_gets_our_values_on_stdin_then_the_users_file_and_never_set() {
    let runner = ScriptedRunner::new();
    let helm = Helm::new(runner.clone()).with_kube_context(CTX);
    let token = "ghp_helmValuesToken0123456789abcdefXYZ";
    secrets::register(token);
    let ours = KalypsoValues {
        control_plane_url: "https://github.com/contoso/control-plane".into(),
        control_plane_branch: "main".into(),
        gh_repo_token: SecretString::from(token),
    }
    .to_stdin()
    .unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_slice(ours.expose_secret()).unwrap();
    assert_eq!(
        yaml["controlPlaneURL"].as_str(),
        Some("https://github.com/contoso/control-plane")
    );
    assert_eq!(yaml["controlPlaneBranch"].as_str(), Some("main"));
    assert_eq!(yaml["ghRepoToken"].as_str(), Some(token));
    // Only the keys the published chart reads (its templates/controlplanerepo.yaml).
    assert_eq!(
        yaml.as_mapping().map(|m| m.len()),
        Some(3),
        "no other key: {:?}",
        yaml.as_mapping().map(|m| m.keys().collect::<Vec<_>>())
    );

    let params = InstallParams {
        release: helm::RELEASE_NAME.into(),
        chart: published("1.1.2-alpha"),
        namespace: "kalypso-system".into(),
        our_values: ours,
        values_files: vec![PathBuf::from("/home/dev/values.yaml")],
        timeout: Duration::from_secs(300),
        installation_id: "kb-0123456789ab".into(),
    };
    let spec = helm.upgrade_install_spec(&params);
    assert_eq!(
        argv(&spec),
        words(&format!(
            "helm upgrade --install kalypso-scheduler kalypso-scheduler \
             --repo https://microsoft.github.io/kalypso-scheduler --version 1.1.2-alpha \
             --namespace kalypso-system --create-namespace -f - -f /home/dev/values.yaml \
             --labels kalypso-bootstrap/installation=kb-0123456789ab \
             --wait --timeout 5m0s --kube-context {CTX}"
        ))
    );
    match &spec.stdin {
        Some(StdinData::Secret(bytes)) => {
            assert_eq!(bytes.expose_secret(), params.our_values.expose_secret())
        }
        other => panic!("our values go on stdin, as a secret: {other:?}"),
    }
    assert!(!argv(&spec)
        .iter()
        .any(|a| a.starts_with("--set") || a.contains(token)));
    assert!(spec.timeout.unwrap() > Duration::from_secs(300));
    runner.answer(
        &spec,
        ok("Release \"kalypso-scheduler\" has been upgraded. Happy Helming!\n"),
    );
    helm.upgrade_install(&params).await.unwrap();
}

#[tokio::test]
async fn helm_status_list_uninstall() {
    let runner = ScriptedRunner::new();
    let helm = Helm::new(runner.clone()).with_kube_context(CTX);
    let status = helm.status_spec(helm::RELEASE_NAME, "kalypso-system");
    assert_eq!(
        argv(&status),
        words(&format!(
            "helm status kalypso-scheduler -n kalypso-system -o json --kube-context {CTX}"
        ))
    );
    assert!(status.stdout_is_secret, "status JSON carries the values");
    runner.answer(
        &status,
        ok(r#"{"name":"kalypso-scheduler","info":{"first_deployed":"2025-01-01T00:00:00Z","last_deployed":"2025-01-01T00:00:00Z","deleted":"","description":"Install complete","status":"deployed"},"chart":{"metadata":{"name":"kalypso-scheduler","version":"1.1.2-alpha","appVersion":"1.1.2-alpha","apiVersion":"v2"}},"config":{"ghRepoToken":"***"},"manifest":"---","version":1,"namespace":"kalypso-system"}"#),
    );
    let release = helm
        .status(helm::RELEASE_NAME, "kalypso-system")
        .await
        .unwrap()
        .unwrap();
    assert!(release.is_deployed());
    assert_eq!(release.chart_version(), Some("1.1.2-alpha"));
    runner.answer(&status, fail(1, "Error: release: not found\n"));
    assert_eq!(
        helm.status(helm::RELEASE_NAME, "kalypso-system")
            .await
            .unwrap(),
        None
    );

    let list = helm.list_spec("kalypso-system");
    assert_eq!(
        argv(&list),
        words(&format!(
            "helm list -n kalypso-system -o json --kube-context {CTX}"
        ))
    );
    runner.answer(
        &list,
        ok(r#"[{"name":"kalypso-scheduler","namespace":"kalypso-system","revision":"2","updated":"2025-01-01 00:00:00.0 +0000 UTC","status":"deployed","chart":"kalypso-scheduler-1.1.2-alpha","app_version":"1.1.2-alpha"}]"#),
    );
    let releases = helm.list("kalypso-system").await.unwrap();
    assert_eq!(releases[0].revision, "2");
    assert_eq!(releases[0].chart, "kalypso-scheduler-1.1.2-alpha");

    let uninstall = helm.uninstall_spec(helm::RELEASE_NAME, "kalypso-system");
    assert_eq!(
        argv(&uninstall),
        words(&format!(
            "helm uninstall kalypso-scheduler -n kalypso-system --kube-context {CTX}"
        ))
    );
    runner.answer(
        &uninstall,
        fail(
            1,
            "Error: uninstall: Release not loaded: kalypso-scheduler: release: not found\n",
        ),
    );
    assert_eq!(
        helm.uninstall(helm::RELEASE_NAME, "kalypso-system")
            .await
            .unwrap(),
        DeleteOutcome::NotFound
    );
}

#[test]
fn go_durations_match_what_helm_prints() {
    assert_eq!(helm::go_duration(Duration::from_secs(300)), "5m0s");
    assert_eq!(helm::go_duration(Duration::from_secs(45)), "45s");
    assert_eq!(helm::go_duration(Duration::from_secs(3725)), "1h2m5s");
    assert_eq!(helm::go_duration(Duration::from_secs(0)), "0s");
}
