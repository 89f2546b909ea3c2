//! The Prerequisites entity: tool probes, versions, authentication.
