//! The single writer of the Bootstrap State during a run. Steps, the orchestrator and
//! rollback all change the state through one [`StateHandle`]; every change is saved
//! atomically before the call returns, so the file on disk never lags behind what a step
//! has done (a crash at any moment leaves resume and rollback an accurate record).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::state::{
    BootstrapState, Ownership, Resource, ResourceStatus, StateError, StateStore, Timestamp,
};

/// Shared, cloneable access to the run's state and the store it is saved to.
///
/// Writes are serialised by a mutex and the save happens while it is held, so saves reach
/// the disk in the order the changes were made. A save is a small atomic file write
/// (about a millisecond); it runs on the caller's task rather than a writer task so that
/// "recorded" means "on disk" when the call returns.
#[derive(Clone, Debug)]
pub struct StateHandle {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    state: BootstrapState,
    store: StateStore,
}

impl StateHandle {
    /// Take charge of `state`, saved to `store`. Nothing is written until the first change.
    pub fn new(state: BootstrapState, store: StateStore) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner { state, store })),
        }
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> BootstrapState {
        self.lock().state.clone()
    }

    /// Read the state without copying it.
    pub fn read<R>(&self, read: impl FnOnce(&BootstrapState) -> R) -> R {
        read(&self.lock().state)
    }

    /// Change the state and save it. The change stays in memory even when the save
    /// fails, so the next successful save still writes it.
    pub fn update<R>(
        &self,
        change: impl FnOnce(&mut BootstrapState) -> R,
    ) -> Result<R, StateError> {
        let mut inner = self.lock();
        let result = change(&mut inner.state);
        inner.store.save(&inner.state)?;
        Ok(result)
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
        self.lock().store.path().to_path_buf()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A step that panicked inside `update` must not silence every later save: what the
        // state holds is still the best record of what happened, so keep using it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
