//! Log file placement, permissions and rotation, on a real temporary directory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kalypso_bootstrap::logging::{
    default_log_path, log_file_timestamp, open_log_file, prepare_log_file, rotate_logs,
    KEEP_LOG_FILES,
};
use time::macros::datetime;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn touch(path: &Path) {
    fs::write(path, b"old log\n").unwrap();
}

#[test]
fn default_path_is_under_home_dot_kalypso_with_the_unix_timestamp() {
    let path = default_log_path(Path::new("/home/ada"), datetime!(2025-11-11 10:30:45 UTC));
    assert_eq!(
        path,
        PathBuf::from("/home/ada/.kalypso/bootstrap-1762857045.log")
    );
    let name = path.file_name().unwrap().to_str().unwrap();
    assert_eq!(log_file_timestamp(name), Some(1762857045));
}

#[test]
fn a_new_directory_is_0700_and_the_file_0600() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(".kalypso/nested/bootstrap-1.log");
    let mut file = open_log_file(&path).unwrap();
    writeln!(file, "line").unwrap();
    assert_eq!(mode(&home.path().join(".kalypso")), 0o700);
    assert_eq!(mode(&home.path().join(".kalypso/nested")), 0o700);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn an_existing_file_is_appended_to_and_keeps_its_mode_and_its_directory_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("custom.log");
    fs::write(&path, "first\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

    let mut file = open_log_file(&path).unwrap();
    writeln!(file, "second").unwrap();
    drop(file);

    assert_eq!(fs::read_to_string(&path).unwrap(), "first\nsecond\n");
    // Not created by us: never chmodded (issue 12, item 5).
    assert_eq!(mode(&path), 0o644);
    assert_eq!(mode(dir.path()), 0o755);
}

/// Issue 12, item 5: a symlink (even to a regular file) and a special file are refused,
/// and their targets keep their mode and contents.
#[test]
fn a_symlink_or_a_special_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.txt");
    fs::write(&target, "theirs\n").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let error = open_log_file(&link).unwrap_err().to_string();
    assert!(
        error.contains("link.log") && error.contains("symbolic link"),
        "{error}"
    );
    assert_eq!(mode(&target), 0o644);
    assert_eq!(fs::read_to_string(&target).unwrap(), "theirs\n");

    let dangling = dir.path().join("dangling.log");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    assert!(open_log_file(&dangling).is_err());
    assert!(
        !dir.path().join("nowhere").exists(),
        "never created through a symlink"
    );

    let before = mode(Path::new("/dev/full"));
    let error = open_log_file(Path::new("/dev/full"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("character device"), "{error}");
    assert_eq!(mode(Path::new("/dev/full")), before);

    let fifo = dir.path().join("fifo.log");
    let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let error = open_log_file(&fifo).unwrap_err().to_string();
    assert!(error.contains("FIFO"), "{error}");
}

/// Issue 12, item 5: a write that fails is recorded (and the guard reports it on stderr),
/// not swallowed by the writer thread. `/dev/full` fails every write with ENOSPC.
#[test]
fn a_failed_write_is_recorded() {
    use kalypso_bootstrap::logging::{FailureRecordingWriter, WriteFailure};
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let failure = WriteFailure::default();
    let mut writer = std::io::BufWriter::new(FailureRecordingWriter::new(full, failure.clone()));
    assert_eq!(failure.get(), None);
    writeln!(writer, "a line that will not fit").unwrap();
    assert!(writer.flush().is_err());
    let recorded = failure.get().expect("the failure is recorded");
    assert!(recorded.contains("No space left on device"), "{recorded}");
}

#[test]
fn an_unusable_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    touch(&blocker);
    let path = blocker.join("bootstrap-1.log");
    let error = open_log_file(&path).unwrap_err().to_string();
    assert!(error.contains("not-a-dir"), "{error}");
}

#[test]
fn rotation_keeps_the_newest_ten_by_timestamp_and_leaves_unrelated_files() {
    let dir = tempfile::tempdir().unwrap();
    // 995..=1007 crosses a digit boundary: newest is numeric, not lexicographic.
    for timestamp in 995..=1007u64 {
        touch(&dir.path().join(format!("bootstrap-{timestamp}.log")));
    }
    let unrelated = [
        "bootstrap-state.json",
        ".bootstrap-state.json.bak",
        "bootstrap-abc.log",
        "bootstrap-5.log.bak",
        "notes.txt",
        "bootstrap-.log",
    ];
    for name in unrelated {
        touch(&dir.path().join(name));
    }
    // A directory wearing our name pattern is not a log file.
    fs::create_dir(dir.path().join("bootstrap-1.log")).unwrap();

    let current = dir.path().join("bootstrap-1007.log");
    let outcome = rotate_logs(dir.path(), KEEP_LOG_FILES, &current).unwrap();

    let mut removed: Vec<String> = outcome
        .removed
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        [
            "bootstrap-995.log",
            "bootstrap-996.log",
            "bootstrap-997.log"
        ]
    );
    assert!(outcome.failures.is_empty());

    let remaining = names(dir.path());
    for timestamp in 998..=1007 {
        assert!(remaining.contains(&format!("bootstrap-{timestamp}.log")));
    }
    for name in unrelated.iter().chain(&["bootstrap-1.log"]) {
        assert!(remaining.contains(&name.to_string()), "{name} was touched");
    }
    assert_eq!(remaining.len(), 10 + unrelated.len() + 1);
}

#[test]
fn the_current_file_survives_even_when_older_files_claim_to_be_newer() {
    let dir = tempfile::tempdir().unwrap();
    for timestamp in 2000..2012u64 {
        touch(&dir.path().join(format!("bootstrap-{timestamp}.log")));
    }
    // The clock went backwards: our file has the smallest timestamp.
    let current = dir.path().join("bootstrap-1000.log");
    touch(&current);

    rotate_logs(dir.path(), KEEP_LOG_FILES, &current).unwrap();

    let remaining = names(dir.path());
    assert_eq!(remaining.len(), KEEP_LOG_FILES);
    assert!(remaining.contains(&"bootstrap-1000.log".to_string()));
    for timestamp in 2003..2012 {
        assert!(remaining.contains(&format!("bootstrap-{timestamp}.log")));
    }
}

#[test]
fn fewer_than_ten_logs_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    for timestamp in 1..=4u64 {
        touch(&dir.path().join(format!("bootstrap-{timestamp}.log")));
    }
    let outcome = rotate_logs(
        dir.path(),
        KEEP_LOG_FILES,
        &dir.path().join("bootstrap-4.log"),
    )
    .unwrap();
    assert!(outcome.removed.is_empty());
    assert_eq!(names(dir.path()).len(), 4);
}

#[test]
fn preparing_one_of_our_files_prunes_and_a_custom_name_prunes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for timestamp in 1..=12u64 {
        touch(&dir.path().join(format!("bootstrap-{timestamp}.log")));
    }

    let custom = prepare_log_file(&dir.path().join("my-run.log")).unwrap();
    assert!(custom.rotation.is_none());
    assert_eq!(names(dir.path()).len(), 13);

    let ours = prepare_log_file(&dir.path().join("bootstrap-13.log")).unwrap();
    let removed = ours.rotation.unwrap().unwrap().removed;
    assert_eq!(removed.len(), 3, "{removed:?}");
    let remaining = names(dir.path());
    assert!(remaining.contains(&"my-run.log".to_string()));
    assert!(remaining.contains(&"bootstrap-13.log".to_string()));
    assert!(!remaining.contains(&"bootstrap-3.log".to_string()));
    assert!(remaining.contains(&"bootstrap-4.log".to_string()));
}
