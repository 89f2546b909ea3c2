//! Reading the `--config` YAML file into a [`ConfigLayer`]. Partial files are fine; every
//! problem (missing, unreadable, empty, syntax, unknown key, wrong type) becomes a
//! [`LoadError`] naming the file and, where it applies, the key path and line.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::model::ConfigLayer;
use super::rules::edit_distance;

/// Configuration files are small; anything bigger is not one (and is not read whole).
pub const MAX_CONFIG_FILE_BYTES: u64 = 1024 * 1024;

/// How deeply a configuration file may nest (mappings, sequences, flow brackets). Ours is
/// at most 3 levels deep; the bound is checked by a linear scan before the YAML parser
/// sees the text, whose time grows with the square of the nesting.
pub const MAX_CONFIG_NESTING: usize = 32;

/// A 1-based position in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("config file {}: not found", path.display())]
    NotFound { path: PathBuf },
    #[error("config file {}: is a directory, not a file", path.display())]
    IsDirectory { path: PathBuf },
    #[error("config file {}: cannot be read: {source}", path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("config file {}: is not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("config file {}: is {size} bytes, more than the {max} bytes a configuration file may have", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("config file {}: is {what}, not a regular file; --config takes a regular file", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("config file {}, line {line}: nests deeper than {max} levels; a configuration file is at most 3 levels deep", path.display())]
    TooDeep {
        path: PathBuf,
        line: usize,
        max: usize,
    },
    #[error("config file {}: is empty; set at least one key (see assets/bootstrap-config.example.yaml)", path.display())]
    Empty { path: PathBuf },
    #[error("config file {}{}: YAML syntax error: {message}", path.display(), at(position))]
    Syntax {
        path: PathBuf,
        position: Option<Position>,
        message: String,
    },
    #[error("config file {}: the top level must be a mapping of the sections cluster, repositories, installation and options, but it is {found}", path.display())]
    NotAMapping { path: PathBuf, found: &'static str },
    #[error("config file {}{}: unknown key `{key_path}`{}", path.display(), at(position), unknown_key_help(expected, suggestion.as_deref()))]
    UnknownKey {
        path: PathBuf,
        key_path: String,
        position: Option<Position>,
        expected: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("config file {}{}: `{key_path}`: {message}", path.display(), at(position))]
    InvalidValue {
        path: PathBuf,
        key_path: String,
        position: Option<Position>,
        message: String,
    },
}

impl LoadError {
    /// The key path the error is about (`cluster.nodeCount`), when it is about one.
    pub fn key_path(&self) -> Option<&str> {
        match self {
            LoadError::UnknownKey { key_path, .. } | LoadError::InvalidValue { key_path, .. } => {
                Some(key_path)
            }
            _ => None,
        }
    }

    /// Where in the file the error is, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            LoadError::Syntax { position, .. }
            | LoadError::UnknownKey { position, .. }
            | LoadError::InvalidValue { position, .. } => *position,
            _ => None,
        }
    }
}

fn at(position: &Option<Position>) -> String {
    position.map(|p| format!(", {p}")).unwrap_or_default()
}

fn unknown_key_help(expected: &[String], suggestion: Option<&str>) -> String {
    let mut help = String::new();
    if let Some(suggestion) = suggestion {
        help.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    if !expected.is_empty() {
        help.push_str(&format!("; valid keys here: {}", expected.join(", ")));
    }
    help
}

/// Read and parse the configuration file at `path` (the first problem in file order;
/// [`load_file_all`] gives every one).
pub fn load_file(path: &Path) -> Result<ConfigLayer, LoadError> {
    let text = read_text(path)?;
    parse_str(&text, path)
}

/// The file's text, refused when it is missing, not a regular file (a device such as
/// `/dev/zero` would never end, a FIFO would hang), larger than [`MAX_CONFIG_FILE_BYTES`]
/// (at most that much is ever read), nested deeper than [`MAX_CONFIG_NESTING`], or not UTF-8.
fn read_text(path: &Path) -> Result<String, LoadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let owned = || path.to_path_buf();
    let unreadable = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => LoadError::NotFound { path: owned() },
        _ => LoadError::Unreadable {
            path: owned(),
            source,
        },
    };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    not_a_regular_file(&metadata, path)?;
    // O_NONBLOCK: a FIFO swapped in after the check cannot hang the open; what was opened
    // is checked again.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(unreadable)?;
    not_a_regular_file(&file.metadata().map_err(unreadable)?, path)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(LoadError::TooLarge {
            path: owned(),
            size: metadata.len().max(bytes.len() as u64),
            max: MAX_CONFIG_FILE_BYTES,
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { path: owned() })?;
    if let Some(line) = too_deep(&text, MAX_CONFIG_NESTING) {
        return Err(LoadError::TooDeep {
            path: owned(),
            line,
            max: MAX_CONFIG_NESTING,
        });
    }
    return Ok(text);

    fn not_a_regular_file(metadata: &std::fs::Metadata, path: &Path) -> Result<(), LoadError> {
        let owned = || path.to_path_buf();
        let kind = metadata.file_type();
        if kind.is_file() {
            return Ok(());
        }
        Err(if kind.is_dir() {
            LoadError::IsDirectory { path: owned() }
        } else {
            let what = crate::file_kind::special_file_kind(&kind);
            LoadError::NotAFile {
                path: owned(),
                what,
            }
        })
    }
}

/// The 1-based line where `text` first nests deeper than `max`, by a linear scan that
/// errs on the side of counting: block indentation levels (and `- `/`? ` entries opened
/// on one line) plus open flow brackets, outside quoted scalars, block scalars (`|`, `>`)
/// and comments. `None` when it stays within `max`.
pub fn too_deep(text: &str, max: usize) -> Option<usize> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // The quote a multi-line quoted scalar is still open with.
    let mut quote: Option<char> = None;
    // The indentation of the line that opened a block scalar still going on.
    let mut block_scalar: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if let Some(parent) = block_scalar {
            if content.is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if flow == 0 && quote.is_none() && !content.is_empty() && !content.starts_with('#') {
            let mut column = indent;
            let mut rest = content;
            // `- - x`, `? - x`: each indicator opens a collection further in.
            loop {
                while indents.last().is_some_and(|&top| top > column) {
                    indents.pop();
                }
                if indents.last() != Some(&column) {
                    indents.push(column);
                }
                match rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
                    Some(after) => {
                        let inner = after.trim_start_matches(' ');
                        column += 2 + (after.len() - inner.len());
                        rest = inner;
                    }
                    None => break,
                }
            }
            if indents.len() > max {
                return Some(index + 1);
            }
        }
        // The last significant character outside quotes: a quote opens a scalar only
        // where a node may start.
        let mut last: Option<char> = None;
        let mut previous = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('\'') => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            quote = None;
                            last = Some(c);
                        }
                    }
                }
                Some(_) => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        quote = None;
                        last = Some(c);
                    }
                    _ => {}
                },
                None => {
                    let node_start = previous.is_whitespace() || "[{,".contains(previous);
                    let after_indicator = match last {
                        None => true,
                        Some(':' | '-' | '?') => previous.is_whitespace(),
                        Some('[' | '{' | ',') => flow > 0,
                        Some(_) => false,
                    };
                    match c {
                        '\'' | '"' if node_start && after_indicator => quote = Some(c),
                        '#' if previous.is_whitespace() => break,
                        '[' | '{' => {
                            flow += 1;
                            if indents.len() + flow > max {
                                return Some(index + 1);
                            }
                        }
                        ']' | '}' => flow = flow.saturating_sub(1),
                        _ => {}
                    }
                    if !c.is_whitespace() {
                        last = Some(c);
                    }
                }
            }
            previous = c;
        }
        // `key: |`, `- >-`: the lines indented under this one are text.
        if quote.is_none() && flow == 0 {
            let code = line.split(" #").next().unwrap_or(line).trim_end();
            let indicator = code
                .rsplit(' ')
                .next()
                .filter(|word| word.starts_with(['|', '>']))
                .is_some_and(|word| word[1..].chars().all(|c| "+-123456789".contains(c)));
            if indicator && (code.contains(": ") || code.starts_with("- ") || code.len() == 1) {
                block_scalar = Some(indent);
            }
        }
    }
    None
}

/// Parse configuration YAML; `path` only names the file in errors. The first problem in
/// file order; [`parse_str_all`] gives every one.
pub fn parse_str(text: &str, path: &Path) -> Result<ConfigLayer, LoadError> {
    parse_str_all(text, path).map_err(|mut errors| errors.remove(0))
}

/// Read and parse the configuration file at `path`, reporting every unknown key and wrong
/// type at once (never an empty list).
pub fn load_file_all(path: &Path) -> Result<ConfigLayer, Vec<LoadError>> {
    let text = read_text(path).map_err(|error| vec![error])?;
    parse_str_all(&text, path)
}

/// Parse configuration YAML, reporting every unknown key and wrong type at once, in file
/// order (never an empty list). A syntax error, an empty file or a top level that is not a
/// mapping is reported alone: nothing else can be read then.
pub fn parse_str_all(text: &str, path: &Path) -> Result<ConfigLayer, Vec<LoadError>> {
    let owned = || path.to_path_buf();
    // First as untyped YAML: syntax errors, emptiness and the top-level shape get their
    // own messages before the typed pass reports keys and types.
    let mut document: serde_yaml::Value = serde_yaml::from_str(text).map_err(|error| {
        vec![LoadError::Syntax {
            path: owned(),
            position: position_of(&error),
            message: strip_location(&error.to_string()),
        }]
    })?;
    match &document {
        serde_yaml::Value::Null => return Err(vec![LoadError::Empty { path: owned() }]),
        serde_yaml::Value::Mapping(_) => {}
        other => {
            return Err(vec![LoadError::NotAMapping {
                path: owned(),
                found: describe(other),
            }])
        }
    }
    // The typed pass stops at the first problem. Each problem found is cut out of the
    // untyped tree and the rest is read again, until it reads cleanly. The original text
    // stays the authority: the first pass reads it (scalars keep their exact text), and
    // every position is looked up in it.
    let first = match typed_pass(text) {
        Ok(layer) => return Ok(layer),
        Err(error) => error,
    };
    let mut errors = Vec::new();
    let mut next = Some(first);
    while let Some(error) = next.take() {
        let removed = remove_path(&mut document, &error.segments);
        errors.push(error);
        // Each pass reads the whole document again: a large file full of problems gets
        // fewer passes, so no file takes long to refuse.
        let read_again = errors.len().saturating_mul(text.len());
        if !removed || errors.len() >= MAX_FILE_ERRORS || read_again > REREAD_BUDGET_BYTES {
            break;
        }
        let Ok(rest) = serde_yaml::to_string(&document) else {
            break;
        };
        next = typed_pass(&rest).err();
    }
    let mut errors: Vec<LoadError> = errors
        .into_iter()
        .enumerate()
        .map(|(index, error)| {
            // Only the first pass read the original text; the others' positions are
            // looked up there.
            let position = if index == 0 {
                error.position
            } else {
                locate(text, &error.segments, error.unknown.is_some())
            };
            error.into_load_error(owned(), position)
        })
        .collect();
    // File order; an error that could not be placed last.
    errors.sort_by_key(|error| {
        error
            .position()
            .map_or((usize::MAX, usize::MAX), |p| (p.line, p.column))
    });
    Err(errors)
}

/// More problems than this in one file are not worth listing.
const MAX_FILE_ERRORS: usize = 50;

/// How many bytes the passes after the first may read again in all (50 passes of a
/// 10 KiB file; a 1 MiB file full of unknown keys gets none, and is refused at once).
const REREAD_BUDGET_BYTES: usize = 512 * 1024;

/// One problem of the typed pass, before it is placed in the original text.
struct TypedError {
    key_path: String,
    /// The key path's mapping keys, to cut it out and to find it again.
    segments: Vec<String>,
    position: Option<Position>,
    /// For an unknown key: its name and the valid names beside it.
    unknown: Option<(String, Vec<String>)>,
    message: String,
}

impl TypedError {
    fn into_load_error(self, path: PathBuf, position: Option<Position>) -> LoadError {
        match self.unknown {
            Some((unknown, expected)) => LoadError::UnknownKey {
                path,
                suggestion: suggest(&unknown, &expected),
                key_path: self.key_path,
                position,
                expected,
            },
            None => LoadError::InvalidValue {
                path,
                key_path: self.key_path,
                position,
                message: friendlier(&self.message),
            },
        }
    }
}

fn typed_pass(text: &str) -> Result<ConfigLayer, Box<TypedError>> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let key_path = error.path().to_string();
        let segments = error
            .path()
            .iter()
            .map(|segment| match segment {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                _ => None,
            })
            .collect::<Option<Vec<String>>>()
            // A path through anything but mapping keys cannot be cut out: it ends the search.
            .unwrap_or_default();
        let inner = error.into_inner();
        let position = position_of(&inner);
        let message = strip_key_prefix(&strip_location(&inner.to_string()), &key_path);
        Box::new(TypedError {
            unknown: parse_unknown_field(&message),
            key_path,
            segments,
            position,
            message,
        })
    })
}

/// Remove the entry at `segments` (mapping keys from the top); false when there is none.
fn remove_path(document: &mut serde_yaml::Value, segments: &[String]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = document;
    for key in parents {
        match node.get_mut(key.as_str()) {
            Some(child) => node = child,
            None => return false,
        }
    }
    node.as_mapping_mut()
        .and_then(|mapping| mapping.remove(last.as_str()))
        .is_some()
}

/// Where the entry at `segments` is in `text`: its key (`at_key`) or its value.
fn locate(text: &str, segments: &[String], at_key: bool) -> Option<Position> {
    let probe = locate::Probe { segments, at_key };
    let deserializer = serde_yaml::Deserializer::from_str(text);
    match serde::de::DeserializeSeed::deserialize(probe, deserializer) {
        // The reader adds the key path and the position around the message.
        Err(error) if error.to_string().contains(locate::FOUND) => position_of(&error),
        _ => None,
    }
}

/// Finding an entry's position: a walk down the key path that fails on purpose where the
/// entry is, so the YAML reader names the position of what it was reading.
mod locate {
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    pub(super) const FOUND: &str = "the entry looked for is here";

    pub(super) struct Probe<'a> {
        pub segments: &'a [String],
        pub at_key: bool,
    }

    impl<'de> DeserializeSeed<'de> for Probe<'_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            if self.segments.is_empty() {
                return deserializer.deserialize_any(FailOnAnyValue);
            }
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Probe<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a mapping")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let (first, rest) = self.segments.split_first().expect("a segment to look for");
            let stop_at_key = self.at_key && rest.is_empty();
            while let Some(matched) = map.next_key_seed(KeyProbe {
                wanted: first,
                stop: stop_at_key,
            })? {
                if matched {
                    return map.next_value_seed(Probe {
                        segments: rest,
                        at_key: self.at_key,
                    });
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    /// A key: whether it is the wanted one (or, to `stop` there, an error at it).
    struct KeyProbe<'a> {
        wanted: &'a str,
        stop: bool,
    }

    impl<'de> DeserializeSeed<'de> for KeyProbe<'_> {
        type Value = bool;

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeyProbe<'_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
            match key == self.wanted {
                true if self.stop => Err(E::custom(FOUND)),
                matched => Ok(matched),
            }
        }
    }

    /// Fails on whatever value it is given.
    struct FailOnAnyValue;

    impl<'de> Visitor<'de> for FailOnAnyValue {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("anything")
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Err(E::custom(FOUND))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Err(E::custom(FOUND))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Err(E::custom(FOUND))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Err(E::custom(FOUND))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Err(E::custom(FOUND))
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Err(E::custom(FOUND))
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Err(E::custom(FOUND))
        }
        fn visit_some<D: de::Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
            Err(de::Error::custom(FOUND))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(de::Error::custom(FOUND))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(de::Error::custom(FOUND))
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(de::Error::custom(FOUND))
        }
    }
}

fn position_of(error: &serde_yaml::Error) -> Option<Position> {
    error.location().map(|l| Position {
        line: l.line(),
        column: l.column(),
    })
}

fn describe(value: &serde_yaml::Value) -> &'static str {
    match value {
        serde_yaml::Value::Null => "empty",
        serde_yaml::Value::Bool(_) => "a boolean",
        serde_yaml::Value::Number(_) => "a number",
        serde_yaml::Value::String(_) => "a plain string",
        serde_yaml::Value::Sequence(_) => "a list",
        serde_yaml::Value::Mapping(_) => "a mapping",
        serde_yaml::Value::Tagged(_) => "a tagged value",
    }
}

/// serde_yaml appends " at line L column C" to its messages; we report the position
/// separately.
fn strip_location(message: &str) -> String {
    static LOCATION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r" at line \d+ column \d+").expect("static regex"));
    LOCATION.replace_all(message, "").into_owned()
}

/// serde_yaml prefixes messages with its own view of the key path (the full path, or the
/// enclosing mapping's); we report the path separately.
fn strip_key_prefix(message: &str, key_path: &str) -> String {
    let segments: Vec<&str> = key_path.split('.').collect();
    for len in (1..=segments.len()).rev() {
        let prefix = format!("{}: ", segments[..len].join("."));
        if let Some(rest) = message.strip_prefix(&prefix) {
            return rest.to_string();
        }
    }
    message.to_string()
}

/// serde's `unknown field `x`, expected one of `a`, `b`` (or `expected `a``, or
/// `there are no fields`): the unknown name and the valid names.
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, tail) = rest.split_once('`')?;
    static QUOTED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"`([^`]*)`").expect("static regex"));
    let expected = QUOTED
        .captures_iter(tail)
        .map(|c| c[1].to_string())
        .collect();
    Some((unknown.to_string(), expected))
}

/// The valid key the user most likely meant: same letters ignoring case, `_` and `-`
/// (`node_count` for `nodeCount`), else at most two edits away.
fn suggest(unknown: &str, expected: &[String]) -> Option<String> {
    let fold = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let folded = fold(unknown);
    if let Some(same) = expected.iter().find(|e| fold(e) == folded) {
        return Some(same.clone());
    }
    expected
        .iter()
        .map(|e| (edit_distance(&folded, &fold(e)), e))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e.clone())
}

/// Serde names Rust types; say what the user should write instead.
fn friendlier(message: &str) -> String {
    message
        .replace("expected u32", "expected a whole number")
        .replace("expected a boolean", "expected true or false")
        .replace(
            "expected struct ClusterLayer",
            "expected a mapping of cluster keys",
        )
        .replace(
            "expected struct RepositoriesLayer",
            "expected a mapping of repositories keys",
        )
        .replace(
            "expected struct RepoLayer",
            "expected a mapping with create, name, url",
        )
        .replace(
            "expected struct InstallationLayer",
            "expected a mapping of installation keys",
        )
        .replace(
            "expected struct OptionsLayer",
            "expected a mapping of options keys",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigLayer, LoadError> {
        parse_str(text, Path::new("c.yaml"))
    }

    fn pos(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn a_partial_file_sets_only_what_it_names() {
        let layer =
            parse("cluster:\n  name: demo\n  nodeCount: 5\noptions:\n  force: true\n").unwrap();
        assert_eq!(layer.cluster.name.as_deref(), Some("demo"));
        assert_eq!(layer.cluster.node_count, Some(5));
        assert_eq!(layer.options.force, Some(true));
        assert_eq!(layer.cluster.region, None);
        assert!(layer.repositories.is_empty());
    }

    #[test]
    fn an_empty_string_is_a_value_and_null_is_unset() {
        let layer = parse("cluster:\n  name: ''\n  region: ~\n").unwrap();
        assert_eq!(layer.cluster.name.as_deref(), Some(""));
        assert_eq!(layer.cluster.region, None);
    }

    #[test]
    fn version_like_scalars_keep_their_text() {
        let layer = parse("cluster:\n  kubernetesVersion: 1.30\n").unwrap();
        assert_eq!(layer.cluster.kubernetes_version.as_deref(), Some("1.30"));
    }

    #[test]
    fn a_section_with_everything_commented_out_is_empty_not_an_error() {
        let layer =
            parse("cluster:\n  # name: x\nrepositories:\n  controlPlane:\n  githubOrg: acme\n")
                .unwrap();
        assert!(layer.cluster.is_empty());
        assert_eq!(layer.repositories.github_org.as_deref(), Some("acme"));
    }

    #[test]
    fn unknown_keys_name_the_key_path_the_line_and_a_suggestion() {
        let cases = [
            (
                "cluster:\n  name: x\n  nodeCont: 3\n",
                "cluster.nodeCont",
                pos(3, 3),
                Some("nodeCount"),
            ),
            (
                "repositories:\n  controlPlane:\n    urll: x\n",
                "repositories.controlPlane.urll",
                pos(3, 5),
                Some("url"),
            ),
            ("bogus: 1\n", "bogus", pos(1, 1), None),
            (
                "installation:\n  helm_chart: x\n",
                "installation.helm_chart",
                pos(2, 3),
                Some("helmChart"),
            ),
        ];
        for (text, key, position, suggestion) in cases {
            match parse(text).unwrap_err() {
                LoadError::UnknownKey {
                    key_path,
                    position: p,
                    suggestion: s,
                    expected,
                    ..
                } => {
                    assert_eq!(key_path, key, "{text:?}");
                    assert_eq!(p, position, "{text:?}");
                    assert_eq!(s.as_deref(), suggestion, "{text:?}");
                    assert!(!expected.is_empty());
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_reported_in_file_order_with_its_line() {
        let text = "cluster:\n  name: demo\n  nodeCont: 3\n  nodeCount: three\n\
                    repositories:\n  controlPlane:\n    urll: x\n  githubOrg: acme\n\
                    options:\n  verbose: 1\nbogus:\n  deep: 1\n";
        let errors = parse_str_all(text, Path::new("c.yaml")).unwrap_err();
        let found: Vec<(Option<&str>, Option<usize>, bool)> = errors
            .iter()
            .map(|e| {
                (
                    e.key_path(),
                    e.position().map(|p| p.line),
                    matches!(e, LoadError::UnknownKey { .. }),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (Some("cluster.nodeCont"), Some(3), true),
                (Some("cluster.nodeCount"), Some(4), false),
                (Some("repositories.controlPlane.urll"), Some(7), true),
                (Some("options.verbose"), Some(10), false),
                (Some("bogus"), Some(11), true),
            ],
            "{errors:#?}"
        );
        // Each keeps the details of a single report: the unknown key's suggestion and
        // column, the wrong type's message.
        match &errors[2] {
            LoadError::UnknownKey {
                suggestion,
                position,
                ..
            } => {
                assert_eq!(suggestion.as_deref(), Some("url"));
                assert_eq!(*position, pos(7, 5));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            errors[1].to_string().contains("expected a whole number"),
            "{}",
            errors[1]
        );
        assert_eq!(errors[1].position(), pos(4, 14));
        // The single-error reader gives the first in file order.
        assert_eq!(
            parse(text).unwrap_err().key_path(),
            Some("cluster.nodeCont")
        );
    }

    #[test]
    fn a_clean_file_reads_the_same_through_both_readers() {
        let text = "cluster:\n  name: demo\n  kubernetesVersion: 1.30\n";
        assert_eq!(
            parse_str_all(text, Path::new("c.yaml")).unwrap(),
            parse(text).unwrap()
        );
    }

    #[test]
    fn the_unknown_key_message_reads_well() {
        let message = parse("cluster:\n  name: x\n  nodeCont: 3\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "config file c.yaml, line 3, column 3: unknown key `cluster.nodeCont` (did you mean \
             `nodeCount`?); valid keys here: name, create, existingContext, region, \
             resourceGroup, nodeCount, vmSize, kubernetesVersion, networkPlugin"
        );
    }

    #[test]
    fn wrong_types_name_the_key_path_and_the_line() {
        let cases = [
            (
                "cluster:\n  name: x\n  nodeCount: three\n",
                "cluster.nodeCount",
                pos(3, 14),
                "expected a whole number",
            ),
            (
                "cluster:\n  nodeCount: -1\n",
                "cluster.nodeCount",
                pos(2, 14),
                "expected a whole number",
            ),
            (
                "cluster:\n  create: maybe\n",
                "cluster.create",
                pos(2, 11),
                "expected true or false",
            ),
            (
                "options:\n  verbose: 1\n",
                "options.verbose",
                pos(2, 12),
                "expected true or false",
            ),
            (
                "cluster:\n  name: [a]\n",
                "cluster.name",
                pos(2, 9),
                "expected a string",
            ),
            (
                "cluster: 5\n",
                "cluster",
                pos(1, 10),
                "expected a mapping of cluster keys",
            ),
        ];
        for (text, key, position, needle) in cases {
            match parse(text).unwrap_err() {
                LoadError::InvalidValue {
                    key_path,
                    position: p,
                    message,
                    ..
                } => {
                    assert_eq!(key_path, key, "{text:?}");
                    assert_eq!(p, position, "{text:?}");
                    assert!(message.contains(needle), "{text:?}: {message}");
                    assert!(!message.contains(" at line "), "{message}");
                    assert!(!message.starts_with(&format!("{key}:")), "{message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_type_message_is_one_readable_line() {
        let message = parse("cluster:\n  nodeCount: three\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "config file c.yaml, line 2, column 14: `cluster.nodeCount`: invalid type: string \
             \"three\", expected a whole number"
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        for (text, line) in [
            ("cluster: {name: \"a\"\n", 2),
            ("cluster:\n\tname: x\n", 2),
            ("cluster:\n  name: x\n region: y\n", 3),
        ] {
            match parse(text).unwrap_err() {
                LoadError::Syntax {
                    position, message, ..
                } => {
                    assert_eq!(position.map(|p| p.line), Some(line), "{text:?}: {message}");
                    assert!(!message.is_empty());
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_line() {
        match parse("cluster:\n  name: a\n  name: b\n").unwrap_err() {
            LoadError::Syntax {
                position, message, ..
            } => {
                assert_eq!(position, pos(2, 3));
                assert!(
                    message.contains("duplicate") && message.contains("name"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn several_documents_are_refused() {
        assert!(matches!(
            parse("cluster:\n  name: a\n---\ncluster:\n  name: b\n").unwrap_err(),
            LoadError::Syntax { .. }
        ));
    }

    #[test]
    fn empty_and_comment_only_files_are_errors() {
        for text in ["", "   \n", "# nothing here\n", "~\n"] {
            assert!(
                matches!(parse(text).unwrap_err(), LoadError::Empty { .. }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn garbage_is_an_error_naming_what_was_found() {
        for (text, found) in [
            ("hello world\n", "a plain string"),
            ("- a\n- b\n", "a list"),
            ("42\n", "a number"),
        ] {
            match parse(text).unwrap_err() {
                LoadError::NotAMapping { found: f, .. } => assert_eq!(f, found),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn file_system_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.yaml");
        assert!(matches!(
            load_file(&missing).unwrap_err(),
            LoadError::NotFound { .. }
        ));
        assert!(matches!(
            load_file(dir.path()).unwrap_err(),
            LoadError::IsDirectory { .. }
        ));

        let binary = dir.path().join("bin.yaml");
        std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
        assert!(matches!(
            load_file(&binary).unwrap_err(),
            LoadError::NotUtf8 { .. }
        ));

        let huge = dir.path().join("huge.yaml");
        let file = std::fs::File::create(&huge).unwrap();
        file.set_len(MAX_CONFIG_FILE_BYTES + 1).unwrap();
        assert!(matches!(
            load_file(&huge).unwrap_err(),
            LoadError::TooLarge { .. }
        ));

        let good = dir.path().join("ok.yaml");
        std::fs::write(&good, "cluster:\n  name: demo\n").unwrap();
        assert_eq!(
            load_file(&good).unwrap().cluster.name.as_deref(),
            Some("demo")
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_file_is_reported_as_such() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // Reading through a path whose parent is a regular file fails with an I/O error
        // other than "not found" even for root, which ignores permission bits.
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let through_file = file.join("c.yaml");
        match load_file(&through_file).unwrap_err() {
            LoadError::Unreadable { path, .. } => assert_eq!(path, through_file),
            other => panic!("{other:?}"),
        }
        // And a permission-denied file, where permissions apply (not root).
        let secret = dir.path().join("secret.yaml");
        std::fs::write(&secret, "cluster:\n  name: x\n").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&secret).is_err() {
            assert!(matches!(
                load_file(&secret).unwrap_err(),
                LoadError::Unreadable { .. }
            ));
        }
    }

    #[test]
    fn nesting_deeper_than_the_bound_is_found_by_a_linear_scan() {
        let example = include_str!("../../assets/bootstrap-config.example.yaml");
        assert_eq!(too_deep(example, MAX_CONFIG_NESTING), None);
        let brackets = |n: usize| format!("a: {}", "[".repeat(n));
        assert_eq!(too_deep(&brackets(31), 32), None);
        assert_eq!(too_deep(&brackets(32), 32), Some(1));
        assert_eq!(too_deep(&format!("{}x", "- ".repeat(40)), 32), Some(1));
        assert_eq!(too_deep(&format!("{}x", "? ".repeat(40)), 32), Some(1));
        let block: String = (0..40).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        assert_eq!(too_deep(&block, 32), Some(33));
        // Inside quoted and block scalars, and comments, brackets are text.
        let quoted = format!("a: \"{0}\"\nb: '{0}'\nc: 'it''s {0}'\n", "[".repeat(100));
        assert_eq!(too_deep(&quoted, 32), None);
        let literal = format!(
            "s: |\n  {0}\n  \"{0}\nt: >-\n  {0}\nu: 1 # {0}\n",
            "[".repeat(100)
        );
        assert_eq!(too_deep(&literal, 32), None);
        // A quote inside a plain scalar opens nothing: the brackets after it still count.
        let plain = format!("a: don't, b\nc: {}", "[".repeat(100));
        assert_eq!(too_deep(&plain, 32), Some(2));
        let flow = format!("a: [ 'x #', {}", "[".repeat(100));
        assert_eq!(too_deep(&flow, 32), Some(1));
    }

    #[test]
    fn a_device_a_fifo_and_an_adversarial_file_are_refused_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_file(Path::new("/dev/zero")).unwrap_err(),
            LoadError::NotAFile {
                what: "a character device",
                ..
            }
        ));
        let fifo = dir.path().join("fifo.yaml");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            load_file(&fifo).unwrap_err(),
            LoadError::NotAFile { what: "a FIFO", .. }
        ));
        let nested = dir.path().join("nested.yaml");
        std::fs::write(&nested, "[".repeat(MAX_CONFIG_FILE_BYTES as usize)).unwrap();
        let error = load_file(&nested).unwrap_err();
        assert!(
            matches!(error, LoadError::TooDeep { line: 1, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("deeper than 32 levels"),
            "{error}"
        );
    }

    #[test]
    fn a_large_file_full_of_problems_is_not_read_again_for_each_one() {
        let small = "cluster:\n  a: 1\n  b: 2\n  c: 3\n";
        assert_eq!(
            parse_str_all(small, Path::new("s.yaml")).unwrap_err().len(),
            3
        );
        let mut large = String::from("cluster:\n");
        for index in 0..40_000 {
            large.push_str(&format!("  unknownKey{index}: value\n"));
        }
        let errors = parse_str_all(&large, Path::new("l.yaml")).unwrap_err();
        assert_eq!(errors.len(), 1, "{} bytes: no second pass", large.len());
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
