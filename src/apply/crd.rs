//! Waiting for a CustomResourceDefinition to be Established before objects
//! of its kind are applied.

use crate::cluster::{ClusterApi, ClusterError};
use crate::object::ObjectRef;
use serde_json::Value;
use std::time::Duration;

/// How long a CRD may take to become Established.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Polls the CRD until its `Established` condition is `True`.
pub async fn wait_established(api: &dyn ClusterApi, id: &ObjectRef) -> Result<(), ClusterError> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut delay = Duration::from_millis(100);
    loop {
        if let Some(crd) = api.get(id).await? {
            if is_established(&crd) {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ClusterError::Api {
                cluster: api.name().to_string(),
                object: id.to_string(),
                message: format!("not Established after {}s", TIMEOUT.as_secs()),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Whether a CRD object reports `Established=True`.
pub fn is_established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Established")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}
