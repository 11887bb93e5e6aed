//! Comment and label deliveries in the shapes each forge sends (trimmed).

use super::super::{parse_event, WebhookEvent};
use super::*;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

const SHA: &str = "89abcdef0123456789abcdef0123456789abcdef";

fn headers(name: &'static str, value: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    );
    h
}

fn alice(id: Option<u64>) -> Person {
    Person {
        login: "alice".into(),
        id,
    }
}

#[test]
fn gitea_and_github_pull_request_comments() {
    let gitea = br#"{"action":"created","issue":{"number":3,"pull_request":{"merged":false}},
        "comment":{"id":9,"body":"/tranche approve","user":{"id":5,"login":"alice"}},
        "is_pull":true,"sender":{"login":"alice"}}"#;
    let want = WebhookEvent::Comment(CommentEvent {
        thread: Thread::Pull(3),
        author: alice(Some(5)),
        body: "/tranche approve".into(),
    });
    assert_eq!(
        parse_event(&headers("x-gitea-event", "issue_comment"), gitea),
        Ok(want.clone())
    );
    assert_eq!(
        parse_event(&headers("x-github-event", "issue_comment"), gitea),
        Ok(want)
    );
    // A comment on a plain issue, or an edit, is not a command.
    let issue = br#"{"action":"created","issue":{"number":4,"pull_request":null},
        "comment":{"body":"/tranche abort","user":{"login":"alice"}},"is_pull":false}"#;
    assert!(matches!(
        parse_event(&headers("x-gitea-event", "issue_comment"), issue),
        Ok(WebhookEvent::Ignored { .. })
    ));
    let edited = br#"{"action":"edited","issue":{"number":3,"pull_request":{}},
        "comment":{"body":"/tranche abort","user":{"login":"alice"}}}"#;
    assert!(matches!(
        parse_event(&headers("x-github-event", "issue_comment"), edited),
        Ok(WebhookEvent::Ignored { .. })
    ));
}

#[test]
fn github_commit_comments_and_labels() {
    let body = format!(
        r#"{{"action":"created","comment":{{"commit_id":"{SHA}","body":"/tranche pause","user":{{"login":"alice","id":7}}}}}}"#
    );
    assert_eq!(
        parse_event(
            &headers("x-github-event", "commit_comment"),
            body.as_bytes()
        ),
        Ok(WebhookEvent::Comment(CommentEvent {
            thread: Thread::Commit(SHA.into()),
            author: alice(Some(7)),
            body: "/tranche pause".into(),
        }))
    );
    let labeled = br#"{"action":"labeled","number":3,"label":{"name":"tranche/pause"},
        "pull_request":{"head":{"sha":"89abcdef0123456789abcdef0123456789abcdef"}},"sender":{"login":"alice"}}"#;
    assert_eq!(
        parse_event(&headers("x-github-event", "pull_request"), labeled),
        Ok(WebhookEvent::Labeled(LabelEvent {
            pull: 3,
            labels: vec!["tranche/pause".into()],
            by: alice(None),
        }))
    );
}

#[test]
fn gitea_label_updates_carry_every_label() {
    let body = br#"{"action":"label_updated","number":3,"pull_request":{"labels":[{"name":"bug"},{"name":"tranche/resume"}],
        "head":{"sha":"89abcdef0123456789abcdef0123456789abcdef"}},"sender":{"login":"alice","id":5}}"#;
    assert_eq!(
        parse_event(&headers("x-gitea-event", "pull_request"), body),
        Ok(WebhookEvent::Labeled(LabelEvent {
            pull: 3,
            labels: vec!["bug".into(), "tranche/resume".into()],
            by: alice(Some(5)),
        }))
    );
}

#[test]
fn gitlab_notes_and_added_labels() {
    let mr = br#"{"object_kind":"note","user":{"id":42,"username":"alice"},
        "object_attributes":{"note":"/tranche abort","noteable_type":"MergeRequest","action":"create"},
        "merge_request":{"iid":7}}"#;
    assert_eq!(
        parse_event(&headers("x-gitlab-event", "Note Hook"), mr),
        Ok(WebhookEvent::Comment(CommentEvent {
            thread: Thread::Pull(7),
            author: alice(Some(42)),
            body: "/tranche abort".into(),
        }))
    );
    let commit = format!(
        r#"{{"user":{{"id":42,"username":"alice"}},"object_attributes":{{"note":"/tranche approve","noteable_type":"Commit"}},"commit":{{"id":"{SHA}"}}}}"#
    );
    assert!(matches!(
        parse_event(&headers("x-gitlab-event", "Note Hook"), commit.as_bytes()),
        Ok(WebhookEvent::Comment(CommentEvent {
            thread: Thread::Commit(_),
            ..
        }))
    ));
    let labels = br#"{"user":{"id":42,"username":"alice"},"object_attributes":{"iid":7,
        "last_commit":{"id":"89abcdef0123456789abcdef0123456789abcdef"}},
        "changes":{"labels":{"previous":[{"title":"bug"}],"current":[{"title":"bug"},{"title":"tranche/pause"}]}}}"#;
    assert_eq!(
        parse_event(&headers("x-gitlab-event", "Merge Request Hook"), labels),
        Ok(WebhookEvent::Labeled(LabelEvent {
            pull: 7,
            labels: vec!["tranche/pause".into()],
            by: alice(Some(42)),
        }))
    );
    // Other labels, or none added: still a preview trigger.
    let bug = br#"{"action":"labeled","number":3,"label":{"name":"bug"},"sender":{"login":"alice"},
        "pull_request":{"head":{"sha":"89abcdef0123456789abcdef0123456789abcdef"}}}"#;
    assert!(matches!(
        parse_event(&headers("x-github-event", "pull_request"), bug),
        Ok(WebhookEvent::PullRequest { .. })
    ));
    // A merge request update without new labels is still a preview trigger.
    let update = br#"{"object_attributes":{"iid":7,"last_commit":{"id":"89abcdef0123456789abcdef0123456789abcdef"}}}"#;
    assert!(matches!(
        parse_event(&headers("x-gitlab-event", "Merge Request Hook"), update),
        Ok(WebhookEvent::PullRequest { .. })
    ));
}
