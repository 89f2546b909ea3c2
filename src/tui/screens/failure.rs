//! Failure: the failed step, the error and the hint; the rollback question listing
//! exactly what would be removed; then the rollback's own progress.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::dashboard::render_log;
use super::{footer, frame_areas, header, panel, wrap};
use crate::engine::events::Outcome;
use crate::text::format_duration_ms;
use crate::text::{display_width, tail_within};
use crate::tui::app::App;
use crate::tui::progress::{RollbackRow, RollbackState};
use crate::tui::theme::{
    spinner_frame, Theme, SYMBOL_BULLET, SYMBOL_FAIL, SYMBOL_OK, SYMBOL_PENDING, SYMBOL_SKIPPED,
};
use crate::ExitCode;

/// Which pane of the failure screen the scroll keys move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePane {
    Error,
    Rollback,
    Log,
}

/// A panel's lines: `top` and `bottom` always shown (the failed step; the hint or the
/// question with its keys), `middle` scrolled when it does not fit, with a marker.
struct Pinned<'a> {
    top: Vec<Line<'a>>,
    middle: Vec<Line<'a>>,
    bottom: Vec<Line<'a>>,
}

impl Pinned<'_> {
    /// Rows (with the borders) to show everything.
    fn full_height(&self) -> u16 {
        (self.top.len() + self.middle.len() + self.bottom.len()) as u16 + 2
    }

    /// Rows (with the borders) for the pinned lines and two of the middle (one line and
    /// the marker saying more is there).
    fn min_height(&self) -> u16 {
        (self.top.len() + self.middle.len().min(2) + self.bottom.len()) as u16 + 2
    }
}

/// Rows of the log below the panels; fewer are not worth a panel.
const LOG_MIN_ROWS: u16 = 3;

/// Where each part of the failure screen goes, and how much of each panel's middle is
/// hidden (what its scroll can reach).
struct FailureLayout<'a> {
    error: Pinned<'a>,
    rollback: Pinned<'a>,
    error_area: Rect,
    rollback_area: Rect,
    log_area: Option<Rect>,
}

impl FailureLayout<'_> {
    /// The largest useful scroll offset of a panel's middle.
    fn max_scroll(&self, pane: FailurePane) -> usize {
        let (section, area) = match pane {
            FailurePane::Error => (&self.error, self.error_area),
            FailurePane::Rollback => (&self.rollback, self.rollback_area),
            FailurePane::Log => return 0,
        };
        let rows = middle_rows(section, area);
        if section.middle.len() <= rows {
            0
        } else {
            section.middle.len() - rows.saturating_sub(1)
        }
    }

    fn has(&self, pane: FailurePane) -> bool {
        match pane {
            FailurePane::Error => true,
            FailurePane::Rollback => {
                !(self.rollback.top.is_empty()
                    && self.rollback.middle.is_empty()
                    && self.rollback.bottom.is_empty())
            }
            FailurePane::Log => self.log_area.is_some(),
        }
    }
}

/// Rows left for a panel's middle once its pinned lines are in.
fn middle_rows(section: &Pinned<'_>, area: Rect) -> usize {
    let inner = area.height.saturating_sub(2) as usize;
    inner.saturating_sub(section.top.len() + section.bottom.len())
}

fn failure_layout(app: &App, area: Rect) -> Option<FailureLayout<'static>> {
    let theme = app.theme();
    let failure = app.run.failure.as_ref()?;
    let cancelled = failure.exit_code == ExitCode::Cancelled;
    let (_, body, _) = frame_areas(area);
    let width = body.width.saturating_sub(6) as usize;
    let spinner = spinner_frame(app.now.unix_timestamp_nanos() / 1_000_000);

    // What failed.
    let step_text = match failure.step {
        Some(step) => format!(
            "{} ({}) {} in the {} phase after {}",
            step.title(),
            step,
            if cancelled { "was cancelled" } else { "failed" },
            failure.phase,
            format_duration_ms(failure.duration_ms)
        ),
        None => format!(
            "The run {} in the {} phase",
            if cancelled { "was cancelled" } else { "failed" },
            failure.phase
        ),
    };
    // Wrapped like the message: cut at the border it would lose the duration.
    let top: Vec<Line> = wrap(&step_text, width)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let lead = if i == 0 { SYMBOL_FAIL } else { " " };
            Line::from(Span::styled(format!(" {lead} {part}"), theme.fail()))
        })
        .collect();
    let middle: Vec<Line> = wrap(&crate::secrets::redact(&failure.message), width)
        .into_iter()
        .map(|part| Line::from(format!("   {part}")))
        .collect();
    let mut bottom = Vec::new();
    if let Some(hint) = &failure.hint {
        for (i, part) in wrap(&crate::secrets::redact(hint), width.saturating_sub(6))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 { "   Hint: " } else { "         " };
            bottom.push(Line::from(vec![
                Span::styled(lead, theme.title()),
                Span::raw(part),
            ]));
        }
    }
    let error = Pinned {
        top,
        middle,
        bottom,
    };
    let rollback = rollback_section(
        app.run.rollback(),
        &RemoveLater::of(app),
        width,
        theme,
        spinner,
    );

    // Both panels whole if they fit; otherwise each keeps its pinned lines and shares the
    // rest, the error getting at least half of what is left. The log gets what remains.
    let height = body.height;
    let (error_full, rollback_full) = (error.full_height(), rollback.full_height().max(3));
    let (error_min, rollback_min) = (error.min_height(), rollback.min_height().max(3));
    let (error_height, rollback_height) = if error_full + rollback_full <= height {
        (error_full, rollback_full)
    } else {
        let spare = height.saturating_sub(error_min + rollback_min);
        let error_need = error_full - error_min;
        let rollback_need = rollback_full - rollback_min;
        let error_extra = error_need.min((spare / 2).max(spare.saturating_sub(rollback_need)));
        let error_height = error_min + error_extra;
        let rollback_height = rollback_full.min(height.saturating_sub(error_height));
        (error_height, rollback_height.max(rollback_min.min(height)))
    };
    let [error_area, rollback_area, rest] = Layout::vertical([
        Constraint::Length(error_height),
        Constraint::Length(rollback_height),
        Constraint::Min(0),
    ])
    .areas(body);
    Some(FailureLayout {
        error,
        rollback,
        error_area,
        rollback_area,
        log_area: (rest.height >= LOG_MIN_ROWS).then_some(rest),
    })
}

/// The pane the scroll keys move: the one chosen with Tab, else the first whose content
/// does not fit (the error, then the rollback list), else the log.
pub fn focused_pane(app: &App) -> FailurePane {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let Some(layout) = failure_layout(app, area) else {
        return FailurePane::Log;
    };
    if let Some(pane) = app.failure_focus.filter(|pane| layout.has(*pane)) {
        return pane;
    }
    [FailurePane::Error, FailurePane::Rollback]
        .into_iter()
        .find(|pane| layout.max_scroll(*pane) > 0)
        .unwrap_or(if layout.has(FailurePane::Log) {
            FailurePane::Log
        } else {
            FailurePane::Error
        })
}

/// The panes Tab moves between, in screen order.
pub fn panes(app: &App) -> Vec<FailurePane> {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    match failure_layout(app, area) {
        Some(layout) => [FailurePane::Error, FailurePane::Rollback, FailurePane::Log]
            .into_iter()
            .filter(|pane| layout.has(*pane))
            .collect(),
        None => vec![FailurePane::Log],
    }
}

/// How far the middle of `pane` can scroll at the current size.
pub fn max_scroll(app: &App, pane: FailurePane) -> usize {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    failure_layout(app, area).map_or(0, |layout| layout.max_scroll(pane))
}

/// Rows of a panel's middle shown at once (for paging).
pub fn page(app: &App, pane: FailurePane) -> usize {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    failure_layout(app, area)
        .map(|layout| match pane {
            FailurePane::Error => middle_rows(&layout.error, layout.error_area),
            FailurePane::Rollback => middle_rows(&layout.rollback, layout.rollback_area),
            FailurePane::Log => 1,
        })
        .unwrap_or(1)
        .saturating_sub(1)
        .max(1)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let run = &app.run;
    let (top, _, bottom) = frame_areas(area);
    let (Some(failure), Some(layout)) = (&run.failure, failure_layout(app, area)) else {
        header(frame, top, app, "Failed", None);
        return;
    };
    let cancelled = failure.exit_code == ExitCode::Cancelled;
    header(
        frame,
        top,
        app,
        if cancelled { "Cancelled" } else { "Failed" },
        Some(Span::styled(
            format!("exit code {}", failure.exit_code.code()),
            theme.muted(),
        )),
    );
    let focus = focused_pane(app);
    let scrolls = panes(app).len() > 1;
    // The report's path sits on the panel's bottom border: it costs no row the rollback
    // needs.
    let report = failure.report_file.as_ref().map(|report| {
        let room = (layout.error_area.width as usize).saturating_sub(4);
        Span::styled(report_label(report, room), theme.muted())
    });
    draw_section(
        frame,
        layout.error_area,
        "What went wrong",
        &layout.error,
        app.failure_scroll[0],
        (focus == FailurePane::Error && scrolls, theme),
        report,
    );
    draw_section(
        frame,
        layout.rollback_area,
        "Rollback",
        &layout.rollback,
        app.failure_scroll[1],
        (focus == FailurePane::Rollback && scrolls, theme),
        None,
    );
    if let Some(log_area) = layout.log_area {
        render_log(app, frame, log_area, theme);
    }

    let hints: &[(&str, &str)] = match run.rollback() {
        RollbackState::Asking(_) => &[
            ("y", "roll back"),
            ("n", "keep everything"),
            ("Tab j/k", "scroll"),
            ("?", "help"),
        ],
        RollbackState::Requested | RollbackState::Running { .. } | RollbackState::LookingUp => {
            &[("Tab j/k", "scroll"), ("q", "stop"), ("?", "help")]
        }
        _ if failure.is_configuration_problem() => &[
            ("c", "change the configuration"),
            ("Enter/q", "exit"),
            ("Tab j/k", "scroll"),
            ("?", "help"),
        ],
        _ => &[("Enter/q", "exit"), ("Tab j/k", "scroll"), ("?", "help")],
    };
    footer(frame, bottom, theme, hints);
}

/// Draw `section` in a panel: its pinned lines always, its middle from `offset` with a
/// marker when some of it is hidden.
fn draw_section(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    section: &Pinned<'_>,
    offset: usize,
    (focused, theme): (bool, Theme),
    bottom_title: Option<Span<'static>>,
) {
    let inner = area.height.saturating_sub(2) as usize;
    // The bottom (the hint, the question) wins over the top when even they do not fit.
    let bottom_count = section.bottom.len().min(inner);
    let top_count = section.top.len().min(inner - bottom_count);
    let rows = inner - bottom_count - top_count;
    let mut lines: Vec<Line> = section.top[..top_count].to_vec();
    let mut marked = false;
    if section.middle.len() <= rows {
        lines.extend(section.middle.iter().cloned());
    } else if rows > 0 {
        let shown = rows - 1;
        let offset = offset.min(section.middle.len() - shown);
        lines.extend(section.middle[offset..offset + shown].iter().cloned());
        let below = section.middle.len() - offset - shown;
        let mut parts = Vec::new();
        if offset > 0 {
            parts.push(format!("↑ {offset} above"));
        }
        if below > 0 {
            parts.push(format!("↓ {below} more"));
        }
        let keys = if focused {
            "j/k scroll"
        } else {
            "Tab here, then j/k"
        };
        lines.push(Line::from(Span::styled(
            format!("   {} · {keys}", parts.join(" · ")),
            theme.muted(),
        )));
        marked = true;
    }
    lines.extend(
        section.bottom[section.bottom.len() - bottom_count..]
            .iter()
            .cloned(),
    );
    let title = if focused && marked {
        format!("{title} ▸ scrolling")
    } else {
        title.to_string()
    };
    let mut block = panel(&title, theme);
    if let Some(span) = bottom_title {
        block = block.title_bottom(span);
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// ` Report: <path> `, the path cut from the left (keeping the file name) to fit `room`.
fn report_label(path: &str, room: usize) -> String {
    let full = format!(" Report: {path} ");
    if display_width(&full) <= room {
        return full;
    }
    let keep = room.saturating_sub(display_width(" Report: … "));
    format!(" Report: …{} ", tail_within(path, keep))
}

/// How to remove later what is kept: the exact `--clean` command when there is one.
struct RemoveLater {
    command: Option<String>,
    /// Why there is no command (worded by the caller, never here).
    nothing_to_clean: Option<String>,
    resume: crate::engine::Resume,
}

impl RemoveLater {
    fn of(app: &App) -> Self {
        Self {
            command: app.clean_command.clone(),
            nothing_to_clean: app.nothing_to_clean.clone(),
            resume: app.resume.clone(),
        }
    }

    /// "Run … again … to resume`at`, or remove `what` with: …": the exact command when
    /// known; for a demo whose world ends with it, only why nothing resumes or removes it.
    fn resume_or_remove(&self, at: &str, what: &str) -> String {
        use crate::engine::Resume;
        match (&self.resume, &self.nothing_to_clean) {
            (Resume::NotKept, Some(reason)) => format!("Nothing resumes or removes it: {reason}."),
            (Resume::NotKept, None) => {
                "This demo's simulated world ends with it: nothing resumes it.".to_string()
            }
            (Resume::Command(command), _) => format!(
                "Run {command} again with the same configuration to resume{at}, {}",
                self.sentence(what)
            ),
            (Resume::SameCommand, _) => format!(
                "Run again with the same configuration to resume{at}, {}",
                self.sentence(what)
            ),
        }
    }

    /// The end of a sentence starting "Run again … to resume, ".
    fn sentence(&self, what: &str) -> String {
        match (&self.command, &self.nothing_to_clean) {
            (Some(command), _) => format!("or remove {what} with: {command}"),
            (None, Some(reason)) => format!("or leave it: {reason}."),
            (None, None) => format!("or remove {what} with --clean."),
        }
    }
}

/// The rollback panel: the question (pinned above and below the list it asks about), its
/// progress, or what was done.
fn rollback_section<'a>(
    state: &RollbackState,
    later: &RemoveLater,
    width: usize,
    theme: Theme,
    spinner: &'static str,
) -> Pinned<'a> {
    if let RollbackState::Asking(resources) = state {
        return Pinned {
            top: vec![
                Line::from(Span::styled(
                    " Roll back the resources created by this run?",
                    theme.title(),
                )),
                Line::from(format!(
                    " {} will be deleted, in this order (nothing else is touched):",
                    count(resources.len(), "resource")
                )),
            ],
            middle: resources
                .iter()
                .flat_map(|resource| {
                    wrap(resource, width.saturating_sub(4))
                        .into_iter()
                        .enumerate()
                        .map(|(i, part)| {
                            let lead = if i == 0 { SYMBOL_BULLET } else { " " };
                            Line::from(format!("   {lead} {part}"))
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
            bottom: vec![Line::from(vec![
                Span::styled(" Roll back? ", theme.title()),
                Span::styled("[y/N]", theme.key()),
                Span::styled("  y deletes them · n keeps everything", theme.muted()),
            ])],
        };
    }
    let (top, middle) = match rollback_lines(state, later, width, theme, spinner) {
        lines if lines.is_empty() => (Vec::new(), Vec::new()),
        mut lines => {
            let first = lines.remove(0);
            (vec![first], lines)
        }
    };
    Pinned {
        top,
        middle,
        bottom: Vec::new(),
    }
}

fn rollback_lines<'a>(
    state: &RollbackState,
    later: &RemoveLater,
    width: usize,
    theme: Theme,
    spinner: &'static str,
) -> Vec<Line<'a>> {
    let text = |t: String| Line::from(format!(" {t}"));
    match state {
        RollbackState::NotOffered => Vec::new(),
        RollbackState::LookingUp => vec![Line::from(Span::styled(
            format!(" {spinner} Looking up what this run created…"),
            theme.running(),
        ))],
        RollbackState::Unavailable(reason) => wrap(
            &format!(
                "Rollback is not available here: {reason}. {}",
                later.resume_or_remove("", "what was created")
            ),
            width,
        )
        .into_iter()
        .map(text)
        .collect(),
        RollbackState::NothingToRemove => vec![text(
            "This run created nothing, so there is nothing to roll back.".to_string(),
        )],
        // Drawn by `rollback_section`, which pins the question.
        RollbackState::Asking(_) => Vec::new(),
        RollbackState::Declined => wrap(
            &format!(
                "Nothing was removed. {}",
                later.resume_or_remove(" at the failed step", "what this run created")
            ),
            width,
        )
        .into_iter()
        .map(text)
        .collect(),
        RollbackState::Kept => wrap(
            &format!(
                "Nothing was rolled back (--non-interactive without --auto-rollback). {}",
                later.resume_or_remove(" at the failed step", "what this run created")
            ),
            width,
        )
        .into_iter()
        .map(text)
        .collect(),
        RollbackState::Requested => vec![Line::from(Span::styled(
            format!(" {spinner} Starting the rollback…"),
            theme.running(),
        ))],
        RollbackState::Running { resources, actions } => {
            let mut lines = vec![Line::from(Span::styled(
                format!(" {spinner} Rolling back…"),
                theme.running(),
            ))];
            lines.extend(resource_lines(
                resources,
                actions,
                width,
                theme,
                Some(spinner),
            ));
            lines
        }
        RollbackState::Finished {
            resources,
            actions,
            outcome,
            message,
            leftovers,
        } => {
            let (symbol, style) = if *outcome == Outcome::Succeeded {
                (SYMBOL_OK, theme.ok())
            } else {
                (SYMBOL_FAIL, theme.fail())
            };
            let mut lines = vec![Line::from(Span::styled(
                // The message says the outcome itself ("rolled back: …", "rollback
                // incomplete: …"): a "Rollback failed:" label would say it twice.
                format!(" {symbol} {}", crate::text::sentence_case(message)),
                style,
            ))];
            lines.extend(resource_lines(resources, actions, width, theme, None));
            if !leftovers.is_empty() {
                lines.push(Line::from(Span::styled(
                    " Left behind; remove by hand:",
                    theme.fail(),
                )));
                for leftover in leftovers {
                    lines.push(Line::from(format!("   {leftover}")));
                }
            }
            lines
        }
    }
}

/// Each resource with its action's result; the first without one is in progress.
fn resource_lines<'a>(
    resources: &[String],
    actions: &[RollbackRow],
    width: usize,
    theme: Theme,
    spinner: Option<&'static str>,
) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let mut in_progress_shown = false;
    let mut names: Vec<&str> = resources.iter().map(String::as_str).collect();
    for action in actions {
        if !names.contains(&action.resource.as_str()) {
            names.push(&action.resource);
        }
    }
    for name in names {
        let line = match actions.iter().find(|a| a.resource == name) {
            Some(action) => {
                let (symbol, style) = match action.outcome {
                    Outcome::Succeeded => (SYMBOL_OK, theme.ok()),
                    Outcome::Skipped | Outcome::Reused => (SYMBOL_SKIPPED, theme.muted()),
                    Outcome::Failed | Outcome::Cancelled => (SYMBOL_FAIL, theme.fail()),
                };
                let detail = format!(
                    "{} ({})",
                    action.message,
                    format_duration_ms(action.duration_ms)
                );
                let head = vec![
                    Span::styled(format!("   {symbol} "), style),
                    Span::raw(name.to_string()),
                ];
                if display_width(name) + display_width(&detail) + 8 <= width {
                    let mut spans = head;
                    spans.push(Span::styled(format!(" · {detail}"), theme.muted()));
                    Line::from(spans)
                } else {
                    // Too long for one line: the result goes underneath, wrapped.
                    lines.push(Line::from(head));
                    let mut parts = wrap(&detail, width.saturating_sub(6)).into_iter();
                    let last = parts.next_back();
                    for part in parts {
                        lines.push(Line::from(Span::styled(
                            format!("     {part}"),
                            theme.muted(),
                        )));
                    }
                    Line::from(Span::styled(
                        format!("     {}", last.unwrap_or_default()),
                        theme.muted(),
                    ))
                }
            }
            None => match spinner {
                Some(spinner) if !in_progress_shown => {
                    in_progress_shown = true;
                    Line::from(vec![
                        Span::styled(format!("   {spinner} "), theme.running()),
                        Span::styled(name.to_string(), theme.running()),
                    ])
                }
                _ => Line::from(vec![
                    Span::styled(format!("   {SYMBOL_PENDING} "), theme.muted()),
                    Span::raw(name.to_string()),
                ]),
            },
        };
        lines.push(line);
    }
    lines
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::report_label;

    #[test]
    fn a_long_report_path_keeps_its_file_name() {
        let path = "/home/dev/.kalypso/bootstrap-report-20251111T103000Z.md";
        assert_eq!(report_label(path, 80), format!(" Report: {path} "));
        let cut = report_label(path, 40);
        assert_eq!(cut.chars().count(), 40, "{cut}");
        assert!(
            cut.starts_with(" Report: …") && cut.ends_with("103000Z.md "),
            "{cut}"
        );
        // A home directory in wide characters: cut by the columns it takes.
        let path = "/home/開発者/プロジェクト/レポート-20251111T103000Z.md";
        let cut = report_label(path, 40);
        let width = crate::text::display_width(&cut);
        assert!((39..=40).contains(&width), "{cut}: {width} columns");
        assert!(cut.ends_with("103000Z.md "), "{cut}");
    }
}
