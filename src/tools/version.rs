//! Tool versions: `MAJOR.MINOR.PATCH`, compared numerically.
//!
//! Tools decorate their versions (`v1.32.4-dispatcher`, `v3.17.0+g301108e`,
//! `2.39.3 (Apple Git-146)`, `2.43.0.windows.1`); only the numeric core decides whether the
//! minimum is met, so pre-release and build suffixes are ignored.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

/// A version string that is not `[v]MAJOR.MINOR[.PATCH][suffix]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct VersionParseError {
    pub reason: String,
}

impl VersionParseError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// A whole version token: optional `v`, `MAJOR.MINOR`, or `MAJOR.MINOR.PATCH` followed by
/// nothing or a `-`, `+` or `.` suffix.
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^v?(\d+)\.(\d+)(?:\.(\d+)(?:[-+.].*)?)?$").expect("valid regex"));

/// A version somewhere in free text, not glued to a preceding digit or dot.
static EMBEDDED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^0-9.])v?(\d+)\.(\d+)(?:\.(\d+))?").expect("valid regex"));

impl Version {
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// The first version-looking number in `text` (e.g. in `jq-1.7.1` or
    /// `GNU bash, version 5.2.15(1)-release`).
    pub fn find_in(text: &str) -> Option<Version> {
        EMBEDDED.captures(text).and_then(|c| from_captures(&c))
    }
}

fn from_captures(captures: &regex::Captures<'_>) -> Option<Version> {
    let number = |i: usize| -> Option<u64> {
        match captures.get(i) {
            Some(m) => m.as_str().parse().ok(),
            None => Some(0),
        }
    };
    Some(Version::new(number(1)?, number(2)?, number(3)?))
}

impl FromStr for Version {
    type Err = VersionParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let token = text.trim();
        TOKEN
            .captures(token)
            .and_then(|c| from_captures(&c))
            .ok_or_else(|| {
                VersionParseError::new(format!(
                    "{token:?} is not a version (expected MAJOR.MINOR.PATCH)"
                ))
            })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for Version {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "MAJOR.MINOR.PATCH, as Display writes it.",
            "type": "string",
            "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decorated_versions_parse_to_their_numeric_core() {
        for (text, expected) in [
            ("2.91.0", Version::new(2, 91, 0)),
            ("v1.32.4-dispatcher", Version::new(1, 32, 4)),
            ("v3.17.0+g301108e", Version::new(3, 17, 0)),
            ("2.43.0.windows.1", Version::new(2, 43, 0)),
            ("v1.30.0-rc.1", Version::new(1, 30, 0)),
            ("1.20", Version::new(1, 20, 0)),
        ] {
            assert_eq!(text.parse::<Version>().unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn garbage_is_rejected_with_the_offending_text() {
        for text in ["", "latest", "1", "v", "1.2.3abc", "x1.2.3", "1..2"] {
            let err = text.parse::<Version>().unwrap_err();
            assert!(err.reason.contains(&format!("{:?}", text.trim())), "{err}");
        }
    }

    #[test]
    fn comparison_is_numeric_not_lexical() {
        assert!(Version::new(2, 103, 0) > Version::new(2, 23, 0));
        assert!(Version::new(1, 9, 9) < Version::new(1, 10, 0));
        assert!(Version::new(4, 1, 0) > Version::new(3, 99, 99));
    }

    #[test]
    fn embedded_versions_are_found_in_free_text() {
        assert_eq!(Version::find_in("jq-1.7.1"), Some(Version::new(1, 7, 1)));
        assert_eq!(
            Version::find_in("GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)"),
            Some(Version::new(5, 2, 15))
        );
        assert_eq!(Version::find_in("no digits here"), None);
    }

    #[test]
    fn serialises_as_a_plain_string() {
        assert_eq!(
            serde_json::to_string(&Version::new(1, 2, 3)).unwrap(),
            "\"1.2.3\""
        );
    }
}
