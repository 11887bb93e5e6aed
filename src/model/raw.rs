//! Serde shapes of the repository's files, exactly as written (camelCase,
//! Karmada-shaped). Every struct denies unknown fields so a typo is an
//! error naming the field. Nothing here is checked beyond its YAML type:
//! [`super::validate`] turns these into the model types.
//!
//! Every tranche file is a YAML document with the same envelope:
//!
//! ```yaml
//! apiVersion: tranche.dev/v1alpha1
//! kind: Cluster            # Cluster | Placement | Override | RolloutPolicy |
//!                          # DiffPolicy | AccessPolicy | Repository
//! metadata:
//!   name: eu-west-1
//!   labels: {region: eu-west}
//! spec: {}
//! ```

pub mod analysis;
pub mod overrides;
pub mod placement;
pub mod policy;
pub mod workload;

pub use overrides::*;
pub use placement::*;
pub use policy::*;
pub use workload::*;

use serde::Deserialize;
use std::collections::BTreeMap;

/// The `apiVersion` of every tranche file.
pub const API_VERSION: &str = "tranche.dev/v1alpha1";

/// The envelope shared by every tranche file; `S` is the kind's `spec`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(bound = "S: schemars::JsonSchema + Default")]
pub struct Document<S> {
    /// Always `tranche.dev/v1alpha1`.
    pub api_version: String,
    /// Which file kind this is.
    pub kind: String,
    /// Name and labels.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The kind's settings; omitted means all defaults.
    #[serde(default)]
    pub spec: S,
}

/// `metadata` of a tranche file.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// Name. Required for clusters (and must equal the file name) and for
    /// policies (so `tranche.yaml` can pick one); optional elsewhere.
    pub name: Option<String>,
    /// Labels. On clusters they are what label selectors match
    /// (region, env, tier, cloud, …).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `spec` of `kind: Cluster` (`clusters/<name>.yaml`).
///
/// ```yaml
/// apiVersion: tranche.dev/v1alpha1
/// kind: Cluster
/// metadata:
///   name: eu-west-1            # must equal the file name (eu-west-1.yaml)
///   labels: {region: eu-west, env: prod, tier: "1", cloud: aws}
/// spec:
///   context: prod-eu-west-1    # kubeconfig context; default: the name
///   rolloutOrder: 0            # optional; lower goes first
/// ```
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// kubeconfig context used to reach the cluster. Default: the cluster name.
    pub context: Option<String>,
    /// Explicit position in every rollout: lower values go first (e.g. `0`
    /// for a canary), clusters without one follow in name order.
    pub rollout_order: Option<i64>,
}

/// `spec` of `kind: Repository` (the optional `tranche.yaml` at the fleet
/// root): settings for the whole repository.
///
/// ```yaml
/// apiVersion: tranche.dev/v1alpha1
/// kind: Repository
/// spec:
///   defaultNamespace: default
///   policies: {rollout: careful}
///   clusterScopedKinds: [ClusterPolicy]
/// ```
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositorySpec {
    /// Namespace given to objects of namespaced kinds that set none.
    /// Default: `default`.
    pub default_namespace: Option<String>,
    /// Which policy document of each kind applies, by `metadata.name`, when
    /// `policies/` holds several of that kind. Not needed when there is at
    /// most one per kind.
    #[serde(default)]
    pub policies: PolicySelection,
    /// Extra cluster-scoped kinds (custom resources such as cert-manager's
    /// `ClusterIssuer` or Kyverno's `ClusterPolicy`), so they get no default
    /// namespace. Well-known Kubernetes kinds are built in.
    #[serde(default)]
    pub cluster_scoped_kinds: Vec<String>,
}

/// `spec.policies` of `tranche.yaml`: the `metadata.name` of the policy
/// document to use for each kind.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySelection {
    /// Name of the `RolloutPolicy` to use.
    pub rollout: Option<String>,
    /// Name of the `DiffPolicy` to use.
    pub diff: Option<String>,
    /// Name of the `AccessPolicy` to use.
    pub access: Option<String>,
}
