//! The kube-rs cluster driver against REAL clusters of the current
//! Kubernetes release: server-side apply (dry-run, no-op re-apply,
//! conflicts), RBAC denials, unknown kinds, CRDs and their status,
//! unreachable clusters and `connect`. (Discovery and what differs on v1.20
//! are in `tests/versions.rs`.) Most tests share one fleet of three
//! clusters and keep to their own namespace; the test that stops an
//! apiserver starts its own fleet.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{object_ref, TestFleet};
use tranche::cluster::{connect, ApplyOptions, ClusterError, ClusterSource};
use tranche::object::ObjectRef;

const FLEET: &[&str] = &["c1", "c2", "c3"];

fn deployment(ns: &str, name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "example.com/app:1"}]}
            }
        }
    })
}

fn config_map(ns: &str, name: &str, labels: Value, data: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "data": data
    })
}

fn id(obj: &Value) -> ObjectRef {
    ObjectRef::from_object(obj).expect("test objects have an identity")
}

fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const APPLY: ApplyOptions = ApplyOptions {
    dry_run: false,
    force: false,
};

#[tokio::test]
async fn apply_creates_on_each_cluster_and_an_identical_apply_changes_nothing() {
    let fleet = TestFleet::shared(FLEET).await;
    for name in FLEET {
        fleet.create_namespace(name, "apply-ns").await;
        let c = fleet.cluster(name).await;
        let d = deployment("apply-ns", "web", 2);
        let created = c.apply(&d, APPLY).await.unwrap();
        assert_eq!(created["spec"]["replicas"], 2);
        assert!(!rv(&created).is_empty());
        let live = c.get(&id(&d)).await.unwrap().expect("created");
        assert_eq!(live["kind"], "Deployment");
        assert_eq!(live["apiVersion"], "apps/v1");
        // The Deployment controller writes status meanwhile; the spec's
        // generation tells whether the identical apply changed anything.
        let again = c.apply(&d, APPLY).await.unwrap();
        assert_eq!(
            again["metadata"]["generation"], 1,
            "{name}: identical apply must not change the spec"
        );
        let changed = c
            .apply(&deployment("apply-ns", "web", 3), APPLY)
            .await
            .unwrap();
        assert_ne!(rv(&changed), rv(&created));
        assert_eq!(changed["metadata"]["generation"], 2);
        // A ConfigMap has no controller: an identical apply writes nothing.
        let cm = config_map("apply-ns", "settings", json!({}), json!({"a": "1"}));
        let first = c.apply(&cm, APPLY).await.unwrap();
        let second = c.apply(&cm, APPLY).await.unwrap();
        assert_eq!(
            rv(&second),
            rv(&first),
            "{name}: identical apply must not write"
        );
    }
}

#[tokio::test]
async fn writes_reach_only_the_cluster_they_target() {
    let fleet = TestFleet::shared(FLEET).await;
    for name in FLEET {
        fleet.create_namespace(name, "isolation").await;
    }
    let before: Vec<usize> =
        futures::future::join_all(FLEET.iter().map(|n| fleet.audit_len(n))).await;
    let c2 = fleet.cluster("c2").await;
    c2.apply(
        &config_map("isolation", "only-c2", json!({}), json!({"a": "1"})),
        APPLY,
    )
    .await
    .unwrap();
    let writes = |i: usize| fleet.mutating_requests_in(FLEET[i], "isolation", before[i]);
    let c2_writes: Vec<String> = writes(1).await.iter().map(object_ref).collect();
    assert_eq!(c2_writes, vec!["patch configmaps isolation/only-c2"]);
    assert!(writes(0).await.is_empty());
    assert!(writes(2).await.is_empty());
    let c1 = fleet.cluster("c1").await;
    assert_eq!(
        c1.get(&id(&config_map(
            "isolation",
            "only-c2",
            json!({}),
            json!({})
        )))
        .await
        .unwrap(),
        None
    );
}

#[tokio::test]
async fn dry_run_returns_defaults_and_creates_nothing() {
    let fleet = TestFleet::shared(FLEET).await;
    if !fleet.needs_real_cluster("dry_run_returns_defaults_and_creates_nothing", "defaulting") {
        return;
    }
    fleet.create_namespace("c1", "dry-run").await;
    let c1 = fleet.cluster("c1").await;
    let since = fleet.audit_len("c1").await;
    let d = deployment("dry-run", "web", 1);
    let dry = c1
        .apply(
            &d,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        dry["spec"]["strategy"]["type"], "RollingUpdate",
        "apiserver defaults are returned"
    );
    assert_eq!(dry["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(dry["spec"]["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(
        c1.get(&id(&d)).await.unwrap(),
        None,
        "a dry run creates nothing"
    );

    let events = fleet.audit_events("c1").await;
    let dry_requests: Vec<&Value> = events[since..]
        .iter()
        .filter(|e| {
            e["verb"] == "patch"
                && e["requestURI"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("dryRun=All")
        })
        .collect();
    assert_eq!(dry_requests.len(), 1, "the dry run reached the apiserver");
    assert_eq!(object_ref(dry_requests[0]), "patch deployments dry-run/web");
    assert!(fleet
        .mutating_requests_in("c1", "dry-run", since)
        .await
        .is_empty());
}

#[tokio::test]
async fn conflicts_name_the_other_field_manager_and_force_takes_the_field() {
    let fleet = TestFleet::shared(FLEET).await;
    fleet.create_namespace("c1", "conflict").await;
    let theirs = config_map("conflict", "settings", json!({}), json!({"mode": "theirs"}));
    fleet
        .apply_as("c1", "other", &theirs, false)
        .await
        .expect("other's apply");
    let c1 = fleet.cluster("c1").await;
    let ours = config_map("conflict", "settings", json!({}), json!({"mode": "ours"}));
    match c1.apply(&ours, APPLY).await {
        Err(ClusterError::Conflict {
            cluster,
            object,
            managers,
            ..
        }) => {
            assert_eq!(cluster, "c1");
            assert_eq!(object, "ConfigMap conflict/settings");
            assert_eq!(managers, "other");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = c1
        .apply(
            &ours,
            ApplyOptions {
                dry_run: false,
                force: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(forced["data"]["mode"], "ours");
}

#[tokio::test]
async fn rbac_denials_are_forbidden() {
    let fleet = TestFleet::shared(FLEET).await;
    fleet.create_namespace("c2", "rbac").await;
    let limited = fleet.limited_cluster("c2").await;
    let cm = config_map("rbac", "x", json!({}), json!({}));
    for result in [
        limited.apply(&cm, APPLY).await.map(|_| ()),
        limited.get(&id(&cm)).await.map(|_| ()),
        limited
            .list("v1", "ConfigMap", Some("rbac"), "")
            .await
            .map(|_| ()),
        limited.delete(&id(&cm)).await,
    ] {
        assert!(
            matches!(result, Err(ClusterError::Forbidden { .. })),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn unknown_kinds_and_invalid_objects_are_classified() {
    let fleet = TestFleet::shared(FLEET).await;
    let test = "unknown_kinds_and_invalid_objects_are_classified";
    if !fleet.needs_real_cluster(test, "validation of objects") {
        return;
    }
    fleet.create_namespace("c3", "bad").await;
    let c3 = fleet.cluster("c3").await;
    for (api_version, kind) in [
        ("nothere.example.com/v1", "Thing"),
        ("apps/v1", "Thing"),
        ("apps/v9", "Deployment"),
    ] {
        let obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "bad"}});
        let err = c3.apply(&obj, APPLY).await.unwrap_err();
        assert!(
            matches!(&err, ClusterError::UnknownKind { kind: k, .. } if k == kind),
            "{err:?}"
        );
        assert!(matches!(
            c3.get(&id(&obj)).await,
            Err(ClusterError::UnknownKind { .. })
        ));
    }
    let err = c3
        .apply(&deployment("bad", "negative", -1), APPLY)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClusterError::Invalid { message, .. } if message.contains("replicas")),
        "{err:?}"
    );
}

#[tokio::test]
async fn list_selects_by_label_and_delete_tolerates_missing_objects() {
    let fleet = TestFleet::shared(FLEET).await;
    fleet.create_namespace("c1", "listing").await;
    let c1 = fleet.cluster("c1").await;
    let a = config_map("listing", "a", json!({"tier": "web"}), json!({}));
    let b = config_map("listing", "b", json!({"tier": "db"}), json!({}));
    for o in [&a, &b] {
        c1.apply(o, APPLY).await.unwrap();
    }
    let names = |objs: Vec<Value>| -> Vec<String> {
        objs.iter()
            .map(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        names(
            c1.list("v1", "ConfigMap", Some("listing"), "tier=web")
                .await
                .unwrap()
        ),
        ["a"]
    );
    let all_namespaces = c1
        .list("v1", "ConfigMap", None, "tier in (web,db)")
        .await
        .unwrap();
    assert_eq!(names(all_namespaces.clone()), ["a", "b"]);
    assert!(all_namespaces
        .iter()
        .all(|o| o["kind"] == "ConfigMap" && o["apiVersion"] == "v1"));
    c1.delete(&id(&a)).await.unwrap();
    assert_eq!(c1.get(&id(&a)).await.unwrap(), None);
    c1.delete(&id(&a)).await.unwrap();
    // A namespace on a cluster-scoped kind is refused, never dropped: the
    // object is not written anywhere.
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "listing-2", "namespace": "listing"}});
    let err = c1.apply(&ns, APPLY).await.unwrap_err();
    assert!(matches!(err, ClusterError::WrongScope { .. }), "{err}");
    assert!(fleet
        .get("c1", "v1", "Namespace", None, "listing-2")
        .await
        .is_none());
}

#[tokio::test]
async fn a_crd_applied_a_moment_ago_is_found_for_its_custom_resources() {
    let fleet = TestFleet::shared(FLEET).await;
    fleet.create_namespace("c2", "crd").await;
    let c2 = fleet.cluster("c2").await;
    let widget = json!({
        "apiVersion": "tranche.test/v1", "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "crd", "labels": {"size": "big"}},
        "spec": {"size": 3}
    });
    assert!(matches!(
        c2.apply(&widget, APPLY).await,
        Err(ClusterError::UnknownKind { .. })
    ));

    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.tranche.test"},
        "spec": {
            "group": "tranche.test", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }]
        }
    });
    c2.apply(&crd, APPLY).await.unwrap();
    // Established, then served: the apiserver updates discovery a moment
    // after the condition, and the driver asks again on each miss.
    support::eventually(
        "the CRD to be Established and its kind served",
        Duration::from_secs(30),
        || async {
            let crd = c2.get(&id(&crd)).await.unwrap()?;
            let conditions = crd["status"]["conditions"].as_array()?.clone();
            let established = conditions
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True");
            let served = c2.is_namespaced("tranche.test/v1", "Widget").await.is_ok();
            (established && served).then_some(())
        },
    )
    .await;
    let applied = c2.apply(&widget, APPLY).await.unwrap();
    assert_eq!(applied["spec"]["size"], 3);
    assert!(c2.is_namespaced("tranche.test/v1", "Widget").await.unwrap());
    let listed = c2
        .list("tranche.test/v1", "Widget", Some("crd"), "size=big")
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

/// A custom resource has no controller here: the test plays its operator
/// (the only status faking in the suites), and tranche's applies never
/// touch the status the operator wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_resource_keeps_the_status_its_operator_writes() {
    let fleet = TestFleet::shared(FLEET).await;
    fleet.create_namespace("c3", "gadgets").await;
    let c3 = fleet.cluster("c3").await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.tranche.test"},
        "spec": {
            "group": "tranche.test", "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }]
        }
    });
    c3.apply(&crd, APPLY).await.unwrap();
    let gadget = json!({"apiVersion": "tranche.test/v1", "kind": "Gadget",
        "metadata": {"name": "g1", "namespace": "gadgets"}, "spec": {"size": 2}});
    let applied = support::eventually("Gadget served", Duration::from_secs(30), || async {
        c3.apply(&gadget, APPLY).await.ok()
    })
    .await;
    assert!(applied.get("status").is_none());
    let _operator = support::CustomResourceController::spawn(
        fleet,
        &["c3"],
        "tranche.test/v1",
        "Gadget",
        |g| json!({"observedGeneration": g["metadata"]["generation"], "phase": "Ready"}),
    );
    let live = support::eventually("status written", Duration::from_secs(30), || async {
        let g = c3.get(&id(&gadget)).await.unwrap()?;
        (g["status"]["phase"] == "Ready").then_some(g)
    })
    .await;
    assert_eq!(live["status"]["observedGeneration"], 1);
    let again = c3.apply(&gadget, APPLY).await.unwrap();
    assert_eq!(again["status"]["phase"], "Ready", "{again}");
}

#[tokio::test]
async fn a_stopped_apiserver_is_unreachable_and_connect_isolates_bad_clusters() {
    let fleet = TestFleet::start(&["up", "down"]).await;
    let down = fleet.cluster("down").await;
    down.ping().await.unwrap();
    fleet.stop("down");
    assert!(!fleet.is_running("down"));
    let err = down.ping().await.unwrap_err();
    assert!(
        matches!(&err, ClusterError::Unreachable { cluster, .. } if cluster == "down"),
        "{err:?}"
    );
    let err = down
        .apply(&config_map("default", "x", json!({}), json!({})), APPLY)
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");

    let source = ClusterSource::Kubeconfig {
        path: Some(fleet.kubeconfig_path().to_path_buf()),
    };
    let wanted = [("up", "up"), ("down", "down"), ("ghost", "no-such-context")];
    let wanted: Vec<(String, String)> = wanted
        .iter()
        .map(|(n, c)| (n.to_string(), c.to_string()))
        .collect();
    let clusters = connect(&source, &wanted).await;
    assert_eq!(clusters.len(), 3);
    let up = clusters["up"]
        .as_ref()
        .map_err(|e| e.to_string())
        .expect("up connects");
    assert!(up.has_controllers());
    up.ping().await.unwrap();
    for (name, context) in [("down", "\"down\""), ("ghost", "\"no-such-context\"")] {
        match &clusters[name] {
            Err(ClusterError::Unreachable { cluster, message }) => {
                assert_eq!(cluster, name);
                assert!(message.contains(context), "{message}");
            }
            Err(e) => panic!("{name}: expected unreachable, got {e:?}"),
            Ok(_) => panic!("{name}: expected unreachable, got a connection"),
        }
    }
    fleet.restart("down").await;
    down.ping().await.unwrap();
}

/// `deploy/` (issue 5): every manifest passes a server-side dry-run apply
/// on a real apiserver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_manifest_in_deploy_passes_a_server_side_dry_run() {
    use tranche::cluster::ApplyOptions;
    let fleet = TestFleet::shared(FLEET).await;
    let api = fleet.cluster("c2").await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut objects = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        for (_, doc) in tranche::yaml::parse_documents(&text)
            .unwrap_or_else(|(i, e)| panic!("{}[{i}]: {e}", f.display()))
        {
            objects.push((f.display().to_string(), doc));
        }
    }
    assert!(objects.len() >= 8, "{}", objects.len());
    // The namespace must exist for namespaced dry-runs: create it for real.
    let ns = objects
        .iter()
        .find(|(_, o)| o["kind"] == "Namespace")
        .expect("namespace")
        .1
        .clone();
    api.apply(&ns, ApplyOptions::default())
        .await
        .expect("namespace");
    for (file, obj) in &objects {
        let r = api
            .apply(
                obj,
                ApplyOptions {
                    dry_run: true,
                    force: false,
                },
            )
            .await;
        assert!(
            r.is_ok(),
            "{file}: {} {}: {:?}",
            obj["kind"],
            obj["metadata"]["name"],
            r.err()
        );
    }
}
