//! The Bootstrap State entity.
