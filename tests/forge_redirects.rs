//! Forge tokens never leave the configured origin (issue 9, item 2): a
//! forge API that redirects a status post to another host gets the post
//! refused, naming that host, and the other host receives nothing; a
//! redirect within the same origin is still followed. Two local HTTP
//! servers that record every request stand in for the forge and the
//! other host (no real forge redirects on these machines).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tranche::report::forge::{self, CommitStatus, ForgeConfig, ForgeError, Provider, StatusState};

const SHA: &str = "9fceb02d0ae598e95dc970b74767f19372d61af8";
const TOKEN: &str = "glpat-s3cr3tT0ken";

/// What a server saw: path and headers of each request.
type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

/// How a server answers request number n (0-based) for a path.
type Answer = Arc<dyn Fn(usize, &str) -> Response + Send + Sync>;

struct Server {
    url: String,
    seen: Seen,
}

async fn record(
    State((seen, answer)): State<(Seen, Answer)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let n = {
        let mut all = seen.lock().unwrap();
        all.push((uri.path().to_string(), headers));
        all.len() - 1
    };
    answer(n, uri.path())
}

async fn server(answer: impl Fn(usize, &str) -> Response + Send + Sync + 'static) -> Server {
    let seen: Seen = Arc::default();
    let answer: Answer = Arc::new(answer);
    let app = Router::new()
        .fallback(record)
        .with_state((seen.clone(), answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { url, seen }
}

impl Server {
    fn seen(&self) -> Vec<(String, HeaderMap)> {
        self.seen.lock().unwrap().clone()
    }
}

fn created() -> Response {
    (StatusCode::CREATED, "{}").into_response()
}

fn redirect(location: String) -> Response {
    (StatusCode::TEMPORARY_REDIRECT, [("location", location)]).into_response()
}

/// A forge built the way the daemon builds it: config + token file.
fn build(provider: Provider, api_url: &str) -> (Arc<dyn forge::Forge>, tempfile::NamedTempFile) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut token = tempfile::NamedTempFile::new().unwrap();
    writeln!(token, "{TOKEN}").unwrap();
    let config = ForgeConfig {
        provider,
        api_url: Some(api_url.to_string()),
        repository: "acme/fleet".to_string(),
        token_file: Some(token.path().to_path_buf()),
        token_env: None,
    };
    (forge::build(&config).unwrap(), token)
}

fn status() -> CommitStatus {
    CommitStatus::new("tranche/rollout", StatusState::Pending, "batch 1/3")
}

#[tokio::test]
async fn cross_origin_redirects_are_refused_and_the_other_host_receives_nothing() {
    for provider in [Provider::Gitlab, Provider::Github, Provider::Gitea] {
        let elsewhere = server(|_, _| created()).await;
        let target = elsewhere.url.clone();
        let forge_server = server(move |_, path| redirect(format!("{target}{path}"))).await;
        let (forge, _token) = build(provider, &forge_server.url);
        let err = forge
            .set_status(SHA, &status())
            .await
            .expect_err("a cross-origin redirect must fail");
        let message = err.to_string();
        assert!(
            matches!(err, ForgeError::Redirect { .. }),
            "{provider}: {message}"
        );
        assert!(!err.is_transient(), "not retried: {message}");
        let host = elsewhere.url.replace("http://", "");
        assert!(
            message.contains(&host),
            "{provider}: names the host: {message}"
        );
        assert!(!message.contains(TOKEN), "{message}");
        assert_eq!(forge_server.seen().len(), 1, "{provider}");
        assert!(
            elsewhere.seen().is_empty(),
            "{provider}: the other host received {:?}",
            elsewhere.seen()
        );
    }
}

#[tokio::test]
async fn redirects_within_the_origin_are_followed() {
    let forge_server = server(|n, path| match n {
        0 => redirect(format!("/moved{path}")),
        _ => created(),
    })
    .await;
    let (forge, _token) = build(Provider::Gitlab, &forge_server.url);
    forge.set_status(SHA, &status()).await.unwrap();
    let seen = forge_server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].0.starts_with("/moved/api/v4/projects/"),
        "{}",
        seen[1].0
    );
    assert_eq!(seen[1].1.get("private-token").unwrap(), TOKEN);
}
