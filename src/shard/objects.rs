//! The protocol's objects as ConfigMaps in the management cluster (the
//! namespace of the Leases): the batch plan and one status per shard, each
//! a JSON document under one key. Each has one writer at a time — the
//! holder of the leader Lease or of the shard's Lease — so a merge patch
//! of the key is enough; the Leases keep writers apart.

use super::protocol::{BatchPlan, ShardStatus};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

/// The data key holding the document.
const KEY: &str = "state";

/// Why an object could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The apiserver refused or could not be reached.
    #[error("ConfigMap {namespace}/{name}: {source}")]
    Api {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// The document is not what the protocol writes.
    #[error("ConfigMap {namespace}/{name}: key {KEY} is not a valid document: {message}")]
    Invalid {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The protocol's ConfigMaps in one namespace.
#[derive(Clone)]
pub struct Objects {
    api: Api<ConfigMap>,
    namespace: String,
}

impl Objects {
    /// The ConfigMaps of `namespace`, through `client`.
    pub fn new(client: kube::Client, namespace: &str) -> Objects {
        Objects {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    fn api_error(&self, name: &str, source: kube::Error) -> ObjectError {
        ObjectError::Api {
            namespace: self.namespace.clone(),
            name: name.to_string(),
            source,
        }
    }

    async fn read<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ObjectError> {
        let cm = self
            .api
            .get_opt(name)
            .await
            .map_err(|e| self.api_error(name, e))?;
        let Some(text) = cm.and_then(|c| c.data).and_then(|mut d| d.remove(KEY)) else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ObjectError::Invalid {
                namespace: self.namespace.clone(),
                name: name.to_string(),
                message: e.to_string(),
            })
    }

    async fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<(), ObjectError> {
        let text = serde_json::to_string(value).map_err(|e| ObjectError::Invalid {
            namespace: self.namespace.clone(),
            name: name.to_string(),
            message: e.to_string(),
        })?;
        let patch = json!({ "data": { KEY: text } });
        match self
            .api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => self.create(name, text).await,
            Err(e) => Err(self.api_error(name, e)),
        }
    }

    async fn create(&self, name: &str, text: String) -> Result<(), ObjectError> {
        let cm = ConfigMap {
            metadata: crate::object::own_object_meta(name),
            data: Some([(KEY.to_string(), text)].into()),
            ..Default::default()
        };
        self.api
            .create(&PostParams::default(), &cm)
            .await
            .map(|_| ())
            .map_err(|e| self.api_error(name, e))
    }

    /// The batch plan named `name`, if written.
    pub async fn plan(&self, name: &str) -> Result<Option<BatchPlan>, ObjectError> {
        self.read(name).await
    }

    /// Writes the batch plan.
    pub async fn put_plan(&self, name: &str, plan: &BatchPlan) -> Result<(), ObjectError> {
        self.write(name, plan).await
    }

    /// A shard's status, if written.
    pub async fn status(&self, name: &str) -> Result<Option<ShardStatus>, ObjectError> {
        self.read(name).await
    }

    /// Writes a shard's status.
    pub async fn put_status(&self, name: &str, status: &ShardStatus) -> Result<(), ObjectError> {
        self.write(name, status).await
    }
}
