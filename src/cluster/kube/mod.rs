//! [`KubeCluster`]: a real apiserver behind [`ClusterApi`], with kube-rs.
//!
//! Objects stay dynamic (`serde_json::Value` ↔ `DynamicObject`) and every
//! kind is resolved through cached API discovery (module `discovery`), so any
//! apiVersion the apiserver serves works, CRDs included, and none is
//! hard-coded. Writes are server-side applies with field manager
//! `tranche`. Transient failures (429, 5xx, refused or dropped connections)
//! are retried with backoff ([`Backoff`]); connect (5 s) and read (30 s)
//! timeouts make a dead apiserver fail fast as
//! [`ClusterError::Unreachable`]. Errors are classified in module `classify`.
//!
//! Scope comes from discovery and is checked before every request: a
//! cluster-scoped kind given a namespace, or a namespaced kind given none,
//! is refused with [`ClusterError::WrongScope`] (never sent to another
//! scope, never put into the context's default namespace).
//!
//! Servers before 1.22 get `protocol: TCP` filled into ports that omit it
//! (module `defaults`); the server version is read once.
//!
//! Requests in flight to one apiserver are bounded ([`KubeCluster::with_max_in_flight`],
//! default [`DEFAULT_MAX_IN_FLIGHT`]): every attempt holds a permit of one
//! semaphore per cluster while it is on the wire (not while it backs off),
//! so however many objects are planned or applied at once, the apiserver
//! never sees more than the bound from this process.
//!
//! Secrets: request and response bodies are never logged or put into
//! errors; only the apiserver's status message is.

mod classify;
mod defaults;
mod discovery;
mod kubeconfig;
mod retry;
mod retry_after;

use kubeconfig::first_line;
pub use kubeconfig::read_kubeconfig;
pub use retry::Backoff;
use retry_after::RetryAfter;
pub use retry_after::MAX_RETRY_AFTER;

use crate::cluster::connect::install_crypto_provider;
use crate::cluster::{ApplyOptions, ClusterApi, ClusterError};
use crate::object::ObjectRef;
use ::kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::{Client, Config};
use async_trait::async_trait;
use classify::{classify, is_transient, Target};
use discovery::{DiscoveryCache, Lookup, Resolved};
use serde_json::Value;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Field manager of every server-side apply tranche makes.
pub const FIELD_MANAGER: &str = "tranche";
/// How long to wait for a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a response.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a watch stream may stay silent: longer than the 290 s the
/// watcher asks the apiserver to keep it open (`timeoutSeconds`), so an
/// idle watch ends when the server closes it, not every [`READ_TIMEOUT`]
/// (which would re-send each quiet watch twice a minute).
pub const WATCH_READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Requests in flight to one apiserver at most, unless configured
/// (`--max-in-flight`, `clusters.maxInFlight`).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// One real cluster, reached with kube-rs.
pub struct KubeCluster {
    name: String,
    /// kubeconfig context, or `in-cluster`; named in unreachable errors.
    context: String,
    client: Client,
    /// The same connection settings with [`WATCH_READ_TIMEOUT`], for watches.
    watch_client: Client,
    discovery: DiscoveryCache,
    backoff: Backoff,
    /// Whether applies need client-side port protocols (read once from
    /// `/version`).
    port_protocols: tokio::sync::OnceCell<bool>,
    /// Permits for requests on the wire (see the module doc).
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    /// `Retry-After` of the last 429 (noted by a layer of the client).
    retry_after: RetryAfter,
}

impl std::fmt::Debug for KubeCluster {
    /// Name and context only: the client holds credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCluster")
            .field("name", &self.name)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl KubeCluster {
    /// Connects to `context` of the kubeconfig at `path` (`None`:
    /// `$KUBECONFIG`, else `~/.kube/config`). Does not contact the cluster
    /// (see [`ClusterApi::ping`]).
    pub async fn from_kubeconfig(
        name: &str,
        path: Option<&Path>,
        context: &str,
    ) -> Result<KubeCluster, ClusterError> {
        let kubeconfig = read_kubeconfig(path).map_err(|message| ClusterError::Unreachable {
            cluster: name.to_string(),
            message: format!("context {context:?}: {message}"),
        })?;
        KubeCluster::from_kubeconfig_value(name, kubeconfig, context).await
    }

    /// Connects to `context` of an already-read kubeconfig (read it once
    /// for many clusters). A missing context is `Unreachable`.
    pub async fn from_kubeconfig_value(
        name: &str,
        kubeconfig: Kubeconfig,
        context: &str,
    ) -> Result<KubeCluster, ClusterError> {
        let unreachable = |message: String| ClusterError::Unreachable {
            cluster: name.to_string(),
            message: format!("context {context:?}: {message}"),
        };
        if !kubeconfig.contexts.iter().any(|c| c.name == context) {
            return Err(unreachable("no such context in the kubeconfig".to_string()));
        }
        let options = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| unreachable(first_line(&classify::chain_text(&e)).to_string()))?;
        KubeCluster::from_config(name, context, config)
    }

    /// Connects with the pod's service account (in-cluster config).
    pub fn in_cluster(name: &str) -> Result<KubeCluster, ClusterError> {
        let config = Config::incluster().map_err(|e| ClusterError::Unreachable {
            cluster: name.to_string(),
            message: format!("in-cluster config: {}", classify::chain_text(&e)),
        })?;
        KubeCluster::from_config(name, "in-cluster", config)
    }

    /// Builds the client from a kube-rs config, with tranche's timeouts and
    /// retries (kube-rs's own retry layer is turned off: ours covers more).
    pub fn from_config(
        name: &str,
        context: &str,
        mut config: Config,
    ) -> Result<KubeCluster, ClusterError> {
        install_crypto_provider();
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(READ_TIMEOUT);
        config.write_timeout = Some(READ_TIMEOUT);
        config.reset_reader_on_write = true;
        config.default_retry = false;
        let retry_after = RetryAfter::default();
        let mut watch_config = config.clone();
        watch_config.read_timeout = Some(WATCH_READ_TIMEOUT);
        let build = |config: Config| {
            let noted = retry_after.clone();
            ::kube::client::ClientBuilder::try_from(config)
                .map_err(|e| {
                    classify(
                        Target {
                            cluster: name,
                            context,
                            object: "client",
                        },
                        &e,
                    )
                })
                .map(|builder| {
                    builder
                        .with_layer(&tower::util::MapResponseLayer::new(
                            move |response: http::Response<Box<::kube::client::DynBody>>| {
                                noted.observe(&response);
                                response
                            },
                        ))
                        .build()
                })
        };
        let client = build(config)?;
        let watch_client = build(watch_config)?;
        Ok(KubeCluster {
            name: name.to_string(),
            context: context.to_string(),
            client,
            watch_client,
            discovery: DiscoveryCache::default(),
            backoff: Backoff::default(),
            port_protocols: tokio::sync::OnceCell::new(),
            in_flight: Arc::new(Semaphore::new(DEFAULT_MAX_IN_FLIGHT)),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            retry_after,
        })
    }

    /// Sets the most requests in flight to this apiserver at once (at
    /// least 1).
    pub fn with_max_in_flight(mut self, max: usize) -> KubeCluster {
        let max = max.max(1);
        self.in_flight = Arc::new(Semaphore::new(max));
        self.max_in_flight = max;
        self
    }

    /// The dynamic API of a kind, in one namespace or all, for the
    /// watches of [`crate::cluster::watch`] (discovery may make one
    /// request).
    pub(crate) async fn watch_api(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, ClusterError> {
        let r = self.resolve(api_version, kind).await?;
        let client = self.watch_client.clone();
        Ok(match (r.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(client, ns, &r.resource),
            (false, Some(_)) => {
                let what = format!("watch {kind}");
                return Err(self.wrong_scope(&r, false, namespace, &what));
            }
            (_, None) => Api::all_with(client, &r.resource),
        })
    }

    /// The permits of the in-flight bound (a watch holds one for its
    /// first list).
    pub(crate) fn in_flight_permits(&self) -> Arc<Semaphore> {
        self.in_flight.clone()
    }

    /// Replaces the retry policy (tests use short delays).
    pub fn with_backoff(mut self, backoff: Backoff) -> KubeCluster {
        self.backoff = backoff;
        self
    }

    /// kubeconfig context this cluster was reached with.
    pub fn context(&self) -> &str {
        &self.context
    }

    fn target<'a>(&'a self, object: &'a str) -> Target<'a> {
        Target {
            cluster: &self.name,
            context: &self.context,
            object,
        }
    }

    /// Runs one request with retries, classifying the final error. Each
    /// attempt waits for a permit of the in-flight bound.
    async fn call<T, F, Fut>(&self, object: &str, mut op: F) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ::kube::Error>>,
    {
        let bounded = || {
            let attempt = op();
            let permits = self.in_flight.clone();
            async move {
                // Never closed, so this always holds a permit.
                let _permit = permits.acquire_owned().await;
                attempt.await
            }
        };
        let asked = |e: &::kube::Error| retry_after::hint(e, &self.retry_after);
        self.backoff
            .run_with(bounded, is_transient, asked)
            .await
            .map_err(|e| classify(self.target(object), &e))
    }

    /// Resolves a kind through the discovery cache (with retries).
    async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, ClusterError> {
        let what = format!("discovery of {api_version} {kind}");
        match self
            .call(&what, || {
                self.discovery.resolve(&self.client, api_version, kind)
            })
            .await?
        {
            Lookup::Found(r) => Ok(r),
            Lookup::Unknown => Err(self.unknown_kind(api_version, kind)),
        }
    }

    /// Whether this server's apply needs `protocol` defaulted on ports
    /// (see module `defaults`); asks `/version` once.
    async fn needs_port_protocols(&self) -> Result<bool, ClusterError> {
        self.port_protocols
            .get_or_try_init(|| async {
                let info = self
                    .call("/version", || self.client.apiserver_version())
                    .await?;
                Ok(defaults::server_needs_port_protocols(&info))
            })
            .await
            .copied()
    }

    fn unknown_kind(&self, api_version: &str, kind: &str) -> ClusterError {
        ClusterError::UnknownKind {
            cluster: self.name.clone(),
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The dynamic API for one object whose namespace fits its kind's
    /// scope; refused (no request made) when it does not.
    fn object_api(
        &self,
        r: &Resolved,
        namespace: Option<&str>,
        object: &str,
    ) -> Result<Api<DynamicObject>, ClusterError> {
        match (r.namespaced, namespace) {
            (true, Some(ns)) => Ok(Api::namespaced_with(self.client.clone(), ns, &r.resource)),
            (false, None) => Ok(Api::all_with(self.client.clone(), &r.resource)),
            (namespaced, namespace) => Err(self.wrong_scope(r, namespaced, namespace, object)),
        }
    }

    fn wrong_scope(
        &self,
        r: &Resolved,
        namespaced: bool,
        namespace: Option<&str>,
        object: &str,
    ) -> ClusterError {
        let kind = &r.resource.kind;
        let message = match namespace {
            Some(ns) if !namespaced => format!(
                "{kind} is cluster-scoped on this cluster but namespace {ns:?} was given; tranche \
                 never moves an object to another scope"
            ),
            _ => format!("{kind} is namespaced on this cluster but no namespace was given"),
        };
        ClusterError::WrongScope {
            cluster: self.name.clone(),
            object: object.to_string(),
            message,
        }
    }

    /// Maps a 404 "the server could not find the requested resource" (the
    /// kind vanished since discovery, e.g. a deleted CRD) to `UnknownKind`
    /// and forgets the cached group/version.
    fn vanished_kind(&self, err: ClusterError, api_version: &str, kind: &str) -> ClusterError {
        match &err {
            ClusterError::Api { message, .. }
                if message.contains("could not find the requested resource") =>
            {
                self.discovery.forget(api_version);
                self.unknown_kind(api_version, kind)
            }
            _ => err,
        }
    }
}

/// Converts an apiserver answer back to plain JSON, filling in apiVersion
/// and kind (list items come without them).
fn to_value(obj: DynamicObject, r: &Resolved) -> Value {
    let mut value = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(r.resource.api_version.clone()));
        map.entry("kind")
            .or_insert_with(|| Value::String(r.resource.kind.clone()));
    }
    value
}

#[async_trait]
impl ClusterApi for KubeCluster {
    fn name(&self) -> &str {
        &self.name
    }

    fn has_controllers(&self) -> bool {
        true
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    async fn watch_bodies(
        &self,
        ids: &std::collections::BTreeSet<ObjectRef>,
    ) -> Option<crate::cluster::watch::BodyWatch> {
        Some(crate::cluster::watch::BodyWatch::start(self, ids).await)
    }

    async fn ping(&self) -> Result<(), ClusterError> {
        tracing::debug!(cluster = %self.name, "ping");
        self.call("/version", || self.client.apiserver_version())
            .await
            .map(|_| ())
    }

    async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError> {
        Ok(self.resolve(api_version, kind).await?.namespaced)
    }

    async fn get(&self, id: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        let r = self.resolve(&id.api_version, &id.kind).await?;
        let what = id.to_string();
        let api = self.object_api(&r, id.namespace.as_deref(), &what)?;
        tracing::debug!(cluster = %self.name, object = %what, "get");
        let got = self.call(&what, || api.get_opt(&id.name)).await;
        let got = got.map_err(|e| self.vanished_kind(e, &id.api_version, &id.kind))?;
        Ok(got.map(|o| to_value(o, &r)))
    }

    async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let r = self.resolve(api_version, kind).await?;
        let api = match (r.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &r.resource),
            (false, Some(_)) => {
                let what = format!("list {kind}");
                return Err(self.wrong_scope(&r, false, namespace, &what));
            }
            (_, None) => Api::all_with(self.client.clone(), &r.resource),
        };
        let params = ListParams::default().labels(label_selector);
        let what = match namespace {
            Some(ns) if r.namespaced => format!("list {kind} in {ns}"),
            _ => format!("list {kind}"),
        };
        tracing::debug!(cluster = %self.name, what = %what, label_selector, "list");
        let list = self.call(&what, || api.list(&params)).await;
        let list = list.map_err(|e| self.vanished_kind(e, api_version, kind))?;
        Ok(list.items.into_iter().map(|o| to_value(o, &r)).collect())
    }

    async fn apply(&self, object: &Value, opts: ApplyOptions) -> Result<Value, ClusterError> {
        let Some(id) = ObjectRef::from_object(object) else {
            return Err(ClusterError::Invalid {
                cluster: self.name.clone(),
                object: "object".to_string(),
                message: "apiVersion, kind and metadata.name are required".to_string(),
            });
        };
        let r = self.resolve(&id.api_version, &id.kind).await?;
        let what = id.to_string();
        let api = self.object_api(&r, id.namespace.as_deref(), &what)?;
        let mut body = object.clone();
        if !r.namespaced {
            // An empty namespace (which the identity reads as none) is dropped.
            if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
        }
        if self.needs_port_protocols().await? {
            defaults::default_port_protocols(&mut body);
        }
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = opts.force;
        params.dry_run = opts.dry_run;
        tracing::debug!(cluster = %self.name, object = %what, dry_run = opts.dry_run, force = opts.force, "apply");
        let patch = Patch::Apply(&body);
        let applied = self
            .call(&what, || api.patch(&id.name, &params, &patch))
            .await;
        let applied = applied.map_err(|e| self.vanished_kind(e, &id.api_version, &id.kind))?;
        Ok(to_value(applied, &r))
    }

    async fn delete(&self, id: &ObjectRef) -> Result<(), ClusterError> {
        let r = self.resolve(&id.api_version, &id.kind).await?;
        let what = id.to_string();
        let api = self.object_api(&r, id.namespace.as_deref(), &what)?;
        tracing::debug!(cluster = %self.name, object = %what, "delete");
        let params = DeleteParams::background();
        // Already gone (or its kind is) is what was asked for.
        self.call(&what, || async {
            match api.delete(&id.name, &params).await {
                Err(::kube::Error::Api(status)) if status.code == 404 => Ok(()),
                other => other.map(|_| ()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests;
