//! The check itself: probe tools and sign-ins concurrently, then (interactive runs only)
//! remedy missing sign-ins one prompt at a time, then build the report.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::config::GitHubHost;
use crate::secrets;
use crate::tools::az::{Az, AzAccount, BuiltinRole};
use crate::tools::gh::{Gh, GhUser};
use crate::tools::retry::{describe_wait, retry, RetryError, RetryPolicy, RetryWait};
use crate::tools::runner::CommandRunner;
use crate::tools::{CancellationToken, ErrorClass, ToolError};
use crate::troubleshooting::{Hint, Topic};

use super::env::{AzureUse, PrereqEnv};
use super::interaction::{Interaction, PromptError};
use super::report::{
    AuthCheck, AuthCheckKind, AzureIdentity, GithubIdentity, PrereqReport, TokenSource, ToolCheck,
    Verdict,
};
use super::tools::{probe_tools_reporting, AZURE_NOT_NEEDED};

const TOKEN_PROMPT: &str = "GitHub token (input hidden; scopes repo and workflow): ";
pub const AZ_LOGIN_QUESTION: &str = "The Azure CLI is not signed in. Run `az login` now?";
const GH_LOGIN_HINT: &str =
    "set GITHUB_TOKEN to a token with the repo and workflow scopes, or run `gh auth login --scopes repo,workflow`";

/// [`GH_LOGIN_HINT`] for `host`: on a GitHub Enterprise Server, the token is one of that
/// server and gh signs in to it by `--hostname`.
fn gh_login_hint(host: &GitHubHost) -> String {
    if host.is_github_com() {
        GH_LOGIN_HINT.to_string()
    } else {
        // An Enterprise Server's own variable, as gh reads it; GITHUB_TOKEN works too.
        let variable = super::env::token_variable_names(host)[0];
        format!("set {variable} to a token of {host} with the repo and workflow scopes, or run `gh auth login --hostname {host} --scopes repo,workflow`")
    }
}

/// Run every prerequisite check and report. Never fails: problems are rows of the report.
///
/// - All tools (az, kubectl, gh, helm, git, jq, bash) are probed concurrently, together
///   with the Azure sign-in (`az account show`, then the role assignments) and the GitHub
///   token (one typed into the wizard's form, else the variables: on an Enterprise Server
///   host `GH_ENTERPRISE_TOKEN`, then `GITHUB_ENTERPRISE_TOKEN`, as gh reads them; then
///   `GITHUB_TOKEN`, then `GH_TOKEN`; else `gh auth token`, then `gh api user`).
/// - A run that involves no Azure resource (`env.azure` is [`AzureUse::NotNeeded`]: an
///   existing kube context) runs no az command at all; az and both Azure rows say "not
///   needed" and never fail the check.
/// - Interactive: a missing Azure sign-in is offered `az login` (terminal handed over);
///   a missing token is asked for without echo. Non-interactive: failures with hints.
/// - Every token is registered as a secret as soon as it is known; it reaches `gh` only
///   through `GH_TOKEN` in the child's environment.
pub async fn check(
    runner: Arc<dyn CommandRunner>,
    env: &PrereqEnv,
    interaction: &Interaction,
) -> PrereqReport {
    check_reporting(runner, env, interaction, &|_| {}).await
}

/// A row of the check as soon as it is known, for a checklist that fills in live.
#[derive(Debug, Clone, Copy)]
pub enum LiveRow<'a> {
    /// A tool's probe returned.
    Tool(&'a ToolCheck),
    /// A sign-in query answered. A row of the same name may follow (after `az login`, or
    /// a token typed at the prompt) and replaces it; the report has the final rows.
    Auth(&'a AuthCheck),
}

/// [`check`], telling `on_row` about each row as soon as its probe returns.
pub async fn check_reporting(
    runner: Arc<dyn CommandRunner>,
    env: &PrereqEnv,
    interaction: &Interaction,
    on_row: &(dyn Fn(LiveRow<'_>) + Sync),
) -> PrereqReport {
    check_with(runner, env, interaction, on_row, &RetryPolicy::default()).await
}

/// [`check_reporting`], retrying a sign-in query that fails transiently (a rate limit, a
/// timeout) by `retry`; each wait is logged as a warning.
pub async fn check_with(
    runner: Arc<dyn CommandRunner>,
    env: &PrereqEnv,
    interaction: &Interaction,
    on_row: &(dyn Fn(LiveRow<'_>) + Sync),
    retry: &RetryPolicy,
) -> PrereqReport {
    env.register_secrets();
    let az = Az::new(runner.clone(), env.azure_subscription_id.clone());
    let gh = Gh::new(runner.clone()).with_host(env.github_host.clone());
    let interactive = interaction.is_interactive();
    let report_auth = |rows: Vec<AuthCheck>| rows.iter().for_each(|row| on_row(LiveRow::Auth(row)));
    let report_tool = |tool: &ToolCheck| on_row(LiveRow::Tool(tool));

    let (tools, azure, github) = tokio::join!(
        probe_tools_reporting(&runner, env.azure, &report_tool),
        async {
            let azure = match env.azure {
                AzureUse::Needed => azure_sign_in(&az, retry).await,
                AzureUse::NotNeeded => AzureOutcome::state(AzureSignIn::NotNeeded),
            };
            report_auth(azure_rows(&azure, env, interactive));
            azure
        },
        async {
            let github = github_sign_in(&gh, env, retry).await;
            report_auth(github_rows(&github, interactive, &env.github_host));
            report_auth(flux_manifest_row(env));
            github
        },
    );

    let mut cancelled = false;
    let (mut azure, mut github) = (azure, github);
    if let Interaction::Interactive { prompter, terminal } = interaction {
        if matches!(azure.state, AzureSignIn::NotSignedIn { .. }) {
            azure = match prompter.confirm(AZ_LOGIN_QUESTION, true).await {
                Ok(true) => {
                    let login = az.login_spec(env.azure_tenant_id.as_deref());
                    match terminal.run_in_terminal(login).await {
                        Ok(output) if output.success() => azure_sign_in(&az, retry).await,
                        Ok(output) => AzureOutcome::state(AzureSignIn::LoginFailed {
                            reason: match output.exit_code {
                                Some(code) => format!("`az login` exited with code {code}"),
                                None => "`az login` was killed by a signal".to_string(),
                            },
                        }),
                        Err(err) => AzureOutcome::state(AzureSignIn::LoginFailed {
                            reason: err.to_string(),
                        }),
                    }
                }
                Ok(false) => AzureOutcome::state(AzureSignIn::LoginDeclined),
                Err(PromptError::Cancelled) => {
                    cancelled = true;
                    AzureOutcome::state(AzureSignIn::LoginDeclined)
                }
                Err(err) => AzureOutcome::state(AzureSignIn::LoginFailed {
                    reason: err.to_string(),
                }),
            };
        }
        if !cancelled && matches!(github.token, TokenState::Missing { .. }) {
            github = match prompter.ask_secret(TOKEN_PROMPT).await {
                Ok(Some(token)) => {
                    secrets::register(token.expose_secret());
                    verify_token(&gh, token, TokenSource::Prompt, retry).await
                }
                Ok(None) => GithubOutcome::token(TokenState::NothingEntered),
                Err(PromptError::Cancelled) => {
                    cancelled = true;
                    GithubOutcome::token(TokenState::NothingEntered)
                }
                Err(err) => GithubOutcome::token(TokenState::Unavailable(ToolError::Failed {
                    command: "the token prompt".to_string(),
                    exit_code: None,
                    class: crate::tools::ErrorClass::Other,
                    message: err.to_string(),
                })),
            };
        }
    }

    let mut auth = azure_rows(&azure, env, interactive);
    auth.extend(github_rows(&github, interactive, &env.github_host));
    auth.extend(flux_manifest_row(env));
    let azure_identity = match &azure.state {
        AzureSignIn::SignedIn(account) => Some(AzureIdentity {
            subscription_id: account.id.clone(),
            subscription_name: account.name.clone(),
            tenant_id: account.tenant_id.clone(),
            user: account.user.name.clone(),
            user_type: account.user.kind.clone(),
            role: match &azure.role {
                Some(RoleStatus::Holds(role)) => Some(*role),
                _ => None,
            },
        }),
        _ => None,
    };
    let (github_identity, github_token) = match (github.token, github.user) {
        (TokenState::Found(token, source), Some(Ok(user))) => (
            Some(GithubIdentity {
                login: user.login,
                token_source: source,
            }),
            Some(token),
        ),
        _ => (None, None),
    };

    PrereqReport {
        tools,
        auth,
        azure: azure_identity,
        github: github_identity,
        cancelled,
        github_token,
    }
}

enum AzureSignIn {
    /// The run involves no Azure resource: nothing was asked of az.
    NotNeeded,
    SignedIn(AzAccount),
    NotSignedIn {
        message: String,
    },
    LoginDeclined,
    LoginFailed {
        reason: String,
    },
    Unavailable(ToolError),
}

enum RoleStatus {
    Holds(BuiltinRole),
    Neither {
        roles: Vec<String>,
    },
    /// With what to do about the failure that left it undetermined.
    Undetermined {
        reason: String,
        hint: Option<Hint>,
    },
}

struct AzureOutcome {
    state: AzureSignIn,
    /// Only when signed in.
    role: Option<RoleStatus>,
}

impl AzureOutcome {
    fn state(state: AzureSignIn) -> Self {
        Self { state, role: None }
    }
}

/// A sign-in query, tried again while it fails transiently; each wait is logged.
async fn with_retries<T, Op, Fut>(policy: &RetryPolicy, mut operation: Op) -> Result<T, ToolError>
where
    Op: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ToolError>>,
{
    let on_wait = |wait: &RetryWait| {
        tracing::warn!("{}", describe_wait("prerequisite check", wait));
    };
    match retry(policy, &CancellationToken::new(), on_wait, |_| operation()).await {
        Ok(value) => Ok(value),
        Err(RetryError::Failed { error, .. }) => Err(error),
        Err(RetryError::Cancelled { last_error, .. }) => Err(last_error),
    }
}

async fn azure_sign_in(az: &Az, policy: &RetryPolicy) -> AzureOutcome {
    match with_retries(policy, || az.account_show()).await {
        Ok(account) => {
            let role = role_status(az, &account, policy).await;
            AzureOutcome {
                state: AzureSignIn::SignedIn(account),
                role: Some(role),
            }
        }
        Err(ToolError::NotAuthenticated { command, message }) => {
            AzureOutcome::state(AzureSignIn::NotSignedIn {
                message: format!("`{command}`: {message}"),
            })
        }
        Err(other) => AzureOutcome::state(AzureSignIn::Unavailable(other)),
    }
}

async fn role_status(az: &Az, account: &AzAccount, policy: &RetryPolicy) -> RoleStatus {
    if account.user.is_managed_identity() {
        return RoleStatus::Undetermined {
            reason: "signed in with a managed identity, whose assignments cannot be listed by name"
                .to_string(),
            hint: None,
        };
    }
    match with_retries(policy, || {
        az.role_assignments(&account.user.name, &account.id)
    })
    .await
    {
        Ok(assignments) => {
            let relevant: Vec<_> = assignments
                .iter()
                .filter(|a| a.covers_subscription(&account.id))
                .collect();
            match relevant.iter().filter_map(|a| a.builtin_role()).max() {
                Some(role) => RoleStatus::Holds(role),
                None => {
                    let mut roles: Vec<String> = relevant
                        .iter()
                        .map(|a| {
                            a.role_definition_name
                                .clone()
                                .unwrap_or_else(|| a.role_definition_id.clone())
                        })
                        .collect();
                    roles.sort();
                    roles.dedup();
                    RoleStatus::Neither { roles }
                }
            }
        }
        Err(err) => RoleStatus::Undetermined {
            reason: err.to_string(),
            hint: Some(err.hint()),
        },
    }
}

enum TokenState {
    Found(SecretString, TokenSource),
    /// No variable set and gh has no stored login.
    Missing {
        gh_reason: Option<String>,
    },
    NothingEntered,
    Unavailable(ToolError),
}

struct GithubOutcome {
    token: TokenState,
    /// `gh api user`, when a token was found.
    user: Option<Result<GhUser, ToolError>>,
}

impl GithubOutcome {
    fn token(token: TokenState) -> Self {
        Self { token, user: None }
    }
}

async fn github_sign_in(gh: &Gh, env: &PrereqEnv, policy: &RetryPolicy) -> GithubOutcome {
    if let Some(token) = &env.entered_token {
        return verify_token(gh, token.clone(), TokenSource::Prompt, policy).await;
    }
    if let Some((token, source)) = env.variable_token() {
        return verify_token(gh, token, source, policy).await;
    }
    match gh.auth_token().await {
        Ok(Some(token)) => verify_token(gh, token, TokenSource::GhCli, policy).await,
        Ok(None) => GithubOutcome::token(TokenState::Missing { gh_reason: None }),
        Err(err) if err.is_not_found() => GithubOutcome::token(TokenState::Missing {
            gh_reason: Some("gh is not installed".to_string()),
        }),
        Err(err) => GithubOutcome::token(TokenState::Unavailable(err)),
    }
}

async fn verify_token(
    gh: &Gh,
    token: SecretString,
    source: TokenSource,
    policy: &RetryPolicy,
) -> GithubOutcome {
    let gh = gh.clone().with_token(token.clone());
    let user = with_retries(policy, || gh.api_user()).await;
    GithubOutcome {
        token: TokenState::Found(token, source),
        user: Some(user),
    }
}

/// A row's hint, with its troubleshooting link.
fn linked(topic: Topic, text: impl Into<String>) -> Option<String> {
    Some(topic.hint(text).into())
}

fn azure_rows(azure: &AzureOutcome, env: &PrereqEnv, interactive: bool) -> Vec<AuthCheck> {
    let login_hint = match &env.azure_tenant_id {
        Some(tenant) => format!("run `az login --tenant {tenant}`, then try again"),
        None => "run `az login`, then try again".to_string(),
    };
    let (verdict, detail, hint) = match &azure.state {
        AzureSignIn::NotNeeded => (Verdict::Info, AZURE_NOT_NEEDED.to_string(), None),
        AzureSignIn::SignedIn(account) => (
            Verdict::Pass,
            format!(
                "{} ({}), subscription {} ({})",
                account.user.name, account.user.kind, account.name, account.id
            ),
            None,
        ),
        AzureSignIn::NotSignedIn { message } => (
            Verdict::Fail,
            format!("not signed in: {message}"),
            linked(
                Topic::AzureSignIn,
                if interactive {
                    login_hint
                } else {
                    format!("{login_hint} (non-interactive runs cannot sign in for you)")
                },
            ),
        ),
        AzureSignIn::LoginDeclined => (
            Verdict::Fail,
            "not signed in (`az login` declined)".to_string(),
            linked(Topic::AzureSignIn, login_hint.clone()),
        ),
        AzureSignIn::LoginFailed { reason } => (
            Verdict::Fail,
            format!("sign-in failed: {reason}"),
            linked(Topic::AzureSignIn, login_hint.clone()),
        ),
        AzureSignIn::Unavailable(err) if err.is_not_found() => (
            Verdict::Fail,
            "cannot check: az is not installed".to_string(),
            linked(Topic::ToolMissing, "install the Azure CLI (see above)"),
        ),
        AzureSignIn::Unavailable(err) => (
            Verdict::Fail,
            err.to_string(),
            match (&env.azure_subscription_id, err.class()) {
                (Some(id), ErrorClass::Other | ErrorClass::NotFound) => linked(
                    Topic::AzureSubscription,
                    format!(
                        "check that AZURE_SUBSCRIPTION_ID ({id}) is a subscription the signed-in account can use (`az account list -o table`)"
                    ),
                ),
                (None, ErrorClass::Other) => linked(
                    Topic::AzureSubscription,
                    "run `az account show` to see the problem",
                ),
                // A rate limit, a timeout, a permission: the class says what to do.
                _ => Some(err.hint().into()),
            },
        ),
    };
    let login = AuthCheck {
        check: AuthCheckKind::AzureLogin,
        verdict,
        detail,
        hint,
    };
    let role_hint =
        "creating a cluster needs Owner or Contributor on the subscription; ask an administrator, or use --cluster-existing";
    let role = match (&azure.state, &azure.role) {
        (AzureSignIn::NotNeeded, _) => AuthCheck {
            check: AuthCheckKind::AzureRole,
            verdict: Verdict::Info,
            detail: AZURE_NOT_NEEDED.to_string(),
            hint: None,
        },
        (AzureSignIn::SignedIn(account), Some(RoleStatus::Holds(role))) => AuthCheck {
            check: AuthCheckKind::AzureRole,
            verdict: Verdict::Pass,
            detail: format!("{} on subscription {}", role.name(), account.id),
            hint: None,
        },
        (AzureSignIn::SignedIn(account), Some(RoleStatus::Neither { roles })) => AuthCheck {
            check: AuthCheckKind::AzureRole,
            verdict: Verdict::Warn,
            detail: format!(
                "neither Owner nor Contributor on subscription {} (holds: {})",
                account.id,
                if roles.is_empty() {
                    "no role".to_string()
                } else {
                    roles.join(", ")
                }
            ),
            hint: linked(Topic::AzureRole, role_hint),
        },
        (AzureSignIn::SignedIn(_), Some(RoleStatus::Undetermined { reason, hint })) => AuthCheck {
            check: AuthCheckKind::AzureRole,
            verdict: Verdict::Warn,
            detail: format!("could not determine Owner/Contributor: {reason}"),
            hint: match hint {
                Some(hint) => Some(hint.clone().with_note(role_hint).into()),
                None => linked(Topic::AzureRole, role_hint),
            },
        },
        _ => AuthCheck {
            check: AuthCheckKind::AzureRole,
            verdict: Verdict::Skip,
            detail: "not checked: not signed in to Azure".to_string(),
            hint: None,
        },
    };
    vec![login, role]
}

/// On a GitHub Enterprise Server, a run that still downloads Flux's install manifest from
/// github.com (the one address outside the server it needs) gets a warning row naming
/// `--flux-manifest`. Nothing is probed: whether github.com is reachable from the cluster's
/// network is not something this machine can tell.
fn flux_manifest_row(env: &PrereqEnv) -> Vec<AuthCheck> {
    let host = &env.github_host;
    if host.is_github_com() || !env.flux_manifest_from_github_com {
        return Vec::new();
    }
    vec![AuthCheck {
        check: AuthCheckKind::FluxManifest,
        verdict: Verdict::Warn,
        detail: format!(
            "downloaded from github.com (the Flux release's install.yaml), not from {host}"
        ),
        hint: Some(
            "without access to github.com, give a copy or a mirror: --flux-manifest FILE|URL"
                .to_string(),
        ),
    }]
}

/// "GITHUB_TOKEN and GH_TOKEN", or the four names of an Enterprise Server host.
fn unset_variables(host: &GitHubHost) -> String {
    match super::env::token_variable_names(host) {
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        [] => String::new(),
    }
}

fn github_rows(github: &GithubOutcome, interactive: bool, host: &GitHubHost) -> Vec<AuthCheck> {
    let login_hint = gh_login_hint(host);
    let (verdict, detail, hint) = match &github.token {
        TokenState::Found(_, source) => (Verdict::Pass, format!("from {source}"), None),
        TokenState::Missing { gh_reason } => (
            Verdict::Fail,
            format!(
                "no token: {} are unset and {}",
                unset_variables(host),
                gh_reason.as_deref().unwrap_or("gh is not logged in")
            ),
            linked(
                Topic::GithubToken,
                if interactive {
                    login_hint.clone()
                } else {
                    format!("{login_hint} (non-interactive runs cannot ask for it)")
                },
            ),
        ),
        TokenState::NothingEntered => (
            Verdict::Fail,
            "no token entered".to_string(),
            linked(Topic::GithubToken, &login_hint),
        ),
        TokenState::Unavailable(err) => (
            Verdict::Fail,
            format!("could not get a token from gh: {err}"),
            linked(Topic::GithubToken, &login_hint),
        ),
    };
    let token = AuthCheck {
        check: AuthCheckKind::GithubToken,
        verdict,
        detail,
        hint,
    };
    let login = match (&github.token, &github.user) {
        (_, Some(Ok(user))) => AuthCheck {
            check: AuthCheckKind::GithubLogin,
            verdict: Verdict::Pass,
            detail: user.login.clone(),
            hint: None,
        },
        (
            TokenState::Found(_, source),
            Some(Err(ToolError::NotAuthenticated { command, message })),
        ) => AuthCheck {
            check: AuthCheckKind::GithubLogin,
            verdict: Verdict::Fail,
            detail: format!("GitHub rejected the token from {source} (`{command}`): {message}"),
            hint: linked(
                Topic::GithubToken,
                format!(
                    "the token from {source} is invalid or expired: replace it, or {login_hint}"
                ),
            ),
        },
        (_, Some(Err(err))) if err.is_not_found() => AuthCheck {
            check: AuthCheckKind::GithubLogin,
            verdict: Verdict::Fail,
            detail: "cannot check: gh is not installed".to_string(),
            hint: linked(Topic::ToolMissing, "install the GitHub CLI (see above)"),
        },
        (_, Some(Err(err))) => AuthCheck {
            check: AuthCheckKind::GithubLogin,
            verdict: Verdict::Fail,
            detail: err.to_string(),
            hint: match err.class() {
                ErrorClass::Other => {
                    linked(Topic::GithubToken, "run `gh api user` to see the problem")
                }
                // A rate limit, a timeout, a permission: the class says what to do.
                _ => Some(err.hint().into()),
            },
        },
        (_, None) => AuthCheck {
            check: AuthCheckKind::GithubLogin,
            verdict: Verdict::Skip,
            detail: "not checked: no GitHub token".to_string(),
            hint: None,
        },
    };
    vec![token, login]
}
