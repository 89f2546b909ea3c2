//! The GitHub CLI (`gh`).
//!
//! The token reaches `gh` only through the `GH_TOKEN` environment variable of the child,
//! never its argv. Prompts and update notices are switched off: we are not a terminal user.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::secrets;

use super::error::{output_excerpt, run_checked, ToolError};
use super::runner::{CommandRunner, CommandSpec};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "gh";
pub const HOST: &str = "github.com";

const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Variables through which gh would pick up a token on its own.
const TOKEN_VARS: [&str; 4] = [
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

#[derive(Clone)]
pub struct Gh {
    runner: Arc<dyn CommandRunner>,
    token: Option<SecretString>,
}

/// The fields of `gh api user` we use.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct GhUser {
    pub login: String,
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    /// `User` or `Bot`, etc.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl Gh {
    /// Without a token, calls use gh's stored login.
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            runner,
            token: None,
        }
    }

    /// Every call gets `GH_TOKEN` (and no other token variable) in its environment.
    pub fn with_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    fn base(args: &[&str]) -> CommandSpec {
        CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            .env("GH_PROMPT_DISABLED", "1")
            .env("GH_NO_UPDATE_NOTIFIER", "1")
            .env("NO_COLOR", "1")
            .timeout(QUERY_TIMEOUT)
    }

    /// A call authenticated with our token when we hold one.
    pub fn authed(&self, args: &[&str]) -> CommandSpec {
        let mut spec = Self::base(args);
        if let Some(token) = &self.token {
            for var in TOKEN_VARS {
                spec = spec.env_remove(var);
            }
            spec = spec.secret_env("GH_TOKEN", token.clone());
        }
        spec
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["--version"])
    }

    /// `gh --version`.
    pub async fn version(&self) -> Result<Version, ToolError> {
        let spec = self.version_spec();
        let command = spec.display();
        let output = run_checked(self.runner.as_ref(), spec).await?;
        parse_version(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: e.reason,
        })
    }

    pub fn auth_token_spec(&self) -> CommandSpec {
        let mut spec = Self::base(&["auth", "token", "--hostname", HOST]).secret_stdout();
        // We want gh's stored login here, not a token variable it would just echo back.
        for var in TOKEN_VARS {
            spec = spec.env_remove(var);
        }
        spec
    }

    /// The token of gh's stored login (`gh auth token`), registered as a secret before it
    /// is returned. `Ok(None)` when gh is not logged in.
    pub async fn auth_token(&self) -> Result<Option<SecretString>, ToolError> {
        let spec = self.auth_token_spec();
        match run_checked(self.runner.as_ref(), spec).await {
            Ok(output) => {
                let token = output.stdout.trim();
                if token.is_empty() {
                    return Ok(None);
                }
                secrets::register(token);
                Ok(Some(SecretString::from(token)))
            }
            Err(ToolError::Failed { message, .. }) if is_not_logged_in(&message) => Ok(None),
            Err(other) => Err(other),
        }
    }

    pub fn api_user_spec(&self) -> CommandSpec {
        self.authed(&["api", "user"])
    }

    /// The account the token belongs to (`gh api user`).
    pub async fn api_user(&self) -> Result<GhUser, ToolError> {
        let spec = self.api_user_spec();
        let command = spec.display();
        let output = run_checked(self.runner.as_ref(), spec)
            .await
            .map_err(classify_auth)?;
        serde_json::from_str(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: format!(
                "not a user object ({e}): {}",
                output_excerpt(&output.stdout)
            ),
        })
    }
}

fn is_not_logged_in(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("no oauth token")
        || message.contains("not logged in")
        || message.contains("gh auth login")
}

fn classify_auth(err: ToolError) -> ToolError {
    match err {
        ToolError::Failed {
            command, message, ..
        } if message.contains("HTTP 401")
            || message.contains("Bad credentials")
            || is_not_logged_in(&message) =>
        {
            ToolError::NotAuthenticated { command, message }
        }
        other => other,
    }
}

/// The version from `gh --version`: `gh version 2.23.0 (2023-02-14)` then the release URL.
pub fn parse_version(stdout: &str) -> Result<Version, VersionParseError> {
    let first = stdout.lines().next().unwrap_or("").trim();
    let rest = first.strip_prefix("gh version ").ok_or_else(|| {
        VersionParseError::new(format!(
            "expected \"gh version X.Y.Z\", got {}",
            output_excerpt(stdout)
        ))
    })?;
    rest.split_whitespace().next().unwrap_or("").parse()
}
