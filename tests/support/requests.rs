//! What tests do with a running [`TestFleet`]: reach its clusters (as
//! tranche does, or raw), play other users and controllers, and read the
//! audit logs.

use super::audit::{self, MARKER_PARAM};
use super::files::{write_kubeconfig, ContextEntry};
use super::fleet::TestFleet;
use super::http;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tranche::cluster::{ClusterApi, KubeCluster};

impl TestFleet {
    /// Cluster names, in the order given to `start`.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The kubeconfig with a context per cluster (`<name>`, admin) and
    /// `<name>-limited` contexts.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Writes another kubeconfig (in the fleet's directory, named `file`)
    /// whose contexts have the given names: `(context, cluster)` pairs, e.g.
    /// to reach the fleet through the `spec.context` values of an existing
    /// fleet repository. Each context also has a `<context>-limited` twin.
    pub fn kubeconfig_with_contexts(&self, file: &str, contexts: &[(&str, &str)]) -> PathBuf {
        let entries: Vec<ContextEntry> = contexts
            .iter()
            .map(|(context, cluster)| ContextEntry {
                context: context.to_string(),
                cluster: cluster.to_string(),
                server: self.server_url(cluster),
            })
            .collect();
        let path = self.dir_path.join(file);
        write_kubeconfig(&path, &entries, &self.tokens);
        path
    }

    /// `https://127.0.0.1:<port>` of one apiserver (`http://` on the
    /// simulation).
    pub fn server_url(&self, name: &str) -> String {
        self.apiserver(name).url.clone()
    }

    /// Bearer token of `admin` (`system:masters`).
    pub fn admin_token(&self) -> &str {
        &self.tokens.admin
    }

    /// Bearer token of `limited` (no RBAC grants).
    pub fn limited_token(&self) -> &str {
        &self.tokens.limited
    }

    /// tranche's driver for cluster `name`, through the kubeconfig context
    /// `name` (admin).
    pub async fn cluster(&self, name: &str) -> Arc<dyn ClusterApi> {
        self.cluster_with_context(name, name).await
    }

    /// tranche's driver for cluster `name` as the `limited` user.
    pub async fn limited_cluster(&self, name: &str) -> Arc<dyn ClusterApi> {
        self.cluster_with_context(name, &format!("{name}-limited"))
            .await
    }

    async fn cluster_with_context(&self, name: &str, context: &str) -> Arc<dyn ClusterApi> {
        let c = KubeCluster::from_kubeconfig(name, Some(&self.kubeconfig), context)
            .await
            .unwrap_or_else(|e| panic!("cannot build the driver for {name} ({context}): {e}"));
        Arc::new(c)
    }

    /// One raw request as admin: `(status, body)`. `body` is sent as JSON
    /// unless `content_type` says otherwise. Panics if no answer comes.
    pub async fn request(
        &self,
        name: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        content_type: &str,
    ) -> (u16, Value) {
        let body = body.map(|b| (content_type, b.to_string()));
        http::send(
            &self.server_url(name),
            &self.tokens.admin,
            method,
            path,
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("cluster {name}: {e}"))
    }

    /// URL path of an object, via discovery of its apiVersion.
    pub async fn object_path(
        &self,
        name: &str,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        obj: &str,
    ) -> String {
        http::resource_path(
            &self.server_url(name),
            &self.tokens.admin,
            api_version,
            kind,
            ns,
            Some(obj),
        )
        .await
    }

    /// URL path of a collection (`ns` `None`: across all namespaces).
    pub async fn collection_path(
        &self,
        name: &str,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
    ) -> String {
        http::resource_path(
            &self.server_url(name),
            &self.tokens.admin,
            api_version,
            kind,
            ns,
            None,
        )
        .await
    }

    /// Reads an object as admin; `None` on 404.
    pub async fn get(
        &self,
        name: &str,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        obj: &str,
    ) -> Option<Value> {
        let path = self.object_path(name, api_version, kind, ns, obj).await;
        match self
            .request(name, Method::GET, &path, None, "application/json")
            .await
        {
            (200, v) => Some(v),
            (404, _) => None,
            (code, v) => panic!("cluster {name}: GET {path}: HTTP {code}: {v}"),
        }
    }

    /// Creates a namespace (already existing is fine).
    pub async fn create_namespace(&self, name: &str, ns: &str) {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        match self
            .request(
                name,
                Method::POST,
                "/api/v1/namespaces",
                Some(body),
                "application/json",
            )
            .await
        {
            (201 | 409, _) => {}
            (code, v) => panic!("cluster {name}: creating namespace {ns}: HTTP {code}: {v}"),
        }
    }

    /// Server-side apply as another field manager (as another tool or a
    /// human would), e.g. to set up a conflict. `Err((status, body))` when
    /// the apiserver refuses.
    pub async fn apply_as(
        &self,
        name: &str,
        manager: &str,
        object: &Value,
        force: bool,
    ) -> Result<Value, (u16, Value)> {
        let str_field = |p: &str| {
            object
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (api_version, kind) = (str_field("/apiVersion"), str_field("/kind"));
        let ns = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str);
        let path = self
            .object_path(name, &api_version, &kind, ns, &str_field("/metadata/name"))
            .await;
        let query = format!(
            "{path}?fieldManager={manager}{}",
            if force { "&force=true" } else { "" }
        );
        match self
            .request(
                name,
                Method::PATCH,
                &query,
                Some(object.clone()),
                "application/apply-patch+yaml",
            )
            .await
        {
            (200 | 201, v) => Ok(v),
            (code, v) => Err((code, v)),
        }
    }

    /// Plays the controller of a custom resource (no process runs one):
    /// merge-patches `status` of an object through its `/status`
    /// subresource. Built-in kinds have their real controllers on the
    /// current release; do not fake their status. Returns the object; panics
    /// if the apiserver refuses.
    pub async fn patch_status(
        &self,
        name: &str,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        obj: &str,
        status: Value,
    ) -> Value {
        let path = format!(
            "{}/status",
            self.object_path(name, api_version, kind, ns, obj).await
        );
        let body = json!({ "status": status });
        match self
            .request(
                name,
                Method::PATCH,
                &path,
                Some(body),
                "application/merge-patch+json",
            )
            .await
        {
            (200, v) => v,
            (code, v) => panic!("cluster {name}: PATCH {path}: HTTP {code}: {v}"),
        }
    }

    /// Every audited request of cluster `name` so far, in order (the
    /// harness's own sync requests left out). Waits until the log has
    /// caught up with requests already answered.
    pub async fn audit_events(&self, name: &str) -> Vec<Value> {
        self.sync_audit(name).await;
        audit::read_events(&self.apiserver(name).audit_log)
    }

    /// Number of audited requests so far: an index for
    /// [`TestFleet::mutating_requests`].
    pub async fn audit_len(&self, name: &str) -> usize {
        self.audit_events(name).await.len()
    }

    /// Client writes (create/update/patch/delete, not dry-run, not by the
    /// apiserver itself) since audit index `since`. On a shared fleet other
    /// tests write too: use [`TestFleet::mutating_requests_in`] there.
    pub async fn mutating_requests(&self, name: &str, since: usize) -> Vec<Value> {
        let events = self.audit_events(name).await;
        events
            .into_iter()
            .skip(since)
            .filter(audit::is_mutating)
            .collect()
    }

    /// Writes the cluster's own components made (controller-manager,
    /// scheduler, kwok) since audit index `since`, e.g. the Deployment
    /// controller's status updates.
    pub async fn controller_writes(&self, name: &str, since: usize) -> Vec<Value> {
        let events = self.audit_events(name).await;
        events
            .into_iter()
            .skip(since)
            .filter(audit::is_controller_write)
            .collect()
    }

    /// [`TestFleet::mutating_requests`] concerning namespace `ns` only
    /// (objects in it, and the Namespace object itself).
    pub async fn mutating_requests_in(&self, name: &str, ns: &str, since: usize) -> Vec<Value> {
        let mut events = self.mutating_requests(name, since).await;
        events.retain(|e| audit::concerns_namespace(e, ns));
        events
    }

    /// [`TestFleet::audit_len`] of every cluster, in [`TestFleet::names`]
    /// order: marks for [`TestFleet::writes_in_since`].
    pub async fn audit_marks(&self) -> Vec<usize> {
        let mut marks = Vec::with_capacity(self.names.len());
        for name in &self.names {
            marks.push(self.audit_len(name).await);
        }
        marks
    }

    /// Every cluster's writes concerning namespace `ns` since `marks`
    /// (from [`TestFleet::audit_marks`]), as `<cluster>: <verb> <resource>
    /// <name>` lines.
    pub async fn writes_in_since(&self, ns: &str, marks: &[usize]) -> Vec<String> {
        let mut all = Vec::new();
        for (name, since) in self.names.iter().zip(marks) {
            for e in self.mutating_requests_in(name, ns, *since).await {
                let o = &e["objectRef"];
                all.push(format!(
                    "{name}: {} {} {}",
                    e["verb"], o["resource"], o["name"]
                ));
            }
        }
        all
    }

    /// Sends a marker request and waits until it is in the audit log: the
    /// apiserver writes an event just after answering, so without this a
    /// test could read the log a moment too early.
    async fn sync_audit(&self, name: &str) {
        static MARKERS: AtomicU64 = AtomicU64::new(0);
        if !self.is_running(name) {
            return;
        }
        let marker = format!(
            "{}-{}",
            std::process::id(),
            MARKERS.fetch_add(1, Ordering::Relaxed)
        );
        let path = format!("/version?{MARKER_PARAM}={marker}");
        self.request(name, Method::GET, &path, None, "application/json")
            .await;
        let log = &self.apiserver(name).audit_log;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !audit::has_marker(log, &marker) {
            assert!(
                Instant::now() < deadline,
                "cluster {name}: the audit log {} stopped growing",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
