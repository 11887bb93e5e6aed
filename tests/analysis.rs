//! Analysis gates (issue 13) end to end with the real binary on directory
//! clusters: a REAL Prometheus (Debian's package) scrapes a small exporter
//! in this test whose error ratio per cluster depends on the version
//! deployed there (the ConfigMap tranche wrote), so the PromQL of the
//! policy is evaluated by Prometheus itself. The same exporter serves a
//! health endpoint for the HTTP check. Bad analysis config is refused by
//! `tranche validate`, naming file and field.

mod support;

use axum::extract::Path as UrlPath;
use axum::routing::get;
use std::sync::{Arc, Mutex};
use support::analysis::{config_map, env, exporter, policy, CLUSTERS};
use support::prometheus::Prometheus;
use support::tranche;

const QUERY: &str = r#"sum(shop_errors_total{cluster="{{cluster.name}}"}) / sum(shop_requests_total{cluster="{{cluster.name}}"})"#;

fn prometheus_analysis(url: &str) -> String {
    format!(
        "    interval: 1s\n    prometheus: {{address: \"{url}\"}}\n    checks:\n      - name: error-ratio\n        \
         prometheus: {{query: '{QUERY}'}}\n        successCondition: \"< 0.01\"\n        failureLimit: 2\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rising_prometheus_error_ratio_fails_the_batch_and_rolls_back_while_a_low_one_passes() {
    // The exporter reads the clusters' directory, so it needs the env first;
    // the policy needs Prometheus' URL: write it once both exist.
    let e = env("    checks: []\n");
    let addr = exporter(e.shop(&["c2"])).await;
    let prom = Prometheus::start(&[addr]).await;
    assert!(prom.pid().is_some());
    prom.wait_for_series("shop_requests_total", 3).await;
    e.repo.write(
        "policies/rollout.yaml",
        &policy(&prometheus_analysis(&prom.url)),
    );
    e.repo.commit("shop v1 with an error-ratio gate");

    // v1 everywhere: the ratio stays at 0.001 and every batch passes.
    let (code, report, err) = e.apply().await;
    assert_eq!(code, 0, "{report}\n{err}");
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    for c in CLUSTERS {
        assert!(
            err.contains(&format!("analysis error-ratio on {c}: 0.001 (ok)")),
            "progress shows {c}'s ratio:\n{err}"
        );
        assert_eq!(e.version(c), "1");
    }

    // v2 is bad on c2 (batch 2): its error ratio rises to 0.25.
    e.repo
        .write("apps/shop/manifests/all.yaml", &config_map("2"));
    e.repo.commit("shop v2");
    let (code, report, err) = e.apply().await;
    assert_eq!(code, 1, "{report}\n{err}");
    assert_eq!(report["outcome"], "rolledBack", "{report:#}");
    let failure = &report["failure"];
    assert_eq!(failure["cluster"], "c2", "{failure}");
    assert_eq!(failure["object"], "analysis error-ratio", "{failure}");
    let reason = failure["reason"].as_str().unwrap();
    let rendered = QUERY.replace("{{cluster.name}}", "c2");
    assert_eq!(
        reason,
        format!("query {rendered} gave 0.25, wanted < 0.01 (2 bad result(s), failureLimit 2)"),
        "the reason names the query, the value and the limit"
    );
    assert!(
        report["description"]
            .as_str()
            .unwrap()
            .starts_with("rolled back: c2 analysis error-ratio query "),
        "{report:#}"
    );
    assert!(
        err.contains("analysis error-ratio on c2: 0.25 (BAD)"),
        "{err}"
    );
    // Every touched cluster is back on v1.
    for c in CLUSTERS {
        assert_eq!(e.version(c), "1", "{c} rolled back");
    }
    drop(prom);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_http_check_fails_the_batch_and_rolls_back() {
    let e = env("    checks: []\n");
    let addr = exporter(e.shop(&["c3"])).await;
    let analysis = format!(
        "    checks:\n      - name: healthz\n        http: {{url: \"http://{addr}/health/{{{{cluster.name}}}}\", status: 200, jsonPointer: /status}}\n        \
         successCondition: '== \"ok\"'\n"
    );
    e.repo.write("policies/rollout.yaml", &policy(&analysis));
    e.repo.commit("shop v1 with a health check");
    let (code, report, err) = e.apply().await;
    assert_eq!(code, 0, "{report}\n{err}");
    assert!(err.contains("analysis healthz on c3: \"ok\" (ok)"), "{err}");

    e.repo
        .write("apps/shop/manifests/all.yaml", &config_map("2"));
    e.repo.commit("shop v2");
    let (code, report, err) = e.apply().await;
    assert_eq!(code, 1, "{report}\n{err}");
    assert_eq!(report["outcome"], "rolledBack", "{report:#}");
    let failure = &report["failure"];
    assert_eq!(failure["cluster"], "c3");
    assert_eq!(failure["object"], "analysis healthz");
    assert_eq!(
        failure["reason"],
        format!("GET http://{addr}/health/c3 field /status gave \"degraded\", wanted == \"ok\" (1 bad result(s), failureLimit 1)")
    );
    for c in CLUSTERS {
        assert_eq!(e.version(c), "1", "{c} rolled back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_check_under_on_failure_pause_leaves_clusters_as_they_are() {
    let e = env("    checks: []\n");
    let addr = exporter(e.shop(&["c2"])).await;
    let analysis = format!(
        "    checks:\n      - name: healthz\n        http: {{url: \"http://{addr}/health/{{{{cluster.name}}}}\", jsonPointer: /status}}\n        \
         successCondition: '== \"ok\"'\n"
    );
    let paused = policy(&analysis).replace("onFailure: Rollback", "onFailure: Pause");
    e.repo.write("policies/rollout.yaml", &paused);
    e.repo.commit("shop v1, pause on failure");
    let (code, _, err) = e.apply().await;
    assert_eq!(code, 0, "{err}");
    e.repo
        .write("apps/shop/manifests/all.yaml", &config_map("2"));
    e.repo.commit("shop v2");
    let (code, report, err) = e.apply().await;
    assert_eq!(code, 1, "{report}\n{err}");
    assert_eq!(report["outcome"], "paused", "{report:#}");
    assert_eq!(report["failure"]["cluster"], "c2");
    assert!(report["rolledBack"].as_array().unwrap().is_empty());
    // Batch 1 and the failing batch keep v2; nothing was rolled back.
    assert_eq!(e.version("c1"), "2");
    assert_eq!(e.version("c2"), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_analysis_config_is_refused_naming_file_and_field() {
    let e = env(
        "    checks:\n      - name: error-ratio\n        prometheus: {query: 'sum(rate(errors{cluster=\"{{cluster.name}}\"}[1m])'}\n        \
         successCondition: \"< 0.01\"\n      - name: healthz\n        http: {url: \"not a url/{{cluster.name}}\"}\n      \
         - name: smoke\n        job: {manifest: {apiVersion: v1, kind: Pod, metadata: {name: p}}}\n",
    );
    e.repo.commit("bad analysis");
    let out = tranche(&["validate", &e.repo.path().display().to_string()]).await;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for piece in [
        "policies/rollout.yaml: spec.analysis.checks[0].prometheus.query: bad PromQL",
        "unclosed '('",
        "policies/rollout.yaml: spec.analysis.checks[0].prometheus.address: missing Prometheus address",
        "policies/rollout.yaml: spec.analysis.checks[1].http.url: \"not a url/{{cluster.name}}\" is not a URL",
        "policies/rollout.yaml: spec.analysis.checks[2].job.manifest: must be a Job (apiVersion: batch/v1, kind: Job)",
    ] {
        assert!(text.contains(piece), "missing {piece:?} in\n{text}");
    }
    // Nothing is applied from an invalid commit.
    let out = tranche(&[
        "apply",
        &e.repo.path().display().to_string(),
        "--clusters-dir",
        &e.clusters.path().display().to_string(),
        "--state-dir",
        &e.state.path().display().to_string(),
    ])
    .await;
    assert_ne!(out.status.code(), Some(0));
    assert!(!e
        .clusters
        .path()
        .join("c1")
        .join("core/ConfigMap/shop/web.yaml")
        .exists());
}

const TOKEN: &str = "s3cr3t-analysis-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_goes_only_to_its_url_and_redirects_are_not_followed() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Redirect};
    // Another host: records every request that reaches it.
    let reached: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = reached.clone();
    let elsewhere = axum::Router::new().fallback(move |headers: HeaderMap| {
        let log = log.clone();
        async move {
            let auth = headers
                .get("authorization")
                .map(|v| v.to_str().unwrap_or("?").to_string());
            log.lock().unwrap().push(format!("{auth:?}"));
            axum::Json(serde_json::json!({"status": "ok"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, elsewhere).await });
    // The checked host: /auth wants the token, /moved redirects elsewhere.
    let target = other.clone();
    let checked = axum::Router::new()
        .route(
            "/auth/{cluster}",
            get(|headers: HeaderMap| async move {
                let want = format!("Bearer {TOKEN}");
                match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                    Some(got) if got == want => {
                        axum::Json(serde_json::json!({"status": "ok"})).into_response()
                    }
                    _ => StatusCode::UNAUTHORIZED.into_response(),
                }
            }),
        )
        .route(
            "/moved/{cluster}",
            get(move |UrlPath(cluster): UrlPath<String>| {
                let target = target.clone();
                async move { Redirect::temporary(&format!("http://{target}/auth/{cluster}")) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, checked).await });

    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let tf = token_file.display();
    let e = env(&format!(
        "    checks:\n      - name: authed\n        http: {{url: \"http://{addr}/auth/{{{{cluster.name}}}}\", jsonPointer: /status, bearerTokenFile: \"{tf}\"}}\n        \
         successCondition: '== \"ok\"'\n      - name: moved\n        http: {{url: \"http://{addr}/moved/{{{{cluster.name}}}}\", bearerTokenFile: \"{tf}\"}}\n"
    ));
    e.repo.commit("checks with a token");
    let (code, report, err) = e.apply().await;
    assert_eq!(code, 1, "{report}\n{err}");
    assert_eq!(report["outcome"], "rolledBack", "{report:#}");
    assert!(
        err.contains("analysis authed on c1: \"ok\" (ok)"),
        "the token was sent to its URL:\n{err}"
    );
    assert_eq!(report["failure"]["object"], "analysis moved");
    assert_eq!(
        report["failure"]["reason"],
        format!("GET http://{addr}/moved/c1 gave status 307 (expected 2xx) (1 bad result(s), failureLimit 1)")
    );
    assert!(
        reached.lock().unwrap().is_empty(),
        "the redirect was followed: {:?}",
        reached.lock().unwrap()
    );
    let all = format!("{report}{err}");
    assert!(!all.contains(TOKEN), "the token leaked:\n{all}");
}
