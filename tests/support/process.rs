//! Processes the tests start or watch: whether one is still alive, how a test binary
//! re-runs one of its own tests in a child process, and the real git.

use std::path::PathBuf;

/// Whether `pid` is a live process. A zombie (`Z`, waiting for its reaper; in containers a
/// killed orphan may stay unreaped) or a dead task (`X`) has ended. Read from
/// `/proc/<pid>/stat`; without procfs, signal 0 asks the kernel, and a refusal for
/// permission (`EPERM`) still means the process exists: only `ESRCH` means it is gone.
pub fn alive(pid: i32) -> bool {
    if std::path::Path::new("/proc/self/stat").exists() {
        return match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name in parentheses, which may itself contain
            // ')' or spaces: `123 (sleep) S ...`.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
            Err(_) => false,
        };
    }
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The name libtest gives the test `function` of the module `module_path` (pass
/// `module_path!()`): the module path without the crate, e.g. `state_lock::lock_holder`,
/// for re-running that one test with `--exact` in a child of the test binary.
pub fn test_name(module_path: &str, function: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate, module)) => format!("{module}::{function}"),
        None => function.to_string(),
    }
}

/// The real git on PATH, for the stand-ins that record or hold a call before handing it
/// over (never one of those stand-ins, which live in temporary directories).
pub fn real_git() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("git"))
        .find(|path| path.is_file() && !path.starts_with(std::env::temp_dir()))
        .expect("git on PATH")
}

/// How long a test waits for something that takes a moment on any machine before calling it
/// a hang. It bounds no behaviour (a slower machine only waits longer): it turns a hang into
/// a failure, so it is long enough that no load reaches it.
pub const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(60);

/// Polls `done` until it holds, blocking the thread between polls; after [`HANG_GUARD`],
/// panics with "hang guard: {what} never happened".
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "hang guard: {what} never happened within {HANG_GUARD:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// [`wait_until`] for async tests: sleeps on tokio's timer between polls, so the runtime's
/// other tasks go on meanwhile. The hang guard is on the real clock (on a paused tokio clock
/// the sleeps return at once).
pub async fn wait_until_async(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "hang guard: {what} never happened within {HANG_GUARD:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A child the test started, killed and reaped when the guard is dropped: a failed
/// assertion (a panic) does not leave it running after the test.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Whether the child is still running (not yet exited).
    pub fn running(&mut self) -> bool {
        self.0.try_wait().expect("the child's status").is_none()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Already ended (or killed by the test): both calls fail harmlessly.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
