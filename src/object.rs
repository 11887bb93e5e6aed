//! Kubernetes objects as tranche handles them: plain JSON values with a few
//! typed accessors, and the well-known label/annotation keys tranche stamps.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Label every applied object carries: `app.kubernetes.io/managed-by: tranche`.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`LABEL_MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "tranche";
/// Metadata of an object tranche keeps in a cluster for itself (state
/// mirrors, shard plans): `name`, labelled [`LABEL_MANAGED_BY`].
pub fn own_object_meta(name: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name.to_string()),
        labels: Some([(LABEL_MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string())].into()),
        ..Default::default()
    }
}
/// Label naming the app an object belongs to.
pub const LABEL_APP: &str = "tranche.dev/app";
/// Label holding the hashed policy name of the (app, workload) pair.
pub const LABEL_POLICY: &str = "tranche.dev/policy";
/// Annotation recording the commit that last changed the object.
pub const ANNOTATION_COMMIT: &str = "tranche.dev/commit";
/// Annotation that detaches a live object from tranche (`"true"`).
pub const ANNOTATION_DETACH: &str = "tranche.dev/detach";
/// Namespace holding tranche's per-app inventories on each cluster.
pub const SYSTEM_NAMESPACE: &str = "tranche-system";

/// Identity of one object: group/version, kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apiVersion` as written in the manifest, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// Namespace, `None` for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// Reads the identity of an object; `None` when apiVersion, kind or name is missing.
    pub fn from_object(obj: &Value) -> Option<ObjectRef> {
        Some(ObjectRef {
            api_version: obj.get("apiVersion")?.as_str()?.to_string(),
            kind: obj.get("kind")?.as_str()?.to_string(),
            namespace: obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            name: obj.pointer("/metadata/name")?.as_str()?.to_string(),
        })
    }

    /// API group (empty for the core group).
    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((g, _)) => g,
            None => "",
        }
    }

    /// Identity ignoring the API version, so `autoscaling/v1` and
    /// `autoscaling/v2beta2` HPAs of the same name are the same object.
    pub fn group_kind_key(&self) -> (String, String, Option<String>, String) {
        (
            self.group().to_string(),
            self.kind.clone(),
            self.namespace.clone(),
            self.name.clone(),
        )
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind ns/name` or `Kind name` — how objects are named in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Reads `metadata.labels[key]`.
pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/labels")?.get(key)?.as_str()
}

/// Reads `metadata.annotations[key]`.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// Sets `metadata.<field>[key] = value`, creating maps as needed.
/// `field` is `labels` or `annotations`. Non-object values are replaced.
pub fn set_metadata_entry(obj: &mut Value, field: &str, key: &str, value: &str) {
    if !obj.is_object() {
        return;
    }
    let meta = obj.as_object_mut().map(|o| {
        o.entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()))
    });
    let Some(meta) = meta else { return };
    if !meta.is_object() {
        *meta = Value::Object(Default::default());
    }
    let map = meta.as_object_mut().map(|m| {
        m.entry(field)
            .or_insert_with(|| Value::Object(Default::default()))
    });
    let Some(map) = map else { return };
    if !map.is_object() {
        *map = Value::Object(Default::default());
    }
    if let Some(m) = map.as_object_mut() {
        m.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// Whether the live object is detached from tranche (`tranche.dev/detach: "true"`).
pub fn is_detached(obj: &Value) -> bool {
    annotation(obj, ANNOTATION_DETACH) == Some("true")
}

/// Whether tranche manages this live object (its managed-by label says so).
pub fn is_managed(obj: &Value) -> bool {
    label(obj, LABEL_MANAGED_BY) == Some(MANAGED_BY_VALUE)
}
