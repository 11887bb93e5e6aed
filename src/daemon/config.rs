//! The daemon's configuration file (`tranche run --config FILE`, YAML).
//! Every field is documented here and in the README; command-line flags
//! override the file.

mod inputs;
mod preview;

use crate::report::forge::ForgeConfig;
pub use inputs::{DynamicWeightsConfig, FailoverConfig};
pub use preview::PreviewConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Clusters applied at once within a batch, unless configured (`--parallel`,
/// `clusters.parallel`).
pub const DEFAULT_PARALLEL: usize = 8;
/// State directory, unless configured (`--state-dir`, `stateDir`).
pub const DEFAULT_STATE_DIR: &str = ".tranche/state";

/// Top level of the config file. Every default is in the `Default` impls
/// below (a field left out of the file takes it), and flags are an overlay
/// on the result (`tranche run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// The repository to deploy from.
    pub repo: RepoConfig,
    /// How often a remote repository is fetched (a webhook fetches at once).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How clusters are reached.
    pub clusters: ClustersConfig,
    /// Durable state (rollout records, remote clone).
    pub state_dir: PathBuf,
    /// HTTP listen address for badges, status, metrics, health, webhook.
    pub listen: String,
    /// Public base URL of this daemon, used as the commit status target URL.
    pub public_url: Option<String>,
    /// Where commit statuses go (none: statuses are not posted).
    pub forge: Option<ForgeConfig>,
    /// Shared secret for `/webhook` (file or env var).
    pub webhook: Option<WebhookConfig>,
    /// PR previews: post `tranche/plan` on other refs without applying.
    pub preview: PreviewConfig,
    /// Periodic drift detection; `0s` disables it.
    #[serde(with = "humantime_serde")]
    pub resync_interval: Duration,
    /// Several replicas elect one leader with a coordination.k8s.io Lease.
    pub leader_election: Option<LeaderElectionConfig>,
    /// Also post one status per cluster (`tranche/cluster/<name>`).
    pub per_cluster_statuses: bool,
    /// The control API (approve, pause, resume, abort); off when unset.
    pub control: Option<ControlConfig>,
    /// The pull-request comment and comment/label commands; off when unset.
    pub pull_requests: Option<crate::daemon::pull_requests::PullRequestsConfig>,
    /// The failover loop (`checkInterval`).
    pub failover: FailoverConfig,
    /// Recomputing weights by free capacity (`interval`).
    pub dynamic_weights: DynamicWeightsConfig,
    /// Shard mode (`sharding:`): clusters spread over replicas by Leases.
    pub sharding: Option<crate::shard::ShardingConfig>,
}

/// `control:` — the bearer token of the control API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ControlConfig {
    /// File holding the token (surrounding whitespace ignored).
    pub token_file: PathBuf,
}

impl Default for DaemonConfig {
    /// The documented defaults; `repo` still has to be set.
    fn default() -> Self {
        DaemonConfig {
            repo: RepoConfig::default(),
            poll_interval: Duration::from_secs(30),
            clusters: ClustersConfig::default(),
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            forge: None,
            webhook: None,
            preview: PreviewConfig::default(),
            resync_interval: Duration::from_secs(300),
            leader_election: None,
            per_cluster_statuses: false,
            control: None,
            pull_requests: None,
            failover: FailoverConfig::default(),
            dynamic_weights: DynamicWeightsConfig::default(),
            sharding: None,
        }
    }
}

/// `repo:` — a local path (watched for ref changes) or a remote URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RepoConfig {
    /// Local repository (or a directory inside one).
    pub path: Option<PathBuf>,
    /// Remote repository URL (https://, ssh://, file://), cloned into the state dir.
    pub url: Option<String>,
    /// Tracked branch.
    pub branch: String,
    /// Fleet directory inside the repository (default: its root).
    pub dir: Option<String>,
    /// Credentials for a remote.
    pub auth: Option<GitAuth>,
}

impl Default for RepoConfig {
    /// Neither path nor url (the config check asks for one); branch `main`.
    fn default() -> Self {
        RepoConfig {
            path: None,
            url: None,
            branch: "main".into(),
            dir: None,
            auth: None,
        }
    }
}

/// Credentials for fetching a remote repository (never logged).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GitAuth {
    /// HTTPS user name (default `git`).
    pub username: Option<String>,
    /// File holding an HTTPS token or password.
    pub token_file: Option<PathBuf>,
    /// SSH private key file.
    pub ssh_key_file: Option<PathBuf>,
}

/// `clusters:` — exactly one way to reach clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ClustersConfig {
    /// kubeconfig file with one context per cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Directory clusters (the embedded default).
    pub clusters_dir: Option<PathBuf>,
    /// In-cluster config plus per-cluster kubeconfigs mounted from Secrets.
    pub in_cluster: bool,
    /// Clusters applied at once within a batch.
    pub parallel: usize,
    /// Requests in flight to one apiserver at most.
    pub max_in_flight: usize,
}

impl Default for ClustersConfig {
    /// As the CLI picks clusters; [`DEFAULT_PARALLEL`] at once.
    fn default() -> Self {
        ClustersConfig {
            kubeconfig: None,
            clusters_dir: None,
            in_cluster: false,
            parallel: DEFAULT_PARALLEL,
            max_in_flight: crate::cluster::kube::DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// `webhook:` — the secret shared with the forge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// File holding the secret.
    pub secret_file: Option<PathBuf>,
    /// Environment variable holding the secret.
    pub secret_env: Option<String>,
}

/// `leaderElection:` — Lease-based leadership between replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LeaderElectionConfig {
    /// kubeconfig of the cluster holding the Lease (default: in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context (default: current).
    pub context: Option<String>,
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub lease_name: String,
    /// This replica's identity (default: `$POD_NAME`, else hostname + pid).
    pub identity: Option<String>,
    /// How long a lease is valid without renewal.
    #[serde(with = "humantime_serde")]
    pub lease_duration: Duration,
    /// How often the leader renews (must be well under the duration).
    #[serde(with = "humantime_serde")]
    pub renew_interval: Duration,
}

impl Default for LeaderElectionConfig {
    /// A Lease `tranche-leader` in `tranche-system`, 15 s, renewed every 5 s.
    fn default() -> Self {
        LeaderElectionConfig {
            kubeconfig: None,
            context: None,
            namespace: crate::object::SYSTEM_NAMESPACE.into(),
            lease_name: "tranche-leader".into(),
            identity: None,
            lease_duration: Duration::from_secs(15),
            renew_interval: Duration::from_secs(5),
        }
    }
}

/// Errors in the config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// Config file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML of the expected shape.
    #[error("{path}: {message}")]
    Parse {
        /// Config file.
        path: PathBuf,
        /// What is wrong (with line and field).
        message: String,
    },
    /// Fields contradict each other.
    #[error("{path}: {message}")]
    Invalid {
        /// Config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl DaemonConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<DaemonConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config: DaemonConfig =
            crate::yaml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.message,
            })?;
        config.check().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    /// Cross-field checks.
    pub fn check(&self) -> Result<(), String> {
        match (&self.repo.path, &self.repo.url) {
            (Some(_), Some(_)) => return Err("repo: set either path or url, not both".into()),
            (None, None) => {
                return Err("repo: set path (a local repository) or url (a remote)".into())
            }
            _ => {}
        }
        let ways = [
            self.clusters.kubeconfig.is_some(),
            self.clusters.clusters_dir.is_some(),
            self.clusters.in_cluster,
        ];
        if ways.iter().filter(|w| **w).count() > 1 {
            return Err("clusters: set only one of kubeconfig, clustersDir, inCluster".into());
        }
        if let Some(le) = &self.leader_election {
            if le.renew_interval >= le.lease_duration {
                return Err(
                    "leaderElection: renewInterval must be shorter than leaseDuration".into(),
                );
            }
        }
        if let Some(s) = &self.sharding {
            s.check(self.leader_election.is_some())?;
        }
        if self.poll_interval.is_zero() {
            return Err("pollInterval must be > 0".into());
        }
        if self.clusters.parallel == 0 {
            return Err("clusters: parallel must be at least 1".into());
        }
        if self.clusters.max_in_flight == 0 {
            return Err("clusters: maxInFlight must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
