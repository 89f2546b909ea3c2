//! kalypso-bootstrap: from nothing to a working Kalypso Scheduler installation.

pub mod app;
pub mod cli;
pub mod color;
pub mod config;
pub mod contracts;
pub mod demo;
pub mod engine;
pub mod exit;
pub mod file_kind;
pub mod headless;
pub mod logging;
pub mod prereq;
pub mod schemas;
pub mod secrets;
pub mod shell_integration;
pub(crate) mod signals;
#[cfg(feature = "demo")]
pub mod sim;
pub mod state;
pub mod templates;
pub mod text;
pub mod tools;
pub mod troubleshooting;
pub mod tui;
pub mod user_error;

pub use exit::ExitCode;
pub use user_error::UserError;
