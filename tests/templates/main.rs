//! The repository templates: rendering, CRD validation, the helper scripts run for real,
//! and the workflows (linted, wired, their decisive `run:` blocks executed).

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod crd;
mod flux_objects;
mod render;
mod scripts;
mod workflow_lint;
mod workflow_runs;
mod workflow_wiring;
