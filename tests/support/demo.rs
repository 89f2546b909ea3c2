//! The binary as the demo tests run it: a private HOME and TMPDIR, a canary token in the
//! environment, instant simulated tools, line output, no questions.

use std::path::Path;

use assert_cmd::Command;

/// The demo run as `assert_cmd` drives it.
pub fn demo_command(home: &Path, canary_token: &str) -> Command {
    Command::from_std(demo_process(home, canary_token))
}

/// The same as a plain process, for tests that spawn it and signal or kill it.
pub fn demo_process(home: &Path, canary_token: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"));
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
