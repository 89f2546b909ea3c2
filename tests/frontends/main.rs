//! The two front ends of the engine's events: the full-screen wizard (update, every screen
//! as a snapshot, the real loop, the real binary in a terminal) and the headless printer
//! (text, JSON lines, prompts, prompts on a real terminal).

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
