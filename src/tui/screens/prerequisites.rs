//! The prerequisite checklist, filling in as the probes return.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{footer, frame_areas, header, padded, panel, wrap};
use crate::prereq::Verdict;
use crate::text::truncate_to_width;
use crate::tui::app::App;
use crate::tui::theme::{
    spinner_frame, Theme, SYMBOL_FAIL, SYMBOL_INFO, SYMBOL_OK, SYMBOL_SKIPPED, SYMBOL_WARN,
};
use crate::ExitCode;

pub(crate) fn verdict_symbol(verdict: Verdict, theme: Theme) -> (&'static str, Style) {
    match verdict {
        Verdict::Pass => (SYMBOL_OK, theme.ok()),
        Verdict::Warn => (SYMBOL_WARN, theme.warn()),
        Verdict::Fail => (SYMBOL_FAIL, theme.fail()),
        Verdict::Info => (SYMBOL_INFO, theme.muted()),
        Verdict::Skip => (SYMBOL_SKIPPED, theme.muted()),
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let checklist = &app.checklist;
    let (top, body, bottom) = frame_areas(area);
    let (done, total) = checklist.progress();
    header(
        frame,
        top,
        app,
        "Prerequisites",
        Some(Span::styled(
            format!("{done}/{total} checked"),
            theme.muted(),
        )),
    );
    let spinner = spinner_frame(app.now.unix_timestamp_nanos() / 1_000_000);
    let pending_symbol = if checklist.outcome.is_none() {
        spinner
    } else {
        SYMBOL_SKIPPED
    };

    let [tools_area, auth_area, verdict_area] = body_areas(app, body);

    // Tools table.
    let wide = tools_area.width >= 100;
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "   {} {} {} {}",
            padded("TOOL", 8),
            padded("VERSION", 10),
            padded("MINIMUM", 9),
            "DETAIL"
        ),
        theme.muted(),
    ))];
    let detail_width = (tools_area.width as usize).saturating_sub(36);
    for row in &checklist.tools {
        let minimum = match (row.minimum, row.required) {
            (Some(minimum), _) => minimum.to_string(),
            (None, true) => "any".to_string(),
            (None, false) => "-".to_string(),
        };
        let (symbol, style, version, detail) = match &row.result {
            None => (
                pending_symbol,
                theme.running(),
                "…".to_string(),
                if checklist.outcome.is_none() {
                    "checking".to_string()
                } else {
                    "not checked".to_string()
                },
            ),
            Some(check) => {
                let (symbol, style) = verdict_symbol(check.verdict, theme);
                (
                    symbol,
                    style,
                    check.version.map_or("-".to_string(), |v| v.to_string()),
                    check.detail.clone(),
                )
            }
        };
        let detail: String = if wide {
            detail
        } else {
            truncate_to_width(&detail, detail_width).into_owned()
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {symbol} "), style),
            Span::styled(padded(&row.name, 8), style),
            Span::raw(format!(
                " {} {} ",
                padded(&version, 10),
                padded(&minimum, 9)
            )),
            Span::styled(detail, theme.muted()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).block(panel("Tools", theme)),
        tools_area,
    );

    // Sign-in checks.
    let mut lines = Vec::new();
    for row in &checklist.auth {
        let (symbol, style, detail) = match &row.result {
            None => (
                pending_symbol,
                theme.running(),
                if checklist.outcome.is_none() {
                    "checking".to_string()
                } else {
                    "not checked".to_string()
                },
            ),
            Some(check) => {
                let (symbol, style) = verdict_symbol(check.verdict, theme);
                (symbol, style, check.detail.clone())
            }
        };
        // Cut with a mark where the panel ends: the whole text is in the hints below and
        // the log.
        let detail_width = (auth_area.width as usize).saturating_sub(2 + 3 + 16);
        lines.push(Line::from(vec![
            Span::styled(format!(" {symbol} "), style),
            Span::styled(padded(row.kind.label(), 16), style),
            Span::styled(
                truncate_to_width(&crate::secrets::redact(&detail), detail_width).into_owned(),
                theme.plain(),
            ),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).block(panel("Sign-in", theme)),
        auth_area,
    );

    // Verdict and what to fix.
    let mut lines = Vec::new();
    let width = verdict_area.width.saturating_sub(4) as usize;
    match &checklist.outcome {
        None => lines.push(Line::from(Span::styled(
            format!(" {spinner} Checking tools and sign-ins…"),
            theme.running(),
        ))),
        Some(outcome) => {
            let passed = outcome.exit_code == ExitCode::Success;
            let style = if passed { theme.ok() } else { theme.fail() };
            let symbol = if passed { SYMBOL_OK } else { SYMBOL_FAIL };
            lines.push(Line::from(Span::styled(
                format!(" {symbol} {}", outcome.summary),
                style,
            )));
            let hints: Vec<Line> = fix_hints(app, width.max(1))
                .into_iter()
                .map(|part| Line::from(Span::styled(format!("   {part}"), theme.muted())))
                .collect();
            // What does not fit scrolls (j/k), a marker saying how much more there is, as
            // the failure screen's panes do: no hint is cut off unseen.
            let rows = (verdict_area.height as usize).saturating_sub(1);
            if hints.len() <= rows {
                lines.extend(hints);
            } else if rows > 0 {
                let shown = rows - 1;
                let offset = app.prerequisites_scroll.min(hints.len() - shown);
                lines.extend(hints[offset..offset + shown].iter().cloned());
                let below = hints.len() - offset - shown;
                let mut parts = Vec::new();
                if offset > 0 {
                    parts.push(format!("↑ {offset} above"));
                }
                if below > 0 {
                    parts.push(format!("↓ {below} more"));
                }
                lines.push(Line::from(Span::styled(
                    format!("   {} · j/k scroll", parts.join(" · ")),
                    theme.muted(),
                )));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), verdict_area);

    let hints: &[(&str, &str)] = match &checklist.outcome {
        None => &[("?", "help"), ("q", "quit")],
        Some(outcome) if outcome.exit_code == ExitCode::Success => {
            if app.skip_plan {
                &[("Enter", "start"), ("?", "help"), ("q", "quit")]
            } else {
                &[
                    ("Enter", "continue to the plan"),
                    ("Esc", "back"),
                    ("?", "help"),
                    ("q", "quit"),
                ]
            }
        }
        Some(_) => &[
            ("Enter", "exit"),
            ("Esc", "back to the forms"),
            ("?", "help"),
            ("q", "quit"),
        ],
    };
    footer(frame, bottom, theme, hints);
}

/// What to fix, wrapped to `width`: the failures first (a missing tool, a missing token),
/// then the warnings, each with its whole hint.
pub(crate) fn fix_hints(app: &App, width: usize) -> Vec<String> {
    let checklist = &app.checklist;
    let macos = std::env::consts::OS == "macos";
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    for row in &checklist.tools {
        if let Some(check) = row.result.as_ref().filter(|c| c.verdict == Verdict::Fail) {
            let install = if macos {
                check.install.macos
            } else {
                check.install.linux
            };
            failures.push(format!("{}: install or upgrade: {install}", row.name));
        }
    }
    for row in &checklist.auth {
        if let Some(check) = row.result.as_ref() {
            if let Some(hint) = &check.hint {
                let text = format!("{}: {hint}", row.kind.label());
                if check.verdict == Verdict::Fail {
                    failures.push(text);
                } else {
                    warnings.push(text);
                }
            }
        }
    }
    failures
        .iter()
        .chain(&warnings)
        .flat_map(|text| wrap(&crate::secrets::redact(text), width))
        .collect()
}

/// The tools panel, the sign-in panel and what is left for the verdict and its hints.
fn body_areas(app: &App, body: Rect) -> [Rect; 3] {
    let tools_height = app.checklist.tools.len() as u16 + 3;
    let auth_height = app.checklist.auth.len() as u16 + 2;
    Layout::vertical([
        Constraint::Length(tools_height),
        Constraint::Length(auth_height),
        Constraint::Min(1),
    ])
    .areas(body)
}

/// How far the hints can scroll at the terminal's size: none when they fit.
pub(crate) fn max_scroll(app: &App) -> usize {
    let (_, body, _) = frame_areas(Rect::new(0, 0, app.size.0, app.size.1));
    let [_, _, verdict_area] = body_areas(app, body);
    let width = verdict_area.width.saturating_sub(4) as usize;
    let rows = (verdict_area.height as usize).saturating_sub(1);
    let hints = fix_hints(app, width.max(1)).len();
    if hints <= rows || rows == 0 {
        0
    } else {
        hints - (rows - 1)
    }
}
