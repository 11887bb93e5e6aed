//! The daemon against a REAL forge (issue 11): `tranche run` (the real
//! binary) deploys from a private repository on a real Gitea v1.26.1
//! (tests/support/gitea), cloned and fetched over HTTP with a bot's token,
//! onto directory clusters (this suite is about the forge, not Kubernetes).
//! Everything asserted about the forge is read back through Gitea's own
//! API: commit statuses, their creator and link; webhook deliveries are
//! Gitea's own, with its real signatures; previews land on the
//! `refs/pull/N/head` Gitea keeps for a pull request.

mod support;

use reqwest::Method;
use std::time::Duration;
use support::eventually;
use support::fixtures::deployment;
use support::gitea::setup::{lines, metric, setup, DEPLOYMENT_FILE, WEBHOOK_SECRET};
use tranche::report::{build_forge, CommitStatus, ForgeConfig, ForgeError, Provider, StatusState};

const V2: &str = "registry.example.com/shop/web:2.0.0";
const ROLLOUT: &str = "tranche/rollout";
const PLAN: &str = "tranche/plan";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_pushed_to_gitea_is_deployed_and_its_status_appears_on_the_commit_in_gitea() {
    let s = setup("deploy").await;
    let v1 = s.v1.clone();
    let daemon = s.daemon("1s", "").await;

    // The first commit: pending per batch, then success, all by the bot.
    let st = s.final_statuses(&daemon, &v1, ROLLOUT).await;
    let l = lines(&st);
    assert_eq!(
        l.first().unwrap(),
        "pending: batch 1/2 · 0/2 clusters",
        "{l:#?}"
    );
    assert_eq!(
        l.last().unwrap(),
        "success: deployed to 2 cluster(s) in 2 batch(es)",
        "{l:#?}"
    );
    assert!(
        st[..st.len() - 1].iter().all(|p| p.state == "pending"),
        "{l:#?}"
    );
    for p in &st {
        assert_eq!(p.creator, s.bot.name, "posted with the bot's token");
        assert_eq!(p.target_url, format!("{}/api/status", daemon.url));
    }
    assert_eq!(s.gitea.combined_state(&s.repo, &v1).await, "success");

    // A new commit pushed to Gitea is fetched over HTTP and deployed.
    s.local
        .write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let v2 = s.push_commit("shop 2.0.0");
    let st = s.final_statuses(&daemon, &v2, ROLLOUT).await;
    assert_eq!(st.last().unwrap().state, "success", "{:#?}", lines(&st));
    for c in ["a", "b"] {
        assert!(
            s.cluster_file(c, DEPLOYMENT_FILE).contains(V2),
            "{c} runs 2.0.0"
        );
    }

    // A bad commit: cluster b cannot store the new ConfigMap (its file's
    // place is taken), so batch 2 fails, a is rolled back, and Gitea shows
    // the failure with the reason.
    let blocked = s
        .dir
        .path()
        .join("clusters/b/core/ConfigMap/shop/flags.yaml");
    std::fs::create_dir_all(&blocked).unwrap();
    s.local.write(
        "apps/shop/manifests/flags.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\n  namespace: shop\ndata:\n  beta: \"true\"\n",
    );
    s.local.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:3.0.0", 2),
    );
    let v3 = s.push_commit("shop 3.0.0 with flags");
    let st = s.final_statuses(&daemon, &v3, ROLLOUT).await;
    let last = st.last().unwrap();
    assert_eq!(last.state, "failure", "{:#?}", lines(&st));
    assert!(
        last.description.starts_with("rolled back: b ")
            && last.description.contains("ConfigMap shop/flags")
            && last.description.contains("Is a directory"),
        "{}",
        last.description
    );
    assert_eq!(s.gitea.combined_state(&s.repo, &v3).await, "failure");
    assert!(
        s.cluster_file("a", DEPLOYMENT_FILE).contains(V2),
        "a is back on 2.0.0"
    );
    assert!(
        !s.dir
            .path()
            .join("clusters/a/core/ConfigMap/shop/flags.yaml")
            .exists(),
        "the rollback pruned what the bad commit added on a"
    );

    // An invalid commit is an error naming the file.
    s.local.write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAfinity: {}\n",
    );
    let v4 = s.push_commit("typo");
    let st = s.final_statuses(&daemon, &v4, ROLLOUT).await;
    let last = st.last().unwrap();
    assert_eq!(last.state, "error", "{:#?}", lines(&st));
    assert!(
        last.description
            .starts_with("invalid: apps/shop/placement.yaml"),
        "{}",
        last.description
    );
    s.assert_no_secrets_in(&daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitea_webhook_delivery_fetches_at_once_and_one_with_a_wrong_secret_is_refused() {
    let s = setup("hooks").await;
    let v1 = s.v1.clone();
    // Fetching is hourly: after the first clone only a webhook makes the daemon look.
    let daemon = s.daemon("1h", "").await;
    s.final_statuses(&daemon, &v1, ROLLOUT).await;
    let hook_url = format!("{}/webhook", daemon.url);
    let hook = s
        .gitea
        .add_webhook(&s.repo, &hook_url, "not-the-secret", &["push"])
        .await;

    // Gitea signs with the wrong secret: refused, nothing fetched.
    s.local
        .write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let v2 = s.push_commit("shop 2.0.0");
    let refused = "tranche_webhook_deliveries_total{result=\"refused\"}";
    eventually(
        "Gitea's delivery refused",
        Duration::from_secs(60),
        || async { (metric(&daemon, refused).await >= 1).then_some(()) },
    )
    .await;
    assert!(
        daemon
            .log()
            .contains("gitea webhook signature does not match"),
        "{}",
        daemon.log()
    );
    assert!(
        s.gitea.statuses(&s.repo, &v2).await.is_empty(),
        "v2 was not fetched"
    );
    assert_eq!(
        daemon.json("/api/status").await["last"]["commit"],
        v1.as_str()
    );

    // With the right secret (a new hook: Gitea's API cannot change a
    // hook's secret), Gitea's next push delivery fetches at once.
    s.gitea.delete_webhook(&s.repo, hook).await;
    s.gitea
        .add_webhook(&s.repo, &hook_url, WEBHOOK_SECRET, &["push"])
        .await;
    s.local.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:3.0.0", 2),
    );
    let v3 = s.push_commit("shop 3.0.0");
    let st = s.final_statuses(&daemon, &v3, ROLLOUT).await;
    assert_eq!(st.last().unwrap().state, "success", "{:#?}", lines(&st));
    assert!(
        metric(
            &daemon,
            "tranche_webhook_deliveries_total{result=\"accepted\"}"
        )
        .await
            >= 1
    );
    // v2, jumped over on the fetched branch, is reported superseded.
    let st = s.final_statuses(&daemon, &v2, ROLLOUT).await;
    let last = st.last().unwrap();
    assert_eq!(last.state, "error");
    assert!(
        last.description
            .starts_with(&format!("superseded by {}", &v3[..7])),
        "{}",
        last.description
    );
    for c in ["a", "b"] {
        assert!(
            s.cluster_file(c, DEPLOYMENT_FILE).contains("web:3.0.0"),
            "{c}"
        );
    }
    s.assert_no_secrets_in(&daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitea_pull_request_head_gets_a_plan_preview_and_is_never_applied() {
    let s = setup("preview").await;
    let v1 = s.v1.clone();
    let daemon = s
        .daemon("1h", "preview:\n  refs: [\"refs/pull/*/head\"]\n")
        .await;
    s.final_statuses(&daemon, &v1, ROLLOUT).await;
    let hook_url = format!("{}/webhook", daemon.url);
    s.gitea
        .add_webhook(
            &s.repo,
            &hook_url,
            WEBHOOK_SECRET,
            &["push", "pull_request", "create"],
        )
        .await;

    // A branch alone is not previewed (the pattern names pull requests);
    // opening a pull request from it is.
    s.local.git(&["checkout", "-q", "-b", "feature"]);
    s.local.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:5.0.0", 2),
    );
    let head = s.local.commit("try 5.0.0");
    s.gitea.push(s.local.path(), &s.repo, "feature");
    let pr = s
        .gitea
        .create_pull(&s.repo, "feature", "main", "Try 5.0.0")
        .await;
    let st = s.final_statuses(&daemon, &head, PLAN).await;
    assert_eq!(
        st.first().unwrap().description,
        format!("planning refs/pull/{pr}/head"),
        "{:#?}",
        lines(&st)
    );
    let last = st.last().unwrap();
    assert_eq!(last.state, "success");
    assert_eq!(last.description, "would change 2 objects in 2 clusters");
    assert_eq!(last.creator, s.bot.name);
    assert!(s
        .gitea
        .statuses_of(&s.repo, &head, ROLLOUT)
        .await
        .is_empty());

    // Pushing to the PR branch updates refs/pull/N/head: a new preview.
    s.local.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:5.0.1", 3),
    );
    let head2 = s.local.commit("try 5.0.1");
    s.gitea.push(s.local.path(), &s.repo, "feature");
    let st = s.final_statuses(&daemon, &head2, PLAN).await;
    assert_eq!(st.last().unwrap().state, "success", "{:#?}", lines(&st));
    let pull = s
        .gitea
        .api_ok(
            Method::GET,
            &format!("/repos/{}/pulls/{pr}", s.repo.full_name()),
            None,
        )
        .await;
    assert_eq!(pull["head"]["sha"], head2.as_str());
    for c in ["a", "b"] {
        assert!(
            s.cluster_file(c, DEPLOYMENT_FILE).contains("web:1.0.0"),
            "{c}: a preview never applies"
        );
    }
    let accepted = "tranche_webhook_deliveries_total{result=\"accepted\"}";
    assert!(metric(&daemon, accepted).await >= 2);
    // Gitea's `create` delivery (the new branch) is verified, then ignored.
    let ignored = "tranche_webhook_deliveries_total{result=\"ignored\"}";
    eventually(
        "Gitea's create delivery ignored",
        Duration::from_secs(30),
        || async { (metric(&daemon, ignored).await >= 1).then_some(()) },
    )
    .await;
    assert!(daemon.log().contains("event=create"), "{}", daemon.log());
    s.assert_no_secrets_in(&daemon);
}

/// The Gitea provider on its own, against Gitea itself: what it sends is
/// stored as sent (description cut to 255), and Gitea's refusals come back
/// as the right errors, without the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gitea_provider_against_gitea_itself() {
    tranche::cluster::install_crypto_provider();
    let s = setup("provider").await;
    let v1 = s.v1.clone();
    let forge_as = |token_file: &str| {
        let config = ForgeConfig {
            provider: Provider::Gitea,
            api_url: Some(format!("{}/", s.gitea.url)),
            repository: s.repo.full_name(),
            token_file: Some(s.dir.path().join(token_file)),
            token_env: None,
        };
        build_forge(&config).unwrap()
    };
    let forge = forge_as("bot-token");
    let long = format!("rolled back: b {}", "x".repeat(300));
    let status = CommitStatus::new("tranche/cluster/b", StatusState::Failure, &long)
        .with_target_url("http://tranche.example/api/status");
    forge.set_status(&v1, &status).await.unwrap();
    let stored = s.gitea.statuses(&s.repo, &v1).await;
    let got = stored.last().unwrap();
    assert_eq!(
        (got.state.as_str(), got.context.as_str()),
        ("failure", "tranche/cluster/b")
    );
    assert_eq!(got.description.chars().count(), 255);
    assert!(got.description.ends_with('…'));
    assert_eq!(got.target_url, "http://tranche.example/api/status");
    assert_eq!(got.creator, s.bot.name);

    // A commit Gitea does not have: Gitea answers 500, the provider finds
    // out why, and the error is not retried.
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    let err = forge.set_status(unknown, &status).await.unwrap_err();
    assert!(matches!(err, ForgeError::UnknownCommit { .. }), "{err}");
    assert!(!err.is_transient());
    assert!(err.to_string().contains(&s.repo.full_name()), "{err}");

    // Read access only: 403 with Gitea's reason, not retried, no token.
    let reader = s.gitea.create_user("provider-reader").await;
    s.gitea
        .add_collaborator(&s.repo, &reader.name, "read")
        .await;
    std::fs::write(s.dir.path().join("reader-token"), &reader.token).unwrap();
    let err = forge_as("reader-token")
        .set_status(&v1, &status)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Http { status: 403, .. }) && !err.is_transient(),
        "{err}"
    );
    assert!(err.to_string().contains("permission to write"), "{err}");
    assert!(!err.to_string().contains(&reader.token));

    // A token Gitea does not know: 401.
    std::fs::write(s.dir.path().join("bad-token"), "0".repeat(40)).unwrap();
    let err = forge_as("bad-token")
        .set_status(&v1, &status)
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Http { status: 401, .. }), "{err}");
}
