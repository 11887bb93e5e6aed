//! The validated fleet model: what one commit of the repository says.
//!
//! Loading is two-stage (as ripgrep does config): [`raw`] holds the serde
//! shapes of the files, [`load()`] turns a [`crate::git::Snapshot`] into a
//! [`Fleet`] that cannot be invalid, collecting *every* error with the file
//! and field it concerns. Everything here is plain data; nothing does I/O.

pub mod analysis;
pub mod cron;
pub mod error;
pub mod load;
pub mod matching;
pub mod names;
pub mod policy;
pub mod raw;
pub mod selector;
pub mod staging;
pub mod validate;

pub use error::{ModelError, ModelErrors};
pub use load::{builtin_policies, load};
pub use policy::{
    AccessPolicy, AccessRequest, AppAccess, DiffPolicy, DriftMode, IdentityField, IgnoreRule,
    OnFailure, Policies, RolloutPolicy,
};
pub use selector::{LabelSelector, SelectorOp, SelectorRequirement};
pub use staging::{Allowance, Steps, Target, TimeWindow};

use serde_json::Value;
use std::collections::BTreeMap;

/// Everything one commit says: clusters, apps and policies.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    /// Full hex id of the commit the fleet was read from.
    pub commit: String,
    /// Cluster registry, by name.
    pub clusters: BTreeMap<String, Cluster>,
    /// Apps, by name.
    pub apps: BTreeMap<String, App>,
    /// Rollout, diff and access policies (repo files over built-in defaults).
    pub policies: Policies,
    /// The kinds this commit knows: built-in, the repository's
    /// `clusterScopedKinds`, and the CustomResourceDefinitions it ships.
    pub kinds: crate::kinds::KindTable,
}

/// One cluster of the registry (`clusters/<name>.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// `metadata.name`; equals the file stem.
    pub name: String,
    /// `metadata.labels` (region, env, tier, …), matched by selectors.
    pub labels: BTreeMap<String, String>,
    /// kubeconfig context used to reach it (`spec.context`, default: name).
    pub context: String,
    /// Explicit position in rollouts (`spec.rolloutOrder`); lower goes first,
    /// clusters without one go after those with one, then by name.
    pub rollout_order: Option<i64>,
    /// Path of the file it was read from, for messages.
    pub file: String,
}

/// One app (`apps/<app>/`).
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Directory name under `apps/`.
    pub name: String,
    /// Objects from `manifests/*.yaml`, in file then document order.
    pub manifests: Vec<Manifest>,
    /// Where the app goes and how replicas are split.
    pub placement: Placement,
    /// Override files from `overrides/*.yaml`, sorted by file name.
    pub overrides: Vec<OverrideFile>,
}

/// One Kubernetes object from a manifest file.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Path of the file, relative to the repo root given to tranche.
    pub file: String,
    /// 0-based index of the YAML document inside the file.
    pub doc: usize,
    /// The object as written (namespace defaulted for namespaced kinds).
    pub object: Value,
}

/// `apps/<app>/placement.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Path of the file (for messages).
    pub file: String,
    /// Which clusters the app goes to.
    pub affinity: ClusterAffinity,
    /// How workload replicas are spread.
    pub replicas: ReplicaScheduling,
    /// How HPAs that target a Divided workload are handled.
    pub hpa: HpaMode,
    /// `spec.namespace`: namespace of the app's namespaced objects that set
    /// none (`None`: the repository's default namespace).
    pub namespace: Option<String>,
    /// `spec.migration`: replicas moving from some clusters to others.
    pub migration: Option<Migration>,
    /// `weightPreference.dynamicWeight`: Divided weights come from free
    /// capacity ([`crate::render::capacity`]) when it is known.
    pub dynamic_weight: Option<DynamicWeight>,
    /// `spec.failover`: opt-in failover of down clusters.
    pub failover: Option<Failover>,
}

/// `weightPreference.dynamicWeight`, validated (only beside Divided).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamicWeight {
    /// Weights = available replicas of the workload's pod per cluster.
    AvailableReplicas,
}

/// `spec.failover`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failover {
    /// Time a cluster must stay down before it is failed over, and up
    /// before it is taken back.
    pub after: std::time::Duration,
    /// Fewest clusters that keep the replicas (at least 1).
    pub min_clusters: usize,
}

/// `spec.migration`, validated: `from` and `to` disjoint, `steps`
/// strictly increasing percentages ending at 100, `step` in `0..=steps.len()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Clusters the replicas leave.
    pub from: Vec<String>,
    /// Clusters the replicas go to.
    pub to: Vec<String>,
    /// Percent of the migrating replicas on `to` at each step.
    pub steps: Vec<u64>,
    /// Current step, 1-based; 0 = not started.
    pub step: usize,
}

impl Migration {
    /// Percent on `to` at the current step (0 before the first).
    pub fn percent(&self) -> u64 {
        self.step
            .checked_sub(1)
            .and_then(|i| self.steps.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Whether the last step (100 %) is reached: `from` runs nothing.
    pub fn done(&self) -> bool {
        self.step >= self.steps.len()
    }

    /// `migration step 2/3: 50 % to b`, for explanations and commits.
    pub fn describe(&self) -> String {
        format!(
            "migration step {}/{}: {} % to {}",
            self.step,
            self.steps.len(),
            self.percent(),
            self.to.join(", ")
        )
    }
}

/// `spec.clusterAffinity`: the clusters in `cluster_names` (if any) AND
/// matched by `label_selector` (if set), or — with `follow_apps` — the
/// union of other apps' clusters; minus `exclude` either way (see
/// [`ClusterAffinity::selects`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterAffinity {
    /// Clusters selected by name.
    pub cluster_names: Vec<String>,
    /// Clusters selected by labels.
    pub label_selector: Option<LabelSelector>,
    /// Clusters removed from the selection.
    pub exclude: Vec<String>,
    /// Apps whose clusters this app follows (union).
    pub follow_apps: Vec<String>,
}

/// The clusters in `cluster_names` (if any) AND matched by `label_selector`
/// (if set), minus `exclude`: Karmada's semantics, see
/// [`ClusterTarget::matches`]. Used by weight rules and override rules.
/// Empty names and no selector means "every cluster".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterTarget {
    /// Clusters selected by name.
    pub cluster_names: Vec<String>,
    /// Clusters selected by labels.
    pub label_selector: Option<LabelSelector>,
    /// Clusters removed from the selection.
    pub exclude: Vec<String>,
}

/// `spec.replicaScheduling`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaScheduling {
    /// Every selected cluster gets the full replica count.
    Duplicated,
    /// Replicas are split by static weights (Webster / Sainte-Laguë).
    Divided {
        /// `weightPreference.staticWeightList`.
        weights: Vec<WeightRule>,
    },
}

/// One entry of `staticWeightList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightRule {
    /// Clusters the weight applies to.
    pub target: ClusterTarget,
    /// Weight, ≥ 1.
    pub weight: u64,
}

/// `spec.hpa.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HpaMode {
    /// Split minReplicas/maxReplicas by the workload's weights (default for Divided).
    Split,
    /// Every cluster gets the HPA unchanged.
    Duplicate,
}

/// One file of `apps/<app>/overrides/`.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideFile {
    /// Path of the file (for messages).
    pub file: String,
    /// Which of the app's objects the rules touch; empty = all.
    pub resource_selectors: Vec<ResourceSelector>,
    /// `spec.overrideRules`, in file order.
    pub rules: Vec<OverrideRule>,
}

/// Picks objects of an app by apiVersion/kind/namespace/name (each optional).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceSelector {
    /// Matches `apiVersion` exactly when set.
    pub api_version: Option<String>,
    /// Matches `kind` exactly when set.
    pub kind: Option<String>,
    /// Matches `metadata.namespace` when set.
    pub namespace: Option<String>,
    /// Matches `metadata.name` when set.
    pub name: Option<String>,
}

/// One rule: a target set of clusters and what to change there.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideRule {
    /// Index of the rule in its file (for messages: `spec.overrideRules[i]`).
    pub index: usize,
    /// Where the rule applies.
    pub target: ClusterTarget,
    /// What it changes.
    pub overriders: Overriders,
}

/// The overriders of one rule, applied in this field order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overriders {
    /// RFC 6902 operations on the whole object.
    pub plaintext: Vec<PlaintextOp>,
    /// Container image changes.
    pub image: Vec<ImageOverrider>,
    /// Label changes.
    pub labels: Vec<MapOverrider>,
    /// Annotation changes.
    pub annotations: Vec<MapOverrider>,
    /// Container command changes.
    pub command: Vec<ListOverrider>,
    /// Container args changes.
    pub args: Vec<ListOverrider>,
}

/// Operator shared by the overriders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideOp {
    /// Add (or set) a value.
    Add,
    /// Remove a value.
    Remove,
    /// Replace an existing value.
    Replace,
}

/// `{path, operator, value}`: one RFC 6902 operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaintextOp {
    /// JSON pointer, e.g. `/spec/template/spec/containers/0/resources`.
    pub path: String,
    /// add | remove | replace.
    pub operator: OverrideOp,
    /// Value for add/replace.
    pub value: Option<Value>,
}

/// Which part of an image reference an image overrider changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageComponent {
    /// `registry.example.com[:port]`.
    Registry,
    /// `org/name` path after the registry.
    Repository,
    /// `:tag` (a digest `@sha256:…` also counts as the tag component).
    Tag,
}

/// `{predicate: {path}?, component, operator, value}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOverrider {
    /// JSON pointer to one image field; `None` = every container and
    /// initContainer image of the workload's pod template (or Pod).
    pub path: Option<String>,
    /// Component to change.
    pub component: ImageComponent,
    /// add | remove | replace.
    pub operator: OverrideOp,
    /// New value (ignored for remove).
    pub value: String,
}

/// `{operator, value: {k: v}}` for labels and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapOverrider {
    /// add | remove | replace.
    pub operator: OverrideOp,
    /// Keys (and values for add/replace).
    pub value: BTreeMap<String, String>,
}

/// `{containerName, operator, value: [..]}` for command and args.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOverrider {
    /// Container the change applies to.
    pub container_name: String,
    /// add appends; remove deletes matching items; replace sets the list.
    pub operator: OverrideOp,
    /// Items.
    pub value: Vec<String>,
}
