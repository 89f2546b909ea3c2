//! What flows into the wizard ([`Msg`]) and what it asks the runtime to do ([`Effect`]).
//! Every source (keys, engine events, log records, check results, timers) becomes a `Msg`;
//! `update` turns it into state and effects; only the runtime touches channels and tasks.

use crossterm::event::{KeyEvent, MouseEvent};
use secrecy::SecretString;
use time::OffsetDateTime;

use crate::config::lifecycle::Confirmed;
use crate::config::Configuration;
use crate::engine::events::Event;
use crate::engine::PlanOverview;
use crate::logging::LogRecord;
use crate::ExitCode;

use super::backend::{PrereqUpdate, RollbackNotice};
use crate::prereq::{AzureUse, ContextProbe};
use crate::UserError;

#[derive(Debug)]
pub enum Msg {
    /// The first message: decides the first screen.
    Init,
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): one edit, never a key press.
    Paste(String),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// The clock, sent only while something animates.
    Tick(OffsetDateTime),
    Prereq(PrereqUpdate),
    /// The check's channel closed before it reported its outcome.
    PrereqClosed,
    /// A question from the prerequisite check (sign in to Azure? the GitHub token?).
    Prompt(PromptRequest),
    Plan(Result<PlanOverview, UserError>),
    RunLaunched(Result<(), UserError>),
    Engine(Event),
    /// The engine closed its event channel.
    EngineClosed,
    Log(LogRecord),
    /// The session's rollback decision after a failure (other than a removal).
    Rollback(RollbackNotice),
    /// Whether the kube contexts' API servers answered (for the context pick list).
    KubeContexts(Vec<ContextProbe>),
}

/// A question the prerequisite check asks through the wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptRequest {
    Confirm { question: String, default: bool },
    Secret { prompt: String },
}

/// The user's reply to a [`PromptRequest`].
#[derive(Debug)]
pub enum PromptAnswer {
    Confirm(bool),
    Secret(Option<SecretString>),
    Cancelled,
}

/// Work for the runtime.
#[derive(Debug)]
pub enum Effect {
    StartPrerequisites {
        github_token: Option<SecretString>,
        /// Prompts and `az login` may be offered (off with "Non-interactive").
        interactive: bool,
        /// "Skip validation" is on: no probes; the token comes from the form or the
        /// environment unchecked.
        skip: bool,
        /// Whether the answers involve Azure (a new AKS cluster): when not, az is not
        /// checked.
        azure: AzureUse,
        /// The form's GitHub host, when it is a valid one (the token is checked there).
        github_host: Option<crate::config::GitHubHost>,
        /// Flux's install manifest would come from github.com (no "Flux manifest" given,
        /// the installation not skipped).
        flux_manifest_from_github_com: bool,
    },
    ComputePlan(Box<Configuration>),
    StartRun(Box<Confirmed>),
    CancelRun,
    AnswerRollback(bool),
    AnswerPrompt(PromptAnswer),
    Exit(ExitCode),
}

/// What one message did.
#[derive(Debug, Default)]
pub struct Transition {
    /// Something on screen changed.
    pub redraw: bool,
    pub effects: Vec<Effect>,
}

impl Transition {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn redraw() -> Self {
        Self {
            redraw: true,
            effects: Vec::new(),
        }
    }

    pub fn with(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
}
