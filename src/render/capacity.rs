//! Weights by free capacity (`weightPreference.dynamicWeight:
//! AvailableReplicas`, Karmada's name), computed purely from per-cluster
//! capacity summaries.
//!
//! A cluster's *available replicas* for a pod is, over CPU and memory, the
//! minimum of `free / request` where `free` is the sum over its schedulable
//! nodes (not cordoned, `Ready`) of allocatable minus the requests of the
//! non-terminated pods bound to that node (never below 0 per node, so an
//! overcommitted node does not eat another's room). A resource the pod does
//! not request does not limit it. Those numbers are the weights of the
//! Webster split.
//!
//! A cluster with 0 available replicas or no usable data (no summary, a
//! node without allocatable CPU or memory) is *excluded with a warning*, not
//! weighted: the seed incident was a node exporter that reported nothing
//! and got a node overloaded.
//!
//! Hysteresis: the previous weights are kept while every cluster's new
//! weight is within [`HYSTERESIS_PERCENT`] of its previous one and the set
//! of weighted clusters is the same, so replicas do not flap as pods come
//! and go.
//!
//! [`summary`] turns listed Node and Pod objects into a [`ClusterCapacity`].

pub mod app;
pub mod quantity;
pub mod summary;

use std::collections::{BTreeMap, BTreeSet};

/// A weight must change by more than this percentage of its previous
/// value (on some cluster) before new weights replace the previous ones.
pub const HYSTERESIS_PERCENT: u64 = 10;

/// CPU and memory amounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU in millicores.
    pub cpu_millis: u128,
    /// Memory in bytes.
    pub memory_bytes: u128,
}

impl Resources {
    /// Component-wise sum, saturating.
    pub fn plus(self, other: Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_add(other.memory_bytes),
        }
    }

    /// Component-wise difference, at least 0.
    pub fn minus(self, other: Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_sub(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_sub(other.memory_bytes),
        }
    }

    /// Component-wise maximum.
    pub fn max(self, other: Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.max(other.cpu_millis),
            memory_bytes: self.memory_bytes.max(other.memory_bytes),
        }
    }

    /// Whether neither CPU nor memory is requested.
    pub fn is_zero(&self) -> bool {
        self.cpu_millis == 0 && self.memory_bytes == 0
    }
}

/// What is known of one cluster's free capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterCapacity {
    /// Free CPU and memory over its schedulable nodes.
    Known(Resources),
    /// The data cannot be trusted; the reason says why (e.g. `node n1
    /// reports no allocatable cpu`).
    Broken(String),
}

/// Capacity summaries by cluster name.
pub type Capacities = BTreeMap<String, ClusterCapacity>;

/// How many pods requesting `pod` fit in `free`: the minimum over the
/// requested resources of `free / request`. `None` when `pod` requests
/// nothing (every cluster would fit infinitely many).
pub fn available_replicas(free: Resources, pod: Resources) -> Option<u64> {
    let fits = |free: u128, req: u128| (req > 0).then(|| free / req);
    let n = match (
        fits(free.cpu_millis, pod.cpu_millis),
        fits(free.memory_bytes, pod.memory_bytes),
    ) {
        (None, None) => return None,
        (Some(a), None) | (None, Some(a)) => a,
        (Some(a), Some(b)) => a.min(b),
    };
    Some(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Why a cluster got no weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityWarning {
    /// Cluster excluded.
    pub cluster: String,
    /// Why, for the operator.
    pub reason: String,
}

impl std::fmt::Display for CapacityWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cluster {} excluded from dynamic weights: {}",
            self.cluster, self.reason
        )
    }
}

/// Weights of an app's clusters from their free capacity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicWeights {
    /// Weight per weighted cluster (excluded clusters are absent).
    pub weights: BTreeMap<String, u64>,
    /// Available replicas per weighted cluster as computed now (equal to
    /// `weights` unless the hysteresis kept the previous weights).
    pub available: BTreeMap<String, u64>,
    /// Whether `weights` are the previous ones, kept by the hysteresis.
    pub kept_previous: bool,
    /// Clusters excluded, and why.
    pub warnings: Vec<CapacityWarning>,
}

/// The pod template requests neither CPU nor memory, so free capacity
/// cannot weigh the clusters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dynamicWeight: AvailableReplicas needs the pod template to request cpu or memory (resources.requests)")]
pub struct NoRequests;

/// Weights of `clusters` for a pod requesting `pod`, from `capacities`;
/// `previous` are the weights last used for this app (hysteresis).
pub fn dynamic_weights(
    clusters: &BTreeSet<String>,
    capacities: &Capacities,
    pod: Resources,
    previous: Option<&BTreeMap<String, u64>>,
) -> Result<DynamicWeights, NoRequests> {
    if pod.is_zero() {
        return Err(NoRequests);
    }
    let mut out = DynamicWeights::default();
    for cluster in clusters {
        let warn = |reason: String| CapacityWarning {
            cluster: cluster.clone(),
            reason,
        };
        match capacities.get(cluster) {
            None => out
                .warnings
                .push(warn("no capacity data (nodes and pods not read)".into())),
            Some(ClusterCapacity::Broken(reason)) => out.warnings.push(warn(reason.clone())),
            Some(ClusterCapacity::Known(free)) => match available_replicas(*free, pod) {
                Some(0) | None => out.warnings.push(warn(format!(
                    "0 available replicas (free cpu {}m, memory {} bytes)",
                    free.cpu_millis, free.memory_bytes
                ))),
                Some(n) => {
                    out.available.insert(cluster.clone(), n);
                }
            },
        }
    }
    out.weights = match previous {
        Some(prev) if within_hysteresis(prev, &out.available) => {
            out.kept_previous = true;
            prev.clone()
        }
        _ => out.available.clone(),
    };
    Ok(out)
}

/// Whether `new` is close enough to `previous` to keep `previous`: same
/// clusters, and no weight moved by more than [`HYSTERESIS_PERCENT`] of
/// its previous value.
pub fn within_hysteresis(previous: &BTreeMap<String, u64>, new: &BTreeMap<String, u64>) -> bool {
    previous.len() == new.len()
        && previous.iter().all(|(cluster, &old)| {
            new.get(cluster).is_some_and(|&now| {
                let delta = u128::from(old.abs_diff(now));
                delta * 100 <= u128::from(HYSTERESIS_PERCENT) * u128::from(old)
            })
        })
}

#[cfg(test)]
mod tests;
