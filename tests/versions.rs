//! What differs between the Kubernetes versions the harness runs (the
//! current release and v1.20, see `support::versions`), and that the same
//! manifests still work on both: API discovery (`autoscaling/v2` against
//! `v2beta2`), and ports without `protocol`, which v1.20's server-side
//! apply refuses unless tranche's driver defaults them.
//!
//! `TRANCHE_K8S` selects the versions; tests of a version left out say so
//! and pass.

mod support;

use serde_json::{json, Value};
use support::fixtures::cluster;
use support::{tranche, FixtureRepo, K8s, TestFleet};
use tranche::cluster::{ApplyOptions, ClusterError};
use tranche::object::ObjectRef;

const FLEET: &[&str] = &["v1"];

const APPLY: ApplyOptions = ApplyOptions {
    dry_run: false,
    force: false,
};

/// A Service and a Deployment whose ports say no `protocol`, as most
/// published manifests do.
fn protocol_less(ns: &str) -> (Value, Value) {
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "metrics", "port": 9090}]}
    });
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "initContainers": [{"name": "warm", "image": "example.com/warm:1", "ports": [{"containerPort": 7000}]}],
                    "containers": [{"name": "web", "image": "example.com/web:1",
                                    "ports": [{"containerPort": 8080}, {"name": "metrics", "containerPort": 9090}]}]
                }
            }
        }
    });
    (service, deployment)
}

fn id(obj: &Value) -> ObjectRef {
    ObjectRef::from_object(obj).expect("test objects have an identity")
}

async fn ports_apply_and_reapply_without_a_write(fleet: &TestFleet) {
    let ns = "ports";
    fleet.create_namespace("v1", ns).await;
    let api = fleet.cluster("v1").await;
    let (service, deployment) = protocol_less(ns);
    for obj in [&service, &deployment] {
        let dry = api
            .apply(
                obj,
                ApplyOptions {
                    dry_run: true,
                    force: false,
                },
            )
            .await;
        assert!(dry.is_ok(), "{}: dry run: {:?}", fleet.version(), dry.err());
        let applied = api.apply(obj, APPLY).await;
        assert!(
            applied.is_ok(),
            "{}: apply: {:?}",
            fleet.version(),
            applied.err()
        );
    }
    let live = api.get(&id(&service)).await.unwrap().expect("service");
    let protocols: Vec<&Value> = live["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["protocol"])
        .collect();
    assert_eq!(protocols, [&json!("TCP"), &json!("TCP")]);
    let live = api
        .get(&id(&deployment))
        .await
        .unwrap()
        .expect("deployment");
    let pod = &live["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["ports"][1]["protocol"], "TCP");
    assert_eq!(pod["initContainers"][0]["ports"][0]["protocol"], "TCP");
    // Applying the same manifests again changes nothing.
    let before = api.get(&id(&service)).await.unwrap().expect("service");
    let again = api.apply(&service, APPLY).await.unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"],
        "{}: the identical apply wrote the Service",
        fleet.version()
    );
    let again = api.apply(&deployment, APPLY).await.unwrap();
    assert_eq!(again["metadata"]["generation"], 1, "{}", fleet.version());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_less_ports_apply_on_the_current_release() {
    let test = "protocol_less_ports_apply_on_the_current_release";
    if let Some(fleet) = TestFleet::shared_if_selected(K8s::Current, FLEET, test).await {
        ports_apply_and_reapply_without_a_write(fleet).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_less_ports_apply_on_1_20() {
    let test = "protocol_less_ports_apply_on_1_20";
    if let Some(fleet) = TestFleet::shared_if_selected(K8s::V1_20, FLEET, test).await {
        ports_apply_and_reapply_without_a_write(fleet).await;
    }
}

/// What each version serves, through the driver's discovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_resolves_the_versions_each_apiserver_serves() {
    for version in K8s::ALL {
        let Some(fleet) = TestFleet::shared_if_selected(version, FLEET, "discovery").await else {
            continue;
        };
        let c = fleet.cluster("v1").await;
        assert!(!c.is_namespaced("v1", "Namespace").await.unwrap());
        assert!(c.is_namespaced("v1", "ConfigMap").await.unwrap());
        assert!(c.is_namespaced("apps/v1", "Deployment").await.unwrap());
        assert!(c
            .is_namespaced("autoscaling/v1", "HorizontalPodAutoscaler")
            .await
            .unwrap());
        assert!(!c
            .is_namespaced("rbac.authorization.k8s.io/v1", "ClusterRole")
            .await
            .unwrap());
        // 1.20 serves autoscaling/v2beta2 only; 1.26 removed v2beta2 and
        // 1.23 added v2. The driver must invent neither.
        let (served, missing) = match version {
            K8s::V1_20 => ("autoscaling/v2beta2", "autoscaling/v2"),
            K8s::Current | K8s::Sim => ("autoscaling/v2", "autoscaling/v2beta2"),
        };
        assert!(c
            .is_namespaced(served, "HorizontalPodAutoscaler")
            .await
            .unwrap());
        let err = c
            .is_namespaced(missing, "HorizontalPodAutoscaler")
            .await
            .unwrap_err();
        assert!(
            matches!(err, ClusterError::UnknownKind { .. }),
            "{version}: {err:?}"
        );
    }
}

/// The binary on a v1.20 cluster: an app with protocol-less ports and an
/// `autoscaling/v2beta2` HPA applies, and applying again sends nothing.
/// (v1.20 clusters run no controllers, so the app has no Deployment to
/// wait for; the HPA is healthy once it exists.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tranche_applies_protocol_less_ports_and_v2beta2_hpas_on_1_20_then_writes_nothing() {
    let test = "tranche_applies_protocol_less_ports_and_v2beta2_hpas_on_1_20";
    if !K8s::V1_20.selected_for(test) {
        return;
    }
    let fleet = TestFleet::start_on(K8s::V1_20, &["old"]).await;
    let repo = FixtureRepo::new();
    repo.write("clusters/old.yaml", &cluster("old", None));
    repo.write(
        "apps/ports/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: ports}\nspec:\n  clusterAffinity:\n    clusterNames: [old]\n",
    );
    let (service, _) = protocol_less("ports");
    repo.write(
        "apps/ports/manifests/app.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ports}}\n---\n{}\n---\n{}",
            tranche::yaml::to_string(&service),
            "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: ports}\nspec:\n  \
             scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 3\n"
        ),
    );
    repo.commit("ports");
    let state = tempfile::tempdir().unwrap();
    let kubeconfig = fleet.kubeconfig_path().display().to_string();
    let apply = || {
        let repo = repo.path().display().to_string();
        let state = state.path().display().to_string();
        let kubeconfig = kubeconfig.clone();
        async move {
            let out = tranche(&[
                "apply",
                &repo,
                "--kubeconfig",
                &kubeconfig,
                "--state-dir",
                &state,
            ])
            .await;
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(0), "{err}");
        }
    };
    apply().await;
    let svc = fleet
        .get("old", "v1", "Service", Some("ports"), "web")
        .await
        .expect("service");
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
    assert!(fleet
        .get(
            "old",
            "autoscaling/v2beta2",
            "HorizontalPodAutoscaler",
            Some("ports"),
            "web"
        )
        .await
        .is_some());
    let since = fleet.audit_len("old").await;
    apply().await;
    let writes = fleet.mutating_requests("old", since).await;
    assert!(
        writes.is_empty(),
        "the second apply wrote: {:?}",
        writes.iter().map(support::object_ref).collect::<Vec<_>>()
    );
}

#[test]
fn tranche_k8s_names_versions() {
    use support::versions::parse;
    assert_eq!(parse("all").unwrap(), K8s::ALL.to_vec());
    assert_eq!(parse("current").unwrap(), vec![K8s::Current]);
    assert_eq!(
        parse(" 1.20 , current,1.20").unwrap(),
        vec![K8s::V1_20, K8s::Current]
    );
    assert_eq!(parse("sim").unwrap(), vec![K8s::Sim]);
    assert!(!parse("all").unwrap().contains(&K8s::Sim), "sim is opt-in");
    assert!(parse("1.19").unwrap_err().contains("\"1.19\""));
    assert!(parse(",").is_err());
}
