//! `prereq::check` against a scripted fake runner: concurrency, every verdict, sign-in
//! flows (interactive and not), token sources, and that no token ever reaches an argv.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalypso_bootstrap::config::GitHubHost;
use kalypso_bootstrap::exit::ExitCode;
use kalypso_bootstrap::prereq::{
    self, AuthCheckKind, AzureUse, Interaction, LiveRow, PrereqEnv, PrereqReport, PromptError,
    Prompter, TerminalHandover, TokenSource, Verdict,
};
use kalypso_bootstrap::secrets;
use kalypso_bootstrap::tools::az::BuiltinRole;
use kalypso_bootstrap::tools::{
    BoxFuture, CommandOutput, CommandRunner, CommandSpec, EnvValue, RunControl, RunError,
};
use secrecy::{ExposeSecret, SecretString};

const SUB: &str = "3f1c9a52-7d4e-4b8a-9c61-2e5f0d8b7a14";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const USER: &str = "dev@contoso.com";
const OWNER_ID: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR_ID: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const READER_ID: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/versions/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------
// The fake runner

#[derive(Clone)]
struct Reply {
    exit: i32,
    stdout: String,
    stderr: String,
    delay: Duration,
}

fn ok(stdout: impl Into<String>) -> Reply {
    Reply {
        exit: 0,
        stdout: stdout.into(),
        stderr: String::new(),
        delay: Duration::ZERO,
    }
}

fn fail(exit: i32, stderr: &str) -> Reply {
    Reply {
        exit,
        stdout: String::new(),
        stderr: stderr.to_string(),
        delay: Duration::ZERO,
    }
}

/// What the fake saw of one call (secret env values exposed, for assertions only).
#[derive(Clone, Debug)]
struct Call {
    argv: Vec<String>,
    env: HashMap<String, String>,
    env_remove: Vec<String>,
    stdout_is_secret: bool,
    inherit_terminal: bool,
}

#[derive(Default)]
struct FakeRunner {
    /// Replies by exact argv; the last reply of a queue repeats.
    replies: Mutex<HashMap<Vec<String>, VecDeque<Reply>>>,
    missing_programs: Mutex<HashSet<String>>,
    calls: Mutex<Vec<Call>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl FakeRunner {
    fn on(&self, argv: &[&str], replies: Vec<Reply>) {
        let key = argv.iter().map(|s| s.to_string()).collect();
        self.replies
            .lock()
            .unwrap()
            .insert(key, replies.into_iter().collect());
    }

    fn missing(&self, program: &str) {
        self.missing_programs
            .lock()
            .unwrap()
            .insert(program.to_string());
    }

    fn delay_everything(&self, delay: Duration) {
        for queue in self.replies.lock().unwrap().values_mut() {
            for reply in queue.iter_mut() {
                reply.delay = delay;
            }
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn calls_to(&self, prefix: &[&str]) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.argv.len() >= prefix.len() && c.argv[..prefix.len()] == *prefix)
            .collect()
    }
}

impl CommandRunner for FakeRunner {
    fn run_with(
        &self,
        spec: CommandSpec,
        _control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(async move {
            let argv: Vec<String> = spec.argv().into_iter().map(String::from).collect();
            self.calls.lock().unwrap().push(Call {
                argv: argv.clone(),
                env: spec
                    .env
                    .iter()
                    .map(|(k, v)| {
                        let value = match v {
                            EnvValue::Plain(p) => p.clone(),
                            EnvValue::Secret(s) => s.expose_secret().to_string(),
                        };
                        (k.clone(), value)
                    })
                    .collect(),
                env_remove: spec.env_remove.clone(),
                stdout_is_secret: spec.stdout_is_secret,
                inherit_terminal: spec.inherit_terminal,
            });
            // The real runner refuses these too; the fake must not hide such a bug.
            spec.ensure_no_secret_in_argv()?;
            if self
                .missing_programs
                .lock()
                .unwrap()
                .contains(&spec.program)
            {
                return Err(RunError::NotFound {
                    program: spec.program.clone(),
                });
            }
            let reply = {
                let mut replies = self.replies.lock().unwrap();
                let queue = replies
                    .get_mut(&argv)
                    .unwrap_or_else(|| panic!("fake runner: unexpected command {argv:?}"));
                if queue.len() > 1 {
                    queue.pop_front().unwrap()
                } else {
                    queue.front().cloned().expect("a reply")
                }
            };
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(reply.delay).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(CommandOutput {
                exit_code: Some(reply.exit),
                stdout: reply.stdout,
                stderr: reply.stderr,
                duration: reply.delay,
            })
        })
    }
}

// ---------------------------------------------------------------------------------------
// Realistic replies

fn account_json(subscription: &str) -> String {
    format!(
        r#"{{
  "environmentName": "AzureCloud",
  "homeTenantId": "{TENANT}",
  "id": "{subscription}",
  "isDefault": true,
  "managedByTenants": [],
  "name": "Contoso Dev",
  "state": "Enabled",
  "tenantId": "{TENANT}",
  "user": {{
    "name": "{USER}",
    "type": "user"
  }}
}}"#
    )
}

fn assignment(role_name: &str, role_id: &str, scope: &str) -> String {
    format!(
        r#"{{
    "condition": null,
    "conditionVersion": null,
    "createdBy": "5f0ea1c4-2b1d-4d38-9b1e-6f1d8a2c9e01",
    "createdOn": "2024-03-11T09:14:27.581437+00:00",
    "delegatedManagedIdentityResourceId": null,
    "description": "",
    "id": "{scope}/providers/Microsoft.Authorization/roleAssignments/0c2d6a58-8f1e-4f43-a2a1-1b6c1d5f9e7a",
    "name": "0c2d6a58-8f1e-4f43-a2a1-1b6c1d5f9e7a",
    "principalId": "b8f4c3e2-1a7d-4e5f-9c0b-3d2e1f4a5b6c",
    "principalName": "{USER}",
    "principalType": "User",
    "roleDefinitionId": "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role_id}",
    "roleDefinitionName": "{role_name}",
    "scope": "{scope}",
    "type": "Microsoft.Authorization/roleAssignments",
    "updatedBy": "5f0ea1c4-2b1d-4d38-9b1e-6f1d8a2c9e01",
    "updatedOn": "2024-03-11T09:14:27.581437+00:00"
  }}"#
    )
}

fn assignments(items: &[String]) -> String {
    format!("[\n  {}\n]\n", items.join(",\n  "))
}

fn gh_user_json(login: &str) -> String {
    format!(
        r#"{{"login":"{login}","id":583231,"node_id":"MDQ6VXNlcjU4MzIzMQ==","avatar_url":"https://avatars.githubusercontent.com/u/583231?v=4","type":"User","site_admin":false,"name":"The Octocat","company":"@github","public_repos":8}}"#
    )
}

const NOT_LOGGED_IN: &str = "ERROR: Please run 'az login' to setup account.\n";
const GH_NO_TOKEN: &str = "no oauth token found for github.com\n";

fn az_scoped(args: &[&str], subscription: Option<&str>) -> Vec<String> {
    let mut argv: Vec<String> = std::iter::once("az")
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    if let Some(id) = subscription {
        argv.extend(["--subscription".to_string(), id.to_string()]);
    }
    argv
}

fn account_show_argv(subscription: Option<&str>) -> Vec<String> {
    az_scoped(&["account", "show", "-o", "json"], subscription)
}

fn role_list_argv(subscription: Option<&str>) -> Vec<String> {
    let scope = format!("/subscriptions/{SUB}");
    az_scoped(
        &[
            "role",
            "assignment",
            "list",
            "--assignee",
            USER,
            "--scope",
            &scope,
            "--include-inherited",
            "--include-groups",
            "-o",
            "json",
        ],
        subscription,
    )
}

fn as_strs(argv: &[String]) -> Vec<&str> {
    argv.iter().map(String::as_str).collect()
}

/// Every tool present and recent, signed in to Azure as Owner, gh stored login `octocat`.
fn healthy(subscription: Option<&str>) -> FakeRunner {
    let fake = FakeRunner::default();
    fake.on(
        &["az", "version", "-o", "json"],
        vec![ok(fixture("az-2.91.0.json"))],
    );
    fake.on(
        &["kubectl", "version", "--client", "-o", "json"],
        vec![ok(fixture("kubectl-1.37.1-client.json"))],
    );
    fake.on(&["gh", "--version"], vec![ok(fixture("gh-2.103.3.txt"))]);
    fake.on(
        &["helm", "version", "--short"],
        vec![ok(fixture("helm-4.1.0-short.txt"))],
    );
    fake.on(&["git", "--version"], vec![ok(fixture("git-2.47.3.txt"))]);
    fake.on(&["jq", "--version"], vec![ok(fixture("jq-1.7.1.txt"))]);
    fake.on(&["bash", "--version"], vec![ok(fixture("bash-5.2.15.txt"))]);
    fake.on(
        &as_strs(&account_show_argv(subscription)),
        vec![ok(account_json(SUB))],
    );
    fake.on(
        &as_strs(&role_list_argv(subscription)),
        vec![ok(assignments(&[assignment(
            "Owner",
            OWNER_ID,
            &format!("/subscriptions/{SUB}"),
        )]))],
    );
    fake.on(&["gh", "api", "user"], vec![ok(gh_user_json("octocat"))]);
    fake
}

fn env_with(vars: &[(&str, &str)]) -> PrereqEnv {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PrereqEnv::from_lookup(|name| map.get(name).cloned())
}

async fn run(fake: &Arc<FakeRunner>, env: &PrereqEnv, interaction: &Interaction) -> PrereqReport {
    let runner: Arc<dyn CommandRunner> = fake.clone();
    prereq::check(runner, env, interaction).await
}

fn assert_never_in_argv(fake: &FakeRunner, secret: &str) {
    for call in fake.calls() {
        for part in &call.argv {
            assert!(!part.contains(secret), "token in argv {:?}", call.argv);
        }
    }
}

fn row(report: &PrereqReport, kind: AuthCheckKind) -> &prereq::AuthCheck {
    report.auth_check(kind).expect("row present")
}

// ---------------------------------------------------------------------------------------
// Scripted interaction

#[derive(Default)]
struct FakePrompter {
    confirms: Mutex<VecDeque<Result<bool, PromptError>>>,
    secrets: Mutex<VecDeque<Result<Option<String>, PromptError>>>,
    asked: Mutex<Vec<String>>,
}

impl Prompter for FakePrompter {
    fn ask_secret<'a>(
        &'a self,
        prompt: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, PromptError>> {
        self.asked.lock().unwrap().push(prompt.to_string());
        let answer = self
            .secrets
            .lock()
            .unwrap()
            .pop_front()
            .expect("unexpected secret prompt");
        Box::pin(async move { answer.map(|o| o.map(SecretString::from)) })
    }

    fn confirm<'a>(
        &'a self,
        question: &'a str,
        _default: bool,
    ) -> BoxFuture<'a, Result<bool, PromptError>> {
        self.asked.lock().unwrap().push(question.to_string());
        let answer = self
            .confirms
            .lock()
            .unwrap()
            .pop_front()
            .expect("unexpected confirmation");
        Box::pin(async move { answer })
    }
}

/// Hands "the terminal" to the fake runner, recording what was run.
struct FakeTerminal {
    runner: Arc<FakeRunner>,
    handed_over: Mutex<Vec<Vec<String>>>,
}

impl TerminalHandover for FakeTerminal {
    fn run_in_terminal(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        self.handed_over
            .lock()
            .unwrap()
            .push(spec.argv().into_iter().map(String::from).collect());
        self.runner.run(spec)
    }
}

fn interactive(
    fake: &Arc<FakeRunner>,
    prompter: FakePrompter,
) -> (Interaction, Arc<FakePrompter>, Arc<FakeTerminal>) {
    let prompter = Arc::new(prompter);
    let terminal = Arc::new(FakeTerminal {
        runner: fake.clone(),
        handed_over: Mutex::new(Vec::new()),
    });
    let interaction = Interaction::Interactive {
        prompter: prompter.clone(),
        terminal: terminal.clone(),
    };
    (interaction, prompter, terminal)
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn a_healthy_environment_passes_every_row() {
    let fake = Arc::new(healthy(Some(SUB)));
    fake.on(
        &["gh", "auth", "token", "--hostname", "github.com"],
        vec![fail(1, GH_NO_TOKEN)],
    );
    let token = "ghp_healthyTOKENvalue000000000000000001";
    let env = env_with(&[("AZURE_SUBSCRIPTION_ID", SUB), ("GITHUB_TOKEN", token)]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(report.exit_code(), ExitCode::Success);
    let names: Vec<&str> = report.tools.iter().map(|t| t.name).collect();
    assert_eq!(names, ["az", "kubectl", "gh", "helm", "git", "jq", "bash"]);
    for tool in &report.tools {
        let expected = if tool.required {
            Verdict::Pass
        } else {
            Verdict::Info
        };
        assert_eq!(tool.verdict, expected, "{tool:?}");
        assert!(tool.found);
    }
    assert_eq!(
        report.tool("az").unwrap().version.unwrap().to_string(),
        "2.91.0"
    );
    assert_eq!(
        report.tool("kubectl").unwrap().version.unwrap().to_string(),
        "1.37.1"
    );
    assert_eq!(
        report.tool("helm").unwrap().minimum.unwrap().to_string(),
        "3.13.0"
    );
    for check in &report.auth {
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
    }
    let azure = report.azure.as_ref().unwrap();
    assert_eq!(azure.subscription_id, SUB);
    assert_eq!(azure.user, USER);
    assert_eq!(azure.role, Some(BuiltinRole::Owner));
    let github = report.github.as_ref().unwrap();
    assert_eq!(github.login, "octocat");
    assert_eq!(github.token_source, TokenSource::GithubTokenEnv);
    assert_eq!(report.github_token().unwrap().expose_secret(), token);
    assert!(
        fake.calls_to(&["gh", "auth", "token"]).is_empty(),
        "env token wins"
    );
    assert_never_in_argv(&fake, token);
}

/// An existing kube context (kind, k3d, any cluster) involves no Azure: az is neither
/// required nor run (no `az version`, no `az account show`, no role query), even when it
/// is not installed; its rows say "not needed" and the check passes on GitHub alone.
#[tokio::test]
async fn without_azure_az_is_never_run_and_its_rows_say_not_needed() {
    let fake = Arc::new(healthy(None));
    fake.missing("az");
    let env = env_with(&[("GITHUB_TOKEN", "ghp_noAzureTOKEN0000000000000000000004")])
        .with_azure(AzureUse::NotNeeded);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(report.passed(), "{}", report.render_text());
    assert!(fake.calls_to(&["az"]).is_empty(), "{:?}", fake.calls());
    let az = report.tool("az").unwrap();
    assert!(!az.required, "{az:?}");
    assert_eq!(az.verdict, Verdict::Info);
    assert!(az.detail.starts_with("not needed"), "{}", az.detail);
    for kind in [AuthCheckKind::AzureLogin, AuthCheckKind::AzureRole] {
        let check = row(&report, kind);
        assert_eq!(check.verdict, Verdict::Info, "{check:?}");
        assert!(check.detail.starts_with("not needed"), "{check:?}");
        assert_eq!(check.hint, None);
    }
    assert_eq!(report.azure, None);
    assert_eq!(
        row(&report, AuthCheckKind::GithubLogin).verdict,
        Verdict::Pass
    );
    let text = report.render_text();
    let sign_in = text
        .lines()
        .find(|line| line.trim_start().starts_with("Azure sign-in"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        sign_in.contains(" INFO ") && sign_in.contains("not needed"),
        "{sign_in}"
    );
    assert!(!text.contains("brew install azure-cli"), "{text}");

    // The same machine, a run that creates an AKS cluster: az is required.
    let needed = run(
        &fake,
        &env.clone().with_azure(AzureUse::Needed),
        &Interaction::NonInteractive,
    )
    .await;
    assert!(!needed.passed());
    assert_eq!(needed.tool("az").unwrap().verdict, Verdict::Fail);
}

/// Interactive, without Azure: nothing offers `az login`.
#[tokio::test]
async fn without_azure_an_interactive_check_never_offers_az_login() {
    let fake = Arc::new(healthy(None));
    fake.missing("az");
    let env = env_with(&[("GITHUB_TOKEN", "ghp_noAzureTOKEN0000000000000000000005")])
        .with_azure(AzureUse::NotNeeded);
    let (interaction, prompter, terminal) = interactive(&fake, FakePrompter::default());
    let report = run(&fake, &env, &interaction).await;
    assert!(report.passed(), "{}", report.render_text());
    assert!(prompter.asked.lock().unwrap().is_empty());
    assert!(terminal.handed_over.lock().unwrap().is_empty());
    assert!(fake.calls_to(&["az"]).is_empty(), "{:?}", fake.calls());
}

/// On tokio's paused clock, where the fake's delays are exact: the run lasts as long as
/// its longest chain of calls, not their sum.
#[tokio::test(start_paused = true)]
async fn all_probes_run_concurrently() {
    let fake = Arc::new(healthy(None));
    let delay = Duration::from_millis(250);
    fake.delay_everything(delay);
    let env = env_with(&[("GITHUB_TOKEN", "ghp_concurrencyTOKEN00000000000000002")]);
    let started = tokio::time::Instant::now();
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    let elapsed = started.elapsed();

    assert!(report.passed(), "{}", report.render_text());
    let calls = fake.calls().len();
    // 7 version probes, account show, role list, gh api user.
    assert_eq!(calls, 10, "{:?}", fake.calls());
    let sequential = delay * calls as u32;
    // The longest chain is two calls: `az account show`, then the role assignments of the
    // account it names; everything else runs beside them.
    assert_eq!(
        elapsed,
        delay * 2,
        "one after the other would take {sequential:?}"
    );
    // The 7 probes, the Azure sign-in and the GitHub sign-in were all in flight together.
    assert!(
        fake.max_in_flight.load(Ordering::SeqCst) >= 9,
        "at most {} calls overlapped",
        fake.max_in_flight.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_missing_tool_fails_with_install_hints_for_macos_and_linux() {
    let fake = Arc::new(healthy(None));
    fake.missing("gh");
    let env = env_with(&[("GITHUB_TOKEN", "ghp_missingGhTOKEN000000000000000003")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(!report.passed());
    assert_eq!(report.exit_code(), ExitCode::PrerequisitesFailed);
    let gh = report.tool("gh").unwrap();
    assert!(!gh.found);
    assert_eq!(gh.verdict, Verdict::Fail);
    assert_eq!(gh.version, None);
    assert!(gh.detail.contains("not found"), "{}", gh.detail);
    let login = row(&report, AuthCheckKind::GithubLogin);
    assert_eq!(login.verdict, Verdict::Fail);
    assert!(
        login.detail.contains("gh is not installed"),
        "{}",
        login.detail
    );

    let text = report.render_text();
    assert!(text.contains("macOS: brew install gh"), "{text}");
    assert!(
        text.contains("Linux: https://github.com/cli/cli/blob/trunk/docs/install_linux.md"),
        "{text}"
    );
    assert!(
        !text.contains("brew install azure-cli"),
        "only failing tools get hints"
    );
    assert!(text.contains("Prerequisites: FAILED"), "{text}");
}

#[tokio::test]
async fn a_too_old_tool_fails_and_names_the_minimum() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["kubectl", "version", "--client", "-o", "json"],
        vec![ok(fixture("kubectl-1.20.0-client.json"))],
    );
    let env = env_with(&[("GITHUB_TOKEN", "ghp_tooOldTOKEN000000000000000000004")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(!report.passed());
    let kubectl = report.tool("kubectl").unwrap();
    assert_eq!(kubectl.verdict, Verdict::Fail);
    assert!(kubectl.found);
    assert_eq!(kubectl.version.unwrap().to_string(), "1.20.0");
    let text = report.render_text();
    assert!(
        text.contains("1.20.0 is older than the minimum 1.25.0"),
        "{text}"
    );
    assert_eq!(report.failure_count(), 1, "{text}");
}

#[tokio::test]
async fn a_tool_printing_garbage_fails_with_what_it_printed() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["az", "version", "-o", "json"],
        vec![ok("Traceback (most recent call last):")],
    );
    let env = env_with(&[("GITHUB_TOKEN", "ghp_garbageTOKEN0000000000000000005")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    let az = report.tool("az").unwrap();
    assert_eq!(az.verdict, Verdict::Fail);
    assert!(az.detail.contains("Traceback"), "{}", az.detail);
    assert!(!report.passed());
}

#[tokio::test]
async fn jq_and_bash_are_reported_but_never_required() {
    let fake = Arc::new(healthy(None));
    fake.missing("jq");
    fake.missing("bash");
    let env = env_with(&[("GITHUB_TOKEN", "ghp_infoTOKEN0000000000000000000006")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    assert!(report.passed(), "{}", report.render_text());
    for name in ["jq", "bash"] {
        let tool = report.tool(name).unwrap();
        assert!(!tool.found);
        assert!(!tool.required);
        assert_eq!(tool.verdict, Verdict::Info);
        assert!(tool.detail.contains("not needed by kalypso-bootstrap"));
        assert!(!tool.matters());
    }
    // Not needed and not installed: nothing to tell, no row shown (the JSON keeps them).
    let text = report.render_text();
    assert!(!text.contains("jq") && !text.contains("bash"), "{text}");
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        json.contains("\"jq\"") && json.contains("\"bash\""),
        "{json}"
    );
}

#[tokio::test]
async fn an_installed_tool_we_only_report_keeps_its_row() {
    let fake = Arc::new(healthy(None));
    let env = env_with(&[("GITHUB_TOKEN", "ghp_infoTOKEN0000000000000000000016")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    let text = report.render_text();
    assert!(report.tool("jq").unwrap().matters());
    assert!(text.contains("\n  jq "), "{text}");
}

#[tokio::test]
async fn azure_not_signed_in_fails_non_interactive_runs_with_the_hint() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &as_strs(&account_show_argv(None)),
        vec![fail(1, NOT_LOGGED_IN)],
    );
    let env = env_with(&[("GITHUB_TOKEN", "ghp_noAzureTOKEN000000000000000007")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(!report.passed());
    assert_eq!(report.exit_code(), ExitCode::PrerequisitesFailed);
    let login = row(&report, AuthCheckKind::AzureLogin);
    assert_eq!(login.verdict, Verdict::Fail);
    assert!(
        login.detail.contains("Please run 'az login'"),
        "{}",
        login.detail
    );
    assert!(login.hint.as_deref().unwrap().contains("az login"));
    assert_eq!(
        row(&report, AuthCheckKind::AzureRole).verdict,
        Verdict::Skip
    );
    assert!(
        fake.calls_to(&["az", "login"]).is_empty(),
        "never signs in on its own"
    );
    assert!(fake.calls_to(&["az", "role"]).is_empty());
    assert!(report.azure.is_none());
    assert!(report.render_text().contains("How to fix"));
}

#[tokio::test]
async fn azure_not_signed_in_offers_az_login_on_interactive_runs() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &as_strs(&account_show_argv(None)),
        vec![fail(1, NOT_LOGGED_IN), ok(account_json(SUB))],
    );
    fake.on(&["az", "login", "--tenant", TENANT], vec![ok("")]);
    let prompter = FakePrompter::default();
    prompter.confirms.lock().unwrap().push_back(Ok(true));
    let (interaction, prompter, terminal) = interactive(&fake, prompter);
    let env = env_with(&[
        ("GITHUB_TOKEN", "ghp_azLoginTOKEN000000000000000008"),
        ("AZURE_TENANT_ID", TENANT),
    ]);
    let report = run(&fake, &env, &interaction).await;

    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        *terminal.handed_over.lock().unwrap(),
        vec![vec!["az", "login", "--tenant", TENANT]]
    );
    let login_call = &fake.calls_to(&["az", "login"])[0];
    assert!(login_call.inherit_terminal, "az login gets the terminal");
    assert_eq!(prompter.asked.lock().unwrap().len(), 1);
    assert!(prompter.asked.lock().unwrap()[0].contains("az login"));
    assert_eq!(fake.calls_to(&["az", "account", "show"]).len(), 2);
    assert_eq!(
        row(&report, AuthCheckKind::AzureRole).verdict,
        Verdict::Pass
    );
}

#[tokio::test]
async fn declining_az_login_fails_without_running_it() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &as_strs(&account_show_argv(None)),
        vec![fail(1, NOT_LOGGED_IN)],
    );
    let prompter = FakePrompter::default();
    prompter.confirms.lock().unwrap().push_back(Ok(false));
    let (interaction, _prompter, terminal) = interactive(&fake, prompter);
    let env = env_with(&[("GITHUB_TOKEN", "ghp_declineTOKEN000000000000000009")]);
    let report = run(&fake, &env, &interaction).await;

    assert!(!report.passed());
    assert!(terminal.handed_over.lock().unwrap().is_empty());
    let login = row(&report, AuthCheckKind::AzureLogin);
    assert_eq!(login.verdict, Verdict::Fail);
    assert!(login.detail.contains("declined"), "{}", login.detail);
}

#[tokio::test]
async fn a_failed_az_login_is_reported() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &as_strs(&account_show_argv(None)),
        vec![fail(1, NOT_LOGGED_IN)],
    );
    fake.on(&["az", "login"], vec![fail(1, "")]);
    let prompter = FakePrompter::default();
    prompter.confirms.lock().unwrap().push_back(Ok(true));
    let (interaction, _, _) = interactive(&fake, prompter);
    let env = env_with(&[("GITHUB_TOKEN", "ghp_loginFailTOKEN0000000000000010")]);
    let report = run(&fake, &env, &interaction).await;
    let login = row(&report, AuthCheckKind::AzureLogin);
    assert_eq!(login.verdict, Verdict::Fail);
    assert!(
        login.detail.contains("exited with code 1"),
        "{}",
        login.detail
    );
}

#[tokio::test]
async fn every_subscription_scoped_az_call_names_the_subscription() {
    let fake = Arc::new(healthy(Some(SUB)));
    let env = env_with(&[
        ("AZURE_SUBSCRIPTION_ID", SUB),
        ("GITHUB_TOKEN", "ghp_subscriptionTOKEN00000000000011"),
    ]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    assert!(report.passed(), "{}", report.render_text());

    let az_calls = fake.calls_to(&["az"]);
    assert_eq!(az_calls.len(), 3, "{az_calls:?}");
    for call in az_calls {
        let joined = call.argv.join(" ");
        assert!(
            !joined.contains("account set"),
            "never changes the default: {joined}"
        );
        if call.argv[1] == "version" {
            continue; // takes no subscription
        }
        assert!(
            joined.ends_with(&format!("--subscription {SUB}")),
            "missing --subscription: {joined}"
        );
    }
}

#[tokio::test]
async fn an_unknown_subscription_fails_with_a_hint_naming_the_variable() {
    let other = "00000000-1111-2222-3333-444444444444";
    let fake = Arc::new(healthy(Some(other)));
    fake.on(
        &as_strs(&account_show_argv(Some(other))),
        vec![fail(
            1,
            &format!("ERROR: Subscription '{other}' not found. Check the spelling and casing and try again.\n"),
        )],
    );
    let env = env_with(&[
        ("AZURE_SUBSCRIPTION_ID", other),
        ("GITHUB_TOKEN", "ghp_unknownSubTOKEN000000000000012"),
    ]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    let login = row(&report, AuthCheckKind::AzureLogin);
    assert_eq!(login.verdict, Verdict::Fail);
    assert!(login.detail.contains("not found"), "{}", login.detail);
    assert!(login
        .hint
        .as_deref()
        .unwrap()
        .contains("AZURE_SUBSCRIPTION_ID"));
}

#[tokio::test]
async fn contributor_passes_the_role_check() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &as_strs(&role_list_argv(None)),
        vec![ok(assignments(&[
            assignment("Reader", READER_ID, &format!("/subscriptions/{SUB}")),
            assignment(
                "Contributor",
                CONTRIBUTOR_ID,
                "/providers/Microsoft.Management/managementGroups/contoso-root",
            ),
        ]))],
    );
    let env = env_with(&[("GITHUB_TOKEN", "ghp_contributorTOKEN0000000000013")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    let role = row(&report, AuthCheckKind::AzureRole);
    assert_eq!(role.verdict, Verdict::Pass);
    assert!(role.detail.starts_with("Contributor"), "{}", role.detail);
    assert_eq!(
        report.azure.as_ref().unwrap().role,
        Some(BuiltinRole::Contributor)
    );
}

#[tokio::test]
async fn lacking_owner_and_contributor_is_a_warning_not_a_failure() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &as_strs(&role_list_argv(None)),
        vec![ok(assignments(&[
            assignment("Reader", READER_ID, &format!("/subscriptions/{SUB}")),
            // Owner of one resource group only: not the subscription.
            assignment(
                "Owner",
                OWNER_ID,
                &format!("/subscriptions/{SUB}/resourceGroups/sandbox-rg"),
            ),
        ]))],
    );
    let env = env_with(&[("GITHUB_TOKEN", "ghp_readerTOKEN000000000000000014")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    assert!(report.passed(), "{}", report.render_text());
    let role = row(&report, AuthCheckKind::AzureRole);
    assert_eq!(role.verdict, Verdict::Warn);
    assert!(role.detail.contains("holds: Reader"), "{}", role.detail);
    assert_eq!(report.warning_count(), 1);
    assert!(
        report.summary().contains("1 warning"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn an_undeterminable_role_is_a_warning() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &as_strs(&role_list_argv(None)),
        vec![fail(
            1,
            "ERROR: Insufficient privileges to complete the operation.\n",
        )],
    );
    let env = env_with(&[("GITHUB_TOKEN", "ghp_undeterminedTOKEN00000000000015")]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    assert!(report.passed(), "{}", report.render_text());
    let role = row(&report, AuthCheckKind::AzureRole);
    assert_eq!(role.verdict, Verdict::Warn);
    assert!(
        role.detail.contains("Insufficient privileges"),
        "{}",
        role.detail
    );
    assert_eq!(report.azure.as_ref().unwrap().role, None);
}

#[tokio::test]
async fn github_token_takes_precedence_over_gh_token() {
    let fake = Arc::new(healthy(None));
    let github_token = "ghp_fromGITHUBTOKENvalue0000000016";
    let gh_token = "ghp_fromGHTOKENvalue00000000000017";
    let env = env_with(&[("GITHUB_TOKEN", github_token), ("GH_TOKEN", gh_token)]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        report.github.as_ref().unwrap().token_source,
        TokenSource::GithubTokenEnv
    );
    let api = &fake.calls_to(&["gh", "api", "user"])[0];
    assert_eq!(
        api.env.get("GH_TOKEN").map(String::as_str),
        Some(github_token)
    );
    assert_never_in_argv(&fake, github_token);
    assert_never_in_argv(&fake, gh_token);
}

#[tokio::test]
async fn gh_token_is_used_when_github_token_is_unset() {
    let fake = Arc::new(healthy(None));
    let gh_token = "ghp_onlyGHTOKENvalue00000000000018";
    let env = env_with(&[("GITHUB_TOKEN", "  "), ("GH_TOKEN", gh_token)]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        report.github.as_ref().unwrap().token_source,
        TokenSource::GhTokenEnv
    );
    assert_eq!(report.github_token().unwrap().expose_secret(), gh_token);
    let api = &fake.calls_to(&["gh", "api", "user"])[0];
    assert_eq!(api.env.get("GH_TOKEN").map(String::as_str), Some(gh_token));
    assert_never_in_argv(&fake, gh_token);
}

#[tokio::test]
async fn the_token_of_gh_s_stored_login_is_used_and_registered_when_no_variable_is_set() {
    let fake = Arc::new(healthy(None));
    let stored = "gho_storedLoginTOKENvalue000000019";
    fake.on(
        &["gh", "auth", "token", "--hostname", "github.com"],
        vec![ok(format!("{stored}\n"))],
    );
    let report = run(&fake, &env_with(&[]), &Interaction::NonInteractive).await;

    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        report.github.as_ref().unwrap().token_source,
        TokenSource::GhCli
    );
    assert_eq!(report.github_token().unwrap().expose_secret(), stored);
    assert_eq!(
        secrets::redact(stored),
        secrets::MASK,
        "registered as a secret"
    );

    let token_call = &fake.calls_to(&["gh", "auth", "token"])[0];
    assert!(token_call.stdout_is_secret, "its output is never streamed");
    for var in ["GH_TOKEN", "GITHUB_TOKEN"] {
        assert!(
            token_call.env_remove.iter().any(|v| v == var),
            "{var} not removed"
        );
    }
    let api = &fake.calls_to(&["gh", "api", "user"])[0];
    assert_eq!(api.env.get("GH_TOKEN").map(String::as_str), Some(stored));
    assert_never_in_argv(&fake, stored);
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(stored));
    assert!(!report.render_text().contains(stored));
    assert!(!format!("{report:?}").contains(stored));
}

#[tokio::test]
async fn a_missing_token_fails_non_interactive_runs_without_asking() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["gh", "auth", "token", "--hostname", "github.com"],
        vec![fail(1, GH_NO_TOKEN)],
    );
    let report = run(&fake, &env_with(&[]), &Interaction::NonInteractive).await;

    assert!(!report.passed());
    assert_eq!(report.exit_code(), ExitCode::PrerequisitesFailed);
    let token = row(&report, AuthCheckKind::GithubToken);
    assert_eq!(token.verdict, Verdict::Fail);
    assert!(token.detail.contains("GITHUB_TOKEN"), "{}", token.detail);
    let hint = token.hint.as_deref().unwrap();
    assert!(
        hint.contains("GITHUB_TOKEN") && hint.contains("gh auth login"),
        "{hint}"
    );
    assert_eq!(
        row(&report, AuthCheckKind::GithubLogin).verdict,
        Verdict::Skip
    );
    assert!(fake.calls_to(&["gh", "api"]).is_empty());
    assert!(report.github_token().is_none());
}

#[tokio::test]
async fn a_missing_token_is_asked_for_on_interactive_runs() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["gh", "auth", "token", "--hostname", "github.com"],
        vec![fail(1, GH_NO_TOKEN)],
    );
    let typed = "ghp_typedAtThePromptTOKEN00000020";
    let prompter = FakePrompter::default();
    prompter
        .secrets
        .lock()
        .unwrap()
        .push_back(Ok(Some(typed.to_string())));
    let (interaction, prompter, _) = interactive(&fake, prompter);
    let report = run(&fake, &env_with(&[]), &interaction).await;

    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        report.github.as_ref().unwrap().token_source,
        TokenSource::Prompt
    );
    assert_eq!(report.github_token().unwrap().expose_secret(), typed);
    assert_eq!(
        secrets::redact(typed),
        secrets::MASK,
        "registered as a secret"
    );
    assert!(prompter.asked.lock().unwrap()[0].contains("hidden"));
    let api = &fake.calls_to(&["gh", "api", "user"])[0];
    assert_eq!(api.env.get("GH_TOKEN").map(String::as_str), Some(typed));
    assert_never_in_argv(&fake, typed);
}

#[tokio::test]
async fn an_empty_answer_fails_and_a_cancelled_prompt_exits_as_cancelled() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["gh", "auth", "token", "--hostname", "github.com"],
        vec![fail(1, GH_NO_TOKEN)],
    );

    let prompter = FakePrompter::default();
    prompter.secrets.lock().unwrap().push_back(Ok(None));
    let (interaction, _, _) = interactive(&fake, prompter);
    let report = run(&fake, &env_with(&[]), &interaction).await;
    assert_eq!(report.exit_code(), ExitCode::PrerequisitesFailed);
    assert!(row(&report, AuthCheckKind::GithubToken)
        .detail
        .contains("no token entered"));

    let prompter = FakePrompter::default();
    prompter
        .secrets
        .lock()
        .unwrap()
        .push_back(Err(PromptError::Cancelled));
    let (interaction, _, _) = interactive(&fake, prompter);
    let report = run(&fake, &env_with(&[]), &interaction).await;
    assert!(report.cancelled);
    assert!(!report.passed());
    assert_eq!(report.exit_code(), ExitCode::Cancelled);
}

#[tokio::test]
async fn a_rejected_token_fails_the_github_sign_in() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["gh", "api", "user"],
        vec![fail(1, "gh: Bad credentials (HTTP 401)\n")],
    );
    let token = "ghp_revokedTOKENvalue0000000000021";
    let env = env_with(&[("GITHUB_TOKEN", token)]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;
    assert!(!report.passed());
    let login = row(&report, AuthCheckKind::GithubLogin);
    assert_eq!(login.verdict, Verdict::Fail);
    assert!(
        login
            .detail
            .contains("rejected the token from GITHUB_TOKEN"),
        "{}",
        login.detail
    );
    assert!(
        report.github_token().is_none(),
        "an unverified token is not handed on"
    );
    assert!(!report.render_text().contains(token));
}

#[tokio::test]
async fn the_report_renders_as_text_and_json() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["helm", "version", "--short"],
        vec![ok(fixture("helm-2.17.0-short.txt"))],
    );
    let token = "ghp_renderingTOKENvalue00000000022";
    let env = env_with(&[("GITHUB_TOKEN", token)]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    let text = report.render_text();
    for expected in [
        "TOOL",
        "FOUND",
        "VERSION",
        "MINIMUM",
        "VERDICT",
        "az",
        "kubectl",
        "gh",
        "helm",
        "git",
        "jq",
        "bash",
        "not needed by kalypso-bootstrap",
        "Azure sign-in",
        "GitHub sign-in",
        "octocat",
        "Install or upgrade",
        "macOS: brew install helm",
        "Prerequisites: FAILED (1 failure)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let helm_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("helm "))
        .unwrap();
    assert!(
        helm_line.contains("2.17.0") && helm_line.contains("FAIL"),
        "{helm_line}"
    );

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["tools"][3]["name"], "helm");
    assert_eq!(json["tools"][3]["verdict"], "fail");
    assert_eq!(json["tools"][3]["version"], "2.17.0");
    assert_eq!(json["tools"][3]["minimum"], "3.13.0");
    assert_eq!(json["tools"][5]["verdict"], "info");
    assert!(json["tools"][0]["install"]["macos"].is_string());
    assert!(json["tools"][0]["install"]["linux"].is_string());
    assert_eq!(json["auth"][2]["check"], "github_token");
    assert_eq!(json["github"]["login"], "octocat");
    assert_eq!(json["azure"]["subscription_id"], SUB);
    assert!(!json.to_string().contains(token));
}

/// On tokio's paused clock: every other probe answers at once, az after 400 ms exactly, so
/// a row reported before 400 ms was reported before the slow probe returned.
#[tokio::test(start_paused = true)]
async fn each_row_is_reported_as_soon_as_its_probe_returns() {
    let fake = Arc::new(healthy(None));
    // az answers last, well after every other probe.
    let slow = Duration::from_millis(400);
    for reply in fake
        .replies
        .lock()
        .unwrap()
        .get_mut(&vec![
            "az".to_string(),
            "version".into(),
            "-o".into(),
            "json".into(),
        ])
        .unwrap()
        .iter_mut()
    {
        reply.delay = slow;
    }
    let env = env_with(&[("GITHUB_TOKEN", "ghp_liveRowsTOKEN0000000000000000009")]);
    let started = tokio::time::Instant::now();
    let seen: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());
    let seen_auth: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());
    let on_row = |row: LiveRow<'_>| match row {
        LiveRow::Tool(tool) => seen
            .lock()
            .unwrap()
            .push((tool.name.to_string(), started.elapsed())),
        LiveRow::Auth(auth) => seen_auth
            .lock()
            .unwrap()
            .push((auth.check.label().to_string(), started.elapsed())),
    };
    let runner: Arc<dyn CommandRunner> = fake.clone();
    let report = prereq::check_reporting(runner, &env, &Interaction::NonInteractive, &on_row).await;
    assert!(report.passed(), "{}", report.render_text());

    // The sign-in rows too, each as its query answers: all before the slow tool probe.
    let seen_auth = seen_auth.into_inner().unwrap();
    let final_auth: Vec<String> = report
        .auth
        .iter()
        .map(|row| row.check.label().to_string())
        .collect();
    assert_eq!(
        seen_auth.len(),
        final_auth.len(),
        "every sign-in row live: {seen_auth:?} vs {final_auth:?}"
    );
    for (name, at) in &seen_auth {
        assert!(final_auth.contains(name), "{name} is not in the report");
        assert!(
            *at < slow,
            "{name} was reported at {at:?}, not before the slow probe finished"
        );
    }

    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 7, "one report per tool: {seen:?}");
    assert_eq!(
        seen.last().unwrap().0,
        "az",
        "the slow probe is reported last: {seen:?}"
    );
    for (name, at) in &seen[..6] {
        assert!(
            *at < slow,
            "{name} was reported at {at:?}, not before the slow probe finished"
        );
    }
}

const ENTERPRISE_HOST: &str = "ghe.example.test";

fn enterprise_env(vars: &[(&str, &str)]) -> PrereqEnv {
    env_with(vars).with_github_host(GitHubHost::parse(ENTERPRISE_HOST).unwrap())
}

#[tokio::test]
async fn on_an_enterprise_server_gh_enterprise_token_comes_first_as_in_gh() {
    let fake = Arc::new(healthy(None));
    let enterprise = "ghp_fromGHENTERPRISETOKEN000000031";
    let github_enterprise = "ghp_fromGITHUBENTERPRISETOKEN00032";
    let github_token = "ghp_fromGITHUBTOKENonGHES000000033";
    let env = enterprise_env(&[
        ("GH_ENTERPRISE_TOKEN", enterprise),
        ("GITHUB_ENTERPRISE_TOKEN", github_enterprise),
        ("GITHUB_TOKEN", github_token),
    ]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        report.github.as_ref().unwrap().token_source,
        TokenSource::GhEnterpriseTokenEnv
    );
    assert_eq!(report.github_token().unwrap().expose_secret(), enterprise);
    let token_row = row(&report, AuthCheckKind::GithubToken);
    assert_eq!(token_row.detail, "from GH_ENTERPRISE_TOKEN");
    let api = &fake.calls_to(&["gh", "api", "user"])[0];
    assert_eq!(
        api.env.get("GH_ENTERPRISE_TOKEN").map(String::as_str),
        Some(enterprise)
    );
    assert!(fake.calls_to(&["gh", "auth", "token"]).is_empty());
    for secret in [enterprise, github_enterprise, github_token] {
        assert_eq!(
            secrets::redact(secret),
            secrets::MASK,
            "registered as a secret"
        );
        assert_never_in_argv(&fake, secret);
        assert!(!report.render_text().contains(secret));
        assert!(!serde_json::to_string(&report).unwrap().contains(secret));
    }
}

#[tokio::test]
async fn on_an_enterprise_server_github_enterprise_token_is_next() {
    let fake = Arc::new(healthy(None));
    let github_enterprise = "ghp_onlyGITHUBENTERPRISETOKEN00034";
    let env = enterprise_env(&[
        ("GH_ENTERPRISE_TOKEN", " "),
        ("GITHUB_ENTERPRISE_TOKEN", github_enterprise),
        ("GH_TOKEN", "ghp_fromGHTOKENonGHES00000000000035"),
    ]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        report.github.as_ref().unwrap().token_source,
        TokenSource::GithubEnterpriseTokenEnv
    );
    assert_eq!(
        row(&report, AuthCheckKind::GithubToken).detail,
        "from GITHUB_ENTERPRISE_TOKEN"
    );
    assert_eq!(
        report.github_token().unwrap().expose_secret(),
        github_enterprise
    );
    assert_never_in_argv(&fake, github_enterprise);
}

#[tokio::test]
async fn on_an_enterprise_server_github_token_still_serves_when_no_enterprise_variable_is_set() {
    let fake = Arc::new(healthy(None));
    let github_token = "ghp_GITHUBTOKENforGHESonly00000036";
    let env = enterprise_env(&[("GITHUB_TOKEN", github_token)]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(report.passed(), "{}", report.render_text());
    assert_eq!(
        report.github.as_ref().unwrap().token_source,
        TokenSource::GithubTokenEnv
    );
}

#[tokio::test]
async fn enterprise_token_variables_are_ignored_for_github_com_as_gh_ignores_them() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["gh", "auth", "token", "--hostname", "github.com"],
        vec![fail(1, GH_NO_TOKEN)],
    );
    let enterprise = "ghp_enterpriseTOKENnotForDotCom0037";
    let env = env_with(&[
        ("GH_ENTERPRISE_TOKEN", enterprise),
        ("GITHUB_ENTERPRISE_TOKEN", enterprise),
    ]);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(!report.passed());
    let token_row = row(&report, AuthCheckKind::GithubToken);
    assert_eq!(token_row.verdict, Verdict::Fail);
    assert!(
        token_row
            .detail
            .starts_with("no token: GITHUB_TOKEN and GH_TOKEN are unset"),
        "{}",
        token_row.detail
    );
    assert!(fake.calls_to(&["gh", "api"]).is_empty());
    assert_eq!(secrets::redact(enterprise), secrets::MASK, "still a secret");
}

#[tokio::test]
async fn a_missing_token_on_an_enterprise_server_names_every_variable_read() {
    let fake = Arc::new(healthy(None));
    fake.on(
        &["gh", "auth", "token", "--hostname", ENTERPRISE_HOST],
        vec![fail(1, GH_NO_TOKEN)],
    );
    let report = run(&fake, &enterprise_env(&[]), &Interaction::NonInteractive).await;

    assert!(!report.passed());
    let token_row = row(&report, AuthCheckKind::GithubToken);
    assert!(
        token_row.detail.starts_with(
            "no token: GH_ENTERPRISE_TOKEN, GITHUB_ENTERPRISE_TOKEN, GITHUB_TOKEN and GH_TOKEN are unset"
        ),
        "{}",
        token_row.detail
    );
    let hint = token_row.hint.as_deref().unwrap();
    assert!(
        hint.contains("set GH_ENTERPRISE_TOKEN to a token of ghe.example.test")
            && hint.contains("gh auth login --hostname ghe.example.test"),
        "{hint}"
    );
}

#[tokio::test]
async fn on_an_enterprise_server_a_flux_manifest_from_github_com_is_a_warning_naming_the_way_out() {
    let fake = Arc::new(healthy(None));
    let token = "ghp_GHESrunWithFluxFromGithubCom038";
    let env =
        enterprise_env(&[("GH_ENTERPRISE_TOKEN", token)]).with_flux_manifest_from_github_com(true);
    let report = run(&fake, &env, &Interaction::NonInteractive).await;

    assert!(report.passed(), "a warning only: {}", report.render_text());
    let flux = row(&report, AuthCheckKind::FluxManifest);
    assert_eq!(flux.verdict, Verdict::Warn);
    assert!(
        flux.detail.contains("github.com") && flux.detail.contains(ENTERPRISE_HOST),
        "{}",
        flux.detail
    );
    assert!(
        flux.hint
            .as_deref()
            .unwrap()
            .contains("--flux-manifest FILE|URL"),
        "{:?}",
        flux.hint
    );
    assert!(report.render_text().contains("Flux manifest"));
}

#[tokio::test]
async fn no_flux_manifest_row_on_github_com_or_with_a_manifest_of_ones_own() {
    for env in [
        env_with(&[("GITHUB_TOKEN", "ghp_dotComFluxFromGithubCom0000039")])
            .with_flux_manifest_from_github_com(true),
        enterprise_env(&[("GH_ENTERPRISE_TOKEN", "ghp_GHESwithOwnFluxManifest0000040")])
            .with_flux_manifest_from_github_com(false),
    ] {
        let fake = Arc::new(healthy(None));
        let report = run(&fake, &env, &Interaction::NonInteractive).await;
        assert!(report.passed(), "{}", report.render_text());
        assert!(
            report
                .auth
                .iter()
                .all(|check| check.check != AuthCheckKind::FluxManifest),
            "{}",
            report.render_text()
        );
    }
}
