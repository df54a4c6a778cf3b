//! The `status --watch` dashboard on a terminal: redrawn on every watch update; `q`,
//! Esc or Ctrl-C leave it.

use nvcf_shared::operations::stack::status::StatusReport;
use nvcf_shared::{Error, Result};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::{DefaultTerminal, Frame};

pub struct Dashboard {
    terminal: DefaultTerminal,
}

fn state_color(state: &str) -> Color {
    match state {
        "healthy" | "ready" => Color::Green,
        "not-installed" => Color::DarkGray,
        "unknown" | "progressing" => Color::Yellow,
        _ => Color::Red,
    }
}

impl Dashboard {
    pub fn open() -> Result<Dashboard> {
        let terminal = ratatui::try_init()
            .map_err(|e| Error::io(format!("cannot start the dashboard: {e}")))?;
        // Raw mode swallows Ctrl-C's signal, so keys are read on a thread of their own.
        std::thread::spawn(|| {
            loop {
                if let Ok(Event::Key(k)) = event::read() {
                    let ctrl_c =
                        k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) {
                        ratatui::restore();
                        std::process::exit(0);
                    }
                }
            }
        });
        Ok(Dashboard { terminal })
    }

    pub fn close(self) {
        ratatui::restore();
    }

    pub fn draw(&mut self, r: &StatusReport) -> Result<bool> {
        self.terminal
            .draw(|f| frame(f, r))
            .map_err(|e| Error::io(format!("cannot draw the dashboard: {e}")))?;
        Ok(true)
    }
}

fn identity(r: &StatusReport) -> Vec<Line<'static>> {
    r.identity_rows()
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:<10}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(v),
            ])
        })
        .collect()
}

fn backends(r: &StatusReport) -> Vec<Line<'static>> {
    r.stack
        .as_ref()
        .map(|s| {
            s.backends
                .iter()
                .map(|b| {
                    Line::styled(
                        format!(
                            "{}  {}  {}",
                            b.name,
                            b.version.as_deref().unwrap_or("-"),
                            b.health
                        ),
                        Style::default().fg(if b.healthy { Color::Green } else { Color::Red }),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn events(r: &StatusReport) -> Vec<Line<'static>> {
    r.stack
        .as_ref()
        .map(|s| {
            s.events
                .iter()
                .map(|e| {
                    Line::raw(format!(
                        "{}  {}  {}: {}",
                        e.namespace, e.object, e.reason, e.message
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn releases(r: &StatusReport) -> Table<'static> {
    let rows: Vec<Row> = r
        .release_rows(false)
        .into_iter()
        .map(|cells| {
            let color = state_color(&cells[3]);
            Row::new(cells).style(Style::default().fg(color))
        })
        .collect();
    let widths = [
        Constraint::Percentage(30),
        Constraint::Length(8),
        Constraint::Length(22),
        Constraint::Length(14),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    Table::new(rows, widths)
        .header(
            Row::new([
                "SERVICE / RELEASE",
                "PLANE",
                "NAMESPACE",
                "STATE",
                "READY",
                "MESSAGE",
            ])
            .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(Block::bordered().title(" releases "))
}

fn frame(f: &mut Frame, r: &StatusReport) {
    let identity = identity(r);
    let backends = backends(r);
    let events = events(r);
    let [top, mid, bottom, events_area, footer] = Layout::vertical([
        Constraint::Length(identity.len() as u16 + 2),
        Constraint::Min(6),
        Constraint::Length(backends.len().max(1) as u16 + 2),
        Constraint::Length(events.len().clamp(1, 8) as u16 + 2),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(
        Paragraph::new(identity).block(Block::bordered().title(" nvcf status ")),
        top,
    );
    f.render_widget(releases(r), mid);
    let none = |v: Vec<Line<'static>>, what: &'static str| {
        if v.is_empty() {
            vec![Line::raw(what)]
        } else {
            v
        }
    };
    f.render_widget(
        Paragraph::new(none(backends, "no NVCFBackend"))
            .block(Block::bordered().title(" NVCFBackend ")),
        bottom,
    );
    f.render_widget(
        Paragraph::new(none(events, "no Warning events in the last hour"))
            .block(Block::bordered().title(" Warning events ")),
        events_area,
    );
    f.render_widget(
        Line::raw(format!("updated {} · q to quit", r.collected_at)),
        footer,
    );
}
