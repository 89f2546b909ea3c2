//! One adapter per external program over one [`CommandRunner`].
//!
//! Adapters build [`CommandSpec`]s (exposed as `*_spec` so dry-run can list them) and
//! interpret the tools' real output into typed values; a failure becomes a [`ToolError`]
//! whose [`ErrorClass`] (see [`classify`]) tells the engine whether to retry and the user
//! what to do. They never read the process environment: what they need (subscription,
//! token, kube context) is given to them. Cluster calls go through
//! [`kubectl::KubectlContext`] and [`helm::HelmContext`], which name their context on
//! every call.

pub mod az;
pub mod classify;
pub mod error;
mod exec;
pub mod gh;
pub mod git;
pub mod helm;
pub mod kubectl;
pub mod retry;
pub mod runner;
mod spawner;
pub mod version;

pub use classify::{classify, ErrorClass, RateLimitReset, ToolKind};
pub use error::{DeleteOutcome, ToolError};
pub use runner::{
    BoxFuture, CancellationToken, CommandOutput, CommandRunner, CommandSpec, EnvValue, LineSink,
    OutputCapture, OutputLine, ProcessRunner, RunControl, RunError, StdinData, Stream,
    STDERR_KEPT_BYTES,
};
pub use version::{Version, VersionParseError};
