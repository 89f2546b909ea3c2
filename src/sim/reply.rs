//! What a simulated command answers: exit code, output, and the progress lines it streams
//! while it works.

use crate::tools::runner::{OutputLine, Stream};

/// A simulated tool's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Lines shown while the command works, streamed across its latency. They are part of
    /// the command's output too (at the start of their stream).
    pub progress: Vec<OutputLine>,
    /// Time the command keeps working after its effect (e.g. `az aks create` without
    /// `--no-wait` waits for the provisioning), on top of its latency.
    pub busy: std::time::Duration,
    /// What the command changes when it ends, after its latency; a command cancelled or
    /// killed before then leaves the world as its effect left it.
    /// (Boxed: a `Reply` is the error variant of every simulated command's result.)
    pub completion: Option<Box<Completion>>,
}

/// A change made when a command ends rather than when it takes effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// helm marks a release `deployed` only after its resources are created and its
    /// `--wait` is over; until then the release is stored `pending-install` or
    /// `pending-upgrade` (see `helm::install`).
    HelmReleaseDeployed {
        server: String,
        key: String,
        revision: u32,
    },
    /// helm's `--wait` ran out of time: the release is marked `failed`.
    HelmReleaseFailed {
        server: String,
        key: String,
        revision: u32,
    },
}

impl Reply {
    /// Success with `stdout` (a trailing newline is added when missing).
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self {
            exit_code: 0,
            stdout: with_newline(stdout.into()),
            ..Self::default()
        }
    }

    /// Success printing nothing.
    pub fn silent() -> Self {
        Self::default()
    }

    /// Failure with `stderr`.
    pub fn fail(exit_code: i32, stderr: impl Into<String>) -> Self {
        Self {
            exit_code,
            stderr: with_newline(stderr.into()),
            ..Self::default()
        }
    }

    /// Also write `text` to stderr (warnings next to a successful result).
    pub fn with_stderr(mut self, text: impl Into<String>) -> Self {
        self.stderr.push_str(&with_newline(text.into()));
        self
    }

    /// Also write `text` to stdout (e.g. a JSON body next to an HTTP error).
    pub fn with_stdout(mut self, text: impl Into<String>) -> Self {
        self.stdout.push_str(&with_newline(text.into()));
        self
    }

    /// Make `completion` when the command ends.
    pub fn with_completion(mut self, completion: Completion) -> Self {
        self.completion = Some(Box::new(completion));
        self
    }

    /// Keep working for `time` after the effect.
    pub fn with_busy(mut self, time: std::time::Duration) -> Self {
        self.busy = time;
        self
    }

    /// A line streamed while the command works.
    pub fn with_progress(mut self, stream: Stream, line: impl Into<String>) -> Self {
        self.progress.push(OutputLine {
            stream,
            line: line.into(),
        });
        self
    }

    /// The complete stdout and stderr: progress lines first in their stream.
    pub fn full_output(&self) -> (String, String) {
        let mut stdout = String::new();
        let mut stderr = String::new();
        for line in &self.progress {
            let target = match line.stream {
                Stream::Stdout => &mut stdout,
                Stream::Stderr => &mut stderr,
            };
            target.push_str(&line.line);
            target.push('\n');
        }
        stdout.push_str(&self.stdout);
        stderr.push_str(&self.stderr);
        (stdout, stderr)
    }
}

fn with_newline(mut text: String) -> String {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// JSON as az prints it: two-space indentation, keys sorted.
pub fn az_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialise")
}

/// JSON as kubectl prints it: four-space indentation.
pub fn kubectl_json(value: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut serializer)
        .expect("JSON values serialise");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// JSON as gh and helm print it to a pipe: one compact line.
pub fn compact_json(value: &serde_json::Value) -> String {
    serde_json::to_string(value).expect("JSON values serialise")
}
