//! The prerequisite checklist: one row per tool and per sign-in check, pending until the
//! check reports it, so the list fills in as the concurrent probes return.

use crate::prereq::{AuthCheck, AuthCheckKind, ToolCheck, Verdict, TOOL_REQUIREMENTS};
use crate::tools::Version;

use super::backend::{PrereqOutcome, PrereqUpdate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRow {
    pub name: String,
    pub required: bool,
    pub minimum: Option<Version>,
    pub result: Option<ToolCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRow {
    pub kind: AuthCheckKind,
    pub result: Option<AuthCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checklist {
    pub started: bool,
    pub tools: Vec<ToolRow>,
    pub auth: Vec<AuthRow>,
    pub outcome: Option<PrereqOutcome>,
}

impl Default for Checklist {
    fn default() -> Self {
        Self {
            started: false,
            // The tools we only report appear once found (see `ToolCheck::matters`).
            tools: TOOL_REQUIREMENTS
                .iter()
                .filter(|r| r.required())
                .map(|r| ToolRow {
                    name: r.name.to_string(),
                    required: r.required(),
                    minimum: r.minimum(),
                    result: None,
                })
                .collect(),
            auth: [
                AuthCheckKind::AzureLogin,
                AuthCheckKind::AzureRole,
                AuthCheckKind::GithubToken,
                AuthCheckKind::GithubLogin,
            ]
            .into_iter()
            .map(|kind| AuthRow { kind, result: None })
            .collect(),
            outcome: None,
        }
    }
}

impl Checklist {
    pub fn apply(&mut self, update: PrereqUpdate) {
        match update {
            PrereqUpdate::Tool(check) if !check.matters() => {
                self.tools.retain(|row| row.name != check.name);
            }
            PrereqUpdate::Tool(check) => {
                match self.tools.iter_mut().find(|row| row.name == check.name) {
                    Some(row) => {
                        row.required = check.required;
                        row.minimum = check.minimum;
                        row.result = Some(check);
                    }
                    None => self.tools.push(ToolRow {
                        name: check.name.to_string(),
                        required: check.required,
                        minimum: check.minimum,
                        result: Some(check),
                    }),
                }
            }
            PrereqUpdate::Auth(check) => {
                match self.auth.iter_mut().find(|row| row.kind == check.check) {
                    Some(row) => row.result = Some(check),
                    None => self.auth.push(AuthRow {
                        kind: check.check,
                        result: Some(check),
                    }),
                }
            }
            PrereqUpdate::Finished(outcome) => self.outcome = Some(outcome),
        }
    }

    pub fn running(&self) -> bool {
        self.started && self.outcome.is_none()
    }

    pub fn passed(&self) -> bool {
        self.outcome
            .as_ref()
            .is_some_and(|o| o.exit_code == crate::ExitCode::Success)
    }

    /// Rows reported so far and all rows.
    pub fn progress(&self) -> (usize, usize) {
        let done = self.tools.iter().filter(|r| r.result.is_some()).count()
            + self.auth.iter().filter(|r| r.result.is_some()).count();
        (done, self.tools.len() + self.auth.len())
    }

    /// Failing rows, for the "what to fix" list.
    pub fn failures(&self) -> usize {
        self.tools
            .iter()
            .filter_map(|r| r.result.as_ref())
            .filter(|c| c.verdict == Verdict::Fail)
            .count()
            + self
                .auth
                .iter()
                .filter_map(|r| r.result.as_ref())
                .filter(|c| c.verdict == Verdict::Fail)
                .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prereq::evaluate_tool;
    use crate::prereq::tools::{BASH, JQ};
    use crate::tools::{RunError, ToolError};

    #[test]
    fn a_tool_we_only_report_shows_only_once_found() {
        let mut checklist = Checklist::default();
        let names = |c: &Checklist| c.tools.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&checklist), ["az", "kubectl", "gh", "helm", "git"]);
        let missing = ToolError::Run(RunError::NotFound {
            program: "bash".into(),
        });
        checklist.apply(PrereqUpdate::Tool(evaluate_tool(&BASH, Err(missing))));
        assert!(!names(&checklist).contains(&"bash".to_string()));
        checklist.apply(PrereqUpdate::Tool(evaluate_tool(
            &JQ,
            Ok(Version::new(1, 7, 1)),
        )));
        assert_eq!(names(&checklist).last().map(String::as_str), Some("jq"));
        assert_eq!(checklist.progress(), (1, 10));
    }
}
