//! How the checks talk to the user when a run is interactive: a hidden prompt for a token,
//! a yes/no question, and handing the terminal to a command (`az login`).
//!
//! Both are traits so the TUI can supply its own (suspend, hand over, resume) and tests can
//! script them. [`TerminalPrompter`] and [`InheritedTerminal`] are the plain-terminal ones.

use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::Arc;

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use secrecy::zeroize::Zeroize;
use secrecy::SecretString;

use crate::tools::runner::{BoxFuture, CommandOutput, CommandRunner, CommandSpec, RunError};

/// Why a prompt got no answer.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cancelled by the user")]
    Cancelled,
    #[error("could not read from the terminal: {0}")]
    Io(#[from] io::Error),
}

/// Asks the user things.
pub trait Prompter: Send + Sync {
    /// Ask for a secret without echoing it. `Ok(None)`: the user entered nothing.
    fn ask_secret<'a>(
        &'a self,
        prompt: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, PromptError>>;

    /// A yes/no question; `default` is the answer to a bare Enter.
    fn confirm<'a>(
        &'a self,
        question: &'a str,
        default: bool,
    ) -> BoxFuture<'a, Result<bool, PromptError>>;
}

/// Runs a command that needs the user's terminal (stdin, stdout, stderr inherited).
/// A TUI implementation leaves its screen first and restores it afterwards.
pub trait TerminalHandover: Send + Sync {
    fn run_in_terminal(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutput, RunError>>;
}

/// Whether the checks may ask the user, and how.
#[derive(Clone)]
pub enum Interaction {
    /// Nothing is asked: missing credentials are failures with a hint.
    NonInteractive,
    Interactive {
        prompter: Arc<dyn Prompter>,
        terminal: Arc<dyn TerminalHandover>,
    },
}

impl Interaction {
    /// Interactive on the plain terminal: prompts on stderr/stdin, commands inherit the
    /// terminal and run through `runner`.
    pub fn terminal(runner: Arc<dyn CommandRunner>) -> Self {
        Interaction::Interactive {
            prompter: Arc::new(TerminalPrompter),
            terminal: Arc::new(InheritedTerminal::new(runner)),
        }
    }

    pub fn is_interactive(&self) -> bool {
        matches!(self, Interaction::Interactive { .. })
    }
}

/// Hands the terminal over simply by running the command with inherited stdio.
pub struct InheritedTerminal {
    runner: Arc<dyn CommandRunner>,
}

impl InheritedTerminal {
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self { runner }
    }
}

impl TerminalHandover for InheritedTerminal {
    fn run_in_terminal(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(crate::tools::runner::run_logged(
            self.runner.as_ref(),
            spec.with_terminal(),
            crate::tools::RunControl::default(),
        ))
    }
}

/// Prompts on stderr and reads the terminal in raw mode, so nothing is echoed and Ctrl+C
/// or Esc cancel the prompt instead of killing the program with echo left off. When stdin
/// is not a terminal, a line is read from it (nothing is echoed there anyway).
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn ask_secret<'a>(
        &'a self,
        prompt: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, PromptError>> {
        let prompt = prompt.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || read_secret(&prompt))
                .await
                .map_err(|e| PromptError::Io(io::Error::other(e)))?
        })
    }

    fn confirm<'a>(
        &'a self,
        question: &'a str,
        default: bool,
    ) -> BoxFuture<'a, Result<bool, PromptError>> {
        let question = question.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || read_confirmation(&question, default))
                .await
                .map_err(|e| PromptError::Io(io::Error::other(e)))?
        })
    }
}

/// Raw mode for as long as it lives.
struct RawMode;

impl RawMode {
    fn enable() -> io::Result<Self> {
        terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

/// A key the prompts understand.
enum Key {
    Char(char),
    Enter,
    Backspace,
    Cancel,
    EndOfInput,
}

fn next_key() -> io::Result<Option<Key>> {
    let Event::Key(key) = event::read()? else {
        return Ok(None);
    };
    if key.kind != KeyEventKind::Press {
        return Ok(None);
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Ok(match key.code {
        KeyCode::Char('c') if ctrl => Some(Key::Cancel),
        KeyCode::Char('d') if ctrl => Some(Key::EndOfInput),
        KeyCode::Char(c) if !ctrl => Some(Key::Char(c)),
        KeyCode::Enter => Some(Key::Enter),
        KeyCode::Backspace => Some(Key::Backspace),
        KeyCode::Esc => Some(Key::Cancel),
        _ => None,
    })
}

fn read_secret(prompt: &str) -> Result<Option<SecretString>, PromptError> {
    let mut stderr = io::stderr();
    write!(stderr, "{prompt}")?;
    stderr.flush()?;
    let mut entered = String::new();
    if io::stdin().is_terminal() {
        let outcome = {
            let _raw = RawMode::enable()?;
            loop {
                match next_key()? {
                    Some(Key::Char(c)) => entered.push(c),
                    Some(Key::Backspace) => {
                        entered.pop();
                    }
                    Some(Key::Enter) | Some(Key::EndOfInput) => break Ok(()),
                    Some(Key::Cancel) => break Err(PromptError::Cancelled),
                    None => {}
                }
            }
        };
        writeln!(stderr)?;
        if let Err(cancelled) = outcome {
            entered.zeroize();
            return Err(cancelled);
        }
    } else {
        let read = io::stdin().lock().read_line(&mut entered)?;
        // Piped input is not echoed either: end the prompt's line ourselves.
        writeln!(stderr)?;
        if read == 0 {
            return Ok(None);
        }
    }
    let token = entered.trim().to_string();
    entered.zeroize();
    Ok((!token.is_empty()).then(|| SecretString::from(token)))
}

fn read_confirmation(question: &str, default: bool) -> Result<bool, PromptError> {
    let mut stderr = io::stderr();
    let choices = if default { "[Y/n]" } else { "[y/N]" };
    write!(stderr, "{question} {choices} ")?;
    stderr.flush()?;
    if io::stdin().is_terminal() {
        let answer = {
            let _raw = RawMode::enable()?;
            loop {
                match next_key()? {
                    Some(Key::Char('y' | 'Y')) => break Ok(true),
                    Some(Key::Char('n' | 'N')) => break Ok(false),
                    Some(Key::Enter) => break Ok(default),
                    Some(Key::Cancel) | Some(Key::EndOfInput) => break Err(PromptError::Cancelled),
                    _ => {}
                }
            }
        };
        writeln!(
            stderr,
            "{}",
            if matches!(answer, Ok(true)) {
                "yes"
            } else {
                "no"
            }
        )?;
        return answer;
    }
    let mut line = String::new();
    if io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(PromptError::Cancelled);
    }
    Ok(match line.trim().to_ascii_lowercase().as_str() {
        "" => default,
        "y" | "yes" => true,
        _ => false,
    })
}
