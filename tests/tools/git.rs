//! Seeding repositories with the real git: the rendered templates are pushed to local bare
//! repositories that `https://github.com/…` is mapped onto with `url.<base>.insteadOf`
//! (passed by `GIT_CONFIG_*`, like the credential helper). Every git child runs with a
//! private HOME, so the machine's own git configuration cannot help or hinder.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kalypso_bootstrap::config::GitHubHost;
use kalypso_bootstrap::secrets;
use kalypso_bootstrap::templates::{self, RenderedBranch, RenderedFile, RepoRef, TemplateContext};
use kalypso_bootstrap::tools::gh::{self, Gh};
use kalypso_bootstrap::tools::git::{self, Git, GitEnv, SeedError};
use kalypso_bootstrap::tools::{CommandRunner, CommandSpec, ProcessRunner, ToolError};
use secrecy::SecretString;

struct GitSandbox {
    dir: tempfile::TempDir,
}

impl GitSandbox {
    fn new() -> Self {
        let world = GitSandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(world.home()).unwrap();
        std::fs::create_dir_all(world.remotes()).unwrap();
        world
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn remotes(&self) -> PathBuf {
        self.dir.path().join("remotes")
    }

    fn bare(&self, owner: &str, name: &str) -> PathBuf {
        let path = self.remotes().join(owner).join(format!("{name}.git"));
        std::fs::create_dir_all(&path).unwrap();
        run_git(&path, &["init", "--bare", "-q"]);
        path
    }

    /// The test's mapping of github.com onto the local remotes, plus a private HOME.
    fn env(&self) -> GitEnv {
        GitEnv::new()
            .config(
                format!("url.file://{}/.insteadOf", self.remotes().display()),
                "https://github.com/",
            )
            .var("HOME", self.home().to_string_lossy())
            .var("GIT_CONFIG_NOSYSTEM", "1")
            .remove("GIT_CONFIG_GLOBAL")
    }
}

fn run_git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn rendered() -> templates::RenderedTemplates {
    templates::render(&TemplateContext::new(
        RepoRef::new("contoso", "control-plane"),
        RepoRef::new("contoso", "gitops"),
    ))
    .unwrap()
}

/// Paths, modes and contents on `branch` of a bare repository, compared with the files.
fn assert_branch_holds_exactly(bare: &Path, branch: &RenderedBranch) {
    let listing = String::from_utf8(run_git(bare, &["ls-tree", "-r", &branch.name])).unwrap();
    let pushed: BTreeSet<(String, String)> = listing
        .lines()
        .map(|line| {
            let (meta, path) = line.split_once('\t').unwrap();
            let mode = meta.split_whitespace().next().unwrap().to_string();
            (path.to_string(), mode)
        })
        .collect();
    let expected: BTreeSet<(String, String)> = branch
        .files
        .iter()
        .map(|f| {
            let mode = if f.executable { "100755" } else { "100644" };
            (f.path.clone(), mode.to_string())
        })
        .collect();
    assert_eq!(pushed, expected, "files and modes on {}", branch.name);
    for file in &branch.files {
        let contents = run_git(bare, &["show", &format!("{}:{}", branch.name, file.path)]);
        assert!(
            contents == file.contents,
            "contents of {} on {}",
            file.path,
            branch.name
        );
    }
}

#[tokio::test]
async fn seeding_pushes_every_branch_with_exactly_the_rendered_files() {
    let world = GitSandbox::new();
    let templates = rendered();
    let git = Git::new(Arc::new(ProcessRunner::new()));
    for repo in templates.repos() {
        let bare = world.bare(&repo.repo.owner, &repo.repo.name);
        let url = git::github_remote_url(&GitHubHost::default(), &repo.repo.owner, &repo.repo.name);
        let workdir = world.dir.path().join("work").join(&repo.repo.name);
        git.seed(
            &workdir,
            &url,
            &repo.branches,
            git::SEED_MESSAGE,
            &world.env(),
        )
        .await
        .unwrap();

        for branch in &repo.branches {
            assert!(!branch.files.is_empty());
            assert_branch_holds_exactly(&bare, branch);
            let log = String::from_utf8(run_git(
                &bare,
                &["log", "--format=%an <%ae>|%cn|%s|%P", &branch.name],
            ))
            .unwrap();
            assert_eq!(
                log.trim(),
                format!(
                    "{} <{}>|{}|{}|",
                    git::AUTHOR_NAME,
                    git::AUTHOR_EMAIL,
                    git::AUTHOR_NAME,
                    git::SEED_MESSAGE
                ),
                "one root commit by Kalypso Bootstrap on {}",
                branch.name
            );
        }
        let mut heads = git.remote_branches(&url, &world.env()).await.unwrap();
        heads.sort();
        assert_eq!(heads, vec!["dev".to_string(), "main".to_string()]);
    }
}

#[tokio::test]
async fn seeding_ignores_the_users_signing_and_hook_settings() {
    let world = GitSandbox::new();
    // A user who signs every commit with a key that does not exist and runs hooks that fail.
    let hooks = world.dir.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    for hook in ["pre-commit", "pre-push", "commit-msg"] {
        let path = hooks.join(hook);
        std::fs::write(&path, "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        world.home().join(".gitconfig"),
        format!(
            "[commit]\n\tgpgsign = true\n[user]\n\tsigningkey = DEADBEEF00000000\n[core]\n\thooksPath = {}\n",
            hooks.display()
        ),
    )
    .unwrap();
    let bare = world.bare("contoso", "gitops");
    let branch = RenderedBranch {
        kind: templates::BranchKind::Main,
        name: "main".into(),
        files: vec![RenderedFile {
            path: "README.md".into(),
            contents: b"# gitops\n".to_vec(),
            executable: false,
        }],
    };
    let git = Git::new(Arc::new(ProcessRunner::new()));
    git.seed(
        &world.dir.path().join("work"),
        &git::github_remote_url(&GitHubHost::default(), "contoso", "gitops"),
        std::slice::from_ref(&branch),
        "seed",
        &world.env(),
    )
    .await
    .unwrap();
    assert_branch_holds_exactly(&bare, &branch);
}

#[test]
fn main_is_pushed_before_the_environment_branch_and_no_token_reaches_argv() {
    let token = "ghp_gitSeedToken0123456789abcdefghijKLMN";
    secrets::register(token);
    let gh = Gh::new(Arc::new(ProcessRunner::new())).with_token(SecretString::from(token));
    let git = Git::new(Arc::new(ProcessRunner::new()));
    let templates = rendered();
    let specs = git.seed_specs(
        Path::new("/tmp/seed"),
        "https://github.com/contoso/control-plane.git",
        &templates.control_plane.branches,
        git::SEED_MESSAGE,
        &gh.git_env(),
    );
    let lines: Vec<Vec<String>> = specs
        .iter()
        .map(|s| s.argv().into_iter().map(String::from).collect())
        .collect();
    let first = |needle: &[&str]| {
        lines
            .iter()
            .position(|argv| argv.windows(needle.len()).any(|w| w == needle))
            .unwrap_or_else(|| panic!("{needle:?} in {lines:?}"))
    };
    assert_eq!(lines[0], ["git", "init", "-b", "main"]);
    assert!(first(&["switch", "--orphan", "dev"]) > first(&["push", "--no-verify"]));
    let pushes: Vec<&Vec<String>> = lines.iter().filter(|a| a[1] == "push").collect();
    assert_eq!(pushes.len(), 2);
    assert_eq!(
        pushes[0][2..],
        [
            "--no-verify",
            "https://github.com/contoso/control-plane.git",
            "main"
        ]
    );
    assert_eq!(pushes[1].last().unwrap(), "dev");
    for spec in &specs {
        spec.ensure_no_secret_in_argv().unwrap();
        assert!(spec.argv().iter().all(|a| !a.contains(token)));
        // Only the push runs the credential helper: only it gets the token. The local
        // commands get none, not even one inherited from the user's environment.
        let gets_token = spec.env.iter().any(|(k, _)| k == "GH_TOKEN");
        if spec.args[0] == "push" {
            assert!(gets_token, "{}", spec.display());
        } else {
            assert!(!gets_token, "{} must not get GH_TOKEN", spec.display());
            for name in ["GH_TOKEN", "GITHUB_TOKEN"] {
                assert!(
                    spec.env_remove.iter().any(|r| r == name),
                    "{} must not inherit {name}",
                    spec.display()
                );
            }
        }
    }
    let ls_remote = git.ls_remote_heads_spec(
        "https://github.com/contoso/control-plane.git",
        &gh.git_env(),
    );
    assert!(ls_remote.env.iter().any(|(k, _)| k == "GH_TOKEN"));
}

#[tokio::test]
async fn the_credential_helper_reset_leaves_only_gh_for_github() {
    let world = GitSandbox::new();
    // The user's own helper for github.com must be replaced, not added to.
    std::fs::write(
        world.home().join(".gitconfig"),
        "[credential \"https://github.com\"]\n\thelper = store\n",
    )
    .unwrap();
    let env = gh::git_credential_env(&GitHubHost::default()).merge(world.env());
    let output = ProcessRunner::new()
        .run_with(
            env.apply(CommandSpec::new("git").args([
                "config",
                "--get-all",
                "credential.https://github.com.helper",
            ])),
            Default::default(),
        )
        .await
        .unwrap();
    assert!(output.success(), "{}", output.stderr);
    let helpers: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(helpers, ["store", "", "!gh auth git-credential"]);
    // git's helper list: an empty value resets it, so only gh remains in effect.
    let effective: Vec<&str> = helpers
        .iter()
        .rev()
        .take_while(|h| !h.is_empty())
        .copied()
        .collect();
    assert_eq!(effective, ["!gh auth git-credential"]);
}

#[tokio::test]
async fn unsafe_inputs_are_refused_before_anything_runs() {
    let world = GitSandbox::new();
    let git = Git::new(Arc::new(ProcessRunner::new()));
    let branch = |path: &str| RenderedBranch {
        kind: templates::BranchKind::Main,
        name: "main".into(),
        files: vec![RenderedFile {
            path: path.into(),
            contents: b"x".to_vec(),
            executable: false,
        }],
    };
    let workdir = world.dir.path().join("work");
    let env = world.env();

    let err = git
        .seed(
            &workdir,
            "https://x-access-token:ghp_abc@github.com/contoso/gitops.git",
            &[branch("a")],
            "m",
            &env,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SeedError::UnsafeRemote { .. }), "{err}");

    for path in ["../escape", "/etc/passwd", ".git/config", "a/../../b", ""] {
        let err = git
            .seed(
                &workdir,
                "https://github.com/contoso/gitops.git",
                &[branch(path)],
                "m",
                &env,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SeedError::UnsafePath { .. }), "{path}: {err}");
    }
    assert!(!workdir.exists(), "nothing was written or run");

    std::fs::create_dir_all(&workdir).unwrap();
    std::fs::write(workdir.join("stale"), "x").unwrap();
    let err = git
        .seed(
            &workdir,
            "https://github.com/contoso/gitops.git",
            &[branch("a")],
            "m",
            &env,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SeedError::WorkdirNotEmpty { .. }), "{err}");
}

#[tokio::test]
async fn a_missing_remote_is_a_classified_not_found() {
    let world = GitSandbox::new();
    let git = Git::new(Arc::new(ProcessRunner::new()));
    let err = git
        .remote_branches("https://github.com/contoso/absent.git", &world.env())
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Failed { .. }), "{err:?}");
    assert!(err.is_not_found_resource(), "{err:?}");
}

#[tokio::test]
async fn adapter_calls_stream_their_output_and_obey_cancellation() {
    let (sink, mut lines) = kalypso_bootstrap::tools::LineSink::channel();
    let git = Git::new(Arc::new(ProcessRunner::new()))
        .with_control(kalypso_bootstrap::tools::RunControl::default().with_sink(sink));
    let version = git.version().await.unwrap();
    let line = lines.recv().await.expect("a streamed line");
    assert!(line.line.starts_with("git version "), "{line:?}");
    assert_eq!(git::parse_version(&line.line).unwrap(), version);

    let cancel = kalypso_bootstrap::tools::CancellationToken::new();
    cancel.cancel();
    let git = Git::new(Arc::new(ProcessRunner::new()))
        .with_control(kalypso_bootstrap::tools::RunControl::default().with_cancel(cancel));
    let err = git.version().await.unwrap_err();
    assert!(
        matches!(
            err,
            ToolError::Run(kalypso_bootstrap::tools::RunError::Cancelled { .. })
        ),
        "{err:?}"
    );
}

/// A branch someone else pushed between our look and our push: real git rejects ours, the
/// error is classified AlreadyExists and names the branch in the way.
#[tokio::test]
async fn a_push_rejected_by_a_branch_already_there_names_that_branch() {
    let world = GitSandbox::new();
    let git = Git::new(Arc::new(ProcessRunner::new()));
    let templates = rendered();
    let repo = templates.repos()[0];
    world.bare(&repo.repo.owner, &repo.repo.name);
    let url = git::github_remote_url(&GitHubHost::default(), &repo.repo.owner, &repo.repo.name);
    let first = world.dir.path().join("first");
    git.seed(
        &first,
        &url,
        &repo.branches[..1],
        "someone else",
        &world.env(),
    )
    .await
    .unwrap();

    let err = git
        .seed(
            &world.dir.path().join("second"),
            &url,
            &repo.branches[..1],
            git::SEED_MESSAGE,
            &world.env(),
        )
        .await
        .unwrap_err();
    let SeedError::Tool(err) = err else {
        panic!("a tool error: {err}");
    };
    assert_eq!(
        err.class(),
        kalypso_bootstrap::tools::ErrorClass::AlreadyExists,
        "{err}"
    );
    assert_eq!(
        git::rejected_branches(&err),
        vec![repo.branches[0].name.clone()]
    );
    assert!(git::rejected_branches(&ToolError::Failed {
        command: "git push".into(),
        exit_code: Some(128),
        class: kalypso_bootstrap::tools::ErrorClass::Other,
        message: "fatal: unable to access".into(),
    })
    .is_empty());
}

/// One file of a branch changed in one commit by the real git (a shallow clone, add,
/// commit, push without force); a symlink or what `edit` refuses is never written.
#[tokio::test]
async fn changing_one_file_pushes_one_commit_and_refuses_a_symlink() {
    let world = GitSandbox::new();
    let bare = world.bare("contoso", "cp");
    let url = git::github_remote_url(&GitHubHost::default(), "contoso", "cp");
    let git = Git::new(Arc::new(ProcessRunner::new()));
    let seed = vec![RenderedBranch {
        kind: templates::BranchKind::Environment,
        name: "dev".to_string(),
        files: vec![
            RenderedFile {
                path: "gitops-repo.yaml".to_string(),
                contents: b"spec:\n  repo: old\n".to_vec(),
                executable: false,
            },
            RenderedFile {
                path: "other.yaml".to_string(),
                contents: b"kept\n".to_vec(),
                executable: false,
            },
        ],
    }];
    git.seed(
        &world.dir.path().join("seed"),
        &url,
        &seed,
        "seed",
        &world.env(),
    )
    .await
    .unwrap();
    let before = String::from_utf8(run_git(&bare, &["rev-parse", "dev"])).unwrap();

    let changed = git
        .change_file(
            git::FileChange {
                workdir: &world.dir.path().join("change").join("cp"),
                remote_url: &url,
                branch: "dev",
                path: "gitops-repo.yaml",
                message: "point it",
            },
            &world.env(),
            |content, _| Ok(content.replace("old", "new")),
        )
        .await
        .unwrap();
    assert_eq!(changed.previous_content, "spec:\n  repo: old\n");
    let shown = run_git(&bare, &["show", "dev:gitops-repo.yaml"]);
    assert_eq!(shown, b"spec:\n  repo: new\n");
    assert_eq!(run_git(&bare, &["show", "dev:other.yaml"]), b"kept\n");
    let parent = String::from_utf8(run_git(&bare, &["rev-parse", "dev^"])).unwrap();
    assert_eq!(parent, before, "one commit on top of the branch");
    let head = String::from_utf8(run_git(&bare, &["rev-parse", "dev"])).unwrap();
    assert_eq!(changed.commit, head.trim());
    let blob = String::from_utf8(run_git(&bare, &["rev-parse", "dev:gitops-repo.yaml"])).unwrap();
    assert_eq!(changed.written_blob, blob.trim());

    // Refused by `edit`: nothing pushed.
    let refused = git
        .change_file(
            git::FileChange {
                workdir: &world.dir.path().join("refused").join("cp"),
                remote_url: &url,
                branch: "dev",
                path: "gitops-repo.yaml",
                message: "no",
            },
            &world.env(),
            |_, blob| Err(format!("blob {blob} is not ours")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, git::FileChangeError::Refused(ref why) if why.contains("is not ours"))
    );
    assert_eq!(run_git(&bare, &["rev-parse", "dev"]), head.as_bytes());

    // A symlink on the branch is never written through.
    let work = world.dir.path().join("link");
    run_git(
        world.dir.path(),
        &[
            "clone",
            "-q",
            "--branch",
            "dev",
            &bare.display().to_string(),
            "link",
        ],
    );
    std::os::unix::fs::symlink("/etc/hostname", work.join("link.yaml")).unwrap();
    run_git(&work, &["add", "link.yaml"]);
    run_git(
        &work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "link",
        ],
    );
    run_git(&work, &["push", "-q", "origin", "dev"]);
    let error = git
        .change_file(
            git::FileChange {
                workdir: &world.dir.path().join("symlink").join("cp"),
                remote_url: &url,
                branch: "dev",
                path: "link.yaml",
                message: "no",
            },
            &world.env(),
            |_, _| Ok("written".to_string()),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");
}

/// On a GitHub Enterprise Server the credential helper is configured for the server's URL,
/// and the real `gh auth git-credential` answers git with the token it finds where gh reads
/// it for such a host (`GH_ENTERPRISE_TOKEN`); github.com gets no helper of ours.
#[tokio::test]
async fn on_an_enterprise_server_the_real_gh_helper_answers_for_the_server() {
    let real_gh_dir = Path::new("/opt/kalypso-cli/bin");
    assert!(real_gh_dir.join("gh").is_file(), "the real gh is installed");
    let world = GitSandbox::new();
    let token = "ghp_enterpriseHelper0123456789abcdefgHIJ";
    secrets::register(token);
    let host = GitHubHost::parse("ghe.example.test").unwrap();
    let gh = Gh::new(Arc::new(ProcessRunner::new()))
        .with_host(host)
        .with_token(SecretString::from(token));
    let env = gh.git_env().merge(world.env());
    assert!(env.config_entries().iter().any(|(key, value)| key
        == "credential.https://ghe.example.test.helper"
        && value == "!gh auth git-credential"));
    assert!(!env
        .config_entries()
        .iter()
        .any(|(key, _)| key.contains("github.com")));
    let gh_config = world.home().join("gh-config");
    std::fs::create_dir_all(&gh_config).unwrap();
    let fill = |host: &str| {
        env.apply(
            CommandSpec::new("git")
                .args(["credential", "fill"])
                .stdin_bytes(format!("protocol=https\nhost={host}\n\n"))
                .env("PATH", format!("{}:/usr/bin:/bin", real_gh_dir.display()))
                .env("GH_CONFIG_DIR", gh_config.display().to_string())
                .env("GIT_TERMINAL_PROMPT", "0")
                .env_remove("GH_TOKEN")
                .env_remove("GITHUB_TOKEN"),
        )
    };
    let answered = ProcessRunner::new()
        .run_with(fill("ghe.example.test"), Default::default())
        .await
        .unwrap();
    assert!(answered.success(), "{}", answered.stderr);
    assert!(
        answered
            .stdout
            .lines()
            .any(|l| l == format!("password={token}")),
        "the helper answered with the token"
    );
    let github_com = ProcessRunner::new()
        .run_with(fill("github.com"), Default::default())
        .await
        .unwrap();
    assert!(
        !github_com.success(),
        "no helper of ours answers for github.com"
    );
}
