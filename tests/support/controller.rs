//! A stand-in controller for custom resources only. Built-in kinds have
//! their real controllers on the current release (controller-manager,
//! scheduler, kwok), so tests never fake a Deployment's status. A custom
//! kind has no controller here: this task plays one by writing each
//! object's `/status`, as an operator would.

use super::TestFleet;
use reqwest::Method;
use serde_json::{json, Value};
use std::ops::Deref;
use std::time::Duration;

/// Runs until dropped.
pub struct CustomResourceController {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CustomResourceController {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CustomResourceController {
    /// Every 200 ms, on each named cluster, sets the status of every object
    /// of `api_version`/`kind` (which must have a status subresource) to
    /// `status_for(object)` when it differs.
    pub fn spawn<F>(
        fleet: F,
        clusters: &[&str],
        api_version: &str,
        kind: &str,
        status_for: fn(&Value) -> Value,
    ) -> CustomResourceController
    where
        F: Deref<Target = TestFleet> + Send + Sync + 'static,
    {
        let clusters: Vec<String> = clusters.iter().map(|c| c.to_string()).collect();
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        let task = tokio::spawn(async move {
            loop {
                for c in &clusters {
                    if fleet.is_running(c) {
                        reconcile(&fleet, c, &api_version, &kind, status_for).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        CustomResourceController { task }
    }
}

async fn reconcile(
    fleet: &TestFleet,
    cluster: &str,
    api_version: &str,
    kind: &str,
    status_for: fn(&Value) -> Value,
) {
    let all = fleet
        .collection_path(cluster, api_version, kind, None)
        .await;
    let (code, list) = fleet
        .request(cluster, Method::GET, &all, None, "application/json")
        .await;
    if code != 200 {
        return;
    }
    for obj in list["items"].as_array().cloned().unwrap_or_default() {
        let status = status_for(&obj);
        if obj["status"] == status {
            continue;
        }
        let ns = obj["metadata"]["namespace"].as_str();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let path = format!(
            "{}/status",
            fleet
                .object_path(cluster, api_version, kind, ns, name)
                .await
        );
        let _ = fleet
            .request(
                cluster,
                Method::PATCH,
                &path,
                Some(json!({ "status": status })),
                "application/merge-patch+json",
            )
            .await;
    }
}
