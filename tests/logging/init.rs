//! `logging::init` end to end: the global subscriber, the real log file through the
//! non-blocking writer, rotation, redaction through `secrets::redact`.
//!
//! The global subscriber is process-wide and can be installed once per process: it would
//! take every event of the other tests of this binary, and they share its process. So the
//! test re-runs itself in a child process of the test binary (`--exact`, alone there) and
//! does its work only in that child.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use kalypso_bootstrap::logging::{
    self, default_log_path, ConsoleOutput, LoggingError, LoggingSettings, Verbosity,
};
use kalypso_bootstrap::secrets;
use regex::Regex;
use time::OffsetDateTime;

/// Set in the child process that runs the test for real.
const IN_CHILD: &str = "KALYPSO_TEST_LOGGING_INIT_CHILD";

#[test]
fn init_writes_every_level_redacted_to_a_private_file_and_prunes_old_logs() {
    if std::env::var_os(IN_CHILD).is_none() {
        let name = crate::support::process::test_name(
            module_path!(),
            "init_writes_every_level_redacted_to_a_private_file_and_prunes_old_logs",
        );
        let output = Command::new(std::env::current_exe().unwrap())
            .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(IN_CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        // The filter matched this test: exactly one ran (and passed) in the child.
        assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
        return;
    }
    const CANARY: &str = "ghp_initCANARY0123456789abcdefgh";
    secrets::register(CANARY);

    let home = tempfile::tempdir().unwrap();
    let log_dir = home.path().join(".kalypso");
    fs::create_dir(&log_dir).unwrap();
    for timestamp in 100..112u64 {
        fs::write(log_dir.join(format!("bootstrap-{timestamp}.log")), "old\n").unwrap();
    }
    fs::write(log_dir.join("bootstrap-state.json"), "{}").unwrap();

    let path = default_log_path(home.path(), OffsetDateTime::now_utc());
    let mut settings = LoggingSettings::new(Some(path.clone()), Verbosity::Normal);
    settings.console = ConsoleOutput::Off;

    let guard = logging::init(settings).unwrap();
    assert_eq!(guard.log_file(), Some(path.as_path()));

    tracing::trace!(target: "kalypso_bootstrap::test", "trace detail");
    tracing::debug!(target: "kalypso_bootstrap::test", "debug detail");
    tracing::error!(target: "kalypso_bootstrap::test", "gh failed with token {CANARY}");

    let again = logging::init(LoggingSettings::new(None, Verbosity::Normal));
    assert!(matches!(again, Err(LoggingError::AlreadyInitialized)));

    drop(guard); // flushes the non-blocking writer

    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains(CANARY), "{text}");
    let line = |level: &str, message: &str| {
        Regex::new(&format!(
            r"(?m)^\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}\.\d{{3}}Z +{level} kalypso_bootstrap::test: {message}$"
        ))
        .unwrap()
    };
    assert!(line("TRACE", "trace detail").is_match(&text), "{text}");
    assert!(line("DEBUG", "debug detail").is_match(&text), "{text}");
    assert!(
        line("ERROR", r"gh failed with token \*\*\*").is_match(&text),
        "{text}"
    );

    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let logs: Vec<String> = fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| logging::log_file_timestamp(name).is_some())
        .collect();
    assert_eq!(logs.len(), logging::KEEP_LOG_FILES, "{logs:?}");
    assert!(logs.contains(&path.file_name().unwrap().to_str().unwrap().to_string()));
    assert!(!logs.contains(&"bootstrap-102.log".to_string()));
    assert!(logs.contains(&"bootstrap-103.log".to_string()));
    assert!(log_dir.join("bootstrap-state.json").exists());
}
