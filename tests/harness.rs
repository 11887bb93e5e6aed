//! The test clusters themselves: what the other suites rely on when they
//! say "healthy" or "failed". On the current release the real controllers
//! run: a Deployment gets a ReplicaSet and pods, the scheduler places them
//! on kwok's fake Nodes within their capacity, a `:broken` image makes the
//! Deployment controller report ProgressDeadlineExceeded, deletes
//! garbage-collect dependents and a deleted Namespace finalizes. Audit logs
//! tell the controllers' writes from the test's.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::control_plane::{NODES, NODE_CAPACITY};
use support::{eventually, TestFleet};
use tranche::cluster::ApplyOptions;
use tranche::object::ObjectRef;

const FLEET: &[&str] = &["h1"];

const APPLY: ApplyOptions = ApplyOptions {
    dry_run: false,
    force: false,
};

fn deployment(ns: &str, name: &str, image: &str, replicas: i64, deadline: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]}
            }
        }
    })
}

fn id(obj: &Value) -> ObjectRef {
    ObjectRef::from_object(obj).expect("test objects have an identity")
}

async fn list(fleet: &TestFleet, path: &str) -> Vec<Value> {
    let (code, list) = fleet
        .request("h1", reqwest::Method::GET, path, None, "application/json")
        .await;
    assert_eq!(code, 200, "GET {path}: {list}");
    list["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_made_available_by_the_real_controllers() {
    let fleet = TestFleet::shared(FLEET).await;
    if !fleet.needs_real_cluster(
        "a_deployment_is_made_available_by_the_real_controllers",
        "the controllers, scheduler and kwok",
    ) {
        return;
    }
    fleet.create_namespace("h1", "available").await;
    let api = fleet.cluster("h1").await;
    let since = fleet.audit_len("h1").await;
    let d = deployment("available", "web", "example.com/web:1", 3, 600);
    let created = Instant::now();
    api.apply(&d, APPLY).await.unwrap();
    let live = eventually("3 replicas available", Duration::from_secs(60), || async {
        let live = api.get(&id(&d)).await.unwrap()?;
        (live["status"]["availableReplicas"] == 3 && live["status"]["observedGeneration"] == 1)
            .then_some(live)
    })
    .await;
    println!("Deployment available {:?} after create", created.elapsed());
    assert_eq!(live["status"]["updatedReplicas"], 3);
    let sets = list(fleet, "/apis/apps/v1/namespaces/available/replicasets").await;
    assert_eq!(sets.len(), 1);
    let pods = list(fleet, "/api/v1/namespaces/available/pods").await;
    assert_eq!(pods.len(), 3);
    let nodes: Vec<&str> = NODES.iter().map(|(n, _)| *n).collect();
    for p in &pods {
        assert!(
            nodes.contains(&p["spec"]["nodeName"].as_str().unwrap_or_default()),
            "scheduled onto a fake Node: {p}"
        );
        assert_eq!(p["status"]["phase"], "Running");
        assert!(p["status"]["podIP"].is_string(), "{p}");
    }
    // The test wrote the Deployment; the controllers wrote the rest, as
    // their own users.
    let ours: Vec<String> = fleet
        .mutating_requests_in("h1", "available", since)
        .await
        .iter()
        .map(support::object_ref)
        .collect();
    assert_eq!(ours, ["patch deployments available/web"]);
    let theirs = fleet.controller_writes("h1", since).await;
    let users: std::collections::BTreeSet<&str> = theirs.iter().map(support::user).collect();
    for user in [
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:kwok",
    ] {
        assert!(users.contains(user), "no writes by {user}: {users:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_image_crash_loops_until_the_progress_deadline_is_exceeded() {
    let fleet = TestFleet::shared(FLEET).await;
    if !fleet.needs_real_cluster(
        "a_broken_image_crash_loops_until_the_progress_deadline_is_exceeded",
        "the controllers, scheduler and kwok",
    ) {
        return;
    }
    fleet.create_namespace("h1", "broken").await;
    let api = fleet.cluster("h1").await;
    let d = deployment("broken", "web", "example.com/web:broken", 2, 3);
    let created = Instant::now();
    api.apply(&d, APPLY).await.unwrap();
    let live = eventually(
        "ProgressDeadlineExceeded",
        Duration::from_secs(90),
        || async {
            let live = api.get(&id(&d)).await.unwrap()?;
            let conditions = live["status"]["conditions"].as_array()?.clone();
            conditions
                .iter()
                .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded")
                .then_some(live)
        },
    )
    .await;
    println!(
        "ProgressDeadlineExceeded {:?} after create (deadline 3 s)",
        created.elapsed()
    );
    assert_eq!(live["status"]["availableReplicas"].as_i64().unwrap_or(0), 0);
    let pods = list(fleet, "/api/v1/namespaces/broken/pods").await;
    assert_eq!(pods.len(), 2);
    for p in &pods {
        let state = &p["status"]["containerStatuses"][0];
        assert_eq!(
            state["state"]["waiting"]["reason"], "CrashLoopBackOff",
            "{p}"
        );
        assert_eq!(state["ready"], false);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_garbage_collect_dependents_and_namespaces_finalize() {
    let fleet = TestFleet::shared(FLEET).await;
    if !fleet.needs_real_cluster(
        "deletes_garbage_collect_dependents_and_namespaces_finalize",
        "the controllers, scheduler and kwok",
    ) {
        return;
    }
    fleet.create_namespace("h1", "doomed").await;
    let api = fleet.cluster("h1").await;
    let d = deployment("doomed", "web", "example.com/web:1", 2, 600);
    api.apply(&d, APPLY).await.unwrap();
    eventually("2 pods", Duration::from_secs(60), || async {
        (list(fleet, "/api/v1/namespaces/doomed/pods").await.len() == 2).then_some(())
    })
    .await;
    api.delete(&id(&d)).await.unwrap();
    eventually(
        "ReplicaSet and pods collected",
        Duration::from_secs(60),
        || async {
            let sets = list(fleet, "/apis/apps/v1/namespaces/doomed/replicasets").await;
            let pods = list(fleet, "/api/v1/namespaces/doomed/pods").await;
            (sets.is_empty() && pods.is_empty()).then_some(())
        },
    )
    .await;
    api.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "left", "namespace": "doomed"}}),
        APPLY,
    )
    .await
    .unwrap();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}});
    api.delete(&id(&ns)).await.unwrap();
    eventually("Namespace finalized", Duration::from_secs(90), || async {
        fleet
            .get("h1", "v1", "Namespace", None, "doomed")
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_beyond_node_capacity_stay_pending() {
    let fleet = TestFleet::shared(FLEET).await;
    if !fleet.needs_real_cluster(
        "pods_beyond_node_capacity_stay_pending",
        "the controllers, scheduler and kwok",
    ) {
        return;
    }
    fleet.create_namespace("h1", "capacity").await;
    let api = fleet.cluster("h1").await;
    let cpu: u32 = NODE_CAPACITY.0.parse().unwrap();
    let mut d = deployment("capacity", "big", "example.com/big:1", 1, 600);
    // More CPU than any one fake Node has.
    d["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": (cpu + 1).to_string()}});
    api.apply(&d, APPLY).await.unwrap();
    let pod = eventually(
        "the pod is unschedulable",
        Duration::from_secs(60),
        || async {
            let pods = list(fleet, "/api/v1/namespaces/capacity/pods").await;
            pods.into_iter().find(|p| {
                p["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "PodScheduled" && c["reason"] == "Unschedulable")
            })
        },
    )
    .await;
    assert_eq!(pod["status"]["phase"], "Pending");
    assert!(pod["spec"]["nodeName"].is_null());
}
