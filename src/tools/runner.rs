//! The one way this program runs external commands.
//!
//! Every adapter (az, gh, git, kubectl, helm) builds a [`CommandSpec`] and hands it to an
//! injected [`CommandRunner`] (`Arc<dyn CommandRunner>`): the real [`ProcessRunner`] in
//! production, scripted fakes in tests and the simulated environment in demo mode.
//!
//! Guarantees of [`ProcessRunner`]:
//! - each child runs in its own session (so its own process group); on timeout, cancellation,
//!   when the leader exits, or when the future is dropped, the whole group is killed, so no
//!   grandchild outlives the command;
//! - a timeout always applies (the spec's own or the runner's default);
//! - secrets travel only by environment or stdin; an argv that contains a registered secret
//!   is refused before anything is spawned;
//! - output lines can be streamed to a sink as they arrive (redacted), besides being collected.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::secrets;

/// A boxed, sendable future: what the object-safe runner trait returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a command may run when its spec names no timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs external commands. Object safe: hold it as `Arc<dyn CommandRunner>`.
pub trait CommandRunner: Send + Sync {
    /// Run `spec` to completion. A non-zero exit is not an error here: it is reported in
    /// [`CommandOutput::exit_code`] for the adapter to interpret.
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>>;

    /// [`CommandRunner::run_with`] without streaming or cancellation.
    fn run(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        self.run_with(spec, RunControl::default())
    }
}

/// The tracing target of the line logged for every command run (see [`run_logged`]).
pub const COMMAND_LOG_TARGET: &str = "kalypso_bootstrap::command";

/// Run `spec` on `runner` and log it at DEBUG, one line per command:
/// `ran ["az","group","show",…] exit_code=0 duration_ms=12` (the argv as a JSON array, every
/// registered secret masked). Every adapter call goes through here, over the real
/// [`ProcessRunner`] and the simulated environment of `--demo` alike, so the log file
/// records each command that was actually executed (a polling query once per round).
pub async fn run_logged(
    runner: &dyn CommandRunner,
    spec: CommandSpec,
    control: RunControl,
) -> Result<CommandOutput, RunError> {
    let argv = spec.redacted_argv();
    let started = Instant::now();
    let result = runner.run_with(spec, control).await;
    log_command(&argv, &result, started.elapsed());
    result
}

fn log_command(argv: &[String], result: &Result<CommandOutput, RunError>, elapsed: Duration) {
    let argv = serde_json::to_string(argv).unwrap_or_else(|_| argv.join(" "));
    let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(output) => {
            let exit_code = match output.exit_code {
                Some(code) => code.to_string(),
                None => "signal".to_string(),
            };
            if output.success() {
                tracing::debug!(target: COMMAND_LOG_TARGET, exit_code = %exit_code, duration_ms, "ran {argv}");
            } else {
                // The whole error output, which the messages on screen condense.
                let stderr = crate::secrets::redact(output.stderr.trim());
                let stderr = bounded_for_log(&stderr);
                tracing::debug!(target: COMMAND_LOG_TARGET, exit_code = %exit_code, duration_ms, stderr = ?stderr, "ran {argv}");
            }
        }
        // Never started: nothing ran.
        Err(error @ (RunError::NotFound { .. } | RunError::SecretInArgv { .. })) => {
            tracing::debug!(target: COMMAND_LOG_TARGET, %error, "did not run {argv}");
        }
        Err(error) => {
            tracing::debug!(
                target: COMMAND_LOG_TARGET,
                exit_code = %"none",
                duration_ms,
                %error,
                "ran {argv}"
            );
        }
    }
}

/// Most of a failed command's stderr the log keeps (a tool may dump pages).
const LOGGED_STDERR_CHARS: usize = 8_000;

fn bounded_for_log(text: &str) -> String {
    match text.char_indices().nth(LOGGED_STDERR_CHARS) {
        Some((cut, _)) => format!("{}… (cut)", &text[..cut]),
        None => text.to_string(),
    }
}

/// A value for a child's environment variable.
#[derive(Clone, Debug)]
pub enum EnvValue {
    Plain(String),
    Secret(SecretString),
}

impl EnvValue {
    fn expose(&self) -> &str {
        match self {
            EnvValue::Plain(value) => value,
            EnvValue::Secret(value) => value.expose_secret(),
        }
    }
}

/// Bytes written to a child's stdin, then closed.
#[derive(Clone, Debug)]
pub enum StdinData {
    Plain(Vec<u8>),
    Secret(SecretSlice<u8>),
}

impl StdinData {
    fn expose(&self) -> &[u8] {
        match self {
            StdinData::Plain(bytes) => bytes,
            StdinData::Secret(bytes) => bytes.expose_secret(),
        }
    }
}

/// Everything needed to run one command. Build it with [`CommandSpec::new`] and the
/// chaining setters.
#[derive(Clone, Debug)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Variables added to (or overriding) the inherited environment.
    pub env: Vec<(String, EnvValue)>,
    /// Inherited variables the child must not see. Applied before `env`.
    pub env_remove: Vec<String>,
    /// Written to stdin, which is then closed. Without it stdin is `/dev/null`.
    pub stdin: Option<StdinData>,
    pub cwd: Option<PathBuf>,
    /// `None`: the runner's default.
    pub timeout: Option<Duration>,
    /// Stdout carries a secret (e.g. `gh auth token`): it is collected but never streamed.
    pub stdout_is_secret: bool,
    /// Hand the terminal to the child (stdin, stdout and stderr inherited, nothing captured,
    /// same process group so it can read the terminal). For `az login` and the like.
    pub inherit_terminal: bool,
    /// Variables of `env` that [`CommandSpec::display`] shows before the program, because
    /// the command does something else without them (gh's `GH_HOST` of an Enterprise
    /// Server). Never a secret.
    pub shown_env: Vec<String>,
}

impl CommandSpec {
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            stdin: None,
            cwd: None,
            timeout: None,
            stdout_is_secret: false,
            inherit_terminal: false,
            shown_env: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), EnvValue::Plain(value.into())));
        self
    }

    /// [`CommandSpec::env`], shown in [`CommandSpec::display`] as `NAME=VALUE` before the
    /// program, so that the command copied from the screen does the same.
    pub fn shown_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.shown_env.push(name.clone());
        self.env(name, value)
    }

    pub fn secret_env(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.env.push((name.into(), EnvValue::Secret(value)));
        self
    }

    pub fn env_remove(mut self, name: impl Into<String>) -> Self {
        self.env_remove.push(name.into());
        self
    }

    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(StdinData::Plain(bytes.into()));
        self
    }

    pub fn secret_stdin(mut self, bytes: SecretSlice<u8>) -> Self {
        self.stdin = Some(StdinData::Secret(bytes));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn secret_stdout(mut self) -> Self {
        self.stdout_is_secret = true;
        self
    }

    pub fn with_terminal(mut self) -> Self {
        self.inherit_terminal = true;
        self
    }

    /// Program followed by its arguments, exactly as they would be passed.
    pub fn argv(&self) -> Vec<&str> {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect()
    }

    /// The argv with every registered secret masked: for dry-run listings and JSON.
    pub fn redacted_argv(&self) -> Vec<String> {
        self.argv()
            .into_iter()
            .map(|part| secrets::redact(part).into_owned())
            .collect()
    }

    /// What the child reads on its standard input, as text with every registered secret
    /// masked: for dry-run listings. `None` when it reads nothing.
    pub fn redacted_stdin(&self) -> Option<String> {
        let text = String::from_utf8_lossy(self.stdin.as_ref()?.expose()).into_owned();
        Some(secrets::redact(&text).into_owned())
    }

    /// The command line as a shell would read it, quoted where needed and redacted:
    /// for dry-run output and log lines.
    /// The `NAME=VALUE` words of [`CommandSpec::shown_env`], as a shell reads them.
    pub fn shown_assignments(&self) -> Vec<String> {
        self.shown_env
            .iter()
            .filter_map(|shown| {
                // The last value of a variable is the one the child sees.
                self.env
                    .iter()
                    .rev()
                    .find(|(name, _)| name == shown)
                    .and_then(|(name, value)| match value {
                        EnvValue::Plain(value) => Some(format!("{name}={}", shell_quote(value))),
                        EnvValue::Secret(_) => None,
                    })
            })
            .collect()
    }

    pub fn display(&self) -> String {
        let line = self
            .shown_assignments()
            .into_iter()
            .chain(self.argv().into_iter().map(shell_quote))
            .collect::<Vec<_>>()
            .join(" ");
        secrets::redact(&line).into_owned()
    }

    /// Defence in depth: secrets belong in the environment or stdin, where other local
    /// users cannot read them (argv is world-readable in `ps`).
    pub fn ensure_no_secret_in_argv(&self) -> Result<(), RunError> {
        let leaks = self
            .argv()
            .into_iter()
            .any(|part| secrets::redact(part) != part);
        if leaks {
            return Err(RunError::SecretInArgv {
                command: self.display(),
            });
        }
        Ok(())
    }
}

fn shell_quote(part: &str) -> String {
    crate::text::shell_word(part)
}

/// What a finished command produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    /// `None` when the child was ended by a signal.
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Why a command could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`{program}` was not found on PATH")]
    NotFound { program: String },
    #[error("`{command}` did not finish within {} and was stopped", crate::text::format_duration(*after))]
    TimedOut { command: String, after: Duration },
    #[error("`{command}` was cancelled")]
    Cancelled { command: String },
    #[error(
        "refusing to run `{command}`: a secret appears in its arguments \
         (secrets must be passed by environment variable or stdin)"
    )]
    SecretInArgv { command: String },
    #[error("could not run `{command}`: {source}")]
    Io {
        command: String,
        #[source]
        source: io::Error,
    },
}

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a child's output, without its line ending, already redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: Stream,
    pub line: String,
}

/// Receives a command's output lines as they arrive, in order, called on the task that
/// reads the child. A slow receiver slows the reading and the child waits on its full pipe,
/// as it would writing to a slow terminal: however much a child prints, no line waits in
/// memory (and none is lost when the program ends right after the command).
#[derive(Clone)]
pub struct LineSink(Arc<dyn Fn(OutputLine) + Send + Sync>);

impl LineSink {
    pub fn new(receive: impl Fn(OutputLine) + Send + Sync + 'static) -> Self {
        Self(Arc::new(receive))
    }

    /// Lines into an unbounded channel, for a receiver on another task (tests): the
    /// receiver ends when every clone of the sink is gone.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<OutputLine>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let sink = Self::new(move |line| {
            // A closed receiver only means nobody watches any more.
            let _ = sender.send(line);
        });
        (sink, receiver)
    }

    pub fn send(&self, line: OutputLine) {
        (self.0)(line)
    }
}

impl std::fmt::Debug for LineSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineSink")
    }
}

/// How much of a child's stderr [`CommandOutput::stderr`] keeps (its start and its end,
/// half each): enough for any error message, bounded whatever a chatty child prints (every
/// line still goes to the sink, so to the log file). Stdout is kept whole: it is the
/// command's answer (JSON) and adapters parse all of it.
pub const STDERR_KEPT_BYTES: usize = 128 * 1024;

/// What is kept of one output stream: everything, or for a bounded capture everything up to
/// its limit, beyond which only the first and the last lines (half the limit each) are kept
/// around a line saying how much was left out. Fed line by line.
#[derive(Debug)]
pub struct OutputCapture {
    /// `None`: keep everything.
    half: Option<usize>,
    head: Vec<u8>,
    tail: std::collections::VecDeque<Vec<u8>>,
    tail_bytes: usize,
    left_out_lines: u64,
    left_out_bytes: u64,
}

impl OutputCapture {
    /// Keep every byte.
    pub fn whole() -> Self {
        Self::with_half(None)
    }

    /// Keep at most about `limit` bytes: the start and the end of the stream.
    pub fn bounded(limit: usize) -> Self {
        Self::with_half(Some((limit / 2).max(1)))
    }

    fn with_half(half: Option<usize>) -> Self {
        Self {
            half,
            head: Vec::new(),
            tail: std::collections::VecDeque::new(),
            tail_bytes: 0,
            left_out_lines: 0,
            left_out_bytes: 0,
        }
    }

    /// Add a line (with its line ending, if it had one).
    pub fn push_line(&mut self, line: &[u8]) {
        let Some(half) = self.half else {
            self.head.extend_from_slice(line);
            return;
        };
        if self.tail.is_empty() && self.head.len() + line.len() <= half {
            self.head.extend_from_slice(line);
            return;
        }
        // A single line longer than the tail's share is cut to it.
        let kept = &line[..line.len().min(half)];
        self.left_out_bytes += (line.len() - kept.len()) as u64;
        self.tail_bytes += kept.len();
        self.tail.push_back(kept.to_vec());
        while self.tail_bytes > half {
            let Some(oldest) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes -= oldest.len();
            self.left_out_lines += 1;
            self.left_out_bytes += oldest.len() as u64;
        }
    }

    /// Add text, line by line.
    pub fn push_text(&mut self, text: &str) {
        for line in text.split_inclusive('\n') {
            self.push_line(line.as_bytes());
        }
    }

    /// The stream as kept.
    pub fn finish(self) -> String {
        let mut kept = self.head;
        if self.left_out_lines > 0 || self.left_out_bytes > 0 {
            if !kept.is_empty() && !kept.ends_with(b"\n") {
                kept.push(b'\n');
            }
            let what = match self.left_out_lines {
                0 => format!("{} bytes", self.left_out_bytes),
                lines => format!(
                    "{} ({} bytes)",
                    crate::text::plural(usize::try_from(lines).unwrap_or(usize::MAX), "line"),
                    self.left_out_bytes
                ),
            };
            kept.extend_from_slice(format!("[… {what} of output left out here …]\n").as_bytes());
        }
        for line in self.tail {
            kept.extend_from_slice(&line);
        }
        String::from_utf8_lossy(&kept).into_owned()
    }
}

/// Optional extras for one run: streaming and cancellation.
#[derive(Clone, Debug, Default)]
pub struct RunControl {
    pub sink: Option<LineSink>,
    pub cancel: Option<CancellationToken>,
}

impl RunControl {
    pub fn with_sink(mut self, sink: LineSink) -> Self {
        self.sink = Some(sink);
        self
    }

    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }
}

/// The cancellation of a run: once cancelled, every run holding a clone (or a child token)
/// stops its child and returns [`RunError::Cancelled`]. tokio-util's token, re-exported so
/// callers name it through `tools` like the rest of the runner's API.
pub use tokio_util::sync::CancellationToken;

/// Runs real processes through tokio.
#[derive(Clone, Debug)]
pub struct ProcessRunner {
    default_timeout: Duration,
}

impl Default for ProcessRunner {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessRunner {
    pub fn new() -> Self {
        Self {
            default_timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn with_default_timeout(default_timeout: Duration) -> Self {
        Self { default_timeout }
    }

    pub fn default_timeout(&self) -> Duration {
        self.default_timeout
    }
}

impl CommandRunner for ProcessRunner {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(run_process(spec, control, self.default_timeout))
    }
}

/// Kills a whole process group when told to or when dropped (e.g. with the run's future).
struct ProcessGroupKiller {
    pgid: libc::pid_t,
}

impl ProcessGroupKiller {
    fn kill(&self) {
        // SAFETY: killpg has no memory-safety preconditions. The group was created by
        // setsid in our own child, so it holds only that child and its descendants; ESRCH
        // (group already gone) is the normal outcome after a clean exit.
        unsafe {
            libc::killpg(self.pgid, libc::SIGKILL);
        }
    }

    /// The group was already killed after its leader exited: do not signal the id again.
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for ProcessGroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn run_process(
    spec: CommandSpec,
    control: RunControl,
    default_timeout: Duration,
) -> Result<CommandOutput, RunError> {
    spec.ensure_no_secret_in_argv()?;
    let display = spec.display();
    let io_error = |source: io::Error| RunError::Io {
        command: display.clone(),
        source,
    };
    if let Some(dir) = &spec.cwd {
        // Checked first: a missing cwd would otherwise surface as "program not found".
        if !dir.is_dir() {
            return Err(io_error(io::Error::new(
                io::ErrorKind::NotFound,
                format!("working directory {} does not exist", dir.display()),
            )));
        }
    }

    // Nothing is started for a run that is already stopping.
    if control
        .cancel
        .as_ref()
        .is_some_and(CancellationToken::is_cancelled)
    {
        return Err(RunError::Cancelled { command: display });
    }
    let command = build_command(&spec);
    let started = Instant::now();
    let mut child = super::spawner::spawn(command).await.map_err(|err| {
        if err.kind() == io::ErrorKind::NotFound {
            RunError::NotFound {
                program: spec.program.clone(),
            }
        } else {
            io_error(err)
        }
    })?;
    let mut group = match (spec.inherit_terminal, child.id()) {
        (false, Some(pid)) => Some(ProcessGroupKiller {
            pgid: pid as libc::pid_t,
        }),
        _ => None,
    };

    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let stdout_sink = if spec.stdout_is_secret {
        None
    } else {
        control.sink.clone()
    };
    let timeout = spec.timeout.unwrap_or(default_timeout);

    let outcome = {
        let work = async {
            let wait_then_reap = async {
                let status = child.wait().await;
                // The leader is done: take any stragglers with it so the pipes close.
                if let Some(group) = &group {
                    group.kill();
                }
                status
            };
            let (status, out, err, ()) = tokio::join!(
                wait_then_reap,
                collect_lines(stdout, Stream::Stdout, stdout_sink, OutputCapture::whole()),
                collect_lines(
                    stderr,
                    Stream::Stderr,
                    control.sink.clone(),
                    OutputCapture::bounded(STDERR_KEPT_BYTES),
                ),
                feed_stdin(stdin, spec.stdin.as_ref()),
            );
            (status, out, err)
        };
        tokio::pin!(work);
        // Biased: a cancellation seen in the same poll as the child's end wins.
        tokio::select! {
            biased;
            _ = cancelled(control.cancel.as_ref()) => Err(RunError::Cancelled {
                command: display.clone(),
            }),
            _ = tokio::time::sleep(timeout) => Err(RunError::TimedOut {
                command: display.clone(),
                after: timeout,
            }),
            done = &mut work => Ok(done),
        }
    };

    match outcome {
        Ok((status, stdout, stderr)) => {
            if let Some(group) = group.take() {
                group.disarm();
            }
            let status = status.map_err(io_error)?;
            Ok(CommandOutput {
                exit_code: status.code(),
                stdout: stdout.map_err(io_error)?,
                stderr: stderr.map_err(io_error)?,
                duration: started.elapsed(),
            })
        }
        Err(stopped) => {
            if let Some(group) = &group {
                group.kill();
            }
            // Kill and reap the leader (needed when it shares our group: inherited terminal).
            let _ = child.kill().await;
            Err(stopped)
        }
    }
}

fn build_command(spec: &CommandSpec) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(&spec.program);
    command.args(&spec.args);
    for name in &spec.env_remove {
        command.env_remove(name);
    }
    for (name, value) in &spec.env {
        command.env(name, value.expose());
    }
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    command.kill_on_drop(true);
    if spec.inherit_terminal {
        command
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
    } else {
        command
            .stdin(if spec.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: the closure runs in the forked child before exec and calls only setsid,
        // which is async-signal-safe. A new session gives the child its own process group
        // (killable as a whole) and no controlling terminal (a tool cannot hang on a prompt).
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command
}

async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

async fn feed_stdin(stdin: Option<tokio::process::ChildStdin>, data: Option<&StdinData>) {
    let (Some(mut stdin), Some(data)) = (stdin, data) else {
        return;
    };
    // A child may exit without reading all its input; that is its business, not an error.
    let _ = stdin.write_all(data.expose()).await;
    let _ = stdin.shutdown().await;
}

async fn collect_lines<R>(
    reader: Option<R>,
    stream: Stream,
    sink: Option<LineSink>,
    mut capture: OutputCapture,
) -> io::Result<String>
where
    R: AsyncRead + Unpin,
{
    let Some(reader) = reader else {
        return Ok(String::new());
    };
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            break;
        }
        capture.push_line(&line);
        if let Some(sink) = &sink {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            sink.send(OutputLine {
                stream,
                line: secrets::redact(text).into_owned(),
            });
        }
    }
    Ok(capture.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers by its first argument: `fail` exits 3, `hang` times out, anything else
    /// succeeds; the program `missing` is not found.
    struct Scripted;

    impl CommandRunner for Scripted {
        fn run_with(
            &self,
            spec: CommandSpec,
            _control: RunControl,
        ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
            Box::pin(async move {
                let exit = |code| CommandOutput {
                    exit_code: Some(code),
                    stdout: String::new(),
                    stderr: String::new(),
                    duration: Duration::ZERO,
                };
                if spec.program == "missing" {
                    return Err(RunError::NotFound {
                        program: spec.program,
                    });
                }
                match spec.args.first().map(String::as_str) {
                    Some("fail") => Ok(exit(3)),
                    Some("hang") => Err(RunError::TimedOut {
                        command: spec.display(),
                        after: Duration::from_secs(1),
                    }),
                    _ => Ok(exit(0)),
                }
            })
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn every_command_run_is_one_debug_line_with_its_masked_argv_exit_code_and_duration() {
        if !crate::logging::alone_in_a_child("tools::runner::tests::every_command_run_is_one_debug_line_with_its_masked_argv_exit_code_and_duration") {
            return;
        }
        let secret = "s3cret-value-in-a-log-test-argv";
        secrets::register(secret);
        let captured = crate::logging::CapturedLog::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let runner = Scripted;
        for spec in [
            CommandSpec::new("tool").args(["ok", "--value", secret]),
            CommandSpec::new("tool").arg("fail"),
            CommandSpec::new("tool").arg("hang"),
            CommandSpec::new("missing").arg("x"),
        ] {
            let _ = run_logged(&runner, spec, RunControl::default()).await;
        }
        let text = captured.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines
                .iter()
                .all(|l| l.contains("DEBUG kalypso_bootstrap::command:")),
            "{text}"
        );
        assert!(
            lines[0].contains(r#"ran ["tool","ok","--value","***"] exit_code=0 duration_ms="#),
            "{text}"
        );
        assert!(!text.contains(secret), "{text}");
        assert!(
            lines[1].contains(r#"ran ["tool","fail"] exit_code=3 duration_ms="#),
            "{text}"
        );
        assert!(
            lines[2].contains(r#"ran ["tool","hang"] exit_code=none duration_ms="#),
            "{text}"
        );
        assert!(lines[2].contains("did not finish within"), "{text}");
        assert!(
            lines[3].contains(r#"did not run ["missing","x"] error="#),
            "{text}"
        );
    }

    #[test]
    fn a_bounded_capture_keeps_short_output_whole_and_the_ends_of_long_output() {
        let mut short = OutputCapture::bounded(64);
        short.push_text("one\ntwo\n");
        assert_eq!(short.finish(), "one\ntwo\n");

        let mut long = OutputCapture::bounded(40);
        for i in 0..1000 {
            long.push_line(format!("line {i:04}\n").as_bytes());
        }
        let kept = long.finish();
        assert!(kept.starts_with("line 0000\nline 0001\n"), "{kept}");
        assert!(kept.ends_with("line 0998\nline 0999\n"), "{kept}");
        assert!(
            kept.contains("[… 996 lines (9960 bytes) of output left out here …]"),
            "{kept}"
        );
        assert!(kept.len() < 120, "{kept}");

        let mut whole = OutputCapture::whole();
        for i in 0..1000 {
            whole.push_line(format!("line {i:04}\n").as_bytes());
        }
        assert_eq!(whole.finish().len(), 10_000);
    }

    #[test]
    fn one_huge_line_is_cut_to_the_tails_share() {
        let mut capture = OutputCapture::bounded(100);
        capture.push_line(b"start\n");
        capture.push_line(&[b'x'; 10_000]);
        let kept = capture.finish();
        assert!(
            kept.starts_with("start\n[… 9950 bytes of output left out"),
            "{kept}"
        );
        assert!(kept.ends_with(&"x".repeat(50)), "{kept}");
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let spec = CommandSpec::new("az").args(["group", "create", "--tags", "owner=me it's", ""]);
        assert_eq!(
            spec.display(),
            r"az group create --tags 'owner=me it'\''s' ''"
        );
    }

    #[test]
    fn argv_with_a_registered_secret_is_refused_and_displayed_masked() {
        let secret = "runner-unit-secret-5f2e9c";
        secrets::register(secret);
        let spec = CommandSpec::new("gh").args(["api", &format!("-Hauthorization: {secret}")]);
        let err = spec.ensure_no_secret_in_argv().unwrap_err();
        assert!(matches!(err, RunError::SecretInArgv { .. }));
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(spec.display().contains(secrets::MASK));
        assert!(spec.redacted_argv().iter().all(|a| !a.contains(secret)));
    }

    #[test]
    fn secret_env_and_stdin_are_not_in_debug_output() {
        let secret = "runner-unit-debug-secret-77aa";
        let spec = CommandSpec::new("gh")
            .secret_env("GH_TOKEN", SecretString::from(secret))
            .secret_stdin(SecretSlice::from(secret.as_bytes().to_vec()));
        assert!(!format!("{spec:?}").contains(secret));
        assert!(spec.ensure_no_secret_in_argv().is_ok());
    }

    #[tokio::test]
    async fn cancel_token_wakes_a_waiter_cancelled_later_and_one_cancelled_before() {
        let token = CancellationToken::new();
        let waiter = tokio::spawn({
            let token = token.clone();
            async move { token.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        token.cancel();
        // Hang guards only: a waiter that is never woken would wait forever.
        let hang_guard = Duration::from_secs(60);
        tokio::time::timeout(hang_guard, waiter)
            .await
            .expect("hang guard: the waiter was never woken")
            .unwrap();
        tokio::time::timeout(hang_guard, token.cancelled())
            .await
            .expect("hang guard: an already cancelled token never completed");
    }
}
