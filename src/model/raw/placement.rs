//! Serde shapes of `apps/<app>/placement.yaml` and of the cluster targets
//! and label selectors that placements and overrides share.
//!
//! ```yaml
//! apiVersion: tranche.dev/v1alpha1
//! kind: Placement
//! spec:
//!   clusterAffinity:
//!     labelSelector:
//!       matchLabels: {env: prod}
//!       matchExpressions:
//!         - {key: region, operator: In, values: [eu-west, us-east]}
//!     exclude: [us-east-3]
//!   replicaScheduling:
//!     replicaSchedulingType: Divided
//!     weightPreference:
//!       staticWeightList:
//!         - targetCluster: {labelSelector: {matchLabels: {region: eu-west}}}
//!           weight: 2
//!         - targetCluster: {clusterNames: [us-east-1]}
//!           weight: 1
//!   hpa: {mode: Split}
//!   namespace: shop        # for objects that set no namespace
//!   failover: {after: 5m, minClusters: 1}
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;

/// `spec` of `kind: Placement`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementSpec {
    /// Which clusters the app goes to. Required.
    pub cluster_affinity: Option<ClusterAffinity>,
    /// How workload replicas are spread. Default: `Duplicated`.
    pub replica_scheduling: Option<ReplicaScheduling>,
    /// How HPAs are handled. Default: `Split` when Divided, else `Duplicate`.
    pub hpa: Option<HpaSettings>,
    /// Namespace given to the app's namespaced objects that set none
    /// (instead of the repository's `defaultNamespace`); checked against
    /// the AccessPolicy like any namespace the objects name.
    pub namespace: Option<String>,
    /// A weighted migration of the replicas from some clusters to others.
    pub migration: Option<Migration>,
    /// Opt-in failover: a placed cluster down for `after` gives its
    /// replicas to the others until it is healthy again for `after`.
    pub failover: Option<Failover>,
}

/// `spec.failover`: `{after: 5m, minClusters: 1}`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failover {
    /// How long a cluster must be unreachable or unhealthy before its
    /// replicas move, and healthy again before they return (`5m`, `30s`).
    pub after: Option<String>,
    /// Fewest clusters that must keep the app's replicas; a failover that
    /// would leave fewer is refused and reported. Default 1.
    pub min_clusters: Option<i64>,
}

/// `spec.migration`: move the replicas of `from` to `to` in steps; `step`
/// (1-based, 0 = not started) is the current one, one commit per step.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Migration {
    /// Clusters the replicas leave (each must be placed).
    #[serde(default)]
    pub from: Vec<String>,
    /// Clusters the replicas go to (each must be placed).
    #[serde(default)]
    pub to: Vec<String>,
    /// Share of the migrating replicas on `to` at each step, increasing,
    /// ending at 100: `[10%, 50%, 100%]` or `[10, 50, 100]`.
    #[serde(default)]
    pub steps: Vec<Percent>,
    /// Current step: 1..=len(steps), or 0 (declared, not started).
    pub step: Option<i64>,
}

/// A percentage written `50%` or `50`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Percent {
    /// `50`.
    Number(i64),
    /// `"50%"`.
    Text(String),
}

/// `spec.clusterAffinity`. As in Karmada, a cluster is selected when it is
/// in `clusterNames` (if set), matches `labelSelector` (if set) and is not
/// in `exclude`. With `followApps`, the app goes wherever those apps go,
/// minus `exclude`. An affinity that sets nothing at all is an error: write
/// `labelSelector: {}` to mean every cluster.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterAffinity {
    /// Clusters selected by name (each must have a `clusters/<name>.yaml`).
    #[serde(default)]
    pub cluster_names: Vec<String>,
    /// Clusters selected by their labels; `{}` selects every cluster.
    pub label_selector: Option<LabelSelector>,
    /// Clusters removed from the selection.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Go wherever these apps go (the union of their clusters): how a
    /// ConfigMap or Secret shared by several apps is placed. Cannot be
    /// combined with `clusterNames` or `labelSelector`.
    #[serde(default)]
    pub follow_apps: Vec<String>,
}

/// A set of clusters for a weight or an override rule: a cluster is in it
/// when it is in `clusterNames` (if set), matches `labelSelector` (if set)
/// and is not in `exclude`. All omitted = every cluster.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterTarget {
    /// Clusters selected by name.
    #[serde(default)]
    pub cluster_names: Vec<String>,
    /// Clusters selected by labels.
    pub label_selector: Option<LabelSelector>,
    /// Clusters removed from the selection.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// A Kubernetes label selector over cluster labels.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// Every pair must be present with this value.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// Every requirement must hold.
    #[serde(default)]
    pub match_expressions: Vec<SelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectorRequirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: SelectorOperator,
    /// Values: required for `In`/`NotIn`, forbidden for `Exists`/`DoesNotExist`.
    #[serde(default)]
    pub values: Vec<String>,
}

/// `matchExpressions[].operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum SelectorOperator {
    /// Label present with one of the values.
    In,
    /// Label absent or with none of the values.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
}

/// `spec.replicaScheduling`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplicaScheduling {
    /// `Duplicated` (every cluster runs the full replica count, the default)
    /// or `Divided` (replicas split by `weightPreference`).
    #[serde(default)]
    pub replica_scheduling_type: SchedulingType,
    /// Weights for `Divided`.
    pub weight_preference: Option<WeightPreference>,
}

/// `replicaSchedulingType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum SchedulingType {
    /// Full replica count everywhere.
    #[default]
    Duplicated,
    /// Replicas split by static weights (Webster / Sainte-Laguë).
    Divided,
}

/// `weightPreference`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightPreference {
    /// One weight per cluster set; a cluster in several sets takes the
    /// largest weight; a selected cluster in none gets no replicas.
    #[serde(default)]
    pub static_weight_list: Vec<StaticWeight>,
    /// `AvailableReplicas`: weights from each cluster's free capacity
    /// (allocatable minus requested CPU/memory of its schedulable nodes,
    /// divided by the pod template's requests); `staticWeightList` is then
    /// the fallback when no capacity is known (e.g. `tranche render`).
    pub dynamic_weight: Option<DynamicWeightName>,
}

/// `weightPreference.dynamicWeight`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum DynamicWeightName {
    /// Weights = replicas of the pod that still fit on each cluster.
    AvailableReplicas,
}

/// One `staticWeightList` entry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaticWeight {
    /// Clusters this weight applies to.
    #[serde(default)]
    pub target_cluster: ClusterTarget,
    /// Weight, at least 1.
    pub weight: i64,
}

/// `spec.hpa`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaSettings {
    /// `Split` divides minReplicas/maxReplicas by the workload's weights
    /// (Divided only); `Duplicate` copies the HPA unchanged to every cluster.
    pub mode: HpaModeName,
}

/// `spec.hpa.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum HpaModeName {
    /// Split bounds by weight.
    Split,
    /// Copy unchanged.
    Duplicate,
}
