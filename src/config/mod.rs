//! The Configuration entity: load the layers, merge them (flags > env > file > defaults),
//! validate with field-level errors, export back to YAML.

pub mod model;

pub use model::ConfigLayer;
