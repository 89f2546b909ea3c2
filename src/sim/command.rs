//! What every simulated tool shares: the call as the child would see it, the parsed command,
//! the handler context, and subcommand lookup for cobra-style tools.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tokio::time::Instant;

use super::args::{self, ArgError, Flag, ParsedArgs, Style};
use super::world::{Paths, World};

/// A call as the child process would see it.
pub(crate) struct Invocation {
    pub program: String,
    /// The child's environment: the modelled parent environment, minus removals, plus the
    /// spec's variables (secret values included: this is the far side of the pipe).
    pub env: BTreeMap<String, String>,
    pub stdin: Option<Vec<u8>>,
    pub cwd: Option<PathBuf>,
}

impl Invocation {
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A path argument as the child would resolve it (relative to its working directory).
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        match (&self.cwd, path.is_relative()) {
            (Some(cwd), true) => cwd.join(path),
            _ => path.to_path_buf(),
        }
    }
}

/// A parsed command: its subcommand path and its flags and positional arguments.
#[derive(Clone, Debug)]
pub(crate) struct ToolCommand {
    pub path: Vec<String>,
    pub flags: ParsedArgs,
}

impl ToolCommand {
    /// Subcommand path followed by positional arguments: what fault rules and latency
    /// profiles match on.
    pub fn words(&self) -> Vec<String> {
        self.path
            .iter()
            .chain(self.flags.positionals.iter())
            .cloned()
            .collect()
    }

    pub fn path_is(&self, path: &[&str]) -> bool {
        self.path
            .iter()
            .map(String::as_str)
            .eq(path.iter().copied())
    }

    pub fn arg(&self, index: usize) -> Option<&str> {
        self.flags.positionals.get(index).map(String::as_str)
    }

    pub fn value(&self, long: &str) -> Option<&str> {
        self.flags.value(long)
    }

    pub fn switch(&self, long: &str) -> bool {
        self.flags.switch(long)
    }
}

/// Everything a handler may touch.
pub(crate) struct Ctx<'a> {
    pub world: &'a mut World,
    pub inv: &'a Invocation,
    pub paths: &'a Paths,
    pub now: Instant,
    /// `now` as a Kubernetes timestamp.
    pub timestamp: String,
}

/// A subcommand of a cobra-style tool.
pub(crate) struct CommandDef {
    pub path: &'static [&'static str],
    pub flags: &'static [Flag],
}

/// Why a cobra-style argv did not name a runnable command.
pub(crate) enum LookupError {
    /// `word` is not a subcommand of `parent` (the path so far).
    UnknownCommand { word: String, parent: Vec<String> },
    /// Only a command group was named (cobra prints its help).
    GroupOnly { path: Vec<String> },
    /// The flags did not parse against the command (path as found).
    Args { error: ArgError, path: Vec<String> },
}

/// Find the subcommand in a cobra-style argv (flags may precede it) and parse the flags.
pub(crate) fn lookup_pflag(
    args: &[String],
    globals: &'static [Flag],
    defs: &'static [CommandDef],
) -> Result<(ToolCommand, &'static CommandDef), LookupError> {
    let mut path: Vec<String> = Vec::new();
    let mut stop_word: Option<String> = None;
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        index += 1;
        if arg == "--" {
            break;
        }
        if arg.starts_with('-') && arg.len() > 1 {
            let current = defs.iter().find(|d| same_path(d.path, &path));
            let known: Vec<&Flag> = globals
                .iter()
                .chain(current.map(|d| d.flags).unwrap_or(&[]).iter())
                .collect();
            let takes_next = if let Some(body) = arg.strip_prefix("--") {
                !body.contains('=') && known.iter().any(|f| f.long == body && f.takes_value)
            } else {
                let letters: Vec<char> = arg[1..].chars().collect();
                letters.len() == 1
                    && known
                        .iter()
                        .any(|f| f.short == Some(letters[0]) && f.takes_value)
            };
            if takes_next {
                index += 1;
            }
            continue;
        }
        let mut candidate = path.clone();
        candidate.push(arg.clone());
        if defs.iter().any(|d| starts_with(d.path, &candidate)) {
            path = candidate;
        } else {
            stop_word = Some(arg.clone());
            break;
        }
    }
    let Some(def) = defs.iter().find(|d| same_path(d.path, &path)) else {
        return Err(match stop_word {
            Some(word) => LookupError::UnknownCommand { word, parent: path },
            None => LookupError::GroupOnly { path },
        });
    };
    let flags: Vec<Flag> = globals.iter().chain(def.flags.iter()).copied().collect();
    let mut parsed =
        args::parse(args, &flags, Style::Pflag).map_err(|error| LookupError::Args {
            error,
            path: path.clone(),
        })?;
    parsed
        .positionals
        .drain(..path.len().min(parsed.positionals.len()));
    Ok((
        ToolCommand {
            path,
            flags: parsed,
        },
        def,
    ))
}

fn same_path(def: &[&str], path: &[String]) -> bool {
    def.len() == path.len() && def.iter().zip(path).all(|(a, b)| *a == b)
}

fn starts_with(def: &[&str], prefix: &[String]) -> bool {
    def.len() >= prefix.len() && def.iter().zip(prefix).all(|(a, b)| *a == b)
}
