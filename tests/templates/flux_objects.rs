//! The Flux objects this tool writes on an attached workload cluster (its GitRepository
//! and Kustomization) validate against Flux's real schemas, the `openAPIV3Schema` of each
//! served version of the CRDs vendored in `tests/fixtures/upstream/flux-v2.7.5-crds`
//! (licence beside them), checked by the real `check-jsonschema`. Unknown fields are
//! refused as the API server's pruning would drop them (a structural schema's objects take
//! no field they do not list, unless they preserve unknown fields).

use std::path::{Path, PathBuf};
use std::process::Command;

use kalypso_bootstrap::config::{WorkloadCluster, WorkloadContext};
use kalypso_bootstrap::engine::steps::workloads;
use serde_json::Value;

fn crd_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/flux-v2.7.5-crds")
        .join(name)
}

/// Each served version's schema of a CRD: (version, schema).
fn served_schemas(file: &str) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(crd_file(file)).expect("the vendored Flux CRD");
    let crd: Value = serde_yaml::from_str(&text).expect("a CRD");
    crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter(|version| version["served"] == Value::Bool(true))
        .map(|version| {
            let mut schema = version["schema"]["openAPIV3Schema"].clone();
            close_objects(&mut schema, true);
            (version["name"].as_str().unwrap().to_string(), schema)
        })
        .collect()
}

/// Objects that list their properties take no other (what pruning means); `metadata` is
/// the API server's, left open.
fn close_objects(schema: &mut Value, top: bool) {
    let Value::Object(map) = schema else { return };
    let preserves = map
        .get("x-kubernetes-preserve-unknown-fields")
        .is_some_and(|v| v == &Value::Bool(true));
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if !(top && name == "metadata") {
                close_objects(property, false);
            }
        }
        if !preserves && !map.contains_key("additionalProperties") {
            map.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get_mut(key) {
            close_objects(inner, false);
        }
    }
}

/// `check-jsonschema --schemafile SCHEMA DOCUMENT`: (passed, output).
fn check(dir: &Path, name: &str, schema: &Value, document: &Value) -> (bool, String) {
    let schema_path = dir.join(format!("{name}.schema.json"));
    let document_path = dir.join(format!("{name}.json"));
    std::fs::write(&schema_path, schema.to_string()).unwrap();
    std::fs::write(&document_path, document.to_string()).unwrap();
    let output = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(&schema_path)
        .arg(&document_path)
        .output()
        .unwrap_or_else(|error| {
            panic!("check-jsonschema could not be run ({error}); install it with `pipx install check-jsonschema` (.ci/setup does)")
        });
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn cluster() -> WorkloadCluster {
    WorkloadCluster {
        context: WorkloadContext::Named("kind-workload".into()),
        cluster_type: "default".into(),
        environment: "stage".into(),
    }
}

/// Our objects at v1, and each also at every other served version that has the fields
/// we use (v1beta2 where the CRD still serves it).
#[test]
fn the_workload_clusters_flux_objects_validate_against_the_real_flux_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let objects = [
        (
            "source.toolkit.fluxcd.io_gitrepositories.yaml",
            workloads::git_repository_manifest(
                &cluster(),
                "ssh://git@github.com/acme/kalypso-gitops.git",
                "kb-0123456789ab",
            ),
        ),
        (
            "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
            workloads::kustomization_manifest(&cluster(), "kb-0123456789ab"),
        ),
    ];
    for (file, object) in objects {
        let schemas = served_schemas(file);
        let version = object["apiVersion"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(version, "v1", "{file}");
        let mut checked = 0;
        for (served, schema) in &schemas {
            let (passed, output) = check(dir.path(), &format!("{file}-{served}"), schema, &object);
            if served == "v1" || served == "v1beta2" {
                assert!(passed, "{file} at {served}: {output}\n{object:#}");
                checked += 1;
            }
        }
        assert!(checked >= 1, "{file}: no v1 schema served");

        // The validator bites: a missing required field and an unknown one are refused.
        let (_, v1) = schemas.iter().find(|(v, _)| v == "v1").unwrap();
        let mut missing = object.clone();
        missing["spec"].as_object_mut().unwrap().remove("interval");
        assert!(
            !check(dir.path(), "missing", v1, &missing).0,
            "{file}: interval is required"
        );
        let mut unknown = object.clone();
        unknown["spec"]["branch"] = Value::String("stage".into());
        assert!(
            !check(dir.path(), "unknown", v1, &unknown).0,
            "{file}: spec.branch is no field"
        );
    }
}
