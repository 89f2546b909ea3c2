//! The simulated Azure CLI (`az` 2.91): argparse-style arguments, az's error format
//! (`ERROR: (Code) message`), exit codes 0 ok, 1 error, 2 usage error, 3 not found.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::args::{self, display_argparse, switch, value, ArgError, Flag, Style};
use super::command::{Ctx, ToolCommand};
use super::fault::{az_expired_message, quota_message};
use super::kube::fnv;
use super::kubeconfig::{merge_entry, Kubeconfig, Named};
use super::reply::{az_json, Reply};
use super::state::{key2, SimulatedAks, SimulatedResourceGroup};
use super::world::{Pending, PendingKey};

pub const VERSION: &str = "2.91.0";

const GLOBAL: &[Flag] = &[
    value("output", Some('o')),
    value("query", None),
    switch("debug", None),
    switch("verbose", None),
    switch("only-show-errors", None),
    switch("help", Some('h')),
];

const SUBSCRIPTION: Flag = value("subscription", None);
const NAME: Flag = value("name", Some('n'));
const RESOURCE_GROUP: Flag = value("resource-group", Some('g'));
const LOCATION: Flag = value("location", Some('l'));
const YES: Flag = switch("yes", Some('y'));
const NO_WAIT: Flag = switch("no-wait", None);

struct AzCommand {
    path: &'static [&'static str],
    flags: &'static [Flag],
}

const COMMANDS: &[AzCommand] = &[
    AzCommand {
        path: &["version"],
        flags: &[],
    },
    AzCommand {
        path: &["login"],
        flags: &[
            value("tenant", Some('t')),
            switch("use-device-code", None),
            switch("allow-no-subscriptions", None),
            value("scope", None),
            switch("identity", None),
            value("username", Some('u')),
            switch("service-principal", None),
        ],
    },
    AzCommand {
        path: &["account", "show"],
        flags: &[value("subscription", Some('s')), NAME],
    },
    AzCommand {
        path: &["account", "list"],
        flags: &[switch("all", None), switch("refresh", None)],
    },
    AzCommand {
        path: &["group", "show"],
        flags: &[NAME, RESOURCE_GROUP, SUBSCRIPTION],
    },
    AzCommand {
        path: &["group", "exists"],
        flags: &[NAME, RESOURCE_GROUP, SUBSCRIPTION],
    },
    AzCommand {
        path: &["group", "create"],
        flags: &[
            NAME,
            RESOURCE_GROUP,
            LOCATION,
            value("tags", None),
            value("managed-by", None),
            SUBSCRIPTION,
        ],
    },
    AzCommand {
        path: &["group", "delete"],
        flags: &[
            NAME,
            RESOURCE_GROUP,
            YES,
            NO_WAIT,
            value("force-deletion-types", Some('f')),
            SUBSCRIPTION,
        ],
    },
    AzCommand {
        path: &["group", "list"],
        flags: &[value("tag", None), SUBSCRIPTION],
    },
    AzCommand {
        path: &["aks", "get-versions"],
        flags: &[LOCATION, SUBSCRIPTION],
    },
    AzCommand {
        path: &["aks", "show"],
        flags: &[RESOURCE_GROUP, NAME, SUBSCRIPTION],
    },
    AzCommand {
        path: &["aks", "list"],
        flags: &[RESOURCE_GROUP, SUBSCRIPTION],
    },
    AzCommand {
        path: &["aks", "create"],
        flags: &[
            RESOURCE_GROUP,
            NAME,
            LOCATION,
            SUBSCRIPTION,
            NO_WAIT,
            YES,
            value("node-count", Some('c')),
            value("node-vm-size", Some('s')),
            value("kubernetes-version", Some('k')),
            value("network-plugin", None),
            value("network-policy", None),
            value("network-plugin-mode", None),
            switch("enable-managed-identity", None),
            switch("no-ssh-key", Some('x')),
            switch("generate-ssh-keys", None),
            value("ssh-key-value", None),
            value("dns-name-prefix", Some('p')),
            value("node-resource-group", None),
            value("tags", None),
            value("tier", None),
            value("nodepool-name", None),
            value("os-sku", None),
            switch("enable-oidc-issuer", None),
            switch("enable-workload-identity", None),
        ],
    },
    AzCommand {
        path: &["aks", "get-credentials"],
        flags: &[
            RESOURCE_GROUP,
            NAME,
            SUBSCRIPTION,
            value("context", None),
            value("file", Some('f')),
            switch("overwrite-existing", None),
            switch("admin", Some('a')),
            switch("public-fqdn", None),
            value("format", None),
        ],
    },
    AzCommand {
        path: &["aks", "delete"],
        flags: &[RESOURCE_GROUP, NAME, SUBSCRIPTION, YES, NO_WAIT],
    },
    AzCommand {
        path: &["vm", "list-skus"],
        flags: &[
            LOCATION,
            SUBSCRIPTION,
            value("size", Some('s')),
            value("resource-type", Some('r')),
            value("zone", Some('z')),
            switch("all", None),
        ],
    },
    AzCommand {
        path: &["vm", "list-usage"],
        flags: &[LOCATION, SUBSCRIPTION],
    },
    AzCommand {
        path: &["role", "assignment", "list"],
        flags: &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            value("assignee", None),
            value("scope", None),
            value("role", None),
            switch("include-inherited", None),
            switch("include-groups", None),
            switch("all", None),
            switch("include-classic-administrators", None),
            value("fill-principal-name", None),
            value("fill-role-definition-name", None),
        ],
    },
];

/// The values az 2.91 allows for `az aks create --network-plugin`.
const NETWORK_PLUGINS: [&str; 3] = ["kubenet", "azure", "none"];

/// Parse an az argv: leading words name the command; the rest is argparse.
pub(crate) fn parse(args: &[String]) -> Result<ToolCommand, Reply> {
    let mut path: Vec<String> = Vec::new();
    let mut index = 0;
    while index < args.len() && !args[index].starts_with('-') {
        let mut candidate = path.clone();
        candidate.push(args[index].clone());
        if COMMANDS.iter().any(|c| prefix_of(&candidate, c.path)) {
            path = candidate;
            index += 1;
        } else {
            break;
        }
    }
    let Some(command) = COMMANDS.iter().find(|c| equal(c.path, &path)) else {
        if let Some(word) = args.get(index).filter(|a| !a.starts_with('-')) {
            return Err(Reply::fail(
                2,
                format!(
                    "ERROR: '{word}' is misspelled or not recognized by the system.\n\nExamples from AI knowledge base:\nhttps://aka.ms/cli_ref\nRead more about the command in reference docs"
                ),
            ));
        }
        if path.is_empty() && args.iter().any(|a| a == "--version") {
            return Ok(ToolCommand {
                path: vec!["--version".into()],
                flags: Default::default(),
            });
        }
        // A command group alone prints its help and succeeds.
        return Err(Reply::ok(format!(
            "\nGroup\n    az {}\n\nUse `az {} --help` for the list of commands.",
            path.join(" "),
            path.join(" ")
        )));
    };
    let flags: Vec<Flag> = GLOBAL.iter().chain(command.flags.iter()).copied().collect();
    let parsed = args::parse(&args[index..], &flags, Style::Argparse).map_err(|e| match e {
        ArgError::Unrecognized(tokens) => Reply::fail(
            2,
            format!(
                "ERROR: unrecognized arguments: {}\n\nExamples from AI knowledge base:\nhttps://aka.ms/cli_ref\nRead more about the command in reference docs",
                tokens.join(" ")
            ),
        ),
        ArgError::ExpectedOneArgument(flag) => Reply::fail(
            2,
            format!("ERROR: argument {flag}: expected one argument"),
        ),
        other => Reply::fail(2, format!("ERROR: {other:?}")),
    })?;
    let command = ToolCommand {
        path,
        flags: parsed,
    };
    // az checks a flag's allowed values while parsing, before sign-in or any request, and
    // exits 2 with this wording (captured from az 2.91).
    let bad_choice = |flag: &str, value: &str, allowed: &str| {
        Reply::fail(
            2,
            format!(
                "ERROR: az {}: '{value}' is not a valid value for '--{flag}'. Allowed values: {allowed}.\n\nhttps://aka.ms/cli_ref\nRead more about the command in reference docs",
                command.path.join(" ")
            ),
        )
    };
    if let Some(output) = command.value("output") {
        if !["json", "jsonc", "none", "table", "tsv", "yaml", "yamlc"].contains(&output) {
            return Err(bad_choice(
                "output",
                output,
                "json, jsonc, yaml, yamlc, table, tsv, none",
            ));
        }
    }
    if equal(&["aks", "create"], &command.path) {
        if let Some(plugin) = command.value("network-plugin") {
            if !NETWORK_PLUGINS.contains(&plugin) {
                return Err(bad_choice("network-plugin", plugin, "kubenet, azure, none"));
            }
        }
    }
    Ok(command)
}

fn prefix_of(prefix: &[String], path: &[&str]) -> bool {
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
}

fn equal(path: &[&str], words: &[String]) -> bool {
    path.len() == words.len() && prefix_of(words, path)
}

fn az_error(code: &str, message: &str) -> String {
    format!("ERROR: ({code}) {message}\nCode: {code}\nMessage: {message}")
}

fn required(names: &[&Flag]) -> Reply {
    let names: Vec<String> = names.iter().map(|f| display_argparse(f)).collect();
    Reply::fail(
        2,
        format!(
            "ERROR: the following arguments are required: {}",
            names.join(", ")
        ),
    )
}

/// Print `value` in the requested output format.
fn output(cmd: &ToolCommand, value: &Value) -> Result<Reply, Reply> {
    if cmd.value("query").is_some() {
        return Err(Reply::fail(
            1,
            "ERROR: --query (JMESPath) is not simulated; ask for -o json and read the fields",
        ));
    }
    match cmd.value("output").unwrap_or("json") {
        "json" | "jsonc" => Ok(Reply::ok(az_json(value))),
        "none" => Ok(Reply::silent()),
        "yaml" | "yamlc" => Ok(Reply::ok(serde_yaml::to_string(value).unwrap_or_default())),
        "tsv" => Ok(Reply::ok(tsv(value))),
        other => Err(Reply::fail(
            1,
            format!("ERROR: -o {other} is not simulated (json, jsonc, yaml, tsv and none are)"),
        )),
    }
}

fn tsv(value: &Value) -> String {
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match value {
        Value::Array(items) => items.iter().map(tsv).collect::<Vec<_>>().join("\n"),
        Value::Object(map) => map
            .values()
            .filter(|v| !v.is_object() && !v.is_array())
            .map(scalar)
            .collect::<Vec<_>>()
            .join("\t"),
        other => scalar(other),
    }
}

pub(crate) fn run(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Reply {
    match dispatch(ctx, cmd) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn only_errors(ctx: &Ctx<'_>, cmd: &ToolCommand) -> bool {
    cmd.switch("only-show-errors")
        || ctx
            .inv
            .env("AZURE_CORE_ONLY_SHOW_ERRORS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn dispatch(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let path: Vec<&str> = cmd.path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["--version"] => Ok(Reply::ok(format!(
            "azure-cli                         {VERSION}\n\ncore                              {VERSION}\ntelemetry                          1.1.0\n\nPython location '/opt/az/bin/python3'"
        ))),
        ["version"] => output(
            cmd,
            &json!({"azure-cli": VERSION, "azure-cli-core": VERSION, "azure-cli-telemetry": "1.1.0", "extensions": {}}),
        ),
        ["login"] => login(ctx, cmd),
        _ => {
            signed_in(ctx)?;
            check_subscription(ctx, cmd)?;
            match path.as_slice() {
                ["account", "show"] => output(cmd, &account_json(ctx)),
                ["account", "list"] => output(cmd, &json!([account_json(ctx)])),
                ["role", "assignment", "list"] => role_assignments(ctx, cmd),
                ["group", "show"] => group_show(ctx, cmd),
                ["group", "exists"] => {
                    let name = group_name(cmd)?;
                    output(cmd, &json!(ctx.world.azure.resource_groups.contains_key(&name.to_ascii_lowercase())))
                }
                ["group", "create"] => group_create(ctx, cmd),
                ["group", "delete"] => group_delete(ctx, cmd),
                ["group", "list"] => {
                    let groups: Vec<Value> = ctx.world.azure.resource_groups.values().map(|g| group_json(ctx, g)).collect();
                    output(cmd, &Value::Array(groups))
                }
                ["aks", "get-versions"] => get_versions(ctx, cmd),
                ["aks", "show"] => aks_show(ctx, cmd),
                ["aks", "list"] => {
                    let rg = cmd.value("resource-group").map(str::to_ascii_lowercase);
                    let clusters: Vec<Value> = ctx
                        .world
                        .azure
                        .clusters
                        .values()
                        .filter(|c| rg.as_deref().is_none_or(|rg| c.resource_group.eq_ignore_ascii_case(rg)))
                        .map(|c| cluster_json(ctx, c))
                        .collect();
                    output(cmd, &Value::Array(clusters))
                }
                ["aks", "create"] => aks_create(ctx, cmd),
                ["aks", "get-credentials"] => get_credentials(ctx, cmd),
                ["aks", "delete"] => aks_delete(ctx, cmd),
                ["vm", "list-skus"] => list_skus(ctx, cmd),
                ["vm", "list-usage"] => list_usage(ctx, cmd),
                _ => Err(Reply::fail(1, format!("ERROR: 'az {}' is not simulated", path.join(" ")))),
            }
        }
    }
}

fn signed_in(ctx: &Ctx<'_>) -> Result<(), Reply> {
    if ctx.world.az_token_expired {
        return Err(Reply::fail(1, az_expired_message()));
    }
    if !ctx.world.azure.signed_in || ctx.world.azure.account.is_none() {
        return Err(Reply::fail(
            1,
            "ERROR: Please run 'az login' to setup account.",
        ));
    }
    Ok(())
}

fn check_subscription(ctx: &Ctx<'_>, cmd: &ToolCommand) -> Result<(), Reply> {
    let (Some(wanted), Some(account)) = (cmd.value("subscription"), &ctx.world.azure.account)
    else {
        return Ok(());
    };
    if wanted.eq_ignore_ascii_case(&account.subscription_id) || wanted == account.subscription_name
    {
        Ok(())
    } else {
        Err(Reply::fail(
            1,
            format!("ERROR: Subscription '{wanted}' not found. Check the spelling and casing and try again."),
        ))
    }
}

fn subscription_id(ctx: &Ctx<'_>) -> String {
    ctx.world
        .azure
        .account
        .as_ref()
        .map(|a| a.subscription_id.clone())
        .unwrap_or_default()
}

fn account_json(ctx: &Ctx<'_>) -> Value {
    let Some(account) = &ctx.world.azure.account else {
        return Value::Null;
    };
    json!({
        "environmentName": "AzureCloud",
        "homeTenantId": account.tenant_id,
        "id": account.subscription_id,
        "isDefault": true,
        "managedByTenants": [],
        "name": account.subscription_name,
        "state": "Enabled",
        "tenantDefaultDomain": "contoso.onmicrosoft.com",
        "tenantDisplayName": "Contoso",
        "tenantId": account.tenant_id,
        "user": {"name": account.user_name, "type": account.user_type},
    })
}

fn login(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let Some(account) = ctx.world.azure.account.clone() else {
        return Err(Reply::fail(
            1,
            "ERROR: No subscriptions found for the signed-in account.",
        ));
    };
    if let Some(tenant) = cmd.value("tenant") {
        if !tenant.eq_ignore_ascii_case(&account.tenant_id) {
            return Err(Reply::fail(
                1,
                format!("ERROR: AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
            ));
        }
    }
    ctx.world.azure.signed_in = true;
    ctx.world.az_token_expired = false;
    output(cmd, &json!([account_json(ctx)]))
}

const ROLE_IDS: [(&str, &str); 4] = [
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    ),
];

fn role_assignments(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let account = ctx.world.azure.account.clone().expect("signed in");
    let sub = &account.subscription_id;
    let assignee = cmd.value("assignee");
    let matches_assignee = assignee.is_none_or(|a| a.eq_ignore_ascii_case(&account.user_name));
    let scope = cmd.value("scope").unwrap_or("");
    let scope_ok = scope.is_empty()
        || scope.eq_ignore_ascii_case(&format!("/subscriptions/{sub}"))
        || (cmd.switch("include-inherited")
            && scope
                .to_ascii_lowercase()
                .starts_with(&format!("/subscriptions/{}", sub.to_ascii_lowercase())));
    let mut assignments = Vec::new();
    if matches_assignee && scope_ok {
        for role in &account.roles {
            let id = ROLE_IDS
                .iter()
                .find(|(name, _)| name == role)
                .map(|(_, id)| id.to_string())
                .unwrap_or_else(|| format!("{:032x}", fnv(role)));
            let assignment_id = format!(
                "{:08x}-0000-4000-8000-{:012x}",
                fnv(role) as u32,
                fnv(&account.user_name) % 0x1_0000_0000_0000
            );
            assignments.push(json!({
                "condition": null,
                "conditionVersion": null,
                "createdBy": null,
                "createdOn": "2026-01-15T09:30:00.000000+00:00",
                "delegatedManagedIdentityResourceId": null,
                "description": null,
                "id": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{assignment_id}"),
                "name": assignment_id,
                "principalId": "00000000-0000-0000-0000-00000000a11c",
                "principalName": account.user_name,
                "principalType": if account.user_type == "user" { "User" } else { "ServicePrincipal" },
                "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{id}"),
                "roleDefinitionName": role,
                "scope": format!("/subscriptions/{sub}"),
                "type": "Microsoft.Authorization/roleAssignments",
                "updatedBy": null,
                "updatedOn": "2026-01-15T09:30:00.000000+00:00",
            }));
        }
    }
    output(cmd, &Value::Array(assignments))
}

fn group_name(cmd: &ToolCommand) -> Result<String, Reply> {
    cmd.value("name")
        .or(cmd.value("resource-group"))
        .map(str::to_string)
        .ok_or_else(|| {
            Reply::fail(
                2,
                "ERROR: the following arguments are required: --name/--resource-group/-n/-g",
            )
        })
}

fn group_json(ctx: &Ctx<'_>, group: &SimulatedResourceGroup) -> Value {
    json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}", subscription_id(ctx), group.name),
        "location": group.location,
        "managedBy": group.managed_by,
        "name": group.name,
        "properties": {"provisioningState": group.provisioning_state},
        "tags": if group.tags.is_empty() { Value::Null } else { json!(group.tags) },
        "type": "Microsoft.Resources/resourceGroups",
    })
}

fn group_not_found(name: &str) -> Reply {
    Reply::fail(
        3,
        az_error(
            "ResourceGroupNotFound",
            &format!("Resource group '{name}' could not be found."),
        ),
    )
}

fn group_show(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let name = group_name(cmd)?;
    let group = ctx
        .world
        .azure
        .resource_groups
        .get(&name.to_ascii_lowercase())
        .cloned()
        .ok_or_else(|| group_not_found(&name))?;
    output(cmd, &group_json(ctx, &group))
}

fn parse_tags(text: Option<&str>) -> BTreeMap<String, String> {
    text.map(|t| {
        t.split_whitespace()
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (pair.to_string(), String::new()),
            })
            .collect()
    })
    .unwrap_or_default()
}

fn group_create(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let name = group_name(cmd)?;
    let Some(location) = cmd.value("location") else {
        return Err(required(&[&LOCATION]));
    };
    let location = location.to_ascii_lowercase().replace(' ', "");
    if !crate::config::regions::AZURE_REGIONS.contains(&location.as_str()) {
        return Err(Reply::fail(
            1,
            az_error(
                "LocationNotAvailableForResourceGroup",
                &format!("The provided location '{location}' is not available for resource group. List of available regions is '{}'.", crate::config::regions::AZURE_REGIONS.join(",")),
            ),
        ));
    }
    let key = name.to_ascii_lowercase();
    if let Some(existing) = ctx.world.azure.resource_groups.get_mut(&key) {
        if existing.location != location {
            let message = format!(
                "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                existing.location
            );
            return Err(Reply::fail(
                1,
                az_error("InvalidResourceGroupLocation", &message),
            ));
        }
        if cmd.value("tags").is_some() {
            existing.tags = parse_tags(cmd.value("tags"));
        }
    } else {
        ctx.world.azure.resource_groups.insert(
            key.clone(),
            SimulatedResourceGroup {
                name: name.clone(),
                location,
                tags: parse_tags(cmd.value("tags")),
                managed_by: cmd.value("managed-by").map(str::to_string),
                provisioning_state: "Succeeded".to_string(),
            },
        );
    }
    let group = ctx.world.azure.resource_groups[&key].clone();
    output(cmd, &group_json(ctx, &group))
}

fn no_tty_confirmation() -> Reply {
    Reply::fail(
        1,
        "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.",
    )
}

fn group_delete(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let name = group_name(cmd)?;
    let key = name.to_ascii_lowercase();
    if !cmd.switch("yes") {
        return Err(no_tty_confirmation());
    }
    let has_clusters = ctx
        .world
        .azure
        .clusters
        .values()
        .any(|c| c.resource_group.eq_ignore_ascii_case(&key));
    let Some(group) = ctx.world.azure.resource_groups.get_mut(&key) else {
        return Err(group_not_found(&name));
    };
    group.provisioning_state = "Deleting".to_string();
    for cluster in ctx.world.azure.clusters.values_mut() {
        if cluster.resource_group.eq_ignore_ascii_case(&key) {
            cluster.provisioning_state = "Deleting".to_string();
        }
    }
    let takes = if has_clusters {
        ctx.world.latency.aks_deletion
    } else {
        std::time::Duration::ZERO
    };
    ctx.world.schedule(
        &key,
        PendingKey::Group,
        ctx.now + takes,
        Pending::GroupDeleted,
    );
    if cmd.switch("no-wait") {
        Ok(Reply::silent())
    } else {
        Ok(Reply::silent().with_busy(takes))
    }
}

fn location_unavailable(location: &str, regions: &[String]) -> Reply {
    Reply::fail(
        1,
        az_error(
            "LocationNotAvailableForResourceType",
            &format!(
                "The provided location '{location}' is not available for resource type 'Microsoft.ContainerService/managedClusters'. List of available regions for the resource type is '{}'.",
                regions.join(",")
            ),
        ),
    )
}

fn get_versions(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let Some(location) = cmd.value("location") else {
        return Err(required(&[&LOCATION]));
    };
    let catalog = &ctx.world.azure_catalog;
    if !catalog.supports_aks(location) {
        return Err(location_unavailable(location, &catalog.aks_regions));
    }
    let all_patches: Vec<String> = catalog
        .kubernetes_versions
        .values()
        .flatten()
        .cloned()
        .collect();
    let mut values = Vec::new();
    for (minor, patches) in catalog.kubernetes_versions.iter().rev() {
        let mut patch_map = serde_json::Map::new();
        for patch in patches {
            let upgrades: Vec<&String> = all_patches
                .iter()
                .filter(|p| version_key(p) > version_key(patch))
                .collect();
            patch_map.insert(patch.clone(), json!({"upgrades": upgrades}));
        }
        values.push(json!({
            "capabilities": {"supportPlan": ["KubernetesOfficial", "AKSLongTermSupport"]},
            "isDefault": if *minor == catalog.default_kubernetes_version { json!(true) } else { Value::Null },
            "isPreview": null,
            "patchVersions": patch_map,
            "version": minor,
        }));
    }
    output(cmd, &json!({"values": values}))
}

fn version_key(text: &str) -> Vec<u64> {
    text.split('.').filter_map(|p| p.parse().ok()).collect()
}

fn cluster_key(cmd: &ToolCommand) -> Result<(String, String), Reply> {
    match (cmd.value("resource-group"), cmd.value("name")) {
        (Some(rg), Some(name)) => Ok((rg.to_string(), name.to_string())),
        (None, None) => Err(required(&[&RESOURCE_GROUP, &NAME])),
        (None, _) => Err(required(&[&RESOURCE_GROUP])),
        (_, None) => Err(required(&[&NAME])),
    }
}

fn cluster_not_found(rg: &str, name: &str) -> Reply {
    Reply::fail(
        3,
        az_error(
            "ResourceNotFound",
            &format!("The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
        ),
    )
}

fn existing_cluster(ctx: &Ctx<'_>, rg: &str, name: &str) -> Result<SimulatedAks, Reply> {
    if !ctx
        .world
        .azure
        .resource_groups
        .contains_key(&rg.to_ascii_lowercase())
    {
        return Err(group_not_found(rg));
    }
    ctx.world
        .azure
        .clusters
        .get(&key2(rg, name))
        .cloned()
        .ok_or_else(|| cluster_not_found(rg, name))
}

fn cluster_json(ctx: &Ctx<'_>, c: &SimulatedAks) -> Value {
    let sub = subscription_id(ctx);
    json!({
        "aadProfile": null,
        "addonProfiles": null,
        "agentPoolProfiles": [{
            "count": c.node_count,
            "enableAutoScaling": false,
            "kubeletDiskType": "OS",
            "maxPods": if c.network_plugin == "azure" { 30 } else { 110 },
            "mode": "System",
            "name": "nodepool1",
            "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202611.04.0",
            "orchestratorVersion": c.kubernetes_version,
            "osDiskSizeGb": 128,
            "osDiskType": "Managed",
            "osSku": "Ubuntu",
            "osType": "Linux",
            "powerState": {"code": c.power_state},
            "provisioningState": c.provisioning_state,
            "type": "VirtualMachineScaleSets",
            "vmSize": c.vm_size,
        }],
        "apiServerAccessProfile": null,
        "azurePortalFqdn": c.fqdn.replace(".hcp.", ".portal.hcp."),
        "currentKubernetesVersion": c.kubernetes_version,
        "disableLocalAccounts": false,
        "dnsPrefix": c.dns_prefix,
        "enableRbac": true,
        "fqdn": c.fqdn,
        "id": format!("/subscriptions/{sub}/resourcegroups/{}/providers/Microsoft.ContainerService/managedClusters/{}", c.resource_group, c.name),
        "identity": {"principalId": "00000000-0000-0000-0000-0000000000c1", "tenantId": ctx.world.azure.account.as_ref().map(|a| a.tenant_id.clone()), "type": "SystemAssigned", "userAssignedIdentities": null},
        "kubernetesVersion": c.kubernetes_version,
        "linuxProfile": null,
        "location": c.location,
        "maxAgentPools": 100,
        "name": c.name,
        "networkProfile": {
            "dnsServiceIp": "10.0.0.10",
            "loadBalancerSku": "standard",
            "networkPlugin": c.network_plugin,
            "outboundType": "loadBalancer",
            "podCidr": if c.network_plugin == "kubenet" { json!("10.244.0.0/16") } else { Value::Null },
            "serviceCidr": "10.0.0.0/16",
        },
        "nodeResourceGroup": c.node_resource_group,
        "powerState": {"code": c.power_state},
        "provisioningState": c.provisioning_state,
        "resourceGroup": c.resource_group,
        "sku": {"name": "Base", "tier": "Free"},
        "tags": if c.tags.is_empty() { Value::Null } else { json!(c.tags) },
        "type": "Microsoft.ContainerService/ManagedClusters",
    })
}

fn aks_show(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let (rg, name) = cluster_key(cmd)?;
    let cluster = existing_cluster(ctx, &rg, &name)?;
    output(cmd, &cluster_json(ctx, &cluster))
}

fn aks_create(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let (rg, name) = cluster_key(cmd)?;
    let group = ctx
        .world
        .azure
        .resource_groups
        .get(&rg.to_ascii_lowercase())
        .cloned()
        .ok_or_else(|| group_not_found(&rg))?;
    // `parse` rejected any other value.
    let network_plugin = cmd.value("network-plugin").unwrap_or("azure");
    let node_count: u32 = match cmd.value("node-count") {
        None => 3,
        Some(text) => text.parse().map_err(|_| {
            Reply::fail(
                2,
                format!("ERROR: argument --node-count/-c: invalid int value: '{text}'"),
            )
        })?,
    };
    let location = cmd
        .value("location")
        .map(str::to_ascii_lowercase)
        .unwrap_or(group.location.clone());
    let catalog = ctx.world.azure_catalog.clone();
    if !catalog.supports_aks(&location) {
        return Err(location_unavailable(&location, &catalog.aks_regions));
    }
    if ctx.world.azure.clusters.contains_key(&key2(&rg, &name)) {
        return Err(Reply::fail(
            1,
            format!("ERROR: The cluster '{name}' under resource group '{rg}' already exists. Please use command 'az aks update' to update the existing cluster, or select a different cluster name to create a new cluster."),
        ));
    }
    if !cmd.switch("no-ssh-key")
        && !cmd.switch("generate-ssh-keys")
        && cmd.value("ssh-key-value").is_none()
    {
        return Err(Reply::fail(
            1,
            "ERROR: An RSA key file or key value must be supplied to SSH Key Value. You can use --generate-ssh-keys to let CLI generate one for you",
        ));
    }
    let requested_version = cmd.value("kubernetes-version");
    let Some(version) = catalog.resolve_kubernetes_version(requested_version) else {
        let requested = requested_version.unwrap_or_default();
        return Err(Reply::fail(
            1,
            az_error(
                "K8sVersionNotSupported",
                &format!("Managed cluster {name} is on version {requested}, which is not supported in this region. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list"),
            ),
        ));
    };
    let vm_size = cmd.value("node-vm-size").unwrap_or("Standard_DS2_v2");
    let Some(sku) = catalog.sku(vm_size).cloned() else {
        return Err(Reply::fail(
            1,
            az_error(
                "BadRequest",
                &format!("The VM size of {vm_size} is not supported for creation of VMs and Virtual Machine Scale Set with your subscription in location '{location}'. For more details, please check https://aka.ms/aks/quotas-skus-regions."),
            ),
        ));
    };
    if catalog.is_restricted(&location, &sku.name) {
        return Err(Reply::fail(
            1,
            az_error(
                "BadRequest",
                &format!("The VM size of {} is not allowed in your subscription in location '{location}'. For more details, please check https://aka.ms/aks/quotas-skus-regions.", sku.name),
            ),
        ));
    }
    if let Some((family, limit, usage, required)) =
        quota_shortfall(ctx, &location, &sku.name, node_count)
    {
        return Err(Reply::fail(
            1,
            quota_message(&family, &location, limit, usage, required),
        ));
    }
    let sub = subscription_id(ctx);
    let dns_prefix = cmd
        .value("dns-name-prefix")
        .map(str::to_string)
        .unwrap_or_else(|| {
            let short = |s: &str, n: usize| {
                s.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .take(n)
                    .collect::<String>()
            };
            format!(
                "{}-{}-{}",
                short(&name, 10),
                short(&rg, 16),
                &sub.chars().take(6).collect::<String>()
            )
        });
    let hash = fnv(&format!("{sub}/{rg}/{name}")) & 0xffff_ffff;
    let fqdn = format!(
        "{}-{hash:08x}.hcp.{location}.azmk8s.io",
        dns_prefix.to_ascii_lowercase()
    );
    let node_resource_group = cmd
        .value("node-resource-group")
        .map(str::to_string)
        .unwrap_or_else(|| format!("MC_{rg}_{name}_{location}"));
    let cluster = SimulatedAks {
        name: name.clone(),
        resource_group: group.name.clone(),
        location: location.clone(),
        kubernetes_version: version,
        node_count,
        vm_size: sku.name.clone(),
        network_plugin: network_plugin.to_string(),
        dns_prefix,
        fqdn,
        node_resource_group: node_resource_group.clone(),
        provisioning_state: "Creating".to_string(),
        power_state: "Running".to_string(),
        tags: parse_tags(cmd.value("tags")),
    };
    let key = key2(&rg, &name);
    ctx.world
        .azure
        .clusters
        .insert(key.clone(), cluster.clone());
    ctx.world.azure.resource_groups.insert(
        node_resource_group.to_ascii_lowercase(),
        SimulatedResourceGroup {
            name: node_resource_group,
            location: location.clone(),
            tags: BTreeMap::from([("aks-managed-cluster-name".to_string(), name.clone()), ("aks-managed-cluster-rg".to_string(), rg.clone())]),
            managed_by: Some(format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}")),
            provisioning_state: "Succeeded".to_string(),
        },
    );
    let provisioning = ctx.world.latency.aks_provisioning;
    ctx.world.schedule(
        &key,
        PendingKey::Cluster,
        ctx.now + provisioning,
        Pending::Provisioned,
    );
    if cmd.switch("no-wait") {
        return Ok(Reply::silent());
    }
    // Without --no-wait az polls until the cluster is provisioned.
    ctx.world.timers.remove(&(key.clone(), PendingKey::Cluster));
    let mut done = cluster;
    done.provisioning_state = "Succeeded".to_string();
    ctx.world.azure.clusters.insert(key, done.clone());
    let timestamp = ctx.timestamp.clone();
    ctx.world.add_aks_api_server(&done, &timestamp);
    Ok(output(cmd, &cluster_json(ctx, &done))?
        .with_progress(crate::tools::runner::Stream::Stderr, " - Running ..")
        .with_busy(provisioning))
}

/// The first quota (family, then regional total) a new node pool would exceed.
fn quota_shortfall(
    ctx: &Ctx<'_>,
    location: &str,
    size: &str,
    nodes: u32,
) -> Option<(String, u64, u64, u64)> {
    let sku = ctx.world.azure_catalog.sku(size)?;
    let required = u64::from(sku.vcpus) * u64::from(nodes);
    for family in [sku.family.as_str(), "cores"] {
        let (usage, limit) = ctx.world.quota_usage(location, family);
        if usage + required > limit {
            let label = if family == "cores" {
                "Total Regional"
            } else {
                family
            };
            return Some((label.to_string(), limit, usage, required));
        }
    }
    None
}

/// The quota message an injected `QuotaExceeded` fault shows for this `az aks create`.
pub(crate) fn injected_quota(
    world: &super::world::World,
    cmd: &ToolCommand,
) -> (String, String, u64, u64, u64) {
    let location = cmd
        .value("location")
        .map(str::to_ascii_lowercase)
        .or_else(|| {
            cmd.value("resource-group")
                .and_then(|rg| world.azure.resource_groups.get(&rg.to_ascii_lowercase()))
                .map(|g| g.location.clone())
        })
        .unwrap_or_else(|| "eastus".to_string());
    let size = cmd.value("node-vm-size").unwrap_or("Standard_DS2_v2");
    let nodes: u64 = cmd
        .value("node-count")
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let (family, vcpus) = world
        .azure_catalog
        .sku(size)
        .map(|s| (s.family.clone(), u64::from(s.vcpus)))
        .unwrap_or(("standardDSv2Family".to_string(), 2));
    let (usage, _) = world.quota_usage(&location, &family);
    let required = vcpus * nodes;
    // Whatever the configured quota, the injected failure says it is one vCPU short.
    let limit = usage + required - 1;
    (family, location, limit, usage, required)
}

fn get_credentials(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let (rg, name) = cluster_key(cmd)?;
    let cluster = existing_cluster(ctx, &rg, &name)?;
    if cluster.provisioning_state != "Succeeded" {
        return Err(Reply::fail(
            1,
            az_error(
                "OperationNotAllowed",
                &format!("Operation is not allowed because there's an in progress {} managed cluster operation on the managed cluster '{name}'. Please wait for it to finish.", cluster.provisioning_state.to_ascii_lowercase().trim_end_matches("ing")),
            ),
        ));
    }
    let admin = cmd.switch("admin");
    let context = cmd.value("context").map(str::to_string).unwrap_or_else(|| {
        if admin {
            format!("{name}-admin")
        } else {
            name.clone()
        }
    });
    let user = format!(
        "{}_{}_{}",
        if admin { "clusterAdmin" } else { "clusterUser" },
        rg,
        name
    );
    let mut cluster_body = serde_yaml::Mapping::new();
    cluster_body.insert(
        "certificate-authority-data".into(),
        fake_b64("CERTIFICATE AUTHORITY").into(),
    );
    cluster_body.insert("server".into(), cluster.server().into());
    let mut context_body = serde_yaml::Mapping::new();
    context_body.insert("cluster".into(), name.clone().into());
    context_body.insert("user".into(), user.clone().into());
    let mut user_body = serde_yaml::Mapping::new();
    user_body.insert(
        "client-certificate-data".into(),
        fake_b64("CLIENT CERTIFICATE").into(),
    );
    user_body.insert("client-key-data".into(), fake_b64("RSA PRIVATE KEY").into());
    user_body.insert(
        "token".into(),
        format!("sim{:061x}", u128::from(fnv(&cluster.fqdn)) * 31).into(),
    );
    let file = cmd.value("file");
    let mut config = match file {
        Some("-") => Kubeconfig::empty(),
        _ => {
            let path = kubeconfig_target(ctx, file);
            Kubeconfig::load(&path).map_err(|e| Reply::fail(1, format!("ERROR: {e}")))?
        }
    };
    let overwrite = cmd.switch("overwrite-existing");
    let sections = [
        (
            "clusters",
            Named::new("cluster", &name, serde_yaml::Value::Mapping(cluster_body)),
        ),
        (
            "users",
            Named::new("user", &user, serde_yaml::Value::Mapping(user_body)),
        ),
        (
            "contexts",
            Named::new(
                "context",
                &context,
                serde_yaml::Value::Mapping(context_body),
            ),
        ),
    ];
    for (section, entry) in sections {
        let list = match section {
            "clusters" => &mut config.clusters,
            "users" => &mut config.users,
            _ => &mut config.contexts,
        };
        if let Err(conflict) = merge_entry(list, entry, overwrite) {
            return Err(Reply::fail(
                1,
                format!("ERROR: A different object named {conflict} already exists in {section} in your kubeconfig file."),
            ));
        }
    }
    config.current_context = context.clone();
    if file == Some("-") {
        return Ok(Reply::ok(
            serde_yaml::to_string(&config).unwrap_or_default(),
        ));
    }
    let path = kubeconfig_target(ctx, file);
    config
        .save(&path)
        .map_err(|e| Reply::fail(1, format!("ERROR: {e}")))?;
    ctx.world.kubeconfigs.insert(path.clone());
    let reply = Reply::silent();
    if only_errors(ctx, cmd) {
        Ok(reply)
    } else {
        Ok(reply.with_stderr(format!(
            "MergedKubeconfig \"{context}\" as current context in {}",
            path.display()
        )))
    }
}

/// `--file`, else the environment's default kubeconfig (the simulator never writes the
/// user's own `~/.kube/config`).
fn kubeconfig_target(ctx: &Ctx<'_>, file: Option<&str>) -> PathBuf {
    match file {
        Some(path) => ctx.inv.resolve_path(path),
        None => ctx.paths.default_kubeconfig.clone(),
    }
}

fn fake_b64(what: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!(
        "-----BEGIN {what}-----\nU0lNVUxBVEVE\n-----END {what}-----\n"
    ))
}

fn aks_delete(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let (rg, name) = cluster_key(cmd)?;
    if !cmd.switch("yes") {
        return Err(no_tty_confirmation());
    }
    existing_cluster(ctx, &rg, &name)?;
    let key = key2(&rg, &name);
    if let Some(cluster) = ctx.world.azure.clusters.get_mut(&key) {
        cluster.provisioning_state = "Deleting".to_string();
    }
    let takes = ctx.world.latency.aks_deletion;
    ctx.world
        .schedule(&key, PendingKey::Cluster, ctx.now + takes, Pending::Deleted);
    if cmd.switch("no-wait") {
        Ok(Reply::silent())
    } else {
        Ok(Reply::silent().with_busy(takes))
    }
}

fn list_skus(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let catalog = &ctx.world.azure_catalog;
    if let Some(kind) = cmd.value("resource-type") {
        if !kind.eq_ignore_ascii_case("virtualMachines") {
            return output(cmd, &json!([]));
        }
    }
    let locations: Vec<String> = match cmd.value("location") {
        Some(location) => {
            let location = location.to_ascii_lowercase();
            if catalog.supports_aks(&location) {
                vec![location]
            } else {
                vec![]
            }
        }
        None => catalog.aks_regions.clone(),
    };
    let size_filter = cmd.value("size").map(str::to_ascii_lowercase);
    let mut entries = Vec::new();
    for location in &locations {
        for sku in &catalog.vm_skus {
            if size_filter
                .as_deref()
                .is_some_and(|f| !sku.name.to_ascii_lowercase().contains(f))
            {
                continue;
            }
            let restrictions = if catalog.is_restricted(location, &sku.name) {
                json!([{"reasonCode": "NotAvailableForSubscription", "restrictionInfo": {"locations": [location], "zones": null}, "type": "Location", "values": [location]}])
            } else {
                json!([])
            };
            let cap = |name: &str, value: String| json!({"name": name, "value": value});
            entries.push(json!({
                "apiVersions": null,
                "capabilities": [
                    cap("MaxResourceVolumeMB", (sku.vcpus * 7168).to_string()),
                    cap("OSVhdSizeMB", "1047552".into()),
                    cap("vCPUs", sku.vcpus.to_string()),
                    cap("MemoryPreservingMaintenanceSupported", "True".into()),
                    cap("HyperVGenerations", "V1,V2".into()),
                    cap("MemoryGB", sku.memory_gb.to_string()),
                    cap("MaxDataDiskCount", (sku.vcpus * 4).to_string()),
                    cap("CpuArchitectureType", "x64".into()),
                    cap("LowPriorityCapable", "True".into()),
                    cap("PremiumIO", "True".into()),
                    cap("vCPUsAvailable", sku.vcpus.to_string()),
                    cap("vCPUsPerCore", "1".into()),
                    cap("MaxNetworkInterfaces", "2".into()),
                ],
                "capacity": null,
                "costs": null,
                "family": sku.family,
                "kind": null,
                "locationInfo": [{"location": location, "zoneDetails": [], "zones": ["1", "2", "3"]}],
                "locations": [location],
                "name": sku.name,
                "resourceType": "virtualMachines",
                "restrictions": restrictions,
                "size": sku.name.trim_start_matches("Standard_").trim_start_matches("Basic_"),
                "tier": "Standard",
            }));
        }
    }
    output(cmd, &Value::Array(entries))
}

/// "standardDSv2Family" → "Standard DSv2 Family vCPUs".
fn family_label(family: &str) -> String {
    let core = family
        .trim_start_matches("standard")
        .trim_end_matches("Family");
    format!("Standard {core} Family vCPUs")
}

fn list_usage(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    let Some(location) = cmd.value("location") else {
        return Err(required(&[&LOCATION]));
    };
    let location = location.to_ascii_lowercase();
    let world = &*ctx.world;
    let usage_entry = |value: &str, label: &str, current: u64, limit: u64| {
        json!({
            "currentValue": current.to_string(),
            "limit": limit.to_string(),
            "localName": label,
            "name": {"localizedValue": label, "value": value},
        })
    };
    let (cores_used, cores_limit) = world.quota_usage(&location, "cores");
    let vms: u64 = world
        .azure
        .clusters
        .values()
        .filter(|c| c.location == location)
        .map(|c| u64::from(c.node_count))
        .sum();
    let mut entries = vec![
        usage_entry("availabilitySets", "Availability Sets", 0, 2500),
        usage_entry("cores", "Total Regional vCPUs", cores_used, cores_limit),
        usage_entry("virtualMachines", "Virtual Machines", vms, 25000),
        usage_entry(
            "virtualMachineScaleSets",
            "Virtual Machine Scale Sets",
            world
                .azure
                .clusters
                .values()
                .filter(|c| c.location == location)
                .count() as u64,
            2500,
        ),
    ];
    let mut families: Vec<String> = world
        .azure_catalog
        .vm_skus
        .iter()
        .map(|s| s.family.clone())
        .collect();
    families.sort();
    families.dedup();
    for family in families {
        let (used, limit) = world.quota_usage(&location, &family);
        entries.push(usage_entry(&family, &family_label(&family), used, limit));
    }
    output(cmd, &Value::Array(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_labels_read_like_azure() {
        assert_eq!(
            family_label("standardDSv2Family"),
            "Standard DSv2 Family vCPUs"
        );
        assert_eq!(family_label("standardBSFamily"), "Standard BS Family vCPUs");
    }
}
