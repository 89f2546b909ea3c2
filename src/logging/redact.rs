//! The one place log output is redacted: a [`MakeWriter`] wrapper used by both the file and
//! the console layer.
//!
//! Why redacting per `write` call is sound: `tracing_subscriber::fmt` formats a whole event
//! into a buffer and hands it to the writer with a single `write_all`. Our `write` always
//! consumes the entire buffer (it returns `buf.len()`), so `write_all` never splits an event
//! and a secret can never straddle two calls. Any other user of this writer must keep to the
//! same rule: one complete line (or block of lines) per `write`.

use std::io::{self, Write};

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

use crate::secrets::Redactor;

/// Wraps a [`MakeWriter`] so every byte written through it first passes through a
/// [`Redactor`] (in production [`crate::secrets::global`], i.e. `secrets::redact`).
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
    redactor: &'static Redactor,
}

impl<M> RedactingMakeWriter<M> {
    pub fn new(inner: M, redactor: &'static Redactor) -> Self {
        Self { inner, redactor }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer(), self.redactor)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer_for(meta), self.redactor)
    }
}

/// A writer that redacts each buffer it is given and writes the result in full.
#[derive(Debug)]
pub struct RedactingWriter<W> {
    inner: W,
    redactor: &'static Redactor,
}

impl<W> RedactingWriter<W> {
    pub fn new(inner: W, redactor: &'static Redactor) -> Self {
        Self { inner, redactor }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Formatted events are always UTF-8; anything else is converted lossily rather than
        // passed through unredacted.
        let text = String::from_utf8_lossy(buf);
        let redacted = self.redactor.redact(&text);
        self.inner.write_all(redacted.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_secret_never_reaches_the_inner_writer() {
        let redactor: &'static Redactor = Box::leak(Box::new(Redactor::new()));
        redactor.register("hunter2-secret-value");
        let mut out = Vec::new();
        let mut writer = RedactingWriter::new(&mut out, redactor);
        let line = b"token=hunter2-secret-value end\n";
        assert_eq!(writer.write(line).unwrap(), line.len());
        assert_eq!(String::from_utf8(out).unwrap(), "token=*** end\n");
    }
}
