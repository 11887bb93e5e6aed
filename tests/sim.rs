//! The simulated clusters (`tests/support/sim`) on every `cargo test`, no
//! Kubernetes build needed: tranche's first rollout, a no-op plan and an
//! image change on a few of them, checked from the objects read back and
//! from their request logs; and what the stand-in itself must get right
//! for tranche (apply conflicts between field managers, watches resuming
//! and expiring). The whole live suites run on it with `TRANCHE_K8S=sim`.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::fixtures::{deployment, shop_repo};
use support::{object_ref, tranche, K8s, TestFleet};

const CLUSTERS: [&str; 3] = ["s1", "s2", "s3"];
const V1: &str = "registry.example.com/shop/web:1.0.0";
const V2: &str = "registry.example.com/shop/web:1.1.0";

async fn run(
    fleet: &TestFleet,
    repo: &support::FixtureRepo,
    state: &std::path::Path,
    verb: &str,
) -> (i32, String, String) {
    let repo = repo.path().display().to_string();
    let kc = fleet.kubeconfig_path().display().to_string();
    let state = state.display().to_string();
    let mut args = vec![verb, repo.as_str(), "--kubeconfig", kc.as_str()];
    if verb == "apply" {
        args.extend(["--state-dir", state.as_str()]);
    } else {
        args.extend(["--output", "json"]);
    }
    let out = tranche(&args).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn image(d: &Value) -> &str {
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_rollout_a_no_op_plan_and_an_image_change_on_simulated_clusters() {
    let fleet = TestFleet::start_on(K8s::Sim, &CLUSTERS).await;
    assert!(fleet.is_sim());
    let repo = shop_repo(&CLUSTERS);
    repo.commit("shop v1");
    let state = tempfile::tempdir().unwrap();

    // First rollout: every object created, the Deployment healthy at once.
    let (code, out, err) = run(&fleet, &repo, state.path(), "apply").await;
    assert_eq!(code, 0, "{out}\n{err}");
    for c in CLUSTERS {
        let d = fleet
            .get(c, "apps/v1", "Deployment", Some("shop"), "web")
            .await
            .expect("the Deployment");
        assert_eq!(image(&d), V1);
        assert_eq!(d["metadata"]["generation"], 1);
        assert_eq!(d["status"]["observedGeneration"], 1);
        assert_eq!(d["status"]["availableReplicas"], 2);
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "tranche"
        );
        let owners: Vec<&str> = d["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert_eq!(owners, vec!["tranche"]);
        let secret = fleet
            .get(c, "v1", "Secret", Some("shop"), "db")
            .await
            .expect("the Secret");
        assert!(
            secret.get("stringData").is_none(),
            "stringData goes into data"
        );
        assert!(secret["data"]["password"].is_string());
        let inventory = fleet
            .get(c, "v1", "ConfigMap", Some("tranche-system"), "shop")
            .await
            .expect("the inventory");
        assert!(inventory["data"]["commit"].is_string());
        let writes: Vec<String> = fleet
            .mutating_requests_in(c, "shop", 0)
            .await
            .iter()
            .map(object_ref)
            .collect();
        for w in [
            "patch namespaces shop",
            "patch deployments shop/web",
            "patch services shop/web",
            "patch configmaps shop/web-config",
            "patch secrets shop/db",
        ] {
            assert!(
                writes.contains(&w.to_string()),
                "{c}: no {w:?} in {writes:?}"
            );
        }
    }

    // A no-op plan writes nothing (dry-runs are not writes) and finds nothing.
    let marks = fleet.audit_marks().await;
    let (code, out, err) = run(&fleet, &repo, state.path(), "plan").await;
    assert_eq!(code, 0, "nothing to change → exit 0\n{out}\n{err}");
    for (c, since) in CLUSTERS.iter().zip(&marks) {
        let writes = fleet.mutating_requests(c, *since).await;
        assert!(
            writes.is_empty(),
            "{c}: the no-op plan wrote {:?}",
            writes.iter().map(object_ref).collect::<Vec<_>>()
        );
    }

    // An image change: one patch per cluster, a new generation, healthy.
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    repo.commit("shop 1.1.0");
    let marks = fleet.audit_marks().await;
    let (code, out, err) = run(&fleet, &repo, state.path(), "apply").await;
    assert_eq!(code, 0, "{out}\n{err}");
    for (c, since) in CLUSTERS.iter().zip(&marks) {
        let writes: Vec<String> = fleet
            .mutating_requests_in(c, "shop", *since)
            .await
            .iter()
            .map(object_ref)
            .collect();
        assert_eq!(
            writes,
            vec!["patch deployments shop/web".to_string()],
            "{c}"
        );
        let d = fleet
            .get(c, "apps/v1", "Deployment", Some("shop"), "web")
            .await
            .unwrap();
        assert_eq!(image(&d), V2);
        assert_eq!(d["metadata"]["generation"], 2);
        assert_eq!(d["status"]["observedGeneration"], 2);
    }
}

fn config_map(value: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "owned", "namespace": "default"},
        "data": {"key": value},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_conflicts_between_managers_and_force_moves_ownership() {
    let fleet = TestFleet::start_on(K8s::Sim, &["f1"]).await;
    let first = fleet
        .apply_as("f1", "alice", &config_map("a"), false)
        .await
        .unwrap();
    let rv = first["metadata"]["resourceVersion"].clone();
    // The same apply again changes nothing: no new resourceVersion.
    let again = fleet
        .apply_as("f1", "alice", &config_map("a"), false)
        .await
        .unwrap();
    assert_eq!(again["metadata"]["resourceVersion"], rv);
    // Same value by another manager: shared, no conflict.
    fleet
        .apply_as("f1", "bob", &config_map("a"), false)
        .await
        .unwrap();
    let (code, status) = fleet
        .apply_as("f1", "carol", &config_map("c"), false)
        .await
        .unwrap_err();
    assert_eq!(code, 409, "{status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains("conflict with \"alice\": .data.key"),
        "{message}"
    );
    assert!(message.contains("conflict with \"bob\""), "{message}");
    let forced = fleet
        .apply_as("f1", "carol", &config_map("c"), true)
        .await
        .unwrap();
    assert_eq!(forced["data"]["key"], "c");
    let owners: Vec<&str> = forced["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["fieldsV1"]["f:data"]["f:key"].is_object())
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(owners, vec!["carol"]);
    // A field its manager stops applying is removed.
    let mut less = config_map("c");
    less["data"] = json!({"other": "x"});
    let after = fleet.apply_as("f1", "carol", &less, false).await.unwrap();
    assert_eq!(after["data"], json!({"other": "x"}));
    // Dry-runs change nothing.
    let path = fleet
        .object_path("f1", "v1", "ConfigMap", Some("default"), "owned")
        .await;
    let (code, _) = fleet
        .request(
            "f1",
            Method::PATCH,
            &format!("{path}?fieldManager=dave&force=true&dryRun=All"),
            Some(config_map("d")),
            "application/apply-patch+yaml",
        )
        .await;
    assert_eq!(code, 200);
    let live = fleet
        .get("f1", "v1", "ConfigMap", Some("default"), "owned")
        .await
        .unwrap();
    assert_eq!(live["data"], json!({"other": "x"}));
}

/// The first line of a watch's answer.
async fn first_watch_line(fleet: &TestFleet, path: &str) -> Value {
    let url = format!("{}{path}", fleet.server_url("w1"));
    let mut resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(fleet.admin_token())
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    while !text.contains('\n') {
        let chunk = resp.chunk().await.unwrap().expect("a watch event");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    serde_json::from_str(text.lines().next().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_resume_from_a_resource_version_and_expire_when_it_is_too_old() {
    let fleet = TestFleet::start_on(K8s::Sim, &["w1"]).await;
    let created = fleet
        .apply_as("w1", "t", &config_map("1"), false)
        .await
        .unwrap();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    fleet
        .apply_as("w1", "t", &config_map("2"), false)
        .await
        .unwrap();
    let list = "/api/v1/namespaces/default/configmaps";
    let resumed =
        first_watch_line(&fleet, &format!("{list}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(resumed["type"], "MODIFIED");
    assert_eq!(resumed["object"]["data"]["key"], "2");
    // Leaving a selector is a DELETED for that watch.
    let selected = format!("{list}?watch=true&labelSelector=team%3Dshop&resourceVersion={rv}");
    let mut labelled = config_map("3");
    labelled["metadata"]["labels"] = json!({"team": "shop"});
    fleet.apply_as("w1", "t", &labelled, false).await.unwrap();
    let entered = first_watch_line(&fleet, &selected).await;
    assert_eq!(entered["type"], "ADDED");
    fleet.sim().unwrap().cluster("w1").store().compact();
    let expired =
        first_watch_line(&fleet, &format!("{list}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(expired["type"], "ERROR");
    assert_eq!(expired["object"]["code"], 410);
    // Metadata only, as tranche's watches of managed objects ask.
    let url = format!("{}{list}", fleet.server_url("w1"));
    let meta: Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(fleet.admin_token())
        .header(
            "Accept",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["kind"], "PartialObjectMetadataList");
    assert!(meta["items"][0].get("data").is_none(), "{meta}");
    assert_eq!(meta["items"][0]["metadata"]["name"], "owned");
}
