//! Helpers shared by the template tests (tests/templates/) and the CLI's --render-templates
//! test: a rendering on disk, the CRD validator, a stand-in for `gh`, a runner for workflow
//! jobs and the listing of a rendered tree that the snapshot records.

pub mod crd;
pub mod fake_gh;
pub mod listing;
pub mod workflow;

use std::path::PathBuf;
use std::process::Output;

use kalypso_bootstrap::templates::{render, RenderedTemplates, RepoRef, TemplateContext};
use tempfile::TempDir;

/// The configuration of the issue: `--github-org acme --cluster-name demo --control-plane-name cp
/// --gitops-name go` (the cluster name has no placeholder: the AKS cluster hosts the control
/// plane and is not a Kalypso cluster type).
pub fn acme_context() -> TemplateContext {
    TemplateContext::new(RepoRef::new("acme", "cp"), RepoRef::new("acme", "go"))
}

/// A rendering written to a temporary `DIR/<repo>/<branch>/…`, as `--render-templates` lays it out.
pub struct Rendered {
    pub dir: TempDir,
    pub templates: RenderedTemplates,
}

impl Rendered {
    pub fn new(context: &TemplateContext) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let templates = render(context).unwrap();
        templates.write_rendered(dir.path()).unwrap();
        Self { dir, templates }
    }

    pub fn acme() -> Self {
        Self::new(&acme_context())
    }

    pub fn branch(&self, repo: &str, branch: &str) -> PathBuf {
        self.dir.path().join(repo).join(branch)
    }

    /// A helper script of the control plane's workflows.
    pub fn script(&self, name: &str) -> PathBuf {
        self.branch("control-plane", "main")
            .join(".github/workflows/utils")
            .join(name)
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn all_output(output: &Output) -> String {
    format!(
        "{}{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}
