//! The state lock against a real second process: contention names the holder's PID, and
//! a holder killed with SIGKILL leaves nothing that blocks the next run.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::process::{alive, HANG_GUARD};

use kalypso_bootstrap::state::{LockHolder, StateError, StateStore};
use tempfile::TempDir;

const HOLDER_ENV: &str = "KALYPSO_TEST_LOCK_HOLDER_STATE";
const READY: &str = "LOCK-HOLDER-READY";

/// Run only as a child of the tests below (re-executing this test binary): take the lock
/// on the state file named by the environment, say so, and hold it until killed.
#[test]
#[ignore = "helper process for the lock tests; does nothing when run directly"]
fn lock_holder_process() {
    let Some(state_path) = std::env::var_os(HOLDER_ENV) else {
        return;
    };
    let store = StateStore::at_custom(PathBuf::from(state_path));
    let _lock = store.lock().expect("helper takes the lock");
    println!("{READY} {}", std::process::id());
    // Bounded, so a parent that dies without killing us leaves no process behind for long.
    std::thread::sleep(Duration::from_secs(120));
}

struct Holder {
    child: Child,
}

impl Holder {
    fn spawn(state_path: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg(crate::support::process::test_name(
                module_path!(),
                "lock_holder_process",
            ))
            .args(["--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(HOLDER_ENV, state_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            // libtest may print "test lock_holder_process ... " on the same line first.
            .find_map(|line| line.find(READY).map(|at| line[at..].to_string()))
            .expect("the helper reports that it holds the lock");
        assert_eq!(ready, format!("{READY} {}", child.id()));
        Self { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no destructor runs, the lock file keeps the dead PID.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_second_run_fails_at_once_naming_the_holder_pid_and_recovers_after_sigkill() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("state.json"));
    let holder = Holder::spawn(store.path());
    let holder_pid = holder.pid();

    // The holder keeps the lock for 120 s: a lock that waited for it would still be
    // waiting when the hang guard (60 s) gives up, or would get the lock after 120 s. The
    // refusal while the holder still lives shows the attempt did not wait.
    let (attempt, refusal) = std::sync::mpsc::channel();
    let path = store.path().to_path_buf();
    std::thread::spawn(move || {
        let _ = attempt.send(StateStore::at_custom(path).lock().map(drop));
    });
    let err = refusal
        .recv_timeout(HANG_GUARD)
        .expect("hang guard: the second lock waited for the holder instead of refusing")
        .unwrap_err();
    assert!(
        alive(holder_pid as i32),
        "refused while the holder still holds the lock"
    );
    match &err {
        StateError::Locked {
            holder, lock_path, ..
        } => {
            assert_eq!(
                *holder,
                LockHolder {
                    pid: Some(holder_pid)
                }
            );
            assert_eq!(lock_path, &dir.path().join("state.json.lock"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&format!("PID {holder_pid}")), "{message}");
    assert!(
        message.contains(&store.path().display().to_string()),
        "{message}"
    );

    holder.kill();
    // The stale lock file still names the dead process...
    let stale = fs::read_to_string(store.lock_path()).unwrap();
    assert_eq!(stale.trim(), holder_pid.to_string());
    // ...and does not block us.
    let lock = store.lock().expect("a killed holder's lock is free");
    let ours = fs::read_to_string(lock.path()).unwrap();
    assert_eq!(ours.trim(), std::process::id().to_string());
}

#[test]
fn the_lock_is_exclusive_within_one_process_and_released_on_drop() {
    let dir = TempDir::new().unwrap();
    let store = StateStore::at_custom(dir.path().join("s.json"));
    let first = store.lock().unwrap();
    match store.lock().unwrap_err() {
        StateError::Locked { holder, .. } => assert_eq!(holder.pid, Some(std::process::id())),
        other => panic!("unexpected {other:?}"),
    }
    drop(first);
    assert_eq!(fs::read_to_string(store.lock_path()).unwrap(), "");
    let _again = store.lock().expect("released on drop");
}

#[test]
fn locking_creates_the_missing_state_directory() {
    let home = TempDir::new().unwrap();
    let store = StateStore::at_default(home.path());
    let lock = store.lock().unwrap();
    assert_eq!(
        lock.path(),
        home.path().join(".kalypso/bootstrap-state.json.lock")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home.path().join(".kalypso")), 0o700);
    assert_eq!(mode(lock.path()), 0o600);
}

#[test]
fn different_state_files_do_not_contend() {
    let dir = TempDir::new().unwrap();
    let _a = StateStore::at_custom(dir.path().join("a.json"))
        .lock()
        .unwrap();
    let _b = StateStore::at_custom(dir.path().join("b.json"))
        .lock()
        .unwrap();
}

/// Issue 12, item 5: `<state>.lock` is opened without following a symlink, and anything
/// that is not a regular file of ours with one name is refused, left as it was.
#[test]
fn a_lock_file_that_is_a_symlink_a_fifo_or_a_hard_link_is_refused_untouched() {
    let dir = TempDir::new().unwrap();
    let victim = dir.path().join("precious.txt");
    fs::write(&victim, "precious data\n").unwrap();
    let refused = |state: &Path| -> String {
        match StateStore::at_custom(state).lock() {
            Err(err @ StateError::UnsafeLock { .. }) => err.to_string(),
            Err(other) => panic!("expected a refusal, got {other}"),
            Ok(_) => panic!("the lock for {} was taken", state.display()),
        }
    };

    let via_symlink = dir.path().join("a.json");
    std::os::unix::fs::symlink(&victim, dir.path().join("a.json.lock")).unwrap();
    let message = refused(&via_symlink);
    assert!(
        message.contains("a.json.lock") && message.contains("symbolic link"),
        "{message}"
    );

    let via_hard_link = dir.path().join("b.json");
    fs::hard_link(&victim, dir.path().join("b.json.lock")).unwrap();
    let message = refused(&via_hard_link);
    assert!(message.contains("hard link"), "{message}");

    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious data\n");

    let fifo = dir.path().join("c.json.lock");
    let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let message = refused(&dir.path().join("c.json"));
    assert!(message.contains("not a regular file"), "{message}");

    let directory = dir.path().join("d.json.lock");
    fs::create_dir(&directory).unwrap();
    let message = refused(&dir.path().join("d.json"));
    assert!(message.contains("not a regular file"), "{message}");
}
