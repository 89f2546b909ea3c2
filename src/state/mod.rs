//! The Bootstrap State entity: what a run created or reused, how far each step got, and
//! what went wrong; saved atomically beside a backup, guarded by a lock, shown by `--status`.

pub mod error;
pub mod identity;
pub mod lock;
pub mod schema;
pub mod status;
pub mod store;

pub use error::{LockHolder, StateError, StateProblem};
pub use lock::StateLock;
pub use schema::in_human_words;
pub use schema::{
    BootstrapState, ClusterIdentity, ClusterSummary, InstallationIdentity, InstallationSummary,
    InstallationWorld, Ownership, Phase, RepositoriesIdentity, RepositoriesSummary,
    RepositoryCreation, RepositoryIdentity, RepositorySummary, Resource, ResourceRecord,
    ResourceStatus, RunStatus, StepRecord, StepStatus, Timestamp, SCHEMA_VERSION,
};
pub use store::{default_state_path, parse_state, LoadOutcome, MovedAside, StateStore};
