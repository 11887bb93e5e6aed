//! Commit statuses on git forges: the [`Forge`] seam, its error type, the
//! daemon's forge configuration, and one implementation per provider
//! (GitHub and GitHub Enterprise, Gitea/Forgejo, GitLab).
//!
//! Callers rarely hold a [`Forge`] directly: they go through
//! [`retry::StatusReporter`], which queues, retries and never blocks a rollout.

pub mod conversation;
mod gitea;
mod github;
mod gitlab;
mod http;
pub mod retry;

pub use conversation::{Comment, Conversation, Person, PullInfo, Thread};
pub use gitea::Gitea;
pub use github::GitHub;
pub use gitlab::GitLab;

use crate::report::secret::{Secret, SecretError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Which forge family a configuration, status or webhook belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// github.com or GitHub Enterprise Server.
    #[serde(alias = "github-enterprise")]
    Github,
    /// Gitea or Forgejo (same API).
    #[serde(alias = "forgejo")]
    Gitea,
    /// gitlab.com or self-managed GitLab.
    Gitlab,
}

impl Provider {
    /// Lowercase name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitea => "gitea",
            Provider::Gitlab => "gitlab",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of a commit status, in tranche's terms; each forge maps it to
/// its own vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    /// The rollout (or plan) is under way.
    Pending,
    /// Every batch went out healthy.
    Success,
    /// The rollout failed its health gates (and was rolled back).
    Failure,
    /// tranche itself could not do its job (bad config, unreachable clusters).
    Error,
}

impl StatusState {
    /// Lowercase name, the GitHub and Gitea spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
        }
    }
}

/// One status to set on a commit, e.g. context `tranche/rollout`, state
/// pending, description `batch 2/3 · 3/10 clusters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    /// Label that tells this status from others on the same commit; a newer
    /// status with the same context replaces the older one on the forge.
    pub context: String,
    /// Where the rollout stands.
    pub state: StatusState,
    /// One line for humans; truncated to the forge's limit when sent.
    pub description: String,
    /// Link shown beside the status (e.g. the daemon's `/api/status`).
    pub target_url: Option<String>,
}

impl CommitStatus {
    /// A status without a link.
    pub fn new(
        context: impl Into<String>,
        state: StatusState,
        description: impl Into<String>,
    ) -> CommitStatus {
        CommitStatus {
            context: context.into(),
            state,
            description: description.into(),
            target_url: None,
        }
    }

    /// The same status with a link.
    pub fn with_target_url(mut self, url: impl Into<String>) -> CommitStatus {
        self.target_url = Some(url.into());
        self
    }
}

/// Shortens `text` to at most `limit` characters, ending with `…` when cut,
/// because forges reject (GitHub: 422) descriptions over their limit.
pub fn truncate_description(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Errors setting a commit status. Messages never contain the token: bodies
/// the forge sends back are redacted before they are kept.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// The forge answered with a non-success HTTP status.
    #[error("{forge}: HTTP {status} from {path}: {message}")]
    Http {
        /// Forge name (`github`, `gitea`, `gitlab`).
        forge: String,
        /// HTTP status code.
        status: u16,
        /// Request path (no host, no query), to tell which repo/commit.
        path: String,
        /// The forge's answer, truncated and redacted.
        message: String,
        /// The `Retry-After` delay the forge asked for, when it gave seconds.
        retry_after: Option<Duration>,
    },
    /// The forge could not be reached or the exchange broke off.
    #[error("{forge}: cannot reach the forge at {path}: {message} (check apiUrl and network)")]
    Network {
        /// Forge name.
        forge: String,
        /// Request path.
        path: String,
        /// What went wrong, redacted.
        message: String,
    },
    /// The forge configuration is unusable.
    #[error("forge configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The token could not be loaded.
    #[error("forge token: {0}")]
    Token(#[from] SecretError),
    /// The forge redirected the request to another origin. Requests carry
    /// the token, so such redirects are never followed (and not retried).
    #[error("{forge}: {path}: refused a redirect from {from} to {to}: the token is only sent to the configured apiUrl (set apiUrl to the address the forge redirects to)")]
    Redirect {
        /// Forge name.
        forge: String,
        /// Request path.
        path: String,
        /// Origin asked (`https://host:port`).
        from: String,
        /// Origin the forge redirected to.
        to: String,
    },
    /// The forge does not have the commit (not pushed yet, or another
    /// repository): retrying cannot help.
    #[error("{forge}: commit {sha} is not in {repository} (push it, or check forge.repository)")]
    UnknownCommit {
        /// Forge name.
        forge: String,
        /// `owner/name` as configured.
        repository: String,
        /// The commit the status was for.
        sha: String,
    },
    /// The commit id is not a hex object id (it would end up in a URL path).
    #[error("{sha:?} is not a commit id (expected 4 to 64 hex digits)")]
    InvalidSha {
        /// The value given.
        sha: String,
    },
}

impl ForgeError {
    /// Whether trying again later may succeed: network errors, 408, 429, 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ForgeError::Http { status, .. } => {
                *status == 408 || *status == 429 || (500..=599).contains(status)
            }
            ForgeError::Network { .. } => true,
            ForgeError::Config { .. }
            | ForgeError::Token(_)
            | ForgeError::InvalidSha { .. }
            | ForgeError::Redirect { .. }
            | ForgeError::UnknownCommit { .. } => false,
        }
    }

    /// The delay the forge asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ForgeError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Something that can set commit statuses.
#[async_trait::async_trait]
pub trait Forge: Send + Sync {
    /// Sets (creates or replaces, by context) one status on commit `sha`.
    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError>;

    /// Forge name for logs and errors.
    fn name(&self) -> &str;
}

/// The forge section of the daemon's YAML configuration.
///
/// ```yaml
/// forge:
///   provider: github            # github | gitea (forgejo) | gitlab
///   apiUrl: https://ghe.example.com/api/v3   # optional
///   repository: acme/fleet      # GitLab: group/sub/project or numeric id
///   tokenFile: /var/run/secrets/tranche/forge-token
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForgeConfig {
    /// Which API to speak.
    pub provider: Provider,
    /// API base URL. Defaults: `https://api.github.com`, `https://gitlab.com`;
    /// required for Gitea/Forgejo (the server root, without `/api/v1`). For
    /// GitHub Enterprise give the `/api/v3` URL.
    #[serde(default)]
    pub api_url: Option<String>,
    /// `owner/name` (GitHub, Gitea) or the project path or id (GitLab).
    pub repository: String,
    /// File holding the token (preferred: a mounted Kubernetes Secret).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
}

/// Time allowed for one status request; the reporter retries on timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the forge a configuration names, loading its token.
pub fn build(config: &ForgeConfig) -> Result<Arc<dyn Forge>, ForgeError> {
    Ok(match connect(config)? {
        Client::GitHub(c) => Arc::new(c),
        Client::Gitea(c) => Arc::new(c),
        Client::GitLab(c) => Arc::new(c),
    })
}

/// Builds the [`Conversation`] (comments, access, pull requests) of the
/// forge a configuration names, with the same token.
pub fn build_conversation(config: &ForgeConfig) -> Result<Arc<dyn Conversation>, ForgeError> {
    Ok(match connect(config)? {
        Client::GitHub(c) => Arc::new(c),
        Client::Gitea(c) => Arc::new(c),
        Client::GitLab(c) => Arc::new(c),
    })
}

/// The client of the configured provider, before it is seen as a
/// [`Forge`] or a [`Conversation`].
enum Client {
    GitHub(GitHub),
    Gitea(Gitea),
    GitLab(GitLab),
}

/// Loads the token and makes the provider's client for its API base URL.
fn connect(config: &ForgeConfig) -> Result<Client, ForgeError> {
    let token = load_token(config)?;
    let client = http::client(REQUEST_TIMEOUT)?;
    let api_url = config
        .api_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string());
    let repository = &config.repository;
    Ok(match config.provider {
        Provider::Github => {
            let base = api_url.unwrap_or_else(|| github::DEFAULT_API.to_string());
            Client::GitHub(GitHub::new(client, &base, repository, token)?)
        }
        Provider::Gitea => {
            let base = api_url.ok_or_else(|| ForgeError::Config {
                message:
                    "provider gitea needs apiUrl (the server root, e.g. https://gitea.example.com)"
                        .to_string(),
            })?;
            Client::Gitea(Gitea::new(client, &base, repository, token)?)
        }
        Provider::Gitlab => {
            let base = api_url.unwrap_or_else(|| gitlab::DEFAULT_API.to_string());
            Client::GitLab(GitLab::new(client, &base, repository, token)?)
        }
    })
}

fn load_token(config: &ForgeConfig) -> Result<Secret, ForgeError> {
    match (&config.token_file, &config.token_env) {
        (Some(path), None) => Ok(Secret::from_file(path)?),
        (None, Some(var)) => Ok(Secret::from_env(var)?),
        (Some(_), Some(_)) => Err(ForgeError::Config {
            message: "set only one of tokenFile and tokenEnv".to_string(),
        }),
        (None, None) => Err(ForgeError::Config {
            message: "no token: set tokenFile (preferred) or tokenEnv".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests;
