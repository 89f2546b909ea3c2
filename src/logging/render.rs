//! Plain-text rendering of an event's message and fields, for the error sink and the tap
//! (the fmt layers use their own field formatter).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::Event;

/// `message key=value key2=value2`; string fields unquoted.
pub(crate) fn message_with_fields(event: &Event<'_>) -> String {
    let mut visitor = MessageVisitor::default();
    event.record(&mut visitor);
    if visitor.message.is_empty() {
        visitor.fields.trim_start().to_string()
    } else {
        visitor.message + &visitor.fields
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
        field.name().starts_with("log.")
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
