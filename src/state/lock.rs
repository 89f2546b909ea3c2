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
        // No truncation on open: the file may belong to a live holder whose PID we must read.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StateError::io("open the lock file", &path, e))?;
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
