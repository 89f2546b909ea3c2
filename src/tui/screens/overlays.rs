//! Boxes over the screen (help, quit confirmation, questions from the prerequisite check)
//! and the "terminal too small" notice.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{centered, padded, panel, wrap};
use crate::tui::app::{App, Screen, MIN_HEIGHT, MIN_WIDTH};
use crate::tui::msg::PromptRequest;
use crate::tui::theme::Theme;

fn screen_keys(screen: Screen) -> &'static [(&'static str, &'static str)] {
    match screen {
        Screen::Welcome => &[
            ("↑/↓ 1-4", "choose a path"),
            ("Enter", "continue to the configuration"),
            ("Esc", "quit"),
        ],
        Screen::Configure => &[
            ("Tab ↓", "next field"),
            ("Shift-Tab ↑", "previous field"),
            ("Enter", "next field; on the last, next group"),
            ("PgDn", "next group (checks this one)"),
            ("Esc PgUp", "previous group"),
            ("Space", "toggle, or open a pick list"),
            ("← →", "toggle, or cycle a pick list"),
            ("Ctrl+U", "clear the field"),
        ],
        Screen::Prerequisites => &[
            ("Enter", "continue (or exit when a check failed)"),
            ("Esc", "back to the configuration"),
            ("j/k ↓/↑ PgDn/PgUp", "scroll the hints when they do not fit"),
        ],
        Screen::Plan => &[
            ("y", "proceed: start creating"),
            ("n Enter Esc", "back to the configuration"),
            ("↑/↓ PgUp/PgDn", "scroll the configuration"),
        ],
        Screen::Dashboard => &[
            ("Tab Shift-Tab", "next / previous pane (marked ▸)"),
            ("j/k ↓/↑", "log: scroll a line; steps, checks: select"),
            ("PgUp/PgDn", "scroll the log one page"),
            ("g Home / G End", "oldest / newest line (G follows)"),
            ("Enter", "the whole text of the selection"),
            ("f", "follow on/off"),
            ("l", "level filter"),
            ("q Ctrl+C", "stop the run (asks first)"),
        ],
        Screen::Failure => &[
            ("y / n", "roll back / keep the resources"),
            ("Tab Shift-Tab", "next / previous pane"),
            ("j/k ↓/↑ PgDn/PgUp", "scroll the pane marked ▸"),
            ("g G", "its top / its end"),
            ("l", "log level filter"),
            ("Enter q", "exit"),
        ],
        Screen::Summary => &[("Enter q", "exit")],
    }
}

/// The keys that work on every screen. In the forms `q` and `?` are text while a text
/// field has the focus, so only F1 and Ctrl+C are promised there.
fn global_keys(screen: Screen) -> &'static [(&'static str, &'static str)] {
    match screen {
        Screen::Configure => &[
            ("F1", "this help (Esc closes)"),
            ("Ctrl+C", "quit; asks first if you changed anything"),
            ("q ?", "quit / help only outside text fields"),
        ],
        _ => &[
            ("? F1", "this help (Esc closes)"),
            ("q Ctrl+C", "quit; asks first while a run is going"),
        ],
    }
}

pub fn help(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let keys = screen_keys(app.screen);
    let global = global_keys(app.screen);
    let key_width = 16;
    let mut lines = vec![Line::from(Span::styled(" This screen", theme.title()))];
    for (key, action) in keys {
        lines.push(Line::from(vec![
            Span::styled(format!("   {}", padded(key, key_width)), theme.key()),
            Span::raw(*action),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(" Everywhere", theme.title())));
    for (key, action) in global {
        lines.push(Line::from(vec![
            Span::styled(format!("   {}", padded(key, key_width)), theme.key()),
            Span::raw(*action),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        " ✓ done · ↺ existing · – skipped · ○ pending · ✗ failed · ! warning",
        theme.muted(),
    )));
    let height = lines.len() as u16 + 2;
    let popup = centered(area, 70, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(panel("Help", theme)), popup);
}

/// The whole text of a step, a check or a log line, wrapped to the screen, scrolled by
/// `scroll` lines.
pub fn detail(frame: &mut Frame, area: Rect, theme: Theme, title: &str, text: &str, scroll: usize) {
    let width = area.width.saturating_sub(8).max(20);
    let wrapped: Vec<String> = wrap(text, width as usize - 4);
    let room = area.height.saturating_sub(6) as usize;
    let scroll = scroll.min(wrapped.len().saturating_sub(room));
    let mut lines: Vec<Line> = wrapped
        .iter()
        .skip(scroll)
        .take(room)
        .map(|part| Line::from(format!(" {part}")))
        .collect();
    let below = wrapped.len().saturating_sub(scroll + room);
    let mut keys = String::from(" Esc closes");
    if scroll > 0 || below > 0 {
        keys.push_str(&format!(" · j/k scroll ({scroll} above, {below} below)"));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(keys, theme.muted())));
    let popup = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(panel(title, theme)), popup);
}

/// Asked before leaving the forms would lose what was typed.
pub fn discard_confirm(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let text = "Quit? The values you changed in the forms are not saved anywhere and will be \
         lost. Nothing has been created.";
    let question = vec![
        Span::styled(" Quit? ", theme.title()),
        Span::styled("[y/N]", theme.key()),
    ];
    quit_popup(frame, area, theme, text, question);
}

pub fn quit_confirm(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let text = if app.run.rollback().in_progress() {
        "The rollback is still running. Stop it and quit? What is not yet removed stays, \
         and the state file records it."
    } else {
        "Stop the bootstrap? The running step is cancelled cleanly, the state is saved, \
         and you can then choose to roll back what was created."
    };
    let question = vec![
        Span::styled(" Stop? ", theme.title()),
        Span::styled("[y/N]", theme.key()),
        Span::styled("  Ctrl+C again stops", theme.muted()),
    ];
    quit_popup(frame, area, theme, text, question);
}

/// The "Quit" popup: `text` wrapped, a blank line, then the `question` and its keys.
fn quit_popup(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    text: &str,
    question: Vec<Span<'static>>,
) {
    let width: u16 = 60;
    let mut lines: Vec<Line> = wrap(text, width as usize - 4)
        .into_iter()
        .map(|part| Line::from(format!(" {part}")))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(question));
    let popup = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(panel("Quit", theme)), popup);
}

pub fn prompt(frame: &mut Frame, area: Rect, theme: Theme, request: &PromptRequest, typed: usize) {
    let text_width = 64;
    let wrapped = |text: &str| -> Vec<Line<'static>> {
        wrap(text, text_width)
            .into_iter()
            .map(|part| Line::from(format!(" {part}")))
            .collect()
    };
    let (title, lines) = match request {
        PromptRequest::Confirm { question, default } => (
            "Question",
            [
                wrapped(question),
                vec![Line::from("")],
                vec![Line::from(vec![
                    Span::raw(" "),
                    Span::styled(if *default { "[Y/n]" } else { "[y/N]" }, theme.key()),
                    Span::styled("  Esc cancels", theme.muted()),
                ])],
            ]
            .concat(),
        ),
        PromptRequest::Secret { prompt } => (
            "Secret",
            [
                wrapped(prompt),
                vec![
                    Line::from(""),
                    Line::from(format!(" {}", "•".repeat(typed.min(50)))),
                    Line::from(Span::styled(
                        " Enter confirms · Esc cancels · hidden, kept in memory only",
                        theme.muted(),
                    )),
                ],
            ]
            .concat(),
        ),
    };
    let popup = centered(area, text_width as u16 + 6, lines.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(panel(title, theme)), popup);
}

pub fn too_small(frame: &mut Frame, area: Rect, theme: Theme) {
    let lines = vec![
        Line::from(Span::styled("Terminal too small", theme.fail())),
        Line::from(format!(
            "{}x{}, needs at least {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from("Enlarge the window; q quits"),
    ];
    let height = (lines.len() as u16).min(area.height);
    let inner = Rect {
        x: area.x,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width: area.width,
        height,
    };
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(Wrap { trim: true }),
        inner,
    );
}
