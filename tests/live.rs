//! Live clusters (issue 3): `tranche plan` / `tranche apply` as the real
//! binary, on a real git repository, against REAL clusters of the current
//! Kubernetes release (controllers, scheduler and kwok nodes running), and
//! what differs on v1.20's apiserver.

mod support;

use serde_json::{json, Value};
use std::sync::Arc;
use support::fixtures::{deployment, shop_image, shop_repo};
use support::{tranche, K8s, TestFleet};

const CLUSTERS: [&str; 3] = ["a", "b", "c"];

struct Env {
    fleet: Arc<TestFleet>,
    repo: support::FixtureRepo,
    state: tempfile::TempDir,
}

async fn env() -> Env {
    env_on(K8s::Current).await
}

async fn env_on(version: K8s) -> Env {
    let fleet = Arc::new(TestFleet::start_on(version, &CLUSTERS).await);
    let repo = shop_repo(&CLUSTERS);
    repo.commit("shop v1");
    Env {
        fleet,
        repo,
        state: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    fn kubeconfig(&self) -> String {
        self.fleet.kubeconfig_path().display().to_string()
    }

    async fn run(&self, verb: &str, extra: &[&str]) -> (i32, String, String) {
        let repo = self.repo.path().display().to_string();
        let state = self.state.path().display().to_string();
        let kc = self.kubeconfig();
        let mut args = vec![verb, repo.as_str(), "--kubeconfig", kc.as_str()];
        if verb == "apply" {
            args.extend(["--state-dir", state.as_str()]);
        }
        args.extend(extra);
        let out = tranche(&args).await;
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn plan_json(&self) -> (i32, Value) {
        let (code, out, err) = self.run("plan", &["--output", "json"]).await;
        let v =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("plan JSON: {e}\n{out}\n{err}"));
        (code, v)
    }

    async fn apply_ok(&self) {
        let (code, out, err) = self.run("apply", &[]).await;
        assert_eq!(code, 0, "apply failed\nstdout:\n{out}\nstderr:\n{err}");
    }
}

fn actions(plan: &Value, cluster: &str) -> Vec<(String, String)> {
    let c = plan["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == cluster)
        .unwrap();
    c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| {
            (
                ch["action"].as_str().unwrap().to_string(),
                format!(
                    "{}/{}",
                    ch["kind"].as_str().unwrap(),
                    ch["name"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

fn mutating(plan: &Value, cluster: &str) -> Vec<(String, String)> {
    actions(plan, cluster)
        .into_iter()
        .filter(|(a, _)| a != "unchanged" && a != "skip")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_everything_and_a_second_apply_sends_nothing() {
    let env = env().await;
    let (code, plan) = env.plan_json().await;
    assert_eq!(code, 3, "changes pending → exit 3");
    assert_eq!(mutating(&plan, "a").len(), 5, "{plan}");
    env.apply_ok().await;
    let head = env.repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    for c in CLUSTERS {
        let d = env
            .fleet
            .get(c, "apps/v1", "Deployment", Some("shop"), "web")
            .await
            .expect("deployment");
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "tranche"
        );
        assert_eq!(d["metadata"]["labels"]["tranche.dev/app"], "shop");
        assert_eq!(
            d["metadata"]["annotations"]["tranche.dev/commit"],
            head.as_str()
        );
        assert!(env
            .fleet
            .get(c, "v1", "ConfigMap", Some("shop"), "web-config")
            .await
            .is_some());
        let inv = env
            .fleet
            .get(c, "v1", "ConfigMap", Some("tranche-system"), "shop")
            .await
            .expect("inventory");
        assert_eq!(inv["data"]["commit"], head.as_str());
    }
    let since: Vec<usize> =
        futures::future::join_all(CLUSTERS.map(|c| env.fleet.audit_len(c))).await;
    let (code, plan) = env.plan_json().await;
    assert_eq!(code, 0, "nothing to change → exit 0: {plan}");
    env.apply_ok().await;
    for (c, since) in CLUSTERS.iter().zip(since) {
        let writes = env.fleet.mutating_requests(c, since).await;
        assert!(
            writes.is_empty(),
            "{c}: a no-op apply wrote: {:?}",
            writes.iter().map(support::object_ref).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_change_updates_exactly_one_object_per_cluster() {
    let env = env().await;
    env.apply_ok().await;
    env.repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:1.1.0", 2),
    );
    let v2 = env.repo.commit("shop 1.1.0");
    let (code, plan) = env.plan_json().await;
    assert_eq!(code, 3);
    for c in CLUSTERS {
        assert_eq!(
            mutating(&plan, c),
            vec![("update".to_string(), "Deployment/web".to_string())]
        );
        let patch = plan["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == c)
            .unwrap()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|ch| ch["action"] == "update")
            .unwrap()["patch"]
            .to_string();
        assert!(patch.contains("web:1.1.0"), "{patch}");
    }
    let since: Vec<usize> =
        futures::future::join_all(CLUSTERS.map(|c| env.fleet.audit_len(c))).await;
    env.apply_ok().await;
    for (c, since) in CLUSTERS.iter().zip(since) {
        let writes: Vec<String> = env
            .fleet
            .mutating_requests_in(c, "shop", since)
            .await
            .iter()
            .map(support::object_ref)
            .collect();
        assert_eq!(
            writes,
            vec!["patch deployments shop/web".to_string()],
            "{c}"
        );
        let d = env
            .fleet
            .get(c, "apps/v1", "Deployment", Some("shop"), "web")
            .await
            .unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example.com/shop/web:1.1.0"
        );
        assert_eq!(
            d["metadata"]["annotations"]["tranche.dev/commit"],
            v2.as_str()
        );
        let cm = env
            .fleet
            .get(c, "v1", "ConfigMap", Some("shop"), "web-config")
            .await
            .unwrap();
        assert_ne!(
            cm["metadata"]["annotations"]["tranche.dev/commit"],
            v2.as_str(),
            "unchanged objects keep their commit"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_manifest_prunes_its_objects() {
    let env = env().await;
    env.apply_ok().await;
    env.repo.remove("apps/shop/manifests/config.yaml");
    env.repo.commit("drop config and service");
    let (_, plan) = env.plan_json().await;
    let mut m = mutating(&plan, "b");
    m.sort();
    assert_eq!(
        m,
        vec![
            ("prune".into(), "ConfigMap/web-config".into()),
            ("prune".into(), "Service/web".into())
        ]
    );
    env.apply_ok().await;
    for c in CLUSTERS {
        assert!(
            env.fleet
                .get(c, "v1", "ConfigMap", Some("shop"), "web-config")
                .await
                .is_none(),
            "{c}"
        );
        assert!(
            env.fleet
                .get(c, "v1", "Service", Some("shop"), "web")
                .await
                .is_none(),
            "{c}"
        );
        assert!(
            env.fleet
                .get(c, "apps/v1", "Deployment", Some("shop"), "web")
                .await
                .is_some(),
            "{c}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_object_with_the_same_name_is_not_taken_over() {
    let env = env().await;
    env.fleet.create_namespace("a", "shop").await;
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web-config", "namespace": "shop"}, "data": {"owner": "someone-else"}});
    env.fleet
        .apply_as("a", "kubectl", &foreign, false)
        .await
        .expect("foreign object");
    let (code, plan) = env.plan_json().await;
    assert_eq!(code, 3);
    let a = actions(&plan, "a");
    assert!(
        a.contains(&("forbidden".to_string(), "ConfigMap/web-config".to_string())),
        "{a:?}"
    );
    assert!(
        actions(&plan, "b").contains(&("create".to_string(), "ConfigMap/web-config".to_string()))
    );
    let (code, _, err) = env.run("apply", &[]).await;
    assert_eq!(code, 1, "{err}");
    let cm = env
        .fleet
        .get("a", "v1", "ConfigMap", Some("shop"), "web-config")
        .await
        .unwrap();
    assert_eq!(
        cm["data"],
        json!({"owner": "someone-else"}),
        "foreign data untouched"
    );
    assert!(cm["metadata"]["labels"]
        .get("app.kubernetes.io/managed-by")
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_object_is_skipped() {
    let env = env().await;
    env.apply_ok().await;
    let path = "/apis/apps/v1/namespaces/shop/deployments/web";
    let patch = json!({"metadata": {"annotations": {"tranche.dev/detach": "true"}}});
    let (code, _) = env
        .fleet
        .request(
            "a",
            reqwest::Method::PATCH,
            path,
            Some(patch),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 200);
    env.repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:2.0.0", 2),
    );
    env.repo.commit("shop 2.0.0");
    let (_, plan) = env.plan_json().await;
    assert!(actions(&plan, "a").contains(&("skip".to_string(), "Deployment/web".to_string())));
    assert_eq!(
        mutating(&plan, "b"),
        vec![("update".to_string(), "Deployment/web".to_string())]
    );
    env.apply_ok().await;
    assert_eq!(
        shop_image(&env.fleet, "a").await,
        "registry.example.com/shop/web:1.0.0"
    );
    assert_eq!(
        shop_image(&env.fleet, "b").await,
        "registry.example.com/shop/web:2.0.0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_namespace_is_refused_before_any_request() {
    let env = env().await;
    env.repo.write(
        "apps/shop/manifests/sneaky.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sneaky\n  namespace: kube-system\ndata: {a: b}\n",
    );
    env.repo.commit("try kube-system");
    let since = env.fleet.audit_len("a").await;
    let (code, _, err) = env.run("plan", &[]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("apps/shop/manifests/sneaky.yaml") && err.contains("kube-system"),
        "{err}"
    );
    let (code, _, _) = env.run("apply", &[]).await;
    assert_eq!(code, 2, "error before any change");
    assert!(env
        .fleet
        .mutating_requests_in("a", "kube-system", since)
        .await
        .is_empty());
    assert!(env
        .fleet
        .get("a", "v1", "ConfigMap", Some("kube-system"), "sneaky")
        .await
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_denials_are_reported_per_cluster_not_a_crash() {
    let env = env().await;
    env.repo.write(
        "clusters/a.yaml",
        &support::fixtures::cluster("a", None).replace("context: a", "context: a-limited"),
    );
    env.repo.commit("reach a with the limited user");
    let (code, plan) = env.plan_json().await;
    assert_eq!(code, 1);
    let a = plan["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "a")
        .unwrap();
    assert!(
        a["error"]
            .as_str()
            .unwrap_or_default()
            .contains("forbidden"),
        "{a}"
    );
    assert_eq!(mutating(&plan, "b").len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_is_down_is_unreachable_and_the_others_are_planned() {
    let env = env().await;
    env.fleet.stop("c");
    let (code, plan) = env.plan_json().await;
    assert_eq!(code, 1);
    let c = plan["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "c")
        .unwrap();
    assert_eq!(c["reachable"], false);
    assert!(c["error"].as_str().unwrap().contains("c"), "{c}");
    for ok in ["a", "b"] {
        let p = plan["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == ok)
            .unwrap();
        assert_eq!(p["reachable"], true);
        assert_eq!(mutating(&plan, ok).len(), 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_never_appear_in_plan_or_apply_output() {
    let env = env().await;
    let check = |text: &str| {
        assert!(!text.contains("hunter2"), "secret leaked: {text}");
        assert!(!text.contains("aHVudGVy"), "secret (base64) leaked: {text}");
    };
    let (_, out, err) = env.run("plan", &[]).await;
    check(&out);
    check(&err);
    assert!(out.contains("Secret shop/db"), "{out}");
    env.apply_ok().await;
    env.repo.write("apps/shop/manifests/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ntype: Opaque\nstringData:\n  password: hunter2-rotated\n");
    env.repo.commit("rotate");
    let (code, out, err) = env.run("plan", &[]).await;
    assert_eq!(code, 3, "a changed secret is an update");
    check(&out);
    check(&err);
    let (_, json_out, _) = env.run("plan", &["--output", "json"]).await;
    check(&json_out);
    assert!(json_out.contains("\"update\""));
    let (_, out, err) = env.run("apply", &["--output", "json"]).await;
    check(&out);
    check(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_objects_apply_with_split_bounds_and_the_deployment_leaves_replicas_to_them() {
    let env = env().await;
    env.repo.write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n  replicaScheduling:\n    replicaSchedulingType: Divided\n    \
         weightPreference:\n      staticWeightList:\n        - targetCluster: {clusterNames: [a]}\n          weight: 2\n        \
         - targetCluster: {clusterNames: [b, c]}\n          weight: 1\n",
    );
    env.repo.write(
        "apps/shop/manifests/hpa.yaml",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  \
         scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 4\n  maxReplicas: 8\n  \
         metrics:\n    - type: Resource\n      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n",
    );
    env.repo.commit("autoscale shop");
    env.apply_ok().await;
    let mut total = (0, 0);
    for (c, min, max) in [("a", 2, 4), ("b", 1, 2), ("c", 1, 2)] {
        let h = env
            .fleet
            .get(
                c,
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                Some("shop"),
                "web",
            )
            .await
            .expect("hpa");
        assert_eq!(
            (
                h["spec"]["minReplicas"].as_i64(),
                h["spec"]["maxReplicas"].as_i64()
            ),
            (Some(min), Some(max)),
            "{c}"
        );
        total = (total.0 + min, total.1 + max);
        let d = env
            .fleet
            .get(c, "apps/v1", "Deployment", Some("shop"), "web")
            .await
            .expect("deployment");
        let owns_replicas = d["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| {
                m["manager"] == "tranche" && m["fieldsV1"]["f:spec"].get("f:replicas").is_some()
            });
        assert!(
            !owns_replicas,
            "{c}: tranche must not own spec.replicas when an HPA targets the Deployment"
        );
    }
    assert_eq!(total, (4, 8));
}
