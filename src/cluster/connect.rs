//! Opening the fleet's clusters: from kubeconfig contexts, the in-cluster
//! service account, or directories (the embedded default). One bad cluster
//! never stops the others: each gets its own `Result`.

use crate::cluster::bounded::map_bounded;
use crate::cluster::dir::DirCluster;
use crate::cluster::kube::{read_kubeconfig, KubeCluster, DEFAULT_MAX_IN_FLIGHT};
use crate::cluster::watch::WatchedCluster;
use crate::cluster::{ClusterApi, ClusterError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Default directory for directory clusters when nothing else is configured.
pub const DEFAULT_CLUSTERS_DIR: &str = ".tranche/clusters";

impl ClusterSource {
    /// Where clusters live: a clusters dir, then in-cluster, then a kubeconfig
    /// (a `:`-separated `$KUBECONFIG` list is left to kube to merge), then
    /// `~/.kube/config`, else directory clusters under `.tranche/clusters`.
    pub fn choose(
        clusters_dir: Option<&PathBuf>,
        in_cluster: bool,
        kubeconfig: Option<&PathBuf>,
    ) -> ClusterSource {
        if let Some(dir) = clusters_dir {
            return ClusterSource::Directory(dir.clone());
        }
        if in_cluster {
            return ClusterSource::InCluster;
        }
        if let Some(path) = kubeconfig {
            let list = path.to_string_lossy().contains(':') && !path.exists();
            return ClusterSource::Kubeconfig {
                path: (!list).then(|| path.clone()),
            };
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        if home.join(".kube/config").exists() {
            return ClusterSource::Kubeconfig { path: None };
        }
        tracing::info!(
            "no kubeconfig found: using directory clusters under {DEFAULT_CLUSTERS_DIR}"
        );
        ClusterSource::Directory(PathBuf::from(DEFAULT_CLUSTERS_DIR))
    }
}

/// One cluster's connection, or why there is none.
pub type Connection = Result<Arc<dyn ClusterApi>, ClusterError>;

/// How many clusters are contacted at once when connecting.
pub const CONNECT_CONCURRENCY: usize = 16;

/// Where clusters come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterSource {
    /// kubeconfig contexts; `path: None` reads `$KUBECONFIG` (a list of
    /// files is merged) or `~/.kube/config`.
    Kubeconfig {
        /// kubeconfig file, or `None` for the default lookup.
        path: Option<PathBuf>,
    },
    /// The service account of the pod tranche runs in. Every cluster name
    /// maps to this one cluster; contexts are ignored.
    InCluster,
    /// Directories: cluster `c` is `<root>/c/` (see [`DirCluster`]).
    Directory(PathBuf),
}

/// Installs rustls's ring crypto provider for the process, once. kube-rs
/// and reqwest both need a process-level provider; installing twice (or
/// after someone else did) is fine.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already installed: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Opens and pings every `(name, context)` cluster, concurrently (at most
/// [`CONNECT_CONCURRENCY`] at once). A missing context, an unreadable
/// kubeconfig or an unreachable apiserver gives that cluster an
/// `Unreachable` entry naming the cluster and context; the others still
/// connect.
pub async fn connect(
    source: &ClusterSource,
    clusters: &[(String, String)],
) -> BTreeMap<String, Connection> {
    connect_bounded(source, clusters, DEFAULT_MAX_IN_FLIGHT).await
}

/// [`connect`], with at most `max_in_flight` requests at once to each
/// apiserver (see [`KubeCluster::with_max_in_flight`]).
pub async fn connect_bounded(
    source: &ClusterSource,
    clusters: &[(String, String)],
    max_in_flight: usize,
) -> BTreeMap<String, Connection> {
    open(source, clusters, max_in_flight, false).await
}

/// [`connect_bounded`] for the daemon: real clusters come wrapped in a
/// [`WatchedCluster`] (a live cache fed by watches, started as plans ask
/// for kinds). Directory clusters are the same as with [`connect`].
pub async fn connect_watched(
    source: &ClusterSource,
    clusters: &[(String, String)],
    max_in_flight: usize,
) -> BTreeMap<String, Connection> {
    open(source, clusters, max_in_flight, true).await
}

fn finish(cluster: KubeCluster, watched: bool) -> Arc<dyn ClusterApi> {
    match watched {
        true => Arc::new(WatchedCluster::new(cluster)),
        false => Arc::new(cluster),
    }
}

async fn open(
    source: &ClusterSource,
    clusters: &[(String, String)],
    max_in_flight: usize,
    watched: bool,
) -> BTreeMap<String, Connection> {
    install_crypto_provider();
    let opened: Vec<(String, Connection)> = match source {
        ClusterSource::Kubeconfig { path } => match read_kubeconfig(path.as_deref()) {
            Err(message) => clusters
                .iter()
                .map(|(name, context)| {
                    let err = ClusterError::Unreachable {
                        cluster: name.clone(),
                        message: format!("context {context:?}: {message}"),
                    };
                    (name.clone(), Err(err))
                })
                .collect(),
            Ok(kubeconfig) => {
                map_bounded(clusters.iter(), CONNECT_CONCURRENCY, |(name, context)| {
                    let kubeconfig = kubeconfig.clone();
                    async move {
                        let opened = async {
                            let cluster =
                                KubeCluster::from_kubeconfig_value(name, kubeconfig, context)
                                    .await?
                                    .with_max_in_flight(max_in_flight);
                            cluster.ping().await?;
                            Ok(finish(cluster, watched))
                        };
                        (name.clone(), opened.await)
                    }
                })
                .await
            }
        },
        ClusterSource::InCluster => {
            map_bounded(
                clusters.iter(),
                CONNECT_CONCURRENCY,
                |(name, _)| async move {
                    let opened = async {
                        let cluster =
                            KubeCluster::in_cluster(name)?.with_max_in_flight(max_in_flight);
                        cluster.ping().await?;
                        Ok(finish(cluster, watched))
                    };
                    (name.clone(), opened.await)
                },
            )
            .await
        }
        ClusterSource::Directory(root) => {
            map_bounded(
                clusters.iter(),
                CONNECT_CONCURRENCY,
                |(name, _)| async move {
                    let opened = async {
                        let cluster = DirCluster::new(root, name)?;
                        cluster.ping().await?;
                        Ok(Arc::new(cluster) as Arc<dyn ClusterApi>)
                    };
                    (name.clone(), opened.await)
                },
            )
            .await
        }
    };
    opened.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreadable_kubeconfig_fails_every_cluster_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let source = ClusterSource::Kubeconfig {
            path: Some(dir.path().join("missing")),
        };
        let clusters = vec![
            ("a".to_string(), "ctx-a".to_string()),
            ("b".to_string(), "ctx-b".to_string()),
        ];
        let out = connect(&source, &clusters).await;
        assert_eq!(out.len(), 2);
        for (name, r) in &out {
            match r {
                Err(ClusterError::Unreachable { cluster, message }) => {
                    assert_eq!(cluster, name);
                    assert!(message.contains("ctx-"), "{message}");
                }
                other => panic!(
                    "expected unreachable, got {:?}",
                    other.as_ref().map(|c| c.name())
                ),
            }
        }
    }

    #[tokio::test]
    async fn directory_clusters_connect() {
        let dir = tempfile::tempdir().unwrap();
        let source = ClusterSource::Directory(dir.path().to_path_buf());
        let out = connect(&source, &[("dev".to_string(), "dev".to_string())]).await;
        let dev = out["dev"].as_ref().map_err(|e| e.to_string()).unwrap();
        assert_eq!(dev.name(), "dev");
        assert!(!dev.has_controllers());
    }
}
