//! Refusing an adversarial configuration file through the real loader within 1 s: 1 MiB of
//! nested flow brackets (`[[[[…`), which the YAML parser would take minutes over (its time
//! grows with the square of the nesting), and 1 MiB of unknown keys, which used to be read
//! again once for each problem listed.

use std::time::{Duration, Instant};

use kalypso_bootstrap::config::load::{load_file, LoadError, MAX_CONFIG_FILE_BYTES};

use super::{human, median, rows, Mode, Row};

const TARGET: Duration = Duration::from_secs(1);

pub fn adversarial_refusal(mode: Mode) -> Vec<Row> {
    let samples = mode.pick(11, 3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("nested.yaml");
    std::fs::write(&path, "[".repeat(MAX_CONFIG_FILE_BYTES as usize)).expect("write the file");
    let mut times = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        let refused = load_file(&path);
        times.push(started.elapsed());
        assert!(
            matches!(refused, Err(LoadError::TooDeep { .. })),
            "the adversarial file must be refused as too deep: {refused:?}"
        );
    }
    let time = median(&mut times);
    let keys_path = dir.path().join("unknown-keys.yaml");
    let mut keys = String::from("cluster:\n");
    let mut index = 0;
    while keys.len() < MAX_CONFIG_FILE_BYTES as usize - 32 {
        keys.push_str(&format!("  unknownKey{index}: value\n"));
        index += 1;
    }
    std::fs::write(&keys_path, &keys).expect("write the file");
    let mut key_times = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        let refused = load_file(&keys_path);
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
            "median of {samples} loads of a {}-byte file of {index} unknown keys under `cluster:`",
            keys.len()
        )),
        Row::new(
        rows::CONFIG_NESTED_BRACKETS,
        human(time),
        time.as_secs_f64() / TARGET.as_secs_f64(),
    )
    .note(format!(
        "median of {samples} loads of a {MAX_CONFIG_FILE_BYTES}-byte file of `[` through config::load::load_file (read, nesting pre-scan, refusal)"
    )),
    ]
}
