//! Whether each kube context the wizard offers answers: one short `kubectl version` per
//! context, all at once, so the pick list can show which clusters are up before one is
//! chosen. Read-only; a context that does not answer is only reported, never an error.

use std::sync::Arc;

use serde::Serialize;

use crate::text::escape_controls;
use crate::tools::kubectl::Kubectl;
use crate::tools::runner::CommandRunner;
use crate::tools::{ToolError, Version};

/// What a context's API server said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Reachability {
    /// It answered, with its version.
    Reachable { version: Version },
    /// It did not answer in time, or refused us: kubectl's reason, first line.
    Unreachable { reason: String },
}

/// One context's probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContextProbe {
    pub context: String,
    pub reachability: Reachability,
}

/// Probe every context concurrently (each waits at most
/// [`crate::tools::kubectl::REACHABILITY_WAIT`]); results in the order of `contexts`.
pub async fn probe_contexts(
    runner: Arc<dyn CommandRunner>,
    contexts: Vec<String>,
) -> Vec<ContextProbe> {
    let kubectl = Kubectl::new(runner);
    let handles: Vec<_> = contexts
        .into_iter()
        .map(|context| {
            let kubectl = kubectl.with_context(context.clone());
            tokio::spawn(async move {
                let reachability = match kubectl.reachable().await {
                    Ok(version) => Reachability::Reachable { version },
                    Err(error) => Reachability::Unreachable {
                        reason: reason(&error),
                    },
                };
                ContextProbe {
                    context,
                    reachability,
                }
            })
        })
        .collect();
    let mut probes = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(probe) = handle.await {
            probes.push(probe);
        }
    }
    probes
}

/// The first line of what went wrong, without the command (the list names the context).
fn reason(error: &ToolError) -> String {
    let text = match error {
        ToolError::Failed { message, .. } | ToolError::NotAuthenticated { message, .. } => {
            message.clone()
        }
        other => other.to_string(),
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("no answer");
    escape_controls(&crate::secrets::redact(line)).into_owned()
}
