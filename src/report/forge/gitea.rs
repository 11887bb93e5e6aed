//! Gitea and Forgejo commit statuses
//! (`POST {server}/api/v1/repos/{owner}/{repo}/statuses/{sha}`).
//!
//! The states tranche uses (pending, success, failure, error) are spelled as
//! on GitHub; Gitea's extra `warning` is never sent.

use super::http::{check_sha, encode_segment, owner_and_name, status_body, Endpoint};
use super::{CommitStatus, Forge, ForgeError};
use crate::report::secret::Secret;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};

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

#[async_trait::async_trait]
impl Forge for Gitea {
    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        check_sha(sha)?;
        let path = format!(
            "/api/v1/repos/{}/{}/statuses/{sha}",
            encode_segment(&self.owner),
            encode_segment(&self.name)
        );
        let body = status_body(status, DESCRIPTION_LIMIT);
        let headers = vec![
            (AUTHORIZATION, self.endpoint.auth_value("token ")?),
            (ACCEPT, HeaderValue::from_static("application/json")),
        ];
        self.endpoint
            .post_json(&self.server, &path, headers, &body)
            .await
    }

    fn name(&self) -> &str {
        "gitea"
    }
}
