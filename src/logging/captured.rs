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
