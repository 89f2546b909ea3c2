//! ERROR events collected for the state file's `errors[]`.

use std::sync::{Arc, Mutex, MutexGuard};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::render::message_with_fields;
use crate::secrets::Redactor;

/// A shared list of the (redacted) messages of every ERROR event. Clones share the list; the
/// caller drains it into the state file.
#[derive(Debug, Clone, Default)]
pub struct ErrorSink {
    messages: Arc<Mutex<Vec<String>>>,
}

impl ErrorSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take every message collected so far, oldest first.
    pub fn drain(&self) -> Vec<String> {
        std::mem::take(&mut *self.lock())
    }

    /// A copy of the messages collected so far, oldest first, leaving them in place.
    pub fn snapshot(&self) -> Vec<String> {
        self.lock().clone()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Only the layer adds messages, so everything in here has been redacted.
    fn push(&self, message: String) {
        self.lock().push(message);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        // A panic elsewhere while holding the lock leaves a still-valid Vec.
        self.messages.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The layer feeding an [`ErrorSink`].
pub(crate) struct ErrorSinkLayer {
    pub(crate) sink: ErrorSink,
    pub(crate) redactor: &'static Redactor,
}

impl<S: Subscriber> Layer<S> for ErrorSinkLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let message = message_with_fields(event);
        self.sink.push(self.redactor.redact(&message).into_owned());
    }
}
