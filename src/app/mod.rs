//! Chooses what to do for a parsed command line and maps every outcome to an exit code.
//! Data flows one way: command line + environment + file → validated configuration →
//! the chosen front end.

mod run;
mod wizard;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{Cli, OutputFormat};
use crate::config::{self, Configuration};
use crate::exit::DetailedExitCode;
use crate::headless::{self, FrontEnd, TerminalFacts};
use crate::logging::{self, LoggingGuard, LoggingSettings};
use crate::prereq::{self, Interaction};
use crate::state::{self, StateStore};
use crate::templates;
use crate::tools::ProcessRunner;
use crate::{secrets, ExitCode, UserError};

/// Variables whose values are secrets wherever they come from: every variable gh and git
/// read a GitHub token from (the enterprise ones are our token source for an Enterprise
/// Server host).
const SECRET_VARIABLES: &[&str] = &secrets::GITHUB_TOKEN_VARIABLES;

/// How a run ended: its exit code and, for a dry run that planned, whether the plan would
/// change anything (what `--detailed-exitcode` reports).
pub(crate) struct Ending {
    code: ExitCode,
    plan_changes: Option<bool>,
}

impl Ending {
    /// A dry run that printed its plan.
    pub(crate) fn planned(changes: bool) -> Self {
        Ending {
            code: ExitCode::Success,
            plan_changes: Some(changes),
        }
    }
}

impl From<ExitCode> for Ending {
    fn from(code: ExitCode) -> Self {
        Ending {
            code,
            plan_changes: None,
        }
    }
}

/// The process's exit status: the documented [`ExitCode`], or with `--detailed-exitcode`
/// terraform's 0/1/2 ([`DetailedExitCode`]).
pub fn run(cli: Cli) -> std::process::ExitCode {
    let ending = run_to_end(&cli);
    if cli.detailed_exitcode {
        DetailedExitCode::of(ending.code, ending.plan_changes).into()
    } else {
        ending.code.into()
    }
}

fn run_to_end(cli: &Cli) -> Ending {
    let env = config::env::snapshot();
    for name in SECRET_VARIABLES {
        if let Some(value) = env.get(*name) {
            secrets::register(value);
        }
        // Read once (the snapshot above); children that need the token get it explicitly
        // (`gh`, and git through gh's credential helper), no other child inherits it.
        // Still single-threaded here: nothing else reads the environment concurrently.
        std::env::remove_var(name);
    }
    // Never read by us and inherited by the tools that may use them: only registered, so
    // whatever echoes them is masked.
    for name in secrets::AZURE_SECRET_VARIABLES {
        if let Some(value) = env.get(name) {
            secrets::register(value);
        }
    }
    install_panic_hook();
    match dispatch(cli, &env) {
        Ok(ending) => ending,
        Err(failure) => {
            print_stderr(&failure.with_hint_below().to_string());
            failure.exit_code.into()
        }
    }
}

fn dispatch(cli: &Cli, env: &HashMap<String, String>) -> Result<Ending, UserError> {
    if let Some(topic) = &cli.explain {
        return explain(topic).map(Ending::from);
    }
    if cli.demo {
        crate::demo::check_available()?;
    }
    let home = home_dir(env)?;
    if cli.status {
        return show_status(cli, env, &home).map(Ending::from);
    }

    // An unusable kubeconfig matters only for an existing context, where its error says why.
    let (mut contexts, kubeconfig_problem) = match config::kubeconfig::contexts_from_env(env) {
        Ok(contexts) => (contexts, None),
        Err(problem) => (Vec::new(), Some(problem)),
    };
    if cli.demo
        && !contexts
            .iter()
            .any(|c| c == crate::demo::DEMO_EXISTING_CONTEXT)
    {
        // The simulated world's own kind cluster (made when a run names it).
        contexts.push(crate::demo::DEMO_EXISTING_CONTEXT.to_string());
    }
    let mut parsed = config::lifecycle::Uninitialized::new().parse(
        cli.to_layer(),
        cli.config.as_deref(),
        env,
    )?;
    let options = OutputOptions::from_layer(&parsed.merged().values);

    if cli.clean {
        // Cleaning needs only the state file, not a complete configuration.
        let skip_confirmation = parsed.merged().values.options.skip_confirmation == Some(true);
        return run::clean(cli, env, &home, options, skip_confirmation);
    }
    if cli.demo && parsed.merged().values.cluster.name.is_none() {
        let mut answers = config::ConfigLayer::default();
        answers.cluster.name = Some(crate::demo::CLUSTER_NAME.to_string());
        // The demo's default, not an answer: nobody typed it.
        parsed = parsed.with_defaults(answers);
    }
    let validation = parsed
        .validate(&contexts)
        .map_err(|errors| errors.with_kubeconfig_problem(kubeconfig_problem.as_ref()));

    if cli.validate_only {
        // The prerequisite check needs no cluster or repository names; any other
        // configuration problem still stops here.
        if let Err(errors) = &validation {
            if !errors.only_missing() {
                return Err(errors.into());
            }
        }
        let _logging = start_logging(cli, &home, options)?;
        let azure = prereq::AzureUse::of(match &validation {
            Ok(validated) => validated.configuration().involves_azure(),
            // Names may be missing here: what `cluster.create` says is enough.
            Err(_) => {
                config::configuration::cluster_involves_azure(parsed.merged().values.cluster.create)
            }
        });
        // The token is checked on the GitHub host the configuration names (valid: a bad
        // one stopped above).
        let github_host = parsed
            .merged()
            .values
            .repositories
            .github_host
            .as_deref()
            .and_then(|host| config::GitHubHost::parse(host).ok())
            .unwrap_or_default();
        // Flux comes from github.com unless a manifest is given or nothing is installed.
        let installation = &parsed.merged().values.installation;
        let flux_from_github_com =
            installation.flux_manifest.is_none() && installation.skip_install != Some(true);
        return check_prerequisites(
            cli,
            env,
            &home,
            options,
            (azure, flux_from_github_com),
            &github_host,
        )
        .map(Ending::from);
    }

    let front_end = headless::choose_front_end(cli.no_tui, cli.output, &TerminalFacts::detect(env));
    let plain_bootstrap =
        !cli.dry_run && cli.export_config.is_none() && cli.render_templates.is_none();
    if front_end == FrontEnd::Tui && plain_bootstrap {
        // The wizard's forms collect missing values; any other problem stops here, before
        // the screen is taken over. Non-interactive runs have nobody to fill the forms in.
        if let Err(errors) = &validation {
            if !errors.only_missing() || options.non_interactive {
                return Err(errors.into());
            }
        }
        return wizard::run_wizard(cli, env, &home, parsed, options).map(Ending::from);
    }

    let validated = validation?;
    if let Some(path) = &cli.export_config {
        let yaml = validated
            .export_yaml()
            .map_err(|err| UserError::new(ExitCode::General, format!("--export-config: {err}")))?;
        return export_config(path, &yaml, cli.force).map(Ending::from);
    }
    if let Some(dir) = &cli.render_templates {
        return render_templates(validated.configuration(), dir).map(Ending::from);
    }
    run::bootstrap(cli, env, &home, validated, options)
}

/// `--explain TOPIC` prints the topic; `--explain` alone lists them; an unknown topic is a
/// usage error (exit 64) naming the value and the valid topics.
fn explain(topic: &str) -> Result<ExitCode, UserError> {
    use crate::troubleshooting::explain;
    if topic.trim().is_empty() {
        print_stdout(&explain::list());
        return Ok(ExitCode::Success);
    }
    let text = explain::explain(topic).map_err(|err| UserError::new(ExitCode::Usage, err))?;
    print_stdout(&text);
    Ok(ExitCode::Success)
}

/// The options that shape output and prompting, known even before validation succeeds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutputOptions {
    non_interactive: bool,
    verbosity: logging::Verbosity,
    no_color: bool,
}

impl OutputOptions {
    fn from_layer(values: &config::ConfigLayer) -> Self {
        let options = &values.options;
        let set = |flag: Option<bool>| flag.unwrap_or(false);
        Self {
            non_interactive: set(options.non_interactive),
            verbosity: logging::Verbosity::from_flags(set(options.quiet), set(options.verbose)),
            no_color: set(options.no_color),
        }
    }
}

fn home_dir(env: &HashMap<String, String>) -> Result<PathBuf, UserError> {
    env.get("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            UserError::new(
                ExitCode::General,
                "HOME is not set: it is needed for the default state and log files \
                 (or pass --state-file and --log-file)",
            )
        })
}

fn show_status(
    cli: &Cli,
    env: &HashMap<String, String>,
    home: &Path,
) -> Result<ExitCode, UserError> {
    // `--demo` without `--state-file`: the most recent demo run's state under $TMPDIR.
    let demo_state = match (cli.demo, &cli.state_file) {
        (true, None) => match crate::demo::latest_demo_state(env) {
            Some(state) => Some(state),
            None if cli.output == OutputFormat::Json => {
                let base = crate::demo::demo_base_dir(env);
                print_stdout(&state::status::render_absent_json(&base));
                return Ok(ExitCode::Success);
            }
            None => {
                print_stdout(&format!(
                    "No demo state found: no {dir}*/{file} under {base}. A demo run without \
                     --state-file keeps its state in a new {dir}* directory there (its path is \
                     printed as the run starts); show one with: kalypso-bootstrap --demo \
                     --status --state-file <that directory>/{file}",
                    dir = crate::demo::DEMO_DIR_PREFIX,
                    file = crate::demo::DEMO_STATE_FILE,
                    base = crate::demo::demo_base_dir(env).display(),
                ));
                return Ok(ExitCode::Success);
            }
        },
        _ => None,
    };
    let state_file = demo_state.as_deref().or(cli.state_file.as_deref());
    let store = StateStore::from_option(state_file, home);
    // A `--demo` state is shown only with --demo, a real one only without it.
    let loaded = store.load_in(state::InstallationWorld::of_demo_flag(cli.demo))?;
    let format = match cli.output {
        OutputFormat::Text => state::status::StatusFormat::Text,
        OutputFormat::Json => state::status::StatusFormat::Json,
    };
    let text = state::status::render_status(loaded.as_ref(), store.path(), format);
    print_stdout(&text);
    Ok(ExitCode::Success)
}

/// `--export-config FILE`: `-` is stdout. A new file is created (never through a symlink:
/// `O_EXCL` does not follow one); an existing regular file is replaced only with `--force`,
/// by a rename (so nothing is written through a link); a symlink or a special file (a FIFO
/// would hang the write) is refused either way.
fn export_config(path: &Path, yaml: &str, force: bool) -> Result<ExitCode, UserError> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(yaml.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|err| {
                UserError::new(
                    ExitCode::General,
                    format!("--export-config -: cannot write to standard output: {err}"),
                )
            })?;
        return Ok(ExitCode::Success);
    }
    let refuse = |rule: &str| {
        UserError::new(
            ExitCode::General,
            format!("--export-config {}: {rule}", path.display()),
        )
    };
    let cannot_write = |err: std::io::Error| {
        UserError::new(
            ExitCode::General,
            format!("--export-config: cannot write {}: {err}", path.display()),
        )
    };
    match std::fs::symlink_metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|err| match err.kind() {
                    std::io::ErrorKind::AlreadyExists => {
                        refuse("it appeared while writing; nothing was written")
                    }
                    _ => cannot_write(err),
                })?;
            file.write_all(yaml.as_bytes()).map_err(cannot_write)?;
        }
        Err(err) => return Err(cannot_write(err)),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(refuse(
                "is a symbolic link; the configuration is never written through one",
            ))
        }
        Ok(meta) if !meta.is_file() => {
            return Err(refuse(
                "exists and is not a regular file; write the configuration to a regular file, or to - for standard output",
            ))
        }
        Ok(_) if !force => {
            return Err(refuse(
                "exists; pass --force to replace it, or choose another file (- for standard output)",
            ))
        }
        Ok(_) => {
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            let mut temp = tempfile::Builder::new()
                .prefix(".kalypso-export-")
                .tempfile_in(dir)
                .map_err(cannot_write)?;
            temp.write_all(yaml.as_bytes()).map_err(cannot_write)?;
            temp.persist(path).map_err(|err| cannot_write(err.error))?;
        }
    }
    eprintln!("Effective configuration written to {}", path.display());
    Ok(ExitCode::Success)
}

fn render_templates(configuration: &Configuration, dir: &Path) -> Result<ExitCode, UserError> {
    // Offline, the owner of a new repository is only known from --github-org.
    let owner = configuration.repositories.github_org.as_deref();
    let context =
        crate::engine::steps::template_context(configuration, owner).map_err(|message| {
            UserError::new(
                ExitCode::ConfigInvalid,
                format!("--render-templates: repositories.githubOrg: {message}"),
            )
        })?;
    let branch_dirs = templates::render(&context)
        .and_then(|rendered| rendered.write_rendered(dir))
        .map_err(|err| UserError::new(err.exit_code(), format!("--render-templates: {err}")))?;
    for branch_dir in branch_dirs {
        eprintln!("Rendered {}", branch_dir.display());
    }
    Ok(ExitCode::Success)
}

fn start_logging(
    cli: &Cli,
    home: &Path,
    options: OutputOptions,
) -> Result<LoggingGuard, UserError> {
    let log_file = cli
        .log_file
        .clone()
        .unwrap_or_else(|| logging::default_log_path(home, time::OffsetDateTime::now_utc()));
    start_logging_to(Some(log_file), options, true, None)
}

/// Logging into `log_file`; the console copy only when no front end shows progress itself;
/// records for the wizard's log tail into `tap`.
pub(crate) fn start_logging_to(
    log_file: Option<PathBuf>,
    options: OutputOptions,
    console: bool,
    tap: Option<tokio::sync::mpsc::Sender<logging::LogRecord>>,
) -> Result<LoggingGuard, UserError> {
    let mut settings = LoggingSettings::new(log_file, options.verbosity);
    // `options.no_color` already includes a non-empty NO_COLOR (config's environment layer).
    settings.color = crate::color::stream_wants_color(options.no_color, &std::io::stderr());
    if !console {
        settings.console = logging::ConsoleOutput::Off;
    }
    settings.tap = tap;
    logging::init(settings).map_err(|err| match err {
        logging::LoggingError::Refused { .. } => {
            UserError::new(ExitCode::General, format!("--log-file: {err}"))
        }
        err => UserError::new(ExitCode::General, err.to_string()),
    })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, UserError> {
    tokio::runtime::Runtime::new().map_err(|err| {
        UserError::new(
            ExitCode::General,
            format!("cannot start the runtime: {err}"),
        )
    })
}

fn check_prerequisites(
    cli: &Cli,
    env: &HashMap<String, String>,
    home: &Path,
    options: OutputOptions,
    (azure, flux_from_github_com): (prereq::AzureUse, bool),
    github_host: &config::GitHubHost,
) -> Result<ExitCode, UserError> {
    let runtime = runtime()?;
    // `--demo` checks what a demo run uses: the simulated tools and sign-ins, not this
    // machine's.
    let runner: Arc<dyn crate::tools::CommandRunner> = if cli.demo {
        let target = run::RunTarget::new(cli, env, home)?;
        if let Some(demo) = &target.demo {
            demo.serve_github_on(github_host);
            eprintln!("{}", demo.announcement());
        }
        target.runner
    } else {
        Arc::new(ProcessRunner::new())
    };
    let interaction = if options.non_interactive || !stdin_is_terminal() {
        Interaction::NonInteractive
    } else {
        Interaction::terminal(runner.clone())
    };
    let prereq_env = run::prereq_env(env)
        .with_azure(azure)
        .with_github_host(github_host.clone())
        .with_flux_manifest_from_github_com(flux_from_github_com);
    let report = runtime.block_on(prereq::check(runner, &prereq_env, &interaction));
    // The whole report in the log file (the console shows it below, on stdout).
    tracing::debug!("prerequisites:\n{}", report.render_text());
    match cli.output {
        OutputFormat::Json => print_stdout(
            &serde_json::to_string(&report)
                .unwrap_or_else(|err| format!("{{\"error\":\"{err}\"}}")),
        ),
        OutputFormat::Text => print_stdout(&report.render_text()),
    }
    Ok(report.exit_code())
}

pub(crate) fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

/// A text for the user on stdout: secrets masked, control characters shown, not obeyed
/// (the text carries names and messages from outside; it has no styling of its own).
pub(crate) fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", shown(text.trim_end()));
}

/// As [`print_stdout`], on stderr.
pub(crate) fn print_stderr(text: &str) {
    eprintln!("{}", shown(text));
}

fn shown(text: &str) -> String {
    crate::text::escape_controls(&secrets::redact(text)).into_owned()
}

/// color-eyre's report hook for errors, and a panic hook that never prints a secret.
/// Public for the tests that provoke a panic in a child process and read its output.
pub fn install_panic_hook() {
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "kalypso-bootstrap crashed: {}{location}\nPlease report this with the log file.",
            shown(&payload)
        );
    }));
}
