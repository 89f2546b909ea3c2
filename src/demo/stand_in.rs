//! Real child processes for simulated commands: the demo's runner that has a command's
//! answer written by a stand-in child through real pipes, read by the real
//! [`ProcessRunner`] (its line sink, its bounded stderr, its cancellation and timeout).
//!
//! The simulated command runs first, for its effect on the simulated world and its
//! latency; then a stand-in, `sh -c`, prints what it answered. Its stdin carries the
//! answer's stdout followed by its stderr: `head -c` copies exactly the stdout's bytes to
//! stdout (GNU `head` reads no further than it copies, also from a pipe), `seq` prints any
//! extra lines of a `KALYPSO_DEMO_CHATTER` rule on stderr, `cat` copies the rest (the
//! stderr) to stderr, and it exits with the answer's exit code. Through stdin any size and
//! any bytes pass (environment strings are bounded and cannot hold a NUL byte).
//! Commands with chatter always go through a stand-in; with `KALYPSO_DEMO_STAND_IN=all`
//! every simulated command does (`git` is a real child already).

use std::io;
use std::time::Duration;

use secrecy::SecretSlice;
use tokio::time::Instant;

use crate::secrets::{AZURE_SECRET_VARIABLES, GITHUB_TOKEN_VARIABLES};
use crate::sim::{chatter_seq_format, command_words, Chatter, SIMULATED_PROGRAMS};
use crate::tools::runner::{
    BoxFuture, CommandOutput, CommandRunner, CommandSpec, ProcessRunner, RunControl, RunError,
    DEFAULT_TIMEOUT,
};

/// The program every stand-in runs.
pub const STAND_IN_SHELL: &str = "sh";

/// The `seq -f` format of the chatter lines.
const CHATTER_VAR: &str = "KALYPSO_STAND_IN_CHATTER";

/// Which simulated commands a stand-in child answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandIn {
    /// Those with chatter only.
    Chatter,
    /// Every simulated command (`KALYPSO_DEMO_STAND_IN=all`).
    All,
}

/// A runner over a simulated one whose answers come from stand-in child processes.
pub struct StandInRunner {
    simulated: std::sync::Arc<dyn CommandRunner>,
    chatter: Chatter,
    stand_in: StandIn,
    children: ProcessRunner,
}

impl StandInRunner {
    pub fn new(
        simulated: std::sync::Arc<dyn CommandRunner>,
        chatter: Chatter,
        stand_in: StandIn,
    ) -> Self {
        Self {
            simulated,
            chatter,
            stand_in,
            children: ProcessRunner::new(),
        }
    }

    /// The program and command words of a command a stand-in answers, and its chatter.
    fn stands_in_for(&self, spec: &CommandSpec) -> Option<(Vec<String>, u64)> {
        if spec.inherit_terminal || !SIMULATED_PROGRAMS.contains(&spec.program.as_str()) {
            return None;
        }
        let mut words = vec![spec.program.clone()];
        words.extend(command_words(&spec.program, &spec.args));
        let lines = self.chatter.for_command(&words);
        (self.stand_in == StandIn::All || lines > 0).then_some((words, lines))
    }

    async fn run_standing_in(
        &self,
        spec: CommandSpec,
        control: RunControl,
        words: Vec<String>,
        lines: u64,
    ) -> Result<CommandOutput, RunError> {
        let started = Instant::now();
        let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
        // The stand-in prints the answer: nothing is streamed from the simulation itself.
        let quiet = RunControl {
            sink: None,
            cancel: control.cancel.clone(),
        };
        let answer = self.simulated.run_with(spec.clone(), quiet).await?;
        let display = spec.display();
        let child = stand_in_spec(&spec, &answer, &words, lines)
            .map_err(|source| RunError::Io {
                command: display.clone(),
                source,
            })?
            .timeout(timeout.saturating_sub(started.elapsed()));
        let mut output = self
            .children
            .run_with(child, control)
            .await
            .map_err(|error| as_the_commands(error, &display, timeout))?;
        output.duration = started.elapsed();
        Ok(output)
    }
}

impl CommandRunner for StandInRunner {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        match self.stands_in_for(&spec) {
            Some((words, lines)) => Box::pin(self.run_standing_in(spec, control, words, lines)),
            None => self.simulated.run_with(spec, control),
        }
    }
}

/// The stand-in of `spec`, printing `answer` and `lines` lines of chatter. Its argv holds
/// only fixed text and numbers; what it prints travels by stdin (a secret stdout stays
/// secret: secret stdin, never streamed). It inherits no secret of ours: it needs none.
fn stand_in_spec(
    spec: &CommandSpec,
    answer: &CommandOutput,
    words: &[String],
    lines: u64,
) -> io::Result<CommandSpec> {
    let exit = match answer.exit_code {
        Some(code @ 0..=255) => format!("exit {code}"),
        Some(code) => {
            return Err(io::Error::other(format!(
                "a stand-in child cannot exit with {code} (a process exits with 0 to 255)"
            )))
        }
        None => "kill -KILL $$".to_string(),
    };
    let mut script = Vec::new();
    if !answer.stdout.is_empty() {
        script.push(format!("head -c {}", answer.stdout.len()));
    }
    let mut child = CommandSpec::new(STAND_IN_SHELL);
    if lines > 0 {
        script.push(format!("seq -f \"${CHATTER_VAR}\" 0 {} >&2", lines - 1));
        child = child.env(CHATTER_VAR, chatter_seq_format(words));
    }
    if !answer.stderr.is_empty() {
        script.push("cat >&2".to_string());
    }
    script.push(exit);
    for name in GITHUB_TOKEN_VARIABLES
        .iter()
        .chain(AZURE_SECRET_VARIABLES.iter())
    {
        child = child.env_remove(*name);
    }
    child = child.args([
        "-c".to_string(),
        script.join("; "),
        "kalypso-stand-in".to_string(),
    ]);
    let mut stdin = Vec::with_capacity(answer.stdout.len() + answer.stderr.len());
    stdin.extend_from_slice(answer.stdout.as_bytes());
    stdin.extend_from_slice(answer.stderr.as_bytes());
    Ok(if spec.stdout_is_secret {
        child.secret_stdout().secret_stdin(SecretSlice::from(stdin))
    } else {
        child.stdin_bytes(stdin)
    })
}

/// An error of the stand-in as the simulated command's own: the caller ran that command.
fn as_the_commands(error: RunError, display: &str, timeout: Duration) -> RunError {
    let command = display.to_string();
    match error {
        RunError::TimedOut { .. } => RunError::TimedOut {
            command,
            after: timeout,
        },
        RunError::Cancelled { .. } => RunError::Cancelled { command },
        RunError::NotFound { program } => RunError::Io {
            command,
            source: io::Error::new(
                io::ErrorKind::NotFound,
                format!("its stand-in child `{program}` was not found on PATH"),
            ),
        },
        RunError::Io { source, .. } => RunError::Io {
            command,
            source: io::Error::new(source.kind(), format!("its stand-in child: {source}")),
        },
        secret @ RunError::SecretInArgv { .. } => secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_ins_argv_holds_no_output_and_a_secret_stdout_stays_secret() {
        let answer = CommandOutput {
            exit_code: Some(3),
            stdout: "token-like-stdout\n".to_string(),
            stderr: "ERROR: nope\n".to_string(),
            duration: Duration::ZERO,
        };
        let spec = CommandSpec::new("gh")
            .args(["auth", "token"])
            .secret_stdout();
        let words = vec!["gh".to_string(), "auth".to_string(), "token".to_string()];
        let child = stand_in_spec(&spec, &answer, &words, 2).expect("a stand-in");
        let argv = child.argv().join(" ");
        assert!(
            !argv.contains("token-like") && !argv.contains("nope"),
            "{argv}"
        );
        assert!(argv.ends_with("exit 3 kalypso-stand-in"), "{argv}");
        assert!(child.stdout_is_secret);
        assert!(matches!(
            child.stdin,
            Some(crate::tools::runner::StdinData::Secret(_))
        ));
    }

    #[test]
    fn the_stand_in_inherits_no_secret_variable() {
        let answer = CommandOutput {
            exit_code: Some(0),
            stdout: "{}\n".to_string(),
            stderr: String::new(),
            duration: Duration::ZERO,
        };
        let spec = CommandSpec::new("az").args(["account", "show"]);
        let words = vec!["az".to_string(), "account".to_string()];
        let child = stand_in_spec(&spec, &answer, &words, 1).expect("a stand-in");
        for name in GITHUB_TOKEN_VARIABLES
            .iter()
            .chain(AZURE_SECRET_VARIABLES.iter())
        {
            assert!(
                child.env_remove.iter().any(|removed| removed == name),
                "the stand-in inherits {name}: {:?}",
                child.env_remove
            );
            assert!(child.env.iter().all(|(set, _)| set != name));
        }
    }

    #[test]
    fn the_answer_travels_on_stdin_stdout_then_stderr_whatever_its_bytes() {
        let answer = CommandOutput {
            exit_code: Some(1),
            stdout: "out\n".to_string(),
            stderr: format!("{}\0end\n", "e".repeat(3 * 1024 * 1024)),
            duration: Duration::ZERO,
        };
        let spec = CommandSpec::new("kubectl").args(["get", "pods"]);
        let words = vec!["kubectl".to_string(), "get".to_string()];
        let child = stand_in_spec(&spec, &answer, &words, 0).expect("a stand-in");
        let Some(crate::tools::runner::StdinData::Plain(stdin)) = &child.stdin else {
            panic!("a plain stdin: {:?}", child.stdin);
        };
        assert_eq!(
            stdin.as_slice(),
            format!("{}{}", answer.stdout, answer.stderr).as_bytes()
        );
        assert!(child.env.is_empty(), "nothing printed goes by environment");
        let argv = child.argv().join(" ");
        assert!(argv.contains("head -c 4; cat >&2; exit 1"), "{argv}");
    }
}
