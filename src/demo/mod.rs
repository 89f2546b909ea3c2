//! `--demo`, all of it, at the edge: the simulated world a demo run works on (a runner,
//! paths and options for the engine), every `KALYPSO_DEMO_*` setting, the deliberate
//! failures and panics that show how the tool fails, and what the front ends say about
//! the simulated world. The engine and the front ends know nothing of the simulator: the
//! demo reaches the engine through its ordinary inputs and its [`StepWrapper`] seam, and
//! the wizard through [`AfterFirstDraw`].
//!
//! The simulator and this wiring are the cargo feature `demo` (on by default). A build
//! without it compiles the engine and the front ends without [`crate::sim`], and refuses
//! `--demo` with exit code 64.
//!
//! [`StepWrapper`]: crate::engine::StepWrapper
//! [`AfterFirstDraw`]: crate::tui::AfterFirstDraw

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::engine::{BootstrapOptions, BootstrapPaths};
use crate::tools::CommandRunner;
use crate::tui::AfterFirstDraw;
use crate::{ExitCode, UserError};

#[cfg(feature = "demo")]
mod failure;
#[cfg(feature = "demo")]
mod panic;
#[cfg(feature = "demo")]
mod stand_in;
#[cfg(feature = "demo")]
mod world;

#[cfg(feature = "demo")]
pub use failure::{fail_step, parse_demo_fail};
#[cfg(feature = "demo")]
pub use panic::PanicOnHelmUpgrade;
#[cfg(feature = "demo")]
pub use stand_in::{StandIn, StandInRunner, STAND_IN_SHELL};
#[cfg(feature = "demo")]
pub use world::{bootstrap_options, demo_paths, step_timings, Demo};

#[cfg(not(feature = "demo"))]
mod absent;
#[cfg(not(feature = "demo"))]
pub use absent::Demo;

/// How long the simulated tools take (see `sim::LATENCY_SYNTAX`): `zero` answers at once
/// (tests, CI), a list of rules changes the demo's latencies.
pub const LATENCY_VAR: &str = "KALYPSO_DEMO_LATENCY";
/// Extra output of simulated tools (`COMMAND=LINES,...`): a chatty child, for trying the
/// log tail and memory bounds. The lines are printed by a real child process (a stand-in).
pub const CHATTER_VAR: &str = "KALYPSO_DEMO_CHATTER";
/// `all`: every simulated command's answer is printed by a real child process (a stand-in)
/// through real pipes, as a real tool's is; `chatter` (the default): only the commands of
/// [`CHATTER_VAR`]'s rules.
pub const STAND_IN_VAR: &str = "KALYPSO_DEMO_STAND_IN";
/// `<step id>`: that step fails the way the real tools make it fail.
pub const FAIL_VAR: &str = "KALYPSO_DEMO_FAIL";
/// `owner/name=PATH[,owner/name=PATH...]`: repositories that exist in the simulated GitHub
/// before the run, every branch read from a local git repository or bundle, so "bring your
/// own" can be tried with one's own repository.
pub const REPOS_VAR: &str = "KALYPSO_DEMO_REPOS";
/// In the wizard, `step` makes the Helm step panic (on an engine worker); any other text
/// panics on the wizard's own thread after its first screen, with the text in the message.
pub const PANIC_VAR: &str = "KALYPSO_DEMO_PANIC";
/// The [`PANIC_VAR`] value that panics inside a step.
pub const PANIC_IN_STEP: &str = "step";

/// `PROGRAM[,PROGRAM...]` of az, gh, kubectl, helm: programs the simulated machine has not
/// installed (every call fails as a program not on PATH does), e.g. `az` to try a run on an
/// existing cluster with no Azure CLI at all.
pub const ABSENT_VAR: &str = "KALYPSO_DEMO_ABSENT";

/// A cluster of the user's own in the simulated world (a kind cluster: an API server and
/// its context in the simulated kubeconfig), for "Bring your own cluster" in the wizard and
/// `--demo --cluster-existing kind-kalypso-demo`.
pub const DEMO_EXISTING_CONTEXT: &str = "kind-kalypso-demo";

/// A second cluster of the user's own in the simulated world, without Flux, for
/// `--demo --workload-cluster kind-workload`: a kind cluster (`kind create cluster --name
/// workload`) and its context, added by [`world::Demo::add_workload_cluster`].
pub const DEMO_WORKLOAD_CONTEXT: &str = "kind-workload";

/// The cluster name of a `--demo` run when none is given.
pub const CLUSTER_NAME: &str = "kalypso-demo";

/// What a demo world is made from: the environment (for the `KALYPSO_DEMO_*` settings and
/// `TMPDIR`) and what the command line says.
pub struct DemoRequest<'a> {
    pub env: &'a HashMap<String, String>,
    /// `--state-file`: the simulated world is kept beside it for later runs.
    pub state_file: Option<&'a Path>,
    pub log_file: Option<&'a Path>,
    /// `--flux-version`, checked.
    pub flux_version: String,
    /// `AZURE_SUBSCRIPTION_ID`, when set: named on every az call, as in a real run.
    pub subscription: Option<String>,
}

/// A prepared demo: what the engine needs, and the demo itself for the front ends.
pub struct DemoWorld {
    pub runner: Arc<dyn CommandRunner>,
    pub paths: BootstrapPaths,
    pub options: BootstrapOptions,
    pub demo: Demo,
}

/// What the wizard runs with in a demo.
pub struct WizardDemo {
    /// The runner the engine uses (`KALYPSO_DEMO_PANIC=step` wraps it).
    pub runner: Arc<dyn CommandRunner>,
    /// `KALYPSO_DEMO_PANIC=<text>`: the panic on the wizard's thread.
    pub after_first_draw: Option<AfterFirstDraw>,
}

/// The prefix of a demo run's directory under `$TMPDIR` (a run without `--state-file`).
pub const DEMO_DIR_PREFIX: &str = "kalypso-demo-";
/// The state file's name inside that directory.
pub const DEMO_STATE_FILE: &str = "kalypso-bootstrap-state.json";

/// Where demo runs without `--state-file` make their directory: `$TMPDIR`, or the system's
/// temporary directory.
pub fn demo_base_dir(env: &HashMap<String, String>) -> std::path::PathBuf {
    env.get("TMPDIR")
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// The state file of the most recent demo run without `--state-file`: of the
/// `kalypso-demo-*` directories under [`demo_base_dir`] that are real directories (not
/// symlinks) owned by this user, the one whose state file was written last. No pointer
/// file is kept: the directories themselves are the record, so nothing else can go stale.
pub fn latest_demo_state(env: &HashMap<String, String>) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let entries = std::fs::read_dir(demo_base_dir(env)).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(DEMO_DIR_PREFIX))
        })
        .filter_map(|entry| {
            // symlink_metadata: a link named like ours is not followed.
            let dir = std::fs::symlink_metadata(entry.path()).ok()?;
            if !dir.is_dir() || dir.uid() != me {
                return None;
            }
            let state = entry.path().join(DEMO_STATE_FILE);
            let file = std::fs::symlink_metadata(&state).ok()?;
            if !file.is_file() || file.uid() != me {
                return None;
            }
            Some((file.modified().ok()?, state))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, state)| state)
}

/// `--demo` runs only in a build with the `demo` feature; checked before anything else.
pub fn check_available() -> Result<(), UserError> {
    if cfg!(feature = "demo") {
        Ok(())
    } else {
        Err(unavailable())
    }
}

fn unavailable() -> UserError {
    UserError::new(
        ExitCode::Usage,
        "--demo: this build of kalypso-bootstrap has no demo (it was built without the \
         `demo` cargo feature); use a build with the default features",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_runs_only_in_a_build_with_the_demo_feature() {
        assert_eq!(check_available().is_ok(), cfg!(feature = "demo"));
        let refusal = unavailable();
        assert_eq!(refusal.exit_code, ExitCode::Usage);
        assert!(
            refusal.message.starts_with("--demo:")
                && refusal.message.contains("`demo` cargo feature"),
            "{refusal}"
        );
    }
}
