//! The HTTP exchange the three forges share: the client (which never
//! follows a redirect to another origin: every request carries the token,
//! and reqwest strips only `Authorization` and `Cookie` when it follows one,
//! not GitLab's `PRIVATE-TOKEN`), one JSON POST whose failure is turned into
//! a redacted [`ForgeError`], plus the URL-building checks.

use super::ForgeError;
use crate::report::secret::Secret;
use reqwest::header::{HeaderName, HeaderValue, RETRY_AFTER};
use std::time::Duration;

/// How much of a forge's error body is kept in an error message.
const MAX_ERROR_BODY: usize = 300;
/// Redirects followed within one origin before giving up.
const MAX_REDIRECTS: usize = 5;

/// The HTTP client of every forge: `timeout` per request, redirects
/// followed only within the origin of the request ([`CrossOrigin`]
/// otherwise).
pub(super) fn client(timeout: Duration) -> Result<reqwest::Client, ForgeError> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let from = attempt.previous().first().map(origin);
        let to = origin(attempt.url());
        match from {
            Some(from) if from != to => attempt.error(CrossOrigin { from, to }),
            _ if attempt.previous().len() > MAX_REDIRECTS => attempt.stop(),
            _ => attempt.follow(),
        }
    });
    reqwest::Client::builder()
        .user_agent("tranche")
        .timeout(timeout)
        .redirect(policy)
        .build()
        .map_err(|e| ForgeError::Config {
            message: format!("cannot build the HTTP client: {e}"),
        })
}

/// `scheme://host:port` of a URL (the port even when it is the default).
fn origin(url: &reqwest::Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// A redirect to another origin, refused by the client.
#[derive(Debug, thiserror::Error)]
#[error("redirect from {from} to {to} refused")]
struct CrossOrigin {
    from: String,
    to: String,
}

/// One forge's endpoint: a client, a name for messages, and its token.
pub(super) struct Endpoint {
    pub(super) client: reqwest::Client,
    pub(super) forge: &'static str,
    pub(super) token: Secret,
}

impl Endpoint {
    /// A header value carrying the token, marked sensitive so that reqwest
    /// and hyper never print it.
    pub(super) fn auth_value(&self, prefix: &str) -> Result<HeaderValue, ForgeError> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.token.expose()))
            .map_err(|_| ForgeError::Config {
                message: format!(
                    "{}: the token holds characters not allowed in an HTTP header (check the token file)",
                    self.forge
                ),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// POSTs `body` as JSON to `base` + `path`; any 2xx is success.
    pub(super) async fn post_json(
        &self,
        base: &str,
        path: &str,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: &serde_json::Value,
    ) -> Result<(), ForgeError> {
        self.exchange(reqwest::Method::POST, base, path, headers, Some(body))
            .await
            .map(|_| ())
    }

    /// Sends `method` to `base` + `path` (`path` may carry a query), with
    /// `body` as JSON if given; the JSON answer of a 2xx (`Null` when
    /// empty or not JSON).
    pub(super) async fn exchange(
        &self,
        method: reqwest::Method,
        base: &str,
        path: &str,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ForgeError> {
        let mut request = self.client.request(method, format!("{base}{path}"));
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        // Errors name the path without its query.
        let path = path.split('?').next().unwrap_or(path);
        let response = request.send().await.map_err(|e| self.network(path, &e))?;
        let status = response.status();
        if status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null));
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response.text().await.unwrap_or_default();
        Err(ForgeError::Http {
            forge: self.forge.to_string(),
            status: status.as_u16(),
            path: path.to_string(),
            message: clip(&self.token.redact(text.trim()), MAX_ERROR_BODY),
            retry_after,
        })
    }

    fn network(&self, path: &str, error: &reqwest::Error) -> ForgeError {
        // The chain (source errors) says why: refused, timed out, TLS, or
        // a redirect elsewhere.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(s) = source {
            if let Some(cross) = s.downcast_ref::<CrossOrigin>() {
                return ForgeError::Redirect {
                    forge: self.forge.to_string(),
                    path: path.to_string(),
                    from: cross.from.clone(),
                    to: cross.to.clone(),
                };
            }
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        ForgeError::Network {
            forge: self.forge.to_string(),
            path: path.to_string(),
            message: self.token.redact(&message),
        }
    }
}

/// `Retry-After` in its delay-seconds form; the HTTP-date form is left to
/// ordinary backoff.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn clip(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut out: String = text.chars().take(limit).collect();
    out.push('…');
    out
}

/// Refuses anything but a hex object id, since the sha becomes a URL segment.
pub(super) fn check_sha(sha: &str) -> Result<(), ForgeError> {
    let ok = (4..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(ForgeError::InvalidSha {
            sha: sha.chars().take(80).collect(),
        })
    }
}

/// Percent-encodes everything outside RFC 3986's unreserved set, so a
/// value (a GitLab `group/project` path included) is exactly one segment.
pub(super) fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits `owner/name`, refusing anything else.
pub(super) fn owner_and_name(
    forge: &str,
    repository: &str,
) -> Result<(String, String), ForgeError> {
    match repository.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((owner.to_string(), name.to_string()))
        }
        _ => Err(ForgeError::Config {
            message: format!("{forge}: repository {repository:?} must be owner/name"),
        }),
    }
}

/// The JSON body GitHub and Gitea/Forgejo both take for a commit status
/// (`state`, `target_url`, `description` cut to `limit`, `context`).
pub(super) fn status_body(status: &super::CommitStatus, limit: usize) -> serde_json::Value {
    serde_json::json!({
        "state": status.state.as_str(),
        "target_url": status.target_url,
        "description": super::truncate_description(&status.description, limit),
        "context": status.context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_must_be_hex() {
        assert!(check_sha("0123456789abcdef0123456789abcdef01234567").is_ok());
        assert!(check_sha("../../evil").is_err());
        assert!(check_sha("abc").is_err());
        assert!(check_sha("").is_err());
    }

    #[test]
    fn segments_encode_slashes_and_spaces() {
        assert_eq!(
            encode_segment("group/sub/my project"),
            "group%2Fsub%2Fmy%20project"
        );
        assert_eq!(encode_segment("42"), "42");
        assert_eq!(encode_segment("a.b-c_d~e"), "a.b-c_d~e");
    }

    #[test]
    fn owner_and_name_needs_exactly_one_slash() {
        assert_eq!(
            owner_and_name("github", "acme/fleet").unwrap(),
            ("acme".to_string(), "fleet".to_string())
        );
        assert!(owner_and_name("github", "acme").is_err());
        assert!(owner_and_name("github", "a/b/c").is_err());
        assert!(owner_and_name("github", "/b").is_err());
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn clip_marks_cuts() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc…");
    }
}
