//! A small fleet repository for integration tests: clusters reached
//! through the test kubeconfig's contexts (named like the clusters), one app
//! `shop` (Namespace, Deployment, Service, ConfigMap, Secret), a fast
//! rollout policy, and an override that breaks the shop's pods on chosen
//! clusters (so the real Deployment controller fails them).

use super::{FixtureRepo, TestFleet};

/// `progressDeadlineSeconds` of a broken Deployment ([`broken_override`]):
/// the controller reports ProgressDeadlineExceeded some seconds after it.
pub const PROGRESS_DEADLINE_SECONDS: u32 = 5;

/// Rollout policy used by tests (ratio 1:2:7). The health timeout leaves
/// the real Deployment controller time to report a broken Deployment
/// (ProgressDeadlineExceeded) on a loaded machine; healthy ones pass in
/// about a second.
pub fn rollout_policy(on_failure: &str, bake: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: test}}\nspec:\n  \
         steps: [1, 2, 7]\n  healthTimeout: 90s\n  bakeTime: {bake}\n  onFailure: {on_failure}\n  maxParallel: 10\n"
    )
}

/// An override (`apps/shop/overrides/broken.yaml`) that breaks the shop
/// Deployment on `clusters`: its image tag becomes `broken`, whose pods
/// kwok keeps crash-looping, and its progress deadline short, so the real
/// Deployment controller reports ProgressDeadlineExceeded.
pub fn broken_override(clusters: &[&str]) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Override\nmetadata: {{name: broken}}\nspec:\n  resourceSelectors:\n    \
         - {{kind: Deployment, name: web}}\n  overrideRules:\n    - targetCluster: {{clusterNames: [{}]}}\n      \
         overriders:\n        imageOverrider:\n          - {{component: Tag, operator: replace, value: broken}}\n        \
         plaintext:\n          - {{path: /spec/progressDeadlineSeconds, operator: add, value: {PROGRESS_DEADLINE_SECONDS}}}\n",
        clusters.join(", ")
    )
}

/// A cluster registry entry; `order` sets `rolloutOrder`.
pub fn cluster(name: &str, order: Option<i64>) -> String {
    let order = order
        .map(|o| format!("\n  rolloutOrder: {o}"))
        .unwrap_or_default();
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: {name}\n  labels: {{env: test}}\nspec:\n  context: {name}{order}\n"
    )
}

/// The shop app's Deployment with `image`.
pub fn deployment(image: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: {replicas}\n  \
         selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      \
         containers:\n        - name: web\n          image: {image}\n          ports: [{{containerPort: 8080}}]\n"
    )
}

/// A fleet repo with `clusters` and the shop app on all of them.
pub fn shop_repo(clusters: &[&str]) -> FixtureRepo {
    let repo = FixtureRepo::new();
    for c in clusters {
        repo.write(&format!("clusters/{c}.yaml"), &cluster(c, None));
    }
    repo.write("policies/rollout.yaml", &rollout_policy("Rollback", "0s"));
    repo.write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n",
    );
    repo.write(
        "apps/shop/manifests/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    );
    repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:1.0.0", 2),
    );
    repo.write(
        "apps/shop/manifests/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: shop\ndata:\n  greeting: hello\n\
         ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector: {app: web}\n  \
         ports: [{port: 80, targetPort: 8080, protocol: TCP}]\n",
    );
    repo.write(
        "apps/shop/manifests/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ntype: Opaque\nstringData:\n  \
         password: hunter2-very-secret\n",
    );
    repo
}

/// The image the shop Deployment runs on `cluster` (panics if it is missing).
pub async fn shop_image(fleet: &TestFleet, cluster: &str) -> String {
    let d = fleet
        .get(cluster, "apps/v1", "Deployment", Some("shop"), "web")
        .await
        .unwrap_or_else(|| panic!("{cluster}: no Deployment shop/web"));
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `spec.replicas` of the shop Deployment on `cluster` (0: none there).
pub async fn shop_replicas(fleet: &TestFleet, cluster: &str) -> u64 {
    fleet
        .get(cluster, "apps/v1", "Deployment", Some("shop"), "web")
        .await
        .and_then(|d| d["spec"]["replicas"].as_u64())
        .unwrap_or(0)
}
