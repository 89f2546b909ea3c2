//! `--dry-run`: every step of a plan with its action and the exact argv of every command
//! it would run. The commands come from each step's own module
//! ([`super::steps::commands`]), built by the same builders the step runs; this module
//! only lays them out. Secrets are never in an argv (they travel by environment and
//! stdin); any registered secret that appeared would be shown as `***`.

use std::fmt::Write as _;

use secrecy::ExposeSecret;
use serde::Serialize;

use super::overview::PlanOverview;
use super::plan::{Plan, PlannedStep};
use super::step::{Action, StepId};
use super::steps::{self, template_context, BootstrapSteps, Preview};
use crate::state::Phase;
use crate::tools::CommandSpec;

/// The owner shown when it could not be learned (no GitHub sign-in during the dry run).
pub const UNKNOWN_OWNER: &str = "OWNER";

/// One step of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DryRunStep {
    pub phase: Phase,
    pub id: StepId,
    pub action: Action,
    /// Why the plan chose the action.
    pub reason: String,
    /// Each command's argv, in order, secrets as `***`.
    pub commands: Vec<Vec<String>>,
    /// Beside `commands`, index for index: what each command reads on its standard input
    /// (e.g. the values of `helm … -f -`), secrets as `***`; `None` when it reads nothing.
    pub stdin: Vec<Option<String>>,
    /// Beside `commands`, index for index: the `NAME=VALUE` variables a command needs to do
    /// the same when copied (gh's `GH_HOST` of a GitHub Enterprise Server); absent when no
    /// command needs any.
    #[serde(skip_serializing_if = "no_shown_env")]
    pub env: Vec<Vec<String>>,
    /// What the commands cannot show (a choice made at run time, a file's content).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What `--dry-run` prints, and what a run shows before it asks "Proceed?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DryRun {
    pub steps: Vec<DryRunStep>,
    /// The same plan by resource, with the count line (see [`PlanOverview`]).
    pub overview: PlanOverview,
}

/// `--dry-run --output json`'s document: the [`DryRun`] under the name and version of its
/// contract ([`crate::contracts::PLAN`]); `schemas/plan.schema.json` is made from this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DryRunDocument<'a> {
    /// `kalypso-bootstrap/plan`.
    pub schema: &'static str,
    pub schema_version: u32,
    #[serde(flatten)]
    pub plan: &'a DryRun,
}

impl DryRun {
    /// `{"schema":"kalypso-bootstrap/plan","schema_version":1,"steps":[{"phase":…,"id":…,
    /// "action":…,"commands":[[…],…],"stdin":[null,"…",…]}],"overview":{…}}` on one line.
    pub fn to_json(&self) -> String {
        let document = DryRunDocument {
            schema: crate::contracts::PLAN.name,
            schema_version: crate::contracts::PLAN.version,
            plan: self,
        };
        serde_json::to_string(&document).unwrap_or_else(|e| unreachable!("dry run serialises: {e}"))
    }

    /// Whether running this plan would create or change anything: what its count line says
    /// (`Plan: N to create, M to change, …`), and what `--detailed-exitcode` reports.
    pub fn changes_anything(&self) -> bool {
        let counts = self.overview.counts;
        counts.create + counts.change > 0
    }

    /// `--dry-run`'s plan for people (see [`DryRun::text_under`]).
    pub fn to_text(&self) -> String {
        self.text_under("Dry run: nothing is created or changed.")
    }

    /// The plan a run shows before it asks "Proceed?": nothing is applied yet.
    pub fn to_proceed_text(&self) -> String {
        self.text_under("Plan (not applied yet):")
    }

    /// The plan for people under `label`: by resource (the overview), then each step, its
    /// action and reason, and its commands as a shell would read them, then the count line.
    fn text_under(&self, label: &str) -> String {
        let mut text = format!("{label}\n\n");
        text.push_str(&self.overview.body_text());
        text.push_str("\nThe commands, step by step:\n");
        for step in &self.steps {
            let _ = writeln!(
                text,
                "\n[{}] {} ({}): {}\n  {}",
                step.phase,
                step.id,
                step.action,
                step.id.title(),
                step.reason
            );
            for (index, command) in step.commands.iter().enumerate() {
                let assignments = step.env.get(index).into_iter().flatten();
                let line: Vec<String> = assignments
                    .cloned()
                    .chain(command.iter().map(|part| shell_word(part)))
                    .collect();
                let _ = writeln!(text, "    $ {}", line.join(" "));
                if let Some(Some(stdin)) = step.stdin.get(index) {
                    let _ = writeln!(text, "      standard input:");
                    for stdin_line in stdin.lines() {
                        let _ = writeln!(text, "        {stdin_line}");
                    }
                }
            }
            for note in &step.notes {
                let _ = writeln!(text, "    note: {note}");
            }
        }
        let _ = writeln!(text, "\n{}", self.overview.counts.line());
        text
    }
}

fn no_shown_env(env: &[Vec<String>]) -> bool {
    env.iter().all(Vec::is_empty)
}

fn shell_word(part: &str) -> String {
    let plain = !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-*".contains(c));
    if plain {
        part.to_string()
    } else {
        format!("'{}'", part.replace('\'', r"'\''"))
    }
}

/// The dry run of `plan`: nothing runs.
/// What a dry run shows for the installation id when no state file holds one yet: the run
/// chooses it when it creates the state file.
pub const NEW_INSTALLATION_ID: &str = "<new-installation-id>";

/// `installation_id` is the mark the Azure resources would be tagged with; `overview` is
/// the same plan by resource.
pub fn dry_run(
    steps: &BootstrapSteps,
    plan: &Plan,
    installation_id: &str,
    overview: PlanOverview,
) -> DryRun {
    let env = steps.env();
    // The listed stdin carries the token: masked by the redaction, whoever opened us.
    if let Some(token) = &env.github_token {
        crate::secrets::register(token.expose_secret());
    }
    let owner = steps
        .known_owner()
        .unwrap_or_else(|| UNKNOWN_OWNER.to_string());
    let context = template_context(&env.configuration, Some(&owner)).ok();
    let preview = Preview {
        owner: &owner,
        context: context.as_ref(),
        installation_id,
    };
    DryRun {
        steps: plan
            .steps
            .iter()
            .map(|step| describe(steps, step, &preview))
            .collect(),
        overview,
    }
}

fn describe(steps: &BootstrapSteps, step: &PlannedStep, preview: &Preview) -> DryRunStep {
    let listed = steps::commands(steps.env(), step, preview);
    DryRunStep {
        phase: step.phase,
        id: step.id,
        action: step.action,
        reason: step.reason.clone(),
        commands: listed
            .specs
            .iter()
            .map(CommandSpec::redacted_argv)
            .collect(),
        stdin: listed
            .specs
            .iter()
            .map(CommandSpec::redacted_stdin)
            .collect(),
        env: listed
            .specs
            .iter()
            .map(CommandSpec::shown_assignments)
            .collect(),
        notes: listed.notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_quotes_words_a_shell_would_split() {
        assert_eq!(shell_word("--no-wait"), "--no-wait");
        assert_eq!(shell_word("***"), "***");
        assert_eq!(
            shell_word("Kalypso control plane"),
            "'Kalypso control plane'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
