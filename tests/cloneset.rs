//! A custom workload kind on REAL clusters of the current release (issue
//! 14): an OpenKruise CloneSet, known to tranche through the WorkloadKind
//! the project ships in `policies/`, with its CRD
//! (`tests/fixtures/openkruise/cloneset-crd.yaml`) applied by tranche from
//! the fleet repository. No OpenKruise controller runs here: the test plays
//! it, writing `.status` through the status subresource
//! ([`support::CustomResourceController`]).
//!
//! Its replicas are split by weight over three clusters (live objects
//! asserted), each batch's gate waits on the CEL health expression (the
//! next cluster is written only after the test reported the previous one
//! healthy), and a CloneSet that never becomes healthy fails its batch at
//! the health timeout and is rolled back, the failure naming the object
//! and the expression. A field the WorkloadKind retains
//! (`spec.updateStrategy.partition`), changed live by another field
//! manager, survives the next commit.

mod support;

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use support::fixtures::cluster;
use support::{tranche, CustomResourceController, FixtureRepo, TestFleet};

const NAMES: [&str; 3] = ["k1", "k2", "k3"];
const API_VERSION: &str = "apps.kruise.io/v1alpha1";
const V1: &str = "registry.example.com/shop/web:1.0.0";
const V2: &str = "registry.example.com/shop/web:2.0.0";
const BROKEN: &str = "registry.example.com/shop/web:broken";

fn cloneset(image: &str) -> String {
    format!(
        "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  \
         replicas: 6\n  updateStrategy: {{type: InPlaceIfPossible, partition: 0}}\n  selector:\n    \
         matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    \
         spec:\n      containers:\n        - name: web\n          image: {image}\n"
    )
}

fn repo() -> FixtureRepo {
    let repo = FixtureRepo::new();
    for (i, c) in NAMES.iter().enumerate() {
        repo.write(&format!("clusters/{c}.yaml"), &cluster(c, Some(i as i64)));
    }
    repo.write(
        "policies/rollout.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
         steps: [1, 2, 7]\n  healthTimeout: 20s\n  bakeTime: 0s\n  onFailure: Rollback\n",
    );
    repo.write(
        "policies/access.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: default}\nspec:\n  apps:\n    \
         kruise-crds: {clusterScopedKinds: [CustomResourceDefinition]}\n",
    );
    let everywhere =
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity:\n    \
                      labelSelector: {matchLabels: {env: test}}\n";
    repo.write("apps/kruise-crds/placement.yaml", everywhere);
    let crd = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/openkruise/cloneset-crd.yaml"),
    )
    .unwrap();
    repo.write("apps/kruise-crds/manifests/cloneset-crd.yaml", &crd);
    repo.write(
        "apps/web/placement.yaml",
        &format!(
            "{everywhere}  replicaScheduling:\n    replicaSchedulingType: Divided\n    weightPreference:\n      \
             staticWeightList:\n        - {{targetCluster: {{clusterNames: [k1]}}, weight: 3}}\n        \
             - {{targetCluster: {{clusterNames: [k2]}}, weight: 2}}\n        \
             - {{targetCluster: {{clusterNames: [k3]}}, weight: 1}}\n"
        ),
    );
    repo.write(
        "apps/web/manifests/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    );
    repo.write("apps/web/manifests/cloneset.yaml", &cloneset(V1));
    repo
}

/// What an OpenKruise controller would report: every replica updated and
/// ready, except for pods of a `:broken` image, which never get ready.
fn kruise_status(set: &Value) -> Value {
    let replicas = set["spec"]["replicas"].as_i64().unwrap_or(1);
    let image = set["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    let ready = if image.ends_with(":broken") {
        0
    } else {
        replicas
    };
    json!({
        "observedGeneration": set["metadata"]["generation"],
        "replicas": replicas,
        "readyReplicas": ready,
        "updatedReplicas": replicas,
        "updatedReadyReplicas": ready,
    })
}

struct Env {
    fleet: Arc<TestFleet>,
    repo: FixtureRepo,
    state: tempfile::TempDir,
}

impl Env {
    async fn apply(&self) -> (i32, Value, String) {
        let repo = self.repo.path().display().to_string();
        let kubeconfig = self.fleet.kubeconfig_path().display().to_string();
        let state = self.state.path().display().to_string();
        let args = [
            "apply",
            &repo,
            "--kubeconfig",
            &kubeconfig,
            "--state-dir",
            &state,
            "--output",
            "json",
        ];
        let out = tranche(&args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("report JSON: {e}\n{stdout}\n{stderr}"));
        (out.status.code().unwrap_or(-1), report, stderr)
    }

    /// The CloneSet on `c`, `None` while it or its (Established) CRD is missing.
    async fn cloneset(&self, c: &str) -> Option<Value> {
        let crd = self
            .fleet
            .get(
                c,
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "clonesets.apps.kruise.io",
            )
            .await?;
        let conditions = crd["status"]["conditions"].as_array()?.clone();
        if !conditions
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
        {
            return None;
        }
        self.fleet
            .get(c, API_VERSION, "CloneSet", Some("shop"), "web")
            .await
    }

    async fn partition(&self, c: &str) -> Value {
        let set = self.cloneset(c).await.expect("a CloneSet");
        set["spec"]["updateStrategy"]["partition"].clone()
    }

    async fn image(&self, c: &str) -> String {
        let set = self.cloneset(c).await.expect("a CloneSet");
        set["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn is_cloneset_write(e: &Value, subresource: Option<&str>) -> bool {
    support::is_mutating(e)
        && e["objectRef"]["resource"] == "clonesets"
        && e["objectRef"]["subresource"].as_str() == subresource
}

fn first_time(events: &[Value], pick: impl Fn(&Value) -> bool) -> Option<String> {
    events
        .iter()
        .filter(|e| pick(e))
        .filter_map(|e| e["requestReceivedTimestamp"].as_str().map(str::to_string))
        .next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloneset_is_split_by_weight_gated_on_its_cel_health_and_rolled_back_when_never_healthy()
{
    let env = Env {
        fleet: Arc::new(TestFleet::start(&NAMES).await),
        repo: repo(),
        state: tempfile::tempdir().unwrap(),
    };
    env.repo.commit("web on CloneSets");

    // 1. The rollout runs while nobody reports the CloneSet's status: the
    //    first batch (k1) stays unhealthy by the CEL expression.
    let apply = {
        let env = &env;
        async move { env.apply().await }
    };
    let watch = async {
        let mut controllers = Vec::new();
        for (i, c) in NAMES.iter().enumerate() {
            support::eventually("the CloneSet", Duration::from_secs(90), || async {
                env.cloneset(c).await
            })
            .await;
            if i == 0 {
                // The gate polls and keeps waiting: k2 gets nothing meanwhile.
                tokio::time::sleep(Duration::from_secs(3)).await;
                assert!(
                    env.cloneset("k2").await.is_none(),
                    "k2 written before k1 was healthy"
                );
            }
            // Play the controller on this cluster (its CRD is served now):
            // the CloneSet becomes healthy.
            controllers.push(CustomResourceController::spawn(
                env.fleet.clone(),
                &[c],
                API_VERSION,
                "CloneSet",
                kruise_status,
            ));
        }
        controllers
    };
    let ((code, report, err), controllers) = tokio::join!(apply, watch);
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    assert!(
        err.contains("k1 CloneSet shop/web: waiting for `has(status.observedGeneration)"),
        "the wait names the CEL expression:\n{err}"
    );

    // Replicas split 3:2:1 on the live objects.
    for (c, want) in NAMES.iter().zip([3, 2, 1]) {
        let set = env.cloneset(c).await.unwrap();
        assert_eq!(set["spec"]["replicas"], want, "{c}");
        assert_eq!(
            set["metadata"]["labels"]["tranche.dev/policy"],
            "web-cloneset-web"
        );
    }
    // Each cluster was written only after the previous one was reported
    // healthy (its first status write).
    let mut healthy_at = Vec::new();
    let mut written_at = Vec::new();
    for c in NAMES {
        let events = env.fleet.audit_events(c).await;
        written_at.push(first_time(&events, |e| is_cloneset_write(e, None)).unwrap());
        healthy_at.push(first_time(&events, |e| is_cloneset_write(e, Some("status"))).unwrap());
    }
    for i in 1..NAMES.len() {
        assert!(
            written_at[i] > healthy_at[i - 1],
            "{} written at {} before {} was healthy at {}",
            NAMES[i],
            written_at[i],
            NAMES[i - 1],
            healthy_at[i - 1]
        );
    }

    // 2. A progressive-delivery tool (as Kruise Rollout does) holds k1's
    //    update at partition 2. The WorkloadKind retains that field, so the
    //    next commit changes the image and leaves the partition alone.
    let path = env
        .fleet
        .object_path("k1", API_VERSION, "CloneSet", Some("shop"), "web")
        .await;
    let (status, _) = env
        .fleet
        .request(
            "k1",
            reqwest::Method::PATCH,
            &format!("{path}?fieldManager=kruise-rollout"),
            Some(json!({"spec": {"updateStrategy": {"partition": 2}}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(status, 200);
    env.repo
        .write("apps/web/manifests/cloneset.yaml", &cloneset(V2));
    env.repo.commit("web 2.0.0");
    let (code, report, err) = env.apply().await;
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    assert_eq!(env.image("k1").await, V2);
    assert_eq!(env.partition("k1").await, 2, "the live partition is kept");
    assert_eq!(env.partition("k2").await, 0);

    // 3. A CloneSet whose pods never get ready: batch 1 fails at the health
    //    timeout, naming the object and the expression, and is rolled back.
    env.repo
        .write("apps/web/manifests/cloneset.yaml", &cloneset(BROKEN));
    env.repo.commit("web: broken image");
    let (code, report, err) = env.apply().await;
    assert_eq!(code, 1, "{report:#}\n{err}");
    assert_eq!(report["outcome"], "rolledBack", "{report:#}");
    let failure = &report["failure"];
    assert_eq!(failure["cluster"], "k1", "{failure}");
    assert_eq!(failure["object"], "CloneSet shop/web", "{failure}");
    let reason = failure["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("status.updatedReadyReplicas"),
        "the reason names the expression: {reason}"
    );
    assert_eq!(env.image("k1").await, V2, "k1 rolled back");
    for c in ["k2", "k3"] {
        assert_eq!(env.image(c).await, V2, "{c} never got the broken image");
    }
    drop(controllers);
}
