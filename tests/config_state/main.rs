//! What the program reads and records: the configuration (sample, files, precedence of
//! flag, environment and file), the state file (store, lock against a second process,
//! `--status`), and both loaders fuzzed.
//!
//! The lock's second holder is a child process of this binary
//! (`state_lock::lock_holder_process`): a lock held in this process would not contend.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod config_file;
mod config_precedence;
mod fuzz_loaders;
mod state_lock;
mod state_status;
mod state_store;
