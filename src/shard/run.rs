//! `tranche run` in shard mode (`sharding:` in the config): this replica
//! competes for the leader Lease (coordinator) and for a shard Lease
//! (shard worker), as configured, and serves `/healthz`, `/readyz` and
//! `/api/shard` (its identity and roles). Every other daemon feature
//! (forge statuses, previews, drift, the web view) belongs to the
//! unsharded daemon and is not run here.

use super::claim::ShardClaim;
use super::coordinator::Coordinator;
use super::objects::Objects;
use super::worker::{Pass, ShardWorker};
use crate::daemon::config::DaemonConfig;
use crate::daemon::lease::{self, LeaderElector};
use crate::daemon::source::GitSource;
use crate::daemon::DaemonError;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// Runs the shard-mode daemon until SIGTERM/SIGINT.
pub async fn run(config: DaemonConfig) -> Result<(), DaemonError> {
    let (Some(sharding), Some(le)) = (config.sharding.clone(), config.leader_election.clone())
    else {
        return Err(DaemonError::Lease(
            "sharding: needs leaderElection: (where the Leases and ConfigMaps live)".into(),
        ));
    };
    let source = Arc::new(GitSource::open(&config.repo, &config.state_dir)?);
    let client = crate::daemon::lease_client(&le).await?;
    let identity = lease::identity(&le);
    let objects = Objects::new(client.clone(), &le.namespace);
    let (leader_tx, leader_rx) = watch::channel(false);
    let (shard_tx, shard_rx) = watch::channel(None::<usize>);
    if sharding.coordinator {
        let elector = LeaderElector::new(client.clone(), &le, identity.clone());
        tokio::spawn(elector.run(leader_tx));
    }
    if sharding.shard {
        let claim = ShardClaim::new(client.clone(), &le, &sharding, &identity);
        tokio::spawn(claim.run(shard_tx));
    }
    serve(
        &config.listen,
        &identity,
        leader_rx.clone(),
        shard_rx.clone(),
    )
    .await?;
    tracing::info!(%identity, shards = sharding.shards, coordinator = sharding.coordinator,
        shard = sharding.shard, "shard mode");
    let poll = config.poll_interval;
    if sharding.coordinator {
        let coordinator = Coordinator {
            objects: objects.clone(),
            sharding: sharding.clone(),
        };
        let source = source.clone();
        tokio::spawn(async move {
            loop {
                if *leader_rx.borrow() {
                    coordinate_once(&coordinator, &source).await;
                }
                tokio::time::sleep(poll).await;
            }
        });
    }
    if !sharding.shard {
        crate::daemon::wait_for_signal().await;
        return Ok(());
    }
    let mut worker = ShardWorker::new(
        objects,
        identity,
        sharding.plan_name.clone(),
        crate::daemon::cluster_source(&config),
        config.clusters.parallel,
        config.clusters.max_in_flight,
    );
    let halt = Arc::new(AtomicBool::new(false));
    let mut lost = shard_rx.clone();
    let h = halt.clone();
    tokio::spawn(async move {
        let mut was = *lost.borrow();
        while lost.changed().await.is_ok() {
            let now = *lost.borrow();
            if was.is_some() && now != was {
                tracing::warn!(shard = ?was, "shard lease lost: stopping at once");
                h.store(true, Ordering::Release);
            }
            was = now;
        }
    });
    let signal = crate::daemon::wait_for_signal();
    tokio::pin!(signal);
    loop {
        let held = *shard_rx.borrow();
        if let Some(shard) = held {
            halt.store(false, Ordering::Release);
            let revisions = source.revisions();
            let status = sharding.status_name(shard);
            let pass = tokio::select! {
                p = worker.pass(shard, &status, &revisions, &halt) => p,
                _ = &mut signal => return Ok(()),
            };
            match pass {
                Ok(Pass::Worked) => continue,
                Ok(Pass::Idle | Pass::Halted) => {}
                Err(e) => tracing::warn!(shard, error = %e, "shard pass failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = &mut signal => return Ok(()),
        }
    }
}

/// One coordinator round at the branch head (errors are logged).
async fn coordinate_once(coordinator: &Coordinator, source: &GitSource) {
    if let Err(e) = source.fetch() {
        tracing::warn!(error = %e, "fetch failed");
    }
    let head = match source.head() {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the tracked branch");
            return;
        }
    };
    if let Err(e) = coordinator.round(&head, &source.revisions()).await {
        tracing::warn!(error = %e, "coordinator round failed");
    }
}

/// Serves health and `/api/shard` on `listen`.
async fn serve(
    listen: &str,
    identity: &str,
    leader: watch::Receiver<bool>,
    shard: watch::Receiver<Option<usize>>,
) -> Result<(), DaemonError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: listen.to_string(),
            source,
        })?;
    let identity = identity.to_string();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route(
            "/api/shard",
            get(move || {
                let body = json!({
                    "identity": identity,
                    "coordinator": *leader.borrow(),
                    "shard": *shard.borrow(),
                });
                async move { Json(body) }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(())
}
