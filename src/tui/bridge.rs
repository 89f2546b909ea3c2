//! The prerequisite check asks questions and runs `az login` through the traits of the
//! prerequisite module. These route both to the wizard's loop: a question becomes a box on
//! screen ([`TuiPrompter`]); a login gets the terminal through a [`ScreenHandover`], which
//! the backend's handover uses to leave the screen around the command it runs. The wizard
//! never sees the command: what runs, and how, is the backend's business.

use std::future::Future;

use futures_core::future::BoxFuture;
use secrecy::SecretString;
use tokio::sync::{mpsc, oneshot};

use crate::prereq::{PromptError, Prompter};

use super::msg::{PromptAnswer, PromptRequest};

/// A request from the check to the wizard's loop.
pub(crate) enum BridgeRequest {
    Prompt {
        request: PromptRequest,
        reply: oneshot::Sender<PromptAnswer>,
    },
    /// Leave the screen, run `job` on the terminal, take the screen back.
    Handover { job: BoxFuture<'static, ()> },
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

/// The wizard's screen, lent to whatever needs the whole terminal (`az login`): the wizard
/// leaves its screen, lets the job run, and takes the screen back when it ends.
#[derive(Clone)]
pub struct ScreenHandover {
    requests: mpsc::UnboundedSender<BridgeRequest>,
}

impl ScreenHandover {
    pub(crate) fn new(requests: mpsc::UnboundedSender<BridgeRequest>) -> Self {
        Self { requests }
    }

    /// Run `job` with the terminal and return what it returned; `None` when the wizard is
    /// gone (then `job` is not run).
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (reply, result) = oneshot::channel();
        let job = Box::pin(async move {
            let _ = reply.send(job.await);
        });
        self.requests.send(BridgeRequest::Handover { job }).ok()?;
        result.await.ok()
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
        let screen = ScreenHandover::new(requests);
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let job_ran = ran.clone();
        let result = screen
            .run(async move { job_ran.store(true, std::sync::atomic::Ordering::SeqCst) })
            .await;
        assert_eq!(result, None);
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
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
