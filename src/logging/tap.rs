//! A non-blocking feed of log records for the TUI's log tail.

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::clock::Clock;
use super::render::message_with_fields;
use crate::secrets::Redactor;

/// One log line for the TUI: what the console would have shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub level: Level,
    /// UTC.
    pub timestamp: OffsetDateTime,
    /// Message and fields, redacted.
    pub message: String,
}

/// Forwards events to a channel with `try_send`: when the channel is full or closed the
/// record is dropped, so logging never waits on the screen.
pub(crate) struct TapLayer {
    pub(crate) sender: mpsc::Sender<LogRecord>,
    pub(crate) clock: Clock,
    pub(crate) redactor: &'static Redactor,
}

impl<S: Subscriber> Layer<S> for TapLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if self.sender.is_closed() {
            return;
        }
        let message = message_with_fields(event);
        let record = LogRecord {
            level: *event.metadata().level(),
            timestamp: self.clock.now(),
            message: self.redactor.redact(&message).into_owned(),
        };
        // Full or closed: dropping is the contract.
        let _ = self.sender.try_send(record);
    }
}
