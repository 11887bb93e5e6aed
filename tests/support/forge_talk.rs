//! A stand-in for GitHub's and GitLab's pull-request conversation APIs
//! (no real GitHub or GitLab can run here): comments kept as the forge
//! would keep them, collaborator permissions and member levels, pull
//! requests, commit comments and labels, commit statuses; every request
//! recorded.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tranche::report::forge::Provider;

/// The head of pull request 7 unless a test sets `pull7`.
pub const HEAD: &str = "89abcdef0123456789abcdef0123456789abcdef";
/// Its merge commit unless a test sets `pull7`.
pub const MERGE: &str = "0123456789abcdef0123456789abcdef01234567";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and query, as sent.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// What the stand-in holds.
#[derive(Default)]
pub struct Forge {
    /// Every request, in order.
    pub seen: Vec<Seen>,
    /// (id, body) of the comments of pull request 7.
    pub comments: Vec<(u64, String)>,
    /// What `GET …/pulls/7` (GitHub) or `…/merge_requests/7` (GitLab)
    /// answers, when set.
    pub pull7: Option<Value>,
}

/// The stand-in's state, shared with the test.
pub type Shared = Arc<Mutex<Forge>>;

fn json_answer(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

/// GitHub's REST API, as far as tranche uses it.
fn github(f: &mut Forge, s: &Seen) -> Response {
    let path = s.target.split('?').next().unwrap_or_default().to_string();
    match (s.method.as_str(), path.as_str()) {
        ("GET", "/repos/acme/fleet/issues/7/comments") => {
            let all: Vec<Value> = f
                .comments
                .iter()
                .map(|(id, body)| json!({"id": id, "body": body, "user": {"login": "tranche-bot"}}))
                .collect();
            json_answer(StatusCode::OK, Value::Array(all))
        }
        ("POST", "/repos/acme/fleet/issues/7/comments") => {
            let id = 1000 + f.comments.len() as u64;
            f.comments
                .push((id, s.body["body"].as_str().unwrap().to_string()));
            json_answer(StatusCode::CREATED, json!({"id": id}))
        }
        ("PATCH", p) if p.starts_with("/repos/acme/fleet/issues/comments/") => {
            let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
            for c in f.comments.iter_mut().filter(|c| c.0 == id) {
                c.1 = s.body["body"].as_str().unwrap().to_string();
            }
            json_answer(StatusCode::OK, json!({"id": id}))
        }
        ("GET", "/repos/acme/fleet/collaborators/alice/permission") => json_answer(
            StatusCode::OK,
            json!({"permission": "write", "user": {"login": "alice"}}),
        ),
        ("GET", "/repos/acme/fleet/collaborators/rita/permission") => {
            json_answer(StatusCode::OK, json!({"permission": "read"}))
        }
        ("GET", "/repos/acme/fleet/collaborators/mallory/permission") => json_answer(
            StatusCode::NOT_FOUND,
            json!({"message": "mallory is not a user"}),
        ),
        ("GET", "/repos/acme/fleet/pulls/7") if f.pull7.is_some() => {
            json_answer(StatusCode::OK, f.pull7.clone().unwrap())
        }
        ("POST", p) if p.starts_with("/repos/acme/fleet/statuses/") => {
            json_answer(StatusCode::CREATED, json!({"id": 1}))
        }
        ("GET", "/repos/acme/fleet/pulls/7") => json_answer(
            StatusCode::OK,
            json!({"number": 7, "merged": true, "merge_commit_sha": MERGE, "head": {"sha": HEAD}}),
        ),
        ("GET", "/repos/acme/fleet/pulls/8") => json_answer(
            StatusCode::OK,
            // Before the merge GitHub's merge_commit_sha is a test merge.
            json!({"number": 8, "merged": false, "merge_commit_sha": MERGE, "head": {"sha": HEAD}}),
        ),
        ("POST", p) if p == format!("/repos/acme/fleet/commits/{MERGE}/comments") => {
            json_answer(StatusCode::CREATED, json!({"id": 5}))
        }
        ("DELETE", "/repos/acme/fleet/issues/7/labels/tranche%2Fpause") => {
            json_answer(StatusCode::OK, json!([]))
        }
        _ => json_answer(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
    }
}

/// GitLab's API v4, as far as tranche uses it.
fn gitlab(f: &mut Forge, s: &Seen) -> Response {
    let path = s.target.split('?').next().unwrap_or_default().to_string();
    let mr = "/api/v4/projects/group%2Ffleet/merge_requests/7";
    match (s.method.as_str(), path.as_str()) {
        ("GET", p) if p == format!("{mr}/notes") => {
            let mut all: Vec<Value> =
                vec![json!({"id": 1, "body": "added 1 commit", "system": true,
                "author": {"username": "alice"}})];
            all.extend(f.comments.iter().map(|(id, body)| {
                json!({"id": id, "body": body, "system": false, "author": {"username": "tranche-bot"}})
            }));
            json_answer(StatusCode::OK, Value::Array(all))
        }
        ("POST", p) if p == format!("{mr}/notes") => {
            let id = 2000 + f.comments.len() as u64;
            f.comments
                .push((id, s.body["body"].as_str().unwrap().to_string()));
            json_answer(StatusCode::CREATED, json!({"id": id}))
        }
        ("PUT", p) if p.starts_with(&format!("{mr}/notes/")) => {
            let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
            for c in f.comments.iter_mut().filter(|c| c.0 == id) {
                c.1 = s.body["body"].as_str().unwrap().to_string();
            }
            json_answer(StatusCode::OK, json!({"id": id}))
        }
        ("GET", "/api/v4/users") => {
            json_answer(StatusCode::OK, json!([{"id": 42, "username": "alice"}]))
        }
        ("GET", "/api/v4/projects/group%2Ffleet/members/all/42") => {
            json_answer(StatusCode::OK, json!({"id": 42, "access_level": 30}))
        }
        ("GET", "/api/v4/projects/group%2Ffleet/members/all/43") => {
            json_answer(StatusCode::OK, json!({"id": 43, "access_level": 20}))
        }
        ("GET", "/api/v4/projects/group%2Ffleet/members/all/44") => {
            json_answer(StatusCode::NOT_FOUND, json!({"message": "404 Not found"}))
        }
        ("GET", p) if p == mr && f.pull7.is_some() => {
            json_answer(StatusCode::OK, f.pull7.clone().unwrap())
        }
        ("POST", p) if p.starts_with("/api/v4/projects/group%2Ffleet/statuses/") => {
            json_answer(StatusCode::CREATED, json!({"id": 1}))
        }
        ("GET", p) if p == mr => json_answer(
            StatusCode::OK,
            json!({"iid": 7, "state": "merged", "sha": HEAD, "merge_commit_sha": MERGE}),
        ),
        ("POST", p)
            if p == format!(
                "/api/v4/projects/group%2Ffleet/repository/commits/{MERGE}/comments"
            ) =>
        {
            json_answer(StatusCode::CREATED, json!({"note": s.body["note"]}))
        }
        ("PUT", p) if p == mr => json_answer(StatusCode::OK, json!({"iid": 7})),
        _ => json_answer(StatusCode::NOT_FOUND, json!({"message": "404 Not found"})),
    }
}

/// Starts the stand-in for `provider` (GitHub repository `acme/fleet`,
/// GitLab project `group/fleet`); its URL and state.
pub async fn serve(provider: Provider) -> (String, Shared) {
    let shared: Shared = Arc::default();
    let handler = move |State(f): State<Shared>,
                        method: Method,
                        uri: Uri,
                        headers: HeaderMap,
                        body: Bytes| async move {
        let seen = Seen {
            method,
            target: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        };
        let mut f = f.lock().unwrap();
        f.seen.push(seen.clone());
        match provider {
            Provider::Github => github(&mut f, &seen),
            _ => gitlab(&mut f, &seen),
        }
    };
    let app = Router::new().fallback(handler).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

/// The requests seen since the last call.
pub fn take(shared: &Shared) -> Vec<Seen> {
    std::mem::take(&mut shared.lock().unwrap().seen)
}
