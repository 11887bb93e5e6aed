//! Staged rollouts of one commit over the fleet.
//!
//! Pure core: which clusters go in which batch ([`batch`]), whether objects
//! and batches are healthy ([`health`]), what is persisted ([`record`]).
//! Around it: the durable [`store`], the async health gate ([`gate`]), and
//! the resumable step machine ([`engine`], [`rollback`]) that reports what it
//! does as [`event`]s.

pub mod batch;
pub mod engine;
pub mod event;
pub mod gate;
pub mod health;
pub mod record;
pub mod rollback;
pub mod store;

pub use batch::{batch_sizes, order_clusters, plan_batches};
pub use health::{evaluate, evaluate_live, GateVerdict, Health, Pending};
pub use store::{StateStore, StoreError, StoreLock};
