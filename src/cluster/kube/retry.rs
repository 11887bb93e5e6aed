//! Exponential backoff with jitter for transient apiserver failures (see
//! [`super::classify::is_transient`]). Requests tranche retries are
//! idempotent: get, list, server-side apply and delete.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in total (the first try included); at least 1.
    pub tries: u32,
    /// Delay before the second try; doubled before each later one.
    pub first_delay: Duration,
}

impl Default for Backoff {
    /// 4 tries, 200 ms doubling: about 1.4 s (+ jitter) before giving up.
    fn default() -> Self {
        Backoff {
            tries: 4,
            first_delay: Duration::from_millis(200),
        }
    }
}

impl Backoff {
    /// Delay before attempt `n + 1` (n ≥ 1), without jitter.
    pub(crate) fn delay_after(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(16);
        self.first_delay.saturating_mul(1u32 << shift)
    }

    /// Runs `op` until it succeeds, fails for good, or the tries run out.
    #[cfg(test)]
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        op: F,
        transient: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_with(op, transient, |_| None).await
    }

    /// [`Backoff::run`], waiting at least what `asked` says an error
    /// asks for (a 429's `Retry-After`) before the next try. The caller
    /// holds no in-flight permit while it waits.
    pub(crate) async fn run_with<T, E, F, Fut>(
        &self,
        mut op: F,
        transient: impl Fn(&E) -> bool,
        asked: impl Fn(&E) -> Option<Duration>,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e) if attempt < self.tries.max(1) && transient(&e) => {
                    let backoff = with_jitter(self.delay_after(attempt));
                    let delay = asked(&e).map_or(backoff, |a| a.max(backoff));
                    tracing::debug!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "transient apiserver failure, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// Adds up to +25 % random jitter, so clients failing together do not
/// retry in lockstep. The std hasher's random keys are the entropy source.
fn with_jitter(delay: Duration) -> Duration {
    let random = RandomState::new().build_hasher().finish();
    let quarter = delay.as_millis() as u64 / 4;
    if quarter == 0 {
        return delay;
    }
    delay + Duration::from_millis(random % quarter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn delays_double() {
        let b = Backoff::default();
        assert_eq!(b.delay_after(1), Duration::from_millis(200));
        assert_eq!(b.delay_after(2), Duration::from_millis(400));
        assert_eq!(b.delay_after(3), Duration::from_millis(800));
        let j = with_jitter(Duration::from_millis(400));
        assert!(
            j >= Duration::from_millis(400) && j < Duration::from_millis(500),
            "{j:?}"
        );
    }

    #[tokio::test]
    async fn retries_transient_errors_until_the_tries_run_out() {
        let b = Backoff {
            tries: 3,
            first_delay: Duration::from_millis(1),
        };
        let calls = Cell::new(0);
        let r: Result<(), &str> = b
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err("busy") }
                },
                |_| true,
            )
            .await;
        assert_eq!(r, Err("busy"));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn a_server_asked_wait_is_kept_before_the_retry() {
        let b = Backoff {
            tries: 2,
            first_delay: Duration::from_millis(1),
        };
        let calls = Cell::new(0);
        let started = tokio::time::Instant::now();
        let r: Result<(), &str> = b
            .run_with(
                || {
                    calls.set(calls.get() + 1);
                    async { Err("429") }
                },
                |_| true,
                |_| Some(Duration::from_millis(300)),
            )
            .await;
        assert_eq!(r, Err("429"));
        assert_eq!(calls.get(), 2);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn final_errors_and_successes_stop_at_once() {
        let b = Backoff {
            tries: 4,
            first_delay: Duration::from_millis(1),
        };
        let calls = Cell::new(0);
        let r: Result<(), &str> = b
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err("forbidden") }
                },
                |_| false,
            )
            .await;
        assert_eq!(r, Err("forbidden"));
        assert_eq!(calls.get(), 1);

        let calls = Cell::new(0);
        let r: Result<u32, &str> = b
            .run(
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move {
                        if n < 2 {
                            Err("refused")
                        } else {
                            Ok(n)
                        }
                    }
                },
                |_| true,
            )
            .await;
        assert_eq!(r, Ok(2));
    }
}
