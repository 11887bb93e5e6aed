//! A cluster's [`ClusterCapacity`] from its listed Node and Pod objects
//! (JSON as the apiserver returns them), and a pod spec's requests.
//!
//! Pure: the I/O (one list of Nodes and one of Pods per cluster) is the
//! caller's. Schedulable nodes are those not cordoned
//! (`spec.unschedulable` not true) whose `Ready` condition is `True`; pods
//! count against the node in `spec.nodeName` unless their phase is
//! `Succeeded` or `Failed`. A pod's request is what the scheduler counts:
//! the larger of the sum over its containers and the largest init
//! container, plus `spec.overhead`.

use super::quantity::{bytes, millicores};
use super::{ClusterCapacity, Resources};
use serde_json::Value;
use std::collections::BTreeMap;

/// Free capacity of a cluster from its `nodes` and `pods`.
pub fn summarize(nodes: &[Value], pods: &[Value]) -> ClusterCapacity {
    let mut used: BTreeMap<&str, Resources> = BTreeMap::new();
    for pod in pods {
        let phase = pod.pointer("/status/phase").and_then(Value::as_str);
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        let Some(node) = pod.pointer("/spec/nodeName").and_then(Value::as_str) else {
            continue;
        };
        let Some(spec) = pod.get("spec") else {
            continue;
        };
        let entry = used.entry(node).or_default();
        *entry = entry.plus(pod_requests(spec));
    }
    let mut free = Resources::default();
    for node in nodes {
        if !schedulable(node) {
            continue;
        }
        let name = node
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let allocatable = |key: &str, parse: fn(&str) -> Option<u128>| {
            node.pointer(&format!("/status/allocatable/{key}"))
                .and_then(Value::as_str)
                .and_then(parse)
        };
        let (Some(cpu), Some(memory)) =
            (allocatable("cpu", millicores), allocatable("memory", bytes))
        else {
            return ClusterCapacity::Broken(format!(
                "node {name} reports no usable allocatable cpu or memory"
            ));
        };
        let alloc = Resources {
            cpu_millis: cpu,
            memory_bytes: memory,
        };
        free = free.plus(alloc.minus(used.get(name).copied().unwrap_or_default()));
    }
    ClusterCapacity::Known(free)
}

/// Whether a Node takes new pods: not cordoned and `Ready`.
pub fn schedulable(node: &Value) -> bool {
    let cordoned = node
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ready = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        });
    !cordoned && ready
}

/// What the scheduler counts for a pod spec: max(Σ containers, max init
/// container) + overhead. Unparsable quantities count as 0.
pub fn pod_requests(spec: &Value) -> Resources {
    let of = |list: &str| -> Vec<Resources> {
        spec.get(list)
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| requests(c.pointer("/resources/requests")))
                    .collect()
            })
            .unwrap_or_default()
    };
    let sum = of("containers")
        .into_iter()
        .fold(Resources::default(), Resources::plus);
    let init = of("initContainers")
        .into_iter()
        .fold(Resources::default(), Resources::max);
    sum.max(init).plus(requests(spec.get("overhead")))
}

/// A `{cpu, memory}` map of quantities.
fn requests(map: Option<&Value>) -> Resources {
    let get = |key: &str, parse: fn(&str) -> Option<u128>| {
        map.and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .and_then(parse)
            .unwrap_or(0)
    };
    Resources {
        cpu_millis: get("cpu", millicores),
        memory_bytes: get("memory", bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, cpu: &str, mem: &str, ready: bool, cordoned: bool) -> Value {
        json!({"metadata": {"name": name},
               "spec": {"unschedulable": cordoned},
               "status": {"allocatable": {"cpu": cpu, "memory": mem},
                          "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
    }

    fn pod(node: &str, cpu: &str, mem: &str, phase: &str) -> Value {
        json!({"spec": {"nodeName": node, "containers": [
                  {"resources": {"requests": {"cpu": cpu, "memory": mem}}}]},
               "status": {"phase": phase}})
    }

    #[test]
    fn free_is_allocatable_minus_requests_of_schedulable_nodes() {
        let nodes = [
            node("a", "4", "8Gi", true, false),
            node("b", "2", "4Gi", true, false),
            node("cordoned", "100", "100Gi", true, true),
            node("notready", "100", "100Gi", false, false),
        ];
        let pods = [
            pod("a", "1", "1Gi", "Running"),
            pod("a", "500m", "1Gi", "Pending"),
            pod("a", "3", "3Gi", "Succeeded"),
            // Overcommitted b counts 0, not negative.
            pod("b", "3", "1Gi", "Running"),
            pod("cordoned", "1", "1Gi", "Running"),
        ];
        assert_eq!(
            summarize(&nodes, &pods),
            ClusterCapacity::Known(Resources {
                cpu_millis: 2500,
                memory_bytes: (6 << 30) + (3 << 30),
            })
        );
    }

    #[test]
    fn a_node_without_allocatable_breaks_the_cluster() {
        let nodes = [json!({"metadata": {"name": "x"}, "status": {
            "conditions": [{"type": "Ready", "status": "True"}]}})];
        let ClusterCapacity::Broken(reason) = summarize(&nodes, &[]) else {
            panic!("expected broken");
        };
        assert!(reason.contains("node x"), "{reason}");
    }

    #[test]
    fn pod_requests_follow_the_scheduler() {
        let spec = json!({
            "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                           {"resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "16Mi"}}}],
            "overhead": {"cpu": "10m"}});
        assert_eq!(
            pod_requests(&spec),
            Resources {
                cpu_millis: 1010,
                memory_bytes: 64 << 20
            }
        );
    }
}
