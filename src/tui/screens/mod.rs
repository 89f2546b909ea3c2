//! Drawing. [`render`] is a pure function of the [`App`] and the frame's size: it reads
//! state, never changes it, and does no I/O.

pub mod configure;
pub mod dashboard;
pub mod failure;
pub mod overlays;
pub mod plan;
pub mod prerequisites;
pub mod summary;
pub mod welcome;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};
use ratatui::Frame;

use super::app::{App, Overlay, Screen, MIN_HEIGHT, MIN_WIDTH};
use super::theme::Theme;

/// Draw the whole wizard.
pub fn render(app: &App, frame: &mut Frame) {
    draw_screen(app, frame);
    show_controls(frame.buffer_mut());
}

/// Every cell that would hold a control character (from a context name, a log line, a
/// tool's message) shows its picture instead (`␛`): the buffer is what reaches the
/// terminal, so nothing drawn from outside can act on it. Colours are cell styles, not
/// text, and stay.
fn show_controls(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        if cell.symbol().chars().any(char::is_control) {
            let shown: String = cell
                .symbol()
                .chars()
                .map(|c| {
                    if c.is_control() {
                        crate::text::control_picture(c)
                    } else {
                        c
                    }
                })
                .collect();
            cell.set_symbol(&shown);
        }
    }
}

fn draw_screen(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = app.theme();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        overlays::too_small(frame, area, theme);
        return;
    }
    match app.screen {
        Screen::Welcome => welcome::render(app, frame, area),
        Screen::Configure => configure::render(app, frame, area),
        Screen::Prerequisites => prerequisites::render(app, frame, area),
        Screen::Plan => plan::render(app, frame, area),
        Screen::Dashboard => dashboard::render(app, frame, area),
        Screen::Failure => failure::render(app, frame, area),
        Screen::Summary => summary::render(app, frame, area),
    }
    match &app.overlay {
        Some(Overlay::Help) => overlays::help(app, frame, area),
        Some(Overlay::Detail {
            title,
            text,
            scroll,
        }) => overlays::detail(frame, area, theme, title, text, *scroll),
        Some(Overlay::QuitConfirm) => overlays::quit_confirm(app, frame, area),
        Some(Overlay::DiscardConfirm) => overlays::discard_confirm(app, frame, area),
        Some(Overlay::Prompt { request, secret }) => {
            overlays::prompt(frame, area, theme, request, secret.len())
        }
        None => {}
    }
}

/// Header, body and footer rows of a screen.
pub(crate) fn frame_areas(area: Rect) -> (Rect, Rect, Rect) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    (header, body, footer)
}

/// The title line: program, screen, and a DEMO badge when simulated.
pub(crate) fn header(frame: &mut Frame, area: Rect, app: &App, title: &str, right: Option<Span>) {
    let theme = app.theme();
    let mut spans = vec![
        Span::styled(" Kalypso bootstrap", theme.title()),
        Span::styled(" · ", theme.muted()),
        Span::styled(title.to_string(), theme.title()),
    ];
    let mut right_spans: Vec<Span> = Vec::new();
    if let Some(right) = right {
        right_spans.push(right);
    }
    if app.demo || app.run.demo {
        right_spans.push(Span::raw(" "));
        right_spans.push(Span::styled(" DEMO ", theme.demo_badge()));
    }
    right_spans.push(Span::raw(" "));
    let right_width: usize = right_spans.iter().map(|s| s.width()).sum();
    let left_width: usize = spans.iter().map(|s| s.width()).sum();
    let gap = (area.width as usize).saturating_sub(left_width + right_width);
    spans.push(Span::raw(" ".repeat(gap)));
    spans.extend(right_spans);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The key hints line: `key` in the key style, then what it does.
pub(crate) fn footer(frame: &mut Frame, area: Rect, theme: Theme, hints: &[(&str, &str)]) {
    let mut spans = Vec::with_capacity(hints.len() * 3 + 1);
    spans.push(Span::raw(" "));
    for (i, (key, action)) in hints.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted()));
        }
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::raw(" "));
        spans.push(Span::raw(*action));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A bordered panel with a title.
pub(crate) fn panel(title: &str, theme: Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border())
        .title(Span::styled(format!(" {title} "), theme.title()))
}

/// Draw lines straight into the buffer, one per row, cut at the area's width: cheaper
/// than a `Paragraph` for the hot, redrawn-every-tick panels (no wrapping, no alignment).
/// Printable ASCII (most log text) goes in cell by cell, skipping the grapheme and width
/// analysis other text needs (it was most of a dashboard frame's cost).
pub(crate) fn draw_lines(frame: &mut Frame, area: Rect, lines: &[Line], skip: usize) {
    let buffer = frame.buffer_mut();
    for (row, line) in lines
        .iter()
        .skip(skip)
        .take(area.height as usize)
        .enumerate()
    {
        let mut x = area.x;
        let y = area.y + row as u16;
        for span in &line.spans {
            let room = area.right().saturating_sub(x);
            if room == 0 {
                break;
            }
            let text = span.content.as_bytes();
            if text.iter().all(|byte| (b' '..=b'~').contains(byte)) {
                // One cell per byte, as `set_span` would set them.
                let shown = text.len().min(room as usize);
                for (offset, byte) in text[..shown].iter().enumerate() {
                    buffer[(x + offset as u16, y)]
                        .set_char(char::from(*byte))
                        .set_style(span.style);
                }
                x += shown as u16;
            } else {
                let (next_x, _) = buffer.set_span(x, y, span, room);
                x = next_x;
            }
        }
    }
}

/// Milliseconds from `since` to `now` (never negative).
pub(crate) fn elapsed_ms(since: time::OffsetDateTime, now: time::OffsetDateTime) -> u64 {
    (now - since).whole_milliseconds().max(0) as u64
}

/// Words wrapped to `width` display columns (at least 8; a word wider than that is cut).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    crate::text::wrap_to_width(text, width.max(8))
}

/// A centered rectangle of at most `width` x `height` inside `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// `label` padded (or cut) to `width` display columns.
pub(crate) fn padded(label: &str, width: usize) -> String {
    crate::text::pad_to_width(label, width)
}

/// A key/value line for info panels.
pub(crate) fn field_line<'a>(label: &str, value: String, width: usize, style: Style) -> Line<'a> {
    Line::from(vec![
        Span::raw(format!(" {}", padded(label, width))),
        Span::styled(value, style),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_lines_are_what_ratatui_draws_ascii_or_not() {
        use ratatui::backend::TestBackend;
        use ratatui::buffer::Buffer;
        use ratatui::style::{Color, Modifier};
        use ratatui::Terminal;

        let lines = vec![
            Line::from(vec![
                Span::styled(" 10:30:00 ", Style::default().fg(Color::DarkGray)),
                Span::styled("DEBUG ", Style::default().add_modifier(Modifier::BOLD)),
                Span::raw("helm: [debug] creating 1 resource(s) with a line too long to fit"),
            ]),
            Line::from(vec![
                Span::styled("⠋ ", Style::default().fg(Color::Cyan)),
                Span::raw("résumé · 漢字 and\ta tab"),
                Span::styled(" ok", Style::default().bg(Color::Blue)),
            ]),
            Line::from("short"),
        ];
        let area = Rect::new(2, 1, 30, 3);
        let mut terminal = Terminal::new(TestBackend::new(40, 5)).unwrap();
        terminal
            .draw(|frame| draw_lines(frame, area, &lines, 0))
            .unwrap();
        // The same lines through ratatui's own span drawing only.
        let mut expected = Buffer::empty(Rect::new(0, 0, 40, 5));
        for (row, line) in lines.iter().enumerate() {
            let mut x = area.x;
            for span in &line.spans {
                let room = area.right().saturating_sub(x);
                if room == 0 {
                    break;
                }
                x = expected.set_span(x, area.y + row as u16, span, room).0;
            }
        }
        assert_eq!(terminal.backend().buffer(), &expected);
    }

    #[test]
    fn wrapping_keeps_words_whole_and_cuts_only_overlong_ones() {
        assert_eq!(wrap("aaa bbb ccc", 8), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghijkl", 8), ["abcdefgh"]);
        assert_eq!(wrap("one\ntwo", 20), ["one", "two"]);
    }
}
