//! The full-screen wizard (the default front end on a terminal): Welcome, Configuration
//! forms, Prerequisites, Plan, Dashboard, Failure with rollback, Summary.
//!
//! Structure:
//! - [`app`]: the state ([`App`]) and [`update`], the only place it changes. Pure: effects
//!   ([`msg::Effect`]) are returned, time arrives as messages.
//! - [`screens`]: [`render`], a pure function of the state, one module per screen.
//! - [`form`], [`checklist`], [`progress`], [`logbuf`]: the models behind the screens.
//! - [`backend`]: the seam to the rest of the program ([`WizardBackend`]).
//! - [`runtime`]: [`run`], the async loop over input, engine events, log records and ticks.
//! - [`terminal`]: the [`Tui`] guard and the panic hook that give the terminal back.
//!
//! ```no_run
//! # async fn demo(backend: std::sync::Arc<dyn kalypso_bootstrap::tui::WizardBackend>,
//! #               parsed: kalypso_bootstrap::config::lifecycle::Parsed) {
//! use kalypso_bootstrap::tui::{self, AppInputs, WizardOptions};
//! let inputs = AppInputs::new(parsed, "/home/me/.kalypso/state.json".into());
//! let code = tui::run(backend, inputs, WizardOptions::default()).await;
//! # let _ = code;
//! # }
//! ```

pub mod app;
pub mod backend;
mod bridge;
#[cfg(test)]
// The app's tests play the wizard's side of a screen handover.
pub(crate) use bridge::BridgeRequest;
pub mod checklist;
pub mod form;
mod input;
pub mod logbuf;
pub mod msg;
pub mod progress;
pub mod runtime;
pub mod screens;
pub mod terminal;
pub mod theme;

pub use app::{
    update, AfterFirstDraw, App, AppInputs, DashboardPane, Overlay, PlanState, Screen, MIN_HEIGHT,
    MIN_WIDTH,
};
pub use backend::{
    PrereqOutcome, PrereqRequest, PrereqUpdate, RollbackNotice, RunHandle, RunSteering, RunUpdate,
    WizardBackend,
};
pub use bridge::ScreenHandover;
pub use msg::{Effect, Msg, PromptAnswer, PromptRequest, Transition};
pub use runtime::{run, run_on, InputStream, Surface, WizardOptions};
pub use screens::failure::FailurePane;
pub use screens::render;
pub use terminal::{install_panic_hook, restore_terminal, terminal_taken, Tui};
