//! Serde shapes of `apps/<app>/overrides/*.yaml` (`kind: Override`).
//!
//! ```yaml
//! apiVersion: tranche.dev/v1alpha1
//! kind: Override
//! spec:
//!   resourceSelectors:               # optional; default: every object of the app
//!     - {apiVersion: apps/v1, kind: Deployment, name: web}
//!   overrideRules:
//!     - targetCluster: {labelSelector: {matchLabels: {region: eu-west}}}
//!       overriders:
//!         plaintext:
//!           - {path: /spec/template/spec/priorityClassName, operator: add, value: high}
//!         imageOverrider:
//!           - {component: Registry, operator: replace, value: eu.registry.example.com}
//!         labelsOverrider:
//!           - {operator: add, value: {region: eu-west}}
//!         annotationsOverrider:
//!           - {operator: remove, value: {example.com/debug: ""}}
//!         commandOverrider:
//!           - {containerName: web, operator: add, value: ["--region=eu-west"]}
//!         argsOverrider:
//!           - {containerName: web, operator: replace, value: ["--verbose"]}
//! ```

use super::placement::ClusterTarget;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `spec` of `kind: Override`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverrideSpec {
    /// Which of the app's objects the rules change; each selector field is
    /// optional, an object matching any selector is changed. Omitted: all.
    #[serde(default)]
    pub resource_selectors: Vec<ResourceSelector>,
    /// Rules, applied in order. At least one.
    #[serde(default)]
    pub override_rules: Vec<OverrideRule>,
}

/// One `resourceSelectors` entry; every field set must match.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSelector {
    /// `apiVersion`, exactly (e.g. `apps/v1`).
    pub api_version: Option<String>,
    /// `kind`, exactly.
    pub kind: Option<String>,
    /// `metadata.namespace` (after defaulting).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: Option<String>,
}

/// One `overrideRules` entry.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverrideRule {
    /// Clusters the rule applies to; omitted = every cluster.
    #[serde(default)]
    pub target_cluster: ClusterTarget,
    /// What the rule changes; at least one overrider.
    #[serde(default)]
    pub overriders: Overriders,
}

/// `overriders`; applied in this field order.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Overriders {
    /// RFC 6902 operations on the whole object.
    #[serde(default)]
    pub plaintext: Vec<PlaintextOverrider>,
    /// Changes to container images.
    #[serde(default)]
    pub image_overrider: Vec<ImageOverrider>,
    /// Changes to `metadata.labels`.
    #[serde(default)]
    pub labels_overrider: Vec<MapOverrider>,
    /// Changes to `metadata.annotations`.
    #[serde(default)]
    pub annotations_overrider: Vec<MapOverrider>,
    /// Changes to a container's `command`.
    #[serde(default)]
    pub command_overrider: Vec<ListOverrider>,
    /// Changes to a container's `args`.
    #[serde(default)]
    pub args_overrider: Vec<ListOverrider>,
}

/// `add`, `remove` or `replace` (lowercase, as in RFC 6902 and Karmada).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    /// Add or set.
    Add,
    /// Remove.
    Remove,
    /// Replace an existing value.
    Replace,
}

/// One `plaintext` entry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaintextOverrider {
    /// JSON pointer (RFC 6901), e.g. `/spec/template/spec/containers/0/resources`.
    pub path: String,
    /// `add`, `remove` or `replace`.
    pub operator: Operator,
    /// Value for `add` and `replace` (any YAML); omitted for `remove`.
    pub value: Option<Value>,
}

/// One `imageOverrider` entry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageOverrider {
    /// Restricts the change to one image field; omitted = every container
    /// and initContainer image of the pod template (or Pod).
    pub predicate: Option<ImagePredicate>,
    /// `Registry`, `Repository` or `Tag` (a digest counts as the tag).
    pub component: ImageComponentName,
    /// `add`, `remove` or `replace`.
    pub operator: Operator,
    /// New value of the component; omitted for `remove`.
    pub value: Option<String>,
}

/// `imageOverrider[].predicate`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePredicate {
    /// JSON pointer to an image field, e.g. `/spec/template/spec/containers/0/image`.
    pub path: String,
}

/// `imageOverrider[].component`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum ImageComponentName {
    /// `registry.example.com[:port]`.
    Registry,
    /// The path after the registry, e.g. `org/app`.
    Repository,
    /// `:tag` or `@sha256:…`.
    Tag,
}

/// One `labelsOverrider` / `annotationsOverrider` entry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MapOverrider {
    /// `add`, `remove` or `replace`.
    pub operator: Operator,
    /// Keys to change, with their values (values are ignored for `remove`).
    #[serde(default)]
    pub value: BTreeMap<String, String>,
}

/// One `commandOverrider` / `argsOverrider` entry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListOverrider {
    /// Name of the container to change.
    pub container_name: String,
    /// `add` appends, `remove` deletes matching items, `replace` sets the list.
    pub operator: Operator,
    /// Items.
    #[serde(default)]
    pub value: Vec<String>,
}
