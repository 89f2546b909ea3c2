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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[tokio::test]
    async fn a_secret_question_goes_to_the_wizard_and_its_answer_comes_back() {
        let (requests, mut wizard) = mpsc::unbounded_channel();
        let prompter = TuiPrompter { requests };
        let answering = tokio::spawn(async move {
            match wizard.recv().await {
                Some(BridgeRequest::Prompt { request, reply }) => {
                    assert_eq!(
                        request,
                        PromptRequest::Secret {
                            prompt: "token?".into()
                        }
                    );
                    let _ = reply.send(PromptAnswer::Secret(Some(SecretString::from(
                        "s3cret-value".to_string(),
                    ))));
                }
                _ => panic!("expected a prompt"),
            }
        });
        let answer = prompter.ask_secret("token?").await.unwrap().unwrap();
        assert_eq!(answer.expose_secret(), "s3cret-value");
        answering.await.unwrap();
    }

    #[tokio::test]
    async fn without_a_wizard_questions_are_cancelled_and_commands_not_run() {
        let (requests, wizard) = mpsc::unbounded_channel();
        drop(wizard);
        let prompter = TuiPrompter {
            requests: requests.clone(),
        };
        assert!(matches!(
            prompter.confirm("sign in?", true).await,
            Err(PromptError::Cancelled)
        ));
        let terminal = TuiTerminal { requests };
        let result = terminal
            .run_in_terminal(CommandSpec::new("az").arg("login"))
            .await;
        assert!(
            matches!(result, Err(RunError::Cancelled { .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_cancelled_answer_is_a_cancelled_prompt() {
        let (requests, mut wizard) = mpsc::unbounded_channel();
        let prompter = TuiPrompter { requests };
        tokio::spawn(async move {
            if let Some(BridgeRequest::Prompt { reply, .. }) = wizard.recv().await {
                let _ = reply.send(PromptAnswer::Cancelled);
            }
        });
        assert!(matches!(
            prompter.confirm("sign in?", true).await,
            Err(PromptError::Cancelled)
        ));
    }
}
