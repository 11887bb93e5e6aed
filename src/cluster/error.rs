//! Errors from clusters, classified so callers can decide: retry (transient),
//! report per object (forbidden, conflict, invalid), or mark the cluster
//! unreachable. Messages never contain credentials.

/// What went wrong talking to one cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The cluster could not be reached (connection refused, TLS, timeout,
    /// unknown kubeconfig context) after retries.
    #[error("cluster {cluster} is unreachable: {message}")]
    Unreachable {
        /// Cluster name.
        cluster: String,
        /// Cause (no secrets).
        message: String,
    },
    /// RBAC denied the request (HTTP 403).
    #[error("cluster {cluster}: {object}: forbidden: {message}")]
    Forbidden {
        /// Cluster name.
        cluster: String,
        /// Object (`Kind ns/name`).
        object: String,
        /// Apiserver message.
        message: String,
    },
    /// Server-side apply conflict with other field managers (HTTP 409).
    #[error("cluster {cluster}: {object}: conflict with field manager(s) {managers}: {message} (set force: true in the RolloutPolicy to take these fields)")]
    Conflict {
        /// Cluster name.
        cluster: String,
        /// Object (`Kind ns/name`).
        object: String,
        /// Conflicting managers, comma separated.
        managers: String,
        /// Apiserver message.
        message: String,
    },
    /// The apiserver rejected the object (HTTP 422 / 400).
    #[error("cluster {cluster}: {object}: invalid: {message}")]
    Invalid {
        /// Cluster name.
        cluster: String,
        /// Object (`Kind ns/name`).
        object: String,
        /// Apiserver message.
        message: String,
    },
    /// The object's namespace does not fit its kind's scope on this cluster
    /// (a cluster-scoped kind given a namespace, or a namespaced one
    /// without): refused before any request, never re-scoped.
    #[error("cluster {cluster}: {object}: refused: {message}")]
    WrongScope {
        /// Cluster name.
        cluster: String,
        /// Object (`Kind ns/name`).
        object: String,
        /// Which way the scope is wrong.
        message: String,
    },
    /// The apiserver does not serve this apiVersion/kind.
    #[error("cluster {cluster}: {api_version} {kind} is not served by this cluster (missing CRD or API version?)")]
    UnknownKind {
        /// Cluster name.
        cluster: String,
        /// apiVersion asked for.
        api_version: String,
        /// Kind asked for.
        kind: String,
    },
    /// Any other API error.
    #[error("cluster {cluster}: {object}: {message}")]
    Api {
        /// Cluster name.
        cluster: String,
        /// Object (`Kind ns/name`), or what was being done.
        object: String,
        /// HTTP status and message.
        message: String,
    },
}

impl ClusterError {
    /// Whether the whole cluster is unreachable (as opposed to one object failing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClusterError::Unreachable { .. })
    }
}
