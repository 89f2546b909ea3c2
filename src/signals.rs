//! The termination signals both front ends turn into an orderly stop.

use std::future::pending;

#[cfg(unix)]
/// SIGTERM, SIGHUP and SIGINT sent from outside: each ends a run the orderly way (the
/// wizard restores the terminal; in raw mode Ctrl+C is a key, not a signal).
pub(crate) struct Signals {
    terminate: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
    interrupt: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    pub(crate) fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            terminate: signal(SignalKind::terminate()).ok(),
            hangup: signal(SignalKind::hangup()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }

    pub(crate) async fn next(&mut self) {
        async fn one(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    if signal.recv().await.is_none() {
                        pending::<()>().await
                    }
                }
                None => pending().await,
            }
        }
        tokio::select! {
            _ = one(&mut self.terminate) => {}
            _ = one(&mut self.hangup) => {}
            _ = one(&mut self.interrupt) => {}
        }
    }
}

#[cfg(not(unix))]
pub(crate) struct Signals;

#[cfg(not(unix))]
impl Signals {
    pub(crate) fn new() -> Self {
        Signals
    }
    pub(crate) async fn next(&mut self) {
        pending().await
    }
}
