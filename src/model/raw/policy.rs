//! Serde shapes of `policies/*.yaml`: `RolloutPolicy`, `DiffPolicy` and
//! `AccessPolicy`. Every field is optional: a repository's policy changes
//! only the fields it sets, the rest keep the built-in defaults (the
//! project's own `policies/` directory).

use serde::Deserialize;
use std::collections::BTreeMap;

/// `spec` of `kind: RolloutPolicy`.
///
/// ```yaml
/// apiVersion: tranche.dev/v1alpha1
/// kind: RolloutPolicy
/// metadata: {name: default}
/// spec:
///   steps: [1, 2, 7]
///   healthTimeout: 5m
///   bakeTime: 30s
///   onFailure: Rollback
///   maxParallel: 4
///   forceConflicts: false
/// ```
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutSpec {
    /// Batch sizes over the clusters that change. Plain integers are a
    /// ratio (`[1, 2, 7]`: 10 clusters go 1, then 2, then 7). A list with a
    /// percentage (`[1, "10%", "100%"]`) gives cumulative targets: 1
    /// cluster, then up to 10 % of them, then all; it ends with `100%`.
    pub steps: Option<Vec<StepValue>>,
    /// Canary cohorts: label selectors over clusters; clusters matching
    /// the first go first, then the second's, …, then the rest.
    pub canary: Option<Vec<super::placement::LabelSelector>>,
    /// Clusters of one batch allowed to fail before the batch fails: a
    /// count (`1`) or a share of the batch (`"10%"`, rounded down).
    pub max_failures: Option<StepValue>,
    /// Least time from a batch's start until the next batch may start.
    pub min_success_time: Option<String>,
    /// Time between a batch passing its gate and the next one starting.
    pub pause_between_batches: Option<String>,
    /// Windows in which a new batch may start; outside all of them the
    /// rollout waits. Empty or unset: any time.
    pub windows: Option<Vec<Window>>,
    /// Batches that wait for a person's approval before they start.
    pub approval: Option<Approval>,
    /// How long a batch may take to become healthy (humantime: `90s`, `5m`).
    pub health_timeout: Option<String>,
    /// How long a healthy batch must stay healthy before the next one starts.
    pub bake_time: Option<String>,
    /// `Rollback` (re-apply the last good commit to every touched cluster)
    /// or `Pause` (stop and leave clusters as they are).
    pub on_failure: Option<OnFailureName>,
    /// Clusters applied at once within a batch; at least 1.
    pub max_parallel: Option<i64>,
    /// Take fields owned by other field managers on server-side apply
    /// conflicts instead of failing.
    pub force_conflicts: Option<bool>,
    /// Analysis gates run after each batch's health gate and through its
    /// bake time (see [`super::analysis`]).
    pub analysis: Option<super::analysis::AnalysisSpec>,
}

/// A count or a percentage (`3`, `"10%"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum StepValue {
    /// A number.
    Count(i64),
    /// A string such as `"10%"`.
    Text(String),
}

/// `approval`: which batches need a person.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Approval {
    /// 1-based batch numbers, e.g. `[2, 3]`: those batches start only once
    /// someone with write access approves (`/tranche approve`, or
    /// `tranche rollout approve`).
    #[serde(default)]
    pub before: Vec<i64>,
}

/// One time window (as Argo CD's sync windows): open for `duration` after
/// each time `schedule` names, in `timeZone`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Window {
    /// Five-field cron schedule of the opening times, e.g. `0 9 * * 1-5`.
    pub schedule: String,
    /// How long the window stays open after each opening (humantime).
    pub duration: String,
    /// IANA time zone of the schedule (default `UTC`).
    pub time_zone: Option<String>,
}

/// `onFailure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum OnFailureName {
    /// Roll back.
    Rollback,
    /// Pause.
    Pause,
}

/// `spec` of `kind: DiffPolicy`.
///
/// ```yaml
/// apiVersion: tranche.dev/v1alpha1
/// kind: DiffPolicy
/// metadata: {name: default}
/// spec:
///   ignore:
///     - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
///   drift: Correct
/// ```
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiffSpec {
    /// Fields never counted as a difference. Replaces the built-in list
    /// when set (copy the built-in rules you want to keep).
    pub ignore: Option<Vec<IgnoreRule>>,
    /// What a periodic resync does with drift: `Correct` (re-apply) or
    /// `Report` (only report).
    pub drift: Option<DriftName>,
}

/// One `ignore` entry: pointers removed from matching objects before diffing.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IgnoreRule {
    /// API group (`""` = core); omitted matches every group.
    pub group: Option<String>,
    /// Kind; omitted matches every kind.
    pub kind: Option<String>,
    /// Namespace; omitted matches every namespace.
    pub namespace: Option<String>,
    /// Name; omitted matches every name.
    pub name: Option<String>,
    /// RFC 6901 pointers, e.g. `/spec/replicas`; at least one.
    #[serde(default)]
    pub json_pointers: Vec<String>,
}

/// `drift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum DriftName {
    /// Re-apply.
    Correct,
    /// Only report.
    Report,
}

/// `spec` of `kind: AccessPolicy`.
///
/// ```yaml
/// apiVersion: tranche.dev/v1alpha1
/// kind: AccessPolicy
/// metadata: {name: default}
/// spec:
///   default:
///     namespaces: ["*"]
///     deniedNamespaces: [kube-system]
///     kinds: ["*"]
///     clusterScopedKinds: [Namespace]
///   apps:
///     platform-crds: {clusterScopedKinds: [Namespace, CustomResourceDefinition]}
/// ```
///
/// Patterns are exact, `*`, or a prefix ending in `*` (`team-a-*`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessSpec {
    /// Rule for apps without an entry in `apps`.
    pub default: Option<AppAccess>,
    /// Rules by app name; fields an entry omits come from `default`.
    #[serde(default)]
    pub apps: BTreeMap<String, AppAccess>,
}

/// What one app may create.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppAccess {
    /// Namespaces the app may write to (and Namespace objects it may create).
    pub namespaces: Option<Vec<String>>,
    /// Namespaces never allowed, even when matched by `namespaces`.
    pub denied_namespaces: Option<Vec<String>>,
    /// Namespaced kinds allowed.
    pub kinds: Option<Vec<String>>,
    /// Cluster-scoped kinds allowed (e.g. `Namespace`); `[]` = none.
    pub cluster_scoped_kinds: Option<Vec<String>>,
    /// Parts of an object's identity overrides may change: `apiVersion`,
    /// `kind`, `name`, `namespace`; `[]` = none.
    pub identity_overrides: Option<Vec<String>>,
}
