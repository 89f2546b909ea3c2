//! Summary: what was set up, how long each phase took, what to do next, where the files are.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::plan::capitalized;
use super::{field_line, footer, frame_areas, header, panel, wrap};
use crate::text::format_duration_ms;
use crate::tui::app::App;
use crate::tui::theme::SYMBOL_OK;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let (top, body, bottom) = frame_areas(area);
    let total = app
        .run
        .finished_duration_ms
        .map(|ms| format!("total {}", format_duration_ms(ms)));
    header(
        frame,
        top,
        app,
        "Done",
        total.map(|t| Span::styled(t, theme.muted())),
    );
    let Some(summary) = &app.run.summary else {
        return;
    };
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    let label_width = 15;

    let install_skipped = app
        .validated
        .as_ref()
        .is_some_and(|v| v.configuration().installation.skip_install);
    let headline = if install_skipped {
        "Cluster and repositories set up; Kalypso not installed (--skip-install)."
    } else {
        "The Kalypso Scheduler is set up."
    };
    let mut result = vec![Line::from(Span::styled(
        format!(" {SYMBOL_OK} {headline}"),
        theme.ok(),
    ))];
    for (label, text) in [
        ("Cluster", value(&summary.cluster)),
        ("Kube context", value(&summary.kube_context)),
        ("Control plane", value(&summary.control_plane_url)),
        ("GitOps", value(&summary.gitops_url)),
        ("Namespace", value(&summary.namespace)),
        ("Chart version", value(&summary.chart_version)),
    ] {
        result.push(field_line(label, text, label_width, theme.plain()));
    }

    let mut timings: Vec<Line> = summary
        .phase_durations_ms
        .iter()
        .map(|(phase, ms)| {
            field_line(
                &capitalized(phase.as_str()),
                format_duration_ms(*ms),
                label_width,
                theme.plain(),
            )
        })
        .collect();
    if timings.is_empty() {
        timings.push(Line::from(Span::styled(" (not reported)", theme.muted())));
    }

    let next_width = body.width.saturating_sub(7) as usize;
    let mut next: Vec<Line> = Vec::new();
    for (i, step) in summary.next_steps.iter().enumerate() {
        for (j, part) in wrap(step, next_width).into_iter().enumerate() {
            let lead = if j == 0 {
                format!(" {}. ", i + 1)
            } else {
                "    ".to_string()
            };
            next.push(Line::from(format!("{lead}{part}")));
        }
    }
    if next.is_empty() {
        next.push(Line::from(Span::styled(" (none)", theme.muted())));
    }

    let state_file = summary
        .state_file
        .clone()
        .unwrap_or_else(|| app.state_file.display().to_string());
    let log_file = summary
        .log_file
        .clone()
        .or_else(|| app.log_file.as_ref().map(|p| p.display().to_string()));
    let mut files = vec![
        field_line("State file", state_file, label_width, theme.plain()),
        field_line(
            "Log file",
            log_file.unwrap_or_else(|| "-".to_string()),
            label_width,
            theme.plain(),
        ),
    ];
    if let Some(report) = &summary.report_file {
        files.push(field_line(
            "Report",
            report.clone(),
            label_width,
            theme.plain(),
        ));
    }

    let wide = body.width >= 120;
    let result_height = result.len() as u16 + 2;
    let files_height = files.len() as u16 + 2;
    if wide {
        let [upper, lower] = Layout::vertical([
            Constraint::Length(result_height.max(timings.len() as u16 + 2)),
            Constraint::Min(3),
        ])
        .areas(body);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(65), Constraint::Percentage(35)])
                .areas(upper);
        frame.render_widget(Paragraph::new(result).block(panel("Result", theme)), left);
        frame.render_widget(
            Paragraph::new(timings).block(panel("Timings", theme)),
            right,
        );
        let [next_area, files_area] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(files_height)]).areas(lower);
        frame.render_widget(
            Paragraph::new(next).block(panel("Next steps", theme)),
            next_area,
        );
        frame.render_widget(
            Paragraph::new(files).block(panel("Files", theme)),
            files_area,
        );
    } else {
        // Timings fold into the result panel to leave room for the next steps.
        let timing_text = summary
            .phase_durations_ms
            .iter()
            .map(|(phase, ms)| {
                format!(
                    "{} {}",
                    capitalized(phase.as_str()),
                    format_duration_ms(*ms)
                )
            })
            .collect::<Vec<_>>()
            .join(" · ");
        let timing_width = (body.width as usize).saturating_sub(label_width + 4);
        for (i, part) in wrap(&timing_text, timing_width).into_iter().enumerate() {
            let label = if i == 0 { "Timings" } else { "" };
            result.push(field_line(label, part, label_width, theme.plain()));
        }
        let [result_area, next_area, files_area] = Layout::vertical([
            Constraint::Length(result.len() as u16 + 2),
            Constraint::Min(3),
            Constraint::Length(files_height),
        ])
        .areas(body);
        frame.render_widget(
            Paragraph::new(result).block(panel("Result", theme)),
            result_area,
        );
        frame.render_widget(
            Paragraph::new(next).block(panel("Next steps", theme)),
            next_area,
        );
        frame.render_widget(
            Paragraph::new(files).block(panel("Files", theme)),
            files_area,
        );
    }
    footer(frame, bottom, theme, &[("Enter/q", "exit"), ("?", "help")]);
}
