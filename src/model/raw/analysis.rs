//! Serde shapes of a RolloutPolicy's `spec.analysis`: checks run after a
//! batch's health gate and through its bake time (Prometheus queries, HTTP
//! probes, smoke-test Jobs).
//!
//! ```yaml
//! analysis:
//!   interval: 10s
//!   prometheus:
//!     address: http://prometheus.{{cluster.labels.region}}:9090
//!   checks:
//!     - name: error-ratio
//!       prometheus:
//!         query: sum(rate(errors{cluster="{{cluster.name}}"}[1m]))
//!       successCondition: "< 0.01"
//!       failureLimit: 2
//!     - name: healthz
//!       http: {url: "https://{{cluster.name}}.example.com/healthz", status: 200}
//!     - name: smoke
//!       job: {timeout: 2m, manifest: {apiVersion: batch/v1, kind: Job, …}}
//! ```

use serde::Deserialize;

/// `spec.analysis`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisSpec {
    /// Time between two evaluations of a check (humantime; default 10s).
    pub interval: Option<String>,
    /// The Prometheus every `prometheus` check asks unless it names its own.
    pub prometheus: Option<PrometheusServer>,
    /// The checks; each must pass on every cluster of the batch.
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
}

/// Where a Prometheus is.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusServer {
    /// Base URL, templated per cluster (`{{cluster.name}}`,
    /// `{{cluster.labels.KEY}}`), e.g. `http://prometheus:9090`.
    pub address: Option<String>,
    /// File holding a bearer token sent to this server only.
    pub bearer_token_file: Option<String>,
}

/// One check.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckSpec {
    /// Name shown in progress lines and failure reasons.
    pub name: Option<String>,
    /// A PromQL query.
    pub prometheus: Option<PrometheusCheckSpec>,
    /// An HTTP GET.
    pub http: Option<HttpCheckSpec>,
    /// A Job created in each cluster of the batch.
    pub job: Option<JobCheckSpec>,
    /// What a good result is: an operator and a value, e.g. `< 0.01`,
    /// `>= 1`, `== "ok"`.
    pub success_condition: Option<String>,
    /// Bad results (per cluster) at which the batch fails; default 1.
    pub failure_limit: Option<i64>,
    /// Time between evaluations of this check (default: `analysis.interval`).
    pub interval: Option<String>,
}

/// `prometheus` of a check.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusCheckSpec {
    /// PromQL, templated per cluster; string values are escaped for
    /// PromQL's double-quoted strings.
    pub query: Option<String>,
    /// Base URL of the Prometheus to ask (overrides `analysis.prometheus`).
    pub address: Option<String>,
    /// Bearer token file for this check's Prometheus.
    pub bearer_token_file: Option<String>,
}

/// `http` of a check.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpCheckSpec {
    /// URL (http or https), templated per cluster.
    pub url: Option<String>,
    /// Expected status code (default: any 2xx).
    pub status: Option<i64>,
    /// RFC 6901 pointer to a field of the JSON body, judged by
    /// `successCondition`.
    pub json_pointer: Option<String>,
    /// File holding a bearer token sent to this URL's origin only.
    pub bearer_token_file: Option<String>,
}

/// `job` of a check.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobCheckSpec {
    /// The Job (`apiVersion: batch/v1`, `kind: Job`) written inline.
    pub manifest: Option<serde_json::Value>,
    /// How long the Job may take to complete (default 5m).
    pub timeout: Option<String>,
}
