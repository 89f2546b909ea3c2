//! Keep the newest log files of ours, delete older ones, never touch anything else.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// How many `bootstrap-*.log` files a log directory keeps.
pub const KEEP_LOG_FILES: usize = 10;

const LOG_PREFIX: &str = "bootstrap-";
const LOG_SUFFIX: &str = ".log";

/// The unix timestamp in one of our log file names (`bootstrap-{digits}.log`), or `None`
/// for any other name.
pub fn log_file_timestamp(file_name: &str) -> Option<u64> {
    let digits = file_name
        .strip_prefix(LOG_PREFIX)?
        .strip_suffix(LOG_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What a rotation did.
#[derive(Debug, Default)]
pub struct RotationOutcome {
    /// Older log files deleted.
    pub removed: Vec<PathBuf>,
    /// Files that should have been deleted but could not be.
    pub failures: Vec<(PathBuf, io::Error)>,
}

/// In `dir`, keep the newest `keep` regular files named `bootstrap-{unix-timestamp}.log`
/// (newest by the timestamp in the name, ties by name) and delete the rest. `current`, the
/// file just opened, is always kept and counts towards `keep`. Other files, directories and
/// symlinks are never touched.
pub fn rotate_logs(dir: &Path, keep: usize, current: &Path) -> io::Result<RotationOutcome> {
    let current_name = current.file_name();
    let mut others: Vec<(u64, String, PathBuf)> = Vec::new();
    let mut current_present = false;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(timestamp) = log_file_timestamp(&name) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            continue;
        }
        if current_name == Some(entry.file_name().as_os_str()) {
            current_present = true;
            continue;
        }
        others.push((timestamp, name, entry.path()));
    }
    others.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));

    let keep_others = keep.saturating_sub(usize::from(current_present));
    let mut outcome = RotationOutcome::default();
    for (_, _, path) in others.into_iter().skip(keep_others) {
        match fs::remove_file(&path) {
            Ok(()) => outcome.removed.push(path),
            Err(error) => outcome.failures.push((path, error)),
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_exact_pattern_has_a_timestamp() {
        assert_eq!(
            log_file_timestamp("bootstrap-1762857045.log"),
            Some(1762857045)
        );
        for other in [
            "bootstrap-.log",
            "bootstrap-12a.log",
            "bootstrap-state.json",
            "bootstrap-12.log.bak",
            "xbootstrap-12.log",
            "bootstrap-+12.log",
        ] {
            assert_eq!(log_file_timestamp(other), None, "{other}");
        }
    }
}
