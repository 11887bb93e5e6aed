use super::*;
use crate::model::analysis::{Op, Value};
use crate::model::ModelError;

const FILE: &str = "policies/rollout.yaml";

fn check(yaml: &str) -> (Analysis, Vec<ModelError>) {
    let spec: raw::AnalysisSpec = crate::yaml::from_str(yaml).unwrap();
    let mut p = Problems::default();
    let a = analysis(Loc::file(FILE), spec, &mut p);
    (a, p.finish(()).err().map(|e| e.0).unwrap_or_default())
}

fn messages(errors: &[ModelError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.location(), e.message))
        .collect()
}

#[test]
fn a_full_analysis_is_read() {
    let (a, errors) = check(
        r#"
interval: 2s
prometheus: {address: "http://prom.{{cluster.labels.region}}:9090"}
checks:
  - name: error-ratio
    prometheus: {query: 'sum(rate(errors{cluster="{{cluster.name}}"}[1m]))'}
    successCondition: "< 0.01"
    failureLimit: 3
  - name: healthz
    http: {url: "http://{{cluster.name}}.example/healthz", jsonPointer: /status}
    successCondition: '== "ok"'
  - name: smoke
    job:
      timeout: 1m
      manifest:
        apiVersion: batch/v1
        kind: Job
        metadata: {name: smoke}
        spec: {template: {spec: {restartPolicy: Never, containers: [{name: t, image: busybox}]}}}
"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(a.checks.len(), 3);
    let prom = &a.checks[0];
    assert_eq!(prom.failure_limit, 3);
    assert_eq!(prom.interval, Duration::from_secs(2));
    assert_eq!(
        prom.condition,
        Some(Condition {
            op: Op::Lt,
            value: Value::Number(0.01)
        })
    );
    match &prom.probe {
        Probe::Prometheus { address, .. } => {
            assert_eq!(
                address.source(),
                "http://prom.{{cluster.labels.region}}:9090"
            )
        }
        other => panic!("{other:?}"),
    }
    match &a.checks[2].probe {
        Probe::Job {
            manifest, timeout, ..
        } => {
            assert_eq!(manifest.pointer("/metadata/namespace").unwrap(), "default");
            assert_eq!(*timeout, Duration::from_secs(60));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_analysis_config_is_named_by_field() {
    let (_, errors) = check(
        r#"
checks:
  - name: no-address
    prometheus: {query: 'rate(x[1m]'}
    successCondition: "< 0.01"
  - name: bad-template
    prometheus: {query: 'up{cluster="{{cluster.nam}}"}', address: "http://p:9090"}
    successCondition: "<< 1"
  - name: bad-url
    http: {url: "ftp://{{cluster.name}}/x", status: 700}
  - name: two
    http: {url: "http://x"}
    job: {timeout: 1m}
  - name: not-a-job
    job: {manifest: {apiVersion: v1, kind: Pod, metadata: {name: p}}}
    failureLimit: 2
  - name: no-condition
    prometheus: {query: up, address: "http://p:9090"}
"#,
    );
    let m = messages(&errors);
    let expected = [
        "policies/rollout.yaml: spec.analysis.checks[0].prometheus.query: bad PromQL \"rate(x[1m]\": unclosed '('",
        "policies/rollout.yaml: spec.analysis.checks[0].prometheus.address: missing Prometheus address: set spec.analysis.prometheus.address or this check's prometheus.address",
        "policies/rollout.yaml: spec.analysis.checks[1].successCondition: \"<< 1\": \"< 1\" is neither a number nor a quoted string",
        "policies/rollout.yaml: spec.analysis.checks[1].prometheus.query: unknown placeholder {{cluster.nam}}: use {{cluster.name}} or {{cluster.labels.KEY}}",
        "policies/rollout.yaml: spec.analysis.checks[2].http.url: \"ftp://{{cluster.name}}/x\" is not an http(s) URL (scheme \"ftp\")",
        "policies/rollout.yaml: spec.analysis.checks[2].http.status: status 700 is invalid: an HTTP status is 100 to 599",
        "policies/rollout.yaml: spec.analysis.checks[3]: give exactly one of prometheus, http or job",
        "policies/rollout.yaml: spec.analysis.checks[4].failureLimit: does not apply to a job check: the Job must complete",
        "policies/rollout.yaml: spec.analysis.checks[4].job.manifest: must be a Job (apiVersion: batch/v1, kind: Job)",
        "policies/rollout.yaml: spec.analysis.checks[5].successCondition: missing: a Prometheus check needs a condition, e.g. \"< 0.01\"",
    ];
    for e in expected {
        assert!(m.contains(&e.to_string()), "missing {e}\nin {m:#?}");
    }
    assert_eq!(m.len(), expected.len(), "{m:#?}");
}

#[test]
fn durations_limits_and_names_are_checked() {
    let (_, errors) = check(
        r#"
interval: 0s
checks:
  - name: Bad_Name
    http: {url: "http://x/"}
    failureLimit: 0
  - name: dup
    http: {url: "http://x/"}
  - name: dup
    http: {url: "http://x/"}
    interval: soon
"#,
    );
    let m = messages(&errors);
    assert!(
        m.contains(
            &"policies/rollout.yaml: spec.analysis.interval: must be longer than 0s".to_string()
        ),
        "{m:#?}"
    );
    assert!(
        m.iter().any(|l| l.starts_with(
            "policies/rollout.yaml: spec.analysis.checks[0].name: invalid check name \"Bad_Name\""
        )),
        "{m:#?}"
    );
    assert!(m.contains(&"policies/rollout.yaml: spec.analysis.checks[0].failureLimit: failureLimit 0 is invalid: must be at least 1".to_string()), "{m:#?}");
    assert!(
        m.contains(
            &"policies/rollout.yaml: spec.analysis.checks[2].name: duplicate check name \"dup\""
                .to_string()
        ),
        "{m:#?}"
    );
    assert!(
        m.iter().any(|l| l.starts_with(
            "policies/rollout.yaml: spec.analysis.checks[2].interval: invalid duration \"soon\""
        )),
        "{m:#?}"
    );
}
