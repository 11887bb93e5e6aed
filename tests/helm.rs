//! Helm chart apps (issue 14) with the real helm v3.22.0 built by
//! scripts/build-tools.sh: the common render is byte-identical to `helm
//! template` of the same chart and values; a cluster with its own values
//! file runs exactly what `helm template` gives with that file added; a
//! failing chart and one that renders differently twice are invalid
//! commits naming the app; an unchanged app does not run helm again.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::FixtureRepo;
use tranche::git::RepoSource;
use tranche::revision::{Revision, RevisionError};
use tranche::sources::Sources;

const CLUSTERS: [(&str, &str); 2] = [("a", "eu"), ("b", "us")];
const PLACEMENT: &str = "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  \
clusterAffinity: {labelSelector: {}}\n  namespace: shop\n  replicaScheduling:\n    \
replicaSchedulingType: Divided\n    weightPreference:\n      staticWeightList:\n      \
- {targetCluster: {clusterNames: [a]}, weight: 2}\n      - {targetCluster: {clusterNames: [b]}, weight: 1}\n";
const HELM: &str = "apiVersion: tranche.dev/v1alpha1\nkind: HelmChart\nspec:\n  releaseName: shop\n  values:\n  - file: values/eu.yaml\n    targetCluster: {labelSelector: {matchLabels: {region: eu}}}\n";
const CHART: &str = "apiVersion: v2\nname: web\nversion: 1.2.3\nappVersion: \"1.27\"\n";
const VALUES: &str =
    "replicaCount: 6\nimage: {repository: nginx, tag: \"1.27\"}\ngreeting: hello\n";
const EU: &str = "image: {tag: \"1.27-eu\"}\ngreeting: bonjour\n";
const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
  labels: {chart: {{ .Chart.Name }}-{{ .Chart.Version }}}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ required "image.tag is required" .Values.image.tag }}"
        env: [{name: GREETING, value: {{ .Values.greeting | quote }}}]
"#;
const CONFIGMAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n\
data:\n  greeting: {{ .Values.greeting | quote }}\n";

fn helm() -> PathBuf {
    support::tools_dir().join("helm")
}

fn repo() -> FixtureRepo {
    let repo = FixtureRepo::new();
    for (c, region) in CLUSTERS {
        repo.write(
            &format!("clusters/{c}.yaml"),
            &format!("apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {c}, labels: {{region: {region}}}}}\n"),
        );
    }
    repo.write("apps/shop/placement.yaml", PLACEMENT)
        .write("apps/shop/helm.yaml", HELM)
        .write("apps/shop/chart/Chart.yaml", CHART)
        .write("apps/shop/chart/templates/deployment.yaml", DEPLOYMENT)
        .write("apps/shop/chart/templates/configmap.yaml", CONFIGMAP)
        .write("apps/shop/values.yaml", VALUES)
        .write("apps/shop/values/eu.yaml", EU);
    repo
}

fn sources(helm: &Path) -> Sources {
    Sources::new(None, Duration::from_secs(60)).with_helm(Some(helm.to_path_buf()))
}

fn read(repo: &FixtureRepo, sources: &Sources) -> Result<Revision, RevisionError> {
    let source = RepoSource::open(repo.path()).expect("open repo");
    Revision::read_with(&source, "HEAD", sources)
}

fn helm_template(repo: &FixtureRepo, values: &[&str]) -> String {
    let mut args = vec![
        "template",
        "shop",
        "apps/shop/chart",
        "--namespace",
        "shop",
        "--include-crds",
    ];
    for v in values {
        args.extend(["--values", v]);
    }
    let out = std::process::Command::new(helm())
        .args(&args)
        .current_dir(repo.path())
        .env("HOME", repo.path())
        .output()
        .expect("run helm");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn docs(text: &str) -> Vec<serde_json::Value> {
    tranche::yaml::parse_documents(text)
        .expect("yaml")
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn a_chart_renders_like_helm_template_with_per_cluster_values() {
    let repo = repo();
    repo.commit("chart app");
    let sources = sources(&helm());
    let source = RepoSource::open(repo.path()).expect("open repo");
    let snapshot = source.snapshot("HEAD").expect("snapshot");
    let prepared = sources.prepare(&snapshot).expect("renders");
    let ours =
        String::from_utf8_lossy(&prepared.snapshot.files["apps/shop/manifests/helm-template.yaml"])
            .into_owned();
    assert_eq!(
        ours,
        helm_template(&repo, &["apps/shop/values.yaml"]),
        "common render differs from helm template"
    );
    assert_eq!(
        prepared.renders[0]
            .tool
            .split(' ')
            .take(2)
            .collect::<Vec<_>>(),
        ["helm", "v3.22.0"]
    );

    let rev = read(&repo, &sources).expect("valid commit");
    let eu = docs(&helm_template(
        &repo,
        &["apps/shop/values.yaml", "apps/shop/values/eu.yaml"],
    ));
    let common = docs(&ours);
    for (cluster, expected, replicas) in [("a", &eu, 4), ("b", &common, 2)] {
        let objects = &rev.rendering.clusters[cluster].apps["shop"].objects;
        for want in expected.iter() {
            let name = want["metadata"]["name"].as_str().expect("name");
            let got = objects
                .iter()
                .find(|o| o.id.name == name)
                .expect("object rendered");
            assert_eq!(got.id.namespace.as_deref(), Some("shop"));
            assert_eq!(got.object.get("data"), want.get("data"), "{cluster} {name}");
            assert_eq!(
                got.object.pointer("/spec/template"),
                want.pointer("/spec/template"),
                "{cluster} {name}"
            );
            if want["kind"] == "Deployment" {
                assert_eq!(got.object["spec"]["replicas"], replicas, "split 2:1 of 6");
                assert_eq!(
                    got.object["metadata"]["labels"]["app.kubernetes.io/managed-by"],
                    "tranche"
                );
            }
        }
    }
}

#[test]
fn a_failing_chart_is_an_invalid_commit_naming_the_app() {
    let repo = repo();
    repo.write(
        "apps/shop/values.yaml",
        "replicaCount: 1\nimage: {repository: nginx}\n",
    )
    .write("apps/shop/values/eu.yaml", "greeting: hi\n");
    repo.commit("no image tag");
    let err = read(&repo, &sources(&helm())).expect_err("invalid");
    let text = err.to_string();
    assert!(matches!(err, RevisionError::Invalid { .. }), "{text}");
    assert!(
        text.contains(
            "apps/shop/helm.yaml: helm app shop: helm template shop apps/shop/chart failed"
        ) && text.contains("image.tag is required"),
        "{text}"
    );
}

#[test]
fn a_chart_that_renders_differently_twice_is_reported() {
    let repo = repo();
    repo.write(
        "apps/shop/chart/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: token}\nstringData:\n  token: {{ randAlphaNum 16 | quote }}\n",
    );
    repo.commit("random");
    let text = read(&repo, &sources(&helm()))
        .expect_err("invalid")
        .to_string();
    assert!(
        text.contains("apps/shop/helm.yaml: helm app shop: the chart renders differently on two runs of helm template"),
        "{text}"
    );
}

#[test]
fn an_unchanged_chart_is_not_templated_again() {
    use std::os::unix::fs::PermissionsExt;
    let repo = repo();
    repo.commit("chart app");
    let tmp = tempfile::tempdir().expect("temp dir");
    let log = tmp.path().join("calls");
    let wrapper = tmp.path().join("helm");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            helm().display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let templates = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == "template")
            .count()
    };
    let sources = sources(&wrapper);
    let first = read(&repo, &sources).expect("valid");
    // common values and the eu group, each run twice (determinism check)
    assert_eq!(templates(), 4);
    assert!(!first.renders[0].cached);
    repo.write("clusters/a.yaml", "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a, labels: {region: eu, tier: gold}}\n");
    repo.commit("a label that changes no group");
    let second = read(&repo, &sources).expect("valid");
    assert_eq!(templates(), 4, "an unchanged chart ran helm again");
    assert!(second.renders[0].cached);
    repo.write("apps/shop/values/eu.yaml", "greeting: salut\n");
    repo.commit("eu values");
    read(&repo, &sources).expect("valid");
    assert_eq!(templates(), 6, "only the eu group renders again");
}
