//! The checks every Kubernetes object passes, as written in a manifest or
//! as rendered after its overrides: identity present and well-formed, a
//! name valid for its kind, a namespace that fits the kind's scope in the
//! kind table ([`crate::kinds`], by API group and kind), valid labels, and
//! replica counts typed as Kubernetes types them ([`super::replicas`]). Object contents are never echoed in messages (they may
//! be Secret data).
//!
//! [`check_object`] is the one set of checks: loading runs it on each
//! manifest ([`super::manifest`]) and rendering on each object an override
//! touched (`crate::render::check`), so an override cannot produce what a
//! hand-written manifest could not be.

use super::selector::{check_key, check_value};
use super::{Loc, Problems};
use crate::kinds::{group_of, KindTable, NameRule, Scope};
use crate::model::names;
use serde_json::Value;

/// Every check an object must pass, as written or as rendered: identity,
/// a name valid for its kind, a namespace that matches the kind's scope
/// (none for cluster-scoped kinds, one for namespaced kinds, a valid
/// namespace name), valid labels, and replica counts typed as Kubernetes types them ([`super::replicas`]). Problems are
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
    for (field, message) in super::replicas::problems(object, kinds) {
        p.push(loc, &field, message);
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
pub(super) fn identity(
    loc: Loc<'_>,
    object: &Value,
    p: &mut Problems,
) -> Option<(String, String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    const FILE: &str = "apps/shop/manifests/app.yaml";

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
