//! The binary as the demo tests run it: a private HOME and TMPDIR, a canary token in the
//! environment, instant simulated tools, line output, no questions.

use std::path::Path;

use assert_cmd::Command;

pub fn demo_command(home: &Path, canary_token: &str) -> Command {
    let mut cmd = Command::cargo_bin("kalypso-bootstrap").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("GITHUB_TOKEN", canary_token)
        .env("KALYPSO_DEMO_LATENCY", "zero")
        .current_dir(home)
        .args(["--demo", "--no-tui", "--non-interactive"]);
    cmd
}
