//! Secret canary sweep (issue 6, item 1): every end-to-end scenario runs with canary values
//! in the secret-bearing variables, and no canary, nor any base64 form of one, appears in
//! anything we print, write or hand to a child that does not need it.
//!
//! The variables:
//! - `GITHUB_TOKEN` holds the token the run uses; `GH_TOKEN` a second canary, which loses
//!   to `GITHUB_TOKEN` and so must never surface anywhere. The token reaches `gh` only as
//!   `GH_TOKEN` in its environment and `git` only as `GH_TOKEN` for its credential helper
//!   (`gh auth git-credential`); the Actions secrets the workflows need reach GitHub only on
//!   the standard input of `gh secret set`.
//! - `AZURE_SUBSCRIPTION_ID` and `AZURE_TENANT_ID` are identifiers, not secrets: they go to
//!   `az` as `--subscription` and appear in output legitimately, so they are set to the demo
//!   world's real ids and not treated as canaries.
//! - `AZURE_CLIENT_SECRET` is a secret we never read. It is left in the environment of the
//!   tools that may use it (`az`; kubectl and helm through the `kubelogin` exec plugin of an
//!   AKS kubeconfig), removed from `gh` and `git`, and registered at start-up so a tool
//!   that echoes it is masked: its canary must appear in no output or file, and in the
//!   environment of no `gh` or `git` child.
//!
//! Scenarios through the binary in `--demo` (zero latency; each in its own HOME, searched
//! afterwards file by file, git repositories object by object with `git cat-file
//! --batch-all-objects`, `git log --all -p`, refs and config): success and re-run,
//! `--status`, `--dry-run` (text and JSON), a failure injected at every step followed by
//! `--clean`, a failure with `--auto-rollback`, `--clean` after success, and
//! `--render-templates`; the full-screen wizard in tmux (screens captured at every stage);
//! a panic inside a step and on the main thread, in a child process with the program's
//! panic hook; the real process runner with stand-in tools that record their environment
//! (one echoes the Azure secret); and, in process, every command spec of a run and its
//! rollback (argv, environment values and standard input).

use kalypso_bootstrap::UserError;
use std::cell::RefCell;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::support::consented::ConsentedBootstrap;
use crate::support::process::real_git;
use crate::support::pty::{command_line, exit_code, shell_quote, Pane, END_MARKER};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use kalypso_bootstrap::engine::{
    plan, Bootstrap, EventSink, Observed, Orchestrator, PlannedStep, StateHandle, StepContext,
    StepId, StepOutcome, StepRunner,
};
use kalypso_bootstrap::secrets::Redactor;
use kalypso_bootstrap::state::{BootstrapState, StateStore, Timestamp};
use kalypso_bootstrap::tools::runner::{EnvValue, StdinData};
use kalypso_bootstrap::tools::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, RunControl, RunError,
};
use secrecy::{ExposeSecret, SecretString};
use tempfile::TempDir;

const GITHUB_CANARY: &str = "ghp_CanaryGithubTok3n0123456789abcdefQRS";
const GH_CANARY: &str = "gho_CanaryGhTok3nNeverUsed0123456789TUVW";
const AZURE_CANARY: &str = "azS3cret~CanaryClientSecret0123456789XYZ";
/// The demo world's subscription and tenant (identifiers, legitimately shown).
const DEMO_SUBSCRIPTION: &str = "5f3c1a2b-7d4e-4f60-9a8b-1c2d3e4f5a6b";
const DEMO_TENANT: &str = "0e1d2c3b-4a59-4687-8766-554433221100";
const CANARIES: [(&str, &str); 3] = [
    ("GITHUB_TOKEN", GITHUB_CANARY),
    ("GH_TOKEN", GH_CANARY),
    ("AZURE_CLIENT_SECRET", AZURE_CANARY),
];

/// Each canary and its encoded forms, and a redactor knowing them (which also finds a
/// canary inside a longer base64 string, at every alignment).
struct Needles {
    forms: Vec<(String, String)>,
    redactor: Redactor,
}

fn needles() -> &'static Needles {
    static NEEDLES: OnceLock<Needles> = OnceLock::new();
    NEEDLES.get_or_init(|| {
        let redactor = Redactor::new();
        let mut forms = Vec::new();
        for (name, canary) in CANARIES {
            redactor.register(canary);
            forms.push((format!("{name} canary"), canary.to_string()));
            for (label, engine) in [
                ("base64", &STANDARD),
                ("base64 without padding", &STANDARD_NO_PAD),
                ("url-safe base64", &URL_SAFE),
                ("url-safe base64 without padding", &URL_SAFE_NO_PAD),
            ] {
                forms.push((format!("{name} canary as {label}"), engine.encode(canary)));
            }
        }
        Needles { forms, redactor }
    })
}

/// What of the canaries `bytes` holds, as `where: which form`.
fn leaks_in(place: &str, bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let needles = needles();
    let mut found: Vec<String> = needles
        .forms
        .iter()
        .filter(|(_, needle)| text.contains(needle.as_str()))
        .map(|(label, _)| format!("{place}: {label}"))
        .collect();
    if found.is_empty() && needles.redactor.redact(&text) != text {
        found.push(format!("{place}: a canary inside a longer base64 string"));
    }
    found
}

fn git_output(git_dir: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("git runs");
    let mut bytes = output.stdout;
    bytes.extend_from_slice(&output.stderr);
    bytes
}

/// Every file under `root` (raw bytes), and every git repository in it: all objects
/// decompressed, the full history with patches, the refs and the configuration.
fn leaks_in_tree(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        if dir.join("HEAD").is_file() && dir.join("objects").is_dir() {
            let place = dir.display().to_string();
            for args in [
                &["cat-file", "--batch-all-objects", "--batch"][..],
                &["log", "--all", "-p", "--format=fuller"],
                &["for-each-ref"],
                &["config", "--list", "--local"],
            ] {
                found.extend(leaks_in(
                    &format!("{place} (git {})", args.join(" ")),
                    &git_output(&dir, args),
                ));
            }
        }
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                files += 1;
                if let Ok(bytes) = std::fs::read(&path) {
                    found.extend(leaks_in(&path.display().to_string(), &bytes));
                }
            }
        }
    }
    assert!(files > 0, "nothing to search under {}", root.display());
    found
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A directory in memory when the system offers one (demo runs save often).
fn scratch() -> TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("kalypso-canary-")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    TempDir::new().unwrap()
}

/// One demo scenario: its own HOME, a `git` on PATH that records the environment of
/// every git child before running the real one, and everything the program printed.
struct Sandbox {
    dir: TempDir,
    outputs: Mutex<Vec<(String, Vec<u8>)>>,
    /// A demo run happened, so git children must have been recorded.
    ran_demo: std::sync::atomic::AtomicBool,
}

impl Sandbox {
    fn new() -> Self {
        let dir = scratch();
        for sub in ["home", "bin", "env"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let script = format!(
            "#!/bin/sh\n{{ echo \"ARGV $*\"; /usr/bin/env; }} > \"{}/git.$$\"\nexec '{}' \"$@\"\n",
            dir.path().join("env").display(),
            real_git().display()
        );
        write_script(&dir.path().join("bin").join("git"), &script);
        Self {
            dir,
            outputs: Mutex::new(Vec::new()),
            ran_demo: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn state(&self) -> PathBuf {
        self.home().join("state.json")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"));
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            .env("TMPDIR", self.home())
            .env("AZURE_SUBSCRIPTION_ID", DEMO_SUBSCRIPTION)
            .env("AZURE_TENANT_ID", DEMO_TENANT)
            .env("KALYPSO_DEMO_LATENCY", "zero")
            .current_dir(self.home())
            .stdin(Stdio::null());
        for (name, value) in CANARIES {
            cmd.env(name, value);
        }
        cmd
    }

    /// `--demo --no-tui --non-interactive ARGS`, expecting `code`.
    fn demo(&self, args: &[&str], env: &[(&str, &str)], code: i32) -> Output {
        let mut cmd = self.command();
        cmd.args(["--demo", "--no-tui", "--non-interactive"])
            .args(args);
        self.ran_demo
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for (name, value) in env {
            cmd.env(name, value);
        }
        self.run(cmd, &format!("{args:?} {env:?}"), code)
    }

    fn run(&self, mut cmd: Command, what: &str, code: i32) -> Output {
        let output = cmd.output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "{what}: stdout {}\nstderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut outputs = self.outputs.lock().unwrap();
        outputs.push((format!("{what} stdout"), output.stdout.clone()));
        outputs.push((format!("{what} stderr"), output.stderr.clone()));
        output
    }

    /// Every leak: in what was printed, in the files under HOME, and in the environment
    /// of the git children (where only `GH_TOKEN` may hold the GitHub token).
    fn leaks(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (what, bytes) in self.outputs.lock().unwrap().iter() {
            found.extend(leaks_in(what, bytes));
        }
        found.extend(leaks_in_tree(&self.home()));
        let mut git_children = 0;
        for entry in std::fs::read_dir(self.dir.path().join("env")).unwrap() {
            let path = entry.unwrap().path();
            let dump = std::fs::read_to_string(&path).unwrap();
            // The simulated GitHub inspects its bare repositories with git too; that git is
            // part of the simulation, not a child of the engine.
            if dump.contains("GIT_CONFIG_GLOBAL=/dev/null") {
                continue;
            }
            git_children += 1;
            for line in dump.lines() {
                if line == format!("GH_TOKEN={GITHUB_CANARY}") {
                    continue;
                }
                found.extend(leaks_in(
                    &format!("git child environment ({})", path.display()),
                    line.as_bytes(),
                ));
            }
        }
        if git_children == 0 && self.ran_demo.load(std::sync::atomic::Ordering::SeqCst) {
            found.push("no git child was recorded".to_string());
        }
        found
    }
}

fn phase_exit(step: StepId) -> i32 {
    match step.as_str().split('.').next().unwrap() {
        "cluster" => 4,
        "control-plane" | "gitops" => 5,
        _ => 6,
    }
}

/// A named list of program invocations on one sandbox.
type Scenario = (String, Box<dyn Fn(&Sandbox) + Send + Sync>);

/// The scenarios.
fn scenarios() -> Vec<Scenario> {
    let mut all: Vec<Scenario> = Vec::new();
    all.push((
        "dry-run, success, re-run, status, clean".to_string(),
        Box::new(|sandbox: &Sandbox| {
            let state = sandbox.state().display().to_string();
            sandbox.demo(&["--dry-run", "--state-file", &state], &[], 0);
            sandbox.demo(&["--verbose", "--state-file", &state], &[], 0);
            sandbox.demo(&["--output", "json", "--state-file", &state], &[], 0);
            sandbox.demo(&["--status", "--state-file", &state], &[], 0);
            sandbox.demo(
                &["--status", "--output", "json", "--state-file", &state],
                &[],
                0,
            );
            sandbox.demo(
                &["--dry-run", "--output", "json", "--state-file", &state],
                &[],
                0,
            );
            assert!(sandbox.home().join("state.json.bak").is_file());
            sandbox.demo(
                &["--clean", "--skip-confirmation", "--state-file", &state],
                &[],
                0,
            );
            sandbox.demo(&["--status", "--state-file", &state], &[], 0);
        }),
    ));
    for (index, step) in StepId::WITHOUT_WORKLOAD_CLUSTERS.into_iter().enumerate() {
        all.push((
            format!("failure at {step}, then --clean"),
            Box::new(move |sandbox: &Sandbox| {
                let state = sandbox.state().display().to_string();
                let output = if index % 2 == 0 { "text" } else { "json" };
                sandbox.demo(
                    &["--output", output, "--state-file", &state],
                    &[("KALYPSO_DEMO_FAIL", step.as_str())],
                    phase_exit(step),
                );
                sandbox.demo(&["--status", "--state-file", &state], &[], 0);
                sandbox.demo(
                    &["--clean", "--skip-confirmation", "--state-file", &state],
                    &[],
                    0,
                );
            }),
        ));
    }
    all.push((
        "failure at validation.health with --auto-rollback".to_string(),
        Box::new(|sandbox: &Sandbox| {
            let state = sandbox.state().display().to_string();
            sandbox.demo(
                &["--auto-rollback", "--verbose", "--state-file", &state],
                &[("KALYPSO_DEMO_FAIL", "validation.health")],
                6,
            );
            sandbox.demo(
                &[
                    "--auto-rollback",
                    "--output",
                    "json",
                    "--state-file",
                    &state,
                ],
                &[("KALYPSO_DEMO_FAIL", "gitops.secrets")],
                5,
            );
        }),
    ));
    all.push((
        "--render-templates".to_string(),
        Box::new(|sandbox: &Sandbox| {
            let dir = sandbox.home().join("rendered").display().to_string();
            let mut cmd = sandbox.command();
            cmd.args([
                "--no-tui",
                "--non-interactive",
                "--cluster-name",
                "canary",
                "--github-org",
                "acme",
                "--render-templates",
                &dir,
            ]);
            sandbox.run(cmd, "--render-templates", 0);
            assert!(
                Path::new(&dir).join("control-plane").exists()
                    || std::fs::read_dir(&dir).unwrap().count() > 0
            );
        }),
    ));
    all
}

#[test]
fn no_demo_scenario_leaks_a_canary_anywhere() {
    let scenarios = scenarios();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((name, scenario)) = scenarios.get(index) else {
                    break;
                };
                let sandbox = Sandbox::new();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    scenario(&sandbox);
                    sandbox.leaks()
                }));
                let problem = match outcome {
                    Ok(leaks) if leaks.is_empty() => continue,
                    Ok(leaks) => format!("{name}: {leaks:#?}"),
                    Err(panic) => format!(
                        "{name}: {}",
                        panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    ),
                };
                failures.lock().unwrap().push(problem);
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "canary sweep: {} demo scenarios, {} passed, in {:?}",
        scenarios.len(),
        scenarios.len() - failures.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------
// In process: every spec of a run and its rollback.

/// A command as the runner received it, secrets exposed (for the test's eyes only).
struct SeenSpec {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    removed: Vec<String>,
    stdin: Option<Vec<u8>>,
}

struct Inspector {
    inner: Arc<dyn CommandRunner>,
    seen: Mutex<Vec<SeenSpec>>,
}

impl CommandRunner for Inspector {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        self.seen.lock().unwrap().push(SeenSpec {
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: spec
                .env
                .iter()
                .map(|(name, value)| {
                    let value = match value {
                        EnvValue::Plain(v) => v.clone(),
                        EnvValue::Secret(v) => v.expose_secret().to_string(),
                    };
                    (name.clone(), value)
                })
                .collect(),
            removed: spec.env_remove.clone(),
            stdin: spec.stdin.as_ref().map(|s| match s {
                StdinData::Plain(bytes) => bytes.clone(),
                StdinData::Secret(bytes) => bytes.expose_secret().to_vec(),
            }),
        });
        self.inner.run_with(spec, control)
    }
}

/// Token secrets the repositories' workflows need, by repository.
const TOKEN_SECRETS: [(&str, &str); 2] = [
    (crate::support::e2e::CONTROL_PLANE, "GITOPS_REPO_TOKEN"),
    (crate::support::e2e::GITOPS, "CONTROL_PLANE_TOKEN"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_reaches_gh_and_git_by_environment_and_github_only_by_secret_stdin() {
    use crate::support::e2e::*;
    let harness = Harness::new();
    let inspector = Arc::new(Inspector {
        inner: Arc::new(harness.sim.clone()),
        seen: Mutex::new(Vec::new()),
    });
    let runner: Arc<dyn CommandRunner> = inspector.clone();
    let config = all_new();
    let open = || {
        Bootstrap::open(
            config.clone(),
            runner.clone(),
            Some(SecretString::from(CANARY)),
            harness.paths(),
            harness.options(),
        )
        .unwrap()
    };
    harness
        .run_with(harness.session(&config, runner.clone(), harness.options()))
        .await
        .assert_success();
    for (repo, secret) in TOKEN_SECRETS {
        assert!(
            harness.sim.github_secret_is(ORG, repo, secret, CANARY),
            "{repo}: {secret} holds the token"
        );
    }
    // The 0600 values file that carried the token to helm is gone with everything else.
    let work_left: Vec<PathBuf> = walk(&harness.paths().work_dir)
        .into_iter()
        .filter(|path| {
            std::fs::read(path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(CANARY))
        })
        .collect();
    assert!(work_left.is_empty(), "{work_left:?}");
    let (events, _receiver) = EventSink::channel();
    let report = open().rollback(events, &CancellationToken::new()).await;
    assert!(report.is_complete(), "{:?}", report.leftovers);

    let seen = inspector.seen.lock().unwrap();
    let mut secret_sets = 0;
    let mut helm_installs = 0;
    for spec in seen.iter() {
        let line = format!("{} {}", spec.program, spec.args.join(" "));
        assert!(
            !line.contains(CANARY),
            "the token in an argv: {}",
            line.replace(CANARY, "<CANARY>")
        );
        for (name, value) in &spec.env {
            if value.contains(CANARY) {
                assert_eq!(name, "GH_TOKEN", "{line}: the token in {name}");
                assert!(
                    spec.program == "gh" || spec.program == "git",
                    "{line}: {} does not need the token",
                    spec.program
                );
            }
        }
        if spec.program == "gh" || spec.program == "git" {
            for var in kalypso_bootstrap::secrets::AZURE_SECRET_VARIABLES {
                assert!(
                    spec.removed.iter().any(|r| r == var),
                    "{line}: {var} is not removed"
                );
            }
        }
        if spec.env.iter().any(|(name, _)| name == "GH_TOKEN") {
            for var in [
                "GITHUB_TOKEN",
                "GH_ENTERPRISE_TOKEN",
                "GITHUB_ENTERPRISE_TOKEN",
            ] {
                assert!(
                    spec.removed.iter().any(|r| r == var),
                    "{line}: {var} is inherited"
                );
            }
        }
        let is_secret_set = spec
            .args
            .starts_with(&["secret".to_string(), "set".to_string()]);
        if is_secret_set {
            secret_sets += 1;
            assert!(
                !spec
                    .args
                    .iter()
                    .any(|a| a == "--body" || a == "-b" || a.starts_with("--body=")),
                "{line}: the value goes on stdin"
            );
        }
        if let Some(stdin) = &spec.stdin {
            // helm reads our values, the token among them, from stdin (`-f -`): no file
            // holds it (issue 12, item 4).
            let helm_values = spec.program == "helm"
                && spec.args.starts_with(&["upgrade".to_string()])
                && spec.args.windows(2).any(|w| w[0] == "-f" && w[1] == "-");
            if helm_values {
                helm_installs += 1;
                let values: serde_yaml::Value = serde_yaml::from_slice(stdin).unwrap();
                assert_eq!(values["ghRepoToken"].as_str(), Some(CANARY), "{line}");
            } else if String::from_utf8_lossy(stdin).contains(CANARY) {
                let name = spec.args.get(2).map(String::as_str).unwrap_or_default();
                assert!(
                    spec.program == "gh"
                        && is_secret_set
                        && TOKEN_SECRETS.iter().any(|(_, secret)| *secret == name),
                    "{line}: the token on stdin"
                );
                assert_eq!(
                    stdin.as_slice(),
                    CANARY.as_bytes(),
                    "{line}: exactly the token"
                );
            }
        }
    }
    assert!(secret_sets >= 2, "the secrets were set");
    assert!(helm_installs >= 1, "helm got the values on stdin");
    // The simulated call log agrees: each secret set took its value on stdin.
    for call in harness.sim.calls() {
        if call.program == "gh"
            && call
                .args
                .starts_with(&["secret".to_string(), "set".to_string()])
        {
            assert!(
                call.stdin_len.is_some_and(|n| n > 0),
                "{}",
                call.command_line()
            );
        }
    }
    assert_no_canary(&harness.sim.calls());
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

// ---------------------------------------------------------------------------------------
// The real process runner with stand-in tools.

#[test]
fn real_children_get_only_the_secrets_they_need_and_an_echoed_azure_secret_is_masked() {
    let dir = scratch();
    let home = dir.path().join("home");
    let bin = dir.path().join("bin");
    let dump = dir.path().join("dump");
    for path in [&home, &bin, &dump] {
        std::fs::create_dir(path).unwrap();
    }
    let stand_in = |name: &str, answer: &str| {
        write_script(
            &bin.join(name),
            &format!(
                "#!/bin/sh\n{{ echo \"ARGV $*\"; /usr/bin/env; echo ---; }} >> '{}/{name}.env'\n{answer}\n",
                dump.display()
            ),
        );
    };
    stand_in(
        "az",
        "case \"$*\" in\n\
         version*) echo '{\"azure-cli\": \"2.91.0\"}';;\n\
         *) echo \"ERROR: AADSTS7000215: Invalid client secret provided: '$AZURE_CLIENT_SECRET'\" >&2; exit 1;;\n\
         esac",
    );
    stand_in(
        "kubectl",
        "echo '{\"clientVersion\": {\"gitVersion\": \"v1.37.1\"}}'",
    );
    stand_in("helm", "echo 'v3.17.2+gcc0bbbd'");
    stand_in(
        "gh",
        "case \"$1\" in --version) echo 'gh version 2.103.3 (2026-10-26)';; api) echo '{\"login\": \"octocat\", \"id\": 1}';; *) exit 1;; esac",
    );
    stand_in("git", "echo 'git version 2.47.3'");
    let log = home.join("run.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"));
    cmd.env_clear()
        .env("PATH", &bin)
        .env("HOME", &home)
        .env("AZURE_SUBSCRIPTION_ID", DEMO_SUBSCRIPTION)
        .env("AZURE_TENANT_ID", DEMO_TENANT)
        .stdin(Stdio::null())
        .args([
            "--validate-only",
            "--non-interactive",
            "--verbose",
            "--log-file",
        ])
        .arg(&log);
    for (name, value) in CANARIES {
        cmd.env(name, value);
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The Azure sign-in fails (the stand-in's error), which is the point.
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("Invalid client secret provided: '***'"),
        "the echo is shown, masked: {stdout}"
    );

    let mut leaks = leaks_in("stdout", &output.stdout);
    leaks.extend(leaks_in("stderr", &output.stderr));
    leaks.extend(leaks_in_tree(&home));
    for entry in std::fs::read_dir(&dump).unwrap() {
        let path = entry.unwrap().path();
        let tool = path.file_stem().unwrap().to_string_lossy().to_string();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let allowed = match tool.as_str() {
                "gh" => line == format!("GH_TOKEN={GITHUB_CANARY}"),
                "az" | "kubectl" | "helm" => line == format!("AZURE_CLIENT_SECRET={AZURE_CANARY}"),
                _ => false,
            };
            if !allowed {
                leaks.extend(leaks_in(&format!("{tool}'s environment"), line.as_bytes()));
            }
        }
    }
    let gh = std::fs::read_to_string(dump.join("gh.env")).unwrap();
    assert!(
        gh.contains(&format!("GH_TOKEN={GITHUB_CANARY}")),
        "gh api user gets the token"
    );
    let az = std::fs::read_to_string(dump.join("az.env")).unwrap();
    assert!(
        az.contains(&format!("AZURE_CLIENT_SECRET={AZURE_CANARY}")),
        "az inherits the Azure secret"
    );
    assert!(leaks.is_empty(), "{leaks:#?}");
}

// ---------------------------------------------------------------------------------------
// Panics.

const PANIC_CHILD: &str = "KALYPSO_TEST_CANARY_PANIC_DIR";

/// Panics inside the first step, with the canary and its base64 form in the message.
struct PanickingSteps;

impl StepRunner for PanickingSteps {
    fn run_step<'a>(
        &'a self,
        step: &'a PlannedStep,
        _ctx: StepContext,
    ) -> BoxFuture<'a, Result<StepOutcome, UserError>> {
        Box::pin(async move {
            panic!(
                "step {} exploded holding {GITHUB_CANARY} (or {})",
                step.id,
                STANDARD.encode(GITHUB_CANARY)
            )
        })
    }
}

/// Run only as a child of the test below (re-executing this test binary): the program's
/// panic hook, a step that panics, then a panic on the main thread.
#[test]
#[ignore = "child process of the panic test; does nothing when run directly"]
fn panicking_child() {
    let Some(dir) = std::env::var_os(PANIC_CHILD) else {
        return;
    };
    let dir = PathBuf::from(dir);
    // What the program does at start-up: the token is registered, then the hook installed.
    kalypso_bootstrap::secrets::register(GITHUB_CANARY);
    kalypso_bootstrap::app::install_panic_hook();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcome = runtime.block_on(async {
        let state = StateHandle::new(
            BootstrapState::new(Timestamp::now()),
            StateStore::at_custom(dir.join("state.json")),
        );
        let (events, _receiver) = EventSink::channel();
        Orchestrator::new(Arc::new(PanickingSteps), state, events)
            .run(
                &plan(&crate::support::e2e::all_new(), &Observed::default()),
                &CancellationToken::new(),
            )
            .await
    });
    println!("CHILD-RUN-EXIT {}", outcome.exit_code.code());
    panic!(
        "the main thread gives up with {GITHUB_CANARY} in hand ({})",
        URL_SAFE_NO_PAD.encode(GITHUB_CANARY)
    );
}

#[test]
fn a_panic_prints_and_records_no_canary() {
    let dir = scratch();
    let output = Command::new(std::env::current_exe().unwrap())
        .arg(crate::support::process::test_name(
            module_path!(),
            "panicking_child",
        ))
        .args(["--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(PANIC_CHILD, dir.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the child panicked: {stdout}\n{stderr}"
    );
    // The cluster's and the repositories' first steps start together and all panic; the
    // first to be reported decides the phase (4 cluster, 5 repository).
    assert!(
        stdout.contains("CHILD-RUN-EXIT 4") || stdout.contains("CHILD-RUN-EXIT 5"),
        "the step's panic failed the run in its phase: {stdout}"
    );
    // Every step started at once panics (the cluster's and both repositories'), then the
    // main thread.
    assert!(
        stderr.matches("kalypso-bootstrap crashed:").count() >= 2
            && stderr.contains("the main thread gives up with *** in hand (***)"),
        "the program's hook reported the panics: {stderr}"
    );
    assert!(stderr.contains("exploded holding *** (or ***)"), "{stderr}");
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(state.contains("internal error"), "{state}");
    let mut leaks = leaks_in("stdout", &output.stdout);
    leaks.extend(leaks_in("stderr", &output.stderr));
    leaks.extend(leaks_in_tree(dir.path()));
    assert!(leaks.is_empty(), "{leaks:#?}");
}

// ---------------------------------------------------------------------------------------
// The full-screen wizard in tmux (the shared driver, tests/support/pty.rs).

#[test]
fn the_wizard_shows_and_leaves_no_canary() {
    let pane = Pane::start();
    let home = pane.home();
    // The canaries reach the program from a file sourced by the shell, not on the typed
    // command line (which stays on the screen that is searched). The file is beside HOME,
    // not in it. TMPDIR is HOME, so one search covers whatever the run writes.
    let mut exports = vec![
        "export TMPDIR=\"$HOME\"".to_string(),
        "export KALYPSO_DEMO_LATENCY=zero".to_string(),
        "export KALYPSO_DEMO_FAIL=validation.health".to_string(),
        format!("export AZURE_SUBSCRIPTION_ID={DEMO_SUBSCRIPTION}"),
        format!("export AZURE_TENANT_ID={DEMO_TENANT}"),
    ];
    for (name, value) in CANARIES {
        exports.push(format!("export {name}={}", shell_quote(value)));
    }
    let variables = pane.root().join("canaries.env");
    std::fs::write(&variables, exports.join("\n") + "\n").unwrap();
    let state = home.join("state.json");
    pane.run(&command_line(
        &format!(". {}; ", shell_quote(&variables.display().to_string())),
        &format!(
            "--demo --state-file {}",
            shell_quote(&state.display().to_string())
        ),
    ));
    // Every screen seen while waiting is kept, to be searched.
    let screens = RefCell::new(Vec::<String>::new());
    let wait_for = |needle: &str| {
        pane.wait_until(Duration::from_secs(60), |screen| {
            let mut screens = screens.borrow_mut();
            if screens.last().map(String::as_str) != Some(screen) {
                screens.push(screen.to_string());
            }
            screen.contains(needle)
        })
        .unwrap_or_else(|screen| panic!("{needle:?} never appeared:\n{screen}"));
    };
    wait_for("How do you want to start?");
    pane.keys(&["Enter"]);
    wait_for("Cluster name");
    for group in [
        "GitHub organization",
        "Skip installation",
        "Roll back on failure",
    ] {
        pane.keys(&["NPage"]);
        wait_for(group);
    }
    pane.keys(&["NPage"]);
    wait_for("Prerequisites: PASSED");
    pane.keys(&["Enter"]);
    wait_for("Proceed? [y/N]");
    pane.keys(&["y"]);
    wait_for("Roll back? [y/N]");
    pane.keys(&["y"]);
    wait_for("Rolled back: removed");
    pane.keys(&["Enter"]);
    wait_for(END_MARKER);
    let screens = screens.into_inner();
    assert_eq!(
        exit_code(screens.last().unwrap()),
        Some(6),
        "{}",
        screens.last().unwrap()
    );

    let mut leaks = Vec::new();
    for (index, screen) in screens.iter().enumerate() {
        leaks.extend(leaks_in(&format!("screen {index}"), screen.as_bytes()));
    }
    leaks.extend(leaks_in_tree(&home));
    assert!(screens.len() >= 8, "{} screens", screens.len());
    assert!(leaks.is_empty(), "{leaks:#?}");
    // The run really used the token: the rolled-back state names the repositories.
    let recorded = std::fs::read_to_string(&state).unwrap();
    assert!(recorded.contains("rolled_back"), "{recorded}");
}

/// The search itself: it finds a canary in a plain file, base64-encoded inside a longer
/// string, and inside a compressed git object of a bare repository; and nothing in a
/// clean tree.
#[test]
fn the_search_finds_what_it_looks_for() {
    let dir = scratch();
    std::fs::write(dir.path().join("clean.txt"), "nothing to see\n").unwrap();
    assert!(leaks_in_tree(dir.path()).is_empty());

    // "user:" shifts the canary off base64's 3-byte groups: no plain encoding matches.
    let header = STANDARD.encode(format!("user:{AZURE_CANARY}"));
    std::fs::write(
        dir.path().join("header.txt"),
        format!("Authorization: Basic {header}\n"),
    )
    .unwrap();
    let found = leaks_in_tree(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("inside a longer base64 string"),
        "{found:?}"
    );
    std::fs::remove_file(dir.path().join("header.txt")).unwrap();

    let work = dir.path().join("work");
    let bare = dir.path().join("bare.git");
    let git = |cwd: &Path, args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(cwd)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    std::fs::create_dir(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("config.yaml"), format!("token: {GH_CANARY}\n")).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "add"]);
    std::fs::write(work.join("config.yaml"), "token: removed\n").unwrap();
    git(&work, &["commit", "-q", "-am", "remove"]);
    git(dir.path(), &["clone", "-q", "--bare", "work", "bare.git"]);
    std::fs::remove_dir_all(&work).unwrap();
    let found = leaks_in_tree(dir.path());
    assert!(
        found
            .iter()
            .any(|f| f.contains("bare.git") && f.contains("GH_TOKEN canary")),
        "the old commit's blob is found: {found:?}"
    );
    assert!(bare.is_dir());
}

/// Keeps the standard output of every `helm status`, as the tool printed it.
struct HelmStatusTap {
    inner: Arc<dyn CommandRunner>,
    printed: Mutex<Vec<String>>,
}

impl CommandRunner for HelmStatusTap {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        let is_status = spec.program == "helm" && spec.args.first().is_some_and(|a| a == "status");
        Box::pin(async move {
            let result = self.inner.run_with(spec, control).await;
            if let (true, Ok(output)) = (is_status, &result) {
                self.printed.lock().unwrap().push(output.stdout.clone());
            }
            result
        })
    }
}

/// `helm status -o json` prints the release's user-supplied values, the token among them,
/// in plain text (real helm encodes the whole release, `config` included). The simulated
/// helm does too, so this sweep has something to catch: the run and a re-run read the
/// status, and neither their events nor the state file nor the adapter's parsed status
/// carries the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_status_prints_the_token_and_nothing_of_ours_passes_it_on() {
    use crate::support::e2e::*;
    use kalypso_bootstrap::tools::helm::{Helm, RELEASE_NAME};
    let harness = Harness::new();
    let tap = Arc::new(HelmStatusTap {
        inner: Arc::new(harness.sim.clone()),
        printed: Mutex::new(Vec::new()),
    });
    let runner: Arc<dyn CommandRunner> = tap.clone();
    let config = existing_cluster(all_new());
    let mut runs = Vec::new();
    for _ in 0..2 {
        let run = harness
            .run_with(harness.session(&config, runner.clone(), harness.options()))
            .await;
        run.assert_success();
        runs.push(run);
    }
    let status = Helm::new(runner.clone())
        .with_kube_context(EXISTING_CONTEXT)
        .status(RELEASE_NAME, NAMESPACE)
        .await
        .unwrap()
        .expect("the release is installed");
    assert!(status.is_deployed());

    let printed = tap.printed.lock().unwrap();
    assert!(
        printed.iter().any(|stdout| stdout.contains(CANARY)),
        "helm status printed the values whole, as real helm does: {} outputs",
        printed.len()
    );
    assert!(!format!("{status:?}").contains(CANARY), "the parsed status");
    for run in &runs {
        assert!(!format!("{:?}", run.events).contains(CANARY), "the events");
    }
    let state = std::fs::read_to_string(harness.paths().state_file).unwrap();
    assert!(!state.contains(CANARY), "the state file");
}
