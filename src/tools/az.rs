//! The Azure CLI (`az`).
//!
//! Every subscription-scoped call carries `--subscription <id>` when the subscription is
//! known, so the user's default subscription is neither relied on nor changed (this adapter
//! never runs `az account set`). `az version` and `az login` take no subscription.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{output_excerpt, run_checked, ToolError};
use super::runner::{CommandRunner, CommandSpec};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "az";

/// `az` starts a Python interpreter and may refresh tokens: give it room.
const QUERY_TIMEOUT: Duration = Duration::from_secs(90);
/// `az login` waits for the user in a browser or on a device code.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(900);

/// Built-in role definition ids (the same in every tenant).
pub const OWNER_ROLE_ID: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR_ROLE_ID: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

#[derive(Clone)]
pub struct Az {
    runner: Arc<dyn CommandRunner>,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    /// `subscription`: the value of `AZURE_SUBSCRIPTION_ID`, when set.
    pub fn new(runner: Arc<dyn CommandRunner>, subscription: Option<String>) -> Self {
        Self {
            runner,
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
        let spec = self.version_spec();
        let command = spec.display();
        let output = run_checked(self.runner.as_ref(), spec).await?;
        parse_version(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: e.reason,
        })
    }

    pub fn account_show_spec(&self) -> CommandSpec {
        self.scoped(&["account", "show", "-o", "json"])
    }

    /// The signed-in account for the subscription in use. Not signed in (or expired
    /// credentials) is [`ToolError::NotAuthenticated`].
    pub async fn account_show(&self) -> Result<AzAccount, ToolError> {
        let spec = self.account_show_spec();
        let command = spec.display();
        let output = run_checked(self.runner.as_ref(), spec)
            .await
            .map_err(classify_auth)?;
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
        let output = run_checked(self.runner.as_ref(), spec)
            .await
            .map_err(classify_auth)?;
        serde_json::from_str(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: format!(
                "not a list of role assignments ({e}): {}",
                output_excerpt(&output.stdout)
            ),
        })
    }
}

/// az tells the user to run `az login` whenever credentials are missing or expired.
fn classify_auth(err: ToolError) -> ToolError {
    match err {
        ToolError::Failed {
            command, message, ..
        } if message.contains("az login") || message.contains("AADSTS") => {
            ToolError::NotAuthenticated { command, message }
        }
        other => other,
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
