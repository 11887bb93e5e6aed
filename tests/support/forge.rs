//! A stand-in for a forge's commit-status API (GitHub's wire format): no
//! real forge can run here, so the daemon's HTTP exchange is tested against
//! this local server, which records every request.

use super::eventually;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One recorded status.
#[derive(Debug, Clone)]
pub struct Posted {
    /// Commit sha from the path.
    pub sha: String,
    /// `state`.
    pub state: String,
    /// `context`.
    pub context: String,
    /// `description`.
    pub description: String,
    /// `Authorization` header.
    pub auth: String,
}

/// The stand-in server.
pub struct ForgeStub {
    /// Base URL to configure as `forge.apiUrl`.
    pub url: String,
    posted: Arc<Mutex<Vec<Posted>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ForgeStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Shared {
    posted: Arc<Mutex<Vec<Posted>>>,
    fail: bool,
}

impl ForgeStub {
    /// Starts a server answering 201 (or always 500 with `fail`).
    pub async fn start(fail: bool) -> ForgeStub {
        let posted = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            posted: posted.clone(),
            fail,
        };
        let app = Router::new()
            .route("/repos/{owner}/{repo}/statuses/{sha}", post(status))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ForgeStub { url, posted, task }
    }

    /// Every status posted so far, in order.
    pub fn posted(&self) -> Vec<Posted> {
        self.posted.lock().expect("lock").clone()
    }

    /// Statuses of one commit and context, in order.
    pub fn for_commit(&self, sha: &str, context: &str) -> Vec<Posted> {
        self.posted()
            .into_iter()
            .filter(|p| p.sha == sha && p.context == context)
            .collect()
    }
}

async fn status(
    State(s): State<Shared>,
    Path((_owner, _repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    s.posted.lock().expect("lock").push(Posted {
        sha,
        state: text("state"),
        context: text("context"),
        description: text("description"),
        auth: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    });
    if s.fail {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({"message": "forge is down"})),
        )
    } else {
        (StatusCode::CREATED, Json(body))
    }
}

/// Waits for the final (non-pending) `tranche/rollout` status of `sha`.
pub async fn final_status(forge: &ForgeStub, sha: &str) -> Vec<Posted> {
    eventually(
        &format!("final status of {sha}"),
        Duration::from_secs(120),
        || async {
            let s = forge.for_commit(sha, "tranche/rollout");
            s.last().filter(|p| p.state != "pending").map(|_| s.clone())
        },
    )
    .await
}

/// `state: description` of each status, for assertion messages.
pub fn descriptions(s: &[Posted]) -> Vec<String> {
    s.iter()
        .map(|p| format!("{}: {}", p.state, p.description))
        .collect()
}
