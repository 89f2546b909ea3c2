//! The environment the prerequisite checks depend on, captured once and injected.

use secrecy::{ExposeSecret, SecretString};

use crate::config::GitHubHost;
use crate::secrets;

use super::report::TokenSource;

pub const AZURE_SUBSCRIPTION_ID: &str = "AZURE_SUBSCRIPTION_ID";
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
pub const GH_TOKEN: &str = "GH_TOKEN";
pub const GH_ENTERPRISE_TOKEN: &str = "GH_ENTERPRISE_TOKEN";
pub const GITHUB_ENTERPRISE_TOKEN: &str = "GITHUB_ENTERPRISE_TOKEN";

/// The variables a token for `host` is read from, in order (see
/// [`PrereqEnv::variable_token`]).
pub fn token_variable_names(host: &GitHubHost) -> &'static [&'static str] {
    if host.gh_token_var() == GH_ENTERPRISE_TOKEN {
        &[
            GH_ENTERPRISE_TOKEN,
            GITHUB_ENTERPRISE_TOKEN,
            GITHUB_TOKEN,
            GH_TOKEN,
        ]
    } else {
        &[GITHUB_TOKEN, GH_TOKEN]
    }
}

/// Whether the run involves Azure at all (see
/// [`Configuration::involves_azure`](crate::config::Configuration::involves_azure)). When it
/// does not (an existing kube context: kind, k3d, any cluster), `az` is neither required
/// nor run: no `az version`, no `az account show`, no role query; its rows say "not needed".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AzureUse {
    /// The run creates Azure resources (an AKS cluster): az and its sign-in are checked.
    #[default]
    Needed,
    /// Nothing in Azure is created or read.
    NotNeeded,
}

impl AzureUse {
    pub fn of(involves_azure: bool) -> Self {
        if involves_azure {
            AzureUse::Needed
        } else {
            AzureUse::NotNeeded
        }
    }

    pub fn needed(self) -> bool {
        self == AzureUse::Needed
    }
}

/// `AZURE_SUBSCRIPTION_ID`, `AZURE_TENANT_ID`, `GITHUB_TOKEN`, `GH_TOKEN`,
/// `GH_ENTERPRISE_TOKEN` and `GITHUB_ENTERPRISE_TOKEN`; empty values count as unset.
#[derive(Clone, Debug, Default)]
pub struct PrereqEnv {
    pub azure_subscription_id: Option<String>,
    /// Passed to `az login --tenant` when we offer a login.
    pub azure_tenant_id: Option<String>,
    pub github_token: Option<SecretString>,
    pub gh_token: Option<SecretString>,
    /// `GH_ENTERPRISE_TOKEN`: read only for a GitHub Enterprise Server host, as gh does.
    pub gh_enterprise_token: Option<SecretString>,
    /// `GITHUB_ENTERPRISE_TOKEN`: after `GH_ENTERPRISE_TOKEN`, as gh does.
    pub github_enterprise_token: Option<SecretString>,
    /// A token the user typed into the wizard's form: checked before the variables and
    /// reported as coming from the prompt.
    pub entered_token: Option<SecretString>,
    /// Whether az and the Azure sign-in are checked at all (by default they are).
    pub azure: AzureUse,
    /// The GitHub host the token is checked against (`repositories.githubHost`).
    pub github_host: GitHubHost,
    /// The run installs Flux from the release's install.yaml on github.com (no
    /// `--flux-manifest`, no `--skip-install`): on an Enterprise Server a row says so.
    pub flux_manifest_from_github_com: bool,
}

impl PrereqEnv {
    /// Read the variables through `lookup` (e.g. a map in tests). Tokens are registered as
    /// secrets at once.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let text = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let env = Self {
            azure_subscription_id: text(AZURE_SUBSCRIPTION_ID),
            azure_tenant_id: text(AZURE_TENANT_ID),
            github_token: text(GITHUB_TOKEN).map(SecretString::from),
            gh_token: text(GH_TOKEN).map(SecretString::from),
            gh_enterprise_token: text(GH_ENTERPRISE_TOKEN).map(SecretString::from),
            github_enterprise_token: text(GITHUB_ENTERPRISE_TOKEN).map(SecretString::from),
            entered_token: None,
            azure: AzureUse::Needed,
            github_host: GitHubHost::default(),
            flux_manifest_from_github_com: false,
        };
        env.register_secrets();
        env
    }

    /// The same environment, for a run whose use of Azure is `azure`.
    pub fn with_azure(mut self, azure: AzureUse) -> Self {
        self.azure = azure;
        self
    }

    /// The same environment, checking the token against `host`.
    pub fn with_github_host(mut self, host: GitHubHost) -> Self {
        self.github_host = host;
        self
    }

    /// The token the environment gives for [`Self::github_host`], and the variable it came
    /// from. On a GitHub Enterprise Server host, `GH_ENTERPRISE_TOKEN` then
    /// `GITHUB_ENTERPRISE_TOKEN` come first, as in gh (`gh help environment`); then, on
    /// every host, `GITHUB_TOKEN` then `GH_TOKEN`. On github.com and `*.ghe.com` gh ignores
    /// the enterprise variables, and so do we.
    pub fn variable_token(&self) -> Option<(SecretString, TokenSource)> {
        let enterprise = self.github_host.gh_token_var() == GH_ENTERPRISE_TOKEN;
        let candidates = [
            (
                enterprise,
                &self.gh_enterprise_token,
                TokenSource::GhEnterpriseTokenEnv,
            ),
            (
                enterprise,
                &self.github_enterprise_token,
                TokenSource::GithubEnterpriseTokenEnv,
            ),
            (true, &self.github_token, TokenSource::GithubTokenEnv),
            (true, &self.gh_token, TokenSource::GhTokenEnv),
        ];
        candidates.into_iter().find_map(|(read, token, source)| {
            Some((token.as_ref().filter(|_| read)?.clone(), source))
        })
    }

    /// The same environment, for a run that does (`true`) or does not download Flux's
    /// install manifest from github.com.
    pub fn with_flux_manifest_from_github_com(mut self, downloads: bool) -> Self {
        self.flux_manifest_from_github_com = downloads;
        self
    }

    /// The real process environment.
    pub fn from_process_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Register the tokens with the process-wide redactor (idempotent).
    pub fn register_secrets(&self) {
        for token in [
            &self.github_token,
            &self.gh_token,
            &self.gh_enterprise_token,
            &self.github_enterprise_token,
            &self.entered_token,
        ]
        .into_iter()
        .flatten()
        {
            secrets::register(token.expose_secret());
        }
    }
}
