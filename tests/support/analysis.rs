//! What the analysis tests share (tests/analysis.rs): a fleet repository
//! of three directory clusters with a `shop` ConfigMap whose `version` the
//! commits change, `tranche apply` on it, and a small exporter whose error
//! counts and health answer follow the version deployed on each cluster.

use super::{tranche, FixtureRepo};
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

pub const CLUSTERS: [&str; 3] = ["c1", "c2", "c3"];

/// What the exporter knows: where the clusters' objects are, and on which
/// clusters version 2 of the shop is bad.
pub struct Shop {
    clusters: PathBuf,
    bad: BTreeSet<String>,
}

impl Shop {
    /// Whether `cluster` runs version 2 and it is bad there.
    pub fn failing(&self, cluster: &str) -> bool {
        let file = self
            .clusters
            .join(cluster)
            .join("core/ConfigMap/shop/web.yaml");
        let text = std::fs::read_to_string(file).unwrap_or_default();
        parse_yaml(&text)["data"]["version"] == "2" && self.bad.contains(cluster)
    }
}

pub async fn metrics(State(shop): State<Arc<Shop>>) -> String {
    let mut out =
        String::from("# TYPE shop_requests_total counter\n# TYPE shop_errors_total counter\n");
    for c in CLUSTERS {
        let errors = if shop.failing(c) { 250 } else { 1 };
        out.push_str(&format!("shop_requests_total{{cluster=\"{c}\"}} 1000\n"));
        out.push_str(&format!("shop_errors_total{{cluster=\"{c}\"}} {errors}\n"));
    }
    out
}

pub async fn health(
    State(shop): State<Arc<Shop>>,
    UrlPath(cluster): UrlPath<String>,
) -> axum::Json<Value> {
    let status = if shop.failing(&cluster) {
        "degraded"
    } else {
        "ok"
    };
    axum::Json(serde_json::json!({"status": status, "cluster": cluster}))
}

/// Starts the exporter; returns `127.0.0.1:<port>`.
pub async fn exporter(shop: Shop) -> String {
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/health/{cluster}", get(health))
        .with_state(Arc::new(shop));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

pub struct Env {
    pub repo: FixtureRepo,
    pub clusters: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

pub fn policy(analysis: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: test}}\nspec:\n  \
         steps: [1, 2]\n  healthTimeout: 10s\n  bakeTime: 6s\n  onFailure: Rollback\n  analysis:\n{analysis}"
    )
}

pub fn config_map(version: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  \
         name: web\n  namespace: shop\ndata:\n  version: \"{version}\"\n"
    )
}

pub fn env(analysis: &str) -> Env {
    let repo = FixtureRepo::new();
    for c in CLUSTERS {
        repo.write(
            &format!("clusters/{c}.yaml"),
            &format!("apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: {c}\n  labels: {{env: test, region: eu}}\n"),
        );
    }
    repo.write("policies/rollout.yaml", &policy(analysis));
    repo.write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n",
    );
    repo.write("apps/shop/manifests/all.yaml", &config_map("1"));
    Env {
        repo,
        clusters: tempfile::tempdir().unwrap(),
        state: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    pub async fn apply(&self) -> (i32, Value, String) {
        let out = tranche(&[
            "apply",
            &self.repo.path().display().to_string(),
            "--clusters-dir",
            &self.clusters.path().display().to_string(),
            "--state-dir",
            &self.state.path().display().to_string(),
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

    pub fn version(&self, cluster: &str) -> String {
        let file = self
            .clusters
            .path()
            .join(cluster)
            .join("core/ConfigMap/shop/web.yaml");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        parse_yaml(&text)["data"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn shop(&self, bad: &[&str]) -> Shop {
        Shop {
            clusters: self.clusters.path().to_path_buf(),
            bad: bad.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Parses the YAML tranche writes for directory clusters.
pub fn parse_yaml(text: &str) -> Value {
    tranche::yaml::from_str(text).unwrap_or(Value::Null)
}
