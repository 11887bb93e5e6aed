//! Which clusters a command talks to, and how: kubeconfig contexts,
//! in-cluster config, or the embedded default (a directory per cluster).

use crate::cluster::connect::{connect_bounded, ClusterSource};
use crate::model::Fleet;
use crate::plan::compute::Connections;
use anyhow::bail;
use clap::Args;
use std::path::PathBuf;

/// Cluster selection and access flags.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Only these clusters (repeatable); default all.
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,
    /// kubeconfig file (or a directory of them, merged); each cluster is
    /// reached through its `spec.context`. `--clusters-dir` and
    /// `--in-cluster` take precedence over `$KUBECONFIG`.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Use directory clusters: `<DIR>/<cluster>/` holds each cluster's objects.
    #[arg(long, conflicts_with = "in_cluster")]
    pub clusters_dir: Option<PathBuf>,
    /// Use the in-cluster service account (when deployed with deploy/).
    #[arg(long)]
    pub in_cluster: bool,
    /// Clusters planned/applied at once.
    #[arg(long, default_value_t = crate::daemon::config::DEFAULT_PARALLEL)]
    pub parallel: usize,
    /// Requests in flight to one apiserver at most (objects of one cluster
    /// are planned and applied concurrently up to this bound).
    #[arg(long, default_value_t = crate::cluster::kube::DEFAULT_MAX_IN_FLIGHT,
          value_parser = at_least_one)]
    pub max_in_flight: usize,
}

/// Parses a bound that must be at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl TargetArgs {
    /// Where clusters live, falling back to directory clusters under
    /// `.tranche/clusters` when no kubeconfig exists at all.
    pub fn source(&self) -> ClusterSource {
        ClusterSource::choose(
            self.clusters_dir.as_ref(),
            self.in_cluster,
            self.kubeconfig.as_ref(),
        )
    }

    /// Names of the selected clusters; unknown names are an error.
    pub fn selected(&self, fleet: &Fleet) -> anyhow::Result<Vec<(String, String)>> {
        for name in &self.clusters {
            if !fleet.clusters.contains_key(name) {
                let known: Vec<&str> = fleet.clusters.keys().map(String::as_str).collect();
                bail!("unknown cluster {name:?} (known: {})", known.join(", "));
            }
        }
        Ok(fleet
            .clusters
            .values()
            .filter(|c| self.clusters.is_empty() || self.clusters.contains(&c.name))
            .map(|c| (c.name.clone(), c.context.clone()))
            .collect())
    }

    /// Connects to the selected clusters (failures are per cluster).
    pub async fn connect(&self, fleet: &Fleet) -> anyhow::Result<Connections> {
        let selected = self.selected(fleet)?;
        Ok(connect_bounded(&self.source(), &selected, self.max_in_flight).await)
    }
}
