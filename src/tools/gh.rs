//! The GitHub CLI (`gh`).
//!
//! The token reaches `gh` only through the environment of the child (`GH_TOKEN`, or
//! `GH_ENTERPRISE_TOKEN` for a GitHub Enterprise Server), never its argv. Prompts and update
//! notices are switched off: we are not a terminal user.
//!
//! The GitHub host reaches every call: `--hostname` where gh has it (`auth token`), and
//! `GH_HOST` in the environment of every child (gh's default host for `repo`, `api`,
//! `secret`, `label` and `pr`).

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};

pub use crate::config::configuration::Visibility;
use crate::config::github_host::GH_HOST_VAR;
pub use crate::config::GitHubHost;
use crate::secrets;

use super::classify::ErrorClass;
use super::error::{delete_outcome, none_if_not_found, output_excerpt, DeleteOutcome, ToolError};
use super::exec::Exec;
use super::git::GitEnv;
use super::runner::{CommandRunner, CommandSpec, RunControl};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "gh";

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
    exec: Exec,
    token: Option<SecretString>,
    host: GitHubHost,
}

/// A deploy key as GitHub's REST API answers it (the fields we use).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepoDeployKey {
    pub id: u64,
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub read_only: bool,
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
    /// Every call of the returned adapter streams its output to `control.sink` and stops
    /// when `control.cancel` is cancelled (the children are killed).
    pub fn with_control(mut self, control: RunControl) -> Self {
        self.exec = self.exec.with_control(control);
        self
    }

    /// Without a token, calls use gh's stored login. The host is github.com until
    /// [`Gh::with_host`] names another.
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            exec: Exec::new(runner),
            token: None,
            host: GitHubHost::default(),
        }
    }

    /// Every call targets `host` (github.com or a GitHub Enterprise Server).
    pub fn with_host(mut self, host: GitHubHost) -> Self {
        self.host = host;
        self
    }

    pub fn host(&self) -> &GitHubHost {
        &self.host
    }

    /// Every call gets the token in the variable gh reads for the host (`GH_TOKEN`, or
    /// `GH_ENTERPRISE_TOKEN` for an Enterprise Server) and no other token variable.
    pub fn with_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    fn base(&self, args: &[&str]) -> CommandSpec {
        let spec = CommandSpec::new(PROGRAM).args(args.iter().copied());
        // On an Enterprise Server, a gh command shown without its GH_HOST would go to
        // github.com when copied: it is shown with it.
        let spec = if self.host.is_github_com() {
            spec.env(GH_HOST_VAR, self.host.as_str())
        } else {
            spec.shown_env(GH_HOST_VAR, self.host.as_str())
        };
        let mut spec = spec
            .env("GH_PROMPT_DISABLED", "1")
            .env("GH_NO_UPDATE_NOTIFIER", "1")
            .env("NO_COLOR", "1")
            .timeout(QUERY_TIMEOUT);
        // gh never talks to Azure: it does not get the Azure credentials.
        for var in secrets::AZURE_SECRET_VARIABLES {
            spec = spec.env_remove(var);
        }
        spec
    }

    /// A call authenticated with our token when we hold one.
    pub fn authed(&self, args: &[&str]) -> CommandSpec {
        let mut spec = self.base(args);
        if let Some(token) = &self.token {
            for var in TOKEN_VARS {
                spec = spec.env_remove(var);
            }
            spec = spec.secret_env(self.host.gh_token_var(), token.clone());
        }
        spec
    }

    pub fn version_spec(&self) -> CommandSpec {
        self.base(&["--version"])
    }

    /// `gh --version`.
    pub async fn version(&self) -> Result<Version, ToolError> {
        self.exec.version(self.version_spec(), parse_version).await
    }

    pub fn auth_token_spec(&self) -> CommandSpec {
        let mut spec = self
            .base(&["auth", "token", "--hostname", self.host.as_str()])
            .secret_stdout();
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
        match self.exec.checked(spec).await {
            Ok(output) => {
                let token = output.stdout.trim();
                if token.is_empty() {
                    return Ok(None);
                }
                secrets::register(token);
                Ok(Some(SecretString::from(token)))
            }
            Err(ToolError::NotAuthenticated { .. }) => Ok(None),
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
        let output = self.exec.checked(spec).await?;
        serde_json::from_str(&output.stdout).map_err(|e| ToolError::UnexpectedOutput {
            command,
            reason: format!(
                "not a user object ({e}): {}",
                output_excerpt(&output.stdout)
            ),
        })
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

// ---------------------------------------------------------------------------------------
// Organisations, repositories, secrets, labels

/// `gh api user/memberships/orgs/ORG`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct OrgMembership {
    /// `active` or `pending` (invited, not yet accepted).
    pub state: String,
    /// `admin` or `member`.
    pub role: String,
}

impl OrgMembership {
    pub fn is_active(&self) -> bool {
        self.state == "active"
    }

    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// `gh repo view --json name,owner,url,isEmpty,visibility`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoInfo {
    pub name: String,
    pub owner: RepoOwner,
    pub url: String,
    /// No commits yet (e.g. created but never seeded).
    pub is_empty: bool,
    /// `PUBLIC`, `PRIVATE` or `INTERNAL`.
    pub visibility: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct RepoOwner {
    pub login: String,
}

impl RepoInfo {
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner.login, self.name)
    }

    pub fn is_private(&self) -> bool {
        !self.visibility.eq_ignore_ascii_case("PUBLIC")
    }
}

/// The fields `gh repo view` is asked for.
pub const REPO_VIEW_FIELDS: &str = "name,owner,url,isEmpty,visibility";

/// One entry of a git tree (`gh api repos/O/N/git/trees/BRANCH?recursive=1`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct TreeEntry {
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: TreeEntryKind,
    /// `100644`, `100755` (executable), `040000`, `120000` (symlink), `160000`.
    pub mode: String,
    /// The object id; a blob's content is read with [`Gh::repo_blob`].
    #[serde(default)]
    pub sha: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TreeEntryKind {
    Blob,
    Tree,
    /// A submodule.
    Commit,
}

impl TreeEntry {
    pub fn is_executable(&self) -> bool {
        self.mode == "100755"
    }
}

#[derive(Deserialize)]
struct TreeResponse {
    tree: Vec<TreeEntry>,
    #[serde(default)]
    truncated: bool,
}

#[derive(Deserialize)]
struct BlobResponse {
    content: String,
    encoding: String,
}

/// One label of `gh label list --json name,color,description`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LabelInfo {
    pub name: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub description: String,
}

/// An open pull request as `gh pr list --json` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub head_ref_name: String,
    pub base_ref_name: String,
    #[serde(default)]
    pub author: Option<PullRequestAuthor>,
    pub url: String,
}

/// The files a pull request changes, as `gh pr view N --json files` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PullRequestFiles {
    #[serde(default)]
    pub files: Vec<PullRequestFile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PullRequestFile {
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PullRequestAuthor {
    pub login: String,
}

/// One Actions secret as `gh secret list --json name,updatedAt` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SecretListing {
    pub name: String,
    #[serde(rename = "updatedAt", default)]
    pub updated_at: Option<String>,
}

/// How many open pull requests [`Gh::open_pull_requests`] lists at most.
pub const OPEN_PULL_REQUESTS_LIMIT: usize = 1000;

/// The label that marks promoted pull requests on the gitops repository.
pub const PROMOTED_LABEL: &str = "promoted";
pub const PROMOTED_LABEL_COLOR: &str = "0E8A16";

/// The git configuration that makes git ask `gh` for the credentials of `host`: first
/// reset any helper the user configured for the host (an empty value clears the list),
/// then `gh auth git-credential`, which answers with the token in the git child's
/// environment (`GH_TOKEN`, or `GH_ENTERPRISE_TOKEN` for an Enterprise Server).
pub fn git_credential_env(host: &GitHubHost) -> GitEnv {
    let key = format!("credential.{}.helper", host.web_url());
    GitEnv::new()
        .config(&key, "")
        .config(&key, "!gh auth git-credential")
}

impl Gh {
    /// The environment for `git` children: [`git_credential_env`] plus our token in
    /// `GH_TOKEN` (for the helper), other token variables removed.
    pub fn git_env(&self) -> GitEnv {
        let mut env = git_credential_env(&self.host);
        if let Some(token) = &self.token {
            for var in TOKEN_VARS {
                env = env.remove(var);
            }
            env = env.secret_var(self.host.gh_token_var(), token.clone());
        }
        env
    }

    pub fn org_membership_spec(&self, org: &str) -> CommandSpec {
        self.authed(&["api", &format!("user/memberships/orgs/{org}")])
    }

    /// The authenticated user's membership in `org`; `None` when not a member (404).
    /// A token without `read:org` gets a permission error.
    pub async fn org_membership(&self, org: &str) -> Result<Option<OrgMembership>, ToolError> {
        let spec = self.org_membership_spec(org);
        none_if_not_found(self.exec.json(spec, "an organization membership").await)
    }

    pub fn repo_view_spec(&self, slug: &str) -> CommandSpec {
        self.authed(&["repo", "view", slug, "--json", REPO_VIEW_FIELDS])
    }

    /// The repository, or `None` when it does not exist (or the token cannot see it).
    pub async fn repo_view(&self, slug: &str) -> Result<Option<RepoInfo>, ToolError> {
        let spec = self.repo_view_spec(slug);
        none_if_not_found(self.exec.json(spec, "a repository object").await)
    }

    pub fn repo_create_spec(
        &self,
        slug: &str,
        visibility: Visibility,
        description: &str,
    ) -> CommandSpec {
        let flag = format!("--{}", visibility.as_str());
        self.authed(&["repo", "create", slug, &flag, "--description", description])
    }

    /// Create an empty repository (no README, so the first push defines `main`).
    pub async fn repo_create(
        &self,
        slug: &str,
        visibility: Visibility,
        description: &str,
    ) -> Result<(), ToolError> {
        let spec = self.repo_create_spec(slug, visibility, description);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn repo_delete_spec(&self, slug: &str) -> CommandSpec {
        self.authed(&["repo", "delete", slug, "--yes"])
    }

    /// Delete the repository. Without the `delete_repo` scope GitHub answers 403: the error
    /// is [`ErrorClass::PermissionDenied`] with `missing_scope` `delete_repo`.
    pub async fn repo_delete(&self, slug: &str) -> Result<DeleteOutcome, ToolError> {
        let spec = self.repo_delete_spec(slug);
        delete_outcome(self.exec.checked(spec).await).map_err(scope_for_delete)
    }

    pub fn repo_tree_spec(&self, slug: &str, branch: &str) -> CommandSpec {
        self.authed(&[
            "api",
            &format!("repos/{slug}/git/trees/{branch}?recursive=1"),
        ])
    }

    /// Every file and directory on `branch`; `None` when the branch does not exist or the
    /// repository is empty. A truncated listing (over 100 000 entries) is an error: a
    /// partial list would make structure validation report files as missing.
    pub async fn repo_tree(
        &self,
        slug: &str,
        branch: &str,
    ) -> Result<Option<Vec<TreeEntry>>, ToolError> {
        let spec = self.repo_tree_spec(slug, branch);
        let command = spec.display();
        let result = self.exec.json::<TreeResponse>(spec, "a git tree").await;
        let response = match result {
            Err(ToolError::Failed { message, .. })
                if message.contains("Git Repository is empty") || message.contains("HTTP 409") =>
            {
                return Ok(None)
            }
            other => none_if_not_found(other)?,
        };
        match response {
            None => Ok(None),
            Some(response) if response.truncated => Err(ToolError::UnexpectedOutput {
                command,
                reason: "GitHub truncated the tree listing".to_string(),
            }),
            Some(response) => Ok(Some(response.tree)),
        }
    }

    pub fn repo_blob_spec(&self, slug: &str, sha: &str) -> CommandSpec {
        self.authed(&["api", &format!("repos/{slug}/git/blobs/{sha}")])
    }

    /// The content of one file (blob `sha` from [`Gh::repo_tree`]), as text.
    pub async fn repo_blob(&self, slug: &str, sha: &str) -> Result<String, ToolError> {
        use base64::Engine as _;
        let spec = self.repo_blob_spec(slug, sha);
        let command = spec.display();
        let blob = self.exec.json::<BlobResponse>(spec, "a git blob").await?;
        let unexpected = |reason: String| ToolError::UnexpectedOutput {
            command: command.clone(),
            reason,
        };
        if blob.encoding != "base64" {
            return Err(unexpected(format!(
                "blob encoding {:?}, expected base64",
                blob.encoding
            )));
        }
        let packed: String = blob.content.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(packed)
            .map_err(|e| unexpected(format!("blob content is not base64: {e}")))?;
        String::from_utf8(bytes).map_err(|_| unexpected("blob content is not UTF-8".to_string()))
    }

    /// `gh secret set NAME --repo SLUG` reading the value from stdin (never `--body`).
    pub fn secret_set_spec(&self, slug: &str, name: &str, value: &SecretString) -> CommandSpec {
        self.authed(&["secret", "set", name, "--repo", slug])
            .secret_stdin(SecretSlice::from(value.expose_secret().as_bytes().to_vec()))
    }

    /// Set an Actions secret; the value travels on stdin only.
    pub async fn secret_set(
        &self,
        slug: &str,
        name: &str,
        value: SecretString,
    ) -> Result<(), ToolError> {
        let spec = self.secret_set_spec(slug, name, &value);
        self.exec.checked(spec).await.map(drop)
    }

    /// `gh api --method PUT repos/SLUG/environments/NAME`: creates the GitHub environment
    /// (deployment environment) `name`, or leaves one that exists as it is (no body: its
    /// protection rules are kept). Its secrets need it to exist.
    pub fn environment_create_spec(&self, slug: &str, name: &str) -> CommandSpec {
        self.authed(&[
            "api",
            "--method",
            "PUT",
            &format!("repos/{slug}/environments/{name}"),
            "--silent",
        ])
    }

    /// Create the GitHub environment `name` in `slug` if it does not exist.
    pub async fn environment_create(&self, slug: &str, name: &str) -> Result<(), ToolError> {
        let spec = self.environment_create_spec(slug, name);
        self.exec.checked(spec).await.map(drop)
    }

    /// `gh secret set NAME --env ENVIRONMENT --repo SLUG`: a secret of one GitHub
    /// environment, the value from stdin (never `--body`).
    pub fn environment_secret_set_spec(
        &self,
        slug: &str,
        environment: &str,
        name: &str,
        value: &SecretString,
    ) -> CommandSpec {
        self.authed(&["secret", "set", name, "--env", environment, "--repo", slug])
            .secret_stdin(SecretSlice::from(value.expose_secret().as_bytes().to_vec()))
    }

    /// Set a secret of the GitHub environment `environment`; the value travels on stdin only.
    pub async fn environment_secret_set(
        &self,
        slug: &str,
        environment: &str,
        name: &str,
        value: SecretString,
    ) -> Result<(), ToolError> {
        let spec = self.environment_secret_set_spec(slug, environment, name, &value);
        self.exec.checked(spec).await.map(drop)
    }

    /// `gh secret list --env ENVIRONMENT --repo SLUG --json name,updatedAt`.
    pub fn environment_secret_list_spec(&self, slug: &str, environment: &str) -> CommandSpec {
        self.authed(&[
            "secret",
            "list",
            "--env",
            environment,
            "--repo",
            slug,
            "--json",
            "name,updatedAt",
        ])
    }

    /// The names of the secrets of the GitHub environment `environment`.
    pub async fn environment_secret_list(
        &self,
        slug: &str,
        environment: &str,
    ) -> Result<Vec<String>, ToolError> {
        let spec = self.environment_secret_list_spec(slug, environment);
        let listing: Vec<SecretListing> = self.exec.json(spec, "a list of secrets").await?;
        Ok(listing.into_iter().map(|s| s.name).collect())
    }

    /// `gh api repos/SLUG/environments/NAME`: the GitHub environment, 404 when absent.
    pub fn environment_view_spec(&self, slug: &str, name: &str) -> CommandSpec {
        self.authed(&["api", &format!("repos/{slug}/environments/{name}")])
    }

    /// Whether the GitHub environment `name` exists in `slug`.
    pub async fn environment_exists(&self, slug: &str, name: &str) -> Result<bool, ToolError> {
        Ok(self
            .environment_protection_rules(slug, name)
            .await?
            .is_some())
    }

    /// How many protection rules (required reviewers, a wait timer, a branch policy) the
    /// GitHub environment `name` of `slug` has; `None` when it does not exist.
    pub async fn environment_protection_rules(
        &self,
        slug: &str,
        name: &str,
    ) -> Result<Option<usize>, ToolError> {
        let spec = self.environment_view_spec(slug, name);
        let found: Option<serde_json::Value> =
            none_if_not_found(self.exec.json(spec, "a GitHub environment").await)?;
        Ok(found.map(|environment| {
            environment["protection_rules"]
                .as_array()
                .map_or(0, Vec::len)
        }))
    }

    /// `gh api --method DELETE repos/SLUG/environments/NAME --silent` (rollback of a GitHub
    /// environment this tool created; its secrets go with it).
    pub fn environment_delete_spec(&self, slug: &str, name: &str) -> CommandSpec {
        self.authed(&[
            "api",
            "--method",
            "DELETE",
            &format!("repos/{slug}/environments/{name}"),
            "--silent",
        ])
    }

    /// The secrets of the GitHub environment `environment` with when each was set; `None`
    /// when the environment does not exist.
    pub async fn environment_secret_listing(
        &self,
        slug: &str,
        environment: &str,
    ) -> Result<Option<Vec<SecretListing>>, ToolError> {
        let spec = self.environment_secret_list_spec(slug, environment);
        none_if_not_found(self.exec.json(spec, "a list of secrets").await)
    }

    /// `gh secret delete NAME --env ENVIRONMENT --repo SLUG` (rollback of an environment
    /// secret this tool set).
    pub fn environment_secret_delete_spec(
        &self,
        slug: &str,
        environment: &str,
        name: &str,
    ) -> CommandSpec {
        self.authed(&[
            "secret",
            "delete",
            name,
            "--env",
            environment,
            "--repo",
            slug,
        ])
    }

    /// `gh api repos/SLUG/git/ref/heads/BRANCH`: the branch's reference, 404 when absent.
    pub fn branch_head_spec(&self, slug: &str, branch: &str) -> CommandSpec {
        self.authed(&["api", &format!("repos/{slug}/git/ref/heads/{branch}")])
    }

    /// The commit `branch` of `slug` points at; `None` when there is no such branch.
    pub async fn branch_head(&self, slug: &str, branch: &str) -> Result<Option<String>, ToolError> {
        #[derive(Deserialize)]
        struct Reference {
            object: ReferenceObject,
        }
        #[derive(Deserialize)]
        struct ReferenceObject {
            sha: String,
        }
        let spec = self.branch_head_spec(slug, branch);
        let reference: Option<Reference> =
            none_if_not_found(self.exec.json(spec, "a git reference").await)?;
        Ok(reference.map(|r| r.object.sha))
    }

    /// `gh api --method DELETE repos/SLUG/git/refs/heads/BRANCH --silent` (rollback of a
    /// branch this tool created).
    pub fn branch_delete_spec(&self, slug: &str, branch: &str) -> CommandSpec {
        self.authed(&[
            "api",
            "--method",
            "DELETE",
            &format!("repos/{slug}/git/refs/heads/{branch}"),
            "--silent",
        ])
    }

    /// `gh api --method POST repos/SLUG/keys --input -`: adds a deploy key, the JSON body
    /// (`title`, `key`, `read_only`) on stdin.
    pub fn deploy_key_add_spec(&self, slug: &str, title: &str, public_key: &str) -> CommandSpec {
        let body = serde_json::json!({"title": title, "key": public_key, "read_only": true});
        self.authed(&[
            "api",
            "--method",
            "POST",
            &format!("repos/{slug}/keys"),
            "--input",
            "-",
        ])
        .stdin_bytes(body.to_string().into_bytes())
    }

    /// Add a read-only deploy key to `slug`; GitHub's answer.
    pub async fn deploy_key_add(
        &self,
        slug: &str,
        title: &str,
        public_key: &str,
    ) -> Result<RepoDeployKey, ToolError> {
        let spec = self.deploy_key_add_spec(slug, title, public_key);
        self.exec.json(spec, "a deploy key").await
    }

    /// `gh api repos/SLUG/keys`: the repository's deploy keys.
    pub fn deploy_keys_spec(&self, slug: &str) -> CommandSpec {
        self.authed(&["api", &format!("repos/{slug}/keys")])
    }

    /// The deploy keys of `slug` (the first page, as GitHub answers it: 30 keys).
    pub async fn deploy_keys(&self, slug: &str) -> Result<Vec<RepoDeployKey>, ToolError> {
        let spec = self.deploy_keys_spec(slug);
        self.exec.json(spec, "a list of deploy keys").await
    }

    /// `gh api repos/SLUG/keys/ID`: one deploy key, 404 when gone.
    pub fn deploy_key_spec(&self, slug: &str, id: u64) -> CommandSpec {
        self.authed(&["api", &format!("repos/{slug}/keys/{id}")])
    }

    /// The deploy key `id` of `slug`; `None` when it is gone.
    pub async fn deploy_key(
        &self,
        slug: &str,
        id: u64,
    ) -> Result<Option<RepoDeployKey>, ToolError> {
        let spec = self.deploy_key_spec(slug, id);
        none_if_not_found(self.exec.json(spec, "a deploy key").await)
    }

    /// `gh api --method DELETE repos/SLUG/keys/ID --silent`.
    pub fn deploy_key_delete_spec(&self, slug: &str, id: u64) -> CommandSpec {
        self.authed(&[
            "api",
            "--method",
            "DELETE",
            &format!("repos/{slug}/keys/{id}"),
            "--silent",
        ])
    }

    /// Delete the deploy key `id` of `slug`; one already gone is [`DeleteOutcome::NotFound`].
    pub async fn deploy_key_delete(&self, slug: &str, id: u64) -> Result<DeleteOutcome, ToolError> {
        let spec = self.deploy_key_delete_spec(slug, id);
        delete_outcome(self.exec.checked(spec).await)
    }

    /// `gh api meta`: the host's published facts, its SSH host keys among them.
    pub fn meta_spec(&self) -> CommandSpec {
        self.authed(&["api", "meta"])
    }

    /// The host's SSH host keys (`TYPE BASE64` each), as `gh api meta` lists them.
    pub async fn ssh_host_keys(&self) -> Result<Vec<String>, ToolError> {
        #[derive(Deserialize)]
        struct Meta {
            #[serde(default)]
            ssh_keys: Vec<String>,
        }
        let spec = self.meta_spec();
        let meta: Meta = self.exec.json(spec, "the host's meta data").await?;
        Ok(meta.ssh_keys)
    }

    /// `gh secret delete NAME --repo SLUG` (rollback of a secret this tool set).
    pub fn secret_delete_spec(&self, slug: &str, name: &str) -> CommandSpec {
        self.authed(&["secret", "delete", name, "--repo", slug])
    }

    /// `gh label delete NAME --repo SLUG --yes` (rollback of a label this tool created).
    pub fn label_delete_spec(&self, slug: &str, name: &str) -> CommandSpec {
        self.authed(&["label", "delete", name, "--repo", slug, "--yes"])
    }

    /// `gh pr list --repo SLUG --base BASE --state open --json …`.
    pub fn pr_list_spec(&self, slug: &str, base: &str) -> CommandSpec {
        self.authed(&[
            "pr",
            "list",
            "--repo",
            slug,
            "--base",
            base,
            "--state",
            "open",
            "--json",
            "number,title,headRefName,baseRefName,author,url",
        ])
    }

    /// [`Gh::pr_list_spec`] up to [`OPEN_PULL_REQUESTS_LIMIT`] (gh lists 30 by default).
    pub fn open_pull_requests_spec(&self, slug: &str, base: &str) -> CommandSpec {
        self.pr_list_spec(slug, base)
            .arg("--limit")
            .arg(OPEN_PULL_REQUESTS_LIMIT.to_string())
    }

    /// Every open pull request against `base` (up to [`OPEN_PULL_REQUESTS_LIMIT`]), newest
    /// first.
    pub async fn open_pull_requests(
        &self,
        slug: &str,
        base: &str,
    ) -> Result<Vec<PullRequest>, ToolError> {
        let spec = self.open_pull_requests_spec(slug, base);
        self.exec.json(spec, "a list of pull requests").await
    }

    /// The open pull requests against `base`, newest first.
    pub async fn pr_list(&self, slug: &str, base: &str) -> Result<Vec<PullRequest>, ToolError> {
        let spec = self.pr_list_spec(slug, base);
        self.exec.json(spec, "a list of pull requests").await
    }

    /// `gh pr view NUMBER --repo SLUG --json files` (the dry run shows `<number>`: the
    /// pull request is the one the scheduler will have opened).
    pub fn pr_files_spec(&self, slug: &str, number: &str) -> CommandSpec {
        self.authed(&["pr", "view", number, "--repo", slug, "--json", "files"])
    }

    /// The paths of the files pull request `number` changes.
    pub async fn pr_files(&self, slug: &str, number: u64) -> Result<Vec<String>, ToolError> {
        let spec = self.pr_files_spec(slug, &number.to_string());
        let files: PullRequestFiles = self.exec.json(spec, "the files of a pull request").await?;
        Ok(files.files.into_iter().map(|f| f.path).collect())
    }

    pub fn secret_list_spec(&self, slug: &str) -> CommandSpec {
        self.authed(&["secret", "list", "--repo", slug, "--json", "name,updatedAt"])
    }

    /// The names of the repository's Actions secrets.
    pub async fn secret_list(&self, slug: &str) -> Result<Vec<String>, ToolError> {
        Ok(self
            .secret_listing(slug)
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect())
    }

    /// The repository's Actions secrets, each with when it was last set (never its value).
    pub async fn secret_listing(&self, slug: &str) -> Result<Vec<SecretListing>, ToolError> {
        let spec = self.secret_list_spec(slug);
        self.exec.json(spec, "a list of secrets").await
    }

    /// `gh label list --repo SLUG --json name,color,description --limit 1000`.
    pub fn label_list_spec(&self, slug: &str) -> CommandSpec {
        self.authed(&[
            "label",
            "list",
            "--repo",
            slug,
            "--json",
            "name,color,description",
            "--limit",
            "1000",
        ])
    }

    /// The repository's labels.
    pub async fn label_list(&self, slug: &str) -> Result<Vec<LabelInfo>, ToolError> {
        let spec = self.label_list_spec(slug);
        self.exec.json(spec, "a list of labels").await
    }

    pub fn label_create_spec(
        &self,
        slug: &str,
        name: &str,
        color: &str,
        description: &str,
    ) -> CommandSpec {
        self.authed(&[
            "label",
            "create",
            name,
            "--repo",
            slug,
            "--color",
            color,
            "--description",
            description,
            // Update instead of failing when the label exists: re-runs stay idempotent.
            "--force",
        ])
    }

    /// Create or update a label.
    pub async fn label_create(
        &self,
        slug: &str,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), ToolError> {
        let spec = self.label_create_spec(slug, name, color, description);
        self.exec.checked(spec).await.map(drop)
    }
}

/// The topic every repository this tool creates carries (GitHub topics are lower-case
/// letters, digits and hyphens).
pub const MARK_TOPIC: &str = "kalypso-bootstrap";

/// `gh api repos/O/N`: what identifies a repository and its topics.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct RepoIdentity {
    /// GitHub's numeric id: a repository deleted and created again has a new one.
    pub id: u64,
    pub created_at: String,
    #[serde(default)]
    pub topics: Vec<String>,
}

impl Gh {
    /// `gh repo edit SLUG --add-topic kalypso-bootstrap`: the mark of a repository we created.
    pub fn repo_add_mark_topic_spec(&self, slug: &str) -> CommandSpec {
        self.authed(&["repo", "edit", slug, "--add-topic", MARK_TOPIC])
    }

    /// Put our topic on a repository this run has just created (never on a reused one).
    pub async fn repo_add_mark_topic(&self, slug: &str) -> Result<(), ToolError> {
        let spec = self.repo_add_mark_topic_spec(slug);
        self.exec.checked(spec).await.map(drop)
    }

    pub fn repo_identity_spec(&self, slug: &str) -> CommandSpec {
        self.authed(&["api", &format!("repos/{slug}")])
    }

    /// The repository's id, creation time and topics; `None` when it does not exist.
    pub async fn repo_identity(&self, slug: &str) -> Result<Option<RepoIdentity>, ToolError> {
        let spec = self.repo_identity_spec(slug);
        none_if_not_found(self.exec.json(spec, "a repository object").await)
    }
}

/// gh's 403 on delete does not always name the scope: `delete_repo` is the one needed.
fn scope_for_delete(err: ToolError) -> ToolError {
    match err {
        ToolError::Failed {
            command,
            exit_code,
            class: ErrorClass::PermissionDenied {
                missing_scope: None,
            },
            message,
        } => ToolError::Failed {
            command,
            exit_code,
            class: ErrorClass::PermissionDenied {
                missing_scope: Some("delete_repo".to_string()),
            },
            message,
        },
        other => other,
    }
}

/// The fields of a pull request the first-workload verification reads from `gh pr list`.
/// The fields `gh pr view`/`gh pr list` give for a [`PullRequestState`].
pub const PULL_STATE_FIELDS: &str =
    "number,state,mergedAt,mergeCommit,headRefName,headRefOid,baseRefName,labels,url";
pub const SCHEDULER_PULL_FIELDS: &str =
    "number,title,headRefName,headRefOid,labels,author,isCrossRepository,url";

/// An open pull request with its head commit and labels (`gh pr list --json
/// number,title,headRefName,headRefOid,labels,author,isCrossRepository,url`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPullRequest {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    pub head_ref_name: String,
    pub head_ref_oid: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub labels: Vec<PullRequestLabel>,
    #[serde(default)]
    pub author: Option<PullRequestAuthor>,
    /// From a fork: its head branch is not in the repository.
    #[serde(default)]
    pub is_cross_repository: bool,
    #[serde(default)]
    pub url: String,
}

impl OpenPullRequest {
    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|label| label.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PullRequestLabel {
    pub name: String,
}

/// One pull request as `gh pr view N --json
/// number,state,mergedAt,mergeCommit,headRefName,headRefOid,baseRefName,labels,url` gives it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestState {
    pub number: u64,
    /// `OPEN`, `CLOSED` or `MERGED`.
    pub state: String,
    #[serde(default)]
    pub merged_at: Option<String>,
    #[serde(default)]
    pub merge_commit: Option<MergeCommit>,
    #[serde(default)]
    pub head_ref_name: String,
    #[serde(default)]
    pub head_ref_oid: String,
    #[serde(default)]
    pub base_ref_name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub labels: Vec<PullRequestLabel>,
    #[serde(default)]
    pub url: String,
}

impl PullRequestState {
    /// The merge commit of a merged pull request.
    pub fn merged_commit(&self) -> Option<&str> {
        (self.state.eq_ignore_ascii_case("MERGED"))
            .then(|| self.merge_commit.as_ref().map(|c| c.oid.as_str()))
            .flatten()
            .filter(|oid| !oid.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MergeCommit {
    pub oid: String,
}

/// One entry of `gh api repos/O/R/contents/DIR?ref=SHA` (a directory listing).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ContentEntry {
    pub name: String,
    pub path: String,
    /// `file`, `dir`, `symlink` or `submodule`.
    #[serde(rename = "type")]
    pub kind: String,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

impl Gh {
    /// `gh pr list --repo SLUG --base BASE --state open --json number,title,headRefName,headRefOid,labels,author,isCrossRepository,url`.
    pub fn scheduler_pulls_spec(&self, slug: &str, base: &str) -> CommandSpec {
        self.authed(&[
            "pr",
            "list",
            "--repo",
            slug,
            "--base",
            base,
            "--state",
            "open",
            "--json",
            SCHEDULER_PULL_FIELDS,
        ])
    }

    /// The open pull requests against `base` with their head commits and labels.
    pub async fn scheduler_pulls(
        &self,
        slug: &str,
        base: &str,
    ) -> Result<Vec<OpenPullRequest>, ToolError> {
        let spec = self.scheduler_pulls_spec(slug, base);
        self.exec.json(spec, "a list of pull requests").await
    }

    /// `gh pr list --repo SLUG --base BASE --state merged --json …`: the pull requests
    /// merged into `base`, newest first (gh lists at most 30).
    pub fn merged_pulls_spec(&self, slug: &str, base: &str) -> CommandSpec {
        self.authed(&[
            "pr",
            "list",
            "--repo",
            slug,
            "--base",
            base,
            "--state",
            "merged",
            "--json",
            PULL_STATE_FIELDS,
        ])
    }

    pub async fn merged_pulls(
        &self,
        slug: &str,
        base: &str,
    ) -> Result<Vec<PullRequestState>, ToolError> {
        let spec = self.merged_pulls_spec(slug, base);
        self.exec.json(spec, "a list of pull requests").await
    }

    /// `gh api repos/SLUG/compare/COMMIT...BRANCH`: how `branch` relates to `commit`.
    pub fn compare_spec(&self, slug: &str, commit: &str, branch: &str) -> CommandSpec {
        self.authed(&["api", &format!("repos/{slug}/compare/{commit}...{branch}")])
    }

    /// Whether `commit` is on `branch` (the branch is at it or ahead of it); `false`
    /// when either is unknown.
    pub async fn commit_on_branch(
        &self,
        slug: &str,
        commit: &str,
        branch: &str,
    ) -> Result<bool, ToolError> {
        #[derive(Deserialize)]
        struct Comparison {
            status: String,
        }
        let spec = self.compare_spec(slug, commit, branch);
        let comparison: Option<Comparison> =
            none_if_not_found(self.exec.json(spec, "a comparison of two commits").await)?;
        Ok(comparison.is_some_and(|c| c.status == "identical" || c.status == "ahead"))
    }

    /// `gh pr view NUMBER --repo SLUG --json number,state,mergedAt,mergeCommit,…`.
    pub fn pr_state_spec(&self, slug: &str, number: &str) -> CommandSpec {
        self.authed(&[
            "pr",
            "view",
            number,
            "--repo",
            slug,
            "--json",
            PULL_STATE_FIELDS,
        ])
    }

    pub async fn pr_state(&self, slug: &str, number: u64) -> Result<PullRequestState, ToolError> {
        let spec = self.pr_state_spec(slug, &number.to_string());
        self.exec.json(spec, "a pull request").await
    }

    /// `gh pr merge NUMBER --repo SLUG --merge --match-head-commit SHA`: merges only while
    /// the head is still the commit we looked at.
    pub fn pr_merge_spec(&self, slug: &str, number: &str, head: &str) -> CommandSpec {
        self.authed(&[
            "pr",
            "merge",
            number,
            "--repo",
            slug,
            "--merge",
            "--match-head-commit",
            head,
        ])
    }

    pub async fn pr_merge(&self, slug: &str, number: u64, head: &str) -> Result<(), ToolError> {
        let spec = self.pr_merge_spec(slug, &number.to_string(), head);
        self.exec.checked(spec).await.map(drop)
    }

    /// `gh api repos/SLUG/contents/PATH?ref=SHA`: a directory's listing.
    pub fn contents_spec(&self, slug: &str, path: &str, reference: &str) -> CommandSpec {
        self.authed(&[
            "api",
            &format!("repos/{slug}/contents/{path}?ref={reference}"),
        ])
    }

    /// The entries of directory `path` at `reference`; `None` when there is no such path.
    pub async fn directory(
        &self,
        slug: &str,
        path: &str,
        reference: &str,
    ) -> Result<Option<Vec<ContentEntry>>, ToolError> {
        let spec = self.contents_spec(slug, path, reference);
        none_if_not_found(self.exec.json(spec, "a directory listing").await)
    }

    /// `gh api -H "Accept: application/vnd.github.raw" repos/SLUG/contents/PATH?ref=SHA`.
    pub fn raw_file_spec(&self, slug: &str, path: &str, reference: &str) -> CommandSpec {
        self.authed(&[
            "api",
            "-H",
            "Accept: application/vnd.github.raw",
            &format!("repos/{slug}/contents/{path}?ref={reference}"),
        ])
    }

    /// The text of file `path` at `reference`; `None` when there is no such file.
    pub async fn raw_file(
        &self,
        slug: &str,
        path: &str,
        reference: &str,
    ) -> Result<Option<String>, ToolError> {
        let spec = self.raw_file_spec(slug, path, reference);
        none_if_not_found(self.exec.checked(spec).await.map(|output| output.stdout))
    }
}

impl Gh {
    /// `gh workflow run WORKFLOW --repo SLUG --ref REF -f KEY=VALUE…`: a `workflow_dispatch`
    /// run (the summary prints it for promoting by hand; the tool never runs it).
    pub fn workflow_run_spec(
        &self,
        slug: &str,
        workflow: &str,
        reference: &str,
        inputs: &[(&str, &str)],
    ) -> CommandSpec {
        let mut spec = self.authed(&[
            "workflow", "run", workflow, "--repo", slug, "--ref", reference,
        ]);
        for (key, value) in inputs {
            spec = spec.arg("-f").arg(format!("{key}={value}"));
        }
        spec
    }
}
