//! A log writer for unit tests: what a test subscriber writes, kept to read back.

use std::sync::{Arc, Mutex};

/// Every byte written to it (or to a clone), for a test to read back.
#[derive(Clone, Default)]
pub(crate) struct CapturedLog(pub(crate) Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    /// What was written so far, as text.
    pub(crate) fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        String::from_utf8(bytes).expect("log lines are UTF-8")
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a test reads what a thread-local subscriber captured, it runs alone: tracing caches
/// per call site whether anybody listens, and another test registering the same call site on
/// its own thread at the same moment can leave "nobody" cached. So the test runs again in a
/// child process of the test binary, as the only test there; in the child this returns true
/// (do the work), in the parent it checks that the child's one test passed and returns false.
pub(crate) fn alone_in_a_child(test: &str) -> bool {
    const CHILD: &str = "KB_UNIT_TEST_ALONE";
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} alone in a child process:\n{stdout}\n{stderr}"
    );
    false
}
