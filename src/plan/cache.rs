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
//! When two or more objects are not in the lists (a first apply), one list
//! of every Namespace tells which namespaces exist: an object in a
//! namespace that does not exist (and a Namespace not in that list) is
//! confirmed absent without a GET ([`LiveCache::known_absent`]); a foreign
//! object can only be where its namespace exists, and is read with a GET
//! there as before. A failed namespace list leaves every GET in place, and
//! a directory cluster (objects need no Namespace there) is never asked.
//!
//! In the daemon the "lists" come from the cluster's watches
//! ([`crate::cluster::watch`]) with no request, and hold metadata only:
//! enough for the fingerprint of an unchanged object; an object that
//! changed is read whole with a GET ([`LiveCache::has_body`]).

use crate::cluster::bounded::map_bounded;
use crate::cluster::ClusterApi;
use crate::object::ObjectRef;
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
    /// Every namespace on the cluster, when listed (see the module doc).
    namespaces: Option<BTreeSet<String>>,
    /// Kinds listed, or whose list failed.
    tried: BTreeSet<(String, String)>,
}

/// Objects not in the lists from which on the namespaces are listed (one
/// request that can save a GET each).
const LIST_NAMESPACES_FROM: usize = 2;

impl LiveCache {
    /// Lists every kind of `ids` (each once, up to the cluster's in-flight
    /// bound at once), then the namespaces when enough of `ids` are not
    /// in those lists.
    pub async fn warm<'a>(
        api: &dyn ClusterApi,
        ids: impl IntoIterator<Item = &'a ObjectRef>,
    ) -> LiveCache {
        let ids: Vec<&ObjectRef> = ids.into_iter().collect();
        let mut cache = LiveCache::default();
        cache.widen(api, ids.iter().copied()).await;
        let missing = ids.iter().filter(|id| cache.get(id).is_none()).count();
        // A directory cluster holds objects without their Namespace.
        if missing >= LIST_NAMESPACES_FROM && api.has_controllers() {
            match api.list("v1", "Namespace", None, "").await {
                Ok(items) => {
                    cache.namespaces = Some(index(items).into_keys().map(|(_, n)| n).collect());
                }
                Err(e) => {
                    tracing::debug!(cluster = api.name(), error = %e, "namespace list failed; reading objects one by one");
                }
            }
        }
        cache
    }

    /// Lists the kinds of `ids` not listed (or tried) yet: no request when
    /// the cache already covers them.
    pub async fn widen<'a>(
        &mut self,
        api: &dyn ClusterApi,
        ids: impl IntoIterator<Item = &'a ObjectRef>,
    ) {
        let kinds: BTreeSet<(String, String)> = ids
            .into_iter()
            .map(|id| (id.api_version.clone(), id.kind.clone()))
            .filter(|kind| !self.tried.contains(kind))
            .collect();
        self.tried.extend(kinds.iter().cloned());
        let listed = map_bounded(
            kinds,
            api.max_in_flight(),
            |(api_version, kind)| async move {
                let items = api.list_managed(&api_version, &kind).await;
                ((api_version, kind), items)
            },
        )
        .await;
        for (kind, items) in listed {
            match items {
                Ok(listed) => {
                    if !listed.bodies {
                        self.partial.insert(kind.clone());
                    }
                    self.kinds.insert(kind, index(listed.items));
                }
                Err(e) => {
                    tracing::debug!(cluster = api.name(), kind = %kind.1, error = %e, "list failed; reading objects one by one");
                }
            }
        }
    }

    /// Whether `id` is known not to exist without asking: its namespace
    /// (or, for a Namespace, itself) is not among the namespaces listed.
    /// `false` when the namespaces were not listed.
    pub fn known_absent(&self, id: &ObjectRef) -> bool {
        let Some(namespaces) = &self.namespaces else {
            return false;
        };
        match &id.namespace {
            Some(ns) => !namespaces.contains(ns),
            None => {
                id.api_version == "v1" && id.kind == "Namespace" && !namespaces.contains(&id.name)
            }
        }
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

    #[test]
    fn objects_of_a_namespace_not_listed_are_known_absent() {
        let mut cache = LiveCache::default();
        let new = id("ConfigMap", Some("fresh"), "config");
        assert!(!cache.known_absent(&new), "namespaces not listed: ask");
        cache.namespaces = Some(["shop".to_string()].into_iter().collect());
        assert!(cache.known_absent(&new));
        assert!(cache.known_absent(&id("Namespace", None, "fresh")));
        assert!(!cache.known_absent(&id("Namespace", None, "shop")));
        assert!(
            !cache.known_absent(&id("ConfigMap", Some("shop"), "foreign")),
            "an object where its namespace exists is read with a GET"
        );
        let cluster_scoped = ObjectRef {
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: "ClusterRole".into(),
            namespace: None,
            name: "fresh".into(),
        };
        assert!(!cache.known_absent(&cluster_scoped));
    }
}
