//! The GitHub token reaches only the children that need it, and only by environment:
//! checked with stand-in tools on PATH that record their argv and environment.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

const CANARY: &str = "ghp_ENVcanary0123456789abcdefghijklmnop";

/// A stand-in for `name` that appends its argv and environment to `dump/name.log` and
/// answers the version query the prerequisite check makes.
fn stand_in(bin: &Path, dump: &Path, name: &str, answer: &str) {
    let script = format!(
        "#!/bin/sh\n{{ echo \"ARGV $*\"; /usr/bin/env; echo ---; }} >> '{}/{name}.log'\n{answer}\n",
        dump.display()
    );
    let path = bin.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn only_gh_gets_the_token_and_only_as_gh_token() {
    let home = TempDir::new().unwrap();
    let bin = TempDir::new().unwrap();
    let dump = TempDir::new().unwrap();
    stand_in(
        bin.path(),
        dump.path(),
        "az",
        "echo '{\"azure-cli\": \"2.91.0\"}'",
    );
    stand_in(
        bin.path(),
        dump.path(),
        "kubectl",
        "echo '{\"clientVersion\": {\"gitVersion\": \"v1.37.1\"}}'",
    );
    stand_in(bin.path(), dump.path(), "helm", "echo 'v3.17.2+gcc0bbbd'");
    stand_in(
        bin.path(),
        dump.path(),
        "gh",
        "case \"$1\" in --version) echo 'gh version 2.103.3 (2026-10-26)';; api) echo '{\"login\": \"octocat\"}';; *) exit 1;; esac",
    );
    stand_in(bin.path(), dump.path(), "git", "echo 'git version 2.47.3'");

    Command::cargo_bin("kalypso-bootstrap")
        .unwrap()
        .env_clear()
        .env("PATH", bin.path())
        .env("HOME", home.path())
        .env("GITHUB_TOKEN", CANARY)
        .env("GH_TOKEN", CANARY)
        .args(["--validate-only", "--non-interactive"])
        .assert()
        // az account show is not answered by the stand-in: the check fails, which is fine.
        .code(2);

    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dump.path()).unwrap() {
        let path = entry.unwrap().path();
        let tool = path.file_stem().unwrap().to_string_lossy().to_string();
        let log = std::fs::read_to_string(&path).unwrap();
        seen.push(tool.clone());
        for line in log.lines() {
            if !line.contains(CANARY) {
                continue;
            }
            assert_eq!(tool, "gh", "{tool} received the token: {line}");
            assert_eq!(
                line,
                format!("GH_TOKEN={CANARY}"),
                "gh gets the token only as GH_TOKEN, never in argv or as GITHUB_TOKEN"
            );
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["az", "gh", "git", "helm", "kubectl"],
        "every tool was probed"
    );
    let gh_log = std::fs::read_to_string(dump.path().join("gh.log")).unwrap();
    assert!(
        gh_log.contains(&format!("GH_TOKEN={CANARY}")),
        "gh api user is called with the token"
    );
}

/// The demo's stand-in children (`sh`) need no secret: with a recording `sh` first on
/// PATH, an Azure client secret and a GitHub token in our environment, no stand-in's
/// environment holds either.
#[test]
fn the_demos_stand_in_children_inherit_no_secret() {
    const AZURE_CANARY: &str = "azure-client-secret-STANDINcanary0123";
    const GH_CANARY: &str = "ghp_STANDINcanary0123456789abcdefghijKL";
    let home = TempDir::new().unwrap();
    let bin = TempDir::new().unwrap();
    let dump = TempDir::new().unwrap();
    // Records, then runs the real shell (by its absolute path: not itself again).
    let script = format!(
        "#!/bin/sh\n{{ echo \"ARGV $*\"; /usr/bin/env; echo ---; }} >> '{}/sh.log'\nexec /bin/sh \"$@\"\n",
        dump.path().display()
    );
    let sh = bin.path().join("sh");
    std::fs::write(&sh, script).unwrap();
    std::fs::set_permissions(&sh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    crate::support::demo::demo_command(home.path(), GH_CANARY)
        .env("PATH", path)
        .env("GH_TOKEN", GH_CANARY)
        .env("AZURE_CLIENT_SECRET", AZURE_CANARY)
        .env("KALYPSO_DEMO_STAND_IN", "all")
        .arg("--state-file")
        .arg(home.path().join("state.json"))
        .assert()
        .code(0);

    let log = std::fs::read_to_string(dump.path().join("sh.log")).expect("sh was run");
    let stand_ins: Vec<&str> = log
        .split("---\n")
        .filter(|record| {
            record
                .lines()
                .next()
                .is_some_and(|argv| argv.contains("kalypso-stand-in"))
        })
        .collect();
    assert!(
        stand_ins.len() > 10,
        "every simulated command ran through a recorded stand-in: {}",
        stand_ins.len()
    );
    for record in stand_ins {
        for name in ["AZURE_CLIENT_SECRET", "GH_TOKEN", "GITHUB_TOKEN"] {
            assert!(
                !record
                    .lines()
                    .any(|line| line.starts_with(&format!("{name}="))),
                "a stand-in inherited {name}:\n{record}"
            );
        }
        assert!(!record.contains(AZURE_CANARY) && !record.contains(GH_CANARY));
    }
}
