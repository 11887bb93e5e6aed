//! Pull requests on a REAL Gitea v1.26.1 (tests/support/gitea) with the
//! real daemon (`tranche run`) on directory clusters: the one comment
//! tranche keeps on a pull request (created once, edited on each push,
//! then showing the rollout after the merge), and the commands people
//! give in comments and labels. Everything is read back through Gitea's
//! own API; comments and labels are Gitea's, delivered by its own signed
//! webhooks; permissions are Gitea's collaborator permissions.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::eventually;
use support::fixtures::deployment;
use support::gitea::pulls::Said;
use support::gitea::setup::{setup_with_scopes, GiteaSetup, DEPLOYMENT_FILE, WEBHOOK_SECRET};
use support::gitea::GiteaUser;

const MARKER: &str = "<!-- tranche:pull-request-comment -->";
const V2: &str = "registry.example.com/shop/web:2.0.0";
const V3: &str = "registry.example.com/shop/web:3.0.0";
const APPROVAL: &str = "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
     steps: [1, 1]\n  healthTimeout: 30s\n  bakeTime: 0s\n  onFailure: Rollback\n  approval: {before: [2]}\n";
const SECRET_V2: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ntype: Opaque\n\
     stringData:\n  password: hunter3-rotated-secret\n";

/// tranche's comments (with the marker) on `pr`.
async fn tranche_comments(s: &GiteaSetup, pr: u64) -> Vec<Said> {
    let mut all = s.comments(pr).await;
    all.retain(|c| c.body.contains(MARKER));
    all
}

/// Waits until tranche's comment on `pr` holds `text`; returns it.
async fn comment_saying(s: &GiteaSetup, pr: u64, text: &str) -> Said {
    eventually(
        &format!("tranche's comment on #{pr} saying {text:?}"),
        Duration::from_secs(90),
        || async {
            tranche_comments(s, pr)
                .await
                .into_iter()
                .find(|c| c.body.contains(text))
        },
    )
    .await
}

/// Waits for the bot's reply to `who` holding `text`.
async fn reply(s: &GiteaSetup, pr: u64, who: &GiteaUser, text: &str) -> String {
    let start = format!("@{}: ", who.name);
    eventually(
        &format!("a reply to {} on #{pr} saying {text:?}", who.name),
        Duration::from_secs(60),
        || async {
            s.comments(pr)
                .await
                .into_iter()
                .find(|c| {
                    c.author == s.bot.name && c.body.starts_with(&start) && c.body.contains(text)
                })
                .map(|c| c.body)
        },
    )
    .await
}

/// Whether a diff line starts with `sign` and holds `text`.
fn diff_line(body: &str, sign: char, text: &str) -> bool {
    body.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with(sign) && l.contains(text)
    })
}

fn record(dir: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("state/rollout.json")).ok()?;
    serde_json::from_str(&text).ok()
}

async fn awaiting_approval(dir: &Path) {
    eventually(
        "the rollout waits for approval",
        Duration::from_secs(90),
        || async {
            record(dir)
                .filter(|r| r["phase"] == "awaitingApproval")
                .map(|_| ())
        },
    )
    .await;
}

fn image_on(s: &GiteaSetup, cluster: &str) -> String {
    let text = s.cluster_file(cluster, DEPLOYMENT_FILE);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_gets_one_comment_and_its_rollout_is_controlled_from_comments_and_labels() {
    let s = setup_with_scopes("prs", &["write:repository", "write:issue"]).await;
    let full = s.repo.full_name();
    // Public, so that a stranger can comment; the bot is a repository
    // admin, which Gitea requires to read other people's permissions.
    s.gitea
        .api_ok(
            Method::PATCH,
            &format!("/repos/{full}"),
            Some(json!({"private": false})),
        )
        .await;
    s.gitea
        .add_collaborator(&s.repo, &s.bot.name, "admin")
        .await;
    let reviewer = s
        .gitea
        .create_user_with_scopes("prs-reviewer", &["write:issue", "write:repository"])
        .await;
    s.gitea
        .add_collaborator(&s.repo, &reviewer.name, "write")
        .await;
    let stranger = s
        .gitea
        .create_user_with_scopes("prs-stranger", &["write:issue"])
        .await;
    let daemon = s
        .daemon(
            "1s",
            "preview:\n  refs: [\"refs/pull/*/head\"]\npullRequests: {comment: true, commands: true}\n",
        )
        .await;
    s.final_statuses(&daemon, &s.v1, "tranche/rollout").await;
    s.gitea
        .add_webhook(
            &s.repo,
            &format!("{}/webhook", daemon.url),
            WEBHOOK_SECRET,
            &["push", "pull_request", "issue_comment"],
        )
        .await;
    let d = s.dir.path();

    // Opening the pull request: one comment with the plan.
    let (pr, head) = s
        .open_pull(
            "feature",
            &[
                ("policies/rollout.yaml", APPROVAL),
                ("apps/shop/manifests/deployment.yaml", &deployment(V2, 2)),
                ("apps/shop/manifests/secret.yaml", SECRET_V2),
            ],
            "web 2.0.0 with approval",
        )
        .await;
    let first = comment_saying(&s, pr, &format!("plan for `{}`", &head[..7])).await;
    assert_eq!(first.author, s.bot.name);
    let body = &first.body;
    for want in [
        "Merging this pull request would change **4** object(s) in **2** cluster(s), in 2 batch(es).",
        "| 1 | `a` | — |",
        "| 2 | `b` | a person's approval |",
        "- health: every changed workload healthy within 30s, then 0s of bake time",
        "- on failure: every touched cluster is rolled back",
        "**`a`**",
        "- update `Deployment shop/web` (app `shop`)",
        "- update `Secret shop/db` (app `shop`)",
        "```diff",
    ] {
        assert!(body.contains(want), "{want:?} not in:\n{body}");
    }
    assert!(
        diff_line(body, '+', "image: registry.example.com/shop/web:2.0.0"),
        "{body}"
    );
    assert!(
        diff_line(body, '-', "image: registry.example.com/shop/web:1.0.0"),
        "{body}"
    );
    assert!(
        !body.contains("hunter2") && !body.contains("hunter3"),
        "a Secret value in the comment:\n{body}"
    );

    // A push to the branch: the same comment, edited.
    s.local
        .write("apps/shop/manifests/deployment.yaml", &deployment(V2, 3));
    let head2 = s.local.commit("three replicas");
    s.gitea.push(s.local.path(), &s.repo, "feature");
    let edited = comment_saying(&s, pr, &format!("plan for `{}`", &head2[..7])).await;
    assert_eq!(edited.id, first.id, "edited in place");
    assert!(
        diff_line(&edited.body, '+', "replicas: 3"),
        "{}",
        edited.body
    );
    assert_eq!(
        tranche_comments(&s, pr).await.len(),
        1,
        "never a second comment"
    );

    // The merge: batch 1 (a) goes, batch 2 (b) waits, unwritten.
    let merged = s.merge(pr).await;
    awaiting_approval(d).await;
    assert_eq!(record(d).unwrap()["commit"], merged.as_str());
    assert_eq!(image_on(&s, "a"), V2);
    assert_eq!(image_on(&s, "b"), "registry.example.com/shop/web:1.0.0");
    let c = comment_saying(&s, pr, "waiting for approval").await;
    assert!(
        c.body
            .contains(&format!("#### Rollout of `{}`", &merged[..7])),
        "{}",
        c.body
    );
    assert!(c.body.contains("| 1 | `a` | ✅ healthy |"), "{}", c.body);

    // A stranger's approval is refused, with a reply; nothing moves.
    s.say(&stranger, pr, "/tranche approve").await;
    let r = reply(&s, pr, &stranger, "refused").await;
    assert!(
        r.contains("`approve` needs write access to the repository, and you have read access"),
        "{r}"
    );
    assert_eq!(record(d).unwrap()["phase"], "awaitingApproval");
    assert_eq!(image_on(&s, "b"), "registry.example.com/shop/web:1.0.0");

    // The reviewer pauses, then approves: still held by the pause.
    s.say(&reviewer, pr, "/tranche pause").await;
    let r = reply(&s, pr, &reviewer, "paused").await;
    assert!(
        r.contains("done: paused at batch 2 by prs-reviewer via a comment on #1"),
        "{r}"
    );
    s.say(&reviewer, pr, "Looks fine.\n/tranche approve").await;
    let r = reply(&s, pr, &reviewer, "approved").await;
    assert!(
        r.contains("done: batch 2 approved by prs-reviewer via a comment on #1"),
        "{r}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        image_on(&s, "b"),
        "registry.example.com/shop/web:1.0.0",
        "paused: b not written"
    );
    assert_eq!(
        record(d).unwrap()["paused"],
        "prs-reviewer via a comment on #1"
    );

    // The label tranche/resume resumes (and is taken off again).
    let label = s
        .gitea
        .api_ok(
            Method::POST,
            &format!("/repos/{full}/labels"),
            Some(json!({"name": "tranche/resume", "color": "#00aa00"})),
        )
        .await;
    let (code, answer) = s
        .gitea
        .api_as(
            &reviewer.token,
            Method::POST,
            &format!("/repos/{full}/issues/{pr}/labels"),
            Some(json!({"labels": [label["id"]]})),
        )
        .await;
    assert_eq!(code, 200, "{answer}");
    let r = reply(&s, pr, &reviewer, "tranche/resume").await;
    assert!(
        r.contains("done: resumed at batch 2 by prs-reviewer via the label tranche/resume on #1"),
        "{r}"
    );
    eventually("the rollout ends", Duration::from_secs(90), || async {
        (record(d).is_none() && image_on(&s, "b") == V2).then_some(())
    })
    .await;
    let c = comment_saying(&s, pr, "**Outcome**").await;
    assert!(
        c.body
            .contains("**Outcome**: ✅ deployed to 2 cluster(s) in 2 batch(es)"),
        "{}",
        c.body
    );
    assert!(c.body.contains("| 2 | `b` | ✅ healthy |"), "{}", c.body);
    eventually(
        "the label is taken off",
        Duration::from_secs(30),
        || async {
            let v = s
                .gitea
                .api_ok(
                    Method::GET,
                    &format!("/repos/{full}/issues/{pr}/labels"),
                    None,
                )
                .await;
            v.as_array().unwrap().is_empty().then_some(())
        },
    )
    .await;
    assert_eq!(tranche_comments(&s, pr).await.len(), 1);

    // A second pull request: its rollout is aborted from its comments,
    // while a command on the first one does not touch it.
    let (pr2, _) = s
        .open_pull(
            "web-3",
            &[("apps/shop/manifests/deployment.yaml", &deployment(V3, 3))],
            "web 3.0.0",
        )
        .await;
    comment_saying(&s, pr2, "plan for").await;
    let merged2 = s.merge(pr2).await;
    eventually("a runs 3.0.0", Duration::from_secs(90), || async {
        (record(d)
            .is_some_and(|r| r["commit"] == merged2.as_str() && r["phase"] == "awaitingApproval")
            && image_on(&s, "a") == V3)
            .then_some(())
    })
    .await;
    s.say(&reviewer, pr, "/tranche approve").await;
    let r = reply(&s, pr, &reviewer, "is not this pull request").await;
    assert!(
        r.contains(&format!(
            "refused: the rollout in flight is for {}",
            &merged2[..7]
        )),
        "{r}"
    );
    s.say(&reviewer, pr2, "/tranche abort").await;
    let r = reply(&s, pr2, &reviewer, "aborted").await;
    assert!(
        r.contains("done: aborted at batch 2 by prs-reviewer via a comment on #2: rolling back"),
        "{r}"
    );
    eventually("a is rolled back", Duration::from_secs(90), || async {
        (record(d).is_none() && image_on(&s, "a") == V2).then_some(())
    })
    .await;
    assert_eq!(image_on(&s, "b"), V2, "b untouched");
    let c = comment_saying(&s, pr2, "**Outcome**").await;
    assert!(c.body.contains("**Outcome**: ❌ rolled back"), "{}", c.body);
    s.assert_no_secrets_in(&daemon);
    for t in [&reviewer.token, &stranger.token] {
        assert!(!daemon.log().contains(t.as_str()));
    }
}
