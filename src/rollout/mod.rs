//! Staged rollouts, pure core: which clusters go in which batch
//! ([`batch`]), whether a batch is healthy ([`health`]), and where rollout
//! progress is kept across restarts ([`store`]).
//!
//! Everything here takes data and returns data (the store aside, which only
//! touches its own directory), so the orchestrator that applies clusters,
//! polls health, waits out bake time and rolls back can be driven and
//! tested step by step.

pub mod batch;
pub mod health;
pub mod store;

pub use batch::{batch_sizes, order_clusters, plan_batches};
pub use health::{evaluate, evaluate_live, gate, GateVerdict, Health, Pending};
pub use store::{StateStore, StoreError, StoreLock};
