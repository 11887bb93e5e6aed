//! Reads each cluster's free capacity for `dynamicWeight:
//! AvailableReplicas`: one list of Nodes and one of Pods per cluster,
//! through [`ClusterApi::list`], summarized by the pure
//! [`crate::render::capacity::summary`].
//!
//! A cluster that cannot be reached or listed is `Broken` (excluded with a
//! warning). A directory cluster answers from the Node and Pod objects its
//! directory holds: usually none, so 0 capacity, excluded with a warning.

use crate::plan::compute::Connections;
use crate::render::capacity::summary::summarize;
use crate::render::capacity::{Capacities, ClusterCapacity};
use std::sync::Arc;

/// Capacities of every cluster in `connections`.
pub async fn read_capacities(connections: &Connections) -> Capacities {
    let reads = connections.iter().map(|(name, conn)| async move {
        let capacity = match conn {
            Err(e) => ClusterCapacity::Broken(format!("unreachable: {e}")),
            Ok(api) => read_one(Arc::clone(api)).await,
        };
        (name.clone(), capacity)
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

async fn read_one(api: Arc<dyn crate::cluster::ClusterApi>) -> ClusterCapacity {
    let nodes = match api.list("v1", "Node", None, "").await {
        Ok(n) => n,
        Err(e) => return ClusterCapacity::Broken(format!("cannot list Nodes: {e}")),
    };
    let pods = match api.list("v1", "Pod", None, "").await {
        Ok(p) => p,
        Err(e) => return ClusterCapacity::Broken(format!("cannot list Pods: {e}")),
    };
    summarize(&nodes, &pods)
}
