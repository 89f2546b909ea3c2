//! Welcome: what will be set up, which path to take, where state and logs go.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{footer, frame_areas, header, padded, panel};
use crate::text::display_width;
use crate::tui::app::App;
use crate::tui::form::PathChoice;
use crate::tui::theme::{SYMBOL_BULLET, SYMBOL_SELECTED};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let (top, body, bottom) = frame_areas(area);
    header(frame, top, app, "Welcome", None);

    let mut lines: Vec<Line> = vec![
        Line::from(" This wizard sets up the Kalypso Scheduler end to end:"),
        Line::from(format!(
            "   {SYMBOL_BULLET} a new AKS cluster, or any existing cluster (kind, k3d, AKS, …)"
        )),
        Line::from(format!(
            "   {SYMBOL_BULLET} a control-plane and a GitOps repository on GitHub, with Actions secrets"
        )),
        Line::from(format!(
            "   {SYMBOL_BULLET} Flux and the Kalypso Scheduler Helm chart, then health checks"
        )),
        Line::from(""),
        Line::from(Span::styled(" How do you want to start?", theme.title())),
    ];
    let title_of = |number: usize, marker: &str, path: &PathChoice| {
        format!(" {marker} {number} {}", padded(path.title(), 28))
    };
    // A path and its description share a line only when every one fits inside the panel
    // (a description wrapped under the border reads as part of the next path).
    let inner_width = body.width.saturating_sub(2) as usize;
    let inline = PathChoice::ALL.iter().enumerate().all(|(i, path)| {
        display_width(&title_of(i + 1, SYMBOL_SELECTED, path))
            + 1
            + display_width(path.description())
            <= inner_width
    });
    for (i, path) in PathChoice::ALL.iter().enumerate() {
        let selected = *path == app.path;
        let marker = if selected { SYMBOL_SELECTED } else { " " };
        let title = title_of(i + 1, marker, path);
        let style = if selected {
            theme.focus()
        } else {
            theme.plain()
        };
        if inline {
            lines.push(Line::from(vec![
                Span::styled(title, style),
                Span::styled(format!(" {}", path.description()), theme.muted()),
            ]));
        } else {
            lines.push(Line::from(Span::styled(title, style)));
            lines.push(Line::from(Span::styled(
                format!("       {}", path.description()),
                theme.muted(),
            )));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::raw(" State file  "),
        Span::styled(app.state_file.display().to_string(), theme.plain()),
    ]));
    lines.push(Line::from(vec![
        Span::raw(" Log file    "),
        Span::styled(
            app.log_file
                .as_ref()
                .map_or_else(|| "(none)".to_string(), |p| p.display().to_string()),
            theme.plain(),
        ),
    ]));
    // A state file with an earlier run: this run continues it (what it did, what failed).
    if let Some(earlier) = &app.earlier_run {
        for line in earlier.summary_lines() {
            lines.push(Line::from(Span::styled(
                format!(" {}", crate::text::escape_controls(&line)),
                theme.running(),
            )));
        }
        lines.push(Line::from(Span::styled(
            " Nothing is changed before you confirm the plan.",
            theme.muted(),
        )));
    } else {
        lines.push(Line::from(Span::styled(
            " Nothing is created before you confirm the plan.",
            theme.muted(),
        )));
    }

    frame.render_widget(
        Paragraph::new(lines)
            .block(panel("Set up the Kalypso Scheduler", theme))
            .wrap(Wrap { trim: false }),
        body,
    );
    footer(
        frame,
        bottom,
        theme,
        &[
            ("↑/↓", "choose"),
            ("Enter", "continue"),
            ("?", "help"),
            ("q", "quit"),
        ],
    );
}
