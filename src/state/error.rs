//! What can go wrong with the state file, its backup and its lock.

use std::fmt;
use std::io;
use std::path::PathBuf;

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

impl StateError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StateError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Every state problem stops the run before any work: a general error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::General
    }
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
