//! The live state a plan starts from: one list per (apiVersion, kind) the
//! cluster's rendering or inventories name, label-selected on
//! `app.kubernetes.io/managed-by=tranche`, instead of one GET per object.
//!
//! The cache only ever answers "here it is": an object it does not hold
//! (never tranche's, relabelled, not created yet, or a kind whose list
//! failed) is read with a GET as before, so a foreign object of the same
//! name is still found and refused, and an absent one confirmed absent.
//! A failed list (RBAC without cluster-wide list, a kind not served yet)
//! just leaves that kind out.
//!
//! In the daemon the "lists" come from the cluster's watches
//! ([`crate::cluster::watch`]) with no request, and hold metadata only:
//! enough for the fingerprint of an unchanged object; an object that
//! changed is read whole with a GET ([`LiveCache::has_body`]).

use crate::cluster::ClusterApi;
use crate::object::ObjectRef;
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// (namespace, name) of an object within its kind's list.
type Place = (Option<String>, String);

/// tranche's live objects on one cluster, by (apiVersion, kind).
#[derive(Debug, Default)]
pub struct LiveCache {
    kinds: BTreeMap<(String, String), BTreeMap<Place, Value>>,
    /// Kinds held as metadata only.
    partial: BTreeSet<(String, String)>,
}

impl LiveCache {
    /// Lists every kind of `ids` (each once, up to the cluster's in-flight
    /// bound at once).
    pub async fn warm<'a>(
        api: &dyn ClusterApi,
        ids: impl IntoIterator<Item = &'a ObjectRef>,
    ) -> LiveCache {
        let kinds: BTreeSet<(String, String)> = ids
            .into_iter()
            .map(|id| (id.api_version.clone(), id.kind.clone()))
            .collect();
        let listed: Vec<_> = futures::stream::iter(kinds)
            .map(|(api_version, kind)| async move {
                let items = api.list_managed(&api_version, &kind).await;
                ((api_version, kind), items)
            })
            .buffered(api.max_in_flight().max(1))
            .collect()
            .await;
        let mut cache = LiveCache::default();
        for (kind, items) in listed {
            match items {
                Ok(listed) => {
                    if !listed.bodies {
                        cache.partial.insert(kind.clone());
                    }
                    cache.kinds.insert(kind, index(listed.items));
                }
                Err(e) => {
                    tracing::debug!(cluster = api.name(), kind = %kind.1, error = %e, "list failed; reading objects one by one");
                }
            }
        }
        cache
    }

    /// The live object, if the cache holds it.
    pub fn get(&self, id: &ObjectRef) -> Option<&Value> {
        self.kinds
            .get(&(id.api_version.clone(), id.kind.clone()))?
            .get(&(id.namespace.clone(), id.name.clone()))
    }

    /// Whether what [`LiveCache::get`] gives for `id` is the whole object
    /// (else metadata only: GET it for a diff).
    pub fn has_body(&self, id: &ObjectRef) -> bool {
        !self
            .partial
            .contains(&(id.api_version.clone(), id.kind.clone()))
    }

    /// Objects held.
    pub fn len(&self) -> usize {
        self.kinds.values().map(BTreeMap::len).sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn index(items: Vec<Value>) -> BTreeMap<Place, Value> {
    items
        .into_iter()
        .filter_map(|item| {
            let meta = item.get("metadata")?;
            let name = meta.get("name")?.as_str()?.to_string();
            let namespace = meta
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|ns| !ns.is_empty())
                .map(str::to_string);
            Some(((namespace, name), item))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::DirCluster;
    use serde_json::json;

    fn id(kind: &str, ns: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn holds_only_what_is_labelled_as_tranche_s() {
        let dir = tempfile::tempdir().unwrap();
        let api = DirCluster::new(dir.path(), "c").unwrap();
        let ours = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "ours", "namespace": "n",
                         "labels": {"app.kubernetes.io/managed-by": "tranche"}}});
        let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "foreign", "namespace": "n"}});
        for o in [&ours, &foreign] {
            api.apply(o, Default::default()).await.unwrap();
        }
        let ids = [
            id("ConfigMap", Some("n"), "ours"),
            id("ConfigMap", Some("n"), "foreign"),
        ];
        let cache = LiveCache::warm(&api, &ids).await;
        assert!(cache.get(&ids[0]).is_some());
        assert!(
            cache.get(&ids[1]).is_none(),
            "a foreign object is read with a GET"
        );
        assert_eq!(cache.len(), 1);
    }
}
