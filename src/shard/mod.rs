//! Sharding the fleet across replicas, with Kubernetes as the coordination
//! engine (`sharding:` in the daemon config).
//!
//! * [`assign`]: which shard owns a cluster (rendezvous hash, pure).
//! * [`protocol`]: the batch plan, the shard statuses and the decisions
//!   of coordinator and shards (pure).
//! * [`objects`]: those objects as ConfigMaps in the management cluster.
//! * [`claim`]: a replica holds the Lease `tranche-shard-<i>` of one
//!   shard; spare replicas wait and take over an expired one.
//! * [`coordinator`]: the holder of the leader Lease plans each commit's
//!   batches and advances them.
//! * [`narrate`]: the coordinator tells that progress as rollout events,
//!   for the daemon's observer (forge statuses, metrics, the web view),
//!   which [`report`] feeds.
//! * [`worker`]: a shard's holder applies, gates and restores its clusters
//!   (each task performed in `work`).
//! * `run`: `tranche run` in shard mode ([`run()`]).

pub mod assign;
pub mod claim;
pub mod config;
pub mod coordinator;
pub mod narrate;
pub mod objects;
pub mod protocol;
pub mod report;
mod run;
mod work;
pub mod worker;

pub use assign::shard_of;
pub use config::ShardingConfig;
pub use run::run;
