//! The two front ends of the engine's events: the full-screen wizard (update, every screen
//! as a snapshot, the real loop, the real binary in a terminal) and the headless printer
//! (text, JSON lines, prompts, prompts on a real terminal).
//!
//! Process-wide: the wizard's loop (`tui_runtime`, in this process) registers tokio's
//! handlers for SIGTERM, SIGHUP and SIGINT, which stay for the life of the process. No test
//! here signals its own process, and the programs they start get the default dispositions
//! back when they exec, so these tests share the binary safely.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod headless_json;
mod headless_prompts;
mod headless_pty;
mod headless_text;
mod pty_wizard;
mod tui_runtime;
mod tui_snapshots;
mod tui_update;
