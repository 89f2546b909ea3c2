//! The layer under the engine: the process runner, the prerequisite check and version
//! parsing, the az/gh/kubectl/helm adapters and git, error classification, and the
//! contract tests against the real CLIs.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod adapters;
mod classify;
mod contract_cli;
mod git;
mod prereq_check;
mod prereq_command_runner;
mod prereq_versions;
