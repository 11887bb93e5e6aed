//! Real applications on real clusters of the current Kubernetes release,
//! with the real binary: the project's own example fleet
//! (`examples/repo-layout`) on 12 clusters, and two published apps copied
//! unmodified into `tests/fixtures` (Google's Online Boutique and Istio's
//! Bookinfo) on 3. Every Deployment must be reported available by the real
//! Deployment controller, and a second apply must write nothing. The
//! example's CloneSets (OpenKruise) have no controller here: the test
//! plays it, reporting them ready once their CRD is served.

mod support;

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use support::fixtures::{cluster, rollout_policy};
use support::{tranche, CustomResourceController, FixtureRepo, TestFleet};

/// What OpenKruise's controller would report for a CloneSet: every
/// replica updated and ready.
fn cloneset_ready(set: &Value) -> Value {
    let replicas = set["spec"]["replicas"].as_i64().unwrap_or(1);
    serde_json::json!({
        "observedGeneration": set["metadata"]["generation"],
        "replicas": replicas,
        "readyReplicas": replicas,
        "updatedReplicas": replicas,
        "updatedReadyReplicas": replicas,
    })
}

/// Plays OpenKruise's CloneSet controller on each of `clusters` from the
/// moment its CloneSet CRD is Established, until the task is dropped.
fn play_kruise(fleet: Arc<TestFleet>, clusters: Vec<String>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut controllers = Vec::new();
        let mut waiting = clusters;
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for c in waiting {
                let crd = fleet
                    .get(
                        &c,
                        "apiextensions.k8s.io/v1",
                        "CustomResourceDefinition",
                        None,
                        "clonesets.apps.kruise.io",
                    )
                    .await;
                let established = crd.is_some_and(|crd| {
                    crd["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Established" && c["status"] == "True")
                    })
                });
                if established {
                    controllers.push(CustomResourceController::spawn(
                        fleet.clone(),
                        &[c.as_str()],
                        "apps.kruise.io/v1alpha1",
                        "CloneSet",
                        cloneset_ready,
                    ));
                } else {
                    still.push(c);
                }
            }
            waiting = still;
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        std::future::pending::<()>().await;
        drop(controllers);
    })
}

fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `tranche apply --output json` of `repo`: exit code, report, stderr.
async fn apply(repo: &Path, kubeconfig: &Path, state: &Path) -> (i32, Value, String) {
    let (repo, kubeconfig, state) = (
        repo.display().to_string(),
        kubeconfig.display().to_string(),
        state.display().to_string(),
    );
    let out = tranche(&[
        "apply",
        &repo,
        "--kubeconfig",
        &kubeconfig,
        "--state-dir",
        &state,
        "--output",
        "json",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("report JSON: {e}\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// Every Deployment tranche manages on `cluster`, each checked to be
/// available as the Deployment controller reports it. Returns
/// `namespace/name` of each.
async fn available_deployments(fleet: &TestFleet, cluster: &str) -> Vec<String> {
    let path = "/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtranche";
    let (code, list) = fleet
        .request(
            cluster,
            reqwest::Method::GET,
            path,
            None,
            "application/json",
        )
        .await;
    assert_eq!(code, 200, "{list}");
    let mut names = Vec::new();
    for d in list["items"].as_array().cloned().unwrap_or_default() {
        let name = format!(
            "{}/{}",
            d["metadata"]["namespace"].as_str().unwrap_or_default(),
            d["metadata"]["name"].as_str().unwrap_or_default()
        );
        let available = d["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Available" && c["status"] == "True");
        let want = d["status"]["replicas"].as_i64().unwrap_or(0);
        assert!(
            available
                && want >= 1
                && d["status"]["availableReplicas"].as_i64() == Some(want)
                && d["status"]["observedGeneration"] == d["metadata"]["generation"],
            "{cluster}: Deployment {name} is not available: {}",
            d["status"]
        );
        names.push(name);
    }
    names.sort();
    names
}

async fn assert_second_apply_writes_nothing(
    fleet: &TestFleet,
    repo: &Path,
    kubeconfig: &Path,
    state: &Path,
) {
    let names = fleet.names().to_vec();
    let since = futures::future::join_all(names.iter().map(|c| fleet.audit_len(c))).await;
    let (code, report, err) = apply(repo, kubeconfig, state).await;
    assert_eq!(code, 0, "{report}\n{err}");
    assert_eq!(report["outcome"], "nothingToDo", "{report}");
    for (c, since) in names.iter().zip(since) {
        let writes = fleet.mutating_requests(c, since).await;
        assert!(
            writes.is_empty(),
            "{c}: the second apply wrote: {:?}",
            writes.iter().map(support::object_ref).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_boutique_and_bookinfo_deploy_unmodified_and_a_second_apply_writes_nothing() {
    let names = ["shop-1", "shop-2", "shop-3"];
    let fleet = TestFleet::start(&names).await;
    let repo = FixtureRepo::new();
    for c in names {
        repo.write(&format!("clusters/{c}.yaml"), &cluster(c, None));
    }
    repo.write("policies/rollout.yaml", &rollout_policy("Rollback", "0s"));
    for (app, file, fixture_path) in [
        (
            "online-boutique",
            "kubernetes-manifests.yaml",
            "tests/fixtures/online-boutique/kubernetes-manifests.yaml",
        ),
        (
            "bookinfo",
            "bookinfo.yaml",
            "tests/fixtures/bookinfo/bookinfo.yaml",
        ),
    ] {
        repo.write(
            &format!("apps/{app}/placement.yaml"),
            &format!(
                "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {{name: {app}}}\nspec:\n  \
                 clusterAffinity:\n    labelSelector: {{matchLabels: {{env: test}}}}\n"
            ),
        );
        repo.write(
            &format!("apps/{app}/manifests/{file}"),
            &fixture(fixture_path),
        );
    }
    repo.commit("online boutique and bookinfo");
    let state = tempfile::tempdir().unwrap();
    let (code, report, err) = apply(repo.path(), fleet.kubeconfig_path(), state.path()).await;
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    for c in names {
        let deployments = available_deployments(&fleet, c).await;
        assert_eq!(deployments.len(), 12 + 6, "{c}: {deployments:?}");
        for d in [
            "default/frontend",
            "default/cartservice",
            "default/reviews-v3",
        ] {
            assert!(deployments.contains(&d.to_string()), "{c}: {deployments:?}");
        }
        // What 1.20 could not take: gRPC probes, Service ports without
        // protocol (Online Boutique writes none).
        let cart = fleet
            .get(c, "apps/v1", "Deployment", Some("default"), "cartservice")
            .await
            .expect("cartservice");
        assert!(
            cart["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"]
                .is_number(),
            "{c}: {cart}"
        );
        let pods = fleet
            .request(
                c,
                reqwest::Method::GET,
                "/api/v1/namespaces/default/pods",
                None,
                "application/json",
            )
            .await
            .1;
        let running = pods["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["status"]["phase"] == "Running")
            .count();
        assert!(running >= 18, "{c}: {running} pods running");
    }
    assert_second_apply_writes_nothing(&fleet, repo.path(), fleet.kubeconfig_path(), state.path())
        .await;
}

/// The example fleet as committed, except the canary bake time (2 minutes
/// per batch would make this test 6 minutes long): 12 clusters reached
/// through their own `spec.context` names, batches 2:2:8, green.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_fleet_rolls_out_green_to_12_clusters() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/repo-layout");
    let repo = FixtureRepo::new();
    repo.copy_dir(&example, "");
    let policy = fixture("examples/repo-layout/policies/rollout.yaml");
    assert!(policy.contains("bakeTime: 2m"), "{policy}");
    repo.write(
        "policies/rollout.yaml",
        &policy.replacen("bakeTime: 2m", "bakeTime: 2s", 1),
    );
    repo.commit("the example fleet");
    let mut clusters: Vec<(String, String)> = Vec::new();
    for e in std::fs::read_dir(example.join("clusters"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let docs =
            tranche::yaml::parse_documents(&text).unwrap_or_else(|(i, e)| panic!("{i}: {e}"));
        let doc = &docs[0].1;
        let name = doc["metadata"]["name"].as_str().unwrap().to_string();
        let context = doc["spec"]["context"].as_str().unwrap_or(&name).to_string();
        clusters.push((name, context));
    }
    clusters.sort();
    assert_eq!(clusters.len(), 12);
    let names: Vec<&str> = clusters.iter().map(|(n, _)| n.as_str()).collect();
    let fleet = Arc::new(TestFleet::start(&names).await);
    support::use_tools(); // the kustomize app catalog and the Helm app reviews
    let cart: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with("prod-eu-west") || n.starts_with("prod-us-east"))
        .map(|n| n.to_string())
        .collect();
    let kruise = play_kruise(fleet.clone(), cart.clone());
    let contexts: Vec<(&str, &str)> = clusters
        .iter()
        .map(|(n, c)| (c.as_str(), n.as_str()))
        .collect();
    let kubeconfig = fleet.kubeconfig_with_contexts("example-kubeconfig", &contexts);
    let state = tempfile::tempdir().unwrap();
    let (code, report, err) = apply(repo.path(), &kubeconfig, state.path()).await;
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    let sizes: Vec<usize> = report["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [2, 2, 8], "{report}");
    let mut deployments = 0;
    for c in &names {
        deployments += available_deployments(&fleet, c).await.len();
    }
    assert!(deployments >= 12 + 9, "{deployments} Deployments");
    let hpa = fleet
        .get(
            "prod-eu-west-1",
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("checkout"),
            "checkout",
        )
        .await;
    assert!(hpa.is_some(), "the checkout HPA stays autoscaling/v2");
    // cart's 10 CloneSet replicas, split by tier weight (2 for tier 1, else 1).
    let mut split = Vec::new();
    for c in &cart {
        let set = fleet
            .get(
                c,
                "apps.kruise.io/v1alpha1",
                "CloneSet",
                Some("cart"),
                "cart",
            )
            .await
            .unwrap_or_else(|| panic!("{c}: no CloneSet cart/cart"));
        split.push(set["spec"]["replicas"].as_i64().unwrap_or_default());
    }
    assert_eq!(split, [3, 1, 1, 3, 1, 1], "{cart:?}");
    assert_second_apply_writes_nothing(&fleet, repo.path(), &kubeconfig, state.path()).await;
    kruise.abort();
}
