//! The contents pushed into newly created control-plane and gitops repositories.
//!
//! The sources live in the crate's `templates/` directory and are embedded in the binary, so
//! an installed binary needs no checkout. [`render`] fills in the placeholders of a
//! [`TemplateContext`] and returns, per repository and branch, each file's path, bytes and
//! executable bit; [`RenderedTemplates::write_rendered`] lays them out as
//! `DIR/<repo>/<branch>/…`. The engine pushes exactly what [`render`] returns.
//!
//! Placeholders use `[[= name =]]` (see [`VARIABLE_START`]) so that GitHub expressions
//! (`${{ … }}`), shell variables (`$VAR`, `${VAR}`) and Kalypso's Go-template placeholders
//! (`{{ .Namespace }}` …) pass through byte for byte. [`structure`] holds what each branch
//! must contain, shared with the validation of existing repositories.

mod context;
mod render;
pub mod structure;

use std::path::PathBuf;

pub use context::{RepoRef, TemplateContext};
pub use render::{
    render, sources, RenderedBranch, RenderedFile, RenderedRepo, RenderedTemplates, SourceFile,
    BLOCK_END, BLOCK_START, COMMENT_END, COMMENT_START, VARIABLES, VARIABLE_END, VARIABLE_START,
};
pub use structure::{BranchKind, RepoKind, Requirement};

use crate::exit::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("invalid {field} {value:?}: {rule}")]
    InvalidValue {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("template {template} could not be rendered: {source}")]
    Render {
        template: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("embedded template {template} is not UTF-8 text")]
    NotText { template: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} already exists and is not empty; render into a new or empty directory", path.display())]
    TargetNotEmpty { path: PathBuf },
}

impl TemplateError {
    /// Bad input is a configuration error; anything else is a general failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            TemplateError::InvalidValue { .. } => ExitCode::ConfigInvalid,
            _ => ExitCode::General,
        }
    }
}
