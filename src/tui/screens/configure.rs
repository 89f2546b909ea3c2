//! The configuration forms: one group at a time, each row a field with its value, and
//! under a row that was left, its validation errors and hints.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::{centered, footer, header, padded, panel, wrap};
use crate::config::defaults;
use crate::config::Source;
use crate::prereq::Reachability;
use crate::text::{cut_to_width, display_width, skip_width, truncate_to_width};
use crate::tui::app::App;
use crate::tui::form::{
    editor, help, label, toggle_choices, Editor, Entry, FormState, Group, PickSource,
};
use crate::tui::theme::{Theme, SYMBOL_FAIL, SYMBOL_OK, SYMBOL_PENDING, SYMBOL_SELECTED};

/// Columns for the labels.
const LABEL_WIDTH: usize = 24;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let form = &app.form;
    let [top, tabs, body, help_area, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(area);
    header(frame, top, app, "Configuration", None);
    render_tabs(form, frame, tabs, theme);

    let block = panel(form.group.title(), theme);
    let inner = block.inner(body);
    frame.render_widget(block, body);

    let value_width = (inner.width as usize)
        .saturating_sub(LABEL_WIDTH + 3)
        .max(4);
    let mut lines: Vec<Line> = Vec::new();
    let mut focus_line = 0usize;
    let mut focus_end = 0usize;
    for entry in form.visible_entries(form.group) {
        let focused = entry == form.focus;
        if focused {
            focus_line = lines.len();
        }
        lines.push(row(form, entry, focused, value_width, theme));
        let error_width = (inner.width as usize).saturating_sub(6);
        for error in form.shown_errors(entry) {
            for (i, part) in wrap(&error, error_width).into_iter().enumerate() {
                let lead = if i == 0 {
                    format!("   {SYMBOL_FAIL} ")
                } else {
                    "     ".to_string()
                };
                lines.push(Line::from(vec![
                    Span::styled(lead, theme.fail()),
                    Span::styled(part, theme.fail()),
                ]));
            }
        }
        for hint in form.shown_hints(entry) {
            for (i, part) in wrap(&format!("hint: {hint}"), error_width)
                .into_iter()
                .enumerate()
            {
                let lead = if i == 0 { "     " } else { "       " };
                lines.push(Line::from(Span::styled(
                    format!("{lead}{part}"),
                    theme.muted(),
                )));
            }
        }
        if focused {
            focus_end = lines.len();
        }
    }
    let height = inner.height as usize;
    // Keep the focused row and its errors in view.
    let scroll = if focus_end > height {
        (focus_end - height).min(focus_line)
    } else {
        0
    };
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), inner);

    if form.picker.is_none() {
        if let Some((x, cursor_line)) = cursor(form, value_width) {
            let y = focus_line.saturating_sub(scroll);
            if y < height && cursor_line {
                frame.set_cursor_position((
                    inner.x + (LABEL_WIDTH + 3 + x) as u16,
                    inner.y + y as u16,
                ));
            }
        }
    }

    render_help(form, frame, help_area, theme);
    footer(
        frame,
        bottom,
        theme,
        &[
            ("Tab/↓", "next"),
            ("⇧Tab/↑", "prev"),
            ("Enter", "next/continue"),
            ("Esc", "back"),
            ("F1", "help"),
            ("^C", "quit"),
        ],
    );
    if form.picker.is_some() {
        render_picker(form, frame, area, theme);
    }
}

fn render_tabs(form: &FormState, frame: &mut Frame, area: Rect, theme: Theme) {
    let mut spans = vec![Span::raw(" ")];
    for (i, group) in Group::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", theme.muted()));
        }
        let mut title = format!("{}. {}", i + 1, group.title());
        if form.group_has_shown_errors(*group) {
            title.push(' ');
            title.push_str(SYMBOL_FAIL);
        }
        let style = if *group == form.group {
            theme.focus()
        } else if group.index() < form.group.index() {
            theme.plain()
        } else {
            theme.muted()
        };
        spans.push(Span::styled(title, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn row<'a>(
    form: &FormState,
    entry: Entry,
    focused: bool,
    value_width: usize,
    theme: Theme,
) -> Line<'a> {
    let marker = if focused { SYMBOL_SELECTED } else { " " };
    let mut name = label(entry).to_string();
    if entry == Entry::Config(crate::config::Field::ClusterName)
        && !form.toggle(crate::config::Field::ClusterCreate)
    {
        name.push_str(" (optional)");
    }
    let label_style = if focused {
        theme.focus()
    } else if !form.shown_errors(entry).is_empty() {
        theme.fail()
    } else {
        theme.plain()
    };
    let mut spans = vec![
        Span::styled(format!(" {marker} "), label_style),
        Span::styled(padded(&name, LABEL_WIDTH), label_style),
    ];
    spans.extend(value_spans(form, entry, focused, value_width, theme));
    Line::from(spans)
}

fn value_spans<'a>(
    form: &FormState,
    entry: Entry,
    focused: bool,
    width: usize,
    theme: Theme,
) -> Vec<Span<'a>> {
    let field = match entry {
        Entry::GithubToken => {
            return if form.token.is_empty() {
                vec![Span::styled(
                    "(empty: `gh auth token`, else asked)",
                    theme.muted(),
                )]
            } else {
                vec![Span::raw("•".repeat(form.token.len().min(width)))]
            };
        }
        Entry::Config(field) => field,
    };
    match editor(entry) {
        Editor::Toggle => {
            let on = form.toggle(field);
            if let Some(choices) = toggle_choices(entry) {
                return vec![
                    Span::styled("◂ ", theme.muted()),
                    Span::raw(choices[usize::from(on)]),
                    Span::styled(" ▸", theme.muted()),
                ];
            }
            let text = if on { "[x] yes" } else { "[ ] no" };
            vec![Span::styled(
                text,
                if on { theme.ok() } else { theme.plain() },
            )]
        }
        Editor::Pick(PickSource::KubeContext)
            if form.text(field).is_empty() && form.contexts().is_empty() =>
        {
            vec![Span::styled(form.no_contexts_notice(), theme.muted())]
        }
        Editor::Pick(_) => {
            let value = form.text(field);
            let shown = if value.is_empty() { "(choose)" } else { value };
            vec![
                Span::styled("◂ ", theme.muted()),
                Span::raw(shown.to_string()),
                Span::styled(" ▸", theme.muted()),
            ]
        }
        Editor::Text | Editor::Number | Editor::Secret => {
            let Some(input) = form.input(field) else {
                return Vec::new();
            };
            if input.value().is_empty() && !focused {
                let placeholder = defaults::describe(field)
                    .map_or_else(|| "(not set)".to_string(), |d| format!("({d})"));
                return vec![Span::styled(placeholder, theme.muted())];
            }
            let scroll = if focused {
                input.visual_scroll(width)
            } else {
                0
            };
            // tui-input scrolls by display columns; so does the cut.
            let shown = cut_to_width(skip_width(input.value(), scroll), width);
            vec![Span::raw(crate::secrets::redact(shown).into_owned())]
        }
    }
}

/// The cursor column within the value area for a focused text row.
fn cursor(form: &FormState, width: usize) -> Option<(usize, bool)> {
    match (form.focus, editor(form.focus)) {
        (Entry::Config(field), Editor::Text | Editor::Number) => {
            let input = form.input(field)?;
            let scroll = input.visual_scroll(width);
            Some((input.visual_cursor().saturating_sub(scroll), true))
        }
        (Entry::GithubToken, _) => Some((form.token.len().min(width), true)),
        _ => None,
    }
}

fn describe_source(source: &Source) -> String {
    match source {
        Source::Default => "default".to_string(),
        other => other.to_string(),
    }
}

fn render_help(form: &FormState, frame: &mut Frame, area: Rect, theme: Theme) {
    let width = area.width as usize;
    let cut = |text: String| -> String { cut_to_width(&text, width).to_string() };
    let mut lines = vec![Line::from(Span::styled(
        cut(format!(" {}", help(form.focus))),
        theme.muted(),
    ))];
    if let Entry::Config(field) = form.focus {
        let origin = format!(
            " from {} · {} · {}",
            describe_source(form.source(field)),
            field.flag(),
            field.env_var()
        );
        let with_path = format!(" {}:{origin}", field.path());
        let text = if display_width(&with_path) <= width {
            with_path
        } else {
            origin
        };
        lines.push(Line::from(Span::styled(cut(text), theme.muted())));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_picker(form: &FormState, frame: &mut Frame, area: Rect, theme: Theme) {
    let Some(picker) = &form.picker else {
        return;
    };
    let contexts = picker.field == crate::config::Field::ClusterExistingContext;
    let filtered = picker.filtered();
    // The context list has a line more: why the selected context does not answer.
    let extra = u16::from(contexts);
    let height = (filtered.len() as u16 + 4 + extra).clamp(6, area.height.saturating_sub(4));
    // Contexts show their server and whether it answers: as wide as the screen allows.
    let width = if contexts {
        area.width.saturating_sub(4).min(100)
    } else {
        44
    };
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let title = format!("{} (type to filter)", label(Entry::Config(picker.field)));
    let block = panel(&title, theme);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let visible = (inner.height as usize).saturating_sub(1 + extra as usize);
    let start = picker.selected.saturating_sub(visible.saturating_sub(1));
    let mut lines = vec![Line::from(vec![
        Span::styled(" filter: ", theme.muted()),
        Span::raw(picker.filter.clone()),
    ])];
    if filtered.is_empty() {
        lines.push(Line::from(Span::styled(" no match", theme.muted())));
    }
    let row_width = inner.width.saturating_sub(4) as usize;
    let name_width = filtered
        .iter()
        .map(|c| display_width(c))
        .max()
        .unwrap_or(0)
        .min(row_width / 3);
    let server_width = filtered
        .iter()
        .filter_map(|c| form.context_detail(c).0)
        .map(display_width)
        .max()
        .unwrap_or(0)
        // What is left beside the name and the verdict ("✓ answers (v1.31.5)").
        .min(row_width.saturating_sub(name_width + 4 + STATUS_WIDTH));
    for (i, choice) in filtered.iter().enumerate().skip(start).take(visible) {
        let selected = i == picker.selected;
        let marker = if selected { SYMBOL_SELECTED } else { " " };
        let style = if selected {
            theme.focus()
        } else {
            theme.plain()
        };
        if !contexts {
            lines.push(Line::from(Span::styled(
                format!(" {marker} {}", padded(choice, row_width)),
                style,
            )));
            continue;
        }
        let (server, reachability) = form.context_detail(choice);
        let (status, status_style) = match reachability {
            Some(Reachability::Reachable { version }) => {
                (format!("{SYMBOL_OK} answers (v{version})"), theme.ok())
            }
            Some(Reachability::Unreachable { .. }) => {
                (format!("{SYMBOL_FAIL} unreachable"), theme.fail())
            }
            None if form.contexts_probed() => (String::new(), theme.muted()),
            None => (format!("{SYMBOL_PENDING} checking…"), theme.muted()),
        };
        let name = truncate_to_width(choice, name_width);
        let server = truncate_to_width(server.unwrap_or("(no server)"), server_width);
        lines.push(Line::from(vec![
            Span::styled(format!(" {marker} {}  ", padded(&name, name_width)), style),
            Span::styled(
                format!("{}  ", padded(&server, server_width)),
                theme.muted(),
            ),
            Span::styled(status, status_style),
        ]));
    }
    if contexts {
        let why =
            filtered
                .get(picker.selected)
                .and_then(|chosen| match form.context_detail(chosen).1 {
                    Some(Reachability::Unreachable { reason }) => Some(reason.clone()),
                    _ => None,
                });
        if let Some(reason) = why {
            lines.push(Line::from(Span::styled(
                truncate_to_width(&format!("   {reason}"), inner.width as usize).into_owned(),
                theme.muted(),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The widest verdict of the context list.
const STATUS_WIDTH: usize = 22;
