//! Replicated daemon state: with leader election, the leader mirrors its
//! state store (the in-flight rollout record, the fleet memory) into a
//! ConfigMap beside the Lease, and a replica that becomes leader restores
//! its local store from it first. So a standby that takes over — or a pod
//! restarted on an empty volume — resumes the rollout in flight, and knows
//! the last good commit and the failed ones.

use crate::rollout::state::{FLEET_KEY, ROLLOUT_KEY};
use crate::rollout::store::{Mirror, StateStore, StoreError};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::future::Future;
use tokio::runtime::{Handle, RuntimeFlavor};

/// Keys that are replicated.
const KEYS: [&str; 2] = [ROLLOUT_KEY, FLEET_KEY];

/// The state ConfigMap on the Lease's cluster.
#[derive(Clone)]
pub struct ConfigMapMirror {
    api: Api<ConfigMap>,
    name: String,
    handle: Handle,
}

/// Why the replicated state could not be read or restored.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The apiserver refused or could not be reached.
    #[error("state ConfigMap {name}: {source}")]
    Api {
        /// ConfigMap name.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// The local store could not take the replicated state.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConfigMapMirror {
    /// The mirror ConfigMap `name` in `namespace`, created if missing.
    pub async fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<ConfigMapMirror, ReplicaError> {
        let api: Api<ConfigMap> = Api::namespaced(client, namespace);
        let cm = ConfigMap {
            metadata: crate::object::own_object_meta(name),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &cm).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(source) => {
                return Err(ReplicaError::Api {
                    name: name.to_string(),
                    source,
                })
            }
        }
        Ok(ConfigMapMirror {
            api,
            name: name.to_string(),
            handle: Handle::current(),
        })
    }

    /// Replaces the local copies of the replicated keys with the mirror's
    /// (a key the mirror lacks is removed locally: the mirror is the truth
    /// for whoever leads).
    pub async fn restore_into(&self, store: &StateStore) -> Result<(), ReplicaError> {
        let cm = self
            .api
            .get(&self.name)
            .await
            .map_err(|source| ReplicaError::Api {
                name: self.name.clone(),
                source,
            })?;
        let data = cm.data.unwrap_or_default();
        for key in KEYS {
            match data.get(key) {
                Some(json) => store.restore(key, json)?,
                None => store.forget(key)?,
            }
        }
        Ok(())
    }

    fn write(&self, key: &str, value: serde_json::Value) {
        let patch = json!({ "data": { key: value } });
        let api = self.api.clone();
        let name = self.name.clone();
        let key = key.to_string();
        let fut = async move {
            if let Err(e) = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::warn!(configmap = %name, %key, error = %e, "cannot mirror state; the local copy stays durable");
            }
        };
        self.run(fut);
    }

    /// Waits for the write when the runtime allows blocking in place (the
    /// daemon's multi-threaded runtime), else sends it off.
    fn run(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if self.handle.runtime_flavor() == RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| self.handle.block_on(fut));
        } else {
            self.handle.spawn(fut);
        }
    }
}

impl Mirror for ConfigMapMirror {
    fn put(&self, key: &str, json: &str) {
        if KEYS.contains(&key) {
            self.write(key, json!(json));
        }
    }

    fn delete(&self, key: &str) {
        if KEYS.contains(&key) {
            self.write(key, serde_json::Value::Null);
        }
    }
}
