//! Forge webhooks for `/webhook`: who sent a delivery and whether its
//! signature holds (here), and what it says (module `event`: a push, a
//! pull request, or something ignored).
//!
//! * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
//! * Gitea / Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature`, the bare
//!   hex HMAC-SHA256 of the body. Gitea also sends `X-Hub-Signature-256`, so
//!   these headers are looked at first; when `X-Forgejo-Signature` is present
//!   it alone decides (a bad one is not rescued by another header).
//! * GitLab: `X-Gitlab-Token`, the secret itself.
//!
//! Every comparison is constant-time, and the signature is checked over the
//! exact bytes received before anything is parsed. A signature covers no
//! timestamp, so a captured delivery can be replayed; that is harmless here,
//! since a push only prompts tranche to look at the repository again.

use crate::report::forge::Provider;
use crate::report::secret::Secret;
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

mod comment;
mod event;

pub use comment::{CommentEvent, LabelEvent};
pub use event::{parse_event, parse_push, PushEvent, WebhookEvent};

/// Why a delivery was refused or could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No signature header from any known forge.
    #[error("unsigned webhook: expected X-Hub-Signature-256, X-Gitea-Signature, X-Forgejo-Signature or X-Gitlab-Token (set the webhook secret on the forge)")]
    Unsigned,
    /// A signature header was present but does not match the secret.
    #[error("{provider} webhook signature does not match (check that the forge and tranche use the same webhook secret)")]
    BadSignature {
        /// The forge the header belongs to.
        provider: Provider,
    },
    /// The body is not an event payload tranche can read.
    #[error("webhook payload cannot be read: {message}")]
    BadPayload {
        /// What is missing or malformed.
        message: String,
    },
}

/// How `/webhook` answered a delivery (the `result` of
/// `tranche_webhook_deliveries_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookVerdict {
    /// Verified and acted on (a fetch was triggered).
    Accepted,
    /// Verified, but an event tranche does not act on.
    Ignored,
    /// Unsigned or signed with another secret.
    Refused,
    /// Verified, but the payload could not be read.
    Unreadable,
}

impl WebhookVerdict {
    /// Lowercase name, as in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookVerdict::Accepted => "accepted",
            WebhookVerdict::Ignored => "ignored",
            WebhookVerdict::Refused => "refused",
            WebhookVerdict::Unreadable => "unreadable",
        }
    }
}

/// Verifies a delivery against the webhook secret; returns the forge that sent it.
pub fn verify(headers: &HeaderMap, body: &[u8], secret: &Secret) -> Result<Provider, WebhookError> {
    let header = |name: &str| headers.get(name).map(|v| v.as_bytes());
    if let Some(sig) = header("x-forgejo-signature").or_else(|| header("x-gitea-signature")) {
        return check_hmac(Provider::Gitea, sig, body, secret);
    }
    if let Some(value) = header("x-hub-signature-256") {
        let sig = value
            .strip_prefix(b"sha256=")
            .ok_or(WebhookError::BadSignature {
                provider: Provider::Github,
            })?;
        return check_hmac(Provider::Github, sig, body, secret);
    }
    if let Some(token) = header("x-gitlab-token") {
        let matches: bool = token.ct_eq(secret.expose().as_bytes()).into();
        return if matches {
            Ok(Provider::Gitlab)
        } else {
            Err(WebhookError::BadSignature {
                provider: Provider::Gitlab,
            })
        };
    }
    Err(WebhookError::Unsigned)
}

fn check_hmac(
    provider: Provider,
    hex_sig: &[u8],
    body: &[u8],
    secret: &Secret,
) -> Result<Provider, WebhookError> {
    let bad = WebhookError::BadSignature { provider };
    let tag = hex::decode(hex_sig.trim_ascii()).map_err(|_| bad.clone())?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).map_err(|_| bad.clone())?;
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| bad)?;
    Ok(provider)
}

/// The hex HMAC-SHA256 a forge computes over `body`, for tests and for
/// sending test deliveries.
pub fn sign(body: &[u8], secret: &Secret) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests;
