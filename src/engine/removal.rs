//! One pipeline for every destructive action — a rollback after a failure (asked or
//! `--auto-rollback`) and `--clean`: build the [`RemovalPlan`] from the state, show it, get
//! [`Consent`], then act on exactly that plan.
//!
//! The plan's commands come from the remover's own command specs (the ones it runs), so a
//! preview cannot drift from what runs. Front ends differ only in how they ask ([`Ask`]) and
//! where the events go; which answers count as consent is decided here ([`ConsentRule`]):
//! a terminal answer or an explicit flag, never a stdin that is not a terminal.
//!
//! [`RemovalPipeline::run`] with a [`Decide`] is the only way the crate offers to delete
//! what a run created; the acting end is private to it. The one exception is the health
//! check's own test Workload (`steps::validation`): the step deletes the object it has
//! just created itself, in the same step, which no user ever had to consent to.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::context::{EventObserver, EventSink};
use super::remover::EngineRemover;
use super::rollback::{self, PlannedRemoval, ResourceRemover, RollbackReport};
use super::state_handle::StateHandle;
use crate::tools::{BoxFuture, CancellationToken, CommandSpec};

/// What the removal is for: the question and the headings differ, the pipeline does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovalPurpose {
    /// After a failed run: remove what the state records as created by this tool.
    Rollback,
    /// `--clean`: the same, from the state file alone.
    Clean,
}

/// Every resource the removal would remove, in removal order, each with the exact command
/// that removes it (secrets as `***`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalPlan {
    purpose: RemovalPurpose,
    removals: Vec<PlannedRemoval>,
}

/// One line of the plan as `--clean --dry-run --output json` prints it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PlanEntry<'a> {
    /// 1 for the first removal.
    pub order: usize,
    /// The resource's kind, as the state file names it (`helm_release`, …).
    pub kind: &'a str,
    pub resource: &'a str,
    /// One line to copy: `commands` joined with `&&`.
    pub command: &'a str,
    /// The commands `command` joins with `&&`, each on its own (one for most resources).
    pub commands: &'a [String],
    pub asynchronous: bool,
}

/// `--clean --dry-run --output json`'s document, under the name and version of its contract
/// ([`crate::contracts::REMOVAL_PLAN`]); `schemas/removal-plan.schema.json` is made from it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PlanDocument<'a> {
    /// `kalypso-bootstrap/removal-plan`.
    pub schema: &'static str,
    pub schema_version: u32,
    pub purpose: RemovalPurpose,
    /// In removal order.
    pub removals: Vec<PlanEntry<'a>>,
}

impl RemovalPlan {
    pub fn new(purpose: RemovalPurpose, removals: Vec<PlannedRemoval>) -> Self {
        Self { purpose, removals }
    }

    pub fn purpose(&self) -> RemovalPurpose {
        self.purpose
    }

    /// In removal order.
    pub fn removals(&self) -> &[PlannedRemoval] {
        &self.removals
    }

    pub fn is_empty(&self) -> bool {
        self.removals.is_empty()
    }

    pub fn len(&self) -> usize {
        self.removals.len()
    }

    /// Each resource as the questions list it.
    pub fn descriptions(&self) -> Vec<String> {
        self.removals
            .iter()
            .map(|removal| removal.description.clone())
            .collect()
    }

    /// The preview for people: each resource in order, with its command.
    pub fn to_text(&self) -> String {
        let mut text = match self.purpose {
            RemovalPurpose::Clean => format!(
                "Removal plan: {} recorded as created by kalypso-bootstrap, removed in this order:\n",
                crate::text::plural(self.removals.len(), "resource")
            ),
            RemovalPurpose::Rollback => format!(
                "Rollback plan: {} created by this run, removed in this order:\n",
                crate::text::plural(self.removals.len(), "resource")
            ),
        };
        for (index, removal) in self.removals.iter().enumerate() {
            let asynchronous = if removal.asynchronous {
                " (asynchronous: finishes in the background)"
            } else {
                ""
            };
            let _ = writeln!(
                text,
                "  {}. {}{asynchronous}\n     $ {}",
                index + 1,
                removal.resource.label(),
                removal.manual_command
            );
        }
        text
    }

    /// The preview as one JSON document: `{"schema", "schema_version", "purpose", "removals": [{"order", "kind",
    /// "resource", "command", "commands", "asynchronous"}]}`: `command` is one line to copy
    /// (several commands joined with `&&`), `commands` each command the removal runs.
    pub fn to_json(&self) -> String {
        let document = PlanDocument {
            schema: crate::contracts::REMOVAL_PLAN.name,
            schema_version: crate::contracts::REMOVAL_PLAN.version,
            purpose: self.purpose,
            removals: self
                .removals
                .iter()
                .enumerate()
                .map(|(index, removal)| PlanEntry {
                    order: index + 1,
                    kind: removal.resource.kind(),
                    resource: &removal.description,
                    command: &removal.manual_command,
                    commands: &removal.commands,
                    asynchronous: removal.asynchronous,
                })
                .collect(),
        };
        serde_json::to_string(&document)
            .unwrap_or_else(|err| unreachable!("a removal plan serialises: {err}"))
    }
}

/// Who gave the consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentSource {
    /// Someone answered yes on a terminal.
    Terminal,
    /// A flag given for it (e.g. `--yes`, `--auto-rollback`), named.
    Flag(&'static str),
}

/// The answer to "remove these?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Given(ConsentSource),
    /// Asked on a terminal and not answered yes.
    Declined,
    /// Nobody can be asked (no terminal, or `--non-interactive`) and no flag gives it.
    Unavailable,
}

/// How a front end decides about a plan. Object safe.
pub trait Decide: Send {
    fn decide<'a>(&'a mut self, plan: &'a RemovalPlan) -> BoxFuture<'a, Consent>;
}

/// How a front end asks a person on a terminal: true only for an explicit yes.
pub trait Ask: Send {
    fn ask<'a>(&'a mut self, plan: &'a RemovalPlan) -> BoxFuture<'a, bool>;
}

/// What counts as consent: a flag given for it, else a terminal answer when there is a
/// terminal to ask, else none.
pub struct ConsentRule {
    /// The flag that was given and consents (`None`: no such flag given).
    pub flag: Option<&'static str>,
    /// The terminal question (`None`: no terminal, or `--non-interactive`).
    pub ask: Option<Box<dyn Ask>>,
}

impl ConsentRule {
    /// Consent given by `flag` when `given`; otherwise `ask` (when there is one).
    pub fn new(flag: &'static str, given: bool, ask: Option<Box<dyn Ask>>) -> Self {
        Self {
            flag: given.then_some(flag),
            ask,
        }
    }
}

/// The consent every front end uses for `purpose`: its flag (`--auto-rollback` after a
/// failed run, `--yes` for `--clean`) when `flag_given`; else a terminal answer to `ask`,
/// never asked under `--non-interactive`.
pub fn consent_rule(
    purpose: RemovalPurpose,
    flag_given: bool,
    non_interactive: bool,
    ask: Option<Box<dyn Ask>>,
) -> ConsentRule {
    let flag = match purpose {
        RemovalPurpose::Rollback => "--auto-rollback",
        RemovalPurpose::Clean => "--yes",
    };
    let ask = if non_interactive { None } else { ask };
    ConsentRule::new(flag, flag_given, ask)
}

impl Decide for ConsentRule {
    fn decide<'a>(&'a mut self, plan: &'a RemovalPlan) -> BoxFuture<'a, Consent> {
        Box::pin(async move {
            if let Some(flag) = self.flag {
                return Consent::Given(ConsentSource::Flag(flag));
            }
            let Some(ask) = self.ask.as_mut() else {
                return Consent::Unavailable;
            };
            if ask.ask(plan).await {
                Consent::Given(ConsentSource::Terminal)
            } else {
                Consent::Declined
            }
        })
    }
}

/// How a pass through the pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovalOutcome {
    /// The state records nothing of ours that still exists.
    NothingToRemove,
    /// Declined on the terminal: nothing removed.
    Declined(RemovalPlan),
    /// No consent could be had: nothing removed.
    NoConsent(RemovalPlan),
    /// Consent given; the removals ran.
    Removed(RollbackReport),
}

/// Plan, consent, act, over one state and one remover (the engine's own
/// [`EngineRemover`] unless another [`ResourceRemover`] is given: the order, saving and
/// reporting of removals do not depend on how a resource is removed).
pub struct RemovalPipeline<R = EngineRemover> {
    purpose: RemovalPurpose,
    state: StateHandle,
    remover: R,
    /// Sees every event of the removal (the run report, which a rollback rewrites).
    observer: Option<Arc<dyn EventObserver>>,
}

impl<R: ResourceRemover + Clone> RemovalPipeline<R> {
    pub fn new(purpose: RemovalPurpose, state: StateHandle, remover: R) -> Self {
        Self {
            purpose,
            state,
            remover,
            observer: None,
        }
    }

    /// Show every event of the removal to `observer` too.
    pub fn with_observer(mut self, observer: Option<Arc<dyn EventObserver>>) -> Self {
        self.observer = observer;
        self
    }

    /// What would be removed now, in removal order, each with its exact command.
    pub fn plan(&self) -> RemovalPlan {
        let removals = self
            .state
            .read(|state| rollback::rollback_preview(state, &self.remover));
        RemovalPlan::new(self.purpose, removals)
    }

    /// The whole pipeline: plan, then `decide`, then act on that plan (only with consent).
    pub async fn run(
        &self,
        decide: &mut dyn Decide,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> RemovalOutcome {
        let plan = self.plan();
        if plan.is_empty() {
            return RemovalOutcome::NothingToRemove;
        }
        match decide.decide(&plan).await {
            Consent::Given(source) => {
                tracing::info!(?source, resources = plan.len(), "removal consented");
                RemovalOutcome::Removed(self.act(plan, events, cancel).await)
            }
            Consent::Declined => RemovalOutcome::Declined(plan),
            Consent::Unavailable => RemovalOutcome::NoConsent(plan),
        }
    }

    /// Remove exactly what `plan` lists (see [`rollback::remove_planned`]). Only after
    /// consent, so only from [`RemovalPipeline::run`].
    async fn act(
        &self,
        plan: RemovalPlan,
        events: EventSink,
        cancel: &CancellationToken,
    ) -> RollbackReport {
        let events = match &self.observer {
            Some(observer) => events.with_observer(Arc::clone(observer)),
            None => events,
        };
        let remover = self.remover.clone().for_pass(cancel, &events);
        rollback::remove_planned(plan.removals, &self.state, &remover, &events, cancel).await
    }
}

/// The command that removes what `state_file` records, as a user copies it: `--demo` for
/// a demo's state (its simulated world lives beside the state file), the state file
/// always named (absolute, so the command works from any directory).
pub fn clean_command(state_file: &Path, demo: bool) -> String {
    let state_file = std::path::absolute(state_file).unwrap_or_else(|_| state_file.to_path_buf());
    let mut spec = CommandSpec::new("kalypso-bootstrap").arg("--clean");
    if demo {
        spec = spec.arg("--demo");
    }
    spec.arg("--state-file")
        .arg(state_file.to_string_lossy().into_owned())
        .display()
}

/// [`clean_command`] with what it does when run: it asks first; a script adds `--yes`.
pub fn clean_advice(state_file: &Path, demo: bool) -> String {
    format!(
        "{}\n  (it shows what it removes and asks first; in a script, add --yes)",
        clean_command(state_file, demo)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Resource;

    fn planned(resource: Resource, command: &str, asynchronous: bool) -> PlannedRemoval {
        PlannedRemoval {
            description: resource.describe(),
            resource,
            manual_command: command.to_string(),
            commands: vec![command.to_string()],
            asynchronous,
        }
    }

    fn sample() -> RemovalPlan {
        RemovalPlan::new(
            RemovalPurpose::Clean,
            vec![
                planned(
                    Resource::Repository {
                        owner: "acme".into(),
                        name: "cp".into(),
                        url: "https://github.com/acme/cp".into(),
                    },
                    "gh repo delete acme/cp --yes",
                    false,
                ),
                planned(
                    Resource::ResourceGroup {
                        name: "demo-rg".into(),
                        subscription_id: None,
                    },
                    "az group delete --name demo-rg --yes --no-wait",
                    true,
                ),
            ],
        )
    }

    #[test]
    fn the_text_preview_lists_each_resource_in_order_with_its_command() {
        let text = sample().to_text();
        let repo = text
            .find("1. repository https://github.com/acme/cp")
            .expect(&text);
        // People's words in the text; the JSON keeps the identifiers.
        let rg = text.find("2. resource group demo-rg").expect(&text);
        assert!(repo < rg, "{text}");
        assert!(text.contains("$ gh repo delete acme/cp --yes"), "{text}");
        assert!(
            text.contains("$ az group delete --name demo-rg --yes --no-wait"),
            "{text}"
        );
    }

    #[test]
    fn the_json_preview_is_the_same_plan() {
        let json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(json["purpose"], "clean");
        let removals = json["removals"].as_array().unwrap();
        assert_eq!(removals.len(), 2);
        assert_eq!(removals[0]["order"], 1);
        assert_eq!(removals[0]["kind"], "repository");
        assert_eq!(removals[0]["command"], "gh repo delete acme/cp --yes");
        assert_eq!(removals[1]["asynchronous"], true);
    }

    struct Answer(bool, usize);

    impl Ask for Answer {
        fn ask<'a>(&'a mut self, _plan: &'a RemovalPlan) -> BoxFuture<'a, bool> {
            self.1 += 1;
            let yes = self.0;
            Box::pin(async move { yes })
        }
    }

    fn decide(rule: &mut ConsentRule) -> Consent {
        let plan = sample();
        block_on(rule.decide(&plan))
    }

    fn block_on<T>(future: BoxFuture<'_, T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_flag_consents_without_asking_a_terminal_answer_consents_and_nothing_else_does() {
        let mut flagged = ConsentRule::new("--yes", true, Some(Box::new(Answer(false, 0))));
        assert_eq!(
            decide(&mut flagged),
            Consent::Given(ConsentSource::Flag("--yes"))
        );
        let mut yes = ConsentRule::new("--yes", false, Some(Box::new(Answer(true, 0))));
        assert_eq!(decide(&mut yes), Consent::Given(ConsentSource::Terminal));
        let mut no = ConsentRule::new("--yes", false, Some(Box::new(Answer(false, 0))));
        assert_eq!(decide(&mut no), Consent::Declined);
        let mut nobody = ConsentRule::new("--yes", false, None);
        assert_eq!(decide(&mut nobody), Consent::Unavailable);
    }

    #[test]
    fn the_shared_rule_names_each_purposes_flag_and_never_asks_under_non_interactive() {
        let mut rollback = consent_rule(RemovalPurpose::Rollback, true, true, None);
        assert_eq!(
            decide(&mut rollback),
            Consent::Given(ConsentSource::Flag("--auto-rollback"))
        );
        let mut clean = consent_rule(RemovalPurpose::Clean, true, false, None);
        assert_eq!(
            decide(&mut clean),
            Consent::Given(ConsentSource::Flag("--yes"))
        );
        let mut scripted = consent_rule(
            RemovalPurpose::Clean,
            false,
            true,
            Some(Box::new(Answer(true, 0))),
        );
        assert_eq!(decide(&mut scripted), Consent::Unavailable);
        let mut asked = consent_rule(
            RemovalPurpose::Clean,
            false,
            false,
            Some(Box::new(Answer(true, 0))),
        );
        assert_eq!(decide(&mut asked), Consent::Given(ConsentSource::Terminal));
    }

    #[test]
    fn the_clean_command_names_the_state_file_absolutely_and_demo_when_needed() {
        assert_eq!(
            clean_command(Path::new("/tmp/my state.json"), false),
            "kalypso-bootstrap --clean --state-file '/tmp/my state.json'"
        );
        assert_eq!(
            clean_command(Path::new("/tmp/s.json"), true),
            "kalypso-bootstrap --clean --demo --state-file /tmp/s.json"
        );
        let relative = clean_command(Path::new("s.json"), false);
        let cwd = std::env::current_dir().unwrap();
        assert!(
            relative.ends_with(&format!("{}", cwd.join("s.json").display())),
            "{relative}"
        );
    }
}
