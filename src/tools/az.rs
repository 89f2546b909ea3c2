//! The Azure CLI (`az`).
//!
//! Every subscription-scoped call carries `--subscription <id>` when the subscription is
//! known, so the user's default subscription is neither relied on nor changed (this adapter
//! never runs `az account set`). `az version` and `az login` take no subscription.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

pub use crate::config::configuration::NetworkPlugin;

use super::error::{delete_outcome, none_if_not_found, output_excerpt, DeleteOutcome, ToolError};
use super::exec::Exec;
use super::runner::{CommandRunner, CommandSpec, RunControl};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "az";

/// `az` starts a Python interpreter and may refresh tokens: give it room.
const QUERY_TIMEOUT: Duration = Duration::from_secs(90);
/// `az login` waits for the user in a browser or on a device code.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(900);
/// `az aks create --no-wait` still validates, registers providers and creates the managed
/// identity before it returns.
const CREATE_TIMEOUT: Duration = Duration::from_secs(300);

/// Built-in role definition ids (the same in every tenant).
pub const OWNER_ROLE_ID: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR_ROLE_ID: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

#[derive(Clone)]
pub struct Az {
    exec: Exec,
    subscription: Option<String>,
}

/// `az account show -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AzAccount {
    /// The subscription id.
    pub id: String,
    /// The subscription's display name.
    pub name: String,
    pub tenant_id: String,
    #[serde(default)]
    pub home_tenant_id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub environment_name: Option<String>,
    pub user: AzUser,
}

/// The signed-in identity in `az account show`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct AzUser {
    /// A user principal name, or a service principal's application id, or
    /// `systemAssignedIdentity` / `userAssignedIdentity` for managed identities.
    pub name: String,
    /// `user` or `servicePrincipal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Present (`MSI`, ...) for managed identities.
    #[serde(default, rename = "assignedIdentityInfo")]
    pub assigned_identity_info: Option<String>,
}

impl AzUser {
    /// Managed identities show a placeholder name that `--assignee` cannot resolve.
    pub fn is_managed_identity(&self) -> bool {
        self.assigned_identity_info.is_some()
            || matches!(
                self.name.as_str(),
                "systemAssignedIdentity" | "userAssignedIdentity"
            )
    }
}

/// One element of `az role assignment list -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    #[serde(default)]
    pub role_definition_name: Option<String>,
    pub role_definition_id: String,
    pub scope: String,
    #[serde(default)]
    pub principal_name: Option<String>,
    #[serde(default)]
    pub principal_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
}

/// The built-in roles that allow creating clusters and resource groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub enum BuiltinRole {
    Contributor,
    Owner,
}

impl BuiltinRole {
    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Owner => "Owner",
            BuiltinRole::Contributor => "Contributor",
        }
    }
}

impl RoleAssignment {
    /// Owner or Contributor, recognised by definition id (names can be localised or custom
    /// roles can reuse a name).
    pub fn builtin_role(&self) -> Option<BuiltinRole> {
        let id = self.role_definition_id.to_ascii_lowercase();
        if id.ends_with(OWNER_ROLE_ID) {
            Some(BuiltinRole::Owner)
        } else if id.ends_with(CONTRIBUTOR_ROLE_ID) {
            Some(BuiltinRole::Contributor)
        } else {
            None
        }
    }

    /// Whether the assignment applies to the whole subscription (set on it or above it).
    pub fn covers_subscription(&self, subscription_id: &str) -> bool {
        let scope = self.scope.trim_end_matches('/').to_ascii_lowercase();
        let subscription = format!("/subscriptions/{}", subscription_id.to_ascii_lowercase());
        scope == subscription
            || scope == "/"
            || scope.starts_with("/providers/microsoft.management/managementgroups/")
    }
}

impl Az {
    /// Every call of the returned adapter streams its output to `control.sink` and stops
    /// when `control.cancel` is cancelled (the children are killed).
    pub fn with_control(mut self, control: RunControl) -> Self {
        self.exec = self.exec.with_control(control);
        self
    }

    /// `subscription`: the value of `AZURE_SUBSCRIPTION_ID`, when set.
    pub fn new(runner: Arc<dyn CommandRunner>, subscription: Option<String>) -> Self {
        Self {
            exec: Exec::new(runner),
            subscription,
        }
    }

    pub fn subscription(&self) -> Option<&str> {
        self.subscription.as_deref()
    }

    fn base(args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            // Warnings (e.g. "new version available") would only clutter stderr excerpts.
            .env("AZURE_CORE_ONLY_SHOW_ERRORS", "true")
            .env("AZURE_CORE_NO_COLOR", "true")
            .timeout(QUERY_TIMEOUT)
    }

    /// A subscription-scoped call: `--subscription` appended when known.
    pub fn scoped(&self, args: &[&str]) -> CommandSpec {
        let spec = Self::base(args);
        match &self.subscription {
            Some(id) => spec.args(["--subscription", id.as_str()]),
            None => spec,
        }
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["version", "-o", "json"])
    }

    /// `az version -o json`, key `azure-cli`.
    pub async fn version(&self) -> Result<Version, ToolError> {
        self.exec.version(self.version_spec(), parse_version).await
    }

    pub fn account_show_spec(&self) -> CommandSpec {
        self.scoped(&["account", "show", "-o", "json"])
    }

    /// The signed-in account for the subscription in use. Not signed in (or expired
    /// credentials) is [`ToolError::NotAuthenticated`].
    pub async fn account_show(&self) -> Result<AzAccount, ToolError> {
        let spec = self.account_show_spec();
        let command = spec.display();
        let output = self.exec.checked(spec).await?;
        serde_json::from_str(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: format!(
                "not an account object ({e}): {}",
                output_excerpt(&output.stdout)
            ),
        })
    }

    /// `az login` with the terminal handed over (browser or device code flow).
    pub fn login_spec(&self, tenant: Option<&str>) -> CommandSpec {
        let spec = Self::base(&["login"])
            .timeout(LOGIN_TIMEOUT)
            .with_terminal();
        match tenant {
            Some(tenant) => spec.args(["--tenant", tenant]),
            None => spec,
        }
    }

    pub fn role_assignments_spec(&self, assignee: &str, subscription_id: &str) -> CommandSpec {
        let scope = format!("/subscriptions/{subscription_id}");
        self.scoped(&[
            "role",
            "assignment",
            "list",
            "--assignee",
            assignee,
            "--scope",
            &scope,
            "--include-inherited",
            "--include-groups",
            "-o",
            "json",
        ])
    }

    /// Role assignments of `assignee` on the subscription, including inherited ones and
    /// those held through groups.
    pub async fn role_assignments(
        &self,
        assignee: &str,
        subscription_id: &str,
    ) -> Result<Vec<RoleAssignment>, ToolError> {
        let spec = self.role_assignments_spec(assignee, subscription_id);
        let command = spec.display();
        let output = self.exec.checked(spec).await?;
        serde_json::from_str(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: format!(
                "not a list of role assignments ({e}): {}",
                output_excerpt(&output.stdout)
            ),
        })
    }
}

/// The CLI's version from `az version -o json` (key `azure-cli`).
pub fn parse_version(stdout: &str) -> Result<Version, VersionParseError> {
    let value: serde_json::Value = serde_json::from_str(stdout).map_err(|e| {
        VersionParseError::new(format!("not JSON ({e}): {}", output_excerpt(stdout)))
    })?;
    let text = value
        .get("azure-cli")
        .and_then(|v| v.as_str())
        .ok_or_else(|| VersionParseError::new("no \"azure-cli\" key in the version object"))?;
    text.parse()
}

// ---------------------------------------------------------------------------------------
// Resource groups, AKS and the pre-flight queries

/// `az group show/create -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub properties: Option<ResourceGroupProperties>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupProperties {
    #[serde(default)]
    pub provisioning_state: Option<String>,
}

/// `az aks get-versions -o json`: the Kubernetes versions AKS offers in a region.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct AksVersions {
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<AksMinorVersion>,
}

/// One minor version (`1.33`) and its patch versions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AksMinorVersion {
    pub version: String,
    /// Patch version (`1.33.2`) → its upgrade paths (not used).
    #[serde(default, deserialize_with = "null_as_default")]
    pub patch_versions: BTreeMap<String, serde_json::Value>,
    /// az prints `null` rather than `false`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_default: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_preview: bool,
}

impl AksVersions {
    /// Every patch version offered, e.g. `1.33.2`, in the order az lists them.
    pub fn patch_versions(&self) -> Vec<&str> {
        self.values
            .iter()
            .flat_map(|minor| minor.patch_versions.keys().map(String::as_str))
            .collect()
    }

    /// The minor version AKS picks when none is given.
    pub fn default_version(&self) -> Option<&str> {
        self.values
            .iter()
            .find(|minor| minor.is_default)
            .map(|minor| minor.version.as_str())
    }

    /// Whether `version` can be given to `az aks create --kubernetes-version`: a minor
    /// version (`1.33`) or one of its patch versions (`1.33.2`).
    pub fn offers(&self, version: &str) -> bool {
        let version = version.trim().trim_start_matches('v');
        self.values
            .iter()
            .any(|minor| minor.version == version || minor.patch_versions.contains_key(version))
    }
}

/// One element of `az vm list-skus -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSku {
    pub name: String,
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The quota family, e.g. `standardDSv2Family` (matches [`VmUsage`] names).
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub locations: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub capabilities: Vec<SkuCapability>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub restrictions: Vec<SkuRestriction>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct SkuCapability {
    pub name: String,
    pub value: String,
}

/// Why a size cannot be used somewhere.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuRestriction {
    /// `Location` (the size is unavailable in the region) or `Zone` (only in some zones).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub reason_code: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<String>,
}

impl VmSku {
    pub fn capability(&self, name: &str) -> Option<&str> {
        self.capabilities
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .map(|c| c.value.as_str())
    }

    /// The number of vCPUs of one VM of this size.
    pub fn vcpus(&self) -> Option<u32> {
        self.capability("vCPUs")?.trim().parse().ok()
    }

    /// Whether the subscription may create this size in `location`: listed there and
    /// without a `Location` restriction for it (zone restrictions do not matter: AKS
    /// node pools here are not zonal).
    pub fn available_in(&self, location: &str) -> bool {
        let listed =
            self.locations.is_empty() || self.locations.iter().any(|l| same_location(l, location));
        let restricted = self.restrictions.iter().any(|r| {
            r.kind.eq_ignore_ascii_case("Location")
                && (r.values.is_empty() || r.values.iter().any(|v| same_location(v, location)))
        });
        listed && !restricted
    }
}

/// The SKU whose name is exactly `size` (az matches `--size` as a prefix too).
pub fn exact_sku<'a>(skus: &'a [VmSku], size: &str) -> Option<&'a VmSku> {
    skus.iter().find(|sku| sku.name.eq_ignore_ascii_case(size))
}

/// Azure writes locations as `westeurope` or `West Europe`.
fn same_location(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    norm(a) == norm(b)
}

/// One element of `az vm list-usage -o json`. az prints the numbers as strings; both
/// forms are read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmUsage {
    #[serde(deserialize_with = "number_or_string")]
    pub current_value: u64,
    #[serde(deserialize_with = "number_or_string")]
    pub limit: u64,
    pub name: UsageName,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageName {
    /// `cores` (Total Regional vCPUs) or a family such as `standardDSv2Family`.
    pub value: String,
    #[serde(default)]
    pub localized_value: Option<String>,
}

/// The usage name of the regional vCPU total.
pub const REGIONAL_VCPUS: &str = "cores";

impl VmUsage {
    /// What is left of the quota.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.current_value)
    }
}

/// The usage entry named `name` (`cores`, `standardDSv2Family`, ...), case-insensitively.
pub fn find_usage<'a>(usages: &'a [VmUsage], name: &str) -> Option<&'a VmUsage> {
    usages
        .iter()
        .find(|usage| usage.name.value.eq_ignore_ascii_case(name))
}

/// `az aks show -o json` (the fields the engine reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AksCluster {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub provisioning_state: Option<String>,
    #[serde(default)]
    pub power_state: Option<PowerState>,
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    #[serde(default)]
    pub current_kubernetes_version: Option<String>,
    #[serde(default)]
    pub fqdn: Option<String>,
    #[serde(default)]
    pub node_resource_group: Option<String>,
    #[serde(default)]
    pub resource_group: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct PowerState {
    /// `Running` or `Stopped`.
    pub code: String,
}

/// `provisioningState` of an ARM resource, as far as the engine distinguishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ProvisioningState {
    Succeeded,
    /// Creating, Updating, Upgrading, Scaling, ...: still working.
    InProgress(String),
    Failed,
    Canceled,
    Deleting,
    Unknown,
}

impl AksCluster {
    pub fn provisioning(&self) -> ProvisioningState {
        match self.provisioning_state.as_deref() {
            None => ProvisioningState::Unknown,
            Some(state) => match state.to_ascii_lowercase().as_str() {
                "succeeded" => ProvisioningState::Succeeded,
                "failed" => ProvisioningState::Failed,
                "canceled" | "cancelled" => ProvisioningState::Canceled,
                "deleting" => ProvisioningState::Deleting,
                _ => ProvisioningState::InProgress(state.to_string()),
            },
        }
    }

    /// Whether the cluster's power state is `Running`.
    pub fn is_running(&self) -> bool {
        self.power_state
            .as_ref()
            .is_some_and(|p| p.code.eq_ignore_ascii_case("Running"))
    }
}

/// What `az aks create` is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AksCreateParams {
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub node_count: u32,
    pub node_vm_size: String,
    /// `None`: the region's default version.
    pub kubernetes_version: Option<String>,
    pub network_plugin: NetworkPlugin,
    /// The value of the [`MARK_TAG`] tag the cluster is created with.
    pub installation_id: String,
}

/// The tag every Azure resource this tool creates carries; its value is the installation
/// id from the state file. Rollback deletes a resource group or cluster only when the live
/// one carries it with that value.
pub const MARK_TAG: &str = "kalypso-bootstrap";

/// `kalypso-bootstrap=<installation id>`, as `--tags` takes it.
pub fn mark_tag(installation_id: &str) -> String {
    format!("{MARK_TAG}={installation_id}")
}

/// Whether `tags` carry our mark with `installation_id`; otherwise why not.
pub fn check_mark(tags: &BTreeMap<String, String>, installation_id: &str) -> Result<(), String> {
    match tags.get(MARK_TAG) {
        Some(value) if value == installation_id => Ok(()),
        Some(value) => Err(format!(
            "its tag {MARK_TAG} is {value:?}, not this installation's {installation_id:?}"
        )),
        None => Err(format!("it has no {MARK_TAG} tag")),
    }
}

impl Az {
    pub fn group_show_spec(&self, resource_group: &str) -> CommandSpec {
        self.scoped(&["group", "show", "--name", resource_group, "-o", "json"])
    }

    /// The resource group, or `None` when it does not exist (exit 3, `ResourceGroupNotFound`).
    pub async fn group_show(
        &self,
        resource_group: &str,
    ) -> Result<Option<ResourceGroup>, ToolError> {
        let spec = self.group_show_spec(resource_group);
        none_if_not_found(self.exec.json(spec, "a resource group object").await)
    }

    /// `az group create` with our mark: the tag `kalypso-bootstrap=<installation id>`.
    pub fn group_create_spec(
        &self,
        resource_group: &str,
        location: &str,
        installation_id: &str,
    ) -> CommandSpec {
        let tag = mark_tag(installation_id);
        self.scoped(&[
            "group",
            "create",
            "--name",
            resource_group,
            "--location",
            location,
            "--tags",
            &tag,
            "-o",
            "json",
        ])
    }

    /// Create (or update, az's create is idempotent) the resource group, tagged with our
    /// mark. Only called for a group that did not exist: a reused group is never tagged.
    pub async fn group_create(
        &self,
        resource_group: &str,
        location: &str,
        installation_id: &str,
    ) -> Result<ResourceGroup, ToolError> {
        let spec = self.group_create_spec(resource_group, location, installation_id);
        self.exec.json(spec, "a resource group object").await
    }

    pub fn group_delete_no_wait_spec(&self, resource_group: &str) -> CommandSpec {
        self.scoped(&[
            "group",
            "delete",
            "--name",
            resource_group,
            "--yes",
            "--no-wait",
        ])
    }

    /// Start deleting the resource group (everything in it goes too) without waiting.
    pub async fn group_delete_no_wait(
        &self,
        resource_group: &str,
    ) -> Result<DeleteOutcome, ToolError> {
        let spec = self.group_delete_no_wait_spec(resource_group);
        delete_outcome(self.exec.checked(spec).await)
    }

    pub fn aks_get_versions_spec(&self, location: &str) -> CommandSpec {
        self.scoped(&["aks", "get-versions", "--location", location, "-o", "json"])
    }

    /// The Kubernetes versions AKS offers in `location` (an error when AKS is not
    /// available there).
    pub async fn aks_get_versions(&self, location: &str) -> Result<AksVersions, ToolError> {
        let spec = self.aks_get_versions_spec(location);
        self.exec.json(spec, "an AKS versions object").await
    }

    pub fn vm_list_skus_spec(&self, location: &str, size: &str) -> CommandSpec {
        self.scoped(&[
            "vm",
            "list-skus",
            "--location",
            location,
            "--size",
            size,
            "--resource-type",
            "virtualMachines",
            "-o",
            "json",
        ])
        // Listing SKUs pages through a large catalogue.
        .timeout(Duration::from_secs(180))
    }

    /// The VM sizes matching `size` in `location` (az matches by prefix: use
    /// [`exact_sku`]). Empty when the size is not offered there.
    pub async fn vm_list_skus(&self, location: &str, size: &str) -> Result<Vec<VmSku>, ToolError> {
        let spec = self.vm_list_skus_spec(location, size);
        self.exec.json(spec, "a list of VM SKUs").await
    }

    pub fn vm_list_usage_spec(&self, location: &str) -> CommandSpec {
        self.scoped(&["vm", "list-usage", "--location", location, "-o", "json"])
    }

    /// Compute quotas and their use in `location` (see [`find_usage`], [`REGIONAL_VCPUS`]).
    pub async fn vm_list_usage(&self, location: &str) -> Result<Vec<VmUsage>, ToolError> {
        let spec = self.vm_list_usage_spec(location);
        self.exec.json(spec, "a list of usages").await
    }

    pub fn aks_show_spec(&self, resource_group: &str, name: &str) -> CommandSpec {
        self.scoped(&[
            "aks",
            "show",
            "--resource-group",
            resource_group,
            "--name",
            name,
            "-o",
            "json",
        ])
    }

    /// The cluster, or `None` when it (or its resource group) does not exist.
    pub async fn aks_show(
        &self,
        resource_group: &str,
        name: &str,
    ) -> Result<Option<AksCluster>, ToolError> {
        let spec = self.aks_show_spec(resource_group, name);
        none_if_not_found(self.exec.json(spec, "an AKS cluster object").await)
    }

    pub fn aks_create_no_wait_spec(&self, params: &AksCreateParams) -> CommandSpec {
        let node_count = params.node_count.to_string();
        let tag = mark_tag(&params.installation_id);
        let mut args = vec![
            "aks",
            "create",
            "--resource-group",
            &params.resource_group,
            "--name",
            &params.name,
            "--location",
            &params.location,
            "--node-count",
            &node_count,
            "--node-vm-size",
            &params.node_vm_size,
        ];
        if let Some(version) = &params.kubernetes_version {
            args.extend(["--kubernetes-version", version.as_str()]);
        }
        args.extend([
            "--network-plugin",
            params.network_plugin.as_str(),
            "--enable-managed-identity",
            // Without it az would generate SSH keys in the user's ~/.ssh.
            "--no-ssh-key",
            "--tags",
            tag.as_str(),
            "--no-wait",
            "-o",
            "json",
        ]);
        self.scoped(&args).timeout(CREATE_TIMEOUT)
    }

    /// Start creating the cluster; poll [`Az::aks_show`] until it has `Succeeded`.
    pub async fn aks_create_no_wait(&self, params: &AksCreateParams) -> Result<(), ToolError> {
        let spec = self.aks_create_no_wait_spec(params);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn aks_get_credentials_spec(
        &self,
        resource_group: &str,
        name: &str,
        context: &str,
        kubeconfig: &Path,
    ) -> CommandSpec {
        let kubeconfig = kubeconfig.to_string_lossy();
        self.scoped(&[
            "aks",
            "get-credentials",
            "--resource-group",
            resource_group,
            "--name",
            name,
            "--context",
            context,
            "--file",
            &kubeconfig,
            "--overwrite-existing",
        ])
    }

    /// Merge the cluster's user credentials into `kubeconfig` as context `context`.
    pub async fn aks_get_credentials(
        &self,
        resource_group: &str,
        name: &str,
        context: &str,
        kubeconfig: &Path,
    ) -> Result<(), ToolError> {
        let spec = self.aks_get_credentials_spec(resource_group, name, context, kubeconfig);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn aks_delete_no_wait_spec(&self, resource_group: &str, name: &str) -> CommandSpec {
        self.scoped(&[
            "aks",
            "delete",
            "--resource-group",
            resource_group,
            "--name",
            name,
            "--yes",
            "--no-wait",
        ])
    }

    /// Start deleting the cluster without waiting (reported as asynchronous).
    pub async fn aks_delete_no_wait(
        &self,
        resource_group: &str,
        name: &str,
    ) -> Result<DeleteOutcome, ToolError> {
        let spec = self.aks_delete_no_wait_spec(resource_group, name);
        delete_outcome(self.exec.checked(spec).await)
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn number_or_string<'de, D>(deserializer: D) -> Result<u64, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a whole number"))),
    }
}
