//! The bootstrap itself on the headless front end: prerequisites, plan, dry-run or
//! confirmation, the engine streaming to the line printer, and the rollback offer.
//! `--clean` shares the same pieces.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;

use super::{Ending, OutputOptions};
use crate::cli::{Cli, OutputFormat};
use crate::config::lifecycle::Validated;
use crate::config::{ClusterTarget, GitHubHost};
use crate::demo::{Demo, DemoRequest};
use crate::engine::bootstrap::{BootstrapOptions, BootstrapPaths, Cleanup};
use crate::engine::context::EventSink;
use crate::engine::removal::{Ask, RemovalOutcome, RemovalPlan, RemovalPurpose};
use crate::engine::session::{Access, AfterFailure, Proceed, Session};
use crate::engine::Event;
use crate::engine::{DryRun, Resume};
use crate::headless::{
    headless_color, prerequisite_events, skipped_prerequisite_events, HeadlessPrinter, LinePrompts,
    PrinterSettings, Prompts, TerminalFacts,
};
use crate::logging;
use crate::prereq::{self, Interaction, PrereqEnv};
use crate::signals::Signals;
use crate::state::InstallationWorld;
use crate::tools::{BoxFuture, CancellationToken, CommandRunner, ProcessRunner};
use crate::ExitCode;
use crate::UserError;

/// Where commands go and where files live: the real machine, or the simulated one.
pub(crate) struct RunTarget {
    pub runner: Arc<dyn CommandRunner>,
    pub paths: BootstrapPaths,
    pub options: BootstrapOptions,
    /// Set in `--demo`: the simulated world behind `runner`.
    pub demo: Option<Demo>,
}

impl RunTarget {
    /// Real, or `--demo`'s simulated world.
    pub fn installation_world(&self) -> InstallationWorld {
        InstallationWorld::of_demo_flag(self.demo.is_some())
    }

    pub fn new(
        cli: &Cli,
        env: &HashMap<String, String>,
        home: &Path,
    ) -> Result<RunTarget, UserError> {
        let flux_version = flux_version(cli)?;
        if cli.demo {
            // An unusable state or log file must stop the run before the simulated world
            // is created beside the state file: bad input leaves no side effect.
            check_files(
                cli.state_file.as_deref(),
                cli.log_file.as_deref(),
                cli.force,
                InstallationWorld::Demo,
            )?;
            let prepared = Demo::prepare(DemoRequest {
                env,
                state_file: cli.state_file.as_deref(),
                log_file: cli.log_file.as_deref(),
                flux_version,
                subscription: subscription_from_env(env),
            })?;
            let mut options = prepared.options;
            options.resume = resume_of_this_invocation(prepared.demo.kept_for_later_runs());
            return Ok(RunTarget {
                runner: prepared.runner,
                paths: prepared.paths,
                options,
                demo: Some(prepared.demo),
            });
        }
        let state_file = cli
            .state_file
            .clone()
            .unwrap_or_else(|| crate::state::default_state_path(home));
        let log_file = cli
            .log_file
            .clone()
            .unwrap_or_else(|| logging::default_log_path(home, time::OffsetDateTime::now_utc()));
        // Refused before the log file (or the state's lock) is created: a refused run
        // leaves nothing behind.
        check_files(
            Some(&state_file),
            Some(&log_file),
            cli.force,
            InstallationWorld::Real,
        )?;
        let options = BootstrapOptions {
            subscription: subscription_from_env(env),
            flux_version,
            resume: resume_of_this_invocation(true),
            ..BootstrapOptions::default()
        };
        Ok(RunTarget {
            runner: Arc::new(ProcessRunner::new()),
            paths: BootstrapPaths {
                state_file,
                kubeconfig: BootstrapPaths::default_kubeconfig(env, home),
                log_file: Some(log_file),
                work_dir: std::env::temp_dir(),
            },
            options,
            demo: None,
        })
    }
}

/// What resumes this run: this process's own command line, run again (a `--demo` keeps
/// its world only with `--state-file`; without it nothing resumes it).
fn resume_of_this_invocation(world_kept: bool) -> Resume {
    let args: Vec<String> = std::env::args().skip(1).collect();
    Resume::for_invocation(&args, world_kept)
}

/// `AZURE_SUBSCRIPTION_ID`, when set: every az call names it.
fn subscription_from_env(env: &HashMap<String, String>) -> Option<String> {
    env.get("AZURE_SUBSCRIPTION_ID")
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

/// Refuse, before anything is written or any tool runs, a state file that is not a usable
/// state (unless `--force` will move it aside), a state of the other `world` (a `--demo`
/// state outside `--demo`, a real one in it), and a log file that cannot be opened.
fn check_files(
    state_file: Option<&Path>,
    log_file: Option<&Path>,
    force: bool,
    world: InstallationWorld,
) -> Result<(), UserError> {
    if let Some(state_file) = state_file {
        match crate::state::StateStore::at_custom(state_file).load_in(world) {
            Ok(_) => {}
            Err(crate::state::StateError::Unusable { .. }) if force => {}
            Err(err) => return Err(err.into()),
        }
    }
    if let Some(log_file) = log_file {
        crate::logging::check_log_path(log_file).map_err(|problem| {
            UserError::new(
                ExitCode::General,
                format!("--log-file {}: it {problem}", log_file.display()),
            )
        })?;
        log_file_is_usable(log_file).map_err(|err| {
            UserError::new(
                ExitCode::General,
                format!("cannot open the log file {}: {err}", log_file.display()),
            )
        })?;
    }
    Ok(())
}

/// Whether `path` can be opened for appending, without creating it: an existing file must
/// be writable; otherwise its nearest existing ancestor must be a directory.
fn log_file_is_usable(path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(std::io::Error::from_raw_os_error(libc::EISDIR)),
        Ok(_) => {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .append(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(path)
                .map(drop)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut ancestor = path.parent();
            while let Some(dir) = ancestor.filter(|dir| !dir.as_os_str().is_empty()) {
                match std::fs::metadata(dir) {
                    Ok(meta) if meta.is_dir() => return Ok(()),
                    Ok(_) => return Err(std::io::Error::from_raw_os_error(libc::ENOTDIR)),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        ancestor = dir.parent();
                    }
                    Err(err) => return Err(err),
                }
            }
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// `--flux-version`: a release tag such as `v2.7.5`.
fn flux_version(cli: &Cli) -> Result<String, UserError> {
    let Some(given) = cli.flux_version.as_deref() else {
        return Ok(crate::tools::kubectl::FLUX_VERSION.to_string());
    };
    let bare = given.strip_prefix('v').unwrap_or(given);
    let parts: Vec<&str> = bare.split('.').collect();
    let valid = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        Ok(format!("v{bare}"))
    } else {
        Err(UserError::new(
            ExitCode::ConfigInvalid,
            format!(
                "--flux-version: {given:?} must be a Flux release such as v2.7.5 (vMAJOR.MINOR.PATCH)"
            ),
        ))
    }
}

/// The line printer's settings for this command line.
pub(super) fn printer_settings(
    cli: &Cli,
    options: OutputOptions,
    env: &HashMap<String, String>,
    target: &RunTarget,
) -> PrinterSettings {
    let facts = TerminalFacts::detect(env);
    PrinterSettings::new(cli.output, options.verbosity)
        .with_color(headless_color(options.no_color, &facts))
        .with_utc_offset(logging::local_offset_or_utc())
        .with_files(
            target.paths.log_file.as_deref(),
            Some(&target.paths.state_file),
        )
        .with_clean_command(clean_command_for(target))
        .with_resume(target.options.resume.clone())
}

/// Questions for the user on the terminal (asked only in interactive runs).
fn terminal_prompts() -> Box<dyn Prompts> {
    Box::new(LinePrompts::stdio())
}

/// Ask on a blocking thread, so the runtime keeps draining events meanwhile.
async fn ask<T: Send + 'static>(
    mut prompts: Box<dyn Prompts>,
    question: impl FnOnce(&mut dyn Prompts) -> T + Send + 'static,
) -> (Box<dyn Prompts>, T) {
    tokio::task::spawn_blocking(move || {
        let answer = question(prompts.as_mut());
        (prompts, answer)
    })
    .await
    .expect("prompt thread")
}

/// The environment as the prerequisite check reads it (from the start-up snapshot: the
/// token variables are no longer in the process environment).
pub(super) fn prereq_env(env: &HashMap<String, String>) -> PrereqEnv {
    PrereqEnv::from_lookup(|name| env.get(name).cloned())
}

/// The GitHub token for `host` when the prerequisite check is skipped: the environment
/// only, read as the check reads it.
fn token_from_env(env: &HashMap<String, String>, host: &GitHubHost) -> Option<SecretString> {
    prereq_env(env)
        .with_github_host(host.clone())
        .variable_token()
        .map(|(token, _)| token)
}

/// Cancel on Ctrl+C, and on SIGTERM or SIGHUP (a CI job cancelled, a closed terminal):
/// the children are killed and the state is saved before the process ends with exit 7.
/// A second signal while stopping ends the process at once.
fn cancel_on_signal(cancel: &CancellationToken) {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let mut signals = Signals::new();
        signals.next().await;
        tracing::warn!("signal received: stopping (a second signal ends the process at once)");
        cancel.cancel();
        signals.next().await;
        tracing::error!("second signal: ending now");
        std::process::exit(ExitCode::Cancelled.code());
    });
}

pub(crate) fn bootstrap(
    cli: &Cli,
    env: &HashMap<String, String>,
    home: &Path,
    validated: Validated,
    options: OutputOptions,
) -> Result<Ending, UserError> {
    let mut target = RunTarget::new(cli, env, home)?;
    if let Some(demo) = &target.demo {
        demo.serve_github_on(&validated.configuration().repositories.github_host);
        demo.play_workflows_for(validated.configuration());
        if let ClusterTarget::Existing(existing) = &validated.configuration().cluster {
            if existing.context == crate::demo::DEMO_EXISTING_CONTEXT {
                // The simulated world's kind cluster, made the first time a run names it.
                demo.kube_contexts()?;
            }
        }
    }
    if cli.dry_run {
        // A dry run changes nothing on disk: no log file either (its output is the record).
        target.paths.log_file = None;
    }
    let interactive = !options.non_interactive && super::stdin_is_terminal();
    let _logging = super::start_logging_to(target.paths.log_file.clone(), options, false, None)?;
    if let Some(demo) = &target.demo {
        eprintln!("{}", demo.announcement());
    }
    tracing::info!(demo = target.demo.is_some(), "bootstrap started");

    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let dry_run = cli.dry_run;
        let output = cli.output;
        let mut printer =
            HeadlessPrinter::new(printer_settings(cli, options, env, &target), std::io::stdout());
        // `--output json`: the check as events too. A dry run's stdout is its plan document
        // alone, so there they appear only when the check fails.
        let json_events = output == OutputFormat::Json;
        let mut engine_options = target.options.clone();
        let token = if validated.configuration().options.skip_validation {
            tracing::warn!("{}", prereq::SKIPPED_SUMMARY);
            if json_events && !dry_run {
                print_events(&mut printer, skipped_prerequisite_events());
            }
            token_from_env(env, &validated.configuration().repositories.github_host)
        } else {
            let interaction = if interactive {
                Interaction::terminal(target.runner.clone())
            } else {
                Interaction::NonInteractive
            };
            let started = std::time::Instant::now();
            let azure = prereq::AzureUse::of(validated.configuration().involves_azure());
            let installation = &validated.configuration().installation;
            let prereq_env = prereq_env(env)
                .with_azure(azure)
                .with_github_host(validated.configuration().repositories.github_host.clone())
                .with_flux_manifest_from_github_com(
                    installation.flux_manifest.is_none() && !installation.skip_install,
                );
            let report = prereq::check(target.runner.clone(), &prereq_env, &interaction).await;
            if json_events && (!dry_run || !report.passed()) {
                print_events(&mut printer, prerequisite_events(&report, started.elapsed()));
            }
            if !report.passed() {
                if !json_events {
                    super::print_stdout(&report.render_text());
                }
                return Ok(report.exit_code().into());
            }
            // Text: what was found, in one line (a dry run's stdout is its plan alone).
            if !json_events && !dry_run {
                if let Err(err) = printer.prerequisites(&report) {
                    tracing::warn!("cannot write the progress lines: {err}");
                }
            }
            engine_options.account_subscription = report.azure.as_ref().map(|account| account.subscription_id.clone());
            report.github_token().cloned()
        };

        let access = if dry_run { Access::DryRun } else { Access::Run };
        let session = Session::open(
            validated.configuration().clone(),
            target.runner.clone(),
            token,
            target.paths.clone(),
            engine_options,
            access,
            &super::print_stderr,
        )?;
        let bootstrap = session.bootstrap();

        let cancel = CancellationToken::new();
        cancel_on_signal(&cancel);
        // The observation's warnings (a query tried again after a rate limit) go to
        // stderr as they happen: stdout may be a JSON document.
        let (observe_events, mut warnings) = EventSink::channel();
        let shown = tokio::spawn(async move {
            while let Some(event) = warnings.recv().await {
                if let crate::engine::EventKind::Log { message, .. } = event.kind {
                    super::print_stderr(&format!("WARN: {message}"));
                }
            }
        });
        let plan = session.plan(&cancel, &observe_events).await;
        drop(observe_events);
        let _ = shown.await;
        // A refused plan's error goes to the user as it is, its hint below it.
        let plan = plan?;
        if dry_run {
            let dry = bootstrap.dry_run(&plan);
            super::print_stdout(&match output {
                OutputFormat::Json => dry.to_json(),
                OutputFormat::Text => dry.to_text(),
            });
            return Ok(Ending::planned(dry.changes_anything()));
        }

        let mut questions = interactive.then(|| PromptAsk::new(terminal_prompts()));
        let proceed = questions.as_mut().map(|questions| questions as &mut dyn Proceed);
        let Some(active) = session.confirm(validated, &plan, proceed).await? else {
            eprintln!("Cancelled: nothing was changed.");
            return Ok(ExitCode::Cancelled.into());
        };

        // The run's end is printed before the rollback question is asked.
        let (sink, events) = EventSink::channel();
        let (outcome, _) = tokio::join!(session.run(&active, &plan, sink, &cancel), print_all(&mut printer, events));
        let ask = questions.map(|questions| Box::new(questions) as Box<dyn Ask>);
        let after_failure = AfterFailure::new(ask, || {
            let rollback_cancel = CancellationToken::new();
            cancel_on_signal(&rollback_cancel);
            rollback_cancel
        });
        let (sink, events) = EventSink::channel();
        let (removal, _) = tokio::join!(
            session.recover(&outcome, sink, after_failure),
            print_all(&mut printer, events)
        );
        if let Some(removal) = removal {
            match removal {
                RemovalOutcome::NothingToRemove => {}
                RemovalOutcome::NoConsent(_) => eprintln!(
                    "Nothing was rolled back ({} without --auto-rollback). {}",
                    if options.non_interactive { "--non-interactive run" } else { "no terminal to ask" },
                    kept_advice(&target)
                ),
                RemovalOutcome::Declined(_) => eprintln!(
                    "Nothing was rolled back. {}",
                    kept_advice(&target)
                ),
                RemovalOutcome::Removed(report) if !report.is_complete() => eprintln!(
                    "Some resources are left in place. After fixing the cause, remove them with:\n  {}",
                    clean_advice(&target)
                ),
                RemovalOutcome::Removed(_) => {}
            }
        }
        Ok(outcome.exit_code.into())
    })
}

/// Print events produced outside the engine (the prerequisite check).
fn print_events(printer: &mut HeadlessPrinter<std::io::Stdout>, events: Vec<Event>) {
    for event in events {
        if let Err(err) = printer.handle(&event) {
            tracing::warn!("cannot write the progress lines: {err}");
            return;
        }
    }
}

/// Print every event until the channel closes.
async fn print_all(
    printer: &mut HeadlessPrinter<std::io::Stdout>,
    events: tokio::sync::mpsc::UnboundedReceiver<Event>,
) {
    if let Err(err) = printer.run(events).await {
        tracing::warn!("cannot write the progress lines: {err}");
    }
}

/// `--clean`: remove what the state file records as created by this tool, through the one
/// removal pipeline. `--dry-run` prints the plan and removes nothing. Consent is a terminal
/// answer or `--yes` (`--skip-confirmation`); without either nothing is removed (exit 64).
pub(crate) fn clean(
    cli: &Cli,
    env: &HashMap<String, String>,
    home: &Path,
    options: OutputOptions,
    skip_confirmation: bool,
) -> Result<Ending, UserError> {
    if let Some(state_file) = cli.state_file.as_deref().filter(|_| cli.demo) {
        // A demo run keeps its simulated world beside its state file (`X.demo/`) only when
        // it was given `--state-file`; a plain `--demo`'s world ended with its run. Opening
        // a new world here would remove nothing and leave an empty world to confuse later
        // runs.
        let world = crate::state::identity::demo_world_dir(state_file);
        let store = crate::state::StateStore::from_option(Some(state_file), home);
        // A real state, or an unreadable one, goes on to be refused by the usual checks.
        let a_demos_state = matches!(
            store.load_in(crate::state::InstallationWorld::Demo),
            Ok(Some(ref state)) if state.identity.is_some()
        );
        if a_demos_state && !world.is_dir() {
            super::print_stdout(&format!(
                "{} was written by a demo run whose simulated world ended with it (no {} beside it): nothing is left to clean.",
                state_file.display(),
                world.display()
            ));
            return Ok(ExitCode::Success.into());
        }
    }
    let target = RunTarget::new(cli, env, home)?;
    let _logging = super::start_logging_to(target.paths.log_file.clone(), options, false, None)?;
    if let Some(demo) = &target.demo {
        eprintln!("{}", demo.announcement());
    }
    let preview_only = cli.dry_run;
    let output = cli.output;
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let settings = printer_settings(cli, options, env, &target);
        let cleanup = Cleanup::open_with_token_for(target.runner.clone(), |host| token_from_env(env, host), &target.paths, target.installation_world())?;
        let Some(cleanup) = cleanup else {
            if preview_only && output == OutputFormat::Json {
                super::print_stdout(&RemovalPlan::new(RemovalPurpose::Clean, Vec::new()).to_json());
            } else {
                super::print_stdout(&format!(
                    "No bootstrap state found at {}: nothing to clean.",
                    target.paths.state_file.display()
                ));
            }
            return Ok(ExitCode::Success.into());
        };
        let cleanup = match clean_command_for(&target) {
            Some(command) => cleanup.with_clean_command(command),
            None => cleanup,
        };
        if preview_only {
            let plan = cleanup.removal().plan();
            super::print_stdout(&match output {
                OutputFormat::Json => plan.to_json(),
                OutputFormat::Text if plan.is_empty() => "Dry run: the state file records nothing created by kalypso-bootstrap that still exists: nothing to clean.".to_string(),
                OutputFormat::Text => format!("Dry run: nothing is removed.\n{}", plan.to_text()),
            });
            return Ok(Ending::planned(!plan.is_empty()));
        }
        // Asked only on a terminal (and not under --non-interactive: the session's rule).
        let ask = super::stdin_is_terminal()
            .then(|| Box::new(PromptAsk::new(terminal_prompts())) as Box<dyn Ask>);
        let cancel = CancellationToken::new();
        cancel_on_signal(&cancel);
        let mut printer = HeadlessPrinter::new(settings, std::io::stdout());
        let (sink, events) = EventSink::channel();
        let removal = Session::clean(&cleanup, skip_confirmation, options.non_interactive, ask, sink, &cancel);
        let (outcome, _) = tokio::join!(removal, print_all(&mut printer, events));
        match outcome {
            RemovalOutcome::NothingToRemove => {
                super::print_stdout("The state file records nothing created by kalypso-bootstrap that still exists: nothing to clean.");
                Ok(ExitCode::Success.into())
            }
            RemovalOutcome::Declined(_) => {
                eprintln!("Cancelled: nothing was removed.");
                Ok(ExitCode::Cancelled.into())
            }
            RemovalOutcome::NoConsent(plan) => Err(UserError::new(
                ExitCode::Usage,
                format!(
                    "--clean: nothing was removed: removing needs consent, and {} to ask. \
                     Pass --yes (or --skip-confirmation) to remove these, or run on a terminal to be asked; \
                     --dry-run shows the plan without removing.\n{}",
                    if options.non_interactive { "--non-interactive allows no question" } else { "there is no terminal" },
                    plan.to_text()
                ),
            )),
            RemovalOutcome::Removed(report) => {
                if report.is_complete() {
                    Ok(ExitCode::Success.into())
                } else {
                    eprintln!("Some resources are left in place. After fixing the cause, remove them with:\n  {}", clean_advice(&target));
                    Ok(ExitCode::General.into())
                }
            }
        }
    })
}

/// The exact `--clean` command for this run's state (and simulated world).
fn clean_command_of(target: &RunTarget) -> String {
    crate::engine::clean_command(&target.paths.state_file, target.demo.is_some())
}

/// The demo keeps no world a later run reaches (no `--state-file`): no command can clean it.
fn ephemeral_demo(target: &RunTarget) -> Option<&Demo> {
    target
        .demo
        .as_ref()
        .filter(|demo| !demo.kept_for_later_runs())
}

/// [`clean_command_of`], unless no command can reach this run's target.
pub(super) fn clean_command_for(target: &RunTarget) -> Option<String> {
    ephemeral_demo(target)
        .is_none()
        .then(|| clean_command_of(target))
}

/// The exact command and when it asks, unless no command can reach this run's target.
pub(super) fn clean_advice_for(target: &RunTarget) -> Option<String> {
    ephemeral_demo(target).is_none().then(|| {
        crate::engine::removal::clean_advice(&target.paths.state_file, target.demo.is_some())
    })
}

/// What to tell the user about removing this run's resources: the exact command, or, for a
/// demo without `--state-file` (whose simulated world no later run can reach), that there is
/// nothing real to remove.
fn clean_advice(target: &RunTarget) -> String {
    match nothing_to_clean_for(target) {
        Some(reason) => format!("nothing: {reason}"),
        None => {
            crate::engine::removal::clean_advice(&target.paths.state_file, target.demo.is_some())
        }
    }
}

/// After a failure whose resources are kept: how to resume (the exact command) and how to
/// remove them; for a demo that keeps no world, neither is possible, and it says so once.
pub(super) fn kept_advice(target: &RunTarget) -> String {
    let resume = &target.options.resume;
    match nothing_to_clean_for(target) {
        Some(reason) if !resume.possible() => format!("Nothing to resume or remove: {reason}."),
        _ => {
            let mut clause = resume.clause();
            if let Some(first) = clause.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!(
                "{clause}\nOr remove what this run created with:\n  {}",
                clean_advice(target)
            )
        }
    }
}

/// Why no command can remove this run's resources (a demo without `--state-file`), for
/// every front end that would otherwise print the clean command.
pub(super) fn nothing_to_clean_for(target: &RunTarget) -> Option<String> {
    ephemeral_demo(target).map(|demo| {
        format!(
            "this demo changed only its simulated world in {}, which no later run reuses (pass --state-file to keep one you can clean)",
            demo.root().display()
        )
    })
}

/// The headless terminal questions: "proceed?" after the plan's commands, and the removal
/// pipeline's, the resources listed; y/N.
struct PromptAsk {
    /// Lent to a blocking thread while it asks.
    prompts: Option<Box<dyn Prompts>>,
}

impl PromptAsk {
    fn new(prompts: Box<dyn Prompts>) -> Self {
        Self {
            prompts: Some(prompts),
        }
    }
}

impl Proceed for PromptAsk {
    fn proceed<'a>(&'a mut self, preview: &'a DryRun) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(prompts) = self.prompts.take() else {
                return false;
            };
            super::print_stderr(&preview.to_proceed_text());
            let (back, yes) = ask(prompts, |p| p.confirm_plan("Proceed? [y/N]")).await;
            self.prompts = Some(back);
            yes
        })
    }
}

impl Ask for PromptAsk {
    fn ask<'a>(&'a mut self, plan: &'a RemovalPlan) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(prompts) = self.prompts.take() else {
                return false;
            };
            let resources: Vec<String> = plan
                .descriptions()
                .iter()
                .map(|r| crate::state::in_human_words(r).into_owned())
                .collect();
            let purpose = plan.purpose();
            let (back, yes) = ask(prompts, move |p| match purpose {
                RemovalPurpose::Rollback => p.ask_rollback(&resources),
                RemovalPurpose::Clean => p.ask_clean(&resources),
            })
            .await;
            self.prompts = Some(back);
            yes
        })
    }
}
