//! The Kalypso Scheduler's scheduling, as pure functions over the objects of one
//! environment namespace (read from microsoft/kalypso-scheduler):
//!
//! - `controllers/workload_controller.go`: a Workload's DeploymentTargets;
//! - `controllers/schedulingpolicy_controller.go` and `scheduler/scheduler.go`: the
//!   Assignments of a SchedulingPolicy;
//! - `controllers/assignment_controller.go` and `scheduler/templater.go`: an Assignment's
//!   AssignmentPackage, or the error that fails it.
//!
//! [`super::kalypso`] derives the objects from the cluster and GitHub and calls these.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::gotemplate::{process_template, TemplateData};

/// `FluxOwnerLabel`, `FluxNamespaceLabel`, `PlatformConfigLabel` of the controllers.
pub(crate) const FLUX_OWNER_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
pub(crate) const FLUX_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
const PLATFORM_CONFIG_LABEL: &str = "platform-config";
const WORKLOAD_LABEL: &str = "workload";
const WORKSPACE_LABEL: &str = "workspace";
const CLUSTER_TYPE_LABEL: &str = "cluster-type";
const DEPLOYMENT_TARGET_LABEL: &str = "deployment-target";
const SCHEDULING_POLICY_LABEL: &str = "scheduling-policy";
/// `ConfigMapConfigType`, the config template's content type when it names none.
const CONFIG_MAP_CONTENT_TYPE: &str = "configMap";

pub(crate) fn name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(crate) fn labels(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn of_kind<'a>(objects: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    objects.iter().filter(move |o| o["kind"] == kind)
}

/// The DeploymentTargets a Workload makes in `namespace`, or the error that fails it
/// (`getWorkspaceLabel` when the WorkloadRegistration its Kustomization names is gone).
pub(crate) fn deployment_targets(
    workload: &Value,
    namespace: &str,
    registrations: &[Value],
) -> Result<Vec<Value>, String> {
    let workload_name = name(workload);
    let workload_labels = labels(workload);
    // `getWorkspaceLabel`: the registration is the Kustomization's name without its
    // `<namespace>-` prefix.
    let workspace = match workload_labels.get(FLUX_OWNER_LABEL) {
        Some(owner) if !owner.is_empty() => {
            let registration = owner.split_once('-').map(|(_, r)| r).unwrap_or_default();
            registrations
                .iter()
                .find(|r| name(r) == registration)
                .ok_or_else(|| {
                    format!(
                        "WorkloadRegistration.scheduler.kalypso.io \"{registration}\" not found"
                    )
                })?
                .pointer("/spec/workspace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        }
        _ => String::new(),
    };
    let mut targets = Vec::new();
    let schemas = workload
        .pointer("/spec/configSchemas")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for target in workload
        .pointer("/spec/deploymentTargets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if target["environment"] != namespace {
            continue;
        }
        let mut spec = target.clone();
        let spec_map = spec.as_object_mut().expect("a deployment target is a map");
        let own_labels = spec_map.remove("labels");
        spec_map.remove("name");
        if !schemas.is_empty() {
            let mut all = spec_map
                .get("configSchemas")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            all.extend(schemas.iter().cloned());
            spec_map.insert("configSchemas".into(), Value::Array(all));
        }
        let mut target_labels: Map<String, Value> = own_labels
            .and_then(|l| l.as_object().cloned())
            .unwrap_or_default();
        for (key, value) in &workload_labels {
            target_labels.insert(key.clone(), json!(value));
        }
        target_labels.insert(WORKLOAD_LABEL.into(), json!(workload_name));
        target_labels.insert(WORKSPACE_LABEL.into(), json!(workspace));
        targets.push(json!({
            "apiVersion": "scheduler.kalypso.io/v1alpha1",
            "kind": "DeploymentTarget",
            "metadata": {
                "name": format!("{workload_name}-{}", target["name"].as_str().unwrap_or_default()),
                "namespace": namespace,
                "labels": target_labels,
            },
            "spec": spec,
        }));
    }
    Ok(targets)
}

/// `metav1.LabelSelectorAsSelector(...).Matches(labels)`; an empty selector matches all.
fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> Result<bool, String> {
    if let Some(match_labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in match_labels {
            if labels.get(key).map(String::as_str) != value.as_str() {
                return Ok(false);
            }
        }
    }
    for expression in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = expression["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expression["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let operator = expression["operator"].as_str().unwrap_or_default();
        let value = labels.get(key).map(String::as_str);
        let matches = match operator {
            "In" if !values.is_empty() => value.is_some_and(|v| values.contains(&v)),
            "NotIn" if !values.is_empty() => !value.is_some_and(|v| values.contains(&v)),
            "Exists" if values.is_empty() => value.is_some(),
            "DoesNotExist" if values.is_empty() => value.is_none(),
            "In" | "NotIn" => {
                return Err("values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty".to_string())
            }
            "Exists" | "DoesNotExist" => {
                return Err(format!("values: Invalid value: {values:?}: values set must be empty for exists and does not exist"))
            }
            other => return Err(format!("\"{other}\" is not a valid label selector operator")),
        };
        if !matches {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What a SchedulingPolicy made: its Assignments, or the error that fails it.
pub(crate) struct Scheduled {
    pub assignments: Vec<Value>,
    pub error: Option<String>,
}

/// `Schedule`: every selected cluster type × every selected deployment target.
pub(crate) fn schedule(
    policy: &Value,
    cluster_types: &[Value],
    deployment_targets: &[Value],
    namespace: &str,
) -> Scheduled {
    let policy_name = name(policy);
    let target_selector = policy
        .pointer("/spec/deploymentTargetSelector/labelSelector")
        .cloned()
        .unwrap_or(json!({}));
    let type_selector = policy
        .pointer("/spec/clusterTypeSelector/labelSelector")
        .cloned()
        .unwrap_or(json!({}));
    let workspace = policy
        .pointer("/spec/deploymentTargetSelector/workspace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut targets = Vec::new();
    for target in deployment_targets {
        let target_labels = labels(target);
        if !workspace.is_empty()
            && target_labels.get(WORKSPACE_LABEL).map(String::as_str) != Some(workspace)
        {
            continue;
        }
        match selector_matches(&target_selector, &target_labels) {
            Ok(true) => targets.push(target),
            Ok(false) => {}
            Err(e) => return failed(e),
        }
    }
    let mut types = Vec::new();
    for cluster_type in cluster_types {
        match selector_matches(&type_selector, &labels(cluster_type)) {
            Ok(true) => types.push(cluster_type),
            Ok(false) => {}
            Err(e) => return failed(e),
        }
    }
    let mut assignments = Vec::new();
    for cluster_type in &types {
        for target in &targets {
            let workload = labels(target)
                .get(WORKLOAD_LABEL)
                .cloned()
                .unwrap_or_default();
            assignments.push(json!({
                "apiVersion": "scheduler.kalypso.io/v1alpha1",
                "kind": "Assignment",
                "metadata": {
                    "name": format!("{workload}-{}-{}", name(target), name(cluster_type)),
                    "namespace": namespace,
                    "labels": {SCHEDULING_POLICY_LABEL: policy_name},
                },
                "spec": {"workload": workload, "deploymentTarget": name(target), "clusterType": name(cluster_type)},
            }));
        }
    }
    Scheduled {
        assignments,
        error: None,
    }
}

fn failed(error: String) -> Scheduled {
    Scheduled {
        assignments: Vec::new(),
        error: Some(error),
    }
}

/// `isConfigForClusterTypeAndTarget`.
fn is_config_for(
    config_labels: &BTreeMap<String, String>,
    cluster_type: &Value,
    target: &Value,
) -> bool {
    let type_labels = labels(cluster_type);
    let target_labels = labels(target);
    config_labels.iter().all(|(key, value)| match key.as_str() {
        FLUX_OWNER_LABEL | FLUX_NAMESPACE_LABEL | PLATFORM_CONFIG_LABEL => true,
        CLUSTER_TYPE_LABEL => value == name(cluster_type),
        DEPLOYMENT_TARGET_LABEL => value == name(target),
        WORKLOAD_LABEL => target_labels.get(WORKLOAD_LABEL) == Some(value),
        _ => type_labels.get(key) == Some(value) || target_labels.get(key) == Some(value),
    })
}

/// `getObjectFromConfigValue`: a quoted value as its text, a YAML list or map as that,
/// anything else as the string it is.
fn config_value(text: &str) -> Value {
    let trimmed = text.trim();
    if trimmed.len() >= 2 && trimmed.starts_with('\'') && trimmed.ends_with('\'') {
        return Value::String(trimmed.trim_matches('\'').to_string());
    }
    match serde_yaml::from_str::<Value>(text) {
        Ok(value @ (Value::Array(_) | Value::Object(_))) => value,
        _ => Value::String(text.to_string()),
    }
}

/// `mergeObjects`: lists merged by item `name`, maps key by key, anything else replaced.
fn merge(existing: Value, new: Value) -> Value {
    match (existing, new) {
        (Value::Array(mut existing), Value::Array(new)) => {
            for value in new {
                let mut matched = false;
                if value.is_object() {
                    for slot in existing.iter_mut() {
                        if slot.is_object() && slot.get("name") == value.get("name") {
                            *slot = merge(slot.take(), value.clone());
                            matched = true;
                        }
                    }
                }
                if !matched {
                    existing.push(value);
                }
            }
            Value::Array(existing)
        }
        (Value::Object(mut existing), Value::Object(new)) => {
            for (key, value) in new {
                let merged = match existing.remove(&key) {
                    Some(old) => merge(old, value),
                    None => value,
                };
                existing.insert(key, merged);
            }
            Value::Object(existing)
        }
        (_, new) => new,
    }
}

/// `getConfigData`: the data of the `platform-config: "true"` ConfigMaps for the cluster
/// type and deployment target, by ConfigMap name.
fn config_data(config_maps: &[&Value], cluster_type: &Value, target: &Value) -> Map<String, Value> {
    let mut sorted: Vec<&&Value> = config_maps
        .iter()
        .filter(|c| labels(c).get(PLATFORM_CONFIG_LABEL).map(String::as_str) == Some("true"))
        .collect();
    sorted.sort_by_key(|c| name(c));
    let mut data = Map::new();
    for config_map in sorted {
        if !is_config_for(&labels(config_map), cluster_type, target) {
            continue;
        }
        for (key, value) in config_map["data"].as_object().into_iter().flatten() {
            let new = config_value(value.as_str().unwrap_or_default());
            let merged = match data.remove(key) {
                Some(old) => merge(old, new),
                None => new,
            };
            data.insert(key.clone(), merged);
        }
    }
    data
}

/// `buildTargetNamespace`.
pub(crate) fn target_namespace(target: &Value, cluster_type: &Value) -> String {
    format!(
        "{}-{}-{}",
        target
            .pointer("/spec/environment")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        name(cluster_type),
        name(target)
    )
}

/// The Assignment controller: the AssignmentPackage of `assignment`, or its error
/// (`Ready=False, UpdateFailed` with this message).
pub(crate) fn assignment_package(assignment: &Value, objects: &[Value]) -> Result<Value, String> {
    let spec = &assignment["spec"];
    fn find<'a>(objects: &'a [Value], kind: &str, wanted: &str) -> Result<&'a Value, String> {
        objects
            .iter()
            .find(|o| o["kind"] == kind && name(o) == wanted)
            .ok_or_else(|| format!("{kind}.scheduler.kalypso.io \"{wanted}\" not found"))
    }
    let cluster_type = find(
        objects,
        "ClusterType",
        spec["clusterType"].as_str().unwrap_or_default(),
    )?;
    let target = find(
        objects,
        "DeploymentTarget",
        spec["deploymentTarget"].as_str().unwrap_or_default(),
    )?;
    let config_maps: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap" && o["apiVersion"] == "v1")
        .collect();
    if config_maps
        .iter()
        .any(|c| name(c).starts_with("azure-app-config"))
    {
        return Err(
            "unsupported by the simulated scheduler: config data from azure-app-config ConfigMaps"
                .to_string(),
        );
    }
    let data = config_data(&config_maps, cluster_type, target);
    // `validateConfigData`: JSON schemas are not evaluated by the simulator.
    let schema_applies = of_kind(objects, "ConfigSchema")
        .any(|s| is_config_for(&labels(s), cluster_type, target))
        || target
            .pointer("/spec/configSchemas")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
    if schema_applies {
        return Err("unsupported by the simulated scheduler: config schema validation (a ConfigSchema applies to this deployment target)".to_string());
    }
    let target_labels = labels(target);
    let template_data = TemplateData {
        deployment_target_name: name(target).to_string(),
        namespace: target_namespace(target, cluster_type),
        environment: target
            .pointer("/spec/environment")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        workspace: target_labels
            .get(WORKSPACE_LABEL)
            .cloned()
            .unwrap_or_default(),
        workload: target_labels
            .get(WORKLOAD_LABEL)
            .cloned()
            .unwrap_or_default(),
        labels: target_labels.clone(),
        manifests: target
            .pointer("/spec/manifests")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        cluster_type: name(cluster_type).to_string(),
        config_data: data,
    };
    let template = |field: &str| -> Result<(&Value, Vec<String>), String> {
        let template_name = cluster_type
            .pointer(&format!("/spec/{field}"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let template = find(objects, "Template", template_name)?;
        let manifests: Vec<String> = template
            .pointer("/spec/manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect();
        let rendered = process_template(&manifests, &template_data)
            .map_err(|e| format!("Template {template_name}: {e}"))?;
        Ok((template, rendered))
    };
    let (_, reconciler) = template("reconciler")?;
    let (_, namespace_manifests) = template("namespaceService")?;
    let (config_template, config) = template("configType")?;
    let content_type = config_template
        .pointer("/spec/contentType")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or(CONFIG_MAP_CONTENT_TYPE);
    Ok(json!({
        "apiVersion": "scheduler.kalypso.io/v1alpha1",
        "kind": "AssignmentPackage",
        "metadata": {
            "name": name(assignment),
            "namespace": assignment.pointer("/metadata/namespace").cloned().unwrap_or(Value::Null),
            "labels": {
                CLUSTER_TYPE_LABEL: spec["clusterType"],
                WORKLOAD_LABEL: spec["workload"],
                DEPLOYMENT_TARGET_LABEL: spec["deploymentTarget"],
            },
        },
        "spec": {
            "reconcilerManifests": reconciler,
            "namespaceManifests": namespace_manifests,
            "configManifests": config,
            "configManifestsContentType": content_type,
        },
    }))
}

/// `getFullManifestsFileName`.
fn file_name(base: &str, content_type: Option<&str>) -> String {
    let extension = if content_type == Some("sh") {
        "sh"
    } else {
        "yaml"
    };
    format!("{base}.{extension}")
}

/// `getManifestsYamlString`: the manifests joined by `---` lines.
fn joined(manifests: &Value) -> String {
    let mut text = String::new();
    for manifest in manifests.as_array().into_iter().flatten() {
        if !text.is_empty() {
            text.push_str("---\n");
        }
        text.push_str(manifest.as_str().unwrap_or_default());
    }
    text
}

/// The files `getTree` writes for one deployment target of a cluster type.
pub(crate) fn package_files(
    cluster_type: &str,
    target: &str,
    spec: &Value,
) -> Vec<(String, String)> {
    let folder = format!("{cluster_type}/{target}");
    let content_type = |field: &str| spec.get(field).and_then(Value::as_str);
    let mut files = vec![
        (
            format!(
                "{folder}/{}",
                file_name("reconciler", content_type("reconcilerManifestsContentType"))
            ),
            joined(&spec["reconcilerManifests"]),
        ),
        (
            format!(
                "{folder}/{}",
                file_name("namespace", content_type("namespaceManifestsContentType"))
            ),
            joined(&spec["namespaceManifests"]),
        ),
    ];
    let config = joined(&spec["configManifests"]);
    if !config.is_empty() {
        files.push((
            format!(
                "{folder}/{}",
                file_name(
                    "platform-config",
                    content_type("configManifestsContentType")
                )
            ),
            config,
        ));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_data_merges_the_matching_platform_config_maps_in_name_order() {
        let cluster_type = json!({"metadata": {"name": "large", "labels": {"region": "west-us", "size": "large"}}});
        let target = json!({"metadata": {"name": "observability-prometheus", "labels": {"workload": "observability"}}});
        let maps = [
            json!({"metadata": {"name": "west-us-config", "labels": {"platform-config": "true", "region": "west-us"}}, "data": {"REGION": "West US"}}),
            json!({"metadata": {"name": "east-us-config", "labels": {"platform-config": "true", "region": "east-us"}}, "data": {"REGION": "East US"}}),
            json!({"metadata": {"name": "dev-config", "labels": {"platform-config": "true"}}, "data": {"ENVIRONMENT": "Dev", "LIST": "- a\n- b"}}),
            json!({"metadata": {"name": "large-config", "labels": {"platform-config": "true", "cluster-type": "large"}}, "data": {"CLUSTER_NAME": "Large", "LIST": "- c"}}),
            json!({"metadata": {"name": "not-platform", "labels": {}}, "data": {"X": "y"}}),
        ];
        let refs: Vec<&Value> = maps.iter().collect();
        let data = config_data(&refs, &cluster_type, &target);
        assert_eq!(
            Value::Object(data),
            json!({"REGION": "West US", "ENVIRONMENT": "Dev", "CLUSTER_NAME": "Large", "LIST": ["a", "b", "c"]})
        );
    }

    #[test]
    fn selectors_match_labels_and_expressions_and_reject_bad_operators() {
        let labels: BTreeMap<String, String> = [("size".to_string(), "large".to_string())].into();
        assert!(selector_matches(&json!({}), &labels).unwrap());
        assert!(selector_matches(&json!({"matchLabels": {"size": "large"}}), &labels).unwrap());
        assert!(!selector_matches(&json!({"matchLabels": {"size": "small"}}), &labels).unwrap());
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "size", "operator": "In", "values": ["large"]}]}),
            &labels
        )
        .unwrap());
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "edge", "operator": "DoesNotExist"}]}),
            &labels
        )
        .unwrap());
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "x", "operator": "Near"}]}),
            &labels
        )
        .is_err());
    }
}
