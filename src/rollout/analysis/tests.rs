use super::*;
use crate::model::analysis::{Condition, Probe, Template};
use std::time::Duration;

fn check(limit: u32) -> Check {
    Check {
        name: "error-ratio".into(),
        probe: Probe::Prometheus {
            query: Template::parse("up").unwrap(),
            address: Template::parse("http://p:9090").unwrap(),
            token_file: None,
        },
        condition: Some(Condition::parse("< 0.01").unwrap()),
        failure_limit: limit,
        interval: Duration::from_secs(1),
    }
}

fn values(v: &[(&str, f64)]) -> Reading {
    Reading::Values(
        v.iter()
            .map(|(l, n)| (l.to_string(), Value::Number(*n)))
            .collect(),
    )
}

#[test]
fn every_series_must_meet_the_condition() {
    let c = check(1);
    assert_eq!(
        judge(&c, values(&[("", 0.002)])),
        Verdict::Good("0.002".into())
    );
    assert_eq!(
        judge(&c, values(&[("{pod=\"a\"}", 0.0), ("{pod=\"b\"}", 0.5)])),
        Verdict::Bad("0.5 for {pod=\"b\"}".into())
    );
    assert_eq!(judge(&c, values(&[])), Verdict::Bad("no data".into()));
    assert_eq!(
        judge(&c, Reading::Error("connection refused".into())),
        Verdict::Bad("connection refused".into())
    );
}

#[test]
fn the_batch_fails_at_the_failure_limit_per_cluster() {
    let c = check(2);
    let mut t = Tally::default();
    let bad = Verdict::Bad("0.2".into());
    assert_eq!(t.record(&c, "c1", "query up", &bad), None);
    assert_eq!(t.record(&c, "c2", "query up", &bad), None);
    assert_eq!(
        t.record(&c, "c1", "query up", &Verdict::Good("0".into())),
        None
    );
    let f = t
        .record(&c, "c1", "query up", &bad)
        .expect("second bad result fails");
    assert_eq!(f.cluster, "c1");
    assert_eq!(
        f.to_string(),
        "c1 analysis error-ratio query up gave 0.2, wanted < 0.01 (2 bad result(s), failureLimit 2)"
    );
    assert_eq!(t.bad("error-ratio", "c2"), 1);
}

#[test]
fn a_fatal_reading_fails_at_once() {
    let c = check(5);
    let mut t = Tally::default();
    let f = t
        .record(
            &c,
            "c1",
            "query up",
            &Verdict::Fatal("cluster c1 has no label \"region\"".into()),
        )
        .unwrap();
    assert_eq!(f.reason, "query up: cluster c1 has no label \"region\"");
}
