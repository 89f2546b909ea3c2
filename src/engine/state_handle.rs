//! The single writer of the Bootstrap State during a run. Steps, the orchestrator and
//! rollback all change the state through one [`StateHandle`], and every change is saved
//! atomically.
//!
//! Saving is a group commit: changes are numbered, and one save writes the latest state,
//! covering every change made before it. Callers that need a change on disk before they
//! go on (a step recording a resource before creating it) wait for it
//! ([`StateHandle::update`], [`StateHandle::flush`]); the orchestrator's own bookkeeping
//! ([`StateHandle::update_deferred`]) is saved in the background so scheduling the next
//! step never waits for the disk.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::state::{
    BootstrapState, Ownership, Resource, ResourceStatus, StateError, StateStore, Timestamp,
};

/// The number of a change: saved once the saved generation reaches it.
pub type Generation = u64;

/// Shared, cloneable access to the run's state and the store it is saved to.
#[derive(Clone, Debug)]
pub struct StateHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    memory: Mutex<Memory>,
    /// Held while writing, so saves reach the disk one at a time and in order.
    disk: Mutex<Disk>,
}

#[derive(Debug)]
struct Memory {
    state: BootstrapState,
    generation: Generation,
}

#[derive(Debug)]
struct Disk {
    store: StateStore,
    saved: Generation,
}

impl StateHandle {
    /// Take charge of `state`, saved to `store`. Nothing is written until the first change.
    pub fn new(state: BootstrapState, store: StateStore) -> Self {
        Self {
            shared: Arc::new(Shared {
                memory: Mutex::new(Memory {
                    state,
                    generation: 0,
                }),
                disk: Mutex::new(Disk { store, saved: 0 }),
            }),
        }
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> BootstrapState {
        self.memory().state.clone()
    }

    /// Read the state without copying it.
    pub fn read<R>(&self, read: impl FnOnce(&BootstrapState) -> R) -> R {
        read(&self.memory().state)
    }

    /// Change the state and save it before returning. The change stays in memory even
    /// when the save fails, so the next successful save still writes it.
    pub fn update<R>(
        &self,
        change: impl FnOnce(&mut BootstrapState) -> R,
    ) -> Result<R, StateError> {
        let (result, generation) = self.update_deferred(change);
        without_stalling_the_runtime(|| self.persist(generation))?;
        Ok(result)
    }

    /// Change the state in memory only; returns the change's number for
    /// [`flush`](Self::flush) / [`persist`](Self::persist) /
    /// [`save_in_background`](Self::save_in_background).
    pub fn update_deferred<R>(
        &self,
        change: impl FnOnce(&mut BootstrapState) -> R,
    ) -> (R, Generation) {
        let mut memory = self.memory();
        let result = change(&mut memory.state);
        memory.generation += 1;
        (result, memory.generation)
    }

    /// Make sure change `generation` (and every earlier one) is on disk; blocks while
    /// writing. A save already covering it returns at once.
    pub fn persist(&self, generation: Generation) -> Result<(), StateError> {
        let mut disk = self.disk();
        if disk.saved >= generation {
            return Ok(());
        }
        let (snapshot, latest) = {
            let memory = self.memory();
            (memory.state.clone(), memory.generation)
        };
        disk.store.save(&snapshot)?;
        disk.saved = latest;
        Ok(())
    }

    /// [`persist`](Self::persist) off the async worker threads.
    pub async fn flush(&self, generation: Generation) -> Result<(), StateError> {
        if self.disk().saved >= generation {
            return Ok(());
        }
        let handle = self.clone();
        match tokio::task::spawn_blocking(move || handle.persist(generation)).await {
            Ok(result) => result,
            // The blocking pool is shutting down: write here instead.
            Err(_) => self.persist(generation),
        }
    }

    /// Start saving change `generation` without waiting. A failure is not lost: the
    /// change stays unsaved and the next waited-for save writes it (or reports the error).
    pub fn save_in_background(&self, generation: Generation) {
        let handle = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || {
                    let _ = handle.persist(generation);
                });
            }
            Err(_) => {
                let _ = handle.persist(generation);
            }
        }
    }

    /// Save the state as it is.
    pub fn save(&self) -> Result<(), StateError> {
        self.update(|_| ())
    }

    /// Record a resource (see [`BootstrapState::record_resource`]) and save.
    pub fn record_resource(
        &self,
        resource: Resource,
        ownership: Ownership,
        status: ResourceStatus,
        step: Option<&str>,
    ) -> Result<(), StateError> {
        self.update(|state| {
            state.record_resource(resource, ownership, status, step, Timestamp::now())
        })
    }

    /// Where the state is saved.
    pub fn path(&self) -> PathBuf {
        self.disk().store.path().to_path_buf()
    }

    // A step that panicked inside `update` must not silence every later save: what the
    // state holds is still the best record of what happened, so keep using it.
    fn memory(&self) -> MutexGuard<'_, Memory> {
        self.shared
            .memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.shared
            .disk
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Run blocking file I/O called from async code without holding up the other tasks on
/// this worker: on a multi-threaded runtime, tokio moves them elsewhere meanwhile.
fn without_stalling_the_runtime<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RunStatus;

    fn handle() -> (tempfile::TempDir, StateHandle) {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::at_custom(dir.path().join("state.json"));
        (
            dir,
            StateHandle::new(BootstrapState::new(Timestamp::now()), store),
        )
    }

    fn on_disk(dir: &tempfile::TempDir) -> Option<BootstrapState> {
        StateStore::at_custom(dir.path().join("state.json"))
            .load()
            .unwrap()
    }

    #[test]
    fn update_is_on_disk_when_it_returns() {
        let (dir, handle) = handle();
        handle
            .update(|s| s.set_status(RunStatus::Completed, Timestamp::now()))
            .unwrap();
        assert_eq!(on_disk(&dir).unwrap().status, RunStatus::Completed);
    }

    #[test]
    fn deferred_changes_reach_the_disk_with_the_next_save() {
        let (dir, handle) = handle();
        let ((), first) = handle.update_deferred(|s| s.push_error("one", Timestamp::now()));
        let ((), second) = handle.update_deferred(|s| s.push_error("two", Timestamp::now()));
        assert!(on_disk(&dir).is_none(), "nothing is written before a save");
        handle.persist(first).unwrap();
        // One save wrote the latest state, covering both changes.
        assert_eq!(on_disk(&dir).unwrap().errors, vec!["one", "two"]);
        // Already covered: no second write (the backup would appear with a second save).
        handle.persist(second).unwrap();
        assert!(!dir.path().join("state.json.bak").exists());
    }

    #[tokio::test]
    async fn flush_and_background_saves_write_the_latest_state() {
        let (dir, handle) = handle();
        let ((), generation) = handle.update_deferred(|s| s.push_error("bg", Timestamp::now()));
        handle.save_in_background(generation);
        handle.flush(generation).await.unwrap();
        assert_eq!(on_disk(&dir).unwrap().errors, vec!["bg"]);
    }

    #[test]
    fn a_failed_save_keeps_the_change_for_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("not-a-dir");
        std::fs::write(&blocked, "file").unwrap();
        let store = StateStore::at_custom(blocked.join("state.json"));
        let handle = StateHandle::new(BootstrapState::new(Timestamp::now()), store);
        assert!(handle
            .update(|s| s.push_error("kept", Timestamp::now()))
            .is_err());
        assert_eq!(handle.snapshot().errors, vec!["kept"]);
    }
}
