//! Reading and writing the state file: atomic saves with a backup of the previous
//! version, owner-only permissions, and refusal to overwrite a file we cannot read.

use std::fs::{self, DirBuilder, File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::{StateError, StateProblem};
use super::lock::StateLock;
use super::schema::{
    BootstrapState, InstallationWorld, Timestamp, SCHEMA_VERSION, SCHEMA_VERSION_PARTS,
};

/// The directory under `$HOME` holding the default state and log files.
pub const STATE_DIR_NAME: &str = ".kalypso";
/// The default state file's name.
pub const STATE_FILE_NAME: &str = "bootstrap-state.json";

const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// `$HOME/.kalypso/bootstrap-state.json`, with the home directory given explicitly.
pub fn default_state_path(home: &Path) -> PathBuf {
    home.join(STATE_DIR_NAME).join(STATE_FILE_NAME)
}

/// Whether `path` is a default state file: `bootstrap-state.json` in a `.kalypso` directory.
fn is_default_location(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == STATE_FILE_NAME)
        && path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == STATE_DIR_NAME)
}

/// Parse a state file's bytes, telling precisely why they are not a usable state.
pub fn parse_state(bytes: &[u8]) -> Result<BootstrapState, StateProblem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StateProblem::Empty);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        if e.is_eof() {
            StateProblem::Truncated { line, column }
        } else {
            StateProblem::NotJson {
                line,
                column,
                detail: strip_position(&e.to_string()),
            }
        }
    })?;
    let Some(object) = value.as_object() else {
        return Err(StateProblem::NotOurs {
            detail: format!("the top level is {}, not an object", json_kind(&value)),
        });
    };
    let version = match object.get("version") {
        None => {
            return Err(StateProblem::NotOurs {
                detail: "it has no \"version\" field".into(),
            })
        }
        Some(serde_json::Value::String(v)) => v.clone(),
        Some(other) => {
            return Err(StateProblem::NotOurs {
                detail: format!("\"version\" is {}, not a string", json_kind(other)),
            })
        }
    };
    match parse_version(&version) {
        None => {
            return Err(StateProblem::NotOurs {
                detail: format!("\"version\" is {version:?}, not MAJOR.MINOR"),
            })
        }
        Some(found) if found > SCHEMA_VERSION_PARTS => {
            return Err(StateProblem::NewerVersion { found: version })
        }
        Some(found) if found < SCHEMA_VERSION_PARTS => {
            return Err(StateProblem::NotOurs {
                detail: format!(
                "state version {version:?} is older than any this build reads ({SCHEMA_VERSION:?})"
            ),
            })
        }
        Some(_) => {}
    }
    serde_path_to_error::deserialize::<_, BootstrapState>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = strip_position(&e.into_inner().to_string());
        StateProblem::NotOurs {
            detail: if path.is_empty() || path == "." {
                inner
            } else {
                format!("at {path}: {inner}")
            },
        }
    })
}

fn parse_version(text: &str) -> Option<(u64, u64)> {
    let (major, minor) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C", which we report separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// The result of [`StateStore::load_or_move_aside`].
#[derive(Debug)]
pub struct LoadOutcome {
    /// The state found, `None` when there was none (or it was moved aside).
    pub state: Option<BootstrapState>,
    /// Set when `--force` moved an unusable file out of the way.
    pub moved_aside: Option<MovedAside>,
}

/// An unusable state file moved out of the way by `--force`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    pub from: PathBuf,
    pub to: PathBuf,
    pub problem: StateProblem,
}

impl MovedAside {
    /// A line for the user saying what happened and where the file is now.
    pub fn message(&self) -> String {
        format!(
            "state file {} {}; --force moved it to {} and a fresh state starts",
            self.from.display(),
            self.problem,
            self.to.display()
        )
    }
}

/// The state file at one path, with its backup and lock beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateStore {
    path: PathBuf,
    backup_path: PathBuf,
    is_default: bool,
}

impl StateStore {
    /// The default location under `home`; the backup is `~/.kalypso/.bootstrap-state.json.bak`.
    pub fn at_default(home: &Path) -> Self {
        let path = default_state_path(home);
        let backup_path = path.with_file_name(format!(".{STATE_FILE_NAME}.bak"));
        Self {
            path,
            backup_path,
            is_default: true,
        }
    }

    /// A `--state-file` chosen by the user; the backup is the same path plus `.bak`. The
    /// default location (`…/.kalypso/bootstrap-state.json`) keeps its default backup name
    /// however it was given, so one state file always has one backup.
    pub fn at_custom(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if is_default_location(&path) {
            let backup_path = path.with_file_name(format!(".{STATE_FILE_NAME}.bak"));
            return Self {
                path,
                backup_path,
                is_default: true,
            };
        }
        let backup_path = with_suffix(&path, ".bak");
        Self {
            path,
            backup_path,
            is_default: false,
        }
    }

    /// `--state-file` when given, else the default under `home`.
    pub fn from_option(state_file: Option<&Path>, home: &Path) -> Self {
        match state_file {
            Some(path) => Self::at_custom(path),
            None => Self::at_default(home),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn backup_path(&self) -> &Path {
        &self.backup_path
    }

    pub fn is_default(&self) -> bool {
        self.is_default
    }

    /// The lock file beside the state file.
    pub fn lock_path(&self) -> PathBuf {
        StateLock::lock_path_for(&self.path)
    }

    /// Take the exclusive lock for this state file (see [`StateLock::acquire`]); creates
    /// the state directory when missing.
    pub fn lock(&self) -> Result<StateLock, StateError> {
        self.ensure_dir()?;
        StateLock::acquire(&self.path)
    }

    /// The recorded state, `Ok(None)` when there is no state file. An unusable file is an
    /// error naming the path and the problem; the file is not touched.
    pub fn load(&self) -> Result<Option<BootstrapState>, StateError> {
        match self.read_existing()? {
            None => Ok(None),
            Some(Ok(state)) => Ok(Some(state)),
            Some(Err(problem)) => Err(self.unusable(problem)),
        }
    }

    /// Like [`load`](Self::load), refusing a state of the other world (a `--demo` state
    /// outside `--demo`, a real one in it) with exit code 3; the file is not touched.
    pub fn load_in(&self, world: InstallationWorld) -> Result<Option<BootstrapState>, StateError> {
        let state = self.load()?;
        if let Some(state) = &state {
            super::identity::check_world(&self.path, state, world)?;
        }
        Ok(state)
    }

    /// Like [`load`](Self::load); with `force`, an unusable file is renamed to
    /// `<path>.<timestamp>.<reason>` and the run starts without a state.
    pub fn load_or_move_aside(
        &self,
        force: bool,
        now: Timestamp,
    ) -> Result<LoadOutcome, StateError> {
        match self.read_existing()? {
            None => Ok(LoadOutcome {
                state: None,
                moved_aside: None,
            }),
            Some(Ok(state)) => Ok(LoadOutcome {
                state: Some(state),
                moved_aside: None,
            }),
            Some(Err(problem)) if !force => Err(self.unusable(problem)),
            Some(Err(problem)) => {
                let to = self.move_aside(&problem, now)?;
                Ok(LoadOutcome {
                    state: None,
                    moved_aside: Some(MovedAside {
                        from: self.path.clone(),
                        to,
                        problem,
                    }),
                })
            }
        }
    }

    /// Write the state atomically. The previous version, if any, becomes the backup; a
    /// previous file that is not a usable state is never replaced.
    ///
    /// Two fsyncs per save: the new file's data, then the directory. The previous file
    /// was made durable when it was written, so it becomes the backup by a hard link
    /// renamed over the old backup (no copy), and the one directory sync after the new
    /// file's rename makes both renames durable (they are in the same directory). A crash
    /// at any point leaves a state file and a backup that are each a complete save.
    pub fn save(&self, state: &BootstrapState) -> Result<(), StateError> {
        self.ensure_dir()?;
        if let Some(previous) = self.read_existing_bytes()? {
            if let Err(problem) = parse_state(&previous) {
                return Err(self.unusable(problem));
            }
            self.keep_as_backup(&previous)?;
        }
        write_atomically(&self.path, state.to_json().as_bytes())
    }

    /// Make the current file (whose bytes are `previous`) the backup: a hard link to it
    /// renamed over the backup; a copy (owner-only) when the file is not owner-only (not
    /// written by us) or the file system has no hard links.
    fn keep_as_backup(&self, previous: &[u8]) -> Result<(), StateError> {
        let owner_only = fs::metadata(&self.path)
            .is_ok_and(|meta| meta.permissions().mode() & 0o777 == FILE_MODE);
        if !owner_only {
            return write_unsynced_dir(&self.backup_path, previous);
        }
        let dir = parent_dir(&self.backup_path);
        let linked = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name(&self.backup_path)))
            .suffix(".tmp")
            .make_in(dir, |temp| fs::hard_link(&self.path, temp));
        match linked {
            Ok(link) => link
                .persist(&self.backup_path)
                .map_err(|e| StateError::io("replace", &self.backup_path, e.error)),
            // No hard links here (or the file just went): copy the bytes read.
            Err(_) => write_unsynced_dir(&self.backup_path, previous),
        }
    }

    fn unusable(&self, problem: StateProblem) -> StateError {
        StateError::Unusable {
            path: self.path.clone(),
            problem,
        }
    }

    fn read_existing(&self) -> Result<Option<Result<BootstrapState, StateProblem>>, StateError> {
        Ok(match self.read_existing_bytes() {
            Ok(Some(bytes)) => Some(parse_state(&bytes)),
            Ok(None) => None,
            Err(StateError::Unusable { problem, .. }) => Some(Err(problem)),
            Err(e) => return Err(e),
        })
    }

    /// The file's bytes, `None` when absent, `Unusable(NotAFile)` for a directory etc.
    fn read_existing_bytes(&self) -> Result<Option<Vec<u8>>, StateError> {
        match fs::metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io("inspect the state file", &self.path, e)),
            Ok(meta) if !meta.is_file() => return Err(self.unusable(StateProblem::NotAFile)),
            Ok(_) => {}
        }
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io("read the state file", &self.path, e)),
        }
    }

    fn move_aside(&self, problem: &StateProblem, now: Timestamp) -> Result<PathBuf, StateError> {
        let reason = match problem {
            StateProblem::NewerVersion { .. } => "newer-version",
            StateProblem::NotOurs { .. } => "not-ours",
            StateProblem::Empty
            | StateProblem::Truncated { .. }
            | StateProblem::NotJson { .. }
            | StateProblem::NotAFile => "corrupt",
        };
        let stamp = now.to_file_name_part();
        let target = (1..)
            .map(|n| match n {
                1 => with_suffix(&self.path, &format!(".{stamp}.{reason}")),
                n => with_suffix(&self.path, &format!(".{stamp}-{n}.{reason}")),
            })
            .find(|candidate| fs::symlink_metadata(candidate).is_err())
            .unwrap_or_else(|| unreachable!("an unbounded range always yields a free name"));
        fs::rename(&self.path, &target)
            .map_err(|e| StateError::io("move aside the unusable state file", &self.path, e))?;
        sync_dir(parent_dir(&self.path))?;
        Ok(target)
    }

    /// Create the state directory (0700) when missing; the default `~/.kalypso` is ours,
    /// so it is also tightened to 0700 when it exists looser.
    fn ensure_dir(&self) -> Result<(), StateError> {
        let dir = parent_dir(&self.path);
        if !dir.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(|e| StateError::io("create the state directory", dir, e))?;
        }
        if self.is_default {
            let meta = fs::metadata(dir)
                .map_err(|e| StateError::io("inspect the state directory", dir, e))?;
            if meta.permissions().mode() & 0o777 != DIR_MODE {
                fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
                    .map_err(|e| StateError::io("restrict the state directory to 0700", dir, e))?;
            }
        }
        Ok(())
    }
}

/// `path` with `suffix` appended to its file name (`x.json` + `.bak` = `x.json.bak`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into())
}

/// Temp file in the same directory (so the rename cannot cross file systems), fsync,
/// rename over the target, fsync the directory so the rename itself is durable.
/// A crash leaves at worst a `.<name>.*.tmp` file, which no loader reads.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    write_unsynced_dir(path, bytes)?;
    sync_dir(parent_dir(path))
}

/// [`write_atomically`] without the directory sync: the rename becomes durable with the
/// next sync of the same directory.
fn write_unsynced_dir(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = parent_dir(path);
    let name = file_name(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| StateError::io("create a temporary file in", dir, e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| StateError::io("write", temp.path().to_path_buf(), e))?;
    let file: File = temp
        .persist(path)
        .map_err(|e| StateError::io("replace", path, e.error))?;
    drop(file);
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StateError::io("sync the directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_paths_follow_the_default_and_custom_rules() {
        let home = Path::new("/home/u");
        let default = StateStore::at_default(home);
        assert_eq!(
            default.path(),
            Path::new("/home/u/.kalypso/bootstrap-state.json")
        );
        assert_eq!(
            default.backup_path(),
            Path::new("/home/u/.kalypso/.bootstrap-state.json.bak")
        );
        // A run given the default path (as the engine is) uses the same backup.
        assert_eq!(
            StateStore::at_custom("/home/u/.kalypso/bootstrap-state.json"),
            StateStore::at_default(home)
        );
        let custom = StateStore::at_custom("/tmp/x/my-state.json");
        assert_eq!(custom.backup_path(), Path::new("/tmp/x/my-state.json.bak"));
        assert_eq!(custom.lock_path(), Path::new("/tmp/x/my-state.json.lock"));
        assert_eq!(
            StateStore::from_option(None, home),
            StateStore::at_default(home)
        );
        assert!(!StateStore::from_option(Some(Path::new("s.json")), home).is_default());
    }

    #[test]
    fn the_previous_file_itself_becomes_the_backup() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::at_custom(dir.path().join("state.json"));
        let at = Timestamp::new(time::macros::datetime!(2025-01-01 0:00 UTC));
        let mut state = BootstrapState::new(at);
        store.save(&state).unwrap();
        assert!(!store.backup_path().exists(), "no backup of nothing");
        let first = fs::read(store.path()).unwrap();
        let first_inode = fs::metadata(store.path()).unwrap().ino();

        state.push_error("second", at);
        store.save(&state).unwrap();
        // No copy was written: the backup is the first save's file (same inode), and the
        // state file is a new one.
        assert_eq!(fs::read(store.backup_path()).unwrap(), first);
        assert_eq!(
            fs::metadata(store.backup_path()).unwrap().ino(),
            first_inode
        );
        assert_ne!(fs::metadata(store.path()).unwrap().ino(), first_inode);
        assert_eq!(store.load().unwrap().unwrap().errors, vec!["second"]);
        let mode = fs::metadata(store.backup_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, FILE_MODE);

        state.push_error("third", at);
        store.save(&state).unwrap();
        let backup = parse_state(&fs::read(store.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.errors, vec!["second"]);
        assert_eq!(fs::metadata(store.path()).unwrap().nlink(), 1);
        assert_eq!(fs::metadata(store.backup_path()).unwrap().nlink(), 1);
        // Nothing temporary is left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn problems_are_classified() {
        assert_eq!(parse_state(b"  \n").unwrap_err(), StateProblem::Empty);
        assert!(matches!(
            parse_state(b"{\"version\": \"1.0\", \"timest").unwrap_err(),
            StateProblem::Truncated { line: 1, .. }
        ));
        assert!(matches!(
            parse_state(b"version=1.0\n").unwrap_err(),
            StateProblem::NotJson {
                line: 1,
                column: 1,
                ..
            }
        ));
        assert!(matches!(
            parse_state(b"[1,2]").unwrap_err(),
            StateProblem::NotOurs { detail } if detail.contains("an array")
        ));
        assert!(matches!(
            parse_state(br#"{"name":"x"}"#).unwrap_err(),
            StateProblem::NotOurs { detail } if detail.contains("no \"version\"")
        ));
        assert!(matches!(
            parse_state(br#"{"version":"abc"}"#).unwrap_err(),
            StateProblem::NotOurs { detail } if detail.contains("MAJOR.MINOR")
        ));
        assert!(matches!(
            parse_state(br#"{"version":"0.9"}"#).unwrap_err(),
            StateProblem::NotOurs { detail } if detail.contains("older")
        ));
        assert_eq!(
            parse_state(br#"{"version":"1.1"}"#).unwrap_err(),
            StateProblem::NewerVersion {
                found: "1.1".into()
            }
        );
        assert_eq!(
            parse_state(br#"{"version":"2.0","anything":true}"#).unwrap_err(),
            StateProblem::NewerVersion {
                found: "2.0".into()
            }
        );
        assert!(matches!(
            parse_state(br#"{"version":"1.0","status":"done"}"#).unwrap_err(),
            StateProblem::NotOurs { .. }
        ));
    }

    #[test]
    fn a_schema_mismatch_names_the_field_path() {
        let mut json: serde_json::Value = serde_json::from_str(
            &BootstrapState::new(Timestamp::new(time::macros::datetime!(2025-01-01 0:00 UTC)))
                .to_json(),
        )
        .unwrap();
        json["cluster"]["region"] = serde_json::json!(42);
        let problem = parse_state(json.to_string().as_bytes()).unwrap_err();
        match problem {
            StateProblem::NotOurs { detail } => {
                assert!(detail.contains("cluster.region"), "{detail}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_resource_kinds_and_identifiers_are_not_ours() {
        let mut state =
            BootstrapState::new(Timestamp::new(time::macros::datetime!(2025-01-01 0:00 UTC)));
        state.record_resource(
            crate::state::Resource::Namespace {
                kube_context: "c".into(),
                name: "n".into(),
            },
            crate::state::Ownership::CreatedByUs,
            crate::state::ResourceStatus::Present,
            None,
            state.timestamp,
        );
        let json: serde_json::Value = serde_json::from_str(&state.to_json()).unwrap();
        assert!(parse_state(json.to_string().as_bytes()).is_ok());

        let mut extra_identifier = json.clone();
        extra_identifier["resources"][0]["resource"]["identifiers"]["token"] = "x".into();
        let mut unknown_kind = json.clone();
        unknown_kind["resources"][0]["resource"]["kind"] = "dns_zone".into();
        for (label, bad) in [("identifier", extra_identifier), ("kind", unknown_kind)] {
            match parse_state(bad.to_string().as_bytes()).unwrap_err() {
                StateProblem::NotOurs { detail } => {
                    assert!(detail.contains("resources[0]"), "{label}: {detail}")
                }
                other => panic!("{label}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn a_contract_only_file_without_steps_or_resources_is_read() {
        let text = r#"{
          "version": "1.0", "timestamp": "2025-11-11T10:30:45Z", "status": "completed",
          "cluster": {"created": true, "name": "demo", "resourceGroup": "demo-rg", "region": "eastus", "kubeContext": "demo"},
          "repositories": {
            "controlPlane": {"created": true, "name": "cp", "owner": "o", "url": "https://github.com/o/cp"},
            "gitops": {"created": false, "name": "g", "owner": "o", "url": "https://github.com/o/g"}},
          "installation": {"namespace": "kalypso-system", "helmRelease": "kalypso-scheduler", "version": "1.1.2-alpha"},
          "errors": []
        }"#;
        let state = parse_state(text.as_bytes()).unwrap();
        assert_eq!(state.cluster.name.as_deref(), Some("demo"));
        assert!(state.steps.is_empty() && state.resources.is_empty());
    }
}
