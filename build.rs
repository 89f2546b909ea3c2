//! Records the git commit the binary is built from, for `--version --verbose`
//! (`KALYPSO_BUILD_COMMIT`). Known in a git checkout of this crate (`git rev-parse HEAD`) and
//! in a crate that `cargo package` made from one (its `.cargo_vcs_info.json`); otherwise
//! unknown. Never fails the build: without git, or outside a checkout, the variable is just
//! not set.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    // Without any rerun-if-changed, cargo would rerun this on every change in the package.
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = checkout_commit(&manifest_dir).or_else(|| packaged_commit(&manifest_dir));
    if let Some(commit) = commit {
        println!("cargo:rustc-env=KALYPSO_BUILD_COMMIT={commit}");
    }
}

/// `git` in `dir`, its trimmed standard output when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8(output.stdout).ok()?.trim().to_string())
}

fn is_commit_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// HEAD of the checkout whose top is this crate. A crate unpacked inside some other
/// repository (a vendored copy, `cargo package`'s verification build in target/) is not
/// that repository's commit.
pub(crate) fn checkout_commit(manifest_dir: &Path) -> Option<String> {
    let top = PathBuf::from(git(manifest_dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != manifest_dir.canonicalize().ok()? {
        return None;
    }
    let commit = git(manifest_dir, &["rev-parse", "HEAD"]).filter(|c| is_commit_id(c))?;
    rerun_when_head_moves(manifest_dir);
    Some(commit)
}

/// Watches HEAD and the branch it points to (a loose ref, else packed-refs), and nothing
/// else: a commit on another branch must not rebuild the crate.
fn rerun_when_head_moves(manifest_dir: &Path) {
    let absolute = |path: String| manifest_dir.join(path);
    let Some(git_dir) = git(manifest_dir, &["rev-parse", "--git-dir"]).map(absolute) else {
        return;
    };
    let common_dir = git(manifest_dir, &["rev-parse", "--git-common-dir"])
        .map(absolute)
        .unwrap_or_else(|| git_dir.clone());
    let mut watched = vec![git_dir.join("HEAD"), common_dir.join("packed-refs")];
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(common_dir.join(branch));
    }
    // A path that does not exist would rerun this script on every build.
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The commit `cargo package` recorded (`{"git": {"sha1": ...}}`).
pub(crate) fn packaged_commit(manifest_dir: &Path) -> Option<String> {
    let info = manifest_dir.join(".cargo_vcs_info.json");
    if info.exists() {
        println!("cargo:rerun-if-changed={}", info.display());
    }
    let text = std::fs::read_to_string(info).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let sha = json.get("git")?.get("sha1")?.as_str()?;
    is_commit_id(sha).then(|| sha.to_string())
}
