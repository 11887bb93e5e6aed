//! The pull-request conversation on the wire for GitHub and GitLab (no
//! real GitHub or GitLab can run here): a local axum server speaking
//! their documented APIs keeps comments as the forge would and records
//! every request; tranche's comment is created once, then edited in place,
//! permissions and pull requests are read, replies and labels go where
//! each API wants them. Gitea is tested for real in tests/pull_requests.rs.

mod support;

use axum::http::Method;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use support::forge_talk::{serve, take, Seen, HEAD, MERGE};
use tranche::report::forge::{
    build_conversation, Conversation, ForgeConfig, Person, Provider, PullInfo, Thread,
};
use tranche::report::pr::thread::{upsert, Upserted};
use tranche::report::pr::{Access, MARKER};

const TOKEN: &str = "forge-t0ken-never-shown";

fn conversation(
    provider: Provider,
    url: &str,
    repository: &str,
) -> (Arc<dyn Conversation>, tempfile::NamedTempFile) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut token = tempfile::NamedTempFile::new().unwrap();
    writeln!(token, "{TOKEN}").unwrap();
    let config = ForgeConfig {
        provider,
        api_url: Some(url.to_string()),
        repository: repository.to_string(),
        token_file: Some(token.path().to_path_buf()),
        token_env: None,
    };
    (build_conversation(&config).unwrap(), token)
}

fn person(login: &str, id: Option<u64>) -> Person {
    Person {
        login: login.into(),
        id,
    }
}

#[tokio::test]
async fn github_comment_is_created_once_then_edited_and_commands_are_checked() {
    let (url, shared) = serve(Provider::Github).await;
    let (c, _token) = conversation(Provider::Github, &url, "acme/fleet");
    let plan1 = format!("{MARKER}\n### tranche: plan for `89abcde`\n");
    let plan2 = format!("{MARKER}\n### tranche: plan for `0123456`\n");

    assert_eq!(upsert(&*c, 7, &plan1).await.unwrap(), Upserted::Created);
    let seen = take(&shared);
    assert_eq!(
        seen.iter()
            .map(|s| (s.method.as_str(), s.target.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("GET", "/repos/acme/fleet/issues/7/comments?per_page=100"),
            ("POST", "/repos/acme/fleet/issues/7/comments"),
        ]
    );
    for s in &seen {
        assert_eq!(s.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(s.headers["accept"], "application/vnd.github+json");
        assert_eq!(s.headers["x-github-api-version"], "2022-11-28");
    }
    assert_eq!(seen[1].body, json!({ "body": plan1 }));

    // A new head: the same comment is edited, never a second one.
    assert_eq!(upsert(&*c, 7, &plan2).await.unwrap(), Upserted::Edited);
    let seen = take(&shared);
    assert_eq!(seen[1].method, Method::PATCH);
    assert_eq!(seen[1].target, "/repos/acme/fleet/issues/comments/1000");
    assert_eq!(seen[1].body, json!({ "body": plan2 }));
    assert_eq!(upsert(&*c, 7, &plan2).await.unwrap(), Upserted::Unchanged);
    assert_eq!(take(&shared).len(), 1, "only the look");
    assert_eq!(shared.lock().unwrap().comments.len(), 1);

    // Permissions: write may, read and strangers (404) may not.
    assert_eq!(
        c.access(&person("alice", None)).await.unwrap(),
        Access::Write
    );
    assert_eq!(c.access(&person("rita", None)).await.unwrap(), Access::Read);
    assert_eq!(
        c.access(&person("mallory", None)).await.unwrap(),
        Access::None
    );
    // Pull requests: the merge commit once merged, only the head before.
    assert_eq!(
        c.pull(7).await.unwrap(),
        PullInfo {
            head: HEAD.into(),
            merge_commit: Some(MERGE.into())
        }
    );
    assert_eq!(c.pull(8).await.unwrap().merge_commit, None);
    take(&shared);

    // Replies on a commit, and a label taken off.
    c.post(&Thread::Commit(MERGE.into()), "@alice: done")
        .await
        .unwrap();
    c.remove_label(7, "tranche/pause").await.unwrap();
    let seen = take(&shared);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        (
            "POST",
            format!("/repos/acme/fleet/commits/{MERGE}/comments").as_str()
        )
    );
    assert_eq!(seen[0].body, json!({"body": "@alice: done"}));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].target.as_str()),
        (
            "DELETE",
            "/repos/acme/fleet/issues/7/labels/tranche%2Fpause"
        )
    );

    // The token never shows in an error.
    let err = c.access(&person("bad/name", None)).await;
    if let Err(e) = err {
        assert!(!e.to_string().contains(TOKEN));
    }
}

#[tokio::test]
async fn gitlab_notes_are_created_once_then_edited_and_member_levels_are_checked() {
    let (url, shared) = serve(Provider::Gitlab).await;
    let (c, _token) = conversation(Provider::Gitlab, &url, "group/fleet");
    let plan1 = format!("{MARKER}\nplan one\n");
    let plan2 = format!("{MARKER}\nplan two\n");
    assert_eq!(upsert(&*c, 7, &plan1).await.unwrap(), Upserted::Created);
    assert_eq!(upsert(&*c, 7, &plan2).await.unwrap(), Upserted::Edited);
    let seen = take(&shared);
    assert_eq!(
        seen.iter()
            .map(|s| (s.method.as_str(), s.target.split('?').next().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            (
                "GET",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes"
            ),
            (
                "POST",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes"
            ),
            (
                "GET",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes"
            ),
            (
                "PUT",
                "/api/v4/projects/group%2Ffleet/merge_requests/7/notes/2000"
            ),
        ]
    );
    assert!(
        seen[0].target.contains("per_page=100"),
        "{}",
        seen[0].target
    );
    for s in &seen {
        assert_eq!(s.headers["private-token"], TOKEN);
    }
    assert_eq!(seen[1].body, json!({ "body": plan1 }));
    assert_eq!(seen[3].body, json!({ "body": plan2 }));
    assert_eq!(shared.lock().unwrap().comments.len(), 1);

    // A login alone is looked up; the webhook's id is used as is.
    assert_eq!(
        c.access(&person("alice", None)).await.unwrap(),
        Access::Write
    );
    let seen = take(&shared);
    assert_eq!(seen[0].target, "/api/v4/users?username=alice");
    assert_eq!(
        seen[1].target,
        "/api/v4/projects/group%2Ffleet/members/all/42"
    );
    assert_eq!(
        c.access(&person("rita", Some(43))).await.unwrap(),
        Access::Read
    );
    assert_eq!(
        c.access(&person("mallory", Some(44))).await.unwrap(),
        Access::None
    );
    assert_eq!(take(&shared).len(), 2, "no user lookup with an id");
    assert_eq!(
        c.pull(7).await.unwrap(),
        PullInfo {
            head: HEAD.into(),
            merge_commit: Some(MERGE.into())
        }
    );
    c.post(&Thread::Commit(MERGE.into()), "@alice: done")
        .await
        .unwrap();
    c.remove_label(7, "tranche/pause").await.unwrap();
    let seen: Vec<Seen> = take(&shared).into_iter().skip(1).collect();
    assert_eq!(
        seen[0].target,
        format!("/api/v4/projects/group%2Ffleet/repository/commits/{MERGE}/comments")
    );
    assert_eq!(seen[0].body, json!({"note": "@alice: done"}));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].body.clone()),
        ("PUT", json!({"remove_labels": "tranche/pause"}))
    );
    assert!(take(&shared).is_empty());
}
