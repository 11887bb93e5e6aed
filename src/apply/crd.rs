//! Waiting for a CustomResourceDefinition to be Established, and its kind
//! served by discovery, before objects of its kind are applied. (The
//! apiserver updates discovery a moment after `Established`; a custom
//! resource applied in between would be refused as an unknown kind.)

use crate::cluster::{ClusterApi, ClusterError};
use crate::object::ObjectRef;
use serde_json::Value;
use std::time::Duration;

/// How long a CRD may take to become Established.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Polls the CRD until its `Established` condition is `True` and
/// discovery serves its kind at every served version.
pub async fn wait_established(api: &dyn ClusterApi, id: &ObjectRef) -> Result<(), ClusterError> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut delay = Duration::from_millis(100);
    loop {
        if let Some(crd) = api.get(id).await? {
            if is_established(&crd) && is_served(api, &crd).await? {
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

/// Whether discovery knows the CRD's kind at each version it serves (an
/// unknown kind is "not yet"; other errors are errors).
async fn is_served(api: &dyn ClusterApi, crd: &Value) -> Result<bool, ClusterError> {
    let spec = &crd["spec"];
    let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str()) else {
        return Ok(true);
    };
    let served = spec["versions"].as_array().into_iter().flatten();
    for version in served.filter(|v| v["served"] == true) {
        let Some(name) = version["name"].as_str() else {
            continue;
        };
        match api.is_namespaced(&format!("{group}/{name}"), kind).await {
            Ok(_) => {}
            Err(ClusterError::UnknownKind { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
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
