//! End to end on the simulated environment with real git: scenarios, failures and
//! rollback, dry run, the installation and pre-flight phases, and the behaviour behind the
//! performance figures.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod dry_run;
mod failures;
mod installation;
mod perf_behaviour;
mod preflight;
mod scenarios;
