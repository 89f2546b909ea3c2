//! The prerequisite check asks questions and runs `az login` through the traits of the
//! prerequisite module. These implementations route both to the wizard's loop: a question
//! becomes a box on screen, a login suspends the screen around the command.

use secrecy::SecretString;
use tokio::sync::{mpsc, oneshot};

use crate::prereq::{PromptError, Prompter, TerminalHandover};
use crate::tools::runner::{BoxFuture, CommandOutput, CommandSpec, RunError};

use super::msg::{PromptAnswer, PromptRequest};

/// A request from the check to the wizard's loop.
pub(crate) enum BridgeRequest {
    Prompt {
        request: PromptRequest,
        reply: oneshot::Sender<PromptAnswer>,
    },
    Handover {
        spec: CommandSpec,
        reply: oneshot::Sender<Result<CommandOutput, RunError>>,
    },
}

/// Asks through the wizard. When the wizard is gone, every question counts as cancelled.
pub(crate) struct TuiPrompter {
    pub(crate) requests: mpsc::UnboundedSender<BridgeRequest>,
}

impl TuiPrompter {
    async fn ask(&self, request: PromptRequest) -> Result<PromptAnswer, PromptError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(BridgeRequest::Prompt { request, reply })
            .map_err(|_| PromptError::Cancelled)?;
        answer.await.map_err(|_| PromptError::Cancelled)
    }
}

impl Prompter for TuiPrompter {
    fn ask_secret<'a>(
        &'a self,
        prompt: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, PromptError>> {
        Box::pin(async move {
            let request = PromptRequest::Secret {
                prompt: prompt.to_string(),
            };
            match self.ask(request).await? {
                PromptAnswer::Secret(secret) => Ok(secret),
                PromptAnswer::Confirm(_) | PromptAnswer::Cancelled => Err(PromptError::Cancelled),
            }
        })
    }

    fn confirm<'a>(
        &'a self,
        question: &'a str,
        default: bool,
    ) -> BoxFuture<'a, Result<bool, PromptError>> {
        Box::pin(async move {
            let request = PromptRequest::Confirm {
                question: question.to_string(),
                default,
            };
            match self.ask(request).await? {
                PromptAnswer::Confirm(yes) => Ok(yes),
                PromptAnswer::Secret(_) | PromptAnswer::Cancelled => Err(PromptError::Cancelled),
            }
        })
    }
}

/// Runs a command on the real terminal: the wizard suspends its screen, lets the backend
/// run the command, and takes the screen back.
pub(crate) struct TuiTerminal {
    pub(crate) requests: mpsc::UnboundedSender<BridgeRequest>,
}

impl TerminalHandover for TuiTerminal {
    fn run_in_terminal(&self, spec: CommandSpec) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        Box::pin(async move {
            let command = spec.display();
            let (reply, result) = oneshot::channel();
            if self
                .requests
                .send(BridgeRequest::Handover { spec, reply })
                .is_err()
            {
                return Err(RunError::Cancelled { command });
            }
            result.await.unwrap_or(Err(RunError::Cancelled { command }))
        })
    }
}
