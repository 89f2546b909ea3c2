//! Every external call has a timeout, and cancelling leaves no child process running
//! (issue 6, item 6).
//!
//! - Over the specs: every command a whole run makes (prerequisite check, observation,
//!   every step, rollback) is recorded as the runner receives it; per adapter, each one
//!   carries its own timeout or gets the runner's default, and a command that waits by
//!   itself (`kubectl wait --timeout`, `helm --wait --timeout`) is given longer than its
//!   own deadline, so the tool reports first.
//! - The real [`ProcessRunner`] applies its default to a spec without a timeout.
//! - The engine with the real [`ProcessRunner`] and stand-in tools (each sleeps and forks a
//!   grandchild, recording both PIDs) is cancelled while several commands are in flight:
//!   the run ends as cancelled (exit 7) and every recorded process is gone.
//!
//! Nothing here bounds a duration on the real clock: a timeout shows on tokio's paused clock
//! or by a command that would otherwise run for minutes ending with the runner's error.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::consented::ConsentedBootstrap;
use crate::support::e2e::*;
use crate::support::process::{alive, wait_until_async, HANG_GUARD};
use kalypso_bootstrap::engine::{Bootstrap, BootstrapPaths, EventSink, RunEnd};
use kalypso_bootstrap::prereq::{self, Interaction, PrereqEnv};
use kalypso_bootstrap::state::{RunStatus, StateStore};
use kalypso_bootstrap::tools::runner::DEFAULT_TIMEOUT;
use kalypso_bootstrap::tools::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, ProcessRunner,
    RunControl, RunError,
};
use kalypso_bootstrap::ExitCode;
use secrecy::SecretString;

/// A command as the runner received it: program, arguments, timeout.
type Seen = (String, Vec<String>, Option<Duration>);

/// Passes every spec on, remembering its program, argv and timeout.
struct Recorder {
    inner: Arc<dyn CommandRunner>,
    seen: Mutex<Vec<Seen>>,
}

impl CommandRunner for Recorder {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        self.seen
            .lock()
            .unwrap()
            .push((spec.program.clone(), spec.args.clone(), spec.timeout));
        self.inner.run_with(spec, control)
    }
}

/// `30s`, `1m0s`, `5m0s` (Go durations as kubectl and helm take them).
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = number.parse().ok()?;
                number.clear();
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
            }
            _ => return None,
        }
    }
    number.is_empty().then_some(Duration::from_secs(total))
}

/// The deadline a command gives itself (`--timeout=30s`, `--timeout 5m0s`).
fn own_deadline(args: &[String]) -> Option<Duration> {
    args.iter().enumerate().find_map(|(i, arg)| {
        if let Some(value) = arg.strip_prefix("--timeout=") {
            go_duration(value)
        } else if arg == "--timeout" {
            args.get(i + 1).and_then(|v| go_duration(v))
        } else {
            None
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_a_run_and_its_rollback_make_has_a_timeout() {
    let harness = Harness::new();
    let recorder = Arc::new(Recorder {
        inner: Arc::new(harness.sim.clone()),
        seen: Mutex::new(Vec::new()),
    });
    let runner: Arc<dyn CommandRunner> = recorder.clone();
    let env = PrereqEnv::from_lookup(|name| match name {
        "GITHUB_TOKEN" => Some(CANARY.to_string()),
        "AZURE_SUBSCRIPTION_ID" => Some(SUBSCRIPTION.to_string()),
        _ => None,
    });
    let report = prereq::check(runner.clone(), &env, &Interaction::NonInteractive).await;
    assert!(report.github_token().is_some(), "{}", report.render_text());

    for configuration in [all_new(), existing_cluster(all_new())] {
        let open = || {
            Bootstrap::open(
                configuration.clone(),
                runner.clone(),
                Some(SecretString::from(CANARY)),
                harness.paths(),
                harness.options(),
            )
            .unwrap()
        };
        let run = harness
            .run_with(harness.session(&configuration, runner.clone(), harness.options()))
            .await;
        run.assert_success();
        let (events, _receiver) = EventSink::channel();
        let report = open().rollback(events, &CancellationToken::new()).await;
        assert!(report.is_complete(), "{:?}", report.leftovers);
    }

    let effective_default = ProcessRunner::new().default_timeout();
    assert_eq!(effective_default, DEFAULT_TIMEOUT);
    let seen = recorder.seen.lock().unwrap().clone();
    // program -> (with their own timeout, with the runner's default)
    let mut by_adapter: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (program, args, timeout) in &seen {
        let counts = by_adapter.entry(program.clone()).or_default();
        match timeout {
            Some(_) => counts.0 += 1,
            None => counts.1 += 1,
        }
        let effective = timeout.unwrap_or(effective_default);
        let line = format!("{program} {}", args.join(" "));
        if effective.is_zero() || effective > Duration::from_secs(15 * 60) {
            problems.push(format!("{line}: timeout {effective:?} out of bounds"));
        }
        if let Some(own) = own_deadline(args) {
            if effective <= own {
                problems.push(format!(
                    "{line}: stopped after {effective:?}, before its own deadline {own:?}"
                ));
            }
        }
    }
    for (program, (own, default)) in &by_adapter {
        eprintln!("{program}: {own} with their own timeout, {default} with the runner's default ({effective_default:?})");
    }
    for adapter in ["az", "gh", "git", "kubectl", "helm"] {
        assert!(
            by_adapter.contains_key(adapter),
            "no {adapter} command was seen: {by_adapter:?}"
        );
    }
    assert!(seen.len() > 80, "a whole run was recorded: {}", seen.len());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// On tokio's paused clock: the runner's timer is the only one, so the command ends at
/// exactly the default of 300 ms (without a default the `sleep 300` would end it, with
/// success; with another timeout the time and the error would say so).
#[tokio::test(start_paused = true)]
async fn the_process_runner_stops_a_spec_without_a_timeout_at_its_default() {
    let runner = ProcessRunner::with_default_timeout(Duration::from_millis(300));
    let started = tokio::time::Instant::now();
    let err = runner
        .run(CommandSpec::new("sh").args(["-c", "sleep 300"]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RunError::TimedOut { after, .. } if after == Duration::from_millis(300)),
        "{err}"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(300),
        "tokio's clock"
    );
}

/// Runs each tool as the stand-in script of the same name in `bin`, through the real
/// [`ProcessRunner`].
struct StandIns {
    bin: PathBuf,
    inner: ProcessRunner,
}

impl CommandRunner for StandIns {
    fn run_with(
        &self,
        mut spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        spec.program = self.bin.join(&spec.program).display().to_string();
        self.inner.run_with(spec, control)
    }
}

/// A stand-in: records its PID and a grandchild's (a background `sleep`), answers the
/// read-only queries of the observation, and hangs on everything else, noting it in
/// `hanging`.
fn stand_in(bin: &Path, dir: &Path, name: &str, answers: &str) {
    let script = format!(
        "#!/bin/sh\n\
         sleep 300 &\n\
         echo \"$$ $!\" >> '{dir}/pids'\n\
         case \"$*\" in\n\
         {answers}\n\
         esac\n\
         echo \"{name} $*\" >> '{dir}/hanging'\n\
         sleep 300 &\n\
         echo \"$!\" >> '{dir}/pids'\n\
         wait\n",
        dir = dir.display()
    );
    let path = bin.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_leaves_no_child_or_grandchild_running() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let record = dir.path().join("record");
    std::fs::create_dir(&record).unwrap();
    stand_in(
        &bin,
        &record,
        "az",
        // The pre-flight's queries are answered (the repositories wait for it), so the
        // resource group's creation is what hangs on the cluster's side.
        "*'group show'*) echo \"ERROR: (ResourceGroupNotFound) Resource group 'kalypso-rg' could not be found.\" >&2; exit 3;;\n\
         *'aks get-versions'*) echo '{\"values\":[{\"version\":\"1.33\",\"patchVersions\":{\"1.33.2\":{}},\"isDefault\":true}]}'; exit 0;;\n\
         *'vm list-skus'*) echo '[{\"name\":\"Standard_DS2_v2\",\"resourceType\":\"virtualMachines\",\"family\":\"standardDSv2Family\",\"locations\":[\"eastus\"],\"capabilities\":[{\"name\":\"vCPUs\",\"value\":\"2\"}],\"restrictions\":[]}]'; exit 0;;\n\
         *'vm list-usage'*) echo '[{\"currentValue\":0,\"limit\":100,\"name\":{\"value\":\"cores\"}},{\"currentValue\":0,\"limit\":100,\"name\":{\"value\":\"standardDSv2Family\"}}]'; exit 0;;",
    );
    stand_in(
        &bin,
        &record,
        "gh",
        "*'repo view'*) echo \"GraphQL: Could not resolve to a Repository with the name 'x'. (repository)\" >&2; exit 1;;\n\
         *'api user/memberships/orgs/acme'*) echo '{\"state\":\"active\",\"role\":\"admin\"}'; exit 0;;",
    );
    for tool in ["kubectl", "helm", "git"] {
        stand_in(&bin, &record, tool, "");
    }

    let runner: Arc<dyn CommandRunner> = Arc::new(StandIns {
        bin,
        inner: ProcessRunner::new(),
    });
    let paths = BootstrapPaths {
        state_file: dir.path().join("state.json"),
        kubeconfig: dir.path().join("kubeconfig"),
        log_file: None,
        work_dir: dir.path().join("work"),
    };
    let bootstrap = Bootstrap::open(
        all_new(),
        runner,
        Some(SecretString::from(CANARY)),
        paths.clone(),
        kalypso_bootstrap::engine::BootstrapOptions {
            subscription: Some(SUBSCRIPTION.to_string()),
            ..Default::default()
        },
    )
    .unwrap();
    let cancel = CancellationToken::new();
    let observed = bootstrap.observe(&cancel).await.expect("observation");
    let plan = bootstrap.plan(&observed);
    let (events, _receiver) = EventSink::channel();

    let active = activate(bootstrap.configuration());
    let run = bootstrap.run(&active, &plan, events, &cancel);
    let stop = async {
        // The resource group's and both repositories' creation are in flight at once.
        wait_until_async(
            "the resource group's and both repositories' creation in flight",
            || lines(&record.join("hanging")).len() >= 3,
        )
        .await;
        cancel.cancel();
    };
    // Every stand-in hangs for 300 s on what it was asked: only the cancel ends the run.
    let (outcome, ()) = tokio::time::timeout(HANG_GUARD, async { tokio::join!(run, stop) })
        .await
        .expect("hang guard: the cancelled run never ended");
    assert!(
        matches!(outcome.end, RunEnd::Cancelled { .. }),
        "{:?}",
        outcome.end
    );
    assert_eq!(outcome.exit_code, ExitCode::Cancelled);
    drop(bootstrap);
    let state = StateStore::at_custom(&paths.state_file)
        .load()
        .unwrap()
        .unwrap();
    assert_ne!(state.status, RunStatus::InProgress);

    let hanging = lines(&record.join("hanging"));
    assert!(
        hanging.iter().any(|l| l.starts_with("az group create"))
            && hanging
                .iter()
                .filter(|l| l.starts_with("gh repo create"))
                .count()
                == 2,
        "{hanging:?}"
    );
    let pids: Vec<i32> = lines(&record.join("pids"))
        .iter()
        .flat_map(|l| {
            l.split_whitespace()
                .map(|p| p.parse::<i32>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(pids.len() >= 2 * hanging.len(), "{pids:?}");
    // Killed grandchildren are reaped by init, which takes a moment (a hang guard).
    let mut survivors: Vec<i32> = pids.clone();
    let deadline = Instant::now() + HANG_GUARD;
    while !survivors.is_empty() && Instant::now() < deadline {
        survivors.retain(|pid| alive(*pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        survivors.is_empty(),
        "still running {HANG_GUARD:?} after the cancel (hang guard): {survivors:?} of {pids:?}"
    );
    eprintln!(
        "cancelled with {} commands in flight: all {} recorded processes gone",
        hanging.len(),
        pids.len()
    );
}
