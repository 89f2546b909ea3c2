//! The plan: the effective configuration and the plan by resource (`+` create, `~` change,
//! `=` reuse, the count line at the bottom), then "Proceed? [y/N]".

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{footer, frame_areas, header, padded, panel, wrap};
use crate::config::field::Value;
use crate::engine::overview::{Change, LineKind, PlanOverview};
use crate::text::{cut_to_width, display_width, truncate_to_width};
use crate::tui::app::{App, PlanState};
use crate::tui::form::{group_entries, label, toggle_choices, Entry, Group};
use crate::tui::theme::{spinner_frame, Theme, SYMBOL_FAIL};

/// The change's marker, styled.
fn change_span<'a>(change: Change, theme: Theme) -> Span<'a> {
    let style = match change {
        Change::Create => theme.ok(),
        Change::Change => theme.running(),
        Change::Reuse => theme.plain(),
    };
    Span::styled(change.symbol(), style)
}

/// The plan by resource, as the overview lays it out: the owner, the earlier run (wrapped),
/// each resource and its steps, what is skipped (the count line is under the panel). A
/// resource of one step is one line; with `by_resource` (a short screen), so is every
/// resource whose steps all share its mark, as `terraform plan` lists resources.
fn overview_lines<'a>(
    overview: &PlanOverview,
    width: usize,
    by_resource: bool,
    whole_names: bool,
    theme: Theme,
) -> Vec<Line<'a>> {
    let lines = overview.lines();
    // The resource line above each step, and whether all its steps share its mark.
    let mut uniform = vec![false; lines.len()];
    let mut resource_at = None;
    for (index, line) in lines.iter().enumerate() {
        match line.kind {
            LineKind::Resource(change) => {
                let steps = lines[index + 1..]
                    .iter()
                    .take_while(|l| matches!(l.kind, LineKind::Step(_)));
                let same = steps.clone().all(|l| l.kind == LineKind::Step(change));
                resource_at = Some(same);
            }
            LineKind::Step(_) => uniform[index] = resource_at.unwrap_or(false),
            _ => resource_at = None,
        }
    }
    let mut shown = Vec::new();
    let last = lines.len().saturating_sub(1);
    for (index, line) in lines.iter().enumerate() {
        match line.kind {
            LineKind::Heading if index == last => {}
            // The owner, whole: it says whose the new repositories will be.
            LineKind::Heading => {
                for part in wrap(&line.text, width.saturating_sub(1)) {
                    shown.push(Line::from(Span::styled(format!(" {part}"), theme.title())));
                }
            }
            LineKind::Resume | LineKind::Skipped => {
                let style = if line.kind == LineKind::Resume {
                    theme.running()
                } else {
                    theme.muted()
                };
                let text = match &line.detail {
                    Some(detail) => format!("{}: {detail}", line.text.trim_start()),
                    None => line.text.trim_start().to_string(),
                };
                let indent = if line.text.starts_with(' ') {
                    "   "
                } else {
                    " "
                };
                for part in wrap(
                    &crate::text::escape_controls(&crate::secrets::redact(&text)),
                    width.saturating_sub(indent.len()),
                ) {
                    shown.push(Line::from(Span::styled(format!("{indent}{part}"), style)));
                }
            }
            // The resource's name whole (wrapped) where there is room, else cut.
            LineKind::Resource(change) if whole_names => {
                for (row, part) in wrap(&line.text, width.saturating_sub(3))
                    .into_iter()
                    .enumerate()
                {
                    let marker = if row == 0 {
                        change_span(change, theme)
                    } else {
                        Span::raw(" ")
                    };
                    shown.push(Line::from(vec![
                        Span::raw(" "),
                        marker,
                        Span::styled(format!(" {part}"), theme.title()),
                    ]));
                }
            }
            LineKind::Resource(change) => shown.push(Line::from(vec![
                Span::raw(" "),
                change_span(change, theme),
                Span::styled(
                    format!(
                        " {}",
                        truncate_to_width(&line.text, width.saturating_sub(3))
                    ),
                    theme.title(),
                ),
            ])),
            LineKind::Step(change) => {
                let only_step = matches!(lines[index - 1].kind, LineKind::Resource(_))
                    && !matches!(
                        lines.get(index + 1).map(|l| l.kind),
                        Some(LineKind::Step(_))
                    );
                if only_step || (by_resource && uniform[index]) {
                    continue;
                }
                shown.push(Line::from(vec![
                    Span::raw("   "),
                    change_span(change, theme),
                    Span::raw(format!(
                        " {}",
                        truncate_to_width(&line.text, width.saturating_sub(5))
                    )),
                ]));
            }
        }
    }
    shown
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
                Some(Value::Bool(b)) => match toggle_choices(*entry) {
                    Some(choices) => choices[usize::from(b)].to_string(),
                    None => if b { "yes" } else { "no" }.to_string(),
                },
                Some(other) => other.to_string(),
                None => "-".to_string(),
            };
            if group == Group::Options && value == "no" {
                continue;
            }
            let source = provenance.get(field);
            let shown = crate::secrets::redact(&value).into_owned();
            let room = width.saturating_sub(label_width + 3);
            let mut spans = vec![
                Span::raw(format!("  {}", padded(label(*entry), label_width + 1))),
                Span::raw(cut_to_width(&shown, room).to_string()),
            ];
            // Where it came from (default, env, file, flag or typed): in full where it
            // fits, else in one word, else not at all.
            let source_text = [
                format!("  ({})", source.origin()),
                format!(" ({})", source.origin_kind()),
            ]
            .into_iter()
            .find(|text| display_width(&shown) + display_width(text) <= room);
            if let Some(source_text) = source_text {
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

/// The width of " Plan: … to reuse.  Proceed? [y/N]".
fn asked_width(overview: &PlanOverview) -> usize {
    format!(" {}  Proceed? [y/N]", overview.counts.line())
        .chars()
        .count()
}

/// The question row has room for what exists ("Nothing has been created yet.").
fn fits_question_row(overview: &PlanOverview, width: u16) -> bool {
    asked_width(overview) + 2 + display_width(overview.before_proceeding()) <= width as usize
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

    let legend = format!("Plan  {}", Change::LEGEND);
    let mut plan_block = panel(&legend, theme);
    let plan_inner = plan_block.inner(right);
    let mut plan_lines = Vec::new();
    let spinner = spinner_frame(app.now.unix_timestamp_nanos() / 1_000_000);
    match &app.plan {
        PlanState::NotAsked => {}
        PlanState::Computing => plan_lines.push(Line::from(Span::styled(
            format!(" {spinner} Working out the plan…"),
            theme.running(),
        ))),
        PlanState::Ready(overview) => {
            // Every step with whole names, else every step, else by resource (whole
            // names, then cut): the first that fits, the last in any case.
            let width = plan_inner.width as usize;
            let height = plan_inner.height as usize;
            plan_lines = [(false, true), (false, false), (true, true), (true, false)]
                .into_iter()
                .map(|(by_resource, whole)| {
                    overview_lines(overview, width, by_resource, whole, theme)
                })
                .reduce(|fitting, next| {
                    if fitting.len() <= height {
                        fitting
                    } else {
                        next
                    }
                })
                .unwrap_or_default();
            // What a yes accepts beyond the steps comes first, where the smallest screen
            // still shows it (text from outside, escaped already).
            if !overview.consequences.is_empty() {
                let mut accepted = vec![Line::from(Span::styled(
                    " A yes also accepts:",
                    theme.warn(),
                ))];
                for consequence in &overview.consequences {
                    for (index, line) in wrap(consequence, width.saturating_sub(3))
                        .into_iter()
                        .enumerate()
                    {
                        let bullet = if index == 0 { " ! " } else { "   " };
                        accepted.push(Line::from(Span::styled(
                            format!("{bullet}{line}"),
                            theme.warn(),
                        )));
                    }
                }
                accepted.append(&mut plan_lines);
                plan_lines = accepted;
            }
            if !fits_question_row(overview, question.width) {
                plan_block = plan_block.title_bottom(Span::styled(
                    format!(" {} ", overview.before_proceeding_short()),
                    theme.muted(),
                ));
            }
        }
        PlanState::Failed(_) | PlanState::LaunchFailed(_) => {}
    }
    // More than fits: the last row says so (and how to see it).
    let height = plan_inner.height as usize;
    let overflows = plan_lines.len() > height;
    let shown_rows = if overflows {
        height.saturating_sub(1)
    } else {
        height
    };
    let plan_scroll = app
        .plan_scroll
        .min(plan_lines.len().saturating_sub(shown_rows));
    let mut visible: Vec<Line> = plan_lines.into_iter().skip(plan_scroll).collect();
    if overflows {
        let below = visible.len().saturating_sub(shown_rows);
        visible.truncate(shown_rows);
        visible.push(Line::from(Span::styled(
            if below > 0 {
                format!(" ↓ {below} more (↑/↓ scroll)")
            } else {
                " ↑ more above (↑/↓ scroll)".to_string()
            },
            theme.muted(),
        )));
    }
    frame.render_widget(Paragraph::new(visible).block(plan_block), right);

    let (question_line, hints): (Line, &[(&str, &str)]) = match &app.plan {
        PlanState::Ready(overview) => (
            {
                // The count line ends the plan, as in `terraform plan`; what exists is said
                // after the question where it fits (the footer names the keys too).
                let room = (question.width as usize).saturating_sub(asked_width(overview));
                let said = format!("  {}", overview.before_proceeding());
                let more = format!("{said} n goes back to the configuration.");
                // Where it does not fit, the plan panel's bottom line says it.
                let note = [more, said]
                    .into_iter()
                    .find(|note| display_width(note) <= room)
                    .unwrap_or_default();
                Line::from(vec![
                    Span::styled(format!(" {}  ", overview.counts.line()), theme.title()),
                    Span::styled("Proceed? ", theme.title()),
                    Span::styled("[y/N]", theme.key()),
                    Span::styled(note, theme.muted()),
                ])
            },
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
