//! A stand-in for `gh` (the GitHub API is not reachable from tests). It records each call's
//! arguments (one per line, each call ended by `--`), the `GH_TOKEN` it ran with, and the host
//! and token the real gh would use (`GH_HOST`, else github.com; `GH_TOKEN` for github.com and
//! `*.ghe.com`, `GH_ENTERPRISE_TOKEN` for an Enterprise Server, as `gh help environment`
//! says), and answers
//! the API paths the workflows and their scripts use from `FAKE_*` variables, applying `--jq`
//! with the real `jq` as `gh` would.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

const FAKE_GH: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$@" -- >> "$FAKE_GH_LOG"
printf '%s\n' "${GH_TOKEN:-}" >> "$FAKE_GH_LOG.tokens"
host="${GH_HOST:-github.com}"
case "$host" in
  github.com | *.ghe.com) host_token="${GH_TOKEN:-}" ;;
  *) host_token="${GH_ENTERPRISE_TOKEN:-}" ;;
esac
printf '%s %s\n' "$host" "$host_token" >> "$FAKE_GH_LOG.hosts"
jq_filter=""
previous=""
for argument in "$@"; do
  if [ "$previous" = "--jq" ]; then jq_filter="$argument"; fi
  previous="$argument"
done
# The response body, filtered by --jq when given (strings come out raw, as with gh).
respond() {
  if [ -n "$jq_filter" ]; then jq -r "$jq_filter"; else cat; fi
}
case "$*" in
  "workflow run "*) exit "${FAKE_WORKFLOW_RUN_EXIT:-0}" ;;
  *"/compare/"*) printf '{"status":"%s"}\n' "$FAKE_COMPARE_STATUS" | respond ;;
  *"/commits/"*"/pulls"*) printf '%s\n' "${FAKE_PULLS:?the test sets no FAKE_PULLS}" | respond ;;
  *"/contents/.github/tracking/Promoted_Commit_Id"*)
    if [ -n "${FAKE_TRACKING:-}" ]; then echo "$FAKE_TRACKING"; else echo "gh: Not Found (HTTP 404)" >&2; exit 1; fi ;;
  *"/statuses/"*) ;;
  *) echo "unexpected gh call: $*" >&2; exit 2 ;;
esac
"#;

/// A directory with the fake `gh` in its `bin/` and the log of its calls.
pub struct Gh {
    dir: TempDir,
    bin: PathBuf,
}

impl Default for Gh {
    fn default() -> Self {
        Self::new()
    }
}

impl Gh {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let gh = bin.join("gh");
        fs::write(&gh, FAKE_GH).unwrap();
        fs::set_permissions(&gh, fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir, bin }
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("gh.log")
    }

    /// `PATH` with the fake `gh` first.
    pub fn path_env(&self) -> String {
        format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap())
    }

    /// A command with a clean environment: only `PATH` (fake `gh` first), the log and a token.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", self.path_env())
            .env("FAKE_GH_LOG", self.log())
            .env("GH_TOKEN", "test-token");
        command
    }

    /// Every call so far, as its arguments.
    pub fn calls(&self) -> Vec<Vec<String>> {
        gh_calls(&self.log())
    }

    /// The `GH_TOKEN` of every call so far, in the order of [`Gh::calls`].
    pub fn tokens(&self) -> Vec<String> {
        let log = self.log().with_extension("log.tokens");
        let text = fs::read_to_string(log).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    /// The host and the token the real gh would have used for every call so far, in the
    /// order of [`Gh::calls`].
    pub fn reached(&self) -> Vec<(String, String)> {
        let log = self.log().with_extension("log.hosts");
        let text = fs::read_to_string(log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let (host, token) = line.split_once(' ').unwrap_or((line, ""));
                (host.to_string(), token.to_string())
            })
            .collect()
    }

    /// The `gh workflow run …` calls so far, with the token each used.
    pub fn dispatches(&self) -> Vec<(Vec<String>, String)> {
        self.calls()
            .into_iter()
            .zip(self.tokens())
            .filter(|(call, _)| call.starts_with(&["workflow".to_string(), "run".to_string()]))
            .collect()
    }
}

fn gh_calls(log: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(log).unwrap_or_default();
    text.split("--\n")
        .filter(|call| !call.is_empty())
        .map(|call| call.lines().map(str::to_string).collect())
        .collect()
}
