//! The real steps of a run over the tool adapters (see [`BootstrapSteps`]).

use std::time::Duration;

use super::retry::{PollPolicy, RetryPolicy};

/// Waits, polls and retries of the steps.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTimings {
    /// Transient failures (rate limits, timeouts, 5xx).
    pub retry: RetryPolicy,
    /// `az aks show` until the new cluster has `Succeeded`.
    pub aks_provisioning: PollPolicy,
    /// Nodes Ready and kube-system pods running.
    pub cluster_ready: PollPolicy,
    /// `kubectl wait` for the Flux controllers.
    pub flux_wait: Duration,
    /// `helm upgrade --install --wait --timeout`.
    pub helm_timeout: Duration,
    /// The health checks (bounded wait, 5 minutes by default).
    pub health: PollPolicy,
}
