//! The listing of a rendered tree on disk that the `acme_cp_go_dev` snapshot records, shared by
//! the library-call snapshot test and the CLI's `--render-templates` test so both must produce
//! the same tree.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A rendered `DIR` as one text: per repository, `main` first, then the environment branches,
/// then per file (sorted by path) a header with its executable bit, and its contents.
pub fn tree_listing(dir: &Path) -> String {
    let mut listing = String::new();
    for repo in sorted_entries(dir) {
        let mut branches = sorted_entries(&dir.join(&repo));
        branches.sort_by_key(|branch| branch != "main");
        for branch in branches {
            let root = dir.join(&repo).join(&branch);
            let mut files = Vec::new();
            collect_files(&root, "", &mut files);
            files.sort();
            for file in files {
                let path = root.join(&file);
                let executable = fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0;
                let mode = if executable { "755" } else { "644" };
                listing.push_str(&format!("===== {repo}/{branch}/{file} ({mode})\n"));
                let contents = fs::read(&path).unwrap();
                listing.push_str(std::str::from_utf8(&contents).expect("rendered files are text"));
                if !listing.ends_with('\n') {
                    listing.push('\n');
                }
            }
        }
    }
    listing
}

fn sorted_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn collect_files(root: &Path, prefix: &str, out: &mut Vec<String>) {
    for name in sorted_entries(&root.join(prefix)) {
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if root.join(&relative).is_dir() {
            collect_files(root, &relative, out);
        } else {
            out.push(relative);
        }
    }
}

/// Asserts `listing` against `tests/templates/snapshots/templates_render__acme_cp_go_dev.snap`, the
/// rendering of `--github-org acme --cluster-name demo --control-plane-name cp --gitops-name go`.
pub fn assert_acme_cp_go_dev_snapshot(listing: &str) {
    let mut settings = insta::Settings::clone_current();
    settings
        .set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("templates_render__acme_cp_go_dev", listing));
}
