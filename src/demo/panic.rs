//! `KALYPSO_DEMO_PANIC=step` in the wizard: a panic inside an engine step.

use std::sync::Arc;

use crate::tools::runner::{BoxFuture, CommandOutput, CommandSpec, RunControl, RunError};
use crate::tools::CommandRunner;

use super::PANIC_VAR;

/// `helm upgrade` panics, inside the Helm step on an engine worker thread. The engine
/// reports the step as failed; the wizard keeps the terminal and shows the failure.
pub struct PanicOnHelmUpgrade(pub Arc<dyn CommandRunner>);

impl CommandRunner for PanicOnHelmUpgrade {
    fn run_with(
        &self,
        spec: CommandSpec,
        control: RunControl,
    ) -> BoxFuture<'_, Result<CommandOutput, RunError>> {
        if spec.program == "helm" && spec.args.iter().any(|arg| arg == "upgrade") {
            panic!("{PANIC_VAR}=step: a deliberate panic in the Helm step");
        }
        self.0.run_with(spec, control)
    }
}
