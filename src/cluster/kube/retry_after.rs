//! `Retry-After` of 429 answers (API priority and fairness, max-in-flight
//! limits). kube-rs turns an error response into a `Status` and drops the
//! headers, so a layer in the client's stack notes the header of each 429
//! as it passes, and the retry of the request that got it reads the note
//! ([`RetryAfter::take`]). The `Status`'s own `details.retryAfterSeconds`
//! is read too where the apiserver sets it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Longest server-asked wait tranche honours before a retry; a longer
/// `Retry-After` is cut to this (the retry is then likely to be refused
/// again, and backs off further).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The last `Retry-After` (milliseconds, 0: none) seen on a 429 of one
/// client.
#[derive(Debug, Clone, Default)]
pub struct RetryAfter(Arc<AtomicU64>);

impl RetryAfter {
    /// Notes the `Retry-After` of a response if it is a 429 (seconds form;
    /// the HTTP-date form is not used by apiservers).
    pub fn observe<B>(&self, response: &http::Response<B>) {
        if response.status() != http::StatusCode::TOO_MANY_REQUESTS {
            return;
        }
        let secs = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(secs) = secs {
            self.0
                .store(secs.saturating_mul(1000).max(1), Ordering::Release);
        }
    }

    /// The wait the server asked for on the last 429, once (it is
    /// forgotten when taken), at most [`MAX_RETRY_AFTER`].
    pub fn take(&self) -> Option<Duration> {
        match self.0.swap(0, Ordering::AcqRel) {
            0 => None,
            ms => Some(Duration::from_millis(ms).min(MAX_RETRY_AFTER)),
        }
    }
}

/// The wait a 429 error asks for: its `Status` details, else the header
/// noted by the client's layer.
pub fn hint(error: &::kube::Error, noted: &RetryAfter) -> Option<Duration> {
    let ::kube::Error::Api(status) = error else {
        return None;
    };
    if status.code != 429 {
        return None;
    }
    let from_status = status
        .details
        .as_ref()
        .map(|d| d.retry_after_seconds)
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(u64::from(s)).min(MAX_RETRY_AFTER));
    let from_header = noted.take();
    from_status.or(from_header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, retry_after: Option<&str>) -> http::Response<()> {
        let mut r = http::Response::builder().status(status);
        if let Some(v) = retry_after {
            r = r.header("Retry-After", v);
        }
        r.body(()).unwrap()
    }

    #[test]
    fn a_429_s_retry_after_is_noted_once_and_capped() {
        let noted = RetryAfter::default();
        noted.observe(&response(200, Some("9")));
        noted.observe(&response(503, Some("9")));
        assert_eq!(noted.take(), None, "only 429s count");
        noted.observe(&response(429, Some("2")));
        assert_eq!(noted.take(), Some(Duration::from_secs(2)));
        assert_eq!(noted.take(), None, "taken once");
        noted.observe(&response(429, Some("3600")));
        assert_eq!(noted.take(), Some(MAX_RETRY_AFTER));
        noted.observe(&response(429, Some("soon")));
        assert_eq!(noted.take(), None);
    }

    #[test]
    fn the_status_details_win_over_the_header() {
        let noted = RetryAfter::default();
        noted.observe(&response(429, Some("5")));
        let status = ::kube::core::Status {
            code: 429,
            details: Some(::kube::core::response::StatusDetails {
                name: String::new(),
                group: String::new(),
                kind: String::new(),
                uid: String::new(),
                causes: vec![],
                retry_after_seconds: 1,
            }),
            ..Default::default()
        };
        let err = ::kube::Error::Api(status.boxed());
        assert_eq!(hint(&err, &noted), Some(Duration::from_secs(1)));
        let other = ::kube::Error::Api(
            ::kube::core::Status {
                code: 500,
                ..Default::default()
            }
            .boxed(),
        );
        assert_eq!(hint(&other, &noted), None);
    }
}
