//! GitHub and GitHub Enterprise Server commit statuses
//! (`POST {api}/repos/{owner}/{repo}/statuses/{sha}`, REST API 2022-11-28).

use super::http::{check_sha, encode_segment, owner_and_name, status_body, Endpoint};
use super::{CommitStatus, Forge, ForgeError};
use crate::report::secret::Secret;

mod conversation;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION};

/// github.com's API; GitHub Enterprise uses `https://HOST/api/v3`.
pub(super) const DEFAULT_API: &str = "https://api.github.com";

/// GitHub answers 422 to descriptions longer than this.
pub const DESCRIPTION_LIMIT: usize = 140;

/// Sets commit statuses on one GitHub repository.
pub struct GitHub {
    endpoint: Endpoint,
    api: String,
    owner: String,
    name: String,
}

impl GitHub {
    /// A client for `repository` (`owner/name`) at API base `api` (no trailing slash).
    pub fn new(
        client: reqwest::Client,
        api: &str,
        repository: &str,
        token: Secret,
    ) -> Result<GitHub, ForgeError> {
        let (owner, name) = owner_and_name("github", repository)?;
        Ok(GitHub {
            endpoint: Endpoint {
                client,
                forge: "github",
                token,
            },
            api: api.trim_end_matches('/').to_string(),
            owner,
            name,
        })
    }
}

impl GitHub {
    /// The headers of every request: the token, JSON, the API version.
    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, ForgeError> {
        Ok(vec![
            (AUTHORIZATION, self.endpoint.auth_value("Bearer ")?),
            (
                ACCEPT,
                HeaderValue::from_static("application/vnd.github+json"),
            ),
            (
                HeaderName::from_static("x-github-api-version"),
                HeaderValue::from_static("2022-11-28"),
            ),
        ])
    }

    /// `/repos/{owner}/{repo}`.
    fn repo_path(&self) -> String {
        format!(
            "/repos/{}/{}",
            encode_segment(&self.owner),
            encode_segment(&self.name)
        )
    }
}

#[async_trait::async_trait]
impl Forge for GitHub {
    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        check_sha(sha)?;
        let path = format!(
            "/repos/{}/{}/statuses/{sha}",
            encode_segment(&self.owner),
            encode_segment(&self.name)
        );
        let body = status_body(status, DESCRIPTION_LIMIT);
        let headers = self.headers()?;
        self.endpoint
            .post_json(&self.api, &path, headers, &body)
            .await
    }

    fn name(&self) -> &str {
        "github"
    }
}
