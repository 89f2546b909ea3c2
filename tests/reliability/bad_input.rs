//! Bad input (issue 6, item 4): a table of invalid values from every source (flag,
//! `KALYPSO_*` environment variable, config file), unusable paths and unusable state files.
//! Each case gets the documented exit code (3 configuration rules, 64 command-line syntax,
//! 1 unusable state or log file), a message naming the field and the rule, and no side
//! effect: every file under the private HOME is byte-for-byte what it was before the run, so
//! no state file, backup, lock, log or simulated world (`X.demo/`) was written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

const TOKEN: &str = "ghp_BADinput0123456789abcdefghijKLMNOPQ";

/// Where the bad value comes from.
#[derive(Clone, Copy, Debug)]
enum Source {
    Flag,
    Env,
    File,
    StateFile,
}

struct Case {
    source: Source,
    /// Command-line arguments after the common ones; `{home}` is the private HOME.
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// Contents of `{home}/bootstrap.yaml`, passed with `--config`.
    config: Option<&'static str>,
    /// Contents of the state file `{home}/state.json` before the run.
    state: Option<&'static str>,
    /// `--state-file` when not `{home}/state.json`.
    state_file: Option<&'static str>,
    code: i32,
    /// Every one must appear in stderr: the field (or flag / file) and the rule.
    says: &'static [&'static str],
}

const fn flag(args: &'static [&'static str], code: i32, says: &'static [&'static str]) -> Case {
    Case {
        source: Source::Flag,
        args,
        env: &[],
        config: None,
        state: None,
        state_file: None,
        code,
        says,
    }
}

const fn env(
    env: &'static [(&'static str, &'static str)],
    code: i32,
    says: &'static [&'static str],
) -> Case {
    Case {
        source: Source::Env,
        args: &[],
        env,
        config: None,
        state: None,
        state_file: None,
        code,
        says,
    }
}

const fn file(config: &'static str, says: &'static [&'static str]) -> Case {
    Case {
        source: Source::File,
        args: &[],
        env: &[],
        config: Some(config),
        state: None,
        state_file: None,
        code: 3,
        says,
    }
}

const fn state(contents: &'static str, says: &'static [&'static str]) -> Case {
    Case {
        source: Source::StateFile,
        args: &[],
        env: &[],
        config: None,
        state: Some(contents),
        state_file: None,
        code: 1,
        says,
    }
}

const fn state_path(path: &'static str, says: &'static [&'static str]) -> Case {
    Case {
        source: Source::Flag,
        args: &[],
        env: &[],
        config: None,
        state: None,
        state_file: Some(path),
        code: 1,
        says,
    }
}

const LONG_NAME: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const LONG_REPO: &str = "repositories:\n  gitops:\n    name: rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\n";
const FUTURE_STATE: &str = r#"{"version": "99.0", "timestamp": "2026-01-01T00:00:00Z", "status": "completed", "errors": [], "steps": [], "resources": []}"#;
const TRUNCATED_STATE: &str = "{\n  \"version\": \"1.0\",\n  \"timestamp\": \"2026-01-01T00:00:00Z\",\n  \"status\": \"in_pro";

const MATCH_NAME: &str = "must match";
const CONFIG_RULE: &str = "configuration is invalid";
const SAME_REPO: &str = "names the same GitHub repository as";

fn cases() -> Vec<Case> {
    vec![
        // --- flags ---------------------------------------------------------------------
        flag(
            &["--cluster-name", "Bad_Name"],
            3,
            &["cluster.name", "--cluster-name", MATCH_NAME],
        ),
        flag(
            &["--cluster-name", ""],
            3,
            &["cluster.name", "must not be empty"],
        ),
        flag(
            &["--cluster-name", LONG_NAME],
            3,
            &["cluster.name", "70 characters", "{1,63}"],
        ),
        flag(
            &["--cluster-name", "kälypso"],
            3,
            &["cluster.name", "kälypso", MATCH_NAME],
        ),
        flag(
            &["--cluster-nodes", "0"],
            3,
            &["cluster.nodeCount", "between 1 and 100"],
        ),
        flag(
            &["--cluster-nodes", "101"],
            3,
            &["cluster.nodeCount", "between 1 and 100"],
        ),
        flag(
            &["--cluster-nodes", "abc"],
            64,
            &["--cluster-nodes", "invalid value 'abc'"],
        ),
        flag(
            &["--cluster-region", "mars"],
            3,
            &["cluster.region", "known Azure region"],
        ),
        flag(
            &["--cluster-resource-group", "bad/rg"],
            3,
            &["cluster.resourceGroup", MATCH_NAME],
        ),
        flag(
            &["--cluster-vm-size", "tiny"],
            3,
            &["cluster.vmSize", "must be an Azure VM size"],
        ),
        flag(
            &["--cluster-network-plugin", "calico"],
            3,
            &["cluster.networkPlugin", "azure or kubenet"],
        ),
        flag(
            &["--cluster-create", "maybe"],
            64,
            &["--cluster-create", "not a boolean"],
        ),
        flag(
            &["--repo-visibility", "secret"],
            3,
            &["repositories.visibility", "private or public"],
        ),
        flag(
            &["--namespace", "Bad_NS"],
            3,
            &["installation.namespace", "DNS-1123"],
        ),
        flag(
            &["--control-plane-repo", "git@github.com:acme/cp.git"],
            3,
            &["repositories.controlPlane.url", "SSH URLs are not accepted"],
        ),
        flag(
            &["--gitops-repo", "https://gitlab.com/acme/gitops"],
            3,
            &[
                "repositories.gitops.url",
                "the host is github.com",
                "--github-host gitlab.com",
            ],
        ),
        flag(
            &["--github-host", "https://ghe.example.test"],
            3,
            &[
                "repositories.githubHost",
                "https://ghe.example.test",
                "DNS host name",
                "give the host alone: ghe.example.test",
            ],
        ),
        flag(
            &[
                "--github-host",
                "ghe.example.test",
                "--control-plane-repo",
                "https://github.com/acme/cp",
            ],
            3,
            &[
                "repositories.controlPlane.url",
                "must be https://ghe.example.test/OWNER/NAME",
            ],
        ),
        flag(
            &["--control-plane-name", "bad!name"],
            3,
            &["repositories.controlPlane.name", MATCH_NAME],
        ),
        flag(
            &["--gitops-name", ""],
            3,
            &["repositories.gitops.name", "must not be empty"],
        ),
        flag(
            &["--github-org=-bad-"],
            3,
            &["repositories.githubOrg", "-bad-"],
        ),
        flag(
            &["--helm-values", "{home}/missing.yaml"],
            3,
            &["installation.helmValues", "must be an existing file"],
        ),
        flag(
            &["--helm-values", "{home}/a-dir"],
            3,
            &["installation.helmValues", "must be a file"],
        ),
        flag(
            &["--helm-values", "{home}/not-yaml.yaml"],
            3,
            &["installation.helmValues", "must be valid YAML"],
        ),
        flag(
            &["--helm-values", "{home}/a-list.yaml"],
            3,
            &["installation.helmValues", "YAML mapping"],
        ),
        flag(
            &["--flux-manifest", "{home}/missing.yaml"],
            3,
            &[
                "installation.fluxManifest",
                "missing.yaml",
                "must be an https:// URL or an existing regular file",
                "no such file",
            ],
        ),
        flag(
            &["--flux-manifest", "{home}/a-dir"],
            3,
            &["installation.fluxManifest", "directory or special file"],
        ),
        flag(
            &["--flux-manifest", "http://mirror.example.test/install.yaml"],
            3,
            &["installation.fluxManifest", "use https://"],
        ),
        flag(
            &["--config", "{home}/missing.yaml"],
            3,
            &["config file", "missing.yaml", "not found"],
        ),
        flag(
            &["--config", "{home}/a-dir"],
            3,
            &["config file", "is a directory"],
        ),
        flag(
            &["--log-file", "{home}/a-dir"],
            1,
            &["log file", "Is a directory"],
        ),
        flag(
            &["--log-file", "{home}/a-file/x.log"],
            1,
            &["log file", "Not a directory"],
        ),
        // Two names for one repository (issue 12, item 6): refused before anything runs.
        flag(
            &[
                "--cluster-name",
                "demo",
                "--control-plane-name",
                "cp",
                "--gitops-name",
                "cp",
            ],
            3,
            &[
                "repositories.gitops.name",
                "repositories.controlPlane.name",
                SAME_REPO,
            ],
        ),
        flag(
            &[
                "--cluster-name",
                "demo",
                "--control-plane-name",
                "cp",
                "--gitops-name",
                "CP",
            ],
            3,
            &[
                "repositories.gitops.name",
                "repositories.controlPlane.name",
                "ignores letter case",
            ],
        ),
        flag(
            &["--cluster-name", "demo", "--control-plane-name", "demo-gitops"],
            3,
            &[
                "repositories.controlPlane.name",
                "repositories.gitops.name",
                "the default {cluster-name}-gitops",
                SAME_REPO,
            ],
        ),
        flag(
            &["--cluster-name", "demo", "--gitops-name", "a.git"],
            3,
            &["repositories.gitops.name", "must not end in .git", "\"a\""],
        ),
        flag(
            &["--cluster-name", "demo", "--control-plane-repo", "https://github.com/acme/cp.git.git"],
            3,
            &["repositories.controlPlane.url", "must not end in .git"],
        ),
        flag(&["--bogus"], 64, &["unexpected argument '--bogus'"]),
        flag(
            &["--output", "yaml"],
            64,
            &["--output", "possible values: text, json"],
        ),
        flag(&["--state-file"], 64, &["--state-file"]),
        // --- environment ---------------------------------------------------------------
        env(
            &[("KALYPSO_CLUSTER_NAME", "Bad_Name")],
            3,
            &["cluster.name", "env KALYPSO_CLUSTER_NAME", MATCH_NAME],
        ),
        env(
            &[("KALYPSO_CLUSTER_NODES", "abc")],
            3,
            &["cluster.nodeCount", "KALYPSO_CLUSTER_NODES", "whole number"],
        ),
        env(
            &[("KALYPSO_CLUSTER_NODES", "0")],
            3,
            &["cluster.nodeCount", "between 1 and 100"],
        ),
        env(
            &[("KALYPSO_CLUSTER_REGION", "mars")],
            3,
            &[
                "cluster.region",
                "KALYPSO_CLUSTER_REGION",
                "known Azure region",
            ],
        ),
        env(
            &[("KALYPSO_CLUSTER_RESOURCE_GROUP", "rg with spaces")],
            3,
            &["cluster.resourceGroup", MATCH_NAME],
        ),
        env(
            &[("KALYPSO_CLUSTER_VM_SIZE", "x")],
            3,
            &["cluster.vmSize", "Azure VM size"],
        ),
        env(
            &[("KALYPSO_CLUSTER_NETWORK_PLUGIN", "calico")],
            3,
            &["cluster.networkPlugin", "azure or kubenet"],
        ),
        env(
            &[("KALYPSO_CLUSTER_CREATE", "maybe")],
            3,
            &["cluster.create", "true or false"],
        ),
        env(
            &[("KALYPSO_REPO_VISIBILITY", "secret")],
            3,
            &[
                "repositories.visibility",
                "KALYPSO_REPO_VISIBILITY",
                "private or public",
            ],
        ),
        env(
            &[("KALYPSO_NAMESPACE", "")],
            3,
            &["installation.namespace", "must not be empty"],
        ),
        env(
            &[(
                "KALYPSO_CONTROL_PLANE_REPO",
                "ssh://git@github.com/acme/cp.git",
            )],
            3,
            &[
                "repositories.controlPlane.url",
                "https://github.com/OWNER/NAME",
            ],
        ),
        env(
            &[("KALYPSO_GITOPS_NAME", "ü")],
            3,
            &["repositories.gitops.name", MATCH_NAME],
        ),
        env(
            &[("KALYPSO_GITHUB_ORG", "bad_org!")],
            3,
            &["repositories.githubOrg", "bad_org!"],
        ),
        env(
            &[("GH_HOST", "ghe.example.test:8443")],
            3,
            &["repositories.githubHost", "env GH_HOST", "ghe.example.test:8443"],
        ),
        env(
            &[("KALYPSO_GITHUB_HOST", "-ghe.example.test")],
            3,
            &["repositories.githubHost", "KALYPSO_GITHUB_HOST", "DNS host name"],
        ),
        env(
            &[("KALYPSO_HELM_VALUES", "{home}/missing.yaml")],
            3,
            &[
                "installation.helmValues",
                "KALYPSO_HELM_VALUES",
                "existing file",
            ],
        ),
        env(
            &[
                ("KALYPSO_CLUSTER_NAME", "demo"),
                ("KALYPSO_CONTROL_PLANE_REPO", "https://github.com/acme/shared"),
                ("KALYPSO_GITOPS_REPO", "https://github.com/ACME/Shared.git"),
            ],
            3,
            &[
                "repositories.gitops.url",
                "repositories.controlPlane.url",
                "ignores letter case",
            ],
        ),
        env(
            &[("KALYPSO_CONFIG", "{home}/missing.yaml")],
            3,
            &["config file", "not found"],
        ),
        env(
            &[("KALYPSO_STATE_FILE", "{home}/a-dir")],
            1,
            &["state file", "not a regular file"],
        ),
        // --- config file ---------------------------------------------------------------
        file(
            "cluster:\n  name: Bad_Name\n",
            &["cluster.name", "(from config file", MATCH_NAME],
        ),
        file(
            "cluster:\n  name: ''\n",
            &["cluster.name", "must not be empty"],
        ),
        file(
            "cluster:\n  nodeCount: many\n",
            &["cluster.nodeCount", "invalid type", "whole number"],
        ),
        file(
            "cluster:\n  nodeCount: 0\n",
            &["cluster.nodeCount", "between 1 and 100"],
        ),
        file(
            "cluster:\n  create: 'yes please'\n",
            &["cluster.create", "invalid type"],
        ),
        file(
            "cluster:\n  region: mars\n",
            &["cluster.region", "known Azure region"],
        ),
        file(
            "cluster:\n  resourceGroup: 'a/b'\n",
            &["cluster.resourceGroup", MATCH_NAME],
        ),
        file(
            "cluster:\n  vmSize: huge\n",
            &["cluster.vmSize", "Azure VM size"],
        ),
        file(
            "cluster:\n  networkPlugin: cilium\n",
            &["cluster.networkPlugin", "azure or kubenet"],
        ),
        file(
            "cluster:\n  nmae: x\n",
            &["unknown key `cluster.nmae`", "did you mean `name`"],
        ),
        file("bogus: 1\n", &["unknown key `bogus`", "valid keys here"]),
        file(
            "cluster:\n  name: [unclosed\n",
            &["config file", "YAML syntax error"],
        ),
        file(
            "- a\n- b\n",
            &["config file", "top level must be a mapping"],
        ),
        file(
            "repositories:\n  visibility: internal\n",
            &["repositories.visibility", "private or public"],
        ),
        file(
            "repositories:\n  controlPlane:\n    url: git@github.com:acme/cp.git\n",
            &["repositories.controlPlane.url", "SSH"],
        ),
        file(
            "repositories:\n  gitops:\n    url: 'https://github.com/acme'\n",
            &["repositories.gitops.url", "https://github.com/OWNER/NAME"],
        ),
        file(LONG_REPO, &["repositories.gitops.name", "{1,100}"]),
        file(
            "cluster:\n  name: demo\nrepositories:\n  githubOrg: Acme\n  controlPlane:\n    url: https://github.com/acme/cp\n  gitops:\n    name: cp\n",
            &[
                "repositories.gitops.name",
                "repositories.controlPlane.url",
                SAME_REPO,
            ],
        ),
        file(
            "repositories:\n  githubOrg: 'акме'\n",
            &["repositories.githubOrg", "акме"],
        ),
        file(
            "repositories:\n  githubHost: 'ghe example'\n",
            &["repositories.githubHost", "ghe example", "DNS host name"],
        ),
        file(
            "installation:\n  namespace: Kalypso\n",
            &["installation.namespace", "DNS-1123"],
        ),
        file(
            "installation:\n  helmValues: does-not-exist.yaml\n",
            &["installation.helmValues", "existing file"],
        ),
        file(
            "installation:\n  helmValues: a-dir\n",
            &["installation.helmValues", "must be a file"],
        ),
        // --- state file ----------------------------------------------------------------
        state(
            "{ this is not json",
            &["state file", "left untouched", "--force"],
        ),
        state(TRUNCATED_STATE, &["state file", "truncated"]),
        state("", &["state file", "is empty"]),
        state(
            FUTURE_STATE,
            &["state file", "newer kalypso-bootstrap", "\"99.0\""],
        ),
        state(
            r#"{"name": "someone else's file"}"#,
            &["not a kalypso-bootstrap state file", "no \"version\""],
        ),
        state(
            "[1, 2, 3]",
            &["not a kalypso-bootstrap state file", "array"],
        ),
        state_path("{home}/a-dir", &["state file", "not a regular file"]),
        state_path("{home}/a-file/state.json", &["a-file", "Not a directory"]),
    ]
}

/// Every file and directory under `root`: the bytes of each file (or why they cannot be
/// read), `Err("directory")` for a directory.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Result<Vec<u8>, String>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path.clone());
                found.insert(path, Err("directory".to_string()));
            } else {
                let bytes = std::fs::read(&path).map_err(|e| e.kind().to_string());
                found.insert(path, bytes);
            }
        }
    }
    found
}

fn fill(text: &str, home: &Path) -> String {
    text.replace("{home}", &home.display().to_string())
}

/// Runs one case; `Err` says what was wrong.
fn check(index: usize, case: &Case) -> Result<(), String> {
    let home = TempDir::new().unwrap();
    let root = home.path();
    std::fs::create_dir(root.join("a-dir")).unwrap();
    std::fs::write(root.join("a-file"), "plain file\n").unwrap();
    std::fs::write(root.join("not-yaml.yaml"), ": : [\n").unwrap();
    std::fs::write(root.join("a-list.yaml"), "- a\n- b\n").unwrap();
    let state_file = case
        .state_file
        .map(|path| fill(path, root))
        .unwrap_or_else(|| root.join("state.json").display().to_string());
    if let Some(contents) = case.state {
        std::fs::write(&state_file, contents).unwrap();
    }

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("TMPDIR", root)
        .env("GITHUB_TOKEN", TOKEN)
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .current_dir(root)
        .stdin(Stdio::null())
        .args(["--demo", "--no-tui", "--non-interactive"]);
    // KALYPSO_STATE_FILE is the state file's source in its own case.
    if !case
        .env
        .iter()
        .any(|(name, _)| *name == "KALYPSO_STATE_FILE")
    {
        cmd.arg("--state-file").arg(&state_file);
    }
    if let Some(config) = case.config {
        std::fs::write(root.join("bootstrap.yaml"), config).unwrap();
        cmd.arg("--config").arg(root.join("bootstrap.yaml"));
    }
    for (name, value) in case.env {
        cmd.env(name, fill(value, root));
    }
    for arg in case.args {
        cmd.arg(fill(arg, root));
    }

    let before = snapshot(root);
    let output = cmd.output().unwrap();
    let after = snapshot(root);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tag = format!(
        "case {index} ({:?}: args {:?} env {:?} config {:?} state {:?})",
        case.source, case.args, case.env, case.config, case.state
    );
    if output.status.code() != Some(case.code) {
        return Err(format!(
            "{tag}: exit {:?}, expected {}; stderr: {stderr}",
            output.status.code(),
            case.code
        ));
    }
    let missing: Vec<&&str> = case.says.iter().filter(|s| !stderr.contains(**s)).collect();
    if !missing.is_empty() {
        return Err(format!("{tag}: stderr lacks {missing:?}: {stderr}"));
    }
    if case.code == 3 && case.config.is_some() && !stderr.contains(CONFIG_RULE) {
        return Err(format!(
            "{tag}: not reported as a configuration problem: {stderr}"
        ));
    }
    if before != after {
        let changed: Vec<&PathBuf> = after
            .keys()
            .chain(before.keys())
            .filter(|path| before.get(*path) != after.get(*path))
            .collect();
        return Err(format!("{tag}: side effect on {changed:?}"));
    }
    if stderr.contains(TOKEN) || String::from_utf8_lossy(&output.stdout).contains(TOKEN) {
        return Err(format!("{tag}: the token was printed"));
    }
    Ok(())
}

#[test]
fn every_bad_input_gets_its_exit_code_a_clear_message_and_no_side_effect() {
    let cases = cases();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = cases.get(index) else { break };
                if let Err(failure) = check(index, case) {
                    failures.lock().unwrap().push(failure);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let by_source =
        |wanted: fn(&Source) -> bool| cases.iter().filter(|c| wanted(&c.source)).count();
    eprintln!(
        "bad input: {} cases tried ({} flag, {} env, {} config file, {} state file), {} passed",
        cases.len(),
        by_source(|s| matches!(s, Source::Flag)),
        by_source(|s| matches!(s, Source::Env)),
        by_source(|s| matches!(s, Source::File)),
        by_source(|s| matches!(s, Source::StateFile)),
        cases.len() - failures.len()
    );
    assert!(cases.len() >= 40);
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Raw terminal controls in `bytes`: ESC, BEL, carriage return, C1 CSI (as UTF-8), DEL.
fn raw_controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect()
}

fn quiet_bin(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("NO_COLOR", "1")
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .current_dir(home)
        .stdin(Stdio::null());
    cmd
}

/// Text from outside with terminal controls (issue 12, item 7) reaches stdout and stderr
/// only as visible escapes: an unknown config key, a kube context name (in the error that
/// lists the contexts, and in the --validate-only table), a `KALYPSO_DEMO_FAIL` value, and
/// error messages in the state file shown by --status (text and JSON). With NO_COLOR there
/// is no control character at all in the output.
#[test]
fn control_characters_from_outside_are_escaped_on_stdout_and_stderr() {
    let home = TempDir::new().unwrap();
    let root = home.path();
    let check = |stage: &str, output: &std::process::Output| {
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            assert_eq!(
                raw_controls(bytes),
                Vec::<char>::new(),
                "{stage} {stream}: {}",
                String::from_utf8_lossy(bytes)
            );
        }
    };

    // An unknown key that sets the terminal's title when printed raw.
    std::fs::write(
        root.join("bootstrap.yaml"),
        "\"\\e]0;TITLE\\a\\x9b\": 1\ncluster:\n  name: demo\n",
    )
    .unwrap();
    let output = quiet_bin(root)
        .args([
            "--demo",
            "--no-tui",
            "--non-interactive",
            "--dry-run",
            "--config",
        ])
        .arg(root.join("bootstrap.yaml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    check("unknown key", &output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\\u001b]0;TITLE\\u0007"), "{stderr}");

    // A kube context whose name carries an OSC sequence.
    let kubeconfig = root.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n\
         contexts:\n- name: \"ctx\\e]0;EVIL\\a\\x9b2J\"\n  context:\n    cluster: c\n    user: u\n\
         current-context: \"ctx\\e]0;EVIL\\a\\x9b2J\"\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let output = quiet_bin(root)
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "--non-interactive",
            "--dry-run",
            "--cluster-existing",
            "nope",
        ])
        .args(["--control-plane-name", "cp", "--gitops-name", "g"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    check("context in the config error", &output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("EVIL"));
    let output = quiet_bin(root)
        .env("PATH", root.join("no-tools"))
        .env("KUBECONFIG", &kubeconfig)
        .args(["--validate-only", "--non-interactive"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    check("--validate-only table", &output);

    let output = quiet_bin(root)
        .env("KALYPSO_DEMO_FAIL", "\u{1b}]0;STEP\u{7}")
        .args([
            "--demo",
            "--no-tui",
            "--non-interactive",
            "--cluster-name",
            "demo",
        ])
        .arg("--state-file")
        .arg(root.join("unused.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    check("KALYPSO_DEMO_FAIL", &output);

    // --status of a state whose recorded errors quote a tool.
    let state_file = root.join("state.json");
    let output = quiet_bin(root)
        .env("GITHUB_TOKEN", TOKEN)
        .env("KALYPSO_DEMO_FAIL", "gitops.label")
        .args([
            "--demo",
            "--no-tui",
            "--non-interactive",
            "--cluster-name",
            "demo",
        ])
        .arg("--state-file")
        .arg(&state_file)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    check("failed demo run", &output);
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    state["errors"]
        .as_array_mut()
        .expect("errors[]")
        .push(serde_json::json!("gh said \u{1b}]0;STATUS\u{7}\u{9b}2J\r"));
    std::fs::write(&state_file, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    for format in ["text", "json"] {
        let output = quiet_bin(root)
            // A demo's state is shown only with --demo (its world).
            .args(["--demo", "--status", "--output", format, "--state-file"])
            .arg(&state_file)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{format}");
        check(&format!("--status {format}"), &output);
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("STATUS"),
            "{format}"
        );
    }
}
