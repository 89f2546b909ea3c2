//! Plain-text rendering of an event's message and fields, for the tap,
//! and the fmt layers' field formatter; both show control characters instead of sending
//! them on.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::Event;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::FormatFields;

/// `message key=value key2=value2`; string fields unquoted; control characters shown
/// (see [`crate::text::escape_controls`]).
pub(crate) fn message_with_fields(event: &Event<'_>) -> String {
    let mut visitor = MessageVisitor::default();
    event.record(&mut visitor);
    let text = if visitor.message.is_empty() {
        visitor.fields.trim_start().to_string()
    } else {
        visitor.message + &visitor.fields
    };
    crate::text::escape_controls(&text).into_owned()
}

/// The fmt layers' fields (message and `key=value`) as [`DefaultFields`] writes them, with
/// control characters shown: a message quoting a tool's output cannot act on the terminal
/// that shows the console or the log file. The level tag's colour is written outside the
/// fields, so it stays.
pub(crate) struct EscapingFields(DefaultFields);

impl EscapingFields {
    pub(crate) fn new() -> Self {
        EscapingFields(DefaultFields::new())
    }
}

impl<'writer> FormatFields<'writer> for EscapingFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut plain = String::new();
        self.0.format_fields(Writer::new(&mut plain), fields)?;
        writer.write_str(&crate::text::escape_controls(&plain))
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn is_bridge_metadata(field: &Field) -> bool {
        // Fields the `log` bridge attaches; they describe the call site, not the event.
        // `step_id`: the stable step id engine lines carry for the log file; the line
        // itself names the step by its title, as the wizard's log pane shows it.
        field.name().starts_with("log.") || field.name() == "step_id"
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if Self::is_bridge_metadata(field) {
            return;
        }
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let _ = write!(self.fields, " {}={}", field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if Self::is_bridge_metadata(field) {
            return;
        }
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}
