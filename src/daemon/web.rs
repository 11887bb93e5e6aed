//! The web view: one page (`/`) with its script and style embedded in the
//! binary (no build step, nothing fetched from the network), the status
//! pushed as server-sent events (`/api/events`), and the per-object
//! changes of a rollout on one cluster (`/api/changes`), computed from git
//! on demand and cached.

use super::changes::{cluster_changes, ClusterChanges};
use super::server::ServerState;
use super::status::StatusView;
use crate::revision::{RepoRevisions, Revisions};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::Stream;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const INDEX: &str = include_str!("web/index.html");
const SCRIPT: &str = include_str!("web/app.js");
const STYLE: &str = include_str!("web/app.css");

/// Content-Security-Policy of every page asset: only this origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// Pause after each pushed update, so bursts of events become one push.
const PUSH_COALESCE: Duration = Duration::from_millis(100);
/// Change sets kept in the cache.
const CHANGES_CACHE_LEN: usize = 64;

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

/// `GET /ui/app.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /ui/app.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The status view with the details of every commit it names.
pub async fn full_view(s: &ServerState) -> StatusView {
    let mut view = s.live.snapshot();
    let commits = s.commits.clone();
    let wanted = view.referenced_commits();
    view.commits = tokio::task::spawn_blocking(move || commits.describe(&wanted))
        .await
        .unwrap_or_default();
    view
}

/// `GET /api/events`: the status view now, then after every change (an
/// update that leaves the view as it was sends nothing).
pub async fn events(
    State(s): State<ServerState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.live.subscribe();
    let stream = futures::stream::unfold((s, rx, None), |(s, mut rx, last)| async move {
        loop {
            if last.is_some() {
                rx.changed().await.ok()?;
                tokio::time::sleep(PUSH_COALESCE).await;
            }
            rx.borrow_and_update();
            let body = serde_json::to_string(&full_view(&s).await).unwrap_or_default();
            if last.as_ref() != Some(&body) {
                let event = Event::default().event("status").data(body.clone());
                return Some((Ok(event), (s, rx, Some(body))));
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Query of `/api/changes`.
#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    /// Commit rolled out.
    commit: String,
    /// Cluster.
    cluster: String,
    /// Commit the cluster ran before (default: as the status view says;
    /// none: the cluster ran nothing).
    from: Option<String>,
}

/// Reads renderings and keeps recent change sets.
pub struct ChangeBook {
    revisions: RepoRevisions,
    cache: Mutex<BTreeMap<(String, String, String), Arc<ClusterChanges>>>,
}

impl ChangeBook {
    /// Changes of commits read from `revisions`.
    pub fn new(revisions: RepoRevisions) -> ChangeBook {
        ChangeBook {
            revisions,
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    fn compute(
        &self,
        commit: &str,
        from: &str,
        cluster: &str,
    ) -> Result<Arc<ClusterChanges>, String> {
        let key = (commit.to_string(), from.to_string(), cluster.to_string());
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit.clone());
        }
        let after = self.revisions.read(commit).map_err(|e| e.first_problem())?;
        let before = match from {
            "" => None,
            f => Some(self.revisions.read(f).map_err(|e| e.first_problem())?),
        };
        let known = after.fleet.clusters.contains_key(cluster)
            || before
                .as_ref()
                .is_some_and(|b| b.fleet.clusters.contains_key(cluster));
        if !known {
            return Err(format!("no cluster {cluster:?} at {commit}"));
        }
        let changes = Arc::new(cluster_changes(
            before
                .as_ref()
                .and_then(|b| b.rendering.clusters.get(cluster)),
            after.rendering.clusters.get(cluster),
            &after.fleet.policies.diff.ignore,
        ));
        let mut cache = self.lock();
        if cache.len() >= CHANGES_CACHE_LEN {
            cache.clear();
        }
        cache.insert(key, changes.clone());
        Ok(changes)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<(String, String, String), Arc<ClusterChanges>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn is_commit_id(s: &str) -> bool {
    (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `GET /api/changes?commit=…&cluster=…[&from=…]`: what the commit changes
/// on the cluster, per object, with masked diffs.
pub async fn changes(State(s): State<ServerState>, Query(q): Query<ChangesQuery>) -> Response {
    let from = match q.from {
        Some(f) => f,
        None => {
            let v = s.live.snapshot();
            [v.current, v.last_rollout]
                .into_iter()
                .flatten()
                .filter(|r| r.commit == q.commit)
                .find_map(|r| r.view.clusters.get(&q.cluster).map(|c| c.previous.clone()))
                .flatten()
                .unwrap_or_default()
        }
    };
    if !is_commit_id(&q.commit) || !(from.is_empty() || is_commit_id(&from)) {
        return (
            StatusCode::BAD_REQUEST,
            "commit and from must be commit ids",
        )
            .into_response();
    }
    let book = s.changes.clone();
    let (commit, cluster) = (q.commit.clone(), q.cluster.clone());
    let from2 = from.clone();
    let result = tokio::task::spawn_blocking(move || book.compute(&commit, &from2, &cluster)).await;
    match result {
        Ok(Ok(changes)) => Json(serde_json::json!({
            "commit": q.commit,
            "cluster": q.cluster,
            "from": (!from.is_empty()).then_some(from),
            "objects": changes.objects,
            "unlisted": changes.unlisted,
        }))
        .into_response(),
        Ok(Err(e)) => (StatusCode::NOT_FOUND, e).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
