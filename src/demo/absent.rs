//! A build without the `demo` feature: there is no simulated world, so there is no
//! [`Demo`] value (the type is empty) and `--demo` is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::tools::CommandRunner;

use super::{DemoRequest, DemoWorld, WizardDemo};
use crate::UserError;

/// No demo exists in this build: no value of this type can be made.
pub enum Demo {}

impl Demo {
    /// `--demo` in a build without the simulator: refused (exit 64).
    pub fn prepare(_request: DemoRequest<'_>) -> Result<DemoWorld, UserError> {
        Err(super::unavailable())
    }

    pub fn root(&self) -> &Path {
        match *self {}
    }

    pub fn kept_for_later_runs(&self) -> bool {
        match *self {}
    }

    pub fn announcement(&self) -> String {
        match *self {}
    }

    pub fn closing_note(&self) -> String {
        match *self {}
    }

    pub fn kube_contexts(&self) -> Result<(Vec<PathBuf>, Vec<String>), UserError> {
        match *self {}
    }

    pub fn wizard(&self, _runner: Arc<dyn CommandRunner>) -> WizardDemo {
        match *self {}
    }

    pub fn serve_github_on(&self, _host: &crate::config::GitHubHost) {
        match *self {}
    }

    pub fn play_workflows_for(&self, _configuration: &crate::config::Configuration) {
        match *self {}
    }
}
