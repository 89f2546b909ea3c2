//! Validation of Kalypso resources against the `openAPIV3Schema` of their CRDs (from
//! `tests/fixtures/kalypso-crds`, vendored from upstream): required fields, types, enums, minimum lengths and no unknown
//! fields.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde_json::{json, Value};

pub const KALYPSO_GROUP: &str = "scheduler.kalypso.io";

pub fn crd_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kalypso-crds")
}

/// A served version of a Kalypso CRD: its kind, `group/version` and schema.
pub struct Crd {
    kind: String,
    api_version: String,
    schema: Value,
}

pub fn load_crds() -> BTreeMap<String, Crd> {
    let dir = crd_dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|error| {
        panic!(
            "the Kalypso CRDs are expected in {} (vendored in tests/fixtures/kalypso-crds): {error}",
            dir.display()
        )
    });
    let mut crds = BTreeMap::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let crd: Value = serde_yaml::from_str(&text).unwrap();
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            if version["served"] != json!(true) {
                continue;
            }
            let api_version = format!("{group}/{}", version["name"].as_str().unwrap());
            crds.insert(
                format!("{api_version} {kind}"),
                Crd {
                    kind: kind.clone(),
                    api_version,
                    schema: version["schema"]["openAPIV3Schema"].clone(),
                },
            );
        }
    }
    assert!(
        crds.len() >= 12,
        "expected the 12 Kalypso CRDs in {}, found {}",
        dir.display(),
        crds.len()
    );
    crds
}

/// What the API server enforces on `metadata` (ObjectMeta), which the CRDs leave open.
pub fn object_meta_schema() -> Value {
    json!({
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "namespace": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    })
}

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A structural validator for the subset of OpenAPI v3 the Kalypso CRDs use. Properties a
/// schema does not declare are errors unless it sets `x-kubernetes-preserve-unknown-fields`.
pub fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(expected) = schema["type"].as_str() {
        let actual = type_name(value);
        let matches = actual == expected || (expected == "number" && actual == "integer");
        if !matches {
            errors.push(format!("{path}: expected {expected}, found {actual}"));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            errors.push(format!("{path}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(min), Some(text)) = (schema["minLength"].as_u64(), value.as_str()) {
        if (text.chars().count() as u64) < min {
            errors.push(format!("{path}: shorter than {min}"));
        }
    }
    match value {
        Value::Object(map) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !map.contains_key(name) {
                    errors.push(format!("{path}.{name}: required field missing"));
                }
            }
            let preserve = schema["x-kubernetes-preserve-unknown-fields"] == json!(true);
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                if path.is_empty() && key == "metadata" {
                    validate(&object_meta_schema(), child, "metadata", errors);
                } else if let Some(child_schema) = schema["properties"].get(key) {
                    validate(child_schema, child, &child_path, errors);
                } else if schema["additionalProperties"].is_object() {
                    validate(&schema["additionalProperties"], child, &child_path, errors);
                } else if !preserve {
                    errors.push(format!("{child_path}: unknown field"));
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (index, item) in items.iter().enumerate() {
                validate(&schema["items"], item, &format!("{path}[{index}]"), errors);
            }
        }
        _ => {}
    }
}

/// Validates one Kalypso resource against its CRD; the errors, empty when it is valid.
pub fn validate_resource(crds: &BTreeMap<String, Crd>, resource: &Value) -> Vec<String> {
    let api_version = resource["apiVersion"].as_str().unwrap_or_default();
    let kind = resource["kind"].as_str().unwrap_or_default();
    let Some(crd) = crds.get(&format!("{api_version} {kind}")) else {
        return vec![format!(
            "no served CRD for apiVersion {api_version:?} kind {kind:?}"
        )];
    };
    assert_eq!(
        (crd.api_version.as_str(), crd.kind.as_str()),
        (api_version, kind)
    );
    let mut errors = Vec::new();
    validate(&crd.schema, resource, "", &mut errors);
    for error in &mut errors {
        if let Some(rest) = error.strip_prefix('.') {
            *error = rest.to_string();
        }
    }
    errors
}
