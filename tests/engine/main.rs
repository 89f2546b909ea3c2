//! The orchestrator, retries and rollback over fake steps. Kept apart from the end-to-end
//! tests (tests/e2e): several of these measure how promptly steps are scheduled, and the
//! heavier simulated runs with real git in the same process would only add noise.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod orchestrator;
mod plan_analysis;
mod retry;
mod rollback;
