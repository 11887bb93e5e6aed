//! tranche: a GitOps reconciler for fleets of Kubernetes clusters.
//!
//! Data flows one way, and the modules follow it:
//!
//! ```text
//! git ──► model ──► render ──► plan ──► rollout ──► report
//! (tree    (validated (objects   (desired  (batches,   (statuses,
//!  snapshot) fleet)    per         × live)   health,     badges,
//!                      cluster)              rollback)   notes)
//! ```
//!
//! * [`kinds`] is the one table of Kubernetes kinds, keyed by (group, kind),
//!   that every stage reads (scope, workloads, pod specs, health, apply order).
//! * [`git`] reads a commit's tree (never the work tree) into a [`git::Snapshot`].
//! * [`sources`] renders Kustomize and Helm chart apps of a snapshot with
//!   the real tools (cached), so the model reads their output as manifests.
//! * [`model`] turns a snapshot into a validated [`model::Fleet`]; every error
//!   names its file and field.
//! * [`render`] is pure: fleet × cluster → Kubernetes objects (placement,
//!   Webster replica split, HPA split, overrides, tracking labels).
//! * [`plan`] compares desired objects with live ones (normalized, masked).
//! * [`cluster`] is the one seam to clusters: kube-rs for real apiservers, a
//!   directory driver as the embedded default.
//! * [`apply`] applies one cluster's plan (server-side apply, inventory, prune).
//! * [`rollout`] stages a commit over batches of clusters with health gates
//!   and rolls back to the last good commit.
//! * [`report`] tells the outcome: forge commit statuses, badges, git notes, metrics.
//! * [`daemon`] ties it together: watch git, queue commits, serve HTTP and
//!   the web view.
//! * [`shard`] spreads the fleet over replicas (shard Leases, a coordinator
//!   advancing batches, progress in ConfigMaps of the management cluster).
//! * [`schema`] gives editors JSON Schemas of the file kinds, from [`model`]'s types.
//! * [`progress`] keeps progress lines in logs short (changes and heartbeats).
//!
//! [`yaml`] is the one YAML parser and emitter; [`limits`] bounds how much
//! input one commit may hold.

pub mod apply;
pub mod cli;
pub mod cluster;
pub mod daemon;
pub mod durable;
pub mod git;
pub mod inventory;
pub mod kinds;
pub mod limits;
pub mod model;
pub mod object;
pub mod outcome;
pub mod plan;
pub mod progress;
pub mod render;
pub mod report;
pub mod revision;
pub mod rollout;
pub mod schema;
pub mod shard;
pub mod sources;
pub mod yaml;
