//! The prerequisite checklist, filling in as the probes return.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{footer, frame_areas, header, padded, panel, wrap};
use crate::prereq::Verdict;
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

    let tools_height = checklist.tools.len() as u16 + 3;
    let auth_height = checklist.auth.len() as u16 + 2;
    let [tools_area, auth_area, verdict_area] = Layout::vertical([
        Constraint::Length(tools_height),
        Constraint::Length(auth_height),
        Constraint::Min(1),
    ])
    .areas(body);

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
            detail.chars().take(detail_width).collect()
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
        lines.push(Line::from(vec![
            Span::styled(format!(" {symbol} "), style),
            Span::styled(padded(row.kind.label(), 16), style),
            Span::styled(crate::secrets::redact(&detail).into_owned(), theme.plain()),
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
            let macos = std::env::consts::OS == "macos";
            for row in &checklist.tools {
                if let Some(check) = row.result.as_ref().filter(|c| c.verdict == Verdict::Fail) {
                    let install = if macos {
                        check.install.macos
                    } else {
                        check.install.linux
                    };
                    for part in wrap(
                        &format!("{}: install or upgrade: {install}", row.name),
                        width,
                    ) {
                        lines.push(Line::from(Span::styled(
                            format!("   {part}"),
                            theme.muted(),
                        )));
                    }
                }
            }
            for row in &checklist.auth {
                if let Some(hint) = row.result.as_ref().and_then(|c| c.hint.as_ref()) {
                    for part in wrap(&format!("{}: {hint}", row.kind.label()), width) {
                        lines.push(Line::from(Span::styled(
                            format!("   {part}"),
                            theme.muted(),
                        )));
                    }
                }
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
