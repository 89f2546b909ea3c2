//! End to end on the simulated environment with real git: scenarios, failures and
//! rollback, dry run, the installation and pre-flight phases, and the behaviour behind the
//! performance figures.
//!
//! Process-wide: the wizard's loop in `perf_behaviour` registers tokio's handlers for
//! SIGTERM, SIGHUP and SIGINT for the life of the process; no test here signals its own
//! process, and the programs they start get the default dispositions back when they exec.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod dry_run;
mod failures;
mod first_workload;
mod installation;
mod perf_behaviour;
mod preflight;
mod scenarios;
mod workloads;
