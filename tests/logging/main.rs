//! Logging: file placement and rotation, the subscriber's layers, and `logging::init`.
//!
//! Process-wide: `logging::init` installs the global tracing subscriber, once per process,
//! and it would then receive the events of every other test here. Its test therefore does
//! its work in a child process of this binary (tests/logging/init.rs); the layer tests use
//! scoped subscribers (`with_default`) only.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod files;
mod init;
mod layers;
