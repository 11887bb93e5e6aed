//! [`StatusReporter`]: the non-blocking front to a [`Forge`].
//!
//! Guarantees:
//! * [`StatusReporter::post`] returns at once and never fails its caller: a
//!   forge outage never blocks or fails a rollout.
//! * One background task sends statuses one at a time, oldest first, so the
//!   statuses of one (commit, context) reach the forge in the order posted.
//! * A status still waiting (queued or between retries) when a newer one for
//!   the same (commit, context) is posted is dropped: only the newest matters.
//! * Transient failures (network, 408, 429, 5xx) are retried with
//!   exponential backoff and jitter, honouring a short `Retry-After`, within
//!   [`RetryPolicy`]'s bounds; then the status is dropped and logged.
//!
//! Caveat: statuses live in memory only; those pending at process exit are
//! lost unless [`StatusReporter::flush`] is awaited first.

use super::{CommitStatus, Forge, ForgeError};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How hard to try before dropping a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per status, the first included.
    pub max_attempts: u32,
    /// Delay before the second try; doubles after each failure.
    pub initial_backoff: Duration,
    /// Ceiling of one delay.
    pub max_backoff: Duration,
    /// Give up on a status once this long has passed since its first try.
    pub max_elapsed: Duration,
    /// Longest `Retry-After` obeyed; a forge asking for longer is not retried.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed try number `attempt` (1-based): exponential,
    /// capped, then jittered into its upper half so that several daemons
    /// recovering together do not hit the forge in step.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        let full = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let half = full / 2;
        let spread = full.saturating_sub(half).as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            random_u64() % spread
        };
        half + Duration::from_nanos(jitter)
    }
}

/// A random number without a dependency: std seeds each `RandomState`
/// from the OS and varies it per instance.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x0074_7261_6e63_6865);
    hasher.finish()
}

/// What became of one posted status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// The forge accepted it.
    Delivered,
    /// It was dropped after a permanent error or exhausted retries.
    Failed,
    /// A newer status for the same commit and context replaced it unsent.
    Superseded,
}

impl Delivery {
    /// Lowercase name, the `result` label of `tranche_forge_status_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
            Delivery::Superseded => "superseded",
        }
    }
}

/// Called once per posted status with its fate (e.g. to count it in metrics).
pub type DeliveryObserver = Arc<dyn Fn(Delivery) + Send + Sync>;

/// Totals since the reporter started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReporterCounts {
    /// Statuses the forge accepted.
    pub delivered: u64,
    /// Statuses dropped after errors.
    pub failed: u64,
    /// Statuses replaced by a newer one before being sent.
    pub superseded: u64,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    superseded: AtomicU64,
}

enum Command {
    Post { sha: String, status: CommitStatus },
    Flush(oneshot::Sender<()>),
}

/// Handle to the background task that sends statuses. Cheap to clone.
#[derive(Clone)]
pub struct StatusReporter {
    tx: mpsc::UnboundedSender<Command>,
    counters: Arc<Counters>,
    forge: String,
}

impl StatusReporter {
    /// Starts the sending task on the current Tokio runtime.
    pub fn spawn(forge: Arc<dyn Forge>, policy: RetryPolicy) -> StatusReporter {
        Self::spawn_observed(forge, policy, None)
    }

    /// Like [`StatusReporter::spawn`], also telling `observer` each outcome.
    pub fn spawn_observed(
        forge: Arc<dyn Forge>,
        policy: RetryPolicy,
        observer: Option<DeliveryObserver>,
    ) -> StatusReporter {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let name = forge.name().to_string();
        let worker = Worker {
            forge,
            policy,
            rx,
            closed: false,
            queue: Queue::default(),
            waiters: Vec::new(),
            counters: counters.clone(),
            observer,
        };
        tokio::spawn(worker.run());
        StatusReporter {
            tx,
            counters,
            forge: name,
        }
    }

    /// Queues `status` for commit `sha` and returns at once.
    pub fn post(&self, sha: &str, status: CommitStatus) {
        let command = Command::Post {
            sha: sha.to_string(),
            status,
        };
        if self.tx.send(command).is_err() {
            // Only if the task died; the rollout must go on regardless.
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(forge = %self.forge, sha, "status reporter stopped; status dropped");
        }
    }

    /// Waits until everything posted before this call has been delivered or
    /// dropped, or `timeout` passes. Returns whether the queue drained.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Command::Flush(done_tx)).is_err() {
            return true;
        }
        matches!(tokio::time::timeout(timeout, done_rx).await, Ok(Ok(())))
    }

    /// Delivered / failed / superseded totals.
    pub fn counts(&self) -> ReporterCounts {
        ReporterCounts {
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            superseded: self.counters.superseded.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    sha: String,
    context: String,
}

/// Waiting statuses: first-posted order, newest status per key.
#[derive(Default)]
struct Queue {
    order: VecDeque<Key>,
    latest: HashMap<Key, CommitStatus>,
}

impl Queue {
    /// Adds a status; returns true when it replaced a waiting one.
    fn push(&mut self, key: Key, status: CommitStatus) -> bool {
        if self.latest.insert(key.clone(), status).is_some() {
            return true;
        }
        self.order.push_back(key);
        false
    }

    fn pop(&mut self) -> Option<(Key, CommitStatus)> {
        let key = self.order.pop_front()?;
        let status = self.latest.remove(&key)?;
        Some((key, status))
    }

    fn contains(&self, key: &Key) -> bool {
        self.latest.contains_key(key)
    }
}

struct Worker {
    forge: Arc<dyn Forge>,
    policy: RetryPolicy,
    rx: mpsc::UnboundedReceiver<Command>,
    closed: bool,
    queue: Queue,
    waiters: Vec<oneshot::Sender<()>>,
    counters: Arc<Counters>,
    observer: Option<DeliveryObserver>,
}

impl Worker {
    async fn run(mut self) {
        loop {
            while let Ok(command) = self.rx.try_recv() {
                self.accept(command);
            }
            if let Some((key, status)) = self.queue.pop() {
                self.deliver(key, status).await;
                continue;
            }
            for waiter in self.waiters.drain(..) {
                let _ = waiter.send(());
            }
            if self.closed {
                return;
            }
            match self.rx.recv().await {
                Some(command) => self.accept(command),
                None => self.closed = true,
            }
        }
    }

    fn accept(&mut self, command: Command) {
        match command {
            Command::Post { sha, status } => {
                let key = Key {
                    sha,
                    context: status.context.clone(),
                };
                if self.queue.push(key, status) {
                    self.record(Delivery::Superseded);
                }
            }
            Command::Flush(waiter) => self.waiters.push(waiter),
        }
    }

    fn record(&self, delivery: Delivery) {
        let counter = match delivery {
            Delivery::Delivered => &self.counters.delivered,
            Delivery::Failed => &self.counters.failed,
            Delivery::Superseded => &self.counters.superseded,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = &self.observer {
            observer(delivery);
        }
    }

    async fn deliver(&mut self, key: Key, status: CommitStatus) {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let error = match self.forge.set_status(&key.sha, &status).await {
                Ok(()) => {
                    tracing::debug!(forge = self.forge.name(), sha = %key.sha, context = %key.context,
                        state = status.state.as_str(), "commit status delivered");
                    return self.record(Delivery::Delivered);
                }
                Err(error) => error,
            };
            let Some(delay) = self.retry_delay(&error, attempt, started) else {
                tracing::warn!(forge = self.forge.name(), sha = %key.sha, context = %key.context,
                    attempts = attempt, %error, "commit status dropped");
                return self.record(Delivery::Failed);
            };
            tracing::info!(forge = self.forge.name(), sha = %key.sha, context = %key.context,
                attempt, retry_in = ?delay, %error, "commit status failed; will retry");
            if self.wait_unless_superseded(&key, delay).await {
                tracing::debug!(sha = %key.sha, context = %key.context, "status superseded while retrying");
                return self.record(Delivery::Superseded);
            }
            attempt += 1;
        }
    }

    /// The delay before the next try, or None to give up.
    fn retry_delay(&self, error: &ForgeError, attempt: u32, started: Instant) -> Option<Duration> {
        if !error.is_transient() || attempt >= self.policy.max_attempts {
            return None;
        }
        let delay = match error.retry_after() {
            Some(asked) if asked > self.policy.max_retry_after => return None,
            Some(asked) => asked,
            None => self.policy.backoff(attempt),
        };
        (started.elapsed() + delay <= self.policy.max_elapsed).then_some(delay)
    }

    /// Sleeps `delay` while still taking commands; true if a newer status
    /// for `key` arrived meanwhile.
    async fn wait_unless_superseded(&mut self, key: &Key, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return false,
                command = self.rx.recv(), if !self.closed => match command {
                    Some(command) => self.accept(command),
                    None => self.closed = true,
                },
            }
            if self.queue.contains(key) {
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests;
