//! Secret values never reach a message (issue 9, item 3): the real binary
//! on real git repositories, directory clusters, and the daemon posting
//! commit statuses to a local forge stand-in.
//!
//! * an image override whose predicate points into a Secret's `stringData`
//!   is refused without quoting the Secret (validate, and the daemon's
//!   commit status);
//! * Secrets whose `data`/`stringData` is not a map of strings are masked
//!   by `plan` (text and JSON);
//! * a repository URL whose password holds `@` is redacted whole.

mod support;

use std::time::Duration;
use support::daemon::{free_port, Daemon};
use support::fixtures::shop_repo;
use support::forge::{descriptions, ForgeStub};
use support::{eventually, tranche};

/// The shop Secret's password (tests/support/fixtures.rs).
const PASSWORD: &str = "hunter2-very-secret";

const IMAGE_ON_SECRET: &str = "apiVersion: tranche.dev/v1alpha1\nkind: Override\nmetadata: {name: image}\n\
spec:\n  resourceSelectors: [{kind: Secret, name: db}]\n  overrideRules:\n  - overriders:\n      \
imageOverrider:\n      - component: Tag\n        operator: replace\n        value: '2'\n        \
predicate: {path: /stringData}\n      - component: Tag\n        operator: replace\n        value: '2'\n        \
predicate: {path: /stringData/password}\n";

fn text(out: &std::process::Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn an_image_override_on_secret_string_data_never_prints_the_value() {
    let repo = shop_repo(&["a"]);
    repo.write("apps/shop/overrides/image.yaml", IMAGE_ON_SECRET);
    let sha = repo.commit("image override on a secret");
    let out = tranche(&["validate", &repo.path().display().to_string()]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("apps/shop/overrides/image.yaml: spec.overrideRules[0].overriders.image[0]"),
        "{all}"
    );
    assert!(
        all.contains("/stringData: a mapping is not an image reference"),
        "{all}"
    );
    assert!(!all.contains(PASSWORD), "{all}");

    // The daemon posts the first problem as the commit status: no value there either.
    let forge = ForgeStub::start(false).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  clustersDir: {clusters}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\npublicUrl: http://127.0.0.1:{port}\n\
         forge:\n  provider: github\n  apiUrl: {forge}\n  repository: acme/fleet\n  \
         tokenEnv: TRANCHE_TEST_FORGE_TOKEN\nresyncInterval: 0s\n",
        repo = repo.path().display(),
        clusters = dir.path().join("clusters").display(),
        state = dir.path().join("state").display(),
        forge = forge.url,
    );
    let daemon = Daemon::start(dir.path(), "d", &config, port).await;
    let posted = eventually("a final status", Duration::from_secs(60), || async {
        let s = forge.for_commit(&sha, "tranche/rollout");
        s.last().filter(|p| p.state != "pending").map(|_| s.clone())
    })
    .await;
    let d = descriptions(&posted);
    assert!(d.last().is_some_and(|s| s.starts_with("error: ")), "{d:#?}");
    assert!(d.iter().all(|s| !s.contains(PASSWORD)), "{d:#?}");
    assert!(!daemon.log().contains(PASSWORD), "{}", daemon.log());
    assert!(!dir.path().join("clusters/a").exists(), "nothing applied");
}

#[tokio::test]
async fn secrets_of_any_shape_are_masked_by_plan() {
    let values = [
        "c2VjcmV0LWFzLWEtc3RyaW5n",
        "c2VjcmV0LWluLWEtbGlzdA==",
        "c2VjcmV0LW5lc3RlZA==",
        "plain-nested-secret",
        "string-data-in-a-list",
    ];
    let repo = shop_repo(&["a"]);
    repo.write(
        "apps/shop/manifests/odd-secrets.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: as-string, namespace: shop}}\ndata: {}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: as-list, namespace: shop}}\ndata: [{}]\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: nested, namespace: shop}}\n\
             data: {{outer: {{inner: {}}}}}\nstringData: {{deep: {{deeper: [{}]}}}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: string-list, namespace: shop}}\n\
             stringData: [{}]\n",
            values[0], values[1], values[2], values[3], values[4]
        ),
    );
    repo.commit("odd secrets");
    let clusters = tempfile::tempdir().expect("temp dir");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "plan".to_string(),
            repo.path().display().to_string(),
            "--clusters-dir".to_string(),
            clusters.path().display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let check = |out: &std::process::Output, what: &str| {
        let all = text(out);
        assert_eq!(out.status.code(), Some(3), "{what}: changes pending\n{all}");
        for v in values.iter().chain([&PASSWORD]) {
            assert!(!all.contains(v), "{what}: {v} leaked\n{all}");
        }
        all
    };
    for extra in [&[][..], &["-o", "json"][..]] {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let all = check(&tranche(&a).await, &format!("plan {extra:?}"));
        assert!(all.contains("as-list"), "{all}");
    }
    // Applied, then changed: the update's diff and patch are masked too.
    let state = tempfile::tempdir().expect("temp dir");
    let out = tranche(&[
        "apply",
        &repo.path().display().to_string(),
        "--clusters-dir",
        &clusters.path().display().to_string(),
        "--state-dir",
        &state.path().display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let changed = std::fs::read_to_string(repo.path().join("apps/shop/manifests/odd-secrets.yaml"))
        .expect("read")
        .replace(values[1], "bmV3LWxpc3QtdmFsdWU=");
    repo.write("apps/shop/manifests/odd-secrets.yaml", &changed);
    repo.commit("change a list secret");
    for extra in [&[][..], &["-o", "json"][..]] {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = tranche(&a).await;
        let all = check(&out, &format!("plan of the update {extra:?}"));
        assert!(!all.contains("bmV3LWxpc3QtdmFsdWU="), "{all}");
        assert!(all.contains("*** (after)"), "{all}");
    }
}

#[tokio::test]
async fn a_repo_url_password_holding_at_signs_is_redacted_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens on port 1: the clone fails and the error names the URL.
    let url = "https://bot:p@ss-w0rd@127.0.0.1:1/acme/fleet.git";
    let out = tranche(&[
        "run",
        "--repo-url",
        url,
        "--state-dir",
        &dir.path().join("state").display().to_string(),
        "--clusters-dir",
        &dir.path().join("clusters").display().to_string(),
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("https://***@127.0.0.1:1/acme/fleet.git"),
        "{all}"
    );
    for part in ["p@ss", "ss-w0rd", "w0rd", "bot:"] {
        assert!(!all.contains(part), "{part} leaked\n{all}");
    }
}
