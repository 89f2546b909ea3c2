//! The live dashboard: overall and per-phase progress, the steps with spinners and times,
//! the health checks, and the log tail. Drawn often, so it stays light: only the visible
//! log lines are formatted, and nothing scans the log buffer.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::plan::capitalized;
use super::{draw_lines, elapsed_ms, footer, header, padded, panel};
use crate::engine::events::{ChainLink, LinkStatus};
use crate::engine::events::{HealthStatus, LogLevel, Outcome};
use crate::engine::step::Action;
use crate::text::format_duration_ms;
use crate::text::{cut_to_width, display_width};
use crate::tui::app::{App, DashboardPane};
use crate::tui::logbuf::LogView;
use crate::tui::progress::{run_phases, ChainRow, HealthRow, RunProgress, StepRow, StepState};
use crate::tui::theme::{
    spinner_frame, Theme, SYMBOL_FAIL, SYMBOL_OK, SYMBOL_PENDING, SYMBOL_REUSED, SYMBOL_SKIPPED,
};

const FILLED: char = '█';
const EMPTY: char = '░';
/// Most health check rows shown before the panel stops growing (wide layout): every one of
/// the eleven checks (`validation::HealthCheck::ALL`), and room for a failing one's reason.
const MAX_HEALTH_ROWS: u16 = 14;
/// Lines a failing check's reason may take under it.
const MAX_REASON_LINES: usize = 3;
/// Below this width the log tail goes full-width under the steps and health checks: beside
/// them it would show a handful of characters per line.
const SIDE_BY_SIDE_WIDTH: u16 = 120;
/// Most environments of the first workload's chain shown at once (one line each).
const MAX_CHAIN_ROWS: u16 = 3;

struct Areas {
    header: Rect,
    overall: Rect,
    phases: Rect,
    steps: Rect,
    health: Rect,
    log: Rect,
    footer: Rect,
    /// The first workload's chain (no height when no cluster is attached).
    chain: Rect,
}

fn areas(area: Rect, run: &RunProgress) -> Areas {
    let [header, overall, phases, middle, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(area);
    // The chain, once told, across the top of the middle: a line per environment.
    let chain_height = match run.chain.len() as u16 {
        0 => 0,
        rows => rows.min(MAX_CHAIN_ROWS) + 2,
    };
    let [chain, middle] =
        Layout::vertical([Constraint::Length(chain_height), Constraint::Min(6)]).areas(middle);
    let Areas {
        steps, health, log, ..
    } = middle_areas(middle, run);
    Areas {
        header,
        overall,
        phases,
        steps,
        health,
        log,
        footer,
        chain,
    }
}

/// The steps, health checks and log tail in `middle`.
fn middle_areas(middle: Rect, run: &RunProgress) -> Areas {
    let (header, overall, phases, footer, chain) = Default::default();
    let steps_width = (middle.width * 11 / 20).clamp(44, 66);
    if run.health.is_empty() {
        // No checks yet: their panel's room goes to the log, beside the steps, which
        // then have the whole height.
        let [steps, log] =
            Layout::horizontal([Constraint::Length(steps_width), Constraint::Min(20)])
                .areas(middle);
        return Areas {
            header,
            overall,
            phases,
            steps,
            health: Rect::new(log.x, log.y, log.width, 0),
            log,
            footer,
            chain,
        };
    }
    if middle.width < SIDE_BY_SIDE_WIDTH {
        // Steps and health side by side, the log full-width under them.
        let log_height = (middle.height.saturating_add(1) / 3).max(5);
        let [top, log] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(log_height)]).areas(middle);
        let [steps, health] =
            Layout::horizontal([Constraint::Length(steps_width), Constraint::Min(20)]).areas(top);
        return Areas {
            header,
            overall,
            phases,
            steps,
            health,
            log,
            footer,
            chain,
        };
    }
    let [steps, right] =
        Layout::horizontal([Constraint::Length(steps_width), Constraint::Min(20)]).areas(middle);
    let inner_width = right.width.saturating_sub(2) as usize;
    let health_rows = (health_lines(run, inner_width) as u16).clamp(1, MAX_HEALTH_ROWS);
    let [health, log] =
        Layout::vertical([Constraint::Length(health_rows + 2), Constraint::Min(3)]).areas(right);
    Areas {
        header,
        overall,
        phases,
        steps,
        health,
        log,
        footer,
        chain,
    }
}

/// How many log lines the dashboard shows at this size (for paging).
/// What an empty log pane says: no lines at all yet, or none at the chosen level (the
/// others are only hidden by the filter).
fn empty_log_notice(logs: &LogView) -> String {
    if logs.is_empty() {
        return " (no log lines yet)".to_string();
    }
    let hidden = logs.len();
    let lines = if hidden == 1 { "line" } else { "lines" };
    format!(
        " (nothing at {} yet; {hidden} {lines} hidden by the filter: l changes it)",
        logs.filter().label()
    )
}

pub fn log_lines_visible(app: &App) -> usize {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    areas(area, &app.run).log.height.saturating_sub(2) as usize
}

/// `width` cells of bar, filled in proportion to `done / total`.
pub(crate) fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width + total / 2).checked_div(total).unwrap_or(0);
    let mut text = String::with_capacity(width * 3);
    text.extend(std::iter::repeat_n(FILLED, filled.min(width)));
    text.extend(std::iter::repeat_n(EMPTY, width - filled.min(width)));
    text
}

fn now_millis(app: &App) -> i128 {
    app.now.unix_timestamp_nanos() / 1_000_000
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let run = &app.run;
    let areas = areas(area, run);
    let spinner = spinner_frame(now_millis(app));

    let elapsed = run
        .started_at
        .map(|start| format_duration_ms(elapsed_ms(start, app.now)));
    let status = if app.cancel_requested {
        Span::styled("cancelling…", theme.warn())
    } else if run.launching {
        Span::styled(format!("{spinner} starting"), theme.running())
    } else {
        Span::styled(
            format!("elapsed {}", elapsed.as_deref().unwrap_or("-")),
            theme.muted(),
        )
    };
    header(frame, areas.header, app, "Running", Some(status));

    // Overall progress.
    let (done, total) = run.overall();
    let bar_width = (areas.overall.width as usize)
        .saturating_sub(32)
        .clamp(10, 80);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" Overall      ", theme.title()),
            Span::styled(bar(done, total, bar_width), theme.gauge()),
            Span::raw(format!("  {done}/{total} steps")),
        ])),
        areas.overall,
    );

    // One gauge per phase (the workload clusters' only when the plan has them).
    let phases = run_phases(&run.steps);
    let column = areas.phases.width as usize / phases.len();
    let narrow = areas.phases.width < 120;
    let mut spans = Vec::with_capacity(phases.len() * 3);
    for phase in phases {
        let (done, total) = run.phase_counts(phase);
        let name = if narrow {
            short_phase_name(phase).to_string()
        } else {
            capitalized(phase.as_str())
        };
        let counts = format!(" {done}/{total}");
        let bar_width = column
            .saturating_sub(name.len() + counts.len() + 3)
            .clamp(3, 20);
        let style = if run.phase_failed(phase) {
            theme.fail()
        } else if total > 0 && done == total {
            theme.ok()
        } else if run.current_phase == Some(phase) {
            theme.running()
        } else {
            theme.plain()
        };
        let text = format!(" {name} ");
        let used = display_width(&text) + bar_width + display_width(&counts);
        spans.push(Span::styled(text, style));
        spans.push(Span::styled(bar(done, total, bar_width), theme.gauge()));
        spans.push(Span::raw(format!(
            "{counts}{}",
            " ".repeat(column.saturating_sub(used))
        )));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), areas.phases);

    if areas.chain.height > 0 {
        render_chain(run, frame, areas.chain, theme, spinner);
    }
    render_steps(app, frame, areas.steps, theme, spinner);
    if areas.health.height > 0 {
        render_health(app, frame, areas.health, theme);
    }
    render_log(app, frame, areas.log, theme);

    let keys: &[(&str, &str)] = match app.dashboard_focus {
        DashboardPane::Log => &[
            ("q", "stop"),
            ("Tab", "pane"),
            ("j/k", "scroll"),
            ("Enter", "full line"),
            ("f", "follow"),
            ("l", "level"),
            ("?", "help"),
        ],
        DashboardPane::Steps | DashboardPane::Health => &[
            ("q", "stop"),
            ("Tab", "pane"),
            ("j/k", "select"),
            ("Enter", "details"),
            ("?", "help"),
        ],
    };
    footer(frame, areas.footer, theme, keys);
}

/// The panes of the dashboard Tab moves between, in screen order: the health checks only
/// once they are shown.
pub fn dashboard_panes(app: &App) -> Vec<DashboardPane> {
    let mut panes = vec![DashboardPane::Steps];
    if !app.run.health.is_empty() {
        panes.push(DashboardPane::Health);
    }
    panes.push(DashboardPane::Log);
    panes
}

/// A panel whose title says it has the keys.
fn focused_panel(title: &str, focused: bool, theme: Theme) -> ratatui::widgets::Block<'static> {
    if focused {
        panel(&format!("▸ {title}"), theme).border_style(theme.key())
    } else {
        panel(title, theme)
    }
}

/// ` ↑ 2 · ↓ 3 more ` for the bottom border of a panel showing part of its lines.
fn hidden_marker(above: usize, below: usize) -> Option<String> {
    match (above, below) {
        (0, 0) => None,
        (0, below) => Some(format!(" ↓ {below} more ")),
        (above, 0) => Some(format!(" ↑ {above} above ")),
        (above, below) => Some(format!(" ↑ {above} · ↓ {below} more ")),
    }
}

/// The first line to show so that `line` is visible in `height` rows of `total`, one line
/// of context above it when there is room.
fn scroll_to(line: usize, total: usize, height: usize) -> usize {
    if total <= height {
        return 0;
    }
    line.saturating_sub(1).min(total - height)
}

/// The full text of what Enter opens on the dashboard: the selected step or check, or the
/// newest log line shown. `None` when there is nothing there.
pub fn detail_of(app: &App) -> Option<(String, String)> {
    match app.dashboard_focus {
        DashboardPane::Steps => {
            let row = app.run.steps.get(app.steps_cursor?)?;
            let state = match &row.state {
                StepState::Pending => "pending".to_string(),
                StepState::Running { .. } => "running".to_string(),
                StepState::Finished {
                    outcome,
                    duration_ms,
                } => format!(
                    "{} after {}",
                    outcome.as_str(),
                    format_duration_ms(*duration_ms)
                ),
            };
            let mut text = format!("{} ({}): {state}", row.title, row.id);
            if let Some(transition) = &row.transition {
                text.push_str(&format!("\nState: {transition}"));
            }
            if let Some(detail) = &row.detail {
                text.push_str(&format!("\n{detail}"));
            }
            if let Some(hint) = &row.hint {
                text.push_str(&format!("\nHint: {hint}"));
            }
            Some((format!("Step {}", row.id), text))
        }
        DashboardPane::Health => {
            let check = app.run.health.get(app.health_cursor?)?;
            let status = match check.status {
                HealthStatus::Pending => "pending",
                HealthStatus::Passing => "passing",
                HealthStatus::Failing => "failing",
            };
            Some((
                format!("Health check {}", check.check),
                format!("{status}: {}", check.message),
            ))
        }
        DashboardPane::Log => {
            let line = *app.logs.visible(1).first()?;
            let local = line.at.to_offset(app.utc_offset);
            Some((
                "Log line".to_string(),
                format!(
                    "{:02}:{:02}:{:02} {:?}\n{}",
                    local.hour(),
                    local.minute(),
                    local.second(),
                    line.level,
                    line.text
                ),
            ))
        }
    }
}

/// A link's symbol and style: waiting (a spinner on the link being waited for), done,
/// warned, left for the user, failed.
fn link_symbol(
    status: LinkStatus,
    current: bool,
    spinner: &'static str,
    theme: Theme,
) -> (&'static str, Style) {
    match status {
        LinkStatus::Waiting if current => (spinner, theme.running()),
        LinkStatus::Waiting => (SYMBOL_PENDING, theme.muted()),
        LinkStatus::Done => (SYMBOL_OK, theme.ok()),
        LinkStatus::Warning => (SYMBOL_WARN, theme.warn()),
        LinkStatus::Left => (SYMBOL_LEFT, theme.warn()),
        LinkStatus::Failed => (SYMBOL_FAIL, theme.fail()),
    }
}

/// The symbol of a link left for the user (`--no-merge`).
const SYMBOL_LEFT: &str = "⏸";
/// The symbol of a link done with a warning.
const SYMBOL_WARN: &str = "!";

/// The words of a link on the chain's line: the pull request's number once known.
fn link_words(link: ChainLink, message: &str, status: LinkStatus) -> String {
    match link {
        ChainLink::PullRequest if status == LinkStatus::Done => {
            let number = message
                .split_whitespace()
                .next()
                .filter(|word| word.starts_with('#'))
                .unwrap_or("");
            format!("PR {number}").trim_end().to_string()
        }
        ChainLink::PullRequest => "PR".to_string(),
        ChainLink::Merged if status == LinkStatus::Left => "merge left to you".to_string(),
        other => other.label().to_string(),
    }
}

/// One environment's chain on one line: `dev  ✔ PR #3 › ✔ merged › ⠋ reconciled › · workload running`,
/// then the latest word of the link being waited for (or warned about), as room allows.
fn chain_line(
    row: &ChainRow,
    active: bool,
    name_width: usize,
    width: usize,
    spinner: &'static str,
    theme: Theme,
) -> Line<'static> {
    let current = row
        .links
        .iter()
        .position(|(status, _)| *status != LinkStatus::Done)
        .unwrap_or(ChainLink::ALL.len());
    let mut spans = vec![Span::styled(
        format!(" {} ", padded(&row.environment, name_width)),
        theme.title(),
    )];
    let mut used = name_width + 2;
    for (index, link) in ChainLink::ALL.into_iter().enumerate() {
        let (status, message) = &row.links[index];
        let (symbol, style) = link_symbol(*status, active && index == current, spinner, theme);
        let lead = if index == 0 { "" } else { " › " };
        let text = format!("{lead}{symbol} {}", link_words(link, message, *status));
        used += display_width(&text);
        spans.push(Span::styled(text, style));
    }
    let note = row
        .links
        .get(current)
        .filter(|(status, message)| {
            *status != LinkStatus::Waiting
                || current > 0 && !message.is_empty() && message != "waiting"
        })
        .map(|(_, message)| message.as_str())
        .unwrap_or("");
    let room = width.saturating_sub(used + 3);
    if !note.is_empty() && room >= 12 {
        spans.push(Span::styled(
            format!(" · {}", cut_to_width(note, room)),
            theme.muted(),
        ));
    }
    Line::from(spans)
}

/// The first workload's chain: one line per attached environment, in promotion order.
fn render_chain(
    run: &RunProgress,
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    spinner: &'static str,
) {
    let block = panel("First workload", theme);
    let inner = block.inner(area);
    let width = inner.width as usize;
    let name_width = run
        .chain
        .iter()
        .map(|row| display_width(&row.environment))
        .max()
        .unwrap_or(0)
        .min(12);
    // The environment being worked on (the first not done) spins, and is in view.
    let working = run
        .chain
        .iter()
        .position(|row| {
            row.links
                .iter()
                .any(|(status, _)| *status != LinkStatus::Done)
        })
        .unwrap_or(0);
    let lines: Vec<Line> = run
        .chain
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let active = run.is_running() && index == working;
            chain_line(row, active, name_width, width, spinner, theme)
        })
        .collect();
    let height = inner.height as usize;
    let scroll = scroll_to(working, lines.len(), height);
    let below = lines.len().saturating_sub(scroll + height);
    let block = match hidden_marker(scroll, below) {
        Some(marker) => block.title_bottom(Span::styled(marker, theme.muted())),
        None => block,
    };
    frame.render_widget(block, area);
    draw_lines(frame, inner, &lines, scroll);
}

fn short_phase_name(phase: crate::state::Phase) -> &'static str {
    use crate::state::Phase;
    match phase {
        Phase::Prerequisites => "Prereqs",
        Phase::Cluster => "Cluster",
        Phase::Repositories => "Repos",
        Phase::Installation => "Install",
        Phase::Workloads => "Workload",
        Phase::Validation => "Checks",
        Phase::Rollback => "Rollback",
    }
}

pub(crate) fn step_symbol(
    row: &StepRow,
    spinner: &'static str,
    theme: Theme,
) -> (&'static str, Style) {
    match row.state {
        StepState::Pending => (SYMBOL_PENDING, theme.muted()),
        StepState::Running { .. } => (spinner, theme.running()),
        StepState::Finished { outcome, .. } => match outcome {
            Outcome::Succeeded => (SYMBOL_OK, theme.ok()),
            Outcome::Reused => (SYMBOL_REUSED, theme.ok()),
            Outcome::Skipped => (SYMBOL_SKIPPED, theme.muted()),
            Outcome::Failed | Outcome::Cancelled => (SYMBOL_FAIL, theme.fail()),
        },
    }
}

fn render_steps(app: &App, frame: &mut Frame, area: Rect, theme: Theme, spinner: &'static str) {
    let run = &app.run;
    let focused = app.dashboard_focus == DashboardPane::Steps;
    let block = focused_panel("Steps", focused, theme);
    let inner = block.inner(area);
    let width = inner.width as usize;
    let time_width = 8;
    let title_width = width.saturating_sub(time_width + 4);
    let mut lines: Vec<Line> = Vec::with_capacity(run.steps.len() * 2);
    let mut focus_line = None;
    if run.steps.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(" {spinner} Starting the engine…"),
            theme.running(),
        )));
    }
    let mut cursor_line = None;
    for (index, row) in run.steps.iter().enumerate() {
        let (symbol, style) = step_symbol(row, spinner, theme);
        let selected = focused && app.steps_cursor == Some(index);
        if selected {
            cursor_line = Some(lines.len());
        }
        let time = match row.state {
            StepState::Pending => String::new(),
            StepState::Running { since } => format_duration_ms(elapsed_ms(since, app.now)),
            StepState::Finished {
                outcome: Outcome::Skipped,
                ..
            } => "skip".to_string(),
            StepState::Finished {
                outcome: Outcome::Cancelled,
                ..
            } => "cancelled".to_string(),
            StepState::Finished { duration_ms, .. } => format_duration_ms(duration_ms),
        };
        let mut title = row.title.clone();
        if row.action == Action::Reuse && !row.is_running() {
            title.push_str(" (existing)");
        }
        let title_style = if row.is_running() {
            theme.running()
        } else if matches!(
            row.state,
            StepState::Finished {
                outcome: Outcome::Failed | Outcome::Cancelled,
                ..
            }
        ) {
            theme.fail()
        } else if matches!(row.state, StepState::Pending) || row.action == Action::Skip {
            theme.muted()
        } else {
            theme.plain()
        };
        if focus_line.is_none()
            && (row.is_running()
                || matches!(
                    row.state,
                    StepState::Finished {
                        outcome: Outcome::Failed,
                        ..
                    }
                ))
        {
            focus_line = Some(lines.len());
        }
        let title_style = if selected {
            title_style.add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            title_style
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {symbol} "), style),
            Span::styled(padded(&title, title_width), title_style),
            Span::styled(format!(" {:>8}", time), theme.muted()),
        ]));
        if row.is_running() {
            let mut detail = String::new();
            if let Some(transition) = &row.transition {
                detail.push_str(transition);
            }
            if let Some(message) = &row.detail {
                if !detail.is_empty() {
                    detail.push_str(" · ");
                }
                detail.push_str(message);
            }
            // What the step waits for, on up to two lines under it.
            for (i, part) in super::wrap(&detail, width.saturating_sub(6))
                .into_iter()
                .take(2)
                .enumerate()
            {
                if part.is_empty() {
                    continue;
                }
                let lead = if i == 0 { "   ↳ " } else { "     " };
                lines.push(Line::from(Span::styled(
                    format!("{lead}{part}"),
                    theme.muted(),
                )));
            }
        }
    }
    let height = inner.height as usize;
    // The selected step when there is one, else the running (or failed) one, in view.
    let scroll = match cursor_line.or(focus_line) {
        Some(line) => scroll_to(line, lines.len(), height),
        None => 0,
    };
    let below = lines.len().saturating_sub(scroll + height);
    let block = match hidden_marker(scroll, below) {
        Some(marker) => block.title_bottom(Span::styled(marker, theme.muted())),
        None => block,
    };
    frame.render_widget(block, area);
    draw_lines(frame, inner, &lines, scroll);
}

/// Lines the health panel needs at `width`: one per check, plus the reason of each
/// failing check that does not fit on its line.
fn health_lines(run: &RunProgress, width: usize) -> usize {
    let name_width = health_name_width(run, width);
    run.health
        .iter()
        .map(|check| 1 + reason_lines(check, name_width, width).len())
        .sum()
}

fn health_name_width(run: &RunProgress, width: usize) -> usize {
    run.health
        .iter()
        .map(|h| display_width(&h.check))
        .max()
        .unwrap_or(0)
        .min(width.saturating_sub(14))
}

/// Room for a reason on the check's own line.
fn inline_room(name_width: usize, width: usize) -> usize {
    width.saturating_sub(name_width + 13)
}

/// A failing check's reason on lines of its own (wrapped, at most [`MAX_REASON_LINES`],
/// the last one ending in `…` when cut), or none when it fits on the check's line.
fn reason_lines(check: &HealthRow, name_width: usize, width: usize) -> Vec<String> {
    let room = inline_room(name_width, width);
    if check.status != HealthStatus::Failing || display_width(&check.message) <= room {
        return Vec::new();
    }
    let mut lines = super::wrap(&check.message, width.saturating_sub(3));
    if lines.len() > MAX_REASON_LINES {
        lines.truncate(MAX_REASON_LINES);
        if let Some(last) = lines.last_mut() {
            *last = format!("{}…", cut_to_width(last, width.saturating_sub(4)));
        }
    }
    lines
}

fn render_health(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let run = &app.run;
    let focused = app.dashboard_focus == DashboardPane::Health;
    let block = focused_panel("Health checks", focused, theme);
    let inner = block.inner(area);
    let width = inner.width as usize;
    let name_width = health_name_width(run, width);
    let room = inline_room(name_width, width);
    let mut lines: Vec<Line> = Vec::with_capacity(health_lines(run, width));
    let mut cursor_line = None;
    for (index, check) in run.health.iter().enumerate() {
        if focused && app.health_cursor == Some(index) {
            cursor_line = Some(lines.len());
        }
        let (symbol, style, state) = match check.status {
            HealthStatus::Pending => (SYMBOL_PENDING, theme.muted(), "pending"),
            HealthStatus::Passing => (SYMBOL_OK, theme.ok(), "passing"),
            HealthStatus::Failing => (SYMBOL_FAIL, theme.fail(), "failing"),
        };
        let mut spans = vec![
            Span::styled(format!(" {symbol} "), style),
            Span::styled(padded(&check.check, name_width), style),
            Span::styled(format!(" {state:<8}"), style),
        ];
        // A failing check's reason matters most: on lines of its own when it is long.
        let own_lines = reason_lines(check, name_width, width);
        // A cut-down reason of a few characters says nothing; leave it out.
        if own_lines.is_empty() && (room >= 12 || display_width(&check.message) <= room) {
            spans.push(Span::styled(
                cut_to_width(&check.message, room).to_string(),
                theme.muted(),
            ));
        }
        if cursor_line == Some(lines.len()) {
            for span in spans.iter_mut().skip(1) {
                span.style = span.style.add_modifier(ratatui::style::Modifier::REVERSED);
            }
        }
        lines.push(Line::from(spans));
        for reason in own_lines {
            lines.push(Line::from(Span::styled(format!("   {reason}"), style)));
        }
    }
    let height = inner.height as usize;
    let scroll = cursor_line.map_or(0, |line| scroll_to(line, lines.len(), height));
    let below = lines.len().saturating_sub(scroll + height);
    let block = match hidden_marker(scroll, below) {
        Some(marker) => block.title_bottom(Span::styled(marker, theme.muted())),
        None => block,
    };
    frame.render_widget(block, area);
    draw_lines(frame, inner, &lines, scroll);
}

pub(crate) fn level_span(level: LogLevel, theme: Theme) -> Span<'static> {
    match level {
        LogLevel::Debug => Span::styled("DEBUG ", theme.muted()),
        LogLevel::Info => Span::styled("INFO  ", theme.plain()),
        LogLevel::Warn => Span::styled("WARN  ", theme.warn()),
        LogLevel::Error => Span::styled("ERROR ", theme.fail()),
    }
}

/// The log tail panel: its title says whether it follows and what the filter is.
pub(crate) fn render_log(app: &App, frame: &mut Frame, area: Rect, theme: Theme) {
    let logs: &LogView = &app.logs;
    let mode = if logs.following() {
        "follow".to_string()
    } else {
        format!("paused, {} newer", logs.offset())
    };
    let title = format!("Log · {mode} · {}", logs.filter().label());
    let focused = app.screen == crate::tui::app::Screen::Dashboard
        && app.dashboard_focus == DashboardPane::Log;
    let block = focused_panel(&title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let width = inner.width as usize;
    let visible = logs.visible(height);
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    if visible.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_log_notice(logs),
            theme.muted(),
        )));
    }
    for line in visible {
        let local = line.at.to_offset(app.utc_offset);
        let text: &str = match line.text.char_indices().nth(width.saturating_sub(16)) {
            Some((cut, _)) => &line.text[..cut],
            None => &line.text,
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    " {:02}:{:02}:{:02} ",
                    local.hour(),
                    local.minute(),
                    local.second()
                ),
                theme.muted(),
            ),
            level_span(line.level, theme),
            Span::raw(text),
        ]));
    }
    draw_lines(frame, inner, &lines, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_in_proportion_and_keep_their_width() {
        assert_eq!(bar(0, 4, 8), "░░░░░░░░");
        assert_eq!(bar(2, 4, 8), "████░░░░");
        assert_eq!(bar(4, 4, 8), "████████");
        assert_eq!(bar(0, 0, 3), "░░░");
        assert_eq!(bar(9, 4, 3), "███");
    }

    fn failing(message: &str) -> HealthRow {
        HealthRow {
            check: "controller available".to_string(),
            status: HealthStatus::Failing,
            message: message.to_string(),
        }
    }

    #[test]
    fn the_wide_health_panel_shows_all_eleven_checks() {
        let mut run = RunProgress::default();
        for name in [
            "pods",
            "crds",
            "controller",
            "webhooks",
            "flux-gitrepository",
            "flux-kustomization",
            "test-workload",
            "environment-flux",
            "baserepo",
            "gitopsrepo",
            "pull-request",
        ] {
            run.health.push(HealthRow {
                check: name.to_string(),
                status: HealthStatus::Passing,
                message: "fine".to_string(),
            });
        }
        let wide = areas(Rect::new(0, 0, 160, 40), &run);
        assert_eq!(wide.health.height - 2, 11, "one row per check");
        // A failing one's reason gets its lines too.
        run.health[10] = failing(&"no open pull request against dev; last look: 0 open ".repeat(3));
        let wide = areas(Rect::new(0, 0, 160, 40), &run);
        assert!(wide.health.height - 2 > 11, "{:?}", wide.health);
    }

    #[test]
    fn a_long_failing_reason_wraps_over_at_most_three_lines() {
        let short = failing("0/1 replicas");
        assert!(reason_lines(&short, 20, 50).is_empty(), "fits on its line");
        let two = failing("0/1 replicas available: ImagePullBackOff");
        assert_eq!(
            reason_lines(&two, 20, 34),
            ["0/1 replicas available:", "ImagePullBackOff"]
        );
        let long = failing(
            "0/1 replicas available: ImagePullBackOff pulling image \
             ghcr.io/microsoft/kalypso-scheduler:v1.1.2 from the registry timed out twice",
        );
        let lines = reason_lines(&long, 20, 34);
        assert_eq!(lines.len(), MAX_REASON_LINES, "{lines:?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 31), "{lines:?}");
        assert!(lines[2].ends_with('…'), "{lines:?}");
        let mut passing = long.clone();
        passing.status = HealthStatus::Passing;
        assert!(reason_lines(&passing, 20, 34).is_empty());
    }

    #[test]
    fn a_failing_reason_in_wide_characters_stays_inside_the_panel() {
        use crate::text::display_width;
        let cjk = failing(
            "0/1 のレプリカが利用可能: イメージの取得に失敗しました 🙂 レジストリ              ghcr.io/microsoft/kalypso-scheduler:v1.1.2 への接続が二回タイムアウトしました",
        );
        let lines = reason_lines(&cjk, 20, 34);
        assert_eq!(lines.len(), MAX_REASON_LINES, "{lines:?}");
        assert!(lines.iter().all(|l| display_width(l) <= 31), "{lines:?}");
        assert!(lines[2].ends_with('…'), "{lines:?}");
    }
}
