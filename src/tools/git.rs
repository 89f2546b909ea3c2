//! `git`: the version check, and seeding a new repository with rendered files.
//!
//! Authentication never goes through a URL or an argument: the caller passes a [`GitEnv`]
//! (for GitHub, [`super::gh::Gh::git_env`]: `gh auth git-credential` as the credential
//! helper, configured with `GIT_CONFIG_*` variables, the token in the child's `GH_TOKEN`).
//! Only the commands that reach the remote (`push`, `ls-remote`) get the token; `init`,
//! `switch`, `add` and `commit` get none, not even one inherited from the user.
//! The same mechanism carries extra configuration such as a test's `url.<base>.insteadOf`.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::config::GitHubHost;
use crate::templates::{RenderedBranch, RenderedFile};

use super::error::{output_excerpt, ToolError};
use super::exec::Exec;
use super::runner::{CommandRunner, CommandSpec, EnvValue, RunControl};
use super::version::{Version, VersionParseError};

pub const PROGRAM: &str = "git";

const QUERY_TIMEOUT: Duration = Duration::from_secs(30);
/// A push uploads the whole seed over a possibly slow link.
const PUSH_TIMEOUT: Duration = Duration::from_secs(180);

/// Author and committer of the seed commits.
pub const AUTHOR_NAME: &str = "Kalypso Bootstrap";
pub const AUTHOR_EMAIL: &str = "kalypso-bootstrap@users.noreply.github.com";
/// The message of each seed commit.
pub const SEED_MESSAGE: &str = "Initial commit by Kalypso Bootstrap";

/// Variables that would point git at another repository than the one we work in.
const REPOSITORY_VARS: [&str; 4] = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX"];

/// What a git child gets in its environment: configuration entries (passed as
/// `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_n` / `GIT_CONFIG_VALUE_n`, in order, so a key may
/// repeat: an empty value then resets a multi-valued key), plain and secret variables, and
/// inherited variables to drop.
#[derive(Clone, Debug, Default)]
pub struct GitEnv {
    config: Vec<(String, String)>,
    vars: Vec<(String, EnvValue)>,
    removed: Vec<String>,
}

impl GitEnv {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a configuration entry (after the existing ones).
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }

    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.push((name.into(), EnvValue::Plain(value.into())));
        self
    }

    pub fn secret_var(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.vars.push((name.into(), EnvValue::Secret(value)));
        self
    }

    /// Do not let the child inherit `name`.
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.removed.push(name.into());
        self
    }

    /// Both sets: `other`'s configuration entries come after ours (git applies the last
    /// value of a single-valued key), its variables override ours.
    pub fn merge(mut self, other: GitEnv) -> Self {
        self.config.extend(other.config);
        self.vars.extend(other.vars);
        self.removed.extend(other.removed);
        self
    }

    pub fn config_entries(&self) -> &[(String, String)] {
        &self.config
    }

    /// The `GIT_CONFIG_*` variables for the configuration entries.
    pub fn config_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![(
            "GIT_CONFIG_COUNT".to_string(),
            self.config.len().to_string(),
        )];
        for (index, (key, value)) in self.config.iter().enumerate() {
            vars.push((format!("GIT_CONFIG_KEY_{index}"), key.clone()));
            vars.push((format!("GIT_CONFIG_VALUE_{index}"), value.clone()));
        }
        vars
    }

    /// `spec` with this environment applied, secrets included: for the commands that
    /// reach the remote (`push`, `ls-remote`) and so may run the credential helper. git
    /// never prompts for credentials.
    pub fn apply(&self, mut spec: CommandSpec) -> CommandSpec {
        for name in REPOSITORY_VARS
            .iter()
            .map(|s| s.to_string())
            .chain(self.removed.clone())
        {
            spec = spec.env_remove(name);
        }
        spec = spec.env("GIT_TERMINAL_PROMPT", "0");
        if !self.config.is_empty() {
            for (name, value) in self.config_vars() {
                spec = spec.env(name, value);
            }
        }
        for (name, value) in &self.vars {
            spec.env.push((name.clone(), value.clone()));
        }
        spec
    }

    /// `spec` with this environment applied but no secret: for the commands that stay in
    /// the work tree (`init`, `switch`, `add`, `commit`). They get neither our secret
    /// variables nor a GitHub token inherited from the user's environment.
    pub fn apply_local(&self, spec: CommandSpec) -> CommandSpec {
        let mut spec = Self {
            config: self.config.clone(),
            vars: Vec::new(),
            removed: self.removed.clone(),
        }
        .apply(spec);
        let secret_names = self.vars.iter().filter_map(|(name, value)| match value {
            EnvValue::Secret(_) => Some(name.clone()),
            EnvValue::Plain(_) => None,
        });
        let token_names = crate::secrets::GITHUB_TOKEN_VARIABLES.map(String::from);
        for name in secret_names.chain(token_names) {
            spec = spec.env_remove(name);
        }
        for (name, value) in &self.vars {
            if let EnvValue::Plain(_) = value {
                spec.env.push((name.clone(), value.clone()));
            }
        }
        spec
    }
}

/// Why seeding a repository failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("could not write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("refusing to write {path:?}: {rule}")]
    UnsafePath { path: String, rule: &'static str },
    #[error("refusing to push to {url:?}: {rule}")]
    UnsafeRemote { url: String, rule: &'static str },
    #[error("{} is not empty: seed from an empty or new directory", path.display())]
    WorkdirNotEmpty { path: PathBuf },
    #[error("nothing to seed: no branches given")]
    NoBranches,
}

/// One step of seeding: run a command, or lay out a branch's files in the work tree.
#[derive(Clone, Debug)]
pub enum SeedStep {
    Run(CommandSpec),
    WriteFiles { branch: String },
}

#[derive(Clone)]
pub struct Git {
    exec: Exec,
}

impl Git {
    /// Every call of the returned adapter streams its output to `control.sink` and stops
    /// when `control.cancel` is cancelled (the children are killed).
    pub fn with_control(mut self, control: RunControl) -> Self {
        self.exec = self.exec.with_control(control);
        self
    }

    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            exec: Exec::new(runner),
        }
    }

    fn base(args: &[&str]) -> CommandSpec {
        let mut spec = CommandSpec::new(PROGRAM)
            .args(args.iter().copied())
            .timeout(QUERY_TIMEOUT);
        // git never talks to Azure: it (and its credential helper) does not get the Azure
        // credentials.
        for var in crate::secrets::AZURE_SECRET_VARIABLES {
            spec = spec.env_remove(var);
        }
        spec
    }

    pub fn version_spec(&self) -> CommandSpec {
        Self::base(&["--version"])
    }

    /// `git --version`.
    pub async fn version(&self) -> Result<Version, ToolError> {
        self.exec.version(self.version_spec(), parse_version).await
    }

    pub fn init_spec(&self, workdir: &Path, branch: &str, env: &GitEnv) -> CommandSpec {
        env.apply_local(Self::base(&["init", "-b", branch]).cwd(workdir))
    }

    /// Start an unrelated branch with an empty index and work tree.
    pub fn switch_orphan_spec(&self, workdir: &Path, branch: &str, env: &GitEnv) -> CommandSpec {
        env.apply_local(Self::base(&["switch", "--orphan", branch]).cwd(workdir))
    }

    pub fn add_all_spec(&self, workdir: &Path, env: &GitEnv) -> CommandSpec {
        env.apply_local(Self::base(&["add", "-A"]).cwd(workdir))
    }

    /// A commit as "Kalypso Bootstrap", independent of the user's identity, signing and
    /// hooks configuration (none of which apply to generated content).
    pub fn commit_spec(&self, workdir: &Path, message: &str, env: &GitEnv) -> CommandSpec {
        let name = format!("user.name={AUTHOR_NAME}");
        let email = format!("user.email={AUTHOR_EMAIL}");
        env.apply_local(
            Self::base(&[
                "-c",
                &name,
                "-c",
                &email,
                "-c",
                "commit.gpgsign=false",
                "commit",
                "--no-verify",
                // A branch without files still gets its commit, so it can be pushed.
                "--allow-empty",
                "-m",
                message,
            ])
            .cwd(workdir),
        )
    }

    pub fn push_spec(
        &self,
        workdir: &Path,
        remote_url: &str,
        branch: &str,
        env: &GitEnv,
    ) -> CommandSpec {
        env.apply(
            Self::base(&["push", "--no-verify", remote_url, branch])
                .cwd(workdir)
                .timeout(PUSH_TIMEOUT),
        )
    }

    pub fn ls_remote_heads_spec(&self, remote_url: &str, env: &GitEnv) -> CommandSpec {
        env.apply(Self::base(&["ls-remote", "--heads", remote_url]))
    }

    /// The branch names on the remote (empty for an empty repository).
    pub async fn remote_branches(
        &self,
        remote_url: &str,
        env: &GitEnv,
    ) -> Result<Vec<String>, ToolError> {
        check_remote(remote_url).map_err(|e| ToolError::UnexpectedOutput {
            command: format!("git ls-remote --heads {remote_url}"),
            reason: e.to_string(),
        })?;
        let spec = self.ls_remote_heads_spec(remote_url, env);
        let output = self.exec.checked(spec).await?;
        Ok(parse_heads(&output.stdout))
    }

    /// Every step [`Git::seed`] takes, in order: for the first branch `git init -b`, for
    /// each later one `git switch --orphan`; then its files are written, added, committed
    /// and pushed (so `main` is pushed before `dev`).
    pub fn seed_steps(
        &self,
        workdir: &Path,
        remote_url: &str,
        branches: &[RenderedBranch],
        message: &str,
        env: &GitEnv,
    ) -> Vec<SeedStep> {
        let mut steps = Vec::new();
        for (index, branch) in branches.iter().enumerate() {
            steps.push(SeedStep::Run(if index == 0 {
                self.init_spec(workdir, &branch.name, env)
            } else {
                self.switch_orphan_spec(workdir, &branch.name, env)
            }));
            steps.push(SeedStep::WriteFiles {
                branch: branch.name.clone(),
            });
            steps.push(SeedStep::Run(self.add_all_spec(workdir, env)));
            steps.push(SeedStep::Run(self.commit_spec(workdir, message, env)));
            steps.push(SeedStep::Run(self.push_spec(
                workdir,
                remote_url,
                &branch.name,
                env,
            )));
        }
        steps
    }

    /// The commands of [`Git::seed_steps`], for dry-run listings.
    pub fn seed_specs(
        &self,
        workdir: &Path,
        remote_url: &str,
        branches: &[RenderedBranch],
        message: &str,
        env: &GitEnv,
    ) -> Vec<CommandSpec> {
        self.seed_steps(workdir, remote_url, branches, message, env)
            .into_iter()
            .filter_map(|step| match step {
                SeedStep::Run(spec) => Some(spec),
                SeedStep::WriteFiles { .. } => None,
            })
            .collect()
    }

    /// Push each branch's files as one commit to `remote_url`, in the order given. `workdir`
    /// must be absent or empty; it is left behind for the caller to remove (a temp dir).
    pub async fn seed(
        &self,
        workdir: &Path,
        remote_url: &str,
        branches: &[RenderedBranch],
        message: &str,
        env: &GitEnv,
    ) -> Result<(), SeedError> {
        if branches.is_empty() {
            return Err(SeedError::NoBranches);
        }
        check_remote(remote_url)?;
        for branch in branches {
            for file in &branch.files {
                check_relative_path(&file.path)?;
            }
        }
        prepare_workdir(workdir)?;
        for step in self.seed_steps(workdir, remote_url, branches, message, env) {
            match step {
                SeedStep::Run(spec) => {
                    self.exec.checked(spec).await?;
                }
                SeedStep::WriteFiles { branch } => {
                    let files = branches
                        .iter()
                        .find(|b| b.name == branch)
                        .map(|b| b.files.as_slice())
                        .unwrap_or_default();
                    write_files(workdir, files)?;
                }
            }
        }
        Ok(())
    }
}

/// One commit that changed one file on a branch: what [`Git::change_file`] pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCommit {
    pub commit: String,
    /// The blob of the file before the commit, and its text.
    pub previous_blob: String,
    pub previous_content: String,
    /// The blob of the file the commit wrote.
    pub written_blob: String,
}

/// Where [`Git::change_file_then`] commits: the branch of `remote_url`, cloned into
/// `workdir`, and the file `path` of it, changed in a commit with `message`.
#[derive(Clone, Copy, Debug)]
pub struct FileChange<'a> {
    pub workdir: &'a Path,
    pub remote_url: &'a str,
    pub branch: &'a str,
    pub path: &'a str,
    pub message: &'a str,
}

/// Why [`Git::change_file`] pushed nothing.
#[derive(Debug, thiserror::Error)]
pub enum FileChangeError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The file is not what the change expects (`edit` said why).
    #[error("{0}")]
    Refused(String),
}

impl From<ToolError> for FileChangeError {
    fn from(error: ToolError) -> Self {
        FileChangeError::Seed(SeedError::Tool(error))
    }
}

impl Git {
    /// `git clone --depth 1 --branch BRANCH --single-branch --no-tags REMOTE NAME` run in
    /// `workdir`'s parent (NAME its last component): one branch's latest commit, to change a
    /// file of it.
    pub fn clone_branch_spec(
        &self,
        remote_url: &str,
        branch: &str,
        workdir: &Path,
        env: &GitEnv,
    ) -> CommandSpec {
        let name = workdir
            .file_name()
            .map_or_else(|| "repository".into(), |n| n.to_string_lossy().into_owned());
        let mut spec = Self::base(&[
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--branch",
            branch,
            "--single-branch",
            "--no-tags",
            "--",
            remote_url,
            &name,
        ])
        .timeout(PUSH_TIMEOUT);
        if let Some(parent) = workdir.parent().filter(|p| !p.as_os_str().is_empty()) {
            spec = spec.cwd(parent);
        }
        env.apply(spec)
    }

    /// `git rev-parse REV...` in `workdir`.
    pub fn rev_parse_spec(&self, workdir: &Path, revisions: &[&str], env: &GitEnv) -> CommandSpec {
        let mut args = vec!["rev-parse"];
        args.extend_from_slice(revisions);
        env.apply_local(Self::base(&args).cwd(workdir))
    }

    /// `git add -- PATH`.
    pub fn add_path_spec(&self, workdir: &Path, path: &str, env: &GitEnv) -> CommandSpec {
        env.apply_local(Self::base(&["add", "--", path]).cwd(workdir))
    }

    /// Every command [`Git::change_file`] runs, in order (the file is rewritten between the
    /// second and the third), for dry-run listings.
    pub fn change_file_specs(
        &self,
        workdir: &Path,
        remote_url: &str,
        branch: &str,
        path: &str,
        message: &str,
        env: &GitEnv,
    ) -> Vec<CommandSpec> {
        let before = format!("HEAD:{path}");
        let after = ["HEAD", before.as_str()];
        vec![
            self.clone_branch_spec(remote_url, branch, workdir, env),
            self.rev_parse_spec(workdir, &[&before], env),
            self.add_path_spec(workdir, path, env),
            self.commit_spec(workdir, message, env),
            self.rev_parse_spec(workdir, &after, env),
            self.push_spec(workdir, remote_url, branch, env),
        ]
    }

    /// Change one file of `branch` in one commit, pushed without force (a branch that moved
    /// meanwhile rejects it): clone the branch into `workdir` (absent or empty), give the
    /// file's text and blob to `edit`, write what it returns, commit, push. A symlink or a
    /// missing file is refused; so is whatever `edit` refuses.
    pub async fn change_file(
        &self,
        change: FileChange<'_>,
        env: &GitEnv,
        edit: impl FnOnce(&str, &str) -> Result<String, String>,
    ) -> Result<FileCommit, FileChangeError> {
        self.change_file_then(change, env, edit, |_| Ok(())).await
    }

    /// [`Git::change_file`], telling `before_push` the commit before it is pushed (so that
    /// a caller can record it first: a run killed during the push still knows it); an
    /// `Err` from it stops before the push.
    pub async fn change_file_then(
        &self,
        change: FileChange<'_>,
        env: &GitEnv,
        edit: impl FnOnce(&str, &str) -> Result<String, String>,
        before_push: impl FnOnce(&FileCommit) -> Result<(), String>,
    ) -> Result<FileCommit, FileChangeError> {
        let FileChange {
            workdir,
            remote_url,
            branch,
            path,
            message,
        } = change;
        check_remote(remote_url)?;
        check_relative_path(path)?;
        // Git clones into an absent or empty directory; its parent is where clone runs.
        prepare_workdir(workdir)?;
        let specs = self.change_file_specs(workdir, remote_url, branch, path, message, env);
        let [clone, blob_before, add, commit, after, push]: [CommandSpec; 6] = specs
            .try_into()
            .unwrap_or_else(|_| unreachable!("six commands"));
        self.exec.checked(clone).await?;
        let previous_blob = self
            .exec
            .checked(blob_before)
            .await?
            .stdout
            .trim()
            .to_string();
        let file = workdir.join(path);
        // Never through a symlink: only a regular file of the branch is changed.
        let is_file = fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_file());
        if !is_file {
            return Err(FileChangeError::Refused(format!(
                "{path} on {branch} is not a regular file"
            )));
        }
        let io_error = |source| SeedError::Io {
            path: file.clone(),
            source,
        };
        let previous_content = fs::read_to_string(&file).map_err(io_error)?;
        let content = edit(&previous_content, &previous_blob).map_err(FileChangeError::Refused)?;
        fs::write(&file, &content).map_err(io_error)?;
        self.exec.checked(add).await?;
        self.exec.checked(commit).await?;
        let output = self.exec.checked(after).await?;
        let mut lines = output.stdout.lines().map(str::trim);
        let (Some(commit), Some(written_blob)) = (lines.next(), lines.next()) else {
            return Err(FileChangeError::Refused(format!(
                "git rev-parse did not name the new commit and blob of {path}"
            )));
        };
        let committed = FileCommit {
            commit: commit.to_string(),
            previous_blob,
            previous_content,
            written_blob: written_blob.to_string(),
        };
        before_push(&committed).map_err(FileChangeError::Refused)?;
        self.exec.checked(push).await?;
        Ok(committed)
    }
}

impl Git {
    /// Every command [`Git::create_branch_then`] runs, in order (the files are written
    /// after the first), for dry-run listings: `git init -b BRANCH`, `git add -A`, the
    /// commit, `git rev-parse HEAD`, `git push REMOTE BRANCH` (never forced: a branch that
    /// exists on the remote meanwhile rejects it).
    pub fn create_branch_specs(
        &self,
        workdir: &Path,
        remote_url: &str,
        branch: &str,
        message: &str,
        env: &GitEnv,
    ) -> Vec<CommandSpec> {
        vec![
            self.init_spec(workdir, branch, env),
            self.add_all_spec(workdir, env),
            self.commit_spec(workdir, message, env),
            self.rev_parse_spec(workdir, &["HEAD"], env),
            self.push_spec(workdir, remote_url, branch, env),
        ]
    }

    /// Push `branch` (a branch the remote does not have) with its files as one root
    /// commit, telling `before_push` the commit first (so that a caller records it before
    /// it can land). Returns the commit. `workdir` must be absent or empty.
    pub async fn create_branch_then(
        &self,
        workdir: &Path,
        remote_url: &str,
        branch: &RenderedBranch,
        message: &str,
        env: &GitEnv,
        before_push: impl FnOnce(&str) -> Result<(), String>,
    ) -> Result<String, FileChangeError> {
        check_remote(remote_url)?;
        for file in &branch.files {
            check_relative_path(&file.path)?;
        }
        prepare_workdir(workdir)?;
        let specs = self.create_branch_specs(workdir, remote_url, &branch.name, message, env);
        let [init, add, commit, head, push]: [CommandSpec; 5] = specs
            .try_into()
            .unwrap_or_else(|_| unreachable!("five commands"));
        self.exec.checked(init).await?;
        write_files(workdir, &branch.files)?;
        self.exec.checked(add).await?;
        self.exec.checked(commit).await?;
        let commit = self.exec.checked(head).await?.stdout.trim().to_string();
        if commit.is_empty() {
            return Err(FileChangeError::Refused(format!(
                "git rev-parse did not name the commit of branch {}",
                branch.name
            )));
        }
        before_push(&commit).map_err(FileChangeError::Refused)?;
        self.exec.checked(push).await?;
        Ok(commit)
    }

    /// Every command [`Git::add_file_then`] runs, in order (the file is written between the
    /// first and the second), for dry-run listings.
    pub fn add_file_specs(
        &self,
        workdir: &Path,
        remote_url: &str,
        branch: &str,
        path: &str,
        message: &str,
        env: &GitEnv,
    ) -> Vec<CommandSpec> {
        let written = format!("HEAD:{path}");
        vec![
            self.clone_branch_spec(remote_url, branch, workdir, env),
            self.add_path_spec(workdir, path, env),
            self.commit_spec(workdir, message, env),
            self.rev_parse_spec(workdir, &["HEAD", written.as_str()], env),
            self.push_spec(workdir, remote_url, branch, env),
        ]
    }

    /// Add the file `path` (which the branch must not have) with `content` to `branch` in
    /// one commit, pushed without force; `before_push` is told the commit first. The
    /// [`FileCommit`] has no previous blob or content.
    pub async fn add_file_then(
        &self,
        change: FileChange<'_>,
        content: &str,
        env: &GitEnv,
        before_push: impl FnOnce(&FileCommit) -> Result<(), String>,
    ) -> Result<FileCommit, FileChangeError> {
        let FileChange {
            workdir,
            remote_url,
            branch,
            path,
            message,
        } = change;
        check_remote(remote_url)?;
        check_relative_path(path)?;
        prepare_workdir(workdir)?;
        let specs = self.add_file_specs(workdir, remote_url, branch, path, message, env);
        let [clone, add, commit, after, push]: [CommandSpec; 5] = specs
            .try_into()
            .unwrap_or_else(|_| unreachable!("five commands"));
        self.exec.checked(clone).await?;
        let file = workdir.join(path);
        // Never through a symlinked folder of the branch, which could point anywhere on
        // this machine; never over something that is there (a file, a symlink): that is
        // not ours to replace.
        if let Some(link) = symlinked_folder(workdir, path) {
            return Err(FileChangeError::Refused(format!(
                "{link} on {branch} is a symbolic link: {path} is not written through it"
            )));
        }
        if fs::symlink_metadata(&file).is_ok() {
            return Err(FileChangeError::Refused(format!(
                "{path} is on {branch} already"
            )));
        }
        let io_error = |source| SeedError::Io {
            path: file.clone(),
            source,
        };
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent).map_err(io_error)?;
        }
        fs::write(&file, content).map_err(io_error)?;
        self.exec.checked(add).await?;
        self.exec.checked(commit).await?;
        let output = self.exec.checked(after).await?;
        let mut lines = output.stdout.lines().map(str::trim);
        let (Some(commit), Some(written_blob)) = (lines.next(), lines.next()) else {
            return Err(FileChangeError::Refused(format!(
                "git rev-parse did not name the new commit and blob of {path}"
            )));
        };
        let committed = FileCommit {
            commit: commit.to_string(),
            previous_blob: String::new(),
            previous_content: String::new(),
            written_blob: written_blob.to_string(),
        };
        before_push(&committed).map_err(FileChangeError::Refused)?;
        self.exec.checked(push).await?;
        Ok(committed)
    }
}

/// Where [`Git::revert_file_specs`] puts one file back: the branch of `remote_url`, cloned
/// into `dir` (relative to where the commands run), and the file `path` that our `commit`
/// changed, put back in a new commit with `message`.
#[derive(Clone, Copy, Debug)]
pub struct FileRevert<'a> {
    pub dir: &'a str,
    pub remote_url: &'a str,
    pub branch: &'a str,
    pub path: &'a str,
    pub commit: &'a str,
    pub message: &'a str,
    /// Our commit added the file (it had none before): the revert removes it.
    pub added: bool,
}

/// What each of [`Git::revert_file_specs`]' commands does, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevertStep {
    Clone,
    /// Fails (exit 1) when the file is no longer what our commit wrote.
    Check,
    Restore,
    Commit,
    Push,
}

impl RevertStep {
    pub const ALL: [RevertStep; 5] = [
        RevertStep::Clone,
        RevertStep::Check,
        RevertStep::Restore,
        RevertStep::Commit,
        RevertStep::Push,
    ];
}

impl Git {
    /// The commands that put back the one file our `commit` changed, each a real git command
    /// a user can also run (joined with `&&`, they are the manual revert), all from the same
    /// directory:
    /// `git clone --branch B --single-branch … URL DIR` (the whole branch: the commit's
    /// parent is needed), `git -C DIR diff --quiet COMMIT HEAD -- PATH` (fails unless the
    /// file is still exactly what our commit wrote), `git -C DIR checkout COMMIT~1 -- PATH`
    /// (the content before our commit), `git -C DIR commit`, `git -C DIR push origin B`
    /// (never forced: a branch that moved meanwhile rejects it). Only the clone and the
    /// push reach the remote and get `env`'s secrets.
    pub fn revert_file_specs(&self, revert: FileRevert<'_>, env: &GitEnv) -> Vec<CommandSpec> {
        let FileRevert {
            dir,
            remote_url,
            branch,
            path,
            commit,
            message,
            added,
        } = revert;
        let parent = format!("{commit}~1");
        let name = format!("user.name={AUTHOR_NAME}");
        let email = format!("user.email={AUTHOR_EMAIL}");
        RevertStep::ALL
            .iter()
            .map(|step| match step {
                RevertStep::Clone => env.apply(
                    Self::base(&[
                        "clone",
                        "--quiet",
                        "--branch",
                        branch,
                        "--single-branch",
                        "--no-tags",
                        "--",
                        remote_url,
                        dir,
                    ])
                    .timeout(PUSH_TIMEOUT),
                ),
                RevertStep::Check => env.apply_local(Self::base(&[
                    "-C", dir, "diff", "--quiet", commit, "HEAD", "--", path,
                ])),
                // A file our commit added is removed; any other gets its content back.
                RevertStep::Restore if added => {
                    env.apply_local(Self::base(&["-C", dir, "rm", "--quiet", "--", path]))
                }
                RevertStep::Restore => {
                    env.apply_local(Self::base(&["-C", dir, "checkout", &parent, "--", path]))
                }
                RevertStep::Commit => env.apply_local(Self::base(&[
                    "-C",
                    dir,
                    "-c",
                    &name,
                    "-c",
                    &email,
                    "-c",
                    "commit.gpgsign=false",
                    "commit",
                    "--quiet",
                    "--no-verify",
                    "-m",
                    message,
                ])),
                RevertStep::Push => env.apply(
                    Self::base(&["-C", dir, "push", "--no-verify", "origin", branch])
                        .timeout(PUSH_TIMEOUT),
                ),
            })
            .collect()
    }
}

/// The remote branches a failed push reports as rejected
/// (`! [rejected]        dev -> dev (fetch first)`): they exist on the remote already.
pub fn rejected_branches(error: &ToolError) -> Vec<String> {
    static REJECTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\[rejected\]\s+\S+\s+->\s+(\S+)").expect("valid regex")
    });
    match error {
        ToolError::Failed { message, .. } => REJECTED
            .captures_iter(message)
            .map(|c| c[1].to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// `https://HOST/OWNER/NAME.git`: the remote URL of a repository on the GitHub host (no
/// credentials in it, ever).
pub fn github_remote_url(host: &GitHubHost, owner: &str, name: &str) -> String {
    format!("{}.git", host.repo_url(owner, name))
}

/// Credentials in a URL would reach argv, `ps` and git's own messages.
fn check_remote(url: &str) -> Result<(), SeedError> {
    let unsafe_remote = |rule| SeedError::UnsafeRemote {
        url: crate::secrets::redact(url).into_owned(),
        rule,
    };
    if url.starts_with('-') {
        return Err(unsafe_remote("a remote may not start with '-'"));
    }
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return Err(unsafe_remote(
                "credentials may not be part of a URL; they are passed by the credential helper",
            ));
        }
    }
    Ok(())
}

/// A template path must stay inside the work tree and out of `.git`.
/// The first folder of the relative `path` (checked by [`check_relative_path`]) that is a
/// symbolic link in `workdir`, as a path relative to it; `None` when none is.
fn symlinked_folder(workdir: &Path, path: &str) -> Option<String> {
    let mut folder = PathBuf::new();
    let mut components: Vec<Component> = Path::new(path).components().collect();
    components.pop();
    for component in components {
        folder.push(component);
        if fs::symlink_metadata(workdir.join(&folder)).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(folder.display().to_string());
        }
    }
    None
}

fn check_relative_path(path: &str) -> Result<(), SeedError> {
    let unsafe_path = |rule| SeedError::UnsafePath {
        path: path.to_string(),
        rule,
    };
    if path.is_empty() {
        return Err(unsafe_path("the path is empty"));
    }
    let mut components = 0;
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) if part == ".git" => {
                return Err(unsafe_path("a path may not enter .git"))
            }
            Component::Normal(_) => components += 1,
            Component::CurDir => {}
            _ => return Err(unsafe_path("the path must be relative, without '..'")),
        }
    }
    if components == 0 {
        return Err(unsafe_path("the path names no file"));
    }
    Ok(())
}

fn prepare_workdir(workdir: &Path) -> Result<(), SeedError> {
    let io_error = |source| SeedError::Io {
        path: workdir.to_path_buf(),
        source,
    };
    if workdir.exists() {
        let mut entries = fs::read_dir(workdir).map_err(io_error)?;
        if entries.next().is_some() {
            return Err(SeedError::WorkdirNotEmpty {
                path: workdir.to_path_buf(),
            });
        }
        Ok(())
    } else {
        fs::create_dir_all(workdir).map_err(io_error)
    }
}

/// Write `files` under `workdir`: scripts 0755, everything else 0644.
pub fn write_files(workdir: &Path, files: &[RenderedFile]) -> Result<(), SeedError> {
    for file in files {
        check_relative_path(&file.path)?;
        let target = workdir.join(&file.path);
        let io_error = |source| SeedError::Io {
            path: target.clone(),
            source,
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_error)?;
        }
        fs::write(&target, &file.contents).map_err(io_error)?;
        let mode = if file.executable { 0o755 } else { 0o644 };
        fs::set_permissions(&target, fs::Permissions::from_mode(mode)).map_err(io_error)?;
    }
    Ok(())
}

/// Branch names from `git ls-remote --heads` (`<sha>\trefs/heads/<name>` lines).
pub fn parse_heads(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter_map(|(_, reference)| reference.trim().strip_prefix("refs/heads/"))
        .map(str::to_string)
        .collect()
}

/// The version from `git --version`: `git version 2.47.3`, also with vendor suffixes
/// (`2.39.3 (Apple Git-146)`, `2.43.0.windows.1`).
pub fn parse_version(stdout: &str) -> Result<Version, VersionParseError> {
    let first = stdout.lines().next().unwrap_or("").trim();
    let rest = first.strip_prefix("git version ").ok_or_else(|| {
        VersionParseError::new(format!(
            "expected \"git version X.Y.Z\", got {}",
            output_excerpt(stdout)
        ))
    })?;
    rest.split_whitespace().next().unwrap_or("").parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A branch whose `.environments` is a symbolic link (git checks one out pointing
    /// anywhere) gets no file written through it.
    #[test]
    fn a_symlinked_folder_of_the_branch_is_found_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let workdir = dir.path();
        fs::create_dir_all(workdir.join("plain/inner")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), workdir.join(".environments")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), workdir.join("plain/inner/link")).unwrap();
        assert_eq!(
            symlinked_folder(workdir, ".environments/prod.yaml").as_deref(),
            Some(".environments")
        );
        assert_eq!(
            symlinked_folder(workdir, "plain/inner/link/deeper/x.yaml").as_deref(),
            Some("plain/inner/link")
        );
        assert_eq!(symlinked_folder(workdir, "plain/inner/x.yaml"), None);
        assert_eq!(symlinked_folder(workdir, "absent/x.yaml"), None);
        // The file itself is the caller's check (it must not exist at all).
        assert_eq!(symlinked_folder(workdir, ".environments"), None);
    }
}
