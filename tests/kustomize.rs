//! Kustomize apps (issue 14) with the real kustomize v5.8.1 built by
//! scripts/build-tools.sh: the build's output is byte-identical to
//! `kustomize build` of the same tree before tranche's own steps, then
//! placed, split and stamped like plain manifests; remote bases are
//! refused before kustomize runs; failures name the app; and an unchanged
//! app is not built again (a wrapper script counts the builds).

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::FixtureRepo;
use tranche::git::RepoSource;
use tranche::revision::{Revision, RevisionError};
use tranche::sources::{KustomizeCommand, Sources};

const CLUSTER: &str = "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {name: NAME, labels: {env: prod}}\n";
const PLACEMENT: &str = "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  \
clusterAffinity: {labelSelector: {}}\n  namespace: shop\n  replicaScheduling:\n    \
replicaSchedulingType: Divided\n    weightPreference:\n      staticWeightList:\n      \
- {targetCluster: {clusterNames: [a]}, weight: 2}\n      - {targetCluster: {clusterNames: [b]}, weight: 1}\n";
const BASE: &str = "resources: [deployment.yaml, service.yaml]\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  \
replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    \
spec: {containers: [{name: web, image: nginx:1.27}]}\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  \
selector: {app: web}\n  ports: [{port: 80}]\n";
const OVERLAY: &str =
    "resources: [../base]\nnamePrefix: prod-\nlabels:\n- pairs: {tier: frontend}\n  \
includeSelectors: false\nconfigMapGenerator:\n- name: settings\n  literals: [mode=prod]\n\
patches:\n- target: {kind: Deployment, name: web}\n  patch: |-\n    - op: replace\n      \
path: /spec/replicas\n      value: 6\n";

fn kustomize() -> PathBuf {
    support::tools_dir().join("kustomize")
}

/// A fleet with clusters a and b and the kustomize app `shop` (an overlay
/// over `apps/shop/base`), plus a plain app `notes`.
fn repo() -> FixtureRepo {
    let repo = FixtureRepo::new();
    for c in ["a", "b"] {
        repo.write(&format!("clusters/{c}.yaml"), &CLUSTER.replace("NAME", c));
    }
    repo.write("apps/shop/placement.yaml", PLACEMENT)
        .write("apps/shop/base/kustomization.yaml", BASE)
        .write("apps/shop/base/deployment.yaml", DEPLOYMENT)
        .write("apps/shop/base/service.yaml", SERVICE)
        .write("apps/shop/manifests/kustomization.yaml", OVERLAY)
        .write(
            "apps/notes/placement.yaml",
            &PLACEMENT.replace("shop", "notes"),
        )
        .write(
            "apps/notes/manifests/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata: {v: '1'}\n",
        );
    repo
}

fn read(repo: &FixtureRepo, sources: &Sources) -> Result<Revision, RevisionError> {
    let source = RepoSource::open(repo.path()).expect("open repo");
    Revision::read_with(&source, "HEAD", sources)
}

fn sources(kustomize: &Path) -> Sources {
    Sources::new(
        Some(KustomizeCommand::Kustomize(kustomize.to_path_buf())),
        Duration::from_secs(60),
    )
}

/// A wrapper that logs each call's first argument to `log`, then runs
/// the real kustomize.
fn counting_wrapper(dir: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("kustomize");
    let script = format!(
        "#!/bin/sh\necho \"$1\" >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        kustomize().display()
    );
    std::fs::write(&path, script).expect("write wrapper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn builds(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == "build")
        .count()
}

#[test]
fn an_overlay_renders_byte_identical_to_kustomize_build_then_splits() {
    let repo = repo();
    repo.commit("kustomize app");
    let sources = sources(&kustomize());
    let source = RepoSource::open(repo.path()).expect("open repo");
    let snapshot = source.snapshot("HEAD").expect("snapshot");
    let prepared = sources.prepare(&snapshot).expect("renders");

    let direct = std::process::Command::new(kustomize())
        .args(["build", "apps/shop/manifests"])
        .current_dir(repo.path())
        .output()
        .expect("run kustomize");
    assert!(direct.status.success(), "{direct:?}");
    let ours = &prepared.snapshot.files["apps/shop/manifests/kustomization.yaml"];
    assert_eq!(
        String::from_utf8_lossy(ours),
        String::from_utf8_lossy(&direct.stdout),
        "tranche's kustomize output differs from `kustomize build`"
    );
    assert_eq!(prepared.renders.len(), 1);
    assert!(
        prepared.renders[0].tool.starts_with("kustomize v5.8.1 ("),
        "{:?}",
        prepared.renders[0]
    );

    // then tranche's own steps: namespace, 2:1 split of the patched 6, stamps
    let rev = read(&repo, &sources).expect("valid commit");
    let replicas = |cluster: &str| {
        let app = &rev.rendering.clusters[cluster].apps["shop"];
        let deploy = app
            .objects
            .iter()
            .find(|o| o.id.kind == "Deployment")
            .expect("deployment");
        assert_eq!(deploy.id.name, "prod-web");
        assert_eq!(deploy.id.namespace.as_deref(), Some("shop"));
        assert_eq!(deploy.object["metadata"]["labels"]["tier"], "frontend");
        assert_eq!(
            deploy.object["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "tranche"
        );
        assert!(deploy
            .source
            .starts_with("apps/shop/manifests/kustomization.yaml[doc "));
        let generated = app
            .objects
            .iter()
            .any(|o| o.id.name.starts_with("prod-settings-"));
        assert!(generated, "the generated ConfigMap is applied too");
        deploy.object["spec"]["replicas"].as_u64()
    };
    assert_eq!((replicas("a"), replicas("b")), (Some(4), Some(2)));
}

#[test]
fn a_remote_base_is_refused_naming_the_app_and_file_before_kustomize_runs() {
    let repo = repo();
    repo.write(
        "apps/shop/manifests/kustomization.yaml",
        "resources:\n- ../base\n- https://github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6\n",
    );
    repo.commit("remote base");
    let tmp = tempfile::tempdir().expect("temp dir");
    let log = tmp.path().join("calls");
    let wrapper = counting_wrapper(tmp.path(), &log);
    let out = support::tranche_blocking(&["validate", repo.path().to_str().expect("utf-8")]);
    // the CLI reads TRANCHE_KUSTOMIZE; run it again with the wrapper
    let with_env = std::process::Command::new(env!("CARGO_BIN_EXE_tranche"))
        .args(["validate", repo.path().to_str().expect("utf-8")])
        .env("TRANCHE_KUSTOMIZE", &wrapper)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tranche");
    for out in [out, with_env] {
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("apps/shop/manifests/kustomization.yaml: resources[1]: kustomize app shop: remote base \"https://github.com/"),
            "{stderr}"
        );
    }
    assert_eq!(
        builds(&log),
        0,
        "kustomize must not run for a refused commit"
    );
}

#[test]
fn a_failing_build_is_an_invalid_commit_naming_the_app_and_stderr() {
    let repo = repo();
    repo.write(
        "apps/shop/manifests/kustomization.yaml",
        "resources: [../base]\npatches:\n- path: missing-patch.yaml\n",
    );
    repo.commit("broken overlay");
    let err = read(&repo, &sources(&kustomize())).expect_err("invalid commit");
    let text = err.to_string();
    assert!(matches!(err, RevisionError::Invalid { .. }), "{text}");
    assert!(
        text.contains("apps/shop/manifests/kustomization.yaml: kustomize app shop: kustomize build apps/shop/manifests failed")
            && text.contains("missing-patch.yaml"),
        "{text}"
    );
}

#[test]
fn a_missing_or_hanging_tool_is_a_per_app_error() {
    let repo = repo();
    repo.commit("kustomize app");
    let missing = read(&repo, &sources(Path::new("/nonexistent/kustomize")))
        .expect_err("no tool")
        .to_string();
    assert!(
        missing.contains("apps/shop/manifests/kustomization.yaml: kustomize app shop: cannot run /nonexistent/kustomize"),
        "{missing}"
    );

    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    let slow = tmp.path().join("kustomize");
    // answers `version` like kustomize, then hangs on `build`
    std::fs::write(
        &slow,
        "#!/bin/sh\n[ \"$1\" = version ] && { echo v5.8.1; exit 0; }\nexec sleep 30\n",
    )
    .expect("write");
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let sources = Sources::new(
        Some(KustomizeCommand::Kustomize(slow)),
        Duration::from_secs(1),
    );
    let hung = read(&repo, &sources).expect_err("timeout").to_string();
    assert!(
        hung.contains(
            "kustomize app shop: kustomize build apps/shop/manifests did not finish within 1s"
        ),
        "{hung}"
    );
}

#[test]
fn an_unchanged_app_is_not_built_again() {
    let repo = repo();
    repo.commit("kustomize app");
    let tmp = tempfile::tempdir().expect("temp dir");
    let log = tmp.path().join("calls");
    let sources = sources(&counting_wrapper(tmp.path(), &log));

    let first = read(&repo, &sources).expect("valid");
    assert_eq!(builds(&log), 1);
    assert!(!first.renders[0].cached);

    // another app changes: shop's tree is the same, no build
    repo.write(
        "apps/notes/manifests/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata: {v: '2'}\n",
    );
    repo.commit("notes only");
    let second = read(&repo, &sources).expect("valid");
    assert_eq!(
        builds(&log),
        1,
        "an unchanged kustomize app ran the tool again"
    );
    assert!(second.renders[0].cached);
    let specs = |rev: &Revision| -> Vec<_> {
        rev.rendering.clusters["a"].apps["shop"]
            .objects
            .iter()
            .map(|o| (o.id.clone(), o.object.get("spec").cloned()))
            .collect()
    };
    assert_eq!(
        specs(&first),
        specs(&second),
        "the cached output renders the same"
    );

    // its base changes: built again
    repo.write(
        "apps/shop/base/deployment.yaml",
        &DEPLOYMENT.replace("1.27", "1.28"),
    );
    repo.commit("new image");
    let third = read(&repo, &sources).expect("valid");
    assert_eq!(builds(&log), 2);
    assert!(!third.renders[0].cached);
}
