//! What a verified delivery says: the event its forge names in a header
//! (`X-Gitea-Event`, `X-Forgejo-Event`, `X-GitHub-Event`, `X-Gitlab-Event`)
//! and the payload fields tranche reads for it.
//!
//! * Push: the ref and the commit it moved to.
//! * Pull request (GitHub, Gitea/Forgejo) or merge request (GitLab): the
//!   head ref the forge keeps for it (`refs/pull/N/head`,
//!   `refs/merge-requests/N/head`), so a preview does not wait for the poll.
//! * A comment or a label (module `comment`): a possible command.
//! * Anything else (GitHub's `ping`, comments on plain issues, …) is
//!   acknowledged and ignored.
//!
//! A delivery without an event header is read as a push, as before.

use super::{comment, WebhookError};
use axum::http::HeaderMap;
use serde::Deserialize;

/// A ref moving to a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Full ref name, e.g. `refs/heads/main`.
    pub git_ref: String,
    /// The commit the ref now points to (all zeros when it was deleted).
    pub after: String,
}

impl PushEvent {
    /// Whether the push deleted the ref.
    pub fn is_deletion(&self) -> bool {
        !self.after.is_empty() && self.after.bytes().all(|b| b == b'0')
    }
}

/// What a delivery asks tranche to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    /// A ref moved: fetch and look at the tracked branch.
    Push(PushEvent),
    /// A pull (merge) request was opened or updated.
    PullRequest {
        /// The forge's head ref for it, e.g. `refs/pull/3/head`.
        git_ref: String,
        /// Its head commit.
        head: String,
    },
    /// A new comment on a pull request or a commit (it may hold a command).
    Comment(super::comment::CommentEvent),
    /// Labels put on a pull request (they may name commands).
    Labeled(super::comment::LabelEvent),
    /// An event tranche does not act on, by the name its forge gave.
    Ignored {
        /// The event header's value.
        event: String,
    },
}

impl WebhookEvent {
    /// The ref the event is about, when it is about one.
    pub fn git_ref(&self) -> Option<&str> {
        match self {
            WebhookEvent::Push(p) => Some(&p.git_ref),
            WebhookEvent::PullRequest { git_ref, .. } => Some(git_ref),
            WebhookEvent::Comment(_) | WebhookEvent::Labeled(_) | WebhookEvent::Ignored { .. } => {
                None
            }
        }
    }
}

/// Reads a delivery whose signature was already verified.
pub fn parse_event(headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event = [
        "x-forgejo-event",
        "x-gitea-event",
        "x-github-event",
        "x-gitlab-event",
    ]
    .iter()
    .find_map(|name| headers.get(*name))
    .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string());
    let Some(event) = event else {
        return parse_push(body).map(WebhookEvent::Push);
    };
    match event.as_str() {
        "push" | "Push Hook" => parse_push(body).map(WebhookEvent::Push),
        "pull_request" => match comment::parse_pull_label(body)? {
            Some(l) => Ok(WebhookEvent::Labeled(l)),
            None => parse_pull_request(body),
        },
        "Merge Request Hook" => match comment::parse_merge_request_label(body)? {
            Some(l) => Ok(WebhookEvent::Labeled(l)),
            None => parse_merge_request(body),
        },
        "issue_comment" => comment_or_ignored(comment::parse_issue_comment(body)?, event),
        "commit_comment" => comment_or_ignored(comment::parse_commit_comment(body)?, event),
        "Note Hook" => comment_or_ignored(comment::parse_note(body)?, event),
        _ => Ok(WebhookEvent::Ignored { event }),
    }
}

fn comment_or_ignored(
    c: Option<comment::CommentEvent>,
    event: String,
) -> Result<WebhookEvent, WebhookError> {
    Ok(c.map(WebhookEvent::Comment)
        .unwrap_or(WebhookEvent::Ignored { event }))
}

#[derive(Deserialize)]
struct RawPush {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    after: Option<String>,
    /// GitLab: the head commit; null when the branch was deleted.
    checkout_sha: Option<String>,
}

/// Reads the ref and new commit from a GitHub, Gitea/Forgejo or GitLab push payload.
pub fn parse_push(body: &[u8]) -> Result<PushEvent, WebhookError> {
    let raw: RawPush = serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload {
        message: format!("not JSON of the expected shape: {e}"),
    })?;
    let git_ref =
        raw.git_ref
            .filter(|r| !r.is_empty())
            .ok_or_else(|| WebhookError::BadPayload {
                message: "no \"ref\" field (is the webhook sending push events?)".to_string(),
            })?;
    let after = raw
        .checkout_sha
        .or(raw.after)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebhookError::BadPayload {
            message: "no \"after\" or \"checkout_sha\" field".to_string(),
        })?;
    check_commit(&after)?;
    Ok(PushEvent { git_ref, after })
}

#[derive(Deserialize)]
struct RawPullRequest {
    number: Option<u64>,
    pull_request: Option<RawPullBody>,
}

#[derive(Deserialize)]
struct RawPullBody {
    head: Option<RawHead>,
}

#[derive(Deserialize)]
struct RawHead {
    sha: Option<String>,
}

/// GitHub and Gitea/Forgejo: `number` and `pull_request.head.sha`.
fn parse_pull_request(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let raw: RawPullRequest = serde_json::from_slice(body).map_err(|e| bad(e, "pull request"))?;
    let number = raw
        .number
        .ok_or_else(|| missing("pull request", "number"))?;
    let head = raw
        .pull_request
        .and_then(|p| p.head)
        .and_then(|h| h.sha)
        .ok_or_else(|| missing("pull request", "pull_request.head.sha"))?;
    check_commit(&head)?;
    Ok(WebhookEvent::PullRequest {
        git_ref: format!("refs/pull/{number}/head"),
        head,
    })
}

#[derive(Deserialize)]
struct RawMergeRequest {
    object_attributes: Option<RawMergeAttributes>,
}

#[derive(Deserialize)]
struct RawMergeAttributes {
    iid: Option<u64>,
    last_commit: Option<RawLastCommit>,
}

#[derive(Deserialize)]
struct RawLastCommit {
    id: Option<String>,
}

/// GitLab: `object_attributes.iid` and `object_attributes.last_commit.id`.
fn parse_merge_request(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let raw: RawMergeRequest = serde_json::from_slice(body).map_err(|e| bad(e, "merge request"))?;
    let attrs = raw
        .object_attributes
        .ok_or_else(|| missing("merge request", "object_attributes"))?;
    let iid = attrs
        .iid
        .ok_or_else(|| missing("merge request", "object_attributes.iid"))?;
    let head = attrs
        .last_commit
        .and_then(|c| c.id)
        .ok_or_else(|| missing("merge request", "object_attributes.last_commit.id"))?;
    check_commit(&head)?;
    Ok(WebhookEvent::PullRequest {
        git_ref: format!("refs/merge-requests/{iid}/head"),
        head,
    })
}

fn bad(e: serde_json::Error, what: &str) -> WebhookError {
    WebhookError::BadPayload {
        message: format!("not a {what} payload of the expected shape: {e}"),
    }
}

fn missing(what: &str, field: &str) -> WebhookError {
    WebhookError::BadPayload {
        message: format!("{what} payload without \"{field}\""),
    }
}

pub(super) fn check_commit(sha: &str) -> Result<(), WebhookError> {
    if !sha.is_empty() && sha.len() <= 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(WebhookError::BadPayload {
            message: format!(
                "{:?} is not a commit id",
                sha.chars().take(80).collect::<String>()
            ),
        })
    }
}
