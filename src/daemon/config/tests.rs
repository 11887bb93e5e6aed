//! Tests of the daemon's configuration file.

use super::preview::segment_matches;
use super::*;

fn parse(text: &str) -> Result<DaemonConfig, String> {
    let c: DaemonConfig = crate::yaml::from_str(text).map_err(|e| e.message)?;
    c.check()?;
    Ok(c)
}

#[test]
fn minimal_config_gets_defaults() {
    let c = parse("repo: {path: /srv/fleet}\n").unwrap();
    assert_eq!(c.repo.branch, "main");
    assert_eq!(c.poll_interval, Duration::from_secs(30));
    assert_eq!(c.listen, "127.0.0.1:8080");
    assert!(c.forge.is_none());
    // Regression: without `clusters:`, serde's derived default gave 0
    // (one cluster at a time, hidden by a `.max(1)`).
    assert_eq!(c.clusters.parallel, 8);
    let defaults = DaemonConfig {
        repo: RepoConfig {
            path: Some("/srv/fleet".into()),
            ..RepoConfig::default()
        },
        ..DaemonConfig::default()
    };
    assert_eq!(c, defaults, "a field left out takes its Default");
}

#[test]
fn a_partial_block_keeps_the_defaults_of_the_rest() {
    let c = parse("repo: {path: /x}\nclusters: {kubeconfig: /k}\nleaderElection: {leaseName: l}\n")
        .unwrap();
    assert_eq!(c.clusters.parallel, DEFAULT_PARALLEL);
    let le = c.leader_election.unwrap();
    assert_eq!(le.lease_name, "l");
    assert_eq!(le.namespace, "tranche-system");
    assert_eq!(le.renew_interval, Duration::from_secs(5));
    let c = parse("repo: {path: /x}\nclusters: {parallel: 3, maxInFlight: 4}\n").unwrap();
    assert_eq!(c.clusters.parallel, 3);
    assert_eq!(c.clusters.max_in_flight, 4);
    assert_eq!(
        parse("repo: {path: /x}\nclusters: {maxInFlight: 0}\n").unwrap_err(),
        "clusters: maxInFlight must be at least 1"
    );
}

#[test]
fn typos_and_contradictions_are_reported() {
    assert!(parse("repo: {path: /x}\npollIntervall: 3s\n")
        .unwrap_err()
        .contains("pollIntervall"));
    assert!(parse("repo: {path: /x, url: 'file:///y'}\n")
        .unwrap_err()
        .contains("either path or url"));
    assert!(parse("repo: {}\n").unwrap_err().contains("set path"));
    let e = parse("repo: {path: /x}\nclusters: {kubeconfig: /k, clustersDir: /d}\n").unwrap_err();
    assert!(e.contains("only one"), "{e}");
}

#[test]
fn preview_refs_match_exactly_by_branch_name_or_by_glob() {
    let p = |refs: &[&str]| PreviewConfig {
        refs: refs.iter().map(|r| r.to_string()).collect(),
        all_branches: false,
    };
    let exact = p(&["refs/pull/12/head", "feature"]);
    assert!(exact.wants("refs/pull/12/head"));
    assert!(!exact.wants("refs/pull/1/head"));
    assert!(exact.wants("refs/heads/feature"));
    assert!(!exact.wants("refs/heads/feature-2"));
    let globs = p(&["refs/pull/*/head", "release-*", "refs/heads/*-rc*"]);
    assert!(globs.wants("refs/pull/3/head"));
    assert!(!globs.wants("refs/pull/3/merge"));
    assert!(!globs.wants("refs/heads/pull/3/head"));
    assert!(globs.wants("refs/heads/release-1.2"));
    assert!(
        !globs.wants("refs/heads/release-1/x"),
        "* stays in one segment"
    );
    assert!(globs.wants("refs/heads/v2-rc1"));
    assert!(!globs.wants("refs/heads/v2"));
    assert!(!globs.wants("refs/merge-requests/7/head"));
    assert!(PreviewConfig {
        refs: vec![],
        all_branches: true
    }
    .wants("refs/merge-requests/7/head"));
    assert!(segment_matches("a*a", "aa"));
    assert!(!segment_matches("a*a", "a"));
    assert!(segment_matches("*", ""));
}
