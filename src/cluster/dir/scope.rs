//! Which kinds are namespaced, for the directory driver (there is no
//! apiserver to ask): built-in kinds from the kind table
//! ([`crate::kinds`], by group and kind, so loading and the driver agree),
//! custom kinds from a CRD stored in the same directory cluster. A kind
//! neither knows is `Unknown`.

use crate::kinds::{KindTable, Scope};

/// Scope of a kind as far as the directory driver knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownScope {
    /// Objects live in a namespace.
    Namespaced,
    /// Objects are cluster-wide.
    Cluster,
    /// Neither a built-in kind nor one a stored CRD declares.
    Unknown,
}

/// The scope of a built-in kind (any version of its group).
pub fn builtin_scope(group: &str, kind: &str) -> KnownScope {
    match KindTable::builtin().scope(group, kind) {
        Some(Scope::Cluster) => KnownScope::Cluster,
        Some(Scope::Namespaced) => KnownScope::Namespaced,
        None => KnownScope::Unknown,
    }
}

/// The scope a stored CRD declares for `group`/`kind`, if `crd` is one.
pub fn crd_scope(crd: &serde_json::Value, group: &str, kind: &str) -> KnownScope {
    let spec = crd.get("spec");
    let field = |p: &str| {
        spec.and_then(|s| s.pointer(p))
            .and_then(serde_json::Value::as_str)
    };
    if field("/group") != Some(group) || field("/names/kind") != Some(kind) {
        return KnownScope::Unknown;
    }
    match field("/scope") {
        Some("Cluster") => KnownScope::Cluster,
        Some("Namespaced") => KnownScope::Namespaced,
        _ => KnownScope::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_kinds_have_their_kubernetes_scope() {
        assert_eq!(builtin_scope("", "Namespace"), KnownScope::Cluster);
        assert_eq!(
            builtin_scope("rbac.authorization.k8s.io", "ClusterRole"),
            KnownScope::Cluster
        );
        assert_eq!(builtin_scope("apps", "Deployment"), KnownScope::Namespaced);
        assert_eq!(builtin_scope("", "Deployment"), KnownScope::Unknown);
        assert_eq!(builtin_scope("example.com", "Widget"), KnownScope::Unknown);
    }

    #[test]
    fn crds_declare_the_scope_of_their_kind() {
        let crd = json!({"spec": {"group": "example.com", "names": {"kind": "Widget"}, "scope": "Cluster"}});
        assert_eq!(
            crd_scope(&crd, "example.com", "Widget"),
            KnownScope::Cluster
        );
        assert_eq!(
            crd_scope(&crd, "example.com", "Gadget"),
            KnownScope::Unknown
        );
        assert_eq!(crd_scope(&crd, "other.com", "Widget"), KnownScope::Unknown);
    }
}
