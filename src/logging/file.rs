//! The log file: its default path, creating it with private permissions, and the UTC
//! ISO 8601 timestamps of its lines.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use super::clock::Clock;
use super::LoggingError;

/// Directory under `$HOME` holding our logs (and the state file).
pub const LOG_DIR_NAME: &str = ".kalypso";

/// Mode of a log directory we create.
pub const LOG_DIR_MODE: u32 = 0o700;

/// Mode of the log file: it can hold resource names and command output.
pub const LOG_FILE_MODE: u32 = 0o600;

/// `2025-11-11T10:30:45.123Z`
const ISO_8601_UTC_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `$HOME/.kalypso/bootstrap-{unix-timestamp}.log` for the given home and instant.
pub fn default_log_path(home: &Path, now: OffsetDateTime) -> PathBuf {
    home.join(LOG_DIR_NAME)
        .join(format!("bootstrap-{}.log", now.unix_timestamp()))
}

/// `instant` in UTC as `2025-11-11T10:30:45.123Z`.
pub fn format_iso8601_utc(instant: OffsetDateTime) -> String {
    instant
        .to_offset(time::UtcOffset::UTC)
        .format(ISO_8601_UTC_MILLIS)
        // Only years outside 0..=9999 fail, which no clock produces.
        .unwrap_or_else(|_| instant.unix_timestamp().to_string())
}

/// Why a path cannot be the log file. The log file is a regular file: we never follow a
/// symlink to another one, and never write to a device or a FIFO (`/dev/full` would lose
/// every line, a FIFO would hang the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogPathProblem {
    Symlink,
    NotARegularFile(&'static str),
}

impl std::fmt::Display for LogPathProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogPathProblem::Symlink => {
                f.write_str("is a symbolic link; the log file must be a regular file (symlinks are never followed)")
            }
            LogPathProblem::NotARegularFile(what) => write!(
                f,
                "is {what}; the log file must be a regular file"
            ),
        }
    }
}

/// `Err` when what is at `path` (not following a symlink) is a symlink or a special file;
/// `Ok` for a regular file, a directory (which fails to open with its own error) or nothing.
pub fn check_log_path(path: &Path) -> Result<(), LogPathProblem> {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(LogPathProblem::Symlink);
    }
    // A directory fails to open with its own error ("Is a directory").
    if kind.is_file() || kind.is_dir() {
        return Ok(());
    }
    Err(LogPathProblem::NotARegularFile(
        crate::file_kind::special_file_kind(&kind),
    ))
}

/// Open `path` for appending, creating missing parent directories with mode 0700 (existing
/// directories are left as they are: the path may be a shared one like /tmp). A new file is
/// created 0600; an existing regular file is appended to and keeps its mode (we never chmod
/// a file we did not create). A symlink, a device, a FIFO or a directory is refused.
pub fn open_log_file(path: &Path) -> Result<File, LoggingError> {
    let dir = log_directory(path);
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(LOG_DIR_MODE)
            .create(dir)
            .map_err(|source| LoggingError::CreateDirectory {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    let open_error = |source| LoggingError::OpenFile {
        path: path.to_path_buf(),
        source,
    };
    let refused = |problem| LoggingError::Refused {
        path: path.to_path_buf(),
        problem,
    };
    let created = OpenOptions::new()
        .create_new(true)
        .append(true)
        .mode(LOG_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path);
    match created {
        Ok(file) => {
            // Ours, just created: narrowed again in case the umask widened it.
            file.set_permissions(fs::Permissions::from_mode(LOG_FILE_MODE))
                .map_err(|source| LoggingError::SetPermissions {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok(file)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            check_log_path(path).map_err(refused)?;
            // O_NOFOLLOW and O_NONBLOCK: something swapped in after the check is refused
            // or cannot hang the open; the opened file is checked again.
            let file = OpenOptions::new()
                .append(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(path)
                .map_err(|err| match err.raw_os_error() {
                    Some(libc::ELOOP) => refused(LogPathProblem::Symlink),
                    _ => open_error(err),
                })?;
            let meta = file.metadata().map_err(open_error)?;
            if !meta.is_file() {
                return Err(refused(LogPathProblem::NotARegularFile(
                    "not a regular file",
                )));
            }
            Ok(file)
        }
        Err(err) => Err(open_error(err)),
    }
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn log_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Timestamps of file lines, from the injected clock.
pub(crate) struct UtcMillisTimer {
    pub(crate) clock: Clock,
}

impl FormatTime for UtcMillisTimer {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        w.write_str(&format_iso8601_utc(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn default_path_uses_the_unix_timestamp_of_the_given_instant() {
        let path = default_log_path(Path::new("/home/ada"), datetime!(2025-11-11 10:30:45 UTC));
        assert_eq!(
            path,
            PathBuf::from("/home/ada/.kalypso/bootstrap-1762857045.log")
        );
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds_and_z() {
        let instant = datetime!(2025-11-11 11:30:45.123456 +01:00);
        assert_eq!(format_iso8601_utc(instant), "2025-11-11T10:30:45.123Z");
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        assert_eq!(log_directory(Path::new("x.log")), Path::new("."));
        assert_eq!(log_directory(Path::new("/a/x.log")), Path::new("/a"));
    }
}
