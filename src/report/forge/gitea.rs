//! Gitea and Forgejo commit statuses
//! (`POST {server}/api/v1/repos/{owner}/{repo}/statuses/{sha}`).
//!
//! The states tranche uses (pending, success, failure, error) are spelled as
//! on GitHub; Gitea's extra `warning` is never sent.
//!
//! Where Gitea differs from GitHub (checked against Gitea v1.26.1 in
//! `tests/gitea.rs`): a status for a commit the repository does not have is
//! answered `500` with an empty message (GitHub: `422`). Since a 5xx is
//! otherwise worth retrying, a 500 is followed by one look at
//! `GET …/git/commits/{sha}`: when that is `404`, the error is
//! [`ForgeError::UnknownCommit`], which is not retried.

use super::http::{check_sha, encode_segment, owner_and_name, status_body, Endpoint};
use super::{CommitStatus, Forge, ForgeError};
use crate::report::secret::Secret;

mod conversation;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION};

/// Gitea stores descriptions as text; this keeps them to one readable line
/// in its commit list.
pub const DESCRIPTION_LIMIT: usize = 255;

/// Sets commit statuses on one Gitea or Forgejo repository.
pub struct Gitea {
    endpoint: Endpoint,
    server: String,
    owner: String,
    name: String,
}

impl Gitea {
    /// A client for `repository` (`owner/name`) on the server at `server`
    /// (its root URL, without `/api/v1`).
    pub fn new(
        client: reqwest::Client,
        server: &str,
        repository: &str,
        token: Secret,
    ) -> Result<Gitea, ForgeError> {
        let (owner, name) = owner_and_name("gitea", repository)?;
        Ok(Gitea {
            endpoint: Endpoint {
                client,
                forge: "gitea",
                token,
            },
            server: server.trim_end_matches('/').to_string(),
            owner,
            name,
        })
    }
}

impl Gitea {
    /// The `Authorization` and `Accept` headers of every request.
    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, ForgeError> {
        Ok(vec![
            (AUTHORIZATION, self.endpoint.auth_value("token ")?),
            (ACCEPT, HeaderValue::from_static("application/json")),
        ])
    }

    fn repo_path(&self) -> String {
        format!(
            "/api/v1/repos/{}/{}",
            encode_segment(&self.owner),
            encode_segment(&self.name)
        )
    }

    /// Whether Gitea says it has no commit `sha` (`None`: it could not tell).
    async fn lacks_commit(&self, sha: &str) -> Option<bool> {
        let url = format!(
            "{}{}/git/commits/{sha}?stat=false&verification=false&files=false",
            self.server,
            self.repo_path()
        );
        let mut request = self.endpoint.client.get(url);
        for (name, value) in self.headers().ok()? {
            request = request.header(name, value);
        }
        let status = request.send().await.ok()?.status();
        match status.as_u16() {
            404 => Some(true),
            200 => Some(false),
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl Forge for Gitea {
    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        check_sha(sha)?;
        let path = format!("{}/statuses/{sha}", self.repo_path());
        let body = status_body(status, DESCRIPTION_LIMIT);
        let sent = self
            .endpoint
            .post_json(&self.server, &path, self.headers()?, &body)
            .await;
        match sent {
            Err(ForgeError::Http { status: 500, .. })
                if self.lacks_commit(sha).await == Some(true) =>
            {
                Err(ForgeError::UnknownCommit {
                    forge: "gitea".to_string(),
                    repository: format!("{}/{}", self.owner, self.name),
                    sha: sha.to_string(),
                })
            }
            other => other,
        }
    }

    fn name(&self) -> &str {
        "gitea"
    }
}
