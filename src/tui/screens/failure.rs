//! Failure: the failed step, the error and the hint; the rollback question listing
//! exactly what would be removed; then the rollback's own progress.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::dashboard::render_log;
use super::{footer, format_duration_ms, frame_areas, header, panel, wrap};
use crate::engine::events::Outcome;
use crate::tui::app::App;
use crate::tui::progress::{RollbackRow, RollbackState};
use crate::tui::theme::{
    spinner_frame, Theme, SYMBOL_BULLET, SYMBOL_FAIL, SYMBOL_OK, SYMBOL_PENDING, SYMBOL_SKIPPED,
};
use crate::ExitCode;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let run = &app.run;
    let (top, body, bottom) = frame_areas(area);
    let Some(failure) = &run.failure else {
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
    let mut error_lines: Vec<Line> = wrap(&step_text, width)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let lead = if i == 0 { SYMBOL_FAIL } else { " " };
            Line::from(Span::styled(format!(" {lead} {part}"), theme.fail()))
        })
        .collect();
    for part in wrap(&crate::secrets::redact(&failure.message), width) {
        error_lines.push(Line::from(format!("   {part}")));
    }
    if let Some(hint) = &failure.hint {
        for (i, part) in wrap(&crate::secrets::redact(hint), width.saturating_sub(6))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 { "   Hint: " } else { "         " };
            error_lines.push(Line::from(vec![
                Span::styled(lead, theme.title()),
                Span::raw(part),
            ]));
        }
    }

    let rollback_lines =
        rollback_lines(run.rollback(), &RemoveLater::of(app), width, theme, spinner);
    // The error first (up to half the screen), then the rollback; the log gets the rest.
    let error_height = (error_lines.len() as u16 + 2).min(body.height / 2).max(3);
    let rollback_height = (rollback_lines.len() as u16 + 2)
        .min(body.height.saturating_sub(error_height))
        .max(3);
    let [error_area, rollback_area, log_area] = Layout::vertical([
        Constraint::Length(error_height),
        Constraint::Length(rollback_height),
        Constraint::Min(0),
    ])
    .areas(body);
    // The report's path sits on the panel's bottom border: it costs no row the rollback
    // needs.
    let mut error_panel = panel("What went wrong", theme);
    if let Some(report) = &failure.report_file {
        let room = (error_area.width as usize).saturating_sub(4);
        error_panel =
            error_panel.title_bottom(Span::styled(report_label(report, room), theme.muted()));
    }
    frame.render_widget(Paragraph::new(error_lines).block(error_panel), error_area);
    frame.render_widget(
        Paragraph::new(rollback_lines).block(panel("Rollback", theme)),
        rollback_area,
    );
    if log_area.height >= 3 {
        render_log(app, frame, log_area, theme);
    }

    let hints: &[(&str, &str)] = match run.rollback() {
        RollbackState::Asking(_) => &[("y", "roll back"), ("n", "keep everything"), ("?", "help")],
        RollbackState::Requested | RollbackState::Running { .. } | RollbackState::LookingUp => {
            &[("j/k", "scroll log"), ("q", "stop"), ("?", "help")]
        }
        _ if failure.is_configuration_problem() => &[
            ("c", "change the configuration"),
            ("Enter/q", "exit"),
            ("j/k", "scroll log"),
            ("?", "help"),
        ],
        _ => &[("Enter/q", "exit"), ("j/k", "scroll log"), ("?", "help")],
    };
    footer(frame, bottom, theme, hints);
}

/// ` Report: <path> `, the path cut from the left (keeping the file name) to fit `room`.
fn report_label(path: &str, room: usize) -> String {
    let full = format!(" Report: {path} ");
    if full.chars().count() <= room {
        return full;
    }
    let keep = room.saturating_sub(" Report: … ".chars().count());
    let tail: String = path
        .chars()
        .rev()
        .take(keep)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!(" Report: …{tail} ")
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
        RollbackState::Asking(resources) => {
            let mut lines = vec![
                Line::from(Span::styled(
                    " Roll back the resources created by this run?",
                    theme.title(),
                )),
                text(format!(
                    "{} will be deleted, in this order (nothing else is touched):",
                    count(resources.len(), "resource")
                )),
            ];
            for resource in resources {
                lines.push(Line::from(format!("   {SYMBOL_BULLET} {resource}")));
            }
            lines.push(Line::from(vec![
                Span::styled(" Roll back? ", theme.title()),
                Span::styled("[y/N]", theme.key()),
            ]));
            lines
        }
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
                format!(" {symbol} Rollback {}: {message}", outcome.as_str()),
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
                if name.chars().count() + detail.chars().count() + 8 <= width {
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
    }
}
