//! The JSON documents this tool prints, as versioned contracts: each has a name and an
//! integer version, printed with it (`"schema"`, `"schema_version"`), and a JSON Schema in
//! `schemas/` (see [`crate::schemas`]). The state file keeps its own `version` ("1.0",
//! [`crate::state::SCHEMA_VERSION`]), which `--status --output json` shows as it is.
//!
//! A version goes up when a consumer written against it could misread the new output: a
//! key removed or renamed, a type or meaning changed, a value that was always there now
//! sometimes absent. Adding a key, an event or an enum value does not bump it: consumers
//! ignore what they do not know (docs/reference.md, "Machine-readable contracts").

/// One versioned JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// `kalypso-bootstrap/<what>`: what a document's `"schema"` key names.
    pub name: &'static str,
    /// What its `"schema_version"` key holds.
    pub version: u32,
}

/// `--output json`'s event stream; its first line is the `version` event
/// ([`crate::engine::events::stream_version_line`]).
pub const EVENTS: Contract = Contract {
    name: "kalypso-bootstrap/events",
    version: 1,
};

/// `--dry-run --output json`: the plan document.
pub const PLAN: Contract = Contract {
    name: "kalypso-bootstrap/plan",
    version: 1,
};

/// `--clean --dry-run --output json`: the removal plan.
pub const REMOVAL_PLAN: Contract = Contract {
    name: "kalypso-bootstrap/removal-plan",
    version: 1,
};

/// `--validate-only --output json`: the prerequisite report.
pub const PREREQUISITES: Contract = Contract {
    name: "kalypso-bootstrap/prerequisites",
    version: 1,
};

/// This build's version, as the event stream's first line names it.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
