//! The HTTP endpoints: the web view ([`super::web`]), badges, status,
//! metrics, health, and the forge webhook (signature verified before
//! anything is read from the body; pushes and pull requests trigger a
//! fetch, comments and labels may be commands, other events are ignored).

use super::commits::CommitBook;
use super::status::{BadgeState, LiveStatus};
use super::trigger::Trigger;
use super::web::{self, ChangeBook};
use crate::report::{
    parse_event, render_badge, verify_webhook, BadgeColor, Metrics, Secret, WebhookEvent,
    WebhookVerdict,
};
use crate::revision::short;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    /// Status view.
    pub live: LiveStatus,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Webhook secret (None: `/webhook` answers 404).
    pub webhook_secret: Option<Arc<Secret>>,
    /// Where webhook pushes go.
    pub triggers: mpsc::UnboundedSender<Trigger>,
    /// Set once the daemon has loaded its state and opened the repository.
    pub ready: Arc<AtomicBool>,
    /// Commit details for the web view.
    pub commits: Arc<CommitBook>,
    /// Per-object changes for the web view.
    pub changes: Arc<ChangeBook>,
    /// The control API (None: its endpoints answer 404).
    pub control: Option<super::control::Control>,
    /// Comment and label commands (None: such deliveries are ignored).
    pub pulls: Option<Arc<super::pull_requests::PullRequests>>,
}

/// The router.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/ui/app.js", get(web::script))
        .route("/ui/app.css", get(web::style))
        .route("/api/events", get(web::events))
        .route("/api/changes", get(web::changes))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(api_status))
        .route("/badge.svg", get(badge_all))
        .route("/badge/{file}", get(badge_app))
        .route("/webhook", post(webhook))
        .route("/api/rollout/{action}", post(super::control::order))
        .with_state(state)
}

async fn readyz(State(s): State<ServerState>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response()
    }
}

async fn metrics(State(s): State<ServerState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn api_status(State(s): State<ServerState>) -> Response {
    Json(web::full_view(&s).await).into_response()
}

fn svg(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache, max-age=0"),
        ],
        body,
    )
        .into_response()
}

fn badge_for(label: &str, state: BadgeState, commit: Option<&str>) -> String {
    let sha = commit.map(short).unwrap_or("");
    let (message, color) = match state {
        BadgeState::Deployed => (format!("{sha} deployed"), BadgeColor::Success),
        BadgeState::Failed => (format!("{sha} failed"), BadgeColor::Failure),
        BadgeState::InProgress => (format!("{sha} rolling out"), BadgeColor::Pending),
        BadgeState::Unknown => ("unknown".to_string(), BadgeColor::Unknown),
    };
    render_badge(label, message.trim(), color)
}

async fn badge_all(State(s): State<ServerState>) -> Response {
    let v = s.live.snapshot();
    let body = match (&v.current, &v.last) {
        (Some(c), _) => badge_for("tranche", BadgeState::InProgress, Some(&c.commit)),
        (None, Some(o)) => badge_for("tranche", o.state, Some(&o.commit)),
        (None, None) => badge_for("tranche", BadgeState::Unknown, None),
    };
    svg(body)
}

async fn badge_app(State(s): State<ServerState>, Path(file): Path<String>) -> Response {
    let Some(app) = file.strip_suffix(".svg") else {
        return (StatusCode::NOT_FOUND, "badges are /badge/<app>.svg").into_response();
    };
    let v = s.live.snapshot();
    let body = match v.apps.get(app) {
        Some(o) => badge_for(app, o.state, Some(&o.commit)),
        None => badge_for(app, BadgeState::Unknown, None),
    };
    svg(body)
}

async fn webhook(State(s): State<ServerState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &s.webhook_secret else {
        return (StatusCode::NOT_FOUND, "webhook not configured").into_response();
    };
    if let Err(e) = verify_webhook(&headers, &body, secret) {
        tracing::warn!(error = %e, "webhook refused");
        s.metrics.record_webhook(WebhookVerdict::Refused);
        return (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
    }
    let event = match parse_event(&headers, &body) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "webhook payload unreadable");
            s.metrics.record_webhook(WebhookVerdict::Unreadable);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    match &event {
        WebhookEvent::Push(push) => {
            tracing::info!(git_ref = %push.git_ref, after = %short(&push.after), "webhook push");
        }
        WebhookEvent::PullRequest { git_ref, head } => {
            tracing::info!(git_ref = %git_ref, head = %short(head), "webhook pull request");
        }
        WebhookEvent::Comment(_) | WebhookEvent::Labeled(_) => {
            return command(&s, event);
        }
        WebhookEvent::Ignored { event } => {
            tracing::debug!(event = %event, "webhook event ignored");
            s.metrics.record_webhook(WebhookVerdict::Ignored);
            return (
                StatusCode::OK,
                format!("ignored: {event} events are not used"),
            )
                .into_response();
        }
    }
    s.metrics.record_webhook(WebhookVerdict::Accepted);
    let git_ref = event.git_ref().unwrap_or_default().to_string();
    let _ = s.triggers.send(Trigger::Webhook { git_ref });
    (StatusCode::ACCEPTED, "accepted").into_response()
}

/// A comment or labels: acted on in the background (the forge does not
/// wait for permission checks and the rollout's answer).
fn command(s: &ServerState, event: WebhookEvent) -> Response {
    let Some(pulls) = s.pulls.clone().filter(|p| p.commands()) else {
        s.metrics.record_webhook(WebhookVerdict::Ignored);
        return (
            StatusCode::OK,
            "ignored: pullRequests.commands is not enabled",
        )
            .into_response();
    };
    s.metrics.record_webhook(WebhookVerdict::Accepted);
    tokio::spawn(async move {
        match event {
            WebhookEvent::Comment(c) => pulls.on_comment(c).await,
            WebhookEvent::Labeled(l) => pulls.on_labels(l).await,
            _ => {}
        }
    });
    (StatusCode::ACCEPTED, "accepted").into_response()
}
