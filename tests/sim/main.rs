//! The simulated az, gh, git, kubectl and helm: their state, argv parsing, faults and
//! latencies, against the real tools' behaviour.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod actions;
mod azure;
mod faults;
mod github;
mod kube;
mod latency;
mod usage;
mod workload;
