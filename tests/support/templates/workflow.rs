//! The rendered GitHub workflows, read as the runner reads them: their jobs, steps and `env:`,
//! the command lines of their `run:` blocks (with the `gh workflow run` calls in them), and a
//! small runner that executes a job's `run:` steps with bash, the fake `gh` and the `if:`
//! conditions and step outputs the templates use.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kalypso_bootstrap::templates::{RenderedTemplates, RepoKind};
use regex::Regex;
use serde_yaml::Value;
use tempfile::TempDir;

use super::fake_gh::Gh;

/// One rendered workflow file and its parsed YAML.
pub struct Workflow {
    pub repo: RepoKind,
    pub branch: String,
    pub path: String,
    pub yaml: Value,
}

impl Workflow {
    /// `repo/branch/path`, for messages.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.repo.dir_name(), self.branch, self.path)
    }

    /// The file name under `.github/workflows/`, as `gh workflow run` names it.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap()
    }

    pub fn jobs(&self) -> Vec<(String, &Value)> {
        self.yaml["jobs"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{}: no jobs", self.name()))
            .iter()
            .map(|(name, job)| (name.as_str().unwrap().to_string(), job))
            .collect()
    }

    pub fn job(&self, name: &str) -> &Value {
        let job = &self.yaml["jobs"][name];
        assert!(job.is_mapping(), "{}: no job {name}", self.name());
        job
    }

    /// The inputs of its `workflow_dispatch` trigger: name → required.
    pub fn dispatch_inputs(&self) -> BTreeMap<String, bool> {
        let inputs = self.yaml["on"]["workflow_dispatch"]["inputs"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{} has no workflow_dispatch inputs", self.name()));
        inputs
            .iter()
            .map(|(name, input)| {
                (
                    name.as_str().unwrap().to_string(),
                    input["required"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }
}

/// Every workflow (`.github/workflows/*.yaml`) of a rendering.
pub fn workflows(rendered: &RenderedTemplates) -> Vec<Workflow> {
    let mut found = Vec::new();
    for repo in rendered.repos() {
        for branch in &repo.branches {
            for file in &branch.files {
                let in_workflows = file
                    .path
                    .strip_prefix(".github/workflows/")
                    .is_some_and(|name| !name.contains('/') && name.ends_with(".yaml"));
                if in_workflows {
                    let text = std::str::from_utf8(&file.contents).unwrap();
                    found.push(Workflow {
                        repo: repo.kind,
                        branch: branch.name.clone(),
                        path: file.path.clone(),
                        yaml: serde_yaml::from_str(text)
                            .unwrap_or_else(|error| panic!("{}: {error}", file.path)),
                    });
                }
            }
        }
    }
    found
}

/// The workflow `file_name` of `repo` (on whichever branch holds it).
pub fn workflow(rendered: &RenderedTemplates, repo: RepoKind, file_name: &str) -> Workflow {
    workflows(rendered)
        .into_iter()
        .find(|w| w.repo == repo && w.file_name() == file_name)
        .unwrap_or_else(|| panic!("{repo} has no workflow {file_name}"))
}

/// An `env:` mapping as strings (empty when absent).
pub fn env_of(node: &Value) -> BTreeMap<String, String> {
    let Some(mapping) = node["env"].as_mapping() else {
        return BTreeMap::new();
    };
    mapping
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(text) => text.clone(),
                other => serde_yaml::to_string(other).unwrap().trim().to_string(),
            };
            (name.as_str().unwrap().to_string(), value)
        })
        .collect()
}

/// The command lines of a `run:` block, each split into words as the shell would (quotes
/// removed, backslash-newline continuations joined, comments dropped) but with variables left
/// unexpanded.
pub fn command_lines(run: &str) -> Vec<Vec<String>> {
    let joined = run.replace("\\\n", " ");
    joined
        .lines()
        .map(split_words)
        .filter(|words| !words.is_empty())
        .collect()
}

fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '#' if word.is_none() => break,
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                current.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => current.extend(chars.next()),
                        c => current.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// A `gh workflow run FILE …` call in a `run:` block, its words as written (variables unexpanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    pub workflow_file: String,
    pub repo: Option<String>,
    pub git_ref: Option<String>,
    /// `-f name=value` fields, in order.
    pub fields: Vec<(String, String)>,
}

impl Dispatch {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Every `gh workflow run` call of a `run:` block. An option this parser does not know fails,
/// so a new option cannot slip past the checks built on it.
pub fn dispatches(run: &str) -> Vec<Dispatch> {
    let mut found = Vec::new();
    for words in command_lines(run) {
        let Some(start) = words
            .windows(3)
            .position(|w| w == ["gh", "workflow", "run"])
        else {
            continue;
        };
        let mut args = words[start + 3..].iter();
        let mut workflow_file = None;
        let mut dispatch = Dispatch {
            workflow_file: String::new(),
            repo: None,
            git_ref: None,
            fields: Vec::new(),
        };
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| panic!("{arg} without a value in {run}"))
                    .clone()
            };
            match arg.as_str() {
                "-f" | "--raw-field" | "-F" | "--field" => {
                    let field = value();
                    let (name, value) = field
                        .split_once('=')
                        .unwrap_or_else(|| panic!("-f {field} is not name=value"));
                    dispatch.fields.push((name.to_string(), value.to_string()));
                }
                "-R" | "--repo" => dispatch.repo = Some(value()),
                "-r" | "--ref" => dispatch.git_ref = Some(value()),
                flag if flag.starts_with('-') => panic!("unknown gh workflow run option {flag}"),
                file if workflow_file.is_none() => workflow_file = Some(file.to_string()),
                other => panic!("unexpected word {other} after gh workflow run"),
            }
        }
        dispatch.workflow_file = workflow_file.expect("gh workflow run names no workflow");
        found.push(dispatch);
    }
    found
}

/// What a word of a `run:` block stands for: a lone `$NAME` (or `${NAME}`) set by the step's
/// or job's `env:` becomes that value (an expression like `${{ inputs.x }}` or a literal);
/// anything else, such as a GitHub-provided `$GITHUB_SHA`, stays as written.
pub fn resolve_word(
    word: &str,
    step_env: &BTreeMap<String, String>,
    job_env: &BTreeMap<String, String>,
) -> String {
    let variable =
        Regex::new(r"^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$").unwrap();
    let Some(captures) = variable.captures(word) else {
        return word.to_string();
    };
    let name = captures.get(1).or(captures.get(2)).unwrap().as_str();
    step_env
        .get(name)
        .or(job_env.get(name))
        .cloned()
        .unwrap_or_else(|| word.to_string())
}

/// The outcome of one step.
#[derive(Debug)]
pub struct StepRun {
    pub name: String,
    pub ran: bool,
    pub success: bool,
    pub output: String,
}

/// The outcome of one job.
#[derive(Debug)]
pub struct JobRun {
    /// False when the job's `if:` skipped it.
    pub ran: bool,
    pub steps: Vec<StepRun>,
}

impl JobRun {
    /// A job succeeds when it was skipped or every step that ran succeeded.
    pub fn success(&self) -> bool {
        self.steps.iter().all(|step| step.success)
    }

    /// Everything the steps printed, for assertions and messages.
    pub fn output(&self) -> String {
        self.steps
            .iter()
            .map(|step| format!("--- {} (ran: {})\n{}", step.name, step.ran, step.output))
            .collect()
    }
}

/// Runs the `run:` steps of a job as the GitHub runner would: `bash -e`, the job's and step's
/// `env:` with `${{ … }}` filled in, GitHub's default variables, `$GITHUB_OUTPUT` feeding
/// `steps.<id>.outputs`, and `if:` conditions of the forms the templates use.
pub struct JobRunner<'a> {
    gh: &'a Gh,
    scratch: TempDir,
    workdir: PathBuf,
    github_env: BTreeMap<String, String>,
    expressions: BTreeMap<String, String>,
    fake_env: BTreeMap<String, String>,
}

impl<'a> JobRunner<'a> {
    pub fn new(gh: &'a Gh) -> Self {
        // gh applies --jq itself; the fake gh hands it to the real jq.
        let jq = Command::new("jq").arg("--version").output();
        assert!(
            jq.as_ref().is_ok_and(|output| output.status.success()),
            "jq could not be run ({jq:?}); install it with `apt-get install jq` (.ci/setup does)"
        );
        let scratch = tempfile::tempdir().unwrap();
        let workdir = scratch.path().join("workspace");
        fs::create_dir_all(&workdir).unwrap();
        Self {
            gh,
            scratch,
            workdir,
            github_env: BTreeMap::new(),
            expressions: BTreeMap::new(),
            fake_env: BTreeMap::new(),
        }
    }

    /// A GitHub-provided variable of the run, such as `GITHUB_SHA`.
    pub fn github(mut self, name: &str, value: &str) -> Self {
        assert!(name.starts_with("GITHUB_"), "{name}");
        self.github_env.insert(name.into(), value.into());
        self
    }

    /// The value of an expression such as `inputs.environment`, `secrets.X` or `github.token`.
    pub fn expression(mut self, expression: &str, value: &str) -> Self {
        self.expressions.insert(expression.into(), value.into());
        self
    }

    /// A variable for the fake `gh` (its canned answers).
    pub fn fake(mut self, name: &str, value: &str) -> Self {
        assert!(name.starts_with("FAKE_"), "{name}");
        self.fake_env.insert(name.into(), value.into());
        self
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    fn expression_value(&self, expression: &str, outputs: &BTreeMap<String, String>) -> String {
        if expression.starts_with("steps.") {
            // An output a step did not set is empty, as on GitHub.
            return outputs.get(expression).cloned().unwrap_or_default();
        }
        if expression.starts_with("secrets.") {
            // So is a secret that is not set.
            return self
                .expressions
                .get(expression)
                .cloned()
                .unwrap_or_default();
        }
        self.expressions
            .get(expression)
            .cloned()
            .unwrap_or_else(|| panic!("the test gives no value for ${{{{ {expression} }}}}"))
    }

    fn substitute(&self, text: &str, outputs: &BTreeMap<String, String>) -> String {
        let expression = Regex::new(r"\$\{\{\s*(.*?)\s*\}\}").unwrap();
        expression
            .replace_all(text, |captures: &regex::Captures| {
                self.expression_value(&captures[1], outputs)
            })
            .into_owned()
    }

    /// Evaluates `if:`; terms joined by `&&`, each `failure()`, `success()`, `always()` or
    /// `OPERAND == ''` / `OPERAND != ''`. Without a status function, `success()` is implied.
    fn condition(
        &self,
        condition: &str,
        env: &BTreeMap<String, String>,
        outputs: &BTreeMap<String, String>,
        failed: bool,
    ) -> bool {
        let comparison = Regex::new(r"^(\S+)\s*(==|!=)\s*''$").unwrap();
        let condition = condition.trim();
        let condition = condition
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(condition);
        let mut status_checked = false;
        let mut result = true;
        for term in condition.split("&&").map(str::trim) {
            let value = match term {
                "failure()" => {
                    status_checked = true;
                    failed
                }
                "success()" => {
                    status_checked = true;
                    !failed
                }
                "always()" => {
                    status_checked = true;
                    true
                }
                term => {
                    let captures = comparison
                        .captures(term)
                        .unwrap_or_else(|| panic!("the runner cannot evaluate if: {term}"));
                    let operand = &captures[1];
                    let value = match operand.strip_prefix("env.") {
                        Some(name) => env.get(name).cloned().unwrap_or_default(),
                        None => self.expression_value(operand, outputs),
                    };
                    (&captures[2] == "==") == value.is_empty()
                }
            };
            result &= value;
        }
        result && (status_checked || !failed)
    }

    /// Runs job `job_name` of `workflow`.
    pub fn run_job(&self, workflow: &Workflow, job_name: &str) -> JobRun {
        let job = workflow.job(job_name);
        let none = BTreeMap::new();
        if let Some(condition) = job["if"].as_str() {
            if !self.condition(condition, &none, &none, false) {
                return JobRun {
                    ran: false,
                    steps: Vec::new(),
                };
            }
        }
        let job_env: BTreeMap<String, String> = env_of(job)
            .into_iter()
            .map(|(name, value)| (name, self.substitute(&value, &none)))
            .collect();
        let mut outputs = BTreeMap::new();
        let mut failed = false;
        let mut steps = Vec::new();
        for (index, step) in job["steps"].as_sequence().unwrap().iter().enumerate() {
            let name = step["name"]
                .as_str()
                .map_or_else(|| format!("step {index}"), str::to_string);
            let run = step["run"].as_str().unwrap_or_else(|| {
                panic!(
                    "{}: {name}: the runner executes run: steps only",
                    workflow.name()
                )
            });
            let wanted = match step["if"].as_str() {
                Some(condition) => self.condition(condition, &job_env, &outputs, failed),
                None => !failed,
            };
            if !wanted {
                steps.push(StepRun {
                    name,
                    ran: false,
                    success: true,
                    output: String::new(),
                });
                continue;
            }
            let step_env: BTreeMap<String, String> = env_of(step)
                .into_iter()
                .map(|(name, value)| (name, self.substitute(&value, &outputs)))
                .collect();
            let script = self.scratch.path().join(format!("step-{index}.sh"));
            fs::write(&script, run).unwrap();
            let github_output = self.scratch.path().join(format!("output-{index}"));
            fs::write(&github_output, "").unwrap();
            let output = Command::new("bash")
                .args(["--noprofile", "--norc", "-e"])
                .arg(&script)
                .env_clear()
                .env("PATH", self.gh.path_env())
                .env("HOME", self.scratch.path())
                .env("FAKE_GH_LOG", self.gh.log())
                .envs(&self.fake_env)
                .envs(&self.github_env)
                .env("GITHUB_OUTPUT", &github_output)
                .envs(&job_env)
                .envs(&step_env)
                .current_dir(&self.workdir)
                .output()
                .expect("bash must be installed");
            if let Some(id) = step["id"].as_str() {
                for line in fs::read_to_string(&github_output).unwrap().lines() {
                    let (key, value) = line.split_once('=').unwrap_or_else(|| {
                        panic!("{name}: unsupported $GITHUB_OUTPUT line {line}")
                    });
                    outputs.insert(format!("steps.{id}.outputs.{key}"), value.to_string());
                }
            }
            let success = output.status.success();
            failed |= !success;
            steps.push(StepRun {
                name,
                ran: true,
                success,
                output: super::all_output(&output),
            });
        }
        JobRun { ran: true, steps }
    }
}
