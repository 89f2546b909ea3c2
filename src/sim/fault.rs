//! Fault injection: rules that make a matching call fail the way the real tool fails.
//!
//! A rule names a program and leading command words (`"az aks create"`, `"gh api user"`,
//! `"kubectl get nodes"`), optionally an argument that must appear, and when it fires
//! (always, on the nth matching call only, or on the first n). Words are matched against
//! the parsed command: the tool's subcommand path followed by its positional arguments,
//! so flags and their values never get in the way.

use super::args::ParsedArgs;

/// How an injected failure looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// az: `(QuotaExceeded) Operation could not be completed as it results in exceeding
    /// approved <family> Cores quota…`.
    QuotaExceeded,
    /// 403 without rate limiting: az `AuthorizationFailed`, gh `HTTP 403`, kubectl
    /// `Forbidden`, helm `forbidden`.
    Forbidden,
    /// Rate limiting with HTTP `status` (403 or 429) and the Unix time the limit resets.
    RateLimited { status: u16, reset_epoch: u64 },
    /// Expired credentials: az `AADSTS700082 … Please run 'az login'`, gh `HTTP 401: Bad
    /// credentials`, kubectl `Unauthorized`.
    AuthExpired,
    /// The command hangs until the runner's timeout or cancellation stops it.
    Timeout,
    /// The target already exists (`Conflict`, `AlreadyExists`, `Name already exists`, …).
    AlreadyExists,
    /// The target does not exist (az exit 3, gh 404, kubectl `NotFound`, helm `release: not found`).
    NotFound,
    /// The program is not installed: the runner reports `RunError::NotFound`.
    ToolMissing,
    /// Any other failure, verbatim.
    Failure { exit_code: i32, stderr: String },
}

/// When a rule fires, counting only the calls it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultWhen {
    Always,
    /// Only the nth matching call (1-based).
    Nth(u32),
    /// The first n matching calls (a transient failure that a retry overcomes).
    FirstN(u32),
    /// The nth matching call (1-based) and every later one.
    From(u32),
}

/// One injection rule. Build with [`Fault::new`] and the chaining setters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub(crate) program: String,
    pub(crate) words: Vec<String>,
    /// The call's words must be exactly `words`, not merely start with them.
    pub(crate) exact: bool,
    pub(crate) arg: Option<String>,
    pub(crate) when: FaultWhen,
    pub(crate) kind: FaultKind,
}

impl Fault {
    /// A rule that always fires on calls whose program and leading command words are
    /// `command` (space separated: `"az aks create"`, `"gh secret set"`, `"helm"`).
    pub fn new(kind: FaultKind, command: &str) -> Self {
        let mut words = command.split_whitespace().map(str::to_string);
        Self {
            program: words.next().unwrap_or_default(),
            words: words.collect(),
            exact: false,
            arg: None,
            when: FaultWhen::Always,
            kind,
        }
    }

    /// Fire only on the nth matching call (1-based).
    pub fn nth(mut self, n: u32) -> Self {
        self.when = FaultWhen::Nth(n);
        self
    }

    /// Fire on the first `n` matching calls, then let calls through.
    pub fn first(mut self, n: u32) -> Self {
        self.when = FaultWhen::FirstN(n);
        self
    }

    /// Fire on the nth matching call (1-based) and on every later one.
    pub fn from(mut self, n: u32) -> Self {
        self.when = FaultWhen::From(n);
        self
    }

    /// Match only calls whose words are exactly the rule's (`kubectl delete` then no
    /// longer matches `kubectl delete namespace x`).
    pub fn exact(mut self) -> Self {
        self.exact = true;
        self
    }

    pub fn always(mut self) -> Self {
        self.when = FaultWhen::Always;
        self
    }

    /// Match only calls with this argument (a token equal to it, or `--flag=<arg>`).
    pub fn with_arg(mut self, arg: impl Into<String>) -> Self {
        self.arg = Some(arg.into());
        self
    }

    pub fn kind(&self) -> &FaultKind {
        &self.kind
    }

    /// Whether the rule is about this call (before counting).
    pub(crate) fn matches(&self, program: &str, words: &[String], args: &[String]) -> bool {
        if self.program != program {
            return false;
        }
        if words.len() < self.words.len()
            || words[..self.words.len()] != self.words[..]
            || (self.exact && words.len() != self.words.len())
        {
            return false;
        }
        match &self.arg {
            None => true,
            Some(wanted) => args
                .iter()
                .any(|a| a == wanted || a.ends_with(&format!("={wanted}"))),
        }
    }

    /// Whether the `count`th matching call (1-based) fails.
    pub(crate) fn fires_on(&self, count: u32) -> bool {
        match self.when {
            FaultWhen::Always => true,
            FaultWhen::Nth(n) => count == n,
            FaultWhen::FirstN(n) => count <= n,
            FaultWhen::From(n) => count >= n,
        }
    }
}

/// A registered rule and how often it matched and fired.
#[derive(Clone, Debug)]
pub(crate) struct FaultRule {
    pub fault: Fault,
    pub matched: u32,
    pub fired: u32,
}

/// Handle to a registered rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FaultId(pub(crate) usize);

/// What the runner does for a fired rule.
pub(crate) enum FaultEffect {
    Reply(super::reply::Reply),
    Hang,
    Missing,
}

/// Details of the call a fault message names.
pub(crate) struct FaultContext<'a> {
    pub program: &'a str,
    pub words: &'a [String],
    pub flags: &'a ParsedArgs,
    /// For az quota messages: (family, location, limit, usage, required).
    pub quota: Option<(String, String, u64, u64, u64)>,
    pub user: String,
    /// The GitHub account of the call's token (git's permission messages name it).
    pub github_login: String,
    pub subscription: String,
}

pub(crate) fn render(kind: &FaultKind, ctx: &FaultContext<'_>) -> FaultEffect {
    use super::reply::Reply;
    let reply = match kind {
        FaultKind::Timeout => return FaultEffect::Hang,
        FaultKind::ToolMissing => return FaultEffect::Missing,
        FaultKind::Failure { exit_code, stderr } => Reply::fail(*exit_code, stderr.clone()),
        _ if ctx.program == "git" => git(kind, ctx),
        FaultKind::QuotaExceeded => quota(ctx),
        FaultKind::Forbidden => forbidden(ctx),
        FaultKind::RateLimited {
            status,
            reset_epoch,
        } => rate_limited(ctx, *status, *reset_epoch),
        FaultKind::AuthExpired => auth_expired(ctx),
        FaultKind::AlreadyExists => already_exists(ctx),
        FaultKind::NotFound => not_found(ctx),
    };
    FaultEffect::Reply(reply)
}

fn word<'a>(ctx: &'a FaultContext<'a>, index: usize) -> &'a str {
    ctx.words.get(index).map(String::as_str).unwrap_or("")
}

/// The REST URL a gh call talks to, as gh prints it after an HTTP error.
fn gh_url(ctx: &FaultContext<'_>) -> String {
    let base = "https://api.github.com";
    match (word(ctx, 0), word(ctx, 1)) {
        ("api", endpoint) => format!("{base}/{}", endpoint.trim_start_matches('/')),
        ("repo", "create") => format!("{base}/graphql"),
        ("repo", "view") => format!("{base}/graphql"),
        ("repo", _) => format!("{base}/repos/{}", word(ctx, 2)),
        ("secret", _) | ("label", _) => {
            let repo = ctx.flags.value("repo").unwrap_or("OWNER/REPO");
            format!("{base}/repos/{repo}/{}s", word(ctx, 0))
        }
        _ => format!("{base}/"),
    }
}

fn az_error(code: &str, message: &str) -> String {
    format!("ERROR: ({code}) {message}\nCode: {code}\nMessage: {message}")
}

pub(crate) fn quota_message(
    family: &str,
    location: &str,
    limit: u64,
    usage: u64,
    required: u64,
) -> String {
    let message = format!(
        "Operation could not be completed as it results in exceeding approved {family} Cores quota. \
         Additional details - Deployment Model: Resource Manager, Location: {location}, \
         Current Limit: {limit}, Current Usage: {usage}, Additional Required: {required}, \
         (Minimum) New Limit Required: {}. Submit a request for Quota increase at \
         https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView/Parameters/%7B%22subscriptionId%22:%22%22,%22command%22:%22openQuotaApprovalBlade%22%7D \
         by specifying parameters listed in the 'Details' section for deployment to succeed. \
         Please read more about quota limits at https://docs.microsoft.com/en-us/azure/azure-supportability/per-vm-quota-requests",
        usage + required
    );
    az_error("QuotaExceeded", &message)
}

fn quota(ctx: &FaultContext<'_>) -> super::reply::Reply {
    use super::reply::Reply;
    let (family, location, limit, usage, required) = ctx.quota.clone().unwrap_or_else(|| {
        (
            "standardDSv2Family".to_string(),
            ctx.flags.value("location").unwrap_or("eastus").to_string(),
            10,
            8,
            6,
        )
    });
    match ctx.program {
        "az" => Reply::fail(1, quota_message(&family, &location, limit, usage, required)),
        "kubectl" => Reply::fail(
            1,
            "Error from server (Forbidden): exceeded quota: compute-resources, requested: pods=1, used: pods=10, limited: pods=10",
        ),
        _ => Reply::fail(1, format!("Error: exceeded quota for {family} in {location}")),
    }
}

fn forbidden(ctx: &FaultContext<'_>) -> super::reply::Reply {
    use super::reply::Reply;
    match ctx.program {
        "az" => {
            let rg = ctx.flags.value("resource-group").unwrap_or("");
            let (action, scope) = match (word(ctx, 0), word(ctx, 1)) {
                ("aks", verb) => (
                    format!(
                        "Microsoft.ContainerService/managedClusters/{}",
                        if verb == "delete" { "delete" } else if verb == "create" { "write" } else { "read" }
                    ),
                    format!(
                        "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{}",
                        ctx.subscription,
                        ctx.flags.value("name").unwrap_or("")
                    ),
                ),
                ("group", verb) => (
                    format!(
                        "Microsoft.Resources/subscriptions/resourcegroups/{}",
                        if verb == "delete" { "delete" } else if verb == "create" { "write" } else { "read" }
                    ),
                    format!(
                        "/subscriptions/{}/resourcegroups/{}",
                        ctx.subscription,
                        ctx.flags.value("name").or(ctx.flags.value("resource-group")).unwrap_or("")
                    ),
                ),
                _ => (
                    "Microsoft.Resources/subscriptions/read".to_string(),
                    format!("/subscriptions/{}", ctx.subscription),
                ),
            };
            Reply::fail(
                1,
                az_error(
                    "AuthorizationFailed",
                    &format!(
                        "The client '{}' with object id '00000000-0000-0000-0000-00000000a11c' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                        ctx.user
                    ),
                ),
            )
        }
        "gh" => {
            let url = gh_url(ctx);
            if word(ctx, 0) == "repo" && word(ctx, 1) == "delete" {
                Reply::fail(
                    1,
                    format!(
                        "HTTP 403: Must have admin rights to Repository. ({url})\nThis API operation needs the \"delete_repo\" scope. To request it, run:  gh auth refresh -h github.com -s delete_repo"
                    ),
                )
            } else {
                Reply::fail(1, format!("HTTP 403: Resource not accessible by personal access token ({url})"))
                    .with_stdout(r#"{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest","status":"403"}"#)
            }
        }
        "kubectl" => {
            let resource = if word(ctx, 0) == "get" || word(ctx, 0) == "delete" {
                word(ctx, 1).to_string()
            } else {
                "namespaces".to_string()
            };
            Reply::fail(
                1,
                format!(
                    "Error from server (Forbidden): {resource} is forbidden: User \"clusterUser\" cannot {} resource \"{resource}\" in API group \"\" at the cluster scope",
                    if word(ctx, 0).is_empty() { "get" } else { word(ctx, 0) }
                ),
            )
        }
        _ => Reply::fail(
            1,
            "Error: query: failed to query with labels: secrets is forbidden: User \"clusterUser\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\"",
        ),
    }
}

fn rate_limited(ctx: &FaultContext<'_>, status: u16, reset_epoch: u64) -> super::reply::Reply {
    use super::reply::Reply;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let retry_after = reset_epoch.saturating_sub(now);
    match ctx.program {
        "gh" => {
            let url = gh_url(ctx);
            let headline = if status == 429 {
                format!("HTTP 429: Too Many Requests ({url})")
            } else {
                format!(
                    "HTTP 403: API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0400:1F2E:3D4C5B:6A7980:6745A0B1 and timestamp {}. ({url})",
                    rfc3339_utc(now)
                )
            };
            Reply::fail(
                1,
                format!(
                    "{headline}\nX-RateLimit-Limit: 5000\nX-RateLimit-Remaining: 0\nX-RateLimit-Reset: {reset_epoch}\nRetry-After: {retry_after}"
                ),
            )
            .with_stdout(r#"{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"403"}"#)
        }
        "az" => Reply::fail(
            1,
            format!(
                "{}\nRetry-After: {retry_after}",
                az_error(
                    "TooManyRequests",
                    "The request is being throttled as the limit has been reached for operation type - Write_ObservationWindow_00:01:00. For more information, refer to - https://aka.ms/throttling",
                )
            ),
        ),
        "kubectl" => Reply::fail(
            1,
            "Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later",
        ),
        _ => Reply::fail(
            1,
            "Error: the server has received too many requests and has asked us to try again later",
        ),
    }
}

fn auth_expired(ctx: &FaultContext<'_>) -> super::reply::Reply {
    use super::reply::Reply;
    match ctx.program {
        "az" => Reply::fail(1, az_expired_message()),
        "gh" => Reply::fail(
            1,
            format!("HTTP 401: Bad credentials ({})\nTry authenticating with:  gh auth login", gh_url(ctx)),
        )
        .with_stdout(r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#),
        "kubectl" => Reply::fail(1, "error: You must be logged in to the server (Unauthorized)"),
        _ => Reply::fail(
            1,
            "Error: Kubernetes cluster unreachable: the server has asked for the client to provide credentials",
        ),
    }
}

/// az's answer when the refresh token expired.
pub(crate) fn az_expired_message() -> String {
    "ERROR: AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-08-01T09:12:44.0000000Z and was inactive for 90.00:00:00. Trace ID: 8c1e7a52-63f9-4c1b-9b7e-2f8e1d0c4a00 Correlation ID: 0b5d7f21-1a2b-4c3d-8e9f-a0b1c2d3e4f5 Timestamp: 2026-11-01 10:00:00Z\nPlease run 'az login' to setup account.".to_string()
}

fn already_exists(ctx: &FaultContext<'_>) -> super::reply::Reply {
    use super::reply::Reply;
    match ctx.program {
        "az" => Reply::fail(
            1,
            az_error(
                "Conflict",
                &format!(
                    "The resource '{}' already exists and the requested operation conflicts with it.",
                    ctx.flags.value("name").unwrap_or("")
                ),
            ),
        ),
        "gh" => match (word(ctx, 0), word(ctx, 1)) {
            ("repo", "create") => Reply::fail(1, "GraphQL: Name already exists on this account (createRepository)"),
            ("label", "create") => Reply::fail(
                1,
                format!(
                    "label with name \"{}\" already exists; use `--force` to update its color and description",
                    word(ctx, 2)
                ),
            ),
            _ => Reply::fail(1, format!("HTTP 422: Validation Failed ({})\nalready_exists", gh_url(ctx))),
        },
        "kubectl" => {
            let (resource, name) = match word(ctx, 0) {
                "create" => (format!("{}s", word(ctx, 1)), word(ctx, 2).to_string()),
                _ => (word(ctx, 1).to_string(), word(ctx, 2).to_string()),
            };
            Reply::fail(1, format!("Error from server (AlreadyExists): {resource} \"{name}\" already exists"))
        }
        _ => Reply::fail(1, "Error: INSTALLATION FAILED: cannot re-use a name that is still in use"),
    }
}

fn not_found(ctx: &FaultContext<'_>) -> super::reply::Reply {
    use super::reply::Reply;
    match ctx.program {
        "az" => {
            let rg = ctx.flags.value("resource-group").unwrap_or("");
            match word(ctx, 0) {
                "group" => {
                    let name = ctx.flags.value("name").or(ctx.flags.value("resource-group")).unwrap_or("");
                    Reply::fail(3, az_error("ResourceGroupNotFound", &format!("Resource group '{name}' could not be found.")))
                }
                _ => Reply::fail(
                    3,
                    az_error(
                        "ResourceNotFound",
                        &format!(
                            "The Resource 'Microsoft.ContainerService/managedClusters/{}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                            ctx.flags.value("name").unwrap_or("")
                        ),
                    ),
                ),
            }
        }
        "gh" => match (word(ctx, 0), word(ctx, 1)) {
            ("repo", "view") => Reply::fail(
                1,
                format!(
                    "GraphQL: Could not resolve to a Repository with the name '{}'. (repository)",
                    word(ctx, 2)
                ),
            ),
            _ => Reply::fail(1, format!("HTTP 404: Not Found ({})", gh_url(ctx)))
                .with_stdout(r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}"#),
        },
        "kubectl" => Reply::fail(
            1,
            format!(
                "Error from server (NotFound): {} \"{}\" not found",
                word(ctx, 1),
                word(ctx, 2)
            ),
        ),
        _ => Reply::fail(1, "Error: release: not found"),
    }
}

/// git's own messages for a remote (the URL among the words) that refuses.
fn git(kind: &FaultKind, ctx: &FaultContext<'_>) -> super::reply::Reply {
    use super::reply::Reply;
    let url = ctx
        .words
        .iter()
        .find(|w| w.starts_with("https://"))
        .map(|w| w.trim_end_matches('/').to_string())
        .unwrap_or_else(|| "https://github.com/".to_string());
    let slug = url
        .trim_start_matches("https://github.com/")
        .trim_end_matches(".git");
    let branch = ctx.words.get(2).map(String::as_str).unwrap_or("main");
    match kind {
        FaultKind::AuthExpired => Reply::fail(
            128,
            format!(
                "remote: Invalid username or token. Password authentication is not supported for Git operations.\nfatal: Authentication failed for '{url}/'"
            ),
        ),
        FaultKind::Forbidden => Reply::fail(
            128,
            format!(
                "remote: Permission to {slug}.git denied to {}.\nfatal: unable to access '{url}/': The requested URL returned error: 403",
                ctx.github_login
            ),
        ),
        FaultKind::NotFound => Reply::fail(
            128,
            format!("remote: Repository not found.\nfatal: repository '{url}/' not found"),
        ),
        FaultKind::RateLimited { .. } => Reply::fail(
            128,
            format!(
                "remote: API rate limit exceeded for user ID 1.\nfatal: unable to access '{url}/': The requested URL returned error: 429"
            ),
        ),
        FaultKind::AlreadyExists => Reply::fail(
            1,
            format!(
                "To {url}\n ! [rejected]        {branch} -> {branch} (fetch first)\nerror: failed to push some refs to '{url}'\nhint: Updates were rejected because the remote contains work that you do not\nhint: have locally. This is usually caused by another repository pushing to\nhint: the same ref."
            ),
        ),
        FaultKind::QuotaExceeded => Reply::fail(
            1,
            format!(
                "remote: error: GH001: this push exceeds the repository's storage quota.\nerror: failed to push some refs to '{url}'"
            ),
        ),
        FaultKind::Timeout | FaultKind::ToolMissing | FaultKind::Failure { .. } => {
            Reply::fail(1, "fatal: unexpected fault")
        }
    }
}

/// `2026-11-27 00:12:09 UTC` as GitHub prints timestamps in rate-limit messages.
fn rfc3339_utc(epoch: u64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(epoch as i64)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn rules_match_program_words_and_argument() {
        let rule = Fault::new(FaultKind::NotFound, "kubectl get nodes").with_arg("--context=c1");
        let args = words("--context=c1 get nodes -o json");
        assert!(rule.matches("kubectl", &words("get nodes"), &args));
        assert!(!rule.matches("kubectl", &words("get pods"), &args));
        assert!(!rule.matches(
            "kubectl",
            &words("get nodes"),
            &words("--context c2 get nodes")
        ));
        assert!(!rule.matches("helm", &words("get nodes"), &args));
        let any = Fault::new(FaultKind::ToolMissing, "helm");
        assert!(any.matches("helm", &words("version"), &[]));
    }

    #[test]
    fn when_counts_matching_calls() {
        let nth = Fault::new(FaultKind::NotFound, "az").nth(2);
        assert!(!nth.fires_on(1) && nth.fires_on(2) && !nth.fires_on(3));
        let first = Fault::new(FaultKind::NotFound, "az").first(2);
        assert!(first.fires_on(1) && first.fires_on(2) && !first.fires_on(3));
        assert!(Fault::new(FaultKind::NotFound, "az").fires_on(7));
        let from = Fault::new(FaultKind::NotFound, "az").from(2);
        assert!(!from.fires_on(1) && from.fires_on(2) && from.fires_on(9));
        let exact = Fault::new(FaultKind::NotFound, "kubectl delete").exact();
        assert!(exact.matches("kubectl", &words("delete"), &[]));
        assert!(!exact.matches("kubectl", &words("delete namespace x"), &[]));
    }
}
