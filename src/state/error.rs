//! What can go wrong with the state file, its backup and its lock.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::identity;
use super::schema::{InstallationIdentity, InstallationWorld};
use crate::troubleshooting::Topic;
use crate::ExitCode;

/// Why an existing state file cannot be used. Such a file is never overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateProblem {
    /// Zero bytes or only whitespace.
    Empty,
    /// Valid JSON so far, then the file ends: typically an interrupted write.
    Truncated { line: usize, column: usize },
    /// Not JSON at all.
    NotJson {
        line: usize,
        column: usize,
        detail: String,
    },
    /// JSON, but not a kalypso-bootstrap state file.
    NotOurs { detail: String },
    /// Written by a newer kalypso-bootstrap, with a schema this build does not know.
    NewerVersion { found: String },
    /// Not a regular file (e.g. a directory).
    NotAFile,
}

impl fmt::Display for StateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateProblem::Empty => f.write_str("is empty"),
            StateProblem::Truncated { line, column } => write!(
                f,
                "is truncated (the JSON ends early, at line {line}, column {column}; an interrupted write?)"
            ),
            StateProblem::NotJson {
                line,
                column,
                detail,
            } => write!(f, "is corrupt: not valid JSON at line {line}, column {column} ({detail})"),
            StateProblem::NotOurs { detail } => write!(
                f,
                "is not a kalypso-bootstrap state file ({detail})"
            ),
            StateProblem::NewerVersion { found } => write!(
                f,
                "was written by a newer kalypso-bootstrap (state version {found:?}; this build understands {:?}); upgrade kalypso-bootstrap to use it",
                super::schema::SCHEMA_VERSION
            ),
            StateProblem::NotAFile => f.write_str("is not a regular file"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path} {problem}. It was left untouched; run again with --force to move it aside and start fresh; {}", Topic::StateUnusable.see())]
    Unusable {
        path: PathBuf,
        problem: StateProblem,
    },

    #[error("another kalypso-bootstrap run ({holder}) is using the state file {state_path} (lock {lock_path}); wait for it to finish, or use a different --state-file; {}", Topic::StateLocked.see())]
    Locked {
        state_path: PathBuf,
        lock_path: PathBuf,
        holder: LockHolder,
    },

    #[error("{}", other_world_message(path, id.as_deref(), *recorded))]
    OtherWorld {
        path: PathBuf,
        /// The installation id the state records; `None` in a state written before
        /// identities were recorded.
        id: Option<String>,
        /// The world the state belongs to (the run is in the other one).
        recorded: InstallationWorld,
    },

    #[error("{}", other_installation_message(path, recorded, requested))]
    OtherInstallation {
        path: PathBuf,
        recorded: Box<InstallationIdentity>,
        requested: Box<InstallationIdentity>,
    },

    #[error(
        "cannot make an installation id: the operating system's random source failed ({detail})"
    )]
    Randomness { detail: String },

    #[error("refusing the lock file {path}: {rule}. It was left untouched; remove it (a lock file holds no data) and run again")]
    UnsafeLock { path: PathBuf, rule: &'static str },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// How the user reads it: the message, and the exit code of [`StateError::exit_code`].
impl From<StateError> for crate::UserError {
    fn from(error: StateError) -> Self {
        crate::UserError::new(error.exit_code(), error.to_string())
    }
}

impl StateError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StateError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Every state problem stops the run before any work: a state of another
    /// installation or world is a configuration problem (3), anything else a general one.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            StateError::OtherWorld { .. } | StateError::OtherInstallation { .. } => {
                ExitCode::ConfigInvalid
            }
            StateError::Unusable { .. }
            | StateError::Locked { .. }
            | StateError::UnsafeLock { .. }
            | StateError::Randomness { .. }
            | StateError::Io { .. } => ExitCode::General,
        }
    }
}

fn other_world_message(path: &Path, id: Option<&str>, recorded: InstallationWorld) -> String {
    let path_text = path.display();
    let see = Topic::StateOtherInstallation.see();
    let id = id.map_or_else(
        || {
            format!(
                "no installation id, its simulated world is {}",
                identity::demo_world_dir(path).display()
            )
        },
        str::to_string,
    );
    match recorded {
        InstallationWorld::Demo => format!(
            "the state file {path_text} belongs to a --demo installation ({id}: simulated Azure, GitHub and cluster), and this command is not a --demo run: \
             it stopped before calling any tool or changing anything (without --demo it would drive the real az, gh and kubectl at the simulated names). \
             Run the same command with --demo to work on that demo, or use another --state-file for a real installation; {see}"
        ),
        InstallationWorld::Real => format!(
            "the state file {path_text} belongs to a real installation ({id}), and --demo never works on a real state: \
             it stopped before changing anything. Run the same command without --demo to work on that installation, \
             or give --demo another --state-file; {see}"
        ),
    }
}

fn other_installation_message(
    path: &Path,
    recorded: &InstallationIdentity,
    requested: &InstallationIdentity,
) -> String {
    let suggestion = identity::shell_word(&identity::suggested_state_file(path, requested));
    format!(
        "the state file {} belongs to another installation than the one this run names, so the run stopped before changing anything:\n{}\
         Each installation needs its own state file: run the same command with --state-file {suggestion} (or another new file). \
         Settings such as the node count, VM size, region or chart version may change between runs; \
         the world, subscription, cluster, repositories and namespace may not; {}",
        path.display(),
        identity::side_by_side(recorded, requested),
        Topic::StateOtherInstallation.see()
    )
}

/// Who holds the lock, as far as the lock file tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: Option<u32>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "PID {pid}"),
            None => f.write_str("PID unknown"),
        }
    }
}
