//! The command-line contract as a user sees it: flags, help, syntax errors.

use assert_cmd::Command;
use predicates::prelude::*;

/// Every flag the contract names (issue 2, section 1).
const CONTRACT_FLAGS: &[&str] = &[
    "--cluster-name",
    "--cluster-create",
    "--cluster-existing",
    "--cluster-region",
    "--cluster-resource-group",
    "--cluster-nodes",
    "--cluster-vm-size",
    "--cluster-k8s-version",
    "--cluster-network-plugin",
    "--control-plane-create",
    "--control-plane-repo",
    "--control-plane-name",
    "--gitops-create",
    "--gitops-repo",
    "--gitops-name",
    "--github-org",
    "--repo-visibility",
    "--namespace",
    "--helm-chart",
    "--helm-version",
    "--helm-values",
    "--skip-install",
    "--non-interactive",
    "--auto-rollback",
    "--skip-validation",
    "--skip-confirmation",
    "--config",
    "--state-file",
    "--force",
    "--verbose",
    "-v",
    "--quiet",
    "-q",
    "--no-color",
    "--log-file",
    "--no-tui",
    "--output",
    "--status",
    "--clean",
    "--validate-only",
    "--help",
    "--version",
    "--dry-run",
    "--export-config",
    "--explain",
];

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("kalypso-bootstrap").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

#[test]
fn help_lists_every_contract_flag() {
    let out = bin()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(out).unwrap();
    for flag in CONTRACT_FLAGS {
        let present = help
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '=')
            .any(|word| word == *flag);
        assert!(present, "--help does not list {flag}:\n{help}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    bin()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn syntax_errors_exit_64() {
    for args in [
        vec!["--bogus"],
        vec!["--cluster-name"],
        vec!["--cluster-nodes", "three"],
        vec!["--output", "xml"],
        vec!["--verbose", "--quiet"],
    ] {
        bin().args(&args).assert().code(64);
    }
}

#[test]
fn help_names_each_environment_variable_once() {
    let out = bin()
        .env("KALYPSO_CONFIG", "/tmp/some.yaml")
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    // clap wraps the help: join the lines before counting.
    let help = String::from_utf8(out)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for variable in [
        "KALYPSO_CONFIG",
        "KALYPSO_STATE_FILE",
        "KALYPSO_LOG_FILE",
        "KALYPSO_CLUSTER_NAME",
    ] {
        assert_eq!(
            help.matches(&format!("[env: {variable}")).count(),
            1,
            "{variable} is noted more than once (or not at all):\n{help}"
        );
    }
    // A value in the environment is not echoed into the help.
    assert!(!help.contains("/tmp/some.yaml"), "{help}");
}

#[test]
fn explain_prints_a_topic_lists_them_alone_and_refuses_an_unknown_one() {
    let topic = bin()
        .args(["--explain", "rate-limited"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let topic = String::from_utf8(topic).unwrap();
    assert!(topic.starts_with("Rate limited\n"), "{topic}");
    assert!(topic.contains("Fix: wait until the reset time"), "{topic}");

    let list = bin()
        .arg("--explain")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list = String::from_utf8(list).unwrap();
    for topic in kalypso_bootstrap::troubleshooting::Topic::ALL {
        assert!(
            list.contains(&format!("  {} ", topic.anchor())),
            "{topic:?}:\n{list}"
        );
    }

    bin()
        .args(["--explain", "no-such-topic"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "\"no-such-topic\" is not a troubleshooting topic",
        ))
        .stderr(predicate::str::contains("rate-limited"));
}
