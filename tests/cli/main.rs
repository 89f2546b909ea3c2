//! The program as a user runs it: the real binary's flags, exit codes, demo runs (headless,
//! resumed, timed by its simulated latencies), secrets in children, the state file's errors,
//! the run report, shell integration (completion, man page, version), and the documentation
//! kept true to all of it.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod contract;
mod demo;
mod demo_duration;
mod demo_resume;
mod docs_truth;
mod exit_codes;
mod run_report;
mod schemas;
mod secrets;
mod shell_integration;
mod state_errors;
