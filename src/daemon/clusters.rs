//! The daemon's cluster connections, kept from one reconcile to the next
//! so that each real cluster's live cache (its watches, see
//! [`crate::cluster::watch`]) outlives a plan: after the first lists, a
//! reconcile that finds nothing changed sends no request at all.
//!
//! A connection is opened the first time a revision's registry names the
//! cluster, and again when its context changes; a failed connection is
//! not kept (the next reconcile tries again). With drift detection on,
//! each connection's drift counter is forwarded to the worker as
//! [`Trigger::Drift`], so an object edited behind tranche's back is looked
//! at within a second rather than at the next resync.

use super::trigger::Trigger;
use crate::cluster::connect::{connect_watched, ClusterSource};
use crate::cluster::ClusterApi;
use crate::plan::compute::Connections;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};

/// A connection, with the context it was opened for.
type Opened = (String, Arc<dyn ClusterApi>);

/// Open connections by cluster name, with the context each was opened for.
pub(super) struct ClusterPool {
    source: ClusterSource,
    max_in_flight: usize,
    open: Mutex<BTreeMap<String, Opened>>,
    /// Where drift events go (`None`: drift detection is off).
    drift: Option<mpsc::UnboundedSender<Trigger>>,
}

impl ClusterPool {
    /// An empty pool.
    pub(super) fn new(
        source: ClusterSource,
        max_in_flight: usize,
        drift: Option<mpsc::UnboundedSender<Trigger>>,
    ) -> ClusterPool {
        ClusterPool {
            source,
            max_in_flight,
            open: Mutex::new(BTreeMap::new()),
            drift,
        }
    }

    /// Connections to `clusters` (`(name, context)`): the open ones as
    /// they are, the others opened now.
    pub(super) async fn connect(&self, clusters: &[(String, String)]) -> Connections {
        let mut open = self.open.lock().await;
        let missing: Vec<(String, String)> = clusters
            .iter()
            .filter(|(name, context)| open.get(name).map(|(c, _)| c) != Some(context))
            .cloned()
            .collect();
        let mut failed = BTreeMap::new();
        if !missing.is_empty() {
            let fresh = connect_watched(&self.source, &missing, self.max_in_flight).await;
            for (name, context) in &missing {
                match fresh.get(name) {
                    Some(Ok(api)) => {
                        self.forward_drift(name, api.as_ref());
                        open.insert(name.clone(), (context.clone(), api.clone()));
                    }
                    Some(Err(e)) => {
                        open.remove(name);
                        failed.insert(name.clone(), e.clone());
                    }
                    None => {}
                }
            }
        }
        clusters
            .iter()
            .filter_map(|(name, _)| {
                let conn = match failed.remove(name) {
                    Some(e) => Err(e),
                    None => Ok(open.get(name)?.1.clone()),
                };
                Some((name.clone(), conn))
            })
            .collect()
    }

    fn forward_drift(&self, name: &str, api: &dyn ClusterApi) {
        let (Some(tx), Some(mut changes)) = (self.drift.clone(), api.drift_events()) else {
            return;
        };
        let cluster = name.to_string();
        // Ends when the connection (and its watches) is dropped.
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let trigger = Trigger::Drift {
                    cluster: cluster.clone(),
                };
                if tx.send(trigger).is_err() {
                    return;
                }
            }
        });
    }
}
