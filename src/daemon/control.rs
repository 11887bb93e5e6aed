//! The control API: `POST /api/rollout/{approve|pause|resume|abort}` with
//! `Authorization: Bearer <token>` (the token from `control.tokenFile`,
//! compared in constant time over its SHA-256 digest, never logged). The
//! order goes to the rollout in flight through the [`Inbox`]; the answer
//! is what the rollout did (200) or why it refused (409). Without
//! `control:` in the config the endpoints answer 404.

use super::server::ServerState;
use crate::report::Secret;
use crate::rollout::inbox::Inbox;
use crate::rollout::machine::control::{Command, Order};
use crate::rollout::state::RolloutState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How long the API waits for the rollout to take an order (it takes
/// orders between steps; a gate can take longer).
const TAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the control endpoints need.
#[derive(Clone)]
pub struct Control {
    /// The bearer token.
    pub token: Arc<Secret>,
    /// Where orders go.
    pub inbox: Arc<Inbox>,
    /// To tell whether a rollout is in flight.
    pub state: RolloutState,
}

/// Optional body: who gives the order (for the record and messages).
#[derive(Debug, Default, Deserialize)]
pub struct OrderBody {
    /// A person's name; default `control API`.
    #[serde(default)]
    pub by: Option<String>,
}

/// The answer, as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderAnswer {
    /// Whether the rollout did it.
    pub done: bool,
    /// What it did, or why not.
    pub message: String,
}

/// Whether the request carries the token.
fn authorized(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let a = Sha256::digest(given.trim().as_bytes());
    let b = Sha256::digest(token.expose().as_bytes());
    a.as_slice().ct_eq(b.as_slice()).into()
}

fn answer(status: StatusCode, done: bool, message: String) -> Response {
    (status, Json(OrderAnswer { done, message })).into_response()
}

/// `POST /api/rollout/{action}`.
pub async fn order(
    State(s): State<ServerState>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Option<Json<OrderBody>>,
) -> Response {
    let Some(c) = &s.control else {
        return answer(
            StatusCode::NOT_FOUND,
            false,
            "control API not configured".into(),
        );
    };
    if !authorized(&headers, &c.token) {
        tracing::warn!(%action, "control order refused: missing or wrong bearer token");
        return answer(
            StatusCode::UNAUTHORIZED,
            false,
            "missing or wrong bearer token".into(),
        );
    }
    let Some(command) = Command::parse(&action) else {
        return answer(
            StatusCode::NOT_FOUND,
            false,
            format!("unknown action {action:?}: approve, pause, resume or abort"),
        );
    };
    let who = body
        .and_then(|Json(b)| b.by)
        .map(|b| {
            b.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "someone".into());
    let by = format!("{who} via the control API");
    match give(&c.inbox, &c.state, Order { command, by }).await {
        Ok(what) => answer(StatusCode::OK, true, what),
        Err(Refusal::Store(e)) => answer(StatusCode::INTERNAL_SERVER_ERROR, false, e),
        Err(refusal) => answer(StatusCode::CONFLICT, false, refusal.to_string()),
    }
}

/// Why an order was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No rollout is in flight.
    #[error("no rollout is in flight")]
    NoRollout,
    /// The rollout record cannot be read.
    #[error("{0}")]
    Store(String),
    /// The rollout refused the order (why), or did not take it in time.
    #[error("{0}")]
    Refused(String),
}

/// Gives `order` to the rollout in flight and waits for its answer: the
/// one way every order goes (the control API, comments and labels on the
/// forge).
pub async fn give(inbox: &Inbox, state: &RolloutState, order: Order) -> Result<String, Refusal> {
    match state.record() {
        Ok(Some(_)) => {}
        Ok(None) => return Err(Refusal::NoRollout),
        Err(e) => return Err(Refusal::Store(e.to_string())),
    }
    let reply = inbox.send(order);
    match tokio::time::timeout(TAKE_TIMEOUT, reply).await {
        Ok(Ok(Ok(what))) => Ok(what),
        Ok(Ok(Err(why))) => Err(Refusal::Refused(why)),
        Ok(Err(_)) | Err(_) => Err(Refusal::Refused(format!(
            "the rollout did not take the order within {}s (it is in the middle of a step, \
             or none runs here); nothing changed, try again",
            TAKE_TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_authorized() {
        let token = Secret::new("s3cret-token");
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(authorized(&with("Bearer s3cret-token"), &token));
        assert!(!authorized(&with("Bearer s3cret-toke"), &token));
        assert!(!authorized(&with("Bearer s3cret-token2"), &token));
        assert!(!authorized(&with("Basic s3cret-token"), &token));
        assert!(!authorized(&HeaderMap::new(), &token));
    }
}
