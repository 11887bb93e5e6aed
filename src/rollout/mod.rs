//! Staged rollouts of one commit over the fleet.
//!
//! Pure core: which clusters go in which batch ([`batch`]), whether objects
//! and batches are healthy ([`health`]), what is persisted ([`record`],
//! [`memory`]) and the rollout itself as a state machine ([`machine`]:
//! `(record, step result) → (record, next step)`). Around it: the
//! [`executor`] that performs the machine's steps against clusters (with
//! the async health [`gate`]) and tells [`event`]s to observers, and the
//! typed [`state`] layer over the durable [`store`]. Waits before batches
//! read the injected [`clock`].

pub mod analysis;
pub mod batch;
pub mod clock;
pub mod event;
pub mod executor;
pub mod failover;
pub mod gate;
pub mod health;
pub mod inbox;
pub mod machine;
pub mod memory;
pub mod record;
pub mod restore;
pub mod state;
pub mod store;
pub mod timings;

pub use batch::{batch_sizes, order_clusters, plan_batches};
pub use executor::{Rollout, RolloutError, RolloutReport};
pub use health::{evaluate, evaluate_live, GateVerdict, Health, Pending};
pub use state::RolloutState;
pub use store::{StateStore, StoreError, StoreLock};
