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
    /// Batch ratio over the clusters that change, e.g. `[1, 2, 7]`: 10
    /// clusters go 1, then 2, then 7. Every step at least 1.
    pub steps: Option<Vec<i64>>,
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
