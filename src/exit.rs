//! The documented exit codes. Every way the program ends maps to exactly one of these.

use std::fmt;

/// Process exit codes, part of the command-line contract (see the README's reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitCode {
    Success = 0,
    General = 1,
    PrerequisitesFailed = 2,
    ConfigInvalid = 3,
    ClusterFailed = 4,
    RepositoryFailed = 5,
    InstallationFailed = 6,
    Cancelled = 7,
    Usage = 64,
}

impl ExitCode {
    pub const ALL: [ExitCode; 9] = [
        ExitCode::Success,
        ExitCode::General,
        ExitCode::PrerequisitesFailed,
        ExitCode::ConfigInvalid,
        ExitCode::ClusterFailed,
        ExitCode::RepositoryFailed,
        ExitCode::InstallationFailed,
        ExitCode::Cancelled,
        ExitCode::Usage,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::General => "general error",
            ExitCode::PrerequisitesFailed => "prerequisite validation failed",
            ExitCode::ConfigInvalid => "configuration validation failed",
            ExitCode::ClusterFailed => "cluster operation failed",
            ExitCode::RepositoryFailed => "repository operation failed",
            ExitCode::InstallationFailed => "installation failed",
            ExitCode::Cancelled => "user cancelled",
            ExitCode::Usage => "invalid command-line syntax",
        }
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.meaning())
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code() as u8)
    }
}
