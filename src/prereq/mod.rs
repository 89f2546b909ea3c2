//! The Prerequisites entity (`--validate-only`): tool probes, versions, authentication.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use kalypso_bootstrap::prereq::{self, Interaction, PrereqEnv};
//! use kalypso_bootstrap::tools::{CommandRunner, ProcessRunner};
//!
//! let runner: Arc<dyn CommandRunner> = Arc::new(ProcessRunner::new());
//! let env = PrereqEnv::from_process_env();
//! let interaction = Interaction::terminal(runner.clone()); // or Interaction::NonInteractive
//! let report = prereq::check(runner, &env, &interaction).await;
//! print!("{}", report.render_text());
//! if !report.passed() {
//!     std::process::exit(report.exit_code().code()); // 2 (or 7 if a prompt was cancelled)
//! }
//! let token = report.github_token(); // verified, registered, for later steps
//! # let _ = token;
//! # }
//! ```

mod check;
pub mod contexts;
pub mod env;
pub mod interaction;
pub mod minimums;
pub mod report;
pub mod tools;

pub use check::{check, check_reporting, check_with, LiveRow, AZ_LOGIN_QUESTION};
pub use contexts::{probe_contexts, ContextProbe, Reachability};
pub use env::{AzureUse, PrereqEnv};
pub use interaction::{
    InheritedTerminal, Interaction, PromptError, Prompter, TerminalHandover, TerminalPrompter,
};
pub use report::{
    AuthCheck, AuthCheckKind, AzureIdentity, GithubIdentity, PrereqReport, TokenSource, ToolCheck,
    Verdict,
};
/// The prerequisite verdict under `--skip-validation` (headless and wizard alike).
pub const SKIPPED_SUMMARY: &str =
    "Prerequisites: SKIPPED (--skip-validation): tools and sign-in were not checked";

pub use tools::{evaluate_tool, InstallHint, Need, ToolRequirement, TOOL_REQUIREMENTS};
