//! `tranche run`: the daemon. Reads the YAML config (if given), lets flags
//! override it, and runs until SIGTERM.

use crate::daemon::config::{ClustersConfig, DaemonConfig};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `tranche run` (each overrides the config file).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Config file (YAML; see README "Daemon configuration").
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Local repository (or a fleet directory inside one) to watch.
    #[arg(long, conflicts_with = "repo_url")]
    pub repo: Option<PathBuf>,
    /// Remote repository URL to clone and fetch.
    #[arg(long)]
    pub repo_url: Option<String>,
    /// Tracked branch.
    #[arg(long)]
    pub branch: Option<String>,
    /// Fleet directory inside the repository.
    #[arg(long)]
    pub dir: Option<String>,
    /// HTTP listen address.
    #[arg(long)]
    pub listen: Option<String>,
    /// State directory.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// kubeconfig with one context per cluster.
    #[arg(long, conflicts_with = "clusters_dir")]
    pub kubeconfig: Option<PathBuf>,
    /// Directory clusters (the embedded default when no kubeconfig exists).
    #[arg(long)]
    pub clusters_dir: Option<PathBuf>,
    /// In-cluster config (when deployed with deploy/).
    #[arg(long, conflicts_with_all = ["kubeconfig", "clusters_dir"])]
    pub in_cluster: bool,
    /// Poll interval for remote repositories (e.g. `30s`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub poll_interval: Option<Duration>,
    /// Public base URL (commit status links).
    #[arg(long)]
    pub public_url: Option<String>,
}

impl RunArgs {
    /// The config file (or the defaults) with the flags applied on top.
    pub fn resolve(&self) -> anyhow::Result<DaemonConfig> {
        let mut config = match &self.config {
            Some(path) => DaemonConfig::load(path)?,
            None => DaemonConfig::default(),
        };
        if let Some(p) = &self.repo {
            config.repo.path = Some(p.clone());
            config.repo.url = None;
        }
        if let Some(u) = &self.repo_url {
            config.repo.url = Some(u.clone());
            config.repo.path = None;
        }
        if let Some(b) = &self.branch {
            config.repo.branch = b.clone();
        }
        if let Some(d) = &self.dir {
            config.repo.dir = Some(d.clone());
        }
        if let Some(l) = &self.listen {
            config.listen = l.clone();
        }
        if let Some(s) = &self.state_dir {
            config.state_dir = s.clone();
        }
        if let Some(k) = &self.kubeconfig {
            config.clusters = ClustersConfig {
                kubeconfig: Some(k.clone()),
                ..config.clusters
            };
            config.clusters.clusters_dir = None;
        }
        if let Some(d) = &self.clusters_dir {
            config.clusters.clusters_dir = Some(d.clone());
            config.clusters.kubeconfig = None;
        }
        if self.in_cluster {
            config.clusters.in_cluster = true;
            config.clusters.kubeconfig = None;
            config.clusters.clusters_dir = None;
        }
        if let Some(p) = self.poll_interval {
            config.poll_interval = p;
        }
        if let Some(u) = &self.public_url {
            config.public_url = Some(u.clone());
        }
        config
            .check()
            .map_err(anyhow::Error::msg)
            .context("daemon configuration")?;
        Ok(config)
    }
}

/// Runs the daemon.
pub async fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let config = args.resolve()?;
    crate::daemon::run(config).await?;
    Ok(0)
}
