//! The environment layer: one `KALYPSO_*` variable per configuration field (the names the
//! `--help` text prints), plus the conventional `DEBUG` (= verbose) and `NO_COLOR`.
//! The environment is passed in as a map; only [`snapshot`] reads the process environment.

use std::collections::HashMap;

use super::error::FieldError;
use super::field::{Field, Kind, Value};
use super::github_host::GH_HOST_VAR;
use super::source::{Source, SourcedLayer};

/// Any non-empty value other than `0`/`false` turns on verbose output.
pub const DEBUG_VAR: &str = "DEBUG";
/// Any non-empty value turns off colour (<https://no-color.org>).
pub const NO_COLOR_VAR: &str = "NO_COLOR";

/// The environment layer and the variables that could not be understood.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvLayer {
    pub layer: SourcedLayer,
    /// One error per variable whose value is not of the field's kind (a bad boolean or
    /// number): exit 3, reported together with the validation errors.
    pub errors: Vec<FieldError>,
}

/// The process environment as a map. Variables whose name is not Unicode are skipped;
/// values that are not are converted lossily, so validation rejects them visibly.
pub fn snapshot() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(key, value)| {
            Some((
                key.into_string().ok()?,
                value.to_string_lossy().into_owned(),
            ))
        })
        .collect()
}

/// Accepts what the command line accepts for booleans: true/false, yes/no, on/off, 1/0
/// (and t/f, y/n), in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Build the environment layer. An empty `KALYPSO_*` value is a value (which validation
/// will reject), not "unset": unset the variable to fall back to the file or default.
pub fn from_env(env: &HashMap<String, String>) -> EnvLayer {
    let mut result = EnvLayer::default();
    for &field in Field::ALL {
        let var = field.env_var();
        let Some(text) = env.get(var) else { continue };
        let source = Source::env(var);
        match parse_value(field, text) {
            Ok(value) => assign(&mut result.layer, field, value, source),
            Err(error) => result.errors.push(error),
        }
    }
    // The conventional variables apply only where the specific one is not given.
    if !result.layer.sources.contains_key(&Field::Verbose) {
        if let Some(debug) = env.get(DEBUG_VAR) {
            let off = debug.is_empty() || debug == "0" || debug.eq_ignore_ascii_case("false");
            if !off {
                assign(
                    &mut result.layer,
                    Field::Verbose,
                    Value::Bool(true),
                    Source::env(DEBUG_VAR),
                );
            }
        }
    }
    if !result.layer.sources.contains_key(&Field::NoColor)
        && env.get(NO_COLOR_VAR).is_some_and(|v| !v.is_empty())
    {
        assign(
            &mut result.layer,
            Field::NoColor,
            Value::Bool(true),
            Source::env(NO_COLOR_VAR),
        );
    }
    result.layer.imply_create_false();
    result
}

/// The layer `GH_HOST` makes: the default of `repositories.githubHost`, as gh uses it, with
/// `GH_HOST` as its source. An empty value is unset, as gh treats it.
pub fn gh_host_default(env: &HashMap<String, String>) -> Option<SourcedLayer> {
    let host = env.get(GH_HOST_VAR).filter(|h| !h.is_empty())?;
    let mut layer = SourcedLayer::default();
    assign(
        &mut layer,
        Field::GithubHost,
        Value::Text(host.clone()),
        Source::env(GH_HOST_VAR),
    );
    Some(layer)
}

fn assign(layer: &mut SourcedLayer, field: Field, value: Value, source: Source) {
    // parse_value produced the field's own kind, so this cannot mismatch.
    if field.set(&mut layer.values, Some(value)).is_ok() {
        layer.sources.insert(field, source);
    }
}

fn parse_value(field: Field, text: &str) -> Result<Value, FieldError> {
    let var = field.env_var();
    let source = Source::env(var);
    match field.kind() {
        Kind::Text => Ok(Value::Text(text.to_string())),
        Kind::Bool => parse_bool(text).map(Value::Bool).ok_or_else(|| {
            FieldError::invalid(
                field,
                text,
                &source,
                "must be true or false (also accepted: yes/no, on/off, 1/0)",
                format!("set {var}=true or {var}=false, or unset it"),
            )
        }),
        Kind::Number => text.parse::<u32>().map(Value::Number).map_err(|_| {
            FieldError::invalid(
                field,
                text,
                &source,
                "must be a whole number",
                format!("e.g. {var}=3, or unset it"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::error::Problem;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_field_is_read_from_its_own_variable() {
        for &field in Field::ALL {
            let text = match field.kind() {
                Kind::Text => "some-text",
                Kind::Bool => "yes",
                Kind::Number => "42",
            };
            let result = from_env(&env(&[(field.env_var(), text)]));
            assert!(result.errors.is_empty(), "{field}");
            let expected = match field.kind() {
                Kind::Text => Value::Text(text.into()),
                Kind::Bool => Value::Bool(true),
                Kind::Number => Value::Number(42),
            };
            assert_eq!(field.get(&result.layer.values), Some(expected), "{field}");
            assert_eq!(
                result.layer.sources[&field],
                Source::env(field.env_var()),
                "{field}"
            );
        }
    }

    #[test]
    fn unrelated_variables_set_nothing() {
        let result = from_env(&env(&[("HOME", "/root"), ("KALYPSO_BOGUS", "1")]));
        assert!(result.layer.values.is_empty());
        assert!(result.errors.is_empty());
    }

    #[test]
    fn booleans_accept_the_command_line_spellings() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("on", true),
            ("Yes", true),
            ("false", false),
            ("0", false),
            ("off", false),
            ("no", false),
        ] {
            let result = from_env(&env(&[("KALYPSO_FORCE", text)]));
            assert_eq!(result.layer.values.options.force, Some(expected), "{text}");
        }
    }

    #[test]
    fn bad_booleans_and_numbers_are_field_errors_naming_the_variable() {
        let result = from_env(&env(&[
            ("KALYPSO_CLUSTER_NODES", "three"),
            ("KALYPSO_SKIP_INSTALL", "maybe"),
            ("KALYPSO_CLUSTER_CREATE", ""),
            ("KALYPSO_CLUSTER_REGION", "westus2"),
        ]));
        assert_eq!(result.errors.len(), 3);
        let by_field = |f: Field| result.errors.iter().find(|e| e.field == f).unwrap();
        let nodes = by_field(Field::ClusterNodeCount);
        assert_eq!(nodes.value.as_deref(), Some("three"));
        assert_eq!(nodes.source, Source::env("KALYPSO_CLUSTER_NODES"));
        assert_eq!(nodes.problem, Problem::Invalid);
        assert!(nodes.hint.contains("KALYPSO_CLUSTER_NODES"));
        assert_eq!(
            by_field(Field::SkipInstall).source,
            Source::env("KALYPSO_SKIP_INSTALL")
        );
        assert_eq!(by_field(Field::ClusterCreate).value.as_deref(), Some(""));
        // The bad ones are not set; the good one is.
        assert_eq!(result.layer.values.cluster.node_count, None);
        assert_eq!(
            result.layer.values.cluster.region.as_deref(),
            Some("westus2")
        );
    }

    #[test]
    fn numbers_out_of_range_or_signed_are_errors_not_panics() {
        for text in ["-1", "99999999999999999999", "3.5", " 3", "３"] {
            let result = from_env(&env(&[("KALYPSO_CLUSTER_NODES", text)]));
            assert_eq!(result.errors.len(), 1, "{text:?}");
        }
    }

    #[test]
    fn an_empty_text_variable_is_a_value_not_unset() {
        let result = from_env(&env(&[("KALYPSO_CLUSTER_NAME", "")]));
        assert_eq!(result.layer.values.cluster.name.as_deref(), Some(""));
        assert_eq!(
            result.layer.sources[&Field::ClusterName],
            Source::env("KALYPSO_CLUSTER_NAME")
        );
    }

    #[test]
    fn debug_turns_on_verbose_unless_off_or_overridden() {
        for (value, expected) in [
            ("1", Some(true)),
            ("yes", Some(true)),
            ("true", Some(true)),
            ("0", None),
            ("false", None),
            ("FALSE", None),
            ("", None),
        ] {
            let result = from_env(&env(&[("DEBUG", value)]));
            assert_eq!(result.layer.values.options.verbose, expected, "{value:?}");
            if expected.is_some() {
                assert_eq!(result.layer.sources[&Field::Verbose], Source::env("DEBUG"));
            }
        }
        let result = from_env(&env(&[("DEBUG", "1"), ("KALYPSO_VERBOSE", "false")]));
        assert_eq!(result.layer.values.options.verbose, Some(false));
        assert_eq!(
            result.layer.sources[&Field::Verbose],
            Source::env("KALYPSO_VERBOSE")
        );
    }

    #[test]
    fn no_color_when_non_empty() {
        let on = from_env(&env(&[("NO_COLOR", "1")]));
        assert_eq!(on.layer.values.options.no_color, Some(true));
        assert_eq!(on.layer.sources[&Field::NoColor], Source::env("NO_COLOR"));
        let on_any = from_env(&env(&[("NO_COLOR", "0")]));
        assert_eq!(on_any.layer.values.options.no_color, Some(true));
        let off = from_env(&env(&[("NO_COLOR", "")]));
        assert_eq!(off.layer.values.options.no_color, None);
        let specific = from_env(&env(&[("NO_COLOR", "1"), ("KALYPSO_NO_COLOR", "no")]));
        assert_eq!(specific.layer.values.options.no_color, Some(false));
    }

    #[test]
    fn an_existing_context_in_the_environment_implies_create_false_there() {
        let result = from_env(&env(&[("KALYPSO_CLUSTER_EXISTING", "kind-dev")]));
        assert_eq!(result.layer.values.cluster.create, Some(false));
        assert_eq!(
            result.layer.sources[&Field::ClusterCreate],
            Source::env("KALYPSO_CLUSTER_EXISTING")
        );
    }

    /// The help text promises `[env: KALYPSO_…]` for every configuration flag; each of
    /// those must be exactly the variable this module reads for that flag, and every
    /// variable read here must be promised by the help of the flag it belongs to.
    #[test]
    fn every_env_var_named_in_the_cli_help_is_in_the_table_and_vice_versa() {
        use clap::CommandFactory;
        let clap_owned = ["KALYPSO_CONFIG", "KALYPSO_STATE_FILE", "KALYPSO_LOG_FILE"];
        let pattern = regex::Regex::new(r"\[env: (KALYPSO_[A-Z0-9_]+)\]").unwrap();
        let command = crate::cli::Cli::command();
        let mut from_help = std::collections::BTreeMap::new();
        for arg in command.get_arguments() {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            for capture in pattern.captures_iter(&help) {
                let var = capture[1].to_string();
                if clap_owned.contains(&var.as_str()) {
                    continue;
                }
                let flag = format!("--{}", arg.get_long().expect("config flags are long"));
                assert!(
                    from_help.insert(var.clone(), flag).is_none(),
                    "{var} is named twice"
                );
            }
        }
        let from_table: std::collections::BTreeMap<String, String> = Field::ALL
            .iter()
            .map(|f| (f.env_var().to_string(), f.flag().to_string()))
            .collect();
        assert_eq!(from_help, from_table);
    }
}
