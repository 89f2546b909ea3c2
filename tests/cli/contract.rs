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
