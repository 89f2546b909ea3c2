//! Every Kalypso resource the templates render validates against the `openAPIV3Schema` of its
//! CRD (vendored in `tests/fixtures/kalypso-crds`): required fields, types, enums and no unknown fields.
//! The validator is checked against deliberately broken samples, and the resources are checked
//! to refer to each other consistently (the cluster type's templates exist, the policy selects
//! the cluster type and the sample workspace).

use std::collections::BTreeMap;

use crate::support::templates::crd::{
    load_crds, object_meta_schema, validate, validate_resource, KALYPSO_GROUP,
};
use kalypso_bootstrap::templates::{render, RepoRef, TemplateContext};
use serde::Deserialize;
use serde_json::{json, Value};

/// Every YAML document of a rendering, by file name.
fn rendered_documents(context: &TemplateContext) -> Vec<(String, Value)> {
    let rendered = render(context).unwrap();
    let mut documents = Vec::new();
    for repo in rendered.repos() {
        for branch in &repo.branches {
            for file in &branch.files {
                if !file.path.ends_with(".yaml") {
                    continue;
                }
                let name = format!("{}/{}/{}", repo.kind.dir_name(), branch.name, file.path);
                let text = std::str::from_utf8(&file.contents).unwrap();
                for document in serde_yaml::Deserializer::from_str(text) {
                    let value = Value::deserialize(document).unwrap();
                    if !value.is_null() {
                        documents.push((name.clone(), value));
                    }
                }
            }
        }
    }
    documents
}

fn kalypso_resources(context: &TemplateContext) -> Vec<(String, Value)> {
    rendered_documents(context)
        .into_iter()
        .filter(|(_, d)| {
            d["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with(&format!("{KALYPSO_GROUP}/")))
        })
        .collect()
}

/// The default context, one with other names and environment, and one with three
/// environments (each with its own branch and Kalypso resources).
fn contexts() -> [TemplateContext; 3] {
    let mut stage = TemplateContext::new(
        RepoRef::new("contoso", "kalypso-control-plane"),
        RepoRef::new("contoso", "kalypso-gitops"),
    );
    stage.environments = vec!["stage".into()];
    stage.cluster_type = "large".into();
    stage.namespace = "kalypso".into();
    [
        TemplateContext::new(RepoRef::new("acme", "cp"), RepoRef::new("acme", "go")),
        stage,
        three_environments(),
    ]
}

fn three_environments() -> TemplateContext {
    let mut three = TemplateContext::new(RepoRef::new("acme", "cp"), RepoRef::new("acme", "go"));
    three.environments = vec!["dev".into(), "stage".into(), "prod".into()];
    three
}

fn one<'a>(resources: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    resources
        .iter()
        .filter(|(_, r)| r["kind"] == kind)
        .map(|(_, r)| r)
        .collect()
}

#[test]
fn every_kalypso_resource_validates_against_its_crd() {
    let crds = load_crds();
    for context in contexts() {
        let resources = kalypso_resources(&context);
        for (file, resource) in &resources {
            let errors = validate_resource(&crds, resource);
            assert!(errors.is_empty(), "{file}: {errors:#?}");
        }
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, resource) in &resources {
            *kinds.entry(resource["kind"].as_str().unwrap()).or_default() += 1;
        }
        // One of each per environment; the templates and the workload registration are
        // shared on main.
        let each = context.environments.len();
        assert_eq!(
            kinds,
            BTreeMap::from([
                ("BaseRepo", each),
                ("ClusterType", each),
                ("Environment", each),
                ("GitOpsRepo", each),
                ("SchedulingPolicy", each),
                ("Template", 3),
                ("WorkloadRegistration", 1),
            ])
        );
    }
}

fn cluster_type() -> Value {
    let resources = kalypso_resources(&contexts()[0]);
    one(&resources, "ClusterType")[0].clone()
}

#[test]
fn a_resource_missing_a_required_field_fails_validation() {
    let crds = load_crds();
    let mut broken = cluster_type();
    broken["spec"].as_object_mut().unwrap().remove("reconciler");
    assert_eq!(
        validate_resource(&crds, &broken),
        ["spec.reconciler: required field missing"]
    );
    let mut broken = cluster_type();
    broken.as_object_mut().unwrap().remove("metadata");
    broken["metadata"] = json!({"labels": {"a": "b"}});
    assert_eq!(
        validate_resource(&crds, &broken),
        ["metadata.name: required field missing"]
    );
}

#[test]
fn a_resource_with_a_wrong_type_fails_validation() {
    let crds = load_crds();
    let mut broken = cluster_type();
    broken["spec"]["configType"] = json!(42);
    assert_eq!(
        validate_resource(&crds, &broken),
        ["spec.configType: expected string, found integer"]
    );
    let mut broken = cluster_type();
    broken["metadata"]["labels"]["edge"] = json!(true);
    assert_eq!(
        validate_resource(&crds, &broken),
        ["metadata.labels.edge: expected string, found boolean"]
    );
    let resources = kalypso_resources(&contexts()[0]);
    let mut template = one(&resources, "Template")[0].clone();
    template["spec"]["manifests"][0] = json!({"apiVersion": "v1"});
    assert_eq!(
        validate_resource(&crds, &template),
        ["spec.manifests[0]: expected string, found object"]
    );
}

#[test]
fn a_resource_with_an_unknown_field_fails_validation() {
    let crds = load_crds();
    let mut broken = cluster_type();
    broken["spec"]["replicas"] = json!("3");
    assert_eq!(
        validate_resource(&crds, &broken),
        ["spec.replicas: unknown field"]
    );
    let mut broken = cluster_type();
    broken["specification"] = json!({});
    assert_eq!(
        validate_resource(&crds, &broken),
        ["specification: unknown field"]
    );
}

#[test]
fn a_resource_with_a_value_outside_its_enum_or_kind_fails_validation() {
    let crds = load_crds();
    let resources = kalypso_resources(&contexts()[0]);
    let mut template = one(&resources, "Template")[0].clone();
    template["spec"]["type"] = json!("reconciller");
    let errors = validate_resource(&crds, &template);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("spec.type: \"reconciller\" is not one of"));
    let mut unknown_kind = cluster_type();
    unknown_kind["kind"] = json!("ClusterKind");
    assert_eq!(
        validate_resource(&crds, &unknown_kind),
        ["no served CRD for apiVersion \"scheduler.kalypso.io/v1alpha1\" kind \"ClusterKind\""]
    );
}

#[test]
fn the_cluster_type_resolves_to_templates_of_the_right_type() {
    for context in contexts() {
        let resources = kalypso_resources(&context);
        let cluster_type = one(&resources, "ClusterType")[0];
        assert_eq!(
            cluster_type["metadata"]["name"],
            context.cluster_type.as_str()
        );
        let templates = one(&resources, "Template");
        for (field, template_type) in [
            ("reconciler", "reconciler"),
            ("namespaceService", "namespace"),
            ("configType", "config"),
        ] {
            let name = &cluster_type["spec"][field];
            let template = templates
                .iter()
                .find(|t| &t["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("no Template named {name} for spec.{field}"));
            assert_eq!(template["spec"]["type"], template_type, "{name}");
            assert!(!template["spec"]["manifests"].as_array().unwrap().is_empty());
        }
    }
}

#[test]
fn the_policy_schedules_the_sample_workload_on_the_cluster_type() {
    for context in contexts() {
        let resources = kalypso_resources(&context);
        let policy = one(&resources, "SchedulingPolicy")[0];
        let cluster_type = one(&resources, "ClusterType")[0];
        let registration = one(&resources, "WorkloadRegistration")[0];
        let wanted = policy["spec"]["clusterTypeSelector"]["labelSelector"]["matchLabels"]
            .as_object()
            .unwrap();
        assert!(!wanted.is_empty());
        for (label, value) in wanted {
            assert_eq!(&cluster_type["metadata"]["labels"][label], value, "{label}");
        }
        assert_eq!(
            policy["spec"]["deploymentTargetSelector"]["workspace"],
            registration["spec"]["workspace"]
        );
        // The public repository that holds Kalypso's hello-world workload definition.
        assert_eq!(
            registration["spec"]["workload"],
            json!({
                "repo": "https://github.com/microsoft/kalypso-app-src",
                "branch": "main",
                "path": "./workload"
            })
        );
    }
}

#[test]
fn the_platform_config_map_is_labelled_for_the_cluster_type() {
    for context in contexts() {
        let documents = rendered_documents(&context);
        let config_maps: Vec<&Value> = documents
            .iter()
            .filter(|(_, d)| d["kind"] == "ConfigMap")
            .map(|(_, d)| d)
            .collect();
        assert_eq!(config_maps.len(), context.environments.len());
        for (config_map, environment) in config_maps.iter().zip(&context.environments) {
            assert_eq!(config_map["data"]["ENVIRONMENT"], environment.as_str());
        }
        let config_map = config_maps[0];
        assert_eq!(config_map["apiVersion"], "v1");
        let mut errors = Vec::new();
        validate(
            &object_meta_schema(),
            &config_map["metadata"],
            "metadata",
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        // The API server accepts only strings here; an unquoted true is a classic mistake.
        assert_eq!(config_map["metadata"]["labels"]["platform-config"], "true");
        assert_eq!(
            config_map["metadata"]["labels"]["cluster-type"],
            context.cluster_type.as_str()
        );
        for (key, value) in config_map["data"].as_object().unwrap() {
            assert!(value.is_string(), "data.{key} must be a string");
        }
    }
}

/// With three environments, each has its Environment on main naming its own control-plane
/// branch, and on that branch a GitOpsRepo naming the gitops repository's branch of the same
/// name, a BaseRepo of main, a ClusterType and a SchedulingPolicy; the gitops repository has
/// the same branches, each with the hand-back workflow triggered by its own branch.
#[test]
fn each_of_three_environments_has_its_branches_and_resources() {
    let context = three_environments();
    let rendered = render(&context).unwrap();
    for repo in rendered.repos() {
        let names: Vec<&str> = repo.branches.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["main", "dev", "stage", "prod"], "{}", repo.kind);
    }
    let documents = rendered_documents(&context);
    let on = |prefix: &str, kind: &str| -> Vec<Value> {
        documents
            .iter()
            .filter(|(file, d)| file.starts_with(prefix) && d["kind"] == kind)
            .map(|(_, d)| d.clone())
            .collect()
    };
    for environment in ["dev", "stage", "prod"] {
        let branch = format!("control-plane/{environment}/");
        let environments: Vec<Value> = on("control-plane/main/", "Environment")
            .into_iter()
            .filter(|e| e["metadata"]["name"] == environment)
            .collect();
        assert_eq!(environments.len(), 1, "{environment}");
        assert_eq!(
            environments[0]["spec"]["controlPlane"],
            json!({"repo": "https://github.com/acme/cp", "branch": environment, "path": "."})
        );
        let gitops_repos = on(&branch, "GitOpsRepo");
        assert_eq!(gitops_repos.len(), 1, "{environment}");
        assert_eq!(
            gitops_repos[0]["spec"],
            json!({"repo": "https://github.com/acme/go", "branch": environment, "path": "."})
        );
        assert_eq!(gitops_repos[0]["metadata"]["name"], environment);
        let base_repos = on(&branch, "BaseRepo");
        assert_eq!(base_repos.len(), 1, "{environment}");
        assert_eq!(base_repos[0]["spec"]["branch"], "main");
        assert_eq!(on(&branch, "ClusterType").len(), 1, "{environment}");
        assert_eq!(on(&branch, "SchedulingPolicy").len(), 1, "{environment}");
        let hand_back = rendered
            .gitops
            .branch_named(environment)
            .and_then(|b| b.file(".github/workflows/check-promote.yaml"))
            .unwrap_or_else(|| panic!("no hand-back workflow on gitops {environment}"));
        let workflow: serde_yaml::Value = serde_yaml::from_slice(&hand_back.contents).unwrap();
        assert_eq!(
            workflow["on"]["push"]["branches"],
            serde_yaml::to_value([environment]).unwrap(),
            "{environment}"
        );
    }
    // Only the first environment is where ci.yaml starts every promotion.
    let ci = rendered
        .control_plane
        .branch_named("main")
        .and_then(|b| b.file(".github/workflows/ci.yaml"))
        .unwrap();
    let ci = String::from_utf8(ci.contents.clone()).unwrap();
    assert!(ci.contains("ENVIRONMENT: \"dev\""), "{ci}");
    assert!(!ci.contains("stage") && !ci.contains("prod"), "{ci}");
}

/// The reference control plane (microsoft/kalypso-control-plane, vendored as a bundle): every
/// Kalypso resource on main, dev and stage validates against its CRD, and the product's
/// lighter check by kind finds everything Kalypso consumes for both environments.
#[test]
fn the_reference_control_plane_validates_against_the_crds_and_the_check_by_kind() {
    use kalypso_bootstrap::templates::structure::{check_control_plane, is_resource_candidate};
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/kalypso-control-plane.bundle");
    let seed =
        kalypso_bootstrap::sim::SeedRepo::from_git("microsoft", "kalypso-control-plane", &bundle)
            .expect("the vendored bundle reads");
    let crds = load_crds();
    let mut checked = 0;
    let mut yaml_of = BTreeMap::new();
    for (branch, files) in &seed.branches {
        let mut yaml = Vec::new();
        for (path, content) in files {
            if !is_resource_candidate(path) {
                continue;
            }
            let text = String::from_utf8(content.clone()).expect("utf-8 YAML");
            for document in serde_yaml::Deserializer::from_str(&text) {
                let mut value = Value::deserialize(document).unwrap();
                // The API server drops null fields of a non-nullable schema before it
                // validates (the reference's Environment has an empty `labels:`).
                drop_nulls(&mut value);
                let is_kalypso = value["apiVersion"]
                    .as_str()
                    .is_some_and(|v| v.starts_with(&format!("{KALYPSO_GROUP}/")));
                if is_kalypso {
                    let errors = validate_resource(&crds, &value);
                    assert!(errors.is_empty(), "{branch}:{path}: {errors:?}");
                    checked += 1;
                }
            }
            yaml.push((path.clone(), text));
        }
        yaml_of.insert(branch.clone(), yaml);
    }
    // main 7 (2 Environments, 4 Templates, a WorkloadRegistration), dev 7, stage 4.
    assert_eq!(checked, 18, "Kalypso resources of the vendored reference");
    let main_paths: Vec<&String> = seed.branches["main"].keys().collect();
    for environment in ["dev", "stage"] {
        let findings = check_control_plane(
            &main_paths,
            &yaml_of["main"],
            environment,
            &yaml_of[environment],
        );
        assert!(
            findings.missing.is_empty(),
            "{environment}: {:?}",
            findings.missing
        );
        assert!(
            !findings.warnings.is_empty(),
            "its helpers differ from ours"
        );
    }
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
