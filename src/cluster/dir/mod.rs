//! [`DirCluster`]: the embedded default cluster, a local directory of YAML
//! files (the rendered-manifests pattern), so tranche runs end to end with
//! no Kubernetes at all.
//!
//! Cluster `c` under root `R` keeps each object at
//! `R/c/<group or core>/<kind>/<namespace or _cluster>/<name>.yaml`
//! (module `store`). Apply behaves like a simplified server-side apply: the
//! object is stored as given, plus apiserver-like bookkeeping
//! (module `bookkeeping`) so an identical re-apply changes nothing. There are no
//! field managers (no conflicts), no defaulting, no validation beyond
//! identity and scope, and no controllers: [`ClusterApi::has_controllers`]
//! is false. A stored CustomResourceDefinition is served at once, as the
//! apiserver does: it is reported `Established` (module `bookkeeping`).
//!
//! Scope is checked before every read or write: an object whose kind is
//! cluster-scoped (built-in table, or a stored CRD) but that names a
//! namespace, or whose kind is namespaced but that names none, is refused
//! with [`ClusterError::WrongScope`], never stored under another scope. A
//! kind neither knows keeps the scope the object gives.
//! Objects are stored per group, so `autoscaling/v1` and
//! `autoscaling/v2beta2` HPAs of one name are the same file, returned with
//! the apiVersion they were last applied with.

mod bookkeeping;
mod scope;
pub mod selector;
mod store;

use crate::cluster::{ApplyOptions, ClusterApi, ClusterError};
use crate::kinds::Scope;
use crate::object::ObjectRef;
use async_trait::async_trait;
use scope::KnownScope;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A cluster that is a directory.
#[derive(Debug, Clone)]
pub struct DirCluster {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    dir: PathBuf,
    /// Serialises read-merge-write cycles so concurrent applies of one
    /// object cannot lose a resourceVersion bump.
    writes: Mutex<()>,
}

impl DirCluster {
    /// The cluster `name` under `root` (`root/name/`). Nothing is created
    /// until the first write; [`ClusterApi::ping`] checks it is writable.
    pub fn new(root: &Path, name: &str) -> Result<DirCluster, ClusterError> {
        store::checked_segment("cluster name", name).map_err(|message| {
            ClusterError::Unreachable {
                cluster: name.to_string(),
                message,
            }
        })?;
        Ok(DirCluster {
            inner: Arc::new(Inner {
                name: name.to_string(),
                dir: root.join(name),
                writes: Mutex::new(()),
            }),
        })
    }

    /// The directory holding this cluster's objects.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Runs blocking file work off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        what: String,
        f: impl FnOnce(&Inner) -> Result<T, ClusterError> + Send + 'static,
    ) -> Result<T, ClusterError> {
        let inner = self.inner.clone();
        let cluster = inner.name.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .unwrap_or_else(|e| {
                Err(ClusterError::Api {
                    cluster,
                    object: what,
                    message: format!("file I/O task failed: {e}"),
                })
            })
    }
}

impl Inner {
    fn io_error(&self, object: &str, e: store::StoreError) -> ClusterError {
        ClusterError::Api {
            cluster: self.name.clone(),
            object: object.to_string(),
            message: e.message,
        }
    }

    fn invalid(&self, object: &str, message: String) -> ClusterError {
        ClusterError::Invalid {
            cluster: self.name.clone(),
            object: object.to_string(),
            message,
        }
    }

    fn kind_dir(&self, group: &str, kind: &str, object: &str) -> Result<PathBuf, ClusterError> {
        store::kind_dir(&self.dir, group, kind).map_err(|m| self.invalid(object, m))
    }

    /// Built-in table first, then a CRD stored in this cluster.
    fn known_scope(&self, group: &str, kind: &str) -> Result<KnownScope, ClusterError> {
        let builtin = scope::builtin_scope(group, kind);
        if builtin != KnownScope::Unknown {
            return Ok(builtin);
        }
        let crds = self.kind_dir("apiextensions.k8s.io", "CustomResourceDefinition", "CRDs")?;
        let stored = store::read_all(&crds.join(store::CLUSTER_SCOPE_DIR))
            .map_err(|e| self.io_error("CRDs", e))?;
        Ok(stored
            .iter()
            .map(|crd| scope::crd_scope(crd, group, kind))
            .find(|s| *s != KnownScope::Unknown)
            .unwrap_or(KnownScope::Unknown))
    }

    /// Refuses a namespace that does not fit the kind's scope.
    fn check_scope(
        &self,
        group: &str,
        kind: &str,
        ns: Option<&str>,
        object: &str,
    ) -> Result<(), ClusterError> {
        let message = match (self.known_scope(group, kind)?, ns) {
            (KnownScope::Cluster, Some(ns)) => format!(
                "{kind} is cluster-scoped on this cluster but namespace {ns:?} was given; tranche \
                 never moves an object to another scope"
            ),
            (KnownScope::Namespaced, None) => {
                format!("{kind} is namespaced on this cluster but no namespace was given")
            }
            _ => return Ok(()),
        };
        Err(ClusterError::WrongScope {
            cluster: self.name.clone(),
            object: object.to_string(),
            message,
        })
    }

    fn object_path(&self, id: &ObjectRef) -> Result<PathBuf, ClusterError> {
        let what = id.to_string();
        let ns = id.namespace.as_deref();
        self.check_scope(id.group(), &id.kind, ns, &what)?;
        let kind_dir = self.kind_dir(id.group(), &id.kind, &what)?;
        store::object_path(&kind_dir, ns, &id.name).map_err(|m| self.invalid(&what, m))
    }

    fn apply(&self, object: Value, opts: ApplyOptions) -> Result<Value, ClusterError> {
        let Some(id) = ObjectRef::from_object(&object) else {
            return Err(self.invalid(
                "object",
                "apiVersion, kind and metadata.name are required".to_string(),
            ));
        };
        let what = id.to_string();
        let path = self.object_path(&id)?;
        let mut object = object;
        if id.namespace.is_none() {
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
        }
        bookkeeping::serve_crd(&mut object);
        let _guard = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let existing = store::read(&path).map_err(|e| self.io_error(&what, e))?;
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let merged = bookkeeping::merge(existing.as_ref(), &object, &now, || new_uid(&path));
        if merged.changed && !opts.dry_run {
            store::write_atomic(&path, &merged.object).map_err(|e| self.io_error(&what, e))?;
        }
        Ok(merged.object)
    }

    fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let what = format!("list {kind}");
        let selector = selector::parse_selector(selector).map_err(|m| self.invalid(&what, m))?;
        let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
        self.check_list_scope(group, kind, namespace, &what)?;
        let kind_dir = self.kind_dir(group, kind, &what)?;
        let scopes = match (self.known_scope(group, kind)?, namespace) {
            (KnownScope::Cluster, _) => vec![store::CLUSTER_SCOPE_DIR.to_string()],
            (_, Some(ns)) => vec![store::checked_segment("namespace", ns)
                .map_err(|m| self.invalid(&what, m))?
                .to_string()],
            (_, None) => store::scope_dirs(&kind_dir).map_err(|e| self.io_error(&what, e))?,
        };
        let mut out = Vec::new();
        for scope in scopes {
            let objects =
                store::read_all(&kind_dir.join(scope)).map_err(|e| self.io_error(&what, e))?;
            out.extend(
                objects
                    .into_iter()
                    .filter(|o| selector.matches(&selector::object_labels(o))),
            );
        }
        Ok(out)
    }

    /// A list of a cluster-scoped kind in one namespace is refused; a
    /// namespaced kind without a namespace lists every namespace.
    fn check_list_scope(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        what: &str,
    ) -> Result<(), ClusterError> {
        match namespace {
            Some(_) => self.check_scope(group, kind, namespace, what),
            None => Ok(()),
        }
    }

    fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError> {
        let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
        Ok(match self.known_scope(group, kind)? {
            KnownScope::Namespaced => true,
            KnownScope::Cluster => false,
            // Unknown kinds: cluster-scoped only if that is all that is stored.
            KnownScope::Unknown => {
                let kind_dir = self.kind_dir(group, kind, kind)?;
                let scopes = store::scope_dirs(&kind_dir).map_err(|e| self.io_error(kind, e))?;
                !(scopes.len() == 1 && scopes[0] == store::CLUSTER_SCOPE_DIR)
            }
        })
    }
}

/// A fresh uid in the usual 8-4-4-4-12 shape, from the path and clock.
fn new_uid(path: &Path) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let digest =
        Sha256::digest(format!("{}:{nanos}:{}", path.display(), std::process::id()).as_bytes());
    let h = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[async_trait]
impl ClusterApi for DirCluster {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn has_controllers(&self) -> bool {
        false
    }

    async fn ping(&self) -> Result<(), ClusterError> {
        self.blocking("directory".to_string(), |inner| {
            store::check_writable(&inner.dir).map_err(|e| ClusterError::Unreachable {
                cluster: inner.name.clone(),
                message: e.message,
            })
        })
        .await
    }

    async fn scope(&self, api_version: &str, kind: &str) -> Result<Option<Scope>, ClusterError> {
        let group = crate::kinds::group_of(api_version).to_string();
        let kind = kind.to_string();
        self.blocking(format!("scope of {kind}"), move |inner| {
            Ok(match inner.known_scope(&group, &kind)? {
                KnownScope::Namespaced => Some(Scope::Namespaced),
                KnownScope::Cluster => Some(Scope::Cluster),
                KnownScope::Unknown => None,
            })
        })
        .await
    }

    async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError> {
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        self.blocking(format!("scope of {kind}"), move |inner| {
            inner.is_namespaced(&api_version, &kind)
        })
        .await
    }

    async fn get(&self, id: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        let id = id.clone();
        self.blocking(id.to_string(), move |inner| {
            let path = inner.object_path(&id)?;
            store::read(&path).map_err(|e| inner.io_error(&id.to_string(), e))
        })
        .await
    }

    async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        let (namespace, selector) = (namespace.map(str::to_string), label_selector.to_string());
        self.blocking(format!("list {kind}"), move |inner| {
            inner.list(&api_version, &kind, namespace.as_deref(), &selector)
        })
        .await
    }

    async fn apply(&self, object: &Value, opts: ApplyOptions) -> Result<Value, ClusterError> {
        let object = object.clone();
        self.blocking("apply".to_string(), move |inner| inner.apply(object, opts))
            .await
    }

    async fn delete(&self, id: &ObjectRef) -> Result<(), ClusterError> {
        let id = id.clone();
        self.blocking(id.to_string(), move |inner| {
            let path = inner.object_path(&id)?;
            let _guard = inner.writes.lock().unwrap_or_else(|p| p.into_inner());
            store::remove(&path, &inner.dir).map_err(|e| inner.io_error(&id.to_string(), e))
        })
        .await
    }
}

#[cfg(test)]
mod tests;
