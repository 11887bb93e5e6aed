//! The forge wire exchange: paths, auth headers and JSON bodies for GitHub
//! (Enterprise base URL), Gitea/Forgejo and GitLab, plus retries and token
//! redaction.
//!
//! No real forge can run here (none installs from the reachable registries,
//! and tests have no network), so each test starts a local axum server on
//! 127.0.0.1:0 that records every request and answers the way the forge's
//! documented API does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tranche::report::forge::{self, CommitStatus, ForgeConfig, ForgeError, Provider, StatusState};
use tranche::report::{RetryPolicy, StatusReporter};

const SHA: &str = "9fceb02d0ae598e95dc970b74767f19372d61af8";
const TOKEN: &str = "ghp_s3cr3tT0ken";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How the fake forge answers request number n (0-based).
type Responder = dyn Fn(usize, &Seen) -> Response + Send + Sync;

struct Recorder {
    seen: Mutex<Vec<Seen>>,
    respond: Box<Responder>,
}

async fn record(
    State(rec): State<Arc<Recorder>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method,
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
    };
    let n = {
        let mut all = rec.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    (rec.respond)(n, &seen)
}

/// A running fake forge.
struct FakeForge {
    url: String,
    rec: Arc<Recorder>,
}

impl FakeForge {
    async fn start(
        respond: impl Fn(usize, &Seen) -> Response + Send + Sync + 'static,
    ) -> FakeForge {
        let rec = Arc::new(Recorder {
            seen: Mutex::new(Vec::new()),
            respond: Box::new(respond),
        });
        let app = Router::new().fallback(record).with_state(rec.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeForge { url, rec }
    }

    fn seen(&self) -> Vec<Seen> {
        self.rec.seen.lock().unwrap().clone()
    }
}

fn created() -> Response {
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": 1, "state": "pending"})),
    )
        .into_response()
}

fn install_crypto() {
    // Another test in this binary may have installed it already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A forge built the way the daemon builds it: config + token file.
fn build(
    provider: Provider,
    api_url: &str,
    repository: &str,
) -> (Arc<dyn forge::Forge>, tempfile::NamedTempFile) {
    install_crypto();
    let mut token = tempfile::NamedTempFile::new().unwrap();
    writeln!(token, "{TOKEN}").unwrap();
    let config = ForgeConfig {
        provider,
        api_url: Some(api_url.to_string()),
        repository: repository.to_string(),
        token_file: Some(token.path().to_path_buf()),
        token_env: None,
    };
    (forge::build(&config).unwrap(), token)
}

fn rollout_status() -> CommitStatus {
    CommitStatus::new(
        "tranche/rollout",
        StatusState::Pending,
        "batch 1/3 · 1/10 clusters",
    )
    .with_target_url("https://tranche.example/api/status")
}

#[tokio::test]
async fn github_enterprise_request_shape() {
    let server = FakeForge::start(|_, _| created()).await;
    let (forge, _token) = build(
        Provider::Github,
        &format!("{}/api/v3/", server.url),
        "acme/fleet",
    );
    forge.set_status(SHA, &rollout_status()).await.unwrap();

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, format!("/api/v3/repos/acme/fleet/statuses/{SHA}"));
    assert_eq!(req.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(req.header("accept"), "application/vnd.github+json");
    assert_eq!(req.header("x-github-api-version"), "2022-11-28");
    assert_eq!(req.header("user-agent"), "tranche");
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(
        req.json(),
        json!({
            "state": "pending",
            "target_url": "https://tranche.example/api/status",
            "description": "batch 1/3 · 1/10 clusters",
            "context": "tranche/rollout",
        })
    );
}

#[tokio::test]
async fn github_description_is_cut_to_140_characters() {
    let server = FakeForge::start(|_, _| created()).await;
    let (forge, _token) = build(Provider::Github, &server.url, "acme/fleet");
    let long = format!(
        "rolled back: {}",
        "prod-b deploy/shop ProgressDeadlineExceeded; ".repeat(5)
    );
    let status = CommitStatus::new("tranche/rollout", StatusState::Failure, long);
    forge.set_status(SHA, &status).await.unwrap();

    let body = server.seen()[0].json();
    assert_eq!(
        server.seen()[0].path,
        format!("/repos/acme/fleet/statuses/{SHA}")
    );
    let description = body["description"].as_str().unwrap();
    assert_eq!(description.chars().count(), 140);
    assert!(description.starts_with("rolled back: prod-b") && description.ends_with('…'));
    assert_eq!(body["state"], "failure");
    assert_eq!(body["target_url"], Value::Null);
}

#[tokio::test]
async fn gitea_request_shape() {
    let server = FakeForge::start(|_, _| created()).await;
    let (forge, _token) = build(Provider::Gitea, &server.url, "acme/fleet");
    let status = CommitStatus::new("tranche/prod-a", StatusState::Error, "cluster unreachable");
    forge.set_status(SHA, &status).await.unwrap();

    let req = &server.seen()[0];
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, format!("/api/v1/repos/acme/fleet/statuses/{SHA}"));
    assert_eq!(req.header("authorization"), format!("token {TOKEN}"));
    assert_eq!(
        req.json(),
        json!({
            "state": "error",
            "target_url": null,
            "description": "cluster unreachable",
            "context": "tranche/prod-a",
        })
    );
}

#[tokio::test]
async fn gitlab_request_shape() {
    let server = FakeForge::start(|_, _| created()).await;
    let (forge, _token) = build(Provider::Gitlab, &server.url, "group/sub/fleet");
    forge.set_status(SHA, &rollout_status()).await.unwrap();
    let failed = CommitStatus::new("tranche/rollout", StatusState::Failure, "rolled back");
    forge.set_status(SHA, &failed).await.unwrap();

    let seen = server.seen();
    let req = &seen[0];
    assert_eq!(req.method, Method::POST);
    assert_eq!(
        req.path,
        format!("/api/v4/projects/group%2Fsub%2Ffleet/statuses/{SHA}")
    );
    assert_eq!(req.header("private-token"), TOKEN);
    assert!(req.headers.get("authorization").is_none());
    assert_eq!(
        req.json(),
        json!({
            "state": "running",
            "name": "tranche/rollout",
            "description": "batch 1/3 · 1/10 clusters",
            "target_url": "https://tranche.example/api/status",
        })
    );
    assert_eq!(seen[1].json()["state"], "failed");
}

#[tokio::test]
async fn gitlab_same_state_refusal_counts_as_delivered() {
    let server = FakeForge::start(|_, _| {
        let body = json!({"message": "Cannot transition status via :run from :running (Reason(s): Status cannot transition via \"run\")"});
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    })
    .await;
    let (forge, _token) = build(Provider::Gitlab, &server.url, "42");
    forge.set_status(SHA, &rollout_status()).await.unwrap();
    assert_eq!(
        server.seen()[0].path,
        format!("/api/v4/projects/42/statuses/{SHA}")
    );
}

#[tokio::test]
async fn errors_never_show_the_token() {
    // A forge that echoes the credential back, as some proxies do in errors.
    let server = FakeForge::start(|_, seen| {
        let echoed = seen.header("authorization").to_string();
        let body = json!({"message": "Bad credentials", "you_sent": echoed});
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    })
    .await;
    let (forge, _token) = build(Provider::Github, &server.url, "acme/fleet");
    let err = forge.set_status(SHA, &rollout_status()).await.unwrap_err();

    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(shown.contains("Bearer ***"), "{shown}");
    assert!(
        shown.contains("HTTP 401") && shown.contains("Bad credentials"),
        "{shown}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn unreachable_forge_is_a_transient_network_error() {
    install_crypto();
    // Bind and drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (forge, _token) = build(
        Provider::Gitea,
        &format!("http://127.0.0.1:{port}"),
        "acme/fleet",
    );
    let err = forge.set_status(SHA, &rollout_status()).await.unwrap_err();
    assert!(matches!(err, ForgeError::Network { .. }), "{err}");
    assert!(err.is_transient());
    assert!(!err.to_string().contains(TOKEN));
}

fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_elapsed: Duration::from_secs(10),
        max_retry_after: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn reporter_retries_server_errors_until_delivered() {
    let server = FakeForge::start(|n, _| {
        if n < 2 {
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream broke").into_response()
        } else {
            created()
        }
    })
    .await;
    let (forge, _token) = build(Provider::Github, &server.url, "acme/fleet");
    let reporter = StatusReporter::spawn(forge, quick_policy());
    reporter.post(SHA, rollout_status());
    assert!(reporter.flush(Duration::from_secs(10)).await);

    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.json() == seen[0].json()));
    let counts = reporter.counts();
    assert_eq!((counts.delivered, counts.failed), (1, 0));
}

#[tokio::test]
async fn reporter_honours_retry_after_on_429() {
    let server = FakeForge::start(|n, _| {
        if n == 0 {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "slow down",
            )
                .into_response()
        } else {
            created()
        }
    })
    .await;
    let (forge, _token) = build(Provider::Gitea, &server.url, "acme/fleet");
    let reporter = StatusReporter::spawn(forge, quick_policy());
    let started = Instant::now();
    reporter.post(SHA, rollout_status());
    assert!(reporter.flush(Duration::from_secs(10)).await);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored"
    );
    assert_eq!(server.seen().len(), 2);
    assert_eq!(reporter.counts().delivered, 1);
}

#[tokio::test]
async fn reporter_gives_up_on_a_dead_forge_without_blocking() {
    let server =
        FakeForge::start(|_, _| (StatusCode::SERVICE_UNAVAILABLE, "down").into_response()).await;
    let (forge, _token) = build(Provider::Gitlab, &server.url, "acme/fleet");
    // Backoff long enough that waiting for the retries would take >= 500 ms.
    let policy = RetryPolicy {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(200),
        ..quick_policy()
    };
    let reporter = StatusReporter::spawn(forge, policy);

    let started = Instant::now();
    reporter.post(SHA, rollout_status());
    reporter.post(
        SHA,
        CommitStatus::new("tranche/prod-a", StatusState::Success, "applied"),
    );
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "post blocked"
    );

    assert!(
        reporter.flush(Duration::from_secs(10)).await,
        "retries not bounded"
    );
    assert_eq!(server.seen().len(), 8, "4 tries for each of 2 statuses");
    let counts = reporter.counts();
    assert_eq!((counts.delivered, counts.failed), (0, 2));
}
