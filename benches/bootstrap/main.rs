//! The performance benchmark of the README's "Performance" section: every target of the
//! performance requirements measured in one run, printed as a table of ratios (measured
//! value / target; at most 1.00 meets the target).
//!
//! `cargo bench` measures at full size (release build) and exits with status 1 when a
//! target is missed. `cargo test --all-targets` builds and runs this benchmark too, without
//! the `--bench` argument: then it is a quick smoke run of every measurement at a small
//! size (debug build, figures not comparable), which only fails when a measurement cannot
//! be made at all.
//!
//! The engine measurements run the real engine in this process on the simulated
//! environment with fixed latencies; the start-up, idle and memory measurements run the
//! real binary (`--demo`) as a child process.

mod config;
mod engine;
mod polling;
mod process;
mod rows;
mod screen;
#[allow(dead_code)]
#[path = "../../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::Duration;

use rows::RowSpec;

/// How big the measurements are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `cargo bench`: full size, targets enforced.
    Full,
    /// `cargo test`: every measurement at a small size, targets reported only.
    Smoke,
}

impl Mode {
    fn from_args() -> Mode {
        if std::env::args().any(|arg| arg == "--bench") {
            Mode::Full
        } else {
            Mode::Smoke
        }
    }

    /// `full` in a full run, `smoke` in a smoke run.
    pub fn pick<T>(self, full: T, smoke: T) -> T {
        match self {
            Mode::Full => full,
            Mode::Smoke => smoke,
        }
    }
}

/// One measured figure against its target.
pub struct Row {
    /// Its name and target, from the catalog in `rows.rs`.
    pub spec: RowSpec,
    /// The measured value, with its unit.
    pub measured: String,
    /// Measured / target: at most 1.0 meets the target. `None`: reported, no target.
    pub ratio: Option<f64>,
    /// How it was measured, and the figures behind the ratio.
    pub note: String,
}

impl Row {
    pub fn new(spec: RowSpec, measured: String, ratio: f64) -> Row {
        Row {
            spec,
            measured,
            ratio: Some(ratio),
            note: String::new(),
        }
    }

    /// A figure reported for context, without a target of its own.
    pub fn info(spec: RowSpec, measured: String) -> Row {
        Row {
            spec,
            measured,
            ratio: None,
            note: String::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }

    fn met(&self) -> bool {
        self.ratio.is_none_or(|ratio| ratio <= 1.0)
    }
}

/// `1.234 s`, `12.3 ms`, `456 µs`.
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 1.0 {
        format!("{seconds:.3} s")
    } else if seconds >= 0.001 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{:.0} µs", seconds * 1e6)
    }
}

/// The median of `samples` (sorted here).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// The ratio column, and whether the row met its target.
fn verdict(row: &Row) -> (String, &'static str) {
    match row.ratio {
        Some(ratio) => (
            format!("{ratio:.2}"),
            if row.met() { "met" } else { "MISSED" },
        ),
        None => ("—".to_string(), ""),
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| measure | measured | target | ratio | |\n| --- | --- | --- | --- | --- |"
    );
    for row in rows {
        let (ratio, verdict) = verdict(row);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {ratio} | {verdict} |",
            row.spec.what, row.measured, row.spec.target,
        );
    }
    out.push('\n');
    for row in rows.iter().filter(|row| !row.note.is_empty()) {
        let _ = writeln!(out, "- {}: {}", row.spec.what, row.note);
    }
    out
}

/// The README's Performance table sits between these markers; `cargo bench -- --markdown`
/// writes it, `tests/cli/docs_truth.rs` checks its rows against [`rows::ALL`].
const README_BEGIN: &str = "<!-- bench-table:begin (written by `cargo bench -- --markdown`) -->";
const README_END: &str = "<!-- bench-table:end -->";

/// The README's block: when, on what and from which build the figures were made, then the table.
fn readme_block(rows: &[Row]) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let commit = kalypso_bootstrap::shell_integration::BUILD_COMMIT
        .map(|commit| format!(", commit `{}`", &commit[..commit.len().min(7)]))
        .unwrap_or_default();
    let mut out = format!(
        "{README_BEGIN}\nFigures from one `cargo bench` run on {today}{commit}, on {}. \
         Ratio = measured / target: at most 1.00 meets the target.\n\n\
         | measure | measured | target | ratio |\n| --- | --- | --- | --- |\n",
        machine()
    );
    for row in rows {
        // A missed target is published as such.
        let ratio = match verdict(row) {
            (ratio, "MISSED") => format!("{ratio} (missed)"),
            (ratio, _) => ratio,
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {ratio} |",
            row.spec.what, row.measured, row.spec.target
        );
    }
    out.push_str(README_END);
    out
}

/// Replace the README's block with `block`.
fn write_readme(block: &str) -> Result<(), String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let begin = text
        .find(README_BEGIN)
        .ok_or_else(|| format!("{} has no line {README_BEGIN}", path.display()))?;
    let end = text[begin..]
        .find(README_END)
        .map(|at| begin + at + README_END.len())
        .ok_or_else(|| format!("{} has no line {README_END}", path.display()))?;
    let updated = format!("{}{block}{}", &text[..begin], &text[end..]);
    std::fs::write(&path, updated).map_err(|e| format!("{}: {e}", path.display()))
}

/// The rows a whole run made must be the catalog's, in its order: a measurement that
/// renamed or dropped its row would otherwise leave the README's table behind.
fn check_against_catalog(rows: &[Row]) {
    let made: Vec<&str> = rows.iter().map(|row| row.spec.what).collect();
    let catalog: Vec<&str> = rows::ALL.iter().map(|spec| spec.what).collect();
    assert_eq!(
        made, catalog,
        "the rows measured differ from benches/bootstrap/rows.rs's ALL"
    );
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").parse::<u64>().ok())
        .map(|kb| format!("{:.0} GB RAM", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cpus} CPUs, {memory}, Linux {}", kernel.trim())
}

fn main() {
    let mode = Mode::from_args();
    eprintln!(
        "kalypso-bootstrap benchmark ({}) on {}",
        mode.pick("full", "smoke run"),
        machine()
    );
    // Other arguments name the measurements to make (a part of the name is enough), like a
    // test filter: `cargo bench -- memory`.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    // `--markdown`: write the README's table from this run (a whole full run only).
    let markdown = std::env::args().any(|arg| arg == "--markdown");
    let mut rows = Vec::new();
    let mut section = |name: &str, measure: &dyn Fn(Mode) -> Vec<Row>| {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            return;
        }
        let started = std::time::Instant::now();
        rows.extend(measure(mode));
        eprintln!("measured: {name} ({})", human(started.elapsed()));
    };
    section("critical path", &engine::critical_path);
    section("workload clusters", &engine::workload_clusters);
    section("prerequisite probes", &engine::prerequisite_probes);
    section("health checks", &engine::health_checks);
    section("polling", &polling::measure);
    section("polling on the real clock", &polling::measure_real_clock);
    section("state saves", &engine::state_saves);
    section("adversarial config", &config::adversarial_refusal);
    section("dashboard frame", &screen::dashboard_frame);
    section("input under a log flood", &screen::input_under_flood);
    section("start-up", &process::start_up);
    section("first frame", &process::first_frame);
    section("idle", &process::idle);
    section("memory", &process::memory);

    println!("\n{}", table(&rows));
    println!("machine: {}", machine());
    if filters.is_empty() {
        check_against_catalog(&rows);
    }
    if markdown {
        if mode != Mode::Full || !filters.is_empty() {
            eprintln!("--markdown writes the README's table from a whole full run: `cargo bench -- --markdown`, without a filter");
            std::process::exit(2);
        }
        match write_readme(&readme_block(&rows)) {
            Ok(()) => println!("README.md's Performance table written"),
            Err(problem) => {
                eprintln!("the README's table was not written: {problem}");
                std::process::exit(2);
            }
        }
    }
    let missed: Vec<&str> = rows
        .iter()
        .filter(|row| !row.met())
        .map(|row| row.spec.what)
        .collect();
    match (mode, missed.is_empty()) {
        (_, true) => println!("every target met"),
        (Mode::Smoke, false) => println!(
            "smoke run (debug build, small sizes): targets not enforced; missed here: {}",
            missed.join(", ")
        ),
        (Mode::Full, false) => {
            println!("targets missed: {}", missed.join(", "));
            std::process::exit(1);
        }
    }
}
