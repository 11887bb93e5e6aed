//! One Kubernetes object from `manifests/*.yaml`: identity present and
//! well-formed, namespace defaulted (or forbidden for cluster-scoped kinds),
//! labels valid, and replica counts typed as Kubernetes types them
//! ([`replicas`]). Object contents are never echoed in messages (they may
//! be Secret data).

pub mod replicas;

use super::selector::{check_key, check_value};
use super::{Loc, Problems};
use crate::model::kinds::{check_object_name, is_cluster_scoped_kind};
use crate::model::{names, Manifest};
use serde_json::Value;

/// Repository settings that shape objects.
#[derive(Debug, Clone)]
pub struct ObjectRules {
    /// Namespace given to namespaced objects that set none.
    pub default_namespace: String,
    /// Cluster-scoped kinds declared by the repository (custom resources).
    pub extra_cluster_scoped_kinds: Vec<String>,
}

impl Default for ObjectRules {
    fn default() -> Self {
        ObjectRules {
            default_namespace: "default".to_string(),
            extra_cluster_scoped_kinds: Vec::new(),
        }
    }
}

impl ObjectRules {
    /// Whether objects of `kind` are cluster-scoped (built-in table or repo list).
    pub fn is_cluster_scoped(&self, kind: &str) -> bool {
        is_cluster_scoped_kind(kind) || self.extra_cluster_scoped_kinds.iter().any(|k| k == kind)
    }
}

/// Checks one document of a manifest file; `None` when it lacks an identity.
pub fn manifest(
    loc: Loc<'_>,
    mut object: Value,
    rules: &ObjectRules,
    p: &mut Problems,
) -> Option<Manifest> {
    if !object.is_object() {
        p.push(
            loc,
            "",
            "expected a Kubernetes object (a mapping with apiVersion, kind and metadata.name)",
        );
        return None;
    }
    let before = p.len();
    let api_version = required(loc, &object, "/apiVersion", "apiVersion", "e.g. apps/v1", p);
    let kind = required(loc, &object, "/kind", "kind", "e.g. Deployment", p);
    let name = required(
        loc,
        &object,
        "/metadata/name",
        "metadata.name",
        "a stable name",
        p,
    );
    let (Some(_), Some(kind), Some(name)) = (api_version, kind, name) else {
        return None;
    };
    if let Err(why) = check_object_name(&kind, &name) {
        p.push(
            loc,
            "metadata.name",
            format!("invalid {kind} name {name:?}: {why}"),
        );
    }
    namespace(loc, &mut object, &kind, rules, p);
    labels(loc, &object, p);
    for (field, message) in replicas::problems(&object) {
        p.push(loc, field, message);
    }
    (p.len() == before).then(|| Manifest {
        file: loc.file.to_string(),
        doc: loc.doc.unwrap_or(0),
        object,
    })
}

fn required(
    loc: Loc<'_>,
    object: &Value,
    pointer: &str,
    field: &str,
    example: &str,
    p: &mut Problems,
) -> Option<String> {
    match object.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            p.push(
                loc,
                field,
                format!("missing: every object needs {field} ({example})"),
            );
            None
        }
        Some(_) => {
            p.push(loc, field, "must be a string");
            None
        }
    }
}

fn namespace(loc: Loc<'_>, object: &mut Value, kind: &str, rules: &ObjectRules, p: &mut Problems) {
    let written = match object.pointer("/metadata/namespace") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            p.push(loc, "metadata.namespace", "must be a string");
            return;
        }
    };
    match (rules.is_cluster_scoped(kind), written) {
        (true, Some(_)) => p.push(
            loc,
            "metadata.namespace",
            format!("{kind} is cluster-scoped: remove metadata.namespace"),
        ),
        (true, None) => {}
        (false, Some(ns)) => {
            if let Err(why) = names::dns1123_label(&ns) {
                p.push(
                    loc,
                    "metadata.namespace",
                    format!("invalid namespace {ns:?}: {why}"),
                );
            }
        }
        (false, None) => {
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert(
                    "namespace".to_string(),
                    Value::String(rules.default_namespace.clone()),
                );
            }
        }
    }
}

fn labels(loc: Loc<'_>, object: &Value, p: &mut Problems) {
    let Some(labels) = object.pointer("/metadata/labels") else {
        return;
    };
    let Some(labels) = labels.as_object() else {
        p.push(
            loc,
            "metadata.labels",
            "must be a mapping of label keys to string values",
        );
        return;
    };
    for (key, value) in labels {
        let field = format!("metadata.labels.{key}");
        check_key(loc, &field, key, p);
        match value.as_str() {
            Some(v) => check_value(loc, &field, v, p),
            None => p.push(
                loc,
                &field,
                "label values must be strings (quote them: \"1\")",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    const FILE: &str = "apps/shop/manifests/app.yaml";

    fn check(yaml: &str) -> (Option<Manifest>, Vec<ModelError>) {
        let object: Value = crate::yaml::from_str(yaml).unwrap();
        let mut p = Problems::default();
        let rules = ObjectRules {
            extra_cluster_scoped_kinds: vec!["ClusterPolicy".into()],
            ..ObjectRules::default()
        };
        let m = manifest(Loc::doc(FILE, 1), object, &rules, &mut p);
        (m, p.finish(()).err().map(|e| e.0).unwrap_or_default())
    }

    #[test]
    fn namespaced_objects_get_the_default_namespace() {
        let (m, errors) = check("{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}");
        assert!(errors.is_empty());
        let m = m.unwrap();
        assert_eq!(m.object["metadata"]["namespace"], "default");
        assert_eq!((m.file.as_str(), m.doc), (FILE, 1));
        let (m, _) = check("{apiVersion: kyverno.io/v1, kind: ClusterPolicy, metadata: {name: c}}");
        assert!(m.unwrap().object["metadata"].get("namespace").is_none());
    }

    #[test]
    fn missing_identity_is_located() {
        let (m, errors) = check("{metadata: {labels: {a: b}}}");
        assert!(m.is_none());
        assert_eq!(
            errors,
            [
                ModelError::doc(
                    FILE,
                    1,
                    Some("apiVersion"),
                    "missing: every object needs apiVersion (e.g. apps/v1)"
                ),
                ModelError::doc(
                    FILE,
                    1,
                    Some("kind"),
                    "missing: every object needs kind (e.g. Deployment)"
                ),
                ModelError::doc(
                    FILE,
                    1,
                    Some("metadata.name"),
                    "missing: every object needs metadata.name (a stable name)"
                ),
            ]
        );
    }

    #[test]
    fn invalid_names_are_errors() {
        let (_, errors) = check("{apiVersion: apps/v1, kind: Deployment, metadata: {name: Web_1}}");
        assert_eq!(
            errors,
            [ModelError::doc(
                FILE,
                1,
                Some("metadata.name"),
                "invalid Deployment name \"Web_1\": must consist of lowercase letters, digits, '-' \
                 and '.', and start and end with a letter or digit"
            )]
        );
    }

    #[test]
    fn cluster_scoped_objects_take_no_namespace() {
        let (_, errors) =
            check("{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r, namespace: a}}");
        assert_eq!(
            errors,
            [ModelError::doc(
                FILE,
                1,
                Some("metadata.namespace"),
                "ClusterRole is cluster-scoped: remove metadata.namespace"
            )]
        );
    }

    #[test]
    fn replica_counts_are_checked_in_every_app() {
        let (m, errors) = check(
            "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: -5}}",
        );
        assert!(m.is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location,
            "apps/shop/manifests/app.yaml[doc 1]: spec.replicas"
        );
        assert!(
            errors[0]
                .message
                .starts_with("Deployment \"web\": -5 is not a replica count"),
            "{}",
            errors[0].message
        );
        let (_, errors) = check(
            "{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: h}, \
             spec: {minReplicas: 5, maxReplicas: 3}}",
        );
        assert_eq!(
            errors,
            [ModelError::doc(
                FILE,
                1,
                Some("spec.minReplicas"),
                "HorizontalPodAutoscaler \"h\": minReplicas 5 is greater than maxReplicas 3"
            )]
        );
    }

    #[test]
    fn label_values_must_be_valid_strings() {
        let (_, errors) =
            check("{apiVersion: v1, kind: ConfigMap, metadata: {name: c, labels: {tier: 1}}}");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location,
            "apps/shop/manifests/app.yaml[doc 1]: metadata.labels.tier"
        );
    }
}
