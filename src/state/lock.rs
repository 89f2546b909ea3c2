//! One run per state file: an exclusive `flock` on `<state>.lock`, taken without waiting.
//! The kernel drops the lock when its holder dies, so a lock file left by a killed run
//! (with a dead PID inside) never blocks; the PID is only there to name the holder.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;

use super::error::{LockHolder, StateError};

/// How long to wait for a holder that has just locked to write its PID.
const PID_WAIT: Duration = Duration::from_millis(300);

/// The held lock; released when dropped (and by the kernel if the process dies).
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

impl StateLock {
    /// `<state>.lock`.
    pub fn lock_path_for(state_path: &Path) -> PathBuf {
        let mut name = state_path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Take the lock for `state_path` at once, or fail naming the holder's PID. The
    /// state file's directory must exist.
    pub fn acquire(state_path: &Path) -> Result<Self, StateError> {
        let path = Self::lock_path_for(state_path);
        // Looked at before opening: opening a device or a FIFO can itself do something.
        match std::fs::symlink_metadata(&path) {
            Ok(meta) => check_lock_file(&path, &meta)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("inspect the lock file", &path, e)),
        }
        // No truncation on open: the file may belong to a live holder whose PID we must read.
        // O_NOFOLLOW: a symlink put there is refused, never followed (and its target never
        // truncated); O_NONBLOCK: a FIFO swapped in after the check cannot hang the open.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => StateError::UnsafeLock {
                    path: path.clone(),
                    rule: "it is a symbolic link; the lock is never followed to another file",
                },
                _ => StateError::io("open the lock file", &path, e),
            })?;
        // The file opened is the one checked (nothing swapped in between).
        let opened = file
            .metadata()
            .map_err(|e| StateError::io("inspect the lock file", &path, e))?;
        check_lock_file(&path, &opened)?;
        let locked =
            FileExt::try_lock_exclusive(&file).map_err(|e| StateError::io("lock", &path, e))?;
        if !locked {
            return Err(StateError::Locked {
                state_path: state_path.to_path_buf(),
                holder: LockHolder {
                    pid: read_holder_pid(&mut file),
                },
                lock_path: path,
            });
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| writeln!(file, "{pid}"))
            .and_then(|()| file.sync_all())
            .map_err(|e| StateError::io("write our PID into the lock file", &path, e))?;
        Ok(Self { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // The file stays: deleting it would let a waiter lock the unlinked inode while a
        // newcomer locks a fresh file. Emptying it says nobody holds it.
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

/// A lock file we may use: a regular file of ours with no other name (its contents are
/// replaced by our PID, which must never reach another file).
fn check_lock_file(path: &Path, meta: &std::fs::Metadata) -> Result<(), StateError> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |rule| {
        Err(StateError::UnsafeLock {
            path: path.to_path_buf(),
            rule,
        })
    };
    if meta.file_type().is_symlink() {
        return refuse("it is a symbolic link; the lock is never followed to another file");
    }
    if !meta.is_file() {
        return refuse("it is not a regular file");
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if meta.uid() != unsafe { libc::geteuid() } {
        return refuse("it belongs to another user, so this tool did not create it");
    }
    if meta.nlink() != 1 {
        return refuse(
            "it has another name (a hard link), so it is not a lock file this tool created",
        );
    }
    Ok(())
}

/// The PID the holder wrote, waiting briefly in case it locked but has not written yet.
fn read_holder_pid(file: &mut File) -> Option<u32> {
    let deadline = Instant::now() + PID_WAIT;
    loop {
        let mut text = String::new();
        let read = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text));
        if read.is_ok() {
            if let Ok(pid) = text.trim().parse::<u32>() {
                return Some(pid);
            }
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
