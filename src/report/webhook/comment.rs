//! Deliveries that may carry a command (read after the signature is
//! verified): a new comment on a pull request or a commit, and labels put
//! on a pull request.
//!
//! * GitHub: `issue_comment` (on a pull request: `issue.pull_request` is
//!   set) and `commit_comment`, action `created`; `pull_request` with
//!   action `labeled` (`label.name`, `sender`).
//! * Gitea / Forgejo: `issue_comment` (`is_pull`), action `created`;
//!   `pull_request` with action `label_updated` (every label in
//!   `pull_request.labels`).
//! * GitLab: `Note Hook` on a `MergeRequest` or `Commit`;
//!   `Merge Request Hook` whose `changes.labels` adds labels.

use super::WebhookError;
use crate::report::forge::{Person, Thread};
use crate::report::pr::label_command;
use serde_json::Value;

/// A new comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentEvent {
    /// Where it was written.
    pub thread: Thread,
    /// Who wrote it.
    pub author: Person,
    /// Its text.
    pub body: String,
}

/// Labels put on a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelEvent {
    /// The pull (merge) request.
    pub pull: u64,
    /// The labels added (Gitea: every label it has now).
    pub labels: Vec<String>,
    /// Who labelled it.
    pub by: Person,
}

fn json(body: &[u8]) -> Result<Value, WebhookError> {
    serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload {
        message: format!("not JSON: {e}"),
    })
}

fn person(v: &Value) -> Option<Person> {
    let login = v["login"].as_str().or_else(|| v["username"].as_str())?;
    Some(Person {
        login: login.to_string(),
        id: v["id"].as_u64(),
    })
}

fn missing(field: &str) -> WebhookError {
    WebhookError::BadPayload {
        message: format!("comment payload without \"{field}\""),
    }
}

/// GitHub's and Gitea's `issue_comment`; `None` for a comment on a plain
/// issue or an edit.
pub fn parse_issue_comment(body: &[u8]) -> Result<Option<CommentEvent>, WebhookError> {
    let v = json(body)?;
    let on_pull = v["is_pull"] == true || !v["issue"]["pull_request"].is_null();
    if v["action"] != "created" || !on_pull {
        return Ok(None);
    }
    let pull = v["issue"]["number"]
        .as_u64()
        .ok_or_else(|| missing("issue.number"))?;
    Ok(Some(CommentEvent {
        thread: Thread::Pull(pull),
        author: person(&v["comment"]["user"]).ok_or_else(|| missing("comment.user.login"))?,
        body: v["comment"]["body"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }))
}

/// GitHub's `commit_comment`.
pub fn parse_commit_comment(body: &[u8]) -> Result<Option<CommentEvent>, WebhookError> {
    let v = json(body)?;
    if v["action"] != "created" {
        return Ok(None);
    }
    let sha = v["comment"]["commit_id"]
        .as_str()
        .ok_or_else(|| missing("comment.commit_id"))?;
    super::event::check_commit(sha)?;
    Ok(Some(CommentEvent {
        thread: Thread::Commit(sha.to_string()),
        author: person(&v["comment"]["user"]).ok_or_else(|| missing("comment.user.login"))?,
        body: v["comment"]["body"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }))
}

/// GitLab's `Note Hook` on a merge request or a commit (new notes only).
pub fn parse_note(body: &[u8]) -> Result<Option<CommentEvent>, WebhookError> {
    let v = json(body)?;
    let attrs = &v["object_attributes"];
    if attrs["action"].as_str().is_some_and(|a| a != "create") {
        return Ok(None);
    }
    let thread = match attrs["noteable_type"].as_str() {
        Some("MergeRequest") => Thread::Pull(
            v["merge_request"]["iid"]
                .as_u64()
                .ok_or_else(|| missing("merge_request.iid"))?,
        ),
        Some("Commit") => {
            let sha = v["commit"]["id"]
                .as_str()
                .ok_or_else(|| missing("commit.id"))?;
            super::event::check_commit(sha)?;
            Thread::Commit(sha.to_string())
        }
        _ => return Ok(None),
    };
    Ok(Some(CommentEvent {
        thread,
        author: person(&v["user"]).ok_or_else(|| missing("user.username"))?,
        body: attrs["note"].as_str().unwrap_or_default().to_string(),
    }))
}

/// A `pull_request` delivery that labels (GitHub `labeled`, Gitea
/// `label_updated`) with a `tranche/…` label among them; `None` for any
/// other (it is then read as a pull request event).
pub fn parse_pull_label(body: &[u8]) -> Result<Option<LabelEvent>, WebhookError> {
    let v = json(body)?;
    let labels: Vec<String> = match v["action"].as_str() {
        Some("labeled") => v["label"]["name"]
            .as_str()
            .into_iter()
            .map(String::from)
            .collect(),
        Some("label_updated") => v["pull_request"]["labels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        _ => return Ok(None),
    };
    if !labels.iter().any(|l| label_command(l).is_some()) {
        return Ok(None);
    }
    let pull = v["number"].as_u64().ok_or_else(|| missing("number"))?;
    Ok(Some(LabelEvent {
        pull,
        labels,
        by: person(&v["sender"]).ok_or_else(|| missing("sender.login"))?,
    }))
}

/// A GitLab `Merge Request Hook` that adds a `tranche/…` label; `None`
/// otherwise.
pub fn parse_merge_request_label(body: &[u8]) -> Result<Option<LabelEvent>, WebhookError> {
    let v = json(body)?;
    let titles = |key: &str| -> Vec<String> {
        v["changes"]["labels"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l["title"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = titles("previous");
    let added: Vec<String> = titles("current")
        .into_iter()
        .filter(|l| !before.contains(l))
        .collect();
    if !added.iter().any(|l| label_command(l).is_some()) {
        return Ok(None);
    }
    let pull = v["object_attributes"]["iid"]
        .as_u64()
        .ok_or_else(|| missing("object_attributes.iid"))?;
    Ok(Some(LabelEvent {
        pull,
        labels: added,
        by: person(&v["user"]).ok_or_else(|| missing("user.username"))?,
    }))
}

#[cfg(test)]
mod tests;
