//! The real binary as a child process: start-up of `--version` and `--help`, the first
//! frame of the wizard in a pseudo terminal, CPU use while waiting on a long step (from
//! /proc: the tool's own, and its children's), and peak memory during a demo run in which
//! a child process prints a million lines through a pipe, every one of them checked in the
//! log file. The demo's commands answer through real child processes (the demo's stand-in
//! runner, `src/demo/stand_in.rs`): chatter always, every command in the idle runs.
//!
//! The headless runs read the program's output directly; the full-screen wizard runs in
//! tmux (a 200x50 pane; the tests' driver, tests/support/pty.rs), driven by keys, its screen
//! read back with `capture-pane`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::rows::{self, RowSpec};
use crate::support::pty::Pane;
use crate::{human, median, Mode, Row};

const BINARY: &str = env!("CARGO_BIN_EXE_kalypso-bootstrap");
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
/// What the wizard's first screen says.
const WELCOME: &str = "want to start?";

/// A clean environment for the child: its own HOME and TMPDIR, no token, no KALYPSO_*.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("kalypso-bench-run-")
            .tempdir()
            .expect("a temporary directory");
        for sub in ["home", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("a directory");
        }
        Sandbox { dir }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), self.path("home")),
            ("TMPDIR".into(), self.path("tmp")),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
        ]
    }

    fn path(&self, sub: &str) -> String {
        self.dir.path().join(sub).to_string_lossy().into_owned()
    }

    pub(crate) fn command(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(BINARY);
        command.args(args).env_clear().envs(self.env());
        for (name, value) in extra_env {
            command.env(name, value);
        }
        command
    }

    /// The demo run's log file (in the demo's directory under TMPDIR).
    fn demo_log(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.dir.path().join("tmp"))
            .ok()?
            .flatten()
            .map(|entry| entry.path().join("kalypso-bootstrap.log"))
            .find(|path| path.is_file())
    }
}

pub fn start_up(mode: Mode) -> Vec<Row> {
    let runs = mode.pick(30, 3);
    let sandbox = Sandbox::new();
    let limit = Duration::from_millis(20);
    ["--version", "--help"]
        .into_iter()
        .map(|flag| {
            let mut samples: Vec<Duration> = (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    let output = sandbox
                        .command(&[flag], &[])
                        .stdin(Stdio::null())
                        .output()
                        .expect("the binary runs");
                    let took = started.elapsed();
                    assert!(output.status.success(), "{flag} failed");
                    assert!(!output.stdout.is_empty(), "{flag} printed nothing");
                    took
                })
                .collect();
            let median = median(&mut samples);
            Row::new(
                if flag == "--version" {
                    rows::START_VERSION
                } else {
                    rows::START_HELP
                },
                human(median),
                median.as_secs_f64() / limit.as_secs_f64(),
            )
            .note(format!(
                "{runs} runs of the binary, from spawn to exit with its output read; slowest {}",
                human(*samples.last().expect("samples"))
            ))
        })
        .collect()
}

/// A pseudo terminal pair: the master end for us, the slave end for the child.
struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

impl Pty {
    fn open(width: u16, height: u16) -> Pty {
        // SAFETY: plain libc calls on descriptors we own; each result is checked.
        unsafe {
            let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(
                master >= 0,
                "posix_openpt: {}",
                std::io::Error::last_os_error()
            );
            let master = OwnedFd::from_raw_fd(master);
            use std::os::fd::AsRawFd;
            assert_eq!(libc::grantpt(master.as_raw_fd()), 0, "grantpt");
            assert_eq!(libc::unlockpt(master.as_raw_fd()), 0, "unlockpt");
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(
                libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()),
                0,
                "ptsname_r"
            );
            let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
            assert!(
                slave >= 0,
                "open the pty: {}",
                std::io::Error::last_os_error()
            );
            let slave = OwnedFd::from_raw_fd(slave);
            let size = libc::winsize {
                ws_row: height,
                ws_col: width,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            assert_eq!(
                libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &size),
                0,
                "TIOCSWINSZ"
            );
            Pty { master, slave }
        }
    }

    /// Run `command` on the slave end as its controlling terminal.
    fn spawn(self, mut command: Command) -> (Child, File) {
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        command
            .stdin(stdio(&self.slave))
            .stdout(stdio(&self.slave))
            .stderr(stdio(&self.slave));
        // SAFETY: setsid and ioctl are async-signal-safe; they make the pty the child's
        // controlling terminal, as a terminal emulator does.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("the binary starts");
        drop(self.slave);
        (child, File::from(self.master))
    }
}

/// Everything the child writes, and when `needle` first appeared.
fn watch(mut master: File, needle: &'static str) -> Arc<Mutex<Option<Instant>>> {
    let seen = Arc::new(Mutex::new(None));
    let found = seen.clone();
    std::thread::spawn(move || {
        let mut output = Vec::new();
        let mut chunk = [0u8; 65536];
        // Read until the child is gone (EIO), so it never blocks writing.
        while let Ok(read) = master.read(&mut chunk) {
            if read == 0 {
                break;
            }
            output.extend_from_slice(&chunk[..read]);
            let mut found = found.lock().unwrap();
            if found.is_none()
                && output
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            {
                *found = Some(Instant::now());
            }
        }
    });
    seen
}

fn terminate(child: &mut Child) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub fn first_frame(mode: Mode) -> Vec<Row> {
    let runs = mode.pick(10, 1);
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let sandbox = Sandbox::new();
            let pty = Pty::open(WIDTH, HEIGHT);
            let command = sandbox.command(&["--demo"], &[]);
            let started = Instant::now();
            let (mut child, master) = pty.spawn(command);
            let seen = watch(master, WELCOME);
            let deadline = started + Duration::from_secs(20);
            let shown = loop {
                if let Some(at) = *seen.lock().unwrap() {
                    break at;
                }
                assert!(
                    Instant::now() < deadline,
                    "the wizard never drew its welcome screen"
                );
                std::thread::sleep(Duration::from_millis(1));
            };
            terminate(&mut child);
            shown - started
        })
        .collect();
    let median = median(&mut samples);
    let limit = Duration::from_millis(100);
    vec![Row::new(
        rows::FIRST_FRAME,
        human(median),
        median.as_secs_f64() / limit.as_secs_f64(),
    )
    .note(format!(
        "{runs} runs in a {WIDTH}x{HEIGHT} pseudo terminal, from spawn until the welcome screen's text arrives (the demo world is prepared first); slowest {}",
        human(*samples.last().expect("samples"))
    ))]
}

/// CPU time a process has used, from /proc/<pid>/stat: its own (utime + stime) and that
/// of its children it has waited for (cutime + cstime, i.e. `RUSAGE_CHILDREN`: the stand-in
/// children of every command, once reaped).
#[derive(Debug, Clone, Copy)]
struct CpuTimes {
    own: Duration,
    children: Duration,
}

impl std::ops::Sub for CpuTimes {
    type Output = CpuTimes;

    fn sub(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            own: self.own - earlier.own,
            children: self.children - earlier.children,
        }
    }
}

fn cpu_times(pid: u32) -> CpuTimes {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process lives");
    // After the command name (in parentheses, may contain spaces): state is field 3,
    // utime, stime, cutime and cstime are fields 14 to 17.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields[n - 3].parse::<u64>().expect("a number of ticks");
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let time = |ticks: u64| Duration::from_secs_f64(ticks as f64 / per_second);
    CpuTimes {
        own: time(field(14) + field(15)),
        children: time(field(16) + field(17)),
    }
}

/// The process of the pane, checked to be the binary itself (tmux runs `exec env -i …
/// BINARY`, so the pane's process becomes the binary): its CPU and memory are the tool's.
fn binary_pid(pane: &Pane) -> u32 {
    let pid = pane.pid();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the pane's process lives");
    let binary = std::fs::canonicalize(BINARY).expect("the binary");
    assert_eq!(
        exe,
        binary,
        "the pane's process {pid} is {}, not the binary",
        exe.display()
    );
    pid
}

/// The peak resident memory of a process (VmHWM), while it lives: one that has exited has
/// no memory left to report.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
}

/// Lines of stdout, as they come, on a channel.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                // Keep draining so the child never blocks on a full pipe.
                continue;
            }
        }
    });
    receiver
}

fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(_) => panic!("the program never printed {needle:?}"),
        }
    }
}

/// CPU use of `pid` and of its children over `window`, as shares of one CPU, and the
/// `az aks show` polls it ran meanwhile (counted in its log file). Asserted: it ran nothing
/// else in the window.
fn cpu_share(pid: u32, window: Duration, log: &Path) -> (f64, f64, usize) {
    let before_commands = commands_logged(log);
    let before = cpu_times(pid);
    let started = Instant::now();
    std::thread::sleep(window);
    let used = cpu_times(pid) - before;
    let elapsed = started.elapsed().as_secs_f64();
    let polls = commands_logged(log).polls - before_commands.polls;
    // A command is logged when it ends: one begun in the window may end just after it.
    // AKS still provisions for 30 s, so nothing else is due in this second.
    std::thread::sleep(Duration::from_secs(1));
    let after_commands = commands_logged(log);
    assert!(
        polls > 0,
        "no `az aks show` poll in the {} measured (see {})",
        human(window),
        log.display()
    );
    assert_eq!(
        after_commands.others,
        before_commands.others,
        "the run did more than wait for AKS while it was measured idle (see {})",
        log.display()
    );
    (
        used.own.as_secs_f64() / elapsed,
        used.children.as_secs_f64() / elapsed,
        polls,
    )
}

/// The commands the log file says were run: `az aks show` polls, and the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CommandsLogged {
    polls: usize,
    others: usize,
}

fn commands_logged(log: &Path) -> CommandsLogged {
    let text = std::fs::read_to_string(log).expect("the demo's log file");
    let ran = text.matches("kalypso_bootstrap::command: ran [").count();
    let polls = text.matches(r#"ran ["az","aks","show""#).count();
    CommandsLogged {
        polls,
        others: ran - polls,
    }
}

/// Wait until the run has run nothing but `az aks show` polls for a second: everything
/// but the cluster's provisioning is done.
fn wait_for_only_polls(log: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut others = commands_logged(log).others;
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = commands_logged(log).others;
        if now == others {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the run never settled to polling AKS (see {})",
            log.display()
        );
        others = now;
    }
}

/// Welcome → the forms as they are → the prerequisite check → the plan → run.
fn walk_to_the_dashboard(pane: &Pane) {
    let stage = Duration::from_secs(60);
    pane.wait_for("the welcome screen", WELCOME, stage);
    pane.keys(&["Enter"]);
    pane.wait_for("the first form", "Cluster name", stage);
    for _ in 0..4 {
        pane.keys(&["NPage"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    pane.wait_for("the prerequisite check", "Prerequisites: PASSED", stage);
    pane.keys(&["Enter"]);
    pane.wait_for("the plan", "Proceed?", stage);
    pane.keys(&["y"]);
    pane.wait_for("the dashboard", "Log ·", stage);
}

pub fn idle(mode: Mode) -> Vec<Row> {
    // At least one poll (every 2 s) in the window, in the smoke run too.
    let window = mode.pick(Duration::from_secs(10), Duration::from_secs(3));
    // Everything answers at once except AKS, which provisions for a long time: once the
    // repositories are done, the run only waits (polling `az aks show` every 2 s). Every
    // command's answer is printed by a real child process (a stand-in), as a real az's is.
    let provisioning = window + Duration::from_secs(30);
    let latency = format!("zero,aks-provisioning={}s", provisioning.as_secs());
    let env = [
        ("KALYPSO_DEMO_LATENCY", latency.as_str()),
        ("KALYPSO_DEMO_STAND_IN", "all"),
    ];
    let target = 0.01;

    let sandbox = Sandbox::new();
    let mut child = sandbox
        .command(&["--demo", "--no-tui", "--non-interactive"], &env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let lines = lines_of(&mut child);
    let stage = Duration::from_secs(60);
    // After the last other command, time for the screen and the log to come to rest.
    let settle = mode.pick(Duration::from_secs(2), Duration::from_millis(200));
    // The cluster's creation starts right after its resource group (the line output shows
    // no state transitions, only a wait line after 30 s).
    wait_for_line(&lines, "✔ Resource group created", stage);
    wait_for_line(&lines, "GitOps 'promoted' label created", stage);
    let log = sandbox.demo_log().expect("the demo's log file");
    wait_for_only_polls(&log, stage);
    std::thread::sleep(settle);
    let headless = cpu_share(child.id(), window, &log);
    terminate(&mut child);

    let pane = Pane::exec(WIDTH, HEIGHT, &env, &["--demo"]);
    walk_to_the_dashboard(&pane);
    pane.wait_for(
        "the cluster's creation",
        "Creating",
        Duration::from_secs(60),
    );
    let log = pane.demo_log().expect("the demo's log file");
    wait_for_only_polls(&log, stage);
    std::thread::sleep(settle);
    let wizard = cpu_share(binary_pid(&pane), window, &log);
    drop(pane);

    let percent = |share: f64| format!("{:.2} % of a CPU", share * 100.0);
    let rows = |own: RowSpec, children: RowSpec, (tool, kids, polls): (f64, f64, usize)| {
        [
            Row::new(own, percent(tool), tool / target).note(format!(
                "utime + stime from /proc/<pid>/stat (10 ms ticks, so 0.1 % resolution over 10 s) over {} while AKS provisions (everything else already done; {polls} `az aks show` polls, each a stand-in child process, `KALYPSO_DEMO_STAND_IN=all`)",
                human(window)
            )),
            Row::info(children, percent(kids)).note(format!(
                "cutime + cstime from /proc/<pid>/stat (the children it waited for: RUSAGE_CHILDREN) over the same {}: {polls} stand-in children (`sh -c 'cat; printf …; exit N'`)",
                human(window)
            )),
        ]
    };
    rows(rows::IDLE_LINE, rows::IDLE_LINE_CHILDREN, headless)
        .into_iter()
        .chain(rows(rows::IDLE_WIZARD, rows::IDLE_WIZARD_CHILDREN, wizard))
        .collect()
}

/// The lines of the chatty `helm upgrade`'s stand-in child in the log file, by index.
struct ChatterLogged {
    /// Lines `0..expected` found (each counted once).
    distinct: u64,
    /// Lines found again, or with an index the child never printed.
    extra: u64,
}

impl ChatterLogged {
    /// Read `log` for the child's lines: `helm: [debug] helm upgrade …: detail N: …`, logged
    /// as its stderr (`stream="stderr"`).
    fn read(log: &Path, expected: u64) -> ChatterLogged {
        const MARK: &[u8] = b"[debug] helm upgrade";
        let file = File::open(log).expect("the demo's log file");
        let mut seen = vec![false; usize::try_from(expected).expect("a count")];
        let mut logged = ChatterLogged {
            distinct: 0,
            extra: 0,
        };
        for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line);
            if !line.contains(std::str::from_utf8(MARK).expect("text"))
                || !line.ends_with(r#"stream="stderr""#)
            {
                continue;
            }
            let index = line
                .split_once(": detail ")
                .and_then(|(_, rest)| rest.split_once(':'))
                .and_then(|(index, _)| index.parse::<usize>().ok());
            match index.and_then(|index| seen.get_mut(index)) {
                Some(seen) if !*seen => {
                    *seen = true;
                    logged.distinct += 1;
                }
                _ => logged.extra += 1,
            }
        }
        logged
    }

    /// The row: measured / target is 1.00 only when every line arrived once.
    fn row(&self, spec: RowSpec, expected: u64, mode: Mode, run: &str) -> Row {
        let missing = expected - self.distinct;
        let complete = missing == 0 && self.extra == 0;
        // Asserted in the smoke run too: a figure can vary, this claim cannot.
        if mode == Mode::Smoke {
            assert!(
                complete,
                "{run}: {} of the child's {expected} lines reached the log file ({missing} missing, {} extra or repeated)",
                self.distinct, self.extra
            );
        }
        Row::new(
            spec,
            format!("{} of {expected}", self.distinct),
            1.0 + (missing + self.extra) as f64 / expected as f64,
        )
        .note(format!(
            "each line of the child's stderr found by its index in the log file ({missing} missing, {} extra or repeated)",
            self.extra
        ))
    }
}

/// The child's peak resident memory, its own: `VmHWM` read every few milliseconds until it
/// exits (a high-water mark, so only a peak in its last milliseconds, after the chatter,
/// could be missed). Not wait4's `ru_maxrss`: Linux carries the spawning process's memory
/// high-water mark through the spawn into the child's figure, so it read this bench's own
/// size (53 MB after the sections before it) instead of the tool's.
fn wait_with_peak_rss(child: &mut Child) -> (i32, u64) {
    let mut peak = 0;
    loop {
        if let Some(now) = vm_hwm(child.id()) {
            peak = peak.max(now);
        }
        if let Some(status) = child.try_wait().expect("the child's status") {
            assert!(peak > 0, "the child's memory was never read");
            return (status.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn memory(mode: Mode) -> Vec<Row> {
    let lines: u64 = mode.pick(1_000_000, 20_000);
    // The simulated `helm upgrade` takes effect at once; then its stand-in child prints the
    // lines on stderr through a pipe as fast as the tool reads them.
    let chatter = format!("helm upgrade={lines}");
    let env = [
        ("KALYPSO_DEMO_LATENCY", "zero"),
        ("KALYPSO_DEMO_CHATTER", chatter.as_str()),
    ];
    let limit = 30.0 * 1024.0 * 1024.0;

    let sandbox = Sandbox::new();
    let started = Instant::now();
    let mut child = sandbox
        .command(&["--demo", "--no-tui", "--non-interactive"], &env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let (exit, headless_peak) = wait_with_peak_rss(&mut child);
    let took = started.elapsed();
    assert_eq!(exit, 0, "the demo run failed");
    let log = sandbox.demo_log().expect("the demo's log file");
    let logged = ChatterLogged::read(&log, lines);
    drop(sandbox);

    let pane = Pane::exec(WIDTH, HEIGHT, &env, &["--demo", "--verbose"]);
    walk_to_the_dashboard(&pane);
    pane.wait_for(
        "the summary",
        "The Kalypso Scheduler is set up.",
        Duration::from_secs(300),
    );
    let pid = binary_pid(&pane);
    let wizard_peak = vm_hwm(pid).expect("the wizard lives at its summary");
    // Leave the summary; the log file is complete once the program has ended.
    pane.keys(&["Enter"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let wizard_log = pane.demo_log().expect("the demo's log file");
    let wizard_logged = ChatterLogged::read(&wizard_log, lines);
    drop(pane);

    let mb = |bytes: u64| format!("{:.1} MB", bytes as f64 / 1024.0 / 1024.0);
    vec![
        Row::new(
            rows::MEMORY_LINE,
            mb(headless_peak),
            headless_peak as f64 / limit,
        )
        .note(format!(
            "its own VmHWM from /proc, read every 5 ms until it exited; the stand-in child of `helm upgrade` (`KALYPSO_DEMO_CHATTER`) printed {lines} lines on stderr through a pipe, read by the real ProcessRunner; the run took {}",
            human(took)
        )),
        logged.row(rows::LOGGED_LINE, lines, mode, "line output"),
        Row::new(
            rows::MEMORY_WIZARD,
            mb(wizard_peak),
            wizard_peak as f64 / limit,
        )
        .note(
            "VmHWM from /proc at the summary screen, `--verbose` so the lines reach the log tail too",
        ),
        wizard_logged.row(rows::LOGGED_WIZARD, lines, mode, "wizard"),
    ]
}
