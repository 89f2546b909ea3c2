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

/// The exit codes of `--dry-run --detailed-exitcode`, terraform's convention for drift checks
/// in CI. They replace [`ExitCode`] for that run: every failure, whatever its phase, is 1,
/// so that 2 always means "the plan would change something".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetailedExitCode {
    NoChanges = 0,
    Error = 1,
    Changes = 2,
}

impl DetailedExitCode {
    pub const ALL: [DetailedExitCode; 3] = [
        DetailedExitCode::NoChanges,
        DetailedExitCode::Error,
        DetailedExitCode::Changes,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn meaning(self) -> &'static str {
        match self {
            DetailedExitCode::NoChanges => "the plan changes nothing",
            DetailedExitCode::Error => "error",
            DetailedExitCode::Changes => "the plan would create or change something",
        }
    }

    /// The detailed code of a dry run that ended with `code`, and whose plan, when it got
    /// that far, would (`Some(true)`) or would not change anything.
    pub fn of(code: ExitCode, plan_changes: Option<bool>) -> Self {
        match (code, plan_changes) {
            (ExitCode::Success, Some(true)) => DetailedExitCode::Changes,
            (ExitCode::Success, _) => DetailedExitCode::NoChanges,
            _ => DetailedExitCode::Error,
        }
    }
}

impl From<DetailedExitCode> for std::process::ExitCode {
    fn from(code: DetailedExitCode) -> Self {
        std::process::ExitCode::from(code.code() as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detailed_codes_are_terraforms_and_every_failure_is_one() {
        assert_eq!(
            DetailedExitCode::of(ExitCode::Success, Some(true)),
            DetailedExitCode::Changes
        );
        assert_eq!(
            DetailedExitCode::of(ExitCode::Success, Some(false)),
            DetailedExitCode::NoChanges
        );
        // `--clean --dry-run` without a state file: nothing to remove.
        assert_eq!(
            DetailedExitCode::of(ExitCode::Success, None),
            DetailedExitCode::NoChanges
        );
        for failure in ExitCode::ALL
            .into_iter()
            .filter(|c| *c != ExitCode::Success)
        {
            assert_eq!(
                DetailedExitCode::of(failure, None),
                DetailedExitCode::Error,
                "{failure}"
            );
        }
        let codes: Vec<i32> = DetailedExitCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, [0, 1, 2]);
    }
}
