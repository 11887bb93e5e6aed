//! The whole pull-request path against GitHub's and GitLab's wire formats
//! (no real GitHub or GitLab can run here): `tranche run` (the real binary)
//! on directory clusters, a repository fetched over `file://` whose
//! `refs/pull/7/head` (`refs/merge-requests/7/head`) plays the forge's
//! pull request ref, the stand-in API of tests/support/forge_talk.rs, and
//! `issue_comment` deliveries signed as GitHub signs them (GitLab: `Note
//! Hook` with `X-Gitlab-Token`). The comment is
//! created once and edited on the next push; after the merge a reader's
//! `/tranche approve` is refused with a reply while batch 2 stays
//! unwritten, a writer's goes through, and the comment ends with the
//! outcome. Gitea is tested for real in tests/pull_requests.rs.

mod support;

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use support::daemon::{free_port, github_signature, Daemon};
use support::eventually;
use support::fixtures::{deployment, shop_repo};
use support::forge_talk::{serve, Shared};
use tranche::report::forge::Provider;

const MARKER: &str = "<!-- tranche:pull-request-comment -->";
const SECRET: &str = "github-hook-secret";
const V2: &str = "registry.example.com/shop/web:2.0.0";
const APPROVAL: &str = "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
     steps: [1, 1]\n  healthTimeout: 30s\n  bakeTime: 0s\n  onFailure: Rollback\n  approval: {before: [2]}\n";

fn image_on(dir: &Path, cluster: &str) -> Option<String> {
    let file = dir
        .join("clusters")
        .join(cluster)
        .join("apps/Deployment/shop/web.yaml");
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .map(str::to_string)
}

fn record(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("state/rollout.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Comments of pull request 7 on the stand-in: (id, body).
fn comments(forge: &Shared) -> Vec<(u64, String)> {
    forge.lock().unwrap().comments.clone()
}

async fn tranche_comment_saying(forge: &Shared, daemon: &Daemon, text: &str) -> (u64, String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found = comments(forge)
            .into_iter()
            .find(|(_, b)| b.contains(MARKER) && b.contains(text));
        if let Some(c) = found {
            return c;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no comment saying {text:?} in {:#?}\ndaemon log:\n{}",
            comments(forge),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn comment_webhook(url: &str, login: &str, body: &str) {
    let payload = json!({
        "action": "created",
        "issue": {"number": 7, "pull_request": {"url": "https://api.github.com/repos/acme/fleet/pulls/7"}},
        "comment": {"id": 1, "body": body, "user": {"login": login, "id": 100}},
        "sender": {"login": login},
    })
    .to_string();
    let status = reqwest::Client::new()
        .post(format!("{url}/webhook"))
        .header("X-GitHub-Event", "issue_comment")
        .header(
            "X-Hub-Signature-256",
            github_signature(SECRET, payload.as_bytes()),
        )
        .header("Content-Type", "application/json")
        .body(payload)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_pull_request_comment_and_its_commands_on_the_wire() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (api, forge) = serve(Provider::Github).await;
    let repo = shop_repo(&["a", "b"]);
    let v1 = repo.commit("shop v1");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), "ghp_pr_token_never_logged\n").unwrap();
    std::fs::write(d.join("secret"), SECRET).unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  url: file://{repo}\n  branch: main\npollInterval: 1s\nclusters:\n  clustersDir: {d}/clusters\n\
         stateDir: {d}/state\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\n\
         forge:\n  provider: github\n  apiUrl: {api}\n  repository: acme/fleet\n  tokenFile: {d}/token\n\
         webhook:\n  secretFile: {d}/secret\npreview:\n  refs: [\"refs/pull/*/head\"]\npullRequests: {{}}\n",
        repo = repo.path().display(),
        d = d.display(),
    );
    let daemon = Daemon::start(d, "d", &config, port).await;
    eventually("v1 deployed", Duration::from_secs(60), || async {
        (record(d).is_none() && image_on(d, "b").is_some()).then_some(())
    })
    .await;

    // The pull request's head: previewed, one comment posted.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("policies/rollout.yaml", APPROVAL);
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let head = repo.commit("web 2.0.0");
    repo.git(&["update-ref", "refs/pull/7/head", &head]);
    let (id, body) =
        tranche_comment_saying(&forge, &daemon, &format!("plan for `{}`", &head[..7])).await;
    assert!(body.contains("| 2 | `b` | a person's approval |"), "{body}");
    assert!(
        body.contains("- update `Deployment shop/web` (app `shop`)"),
        "{body}"
    );
    let posts: Vec<_> = forge
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|s| s.method == "POST" && s.target == "/repos/acme/fleet/issues/7/comments")
        .map(|s| s.headers["authorization"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(posts, vec!["Bearer ghp_pr_token_never_logged"]);

    // A push to it: the same comment is edited (PATCH), none is added.
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 3));
    let head2 = repo.commit("three replicas");
    repo.git(&["update-ref", "refs/pull/7/head", &head2]);
    let (id2, _) =
        tranche_comment_saying(&forge, &daemon, &format!("plan for `{}`", &head2[..7])).await;
    assert_eq!(id2, id);
    assert!(forge
        .lock()
        .unwrap()
        .seen
        .iter()
        .any(|s| s.method == "PATCH"
            && s.target == format!("/repos/acme/fleet/issues/comments/{id}")));
    assert_eq!(comments(&forge).len(), 1);

    // The merge: batch 2 waits for approval.
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "feature",
        "-m",
        "Merge pull request #7 from acme/feature",
    ]);
    let merge = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    forge.lock().unwrap().pull7 = Some(json!({
        "number": 7, "merged": true, "merge_commit_sha": merge, "head": {"sha": head2},
    }));
    eventually("batch 2 waits", Duration::from_secs(60), || async {
        record(d)
            .filter(|r| r["phase"] == "awaitingApproval" && r["commit"] == merge.as_str())
            .map(|_| ())
    })
    .await;
    assert_eq!(image_on(d, "a").as_deref(), Some(V2));
    tranche_comment_saying(&forge, &daemon, "waiting for approval").await;

    // rita can only read: refused with a reply, nothing written.
    comment_webhook(&daemon.url, "rita", "/tranche approve").await;
    let refused = eventually("the reply to rita", Duration::from_secs(30), || async {
        comments(&forge)
            .into_iter()
            .find(|(_, b)| b.starts_with("@rita: "))
    })
    .await;
    assert_eq!(
        refused.1,
        "@rita: refused: `approve` needs write access to the repository, and you have read access. Nothing changed."
    );
    assert_eq!(record(d).unwrap()["phase"], "awaitingApproval");
    assert_ne!(image_on(d, "b").as_deref(), Some(V2));
    assert!(forge
        .lock()
        .unwrap()
        .seen
        .iter()
        .any(|s| s.target == "/repos/acme/fleet/collaborators/rita/permission"));

    // alice can write: approved, batch 2 goes, the comment shows the end.
    comment_webhook(&daemon.url, "alice", "/tranche approve").await;
    let done = eventually("the reply to alice", Duration::from_secs(30), || async {
        comments(&forge)
            .into_iter()
            .find(|(_, b)| b.starts_with("@alice: "))
    })
    .await;
    assert_eq!(
        done.1,
        "@alice: done: batch 2 approved by alice via a comment on #7."
    );
    eventually("the rollout ends", Duration::from_secs(60), || async {
        (record(d).is_none() && image_on(d, "b").as_deref() == Some(V2)).then_some(())
    })
    .await;
    let (_, last) = tranche_comment_saying(&forge, &daemon, "**Outcome**").await;
    assert!(
        last.contains(&format!("#### Rollout of `{}`", &merge[..7])),
        "{last}"
    );
    assert!(last.contains("| 2 | `b` | ✅ healthy |"), "{last}");
    assert!(!daemon.log().contains("ghp_pr_token_never_logged"));
    let _ = v1;
}

async fn note_webhook(url: &str, login: &str, id: u64, body: &str) {
    let payload = json!({
        "object_kind": "note",
        "user": {"id": id, "username": login},
        "object_attributes": {"note": body, "noteable_type": "MergeRequest", "action": "create"},
        "merge_request": {"iid": 7},
    })
    .to_string();
    let status = reqwest::Client::new()
        .post(format!("{url}/webhook"))
        .header("X-Gitlab-Event", "Note Hook")
        .header("X-Gitlab-Token", SECRET)
        .header("Content-Type", "application/json")
        .body(payload)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitlab_merge_request_note_and_its_commands_on_the_wire() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (api, forge) = serve(Provider::Gitlab).await;
    let repo = shop_repo(&["a", "b"]);
    repo.commit("shop v1");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), "glpat-never-logged\n").unwrap();
    std::fs::write(d.join("secret"), SECRET).unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  url: file://{repo}\n  branch: main\npollInterval: 1s\nclusters:\n  clustersDir: {d}/clusters\n\
         stateDir: {d}/state\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\n\
         forge:\n  provider: gitlab\n  apiUrl: {api}\n  repository: group/fleet\n  tokenFile: {d}/token\n\
         webhook:\n  secretFile: {d}/secret\npreview:\n  refs: [\"refs/merge-requests/*/head\"]\npullRequests: {{}}\n",
        repo = repo.path().display(),
        d = d.display(),
    );
    let daemon = Daemon::start(d, "d", &config, port).await;
    eventually("v1 deployed", Duration::from_secs(60), || async {
        (record(d).is_none() && image_on(d, "b").is_some()).then_some(())
    })
    .await;
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("policies/rollout.yaml", APPROVAL);
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let head = repo.commit("web 2.0.0");
    repo.git(&["update-ref", "refs/merge-requests/7/head", &head]);
    let (id, body) =
        tranche_comment_saying(&forge, &daemon, &format!("plan for `{}`", &head[..7])).await;
    assert!(body.contains("| 2 | `b` | a person's approval |"), "{body}");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "feature",
        "-m",
        "Merge branch 'feature' into 'main'\n\nSee merge request group/fleet!7",
    ]);
    let merge = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    forge.lock().unwrap().pull7 = Some(json!({
        "iid": 7, "state": "merged", "sha": head, "merge_commit_sha": merge,
    }));
    eventually("batch 2 waits", Duration::from_secs(60), || async {
        record(d)
            .filter(|r| r["phase"] == "awaitingApproval" && r["commit"] == merge.as_str())
            .map(|_| ())
    })
    .await;
    // A Reporter (20) is refused; a Developer (30) approves.
    note_webhook(&daemon.url, "rita", 43, "/tranche approve").await;
    let refused = eventually("the reply to rita", Duration::from_secs(30), || async {
        comments(&forge)
            .into_iter()
            .find(|(_, b)| b.starts_with("@rita: "))
    })
    .await;
    assert!(refused.1.contains("you have read access"), "{}", refused.1);
    assert_ne!(image_on(d, "b").as_deref(), Some(V2));
    note_webhook(&daemon.url, "alice", 42, "/tranche approve").await;
    let done = eventually("the reply to alice", Duration::from_secs(30), || async {
        comments(&forge)
            .into_iter()
            .find(|(_, b)| b.starts_with("@alice: "))
    })
    .await;
    assert_eq!(
        done.1,
        "@alice: done: batch 2 approved by alice via a comment on #7."
    );
    eventually("the rollout ends", Duration::from_secs(60), || async {
        (record(d).is_none() && image_on(d, "b").as_deref() == Some(V2)).then_some(())
    })
    .await;
    let (id2, last) = tranche_comment_saying(&forge, &daemon, "**Outcome**").await;
    assert_eq!(id2, id, "the same note, edited");
    assert!(last.contains("| 2 | `b` | ✅ healthy |"), "{last}");
    let seen = forge.lock().unwrap().seen.clone();
    assert!(seen.iter().any(|s| s.method == "PUT"
        && s.target == format!("/api/v4/projects/group%2Ffleet/merge_requests/7/notes/{id}")));
    assert!(seen
        .iter()
        .all(|s| s.headers["private-token"] == "glpat-never-logged"));
    assert!(!daemon.log().contains("glpat-never-logged"));
}
