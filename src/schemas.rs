//! The JSON Schemas published in `schemas/`, made from the Rust types that read and write
//! the documents, so they cannot drift from them. `tests/cli/schemas.rs` compares them
//! with the committed files and rewrites those when `UPDATE_SCHEMAS=1` is set.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

use crate::config::{ConfigLayer, Field};
use crate::contracts::{self, Contract};
use crate::engine::dry_run::DryRunDocument;
use crate::engine::events::{EventKind, JsonLineKeys, StreamVersion};
use crate::engine::removal::PlanDocument as RemovalPlanDocument;
use crate::prereq::report::PrerequisitesDocument;
use crate::state::BootstrapState;

/// One file of `schemas/`.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaFile {
    /// The name under `schemas/`, e.g. `config.schema.json`.
    pub file_name: &'static str,
    pub schema: Value,
}

impl SchemaFile {
    /// The file's content: pretty JSON with a final newline.
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.schema)
            .unwrap_or_else(|e| unreachable!("a schema serialises: {e}"));
        text.push('\n');
        text
    }
}

/// Every schema of `schemas/`: the configuration file, the state file, the event stream
/// (one schema per line), the dry-run plan, the prerequisite report and the removal plan.
pub fn schema_files() -> Vec<SchemaFile> {
    vec![
        SchemaFile {
            file_name: "config.schema.json",
            schema: titled(
                config_schema(),
                "kalypso-bootstrap configuration file (YAML; see assets/bootstrap-config.example.yaml)",
            ),
        },
        SchemaFile {
            file_name: "state.schema.json",
            schema: titled(
                schema_for::<BootstrapState>(),
                "kalypso-bootstrap state file, also what --status --output json prints",
            ),
        },
        SchemaFile {
            file_name: "events.schema.json",
            schema: titled(
                event_line_schema(),
                "One line of kalypso-bootstrap --output json's event stream",
            ),
        },
        SchemaFile {
            file_name: "prerequisites.schema.json",
            schema: titled(
                versioned(
                    schema_for::<PrerequisitesDocument<'static>>(),
                    contracts::PREREQUISITES,
                ),
                "kalypso-bootstrap --validate-only --output json",
            ),
        },
        SchemaFile {
            file_name: "removal-plan.schema.json",
            schema: titled(
                versioned(
                    schema_for::<RemovalPlanDocument<'static>>(),
                    contracts::REMOVAL_PLAN,
                ),
                "kalypso-bootstrap --clean --dry-run --output json",
            ),
        },
        SchemaFile {
            file_name: "plan.schema.json",
            schema: titled(
                versioned(schema_for::<DryRunDocument<'static>>(), contracts::PLAN),
                "kalypso-bootstrap --dry-run --output json",
            ),
        },
    ]
}

/// The configuration file's schema, every key described by its flag's help, flag and
/// environment variable (the field table, [`Field`]), for editors to show. Inlined, so that
/// the two repositories' keys (one Rust type) each get their own descriptions.
fn config_schema() -> Value {
    let mut settings = SchemaSettings::draft2020_12().for_deserialize();
    settings.inline_subschemas = true;
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<ConfigLayer>()
        .to_value();
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    for field in Field::ALL {
        let long = field.flag().trim_start_matches('-');
        let help = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long))
            .and_then(|arg| arg.get_help())
            .map(|help| help.to_string())
            .unwrap_or_else(|| panic!("{} has no help", field.flag()));
        // The help names its variable as ` [env: …]`; the description says it with the flag.
        let help = help.split(" [env: ").next().unwrap_or_default();
        let description = format!(
            "{}. Flag {}, env {}.",
            help.trim_end_matches('.'),
            field.flag(),
            field.env_var()
        );
        let property = property_at(&mut schema, field.path())
            .unwrap_or_else(|| panic!("{} is not in the configuration schema", field.path()));
        property["description"] = Value::String(description);
    }
    schema
}

/// The schema of the key at `path` (`repositories.controlPlane.name`) in an inlined object
/// schema, looking through `anyOf` (a section may also be null).
fn property_at<'a>(schema: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut current = schema;
    for (index, key) in path.split('.').enumerate() {
        if index > 0 {
            current = object_alternative(current)?;
        }
        current = current.get_mut("properties")?.get_mut(key)?;
    }
    Some(current)
}

/// The schema itself when it has properties, else its `anyOf` alternative that has them.
fn object_alternative(schema: &mut Value) -> Option<&mut Value> {
    if schema.get("properties").is_some() {
        return Some(schema);
    }
    schema
        .get_mut("anyOf")?
        .as_array_mut()?
        .iter_mut()
        .find(|alternative| alternative.get("properties").is_some())
}

/// The schema of what `T` writes (draft 2020-12).
fn schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

fn titled(mut schema: Value, title: &str) -> Value {
    if let Value::Object(object) = &mut schema {
        object.insert("title".into(), json!(title));
    }
    schema
}

/// `schema` and `schema_version` hold exactly the contract's name and version.
fn versioned(mut schema: Value, contract: Contract) -> Value {
    if let Some(properties) = schema.get_mut("properties") {
        properties["schema"] = json!({ "const": contract.name });
        properties["schema_version"] = json!({ "const": contract.version });
    }
    schema
}

/// A line: the keys every line carries ([`JsonLineKeys`]), and either the stream's first
/// line ([`StreamVersion`]) or an event ([`EventKind`]). Nothing else: a key that neither
/// names is an error (`unevaluatedProperties`), so the schema shows every key a line has.
fn event_line_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let keys = generator.subschema_for::<JsonLineKeys>();
    let version = versioned(
        inline(generator.subschema_for::<StreamVersion>(), &generator),
        contracts::EVENTS,
    );
    let kinds = generator.subschema_for::<EventKind>();
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [keys.to_value()],
        "anyOf": [version, kinds.to_value()],
        "unevaluatedProperties": false,
    });
    let definitions: serde_json::Map<String, Value> = generator
        .take_definitions(true)
        .into_iter()
        .filter(|(name, _)| name != "StreamVersion")
        .collect();
    schema["$defs"] = Value::Object(definitions);
    schema
}

/// The definition a `$ref` points at, so the version line's keys can be pinned in place.
fn inline(reference: Schema, generator: &schemars::SchemaGenerator) -> Value {
    let value = reference.to_value();
    let name = value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|path| path.rsplit('/').next())
        .map(str::to_string);
    match name.and_then(|name| generator.definitions().get(&name).cloned()) {
        Some(definition) => definition,
        None => value,
    }
}
