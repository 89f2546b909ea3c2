//! Every row of the README's Performance table: its name and its target, in the order the
//! bench prints them. The bench makes its rows only from these, and
//! `tests/cli/docs_truth.rs` checks that the README's table has exactly these rows, so a
//! figure can change from run to run but a row cannot change without both following.
//!
//! A name says what is measured and on which path; sizes in a name are the full run's
//! (`cargo bench`); the smoke run (`cargo test`) says its own sizes in the measured column.

/// One row: what is measured, and the target it is held to (`—`: reported, no target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSpec {
    pub what: &'static str,
    pub target: &'static str,
}

const fn row(what: &'static str, target: &'static str) -> RowSpec {
    RowSpec { what, target }
}

/// No target: a figure given for context.
pub const NO_TARGET: &str = "—";

pub const CRITICAL_PATH: RowSpec = row(
    "critical path: full run wall time, against the chain of the run's own step times",
    "≤ 1.05 × longest chain + 100 ms",
);
pub const CRITICAL_PATH_DECLARED: RowSpec = row(
    "critical path: full run wall time, against the chain of the declared latencies of each step's planned commands",
    "≤ 1.05 × longest chain + 100 ms",
);
pub const SEQUENTIAL: RowSpec = row("our engine running the same steps one at a time", NO_TARGET);
pub const WORKLOAD_CLUSTERS: RowSpec = row(
    "full run with 3 attached workload clusters / with 1",
    "≤ 1.1",
);
pub const PROBES: RowSpec = row(
    "prerequisite probes, all together",
    "≤ 1.1 × the slowest probe alone",
);
pub const HEALTH_CHECKS: RowSpec = row(
    "health checks, all together",
    "≤ 1.1 × the slowest check alone",
);
pub const POLLING_LAG: RowSpec = row(
    "polling, paused clock: completion noticed within one poll interval (worst)",
    "≤ 1 interval",
);
pub const POLLING_CAP: RowSpec = row(
    "polling, paused clock: longest wait / its policy's cap",
    "≤ 1",
);
pub const POLLING_REAL_CLOCK: RowSpec = row(
    "polling, real clock: a simulated AKS done at random times, noticed within one poll interval, every wait its policy's (worst)",
    "≤ 1 interval + 5 ms",
);
pub const STATE_SAVE: RowSpec = row("one state save (backup + file, fsync, median)", NO_TARGET);
pub const CONFIG_UNKNOWN_KEYS: RowSpec = row(
    "config: 1 MiB of unknown keys refused by the loader (median of 11)",
    "≤ 1 s",
);
pub const CONFIG_NESTED_BRACKETS: RowSpec = row(
    "config: 1 MiB of nested brackets refused by the loader (median of 11)",
    "≤ 1 s",
);
pub const CONFIG_HOSTILE_BINARY: RowSpec = row(
    "config: a hostile 1 MiB file refused by the binary, spawn to exit 3 (median)",
    "< 1 s",
);
pub const DASHBOARD_FRAME: RowSpec = row(
    "dashboard frame at 200x50, 10,000 log lines buffered (median)",
    "< 1 ms",
);
pub const KEYPRESS: RowSpec = row(
    "keypress under 100,000 log events/s: the frame that shows it (worst)",
    "the next frame",
);
pub const START_VERSION: RowSpec = row("`--version`, spawn to exit (median)", "< 20 ms");
pub const START_HELP: RowSpec = row("`--help`, spawn to exit (median)", "< 20 ms");
pub const FIRST_FRAME: RowSpec = row("first frame of the wizard, `--demo` (median)", "< 100 ms");
pub const IDLE_LINE: RowSpec = row(
    "idle while a long step waits, line output: the tool's own CPU",
    "< 1 %",
);
pub const IDLE_LINE_CHILDREN: RowSpec = row(
    "idle while a long step waits, line output: its stand-in children's CPU",
    NO_TARGET,
);
pub const IDLE_WIZARD: RowSpec = row(
    "idle while a long step waits, wizard with its spinner: the tool's own CPU",
    "< 1 %",
);
pub const IDLE_WIZARD_CHILDREN: RowSpec = row(
    "idle while a long step waits, wizard with its spinner: its stand-in children's CPU",
    NO_TARGET,
);
pub const MEMORY_LINE: RowSpec = row(
    "peak RSS, a child printing 1,000,000 lines through a pipe, line output",
    "< 30 MB",
);
pub const LOGGED_LINE: RowSpec = row(
    "lines of that child in the log file, line output",
    "all of them",
);
pub const MEMORY_WIZARD: RowSpec = row(
    "peak RSS, a child printing 1,000,000 lines through a pipe, wizard",
    "< 30 MB",
);
pub const LOGGED_WIZARD: RowSpec =
    row("lines of that child in the log file, wizard", "all of them");

/// The table's rows, in order.
pub const ALL: &[RowSpec] = &[
    CRITICAL_PATH,
    CRITICAL_PATH_DECLARED,
    SEQUENTIAL,
    WORKLOAD_CLUSTERS,
    PROBES,
    HEALTH_CHECKS,
    POLLING_LAG,
    POLLING_CAP,
    POLLING_REAL_CLOCK,
    STATE_SAVE,
    CONFIG_UNKNOWN_KEYS,
    CONFIG_NESTED_BRACKETS,
    CONFIG_HOSTILE_BINARY,
    DASHBOARD_FRAME,
    KEYPRESS,
    START_VERSION,
    START_HELP,
    FIRST_FRAME,
    IDLE_LINE,
    IDLE_LINE_CHILDREN,
    IDLE_WIZARD,
    IDLE_WIZARD_CHILDREN,
    MEMORY_LINE,
    LOGGED_LINE,
    MEMORY_WIZARD,
    LOGGED_WIZARD,
];
