//! What the simulated cluster's "controllers" make of an object: no
//! controller runs, so every workload is healthy at once (observed
//! generation = generation, every replica updated, ready and available),
//! CustomResourceDefinitions are Established, Namespaces Active, claims
//! Bound and Jobs Complete. One exception mirrors the real test clusters'
//! kwok stages: a Deployment whose pod template has an image ending in
//! `:broken` fails at once (no replica available, `Progressing=False`,
//! reason `ProgressDeadlineExceeded`), as the real controller reports
//! after `progressDeadlineSeconds`. Also which kinds keep
//! `metadata.generation` and which own `status` through a subresource.
//! Pure.

use serde_json::{json, Value};

/// Whether the kind's `status` is written only through `/status` (writes
/// to the object keep the old status).
pub fn has_status_subresource(kind: &str, custom_with_status: bool) -> bool {
    custom_with_status
        || matches!(
            kind,
            "Deployment"
                | "StatefulSet"
                | "DaemonSet"
                | "ReplicaSet"
                | "Job"
                | "CronJob"
                | "HorizontalPodAutoscaler"
                | "PodDisruptionBudget"
                | "Ingress"
                | "CustomResourceDefinition"
                | "Namespace"
                | "Service"
                | "Pod"
                | "PersistentVolumeClaim"
                | "PersistentVolume"
                | "Node"
                | "ResourceQuota"
        )
}

/// Whether objects of the kind carry `metadata.generation` (custom
/// resources always do).
pub fn has_generation(kind: &str, custom: bool) -> bool {
    custom
        || matches!(
            kind,
            "Deployment"
                | "StatefulSet"
                | "DaemonSet"
                | "ReplicaSet"
                | "Job"
                | "CronJob"
                | "HorizontalPodAutoscaler"
                | "PodDisruptionBudget"
                | "Ingress"
                | "NetworkPolicy"
                | "CustomResourceDefinition"
                | "PriorityClass"
        )
}

/// The part of an object other than metadata and status, whose change
/// bumps the generation.
pub fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(map) = v.as_object_mut() {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            map.remove(k);
        }
    }
    v
}

/// Fills what the API server defaults (the few defaults health reads).
pub fn default_spec(obj: &mut Value) {
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    if matches!(kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet")
        && obj["spec"].is_object()
        && obj["spec"].get("replicas").is_none()
    {
        obj["spec"]["replicas"] = json!(1);
    }
}

/// The status a healthy cluster would report by now, or `None` to keep
/// what the object has (kinds without a simulated controller).
pub fn settled(obj: &Value) -> Option<Value> {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let generation = obj
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let condition = |t: &str, reason: &str| json!({"type": t, "status": "True", "reason": reason, "message": ""});
    Some(match kind {
        "Deployment" if is_broken(obj) => json!({
            "observedGeneration": generation,
            "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability."},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                 "message": format!("ReplicaSet \"{name}\" has timed out progressing.")},
            ],
        }),
        "Deployment" => json!({
            "observedGeneration": generation,
            "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                condition("Available", "MinimumReplicasAvailable"),
                condition("Progressing", "NewReplicaSetAvailable"),
            ],
        }),
        "StatefulSet" => {
            let revision = format!("{name}-{generation}");
            json!({
                "observedGeneration": generation,
                "replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas,
                "updatedReplicas": replicas, "availableReplicas": replicas,
                "currentRevision": revision, "updateRevision": revision,
            })
        }
        "ReplicaSet" => json!({
            "observedGeneration": generation, "replicas": replicas, "fullyLabeledReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
        }),
        "DaemonSet" => json!({
            "observedGeneration": generation,
            "currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberMisscheduled": 0,
            "numberReady": 2, "updatedNumberScheduled": 2, "numberAvailable": 2,
        }),
        "Job" => {
            let completions = obj
                .pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            json!({
                "succeeded": completions,
                "conditions": [condition("Complete", "CompletionsReached")],
            })
        }
        "HorizontalPodAutoscaler" => {
            let min = obj
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            json!({
                "observedGeneration": generation, "currentReplicas": min, "desiredReplicas": min,
                "conditions": [condition("AbleToScale", "ReadyForNewScale")],
            })
        }
        "CustomResourceDefinition" => json!({
            "conditions": [
                condition("NamesAccepted", "NoConflicts"),
                condition("Established", "InitialNamesAccepted"),
            ],
            "acceptedNames": obj.pointer("/spec/names").cloned().unwrap_or(json!({})),
            "storedVersions": obj.pointer("/spec/versions").and_then(Value::as_array).into_iter().flatten()
                .filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>(),
        }),
        "Namespace" => json!({"phase": "Active"}),
        "PersistentVolumeClaim" => json!({"phase": "Bound"}),
        "Pod" => json!({
            "phase": "Running",
            "conditions": [condition("Ready", ""), condition("ContainersReady", "")],
        }),
        "Service" => json!({"loadBalancer": {}}),
        _ => return None,
    })
}

/// Whether a pod template runs an image tagged `broken`.
fn is_broken(obj: &Value) -> bool {
    obj.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["image"].as_str().is_some_and(|i| i.ends_with(":broken")))
}
