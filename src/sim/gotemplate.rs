//! The Kalypso Scheduler's templater (`scheduler/templater.go`): a Template's manifests are
//! Go `text/template`s with sprig's functions and `toYaml`, `stringify`, `hash` and
//! `unquote`, executed over `dataType` (the deployment target, its namespace, environment,
//! workspace, workload, labels, manifests, cluster type and config data). A result that
//! still contains `{{` is executed again (nested templates).
//!
//! The evaluation is the `gtmpl` crate's (a port of Go's `text/template`). It differs from
//! Go in places (how it prints maps and lists, `printf` verbs, `len` of a map, `range …
//! else`, `define`/`template`), and it has no sprig. So a template is first checked
//! against the subset whose output is known to be Go's (fields, map keys, variables,
//! `if`/`else`/`with`/`range`, trim markers, pipelines, comparison and logic functions,
//! `index`, and the functions defined here); anything else fails with a message naming
//! the construct, so a template the simulator cannot render fails its Assignment rather
//! than rendering something the real controller would not.

use std::collections::{BTreeMap, HashMap};

use gtmpl::{Context, FuncError, Template, Value};
use serde_json::Value as Json;

/// `dataType` of `scheduler/templater.go`.
#[derive(Clone, Debug, Default)]
pub(crate) struct TemplateData {
    pub deployment_target_name: String,
    pub namespace: String,
    pub environment: String,
    pub workspace: String,
    pub workload: String,
    pub labels: BTreeMap<String, String>,
    pub manifests: BTreeMap<String, String>,
    pub cluster_type: String,
    pub config_data: serde_json::Map<String, Json>,
}

/// The fields of `dataType`, in Go's spelling.
const DATA_FIELDS: [&str; 9] = [
    "DeploymentTargetName",
    "Namespace",
    "Environment",
    "Workspace",
    "Workload",
    "Labels",
    "Manifests",
    "ClusterType",
    "ConfigData",
];

/// Functions whose result the simulator gives exactly as Go's `text/template` + sprig +
/// the templater's `funcMap` would.
const SUPPORTED_FUNCTIONS: [&str; 16] = [
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "index",
    "toYaml",
    "unquote",
    "indent",
    "nindent",
    "quote",
    "squote",
    "upper",
    "lower",
    "trim",
    "trimSuffix",
];

/// Nested templates are rendered again; the real controller recurses without a bound.
const MAX_NESTING: usize = 16;

/// `ProcessTemplate`: every manifest rendered, empty results left out.
pub(crate) fn process_template(
    manifests: &[String],
    data: &TemplateData,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for manifest in manifests {
        let rendered = render(manifest, data)?;
        if !rendered.is_empty() {
            out.push(rendered);
        }
    }
    Ok(out)
}

/// `replaceTemplateVariables`: one manifest, nested templates rendered again.
pub(crate) fn render(source: &str, data: &TemplateData) -> Result<String, String> {
    let mut text = source.to_string();
    for _ in 0..MAX_NESTING {
        text = render_once(&text, data)?;
        if !text.contains("{{") {
            return Ok(text);
        }
    }
    Err(format!(
        "unsupported by the simulated scheduler: templates nested more than {MAX_NESTING} deep"
    ))
}

fn render_once(source: &str, data: &TemplateData) -> Result<String, String> {
    check_supported(source, data)?;
    let mut template = Template::default();
    template.add_funcs(&[
        ("toYaml", to_yaml as gtmpl::Func),
        ("unquote", unquote),
        ("indent", indent),
        ("nindent", nindent),
        ("quote", quote),
        ("squote", squote),
        ("upper", upper),
        ("lower", lower),
        ("trim", trim),
        ("trimSuffix", trim_suffix),
    ]);
    template
        .parse(source)
        .map_err(|e| format!("template: {e}"))?;
    template
        .render(&Context::from(data_value(data)))
        .map_err(|e| format!("template: executing: {e}"))
}

fn data_value(data: &TemplateData) -> Value {
    let strings = |map: &BTreeMap<String, String>| {
        Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    let mut root = HashMap::new();
    let mut put = |name: &str, value: Value| {
        root.insert(name.to_string(), value);
    };
    put(
        "DeploymentTargetName",
        Value::String(data.deployment_target_name.clone()),
    );
    put("Namespace", Value::String(data.namespace.clone()));
    put("Environment", Value::String(data.environment.clone()));
    put("Workspace", Value::String(data.workspace.clone()));
    put("Workload", Value::String(data.workload.clone()));
    put("Labels", strings(&data.labels));
    put("Manifests", strings(&data.manifests));
    put("ClusterType", Value::String(data.cluster_type.clone()));
    put(
        "ConfigData",
        json_to_value(&Json::Object(data.config_data.clone())),
    );
    Value::Map(root)
}

fn json_to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Nil),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(json_to_value).collect()),
        Json::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

fn value_to_json(value: &Value) -> Option<Json> {
    Some(match value {
        Value::Nil | Value::NoValue => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => serde_json::from_str(&n.to_string()).ok()?,
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect::<Option<_>>()?),
        Value::Map(map) | Value::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), value_to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        Value::Function(_) => return None,
    })
}

fn unsupported(what: &str) -> String {
    format!("unsupported by the simulated scheduler: {what}")
}

// --- The check of the supported subset --------------------------------------------------

/// One token of an action's body.
#[derive(Debug, PartialEq)]
enum Token {
    /// An identifier: a keyword or a function name.
    Word(String),
    /// `.A.b` (the names after the dots; empty for `.` alone).
    Field(Vec<String>),
    /// `$x.a` (the variable, then the field names).
    Variable(String, Vec<String>),
    Str,
    Number,
    Punct(char),
    Declare,
}

fn lex(action: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = action.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let ident = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    let fields = |i: &mut usize| {
        let mut names = Vec::new();
        while *i < chars.len() && chars[*i] == '.' {
            *i += 1;
            names.push(ident(i));
        }
        names
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                tokens.push(Token::Str);
            }
            '`' => {
                i += 1;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Str);
            }
            '\'' => {
                return Err(unsupported("character constants ('…')"));
            }
            '.' => {
                if chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                    return Err(unsupported("numbers with a leading dot"));
                }
                tokens.push(Token::Field(fields(&mut i)));
            }
            '$' => {
                i += 1;
                let name = ident(&mut i);
                tokens.push(Token::Variable(name, fields(&mut i)));
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Declare);
                i += 2;
            }
            '=' => return Err(unsupported("variable assignment (=)")),
            '|' | '(' | ')' | ',' => {
                tokens.push(Token::Punct(c));
                i += 1;
            }
            '-' | '+' if chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                i += 1;
            }
            c if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                tokens.push(Token::Number);
            }
            c if c.is_alphabetic() || c == '_' => {
                let word = ident(&mut i);
                // `(…).field` and `word.field` are not part of the subset.
                if chars.get(i) == Some(&'.') {
                    return Err(unsupported(&format!("field access on {word}")));
                }
                tokens.push(Token::Word(word));
            }
            other => {
                return Err(unsupported(&format!(
                    "the character {other:?} in an action"
                )))
            }
        }
    }
    Ok(tokens)
}

/// The actions of a template (the text between `{{` and `}}`, trim markers and comments
/// removed). An unterminated action is left to the parser, which reports it.
fn actions(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = find_action_end(after) else {
            break;
        };
        let mut body = after[..end].trim();
        body = body.strip_prefix("- ").unwrap_or(body);
        body = body.strip_suffix(" -").unwrap_or(body);
        let body = body.trim();
        if !(body.starts_with("/*") && body.ends_with("*/")) {
            out.push(body.to_string());
        }
        rest = &after[end + 2..];
    }
    out
}

/// Where `}}` closes the action, outside string literals.
fn find_action_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(b'"'), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, b'"' | b'`') => quote = Some(bytes[i]),
            (None, b'}') if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(PartialEq)]
enum Block {
    If,
    With,
    Range,
}

/// Fails on what the simulator does not render as Go does.
fn check_supported(source: &str, data: &TemplateData) -> Result<(), String> {
    let mut blocks: Vec<Block> = Vec::new();
    for action in actions(source) {
        let tokens = lex(&action)?;
        let in_root = !blocks.iter().any(|b| *b != Block::If);
        let first = tokens.first();
        let keyword = match first {
            Some(Token::Word(w)) => Some(w.as_str()),
            _ => None,
        };
        match keyword {
            Some("if") => blocks.push(Block::If),
            Some("with") => blocks.push(Block::With),
            Some("range") => {
                // gtmpl walks a map in hash order; Go in sorted key order.
                for token in &tokens {
                    if let Token::Field(names) = token {
                        if in_root && map_len(names, data) > 1 {
                            return Err(unsupported(&format!(
                                "range over the map .{} (Go visits its keys in sorted order, the simulator cannot)",
                                names.join(".")
                            )));
                        }
                    }
                }
                blocks.push(Block::Range)
            }
            Some("end") => {
                blocks.pop();
            }
            Some("else") => {
                if blocks.last() == Some(&Block::Range) {
                    return Err(unsupported("{{else}} in a range"));
                }
                if let Some(Token::Word(next)) = tokens.get(1) {
                    if next != "if" {
                        return Err(unsupported(&format!("{{{{else {next}}}}}")));
                    }
                }
            }
            Some(word @ ("define" | "template" | "block" | "break" | "continue")) => {
                return Err(unsupported(&format!("{{{{{word}}}}}")));
            }
            _ => {}
        }
        for (index, token) in tokens.iter().enumerate() {
            match token {
                Token::Word(word) => {
                    let is_keyword = index == 0
                        && ["if", "with", "range", "end", "else"].contains(&word.as_str())
                        || index == 1 && word == "if" && keyword == Some("else");
                    let literal = ["true", "false", "nil"].contains(&word.as_str());
                    if !is_keyword && !literal && !SUPPORTED_FUNCTIONS.contains(&word.as_str()) {
                        return Err(unsupported(&format!("the function {word}")));
                    }
                }
                Token::Field(names) if in_root => {
                    if let Some(field) = names.first().filter(|f| !f.is_empty()) {
                        if !DATA_FIELDS.contains(&field.as_str()) {
                            return Err(format!(
                                "template: can't evaluate field {field} in type scheduler.dataType"
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        // A pipeline that prints a map or a list as it is: Go's `map[…]`/`[…]` format.
        if keyword.is_none() && !tokens.contains(&Token::Declare) {
            let last_command = tokens.split(|t| *t == Token::Punct('|')).next_back();
            if let Some([Token::Field(names)]) = last_command {
                if in_root && printed_value_is_composite(names, data) {
                    return Err(unsupported(&format!(
                        "printing .{} as it is (a map or a list)",
                        names.join(".")
                    )));
                }
            }
            if let Some([Token::Variable(..)] | [Token::Field(_)]) = last_command {
                if !in_root && data.config_data.values().any(|v| !v.is_string()) {
                    return Err(unsupported(
                        "printing a value inside range/with while .ConfigData holds maps or lists",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// How many entries the map a root field names has (0 when it names no map).
fn map_len(names: &[String], data: &TemplateData) -> usize {
    match names {
        [field] if field == "Labels" => data.labels.len(),
        [field] if field == "Manifests" => data.manifests.len(),
        [field] if field == "ConfigData" => data.config_data.len(),
        [field, key, rest @ ..] if field == "ConfigData" => {
            let mut value = data.config_data.get(key);
            for name in rest {
                value = value.and_then(|v| v.get(name));
            }
            value
                .and_then(Json::as_object)
                .map_or(0, serde_json::Map::len)
        }
        _ => 0,
    }
}

fn printed_value_is_composite(names: &[String], data: &TemplateData) -> bool {
    match names {
        [] => true,
        [one] if one.is_empty() => true,
        [field] => ["Labels", "Manifests", "ConfigData"].contains(&field.as_str()),
        [field, key, rest @ ..] if field == "ConfigData" => {
            let mut value = data.config_data.get(key);
            for name in rest {
                value = value.and_then(|v| v.get(name));
            }
            value.is_some_and(|v| v.is_object() || v.is_array())
        }
        _ => false,
    }
}

// --- Functions ---------------------------------------------------------------------------

fn arg_string(args: &[Value], index: usize, function: &str) -> Result<String, FuncError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Nil | Value::NoValue) => Ok(String::new()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(_) => Err(FuncError::Generic(unsupported(&format!(
            "{function} of a map or a list"
        )))),
        None => Err(FuncError::AtLeastXArgs(function.to_string(), index + 1)),
    }
}

fn arg_count(args: &[Value], index: usize, function: &str) -> Result<usize, FuncError> {
    match args.get(index) {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| FuncError::Generic(format!("{function}: {n} is not a count"))),
        _ => Err(FuncError::Generic(format!(
            "{function}: the first argument must be a number"
        ))),
    }
}

/// sprig `indent`: every line padded.
fn indent(args: &[Value]) -> Result<Value, FuncError> {
    let pad = " ".repeat(arg_count(args, 0, "indent")?);
    let text = arg_string(args, 1, "indent")?;
    Ok(Value::String(format!(
        "{pad}{}",
        text.replace('\n', &format!("\n{pad}"))
    )))
}

/// sprig `nindent`: a newline, then `indent`.
fn nindent(args: &[Value]) -> Result<Value, FuncError> {
    let Value::String(indented) = indent(args)? else {
        unreachable!("indent returns a string")
    };
    Ok(Value::String(format!("\n{indented}")))
}

/// sprig `quote`: each non-nil argument as Go's `%q`, joined by spaces.
fn quote(args: &[Value]) -> Result<Value, FuncError> {
    let mut quoted = Vec::new();
    for (index, arg) in args.iter().enumerate() {
        if matches!(arg, Value::Nil | Value::NoValue) {
            continue;
        }
        let text = arg_string(args, index, "quote")?;
        if text.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err(FuncError::Generic(unsupported(
                "quote of text with control or non-ASCII characters",
            )));
        }
        quoted.push(format!(
            "\"{}\"",
            text.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    Ok(Value::String(quoted.join(" ")))
}

/// sprig `squote`.
fn squote(args: &[Value]) -> Result<Value, FuncError> {
    let mut quoted = Vec::new();
    for (index, arg) in args.iter().enumerate() {
        if !matches!(arg, Value::Nil | Value::NoValue) {
            quoted.push(format!("'{}'", arg_string(args, index, "squote")?));
        }
    }
    Ok(Value::String(quoted.join(" ")))
}

fn upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(arg_string(args, 0, "upper")?.to_uppercase()))
}

fn lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(arg_string(args, 0, "lower")?.to_lowercase()))
}

fn trim(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        arg_string(args, 0, "trim")?.trim().to_string(),
    ))
}

/// sprig `trimSuffix SUFFIX TEXT`.
fn trim_suffix(args: &[Value]) -> Result<Value, FuncError> {
    let suffix = arg_string(args, 0, "trimSuffix")?;
    let text = arg_string(args, 1, "trimSuffix")?;
    Ok(Value::String(
        text.strip_suffix(&suffix).unwrap_or(&text).to_string(),
    ))
}

/// The templater's `unquote`: spaces, then double, then single quotes trimmed.
fn unquote(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(match args.first() {
        Some(Value::String(s)) => s.trim().trim_matches('"').trim_matches('\'').to_string(),
        _ => String::new(),
    }))
}

/// The templater's `toYaml`: `yaml.v3` Marshal, the final newline trimmed. yaml.v3's
/// output is reproduced for scalars and flat maps of scalars; deeper values (which it
/// indents by four) fail as unsupported.
fn to_yaml(args: &[Value]) -> Result<Value, FuncError> {
    let value = args
        .first()
        .and_then(value_to_json)
        .ok_or_else(|| FuncError::Generic(unsupported("toYaml of a function")))?;
    to_yaml_v3(&value)
        .map(Value::String)
        .map_err(|what| FuncError::Generic(unsupported(&what)))
}

pub(crate) fn to_yaml_v3(value: &Json) -> Result<String, String> {
    match value {
        Json::Object(map) if map.is_empty() => Ok("{}".to_string()),
        // yaml.v3 sorts map keys.
        Json::Object(map) => map
            .iter()
            .map(|(key, value)| {
                if value.is_object() || value.is_array() {
                    return Err(format!("toYaml of the nested value under {key}"));
                }
                Ok(format!(
                    "{}: {}",
                    yaml_v3_scalar(&Json::String(key.clone()))?,
                    yaml_v3_scalar(value)?
                ))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|lines| lines.join("\n")),
        Json::Array(_) => Err("toYaml of a list".to_string()),
        scalar => yaml_v3_scalar(scalar),
    }
}

/// A scalar as yaml.v3 writes it: plain where that reads back as the same string, double
/// quoted where plain would read as another type. Where yaml.v3's emitter would pick
/// another style the value is refused rather than guessed.
fn yaml_v3_scalar(value: &Json) -> Result<String, String> {
    let text = match value {
        Json::Null => return Ok("null".to_string()),
        Json::Bool(b) => return Ok(b.to_string()),
        Json::Number(n) => return Ok(n.to_string()),
        Json::String(s) => s,
        _ => return Err("toYaml of a nested value".to_string()),
    };
    if text.is_empty() {
        return Ok("\"\"".to_string());
    }
    if resolves_to_non_string(text) {
        return Ok(format!("\"{text}\""));
    }
    let safe_first = !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c));
    let plain = safe_first
        && text.trim() == text
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && text.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if plain {
        Ok(text.clone())
    } else {
        Err(format!("toYaml of the string {text:?} (its quoting style)"))
    }
}

/// Whether yaml.v3 would read the plain text as something other than a string (bool, null,
/// number, YAML 1.1 booleans, base-60 floats): it then double-quotes it.
fn resolves_to_non_string(text: &str) -> bool {
    const WORDS: [&str; 28] = [
        "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~", "y", "Y",
        "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".nan",
    ];
    if WORDS.contains(&text)
        || text.eq_ignore_ascii_case(".inf")
        || text.eq_ignore_ascii_case("-.inf")
    {
        return true;
    }
    let digits = text.trim_start_matches(['-', '+']);
    let numeric = !digits.is_empty()
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "._:xXoObB+-".contains(c));
    numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TemplateData {
        let mut config = serde_json::Map::new();
        config.insert("ENVIRONMENT".into(), Json::String("dev".into()));
        config.insert("CLUSTER_TYPE".into(), Json::String("default".into()));
        TemplateData {
            deployment_target_name: "hello-world-app-functional-test".into(),
            namespace: "dev-default-hello-world-app-functional-test".into(),
            environment: "dev".into(),
            workspace: "kaizen-app-team".into(),
            workload: "hello-world-app".into(),
            labels: [
                ("purpose", "functional-test"),
                ("workload", "hello-world-app"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            manifests: [
                ("repo", "https://github.com/microsoft/kalypso-app-gitops"),
                ("branch", "dev"),
                ("path", "./functional-test"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            cluster_type: "default".into(),
            config_data: config,
        }
    }

    #[test]
    fn fields_map_keys_trim_markers_and_nindent_render_as_go_does() {
        let out = render(
            "name: \"{{ .Namespace }}\"\nurl: {{ .Manifests.repo }}\ndata:\n  {{- toYaml .ConfigData | nindent 2 }}\n",
            &sample(),
        )
        .unwrap();
        assert_eq!(
            out,
            "name: \"dev-default-hello-world-app-functional-test\"\nurl: https://github.com/microsoft/kalypso-app-gitops\ndata:\n  CLUSTER_TYPE: default\n  ENVIRONMENT: dev\n"
        );
    }

    fn one_label() -> TemplateData {
        let mut data = sample();
        data.labels.remove("workload");
        data
    }

    #[test]
    fn range_if_quote_and_indent_over_labels() {
        let out = render(
            "{{ range $k, $v := .Labels }}{{ $k }}={{ $v | quote }};{{ end }}{{ if eq .Environment \"dev\" }}dev{{ else }}other{{ end }}|{{ .Workload | upper | indent 2 }}",
            &one_label(),
        )
        .unwrap();
        assert_eq!(out, "purpose=\"functional-test\";dev|  HELLO-WORLD-APP");
        // More than one key: Go's sorted order cannot be promised, so it fails clearly.
        let error =
            render("{{ range $k, $v := .Labels }}{{ $k }}{{ end }}", &sample()).unwrap_err();
        assert!(error.contains("range over the map .Labels"), "{error}");
    }

    #[test]
    fn yaml_v3_quotes_what_would_read_as_another_type() {
        let mut data = sample();
        data.config_data
            .insert("FLAG".into(), Json::String("false".into()));
        data.config_data.insert(
            "URL".into(),
            Json::String("mysql://west:8806/mysql2".into()),
        );
        let out = render("{{ toYaml .ConfigData }}", &data).unwrap();
        assert_eq!(
            out,
            "CLUSTER_TYPE: default\nENVIRONMENT: dev\nFLAG: \"false\"\nURL: mysql://west:8806/mysql2"
        );
    }

    #[test]
    fn unsupported_constructs_fail_naming_them() {
        for (source, named) in [
            (
                "{{ .Manifests.repo | sha256sum }}",
                "the function sha256sum",
            ),
            ("{{ printf \"%q\" .Namespace }}", "the function printf"),
            ("{{ .Labels }}", "printing .Labels"),
            ("{{ define \"x\" }}y{{ end }}", "{{define}}"),
            (
                "{{ range .Labels }}a{{ else }}b{{ end }}",
                "range over the map .Labels",
            ),
            (
                "{{ range .Environment }}a{{ else }}b{{ end }}",
                "{{else}} in a range",
            ),
            ("{{ 'a' }}", "character constants"),
        ] {
            let error = render(source, &sample()).unwrap_err();
            assert!(
                error.contains("unsupported by the simulated scheduler") && error.contains(named),
                "{source}: {error}"
            );
        }
    }

    #[test]
    fn an_unknown_field_fails_as_go_does() {
        let error = render("{{ .Cluster }}", &sample()).unwrap_err();
        assert!(
            error.contains("can't evaluate field Cluster in type scheduler.dataType"),
            "{error}"
        );
    }

    #[test]
    fn nested_templates_render_again() {
        let mut data = sample();
        data.manifests
            .insert("path".into(), "{{ .Environment }}".into());
        assert_eq!(render("{{ .Manifests.path }}", &data).unwrap(), "dev");
    }

    /// The manifests of every Template in a multi-document YAML text, by name.
    fn templates_of(text: &str) -> BTreeMap<String, Vec<String>> {
        serde_yaml::Deserializer::from_str(text)
            .filter_map(|d| <Json as serde::Deserialize>::deserialize(d).ok())
            .filter(|t| t["kind"] == "Template")
            .map(|t| {
                let manifests = t["spec"]["manifests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_str().unwrap().to_string())
                    .collect();
                (
                    t["metadata"]["name"].as_str().unwrap().to_string(),
                    manifests,
                )
            })
            .collect()
    }

    #[test]
    fn this_projects_default_templates_render() {
        let templates = templates_of(include_str!(
            "../../templates/control-plane/main/templates/default-template.yaml"
        ));
        let data = sample();
        let reconciler = process_template(&templates["default-reconciler"], &data).unwrap();
        assert_eq!(reconciler.len(), 2);
        assert!(reconciler[0].contains("name: \"dev-default-hello-world-app-functional-test\""));
        assert!(reconciler[0].contains("url: \"https://github.com/microsoft/kalypso-app-gitops\""));
        assert!(reconciler[1].contains("path: \"./functional-test\""));
        let namespace = process_template(&templates["default-namespace"], &data).unwrap();
        assert!(namespace[0].contains("workspace: \"kaizen-app-team\""));
        assert!(namespace[0].contains("deployment-target: \"hello-world-app-functional-test\""));
        let config = process_template(&templates["default-config"], &data).unwrap();
        assert!(
            config[0].ends_with("data:\n  CLUSTER_TYPE: default\n  ENVIRONMENT: dev\n"),
            "{}",
            config[0]
        );
        for rendered in reconciler.iter().chain(&namespace).chain(&config) {
            serde_yaml::from_str::<Json>(rendered).expect("the rendering is YAML");
        }
    }

    /// The reference control plane's templates (tests/fixtures/upstream bundle, `main`).
    #[test]
    fn the_reference_control_planes_templates_render() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/upstream/kalypso-control-plane.bundle"
        );
        let clone = std::process::Command::new("git")
            .args([
                "-c",
                "init.defaultBranch=main",
                "clone",
                "-q",
                "--bare",
                bundle,
            ])
            .arg(dir.path().join("cp"))
            .status()
            .unwrap();
        assert!(clone.success());
        let mut templates = BTreeMap::new();
        for file in ["arc-flux", "argocd", "configmap", "namespace"] {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path().join("cp"))
                .args([
                    "show",
                    &format!("main:templates/scheduler_v1alpha1_template_{file}.yaml"),
                ])
                .output()
                .unwrap();
            templates.extend(templates_of(&String::from_utf8(out.stdout).unwrap()));
        }
        let mut data = sample();
        data.config_data.insert(
            "SOME_COMMON_ENVIRONMENT_VARIABLE".into(),
            Json::String("false".into()),
        );
        for name in ["arc-flux", "argocd", "default"] {
            let rendered = process_template(&templates[name], &data).unwrap();
            assert!(
                rendered[0].contains("hello-world-app-functional-test"),
                "{name}"
            );
            serde_yaml::from_str::<Json>(&rendered[0]).expect("the rendering is YAML");
        }
        let argocd = process_template(&templates["argocd"], &data).unwrap();
        assert!(argocd[0].contains("include: '*.yaml'"));
        let config = process_template(&templates["configmap"], &data).unwrap();
        let parsed: Json = serde_yaml::from_str(&config[0]).unwrap();
        assert_eq!(parsed["data"]["SOME_COMMON_ENVIRONMENT_VARIABLE"], "false");
        assert_eq!(
            parsed["metadata"]["namespace"],
            "dev-default-hello-world-app-functional-test"
        );
    }
}
