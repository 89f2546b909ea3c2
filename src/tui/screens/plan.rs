//! The plan: the effective configuration and the steps with create / reuse / skip, then
//! "Proceed? [y/N]".

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{footer, frame_areas, header, padded, panel, wrap};
use crate::config::field::Value;
use crate::engine::step::Action;
use crate::tui::app::{App, PlanState};
use crate::tui::form::{group_entries, label, Entry, Group};
use crate::tui::theme::{spinner_frame, Theme, SYMBOL_FAIL, SYMBOL_REUSED, SYMBOL_SKIPPED};

/// The action as a symbol (`compact`) or a symbol and a word.
pub(crate) fn action_span<'a>(action: Action, compact: bool, theme: Theme) -> Span<'a> {
    let (symbol, word, style) = match action {
        Action::Create => ("+", "create", theme.ok()),
        Action::Reuse => (SYMBOL_REUSED, "reuse ", theme.plain()),
        Action::Skip => (SYMBOL_SKIPPED, "skip  ", theme.muted()),
    };
    if compact {
        Span::styled(symbol, style)
    } else {
        Span::styled(format!("{symbol} {word}"), style)
    }
}

/// The configuration as label/value lines, grouped, showing only rows that apply.
fn configuration_lines<'a>(app: &App, width: usize, theme: Theme) -> Vec<Line<'a>> {
    let form = &app.form;
    let Some(validated) = app.validated.as_ref() else {
        return Vec::new();
    };
    let provenance = validated.provenance();
    let values = form.parsed().merged().values.clone();
    let mut lines = Vec::new();
    let label_width = 23;
    for group in Group::ALL {
        lines.push(Line::from(Span::styled(
            format!(" {}", group.title()),
            theme.title(),
        )));
        for entry in group_entries(group) {
            let Entry::Config(field) = *entry else {
                continue;
            };
            if !form.is_relevant(*entry) {
                continue;
            }
            let value = match field.get(&values) {
                Some(Value::Bool(b)) => if b { "yes" } else { "no" }.to_string(),
                Some(other) => other.to_string(),
                None => "-".to_string(),
            };
            if group == Group::Options && value == "no" {
                continue;
            }
            let source = provenance.get(field);
            let shown = crate::secrets::redact(&value).into_owned();
            let room = width.saturating_sub(label_width + 3);
            let source_text = format!("  ({source})");
            let mut spans = vec![
                Span::raw(format!("  {}", padded(label(*entry), label_width + 1))),
                Span::raw(shown.chars().take(room).collect::<String>()),
            ];
            // The source only where it fits whole.
            if !source.is_default() && shown.chars().count() + source_text.chars().count() <= room {
                spans.push(Span::styled(source_text, theme.muted()));
            }
            lines.push(Line::from(spans));
        }
    }
    if app.form.token_in_env() {
        lines.push(Line::from(Span::styled(
            " GitHub token from the environment",
            theme.muted(),
        )));
    }
    lines
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let (top, body, bottom) = frame_areas(area);
    header(frame, top, app, "Plan", None);
    if let PlanState::Failed(error) | PlanState::LaunchFailed(error) = &app.plan {
        let what = if matches!(app.plan, PlanState::Failed(_)) {
            "The plan could not be made"
        } else {
            "The run could not start"
        };
        let width = body.width.saturating_sub(6) as usize;
        let mut lines = vec![Line::from(Span::styled(
            format!(" {SYMBOL_FAIL} {what}:"),
            theme.fail(),
        ))];
        // The message carries values read from the user's repositories: shown, not obeyed.
        for part in wrap(
            &crate::text::escape_controls(&crate::secrets::redact(&error.message)),
            width,
        ) {
            lines.push(Line::from(format!("   {part}")));
        }
        if let Some(hint) = &error.hint {
            let hint = crate::text::escape_controls(&crate::secrets::redact(hint)).into_owned();
            for part in wrap(&format!("hint: {hint}"), width) {
                lines.push(Line::from(Span::styled(
                    format!("   {part}"),
                    theme.muted(),
                )));
            }
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(
                " Enter exits with code {}; Esc goes back to the configuration.",
                error.exit_code.code()
            ),
            theme.muted(),
        )));
        frame.render_widget(Paragraph::new(lines).block(panel("Plan", theme)), body);
        footer(
            frame,
            bottom,
            theme,
            &[
                ("Enter", "exit"),
                ("Esc", "back to the forms"),
                ("q", "quit"),
            ],
        );
        return;
    }
    let [panels, question] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(body);
    let narrow = panels.width < 120;
    let left_share = if narrow { 58 } else { 50 };
    let [left, right] = Layout::horizontal([
        Constraint::Percentage(left_share),
        Constraint::Percentage(100 - left_share),
    ])
    .areas(panels);

    let config_block = panel("Effective configuration", theme);
    let config_inner = config_block.inner(left);
    let lines = configuration_lines(app, config_inner.width as usize, theme);
    let max_scroll = lines.len().saturating_sub(config_inner.height as usize);
    let scroll = app.plan_scroll.min(max_scroll);
    frame.render_widget(
        Paragraph::new(lines)
            .block(config_block)
            .scroll((scroll as u16, 0)),
        left,
    );

    let steps_block = panel(
        if narrow {
            "Steps  + create ↺ reuse – skip"
        } else {
            "Steps"
        },
        theme,
    );
    let steps_width = steps_block.inner(right).width as usize;
    let mut step_lines = Vec::new();
    let spinner = spinner_frame(app.now.unix_timestamp_nanos() / 1_000_000);
    match &app.plan {
        PlanState::NotAsked => {}
        PlanState::Computing => step_lines.push(Line::from(Span::styled(
            format!(" {spinner} Working out the plan…"),
            theme.running(),
        ))),
        PlanState::Ready(steps) => {
            // What a yes accepts beyond the steps comes first, where the smallest screen
            // still shows it (text from outside, escaped already).
            let consequences: Vec<&String> =
                steps.iter().flat_map(|step| &step.consequences).collect();
            if !consequences.is_empty() {
                step_lines.push(Line::from(Span::styled(
                    " A yes also accepts:",
                    theme.warn(),
                )));
                for consequence in consequences {
                    for (index, line) in wrap(consequence, steps_width.saturating_sub(3))
                        .into_iter()
                        .enumerate()
                    {
                        let bullet = if index == 0 { " ! " } else { "   " };
                        step_lines.push(Line::from(Span::styled(
                            format!("{bullet}{line}"),
                            theme.warn(),
                        )));
                    }
                }
            }
            let mut phase = None;
            for step in steps {
                if phase != Some(step.phase) {
                    phase = Some(step.phase);
                    step_lines.push(Line::from(Span::styled(
                        format!(" {}", capitalized(step.phase.as_str())),
                        theme.title(),
                    )));
                }
                step_lines.push(Line::from(vec![
                    Span::raw(if narrow { " " } else { "   " }),
                    action_span(step.action, narrow, theme),
                    Span::raw(format!(" {}", step.title)),
                ]));
                // What a yes accepts beyond the step (text from outside, escaped already).
            }
        }
        PlanState::Failed(_) | PlanState::LaunchFailed(_) => {}
    }
    frame.render_widget(Paragraph::new(step_lines).block(steps_block), right);

    let (question_line, hints): (Line, &[(&str, &str)]) = match &app.plan {
        PlanState::Ready(_) => (
            Line::from(vec![
                Span::styled(" Proceed? ", theme.title()),
                Span::styled("[y/N]", theme.key()),
                Span::styled(
                    "  Nothing has been created yet; n goes back to the configuration.",
                    theme.muted(),
                ),
            ]),
            &[
                ("y", "proceed"),
                ("n/Esc", "back"),
                ("↑/↓", "scroll"),
                ("?", "help"),
                ("q", "quit"),
            ],
        ),
        PlanState::Failed(error) | PlanState::LaunchFailed(error) => (
            Line::from(Span::styled(
                format!(" Enter exits with code {}.", error.exit_code.code()),
                theme.muted(),
            )),
            &[
                ("Enter", "exit"),
                ("Esc", "back to the forms"),
                ("q", "quit"),
            ],
        ),
        _ => (Line::from(""), &[("?", "help"), ("q", "quit")]),
    };
    frame.render_widget(Paragraph::new(question_line), question);
    footer(frame, bottom, theme, hints);
}

pub(crate) fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
