//! Serde shape of `kind: WorkloadKind` (in `policies/*.yaml`): what tranche
//! needs to know about a custom workload kind, one document per API group
//! and kind.

use serde::Deserialize;

/// `spec` of `kind: WorkloadKind`.
///
/// ```yaml
/// apiVersion: tranche.dev/v1alpha1
/// kind: WorkloadKind
/// metadata: {name: openkruise-cloneset}
/// spec:
///   group: apps.kruise.io
///   kind: CloneSet
///   replicas: spec.replicas
///   podTemplate: spec.template
///   health:
///     healthy: status.observedGeneration >= metadata.generation && status.updatedReadyReplicas == spec.replicas
///   retain: [spec.updateStrategy.partition]
/// ```
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadKindSpec {
    /// API group of the kind, e.g. `apps.kruise.io` (not empty: core kinds
    /// are built in).
    pub group: Option<String>,
    /// The kind, e.g. `CloneSet`.
    pub kind: Option<String>,
    /// `Namespaced` (default) or `Cluster`.
    pub scope: Option<String>,
    /// Dotted path of the replica count, e.g. `spec.replicas`: what a
    /// Divided placement splits and an HPA owns. Omitted: not scalable.
    pub replicas: Option<String>,
    /// Dotted path of the pod template (`metadata` + `spec`), e.g.
    /// `spec.template`: where the image, command and args overriders work.
    pub pod_template: Option<String>,
    /// Health as CEL expressions over the live object. Omitted: healthy
    /// once it exists.
    pub health: Option<WorkloadHealthSpec>,
    /// Dotted paths whose live values are kept on apply (fields a
    /// controller changes), e.g. `spec.updateStrategy.partition`.
    #[serde(default)]
    pub retain: Vec<String>,
}

/// `spec.health` of a `WorkloadKind`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadHealthSpec {
    /// CEL: true once the object is healthy. Variables: `metadata`,
    /// `spec`, `status`, `apiVersion`, `kind`, `object`.
    pub healthy: Option<String>,
    /// CEL: true when the object has failed and will not recover by itself
    /// (the batch fails at once); optional.
    pub failed: Option<String>,
}
