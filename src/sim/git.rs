//! The git side of simulated GitHub: every repository is a real bare repository under the
//! environment's root, reached by real git through `url.<root>/github/.insteadOf
//! https://HOST/` (github.com, or the world's Enterprise Server). The simulator itself inspects those repositories with git
//! (isolated from the user's git configuration).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `GIT_CONFIG_*` pairs that make `https://HOST/OWNER/NAME.git` resolve to the bare
/// repository `<github_dir>/OWNER/NAME.git`, numbered from `first_index`. Only the world's
/// host is rewritten: a URL of any other host stays unreachable.
pub fn insteadof_pairs(github_dir: &Path, host: &str, first_index: usize) -> Vec<(String, String)> {
    let base = format!("{}/", github_dir.display());
    vec![
        (
            format!("GIT_CONFIG_KEY_{first_index}"),
            format!("url.{base}.insteadOf"),
        ),
        (
            format!("GIT_CONFIG_VALUE_{first_index}"),
            format!("https://{host}/"),
        ),
    ]
}

/// The host of the first `https://` URL among a git command's arguments (its remote).
pub fn remote_host(args: &[String]) -> Option<String> {
    args.iter().find_map(|arg| {
        let rest = arg.strip_prefix("https://")?;
        let authority = rest.split('/').next()?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        Some(host.to_ascii_lowercase())
    })
}

/// git's global options that take a value (before the subcommand).
const GLOBAL_VALUE_OPTIONS: [&str; 5] = ["-c", "-C", "--git-dir", "--work-tree", "--namespace"];
/// Subcommand options (of those the engine uses) that take a value.
const VALUE_OPTIONS: [&str; 6] = ["-m", "-b", "-B", "--orphan", "-F", "-o"];

/// A git command's words as fault rules match them: the subcommand and its positional
/// arguments (`push --no-verify URL main` is `["push", "URL", "main"]`).
pub fn command_words(args: &[String]) -> Vec<String> {
    let mut rest = args.iter().map(String::as_str);
    let mut words = Vec::new();
    while let Some(arg) = rest.next() {
        if GLOBAL_VALUE_OPTIONS.contains(&arg) {
            rest.next();
        } else if !arg.starts_with('-') {
            words.push(arg.to_string());
            break;
        }
    }
    while let Some(arg) = rest.next() {
        if VALUE_OPTIONS.contains(&arg) {
            rest.next();
        } else if arg == "--" {
            words.extend(rest.by_ref().map(str::to_string));
        } else if !arg.starts_with('-') {
            words.push(arg.to_string());
        }
    }
    words
}

/// A git error with git's own message.
#[derive(Debug, thiserror::Error)]
#[error("git {args}: {message}")]
pub struct GitError {
    pub args: String,
    pub message: String,
}

/// The simulator's own git: isolated from the user's configuration and secrets.
fn git_command(dir: Option<&Path>, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    // It talks to no server: no GitHub token, no Azure secret.
    for name in crate::secrets::GITHUB_TOKEN_VARIABLES
        .iter()
        .chain(crate::secrets::AZURE_SECRET_VARIABLES.iter())
    {
        command.env_remove(name);
    }
    command
        .args(args)
        // The user's own configuration (signing, hooks, templates) must not leak in.
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_CONFIG_COUNT")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_TERMINAL_PROMPT", "0");
    if BUILDING_A_WORLD.with(std::cell::Cell::get) {
        die_with_this_process(&mut command);
    }
    command
}

thread_local! {
    /// This thread is making a world's repositories (see [`building_a_world`]).
    static BUILDING_A_WORLD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While the guard lives, this thread's git commands die with the process: a world's
/// repositories are made before any run, and a run killed while they are being made must
/// leave no git writing on into what the next run removes and makes again (it would fail
/// with "Directory not empty"). Only then: the signal needs a fork, which costs every
/// other git call of the simulator about a fifth of its time.
pub(crate) fn building_a_world() -> impl Drop {
    struct Building(bool);
    impl Drop for Building {
        fn drop(&mut self) {
            let before = self.0;
            BUILDING_A_WORLD.with(|building| building.set(before));
        }
    }
    Building(BUILDING_A_WORLD.with(|building| building.replace(true)))
}

/// The kernel kills the child when this thread (or the whole process) dies; the sim runs
/// git synchronously, so the thread that forks it waits for it. See `tools::spawner` for
/// the product's own children.
#[cfg(target_os = "linux")]
fn die_with_this_process(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: runs in the forked child before exec and makes only async-signal-safe
    // system calls (prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other("the parent process ended"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_this_process(_command: &mut Command) {}

fn git(dir: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Result<String, GitError> {
    let mut command = git_command(dir, args);
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let error = |message: String| GitError {
        args: args.join(" "),
        message,
    };
    let mut child = command.spawn().map_err(|e| error(e.to_string()))?;
    // The input is written beside the wait: git that stops reading (a fast-import that
    // failed halfway) then ends with its own message, not a broken pipe, and is reaped.
    let input = stdin.zip(child.stdin.take());
    let (output, written) = std::thread::scope(|scope| {
        let writer = input.map(|(bytes, mut pipe)| {
            scope.spawn(move || {
                use std::io::Write;
                pipe.write_all(bytes)
            })
        });
        let output = child.wait_with_output();
        let written = writer.map_or(Ok(()), |writer| {
            writer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the input writer panicked")))
        });
        (output, written)
    });
    let output = output.map_err(|e| error(e.to_string()))?;
    if !output.status.success() {
        return Err(error(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    written.map_err(|e| error(e.to_string()))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Create an empty bare repository whose HEAD names `main` (as GitHub's default branch).
/// Every branch of the local repository or bundle `source` into the bare repository at
/// `bare`, with its history (the commit ids kept).
pub fn fetch_branches(bare: &Path, source: &Path) -> Result<(), GitError> {
    let bare_text = bare.display().to_string();
    let source_text = source.display().to_string();
    git(
        None,
        &[
            "--git-dir",
            &bare_text,
            "fetch",
            "--quiet",
            "--no-tags",
            "--",
            &source_text,
            "+refs/heads/*:refs/heads/*",
        ],
        None,
    )?;
    Ok(())
}

pub fn init_bare(path: &Path) -> Result<(), GitError> {
    std::fs::create_dir_all(path).map_err(|e| GitError {
        args: format!("init --bare {}", path.display()),
        message: e.to_string(),
    })?;
    let path_text = path.display().to_string();
    git(
        None,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            &path_text,
        ],
        None,
    )?;
    Ok(())
}

/// Branch name to commit id.
pub fn heads(path: &Path) -> BTreeMap<String, String> {
    let path_text = path.display().to_string();
    let Ok(out) = git(
        None,
        &[
            "--git-dir",
            &path_text,
            "for-each-ref",
            "refs/heads",
            "--format=%(refname:strip=2) %(objectname)",
        ],
        None,
    ) else {
        return BTreeMap::new();
    };
    out.lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(branch, id)| (branch.to_string(), id.to_string()))
        .collect()
}

/// One entry of a recursive tree listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitTreeEntry {
    pub path: String,
    pub mode: String,
    /// `blob`, `tree` or `commit` (submodule).
    pub kind: String,
    pub sha: String,
    pub size: Option<u64>,
}

/// The commit a branch points at, read from the ref files as git stores them (a loose ref,
/// else `packed-refs`) without starting git: the simulated controllers look at branch heads
/// on every simulated command. `None` when the branch does not exist; `Err` when the
/// repository keeps its refs in a way this does not read (then git must answer).
fn branch_head_from_files(path: &Path, branch: &str) -> Result<Option<String>, ()> {
    if path.join("reftable").exists() {
        return Err(());
    }
    let name = format!("refs/heads/{branch}");
    if branch
        .split('/')
        .any(|part| part.is_empty() || part == "..")
    {
        return Err(());
    }
    match std::fs::read_to_string(path.join(&name)) {
        Ok(text) => {
            let id = text.trim();
            return if id.len() >= 40 && id.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(Some(id.to_string()))
            } else {
                Err(())
            };
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(()),
        Err(_) => {}
    }
    let packed = match std::fs::read_to_string(path.join("packed-refs")) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(()),
    };
    Ok(packed.lines().find_map(|line| {
        let (id, refname) = line.split_once(' ')?;
        (refname == name).then(|| id.to_string())
    }))
}

/// What never changes once read: trees and blobs by object id (and a commit's tree).
type ObjectCache = std::sync::Mutex<std::collections::HashMap<(PathBuf, String), Option<String>>>;

fn object_cache() -> &'static ObjectCache {
    static CACHE: std::sync::OnceLock<ObjectCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `read` once per repository and key: for what is named by an object id, which git never
/// changes.
fn cached(path: &Path, key: String, read: impl FnOnce() -> Option<String>) -> Option<String> {
    let slot = (path.to_path_buf(), key);
    if let Some(found) = object_cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&slot)
    {
        return found.clone();
    }
    let value = read();
    let mut cache = object_cache().lock().unwrap_or_else(|e| e.into_inner());
    // Bounded: a long test process simulates many repositories.
    if cache.len() > 20_000 {
        cache.clear();
    }
    cache.insert(slot, value.clone());
    value
}

/// The commit id a branch (or any rev) points at. `refs/heads/B` and `refs/heads/B:PATH` are
/// answered from the ref files and the object cache when they can be.
pub fn rev_parse(path: &Path, rev: &str) -> Option<String> {
    if let Some(rest) = rev.strip_prefix("refs/heads/") {
        let (branch, sub_path) = match rest.split_once(':') {
            Some((branch, sub_path)) => (branch, Some(sub_path)),
            None => (rest, None),
        };
        if !branch.contains(['^', '~', '@', '{']) {
            if let Ok(head) = branch_head_from_files(path, branch) {
                let head = head?;
                return match sub_path {
                    None => Some(head),
                    Some(sub_path) => cached(path, format!("{head}:{sub_path}"), || {
                        rev_parse_with_git(path, &format!("{head}:{sub_path}"))
                    }),
                };
            }
        }
    }
    rev_parse_with_git(path, rev)
}

fn rev_parse_with_git(path: &Path, rev: &str) -> Option<String> {
    let path_text = path.display().to_string();
    git(
        None,
        &[
            "--git-dir",
            &path_text,
            "rev-parse",
            "--verify",
            "--quiet",
            rev,
        ],
        None,
    )
    .ok()
    .map(|s| s.trim().to_string())
}

/// The recursive tree of `rev` (directories included), and the tree's own id.
pub fn tree(path: &Path, rev: &str) -> Option<(String, Vec<GitTreeEntry>)> {
    // A branch: its head commit names the tree, which never changes.
    if let Some(branch) = rev.strip_prefix("refs/heads/") {
        if let Ok(head) = branch_head_from_files(path, branch) {
            let head = head?;
            let listing = cached(path, format!("tree-listing {head}"), || {
                let (id, entries) = tree_uncached(path, &head)?;
                let lines: Vec<String> = entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}\t{}\t{}\t{}\t{}",
                            e.mode,
                            e.kind,
                            e.sha,
                            e.size.map(|s| s.to_string()).unwrap_or_default(),
                            e.path
                        )
                    })
                    .collect();
                Some(format!("{id}\n{}", lines.join("\n")))
            })?;
            let mut lines = listing.split('\n');
            let id = lines.next()?.to_string();
            let entries = lines
                .filter(|l| !l.is_empty())
                .filter_map(|line| {
                    let mut parts = line.splitn(5, '\t');
                    Some(GitTreeEntry {
                        mode: parts.next()?.to_string(),
                        kind: parts.next()?.to_string(),
                        sha: parts.next()?.to_string(),
                        size: parts.next()?.parse().ok(),
                        path: parts.next()?.to_string(),
                    })
                })
                .collect();
            return Some((id, entries));
        }
    }
    tree_uncached(path, rev)
}

fn tree_uncached(path: &Path, rev: &str) -> Option<(String, Vec<GitTreeEntry>)> {
    let path_text = path.display().to_string();
    let tree_id = rev_parse(path, &format!("{rev}^{{tree}}"))?;
    let out = git(
        None,
        &[
            "--git-dir",
            &path_text,
            "ls-tree",
            "-r",
            "-t",
            "-l",
            "--full-tree",
            rev,
        ],
        None,
    )
    .ok()?;
    let entries = out
        .lines()
        .filter_map(|line| {
            let (meta, file) = line.split_once('\t')?;
            let mut parts = meta.split_whitespace();
            let mode = parts.next()?.to_string();
            let kind = parts.next()?.to_string();
            let sha = parts.next()?.to_string();
            let size = parts.next().and_then(|s| s.parse().ok());
            Some(GitTreeEntry {
                path: file.to_string(),
                mode,
                kind,
                sha,
                size,
            })
        })
        .collect();
    Some((tree_id, entries))
}

/// Whether `sub_path` exists (file or directory) at `rev`.
pub fn path_exists(path: &Path, rev: &str, sub_path: &str) -> bool {
    let sub_path = sub_path.trim_start_matches("./").trim_matches('/');
    if sub_path.is_empty() || sub_path == "." {
        return rev_parse(path, rev).is_some();
    }
    rev_parse(path, &format!("{rev}:{sub_path}")).is_some()
}

/// Commit `files` (path to bytes, added or replaced) and delete `deletions` (paths, as a
/// tree entry without a sha does) on top of commit `base` and point
/// `refs/heads/<branch>` at it, as GitHub's git data API does (create tree, commit, ref),
/// through a scratch index of real git.
pub fn commit_changes_on(
    path: &Path,
    base: &str,
    branch: &str,
    files: &[(String, Vec<u8>)],
    deletions: &[String],
    message: &str,
) -> Result<String, GitError> {
    commit_as(
        path,
        Some(base),
        Some(branch),
        files,
        deletions,
        message,
        ("Kalypso Scheduler", "kalypso.scheduler@email.com"),
    )
}

fn commit_as(
    path: &Path,
    base: Option<&str>,
    branch: Option<&str>,
    files: &[(String, Vec<u8>)],
    deletions: &[String],
    message: &str,
    (name, email): (&str, &str),
) -> Result<String, GitError> {
    let scratch = tempfile::tempdir().map_err(|e| GitError {
        args: "commit".into(),
        message: e.to_string(),
    })?;
    let index = scratch.path().join("index");
    let path_text = path.display().to_string();
    let run = |args: &[&str], stdin: Option<&[u8]>| -> Result<String, GitError> {
        let mut command = git_command(None, &[&["--git-dir", &path_text][..], args].concat());
        command
            .env("GIT_INDEX_FILE", &index)
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let error = |message: String| GitError {
            args: args.join(" "),
            message,
        };
        let mut child = command.spawn().map_err(|e| error(e.to_string()))?;
        if let (Some(bytes), Some(mut input)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            input.write_all(bytes).map_err(|e| error(e.to_string()))?;
        }
        let output = child.wait_with_output().map_err(|e| error(e.to_string()))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            Err(error(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ))
        }
    };
    match base {
        Some(base) => run(&["read-tree", base], None)?,
        None => run(&["read-tree", "--empty"], None)?,
    };
    // One `hash-object` for every blob (written to scratch files first) and one
    // `update-index --index-info` for every entry: a handful of processes per commit
    // however many files it has.
    let mut blobs = Vec::new();
    for (index, (_, bytes)) in files.iter().enumerate() {
        let blob = scratch.path().join(format!("blob-{index}"));
        std::fs::write(&blob, bytes).map_err(|e| GitError {
            args: "hash-object".into(),
            message: e.to_string(),
        })?;
        blobs.push(blob.display().to_string());
    }
    let mut index_info = String::new();
    if !blobs.is_empty() {
        let mut args = vec!["hash-object", "-w", "--"];
        args.extend(blobs.iter().map(String::as_str));
        let ids = run(&args, None)?;
        for ((file, _), id) in files.iter().zip(ids.lines()) {
            index_info.push_str(&format!("100644 {id}\t{file}\n"));
        }
    }
    for file in deletions {
        // Mode 0 removes the path from the index.
        index_info.push_str(&format!("0 {}\t{file}\n", "0".repeat(40)));
    }
    if !index_info.is_empty() {
        run(
            &["update-index", "--index-info"],
            Some(index_info.as_bytes()),
        )?;
    }
    let tree = run(&["write-tree"], None)?;
    let commit = match base {
        Some(base) => run(&["commit-tree", &tree, "-p", base, "-m", message], None)?,
        None => run(&["commit-tree", &tree, "-m", message], None)?,
    };
    if let Some(branch) = branch {
        run(
            &["update-ref", &format!("refs/heads/{branch}"), &commit],
            None,
        )?;
    }
    Ok(commit)
}

/// Whether commit `ancestor` is `descendant` or one of its ancestors.
pub fn is_ancestor(path: &Path, ancestor: &str, descendant: &str) -> bool {
    let path_text = path.display().to_string();
    git(
        None,
        &[
            "--git-dir",
            &path_text,
            "merge-base",
            "--is-ancestor",
            ancestor,
            descendant,
        ],
        None,
    )
    .is_ok()
}

/// Point `refs/heads/<branch>` at `commit`.
pub fn set_branch(path: &Path, branch: &str, commit: &str) -> Result<(), GitError> {
    update_branch_ref(path, branch, commit, None)
}

/// `git update-ref refs/heads/<branch> <commit> [<old>]`: with `old`, only if the branch
/// still points there.
fn update_branch_ref(
    path: &Path,
    branch: &str,
    commit: &str,
    old: Option<&str>,
) -> Result<(), GitError> {
    let path_text = path.display().to_string();
    let reference = format!("refs/heads/{branch}");
    let mut args = vec!["--git-dir", &path_text, "update-ref", &reference, commit];
    args.extend(old);
    git(None, &args, None).map(drop)
}

/// Delete `refs/heads/<branch>`.
pub fn delete_branch(path: &Path, branch: &str) -> Result<(), GitError> {
    let path_text = path.display().to_string();
    git(
        None,
        &[
            "--git-dir",
            &path_text,
            "update-ref",
            "-d",
            &format!("refs/heads/{branch}"),
        ],
        None,
    )
    .map(drop)
}

/// Content for one branch of a seeded repository: path to bytes.
pub type BranchContent = BTreeMap<String, Vec<u8>>;

/// Commit `branches` into the bare repository at `path` (one commit per branch, each an
/// independent root commit), by one real `git fast-import`.
pub fn seed_content(
    path: &Path,
    branches: &BTreeMap<String, BranchContent>,
) -> Result<(), GitError> {
    seed_content_with_modes(path, branches, &BTreeSet::new())
}

/// [`seed_content`] where the `(branch, path)` files in `executables` get mode 0755.
///
/// One process for the whole repository, however many branches and files: a world's
/// repositories are made before the demo's first screen, and a handful of plumbing
/// processes per branch cost that screen most of its time.
pub fn seed_content_with_modes(
    path: &Path,
    branches: &BTreeMap<String, BranchContent>,
    executables: &BTreeSet<(String, String)>,
) -> Result<(), GitError> {
    let stream = fast_import_stream(branches, executables);
    let path_text = path.display().to_string();
    git(
        None,
        &[
            "--git-dir",
            &path_text,
            "fast-import",
            "--quiet",
            "--date-format=now",
        ],
        Some(&stream),
    )
    .map(drop)
}

/// The `git fast-import` commands for [`seed_content_with_modes`]: per branch, a root
/// commit by the seed's author holding exactly its files.
fn fast_import_stream(
    branches: &BTreeMap<String, BranchContent>,
    executables: &BTreeSet<(String, String)>,
) -> Vec<u8> {
    const MESSAGE: &str = "Seed content\n";
    let mut stream = Vec::new();
    for (branch, files) in branches {
        stream.extend_from_slice(
            format!(
                "commit refs/heads/{branch}\n\
                 committer Simulated Seed <seed@simulated.invalid> now\n\
                 data {}\n{MESSAGE}",
                MESSAGE.len()
            )
            .as_bytes(),
        );
        for (file, bytes) in files {
            let mode = if executables.contains(&(branch.clone(), file.clone())) {
                "100755"
            } else {
                "100644"
            };
            stream.extend_from_slice(
                format!(
                    "M {mode} inline {}\ndata {}\n",
                    fast_import_path(file),
                    bytes.len()
                )
                .as_bytes(),
            );
            stream.extend_from_slice(bytes);
            stream.push(b'\n');
        }
        stream.push(b'\n');
    }
    stream
}

/// A path as `git fast-import` reads it: always C-quoted, so a space, quote, backslash or
/// line break in a file name stays part of it.
fn fast_import_path(path: &str) -> String {
    let mut quoted = String::with_capacity(path.len() + 2);
    quoted.push('"');
    for byte in path.bytes() {
        match byte {
            b'"' => quoted.push_str("\\\""),
            b'\\' => quoted.push_str("\\\\"),
            b'\n' => quoted.push_str("\\n"),
            0x20..=0x7e => quoted.push(byte as char),
            _ => quoted.push_str(&format!("\\{byte:03o}")),
        }
    }
    quoted.push('"');
    quoted
}

/// The content of blob `sha`, as `git cat-file blob` gives it; `None` when there is no such blob.
pub fn blob(path: &Path, sha: &str) -> Option<String> {
    if sha.is_empty() || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let path_text = path.display().to_string();
    cached(path, format!("blob {sha}"), || {
        git(
            None,
            &["--git-dir", &path_text, "cat-file", "blob", sha],
            None,
        )
        .ok()
    })
}

/// One file of a branch read by [`read_branches`].
pub struct BranchFile {
    pub path: String,
    pub executable: bool,
    pub content: Vec<u8>,
}

/// Every branch of the local git repository or bundle at `source`, file by file (symlinks and
/// submodule entries, which a seed cannot carry, are left out). Read through a temporary bare
/// clone, so a bundle and a repository are read alike and `source` is never written.
pub fn read_branches(source: &Path) -> Result<BTreeMap<String, Vec<BranchFile>>, GitError> {
    let scratch = tempfile::tempdir().map_err(|e| GitError {
        args: "clone --bare".to_string(),
        message: e.to_string(),
    })?;
    let clone = scratch.path().join("source.git");
    let source_text = source.display().to_string();
    let clone_text = clone.display().to_string();
    git(
        None,
        &[
            "clone",
            "--quiet",
            "--bare",
            "--",
            &source_text,
            &clone_text,
        ],
        None,
    )?;
    let mut branches = BTreeMap::new();
    for (branch, _) in heads(&clone) {
        let listing = git_bytes(&clone_text, &["ls-tree", "-r", "-z", &branch])?;
        let mut files = Vec::new();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            let mut meta = meta.split(' ');
            let (Some(mode), Some("blob"), Some(sha)) = (meta.next(), meta.next(), meta.next())
            else {
                continue;
            };
            if mode != "100644" && mode != "100755" {
                continue;
            }
            files.push(BranchFile {
                path: path.to_string(),
                executable: mode == "100755",
                content: git_bytes(&clone_text, &["cat-file", "blob", sha])?,
            });
        }
        branches.insert(branch, files);
    }
    Ok(branches)
}

fn git_bytes(git_dir: &str, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let mut all = vec!["--git-dir", git_dir];
    all.extend_from_slice(args);
    let output = git_command(None, &all)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GitError {
            args: args.join(" "),
            message: e.to_string(),
        })?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(GitError {
            args: args.join(" "),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// The text of the file `file` at `rev` (a commit or branch), if it is there.
pub fn file_at(path: &Path, rev: &str, file: &str) -> Option<String> {
    let blob_id = rev_parse(path, &format!("{rev}:{}", file.trim_start_matches("./")))?;
    blob(path, &blob_id)
}

/// The first line of commit `sha`'s message.
pub fn commit_subject(path: &Path, sha: &str) -> Option<String> {
    let path_text = path.display().to_string();
    git(
        None,
        &["--git-dir", &path_text, "log", "-1", "--format=%s", sha],
        None,
    )
    .ok()
    .map(|subject| subject.trim().to_string())
}

/// The tree of a three-way merge of `head` into `base` (real `git merge-tree
/// --write-tree`), `None` when the merge has conflicts.
pub fn merge_tree(path: &Path, base: &str, head: &str) -> Result<Option<String>, GitError> {
    let path_text = path.display().to_string();
    let mut command = git_command(
        None,
        &[
            "--git-dir",
            &path_text,
            "merge-tree",
            "--write-tree",
            base,
            head,
        ],
    );
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GitError {
            args: "merge-tree".into(),
            message: e.to_string(),
        })?;
    match output.status.code() {
        Some(0) => {}
        // Exit 1: the merge has conflicts.
        Some(1) => return Ok(None),
        _ => {
            return Err(GitError {
                args: "merge-tree".into(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(Some(
        stdout.lines().next().unwrap_or_default().trim().to_string(),
    ))
}

/// The merge commit GitHub makes for a pull request (`--merge`): the tree of a three-way
/// merge of `head` into `base` (real `git merge-tree --write-tree`), with parents `base`
/// and `head`, authored by the merger and committed by GitHub. `None` when the merge
/// has conflicts (no commit is made).
pub fn merge_commit(
    path: &Path,
    base: &str,
    head: &str,
    message: &str,
    (name, email): (&str, &str),
) -> Result<Option<String>, GitError> {
    let Some(tree) = merge_tree(path, base, head)? else {
        return Ok(None);
    };
    let path_text = path.display().to_string();
    let mut command = git_command(
        None,
        &[
            "--git-dir",
            &path_text,
            "commit-tree",
            &tree,
            "-p",
            base,
            "-p",
            head,
            "-m",
            message,
        ],
    );
    let output = command
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", "GitHub")
        .env("GIT_COMMITTER_EMAIL", "noreply@github.com")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GitError {
            args: "commit-tree".into(),
            message: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(GitError {
            args: "commit-tree".into(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(Some(
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    ))
}

/// Point `refs/heads/<branch>` at `commit` only if it still points at `old` (what a push
/// that is not forced checks).
pub fn move_branch(path: &Path, branch: &str, commit: &str, old: &str) -> Result<(), GitError> {
    update_branch_ref(path, branch, commit, Some(old))
}

/// Commit `files` on top of `base` as `(name, email)` and return the commit, without
/// moving any branch (a commit a workflow makes before it pushes).
pub fn commit_files_as(
    path: &Path,
    base: &str,
    files: &[(String, Vec<u8>)],
    message: &str,
    author: (&str, &str),
) -> Result<String, GitError> {
    commit_as(path, Some(base), None, files, &[], message, author)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_content_keeps_every_file_name_byte_mode_and_the_seed_author() {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("r.git");
        init_bare(&bare).unwrap();
        let odd_names = [
            "plain.txt",
            "with space/and \"quotes\".yaml",
            "back\\slash",
            "line\nbreak",
            "ünïcode/ファイル.md",
            "empty",
        ];
        let mut main = BranchContent::new();
        for (index, name) in odd_names.iter().enumerate() {
            let bytes = if *name == "empty" {
                Vec::new()
            } else {
                vec![0u8, b'\n', index as u8, 0xff, b'x']
            };
            main.insert((*name).to_string(), bytes);
        }
        let branches = BTreeMap::from([
            ("main".to_string(), main.clone()),
            ("nothing".to_string(), BranchContent::new()),
        ]);
        let executables = BTreeSet::from([("main".to_string(), "back\\slash".to_string())]);
        seed_content_with_modes(&bare, &branches, &executables).unwrap();

        let read = read_branches(&bare).unwrap();
        let files = &read["main"];
        let names: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, odd_names.iter().copied().collect::<BTreeSet<_>>());
        for file in files {
            assert_eq!(file.content, main[&file.path], "{:?}", file.path);
            assert_eq!(
                file.executable,
                file.path == "back\\slash",
                "{:?}",
                file.path
            );
        }
        assert!(
            read.get("nothing").is_none_or(Vec::is_empty),
            "an empty branch has no files"
        );
        assert!(
            rev_parse(&bare, "refs/heads/nothing").is_some(),
            "an empty branch exists"
        );
        let path_text = bare.display().to_string();
        let log = git(
            None,
            &[
                "--git-dir",
                &path_text,
                "log",
                "--format=%an <%ae>|%cn|%B|%P",
                "main",
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            log.trim_end(),
            "Simulated Seed <seed@simulated.invalid>|Simulated Seed|Seed content\n|",
            "one root commit by the seed's author"
        );
        let head = git(
            None,
            &["--git-dir", &path_text, "symbolic-ref", "HEAD"],
            None,
        )
        .unwrap();
        assert_eq!(
            head.trim(),
            "refs/heads/main",
            "HEAD names main, as GitHub's default"
        );
    }

    #[test]
    fn a_seed_git_refuses_reports_gits_own_message() {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("r.git");
        init_bare(&bare).unwrap();
        // A branch name git refuses, with enough content after it that git stops reading
        // long before the input ends.
        let mut files = BranchContent::new();
        files.insert("big".to_string(), vec![b'x'; 4 << 20]);
        let branches = BTreeMap::from([("bad..name".to_string(), files)]);
        let refused = seed_content(&bare, &branches).unwrap_err();
        assert!(
            refused.message.contains("fatal") && refused.message.contains("bad..name"),
            "git's own message, not a broken pipe: {refused}"
        );
    }

    #[test]
    fn branch_heads_read_from_the_ref_files_agree_with_git_loose_and_packed() {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("r.git");
        init_bare(&bare).unwrap();
        let mut branches = BTreeMap::new();
        for branch in ["main", "dev", "deployment/2026-01-01-00-00-00"] {
            let mut files = BranchContent::new();
            files.insert(format!("{branch}.txt"), branch.as_bytes().to_vec());
            branches.insert(branch.to_string(), files);
        }
        seed_content(&bare, &branches).unwrap();
        let check = |packed: bool| {
            for branch in ["main", "dev", "deployment/2026-01-01-00-00-00", "nope"] {
                let rev = format!("refs/heads/{branch}");
                assert_eq!(
                    rev_parse(&bare, &rev),
                    rev_parse_with_git(&bare, &rev),
                    "{branch} (packed: {packed})"
                );
                let sub = format!("{rev}:{}.txt", branch);
                assert_eq!(rev_parse(&bare, &sub), rev_parse_with_git(&bare, &sub));
            }
            assert!(rev_parse(&bare, "refs/heads/main").is_some());
            assert!(rev_parse(&bare, "refs/heads/nope").is_none());
        };
        check(false);
        git(
            None,
            &[
                "--git-dir",
                &bare.display().to_string(),
                "pack-refs",
                "--all",
            ],
            None,
        )
        .unwrap();
        assert!(!bare.join("refs/heads/main").exists(), "packed");
        check(true);
        // A branch moved by git is seen at once (nothing cached by branch name).
        let main = rev_parse(&bare, "refs/heads/main").unwrap();
        let files = vec![("new.txt".to_string(), b"new".to_vec())];
        let moved = commit_changes_on(&bare, &main, "main", &files, &[], "more").unwrap();
        assert_eq!(rev_parse(&bare, "refs/heads/main"), Some(moved.clone()));
        let (_, entries) = tree(&bare, "refs/heads/main").unwrap();
        assert!(entries.iter().any(|e| e.path == "new.txt"), "{entries:?}");
        // Files added, replaced and deleted in one commit (the scheduler's `getTree`).
        let files = vec![
            ("a/b/one.yaml".to_string(), b"one".to_vec()),
            ("new.txt".to_string(), b"newer".to_vec()),
        ];
        let again = commit_changes_on(&bare, &moved, "main", &files, &["new.txt".into()], "again");
        let (_, entries) = tree(&bare, &again.unwrap()).unwrap();
        assert!(
            entries.iter().any(|e| e.path == "a/b/one.yaml"),
            "{entries:?}"
        );
        assert!(!entries.iter().any(|e| e.path == "new.txt"), "{entries:?}");
        delete_branch(&bare, "dev").unwrap();
        assert_eq!(rev_parse(&bare, "refs/heads/dev"), None);
    }

    #[test]
    fn git_words_are_the_subcommand_and_its_positionals() {
        let words =
            |args: &[&str]| command_words(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
        assert_eq!(words(&["init", "-b", "main"]), ["init"]);
        assert_eq!(
            words(&[
                "-c",
                "user.name=K B",
                "-c",
                "x=y",
                "commit",
                "--no-verify",
                "-m",
                "msg"
            ]),
            ["commit"]
        );
        assert_eq!(words(&["switch", "--orphan", "dev"]), ["switch"]);
        assert_eq!(
            words(&["push", "--no-verify", "https://github.com/a/b.git", "dev"]),
            ["push", "https://github.com/a/b.git", "dev"]
        );
        assert_eq!(
            words(&["ls-remote", "--heads", "https://github.com/a/b.git"]),
            ["ls-remote", "https://github.com/a/b.git"]
        );
        assert_eq!(words(&["--version"]), Vec::<String>::new());
    }

    #[test]
    fn the_simulators_own_git_inherits_no_token_and_no_azure_secret() {
        let command = git_command(None, &["--version"]);
        let removed: Vec<String> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        for name in [
            "GH_TOKEN",
            "GITHUB_TOKEN",
            "AZURE_CLIENT_SECRET",
            "ARM_CLIENT_SECRET",
        ] {
            assert!(removed.iter().any(|r| r == name), "{name}: {removed:?}");
        }
    }

    #[test]
    fn seeded_branches_are_listed_as_trees() {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("o/n.git");
        init_bare(&bare).unwrap();
        assert!(heads(&bare).is_empty());
        let mut branches = BTreeMap::new();
        let mut main = BranchContent::new();
        main.insert("README.md".into(), b"hi\n".to_vec());
        main.insert(".environments/dev/x.yaml".into(), b"a: 1\n".to_vec());
        branches.insert("main".to_string(), main);
        let mut dev = BranchContent::new();
        dev.insert("only-dev.txt".into(), b"dev\n".to_vec());
        branches.insert("dev".to_string(), dev);
        seed_content(&bare, &branches).unwrap();
        let heads = heads(&bare);
        assert_eq!(heads.keys().collect::<Vec<_>>(), ["dev", "main"]);
        let (_, entries) = tree(&bare, "main").unwrap();
        let paths: Vec<_> = entries
            .iter()
            .map(|e| (e.path.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                (".environments", "tree"),
                (".environments/dev", "tree"),
                (".environments/dev/x.yaml", "blob"),
                ("README.md", "blob"),
            ]
        );
        assert_eq!(entries[3].size, Some(3));
        assert!(path_exists(&bare, "main", ".environments"));
        assert!(!path_exists(&bare, "dev", ".environments"));
        assert!(tree(&bare, "nope").is_none());
    }
}
