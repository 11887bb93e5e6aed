//! Prometheus metrics for `/metrics`, in OpenMetrics text.
//!
//! Series (labels in braces):
//! * `tranche_rollouts_total{outcome}`: finished rollouts by outcome
//!   (`succeeded`, `nothing_to_do`, `rolled_back`, `paused`, `rollback_failed`, `superseded`, `invalid`: `RolloutOutcome::as_str`).
//! * `tranche_batch_duration_seconds`: time from a batch's first apply to its
//!   health verdict.
//! * `tranche_apply_results_total{cluster, action}`: objects per
//!   [`ObjectOutcome`] (`created`, `configured`, …) per cluster.
//! * `tranche_drift_detected_total{cluster}`: live objects found changed
//!   behind tranche's back.
//! * `tranche_api_errors_total{cluster}`: failed calls to an apiserver.
//! * `tranche_forge_status_total{result}`: commit statuses `delivered`,
//!   `failed` or `superseded` (see [`Delivery`]).
//! * `tranche_webhook_deliveries_total{result}`: `/webhook` deliveries
//!   `accepted`, `ignored`, `refused` or `unreadable` (see [`WebhookVerdict`]).
//! * `tranche_rollout_in_progress`: rollouts running now.

use crate::outcome::{ObjectOutcome, RolloutOutcome};
use crate::report::forge::retry::{Delivery, DeliveryObserver};
use crate::report::webhook::WebhookVerdict;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ClusterLabel {
    cluster: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ApplyLabels {
    cluster: String,
    action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FailoverLabels {
    app: String,
    cluster: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

/// All of tranche's metrics and the registry that encodes them. Share it
/// behind an `Arc`; recording takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    rollouts: Family<OutcomeLabel, Counter>,
    batch_duration: Histogram,
    apply_results: Family<ApplyLabels, Counter>,
    drift: Family<ClusterLabel, Counter>,
    api_errors: Family<ClusterLabel, Counter>,
    forge_status: Family<ResultLabel, Counter>,
    webhooks: Family<ResultLabel, Counter>,
    in_progress: Gauge,
    failover: Family<FailoverLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every series, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let rollouts = Family::<OutcomeLabel, Counter>::default();
        // 1 s to ~68 min: batches wait for rollouts and health gates.
        let batch_duration = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        let apply_results = Family::<ApplyLabels, Counter>::default();
        let drift = Family::<ClusterLabel, Counter>::default();
        let api_errors = Family::<ClusterLabel, Counter>::default();
        let forge_status = Family::<ResultLabel, Counter>::default();
        let webhooks = Family::<ResultLabel, Counter>::default();
        let in_progress = Gauge::default();
        let failover = Family::<FailoverLabels, Gauge>::default();
        // Counter names get their `_total` suffix from the encoder.
        registry.register(
            "tranche_rollouts",
            "Finished rollouts by outcome",
            rollouts.clone(),
        );
        registry.register(
            "tranche_batch_duration_seconds",
            "Time from a batch's first apply to its health verdict",
            batch_duration.clone(),
        );
        registry.register(
            "tranche_apply_results",
            "Objects applied per cluster by result (created, configured, unchanged, pruned, skipped, failed)",
            apply_results.clone(),
        );
        registry.register(
            "tranche_drift_detected",
            "Live objects found drifted from git",
            drift.clone(),
        );
        registry.register(
            "tranche_api_errors",
            "Failed calls to a cluster's apiserver",
            api_errors.clone(),
        );
        registry.register(
            "tranche_forge_status",
            "Commit statuses by fate (delivered, failed, superseded)",
            forge_status.clone(),
        );
        registry.register(
            "tranche_webhook_deliveries",
            "Webhook deliveries by verdict (accepted, ignored, refused, unreadable)",
            webhooks.clone(),
        );
        registry.register(
            "tranche_rollout_in_progress",
            "Rollouts running now",
            in_progress.clone(),
        );
        registry.register(
            "tranche_failover_active_since_seconds",
            "Failed-over clusters per app: unix time the cluster went down (failover active since)",
            failover.clone(),
        );
        Metrics {
            registry,
            rollouts,
            batch_duration,
            apply_results,
            drift,
            api_errors,
            forge_status,
            webhooks,
            in_progress,
            failover,
        }
    }

    /// Replaces the failover series with `states` (one series per app and
    /// failed-over cluster; none when no failover is active).
    pub fn set_failover(&self, states: &crate::rollout::state::FailoverStates) {
        self.failover.clear();
        for (app, state) in states {
            for (cluster, since) in &state.failed {
                let labels = FailoverLabels {
                    app: app.clone(),
                    cluster: cluster.clone(),
                };
                let since = i64::try_from(*since).unwrap_or(i64::MAX);
                self.failover.get_or_create(&labels).set(since);
            }
        }
    }

    /// Counts a finished rollout by outcome (label: [`RolloutOutcome::as_str`]).
    pub fn record_rollout(&self, outcome: RolloutOutcome) {
        let labels = OutcomeLabel {
            outcome: outcome.as_str().to_string(),
        };
        self.rollouts.get_or_create(&labels).inc();
    }

    /// Records how long one batch took.
    pub fn observe_batch_duration(&self, duration: Duration) {
        self.batch_duration.observe(duration.as_secs_f64());
    }

    /// Counts `count` objects with result `action` on `cluster`.
    pub fn record_apply(&self, cluster: &str, action: ObjectOutcome, count: u64) {
        let labels = ApplyLabels {
            cluster: cluster.to_string(),
            action: action.as_str().to_string(),
        };
        self.apply_results.get_or_create(&labels).inc_by(count);
    }

    /// Counts `count` drifted objects found on `cluster`.
    pub fn record_drift(&self, cluster: &str, count: u64) {
        let labels = ClusterLabel {
            cluster: cluster.to_string(),
        };
        self.drift.get_or_create(&labels).inc_by(count);
    }

    /// Counts one failed apiserver call on `cluster`.
    pub fn record_api_error(&self, cluster: &str) {
        let labels = ClusterLabel {
            cluster: cluster.to_string(),
        };
        self.api_errors.get_or_create(&labels).inc();
    }

    /// Counts one commit status by its fate.
    pub fn record_forge_status(&self, delivery: Delivery) {
        record_delivery(&self.forge_status, delivery);
    }

    /// An observer for [`crate::report::StatusReporter::spawn_observed`]
    /// that counts into `tranche_forge_status_total`.
    pub fn forge_status_observer(&self) -> DeliveryObserver {
        let family = self.forge_status.clone();
        Arc::new(move |delivery| record_delivery(&family, delivery))
    }

    /// Counts one `/webhook` delivery by how it was answered.
    pub fn record_webhook(&self, verdict: WebhookVerdict) {
        let labels = ResultLabel {
            result: verdict.as_str().to_string(),
        };
        self.webhooks.get_or_create(&labels).inc();
    }

    /// Marks a rollout as running until the returned guard is dropped, so
    /// that an early return or panic cannot leave the gauge up.
    pub fn rollout_in_progress(&self) -> InProgress {
        self.in_progress.inc();
        InProgress {
            gauge: self.in_progress.clone(),
        }
    }

    /// Every series in OpenMetrics text (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

fn record_delivery(family: &Family<ResultLabel, Counter>, delivery: Delivery) {
    let labels = ResultLabel {
        result: delivery.as_str().to_string(),
    };
    family.get_or_create(&labels).inc();
}

/// Holds `tranche_rollout_in_progress` up by one while alive.
#[derive(Debug)]
pub struct InProgress {
    gauge: Gauge,
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_series_appear_in_the_encoding() {
        let m = Metrics::new();
        m.record_rollout(RolloutOutcome::Succeeded);
        m.record_rollout(RolloutOutcome::Succeeded);
        m.record_rollout(RolloutOutcome::RolledBack);
        m.observe_batch_duration(Duration::from_millis(1500));
        m.record_apply("prod-a", ObjectOutcome::Created, 3);
        m.record_apply("prod-a", ObjectOutcome::Unchanged, 7);
        m.record_drift("prod-b", 2);
        m.record_api_error("prod-c");
        m.record_forge_status(Delivery::Delivered);
        (m.forge_status_observer())(Delivery::Failed);
        m.record_webhook(WebhookVerdict::Refused);
        let mut shop = crate::rollout::failover::FailoverState::default();
        shop.failed.insert("prod-c".into(), 1_780_000_000);
        m.set_failover(&[("shop".to_string(), shop)].into());
        let text = m.encode();
        for line in [
            "tranche_rollouts_total{outcome=\"succeeded\"} 2",
            "tranche_rollouts_total{outcome=\"rolled_back\"} 1",
            "tranche_batch_duration_seconds_count 1",
            "tranche_batch_duration_seconds_sum 1.5",
            "tranche_batch_duration_seconds_bucket{le=\"2.0\"} 1",
            "tranche_apply_results_total{cluster=\"prod-a\",action=\"created\"} 3",
            "tranche_apply_results_total{cluster=\"prod-a\",action=\"unchanged\"} 7",
            "tranche_drift_detected_total{cluster=\"prod-b\"} 2",
            "tranche_api_errors_total{cluster=\"prod-c\"} 1",
            "tranche_forge_status_total{result=\"delivered\"} 1",
            "tranche_forge_status_total{result=\"failed\"} 1",
            "tranche_webhook_deliveries_total{result=\"refused\"} 1",
            "tranche_rollout_in_progress 0",
            "tranche_failover_active_since_seconds{app=\"shop\",cluster=\"prod-c\"} 1780000000",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn in_progress_gauge_follows_guards() {
        let m = Metrics::new();
        let a = m.rollout_in_progress();
        let b = m.rollout_in_progress();
        assert!(m.encode().contains("tranche_rollout_in_progress 2\n"));
        drop(a);
        drop(b);
        assert!(m.encode().contains("tranche_rollout_in_progress 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.record_api_error("we\"ird\ncluster");
        let text = m.encode();
        assert!(
            text.contains("tranche_api_errors_total{cluster=\"we\\\"ird\\ncluster\"} 1"),
            "{text}"
        );
    }
}
