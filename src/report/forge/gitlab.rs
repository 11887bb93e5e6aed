//! GitLab commit statuses
//! (`POST {server}/api/v4/projects/{id or encoded path}/statuses/{sha}`).
//!
//! State mapping: Pending → `running` (tranche's pending means the rollout is
//! under way, which is GitLab's `running`; GitLab's own `pending` means
//! queued, and older GitLab refused pending → success without running),
//! Success → `success`, Failure and Error → `failed` (GitLab has no separate
//! error state). The context is sent as `name`.
//!
//! GitLab refuses to move a status to the state it already has ("Cannot
//! transition status via :run from :running", HTTP 400), so a progress update
//! that only changes the description cannot land there; that answer is taken
//! as success, since the forge already shows the state we meant.

use super::http::{check_sha, encode_segment, Endpoint};
use super::{truncate_description, CommitStatus, Forge, ForgeError, StatusState};
use crate::report::secret::Secret;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT};
use serde_json::json;

mod conversation;

/// gitlab.com; self-managed instances give their root URL.
pub(super) const DEFAULT_API: &str = "https://gitlab.com";

/// GitLab keeps at most this many characters of a status description.
pub const DESCRIPTION_LIMIT: usize = 255;

/// Sets commit statuses on one GitLab project.
pub struct GitLab {
    endpoint: Endpoint,
    server: String,
    project: String,
}

impl GitLab {
    /// A client for `project` (`group/sub/project` or a numeric id) on the
    /// server at `server` (its root URL, without `/api/v4`).
    pub fn new(
        client: reqwest::Client,
        server: &str,
        project: &str,
        token: Secret,
    ) -> Result<GitLab, ForgeError> {
        let project = project.trim_matches('/');
        if project.is_empty() {
            return Err(ForgeError::Config {
                message: "gitlab: repository must be the project path (group/project) or id"
                    .to_string(),
            });
        }
        Ok(GitLab {
            endpoint: Endpoint {
                client,
                forge: "gitlab",
                token,
            },
            server: server.trim_end_matches('/').to_string(),
            project: project.to_string(),
        })
    }
}

impl GitLab {
    /// The headers of every request: the token (`PRIVATE-TOKEN`), JSON.
    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, ForgeError> {
        Ok(vec![
            (
                HeaderName::from_static("private-token"),
                self.endpoint.auth_value("")?,
            ),
            (ACCEPT, HeaderValue::from_static("application/json")),
        ])
    }

    /// `/api/v4/projects/{id or encoded path}`.
    fn project_path(&self) -> String {
        format!("/api/v4/projects/{}", encode_segment(&self.project))
    }
}

/// GitLab's spelling of a state.
pub fn gitlab_state(state: StatusState) -> &'static str {
    match state {
        StatusState::Pending => "running",
        StatusState::Success => "success",
        StatusState::Failure | StatusState::Error => "failed",
    }
}

#[async_trait::async_trait]
impl Forge for GitLab {
    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        check_sha(sha)?;
        let path = format!(
            "/api/v4/projects/{}/statuses/{sha}",
            encode_segment(&self.project)
        );
        let body = json!({
            "state": gitlab_state(status.state),
            "name": status.context,
            "description": truncate_description(&status.description, DESCRIPTION_LIMIT),
            "target_url": status.target_url,
        });
        let headers = self.headers()?;
        match self
            .endpoint
            .post_json(&self.server, &path, headers, &body)
            .await
        {
            Err(ForgeError::Http {
                status: 400,
                ref message,
                ..
            }) if message.contains("Cannot transition status") => Ok(()),
            other => other,
        }
    }

    fn name(&self) -> &str {
        "gitlab"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_gitlab_vocabulary() {
        assert_eq!(gitlab_state(StatusState::Pending), "running");
        assert_eq!(gitlab_state(StatusState::Success), "success");
        assert_eq!(gitlab_state(StatusState::Failure), "failed");
        assert_eq!(gitlab_state(StatusState::Error), "failed");
    }
}
