//! Reliability (issue 6): bad input, secret canaries, crash safety, the fault matrix, one
//! run per state file, timeouts and cancellation.
//!
//! Process-wide: the program's panic hook is installed only in a child process of this
//! binary (`canary::panicking_child`), never in the process that runs the other tests.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod canary;
mod crash;
mod faults;
mod lock;
mod timeouts;
