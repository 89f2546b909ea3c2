//! Logging: file and console layers, secret redaction, rotation.
