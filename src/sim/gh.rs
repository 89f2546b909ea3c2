//! The simulated GitHub CLI (`gh` 2.x) talking to a simulated github.com, or the world's
//! GitHub Enterprise Server: one host; any other is unreachable. Output is what gh
//! prints when stdout is not a terminal (no success chatter, compact JSON with sorted keys).

use std::collections::{BTreeMap, BTreeSet};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::args::{switch, value, ArgError, Flag};
use super::command::{lookup_pflag, CommandDef, Ctx, LookupError, ToolCommand};
use super::git;
use super::reply::{compact_json, Reply};
use super::ssh;
use super::state::{default_labels, key2, DeployKey, GithubRepo, Label};
use super::world::parse_repo_ref;
use base64::Engine as _;

pub const VERSION: &str = "2.103.3";

/// The host of the simulated GitHub (github.com unless the world is an Enterprise Server).
fn github_host<'a>(ctx: &'a Ctx<'_>) -> &'a str {
    ctx.world.github.host()
}

/// `https://HOST`, the web address of the simulated GitHub.
fn web_base(ctx: &Ctx<'_>) -> String {
    format!("https://{}", github_host(ctx))
}

/// The REST API's base: `https://api.github.com`, or `https://HOST/api/v3` on an
/// Enterprise Server.
fn api_base(ctx: &Ctx<'_>) -> String {
    let host = github_host(ctx);
    if host == "github.com" {
        "https://api.github.com".to_string()
    } else {
        format!("https://{host}/api/v3")
    }
}

/// [`api_base`] for the other simulated services (GitHub Actions).
pub(crate) fn api_base_of(ctx: &Ctx<'_>) -> String {
    api_base(ctx)
}

/// The variables gh takes a token for `host` from, in order (`gh help environment`):
/// `GH_TOKEN`, `GITHUB_TOKEN` for github.com and `*.ghe.com`; `GH_ENTERPRISE_TOKEN`,
/// `GITHUB_ENTERPRISE_TOKEN` for an Enterprise Server. gh ignores the others there.
fn token_vars(host: &str) -> [&'static str; 2] {
    if host == "github.com" || host.ends_with(".ghe.com") {
        ["GH_TOKEN", "GITHUB_TOKEN"]
    } else {
        ["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"]
    }
}

/// The host a gh command addresses, as gh decides it: `--hostname` (auth, api), the host
/// of a `HOST/OWNER/NAME` repository argument, else `GH_HOST`, else github.com. `None`
/// for a command that addresses no host (`--version`).
pub(crate) fn addressed_host(cmd: &ToolCommand, gh_host: Option<&str>) -> Option<String> {
    if cmd.path_is(&["version"]) {
        return None;
    }
    let explicit = cmd.value("hostname").map(str::to_string).or_else(|| {
        let repository =
            cmd.value("repo")
                .or_else(|| match cmd.path.first().map(String::as_str) {
                    Some("repo") => cmd.arg(0),
                    _ => None,
                })?;
        let parts: Vec<&str> = repository.split('/').collect();
        (parts.len() == 3).then(|| parts[0].to_string())
    });
    Some(
        explicit
            .or_else(|| gh_host.filter(|h| !h.is_empty()).map(str::to_string))
            .unwrap_or_else(|| "github.com".to_string())
            .to_ascii_lowercase(),
    )
}

/// The host of a gh command line with its `GH_HOST`, for the call record.
pub(crate) fn addressed_host_of(args: &[String], gh_host: Option<&str>) -> Option<String> {
    addressed_host(&parse(args).ok()?, gh_host)
}

/// A call to another host than the simulated GitHub's: the simulated network has no
/// route there, so gh fails as it does when the host does not resolve (`cmd/gh/main.go`),
/// unless it has no credentials for that host at all, which it checks first.
fn other_host(ctx: &Ctx<'_>, host: &str) -> Reply {
    let has_token = token_vars(host)
        .iter()
        .any(|var| ctx.inv.env(var).is_some());
    if !has_token {
        return Reply::fail(
            4,
            format!("To get started with GitHub CLI, please run:  gh auth login -h {host}\nAlternatively, populate the {} environment variable with a GitHub API authentication token.", token_vars(host)[0]),
        );
    }
    let api_host = if host == "github.com" {
        "api.github.com"
    } else {
        host
    };
    Reply::fail(
        1,
        format!("error connecting to {api_host}\ncheck your internet connection or https://githubstatus.com"),
    )
}

const GLOBAL: &[Flag] = &[switch("help", None), switch("version", None)];
const REPO: Flag = value("repo", Some('R'));
const JSON: Flag = value("json", None);
const JQ: Flag = value("jq", Some('q'));
const TEMPLATE: Flag = value("template", Some('t'));

const DEFS: &[CommandDef] = &[
    CommandDef {
        path: &["version"],
        flags: &[],
    },
    CommandDef {
        path: &["auth", "token"],
        flags: &[value("hostname", Some('h')), value("user", Some('u'))],
    },
    CommandDef {
        path: &["auth", "status"],
        flags: &[
            value("hostname", Some('h')),
            switch("show-token", Some('t')),
            switch("active", Some('a')),
        ],
    },
    CommandDef {
        path: &["api"],
        flags: &[
            value("method", Some('X')),
            value("hostname", None),
            JQ,
            value("header", Some('H')),
            value("field", Some('F')),
            value("raw-field", Some('f')),
            switch("paginate", None),
            switch("silent", None),
            switch("include", Some('i')),
            value("input", None),
            TEMPLATE,
            value("cache", None),
            value("preview", Some('p')),
            switch("slurp", None),
            switch("verbose", None),
        ],
    },
    CommandDef {
        path: &["repo", "view"],
        flags: &[
            JSON,
            JQ,
            TEMPLATE,
            switch("web", Some('w')),
            value("branch", Some('b')),
        ],
    },
    CommandDef {
        path: &["repo", "create"],
        flags: &[
            switch("public", None),
            switch("private", None),
            switch("internal", None),
            value("description", Some('d')),
            value("homepage", Some('h')),
            value("team", Some('t')),
            value("template", Some('p')),
            switch("include-all-branches", None),
            switch("disable-issues", None),
            switch("disable-wiki", None),
            switch("add-readme", None),
            value("gitignore", Some('g')),
            value("license", Some('l')),
            switch("clone", Some('c')),
            value("source", Some('s')),
            value("remote", Some('r')),
            switch("push", None),
        ],
    },
    CommandDef {
        path: &["repo", "edit"],
        flags: &[
            value("add-topic", None),
            value("remove-topic", None),
            value("description", Some('d')),
            value("homepage", Some('h')),
            value("visibility", None),
            switch("accept-visibility-change-consequences", None),
            value("default-branch", None),
            switch("enable-issues", None),
            switch("enable-wiki", None),
            switch("enable-projects", None),
            switch("delete-branch-on-merge", None),
            switch("template", None),
        ],
    },
    CommandDef {
        path: &["repo", "delete"],
        flags: &[switch("yes", None), switch("confirm", None)],
    },
    CommandDef {
        path: &["repo", "list"],
        flags: &[
            JSON,
            JQ,
            TEMPLATE,
            value("limit", Some('L')),
            value("visibility", None),
            switch("source", None),
            switch("fork", None),
            switch("archived", None),
            switch("no-archived", None),
            value("language", Some('l')),
            value("topic", None),
        ],
    },
    CommandDef {
        path: &["secret", "set"],
        flags: &[
            REPO,
            value("body", Some('b')),
            value("env", Some('e')),
            value("org", Some('o')),
            value("visibility", Some('v')),
            value("repos", Some('r')),
            switch("no-store", None),
            value("env-file", Some('f')),
            value("app", Some('a')),
            switch("user", Some('u')),
        ],
    },
    CommandDef {
        path: &["pr", "list"],
        flags: &[
            REPO,
            JSON,
            JQ,
            TEMPLATE,
            value("base", Some('B')),
            value("head", Some('H')),
            value("state", Some('s')),
            value("limit", Some('L')),
            value("author", Some('A')),
            value("assignee", Some('a')),
            value("label", Some('l')),
            value("search", Some('S')),
            value("app", None),
            switch("draft", Some('d')),
            switch("web", Some('w')),
        ],
    },
    CommandDef {
        path: &["pr", "view"],
        flags: &[
            REPO,
            JSON,
            JQ,
            TEMPLATE,
            switch("comments", Some('c')),
            switch("web", Some('w')),
        ],
    },
    CommandDef {
        path: &["pr", "merge"],
        flags: &[
            REPO,
            switch("admin", None),
            value("author-email", Some('A')),
            switch("auto", None),
            value("body", Some('b')),
            value("body-file", Some('F')),
            switch("delete-branch", Some('d')),
            switch("disable-auto", None),
            value("match-head-commit", None),
            switch("merge", Some('m')),
            switch("rebase", Some('r')),
            switch("squash", Some('s')),
            value("subject", Some('t')),
        ],
    },
    CommandDef {
        path: &["workflow", "run"],
        flags: &[
            REPO,
            value("ref", Some('r')),
            value("raw-field", Some('f')),
            value("field", Some('F')),
            switch("json", None),
        ],
    },
    CommandDef {
        path: &["run", "list"],
        flags: &[
            REPO,
            JSON,
            JQ,
            TEMPLATE,
            value("limit", Some('L')),
            value("workflow", Some('w')),
            value("branch", Some('b')),
            value("user", Some('u')),
            value("event", Some('e')),
            value("status", Some('s')),
            value("created", None),
            value("commit", Some('c')),
            switch("all", Some('a')),
        ],
    },
    CommandDef {
        path: &["secret", "list"],
        flags: &[
            REPO,
            JSON,
            JQ,
            TEMPLATE,
            value("env", Some('e')),
            value("org", Some('o')),
            value("app", Some('a')),
            switch("user", Some('u')),
        ],
    },
    CommandDef {
        path: &["secret", "delete"],
        flags: &[
            REPO,
            value("env", Some('e')),
            value("org", Some('o')),
            value("app", Some('a')),
            switch("user", Some('u')),
        ],
    },
    CommandDef {
        path: &["label", "create"],
        flags: &[
            REPO,
            value("color", Some('c')),
            value("description", Some('d')),
            switch("force", Some('f')),
        ],
    },
    CommandDef {
        path: &["label", "list"],
        flags: &[
            REPO,
            JSON,
            JQ,
            TEMPLATE,
            value("limit", Some('L')),
            value("search", Some('S')),
            value("sort", None),
            value("order", None),
            switch("web", Some('w')),
        ],
    },
    CommandDef {
        path: &["label", "delete"],
        flags: &[REPO, switch("yes", None)],
    },
];

pub(crate) fn parse(args: &[String]) -> Result<ToolCommand, Reply> {
    if args.first().map(String::as_str) == Some("--version") {
        return Ok(ToolCommand {
            path: vec!["version".into()],
            flags: Default::default(),
        });
    }
    lookup_pflag(args, GLOBAL, DEFS).map(|(command, _)| command).map_err(|e| match e {
        LookupError::UnknownCommand { word, parent } => {
            let parent = std::iter::once("gh".to_string()).chain(parent).collect::<Vec<_>>().join(" ");
            Reply::fail(1, format!("unknown command \"{word}\" for \"{parent}\"\n\nUsage:  {parent} <command> [flags]"))
        }
        LookupError::GroupOnly { path } => {
            let name = std::iter::once("gh".to_string()).chain(path).collect::<Vec<_>>().join(" ");
            Reply::ok(format!("Work seamlessly with GitHub from the command line.\n\nUSAGE\n  {name} <command> <subcommand> [flags]"))
        }
        LookupError::Args { error, path } => {
            let usage = format!("\n\nUsage:  gh {} [flags]", path.join(" "));
            let message = match error {
                ArgError::UnknownFlag(flag) => format!("unknown flag: {}", flag.split('=').next().unwrap_or(&flag)),
                ArgError::UnknownShorthand(letter, token) => format!("unknown shorthand flag: '{letter}' in {token}"),
                ArgError::MissingValue(flag) => format!("flag needs an argument: {flag}"),
                ArgError::InvalidBool { flag, value } => {
                    format!("invalid argument \"{value}\" for \"{flag}\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax")
                }
                other => format!("{other:?}"),
            };
            Reply::fail(1, format!("{message}{usage}"))
        }
    })
}

pub(crate) fn run(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Reply {
    match dispatch(ctx, cmd) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn dispatch(ctx: &mut Ctx<'_>, cmd: &ToolCommand) -> Result<Reply, Reply> {
    if cmd.value("jq").is_some()
        || cmd.value("template").is_some() && !cmd.path_is(&["repo", "create"])
    {
        return Err(Reply::fail(
            1,
            "--jq and --template are not simulated; ask for --json and read the fields",
        ));
    }
    let path: Vec<&str> = cmd.path.iter().map(String::as_str).collect();
    if let Some(host) = addressed_host(cmd, ctx.inv.env("GH_HOST")) {
        if host != github_host(ctx) {
            if path.as_slice() == ["auth", "token"] {
                // Only the variable of that host could answer: no login is stored for it.
                if let Some(token) = token_vars(&host).iter().find_map(|var| ctx.inv.env(var)) {
                    return Ok(Reply::ok(token));
                }
                return Err(Reply::fail(1, format!("no oauth token found for {host}")));
            }
            return Err(other_host(ctx, &host));
        }
    }
    match path.as_slice() {
        ["version"] => Ok(Reply::ok(format!(
            "gh version {VERSION} (2026-10-26)\nhttps://github.com/cli/cli/releases/tag/v{VERSION}"
        ))),
        ["auth", "token"] => auth_token(ctx),
        ["auth", "status"] => {
            let login = authenticate(ctx)?;
            Ok(Reply::ok(format!(
                "{host}\n  ✓ Logged in to {host} account {login} ({var})\n  - Active account: true\n  - Git operations protocol: https\n  - Token scopes: {}",
                scopes(ctx, &login).iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "),
                host = github_host(ctx),
                var = token_vars(github_host(ctx))[0],
            )))
        }
        ["api"] => {
            let login = authenticate(ctx)?;
            api(ctx, cmd, &login)
        }
        ["repo", "view"] => {
            let login = authenticate(ctx)?;
            repo_view(ctx, cmd, &login)
        }
        ["repo", "create"] => {
            let login = authenticate(ctx)?;
            repo_create(ctx, cmd, &login)
        }
        ["repo", "delete"] => {
            let login = authenticate(ctx)?;
            repo_delete(ctx, cmd, &login)
        }
        ["repo", "edit"] => {
            let login = authenticate(ctx)?;
            repo_edit(ctx, cmd, &login)
        }
        ["repo", "list"] => {
            let login = authenticate(ctx)?;
            repo_list(ctx, cmd, &login)
        }
        ["pr", "list"] => {
            let login = authenticate(ctx)?;
            pr_list(ctx, cmd, &login)
        }
        ["pr", "view"] => {
            let login = authenticate(ctx)?;
            pr_view(ctx, cmd, &login)
        }
        ["pr", "merge"] => {
            let login = authenticate(ctx)?;
            pr_merge(ctx, cmd, &login)
        }
        ["workflow", "run"] => {
            let login = authenticate(ctx)?;
            workflow_run(ctx, cmd, &login)
        }
        ["run", "list"] => {
            let login = authenticate(ctx)?;
            run_list(ctx, cmd, &login)
        }
        ["secret", action] => {
            let login = authenticate(ctx)?;
            secret(ctx, cmd, &login, action)
        }
        ["label", action] => {
            let login = authenticate(ctx)?;
            label(ctx, cmd, &login, action)
        }
        _ => Err(Reply::fail(
            1,
            format!("gh {} is not simulated", path.join(" ")),
        )),
    }
}

/// The token gh would use: the host's variables ([`token_vars`]), then the stored login.
fn authenticate(ctx: &Ctx<'_>) -> Result<String, Reply> {
    let token = token_vars(github_host(ctx))
        .iter()
        .find_map(|var| ctx.inv.env(var))
        .map(str::to_string);
    match token {
        Some(token) => ctx.world.login_for_token(&token).ok_or_else(|| {
            Reply::fail(1, format!("HTTP 401: Bad credentials ({api}/graphql)\nTry authenticating with:  gh auth login", api = api_base(ctx)))
        }),
        None => ctx.world.github.stored_login.clone().ok_or_else(|| {
            Reply::fail(
                4,
                "To get started with GitHub CLI, please run:  gh auth login\nAlternatively, populate the GH_TOKEN environment variable with a GitHub API authentication token.",
            )
        }),
    }
}

fn scopes(ctx: &Ctx<'_>, login: &str) -> Vec<String> {
    ctx.world
        .github
        .users
        .get(&login.to_ascii_lowercase())
        .map(|u| u.scopes.clone())
        .unwrap_or_default()
}

fn auth_token(ctx: &Ctx<'_>) -> Result<Reply, Reply> {
    if let Some(token) = token_vars(github_host(ctx))
        .iter()
        .find_map(|var| ctx.inv.env(var))
    {
        return Ok(Reply::ok(token));
    }
    let stored = ctx
        .world
        .github
        .stored_login
        .as_deref()
        .and_then(|login| ctx.world.token_of(login));
    match stored {
        Some(token) => Ok(Reply::ok(token.expose_secret())),
        None => Err(Reply::fail(
            1,
            format!("no oauth token found for {}", github_host(ctx)),
        )),
    }
}

/// `gh api` failure: gh prints `gh: <message> (HTTP <status>)` and the body on stdout.
fn api_error(status: u16, message: &str, docs: &str) -> Reply {
    Reply::fail(1, format!("gh: {message} (HTTP {status})")).with_stdout(compact_json(&json!({
        "message": message,
        "documentation_url": docs,
        "status": status.to_string(),
    })))
}

fn api_not_found(docs: &str) -> Reply {
    api_error(404, "Not Found", docs)
}

fn user_json(ctx: &Ctx<'_>, login: &str) -> Option<Value> {
    let user = ctx.world.github.users.get(&login.to_ascii_lowercase())?;
    let public_repos = ctx
        .world
        .github
        .repos
        .values()
        .filter(|r| r.owner.eq_ignore_ascii_case(login) && r.visibility == "PUBLIC")
        .count();
    Some(json!({
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
        "bio": null,
        "blog": "",
        "company": null,
        "created_at": "2020-03-14T09:26:53Z",
        "email": null,
        "followers": 0,
        "following": 0,
        "gravatar_id": "",
        "hireable": null,
        "html_url": format!("{web}/{}", user.login, web = web_base(ctx)),
        "id": user.id,
        "location": null,
        "login": user.login,
        "name": user.name,
        "node_id": format!("U_kgDO{:08}", user.id),
        "public_gists": 0,
        "public_repos": public_repos,
        "site_admin": false,
        "twitter_username": null,
        "type": "User",
        "updated_at": "2026-11-01T08:00:00Z",
        "url": format!("{api}/users/{}", user.login, api = api_base(ctx)),
    }))
}

fn org_json(ctx: &Ctx<'_>, org: &str) -> Option<Value> {
    let org = ctx.world.github.orgs.get(&org.to_ascii_lowercase())?;
    Some(json!({
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", org.id),
        "description": null,
        "id": org.id,
        "login": org.login,
        "members_can_create_repositories": org.members_can_create_repositories,
        "node_id": format!("O_kgDO{:08}", org.id),
        "type": "Organization",
        "url": format!("{api}/orgs/{}", org.login, api = api_base(ctx)),
    }))
}

fn owner_json(ctx: &Ctx<'_>, owner: &str) -> Value {
    let is_org = ctx
        .world
        .github
        .orgs
        .contains_key(&owner.to_ascii_lowercase());
    let id = if is_org {
        ctx.world.github.orgs[&owner.to_ascii_lowercase()].id
    } else {
        ctx.world
            .github
            .users
            .get(&owner.to_ascii_lowercase())
            .map_or(0, |u| u.id)
    };
    json!({"login": owner, "id": id, "type": if is_org { "Organization" } else { "User" }})
}

fn permission(ctx: &Ctx<'_>, login: &str, key: &str) -> &'static str {
    if ctx.world.can_admin_repo(login, key) {
        "ADMIN"
    } else if ctx.world.can_read_repo(login, key) {
        let repo = &ctx.world.github.repos[key];
        let member = ctx
            .world
            .github
            .orgs
            .get(&repo.owner.to_ascii_lowercase())
            .is_some_and(|o| o.members.contains_key(&login.to_ascii_lowercase()));
        if member || repo.collaborators.contains(&login.to_ascii_lowercase()) {
            "WRITE"
        } else {
            "READ"
        }
    } else {
        "NONE"
    }
}

fn repo_rest_json(ctx: &Ctx<'_>, repo: &GithubRepo, login: &str) -> Value {
    let key = key2(&repo.owner, &repo.name);
    let perm = permission(ctx, login, &key);
    json!({
        "archived": false,
        "created_at": repo.created_at,
        "topics": repo.topics,
        "clone_url": format!("{web}/{}.git", repo.full_name(), web = web_base(ctx)),
        "default_branch": "main",
        "description": if repo.description.is_empty() { Value::Null } else { json!(repo.description) },
        "disabled": false,
        "fork": false,
        "full_name": repo.full_name(),
        "html_url": format!("{web}/{}", repo.full_name(), web = web_base(ctx)),
        "id": repo.id,
        "name": repo.name,
        "node_id": format!("R_kgDO{:08}", repo.id),
        "owner": owner_json(ctx, &repo.owner),
        "permissions": {"admin": perm == "ADMIN", "maintain": perm == "ADMIN", "push": perm != "READ", "triage": perm != "READ", "pull": true},
        "private": repo.visibility != "PUBLIC",
        "ssh_url": format!("git@{host}:{}.git", repo.full_name(), host = github_host(ctx)),
        "url": format!("{api}/repos/{}", repo.full_name(), api = api_base(ctx)),
        "visibility": repo.visibility.to_ascii_lowercase(),
    })
}

fn api(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let Some(endpoint) = cmd.arg(0) else {
        return Err(Reply::fail(1, "accepts 1 arg(s), received 0"));
    };
    // gh's default: GET, or POST once a body is given (`--input`, `-f`, `-F`).
    let with_body = ["input", "field", "raw-field"]
        .iter()
        .any(|flag| cmd.value(flag).is_some());
    let method = cmd
        .value("method")
        .unwrap_or(if with_body { "POST" } else { "GET" })
        .to_ascii_uppercase();
    let (route, query) = match endpoint.trim_start_matches('/').split_once('?') {
        Some((route, query)) => (route.to_string(), query.to_string()),
        None => (endpoint.trim_start_matches('/').to_string(), String::new()),
    };
    let parts: Vec<&str> = route.split('/').collect();
    let ok = |value: Value| Ok(Reply::ok(compact_json(&value)));
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["user"]) => ok(user_json(ctx, login).unwrap_or(json!({"login": login}))),
        ("GET", ["users", who]) => match user_json(ctx, who).or_else(|| org_json(ctx, who)) {
            Some(v) => ok(v),
            None => Err(api_not_found(
                "https://docs.github.com/rest/users/users#get-a-user",
            )),
        },
        ("GET", ["orgs", org]) => match org_json(ctx, org) {
            Some(v) => ok(v),
            None => Err(api_not_found(
                "https://docs.github.com/rest/orgs/orgs#get-an-organization",
            )),
        },
        ("GET", ["user", "orgs"]) => {
            let orgs: Vec<Value> = ctx
                .world
                .github
                .orgs
                .values()
                .filter(|o| o.members.contains_key(&login.to_ascii_lowercase()))
                .filter_map(|o| org_json(ctx, &o.login))
                .collect();
            ok(Value::Array(orgs))
        }
        ("GET", ["user", "memberships", "orgs", org]) => {
            let membership = ctx
                .world
                .github
                .orgs
                .get(&org.to_ascii_lowercase())
                .and_then(|o| {
                    o.members
                        .get(&login.to_ascii_lowercase())
                        .map(|role| (o.login.clone(), role.clone()))
                });
            match membership {
                Some((org_login, role)) => ok(json!({
                    "organization": org_json(ctx, &org_login),
                    "organization_url": format!("{api}/orgs/{org_login}", api = api_base(ctx)),
                    "role": role,
                    "state": "active",
                    "url": format!("{api}/orgs/{org_login}/memberships/{login}", api = api_base(ctx)),
                    "user": {"login": login, "id": ctx.world.github.users.get(&login.to_ascii_lowercase()).map_or(0, |u| u.id), "type": "User"},
                })),
                None => Err(api_not_found("https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user")),
            }
        }
        ("GET", ["rate_limit"]) => ok(
            json!({"rate": {"limit": 5000, "remaining": 4999, "reset": 1_800_000_000u64, "used": 1, "resource": "core"}}),
        ),
        ("GET", ["repos", owner, name, "contents", path @ ..]) => {
            let key = key2(owner, name);
            if !ctx.world.can_read_repo(login, &key) {
                return Err(api_not_found(
                    "https://docs.github.com/rest/repos/repos#get-a-repository",
                ));
            }
            contents_api(ctx, cmd, &key, &path.join("/"), &query)
        }
        (_, ["repos", owner, name, rest @ ..]) => {
            let key = key2(owner, name);
            if !ctx.world.can_read_repo(login, &key) {
                return Err(api_not_found(
                    "https://docs.github.com/rest/repos/repos#get-a-repository",
                ));
            }
            repo_api(ctx, cmd, login, &key, &method, rest, &query)
        }
        // GitHub's SSH host keys (and more this simulation does not serve).
        ("GET", ["meta"]) => {
            let keys = ssh::host_keys(github_host(ctx));
            ok(json!({
                "verifiable_password_authentication": false,
                "ssh_key_fingerprints": ssh::host_key_fingerprints(&keys),
                "ssh_keys": keys,
            }))
        }
        _ => Err(api_not_found("https://docs.github.com/rest")),
    }
}

/// `GET repos/OWNER/NAME/contents/PATH[?ref=REF]` (`GET /repos/{owner}/{repo}/contents/{path}`):
/// a directory's listing, or a file's JSON with its base64 `content`; with
/// `-H "Accept: application/vnd.github.raw"` (or `.raw+json`, `.v3.raw`) a file's bytes as
/// they are. No `ref`: the default branch.
fn contents_api(
    ctx: &Ctx<'_>,
    cmd: &ToolCommand,
    key: &str,
    path: &str,
    query: &str,
) -> Result<Reply, Reply> {
    const DOCS: &str = "https://docs.github.com/rest/repos/contents#get-repository-content";
    let repo = &ctx.world.github.repos[key];
    let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
    let reference = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("ref="))
        .map(percent_decoded)
        .unwrap_or_else(|| "main".to_string());
    let path = path.trim_matches('/');
    let Some(commit) = git::rev_parse(&bare, &format!("refs/heads/{reference}"))
        .or_else(|| git::rev_parse(&bare, &format!("{reference}^{{commit}}")))
    else {
        return Err(api_error(
            404,
            &format!("No commit found for the ref {reference}"),
            DOCS,
        ));
    };
    let Some((_, entries)) = git::tree(&bare, &commit) else {
        return Err(api_not_found(DOCS));
    };
    let (api, web, full) = (api_base(ctx), web_base(ctx), repo.full_name());
    let describe = |entry: &git::GitTreeEntry| {
        let kind = if entry.kind == "tree" { "dir" } else { "file" };
        let name = entry.path.rsplit('/').next().unwrap_or_default();
        let url = format!("{api}/repos/{full}/contents/{}?ref={reference}", entry.path);
        let git_url = format!(
            "{api}/repos/{full}/git/{}/{}",
            if kind == "dir" { "trees" } else { "blobs" },
            entry.sha
        );
        let html_url = format!(
            "{web}/{full}/{}/{reference}/{}",
            if kind == "dir" { "tree" } else { "blob" },
            entry.path
        );
        let download_url = (kind == "file").then(|| {
            format!(
                "https://raw.githubusercontent.com/{full}/{reference}/{}",
                entry.path
            )
        });
        json!({
            "name": name,
            "path": entry.path,
            "sha": entry.sha,
            "size": entry.size.unwrap_or(0),
            "type": kind,
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": download_url,
            "_links": {"self": url, "git": git_url, "html": html_url},
        })
    };
    let children = |dir: &str| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| match e.path.rsplit_once('/') {
                Some((parent, _)) => parent == dir,
                None => dir.is_empty(),
            })
            .map(describe)
            .collect()
    };
    if path.is_empty() {
        return Ok(Reply::ok(compact_json(&Value::Array(children("")))));
    }
    let Some(entry) = entries.iter().find(|e| e.path == path) else {
        return Err(api_not_found(DOCS));
    };
    if entry.kind == "tree" {
        return Ok(Reply::ok(compact_json(&Value::Array(children(path)))));
    }
    let raw = cmd.flags.values("header").iter().any(|header| {
        header.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("accept")
                && value.split(',').any(|media| {
                    matches!(
                        media.trim(),
                        "application/vnd.github.raw"
                            | "application/vnd.github.raw+json"
                            | "application/vnd.github.v3.raw"
                    )
                })
        })
    });
    let text = git::blob(&bare, &entry.sha).unwrap_or_default();
    if raw {
        // The body as it is: gh adds no newline.
        return Ok(Reply {
            stdout: text,
            ..Reply::silent()
        });
    }
    // GitHub wraps the base64 at 60 characters, each line ending in a newline.
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut content = String::new();
    for chunk in encoded.as_bytes().chunks(60) {
        content.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        content.push('\n');
    }
    let mut file = describe(entry);
    file["encoding"] = json!("base64");
    file["content"] = json!(content);
    Ok(Reply::ok(compact_json(&file)))
}

/// A query value with its `%XX` escapes decoded (as GitHub reads `ref=feature%2Fx`).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON body of a `gh api` call: `--input FILE` (`-`: standard input).
fn request_body(ctx: &Ctx<'_>, cmd: &ToolCommand) -> Result<Value, Reply> {
    let bytes = match cmd.value("input") {
        Some("-") => ctx.inv.stdin.clone().unwrap_or_default(),
        Some(file) => std::fs::read(ctx.inv.resolve_path(file))
            .map_err(|e| Reply::fail(1, format!("open {file}: {e}")))?,
        None => {
            return Err(Reply::fail(
                1,
                "gh api: this endpoint is simulated with a JSON body from --input only",
            ))
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|_| {
        api_error(
            400,
            "Problems parsing JSON",
            "https://docs.github.com/rest/deploy-keys/deploy-keys#create-a-deploy-key",
        )
    })
}

/// A deploy key as GitHub's REST API returns it.
fn deploy_key_json(ctx: &Ctx<'_>, repo: &GithubRepo, key: &DeployKey) -> Value {
    json!({
        "id": key.id,
        "key": key.key,
        "url": format!("{api}/repos/{}/keys/{}", repo.full_name(), key.id, api = api_base(ctx)),
        "title": key.title,
        "verified": true,
        "created_at": key.created_at,
        "read_only": key.read_only,
        "added_by": key.added_by,
        "last_used": null,
        "enabled": true,
    })
}

/// GitHub's 422 for a deploy key, with its error object.
fn deploy_key_invalid(code: &str, message: Option<&str>) -> Reply {
    let mut error = json!({"resource": "PublicKey", "code": code, "field": "key"});
    if let Some(message) = message {
        error["message"] = json!(message);
    }
    Reply::fail(1, "gh: Validation Failed (HTTP 422)").with_stdout(compact_json(&json!({
        "message": "Validation Failed",
        "errors": [error],
        "documentation_url": "https://docs.github.com/rest/deploy-keys/deploy-keys#create-a-deploy-key",
        "status": "422",
    })))
}

/// The deploy key endpoints (`repos/OWNER/NAME/keys[/ID]`), for the repository's admins.
fn deploy_keys(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    login: &str,
    key: &str,
    method: &str,
    id: Option<&str>,
) -> Result<Reply, Reply> {
    let docs = "https://docs.github.com/rest/deploy-keys/deploy-keys";
    // Deploy keys are an admin's: anyone else is told they are not there.
    if !ctx.world.can_admin_repo(login, key) {
        return Err(api_not_found(docs));
    }
    let repo = ctx.world.github.repos[key].clone();
    let ok = |value: Value| Ok(Reply::ok(compact_json(&value)));
    let found = |id: Option<&str>| {
        let id: u64 = id?.parse().ok()?;
        repo.deploy_keys.iter().find(|k| k.id == id).cloned()
    };
    match (method, id) {
        ("GET", None) => ok(Value::Array(
            repo.deploy_keys
                .iter()
                .map(|k| deploy_key_json(ctx, &repo, k))
                .collect(),
        )),
        ("GET", Some(_)) => match found(id) {
            Some(deploy_key) => ok(deploy_key_json(ctx, &repo, &deploy_key)),
            None => Err(api_not_found(docs)),
        },
        ("DELETE", Some(_)) => match found(id) {
            Some(deploy_key) => {
                if let Some(repo) = ctx.world.github.repos.get_mut(key) {
                    repo.deploy_keys.retain(|k| k.id != deploy_key.id);
                }
                Ok(Reply::silent())
            }
            None => Err(api_not_found(docs)),
        },
        ("POST", None) => {
            let body = request_body(ctx, cmd)?;
            let Some(text) = body.get("key").and_then(Value::as_str) else {
                return Err(deploy_key_invalid("missing_field", None));
            };
            let Some(public_key) = ssh::normalised_public_key(text) else {
                return Err(deploy_key_invalid(
                    "custom",
                    Some("key is invalid. You must supply a key in OpenSSH public key format"),
                ));
            };
            let in_use = ctx
                .world
                .github
                .repos
                .values()
                .any(|r| r.deploy_keys.iter().any(|k| k.key == public_key));
            if in_use {
                return Err(deploy_key_invalid("custom", Some("key is already in use")));
            }
            let deploy_key = DeployKey {
                id: ctx.world.next_github_id(),
                key: public_key,
                title: body
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                read_only: body
                    .get("read_only")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                created_at: crate::sim::world::now_timestamp(),
                added_by: login.to_string(),
            };
            if let Some(repo) = ctx.world.github.repos.get_mut(key) {
                repo.deploy_keys.push(deploy_key.clone());
            }
            let repo = ctx.world.github.repos[key].clone();
            ok(deploy_key_json(ctx, &repo, &deploy_key))
        }
        _ => Err(api_not_found(docs)),
    }
}

#[allow(clippy::too_many_arguments)]
fn repo_api(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    login: &str,
    key: &str,
    method: &str,
    rest: &[&str],
    query: &str,
) -> Result<Reply, Reply> {
    let repo = ctx.world.github.repos[key].clone();
    let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
    let ok = |value: Value| Ok(Reply::ok(compact_json(&value)));
    match (method, rest) {
        ("GET", []) => ok(repo_rest_json(ctx, &repo, login)),
        (_, ["keys"]) => deploy_keys(ctx, cmd, login, key, method, None),
        (_, ["keys", id]) => deploy_keys(ctx, cmd, login, key, method, Some(id)),
        ("DELETE", []) => delete_repo(ctx, login, key),
        ("GET", ["git", "trees", reference]) => {
            let recursive = query
                .split('&')
                .any(|p| matches!(p.split_once('='), Some(("recursive", v)) if !v.is_empty() && v != "0" && v != "false"));
            if git::heads(&bare).is_empty() {
                return Err(api_error(
                    409,
                    "Git Repository is empty.",
                    "https://docs.github.com/rest/git/trees#get-a-tree",
                ));
            }
            let Some((tree_id, entries)) = git::tree(&bare, reference) else {
                return Err(api_not_found(
                    "https://docs.github.com/rest/git/trees#get-a-tree",
                ));
            };
            let url = |kind: &str, sha: &str| {
                format!(
                    "{api}/repos/{}/git/{kind}s/{sha}",
                    repo.full_name(),
                    api = api_base(ctx)
                )
            };
            let tree: Vec<Value> = entries
                .iter()
                .filter(|e| recursive || !e.path.contains('/'))
                .map(|e| {
                    let mut entry = json!({"path": e.path, "mode": e.mode, "type": e.kind, "sha": e.sha, "url": url(&e.kind, &e.sha)});
                    if let Some(size) = e.size {
                        entry["size"] = json!(size);
                    }
                    entry
                })
                .collect();
            ok(
                json!({"sha": tree_id, "url": url("tree", &tree_id), "tree": tree, "truncated": false}),
            )
        }
        ("GET", ["git", "blobs", sha]) => {
            let Some(content) = git::blob(&bare, sha) else {
                return Err(api_not_found(
                    "https://docs.github.com/rest/git/blobs#get-a-blob",
                ));
            };
            // GitHub wraps the base64 text at 60 characters.
            let encoded = base64::engine::general_purpose::STANDARD.encode(content.as_bytes());
            let wrapped: Vec<String> = encoded
                .as_bytes()
                .chunks(60)
                .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
                .collect();
            ok(json!({
                "sha": sha,
                "size": content.len(),
                "url": format!("{api}/repos/{}/git/blobs/{sha}", repo.full_name(), api = api_base(ctx)),
                "content": wrapped.join("\n") + "\n",
                "encoding": "base64",
            }))
        }
        // GitHub's comparison of two commits (`BASE...HEAD`, branch names or shas): the
        // status says how HEAD relates to BASE; an unknown side is 404.
        ("GET", ["compare", basehead @ ..]) if !basehead.is_empty() => {
            let basehead = basehead.join("/");
            let docs = "https://docs.github.com/rest/commits/commits#compare-two-commits";
            let Some((base, head)) = basehead.split_once("...") else {
                return Err(api_not_found(docs));
            };
            let resolve = |rev: &str| {
                git::heads(&bare)
                    .get(rev)
                    .cloned()
                    .or_else(|| git::rev_parse(&bare, &format!("{rev}^{{commit}}")))
            };
            let (Some(base), Some(head)) = (resolve(base), resolve(head)) else {
                return Err(api_not_found(docs));
            };
            let status = if base == head {
                "identical"
            } else if git::is_ancestor(&bare, &base, &head) {
                "ahead"
            } else if git::is_ancestor(&bare, &head, &base) {
                "behind"
            } else {
                "diverged"
            };
            ok(json!({
                "url": format!("{api}/repos/{}/compare/{basehead}", repo.full_name(), api = api_base(ctx)),
                "status": status,
                "base_commit": {"sha": base},
            }))
        }
        ("GET", ["branches"]) => {
            let branches: Vec<Value> = git::heads(&bare)
                .into_iter()
                .map(|(name, sha)| json!({"name": name, "commit": {"sha": sha, "url": format!("{api}/repos/{}/commits/{sha}", repo.full_name(), api = api_base(ctx))}, "protected": false}))
                .collect();
            ok(Value::Array(branches))
        }
        ("GET", ["branches", branch]) => match git::heads(&bare).get(*branch) {
            Some(sha) => ok(json!({"name": branch, "commit": {"sha": sha}, "protected": false})),
            None => Err(api_not_found(
                "https://docs.github.com/rest/branches/branches#get-a-branch",
            )),
        },
        ("GET", ["actions", "secrets"]) => {
            let secrets: Vec<Value> = repo
                .secrets
                .iter()
                .map(|name| json!({"name": name, "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"}))
                .collect();
            ok(json!({"total_count": secrets.len(), "secrets": secrets}))
        }
        // Creates the environment, or leaves one that exists as it is.
        ("PUT", ["environments", environment]) => {
            if !ctx.world.can_admin_repo(login, key) {
                return Err(api_error(
                    403,
                    "Resource not accessible by personal access token",
                    "https://docs.github.com/rest/deployments/environments#create-or-update-an-environment",
                ));
            }
            if !ctx.world.environments_available(key) {
                // GitHub's answer to a plan-gated feature of a private repository on
                // GitHub Free (the same words for branch protection and rulesets).
                return Err(api_error(
                    403,
                    "Upgrade to GitHub Pro or make this repository public to enable this feature.",
                    "https://docs.github.com/rest/deployments/environments#create-or-update-an-environment",
                ));
            }
            let environment = environment.to_string();
            let (api, web) = (api_base(ctx), web_base(ctx));
            if let Some(repo) = ctx.world.github.repos.get_mut(key) {
                repo.environments.entry(environment.clone()).or_default();
            }
            ok(json!({
                "name": environment,
                "url": format!("{api}/repos/{}/environments/{environment}", repo.full_name()),
                "html_url": format!("{web}/{}/deployments/activity_log?environments_filter={environment}", repo.full_name()),
                "protection_rules": [],
                "deployment_branch_policy": null,
            }))
        }
        // GitHub answers 204 with no body; an environment that is not there, 404.
        ("DELETE", ["environments", environment]) => {
            if !ctx.world.can_admin_repo(login, key) {
                return Err(api_error(
                    403,
                    "Resource not accessible by personal access token",
                    "https://docs.github.com/rest/deployments/environments#delete-an-environment",
                ));
            }
            let removed = ctx
                .world
                .github
                .repos
                .get_mut(key)
                .and_then(|repo| repo.environments.remove(*environment));
            match removed {
                Some(_) => {
                    // Its secrets go with it.
                    ctx.world
                        .gh_environment_secret_values
                        .retain(|(repo_key, name, _), _| !(repo_key == key && name == environment));
                    Ok(Reply::silent())
                }
                None => Err(api_not_found(
                    "https://docs.github.com/rest/deployments/environments#delete-an-environment",
                )),
            }
        }
        ("GET", ["git", "ref", "heads", branch @ ..]) if !branch.is_empty() => {
            let branch = branch.join("/");
            match git::heads(&bare).get(&branch) {
                Some(sha) => {
                    let api = api_base(ctx);
                    ok(json!({
                        "ref": format!("refs/heads/{branch}"),
                        "url": format!("{api}/repos/{}/git/refs/heads/{branch}", repo.full_name()),
                        "object": {
                            "sha": sha,
                            "type": "commit",
                            "url": format!("{api}/repos/{}/git/commits/{sha}", repo.full_name()),
                        },
                    }))
                }
                None => Err(api_not_found(
                    "https://docs.github.com/rest/git/refs#get-a-reference",
                )),
            }
        }
        // GitHub answers 204 with no body; a reference that is not there, 422.
        ("DELETE", ["git", "refs", "heads", branch @ ..]) if !branch.is_empty() => {
            let branch = branch.join("/");
            if !ctx.world.can_write_repo(login, key) {
                return Err(api_error(
                    403,
                    "Resource not accessible by personal access token",
                    "https://docs.github.com/rest/git/refs#delete-a-reference",
                ));
            }
            if !git::heads(&bare).contains_key(&branch) {
                return Err(api_error(
                    422,
                    "Reference does not exist",
                    "https://docs.github.com/rest/git/refs#delete-a-reference",
                ));
            }
            git::delete_branch(&bare, &branch).map_err(|e| {
                Reply::fail(
                    1,
                    format!("simulated GitHub could not delete the branch: {e}"),
                )
            })?;
            Ok(Reply::silent())
        }
        ("GET", ["environments", environment]) => match repo.environments.get(*environment) {
            Some(_) => ok(json!({"name": environment, "protection_rules": []})),
            None => Err(api_not_found(
                "https://docs.github.com/rest/deployments/environments#get-an-environment",
            )),
        },
        ("GET", ["labels"]) => ok(Value::Array(
            repo.labels
                .values()
                .map(|l| label_rest_json(ctx, &repo, l))
                .collect(),
        )),
        _ => Err(api_not_found("https://docs.github.com/rest")),
    }
}

fn label_rest_json(ctx: &Ctx<'_>, repo: &GithubRepo, label: &Label) -> Value {
    json!({
        "color": label.color,
        "default": default_labels().contains_key(&label.name),
        "description": label.description,
        "name": label.name,
        "url": format!("{api}/repos/{}/labels/{}", repo.full_name(), label.name.replace(' ', "%20"), api = api_base(ctx)),
    })
}

fn unresolved(full: &str) -> Reply {
    Reply::fail(
        1,
        format!("GraphQL: Could not resolve to a Repository with the name '{full}'. (repository)"),
    )
}

/// `OWNER/NAME` of a positional or `--repo` argument, with the repository's key.
fn target(cmd: &ToolCommand, text: Option<&str>) -> Result<(String, String, String), Reply> {
    let Some(text) = text else {
        return Err(Reply::fail(
            1,
            format!(
                "could not determine base repo: no git remotes found (the simulated gh needs {} OWNER/NAME)",
                if cmd.path.first().map(String::as_str) == Some("repo") { "the argument" } else { "--repo" }
            ),
        ));
    };
    let Some((owner, name)) = parse_repo_ref(text) else {
        return Err(Reply::fail(
            1,
            format!("expected the \"[HOST/]OWNER/REPO\" format, got \"{text}\""),
        ));
    };
    let key = key2(&owner, &name);
    Ok((owner, name, key))
}

const VIEW_FIELDS: [&str; 18] = [
    "createdAt",
    "defaultBranchRef",
    "description",
    "hasIssuesEnabled",
    "hasWikiEnabled",
    "homepageUrl",
    "id",
    "isArchived",
    "isEmpty",
    "isFork",
    "isInOrganization",
    "isPrivate",
    "isTemplate",
    "name",
    "nameWithOwner",
    "owner",
    "sshUrl",
    "url",
];

const MORE_VIEW_FIELDS: [&str; 2] = ["viewerPermission", "visibility"];

fn repo_view(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let (owner, name, key) = target(cmd, cmd.arg(0))?;
    if !ctx.world.can_read_repo(login, &key) {
        return Err(unresolved(&format!("{owner}/{name}")));
    }
    let repo = ctx.world.github.repos[&key].clone();
    let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
    let heads = git::heads(&bare);
    let Some(fields) = cmd.value("json") else {
        let readme = git::rev_parse(&bare, "HEAD:README.md")
            .and_then(|_| {
                std::process::Command::new("git")
                    .args([
                        "--git-dir",
                        &bare.display().to_string(),
                        "show",
                        "HEAD:README.md",
                    ])
                    .output()
                    .ok()
            })
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        return Ok(Reply::ok(format!(
            "name:\t{}\ndescription:\t{}\n--\n{readme}",
            repo.full_name(),
            repo.description
        )));
    };
    let available: Vec<&str> = VIEW_FIELDS
        .iter()
        .chain(MORE_VIEW_FIELDS.iter())
        .copied()
        .collect();
    let mut out = serde_json::Map::new();
    for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        if !available.contains(&field) {
            let mut all = available.clone();
            all.sort();
            return Err(Reply::fail(
                1,
                format!(
                    "Unknown JSON field: \"{field}\"\nAvailable fields:\n  {}",
                    all.join("\n  ")
                ),
            ));
        }
        let value = match field {
            "createdAt" => json!("2026-11-01T00:00:00Z"),
            "defaultBranchRef" => {
                if heads.contains_key("main") {
                    json!({"name": "main"})
                } else {
                    json!({"name": ""})
                }
            }
            "description" => json!(repo.description),
            "hasIssuesEnabled" | "hasWikiEnabled" => json!(true),
            "homepageUrl" => json!(""),
            "id" => json!(format!("R_kgDO{:08}", repo.id)),
            "isArchived" | "isFork" | "isTemplate" => json!(false),
            "isEmpty" => json!(heads.is_empty()),
            "isInOrganization" => json!(ctx
                .world
                .github
                .orgs
                .contains_key(&repo.owner.to_ascii_lowercase())),
            "isPrivate" => json!(repo.visibility != "PUBLIC"),
            "name" => json!(repo.name),
            "nameWithOwner" => json!(repo.full_name()),
            "owner" => {
                let owner = owner_json(ctx, &repo.owner);
                json!({"id": format!("U_kgDO{:08}", owner["id"].as_u64().unwrap_or(0)), "login": repo.owner})
            }
            "sshUrl" => json!(format!(
                "git@{host}:{}.git",
                repo.full_name(),
                host = github_host(ctx)
            )),
            "url" => json!(format!("{web}/{}", repo.full_name(), web = web_base(ctx))),
            "viewerPermission" => json!(permission(ctx, login, &key)),
            "visibility" => json!(repo.visibility),
            _ => Value::Null,
        };
        out.insert(field.to_string(), value);
    }
    Ok(Reply::ok(compact_json(&Value::Object(out))))
}

fn repo_create(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    if cmd.switch("clone")
        || cmd.value("source").is_some()
        || cmd.switch("push")
        || cmd.value("template").is_some()
    {
        return Err(Reply::fail(
            1,
            "--clone, --source, --push and --template are not simulated",
        ));
    }
    let visibility: Vec<&str> = ["public", "private", "internal"]
        .into_iter()
        .filter(|v| cmd.switch(v))
        .collect();
    let visibility =
        match visibility.as_slice() {
            [one] => one.to_ascii_uppercase(),
            [] => return Err(Reply::fail(
                1,
                "`--public`, `--private`, or `--internal` required when not running interactively",
            )),
            _ => {
                return Err(Reply::fail(
                    1,
                    "expected exactly one of `--public`, `--private`, or `--internal`",
                ))
            }
        };
    let Some(text) = cmd.arg(0) else {
        return Err(Reply::fail(
            1,
            "name argument required when not running interactively",
        ));
    };
    let (owner, name) = match text.split_once('/') {
        Some(_) => parse_repo_ref(text).ok_or_else(|| {
            Reply::fail(
                1,
                format!("argument error: expected OWNER/REPO, got {text}"),
            )
        })?,
        None => (login.to_string(), text.to_string()),
    };
    let owner_key = owner.to_ascii_lowercase();
    let owner = if owner.eq_ignore_ascii_case(login) {
        login.to_string()
    } else {
        let Some(org) = ctx.world.github.orgs.get(&owner_key) else {
            return Err(Reply::fail(
                1,
                format!(
                    "HTTP 404: Not Found ({api}/users/{owner})",
                    api = api_base(ctx)
                ),
            ));
        };
        let role = org.members.get(&login.to_ascii_lowercase()).cloned();
        let allowed = match role.as_deref() {
            Some("admin") => true,
            Some(_) => org.members_can_create_repositories,
            None => false,
        };
        if !allowed {
            return Err(Reply::fail(
                1,
                format!("GraphQL: {login} does not have the correct permissions to execute `CreateRepository` (createRepository)"),
            ));
        }
        if visibility == "INTERNAL" && role.is_none() {
            return Err(Reply::fail(
                1,
                "GraphQL: Only organization repositories can be internal (createRepository)",
            ));
        }
        org.login.clone()
    };
    if visibility == "INTERNAL" && owner.eq_ignore_ascii_case(login) {
        return Err(Reply::fail(
            1,
            "GraphQL: Only organization repositories can be internal (createRepository)",
        ));
    }
    if !valid_repo_name(&name) {
        return Err(Reply::fail(
            1,
            "GraphQL: name can only contain letters, numbers, '-', '_' and '.' (createRepository)",
        ));
    }
    let key = key2(&owner, &name);
    if ctx.world.github.repos.contains_key(&key) {
        return Err(Reply::fail(
            1,
            "GraphQL: Name already exists on this account (createRepository)",
        ));
    }
    let bare = ctx.paths.bare_repo(&owner, &name);
    git::init_bare(&bare).map_err(|e| {
        Reply::fail(
            1,
            format!("simulated GitHub could not create the repository: {e}"),
        )
    })?;
    if cmd.switch("add-readme") {
        let mut main = git::BranchContent::new();
        main.insert("README.md".into(), format!("# {name}\n").into_bytes());
        git::seed_content(&bare, &BTreeMap::from([("main".to_string(), main)])).map_err(|e| {
            Reply::fail(1, format!("simulated GitHub could not add the README: {e}"))
        })?;
    }
    let id = ctx.world.next_github_id();
    ctx.world.github.repos.insert(
        key,
        GithubRepo {
            owner: owner.clone(),
            name: name.clone(),
            id,
            visibility,
            description: cmd.value("description").unwrap_or_default().to_string(),
            secrets: BTreeSet::new(),
            secret_updated_at: BTreeMap::new(),
            labels: default_labels(),
            heads: BTreeMap::new(),
            collaborators: BTreeSet::new(),
            created_at: crate::sim::world::now_timestamp(),
            topics: Vec::new(),
            environments: BTreeMap::new(),
            pulls: Vec::new(),
            deploy_keys: Vec::new(),
            workflow_runs: Vec::new(),
            // Every later push to the new repository is one Actions sees.
            actions_heads: Some(git::heads(&ctx.paths.bare_repo(&owner, &name))),
            commit_statuses: Vec::new(),
        },
    );
    Ok(Reply::ok(format!(
        "{web}/{owner}/{name}",
        web = web_base(ctx)
    )))
}

/// `gh repo edit OWNER/NAME --add-topic T --remove-topic T`: only topics are simulated.
/// Topics are comma-separated or repeated; GitHub lower-cases them and rejects any that is
/// not letters, digits and hyphens (at most 50 characters, not starting with a hyphen).
fn repo_edit(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let (owner, name, key) = target(cmd, cmd.arg(0))?;
    let topics = |flag: &str| -> Vec<String> {
        cmd.flags
            .values(flag)
            .iter()
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    };
    let (add, remove) = (topics("add-topic"), topics("remove-topic"));
    if add.is_empty() && remove.is_empty() {
        return Err(Reply::fail(
            1,
            "only --add-topic and --remove-topic are simulated for gh repo edit",
        ));
    }
    if !ctx.world.can_read_repo(login, &key) {
        return Err(Reply::fail(
            1,
            format!("GraphQL: Could not resolve to a Repository with the name '{owner}/{name}'. (repository)"),
        ));
    }
    if permission(ctx, login, &key) == "READ" {
        return Err(Reply::fail(
            1,
            format!("HTTP 403: Resource not accessible by personal access token ({api}/repos/{owner}/{name}/topics)", api = api_base(ctx)),
        ));
    }
    let valid = |t: &str| {
        t.len() <= 50
            && !t.starts_with('-')
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if let Some(bad) = add.iter().find(|t| !valid(t)) {
        return Err(Reply::fail(
            1,
            format!("HTTP 422: Validation Failed ({api}/repos/{owner}/{name}/topics)\n{bad} is not a valid topic. Topics must start with a lowercase letter or number, consist of 50 characters or less, and can include hyphens.", api = api_base(ctx)),
        ));
    }
    let repo = ctx
        .world
        .github
        .repos
        .get_mut(&key)
        .expect("readable repositories exist");
    repo.topics.retain(|t| !remove.contains(t));
    for topic in add {
        if !repo.topics.contains(&topic) {
            repo.topics.push(topic);
        }
    }
    Ok(Reply::silent())
}

fn valid_repo_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn repo_delete(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let (owner, name, key) = target(cmd, cmd.arg(0))?;
    if !cmd.switch("yes") && !cmd.switch("confirm") {
        return Err(Reply::fail(
            1,
            "--yes required when not running interactively",
        ));
    }
    if !ctx.world.can_read_repo(login, &key) {
        return Err(unresolved(&format!("{owner}/{name}")));
    }
    delete_repo(ctx, login, &key)
}

fn delete_repo(ctx: &mut Ctx<'_>, login: &str, key: &str) -> Result<Reply, Reply> {
    let repo = ctx.world.github.repos[key].clone();
    let url = format!("{api}/repos/{}", repo.full_name(), api = api_base(ctx));
    if !scopes(ctx, login).iter().any(|s| s == "delete_repo") {
        return Err(Reply::fail(
            1,
            format!("HTTP 403: Must have admin rights to Repository. ({url})\nThis API operation needs the \"delete_repo\" scope. To request it, run:  gh auth refresh -h {} -s delete_repo", github_host(ctx)),
        ));
    }
    if !ctx.world.can_admin_repo(login, key) {
        return Err(Reply::fail(
            1,
            format!("HTTP 403: Must have admin rights to Repository. ({url})"),
        ));
    }
    let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
    if bare.exists() {
        std::fs::remove_dir_all(&bare).map_err(|e| {
            Reply::fail(
                1,
                format!("simulated GitHub could not delete {}: {e}", bare.display()),
            )
        })?;
    }
    ctx.world.github.repos.remove(key);
    ctx.world
        .gh_secret_values
        .retain(|(repo_key, _), _| repo_key != key);
    Ok(Reply::silent())
}

fn repo_list(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let owner = cmd.arg(0).unwrap_or(login).to_ascii_lowercase();
    let repos: Vec<GithubRepo> = ctx
        .world
        .github
        .repos
        .iter()
        .filter(|(key, r)| {
            r.owner.eq_ignore_ascii_case(&owner) && ctx.world.can_read_repo(login, key)
        })
        .map(|(_, r)| r.clone())
        .collect();
    match cmd.value("json") {
        Some(fields) => {
            let items: Vec<Value> = repos
                .iter()
                .map(|r| {
                    let mut out = serde_json::Map::new();
                    for field in fields.split(',') {
                        let value = match field.trim() {
                            "name" => json!(r.name),
                            "nameWithOwner" => json!(r.full_name()),
                            "url" => json!(format!("{web}/{}", r.full_name(), web = web_base(ctx))),
                            "visibility" => json!(r.visibility),
                            "isPrivate" => json!(r.visibility != "PUBLIC"),
                            "description" => json!(r.description),
                            _ => Value::Null,
                        };
                        out.insert(field.trim().to_string(), value);
                    }
                    Value::Object(out)
                })
                .collect();
            Ok(Reply::ok(compact_json(&Value::Array(items))))
        }
        None => Ok(Reply::ok(
            repos
                .iter()
                .map(|r| {
                    format!(
                        "{}\t{}\t{}",
                        r.full_name(),
                        r.description,
                        r.visibility.to_ascii_lowercase()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )),
    }
}

fn repo_for_write(
    ctx: &Ctx<'_>,
    cmd: &ToolCommand,
    login: &str,
) -> Result<(String, GithubRepo), Reply> {
    let (owner, name, key) = target(cmd, cmd.value("repo"))?;
    if !ctx.world.can_read_repo(login, &key) {
        return Err(Reply::fail(
            1,
            format!(
                "HTTP 404: Not Found ({api}/repos/{owner}/{name})",
                api = api_base(ctx)
            ),
        ));
    }
    Ok((key.clone(), ctx.world.github.repos[&key].clone()))
}

fn secret(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str, action: &str) -> Result<Reply, Reply> {
    if cmd.value("org").is_some() || cmd.switch("user") || cmd.value("env-file").is_some() {
        return Err(Reply::fail(
            1,
            "only repository and environment secrets are simulated (no --org, --user, --env-file)",
        ));
    }
    if let Some(environment) = cmd.value("env") {
        let environment = environment.to_string();
        return environment_secret(ctx, cmd, login, action, &environment);
    }
    let (key, repo) = repo_for_write(ctx, cmd, login)?;
    let url = format!(
        "{api}/repos/{}/actions/secrets",
        repo.full_name(),
        api = api_base(ctx)
    );
    match action {
        "set" => {
            let (name, body) = secret_to_set(ctx, cmd, &url)?;
            if !ctx.world.can_admin_repo(login, &key) {
                return Err(Reply::fail(1, format!("failed to fetch public key: HTTP 403: Resource not accessible by personal access token ({url}/public-key)")));
            }
            let upper = name.to_ascii_uppercase();
            let value = SecretString::from(String::from_utf8_lossy(&body).into_owned());
            ctx.world
                .gh_secret_values
                .insert((key.clone(), upper.clone()), value);
            if let Some(repo) = ctx.world.github.repos.get_mut(&key) {
                repo.secret_updated_at
                    .insert(upper.clone(), ctx.timestamp.clone());
                repo.secrets.insert(upper);
            }
            Ok(Reply::silent())
        }
        "list" => {
            // Reading a repository's secrets (their names) takes collaborator rights, as
            // setting them does: a reader of a public repository gets a 403.
            if !ctx.world.can_admin_repo(login, &key) {
                return Err(Reply::fail(1, format!("failed to get secrets: HTTP 403: Resource not accessible by personal access token ({url}?per_page=100)")));
            }
            let names: Vec<&String> = repo.secrets.iter().collect();
            match cmd.value("json") {
                Some(fields) => {
                    let available = [
                        "name",
                        "numSelectedRepos",
                        "selectedReposURL",
                        "updatedAt",
                        "visibility",
                    ];
                    let mut items = Vec::new();
                    for name in names {
                        let mut out = serde_json::Map::new();
                        for field in fields.split(',').map(str::trim) {
                            let value = match field {
                                "name" => json!(name),
                                "updatedAt" => json!(repo
                                    .secret_updated_at
                                    .get(name.as_str())
                                    .map_or("2026-11-01T00:00:00Z", String::as_str)),
                                "numSelectedRepos" => json!(0),
                                "selectedReposURL" | "visibility" => json!(""),
                                other => {
                                    return Err(Reply::fail(1, format!("Unknown JSON field: \"{other}\"\nAvailable fields:\n  {}", available.join("\n  "))));
                                }
                            };
                            out.insert(field.to_string(), value);
                        }
                        items.push(Value::Object(out));
                    }
                    if let Some(bad) = fields
                        .split(',')
                        .map(str::trim)
                        .find(|f| !available.contains(f))
                    {
                        return Err(Reply::fail(
                            1,
                            format!(
                                "Unknown JSON field: \"{bad}\"\nAvailable fields:\n  {}",
                                available.join("\n  ")
                            ),
                        ));
                    }
                    Ok(Reply::ok(compact_json(&Value::Array(items))))
                }
                None => Ok(Reply::ok(
                    names
                        .iter()
                        .map(|n| format!("{n}\t2026-11-01T00:00:00Z"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )),
            }
        }
        "delete" => {
            let Some(name) = cmd.arg(0) else {
                return Err(Reply::fail(1, "must pass name argument"));
            };
            let upper = name.to_ascii_uppercase();
            if !repo.secrets.contains(&upper) {
                return Err(Reply::fail(
                    1,
                    format!("failed to delete secret {name}: HTTP 404: Not Found ({url}/{name})"),
                ));
            }
            if let Some(repo) = ctx.world.github.repos.get_mut(&key) {
                repo.secrets.remove(&upper);
                repo.secret_updated_at.remove(&upper);
            }
            ctx.world.gh_secret_values.remove(&(key, upper));
            Ok(Reply::silent())
        }
        other => Err(Reply::fail(
            1,
            format!("gh secret {other} is not simulated"),
        )),
    }
}

/// The name and value of `gh secret set NAME` (of a repository or of one of its
/// environments), checked as gh and GitHub check them: the name's rule, and a value from
/// `--body` or standard input (trailing newline trimmed), never empty.
fn secret_to_set<'c>(
    ctx: &Ctx<'_>,
    cmd: &'c ToolCommand,
    url: &str,
) -> Result<(&'c str, Vec<u8>), Reply> {
    let Some(name) = cmd.arg(0) else {
        return Err(Reply::fail(1, "must pass name argument"));
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.to_ascii_uppercase().starts_with("GITHUB_");
    if !valid {
        return Err(Reply::fail(
            1,
            format!("failed to set secret \"{name}\": HTTP 422: Secret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_), must start with a letter or underscore, and must not start with GITHUB_. ({url}/{name})"),
        ));
    }
    let body: Vec<u8> = match (cmd.value("body"), &ctx.inv.stdin) {
        (Some(body), _) => body.as_bytes().to_vec(),
        (None, Some(stdin)) => {
            // gh trims the trailing newline of a piped value.
            let mut bytes = stdin.clone();
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
            bytes
        }
        (None, None) => {
            return Err(Reply::fail(
                1,
                "did not understand secret body: nothing on standard input (the real gh would wait for it; pass the value on stdin)",
            ))
        }
    };
    if body.is_empty() {
        return Err(Reply::fail(
            1,
            format!("failed to set secret \"{name}\": the secret value is empty"),
        ));
    }
    Ok((name, body))
}

/// One `--json` field of a pull request, as `gh pr view` and `gh pr list` give it (any
/// other field they accept is its `url`).
fn pull_field(
    ctx: &Ctx<'_>,
    repo: &GithubRepo,
    pull: &crate::sim::GithubPullRequest,
    field: &str,
) -> Value {
    match field {
        "author" => json!({"login": pull.author, "is_bot": false}),
        "baseRefName" => json!(pull.base),
        "body" => json!(pull.body),
        "createdAt" => json!(pull.created_at),
        "headRefName" => json!(pull.head),
        "headRefOid" => json!(head_oid(ctx, repo, pull)),
        // The simulated pull requests all come from branches of the repository itself.
        "isCrossRepository" => json!(false),
        "labels" => json!(pull
            .labels
            .iter()
            .map(|name| {
                let label = repo.labels.get(name);
                json!({
                    "id": format!("LA_{:016x}", super::kube::fnv(&format!("{}/{name}", repo.full_name()))),
                    "name": name,
                    "description": label.map(|l| l.description.clone()).unwrap_or_default(),
                    "color": label.map(|l| l.color.clone()).unwrap_or_else(|| "ededed".to_string()),
                })
            })
            .collect::<Vec<_>>()),
        "mergeCommit" => match &pull.merge_commit {
            Some(oid) => json!({"oid": oid}),
            None => Value::Null,
        },
        "mergedAt" => match &pull.merged_at {
            Some(at) => json!(at),
            None => Value::Null,
        },
        "mergedBy" => match &pull.merged_by {
            Some(login) => json!({"login": login, "is_bot": false}),
            None => Value::Null,
        },
        "closed" => json!(pull.state != "OPEN"),
        "number" => json!(pull.number),
        "state" => json!(pull.state),
        "title" => json!(pull.title),
        _ => json!(format!(
            "{web}/{}/pull/{}",
            repo.full_name(),
            pull.number,
            web = web_base(ctx)
        )),
    }
}

/// `gh secret set|list|delete --env ENVIRONMENT`: the secrets of a GitHub environment of
/// the repository, which must exist (gh fetches its public key first, a 404 otherwise).
fn environment_secret(
    ctx: &mut Ctx<'_>,
    cmd: &ToolCommand,
    login: &str,
    action: &str,
    environment: &str,
) -> Result<Reply, Reply> {
    let (key, repo) = repo_for_write(ctx, cmd, login)?;
    let url = format!(
        "{}/repos/{}/environments/{environment}/secrets",
        api_base(ctx),
        repo.full_name()
    );
    if !ctx.world.can_admin_repo(login, &key) {
        return Err(Reply::fail(1, format!("failed to fetch public key: HTTP 403: Resource not accessible by personal access token ({url}/public-key)")));
    }
    let Some(secrets) = repo.environments.get(environment) else {
        let what = match action {
            "set" => "fetch public key",
            "list" => "get secrets",
            _ => "delete secret",
        };
        return Err(Reply::fail(
            1,
            format!("failed to {what}: HTTP 404: Not Found ({url}/public-key)"),
        ));
    };
    match action {
        "set" => {
            let (name, body) = secret_to_set(ctx, cmd, &url)?;
            let upper = name.to_ascii_uppercase();
            ctx.world.gh_environment_secret_values.insert(
                (key.clone(), environment.to_string(), upper.clone()),
                SecretString::from(String::from_utf8_lossy(&body).into_owned()),
            );
            let timestamp = ctx.timestamp.clone();
            if let Some(secrets) = ctx
                .world
                .github
                .repos
                .get_mut(&key)
                .and_then(|repo| repo.environments.get_mut(environment))
            {
                secrets.insert(upper, timestamp);
            }
            Ok(Reply::silent())
        }
        "list" => {
            let items: Vec<Value> = secrets
                .iter()
                .map(|(name, updated_at)| json!({"name": name, "updatedAt": updated_at}))
                .collect();
            match cmd.value("json") {
                Some(fields) => {
                    if let Some(bad) = fields
                        .split(',')
                        .map(str::trim)
                        .find(|f| !["name", "updatedAt"].contains(f))
                    {
                        return Err(Reply::fail(1, format!("Unknown JSON field: \"{bad}\"")));
                    }
                    Ok(Reply::ok(compact_json(&Value::Array(items))))
                }
                None => Ok(Reply::ok(
                    secrets
                        .iter()
                        .map(|(name, at)| format!("{name}\t{at}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )),
            }
        }
        "delete" => {
            let Some(name) = cmd.arg(0) else {
                return Err(Reply::fail(1, "must pass name argument"));
            };
            let upper = name.to_ascii_uppercase();
            if !secrets.contains_key(&upper) {
                return Err(Reply::fail(
                    1,
                    format!("failed to delete secret {name}: HTTP 404: Not Found ({url}/{name})"),
                ));
            }
            if let Some(secrets) = ctx
                .world
                .github
                .repos
                .get_mut(&key)
                .and_then(|repo| repo.environments.get_mut(environment))
            {
                secrets.remove(&upper);
            }
            ctx.world
                .gh_environment_secret_values
                .remove(&(key, environment.to_string(), upper));
            Ok(Reply::silent())
        }
        other => Err(Reply::fail(
            1,
            format!("gh secret {other} is not simulated"),
        )),
    }
}

fn label(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str, action: &str) -> Result<Reply, Reply> {
    let (key, repo) = repo_for_write(ctx, cmd, login)?;
    let url = format!(
        "{api}/repos/{}/labels",
        repo.full_name(),
        api = api_base(ctx)
    );
    match action {
        "create" => {
            let Some(name) = cmd.arg(0) else {
                return Err(Reply::fail(
                    1,
                    "cannot create label: name argument required",
                ));
            };
            let color = cmd
                .value("color")
                .unwrap_or("ededed")
                .trim_start_matches('#')
                .to_ascii_lowercase();
            if color.len() != 6 || !color.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Reply::fail(
                    1,
                    format!("HTTP 422: Validation Failed ({url})\nLabel.color is invalid"),
                ));
            }
            if !ctx.world.can_admin_repo(login, &key) && permission(ctx, login, &key) == "READ" {
                return Err(Reply::fail(
                    1,
                    format!("HTTP 403: Resource not accessible by personal access token ({url})"),
                ));
            }
            let existing = repo
                .labels
                .keys()
                .find(|k| k.eq_ignore_ascii_case(name))
                .cloned();
            if existing.is_some() && !cmd.switch("force") {
                return Err(Reply::fail(
                    1,
                    format!("label with name \"{name}\" already exists; use `--force` to update its color and description"),
                ));
            }
            let repo = ctx.world.github.repos.get_mut(&key).expect("checked above");
            if let Some(old) = existing {
                repo.labels.remove(&old);
            }
            repo.labels.insert(
                name.to_string(),
                Label {
                    name: name.to_string(),
                    color,
                    description: cmd.value("description").unwrap_or_default().to_string(),
                },
            );
            Ok(Reply::silent())
        }
        "list" => match cmd.value("json") {
            Some(fields) => {
                let mut items = Vec::new();
                for label in repo.labels.values() {
                    let mut out = serde_json::Map::new();
                    for field in fields.split(',').map(str::trim) {
                        let value = match field {
                            "name" => json!(label.name),
                            "color" => json!(label.color),
                            "description" => json!(label.description),
                            "isDefault" => json!(default_labels().contains_key(&label.name)),
                            "url" => json!(format!("{web}/{}/labels/{}", repo.full_name(), label.name, web = web_base(ctx))),
                            other => {
                                return Err(Reply::fail(
                                    1,
                                    format!("Unknown JSON field: \"{other}\"\nAvailable fields:\n  color\n  createdAt\n  description\n  id\n  isDefault\n  name\n  updatedAt\n  url"),
                                ))
                            }
                        };
                        out.insert(field.to_string(), value);
                    }
                    items.push(Value::Object(out));
                }
                Ok(Reply::ok(compact_json(&Value::Array(items))))
            }
            None => Ok(Reply::ok(
                repo.labels
                    .values()
                    .map(|l| format!("{}\t{}\t#{}", l.name, l.description, l.color))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
        },
        "delete" => {
            let Some(name) = cmd.arg(0) else {
                return Err(Reply::fail(
                    1,
                    "cannot delete label: name argument required",
                ));
            };
            if !cmd.switch("yes") {
                return Err(Reply::fail(
                    1,
                    "--yes required when not running interactively",
                ));
            }
            let repo = ctx.world.github.repos.get_mut(&key).expect("checked above");
            let existing = repo
                .labels
                .keys()
                .find(|k| k.eq_ignore_ascii_case(name))
                .cloned();
            match existing {
                Some(k) => {
                    repo.labels.remove(&k);
                    Ok(Reply::silent())
                }
                None => Err(Reply::fail(
                    1,
                    format!("HTTP 404: Label not found ({url}/{name})"),
                )),
            }
        }
        other => Err(Reply::fail(1, format!("gh label {other} is not simulated"))),
    }
}

/// The fields `gh pr list --json` knows that the simulation can fill.
const PR_FIELDS: [&str; 16] = [
    "author",
    "baseRefName",
    "body",
    "closed",
    "createdAt",
    "headRefName",
    "headRefOid",
    "isCrossRepository",
    "labels",
    "mergeCommit",
    "mergedAt",
    "mergedBy",
    "number",
    "state",
    "title",
    "url",
];

/// A pull request's head commit: its branch's while open, the one it had when it was
/// closed or merged.
fn head_oid(
    ctx: &Ctx<'_>,
    repo: &GithubRepo,
    pull: &crate::sim::GithubPullRequest,
) -> Option<String> {
    if pull.state == "OPEN" {
        let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
        git::rev_parse(&bare, &format!("refs/heads/{}", pull.head))
    } else {
        pull.head_oid.clone()
    }
}

/// `gh pr merge NUMBER|BRANCH --repo OWNER/NAME --merge [--match-head-commit SHA]
/// [--subject S] [--body B]` (gh 2.x, `pkg/cmd/pr/merge`, through GraphQL's
/// `mergePullRequest`): a merge commit on the base branch ("Merge pull request #N from
/// OWNER/HEAD", parents base and head), the pull request `MERGED`. With no tty gh prints
/// nothing on success; an already merged pull request is a warning (exit 0), as in gh.
fn pr_merge(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let usage = "\n\nUsage:  gh pr merge [<number> | <url> | <branch>] [flags]";
    let Some(selector) = cmd.arg(0).map(str::to_string) else {
        return Err(Reply::fail(
            1,
            format!("argument required when using the --repo flag{usage}"),
        ));
    };
    let methods = ["merge", "rebase", "squash"]
        .iter()
        .filter(|m| cmd.switch(m))
        .count();
    if methods > 1 {
        return Err(Reply::fail(
            1,
            format!("only one of --merge, --rebase, or --squash can be enabled{usage}"),
        ));
    }
    if [
        cmd.switch("auto"),
        cmd.switch("disable-auto"),
        cmd.switch("admin"),
    ]
    .iter()
    .filter(|set| **set)
    .count()
        > 1
    {
        return Err(Reply::fail(
            1,
            format!("specify only one of `--auto`, `--disable-auto`, or `--admin`{usage}"),
        ));
    }
    if cmd.switch("rebase")
        || cmd.switch("squash")
        || cmd.switch("auto")
        || cmd.switch("disable-auto")
        || cmd.switch("admin")
        || cmd.switch("delete-branch")
        || cmd.value("body-file").is_some()
        || cmd.value("author-email").is_some()
    {
        return Err(Reply::fail(
            1,
            "the simulated gh merges only with --merge (and --match-head-commit, --subject, --body)",
        ));
    }
    let (owner, name, key) = target(cmd, cmd.value("repo"))?;
    if !ctx.world.can_read_repo(login, &key) {
        return Err(unresolved(&format!("{owner}/{name}")));
    }
    let repo = ctx.world.github.repos[&key].clone();
    let number = selector
        .rsplit_once("/pull/")
        .map(|(_, n)| n)
        .unwrap_or(selector.trim_start_matches('#'));
    let found = match number.parse::<u64>() {
        Ok(n) => repo.pulls.iter().find(|p| p.number == n).ok_or_else(|| {
            Reply::fail(
                1,
                format!("GraphQL: Could not resolve to a PullRequest with the number of {n}. (repository.pullRequest)"),
            )
        }),
        // A branch: its open pull request (gh's finder prefers open ones).
        Err(_) => repo
            .pulls
            .iter()
            .rev()
            .find(|p| p.head == selector && p.state == "OPEN")
            .or_else(|| repo.pulls.iter().rev().find(|p| p.head == selector))
            .ok_or_else(|| {
                Reply::fail(
                    1,
                    format!("no pull requests found for branch \"{selector}\""),
                )
            }),
    };
    let pull = found?.clone();
    let full = repo.full_name();
    if pull.state == "MERGED" {
        return Ok(Reply {
            stderr: format!("! Pull request {full}#{} was already merged\n", pull.number),
            ..Reply::silent()
        });
    }
    let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
    let heads = git::heads(&bare);
    let branches = (heads.get(&pull.base), heads.get(&pull.head));
    // mergeStateStatus DIRTY: gh refuses before it asks for a merge method or a merge.
    if let (true, Some(base_sha), Some(head_sha)) = (pull.state == "OPEN", branches.0, branches.1) {
        let clean = git::merge_tree(&bare, base_sha, head_sha)
            .map_err(|e| Reply::fail(1, format!("simulated GitHub could not merge: {e}")))?;
        if clean.is_none() {
            return Err(Reply::fail(
                1,
                format!(
                    "X Pull request {full}#{} is not mergeable: the merge commit cannot be cleanly created.\nTo have the pull request merged after all the requirements have been met, add the `--auto` flag.",
                    pull.number
                ),
            ));
        }
    }
    if methods == 0 {
        return Err(Reply::fail(
            1,
            format!(
                "--merge, --rebase, or --squash required when not running interactively{usage}"
            ),
        ));
    }
    let graphql = |message: &str| Reply::fail(1, format!("GraphQL: {message} (mergePullRequest)"));
    if pull.state != "OPEN" {
        return Err(graphql("Pull Request is not mergeable"));
    }
    if !ctx.world.can_write_repo(login, &key) {
        return Err(graphql(&format!(
            "{login} does not have the correct permissions to execute `MergePullRequest`"
        )));
    }
    let (Some(base_sha), Some(head_sha)) = branches else {
        return Err(graphql("Pull Request is not mergeable"));
    };
    if let Some(expected) = cmd.value("match-head-commit") {
        if expected != head_sha {
            return Err(graphql(
                "Head branch was modified. Review and try the merge again.",
            ));
        }
    }
    let user = ctx.world.github.users.get(&login.to_ascii_lowercase());
    let email = format!(
        "{}+{login}@users.noreply.github.com",
        user.map_or(0, |u| u.id)
    );
    let author_name = user
        .and_then(|u| u.name.clone())
        .unwrap_or_else(|| login.to_string());
    let subject = cmd.value("subject").map_or_else(
        || {
            format!(
                "Merge pull request #{} from {}/{}",
                pull.number, repo.owner, pull.head
            )
        },
        str::to_string,
    );
    let body = cmd
        .value("body")
        .map_or_else(|| pull.title.clone(), str::to_string);
    let message = if body.is_empty() {
        subject
    } else {
        format!("{subject}\n\n{body}")
    };
    let merged = git::merge_commit(&bare, base_sha, head_sha, &message, (&author_name, &email))
        .map_err(|e| Reply::fail(1, format!("simulated GitHub could not merge: {e}")))?;
    let Some(merge_commit) = merged else {
        return Err(graphql("Pull Request is not mergeable"));
    };
    git::move_branch(&bare, &pull.base, &merge_commit, base_sha)
        .map_err(|_| graphql("Base branch was modified. Review and try the merge again."))?;
    let timestamp = ctx.timestamp.clone();
    if let Some(stored) = ctx
        .world
        .github
        .repos
        .get_mut(&key)
        .and_then(|r| r.pulls.iter_mut().find(|p| p.number == pull.number))
    {
        stored.state = "MERGED".to_string();
        stored.merged_at = Some(timestamp);
        stored.merge_commit = Some(merge_commit);
        stored.merged_by = Some(login.to_string());
        stored.head_oid = Some(head_sha.clone());
    }
    Ok(Reply::silent())
}

/// `gh workflow run WORKFLOW --repo OWNER/NAME [--ref REF] [-f KEY=VALUE]…`: a
/// `workflow_dispatch` (the default branch when no `--ref`). With no tty gh prints nothing.
fn workflow_run(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let usage = "\n\nUsage:  gh workflow run [<workflow-id> | <workflow-name>] [flags]";
    let fields: Vec<&str> = cmd
        .flags
        .values("raw-field")
        .into_iter()
        .chain(cmd.flags.values("field"))
        .collect();
    let Some(selector) = cmd.arg(0) else {
        let message = if fields.is_empty() {
            "workflow ID, name, or filename required when not running interactively"
        } else {
            "workflow argument required when passing -f or -F"
        };
        return Err(Reply::fail(1, format!("{message}{usage}")));
    };
    if cmd.switch("json") {
        return Err(Reply::fail(
            1,
            "the simulated gh dispatches only with -f/-F fields, not --json on stdin",
        ));
    }
    let mut inputs = BTreeMap::new();
    for field in fields {
        let Some((name, value)) = field.split_once('=') else {
            return Err(Reply::fail(
                1,
                format!("field \"{field}\" requires a value separated by an '=' sign"),
            ));
        };
        inputs.insert(name.to_string(), value.to_string());
    }
    let (owner, name, key) = target(cmd, cmd.value("repo"))?;
    if !ctx.world.can_read_repo(login, &key) {
        return Err(Reply::fail(
            1,
            format!(
                "could not fetch workflows for {owner}/{name}: HTTP 404: Not Found ({api}/repos/{owner}/{name}/actions/workflows?per_page=100&page=1)",
                api = api_base(ctx)
            ),
        ));
    }
    let git_ref = cmd.value("ref").unwrap_or("main").to_string();
    super::actions::dispatch(ctx, &key, selector, &git_ref, inputs, Some(login)).map_err(|e| {
        let message = if e.starts_with("HTTP ") {
            format!("could not create workflow dispatch event: {e}")
        } else {
            e
        };
        Reply::fail(1, message)
    })?;
    Ok(Reply::silent())
}

/// The fields `gh run list --json` knows.
const RUN_FIELDS: [&str; 16] = [
    "attempt",
    "conclusion",
    "createdAt",
    "databaseId",
    "displayTitle",
    "event",
    "headBranch",
    "headSha",
    "name",
    "number",
    "startedAt",
    "status",
    "updatedAt",
    "url",
    "workflowDatabaseId",
    "workflowName",
];

/// `--limit N` of `gh run list` and `gh pr list`: `default` without it; gh's own refusal
/// (`non_positive`: N) of a number below 1, and cobra's of a word.
fn list_limit(cmd: &ToolCommand, default: usize, non_positive: &str) -> Result<usize, Reply> {
    match cmd.value("limit").map(str::parse::<i64>) {
        None => Ok(default),
        Some(Ok(n)) if n > 0 => Ok(n as usize),
        Some(Ok(n)) => Err(Reply::fail(1, format!("{non_positive}: {n}"))),
        Some(Err(_)) => Err(Reply::fail(
            1,
            format!(
                "invalid argument \"{}\" for \"-L, --limit\" flag: strconv.ParseInt: parsing \"{0}\": invalid syntax",
                cmd.value("limit").unwrap_or_default()
            ),
        )),
    }
}

/// The fields `--json` names; the simulated gh `what` ("lists runs") only with `--json`.
fn json_fields<'c>(cmd: &'c ToolCommand, what: &str) -> Result<Vec<&'c str>, Reply> {
    let Some(fields) = cmd.value("json") else {
        return Err(Reply::fail(
            1,
            format!("the simulated gh {what} only with --json"),
        ));
    };
    Ok(fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect())
}

/// [`json_fields`], each one of `available`; gh's refusal of another lists them all.
fn requested_json_fields<'c>(
    cmd: &'c ToolCommand,
    what: &str,
    available: &[&str],
) -> Result<Vec<&'c str>, Reply> {
    let fields = json_fields(cmd, what)?;
    if let Some(bad) = fields.iter().find(|f| !available.contains(f)) {
        return Err(Reply::fail(
            1,
            format!(
                "Unknown JSON field: \"{bad}\"\nAvailable fields:\n  {}",
                available.join("\n  ")
            ),
        ));
    }
    Ok(fields)
}

/// `gh run list --repo OWNER/NAME --json FIELDS [--workflow W] [--branch B] [--event E]
/// [--status S] [--commit SHA] [--limit N]`: newest first, 20 by default.
fn run_list(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let (owner, name, key) = target(cmd, cmd.value("repo"))?;
    let limit = list_limit(cmd, 20, "invalid limit")?;
    let fields = requested_json_fields(cmd, "lists runs", &RUN_FIELDS)?;
    // A repository whose Actions are disabled answers its Actions API with 404.
    if !ctx.world.can_read_repo(login, &key) || !ctx.world.github.actions_enabled {
        return Err(Reply::fail(
            1,
            format!(
                "failed to get runs: HTTP 404: Not Found ({api}/repos/{owner}/{name}/actions/runs?per_page={limit}&exclude_pull_requests=true)",
                api = api_base(ctx)
            ),
        ));
    }
    let full = ctx.world.github.repos[&key].full_name();
    let runs = super::actions::runs_newest_first(ctx, &key);
    if let Some(workflow) = cmd.value("workflow") {
        let known = runs.iter().any(|(run, _, id)| {
            run.path.rsplit('/').next() == Some(workflow)
                || run.path == workflow
                || run.workflow_name == workflow
                || id.to_string() == workflow
        });
        if !known {
            return Err(Reply::fail(
                1,
                format!("could not find any workflows named {workflow}"),
            ));
        }
    }
    let web = web_base(ctx);
    let listed: Vec<Value> = runs
        .iter()
        .filter(|(run, _, id)| {
            cmd.value("workflow").is_none_or(|w| {
                run.path.rsplit('/').next() == Some(w)
                    || run.path == w
                    || run.workflow_name == w
                    || id.to_string() == w
            }) && cmd.value("branch").is_none_or(|b| run.head_branch == b)
                && cmd.value("event").is_none_or(|e| run.event == e)
                && cmd.value("commit").is_none_or(|c| run.head_sha == c)
                && cmd
                    .value("status")
                    .is_none_or(|s| run.status == s || run.conclusion == s)
        })
        .take(limit)
        .map(|(run, number, workflow_id)| {
            let updated = if run.status == "completed" {
                run.completes_at
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('Z')
                    .to_string()
                    + "Z"
            } else {
                run.created_at.clone()
            };
            let mut out = serde_json::Map::new();
            for field in &fields {
                let value = match *field {
                    "attempt" => json!(1),
                    "conclusion" => json!(run.conclusion),
                    "createdAt" | "startedAt" => json!(run.created_at),
                    "databaseId" => json!(run.id),
                    "displayTitle" => json!(run.display_title),
                    "event" => json!(run.event),
                    "headBranch" => json!(run.head_branch),
                    "headSha" => json!(run.head_sha),
                    "name" | "workflowName" => json!(run.workflow_name),
                    "number" => json!(number),
                    "status" => json!(run.status),
                    "updatedAt" => json!(updated),
                    "url" => json!(format!("{web}/{full}/actions/runs/{}", run.id)),
                    _ => json!(workflow_id),
                };
                out.insert(field.to_string(), value);
            }
            Value::Object(out)
        })
        .collect();
    Ok(Reply::ok(compact_json(&Value::Array(listed))))
}

/// `gh pr view NUMBER --repo OWNER/NAME --json files[,…]`: the files as GitHub lists a
/// pull request's changes (the paths that differ between its base and head branches),
/// with the fields of `gh pr list`.
fn pr_view(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let (owner, name, key) = target(cmd, cmd.value("repo"))?;
    if !ctx.world.can_read_repo(login, &key) {
        return Err(unresolved(&format!("{owner}/{name}")));
    }
    let fields = json_fields(cmd, "views pull requests")?;
    if let Some(bad) = fields
        .iter()
        .find(|f| **f != "files" && !PR_FIELDS.contains(f))
    {
        return Err(Reply::fail(1, format!("Unknown JSON field: \"{bad}\"")));
    }
    let wanted = cmd
        .flags
        .positionals
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let repo = ctx.world.github.repos[&key].clone();
    let Some(pull) = wanted
        .parse::<u64>()
        .ok()
        .and_then(|n| repo.pulls.iter().find(|p| p.number == n))
    else {
        return Err(Reply::fail(
            1,
            format!("GraphQL: Could not resolve to a PullRequest with the number of {wanted}. (repository.pullRequest)"),
        ));
    };
    let bare = ctx.paths.bare_repo(&repo.owner, &repo.name);
    let listing = |branch: &str| -> BTreeMap<String, String> {
        git::tree(&bare, &format!("refs/heads/{branch}"))
            .map(|(_, entries)| {
                entries
                    .into_iter()
                    .filter(|e| e.kind == "blob")
                    .map(|e| (e.path, e.sha))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = serde_json::Map::new();
    for field in &fields {
        let value = match *field {
            "files" => {
                let (base, head) = (listing(&pull.base), listing(&pull.head));
                let changed: std::collections::BTreeSet<&String> = base
                    .keys()
                    .chain(head.keys())
                    .filter(|path| base.get(*path) != head.get(*path))
                    .collect();
                json!(changed
                    .into_iter()
                    // Real gh adds `additions` and `deletions` (line counts), which the
                    // simulator does not compute: it leaves them out rather than invent them.
                    .map(|path| json!({"path": path}))
                    .collect::<Vec<_>>())
            }
            other => pull_field(ctx, &repo, pull, other),
        };
        out.insert(field.to_string(), value);
    }
    Ok(Reply::ok(compact_json(&Value::Object(out))))
}

/// `gh pr list --repo OWNER/NAME [--base B] [--head H] [--state open|closed|merged|all]
/// [--limit N] --json FIELDS`: newest first, 30 by default, open ones by default.
fn pr_list(ctx: &mut Ctx<'_>, cmd: &ToolCommand, login: &str) -> Result<Reply, Reply> {
    let (owner, name, key) = target(cmd, cmd.value("repo"))?;
    let state = cmd.value("state").unwrap_or("open");
    if !["open", "closed", "merged", "all"].contains(&state) {
        return Err(Reply::fail(
            1,
            format!("invalid argument \"{state}\" for \"-s, --state\" flag: valid values are {{open|closed|merged|all}}\n\nUsage:  gh pr list [flags]"),
        ));
    }
    let limit = list_limit(cmd, 30, "invalid value for --limit")?;
    if !ctx.world.can_read_repo(login, &key) {
        return Err(unresolved(&format!("{owner}/{name}")));
    }
    let repo = ctx.world.github.repos[&key].clone();
    let fields = requested_json_fields(cmd, "lists pull requests", &PR_FIELDS)?;
    let wanted = |pull: &&super::state::GithubPullRequest| {
        let state_matches = match state {
            "open" => pull.state == "OPEN",
            // gh asks for `states: [CLOSED, MERGED]` (`pkg/cmd/pr/list`).
            "closed" => pull.state == "CLOSED" || pull.state == "MERGED",
            "merged" => pull.state == "MERGED",
            _ => true,
        };
        state_matches
            && cmd.value("base").is_none_or(|b| pull.base == b)
            && cmd.value("head").is_none_or(|h| pull.head == h)
    };
    let listed: Vec<Value> = repo
        .pulls
        .iter()
        .rev()
        .filter(wanted)
        .take(limit)
        .map(|pull| {
            let mut out = serde_json::Map::new();
            for field in &fields {
                out.insert(field.to_string(), pull_field(ctx, &repo, pull, field));
            }
            Value::Object(out)
        })
        .collect();
    Ok(Reply::ok(compact_json(&Value::Array(listed))))
}
