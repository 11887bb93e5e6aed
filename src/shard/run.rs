//! `tranche run` in shard mode (`sharding:` in the config): this replica
//! competes for the leader Lease (coordinator) and for a shard Lease
//! (shard worker), as configured. Every replica serves the daemon's HTTP
//! endpoints (`/api/status`, the web view, badges, metrics, the webhook)
//! and `/api/shard` (its identity and roles); the coordinator fills the
//! status view and posts the forge statuses ([`Reporting`]). Previews,
//! pull-request comments, git notes, drift correction and the control
//! API belong to the unsharded daemon and are not run here.

use super::claim::ShardClaim;
use super::coordinator::Coordinator;
use super::objects::Objects;
use super::report::Reporting;
use super::worker::{Pass, ShardWorker};
use crate::daemon::config::DaemonConfig;
use crate::daemon::lease::{self, LeaderElector};
use crate::daemon::server::{self, ServerState};
use crate::daemon::source::GitSource;
use crate::daemon::status::LiveStatus;
use crate::daemon::trigger::Trigger;
use crate::daemon::{commits, web, DaemonError};
use crate::render::Scope;
use crate::report::Metrics;
use crate::revision::{RepoRevisions, RevisionCache};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

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
    let metrics = Arc::new(Metrics::new());
    let live = LiveStatus::default();
    live.update(|v| {
        v.branch = config.repo.branch.clone();
        v.role = "starting".into();
        v.identity = Some(identity.clone());
    });
    let reporter = crate::daemon::status_reporter(&config, &metrics)?;
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
    let (wake_tx, wake_rx) = mpsc::unbounded_channel();
    let state = ServerState {
        live: live.clone(),
        metrics: metrics.clone(),
        webhook_secret: crate::daemon::webhook_secret(&config)?,
        triggers: wake_tx,
        ready: Arc::new(AtomicBool::new(true)),
        commits: Arc::new(commits::CommitBook::new(
            source.revisions().path,
            config.forge.as_ref(),
        )),
        changes: Arc::new(web::ChangeBook::new(source.revisions())),
        control: None,
        pulls: None,
    };
    serve(
        &config.listen,
        state,
        &identity,
        leader_rx.clone(),
        shard_rx.clone(),
    )
    .await?;
    tokio::spawn(show_role(
        live.clone(),
        sharding.coordinator,
        leader_rx.clone(),
        shard_rx.clone(),
    ));
    tracing::info!(%identity, shards = sharding.shards, coordinator = sharding.coordinator,
        shard = sharding.shard, "shard mode");
    let poll = config.poll_interval;
    if sharding.coordinator {
        let coordinator = Coordinator {
            objects: objects.clone(),
            sharding: sharding.clone(),
        };
        let reporting = Reporting::new(
            live.clone(),
            metrics.clone(),
            reporter.clone(),
            crate::daemon::status_url(&config),
            config.per_cluster_statuses,
        );
        // The coordinator needs the registry and the policies, no objects.
        let revisions = scoped(&source, Scope::none());
        let source = source.clone();
        tokio::spawn(coordinate(
            coordinator,
            source,
            revisions,
            reporting,
            leader_rx,
            wake_rx,
            poll,
        ));
    }
    if !sharding.shard {
        crate::daemon::wait_for_signal().await;
        flush(&reporter).await;
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
    // Rendered for the shard held only, with a cache of its own.
    let mut rendered: Option<(usize, RepoRevisions)> = None;
    loop {
        let held = *shard_rx.borrow();
        if let Some(shard) = held {
            halt.store(false, Ordering::Release);
            let revisions = match &rendered {
                Some((s, r)) if *s == shard => r.clone(),
                _ => {
                    let shards = sharding.shards;
                    let mine = Scope::only(move |c| super::shard_of(c, shards) == shard);
                    let r = scoped(&source, mine);
                    rendered = Some((shard, r.clone()));
                    r
                }
            };
            let status = sharding.status_name(shard);
            let pass = tokio::select! {
                p = worker.pass(shard, &status, &revisions, &halt) => p,
                _ = &mut signal => break,
            };
            match pass {
                Ok(Pass::Worked) => continue,
                Ok(Pass::Idle | Pass::Halted) => {}
                Err(e) => tracing::warn!(shard, error = %e, "shard pass failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = &mut signal => break,
        }
    }
    flush(&reporter).await;
    Ok(())
}

/// `source`'s revisions rendered for `scope` only, through a render cache
/// of their own (a shard's memory then grows with its clusters).
fn scoped(source: &GitSource, scope: Scope) -> RepoRevisions {
    let cache = RevisionCache::scoped(scope);
    RepoRevisions {
        cache: Some(Arc::new(std::sync::Mutex::new(cache))),
        ..source.revisions()
    }
}

/// Sends the statuses still queued (at most 5 s) before exiting.
async fn flush(reporter: &Option<crate::report::StatusReporter>) {
    if let Some(r) = reporter {
        r.flush(Duration::from_secs(5)).await;
    }
}

/// The coordinator's loop: a round every `poll` (or at once on a webhook
/// push) while this replica holds the leader Lease, each told to
/// `reporting`.
async fn coordinate(
    coordinator: Coordinator,
    source: Arc<GitSource>,
    revisions: RepoRevisions,
    mut reporting: Reporting,
    leader: watch::Receiver<bool>,
    mut wake: mpsc::UnboundedReceiver<Trigger>,
    poll: Duration,
) {
    loop {
        if *leader.borrow() {
            coordinate_once(&coordinator, &source, &revisions, &mut reporting).await;
        } else {
            reporting.lost_lead();
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            Some(_) = wake.recv() => {}
        }
    }
}

/// Keeps the view's role in step with the Leases held: `leader` while
/// coordinating, `standby` for a coordinator that waits, else the shard
/// held (`shard 1`) or `spare`.
async fn show_role(
    live: LiveStatus,
    coordinator: bool,
    mut leader: watch::Receiver<bool>,
    mut shard: watch::Receiver<Option<usize>>,
) {
    let (mut leader_open, mut shard_open) = (true, true);
    loop {
        let role = role(coordinator, *leader.borrow(), *shard.borrow());
        live.update(|v| v.role = role);
        tokio::select! {
            r = leader.changed(), if leader_open => leader_open = r.is_ok(),
            r = shard.changed(), if shard_open => shard_open = r.is_ok(),
            else => return,
        }
    }
}

/// A replica's role as the status view shows it.
fn role(coordinator: bool, leading: bool, shard: Option<usize>) -> String {
    match (leading, shard) {
        (true, _) => "leader".into(),
        (false, Some(i)) => format!("shard {i}"),
        (false, None) if coordinator => "standby".into(),
        (false, None) => "spare".into(),
    }
}

/// One coordinator round at the branch head (errors are logged).
async fn coordinate_once(
    coordinator: &Coordinator,
    source: &GitSource,
    revisions: &RepoRevisions,
    reporting: &mut Reporting,
) {
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
    match coordinator.round(&head, revisions).await {
        Ok(round) => reporting.round(&head, &round.plan, &round.statuses),
        Err(e) => tracing::warn!(error = %e, "coordinator round failed"),
    }
}

/// Serves the daemon's endpoints and `/api/shard` on `listen`.
async fn serve(
    listen: &str,
    state: ServerState,
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
    let app = server::router(state).merge(Router::new().route(
        "/api/shard",
        get(move || {
            let body = json!({
                "identity": identity,
                "coordinator": *leader.borrow(),
                "shard": *shard.borrow(),
            });
            async move { Json(body) }
        }),
    ));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::role;

    #[test]
    fn the_role_names_the_lease_held() {
        assert_eq!(role(true, true, Some(1)), "leader");
        assert_eq!(role(true, false, Some(1)), "shard 1");
        assert_eq!(role(true, false, None), "standby");
        assert_eq!(role(false, false, None), "spare");
    }
}
