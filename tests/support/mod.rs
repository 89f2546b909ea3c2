//! The one support module of every test binary (and of the benchmark): each declares it
//! once, as `#[allow(dead_code)] #[path = "../support/mod.rs"] mod support;`. A binary uses
//! only part of it, hence the `allow` at that declaration (and nowhere inside).
//!
//! Tests of one binary share a process. The secrets registry (`secrets::register`) is
//! process-wide, so every test registers a canary of its own that no other test uses;
//! process-wide settings that cannot be shared (the global tracing subscriber, the panic
//! hook, a lock holder) live in a child process of the binary (see `process::test_name`).

/// Removal through the pipeline with an explicit yes; observing without a front end.
pub mod consented;
/// The binary as the demo tests run it (`--demo --no-tui --non-interactive`).
pub mod demo;
/// The engine's facade over the simulated environment with real git.
pub mod e2e;
/// Fake step runners and temporary states for the orchestrator tests.
pub mod engine;
/// Engine events at fixed times (the builders the front ends' tests share).
pub mod events;
/// Synthetic event sequences and the printer for the headless tests.
pub mod headless;
/// One-at-a-time plans, the longest chain, the step running at a moment (test-only API).
pub mod plan_analysis;
/// Whether a process is alive; the name of a test for re-running it in a child.
pub mod process;
/// The real terminal: the binary in tmux.
pub mod pty;
/// A real demo run's events on a fixed clock, for the front ends' snapshots.
pub mod replay;
/// The simulated environment with its standard accounts.
pub mod sim;
/// Renderings, the CRD validator, the fake `gh`, workflow jobs.
pub mod templates;
/// The wizard's app, keys, rendering and the scripted fake backend.
pub mod tui;
