//! The JSON Schemas published in `schemas/`, made from the Rust types that read and write
//! the documents, so they cannot drift from them. `tests/cli/schemas.rs` compares them
//! with the committed files and rewrites those when `UPDATE_SCHEMAS=1` is set.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

use crate::config::ConfigLayer;
use crate::contracts::{self, Contract};
use crate::engine::dry_run::DryRunDocument;
use crate::engine::events::{EventKind, JsonLineKeys, StreamVersion};
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
/// (one schema per line) and the dry-run plan.
pub fn schema_files() -> Vec<SchemaFile> {
    vec![
        SchemaFile {
            file_name: "config.schema.json",
            schema: titled(
                schema_for::<ConfigLayer>(true),
                "kalypso-bootstrap configuration file (YAML; see assets/bootstrap-config.example.yaml)",
            ),
        },
        SchemaFile {
            file_name: "state.schema.json",
            schema: titled(
                schema_for::<BootstrapState>(false),
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
            file_name: "plan.schema.json",
            schema: titled(
                versioned(schema_for::<DryRunDocument<'static>>(false), contracts::PLAN),
                "kalypso-bootstrap --dry-run --output json",
            ),
        },
    ]
}

/// `T`'s schema (draft 2020-12). `deserialized`: the schema of what `T` reads (the
/// configuration file, where a section may be null) rather than of what it writes.
fn schema_for<T: JsonSchema>(deserialized: bool) -> Value {
    let settings = SchemaSettings::draft2020_12();
    let settings = if deserialized {
        settings.for_deserialize()
    } else {
        settings.for_serialize()
    };
    settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// No `$id`: the project has no published URL yet, so the files are found by path (the
/// example configuration's `$schema` line is relative).
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
