//! What a commit changes on one cluster, object by object: the rendering
//! of the commit the cluster ran before against the rendering of the new
//! one, normalized as plans are (so the commit annotation and ignored
//! fields never show) and with Secret values masked. Pure.

use crate::model::IgnoreRule;
use crate::object::ObjectRef;
use crate::plan::{diff::unified, mask::mask_pair, normalize::normalize};
use crate::render::ClusterRendering;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Longest diff kept per object, in bytes (the rest is cut with a note).
pub const MAX_DIFF: usize = 64 * 1024;
/// Objects listed per cluster.
pub const MAX_OBJECTS: usize = 500;

/// How an object changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// New in this commit.
    Create,
    /// In both, different.
    Update,
    /// Gone in this commit (pruned).
    Delete,
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    /// App it belongs to.
    pub app: String,
    /// The object.
    #[serde(flatten)]
    pub id: ObjectRef,
    /// How it changes.
    pub change: ChangeKind,
    /// Unified YAML diff, Secret values masked.
    pub diff: String,
}

/// The changes on one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterChanges {
    /// Objects that differ, in apply order (deletions last).
    pub objects: Vec<ObjectChange>,
    /// Further differing objects not listed.
    pub unlisted: usize,
}

fn objects(r: Option<&ClusterRendering>) -> BTreeMap<ObjectRef, (String, Value)> {
    r.into_iter()
        .flat_map(|c| c.apps.values())
        .flat_map(|a| {
            a.objects
                .iter()
                .map(|o| (o.id.clone(), (a.app.clone(), o.object.clone())))
        })
        .collect()
}

fn order(r: Option<&ClusterRendering>) -> Vec<ObjectRef> {
    r.into_iter()
        .flat_map(|c| c.apps.values())
        .flat_map(|a| a.objects.iter().map(|o| o.id.clone()))
        .collect()
}

/// Compares what a cluster ran (`before`; None: nothing) with what the new
/// commit renders for it (`after`; None: nothing placed there).
pub fn cluster_changes(
    before: Option<&ClusterRendering>,
    after: Option<&ClusterRendering>,
    ignore: &[IgnoreRule],
) -> ClusterChanges {
    let old = objects(before);
    let new = objects(after);
    let mut ids = order(after);
    ids.extend(order(before).into_iter().filter(|id| !new.contains_key(id)));
    let mut out = ClusterChanges {
        objects: vec![],
        unlisted: 0,
    };
    for id in ids {
        let o = old.get(&id).map(|(_, v)| normalize(v, ignore));
        let n = new.get(&id).map(|(_, v)| normalize(v, ignore));
        let change = match (&o, &n) {
            (None, Some(_)) => ChangeKind::Create,
            (Some(_), None) => ChangeKind::Delete,
            (Some(a), Some(b)) if a != b => ChangeKind::Update,
            _ => continue,
        };
        if out.objects.len() >= MAX_OBJECTS {
            out.unlisted += 1;
            continue;
        }
        let app = new
            .get(&id)
            .or_else(|| old.get(&id))
            .map(|(a, _)| a.clone())
            .unwrap_or_default();
        let (mo, mn) = mask_pair(o.as_ref(), n.as_ref());
        let mut diff = unified(mo.as_ref(), mn.as_ref(), 3)
            .replacen("--- live", "--- before", 1)
            .replacen("+++ desired", "+++ after", 1);
        if diff.len() > MAX_DIFF {
            let mut end = MAX_DIFF;
            while !diff.is_char_boundary(end) {
                end -= 1;
            }
            diff.truncate(end);
            diff.push_str("\n… (diff cut at 64 KiB)\n");
        }
        out.objects.push(ObjectChange {
            app,
            id,
            change,
            diff,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::naming::PolicyName;
    use crate::render::{AppRendering, RenderedObject};
    use serde_json::json;

    fn rendering(objects: Vec<Value>) -> ClusterRendering {
        let objects = objects
            .into_iter()
            .map(|o| RenderedObject {
                id: ObjectRef::from_object(&o).unwrap(),
                policy: PolicyName::for_object("shop", "x"),
                object: o,
                source: "apps/shop/manifests/x.yaml".into(),
            })
            .collect();
        ClusterRendering {
            cluster: "a".into(),
            apps: [(
                "shop".to_string(),
                AppRendering {
                    app: "shop".into(),
                    inventory: PolicyName::for_app("shop"),
                    objects,
                },
            )]
            .into(),
        }
    }

    fn cm(name: &str, value: &str, commit: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "shop", "annotations": {"tranche.dev/commit": commit}},
               "data": {"k": value}})
    }

    fn secret(value: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "creds", "namespace": "shop"},
               "data": {"password": value}})
    }

    #[test]
    fn creates_updates_and_deletes_are_listed_and_commit_stamps_ignored() {
        let before = rendering(vec![
            cm("same", "1", "old"),
            cm("edited", "1", "old"),
            cm("gone", "1", "old"),
        ]);
        let after = rendering(vec![
            cm("same", "1", "new"),
            cm("edited", "2", "new"),
            cm("added", "1", "new"),
        ]);
        let c = cluster_changes(Some(&before), Some(&after), &[]);
        let got: Vec<(String, ChangeKind)> = c
            .objects
            .iter()
            .map(|o| (o.id.name.clone(), o.change))
            .collect();
        assert_eq!(
            got,
            vec![
                ("edited".to_string(), ChangeKind::Update),
                ("added".to_string(), ChangeKind::Create),
                ("gone".to_string(), ChangeKind::Delete),
            ]
        );
        let edited = &c.objects[0];
        assert_eq!(edited.app, "shop");
        assert!(
            edited.diff.contains("-  k: '1'") || edited.diff.contains("-  k: \"1\""),
            "{}",
            edited.diff
        );
        assert!(
            edited.diff.starts_with("--- before\n+++ after\n"),
            "{}",
            edited.diff
        );
        assert!(
            !edited.diff.contains("tranche.dev/commit"),
            "{}",
            edited.diff
        );
        assert!(cluster_changes(None, None, &[]).objects.is_empty());
        assert_eq!(cluster_changes(None, Some(&after), &[]).objects.len(), 3);
    }

    #[test]
    fn secret_values_never_appear_in_a_diff() {
        let before = rendering(vec![secret("c3VwZXJzZWNyZXQtb2xk")]);
        let after = rendering(vec![secret("c3VwZXJzZWNyZXQtbmV3")]);
        let c = cluster_changes(Some(&before), Some(&after), &[]);
        assert_eq!(c.objects.len(), 1);
        let d = &c.objects[0].diff;
        assert!(!d.contains("c3VwZXJzZWNyZXQ"), "{d}");
        assert!(
            d.contains("*** (before)") && d.contains("*** (after)"),
            "{d}"
        );
        let created = cluster_changes(None, Some(&after), &[]);
        assert!(
            !created.objects[0].diff.contains("c3VwZXJzZWNyZXQ"),
            "{}",
            created.objects[0].diff
        );
    }
}
