//! One Kubernetes object from `manifests/*.yaml`: identity present, the
//! namespace defaulted (unless the kind table says the kind is
//! cluster-scoped), then the checks every object passes
//! ([`super::object::check_object`]).

use super::object::{check_object, identity};
use super::{Loc, Problems};
use crate::kinds::{KindTable, Scope};
use crate::model::Manifest;
use serde_json::Value;

/// Repository settings that shape objects.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRules {
    /// Namespace given to namespaced objects that set none (`default`
    /// unless `tranche.yaml` says otherwise).
    pub default_namespace: String,
    /// The kinds known before any cluster is asked: built-in, the
    /// repository's `clusterScopedKinds`, the fleet's CRDs.
    pub kinds: KindTable,
}

impl Default for ObjectRules {
    fn default() -> Self {
        ObjectRules {
            default_namespace: "default".to_string(),
            kinds: KindTable::default(),
        }
    }
}

impl ObjectRules {
    /// Whether the repository declares custom kinds named `kind`
    /// cluster-scoped (`tranche.yaml` `spec.clusterScopedKinds`).
    pub fn is_cluster_scoped(&self, kind: &str) -> bool {
        self.kinds.is_declared_cluster_scoped(kind)
    }
}

/// Checks one document of a manifest file; `None` when it lacks an identity.
pub fn manifest(
    loc: Loc<'_>,
    object: Value,
    rules: &ObjectRules,
    p: &mut Problems,
) -> Option<Manifest> {
    manifest_in(loc, object, rules, &rules.default_namespace, p)
}

/// [`manifest`], giving namespaced objects that set none `namespace` (the
/// app's Placement `spec.namespace`) instead of the repository default.
pub fn manifest_in(
    loc: Loc<'_>,
    mut object: Value,
    rules: &ObjectRules,
    namespace: &str,
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
    identity(loc, &object, p)?;
    default_namespace(&mut object, rules, namespace);
    check_object(loc, &object, &rules.kinds, p);
    (p.len() == before).then(|| Manifest {
        file: loc.file.to_string(),
        doc: loc.doc.unwrap_or(0),
        object,
    })
}

/// Gives an object that sets no namespace the default one, unless its
/// kind is cluster-scoped. Kinds the table does not know count as
/// namespaced here; the cluster driver refuses them if discovery disagrees.
fn default_namespace(object: &mut Value, rules: &ObjectRules, namespace: &str) {
    let (group, kind) = crate::kinds::group_kind(object);
    if rules.kinds.scope(group, kind) == Some(Scope::Cluster) {
        return;
    }
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let absent = match meta.get("namespace") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    if absent {
        meta.insert(
            "namespace".to_string(),
            Value::String(namespace.to_string()),
        );
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
        let mut rules = ObjectRules::default();
        rules.kinds.declare_cluster_scoped("ClusterPolicy");
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
    fn hpa_bounds_are_checked() {
        let hpa = |spec: &str| {
            check(&format!(
                "{{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {{name: h}}, spec: {spec}}}"
            ))
            .1
        };
        assert_eq!(
            hpa("{minReplicas: 5, maxReplicas: 3}"),
            [ModelError::doc(
                FILE,
                1,
                Some("spec.minReplicas"),
                "HorizontalPodAutoscaler \"h\": minReplicas 5 is greater than maxReplicas 3"
            )]
        );
        assert_eq!(
            hpa("{maxReplicas: 0}"),
            [ModelError::doc(
                FILE,
                1,
                Some("spec.maxReplicas"),
                "HorizontalPodAutoscaler \"h\": maxReplicas 0 is invalid (an integer from 1 to \
                 2147483647, as Kubernetes' int32 fields take)"
            )]
        );
        assert!(hpa("{minReplicas: 2, maxReplicas: 2}").is_empty());
    }

    #[test]
    fn label_values_must_be_valid_strings() {
        let (_, errors) =
            check("{apiVersion: v1, kind: ConfigMap, metadata: {name: c, labels: {tier: 1}}}");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location(),
            "apps/shop/manifests/app.yaml[doc 1]: metadata.labels.tier"
        );
    }

    #[test]
    fn scope_is_decided_by_group_and_kind() {
        // A custom kind named like a built-in cluster-scoped one is namespaced here.
        let (m, errors) = check(
            "{apiVersion: example.com/v1, kind: Namespace, metadata: {name: n, namespace: a}}",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(m.unwrap().object["metadata"]["namespace"], "a");
        let (m, _) = check("{apiVersion: example.com/v1, kind: Namespace, metadata: {name: n}}");
        assert_eq!(m.unwrap().object["metadata"]["namespace"], "default");
    }
}
