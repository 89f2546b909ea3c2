//! The outcome of the prerequisite checks: a table of tools, a list of authentication
//! checks, the identities found, and their text and JSON forms.

use std::fmt;

use secrecy::SecretString;
use serde::{Serialize, Serializer};

use crate::exit::ExitCode;
use crate::secrets;
use crate::tools::az::BuiltinRole;
use crate::tools::Version;
use crate::troubleshooting::Topic;

use super::tools::InstallHint;

/// The verdict on one row. Only [`Verdict::Fail`] fails the whole check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Works, but something deserves attention.
    Warn,
    Fail,
    /// Reported for information; never affects the outcome.
    Info,
    /// Not checked because an earlier check failed.
    Skip,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
            Verdict::Info => "INFO",
            Verdict::Skip => "SKIP",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One row of the tools table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ToolCheck {
    pub name: &'static str,
    pub required: bool,
    pub found: bool,
    pub version: Option<Version>,
    pub minimum: Option<Version>,
    pub verdict: Verdict,
    pub detail: String,
    pub install: InstallHint,
}

impl ToolCheck {
    /// Whether the row tells the user anything: a tool we need, or one we only report that
    /// is installed. "Not needed, not installed" is left out of what is shown (the JSON
    /// report keeps every row).
    pub fn matters(&self) -> bool {
        self.required || self.found
    }
}

/// Which authentication check a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthCheckKind {
    AzureLogin,
    AzureRole,
    GithubToken,
    GithubLogin,
    /// Where Flux's install manifest is downloaded from: shown (a warning) only on a
    /// GitHub Enterprise Server whose run still downloads it from github.com.
    FluxManifest,
}

impl AuthCheckKind {
    pub fn label(self) -> &'static str {
        match self {
            AuthCheckKind::AzureLogin => "Azure sign-in",
            AuthCheckKind::AzureRole => "Azure role",
            AuthCheckKind::GithubToken => "GitHub token",
            AuthCheckKind::GithubLogin => "GitHub sign-in",
            AuthCheckKind::FluxManifest => "Flux manifest",
        }
    }
}

/// One authentication row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AuthCheck {
    pub check: AuthCheckKind,
    pub verdict: Verdict,
    pub detail: String,
    /// What to do about it, when something is wrong.
    pub hint: Option<String>,
}

/// The signed-in Azure identity and subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AzureIdentity {
    pub subscription_id: String,
    pub subscription_name: String,
    pub tenant_id: String,
    pub user: String,
    /// `user` or `servicePrincipal`.
    pub user_type: String,
    /// The strongest of Owner/Contributor held on the subscription, when determined.
    pub role: Option<BuiltinRole>,
}

/// Where the GitHub token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    GithubTokenEnv,
    GhTokenEnv,
    GhEnterpriseTokenEnv,
    GithubEnterpriseTokenEnv,
    GhCli,
    Prompt,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenSource::GithubTokenEnv => "GITHUB_TOKEN",
            TokenSource::GhTokenEnv => "GH_TOKEN",
            TokenSource::GhEnterpriseTokenEnv => "GH_ENTERPRISE_TOKEN",
            TokenSource::GithubEnterpriseTokenEnv => "GITHUB_ENTERPRISE_TOKEN",
            TokenSource::GhCli => "`gh auth token`",
            TokenSource::Prompt => "the prompt",
        })
    }
}

/// The signed-in GitHub account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GithubIdentity {
    pub login: String,
    pub token_source: TokenSource,
}

/// Everything [`super::check`] found. `passed()` is false when any row is a failure;
/// the caller then exits with [`ExitCode::PrerequisitesFailed`] (see [`Self::exit_code`])
/// after printing [`Self::render_text`] (or the JSON form: `serde_json::to_string(&report)`,
/// which adds `"passed"` and never contains the token).
#[derive(Clone, Debug)]
pub struct PrereqReport {
    pub tools: Vec<ToolCheck>,
    pub auth: Vec<AuthCheck>,
    pub azure: Option<AzureIdentity>,
    pub github: Option<GithubIdentity>,
    /// The user cancelled a prompt (Ctrl+C / Esc).
    pub cancelled: bool,
    pub(crate) github_token: Option<SecretString>,
}

impl PrereqReport {
    pub fn passed(&self) -> bool {
        !self.cancelled && self.failure_count() == 0
    }

    pub fn failure_count(&self) -> usize {
        self.verdicts().filter(|v| *v == Verdict::Fail).count()
    }

    pub fn warning_count(&self) -> usize {
        self.verdicts().filter(|v| *v == Verdict::Warn).count()
    }

    fn verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        self.tools
            .iter()
            .map(|t| t.verdict)
            .chain(self.auth.iter().map(|a| a.verdict))
    }

    /// Success, [`ExitCode::Cancelled`] when the user cancelled a prompt, else
    /// [`ExitCode::PrerequisitesFailed`].
    pub fn exit_code(&self) -> ExitCode {
        if self.cancelled {
            ExitCode::Cancelled
        } else if self.passed() {
            ExitCode::Success
        } else {
            ExitCode::PrerequisitesFailed
        }
    }

    /// The verified GitHub token (registered as a secret), for the steps that need it.
    pub fn github_token(&self) -> Option<&SecretString> {
        self.github_token.as_ref()
    }

    pub fn tool(&self, name: &str) -> Option<&ToolCheck> {
        self.tools.iter().find(|t| t.name == name)
    }

    pub fn auth_check(&self, kind: AuthCheckKind) -> Option<&AuthCheck> {
        self.auth.iter().find(|a| a.check == kind)
    }

    /// The full report as plain text (no colour): tools table, authentication table,
    /// install hints for failing tools, fixes for failing checks, and the verdict.
    pub fn render_text(&self) -> String {
        let mut out = String::from("Tools\n");
        let rows = self
            .tools
            .iter()
            .filter(|t| t.matters())
            .map(|t| {
                vec![
                    t.name.to_string(),
                    if t.found { "yes" } else { "no" }.to_string(),
                    t.version.map_or("-".to_string(), |v| v.to_string()),
                    match (t.minimum, t.required) {
                        (Some(minimum), _) => minimum.to_string(),
                        (None, true) => "any".to_string(),
                        (None, false) => "-".to_string(),
                    },
                    t.verdict.to_string(),
                    t.detail.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["TOOL", "FOUND", "VERSION", "MINIMUM", "VERDICT", "DETAIL"],
            rows,
        ));

        out.push_str("\nAuthentication\n");
        let rows = self
            .auth
            .iter()
            .map(|a| {
                vec![
                    a.check.label().to_string(),
                    a.verdict.to_string(),
                    a.detail.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["CHECK", "VERDICT", "DETAIL"], rows));

        let to_install: Vec<&ToolCheck> = self
            .tools
            .iter()
            .filter(|t| t.verdict == Verdict::Fail)
            .collect();
        if !to_install.is_empty() {
            out.push_str("\nInstall or upgrade\n");
            for tool in to_install {
                out.push_str(&format!("  {}\n", tool.name));
                out.push_str(&format!("    macOS: {}\n", tool.install.macos));
                out.push_str(&format!("    Linux: {}\n", tool.install.linux));
            }
            out.push_str(&format!("  {}\n", Topic::ToolMissing.see()));
        }

        let fixes: Vec<&AuthCheck> = self.auth.iter().filter(|a| a.hint.is_some()).collect();
        if !fixes.is_empty() {
            out.push_str("\nHow to fix\n");
            for check in fixes {
                if let Some(hint) = &check.hint {
                    out.push_str(&format!("  {}: {hint}\n", check.check.label()));
                }
            }
        }

        out.push('\n');
        out.push_str(&self.summary());
        out.push('\n');
        // Versions, accounts and context names are the tools' words: controls shown.
        crate::text::escape_controls(&secrets::redact(&out)).into_owned()
    }

    /// One line: `Prerequisites: PASSED (1 warning)` or `Prerequisites: FAILED (2 failures)`.
    pub fn summary(&self) -> String {
        let failures = self.failure_count();
        let warnings = self.warning_count();
        let mut counts = Vec::new();
        if failures > 0 {
            counts.push(plural(failures, "failure"));
        }
        if warnings > 0 {
            counts.push(plural(warnings, "warning"));
        }
        let state = if self.cancelled {
            "CANCELLED"
        } else if self.passed() {
            "PASSED"
        } else {
            "FAILED"
        };
        if counts.is_empty() {
            format!("Prerequisites: {state}")
        } else {
            format!("Prerequisites: {state} ({})", counts.join(", "))
        }
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Left-aligned columns, two spaces apart, indented by two; the last column is not padded.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header_row).chain(rows.iter()) {
        let last = row.len() - 1;
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 1;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `--validate-only --output json`'s document: the report under the name and version of its
/// contract ([`crate::contracts::PREREQUISITES`]); `schemas/prerequisites.schema.json` is
/// made from this type.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PrerequisitesDocument<'a> {
    /// `kalypso-bootstrap/prerequisites`.
    pub schema: &'static str,
    pub schema_version: u32,
    pub passed: bool,
    pub cancelled: bool,
    pub tools: &'a [ToolCheck],
    pub auth: &'a [AuthCheck],
    pub azure: &'a Option<AzureIdentity>,
    pub github: &'a Option<GithubIdentity>,
}

impl Serialize for PrereqReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PrerequisitesDocument {
            schema: crate::contracts::PREREQUISITES.name,
            schema_version: crate::contracts::PREREQUISITES.version,
            passed: self.passed(),
            cancelled: self.cancelled,
            tools: &self.tools,
            auth: &self.auth,
            azure: &self.azure,
            github: &self.github,
        }
        .serialize(serializer)
    }
}
