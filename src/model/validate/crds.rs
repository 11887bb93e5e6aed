//! CustomResourceDefinitions the fleet ships: the kinds they declare join
//! the kind table, with their declared scope, before any manifest is
//! checked, so a custom resource of a cluster-scoped CRD in the same
//! repository gets no default namespace and may not be given one.
//!
//! Only files that mention `CustomResourceDefinition` are parsed here;
//! problems in them are reported by the manifest checks, not twice.

use crate::git::Snapshot;
use crate::kinds::{crd_declares, KindInfo, KindTable, Origin};

/// Adds the kinds declared by CRDs in `manifest_paths` to `kinds` (the
/// first CRD of a group and kind wins; built-in rows are never replaced).
pub fn declare(snapshot: &Snapshot, manifest_paths: &[&str], kinds: &mut KindTable) {
    for path in manifest_paths {
        let Some(text) = snapshot
            .files
            .get(*path)
            .and_then(|b| std::str::from_utf8(b).ok())
            .filter(|t| t.contains("CustomResourceDefinition"))
        else {
            continue;
        };
        let Ok(docs) = crate::yaml::parse_documents(text) else {
            continue;
        };
        for (doc, value) in docs {
            let Some((group, kind, scope)) = crd_declares(&value) else {
                continue;
            };
            if kinds.get(&group, &kind).is_some() {
                continue;
            }
            let origin = Origin::Crd(format!("{path}[doc {doc}]"));
            kinds.insert(&group, &kind, KindInfo::plain(scope, origin));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Scope;

    #[test]
    fn crds_in_manifests_declare_their_kinds() {
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
                   metadata: {name: widgets.example.com}\n\
                   spec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}}\n";
        let snapshot = Snapshot::from_files(
            "c0ffee",
            [
                (
                    "apps/p/manifests/crd.yaml",
                    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\n---\n{crd}"),
                ),
                ("apps/p/manifests/cm.yaml", "kind: ConfigMap\n".to_string()),
            ],
        );
        let mut kinds = KindTable::default();
        declare(
            &snapshot,
            &["apps/p/manifests/cm.yaml", "apps/p/manifests/crd.yaml"],
            &mut kinds,
        );
        let info = kinds.get("example.com", "Widget").unwrap();
        assert_eq!(info.scope, Scope::Cluster);
        assert_eq!(
            info.origin,
            Origin::Crd("apps/p/manifests/crd.yaml[doc 1]".into())
        );
        assert_eq!(kinds.scope("other.io", "Widget"), None);
    }
}
