//! Field-level configuration errors and the report shown to the user. Every one of them
//! means exit code 3 ([`ExitCode::ConfigInvalid`]).

use std::fmt;

use super::field::Field;
use super::kubeconfig::KubeconfigError;
use super::load::LoadError;
use super::source::Source;
use crate::exit::ExitCode;
use crate::troubleshooting::Topic;

/// Values longer than this are shortened in messages (the full length is still given).
const SHOWN_VALUE_CHARS: usize = 60;

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Required but set nowhere. The interactive front end asks for these.
    Missing,
    /// Set, but breaks a rule.
    Invalid,
    /// Set, but contradicts another field.
    Conflict,
}

/// One broken rule of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    /// The offending value as given (with credentials in URLs masked); `None` when missing.
    pub value: Option<String>,
    pub problem: Problem,
    /// The rule, e.g. `must match ^[a-z0-9-]{1,63}$ and start and end with a letter or digit`.
    pub rule: String,
    /// What to do about it.
    pub hint: String,
    /// Where the value came from (for a missing value: [`Source::Default`]).
    pub source: Source,
}

impl FieldError {
    pub fn invalid(
        field: Field,
        value: impl Into<String>,
        source: &Source,
        rule: impl Into<String>,
        hint: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field,
            value: Some(value.into()),
            problem: Problem::Invalid,
            rule: rule.into(),
            hint: hint.into(),
            source: source.clone(),
        }
    }

    pub fn missing(field: Field, rule: impl Into<String>, hint: impl Into<String>) -> FieldError {
        FieldError {
            field,
            value: None,
            problem: Problem::Missing,
            rule: rule.into(),
            hint: hint.into(),
            source: Source::Default,
        }
    }

    pub fn conflict(
        field: Field,
        value: impl Into<String>,
        source: &Source,
        rule: impl Into<String>,
        hint: impl Into<String>,
    ) -> FieldError {
        FieldError {
            problem: Problem::Conflict,
            ..FieldError::invalid(field, value, source, rule, hint)
        }
    }
}

/// A value as it appears in a message: quoted, control characters escaped, and cut short
/// when long (on a character boundary, so any text is safe).
pub fn shown_value(value: &str) -> String {
    let count = value.chars().count();
    if count <= SHOWN_VALUE_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(SHOWN_VALUE_CHARS).collect();
        format!("{head:?}… ({count} characters)")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => write!(f, "{}: not set; {}", self.field.path(), self.rule)?,
            Some(value) => write!(
                f,
                "{}: {} (from {}) {}",
                self.field.path(),
                shown_value(value),
                self.source,
                self.rule
            )?,
        }
        if !self.hint.is_empty() {
            write!(f, "\n    hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// Everything wrong with the configuration, reported at once.
#[derive(Debug, Default)]
pub struct ConfigErrors {
    /// Why the configuration file could not be used: every unknown key and wrong type, or
    /// the one problem (missing, unreadable, syntax) that kept it from being read at all.
    pub file: Vec<LoadError>,
    /// Every field-level problem found, in file order.
    pub fields: Vec<FieldError>,
}

/// How the user reads them: every problem, exit code 3.
impl From<&ConfigErrors> for crate::UserError {
    fn from(errors: &ConfigErrors) -> Self {
        crate::UserError::new(errors.exit_code(), errors.to_string())
    }
}

impl From<ConfigErrors> for crate::UserError {
    fn from(errors: ConfigErrors) -> Self {
        Self::from(&errors)
    }
}

impl ConfigErrors {
    /// Always [`ExitCode::ConfigInvalid`] (3), whatever the source of the bad value.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::ConfigInvalid
    }

    pub fn is_empty(&self) -> bool {
        self.file.is_empty() && self.fields.is_empty()
    }

    pub fn len(&self) -> usize {
        self.file.len() + self.fields.len()
    }

    /// Required fields that are set nowhere: what the interactive front end should ask for.
    pub fn missing(&self) -> Vec<Field> {
        self.fields
            .iter()
            .filter(|e| e.problem == Problem::Missing)
            .map(|e| e.field)
            .collect()
    }

    /// True when the only problems are missing values (asking for them could fix it).
    pub fn only_missing(&self) -> bool {
        self.file.is_empty()
            && !self.fields.is_empty()
            && self.fields.iter().all(|e| e.problem == Problem::Missing)
    }

    /// When the kubeconfig could not be read, an existing context can match nothing: the
    /// `cluster.existingContext` errors say why instead of "no contexts were found".
    pub fn with_kubeconfig_problem(mut self, problem: Option<&KubeconfigError>) -> Self {
        let Some(problem) = problem else {
            return self;
        };
        for error in &mut self.fields {
            if error.field == Field::ClusterExistingContext && error.problem == Problem::Invalid {
                error.hint = format!(
                    "the kubeconfig could not be read, so no context is known: {problem}; \
                     fix that file, or point KUBECONFIG at a valid one"
                );
            }
        }
        self
    }

    /// The errors about one field.
    pub fn for_field(&self, field: Field) -> impl Iterator<Item = &FieldError> {
        self.fields.iter().filter(move |e| e.field == field)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.len();
        let mut report = format!(
            "configuration is invalid ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        );
        for file in &self.file {
            report.push_str(&format!("\n  - {file}"));
        }
        for error in &self.fields {
            report.push_str(&format!("\n  - {error}"));
        }
        report.push_str(&format!("\n{}", Topic::ConfigurationInvalid.see()));
        // Values can carry secrets (a token pasted into a URL); never print them. Keys and
        // values come from outside: their control characters are shown, not obeyed.
        f.write_str(&crate::text::escape_controls(&crate::secrets::redact(
            &report,
        )))
    }
}

impl std::error::Error for ConfigErrors {}

impl From<&ConfigErrors> for ExitCode {
    fn from(errors: &ConfigErrors) -> ExitCode {
        errors.exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_names_field_value_source_rule_and_hint() {
        let error = FieldError::invalid(
            Field::ClusterName,
            "Bad_Name",
            &Source::flag("--cluster-name"),
            "must match ^[a-z0-9-]{1,63}$",
            "try \"bad-name\"",
        );
        assert_eq!(
            error.to_string(),
            "cluster.name: \"Bad_Name\" (from --cluster-name) must match ^[a-z0-9-]{1,63}$\n    \
             hint: try \"bad-name\""
        );
    }

    #[test]
    fn a_missing_field_says_so() {
        let error = FieldError::missing(Field::ClusterName, "required", "");
        assert_eq!(error.to_string(), "cluster.name: not set; required");
    }

    #[test]
    fn long_and_non_ascii_values_are_shortened_on_character_boundaries() {
        let long = "é".repeat(10_000);
        let shown = shown_value(&long);
        assert!(shown.ends_with("… (10000 characters)"), "{shown}");
        assert_eq!(
            shown.chars().filter(|c| *c == 'é').count(),
            SHOWN_VALUE_CHARS
        );
        assert_eq!(shown_value("ok"), "\"ok\"");
        assert_eq!(shown_value("a\nb\u{7}"), "\"a\\nb\\u{7}\"");
    }

    #[test]
    fn the_report_counts_and_lists_every_problem() {
        let errors = ConfigErrors {
            file: Vec::new(),
            fields: vec![
                FieldError::missing(Field::ClusterName, "required", "pass --cluster-name"),
                FieldError::invalid(
                    Field::ClusterNodeCount,
                    "0",
                    &Source::env("KALYPSO_CLUSTER_NODES"),
                    "must be between 1 and 100",
                    "",
                ),
            ],
        };
        let report = errors.to_string();
        assert!(report.starts_with("configuration is invalid (2 problems):\n  - cluster.name"));
        assert!(report.contains("\n  - cluster.nodeCount: \"0\" (from env KALYPSO_CLUSTER_NODES)"));
        assert_eq!(errors.exit_code(), ExitCode::ConfigInvalid);
        assert_eq!(errors.exit_code().code(), 3);
        assert_eq!(errors.missing(), vec![Field::ClusterName]);
        assert!(!errors.only_missing());
    }

    #[test]
    fn registered_secrets_never_appear_in_the_report() {
        let token = "ghp_ReportCanary0123456789abcdefXYZ";
        crate::secrets::register(token);
        let errors = ConfigErrors {
            file: Vec::new(),
            fields: vec![FieldError::invalid(
                Field::GitopsUrl,
                format!("https://github.com/a/b?t={token}"),
                &Source::flag("--gitops-repo"),
                "must be https://github.com/OWNER/NAME",
                "",
            )],
        };
        let report = errors.to_string();
        assert!(!report.contains(token), "{report}");
        assert!(report.contains("***"));
    }
}
