//! Crash safety (issue 6, item 2): the headless demo killed with SIGKILL at random moments
//! never leaves a torn state file, and re-running the same command converges to `completed`
//! without creating any resource twice in the simulated world it resumes against.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::support::demo::demo_process;
use crate::support::process::{alive, real_git, HANG_GUARD};
use serde_json::Value;
use tempfile::TempDir;

const TOKEN: &str = "ghp_CRASHsafety0123456789abcdefghijKLMN";
/// Runs killed with the simulated tools answering at once (a whole run takes about 1 s).
const FAST_CASES: usize = 50;
/// Runs killed with the demo's realistic latencies, to hit long provisioning steps.
const SLOW_CASES: usize = 3;
const THREADS: usize = 4;

/// A small deterministic generator (Knuth's MMIX LCG), so a failing seed can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

fn demo_command(home: &Path, state: &Path, zero_latency: bool) -> Command {
    let mut cmd = demo_process(home, TOKEN);
    cmd.arg("--state-file").arg(state).stdin(Stdio::null());
    if !zero_latency {
        cmd.env_remove("KALYPSO_DEMO_LATENCY");
    }
    cmd
}

fn world_file(state: &Path) -> PathBuf {
    PathBuf::from(format!("{}.demo", state.display())).join("simulated-world.json")
}

fn backup_of(state: &Path) -> PathBuf {
    // The documented backup name: `.bootstrap-state.json.bak` beside the state, or `X.bak`.
    let candidates = [
        PathBuf::from(format!("{}.bak", state.display())),
        state.with_file_name(format!(
            ".{}.bak",
            state.file_name().unwrap().to_string_lossy()
        )),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

/// `Err` with a description when a file that exists does not parse as JSON.
fn parses_if_present(path: &Path) -> Result<(), String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
            .map(|_| ())
            .map_err(|e| format!("{} is torn ({} bytes): {e}", path.display(), bytes.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn count_keys(value: &Value) -> usize {
    value.as_object().map_or(0, |o| o.len())
}

/// Every resource of a complete demo exists exactly once in the simulated world.
fn world_has_no_duplicate(world: &Value) -> Result<(), String> {
    let azure = &world["azure"];
    let groups: Vec<&String> = azure["resource_groups"]
        .as_object()
        .ok_or("no resource groups")?
        .keys()
        .filter(|name| !name.starts_with("mc_"))
        .collect();
    if groups.len() != 1 {
        return Err(format!("resource groups: {groups:?}"));
    }
    if count_keys(&azure["clusters"]) != 1 {
        return Err(format!("clusters: {}", azure["clusters"]));
    }
    let repos: Vec<&String> = world["github"]["repos"]
        .as_object()
        .ok_or("no repos")?
        .keys()
        .collect();
    // Ours, and the upstream workload repositories every simulated world has.
    let expected = [
        "kalypso-demo/kalypso-demo-control-plane",
        "kalypso-demo/kalypso-demo-gitops",
        "microsoft/kalypso-app-gitops",
        "microsoft/kalypso-app-src",
        "microsoft/kalypso-svc-src",
    ];
    if repos != expected {
        return Err(format!("repositories: {repos:?}"));
    }
    let kube = world["kube"].as_object().ok_or("no kube")?;
    if kube.len() != 1 {
        return Err(format!(
            "kube servers: {:?}",
            kube.keys().collect::<Vec<_>>()
        ));
    }
    let server = kube.values().next().unwrap();
    let releases: Vec<&String> = server["releases"]
        .as_object()
        .ok_or("no releases")?
        .keys()
        .collect();
    if releases != ["kalypso-system/kalypso-scheduler"] {
        return Err(format!("helm releases: {releases:?}"));
    }
    Ok(())
}

/// The ERROR and WARN lines of every log file the runs wrote, for a failure's report.
fn log_error_lines(home: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(home.join(".kalypso")) else {
        return String::from("(no log directory)");
    };
    let mut lines = Vec::new();
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        lines.extend(
            text.lines()
                .filter(|l| l.contains("ERROR") || l.contains("WARN"))
                .map(|l| format!("{}: {l}", entry.file_name().to_string_lossy())),
        );
    }
    lines.join("\n")
}

/// One case: start, SIGKILL after `delay_ms`, check the files, re-run, check convergence.
fn crash_and_resume(case: usize, delay_ms: u64, zero_latency: bool) -> Result<String, String> {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let mut child = demo_command(home.path(), &state, zero_latency)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(delay_ms));
    // `Child::kill` is SIGKILL on Unix: no handler, no cleanup.
    let killed = child.try_wait().unwrap().is_none();
    child.kill().ok();
    child.wait().unwrap();
    let tag = format!("case {case} (kill at {delay_ms} ms, killed: {killed})");

    parses_if_present(&state).map_err(|e| format!("{tag}: {e}"))?;
    parses_if_present(&backup_of(&state)).map_err(|e| format!("{tag}: {e}"))?;
    parses_if_present(&world_file(&state)).map_err(|e| format!("{tag}: {e}"))?;

    let rerun = demo_command(home.path(), &state, true)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    if rerun.status.code() != Some(0) {
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&rerun.stdout),
            String::from_utf8_lossy(&rerun.stderr)
        );
        let log_errors = log_error_lines(home.path());
        return Err(format!(
            "{tag}: re-run exited {:?}:\n{}\nlog errors:\n{}",
            rerun.status.code(),
            output.lines().rev().take(30).collect::<Vec<_>>().join("\n"),
            log_errors
        ));
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap())
        .map_err(|e| format!("{tag}: state after re-run: {e}"))?;
    if saved["status"] != "completed" {
        return Err(format!(
            "{tag}: status {} errors {}",
            saved["status"], saved["errors"]
        ));
    }
    let world: Value = serde_json::from_slice(&std::fs::read(world_file(&state)).unwrap())
        .map_err(|e| format!("{tag}: world after re-run: {e}"))?;
    world_has_no_duplicate(&world).map_err(|e| format!("{tag}: {e}"))?;
    Ok(tag)
}

#[test]
fn demo_runs_killed_at_random_moments_resume_to_completed_without_duplicates() {
    let mut rng = Lcg(0x6b61_6c79_7073_6f36);
    let mut cases: Vec<(usize, u64, bool)> = (0..FAST_CASES)
        .map(|case| (case, rng.next_below(1200), true))
        .collect();
    cases.extend((0..SLOW_CASES).map(|i| (FAST_CASES + i, 300 + rng.next_below(4000), false)));
    let queue = Mutex::new(cases);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap().pop();
                let Some((case, delay, zero)) = next else {
                    break;
                };
                let outcome = crash_and_resume(case, delay, zero);
                outcomes.lock().unwrap().push(outcome);
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    let killed_mid_run = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .filter(|tag| tag.ends_with("killed: true)"))
        .count();
    eprintln!(
        "crash safety: {} cases tried, {} passed, {killed_mid_run} killed mid-run",
        outcomes.len(),
        outcomes.len() - failures.len()
    );
    assert_eq!(outcomes.len(), FAST_CASES + SLOW_CASES);
    assert!(failures.is_empty(), "{failures:#?}");
    // The kills must actually land inside runs, or the test proves nothing.
    assert!(
        killed_mid_run >= FAST_CASES / 2,
        "only {killed_mid_run} kills landed mid-run"
    );
}

/// A killed run's `git push` can still be finishing when the next run seeds the same
/// repository: the re-run's push of that branch is then rejected (`fetch first`). Shown
/// deterministically with a `git` stand-in that, on the first push, lets a rival commit of
/// the same files land first. The run must look at the remote again and converge, leaving
/// the rival's branch alone (never a force push).
#[test]
fn a_push_that_loses_the_race_to_another_push_converges() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let real_git = real_git();
    let marker = home.path().join("rival-pushed");
    let stand_in = bin.join("git");
    std::fs::write(
        &stand_in,
        r#"#!/bin/sh
if [ "$1" = "push" ] && [ ! -e "$RIVAL_MARKER" ]; then
  : > "$RIVAL_MARKER"
  rival=$(GIT_AUTHOR_NAME=rival GIT_AUTHOR_EMAIL=rival@example.invalid \
    GIT_COMMITTER_NAME=rival GIT_COMMITTER_EMAIL=rival@example.invalid \
    "$REAL_GIT" commit-tree "HEAD^{tree}" -m "the same files, pushed by another run") || exit 90
  "$REAL_GIT" push -q "$3" "$rival:refs/heads/$4" || exit 91
  printf '%s %s\n' "$4" "$rival" > "$RIVAL_MARKER"
fi
exec "$REAL_GIT" "$@"
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();

    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = demo_command(home.path(), &state, true)
        .env("PATH", path)
        .env("REAL_GIT", &real_git)
        .env("RIVAL_MARKER", &marker)
        .output()
        .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let rival = std::fs::read_to_string(&marker).expect("the stand-in pushed a rival commit");
    let (branch, rival_commit) = rival.trim().split_once(' ').unwrap();
    assert_eq!(run.status.code(), Some(0), "{output}");
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["status"], "completed");

    // The rival's commit is still the branch's head: looked at again, not overwritten.
    let demo_dir = PathBuf::from(format!("{}.demo", state.display()));
    let heads = Command::new(&real_git)
        .args(["for-each-ref", "--format=%(refname:short) %(objectname)"])
        .current_dir(find_bare_repo_with(&demo_dir, rival_commit))
        .output()
        .unwrap();
    let heads = String::from_utf8_lossy(&heads.stdout);
    assert!(
        heads
            .lines()
            .any(|l| l == format!("{branch} {rival_commit}")),
        "{heads}"
    );
    assert!(heads.lines().any(|l| l.starts_with("dev ")), "{heads}");
}

/// The bare repository (under the demo world's directory) that holds `commit`.
fn find_bare_repo_with(dir: &Path, commit: &str) -> PathBuf {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        if next.extension().is_some_and(|e| e == "git") {
            let found = Command::new("git")
                .args(["cat-file", "-e", commit])
                .current_dir(&next)
                .status()
                .unwrap();
            if found.success() {
                return next;
            }
            continue;
        }
        if let Ok(entries) = std::fs::read_dir(&next) {
            pending.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
    }
    panic!("no bare repository under {} holds {commit}", dir.display());
}

/// A run killed with SIGKILL cannot clean up, and its children run in sessions of their
/// own; still none of them may outlive it (a leftover `git push` or `az aks create` would
/// race the next run). Real run, stand-in tools that record their pid and hang.
#[cfg(target_os = "linux")]
#[test]
fn children_of_a_run_killed_with_sigkill_end_with_it() {
    use std::os::unix::fs::PermissionsExt;
    let home = TempDir::new().unwrap();
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let pids = home.path().join("pids");
    for tool in ["az", "gh", "kubectl", "helm", "git"] {
        let path = bin.join(tool);
        std::fs::write(&path, "#!/bin/sh\necho $$ >> \"$PIDS\"\nexec sleep 120\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut run = Command::new(env!("CARGO_BIN_EXE_kalypso-bootstrap"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("PIDS", &pids)
        .env("GITHUB_TOKEN", TOKEN)
        .current_dir(home.path())
        .args([
            "--no-tui",
            "--non-interactive",
            "--skip-validation",
            "--cluster-name",
            "orphans",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let recorded = || -> Vec<i32> {
        std::fs::read_to_string(&pids)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while recorded().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "hang guard: no tool was ever started"
        );
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the concurrent look-ups all start.
    std::thread::sleep(Duration::from_millis(300));
    run.kill().unwrap();
    run.wait().unwrap();
    let children = recorded();
    // The kernel kills them at once; their reaping takes a moment (under the hang guard,
    // shorter than the stand-ins' own `sleep 120`).
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while children.iter().any(|&pid| alive(pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let survivors: Vec<i32> = children.into_iter().filter(|&pid| alive(pid)).collect();
    for pid in &survivors {
        // SAFETY: signalling a process this test started (through the run).
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(
        survivors.is_empty(),
        "children outlived the run: {survivors:?}"
    );
}

/// Every file under `dir` (not following symlinks) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path);
            }
        }
    }
    found
}

/// Issue 12, item 4: the token never touches the disk. A demo run is killed (SIGKILL: no
/// clean-up runs) while `helm upgrade --install` is in progress, slowed to 30 s; nothing
/// under the run's HOME and TMPDIR (state, log, simulated world, work and temporary
/// directories) holds the token. A values file written for helm would still be there.
#[test]
fn no_file_holds_the_token_after_a_sigkill_during_the_helm_install() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let mut run = demo_command(home.path(), &state, false)
        .env("KALYPSO_DEMO_LATENCY", "zero,helm upgrade=30s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The release is recorded as being created just before helm is started.
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        let saved = std::fs::read_to_string(&state).unwrap_or_default();
        if saved.contains("\"helm_release\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "hang guard: the run never reached the Helm install"
        );
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Once the release is pending, helm is waiting out its latency, its values in hand.
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while kalypso_release_status(&state).as_deref() != Some("pending-install") {
        assert!(
            std::time::Instant::now() < deadline,
            "hang guard: the release never showed pending-install (last: {:?})",
            kalypso_release_status(&state)
        );
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run must still be installing when it is killed"
    );
    run.kill().unwrap();
    run.wait().unwrap();
    let holding = files_containing(home.path(), TOKEN.as_bytes());
    assert!(
        holding.is_empty(),
        "files holding the token after the kill: {holding:#?}"
    );
}

/// The status of the Kalypso release in a saved simulated world, if there is one.
fn kalypso_release_status(state: &Path) -> Option<String> {
    let text = std::fs::read_to_string(world_file(state)).ok()?;
    let world: Value = serde_json::from_str(&text).ok()?;
    world["kube"].as_object()?.values().find_map(|server| {
        server["releases"]["kalypso-system/kalypso-scheduler"]["status"]
            .as_str()
            .map(str::to_string)
    })
}

/// Issue 14 §5: real helm stores a release `pending-install` before it creates anything
/// and marks it `deployed` only after its `--wait`; killed in between, the release stays
/// pending and every later `helm upgrade --install` fails with "another operation
/// (install/upgrade/rollback) is in progress". A demo run killed (SIGKILL) while helm
/// installs leaves exactly that in the persisted world, and the next run, whose state
/// records the release as ours and whose release label carries its id, uninstalls and
/// installs it again and completes.
#[test]
fn a_release_left_pending_by_a_sigkill_during_helm_is_recovered_by_the_next_run() {
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let mut run = demo_command(home.path(), &state, false)
        .env("KALYPSO_DEMO_LATENCY", "zero,helm upgrade=30s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while kalypso_release_status(&state).as_deref() != Some("pending-install") {
        assert!(
            std::time::Instant::now() < deadline,
            "hang guard: the release never showed pending-install (last: {:?})",
            kalypso_release_status(&state)
        );
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    assert_eq!(
        kalypso_release_status(&state).as_deref(),
        Some("pending-install"),
        "the kill leaves the release pending"
    );

    let rerun = demo_command(home.path(), &state, true)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&rerun.stdout),
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert_eq!(rerun.status.code(), Some(0), "{output}");
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["status"], "completed", "{}", saved["errors"]);
    assert_eq!(kalypso_release_status(&state).as_deref(), Some("deployed"));
}

/// Issue 12, item 4: seed directories are private (0700), and a later run removes the ones
/// a killed run left, by the name prefix the tool owns and only when that run is gone,
/// never following a symlink; everything else in the directory stays.
#[test]
fn a_later_run_removes_only_the_seed_directories_killed_runs_left() {
    use std::os::unix::fs::PermissionsExt;
    let home = TempDir::new().unwrap();
    let state = home.path().join("state.json");
    let work = PathBuf::from(format!("{}.demo", state.display())).join("work");
    // A push slowed to 30 s: the run is killed while its seed directory is in use.
    let mut run = demo_command(home.path(), &state, false)
        .env("KALYPSO_DEMO_LATENCY", "zero,git push=30s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let killed_pid = run.id();
    let seed_dirs = |work: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(work)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with(&format!("kalypso-bootstrap-seed-{}-", killed_pid))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while seed_dirs(&work).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "hang guard: no seed directory appeared"
        );
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    run.kill().unwrap();
    run.wait().unwrap();
    let left = seed_dirs(&work);
    assert!(!left.is_empty(), "the killed run left its seed directory");
    for dir in &left {
        let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }

    // Bystanders: not ours by name, not a directory, a symlink, a live run's.
    let gone_pid = 4_194_399; // above the kernel's PID limit: never a live process
    let outside = home.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("keep.txt"), "keep").unwrap();
    let not_a_pid = work.join("kalypso-bootstrap-seed-notapid-x");
    let other_prefix = work.join(format!("kalypso-seed-{gone_pid}-x"));
    let a_file = work.join(format!("kalypso-bootstrap-seed-{gone_pid}-file"));
    let a_symlink = work.join(format!("kalypso-bootstrap-seed-{gone_pid}-link"));
    let live = work.join(format!(
        "kalypso-bootstrap-seed-{}-live",
        std::process::id()
    ));
    let gone = work.join(format!("kalypso-bootstrap-seed-{gone_pid}-gone"));
    for dir in [&not_a_pid, &other_prefix, &live, &gone] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("f"), "x").unwrap();
    }
    std::fs::write(&a_file, "x").unwrap();
    std::os::unix::fs::symlink(&outside, &a_symlink).unwrap();
    // A values file an earlier version left (0600, the token inside) goes; look-alikes stay.
    let old_values = work.join("kalypso-values-Ab12Cd.yaml");
    std::fs::write(&old_values, format!("ghRepoToken: {TOKEN}\n")).unwrap();
    std::fs::set_permissions(&old_values, std::fs::Permissions::from_mode(0o600)).unwrap();
    let values_like = work.join("kalypso-values-notes.yaml");
    std::fs::write(&values_like, "mine\n").unwrap();
    let values_link = work.join("kalypso-values-Zz99Yy.yaml");
    std::os::unix::fs::symlink(outside.join("keep.txt"), &values_link).unwrap();

    let rerun = demo_command(home.path(), &state, true)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(rerun.code(), Some(0));
    for dir in &left {
        assert!(!dir.exists(), "left by the killed run: {}", dir.display());
    }
    assert!(!gone.exists(), "left by a run that is gone");
    assert!(!old_values.exists(), "an old values file holding the token");
    assert!(values_like.exists());
    assert!(std::fs::symlink_metadata(&values_link).is_ok());
    for kept in [&not_a_pid, &other_prefix, &a_file, &live] {
        assert!(kept.exists(), "not ours to remove: {}", kept.display());
    }
    assert!(
        std::fs::symlink_metadata(&a_symlink).is_ok(),
        "symlink kept"
    );
    assert!(outside.join("keep.txt").exists(), "symlink not followed");
}
