//! Holding one shard: a replica takes the first free (or expired) Lease
//! of `<prefix>-0 … <prefix>-(N-1)`, starting from its StatefulSet ordinal
//! so that replicas spread at once, renews it, and looks for a shard
//! again if it loses it. Spare replicas keep looking, so one of them takes
//! over a Lease whose holder died once it has been still for a whole lease
//! duration (the rule of [`LeaderElector`], one elector per Lease).

use super::config::ShardingConfig;
use crate::daemon::config::LeaderElectionConfig;
use crate::daemon::lease::LeaderElector;
use std::time::Instant;
use tokio::sync::watch;

/// This replica's claim on a shard.
pub struct ShardClaim {
    electors: Vec<LeaderElector>,
    first: usize,
    leases: LeaderElectionConfig,
}

impl ShardClaim {
    /// Electors for every shard Lease, in `leases`' namespace and timing.
    pub fn new(
        client: kube::Client,
        leases: &LeaderElectionConfig,
        sharding: &ShardingConfig,
        identity: &str,
    ) -> ShardClaim {
        let electors = (0..sharding.shards)
            .map(|i| {
                let config = LeaderElectionConfig {
                    lease_name: sharding.lease_name(i),
                    ..leases.clone()
                };
                LeaderElector::new(client.clone(), &config, identity.to_string())
            })
            .collect();
        ShardClaim {
            electors,
            first: ordinal(identity).unwrap_or(0) % sharding.shards.max(1),
            leases: leases.clone(),
        }
    }

    /// Runs until `held` is dropped, publishing the shard held (`None`
    /// while none). A shard is dropped as soon as a renewal is overdue.
    pub async fn run(mut self, held: watch::Sender<Option<usize>>) {
        let mut renewed: Option<Instant> = None;
        loop {
            let current = *held.borrow();
            let now = match current {
                Some(i) => self.renew(i, &mut renewed).await,
                None => self.acquire(&mut renewed).await,
            };
            if now != current {
                tracing::info!(shard = ?now, "shard lease changed");
            }
            held.send_replace(now);
            if held.is_closed() {
                return;
            }
            tokio::time::sleep(self.leases.renew_interval).await;
        }
    }

    async fn renew(&mut self, shard: usize, renewed: &mut Option<Instant>) -> Option<usize> {
        let elector = self.electors.get_mut(shard)?;
        match elector.try_acquire_or_renew().await {
            Ok(true) => {
                *renewed = Some(Instant::now());
                Some(shard)
            }
            Ok(false) => None,
            Err(e) => {
                tracing::warn!(shard, error = %e, "cannot renew the shard lease");
                let valid = renewed.is_some_and(|t| t.elapsed() < self.leases.lease_duration);
                valid.then_some(shard)
            }
        }
    }

    async fn acquire(&mut self, renewed: &mut Option<Instant>) -> Option<usize> {
        let n = self.electors.len();
        for k in 0..n {
            let shard = (self.first + k) % n;
            match self.electors[shard].try_acquire_or_renew().await {
                Ok(true) => {
                    *renewed = Some(Instant::now());
                    return Some(shard);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(shard, error = %e, "shard lease request failed"),
            }
        }
        None
    }
}

/// The ordinal of a StatefulSet pod name (`tranche-2` → 2).
fn ordinal(identity: &str) -> Option<usize> {
    identity.rsplit_once('-')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::ordinal;

    #[test]
    fn ordinals_of_statefulset_pods() {
        assert_eq!(ordinal("tranche-2"), Some(2));
        assert_eq!(ordinal("tranche-shard-10"), Some(10));
        assert_eq!(ordinal("tranche"), None);
        assert_eq!(ordinal("host-abc"), None);
    }
}
