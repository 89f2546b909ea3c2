//! Refusing an adversarial configuration file through the real loader within 1 s: 1 MiB of
//! nested flow brackets (`[[[[…`), which the YAML parser would take minutes over (its time
//! grows with the square of the nesting), and 1 MiB of unknown keys, which used to be read
//! again once for each problem listed. Then the same two files given to the real binary,
//! from spawn to its exit with the configuration error.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use kalypso_bootstrap::config::load::{load_file, LoadError, MAX_CONFIG_FILE_BYTES};
use kalypso_bootstrap::ExitCode;

use super::process::Sandbox;
use super::{human, median, rows, Mode, Row};

const TARGET: Duration = Duration::from_secs(1);

/// The two hostile files, written once into a temporary directory.
struct HostileFiles {
    /// Holds the files (removed when dropped).
    _dir: tempfile::TempDir,
    /// 1 MiB of `[`.
    nested: PathBuf,
    /// Just under 1 MiB of unknown keys under `cluster:`.
    unknown_keys: PathBuf,
    /// How many unknown keys that file holds, and its size.
    key_count: usize,
    keys_bytes: usize,
}

impl HostileFiles {
    fn write() -> HostileFiles {
        let dir = tempfile::Builder::new()
            .prefix("kalypso-bench-config-")
            .tempdir()
            .expect("a temporary directory");
        let nested = dir.path().join("nested.yaml");
        std::fs::write(&nested, "[".repeat(MAX_CONFIG_FILE_BYTES as usize))
            .expect("write the file");
        let unknown_keys = dir.path().join("unknown-keys.yaml");
        let mut keys = String::from("cluster:\n");
        let mut key_count = 0;
        while keys.len() < MAX_CONFIG_FILE_BYTES as usize - 32 {
            keys.push_str(&format!("  unknownKey{key_count}: value\n"));
            key_count += 1;
        }
        std::fs::write(&unknown_keys, &keys).expect("write the file");
        HostileFiles {
            _dir: dir,
            nested,
            unknown_keys,
            key_count,
            keys_bytes: keys.len(),
        }
    }
}

pub fn adversarial_refusal(mode: Mode) -> Vec<Row> {
    let samples = mode.pick(11, 3);
    let files = HostileFiles::write();
    let mut times = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        let refused = load_file(&files.nested);
        times.push(started.elapsed());
        assert!(
            matches!(refused, Err(LoadError::TooDeep { .. })),
            "the adversarial file must be refused as too deep: {refused:?}"
        );
    }
    let time = median(&mut times);
    let mut key_times = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        let refused = load_file(&files.unknown_keys);
        key_times.push(started.elapsed());
        assert!(
            matches!(refused, Err(LoadError::UnknownKey { .. })),
            "the unknown keys must be refused: {refused:?}"
        );
    }
    let key_time = median(&mut key_times);
    vec![
        Row::new(
            rows::CONFIG_UNKNOWN_KEYS,
            human(key_time),
            key_time.as_secs_f64() / TARGET.as_secs_f64(),
        )
        .note(format!(
            "median of {samples} loads of a {}-byte file of {} unknown keys under `cluster:`",
            files.keys_bytes, files.key_count
        )),
        Row::new(
            rows::CONFIG_NESTED_BRACKETS,
            human(time),
            time.as_secs_f64() / TARGET.as_secs_f64(),
        )
        .note(format!(
            "median of {samples} loads of a {MAX_CONFIG_FILE_BYTES}-byte file of `[` through config::load::load_file (read, nesting pre-scan, refusal)"
        )),
        binary_refusal(mode, &files),
    ]
}

/// The binary given `config` in a clean environment ([`Sandbox`]: its own HOME and TMPDIR,
/// only PATH kept), from spawn to exit: the time, after asserting it exited 3 naming the
/// file.
fn refused_by_binary(sandbox: &Sandbox, config: &Path) -> Duration {
    let config_arg = config.to_str().expect("a UTF-8 temporary path");
    let mut command = sandbox.command(
        &["--config", config_arg, "--no-tui", "--non-interactive"],
        &[],
    );
    let started = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(ExitCode::ConfigInvalid.code()),
        "the binary must refuse {} as a configuration error; stderr: {}",
        config.display(),
        stderr.chars().take(2000).collect::<String>()
    );
    assert!(
        stderr.contains(&format!("config file {}", config.display())),
        "the refusal must name the file {}; stderr: {}",
        config.display(),
        stderr.chars().take(2000).collect::<String>()
    );
    took
}

/// Both hostile files through the binary; the row is the slower kind's median.
fn binary_refusal(mode: Mode, files: &HostileFiles) -> Row {
    let samples = mode.pick(11, 3);
    let sandbox = Sandbox::new();
    let mut medians: Vec<(&str, Duration)> = [
        ("nested brackets", &files.nested),
        ("unknown keys", &files.unknown_keys),
    ]
    .into_iter()
    .map(|(kind, path)| {
        let mut times: Vec<Duration> = (0..samples)
            .map(|_| refused_by_binary(&sandbox, path))
            .collect();
        (kind, median(&mut times))
    })
    .collect();
    medians.sort_by_key(|(_, time)| *time);
    let (slower_kind, slower) = medians[medians.len() - 1];
    Row::new(
        rows::CONFIG_HOSTILE_BINARY,
        format!("{} ({slower_kind})", human(slower)),
        slower.as_secs_f64() / TARGET.as_secs_f64(),
    )
    .note(format!(
        "`kalypso-bootstrap --config FILE --no-tui --non-interactive` with a clean environment (own HOME and TMPDIR), median of {samples} runs from spawn to exit per file, each asserted to exit {} naming the file: {}",
        ExitCode::ConfigInvalid.code(),
        medians
            .iter()
            .map(|(kind, time)| format!("{kind} {}", human(*time)))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
