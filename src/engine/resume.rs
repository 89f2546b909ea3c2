//! How a later run continues this one, for every message that says so. A hint is an exact
//! command that works when copied: the command line this run was started with (with its
//! `--demo --state-file …`), and nothing at all for a demo whose simulated world ends with
//! it (a plain `--demo` always starts a new world, so "run again to resume" would be false).

use crate::tools::CommandSpec;

/// The program's name as the user types it.
const PROGRAM: &str = "kalypso-bootstrap";

/// What resumes this run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Resume {
    /// Running the same command again (its exact text not known here).
    #[default]
    SameCommand,
    /// This exact command, run again with the same configuration.
    Command(String),
    /// Nothing: a demo whose simulated world is not kept for later runs.
    NotKept,
}

impl Resume {
    /// For a run started with `args` (the arguments after the program's name): the exact
    /// command, unless it is a demo whose world is not kept.
    pub fn for_invocation(args: &[String], world_kept: bool) -> Resume {
        if !world_kept {
            return Resume::NotKept;
        }
        Resume::Command(
            CommandSpec::new(PROGRAM)
                .args(args.iter().cloned())
                .display(),
        )
    }

    /// The clause after a failure: "run X again to resume at the failed step", or, for a
    /// demo that keeps nothing, why there is nothing to resume and how to keep a world.
    pub fn clause(&self) -> String {
        match self {
            Resume::SameCommand => {
                "run the same command again to resume at the failed step".to_string()
            }
            Resume::Command(command) => {
                format!("run this again to resume at the failed step: {command}")
            }
            Resume::NotKept => self.nothing_left_clause(),
        }
    }

    /// For a demo whose world ends with it: nothing it leaves can be removed (or resumed)
    /// after it exits, and how to keep a world next time. The one wording every hint uses.
    pub fn nothing_left_clause(&self) -> String {
        format!(
            "this demo's simulated world ends with it, so nothing is left to resume or remove once it exits (a plain --demo starts a new one; {PROGRAM} --demo --state-file FILE keeps one that later runs can resume or clean)"
        )
    }

    /// The exact `--clean` command for `state_file`, unless no later command reaches this
    /// run's resources (a demo whose world ends with it).
    pub fn clean_command(&self, state_file: &std::path::Path, demo: bool) -> Option<String> {
        self.possible()
            .then(|| super::removal::clean_command(state_file, demo))
    }

    /// Whether a later run can resume this one.
    pub fn possible(&self) -> bool {
        !matches!(self, Resume::NotKept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_the_invocation_quoted_for_a_shell() {
        let args = ["--demo", "--state-file", "/tmp/my state.json"].map(String::from);
        assert_eq!(
            Resume::for_invocation(&args, true),
            Resume::Command(
                "kalypso-bootstrap --demo --state-file '/tmp/my state.json'".to_string()
            )
        );
        assert!(Resume::for_invocation(&args, true)
            .clause()
            .ends_with("kalypso-bootstrap --demo --state-file '/tmp/my state.json'"));
    }

    #[test]
    fn a_demo_that_keeps_no_world_offers_no_resume() {
        let resume = Resume::for_invocation(&["--demo".to_string()], false);
        assert_eq!(resume, Resume::NotKept);
        assert!(!resume.possible());
        assert!(
            !resume.clause().contains("to resume at"),
            "{}",
            resume.clause()
        );
    }
}
