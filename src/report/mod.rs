//! Telling the outcome of a rollout to people and machines.
//!
//! * [`forge`]: commit statuses on GitHub (and Enterprise), Gitea/Forgejo
//!   and GitLab, sent through [`StatusReporter`] so that a forge outage
//!   never blocks a rollout.
//! * [`badge`]: shields-style SVG badges for `/badge/<app>.svg`.
//! * [`webhook`]: verifying and reading forge webhooks (pushes, pull
//!   requests) for `/webhook`.
//! * [`pr`]: the pull-request comment and the commands people give in
//!   comments and labels.
//! * [`metrics`]: Prometheus/OpenMetrics counters for `/metrics`.
//! * [`secret`]: tokens and webhook secrets that never print.
//!
//! Git notes on deployed commits live in [`crate::git::notes`], beside the
//! other git access.

pub mod badge;
pub mod forge;
pub mod metrics;
pub mod pr;
pub mod secret;
pub mod webhook;

pub use badge::{render_badge, BadgeColor};
pub use forge::retry::{Delivery, ReporterCounts, RetryPolicy, StatusReporter};
pub use forge::{
    build as build_forge, CommitStatus, Forge, ForgeConfig, ForgeError, Provider, StatusState,
};
pub use metrics::Metrics;
pub use secret::{Secret, SecretError};
pub use webhook::{
    parse_event, parse_push, verify as verify_webhook, PushEvent, WebhookError, WebhookEvent,
    WebhookVerdict,
};
