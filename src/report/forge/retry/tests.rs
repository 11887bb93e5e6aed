//! Reporter behaviour against a scripted in-memory forge (the wire exchange
//! with HTTP servers is in tests/forge.rs).

use super::*;
use crate::report::forge::StatusState;
use std::sync::Mutex;

/// A forge that answers from a script (then Ok) and records every call.
struct ScriptedForge {
    script: Mutex<VecDeque<Result<(), ForgeError>>>,
    calls: Mutex<Vec<(String, String, String)>>,
    delay: Duration,
}

impl ScriptedForge {
    fn new(script: Vec<Result<(), ForgeError>>, delay: Duration) -> Arc<ScriptedForge> {
        Arc::new(ScriptedForge {
            script: Mutex::new(script.into()),
            calls: Mutex::new(Vec::new()),
            delay,
        })
    }

    fn calls(&self) -> Vec<(String, String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Forge for ScriptedForge {
    async fn set_status(&self, sha: &str, status: &CommitStatus) -> Result<(), ForgeError> {
        self.calls.lock().unwrap().push((
            sha.to_string(),
            status.context.clone(),
            status.description.clone(),
        ));
        tokio::time::sleep(self.delay).await;
        self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }

    fn name(&self) -> &str {
        "scripted"
    }
}

fn http(status: u16, retry_after: Option<u64>) -> Result<(), ForgeError> {
    Err(ForgeError::Http {
        forge: "scripted".into(),
        status,
        path: "/x".into(),
        message: "boom".into(),
        retry_after: retry_after.map(Duration::from_secs),
    })
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(10),
        max_retry_after: Duration::from_secs(1),
    }
}

fn status(context: &str, description: &str) -> CommitStatus {
    CommitStatus::new(context, StatusState::Pending, description)
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[tokio::test]
async fn delivers_in_posting_order() {
    let forge = ScriptedForge::new(vec![], Duration::ZERO);
    let reporter = StatusReporter::spawn(forge.clone(), fast());
    reporter.post(SHA, status("tranche/rollout", "batch 1/3"));
    reporter.post(SHA, status("tranche/prod-a", "applied"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    reporter.post(SHA, status("tranche/rollout", "batch 2/3"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    let descriptions: Vec<_> = forge.calls().into_iter().map(|c| c.2).collect();
    assert_eq!(descriptions, ["batch 1/3", "applied", "batch 2/3"]);
    assert_eq!(reporter.counts().delivered, 3);
}

#[tokio::test]
async fn transient_errors_are_retried_until_success() {
    let forge = ScriptedForge::new(vec![http(502, None), Err(network())], Duration::ZERO);
    let reporter = StatusReporter::spawn(forge.clone(), fast());
    reporter.post(SHA, status("tranche/rollout", "x"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    assert_eq!(forge.calls().len(), 3);
    assert_eq!(
        reporter.counts(),
        ReporterCounts {
            delivered: 1,
            failed: 0,
            superseded: 0
        }
    );
}

fn network() -> ForgeError {
    ForgeError::Network {
        forge: "scripted".into(),
        path: "/x".into(),
        message: "connection refused".into(),
    }
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let forge = ScriptedForge::new(vec![http(404, None)], Duration::ZERO);
    let reporter = StatusReporter::spawn(forge.clone(), fast());
    reporter.post(SHA, status("tranche/rollout", "x"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    assert_eq!(forge.calls().len(), 1);
    assert_eq!(reporter.counts().failed, 1);
}

#[tokio::test]
async fn retries_are_bounded_by_max_attempts() {
    let forge = ScriptedForge::new((0..10).map(|_| http(503, None)).collect(), Duration::ZERO);
    let reporter = StatusReporter::spawn(forge.clone(), fast());
    reporter.post(SHA, status("tranche/rollout", "x"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    assert_eq!(forge.calls().len(), 4);
    assert_eq!(reporter.counts().failed, 1);
}

#[tokio::test]
async fn short_retry_after_is_obeyed_and_long_one_gives_up() {
    let forge = ScriptedForge::new(
        vec![http(429, Some(0)), http(429, Some(3600))],
        Duration::ZERO,
    );
    let reporter = StatusReporter::spawn(forge.clone(), fast());
    reporter.post(SHA, status("tranche/rollout", "x"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    // One retry after the 0 s Retry-After, none after the hour-long one.
    assert_eq!(forge.calls().len(), 2);
    assert_eq!(reporter.counts().failed, 1);
}

#[tokio::test]
async fn queued_status_is_superseded_by_newer_for_same_context() {
    let forge = ScriptedForge::new(vec![], Duration::from_millis(20));
    let reporter = StatusReporter::spawn(forge.clone(), fast());
    reporter.post(SHA, status("tranche/rollout", "batch 1/3"));
    reporter.post(SHA, status("tranche/plan", "plan"));
    reporter.post(SHA, status("tranche/rollout", "batch 2/3"));
    reporter.post(SHA, status("tranche/rollout", "batch 3/3"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    let calls = forge.calls();
    let rollout: Vec<_> = calls
        .iter()
        .filter(|c| c.1 == "tranche/rollout")
        .map(|c| c.2.as_str())
        .collect();
    // Whatever was in flight is sent; the newest is always sent last.
    assert_eq!(rollout.last(), Some(&"batch 3/3"));
    assert!(!rollout.contains(&"batch 2/3"));
    assert!(calls.iter().any(|c| c.1 == "tranche/plan"));
    assert!(reporter.counts().superseded >= 1);
}

#[tokio::test]
async fn retrying_status_is_superseded_by_newer_one() {
    let forge = ScriptedForge::new(vec![http(500, None)], Duration::ZERO);
    let slow = RetryPolicy {
        initial_backoff: Duration::from_secs(20),
        max_backoff: Duration::from_secs(20),
        max_elapsed: Duration::from_secs(60),
        ..fast()
    };
    let reporter = StatusReporter::spawn(forge.clone(), slow);
    reporter.post(SHA, status("tranche/rollout", "old"));
    while forge.calls().is_empty() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    reporter.post(SHA, status("tranche/rollout", "new"));
    // Without superseding, the 10-20 s backoff would outlast this flush.
    assert!(reporter.flush(Duration::from_secs(3)).await);
    let descriptions: Vec<_> = forge.calls().into_iter().map(|c| c.2).collect();
    assert_eq!(descriptions, ["old", "new"]);
    assert_eq!(
        reporter.counts(),
        ReporterCounts {
            delivered: 1,
            failed: 0,
            superseded: 1
        }
    );
}

#[tokio::test]
async fn observer_sees_each_outcome() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let observer: DeliveryObserver = Arc::new(move |d| sink.lock().unwrap().push(d));
    let forge = ScriptedForge::new(vec![http(401, None)], Duration::ZERO);
    let reporter = StatusReporter::spawn_observed(forge, fast(), Some(observer));
    reporter.post(SHA, status("a", "x"));
    reporter.post(SHA, status("b", "x"));
    assert!(reporter.flush(Duration::from_secs(5)).await);
    assert_eq!(
        *seen.lock().unwrap(),
        [Delivery::Failed, Delivery::Delivered]
    );
}

#[tokio::test]
async fn flush_on_idle_reporter_returns_at_once() {
    let reporter = StatusReporter::spawn(ScriptedForge::new(vec![], Duration::ZERO), fast());
    assert!(reporter.flush(Duration::from_secs(1)).await);
    assert_eq!(reporter.counts(), ReporterCounts::default());
}

#[test]
fn backoff_doubles_caps_and_jitters_in_upper_half() {
    let policy = RetryPolicy {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(1000),
        ..RetryPolicy::default()
    };
    for _ in 0..50 {
        let first = policy.backoff(1);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = policy.backoff(3);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        let capped = policy.backoff(30);
        assert!(capped >= Duration::from_millis(500) && capped <= Duration::from_millis(1000));
    }
}
