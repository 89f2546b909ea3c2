//! The real ProcessRunner against real `sh` children.
//!
//! No test bounds how long anything takes on the real clock: a timeout is shown by a child
//! that would run for minutes ending with the runner's error (on tokio's paused clock, at
//! exactly its timeout), a kill by its processes being gone from `/proc`. Waits for what
//! a real process does are hang guards ([`HANG_GUARD`]), never windows.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::support::process::{alive, wait_until, wait_until_async, HANG_GUARD};
use kalypso_bootstrap::secrets;
use kalypso_bootstrap::tools::{
    CancellationToken, CommandRunner, CommandSpec, LineSink, ProcessRunner, RunControl, RunError,
    Stream,
};
use secrecy::{SecretSlice, SecretString};

fn runner() -> Arc<dyn CommandRunner> {
    Arc::new(ProcessRunner::new())
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("sh").args(["-c", script])
}

/// The pids in `path` once there are `count` of them (not before: the file may be half
/// written).
fn pids_in(path: &Path, count: usize) -> Option<Vec<i32>> {
    let pids: Vec<i32> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    (pids.len() >= count).then_some(pids)
}

async fn read_pids(path: &Path, count: usize) -> Vec<i32> {
    let mut pids = None;
    wait_until_async(&format!("{count} pids written to {path:?}"), || {
        pids = pids_in(path, count);
        pids.is_some()
    })
    .await;
    pids.unwrap()
}

/// Every one of `pids` has ended. A killed grandchild is reparented and reaped by init,
/// which takes a moment: waited for, under the hang guard.
fn assert_all_gone(pids: &[i32], after: &str) {
    for &pid in pids {
        wait_until(&format!("the end of pid {pid} after {after}"), || {
            !alive(pid)
        });
    }
}

/// A child that starts a grandchild, records both pids, and waits forever.
fn parent_with_grandchild(pidfile: &Path) -> CommandSpec {
    sh(r#"sleep 300 & echo "$$ $!" > "$1"; wait"#).args(["sh", pidfile.to_str().unwrap()])
}

/// On tokio's paused clock the runner's timeout passes only while the runtime is idle. A
/// blocking task holds the clock (tokio does not auto-advance while one runs) until the
/// child has recorded both pids: the timeout then fires with the grandchild surely
/// running, however slow the machine, and at exactly 700 ms of tokio time.
#[tokio::test(start_paused = true)]
async fn timeout_kills_the_child_and_its_grandchild() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let spec = parent_with_grandchild(&pidfile).timeout(Duration::from_millis(700));
    let runner = runner();
    let started = tokio::time::Instant::now();
    let run = runner.run(spec);
    let both_recorded = tokio::task::spawn_blocking({
        let pidfile = pidfile.clone();
        move || {
            let mut pids = None;
            wait_until("the child recording its pids", || {
                pids = pids_in(&pidfile, 2);
                pids.is_some()
            });
            pids.unwrap()
        }
    });
    let err = run.await.unwrap_err();
    assert!(
        matches!(err, RunError::TimedOut { after, .. } if after == Duration::from_millis(700)),
        "{err}"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(700),
        "the runner's own timer ended the command (tokio's clock)"
    );
    let pids = both_recorded.await.unwrap();
    assert_all_gone(&pids, "the timeout");
}

#[tokio::test]
async fn dropping_the_future_kills_the_child_and_its_grandchild() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let spec = parent_with_grandchild(&pidfile).timeout(Duration::from_secs(120));
    let runner = runner();
    let run = runner.run(spec);
    // Give up on the run once both processes are running: the future is dropped unfinished.
    let pids = tokio::select! {
        outcome = run => panic!("the command cannot have finished: {outcome:?}"),
        pids = read_pids(&pidfile, 2) => pids,
    };
    assert_all_gone(&pids, "the drop");
}

#[tokio::test]
async fn cancellation_stops_the_command_with_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let cancel = CancellationToken::new();
    let runner = runner();
    let task = tokio::spawn({
        let runner = runner.clone();
        let spec = parent_with_grandchild(&pidfile);
        let control = RunControl::default().with_cancel(cancel.clone());
        async move { runner.run_with(spec, control).await }
    });
    let pids = read_pids(&pidfile, 2).await;
    cancel.cancel();
    // The child waits for a `sleep 300`: only the cancel can end it.
    let err = tokio::time::timeout(HANG_GUARD, task)
        .await
        .expect("hang guard: the cancelled command never returned")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, RunError::Cancelled { .. }), "{err}");
    assert_all_gone(&pids, "cancellation");
}

#[tokio::test]
async fn a_background_grandchild_does_not_outlive_a_leader_that_exits() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    // The grandchild keeps stdout open: without the group kill the run would wait for it,
    // until this timeout (a hang guard) ended it with an error.
    let spec = sh(r#"sleep 300 & echo "$!" > "$1"; echo done"#)
        .args(["sh", pidfile.to_str().unwrap()])
        .timeout(HANG_GUARD);
    let output = runner()
        .run(spec)
        .await
        .expect("the leader's exit ends the run (not the hang guard's timeout)");
    assert_eq!(output.stdout, "done\n");
    let pid = read_pids(&pidfile, 1).await[0];
    assert_all_gone(&[pid], "its leader's exit");
}

#[tokio::test]
async fn secret_env_reaches_the_child_but_never_its_argv() {
    let secret = "runner-env-secret-8c1d4e7a";
    secrets::register(secret);
    let spec = sh(r#"printf '%s\n' "$KB_SECRET"; tr '\0' ' ' < /proc/$$/cmdline"#)
        .secret_env("KB_SECRET", SecretString::from(secret));
    let output = runner().run(spec).await.unwrap();
    assert!(output.success(), "{output:?}");
    let mut lines = output.stdout.lines();
    assert_eq!(lines.next(), Some(secret), "the child sees the value");
    let cmdline = lines.next().unwrap_or_default();
    assert!(cmdline.starts_with("sh -c"), "{cmdline}");
    assert!(!cmdline.contains(secret), "argv must not carry the secret");
}

#[tokio::test]
async fn argv_carrying_a_registered_secret_is_refused_before_spawning() {
    let secret = "runner-argv-secret-3b9f0c";
    secrets::register(secret);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let spec = sh(r#"touch "$1""#).args(["sh", marker.to_str().unwrap(), secret]);
    let err = runner().run(spec).await.unwrap_err();
    assert!(matches!(err, RunError::SecretInArgv { .. }), "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    assert!(!marker.exists(), "nothing may be spawned");
}

#[tokio::test]
async fn stdin_is_delivered_plain_and_secret_and_large() {
    let output = runner()
        .run(sh("cat").stdin_bytes(b"hello\nworld\n".to_vec()))
        .await
        .unwrap();
    assert_eq!(output.stdout, "hello\nworld\n");

    let secret = b"stdin-secret-value-41d2".to_vec();
    let output = runner()
        .run(sh("cat").secret_stdin(SecretSlice::from(secret.clone())))
        .await
        .unwrap();
    assert_eq!(output.stdout.as_bytes(), secret.as_slice());

    // Larger than any pipe buffer: stdin is written while stdout is read.
    let big: Vec<u8> = (0..2_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let output = runner()
        .run(sh("cat").stdin_bytes(big.clone()))
        .await
        .unwrap();
    assert_eq!(output.stdout.len(), big.len());
    assert!(output.stdout.as_bytes() == big.as_slice());
}

#[tokio::test]
async fn without_stdin_data_the_child_reads_end_of_file_at_once() {
    let output = runner()
        // Were stdin left open, `cat` would wait until this timeout (a hang guard).
        .run(sh("cat; echo eof").timeout(HANG_GUARD))
        .await
        .expect("cat read end of file (not the hang guard's timeout)");
    assert_eq!(output.stdout, "eof\n");
}

#[tokio::test]
async fn streamed_lines_arrive_in_order_and_while_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    let (sink, mut lines) = LineSink::channel();
    let runner = runner();
    // After "first-live" the command waits for the gate, which this test opens only once it
    // has received that line: the line can only have come while the command ran. Were lines
    // delivered at the end, the command would give up on the gate after a minute (a hang
    // guard) and say so.
    let script = r#"for i in $(seq 1 200); do echo out$i; done; echo err1 >&2; echo err2 >&2;
        echo first-live
        i=0; while [ ! -e "$1" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done
        if [ -e "$1" ]; then echo after-gate; else echo gate-never-opened; fi"#;
    let task = tokio::spawn({
        let runner = runner.clone();
        let spec = sh(script).args(["sh", gate.to_str().unwrap()]);
        async move {
            runner
                .run_with(spec, RunControl::default().with_sink(sink))
                .await
        }
    });
    let mut stdout_lines = Vec::new();
    let mut stderr_lines = Vec::new();
    let live = tokio::time::timeout(HANG_GUARD * 2, async {
        while let Some(line) = lines.recv().await {
            match line.stream {
                Stream::Stdout => stdout_lines.push(line.line.clone()),
                Stream::Stderr => stderr_lines.push(line.line.clone()),
            }
            if line.line == "first-live" {
                break;
            }
        }
    })
    .await;
    assert!(live.is_ok(), "hang guard: \"first-live\" never arrived");
    std::fs::write(&gate, "").unwrap();
    let output = task.await.unwrap().unwrap();
    while let Some(line) = lines.recv().await {
        match line.stream {
            Stream::Stdout => stdout_lines.push(line.line),
            Stream::Stderr => stderr_lines.push(line.line),
        }
    }
    let expected: Vec<String> = (1..=200)
        .map(|i| format!("out{i}"))
        .chain(["first-live".to_string(), "after-gate".to_string()])
        .collect();
    assert_eq!(
        stdout_lines, expected,
        "\"after-gate\": the lines came while the command waited for the gate"
    );
    assert_eq!(stderr_lines, ["err1", "err2"]);
    assert_eq!(output.stderr, "err1\nerr2\n", "output is also collected");
    assert!(output.stdout.ends_with("first-live\nafter-gate\n"));
}

#[tokio::test]
async fn secret_stdout_is_collected_but_not_streamed_and_stream_lines_are_redacted() {
    let secret = "runner-stream-secret-a7e3";
    secrets::register(secret);
    let (sink, mut lines) = LineSink::channel();
    let output = runner()
        .run_with(
            sh(r#"echo "token-$KB_S"; echo "leak $KB_S" >&2"#)
                .secret_env("KB_S", SecretString::from(secret))
                .secret_stdout(),
            RunControl::default().with_sink(sink),
        )
        .await
        .unwrap();
    assert_eq!(output.stdout, format!("token-{secret}\n"));
    let mut seen = Vec::new();
    while let Ok(line) = lines.try_recv() {
        seen.push(line);
    }
    assert_eq!(seen.len(), 1, "only the stderr line is streamed: {seen:?}");
    assert_eq!(seen[0].stream, Stream::Stderr);
    assert_eq!(seen[0].line, "leak ***");
}

#[tokio::test]
async fn a_missing_program_is_not_found() {
    let err = runner()
        .run(CommandSpec::new("kalypso-no-such-program-x9").arg("--version"))
        .await
        .unwrap_err();
    match err {
        RunError::NotFound { program } => assert_eq!(program, "kalypso-no-such-program-x9"),
        other => panic!("expected NotFound, got {other}"),
    }
}

#[tokio::test]
async fn a_missing_working_directory_is_an_io_error_not_a_missing_program() {
    let err = runner()
        .run(sh("true").cwd("/nonexistent/kalypso/dir"))
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/kalypso/dir"),
        "{err}"
    );
}

#[tokio::test]
async fn exit_codes_cwd_and_env_removal_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let output = runner()
        .run(
            sh(r#"pwd; echo "${HOME-unset}"; echo "$KB_PLAIN"; echo oops >&2; exit 3"#)
                .cwd(dir.path())
                .env_remove("HOME")
                .env("KB_PLAIN", "plain-value"),
        )
        .await
        .unwrap();
    assert_eq!(output.exit_code, Some(3));
    assert!(!output.success());
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(
        Path::new(lines[0]).canonicalize().unwrap(),
        dir.path().canonicalize().unwrap()
    );
    assert_eq!(lines[1], "unset");
    assert_eq!(lines[2], "plain-value");
    assert_eq!(output.stderr, "oops\n");
}

#[tokio::test]
async fn the_child_has_no_controlling_terminal_and_its_own_process_group() {
    // `ps -o sid=,pgid=` of itself: a new session means pgid == sid == its pid.
    let output = runner()
        .run(sh(r#"echo "$$ $(cut -d' ' -f5,6 /proc/$$/stat)""#))
        .await
        .unwrap();
    let fields: Vec<&str> = output.stdout.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{output:?}");
    assert_eq!(fields[0], fields[1], "process group id is the child's pid");
    assert_eq!(fields[0], fields[2], "session id is the child's pid");
}
