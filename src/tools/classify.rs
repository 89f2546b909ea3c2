//! What kind of failure a tool reported, read from its exit code and stderr.
//!
//! The engine decides from an [`ErrorClass`] whether to retry ([`ErrorClass::is_transient`]),
//! to treat the outcome as an answer (not found, already exists) or to stop with a hint for
//! the user ([`ErrorClass::hint`]). The patterns are the real tools' messages; the unit tests
//! in `tests/tools/classify.rs` hold samples of each.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::troubleshooting::{Hint, Topic};

/// Which tool produced the output: the rules differ (az's exit code 3 means "not found",
/// gh's 4 "not signed in", git's 128/129 are its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolKind {
    Az,
    Gh,
    Git,
    Kubectl,
    Helm,
    Other,
}

impl ToolKind {
    /// By the program's file name, so `/opt/kalypso-cli/bin/az` is az too.
    pub fn from_program(program: &str) -> Self {
        let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
        let name = name.strip_suffix(".exe").unwrap_or(name);
        match name {
            "az" => ToolKind::Az,
            "gh" => ToolKind::Gh,
            "git" => ToolKind::Git,
            "kubectl" => ToolKind::Kubectl,
            "helm" => ToolKind::Helm,
            _ => ToolKind::Other,
        }
    }

    /// What the user runs to sign in again, for hints.
    fn sign_in_hint(self) -> &'static str {
        match self {
            ToolKind::Az => "sign in again with `az login`",
            ToolKind::Gh | ToolKind::Git => {
                "sign in again with `gh auth login` or provide a valid token in GITHUB_TOKEN"
            }
            ToolKind::Kubectl | ToolKind::Helm => {
                "refresh the cluster credentials (for AKS: `az aks get-credentials`, after `az login` if needed)"
            }
            ToolKind::Other => "sign in again",
        }
    }
}

/// When a rate limit lifts, as far as the tool said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitReset {
    /// An absolute time (`X-RateLimit-Reset: <epoch seconds>` or an RFC 3339 timestamp
    /// after "reset").
    At(OffsetDateTime),
    /// A delay (`Retry-After: <seconds>`, "retry after N seconds", "try again in N seconds").
    After(Duration),
}

impl RateLimitReset {
    /// How long to wait from `now`; zero when the reset time has passed.
    pub fn wait_from(&self, now: OffsetDateTime) -> Duration {
        match self {
            RateLimitReset::After(delay) => *delay,
            RateLimitReset::At(at) => {
                let left = *at - now;
                if left.is_positive() {
                    Duration::from_secs_f64(left.as_seconds_f64())
                } else {
                    Duration::ZERO
                }
            }
        }
    }
}

impl fmt::Display for RateLimitReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitReset::After(delay) => {
                write!(f, "in {}", crate::text::format_duration(*delay))
            }
            RateLimitReset::At(at) => match at.format(&Rfc3339) {
                Ok(text) => write!(f, "at {text}"),
                Err(_) => write!(f, "at unix time {}", at.unix_timestamp()),
            },
        }
    }
}

/// The kind of a tool failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The resource does not exist (az exit 3, HTTP 404, `(NotFound)`, `release: not found`).
    NotFound,
    /// The resource already exists (`AlreadyExists`, `Name already exists`, name in use).
    AlreadyExists,
    /// Not signed in, or the credentials expired or were rejected (HTTP 401, `az login`).
    NotAuthenticated,
    /// Signed in but not allowed (HTTP 403, `AuthorizationFailed`, `Forbidden`).
    /// `missing_scope` is the OAuth scope GitHub named (e.g. `delete_repo`).
    PermissionDenied { missing_scope: Option<String> },
    /// A subscription quota does not cover the request (vCPUs, ...).
    QuotaExceeded,
    /// Too many requests; `reset` when the tool said when the limit lifts.
    RateLimited { reset: Option<RateLimitReset> },
    /// The operation did not finish in time (ours or the tool's own deadline).
    Timeout,
    /// The service failed on its side (HTTP 5xx, `InternalServerError`, `ServiceUnavailable`).
    Transient,
    /// The endpoint could not be reached (connection refused or reset, DNS failure).
    Unreachable,
    /// The tool rejected our command line: a bug in this program, never retried.
    Usage,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// Whether trying again later may succeed. The engine retries these with a bounded
    /// back-off (for [`ErrorClass::RateLimited`], not before the reset time).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimited { .. }
                | ErrorClass::Timeout
                | ErrorClass::Transient
                | ErrorClass::Unreachable
        )
    }

    /// A short name for logs and JSON events.
    pub fn label(&self) -> &'static str {
        match self {
            ErrorClass::NotFound => "not_found",
            ErrorClass::AlreadyExists => "already_exists",
            ErrorClass::NotAuthenticated => "not_authenticated",
            ErrorClass::PermissionDenied { .. } => "permission_denied",
            ErrorClass::QuotaExceeded => "quota_exceeded",
            ErrorClass::RateLimited { .. } => "rate_limited",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Transient => "transient",
            ErrorClass::Unreachable => "unreachable",
            ErrorClass::Usage => "usage",
            ErrorClass::Other => "other",
        }
    }

    /// What the user can do about it; `tool` tailors sign-in and scope advice. The hint
    /// links to the class's section of the troubleshooting page.
    pub fn hint(&self, tool: ToolKind) -> Hint {
        match self {
            ErrorClass::NotFound => Topic::NotFound.hint(
                "the resource does not exist: check the name, the owner or resource group and the subscription",
            ),
            ErrorClass::AlreadyExists => Topic::AlreadyExists.hint(
                "the resource already exists: pass it as existing, choose another name, or delete it first",
            ),
            ErrorClass::NotAuthenticated => {
                let topic = match tool {
                    ToolKind::Az => Topic::AzureSignIn,
                    ToolKind::Gh | ToolKind::Git => Topic::GithubToken,
                    ToolKind::Kubectl | ToolKind::Helm => Topic::ClusterCredentials,
                    ToolKind::Other => Topic::ToolFailed,
                };
                topic.hint(tool.sign_in_hint())
            }
            ErrorClass::PermissionDenied {
                missing_scope: Some(scope),
            } => scope_hint(scope, "github.com"),
            ErrorClass::PermissionDenied { missing_scope: None } => match tool {
                ToolKind::Az => Topic::AzureRole.hint("your Azure identity lacks a role for this action: ask for Contributor (or Owner) on the subscription or resource group"),
                ToolKind::Gh | ToolKind::Git => Topic::GithubScopes.hint("the GitHub token may not do this: check its scopes (repo, workflow, admin:org, delete_repo) and your role in the organization"),
                ToolKind::Kubectl | ToolKind::Helm => Topic::ClusterPermission.hint("your cluster identity lacks RBAC permissions for this action: use an admin context or ask for cluster-admin"),
                ToolKind::Other => Topic::ToolFailed.hint("permission denied: check your rights"),
            },
            ErrorClass::QuotaExceeded => Topic::QuotaExceeded.hint(
                "the subscription's quota is too small: lower the node count, choose a smaller VM size or another region, or request a quota increase in the Azure portal",
            ),
            // A hint reaches the user only when the step gave up (a short wait is waited
            // out and retried inside the step, see `engine::retry`): the run ends, so the
            // user runs it again.
            ErrorClass::RateLimited { reset: Some(reset) } => Topic::RateLimited.hint(format!(
                "rate limited: the limit resets {reset}; run the same command again after that (the run resumes at this step)"
            )),
            ErrorClass::RateLimited { reset: None } => Topic::RateLimited.hint(
                "rate limited: wait a few minutes and run again (the state file lets the run resume)",
            ),
            ErrorClass::Timeout => {
                let topic = if tool == ToolKind::Helm {
                    Topic::HelmTimeout
                } else {
                    Topic::Timeout
                };
                topic.hint("the operation took too long: check the resource's state, then run again to resume")
            }
            ErrorClass::Transient => Topic::ServiceError.hint(
                "the service failed on its side: run again shortly (the state file lets the run resume)",
            ),
            ErrorClass::Unreachable => match tool {
                ToolKind::Kubectl | ToolKind::Helm => Topic::ClusterUnreachable.hint("the cluster's API server could not be reached: check the kube context, the network, VPN or firewall"),
                _ => Topic::ServiceUnreachable.hint("the service could not be reached: check the network connection and any proxy settings"),
            },
            ErrorClass::Usage => Topic::ToolUsage.hint(
                "the tool rejected the command line: this is a bug in kalypso-bootstrap or an unsupported tool version; check the tool's version against the prerequisites",
            ),
            ErrorClass::Other => Topic::ToolFailed.hint("see the tool's message above"),
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Classify a failed command from its exit code and output. `stderr` is searched first;
/// `stdout` too, since some tools print errors there.
pub fn classify(tool: ToolKind, exit_code: Option<i32>, stderr: &str, stdout: &str) -> ErrorClass {
    let text = if stdout.trim().is_empty() {
        stderr.to_string()
    } else {
        format!("{stderr}\n{stdout}")
    };
    let lower = text.to_ascii_lowercase();

    if is_usage_error(tool, exit_code, &lower) {
        return ErrorClass::Usage;
    }
    if is_rate_limited(&lower) {
        return ErrorClass::RateLimited {
            reset: rate_limit_reset(&text),
        };
    }
    if is_not_authenticated(tool, exit_code, &lower) {
        return ErrorClass::NotAuthenticated;
    }
    if is_quota_exceeded(&lower) {
        return ErrorClass::QuotaExceeded;
    }
    if is_permission_denied(&lower) {
        return ErrorClass::PermissionDenied {
            missing_scope: missing_scope(&text),
        };
    }
    if is_not_found(tool, exit_code, &lower) {
        return ErrorClass::NotFound;
    }
    if is_already_exists(&lower) {
        return ErrorClass::AlreadyExists;
    }
    if is_timeout(&lower) {
        return ErrorClass::Timeout;
    }
    if is_transient(&lower) {
        return ErrorClass::Transient;
    }
    if is_unreachable(&lower) {
        return ErrorClass::Unreachable;
    }
    ErrorClass::Other
}

fn contains_any(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|needle| text.contains(needle))
}

/// Usage errors of cobra (gh, kubectl, helm), argparse/knack (az) and git.
fn is_usage_error(tool: ToolKind, exit_code: Option<i32>, lower: &str) -> bool {
    static ARG_COUNT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(accepts|requires) (at most |at least |between |exactly )?\d+( and \d+)? arg(\(s\)|uments?\b)",
        )
            .expect("valid regex")
    });
    let cobra = contains_any(
        lower,
        &[
            "unknown flag:",
            "unknown shorthand flag:",
            "unknown command \"",
            "flag needs an argument:",
            "invalid argument \"",
            "required flag(s) \"",
            "if any flags in the group",
        ],
    ) || ARG_COUNT.is_match(lower);
    match tool {
        // az exits 2 on a parser error (1 is any other error, 3 a missing resource). az 2.91
        // words a bad choice "'cilium' is not a valid value for '--network-plugin'. Allowed
        // values: ..."; older releases said "invalid choice" (argparse).
        ToolKind::Az => {
            exit_code == Some(2)
                && contains_any(
                    lower,
                    &[
                        "is not a valid value for '--",
                        "allowed values:",
                        "invalid int value",
                        "invalid float value",
                        "unrecognized arguments",
                        "the following arguments are required",
                        "invalid choice",
                        "expected one argument",
                        "is misspelled or not recognized by the system",
                        "usage error",
                        "not allowed with argument",
                    ],
                )
        }
        ToolKind::Git => {
            exit_code == Some(129)
                || contains_any(lower, &["error: unknown option", "error: unknown switch"])
        }
        _ => cobra,
    }
}

fn is_rate_limited(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "rate limit exceeded",
            "secondary rate limit",
            "api rate limit",
            "http 429",
            "(429)",
            "status code 429",
            "too many requests",
            "toomanyrequests",
            "throttled",
            "throttling",
        ],
    )
}

fn is_not_authenticated(tool: ToolKind, exit_code: Option<i32>, lower: &str) -> bool {
    // gh exits 4 when it has no credentials at all.
    if tool == ToolKind::Gh && exit_code == Some(4) {
        return true;
    }
    contains_any(
        lower,
        &[
            "az login",
            "aadsts",
            "interactive authentication is needed",
            "refresh token has expired",
            "token has expired",
            "expiredauthenticationtoken",
            "invalidauthenticationtoken",
            "http 401",
            "bad credentials",
            "no oauth token",
            "not logged in",
            "gh auth login",
            "requires authentication",
            "you must be logged in to the server",
            "provide credentials",
            "(unauthorized)",
            "authentication failed",
            "could not read username",
            "invalid username or password",
        ],
    )
}

fn is_quota_exceeded(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "quotaexceeded",
            "quota exceeded",
            "insufficientvcpuquota",
            "insufficient regional vcpu quota",
            "exceeding approved",
            "exceeding quota limits",
            "exceeds quota",
            "exceeded quota",
        ],
    )
}

fn is_permission_denied(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "http 403",
            "(403)",
            "authorizationfailed",
            "does not have authorization",
            "linkedauthorizationfailed",
            "error from server (forbidden)",
            " is forbidden:",
            "must have admin rights",
            "resource not accessible",
            "permission denied",
            "permission to ",
            "scope. to request it",
            "insufficient permissions",
            "does not have the correct permissions",
        ],
    )
}

/// The hint for a token without `scope`, on GitHub `host`.
pub fn scope_hint(scope: &str, host: &str) -> Hint {
    Topic::GithubScopes.hint(format!(
        "the GitHub token lacks the `{scope}` scope: run `gh auth refresh -h {host} -s {scope}` or use a token that has it"
    ))
}

/// The host gh names in its own scope advice (`gh auth refresh -h HOST -s SCOPE`), or the
/// `GH_HOST=HOST` a shown gh command starts with: a GitHub Enterprise Server's.
pub fn github_host_of(command: &str, message: &str) -> Option<String> {
    static REFRESH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"gh auth refresh -h ([A-Za-z0-9.-]+)").expect("valid regex"));
    REFRESH
        .captures(message)
        .map(|c| c[1].to_string())
        .or_else(|| {
            let rest = command.strip_prefix("GH_HOST=")?;
            rest.split_whitespace().next().map(str::to_string)
        })
}

/// gh's scope hint: `This API operation needs the "delete_repo" scope.`
fn missing_scope(text: &str) -> Option<String> {
    static SCOPE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"needs the "([a-z_:]+)" scope|-s ([a-z_:]+)|must have the ([a-z_:]+) scope"#)
            .expect("valid regex")
    });
    let captures = SCOPE.captures(text)?;
    (1..=3)
        .find_map(|group| captures.get(group))
        .map(|m| m.as_str().to_string())
}

fn is_not_found(tool: ToolKind, exit_code: Option<i32>, lower: &str) -> bool {
    if tool == ToolKind::Az && exit_code == Some(3) {
        return true;
    }
    contains_any(
        lower,
        &[
            "resourcegroupnotfound",
            "resourcenotfound",
            "(notfound)",
            "could not be found",
            "was not found",
            "http 404",
            "could not resolve to a repository",
            "error from server (notfound)",
            "release: not found",
            "repository not found",
            "does not appear to be a git repository",
            "couldn't find remote ref",
            "cannot delete context",
        ],
    ) || NOT_FOUND_TAIL.is_match(lower)
}

/// kubectl's `namespaces "x" not found`, helm's `chart "x" version "y" not found in ...`.
static NOT_FOUND_TAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""[^"]*" not found"#).expect("valid regex"));

fn is_already_exists(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "already exists",
            "alreadyexists",
            "resourceexists",
            "name already exists",
            "cannot re-use a name that is still in use",
            // git: the branch is already on the remote, with commits we do not have.
            "(fetch first)",
            "(non-fast-forward)",
        ],
    )
}

fn is_timeout(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "timed out waiting for the condition",
            "context deadline exceeded",
            "operationtimedout",
            "operation timed out",
            "timed out",
            "(timeout)",
            "gatewaytimeout",
        ],
    ) && !lower.contains("i/o timeout")
}

fn is_transient(lower: &str) -> bool {
    static HTTP_5XX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"http 5\d\d|\(5\d\d\)|status code 5\d\d").expect("valid regex")
    });
    HTTP_5XX.is_match(lower)
        || contains_any(
            lower,
            &[
                "internal server error",
                "internalservererror",
                "internalerror",
                "internal error occurred",
                "bad gateway",
                "service unavailable",
                "serviceunavailable",
                "server is currently unable to handle the request",
                "gateway timeout",
                "please try again later",
                "retryableerror",
            ],
        )
}

fn is_unreachable(lower: &str) -> bool {
    contains_any(
        lower,
        &[
            "connection refused",
            "the connection to the server",
            "connection reset",
            "no such host",
            "i/o timeout",
            "tls handshake timeout",
            "network is unreachable",
            "could not resolve host",
            "failed to establish a new connection",
            "unable to connect to the server",
            "kubernetes cluster unreachable",
            "name or service not known",
            "temporary failure in name resolution",
        ],
    )
}

/// The reset time or delay a rate-limit message names, if any.
pub fn rate_limit_reset(text: &str) -> Option<RateLimitReset> {
    static EPOCH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)x-ratelimit-reset:?\s*(\d{9,11})").expect("valid regex"));
    static STAMP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)resets?(?: at)?:?\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))")
            .expect("valid regex")
    });
    static DELAY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)(?:retry-after:?\s*(\d+)|(?:retry|try again) (?:after|in) (\d+) ?(?:s\b|sec|second))",
        )
        .expect("valid regex")
    });
    if let Some(captures) = EPOCH.captures(text) {
        let epoch: i64 = captures[1].parse().ok()?;
        return OffsetDateTime::from_unix_timestamp(epoch)
            .ok()
            .map(RateLimitReset::At);
    }
    if let Some(captures) = STAMP.captures(text) {
        if let Ok(at) = OffsetDateTime::parse(&captures[1], &Rfc3339) {
            return Some(RateLimitReset::At(at));
        }
    }
    if let Some(captures) = DELAY.captures(text) {
        let seconds = captures
            .get(1)
            .or_else(|| captures.get(2))
            .and_then(|m| m.as_str().parse::<u64>().ok())?;
        return Some(RateLimitReset::After(Duration::from_secs(seconds)));
    }
    None
}
