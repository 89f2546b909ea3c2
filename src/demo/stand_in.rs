//! Real child processes for simulated commands: the demo's runner that has a command's
//! answer written by a stand-in child through real pipes, read by the real
//! [`ProcessRunner`] (its line sink, its bounded stderr, its cancellation and timeout).
//!
//! The simulated command runs first, for its effect on the simulated world and its
//! latency; then a stand-in, `sh -c`, prints what it answered: its stdout (given on the
//! stand-in's stdin, `cat`), any extra lines of a `KALYPSO_DEMO_CHATTER` rule on stderr
//! (`seq`), its stderr (`printf` of environment variables), and exits with its exit code.
//! Commands with chatter always go through a stand-in; with `KALYPSO_DEMO_STAND_IN=all`
//! every simulated command does (`git` is a real child already).

use std::io;
use std::time::Duration;

use secrecy::SecretSlice;
use tokio::time::Instant;

use crate::sim::{chatter_seq_format, command_words, Chatter, SIMULATED_PROGRAMS};
use crate::tools::runner::{
    BoxFuture, CommandOutput, CommandRunner, CommandSpec, ProcessRunner, RunControl, RunError,
    DEFAULT_TIMEOUT,
};

/// The program every stand-in runs.
pub const STAND_IN_SHELL: &str = "sh";

/// The variables that carry the simulated stderr to the stand-in, numbered from 0: one
/// environment string may not exceed 128 KiB on Linux, so a long stderr is split.
const STDERR_VAR: &str = "KALYPSO_STAND_IN_STDERR_";
/// Most bytes of stderr in one variable.
const STDERR_CHUNK_BYTES: usize = 64 * 1024;
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
/// only fixed text and numbers; what it prints travels by stdin and environment (a
/// secret stdout stays secret: secret stdin, never streamed).
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
    let mut script = vec!["cat".to_string()];
    let mut child = CommandSpec::new(STAND_IN_SHELL);
    if lines > 0 {
        script.push(format!("seq -f \"${CHATTER_VAR}\" 0 {} >&2", lines - 1));
        child = child.env(CHATTER_VAR, chatter_seq_format(words));
    }
    let chunks = chunks(&answer.stderr, STDERR_CHUNK_BYTES);
    if !chunks.is_empty() {
        let names: Vec<String> = (0..chunks.len())
            .map(|i| format!("{STDERR_VAR}{i}"))
            .collect();
        let words: Vec<String> = names.iter().map(|name| format!("\"${name}\"")).collect();
        script.push(format!("printf '%s' {} >&2", words.join(" ")));
        for (name, chunk) in names.into_iter().zip(chunks) {
            child = child.env(name, chunk);
        }
    }
    script.push(exit);
    child = child.args([
        "-c".to_string(),
        script.join("; "),
        "kalypso-stand-in".to_string(),
    ]);
    let stdout = answer.stdout.as_bytes().to_vec();
    Ok(if spec.stdout_is_secret {
        child
            .secret_stdout()
            .secret_stdin(SecretSlice::from(stdout))
    } else {
        child.stdin_bytes(stdout)
    })
}

/// `text` in pieces of at most `most` bytes, cut between characters.
fn chunks(text: &str, most: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(most);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, after) = rest.split_at(cut);
        pieces.push(piece);
        rest = after;
    }
    pieces
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
    fn a_long_stderr_is_cut_between_characters() {
        let text = "é".repeat(10);
        let pieces = chunks(&text, 5);
        assert_eq!(pieces.concat(), text);
        assert!(pieces
            .iter()
            .all(|piece| piece.len() <= 5 && !piece.is_empty()));
        assert!(chunks("", 5).is_empty());
    }

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
}
