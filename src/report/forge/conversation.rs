//! Talking on a forge, beside commit statuses: the comments of a pull
//! (merge) request, a person's access to the repository, a pull request's
//! commits, its labels. The [`Conversation`] seam, implemented once per
//! provider (modules `github/conversation`, `gitea/conversation`,
//! `gitlab/conversation`).
//!
//! | | GitHub | Gitea/Forgejo | GitLab |
//! |---|---|---|---|
//! | comments | `/repos/{o}/{r}/issues/{n}/comments` | `/api/v1/repos/{o}/{r}/issues/{n}/comments` | `/api/v4/projects/{p}/merge_requests/{n}/notes` |
//! | edit | `PATCH …/issues/comments/{id}` | `PATCH …/issues/comments/{id}` | `PUT …/notes/{id}` |
//! | access | `/collaborators/{u}/permission` | `/collaborators/{u}/permission` | `/members/all/{user id}` |
//! | commit reply | `POST …/commits/{sha}/comments` | — (Gitea has no commit comments) | `POST …/repository/commits/{sha}/comments` |

use super::ForgeError;
use crate::report::pr::Access;

/// A person as the forge names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Login (username).
    pub login: String,
    /// Numeric id, when the webhook gave it (GitLab's member API needs it).
    pub id: Option<u64>,
}

/// One comment of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The forge's id (to edit it).
    pub id: u64,
    /// Its markdown.
    pub body: String,
    /// Who wrote it.
    pub author: String,
}

/// What tranche needs to know about a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullInfo {
    /// Its head commit.
    pub head: String,
    /// The commit merging it made (merge, squash or rebase), once merged.
    pub merge_commit: Option<String>,
}

impl PullInfo {
    /// The commits a rollout of this pull request can be for: the merge
    /// commit, or the head itself (a fast-forward).
    pub fn commits(&self) -> Vec<&str> {
        let mut c = vec![self.head.as_str()];
        c.extend(self.merge_commit.as_deref().filter(|m| !m.is_empty()));
        c
    }
}

/// Where a reply goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thread {
    /// A pull (merge) request, by number (GitLab: iid).
    Pull(u64),
    /// A commit.
    Commit(String),
}

/// Comments, access and pull requests on one repository.
#[async_trait::async_trait]
pub trait Conversation: Send + Sync {
    /// The comments of pull request `pull`, oldest first (the first 100).
    async fn comments(&self, pull: u64) -> Result<Vec<Comment>, ForgeError>;
    /// Posts a comment.
    async fn post(&self, thread: &Thread, body: &str) -> Result<(), ForgeError>;
    /// Replaces the body of comment `id` of pull request `pull`.
    async fn edit(&self, pull: u64, id: u64, body: &str) -> Result<(), ForgeError>;
    /// The person's access to the repository.
    async fn access(&self, person: &Person) -> Result<Access, ForgeError>;
    /// Pull request `pull`'s head and merge commit.
    async fn pull(&self, pull: u64) -> Result<PullInfo, ForgeError>;
    /// Takes label `label` off pull request `pull`.
    async fn remove_label(&self, pull: u64, label: &str) -> Result<(), ForgeError>;
}

/// Reads a JSON number or numeric string.
pub(super) fn id_of(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

/// The comments of a JSON array, each with `id`, `body` (GitLab: `body`
/// too) and the author under `author_key` (`user` or `author`).
pub(super) fn comments_of(v: &serde_json::Value, author_key: &str) -> Vec<Comment> {
    v.as_array()
        .map(|all| {
            all.iter()
                .filter_map(|c| {
                    Some(Comment {
                        id: id_of(&c["id"])?,
                        body: c["body"].as_str().unwrap_or_default().to_string(),
                        author: c[author_key]["login"]
                            .as_str()
                            .or_else(|| c[author_key]["username"].as_str())
                            .unwrap_or_default()
                            .to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The sha at `v[key]`, if it is one.
pub(super) fn sha_at(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)?
        .as_str()
        .filter(|s| super::http::check_sha(s).is_ok())
        .map(str::to_string)
}

/// A forge answer without a field tranche needs.
pub(super) fn missing(forge: &str, path: &str, field: &str) -> ForgeError {
    ForgeError::Http {
        forge: forge.to_string(),
        status: 200,
        path: path.to_string(),
        message: format!("the answer has no {field}"),
        retry_after: None,
    }
}

/// Whether an error is the forge saying "not found".
pub(super) fn is_not_found(e: &ForgeError) -> bool {
    matches!(e, ForgeError::Http { status: 404, .. })
}
