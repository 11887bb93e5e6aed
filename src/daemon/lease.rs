//! Leader election between replicas through a coordination.k8s.io/v1
//! Lease — Kubernetes is the distributed engine; no home-made consensus.
//!
//! As client-go does it: a holder renews `renewTime` every renew interval;
//! others take the Lease over only when its record has not changed for a
//! whole lease duration *as observed by their own clock* (so clock skew
//! between replicas does not matter). Writes use the Lease's
//! resourceVersion, so two candidates cannot both win. A leader that has
//! not renewed successfully within the lease duration steps down at once.

use super::config::LeaderElectionConfig;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Leadership as seen by this replica.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    renew: Duration,
    /// Last (holder, renewTime) seen, and when this replica saw it change.
    observed: Option<(String, Option<String>, Instant)>,
    last_renewed: Option<Instant>,
}

impl LeaderElector {
    /// An elector for the Lease named in `config`, reached through `client`.
    pub fn new(
        client: kube::Client,
        config: &LeaderElectionConfig,
        identity: String,
    ) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            name: config.lease_name.clone(),
            identity,
            duration: config.lease_duration,
            renew: config.renew_interval,
            observed: None,
            last_renewed: None,
        }
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Runs forever, publishing `true` while this replica leads. Leadership
    /// is dropped (`false`) as soon as a renewal is overdue.
    pub async fn run(mut self, leader: watch::Sender<bool>) {
        loop {
            let leading = match self.try_acquire_or_renew().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(lease = %self.name, error = %e, "lease request failed");
                    false
                }
            };
            let still_valid = self
                .last_renewed
                .is_some_and(|t| t.elapsed() < self.duration);
            let now_leader = leading || (*leader.borrow() && still_valid);
            if now_leader != *leader.borrow() {
                tracing::info!(identity = %self.identity, leader = now_leader, "leadership changed");
            }
            leader.send_replace(now_leader);
            if leader.is_closed() {
                return;
            }
            tokio::time::sleep(self.renew).await;
        }
    }

    /// One round: create, renew or take over the Lease. Returns whether
    /// this replica holds it now.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now.clone(), now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.last_renewed = Some(Instant::now());
                    Ok(true)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renew_key = spec.renew_time.as_ref().map(|t| format!("{:?}", t.0));
        let changed = match &self.observed {
            Some((h, r, _)) => *h != holder || *r != renew_key,
            None => true,
        };
        if changed {
            self.observed = Some((holder.clone(), renew_key, Instant::now()));
        }
        let expired = self
            .observed
            .as_ref()
            .is_some_and(|(_, _, seen)| seen.elapsed() >= self.duration);
        let mine = holder == self.identity;
        if !mine && !holder.is_empty() && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        let acquired = if mine {
            spec.acquire_time.clone().unwrap_or(now.clone())
        } else {
            now.clone()
        };
        lease.spec = Some(self.spec(acquired, now, transitions));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                self.last_renewed = Some(Instant::now());
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn spec(&self, acquire: MicroTime, renew: MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration.as_secs().max(1) as i32),
            acquire_time: Some(acquire),
            renew_time: Some(renew),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }
}

/// This replica's identity: configured, else `$POD_NAME`, else host + pid.
pub fn identity(config: &LeaderElectionConfig) -> String {
    if let Some(id) = &config.identity {
        return id.clone();
    }
    if let Ok(pod) = std::env::var("POD_NAME") {
        return pod;
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!(
        "{}-{}",
        if host.is_empty() { "tranche" } else { &host },
        std::process::id()
    )
}
