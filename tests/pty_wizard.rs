//! The real binary's full-screen wizard in a real terminal: tmux gives it a 100x30 pseudo
//! terminal, the tests type keys and read the screen back. `--demo` runs the whole flow on
//! the simulated environment, with HOME and TMPDIR in a temporary directory.
//!
//! Every wait polls the screen for text (generous timeouts: the demo's latencies make a run
//! take about 35 s, and the machine may be busy). The two full runs take most of the time;
//! they run in parallel as tests of one binary.
//!
//! The pane runs `/bin/sh` (no line editor, so it leaves the terminal modes as the program
//! left them) and `stty -a` right after the program, to see that it restored the terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_kalypso-bootstrap");
const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
const SESSION: &str = "pty";
/// One screen of the wizard (the next one appears within a few seconds).
const STAGE: Duration = Duration::from_secs(30);
/// A whole demo run (about 35 s, more on a busy machine).
const RUN: Duration = Duration::from_secs(150);
const POLL: Duration = Duration::from_millis(100);
/// Printed by the shell after `stty -a`; the typed command line reads `END-$((6*7))`, so
/// the marker on screen is the shell's output, never the echo of the command.
const END_MARKER: &str = "END-42";

/// A tmux server of its own (own socket) with one 100x30 pane running `/bin/sh` in a clean
/// environment. Killed on drop; its directory (HOME, TMPDIR with the demo's log and state)
/// is kept when a test fails, for the post-mortem.
struct Pane {
    dir: Option<tempfile::TempDir>,
    socket: PathBuf,
}

fn require_tmux() {
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

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

impl Pane {
    fn start() -> Pane {
        require_tmux();
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("tmux.sock");
        let home = dir.path().join("home");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&home).expect("home dir");
        std::fs::create_dir_all(&tmp).expect("tmp dir");
        let path = std::env::var("PATH").unwrap_or_default();
        // Nothing from the test's environment leaks in (no real token, no KALYPSO_* variable).
        let shell = [
            "env -i".to_string(),
            format!("PATH={}", shell_quote(&path)),
            format!("HOME={}", shell_quote(&home.to_string_lossy())),
            format!("TMPDIR={}", shell_quote(&tmp.to_string_lossy())),
            "TERM=xterm-256color".to_string(),
            "LANG=C.UTF-8".to_string(),
            "PS1='pty$ '".to_string(),
            "/bin/sh".to_string(),
        ]
        .join(" ");
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
            &WIDTH.to_string(),
            "-y",
            &HEIGHT.to_string(),
            &shell,
        ]);
        pane.wait_for("the shell prompt", "pty$", STAGE);
        pane
    }

    fn root(&self) -> &Path {
        self.dir.as_ref().expect("the pane's directory").path()
    }

    fn tmux(&self, args: &[&str]) -> Output {
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
    fn run(&self, command_line: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", command_line]);
        self.keys(&["Enter"]);
    }

    /// Keys by tmux name (`Enter`, `Tab`, `NPage`, `Up`, `C-u`, `y`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Text typed as is.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// What the pane shows now (wrapped lines joined).
    fn screen(&self) -> String {
        let output = self.tmux(&["capture-pane", "-p", "-J", "-t", SESSION]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn alternate_screen_on(&self) -> bool {
        self.flag("#{alternate_on}")
    }

    /// The program asked the terminal for mouse events.
    fn mouse_captured(&self) -> bool {
        self.flag("#{mouse_any_flag}")
    }

    /// A tmux format that is `1` or `0` for the pane.
    fn flag(&self, format: &str) -> bool {
        let output = self.tmux(&["display-message", "-p", "-t", SESSION, format]);
        String::from_utf8_lossy(&output.stdout).trim() == "1"
    }

    /// Clear the pane, so the next program's output is all that is on it.
    fn clear(&self) {
        self.run("clear");
        self.wait_until(STAGE, |screen| !screen.contains(END_MARKER))
            .unwrap_or_else(|screen| panic!("the screen was not cleared:\n{screen}"));
    }

    /// Poll until the screen contains `needle`; the screen at that moment.
    fn wait_for(&self, stage: &str, needle: &str, timeout: Duration) -> String {
        self.wait_until(timeout, |screen| screen.contains(needle))
            .unwrap_or_else(|screen| {
                panic!(
                    "{stage}: {needle:?} did not appear within {}s; the screen:\n{screen}\n{}",
                    timeout.as_secs(),
                    self.log_tail()
                )
            })
    }

    fn wait_until(&self, timeout: Duration, done: impl Fn(&str) -> bool) -> Result<String, String> {
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

    /// The end of the demo's log file, to explain a failed wait.
    fn log_tail(&self) -> String {
        let logs: Vec<PathBuf> = std::fs::read_dir(self.root().join("tmp"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("kalypso-bootstrap.log"))
            .filter(|path| path.is_file())
            .collect();
        match logs.first() {
            Some(path) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                format!("last lines of {}:\n{tail}", path.display())
            }
            None => "no demo log file yet".to_string(),
        }
    }

    /// After the program: the exit code it printed, and the terminal back in normal mode
    /// (no alternate screen; canonical input with echo).
    fn assert_left_cleanly(&self, expected_exit: i32) -> String {
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
fn exit_code(screen: &str) -> Option<i32> {
    screen.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("EXIT=")?;
        rest.parse().ok()
    })
}

/// The program, then its exit code and the terminal's modes, then the end marker.
fn command_line(env: &str, args: &str) -> String {
    format!(
        "{env}{} {args}; echo \"EXIT=$?\"; stty -a; echo END-$((6*7))",
        shell_quote(BINARY)
    )
}

fn assert_contains(stage: &str, screen: &str, expected: &[&str]) {
    for text in expected {
        assert!(
            screen.contains(text),
            "{stage}: {text:?} is not on the screen:\n{screen}"
        );
    }
}

#[test]
fn the_demo_walks_from_welcome_to_summary_and_gives_the_terminal_back() {
    let pane = Pane::start();
    pane.run(&command_line("", "--demo"));

    let welcome = pane.wait_for("welcome", "How do you want to start?", STAGE);
    assert_contains(
        "welcome",
        &welcome,
        &[
            "Welcome",
            "DEMO",
            "Create everything",
            "Bring your own cluster",
        ],
    );
    assert!(
        pane.alternate_screen_on(),
        "the wizard uses the alternate screen"
    );

    // Cluster form: a bad name is refused under its field, a good one names the defaults.
    pane.keys(&["Enter"]);
    let cluster = pane.wait_for("cluster form", "Cluster name", STAGE);
    assert_contains(
        "cluster form",
        &cluster,
        &["kalypso-demo", "Region", "Node count"],
    );
    pane.keys(&["Down", "C-u"]);
    pane.type_text("Bad_Name");
    pane.keys(&["Tab"]);
    let invalid = pane.wait_for("validation error", "must match", STAGE);
    assert_contains("validation error", &invalid, &["\"Bad_Name\""]);
    pane.keys(&["Up", "C-u"]);
    pane.type_text("pty-demo");
    pane.keys(&["Tab"]);
    let fixed = pane.wait_for("name fixed", "pty-demo-rg", STAGE);
    assert!(!fixed.contains("must match"), "the error is gone:\n{fixed}");

    pane.keys(&["NPage"]);
    let repositories = pane.wait_for("repositories form", "pty-demo-control-plane", STAGE);
    assert_contains(
        "repositories form",
        &repositories,
        &["GitHub organization", "pty-demo-gitops", "GitHub token"],
    );
    pane.keys(&["NPage"]);
    pane.wait_for("installation form", "Skip installation", STAGE);
    pane.keys(&["NPage"]);
    pane.wait_for("options form", "Roll back on failure", STAGE);
    pane.keys(&["NPage"]);

    let prerequisites = pane.wait_for("prerequisites", "Prerequisites: PASSED", STAGE);
    assert_contains(
        "prerequisites",
        &prerequisites,
        &[
            "kubectl",
            "helm",
            "Azure sign-in",
            "GitHub sign-in",
            "kalypso-demo",
        ],
    );

    pane.keys(&["Enter"]);
    let plan = pane.wait_for("plan", "Proceed? [y/N]", STAGE);
    assert_contains(
        "plan",
        &plan,
        &["+ AKS cluster", "+ Kalypso Scheduler (Helm)", "pty-demo"],
    );

    pane.keys(&["y"]);
    let dashboard = pane
        .wait_until(STAGE, |screen| {
            screen.contains("Kalypso bootstrap · Running") && screen.contains('↳')
        })
        .unwrap_or_else(|screen| panic!("dashboard with a running step did not appear:\n{screen}"));
    assert_contains(
        "dashboard",
        &dashboard,
        &["Overall", "Steps", "Health checks", "Log"],
    );

    let summary = pane.wait_for("summary", "The Kalypso Scheduler is set up.", RUN);
    assert_contains(
        "summary",
        &summary,
        &[
            "https://github.com/kalypso-demo/pty-demo-control-plane",
            "https://github.com/kalypso-demo/pty-demo-gitops",
            "Kube context   pty-demo",
            "Next steps",
        ],
    );

    pane.keys(&["Enter"]);
    let after = pane.assert_left_cleanly(0);
    assert!(after.contains("DEMO: simulated Azure"), "{after}");
}

#[test]
fn a_failed_demo_run_offers_rollback_and_shows_what_each_removal_did() {
    let pane = Pane::start();
    pane.run(&command_line(
        "KALYPSO_DEMO_FAIL=installation.kalypso ",
        "--demo",
    ));

    pane.wait_for("welcome", "How do you want to start?", STAGE);
    pane.keys(&["Enter"]);
    pane.wait_for("cluster form", "Cluster name", STAGE);
    // Through the four groups with the defaults.
    pane.keys(&["NPage", "NPage", "NPage", "NPage"]);
    pane.wait_for("prerequisites", "Prerequisites: PASSED", STAGE);
    pane.keys(&["Enter"]);
    pane.wait_for("plan", "Proceed? [y/N]", STAGE);
    pane.keys(&["y"]);

    let failure = pane.wait_for("rollback question", "Roll back? [y/N]", RUN);
    assert_contains(
        "failure",
        &failure,
        &[
            "exit code 6",
            "Kalypso Scheduler (Helm) (installation.kalypso) failed",
            "Roll back the resources created by this run?",
            "aks_cluster kalypso-demo",
            "repository https://github.com/kalypso-demo/kalypso-demo-control-plane",
            "repository https://github.com/kalypso-demo/kalypso-demo-gitops",
        ],
    );

    pane.keys(&["y"]);
    let rolled_back = pane.wait_for("rollback result", "Rollback succeeded", RUN);
    assert_contains(
        "rollback result",
        &rolled_back,
        &[
            "✓ kalypso_crds (12 CRDs) in context kalypso-demo · deleted",
            "✓ repository https://github.com/kalypso-demo/kalypso-demo-control-plane · deleted",
            "✓ repository https://github.com/kalypso-demo/kalypso-demo-gitops · deleted",
            "✓ aks_cluster kalypso-demo (resource group kalypso-demo-rg)",
            "deletion started",
        ],
    );

    pane.keys(&["Enter"]);
    pane.assert_left_cleanly(6);
}

#[test]
fn missing_values_reach_the_wizard_but_invalid_ones_stop_before_it() {
    let pane = Pane::start();

    // No cluster name anywhere (and no --demo default): the forms will ask for it.
    pane.run(&command_line("", ""));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    pane.keys(&["q"]);
    pane.assert_left_cleanly(7);

    pane.clear();

    // A value that breaks a rule: exit 3 with the rule, the screen never taken over.
    pane.run(&command_line("", "--cluster-name Bad_Name"));
    let refused = pane.assert_left_cleanly(3);
    assert_contains("refused", &refused, &["Bad_Name", "must match"]);
    assert!(
        !refused.contains("How do you want to start?"),
        "the wizard did not start:\n{refused}"
    );
}

#[test]
fn a_panic_on_the_wizard_thread_gives_the_terminal_back_with_a_masked_message() {
    let pane = Pane::start();
    let canary = "ghp_PtyPanicCanary0123456789abcdefABCDEF";
    pane.run(&command_line(
        &format!("GITHUB_TOKEN={canary} KALYPSO_DEMO_PANIC='carrying {canary}' "),
        "--demo --mouse",
    ));
    // The Rust runtime's exit code for a panic that ends the program.
    let after = pane.assert_left_cleanly(101);
    assert_contains(
        "after the panic",
        &after,
        &[
            "kalypso-bootstrap crashed",
            "KALYPSO_DEMO_PANIC: a deliberate panic on the wizard's thread (carrying ***)",
        ],
    );
    // What the program printed: everything after the typed command line.
    let (_, printed) = after
        .split_once("END-$((6*7))")
        .unwrap_or_else(|| panic!("no typed command line; the screen:\n{after}"));
    assert!(!printed.contains(canary), "the token is masked:\n{after}");
    assert!(!pane.mouse_captured(), "mouse capture was left on");
}

#[test]
fn the_mouse_is_captured_only_with_the_mouse_flag_and_released_at_the_end() {
    let pane = Pane::start();
    pane.run(&command_line("", "--demo"));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    assert!(
        !pane.mouse_captured(),
        "no --mouse, yet the mouse is captured"
    );
    pane.keys(&["q"]);
    pane.assert_left_cleanly(7);
    pane.clear();

    pane.run(&command_line("", "--demo --mouse"));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    assert!(
        pane.mouse_captured(),
        "--mouse, yet the mouse is not captured"
    );
    pane.keys(&["q"]);
    pane.assert_left_cleanly(7);
    assert!(
        !pane.mouse_captured(),
        "mouse capture was left on after the exit"
    );
}

#[test]
fn the_demo_brings_its_own_simulated_cluster_to_pick() {
    let pane = Pane::start();
    pane.run(&command_line("", "--demo"));
    pane.wait_for("welcome", "How do you want to start?", STAGE);
    // "Bring your own cluster": the context comes from the simulated kubeconfig.
    pane.keys(&["2", "Enter"]);
    pane.wait_for("cluster form", "Kube context", STAGE);
    pane.keys(&["Down", "Down", "Right"]);
    let picked = pane.wait_for("context picked", "◂ kind-kalypso-demo ▸", STAGE);
    assert!(!picked.contains("no contexts in"), "{picked}");
    pane.keys(&["NPage", "NPage", "NPage", "NPage"]);
    pane.wait_for("prerequisites", "Prerequisites: PASSED", STAGE);
    pane.keys(&["Enter"]);
    let plan = pane.wait_for("plan", "Proceed? [y/N]", STAGE);
    assert_contains("plan", &plan, &["kind-kalypso-demo"]);
    assert!(
        !plan.contains("+ AKS cluster"),
        "no cluster is created:\n{plan}"
    );
    pane.keys(&["n", "q"]);
    pane.assert_left_cleanly(7);
}

#[test]
fn a_panic_in_a_step_fails_that_step_and_the_wizard_keeps_the_screen() {
    let pane = Pane::start();
    pane.run(&command_line(
        "KALYPSO_DEMO_PANIC=step KALYPSO_DEMO_LATENCY=zero ",
        "--demo --skip-confirmation",
    ));
    let failure = pane.wait_for("rollback question", "Roll back? [y/N]", RUN);
    assert_contains(
        "failure",
        &failure,
        &[
            "Kalypso Scheduler (Helm) (installation.kalypso) failed",
            "internal error (the step panicked)",
        ],
    );
    assert!(
        pane.alternate_screen_on(),
        "the step's panic gave the terminal back under the wizard:\n{failure}"
    );
    assert!(!failure.contains("crashed"), "{failure}");
    pane.keys(&["n"]);
    pane.wait_for("declined", "Enter/q exit", STAGE);
    pane.keys(&["Enter"]);
    let after = pane.assert_left_cleanly(6);
    assert!(
        !after.contains("crashed"),
        "the program did not crash:\n{after}"
    );
}
