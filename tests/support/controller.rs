//! A stand-in for kube-controller-manager: no controllers run on the test
//! apiservers, so this task marks every tranche-managed Deployment as rolled
//! out (or, when its pod template carries the annotation
//! `test.tranche.dev/fail: "true"`, as failed with ProgressDeadlineExceeded)
//! by patching `/status`, as the real controller would.

use super::TestFleet;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Annotation on a pod template that makes the fake controller fail it.
pub const FAIL_ANNOTATION: &str = "test.tranche.dev/fail";

/// Runs until dropped.
pub struct FakeController {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeController {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeController {
    /// Starts reconciling Deployments on the named clusters every 200 ms.
    pub fn spawn(fleet: std::sync::Arc<TestFleet>, clusters: &[&str]) -> FakeController {
        let clusters: Vec<String> = clusters.iter().map(|c| c.to_string()).collect();
        let task = tokio::spawn(async move {
            loop {
                for c in &clusters {
                    if fleet.is_running(c) {
                        reconcile(&fleet, c).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        FakeController { task }
    }
}

async fn reconcile(fleet: &TestFleet, cluster: &str) {
    let path = "/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtranche";
    let (code, list) = fleet
        .request(cluster, Method::GET, path, None, "application/json")
        .await;
    if code != 200 {
        return;
    }
    for d in list["items"].as_array().cloned().unwrap_or_default() {
        let generation = d
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let observed = d
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if observed >= generation {
            continue;
        }
        let ns = d
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let name = d
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let fail = d
            .pointer(&format!(
                "/spec/template/metadata/annotations/{}",
                FAIL_ANNOTATION.replace('/', "~1")
            ))
            .and_then(Value::as_str)
            == Some("true");
        let status = if fail {
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": 0,
                "unavailableReplicas": replicas,
                "conditions": [{
                    "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                    "message": format!("ReplicaSet \"{name}-1\" has timed out progressing."),
                    "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"
                }]
            })
        } else {
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [{
                    "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                    "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"
                }]
            })
        };
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}/status");
        let body = json!({ "status": status });
        let _ = fleet
            .request(
                cluster,
                Method::PATCH,
                &path,
                Some(body),
                "application/merge-patch+json",
            )
            .await;
    }
}
