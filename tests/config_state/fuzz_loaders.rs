//! Property tests: the configuration loader and the state loader never panic, whatever
//! bytes they are given; they answer with a value or a typed error.

use std::path::Path;

use kalypso_bootstrap::config::load::parse_str;
use kalypso_bootstrap::state::parse_state;
use proptest::prelude::*;

/// Keys the configuration file knows, and some it does not, for structured inputs.
const KEYS: &[&str] = &[
    "cluster",
    "name",
    "create",
    "existingContext",
    "region",
    "resourceGroup",
    "nodeCount",
    "vmSize",
    "kubernetesVersion",
    "networkPlugin",
    "repositories",
    "controlPlane",
    "gitops",
    "url",
    "githubOrg",
    "visibility",
    "installation",
    "namespace",
    "helmChart",
    "helmVersion",
    "helmValues",
    "skipInstall",
    "options",
    "nonInteractive",
    "force",
    "bogus",
    "",
];

/// YAML-looking scalars, including the troublesome ones.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("~".to_string()),
        Just("true".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("'unterminated".to_string()),
        Just("[1, {a: b}]".to_string()),
        Just("&anchor x".to_string()),
        Just("*alias".to_string()),
        Just("!!binary aGVsbG8=".to_string()),
        "[a-zA-Z0-9_ .:/-]{0,20}",
        "\\PC{0,12}",
    ]
}

/// A nested YAML document built from known and unknown keys.
fn document() -> impl Strategy<Value = String> {
    let line = (
        0usize..4,
        prop::sample::select(KEYS),
        scalar(),
        any::<bool>(),
    )
        .prop_map(|(depth, key, value, nested)| {
            let indent = "  ".repeat(depth);
            if nested {
                format!("{indent}{key}:\n")
            } else {
                format!("{indent}{key}: {value}\n")
            }
        });
    prop::collection::vec(line, 0..25).prop_map(|lines| lines.concat())
}

/// JSON-looking state files: real keys with values of any shape.
fn state_document() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("null".to_string()),
        Just("\"1.0\"".to_string()),
        Just("\"9.9\"".to_string()),
        Just("\"in_progress\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("12".to_string()),
        Just("\"2025-11-11T10:30:45.000Z\"".to_string()),
        "\"\\PC{0,10}\"",
    ];
    let key = prop::sample::select(vec![
        "version",
        "timestamp",
        "status",
        "cluster",
        "repositories",
        "installation",
        "errors",
        "steps",
        "resources",
        "other",
    ]);
    prop::collection::vec((key, value), 0..10).prop_map(|pairs| {
        let body: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        format!("{{{}}}", body.join(", "))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn config_loader_never_panics_on_any_text(text in "\\PC{0,300}") {
        let _ = parse_str(&text, Path::new("fuzz.yaml"));
    }

    #[test]
    fn config_loader_never_panics_on_yaml_shaped_documents(text in document()) {
        let _ = parse_str(&text, Path::new("fuzz.yaml"));
    }

    #[test]
    fn state_loader_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_state(&bytes);
    }

    #[test]
    fn state_loader_never_panics_on_json_shaped_documents(text in state_document()) {
        let _ = parse_state(text.as_bytes());
    }
}
