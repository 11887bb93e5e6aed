//! Inventories: what tranche applied to a cluster, so it can prune exactly
//! what it created and nothing else, and tell which commit a cluster runs.
//!
//! One ConfigMap per app per cluster in namespace `tranche-system`, named by
//! the app's policy name, records the commit fully applied, the commit being
//! applied (`pending`, written *before* any object is created so a crash
//! never leaves an untracked object), the object list and, per object,
//! what it looked like when last applied (digests, for plans that ask
//! nothing when nothing changed). One more
//! ConfigMap, `tranche.cluster` (a dot keeps it apart from app names),
//! records the last commit applied to the whole cluster and, while an
//! apply is under way, its journal (module [`journal`]).

mod journal;

pub use journal::{Journal, JOURNAL_LIMIT};

use crate::cluster::{ApplyOptions, ClusterApi, ClusterError};
use crate::object::{ObjectRef, LABEL_APP, LABEL_MANAGED_BY, MANAGED_BY_VALUE, SYSTEM_NAMESPACE};
use crate::plan::fingerprint::Applied;
use crate::render::PolicyName;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Label marking inventory ConfigMaps (`app` or `cluster`).
pub const LABEL_INVENTORY: &str = "tranche.dev/inventory";
/// Name of the per-cluster record.
pub const CLUSTER_RECORD: &str = "tranche.cluster";

/// One app's inventory on one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    /// App name.
    pub app: String,
    /// Last commit whose objects were all applied (None: never completed).
    pub commit: Option<String>,
    /// Commit being applied when the inventory was written, if unfinished.
    pub pending: Option<String>,
    /// Objects tranche created or manages for this app.
    pub objects: BTreeSet<ObjectRef>,
    /// What each object looked like when last applied or confirmed
    /// unchanged (a plan trusts it instead of asking; see
    /// [`crate::plan::fingerprint`]). Absent entries are dry-run.
    pub applied: BTreeMap<ObjectRef, Applied>,
}

impl Inventory {
    /// The ConfigMap that stores this inventory.
    pub fn to_configmap(&self) -> Value {
        let objects: Vec<&ObjectRef> = self.objects.iter().collect();
        let mut data = serde_json::Map::new();
        data.insert("app".into(), json!(self.app));
        if let Some(c) = &self.commit {
            data.insert("commit".into(), json!(c));
        }
        if let Some(p) = &self.pending {
            data.insert("pending".into(), json!(p));
        }
        data.insert(
            "objects".into(),
            json!(serde_json::to_string_pretty(&objects).unwrap_or_default()),
        );
        if !self.applied.is_empty() {
            let applied: Vec<(&ObjectRef, &Applied)> = self.applied.iter().collect();
            data.insert(
                "applied".into(),
                json!(serde_json::to_string(&applied).unwrap_or_default()),
            );
        }
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": PolicyName::for_app(&self.app).as_str(),
                "namespace": SYSTEM_NAMESPACE,
                "labels": {
                    LABEL_MANAGED_BY: MANAGED_BY_VALUE,
                    LABEL_APP: self.app,
                    LABEL_INVENTORY: "app",
                }
            },
            "data": data,
        })
    }

    /// Reads an inventory back from its ConfigMap; `None` if it is not one.
    pub fn from_configmap(cm: &Value) -> Option<Inventory> {
        let data = cm.get("data")?;
        let app = data.get("app")?.as_str()?.to_string();
        let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
        let objects: Vec<ObjectRef> = text("objects")
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        // An unreadable record only costs dry-runs: it is read as none.
        let applied: Vec<(ObjectRef, Applied)> = text("applied")
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        Some(Inventory {
            app,
            commit: text("commit"),
            pending: text("pending"),
            objects: objects.into_iter().collect(),
            applied: applied.into_iter().collect(),
        })
    }

    /// Identity of the inventory ConfigMap of `app`.
    pub fn id(app: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(SYSTEM_NAMESPACE.into()),
            name: PolicyName::for_app(app).to_string(),
        }
    }
}

/// The `tranche-system` Namespace object tranche applies before inventories.
pub fn system_namespace() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": SYSTEM_NAMESPACE, "labels": {LABEL_MANAGED_BY: MANAGED_BY_VALUE}},
    })
}

/// What tranche keeps on one cluster: the app inventories, and the commit
/// the cluster record says it completed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterState {
    /// Inventories by app.
    pub inventories: BTreeMap<String, Inventory>,
    /// `tranche.cluster`'s commit (none: no record).
    pub commit: Option<String>,
}

/// Reads every app inventory and the cluster record in one list (nothing
/// when `tranche-system` does not exist yet).
pub async fn read_state(api: &dyn ClusterApi) -> Result<ClusterState, ClusterError> {
    let selector = format!("{LABEL_INVENTORY} in (app,cluster)");
    let items = api
        .list("v1", "ConfigMap", Some(SYSTEM_NAMESPACE), &selector)
        .await?;
    let kind = |cm: &Value| {
        cm.pointer(&format!(
            "/metadata/labels/{}",
            LABEL_INVENTORY.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .map(str::to_string)
    };
    let mut state = ClusterState::default();
    let mut journal = None;
    for cm in &items {
        match kind(cm).as_deref() {
            Some("app") => {
                if let Some(i) = Inventory::from_configmap(cm) {
                    state.inventories.insert(i.app.clone(), i);
                }
            }
            Some("cluster") if cm.pointer("/metadata/name") == Some(&json!(CLUSTER_RECORD)) => {
                state.commit = record_commit(cm);
                journal = Journal::from_record(cm);
            }
            _ => {}
        }
    }
    if let Some(journal) = journal {
        journal.merge_into(&mut state.inventories);
    }
    Ok(state)
}

fn record_commit(cm: &Value) -> Option<String> {
    cm.pointer("/data/commit")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Writes (server-side applies) one inventory (see [`ensure_namespace`]).
pub async fn write(api: &dyn ClusterApi, inv: &Inventory) -> Result<(), ClusterError> {
    write_system(api, &inv.to_configmap()).await
}

/// Forced apply: inventories and the cluster record belong to tranche alone.
const FORCE: ApplyOptions = ApplyOptions {
    dry_run: false,
    force: true,
};

/// Creates (or keeps) the `tranche-system` namespace. Call once before
/// [`write`] and [`set_cluster_commit`].
pub async fn ensure_namespace(api: &dyn ClusterApi) -> Result<(), ClusterError> {
    api.apply(&system_namespace(), FORCE).await.map(|_| ())
}

/// Applies a ConfigMap of tranche's own into `tranche-system`.
async fn write_system(api: &dyn ClusterApi, cm: &Value) -> Result<(), ClusterError> {
    api.apply(cm, FORCE).await.map(|_| ())
}

/// Deletes an app's inventory (the app left the cluster and all is pruned).
pub async fn remove(api: &dyn ClusterApi, app: &str) -> Result<(), ClusterError> {
    api.delete(&Inventory::id(app)).await
}

fn cluster_record_id() -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(SYSTEM_NAMESPACE.into()),
        name: CLUSTER_RECORD.into(),
    }
}

/// The commit the whole cluster last completed, from `tranche.cluster`.
pub async fn cluster_commit(api: &dyn ClusterApi) -> Result<Option<String>, ClusterError> {
    Ok(api
        .get(&cluster_record_id())
        .await?
        .and_then(|cm| record_commit(&cm)))
}

/// Removes the cluster record: the cluster runs no commit of tranche's
/// (rolled back to before tranche managed it).
pub async fn clear_cluster_commit(api: &dyn ClusterApi) -> Result<(), ClusterError> {
    api.delete(&cluster_record_id()).await
}

/// Records that the whole cluster now runs `commit` (ending any journal).
pub async fn set_cluster_commit(api: &dyn ClusterApi, commit: &str) -> Result<(), ClusterError> {
    write_system(api, &cluster_record(Some(commit))).await
}

/// Writes `journal` into the cluster record, which keeps `completed` as
/// its commit. `Ok(false)`: the journal is too large for the record and
/// nothing was written (write pending inventories instead).
pub async fn write_journal(
    api: &dyn ClusterApi,
    journal: &Journal,
    completed: Option<&str>,
) -> Result<bool, ClusterError> {
    match journal.to_record(completed) {
        Some(record) => write_system(api, &record).await.map(|()| true),
        None => Ok(false),
    }
}

/// The cluster record saying the cluster completed `commit` (none: no
/// commit key).
fn cluster_record(commit: Option<&str>) -> Value {
    let mut data = serde_json::Map::new();
    if let Some(c) = commit {
        data.insert("commit".into(), json!(c));
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": CLUSTER_RECORD,
            "namespace": SYSTEM_NAMESPACE,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY_VALUE, LABEL_INVENTORY: "cluster"},
        },
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::DirCluster;

    #[tokio::test]
    async fn a_journal_reads_as_pending_until_the_record_settles() {
        let dir = tempfile::tempdir().unwrap();
        let api = DirCluster::new(dir.path(), "c").unwrap();
        ensure_namespace(&api).await.unwrap();
        set_cluster_commit(&api, "old").await.unwrap();
        let web = ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
        };
        let pending = Inventory {
            app: "shop".into(),
            pending: Some("new".into()),
            objects: [web.clone()].into_iter().collect(),
            ..Inventory::default()
        };
        let journal = Journal::of(&[pending], "new");
        assert!(write_journal(&api, &journal, Some("old")).await.unwrap());
        let state = read_state(&api).await.unwrap();
        assert_eq!(
            state.commit.as_deref(),
            Some("old"),
            "the completed commit stays"
        );
        let shop = &state.inventories["shop"];
        assert_eq!(shop.pending.as_deref(), Some("new"));
        assert!(shop.objects.contains(&web), "the new object is tracked");
        assert_eq!(cluster_commit(&api).await.unwrap().as_deref(), Some("old"));
        // Settling: the inventory, then the record (which ends the journal).
        let settled = Inventory {
            commit: Some("new".into()),
            pending: None,
            ..shop.clone()
        };
        write(&api, &settled).await.unwrap();
        set_cluster_commit(&api, "new").await.unwrap();
        let state = read_state(&api).await.unwrap();
        assert_eq!(state.commit.as_deref(), Some("new"));
        assert_eq!(state.inventories["shop"], settled);
    }

    #[test]
    fn configmap_round_trip() {
        let inv = Inventory {
            app: "shop".into(),
            commit: Some("abc".into()),
            pending: None,
            objects: [ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: "web".into(),
            }]
            .into_iter()
            .collect(),
            applied: BTreeMap::new(),
        };
        let mut inv = inv;
        let web = inv.objects.iter().next().cloned().unwrap();
        inv.applied.insert(
            web,
            Applied {
                desired: "d1".into(),
                live: "g1/00".into(),
            },
        );
        let cm = inv.to_configmap();
        assert_eq!(
            cm.pointer("/metadata/namespace"),
            Some(&json!("tranche-system"))
        );
        assert_eq!(Inventory::from_configmap(&cm), Some(inv));
    }
}
