//! Embedding and rendering of the repository templates.

use std::fs;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::context::{RepoRef, TemplateContext};
use super::structure::{self, BranchKind, RepoKind};
use super::TemplateError;

static SOURCES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Opens a placeholder: `[[= namespace =]]`. None of our delimiters can occur in GitHub
/// expressions, shell code, Markdown or Kalypso's Go templates, and all are valid in file
/// names on every platform (paths may carry placeholders too).
pub const VARIABLE_START: &str = "[[=";
pub const VARIABLE_END: &str = "=]]";
/// Block and comment delimiters; the templates use neither, but the engine needs them set
/// so that its defaults (`{%`, `{#`) do not capture shell code such as `${#list[@]}`.
pub const BLOCK_START: &str = "[[%";
pub const BLOCK_END: &str = "%]]";
pub const COMMENT_START: &str = "[[#";
pub const COMMENT_END: &str = "#]]";

/// Every placeholder name the templates may use.
pub const VARIABLES: &[&str] = &[
    "control_plane_url",
    "control_plane_repo",
    "control_plane_owner",
    "control_plane_name",
    "gitops_url",
    "gitops_repo",
    "gitops_owner",
    "gitops_name",
    "namespace",
    "environment",
    "cluster_type",
];

/// One embedded template source, before rendering.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile {
    pub repo: RepoKind,
    pub branch: BranchKind,
    /// Path relative to the branch root, `/`-separated; may contain placeholders.
    pub path: &'static str,
    pub contents: &'static [u8],
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// The files of one branch, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBranch {
    pub kind: BranchKind,
    /// The git branch name (`main`, or the environment's name).
    pub name: String,
    pub files: Vec<RenderedFile>,
}

impl RenderedBranch {
    pub fn file(&self, path: &str) -> Option<&RenderedFile> {
        self.files.iter().find(|file| file.path == path)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|file| file.path.as_str())
    }
}

/// The branches of one repository: `main` first, then one branch per environment, in
/// promotion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedRepo {
    pub kind: RepoKind,
    pub repo: RepoRef,
    pub branches: Vec<RenderedBranch>,
}

impl RenderedRepo {
    /// The first branch of this kind: `main`, or the first environment's branch.
    pub fn branch(&self, kind: BranchKind) -> &RenderedBranch {
        self.branches
            .iter()
            .find(|branch| branch.kind == kind)
            .expect("render produces every branch kind")
    }

    /// The branch named `name` (`main` or an environment).
    pub fn branch_named(&self, name: &str) -> Option<&RenderedBranch> {
        self.branches.iter().find(|branch| branch.name == name)
    }

    /// The environment branches, in promotion order.
    pub fn environment_branches(&self) -> impl Iterator<Item = &RenderedBranch> {
        self.branches
            .iter()
            .filter(|branch| branch.kind == BranchKind::Environment)
    }
}

/// Both repositories, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedTemplates {
    pub control_plane: RenderedRepo,
    pub gitops: RenderedRepo,
}

impl RenderedTemplates {
    pub fn repo(&self, kind: RepoKind) -> &RenderedRepo {
        match kind {
            RepoKind::ControlPlane => &self.control_plane,
            RepoKind::Gitops => &self.gitops,
        }
    }

    pub fn repos(&self) -> [&RenderedRepo; 2] {
        [&self.control_plane, &self.gitops]
    }

    /// Writes `DIR/control-plane/main/…`, `DIR/control-plane/<env>/…`, `DIR/gitops/main/…`
    /// and `DIR/gitops/<env>/…`, scripts with mode 0755 and everything else 0644 (on Unix).
    /// Refuses to write into a branch directory that already has content, so a stale file
    /// from an earlier render can never be mistaken for part of this one. Returns the
    /// branch directories written.
    pub fn write_rendered(&self, dir: &Path) -> Result<Vec<PathBuf>, TemplateError> {
        let mut targets = Vec::new();
        for repo in self.repos() {
            for branch in &repo.branches {
                let target = dir.join(repo.kind.dir_name()).join(&branch.name);
                ensure_empty_or_absent(&target)?;
                targets.push((target, branch));
            }
        }
        let mut written = Vec::new();
        for (target, branch) in targets {
            for file in &branch.files {
                let path = target.join(&file.path);
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
                }
                fs::write(&path, &file.contents).map_err(|source| io_error(&path, source))?;
                set_executable(&path, file.executable)?;
            }
            if branch.files.is_empty() {
                fs::create_dir_all(&target).map_err(|source| io_error(&target, source))?;
            }
            written.push(target);
        }
        Ok(written)
    }
}

/// All embedded template sources, per repository and branch, sorted by path.
pub fn sources() -> Vec<SourceFile> {
    let mut sources = Vec::new();
    for repo in RepoKind::ALL {
        for branch in BranchKind::ALL {
            let root = format!("{}/{}", repo.dir_name(), branch.source_dir());
            let Some(dir) = SOURCES.get_dir(&root) else {
                continue;
            };
            let mut files = Vec::new();
            collect_files(dir, &mut files);
            for file in files {
                let full = file.path().to_str().expect("template paths are UTF-8");
                let path = full
                    .strip_prefix(root.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                    .expect("an embedded file lies below its branch directory");
                sources.push(SourceFile {
                    repo,
                    branch,
                    path,
                    contents: file.contents(),
                });
            }
        }
    }
    sources.sort_by(|a, b| (a.repo, a.branch, a.path).cmp(&(b.repo, b.branch, b.path)));
    sources
}

fn collect_files(dir: &'static Dir<'static>, out: &mut Vec<&'static include_dir::File<'static>>) {
    out.extend(dir.files());
    for sub in dir.dirs() {
        collect_files(sub, out);
    }
}

/// Renders every embedded template with `context` (validated first). Each repository gets
/// `main`, then one branch per environment in promotion order, each rendered with its own
/// environment. On `main`, `environment` is the first environment, except in a file whose
/// path names the environment (`.environments/[[= environment =]].yaml`): that one is
/// rendered once per environment.
pub fn render(context: &TemplateContext) -> Result<RenderedTemplates, TemplateError> {
    context.validate()?;
    let engine = engine();
    let sources = sources();
    let render_repo = |kind: RepoKind, repo: &RepoRef| -> Result<RenderedRepo, TemplateError> {
        let render_file = |source: &SourceFile,
                           environment: &str,
                           files: &mut Vec<RenderedFile>|
         -> Result<(), TemplateError> {
            let values = variables(context, environment);
            let name = format!(
                "{}/{}/{}",
                kind.dir_name(),
                source.branch.source_dir(),
                source.path
            );
            let path = render_text(&engine, &name, source.path, &values)?;
            let text =
                std::str::from_utf8(source.contents).map_err(|_| TemplateError::NotText {
                    template: name.clone(),
                })?;
            let contents = render_text(&engine, &name, text, &values)?.into_bytes();
            let executable = structure::is_executable(kind, source.branch, &path);
            files.push(RenderedFile {
                path,
                contents,
                executable,
            });
            Ok(())
        };
        let of_branch = |branch: BranchKind| {
            sources
                .iter()
                .filter(move |s| s.repo == kind && s.branch == branch)
        };
        let mut main = Vec::new();
        for source in of_branch(BranchKind::Main) {
            if names_the_environment(source.path) {
                for environment in &context.environments {
                    render_file(source, environment, &mut main)?;
                }
            } else {
                render_file(source, context.first_environment(), &mut main)?;
            }
        }
        main.sort_by(|a, b| a.path.cmp(&b.path));
        let mut branches = vec![RenderedBranch {
            kind: BranchKind::Main,
            name: structure::MAIN_BRANCH.to_string(),
            files: main,
        }];
        for environment in &context.environments {
            let mut files = Vec::new();
            for source in of_branch(BranchKind::Environment) {
                render_file(source, environment, &mut files)?;
            }
            files.sort_by(|a, b| a.path.cmp(&b.path));
            branches.push(RenderedBranch {
                kind: BranchKind::Environment,
                name: environment.clone(),
                files,
            });
        }
        Ok(RenderedRepo {
            kind,
            repo: repo.clone(),
            branches,
        })
    };
    Ok(RenderedTemplates {
        control_plane: render_repo(RepoKind::ControlPlane, &context.control_plane)?,
        gitops: render_repo(RepoKind::Gitops, &context.gitops)?,
    })
}

/// Whether a template path holds the `environment` placeholder (with any spacing).
fn names_the_environment(path: &str) -> bool {
    path.split(VARIABLE_START).skip(1).any(|rest| {
        rest.split(VARIABLE_END)
            .next()
            .is_some_and(|name| name.trim() == "environment")
    })
}

fn engine() -> Environment<'static> {
    let syntax = SyntaxConfig::builder()
        .variable_delimiters(VARIABLE_START, VARIABLE_END)
        .block_delimiters(BLOCK_START, BLOCK_END)
        .comment_delimiters(COMMENT_START, COMMENT_END)
        .keep_trailing_newline(true)
        .build()
        .expect("the template delimiters are distinct");
    // `empty()`: no filters, tests or functions; the templates only substitute values.
    let mut engine = Environment::empty();
    engine.set_syntax(syntax);
    engine.set_auto_escape_callback(|_| AutoEscape::None);
    // A misspelt placeholder is an error, never an empty string in a pushed file.
    engine.set_undefined_behavior(UndefinedBehavior::Strict);
    engine
}

fn variables(context: &TemplateContext, environment: &str) -> Value {
    let cp = &context.control_plane;
    let gitops = &context.gitops;
    minijinja::context! {
        control_plane_url => cp.url(),
        control_plane_repo => cp.slug(),
        control_plane_owner => cp.owner.clone(),
        control_plane_name => cp.name.clone(),
        gitops_url => gitops.url(),
        gitops_repo => gitops.slug(),
        gitops_owner => gitops.owner.clone(),
        gitops_name => gitops.name.clone(),
        namespace => context.namespace.clone(),
        environment => environment.to_string(),
        cluster_type => context.cluster_type.clone(),
    }
}

fn render_text(
    engine: &Environment<'static>,
    name: &str,
    text: &str,
    values: &Value,
) -> Result<String, TemplateError> {
    engine
        .render_named_str(name, text, values.clone())
        .map_err(|source| TemplateError::Render {
            template: name.to_string(),
            source,
        })
}

fn ensure_empty_or_absent(path: &Path) -> Result<(), TemplateError> {
    match fs::read_dir(path) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(TemplateError::TargetNotEmpty {
                    path: path.to_path_buf(),
                })
            } else {
                Ok(())
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_error(path, source)),
    }
}

#[cfg(unix)]
fn set_executable(path: &Path, executable: bool) -> Result<(), TemplateError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|source| io_error(path, source))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path, _executable: bool) -> Result<(), TemplateError> {
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> TemplateError {
    TemplateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_one(source: &str, values: Value) -> Result<String, TemplateError> {
        render_text(&engine(), "test", source, &values)
    }

    #[test]
    fn only_our_delimiters_are_replaced() {
        let source = "a: [[= namespace =]]\n\
                      b: ${{ secrets.X }} {{ .Namespace }} {{- toYaml .ConfigData | nindent 2 }}\n\
                      c: $HOME ${HOME} ${#list[@]} \"${list[@]}\" {% raw %} {# x #} [[ -n \"$a\" ]]\n";
        let out = render_one(
            source,
            minijinja::context! { namespace => "kalypso-system" },
        )
        .unwrap();
        assert_eq!(out, source.replace("[[= namespace =]]", "kalypso-system"));
    }

    #[test]
    fn the_trailing_newline_is_kept() {
        let out = render_one("x\n\n", minijinja::context! {}).unwrap();
        assert_eq!(out, "x\n\n");
    }

    #[test]
    fn values_are_not_escaped() {
        let out = render_one("[[=v=]]", minijinja::context! { v => "<a & \"b\">" }).unwrap();
        assert_eq!(out, "<a & \"b\">");
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_naming_the_template() {
        let error = render_one(
            "[[= namepsace =]]",
            minijinja::context! { namespace => "x" },
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("template test"), "{message}");
        assert!(message.contains("undefined"), "{message}");
    }
}
