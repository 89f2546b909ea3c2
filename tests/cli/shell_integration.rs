//! Shell integration as the shell and `man` see it: the completion script sourced in a real
//! bash and asked for candidates, the man page rendered by groff, and the version lines.
//! bash and groff are required (.ci/setup installs groff): a missing one fails these tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use kalypso_bootstrap::config::defaults::{HELM_CHART, HELM_VERSION};
use kalypso_bootstrap::prereq::tools::TOOL_REQUIREMENTS;
use kalypso_bootstrap::tools::kubectl::FLUX_VERSION;

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kalypso-bootstrap")
}

/// The binary with nothing of the caller's environment but PATH, and `home` as HOME.
fn bin(home: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(binary());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home);
    cmd
}

fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

/// Runs a tool these tests require; one that cannot be run fails the test with its install.
fn required_tool(tool: &str, install: &str) -> Command {
    if let Err(error) = Command::new(tool).arg("--version").output() {
        panic!("{tool} could not be run ({error}); install it with `{install}` (.ci/setup does)");
    }
    Command::new(tool)
}

/// Sources `script` in a non-interactive bash and calls the function it registered for
/// `kalypso-bootstrap` as bash's programmable completion does, the cursor at the end of the
/// last of `words`; returns COMPREPLY.
fn bash_complete(script: &Path, env: &[(&str, &Path)], words: &[&str]) -> Vec<String> {
    const DRIVER: &str = r#"
source "$1"; shift
spec=$(complete -p kalypso-bootstrap) || exit 90
function=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$spec")
[ -n "$function" ] || { echo "no -F function in: $spec" >&2; exit 91; }
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
"$function" kalypso-bootstrap "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let mut bash = required_tool("bash", "apt-get install bash");
    bash.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["--norc", "--noprofile", "-c", DRIVER, "bash"])
        .arg(script)
        .args(words);
    for (name, value) in env {
        bash.env(name, value);
    }
    let output = bash.output().unwrap();
    assert!(
        output.status.success(),
        "bash completion of {words:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_bash_script_completes_output_values_regions_booleans_shells_and_paths() {
    let home = tempfile::tempdir().unwrap();
    let script = home.path().join("kalypso-bootstrap.bash");
    std::fs::write(
        &script,
        stdout_of(bin(home.path()).args(["--completions", "bash"])),
    )
    .unwrap();
    let env = [("HOME", home.path())];
    let complete = |words: &[&str]| bash_complete(&script, &env, words);

    assert_eq!(
        complete(&["kalypso-bootstrap", "--output", ""]),
        ["text", "json"]
    );
    assert_eq!(complete(&["kalypso-bootstrap", "--output", "j"]), ["json"]);
    let west = complete(&["kalypso-bootstrap", "--cluster-region", "westu"]);
    assert_eq!(west, ["westus", "westus2", "westus3"]);
    let booleans = complete(&["kalypso-bootstrap", "--gitops-create", ""]);
    assert!(
        booleans.contains(&"true".to_string()) && booleans.contains(&"false".to_string()),
        "{booleans:?}"
    );
    assert_eq!(
        complete(&["kalypso-bootstrap", "--completions", ""]),
        ["bash", "zsh", "fish", "powershell", "elvish"]
    );
    assert_eq!(
        complete(&["kalypso-bootstrap", "--repo-visibility", "p"]),
        ["private", "public"]
    );
    // A file flag completes files; the prefix is the path typed so far.
    let configs = home.path().join("configs");
    std::fs::create_dir(&configs).unwrap();
    std::fs::write(configs.join("bootstrap.yaml"), "").unwrap();
    let typed = format!("{}/boot", configs.display());
    assert_eq!(
        complete(&["kalypso-bootstrap", "--config", &typed]),
        [format!("{}/bootstrap.yaml", configs.display())]
    );
    // And flags complete as flags.
    assert_eq!(
        complete(&["kalypso-bootstrap", "--cluster-ex"]),
        ["--cluster-existing"]
    );
}

#[test]
fn the_bash_script_offers_the_kube_contexts_of_the_kubeconfig_at_completion_time() {
    let home = tempfile::tempdir().unwrap();
    let script = home.path().join("kalypso-bootstrap.bash");
    std::fs::write(
        &script,
        stdout_of(bin(home.path()).args(["--completions", "bash"])),
    )
    .unwrap();
    let first = home.path().join("first");
    std::fs::write(
        &first,
        "contexts:\n- name: kind-dev\n  context: {cluster: kind-dev}\n- name: aks-prod\n",
    )
    .unwrap();
    let words = ["kalypso-bootstrap", "--cluster-existing", ""];
    let env = [("HOME", home.path()), ("KUBECONFIG", first.as_path())];
    assert_eq!(
        bash_complete(&script, &env, &words),
        ["kind-dev", "aks-prod"]
    );
    assert_eq!(
        bash_complete(
            &script,
            &env,
            &["kalypso-bootstrap", "--cluster-existing", "ak"]
        ),
        ["aks-prod"]
    );

    // Read on each TAB, not when the script was made: a changed kubeconfig is seen.
    let second = home.path().join("second");
    std::fs::write(&second, "contexts:\n- name: k3d-lab\n").unwrap();
    let env = [("HOME", home.path()), ("KUBECONFIG", second.as_path())];
    assert_eq!(bash_complete(&script, &env, &words), ["k3d-lab"]);

    // Without KUBECONFIG, ~/.kube/config, as kubectl reads it.
    std::fs::create_dir(home.path().join(".kube")).unwrap();
    std::fs::write(
        home.path().join(".kube/config"),
        "contexts:\n- name: from-home\n",
    )
    .unwrap();
    let env = [("HOME", home.path())];
    assert_eq!(bash_complete(&script, &env, &words), ["from-home"]);
}

/// `--completions`, `--man` and `--version` answer before the configuration, the state file
/// or the tools are touched: a broken config and state, no tool on PATH, and HOME left empty
/// (no log file, no state directory).
#[test]
fn completions_man_and_version_read_no_configuration_or_state_and_write_nothing() {
    let home = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("broken.yaml");
    std::fs::write(&config, "cluster: [unclosed\n").unwrap();
    let state = scratch.path().join("state.json");
    std::fs::write(&state, "not json").unwrap();
    let runs: [&[&str]; 8] = [
        &["--completions", "bash"],
        &["--completions", "zsh"],
        &["--completions", "fish"],
        &["--completions", "powershell"],
        &["--completions", "elvish"],
        &["--man"],
        &["--version"],
        &["--version", "--verbose"],
    ];
    for args in runs {
        let out = bin(home.path())
            .env("PATH", "")
            .env("KALYPSO_CONFIG", &config)
            .env("KALYPSO_STATE_FILE", &state)
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} wrote into HOME: {left:?}");
    }
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "not json");
}

#[test]
fn an_unknown_completion_shell_is_a_usage_error_naming_the_shells() {
    let home = tempfile::tempdir().unwrap();
    let out = bin(home.path())
        .args(["--completions", "tcsh"])
        .assert()
        .code(64)
        .get_output()
        .clone();
    let message = String::from_utf8_lossy(&out.stderr);
    for named in ["tcsh", "bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(message.contains(named), "{named} missing from {message}");
    }
}

/// groff's warnings (`-ww`: all of them) for `page`, and the page as text.
fn groff(page: &str) -> (String, String) {
    use std::io::Write;
    let mut child = required_tool("groff", "apt-get install groff-base")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "groff failed: {output:?}");
    (
        String::from_utf8(output.stderr).unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn the_man_page_renders_without_warnings_and_documents_flags_exit_status_and_environment() {
    let home = tempfile::tempdir().unwrap();
    let page = stdout_of(bin(home.path()).arg("--man"));
    assert!(page.contains(".TH kalypso-bootstrap 1"), "{page}");
    let (warnings, text) = groff(&page);
    assert_eq!(warnings, "", "groff warns about the man page");
    // groff -Tutf8 renders the roff minus of a flag as U+2212 or as '-' by locale.
    let text = text.replace(['\u{2212}', '\u{2010}'], "-");
    for expected in [
        "--cluster-existing",
        "--completions",
        "--man",
        "-V, --version",
        "EXIT STATUS",
        "invalid command-line syntax",
        "ENVIRONMENT",
        "KUBECONFIG",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

/// The check above can fail: groff -ww does report a broken page.
#[test]
fn groff_reports_a_broken_man_page() {
    let (warnings, _) = groff(".TH X 1\n.SH NAME\nx\n.NOSUCHMACRO\n");
    assert!(warnings.contains("NOSUCHMACRO"), "{warnings:?}");
}

#[test]
fn version_is_one_line() {
    let home = tempfile::tempdir().unwrap();
    for flag in ["--version", "-V"] {
        assert_eq!(
            stdout_of(bin(home.path()).arg(flag)),
            format!("kalypso-bootstrap {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// The commit this checkout is at, as `git` says, when the crate is the top of a checkout.
fn checkout_head() -> Option<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    (top.canonicalize().ok()? == Path::new(root).canonicalize().ok()?)
        .then(|| git(&["rev-parse", "HEAD"]))
        .flatten()
}

#[test]
fn verbose_version_adds_commit_pinned_versions_and_tool_minimums() {
    let home = tempfile::tempdir().unwrap();
    let long = stdout_of(bin(home.path()).args(["--version", "--verbose"]));
    for same in [
        vec!["-vV"],
        vec!["-V", "-v"],
        vec!["--verbose", "--version"],
    ] {
        assert_eq!(stdout_of(bin(home.path()).args(&same)), long, "{same:?}");
    }
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(
        lines[0],
        format!("kalypso-bootstrap {}", env!("CARGO_PKG_VERSION"))
    );
    let commit = match checkout_head() {
        Some(head) => head,
        None => "unknown (not built from a git checkout)".to_string(),
    };
    assert!(
        lines.contains(&format!("commit: {commit}").as_str()),
        "{long}"
    );
    assert!(long.contains(&format!("flux: {FLUX_VERSION} ")), "{long}");
    assert!(
        long.contains(&format!("chart: {HELM_CHART} {HELM_VERSION} ")),
        "{long}"
    );
    let minimums = lines
        .iter()
        .find_map(|line| line.strip_prefix("minimum tool versions: "))
        .unwrap_or_else(|| panic!("no minimum tool versions in {long}"));
    for tool in TOOL_REQUIREMENTS.iter().filter(|tool| tool.required()) {
        let expected = format!("{} {}", tool.name, tool.minimum().unwrap());
        assert!(
            minimums.split(", ").any(|entry| entry == expected),
            "{expected} missing from {minimums}"
        );
    }
    // -v alone is still --verbose, not the version.
    let verbose_run = bin(home.path())
        .args(["-v", "--explain"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(!String::from_utf8_lossy(&verbose_run).contains("kalypso-bootstrap 0"));
}

// ---- build.rs: where the commit comes from ----

#[path = "../../build.rs"]
#[allow(dead_code)]
mod build_script;

fn git_in(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn build_script_takes_head_of_the_crates_own_checkout_only() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_in(&repo, &["init", "-q"]);
    git_in(&repo, &["commit", "-q", "--allow-empty", "-m", "first"]);
    let head = git_in(&repo, &["rev-parse", "HEAD"]);
    assert_eq!(build_script::checkout_commit(&repo), Some(head));
    // A crate unpacked inside another repository is not built from that repository's HEAD.
    let nested = repo.join("target/package/crate-0.1.0");
    std::fs::create_dir_all(&nested).unwrap();
    assert_eq!(build_script::checkout_commit(&nested), None);
    // Outside any checkout: unknown, and no failure.
    let outside = dir.path().join("plain");
    std::fs::create_dir(&outside).unwrap();
    assert_eq!(build_script::checkout_commit(&outside), None);
}

#[test]
fn build_script_takes_the_commit_cargo_package_recorded() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(build_script::packaged_commit(dir.path()), None);
    let sha = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        dir.path().join(".cargo_vcs_info.json"),
        format!(r#"{{"git": {{"sha1": "{sha}"}}, "path_in_vcs": ""}}"#),
    )
    .unwrap();
    assert_eq!(
        build_script::packaged_commit(dir.path()).as_deref(),
        Some(sha)
    );
    std::fs::write(
        dir.path().join(".cargo_vcs_info.json"),
        r#"{"git": {"sha1": "not a commit"}}"#,
    )
    .unwrap();
    assert_eq!(build_script::packaged_commit(dir.path()), None);
}
