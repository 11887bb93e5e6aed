//! The pull-request conversation on the wire for GitHub and GitLab (no
//! real GitHub or GitLab can run here): a local axum server speaking
//! their documented APIs keeps comments as the forge would and records
//! every request; tranche's comment is created once, then edited in place,
//! permissions and pull requests are read, replies and labels go where
//! each API wants them. Gitea is tested for real in tests/pull_requests.rs.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tranche::report::forge::{
    build_conversation, Conversation, ForgeConfig, Person, Provider, PullInfo, Thread,
};
use tranche::report::pr::thread::{upsert, Upserted};
use tranche::report::pr::{Access, MARKER};

const TOKEN: &str = "forge-t0ken-never-shown";
const HEAD: &str = "89abcdef0123456789abcdef0123456789abcdef";
const MERGE: &str = "0123456789abcdef0123456789abcdef01234567";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    /// Path and query, as sent.
    target: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Default)]
struct Forge {
    seen: Vec<Seen>,
    /// (id, body) of the comments of pull request 7.
    comments: Vec<(u64, String)>,
}

type Shared = Arc<Mutex<Forge>>;

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

async fn serve(provider: Provider) -> (String, Shared) {
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

fn conversation(
    provider: Provider,
    url: &str,
    repository: &str,
) -> (Arc<dyn Conversation>, tempfile::NamedTempFile) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut token = tempfile::NamedTempFile::new().unwrap();
    writeln!(token, "{TOKEN}").unwrap();
    let config = ForgeConfig {
        provider,
        api_url: Some(url.to_string()),
        repository: repository.to_string(),
        token_file: Some(token.path().to_path_buf()),
        token_env: None,
    };
    (build_conversation(&config).unwrap(), token)
}

fn requests(shared: &Shared) -> Vec<(String, String)> {
    shared
        .lock()
        .unwrap()
        .seen
        .iter()
        .map(|s| (s.method.to_string(), s.target.clone()))
        .collect()
}

fn take(shared: &Shared) -> Vec<Seen> {
    std::mem::take(&mut shared.lock().unwrap().seen)
}

fn person(login: &str, id: Option<u64>) -> Person {
    Person {
        login: login.into(),
        id,
    }
}

#[tokio::test]
async fn github_comment_is_created_once_then_edited_and_commands_are_checked() {
    let (url, shared) = serve(Provider::Github).await;
    let (c, _token) = conversation(Provider::Github, &url, "acme/fleet");
    let plan1 = format!("{MARKER}\n### tranche: plan for `89abcde`\n");
    let plan2 = format!("{MARKER}\n### tranche: plan for `0123456`\n");

    assert_eq!(upsert(&*c, 7, &plan1).await.unwrap(), Upserted::Created);
    let seen = take(&shared);
    assert_eq!(
        seen.iter()
            .map(|s| (s.method.as_str(), s.target.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("GET", "/repos/acme/fleet/issues/7/comments?per_page=100"),
            ("POST", "/repos/acme/fleet/issues/7/comments"),
        ]
    );
    for s in &seen {
        assert_eq!(s.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(s.headers["accept"], "application/vnd.github+json");
        assert_eq!(s.headers["x-github-api-version"], "2022-11-28");
    }
    assert_eq!(seen[1].body, json!({ "body": plan1 }));

    // A new head: the same comment is edited, never a second one.
    assert_eq!(upsert(&*c, 7, &plan2).await.unwrap(), Upserted::Edited);
    let seen = take(&shared);
    assert_eq!(seen[1].method, Method::PATCH);
    assert_eq!(seen[1].target, "/repos/acme/fleet/issues/comments/1000");
    assert_eq!(seen[1].body, json!({ "body": plan2 }));
    assert_eq!(upsert(&*c, 7, &plan2).await.unwrap(), Upserted::Unchanged);
    assert_eq!(take(&shared).len(), 1, "only the look");
    assert_eq!(shared.lock().unwrap().comments.len(), 1);

    // Permissions: write may, read and strangers (404) may not.
    assert_eq!(
        c.access(&person("alice", None)).await.unwrap(),
        Access::Write
    );
    assert_eq!(c.access(&person("rita", None)).await.unwrap(), Access::Read);
    assert_eq!(
        c.access(&person("mallory", None)).await.unwrap(),
        Access::None
    );
    // Pull requests: the merge commit once merged, only the head before.
    assert_eq!(
        c.pull(7).await.unwrap(),
        PullInfo {
            head: HEAD.into(),
            merge_commit: Some(MERGE.into())
        }
    );
    assert_eq!(c.pull(8).await.unwrap().merge_commit, None);
    take(&shared);

    // Replies on a commit, and a label taken off.
    c.post(&Thread::Commit(MERGE.into()), "@alice: done")
        .await
        .unwrap();
    c.remove_label(7, "tranche/pause").await.unwrap();
    let seen = take(&shared);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        (
            "POST",
            format!("/repos/acme/fleet/commits/{MERGE}/comments").as_str()
        )
    );
    assert_eq!(seen[0].body, json!({"body": "@alice: done"}));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].target.as_str()),
        (
            "DELETE",
            "/repos/acme/fleet/issues/7/labels/tranche%2Fpause"
        )
    );

    // The token never shows in an error.
    let err = c.access(&person("bad/name", None)).await;
    if let Err(e) = err {
        assert!(!e.to_string().contains(TOKEN));
    }
}

#[tokio::test]
async fn gitlab_notes_are_created_once_then_edited_and_member_levels_are_checked() {
    let (url, shared) = serve(Provider::Gitlab).await;
    let (c, _token) = conversation(Provider::Gitlab, &url, "group/fleet");
    let plan1 = format!("{MARKER}\nplan one\n");
    let plan2 = format!("{MARKER}\nplan two\n");
    assert_eq!(upsert(&*c, 7, &plan1).await.unwrap(), Upserted::Created);
    assert_eq!(upsert(&*c, 7, &plan2).await.unwrap(), Upserted::Edited);
    let seen = take(&shared);
    assert_eq!(
        seen.iter()
            .map(|s| (s.method.as_str(), s.target.split('?').next().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            (
                "GET",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes"
            ),
            (
                "POST",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes"
            ),
            (
                "GET",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes"
            ),
            (
                "PUT",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes/2000"
            ),
        ]
    );
    assert!(
        seen[0].target.contains("per_page=100"),
        "{}",
        seen[0].target
    );
    for s in &seen {
        assert_eq!(s.headers["private-token"], TOKEN);
    }
    assert_eq!(seen[1].body, json!({ "body": plan1 }));
    assert_eq!(seen[3].body, json!({ "body": plan2 }));
    assert_eq!(shared.lock().unwrap().comments.len(), 1);

    // A login alone is looked up; the webhook's id is used as is.
    assert_eq!(
        c.access(&person("alice", None)).await.unwrap(),
        Access::Write
    );
    let seen = take(&shared);
    assert_eq!(seen[0].target, "/api/v4/users?username=alice");
    assert_eq!(
        seen[1].target,
        "/api/v4/projects/group%2Ffleet/members/all/42"
    );
    assert_eq!(
        c.access(&person("rita", Some(43))).await.unwrap(),
        Access::Read
    );
    assert_eq!(
        c.access(&person("mallory", Some(44))).await.unwrap(),
        Access::None
    );
    assert_eq!(take(&shared).len(), 2, "no user lookup with an id");
    assert_eq!(
        c.pull(7).await.unwrap(),
        PullInfo {
            head: HEAD.into(),
            merge_commit: Some(MERGE.into())
        }
    );
    c.post(&Thread::Commit(MERGE.into()), "@alice: done")
        .await
        .unwrap();
    c.remove_label(7, "tranche/pause").await.unwrap();
    let seen: Vec<Seen> = take(&shared).into_iter().skip(1).collect();
    assert_eq!(
        seen[0].target,
        format!("/api/v4/projects/group%2Ffleet/repository/commits/{MERGE}/comments")
    );
    assert_eq!(seen[0].body, json!({"note": "@alice: done"}));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].body.clone()),
        ("PUT", json!({"remove_labels": "tranche/pause"}))
    );
    assert!(requests(&shared).is_empty());
}
