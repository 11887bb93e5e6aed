//! The daemon (`tranche run`): watches the repository, rolls out each new
//! commit of the tracked branch, and reports back on the commit.
//!
//! Tasks: the HTTP [`server`] (every replica), the leader elector
//! ([`lease`], when configured), trigger sources ([`trigger`]) and the
//! [`worker`] loop, which acts only while this replica leads. SIGTERM
//! finishes the current step and exits; a rollout in flight resumes on the
//! next start (its record is in the state store).

pub mod changes;
mod clusters;
pub mod commits;
pub mod config;
pub mod control;
mod deploy;
mod failover;
mod input_change;
mod inputs;
pub mod lease;
pub mod observer;
pub mod pull_requests;
pub mod queue;
pub mod replica;
pub mod rollout_view;
pub mod server;
pub mod source;
pub mod status;
pub mod trigger;
pub mod web;
mod weights;
mod worker;

use crate::cluster::connect::ClusterSource;
use crate::report::{Metrics, RetryPolicy, Secret, StatusReporter};
use crate::rollout::state::RolloutState;
use crate::rollout::store::StateStore;
use config::DaemonConfig;
use source::GitSource;
use status::LiveStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use trigger::Trigger;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The state dir cannot be used (or another process holds it).
    #[error(transparent)]
    Store(#[from] crate::rollout::store::StoreError),
    /// The repository cannot be opened or cloned.
    #[error(transparent)]
    Source(#[from] source::SourceError),
    /// The forge or webhook settings are unusable.
    #[error("forge: {0}")]
    Forge(String),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Leader election cannot reach its cluster.
    #[error("leader election: {0}")]
    Lease(String),
}

/// Everything the worker and its jobs share.
pub struct Daemon {
    config: DaemonConfig,
    source: GitSource,
    /// The rollout record and the fleet memory.
    state: RolloutState,
    live: LiveStatus,
    metrics: Arc<Metrics>,
    reporter: Option<StatusReporter>,
    /// Connections kept across reconciles, with their live caches.
    clusters: clusters::ClusterPool,
    /// Replicated state (with leader election): restored on taking the lead.
    mirror: Option<replica::ConfigMapMirror>,
    /// Stop rollouts between steps (lost leadership or shutdown).
    halt: AtomicBool,
    /// Exit the worker loop.
    shutdown: AtomicBool,
    poll: Duration,
    /// Orders for the rollout in flight (the control API).
    control: Arc<crate::rollout::inbox::Inbox>,
    /// The pull-request comment and commands (`pullRequests:`).
    pulls: Option<Arc<pull_requests::PullRequests>>,
    /// Free capacities last read (`dynamicWeight`), reused by renders
    /// that must match the last rollout (resync, resume, failover).
    capacities: std::sync::Mutex<Option<crate::render::capacity::Capacities>>,
}

pub(crate) fn cluster_source(config: &DaemonConfig) -> ClusterSource {
    let c = &config.clusters;
    ClusterSource::choose(c.clusters_dir.as_ref(), c.in_cluster, c.kubeconfig.as_ref())
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(config: DaemonConfig) -> Result<(), DaemonError> {
    crate::cluster::connect::install_crypto_provider();
    if config.sharding.is_some() {
        return crate::shard::run(config).await;
    }
    let mut store = StateStore::open(&config.state_dir)?;
    let _lock = store.lock()?;
    let source = GitSource::open(&config.repo, &config.state_dir)?;
    let metrics = Arc::new(Metrics::new());
    let live = LiveStatus::default();
    let memory = RolloutState::new(store.clone()).memory()?;
    live.load_memory(&memory);
    // A failover active before a restart stays active (and reported).
    let failover = RolloutState::new(store.clone()).failover()?;
    live.load_failover(&failover);
    metrics.set_failover(&failover);
    live.update(|v| {
        v.branch = config.repo.branch.clone();
        v.role = "starting".into();
    });
    let reporter = status_reporter(&config, &metrics)?;
    let webhook_secret = webhook_secret(&config)?;
    let inbox = Arc::new(crate::rollout::inbox::Inbox::default());
    let control = match &config.control {
        Some(c) => Some(control::Control {
            token: Arc::new(
                Secret::from_file(&c.token_file)
                    .map_err(|e| DaemonError::Forge(format!("control: {e}")))?,
            ),
            inbox: inbox.clone(),
            state: RolloutState::new(store.clone()),
        }),
        None => None,
    };
    let pulls = match (&config.pull_requests, &config.forge) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(DaemonError::Forge(
                "pullRequests needs forge: (where comments go)".into(),
            ))
        }
        (Some(p), Some(f)) => {
            let conversation = crate::report::forge::build_conversation(f)
                .map_err(|e| DaemonError::Forge(e.to_string()))?;
            if p.commands && config.webhook.is_none() {
                tracing::warn!(
                    "pullRequests.commands: without webhook: no comment reaches tranche"
                );
            }
            Some(Arc::new(pull_requests::PullRequests::new(
                conversation,
                p.clone(),
                inbox.clone(),
                RolloutState::new(store.clone()),
            )))
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    tracing::info!(addr = %config.listen, "serving HTTP");
    let app = server::router(server::ServerState {
        live: live.clone(),
        metrics: metrics.clone(),
        webhook_secret,
        triggers: tx.clone(),
        ready: ready.clone(),
        commits: Arc::new(commits::CommitBook::new(
            source.revisions().path,
            config.forge.as_ref(),
        )),
        changes: Arc::new(web::ChangeBook::new(source.revisions())),
        control,
        pulls: pulls.clone(),
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    let (leader_tx, leader_rx) = watch::channel(config.leader_election.is_none());
    let mut mirror = None;
    if let Some(le) = &config.leader_election {
        let client = lease_client(le).await?;
        let name = format!("{}-state", le.lease_name);
        let m = replica::ConfigMapMirror::new(client.clone(), &le.namespace, &name)
            .await
            .map_err(|e| DaemonError::Lease(e.to_string()))?;
        store = store.with_mirror(Arc::new(m.clone()));
        mirror = Some(m);
        let identity = lease::identity(le);
        live.update(|v| v.identity = Some(identity.clone()));
        tracing::info!(%identity, lease = %le.lease_name, "leader election enabled");
        tokio::spawn(lease::LeaderElector::new(client, le, identity).run(leader_tx));
    }
    let _watcher = trigger::watch_refs(&source.watch_paths(), tx.clone()).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot watch the repository; polling only");
        None
    });
    trigger::every(config.poll_interval, Trigger::Poll, tx.clone());
    trigger::every(config.resync_interval, Trigger::Resync, tx.clone());
    trigger::every(
        config.failover.check_interval,
        Trigger::Failover,
        tx.clone(),
    );
    trigger::every(
        config.dynamic_weights.interval,
        Trigger::Weights,
        tx.clone(),
    );
    // Drift from watch events, unless drift detection is off (`0s`).
    let drift = (!config.resync_interval.is_zero()).then(|| tx.clone());
    let clusters = clusters::ClusterPool::new(
        cluster_source(&config),
        config.clusters.max_in_flight,
        drift,
    );
    let daemon = Arc::new(Daemon {
        config,
        source,
        state: RolloutState::new(store),
        live,
        metrics,
        reporter,
        clusters,
        mirror,
        halt: AtomicBool::new(false),
        shutdown: AtomicBool::new(false),
        poll: crate::rollout::gate::DEFAULT_POLL,
        control: inbox,
        pulls,
        capacities: std::sync::Mutex::new(None),
    });
    let d = daemon.clone();
    let wake = tx.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing the current step");
        d.shutdown.store(true, Ordering::Release);
        d.halt.store(true, Ordering::Release);
        let _ = wake.send(Trigger::Poll);
    });
    let d = daemon.clone();
    let mut lost = leader_rx.clone();
    tokio::spawn(async move {
        while lost.changed().await.is_ok() {
            if !*lost.borrow() {
                tracing::warn!("leadership lost: stopping rollouts at once");
                d.halt.store(true, Ordering::Release);
            }
        }
    });
    ready.store(true, Ordering::Release);
    daemon.work(rx, leader_rx).await;
    if let Some(r) = &daemon.reporter {
        r.flush(Duration::from_secs(5)).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The forge's status reporter (`forge:`), counting deliveries in
/// `metrics`; `None` without a forge.
pub(crate) fn status_reporter(
    config: &DaemonConfig,
    metrics: &Arc<Metrics>,
) -> Result<Option<StatusReporter>, DaemonError> {
    let Some(f) = &config.forge else {
        return Ok(None);
    };
    let forge = crate::report::forge::build(f).map_err(|e| DaemonError::Forge(e.to_string()))?;
    Ok(Some(StatusReporter::spawn_observed(
        forge,
        RetryPolicy::default(),
        Some(metrics.forge_status_observer()),
    )))
}

/// The link posted with commit statuses (`publicUrl`'s `/api/status`).
pub(crate) fn status_url(config: &DaemonConfig) -> Option<String> {
    config
        .public_url
        .as_ref()
        .map(|u| format!("{}/api/status", u.trim_end_matches('/')))
}

/// The webhook's secret (`webhook:`), if configured.
pub(crate) fn webhook_secret(config: &DaemonConfig) -> Result<Option<Arc<Secret>>, DaemonError> {
    match &config.webhook {
        Some(w) => Ok(Some(Arc::new(load_secret(w)?))),
        None => Ok(None),
    }
}

fn load_secret(w: &config::WebhookConfig) -> Result<Secret, DaemonError> {
    let secret = match (&w.secret_file, &w.secret_env) {
        (Some(f), None) => Secret::from_file(f),
        (None, Some(v)) => Secret::from_env(v),
        _ => {
            return Err(DaemonError::Forge(
                "webhook: set exactly one of secretFile, secretEnv".into(),
            ))
        }
    };
    secret.map_err(|e| DaemonError::Forge(format!("webhook: {e}")))
}

pub(crate) async fn lease_client(
    le: &config::LeaderElectionConfig,
) -> Result<kube::Client, DaemonError> {
    let config = match &le.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| DaemonError::Lease(e.to_string()))?;
            let opts = kube::config::KubeConfigOptions {
                context: le.context.clone(),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| DaemonError::Lease(e.to_string()))?
        }
        None => kube::Config::incluster().map_err(|e| DaemonError::Lease(e.to_string()))?,
    };
    kube::Client::try_from(config).map_err(|e| DaemonError::Lease(e.to_string()))
}

pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
