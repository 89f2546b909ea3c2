//! A real terminal for the binary: tmux gives it a pseudo terminal (100x30 unless asked
//! otherwise), the tests type keys and read the screen back (the wizard in
//! tests/frontends/pty_wizard.rs, the headless prompts in tests/frontends/headless_pty.rs, the
//! canary sweep's wizard run in tests/reliability/canary.rs, and the benchmark's wizard
//! runs). HOME and TMPDIR are in a temporary directory.
//!
//! Every wait polls the screen for text (generous timeouts: the demo's latencies make a run
//! take about 35 s, and the machine may be busy).
//!
//! The pane runs `/bin/sh` (no line editor, so it leaves the terminal modes as the program
//! left them) and `stty -a` right after the program, to see that it restored the terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_kalypso-bootstrap");
pub const WIDTH: u16 = 100;
pub const HEIGHT: u16 = 30;
pub const SESSION: &str = "pty";
/// Hang guards, not bounds (waits end as soon as what they wait for shows). One screen of
/// the wizard (the next one appears within a few seconds).
pub const STAGE: Duration = Duration::from_secs(30);
/// A whole demo run (about 35 s, more on a busy machine).
pub const RUN: Duration = Duration::from_secs(150);
pub const POLL: Duration = Duration::from_millis(100);
/// Printed by the shell after `stty -a`; the typed command line reads `END-$((6*7))`, so
/// the marker on screen is the shell's output, never the echo of the command.
pub const END_MARKER: &str = "END-42";

/// A tmux server of its own (own socket) with one pane running `/bin/sh` (100x30) or the
/// binary itself ([`Pane::exec`], e.g. for the benchmark) in a clean environment. Killed
/// on drop; its directory (HOME, TMPDIR with the demo's log and state) is kept when a test
/// fails, for the post-mortem.
pub struct Pane {
    dir: Option<tempfile::TempDir>,
    socket: PathBuf,
}

pub fn require_tmux() {
    match Command::new("tmux").arg("-V").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "tmux -V failed ({}): the PTY tests drive the real binary in tmux; install it with .ci/setup or `apt-get install tmux`",
            output.status
        ),
        Err(err) => panic!(
            "tmux is not available ({err}): the PTY tests drive the real binary in tmux; install it with .ci/setup or `apt-get install tmux`"
        ),
    }
}

pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

impl Pane {
    /// The pane running `/bin/sh` at 100x30, at its prompt.
    pub fn start() -> Pane {
        let pane = Pane::open(WIDTH, HEIGHT, &[], &["/bin/sh"]);
        pane.wait_for("the shell prompt", "pty$", STAGE);
        pane
    }

    /// The binary itself as the pane's process (so [`Pane::pid`] is the binary's), in a
    /// `width`x`height` pane, with `extra_env` and `args`; no shell around it.
    pub fn exec(width: u16, height: u16, extra_env: &[(&str, &str)], args: &[&str]) -> Pane {
        let mut command = vec![BINARY];
        command.extend_from_slice(args);
        Pane::open(width, height, extra_env, &command)
    }

    /// The pane's process is `command` (program and arguments), in a clean environment:
    /// only PATH, the pane's own HOME and TMPDIR, the terminal, and `extra_env`.
    fn open(width: u16, height: u16, extra_env: &[(&str, &str)], command: &[&str]) -> Pane {
        require_tmux();
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("tmux.sock");
        let home = dir.path().join("home");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&home).expect("home dir");
        std::fs::create_dir_all(&tmp).expect("tmp dir");
        let path = std::env::var("PATH").unwrap_or_default();
        // Nothing from the test's environment leaks in (no real token, no KALYPSO_* variable).
        let mut line = vec![
            "exec env -i".to_string(),
            format!("PATH={}", shell_quote(&path)),
            format!("HOME={}", shell_quote(&home.to_string_lossy())),
            format!("TMPDIR={}", shell_quote(&tmp.to_string_lossy())),
            "TERM=xterm-256color".to_string(),
            "LANG=C.UTF-8".to_string(),
            "PS1='pty$ '".to_string(),
        ];
        for (name, value) in extra_env {
            line.push(format!("{name}={}", shell_quote(value)));
        }
        line.extend(command.iter().map(|word| shell_quote(word)));
        let pane = Pane {
            dir: Some(dir),
            socket,
        };
        pane.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &line.join(" "),
        ]);
        pane
    }

    /// The process id of the pane's process.
    pub fn pid(&self) -> u32 {
        let output = self.tmux(&["display-message", "-p", "-t", SESSION, "#{pane_pid}"]);
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("the pane's process id")
    }

    pub fn root(&self) -> &Path {
        self.dir.as_ref().expect("the pane's directory").path()
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .arg("-u")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env("LANG", "C.UTF-8")
            .output()
            .expect("tmux runs");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Type a command line into the shell and press Enter.
    pub fn run(&self, command_line: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", command_line]);
        self.keys(&["Enter"]);
    }

    /// Keys by tmux name (`Enter`, `Tab`, `NPage`, `Up`, `C-u`, `y`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Resize the pane's window, as a person dragging the terminal's corner does (the
    /// program gets SIGWINCH).
    pub fn resize(&self, width: u16, height: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            SESSION,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Text typed as is.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// What the pane shows now (wrapped lines joined).
    pub fn screen(&self) -> String {
        let output = self.tmux(&["capture-pane", "-p", "-J", "-t", SESSION]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Everything the pane showed, scrollback included (wrapped lines joined).
    pub fn history(&self) -> String {
        let output = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The pane's HOME.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    pub fn alternate_screen_on(&self) -> bool {
        self.flag("#{alternate_on}")
    }

    /// The program asked the terminal for mouse events.
    pub fn mouse_captured(&self) -> bool {
        self.flag("#{mouse_any_flag}")
    }

    /// A tmux format that is `1` or `0` for the pane.
    fn flag(&self, format: &str) -> bool {
        let output = self.tmux(&["display-message", "-p", "-t", SESSION, format]);
        String::from_utf8_lossy(&output.stdout).trim() == "1"
    }

    /// Clear the pane, so the next program's output is all that is on it.
    pub fn clear(&self) {
        self.run("clear");
        self.wait_until(STAGE, |screen| !screen.contains(END_MARKER))
            .unwrap_or_else(|screen| {
                panic!(
                    "the screen was not cleared:
{screen}"
                )
            });
    }

    /// Poll until the screen contains every one of `needles`; the screen at that moment.
    /// A screen is read while the program may still be drawing it, so whatever a stage must
    /// show is waited for, not asserted on the first screen that has one of it.
    pub fn wait_for_all(&self, stage: &str, needles: &[&str], timeout: Duration) -> String {
        self.wait_until(timeout, |screen| {
            needles.iter().all(|needle| screen.contains(needle))
        })
        .unwrap_or_else(|screen| {
            let missing: Vec<&&str> = needles.iter().filter(|n| !screen.contains(**n)).collect();
            panic!(
                "{stage}: {missing:?} did not appear within {}s (a hang guard); the screen:\n{screen}\n{}",
                timeout.as_secs(),
                self.log_tail()
            )
        })
    }

    /// Poll until the screen contains `needle`; the screen at that moment.
    pub fn wait_for(&self, stage: &str, needle: &str, timeout: Duration) -> String {
        self.wait_until(timeout, |screen| screen.contains(needle))
            .unwrap_or_else(|screen| {
                panic!(
                    "{stage}: {needle:?} did not appear within {}s (a hang guard); the screen:\n{screen}\n{}",
                    timeout.as_secs(),
                    self.log_tail()
                )
            })
    }

    /// Poll until `done` holds for the screen (it sees every screen read, e.g. to keep
    /// them); the screen at that moment, or the last one read when `timeout` passed.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return Ok(screen);
            }
            if Instant::now() >= deadline {
                return Err(screen);
            }
            std::thread::sleep(POLL);
        }
    }

    /// The demo run's log file (in the demo's directory under TMPDIR).
    pub fn demo_log(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.root().join("tmp"))
            .ok()?
            .flatten()
            .map(|entry| entry.path().join("kalypso-bootstrap.log"))
            .find(|path| path.is_file())
    }

    /// The end of the demo's log file, to explain a failed wait.
    pub fn log_tail(&self) -> String {
        match self.demo_log() {
            Some(path) => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                format!("last lines of {}:\n{tail}", path.display())
            }
            None => "no demo log file yet".to_string(),
        }
    }

    /// After the program: the exit code it printed, and the terminal back in normal mode
    /// (no alternate screen; canonical input with echo).
    pub fn assert_left_cleanly(&self, expected_exit: i32) -> String {
        let screen = self.wait_for("back in the shell", END_MARKER, STAGE);
        assert!(
            !self.alternate_screen_on(),
            "the alternate screen is still on; the screen:\n{screen}"
        );
        let exit = exit_code(&screen)
            .unwrap_or_else(|| panic!("no EXIT= line after the program; the screen:\n{screen}"));
        assert_eq!(exit, expected_exit, "the exit code; the screen:\n{screen}");
        // Only `stty -a`'s own output: from its `speed` line to the end marker.
        let stty = screen
            .find("speed ")
            .and_then(|start| {
                let rest = &screen[start..];
                rest.find(END_MARKER).map(|end| &rest[..end])
            })
            .unwrap_or_else(|| panic!("no `stty -a` output; the screen:\n{screen}"));
        let modes: Vec<&str> = stty.split_whitespace().collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(
                modes.contains(&mode),
                "`stty -a` does not show {mode} (raw mode left behind?); the screen:\n{screen}"
            );
            let off = format!("-{mode}");
            assert!(
                !modes.contains(&off.as_str()),
                "`stty -a` shows {off}: the terminal was not restored; the screen:\n{screen}"
            );
        }
        assert!(
            screen.trim_end().ends_with("pty$"),
            "the shell prompt is back; the screen:\n{screen}"
        );
        screen
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!("kept the failed test's directory: {}", dir.keep().display());
            }
        }
    }
}

/// The number after `EXIT=` in the shell's output (not the typed `EXIT=$?`).
pub fn exit_code(screen: &str) -> Option<i32> {
    screen.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("EXIT=")?;
        rest.parse().ok()
    })
}

/// The program, then its exit code and the terminal's modes, then the end marker.
pub fn command_line(env: &str, args: &str) -> String {
    format!(
        "{env}{} {args}; echo \"EXIT=$?\"; stty -a; echo END-$((6*7))",
        shell_quote(BINARY)
    )
}

pub fn assert_contains(stage: &str, screen: &str, expected: &[&str]) {
    for text in expected {
        assert!(
            screen.contains(text),
            "{stage}: {text:?} is not on the screen:\n{screen}"
        );
    }
}
