//! What rendering needs to know about Kubernetes kinds: which are workloads
//! (they get a workload policy name), which carry `spec.replicas` (they are
//! split when Divided), which are HPAs, and where their pod spec lives (for
//! the image, command and args overriders).

use serde_json::Value;

/// Kinds that run pods from a template (or are a Pod's owner): they get the
/// policy name `<app>-<kind>-<name>`.
const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// Kinds whose `spec.replicas` tranche splits over clusters (Divided) and an
/// HPA may own. DaemonSets, Jobs and CronJobs have no replica count to split:
/// they are copied unchanged.
const REPLICA_KINDS: &[&str] = &["Deployment", "StatefulSet", "ReplicaSet"];

/// Whether objects of `kind` are workloads (policy name `<app>-<kind>-<name>`).
pub fn is_workload(kind: &str) -> bool {
    WORKLOAD_KINDS.contains(&kind)
}

/// Whether `spec.replicas` of objects of `kind` is split by weight.
pub fn has_replicas(kind: &str) -> bool {
    REPLICA_KINDS.contains(&kind)
}

/// Whether the object is a HorizontalPodAutoscaler of any `autoscaling/*`
/// version (v1, v2, v2beta2, …: the fields tranche reads are the same).
pub fn is_hpa(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("HorizontalPodAutoscaler")
        && obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("autoscaling/"))
}

/// JSON pointer of the pod spec of an object of `kind`, if it has one.
pub fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        "Pod" => Some("/spec"),
        _ => None,
    }
}

/// Mutable access to every container (init containers first) of the
/// object's pod spec; empty when the kind has no pod spec.
pub fn containers_mut<'a>(obj: &'a mut Value, kind: &str) -> Vec<&'a mut Value> {
    let Some(pointer) = pod_spec_pointer(kind) else {
        return Vec::new();
    };
    let Some(spec) = obj.pointer_mut(pointer).and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let mut init = Vec::new();
    let mut main = Vec::new();
    for (key, list) in spec.iter_mut() {
        let bucket = match key.as_str() {
            "initContainers" => &mut init,
            "containers" => &mut main,
            _ => continue,
        };
        if let Some(items) = list.as_array_mut() {
            bucket.extend(items.iter_mut());
        }
    }
    init.extend(main);
    init
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hpa_is_recognised_in_every_autoscaling_version() {
        for v in [
            "autoscaling/v1",
            "autoscaling/v2",
            "autoscaling/v2beta2",
            "autoscaling/v3",
        ] {
            assert!(
                is_hpa(&json!({"apiVersion": v, "kind": "HorizontalPodAutoscaler"})),
                "{v}"
            );
        }
        assert!(!is_hpa(
            &json!({"apiVersion": "example.com/v1", "kind": "HorizontalPodAutoscaler"})
        ));
        assert!(!is_hpa(
            &json!({"apiVersion": "autoscaling/v2", "kind": "Deployment"})
        ));
    }

    #[test]
    fn containers_include_init_containers_and_cronjob_templates() {
        let mut cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "a"}], "initContainers": [{"name": "i"}]
        }}}}}});
        let names: Vec<String> = containers_mut(&mut cron, "CronJob")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names, ["i", "a"]);
        let mut cm = json!({"data": {"containers": []}});
        assert!(containers_mut(&mut cm, "ConfigMap").is_empty());
    }

    #[test]
    fn workload_and_replica_kinds() {
        assert!(is_workload("CronJob") && !has_replicas("CronJob"));
        assert!(is_workload("Deployment") && has_replicas("Deployment"));
        assert!(!is_workload("Service") && !has_replicas("Service"));
    }
}
