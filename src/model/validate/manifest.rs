//! One Kubernetes object, from `manifests/*.yaml` or as rendered: identity
//! present and well-formed, namespace defaulted on load (and forbidden for
//! cluster-scoped kinds), labels valid, and HPA bounds sane. Scope comes
//! from the kind table ([`crate::kinds`]), by API group and kind. Object
//! contents are never echoed in messages (they may be Secret data).
//!
//! [`check_object`] is the one set of checks; loading runs it on each
//! manifest as written and rendering on each object after its overrides
//! (`crate::render::check`), so an override cannot produce what a
//! hand-written manifest could not be.

use super::selector::{check_key, check_value};
use super::{Loc, Problems};
use crate::kinds::{group_of, KindTable, NameRule, Scope};
use crate::model::{names, Manifest};
use serde_json::Value;

/// Repository settings that shape objects.
#[derive(Debug, Clone)]
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
    identity(loc, &object, p)?;
    default_namespace(&mut object, rules);
    check_object(loc, &object, &rules.kinds, p);
    (p.len() == before).then(|| Manifest {
        file: loc.file.to_string(),
        doc: loc.doc.unwrap_or(0),
        object,
    })
}

/// Every check an object must pass, as written or as rendered: identity,
/// a name valid for its kind, a namespace that matches the kind's scope
/// (none for cluster-scoped kinds, one for namespaced kinds, a valid
/// namespace name), valid labels, and sane HPA bounds. Problems are
/// reported at `loc`; object contents are never quoted.
pub fn check_object(loc: Loc<'_>, object: &Value, kinds: &KindTable, p: &mut Problems) {
    if !object.is_object() {
        p.push(loc, "", "expected a Kubernetes object (a mapping)");
        return;
    }
    let Some((api_version, kind, name)) = identity(loc, object, p) else {
        return;
    };
    let group = group_of(&api_version);
    if let Err(why) = object_name(kinds.name_rule(group, &kind), &name) {
        p.push(
            loc,
            "metadata.name",
            format!("invalid {kind} name {name:?}: {why}"),
        );
    }
    namespace(loc, object, group, &kind, kinds, p);
    labels(loc, object, p);
    if kinds.is_hpa(group, &kind) {
        hpa_bounds(loc, object, p);
    }
}

/// Checks `metadata.name` the way the apiserver does for the kind's rule.
fn object_name(rule: NameRule, name: &str) -> Result<(), String> {
    match rule {
        NameRule::Dns1123Label => names::dns1123_label(name),
        NameRule::Dns1035Label => names::dns1035_label(name),
        NameRule::PathSegment => names::path_segment_name(name),
        NameRule::Dns1123Subdomain => names::dns1123_subdomain(name),
    }
}

/// `apiVersion`, `kind` and `metadata.name`, each reported when missing.
fn identity(loc: Loc<'_>, object: &Value, p: &mut Problems) -> Option<(String, String, String)> {
    let api_version = required(loc, object, "/apiVersion", "apiVersion", "e.g. apps/v1", p);
    let kind = required(loc, object, "/kind", "kind", "e.g. Deployment", p);
    let name = required(
        loc,
        object,
        "/metadata/name",
        "metadata.name",
        "a stable name",
        p,
    );
    Some((api_version?, kind?, name?))
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

/// Gives an object that sets no namespace the default one, unless its
/// kind is cluster-scoped. Kinds the table does not know count as
/// namespaced here; the cluster driver refuses them if discovery disagrees.
fn default_namespace(object: &mut Value, rules: &ObjectRules) {
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
            Value::String(rules.default_namespace.clone()),
        );
    }
}

fn namespace(
    loc: Loc<'_>,
    object: &Value,
    group: &str,
    kind: &str,
    kinds: &KindTable,
    p: &mut Problems,
) {
    const FIELD: &str = "metadata.namespace";
    let written = match object.pointer("/metadata/namespace") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            p.push(loc, FIELD, "must be a string");
            return;
        }
    };
    match (kinds.scope(group, kind), written) {
        (Some(Scope::Cluster), Some(_)) => p.push(
            loc,
            FIELD,
            format!(
                "{kind} is cluster-scoped{}: remove metadata.namespace",
                origin(kinds, group, kind)
            ),
        ),
        (Some(Scope::Namespaced), None) => p.push(
            loc,
            FIELD,
            format!("{kind} is namespaced: it needs metadata.namespace"),
        ),
        (_, Some(ns)) => {
            if let Err(why) = names::dns1123_label(ns) {
                p.push(loc, FIELD, format!("invalid namespace {ns:?}: {why}"));
            }
        }
        (_, None) => {}
    }
}

/// ` (declared by …)` for kinds whose scope the fleet itself declares.
fn origin(kinds: &KindTable, group: &str, kind: &str) -> String {
    use crate::kinds::Origin;
    match kinds.get(group, kind).map(|i| &i.origin) {
        Some(Origin::Crd(source)) => format!(" (CustomResourceDefinition in {source})"),
        Some(Origin::Repository) => " (tranche.yaml spec.clusterScopedKinds)".to_string(),
        Some(Origin::Policy(file)) => format!(" (declared in {file})"),
        _ => String::new(),
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

fn hpa_bounds(loc: Loc<'_>, object: &Value, p: &mut Problems) {
    let max = match object.pointer("/spec/maxReplicas").map(Value::as_i64) {
        None => {
            p.push(loc, "spec.maxReplicas", "missing: an HPA needs maxReplicas");
            return;
        }
        Some(None) => {
            p.push(loc, "spec.maxReplicas", "must be an integer");
            return;
        }
        Some(Some(max)) => max,
    };
    if max < 1 {
        p.push(
            loc,
            "spec.maxReplicas",
            format!("maxReplicas {max} is invalid: must be at least 1"),
        );
        return;
    }
    let min = match object.pointer("/spec/minReplicas").map(Value::as_i64) {
        None => 1,
        Some(None) => {
            p.push(loc, "spec.minReplicas", "must be an integer");
            return;
        }
        Some(Some(min)) => min,
    };
    if min > max {
        p.push(
            loc,
            "spec.minReplicas",
            format!("minReplicas {min} is greater than maxReplicas {max}"),
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
                "minReplicas 5 is greater than maxReplicas 3"
            )]
        );
        assert_eq!(
            hpa("{maxReplicas: 0}"),
            [ModelError::doc(
                FILE,
                1,
                Some("spec.maxReplicas"),
                "maxReplicas 0 is invalid: must be at least 1"
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
            errors[0].location,
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

    #[test]
    fn rendered_objects_must_keep_a_namespace_their_kind_needs() {
        let object: Value = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding", "metadata": {"name": "admins"}});
        let mut p = Problems::default();
        check_object(Loc::doc(FILE, 0), &object, KindTable::builtin(), &mut p);
        assert_eq!(
            p.finish(()).unwrap_err().0,
            [ModelError::doc(
                FILE,
                0,
                Some("metadata.namespace"),
                "RoleBinding is namespaced: it needs metadata.namespace"
            )]
        );
    }

    #[test]
    fn crd_declared_scope_is_named_in_the_message() {
        let mut kinds = KindTable::default();
        kinds.insert(
            "example.com",
            "Widget",
            crate::kinds::KindInfo::plain(
                Scope::Cluster,
                crate::kinds::Origin::Crd("apps/p/manifests/crd.yaml[doc 0]".into()),
            ),
        );
        let object: Value = serde_json::json!({"apiVersion": "example.com/v1",
            "kind": "Widget", "metadata": {"name": "w", "namespace": "team-a"}});
        let mut p = Problems::default();
        check_object(Loc::doc(FILE, 0), &object, &kinds, &mut p);
        let errors = p.finish(()).unwrap_err().0;
        assert_eq!(
            errors[0].message,
            "Widget is cluster-scoped (CustomResourceDefinition in apps/p/manifests/crd.yaml[doc 0]): \
             remove metadata.namespace"
        );
    }
}
