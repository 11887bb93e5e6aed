//! Signature and payload checks with HMACs computed here, plus GitHub's
//! published test vector.

use super::*;
use axum::http::HeaderValue;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

const BODY: &[u8] =
    br#"{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}"#;

#[test]
fn github_documentation_vector_verifies() {
    let secret = Secret::new("It's a Secret to Everybody");
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(sign(b"Hello, World!", &secret), &sig[7..]);
    let h = headers(&[("x-hub-signature-256", sig)]);
    assert_eq!(verify(&h, b"Hello, World!", &secret), Ok(Provider::Github));
    assert_eq!(
        verify(&h, b"Hello, World?", &secret),
        Err(WebhookError::BadSignature {
            provider: Provider::Github
        })
    );
}

#[test]
fn github_signature_needs_prefix_and_right_secret() {
    let secret = Secret::new("s3cret");
    let hex = sign(BODY, &secret);
    let ok = headers(&[("x-hub-signature-256", &format!("sha256={hex}"))]);
    assert_eq!(verify(&ok, BODY, &secret), Ok(Provider::Github));
    let bare = headers(&[("x-hub-signature-256", &hex)]);
    assert!(verify(&bare, BODY, &secret).is_err());
    assert!(verify(&ok, BODY, &Secret::new("other")).is_err());
    let garbage = headers(&[("x-hub-signature-256", "sha256=zz")]);
    assert!(verify(&garbage, BODY, &secret).is_err());
}

#[test]
fn gitea_and_forgejo_use_bare_hex() {
    let secret = Secret::new("s3cret");
    let hex = sign(BODY, &secret);
    for name in ["x-gitea-signature", "x-forgejo-signature"] {
        let h = headers(&[(name, &hex)]);
        assert_eq!(verify(&h, BODY, &secret), Ok(Provider::Gitea), "{name}");
        assert_eq!(
            verify(&h, b"tampered", &secret),
            Err(WebhookError::BadSignature {
                provider: Provider::Gitea
            })
        );
    }
}

#[test]
fn forgejo_header_is_not_rescued_by_others() {
    let secret = Secret::new("s3cret");
    let good = sign(BODY, &secret);
    let h = headers(&[
        ("x-forgejo-signature", "00"),
        ("x-gitea-signature", &good),
        ("x-hub-signature-256", &format!("sha256={good}")),
    ]);
    assert!(verify(&h, BODY, &secret).is_err());
}

#[test]
fn gitlab_token_must_equal_secret() {
    let secret = Secret::new("s3cret");
    let ok = headers(&[("x-gitlab-token", "s3cret")]);
    assert_eq!(verify(&ok, BODY, &secret), Ok(Provider::Gitlab));
    for wrong in ["s3cre", "s3cret!", ""] {
        let h = headers(&[("x-gitlab-token", wrong)]);
        assert_eq!(
            verify(&h, BODY, &secret),
            Err(WebhookError::BadSignature {
                provider: Provider::Gitlab
            })
        );
    }
}

#[test]
fn missing_signature_is_unsigned() {
    let h = headers(&[("content-type", "application/json")]);
    assert_eq!(
        verify(&h, BODY, &Secret::new("s")),
        Err(WebhookError::Unsigned)
    );
}

#[test]
fn github_and_gitea_push_payloads() {
    let push = parse_push(BODY).unwrap();
    assert_eq!(push.git_ref, "refs/heads/main");
    assert_eq!(push.after, "0123456789abcdef0123456789abcdef01234567");
    assert!(!push.is_deletion());
}

#[test]
fn gitlab_push_prefers_checkout_sha() {
    let body = br#"{"object_kind":"push","ref":"refs/heads/main",
        "before":"1111111111111111111111111111111111111111",
        "after":"2222222222222222222222222222222222222222",
        "checkout_sha":"3333333333333333333333333333333333333333"}"#;
    assert_eq!(
        parse_push(body).unwrap().after,
        "3333333333333333333333333333333333333333"
    );
    let deleted = br#"{"ref":"refs/heads/old","after":"0000000000000000000000000000000000000000","checkout_sha":null}"#;
    assert!(parse_push(deleted).unwrap().is_deletion());
}

#[test]
fn non_push_payloads_are_refused() {
    assert!(matches!(
        parse_push(b"not json"),
        Err(WebhookError::BadPayload { .. })
    ));
    assert!(matches!(
        parse_push(br#"{"action":"opened"}"#),
        Err(WebhookError::BadPayload { .. })
    ));
    assert!(matches!(
        parse_push(br#"{"ref":"refs/heads/x","after":"../../etc"}"#),
        Err(WebhookError::BadPayload { .. })
    ));
}

#[test]
fn events_are_told_apart_by_their_forge_header() {
    let push = headers(&[("x-gitea-event", "push")]);
    assert_eq!(
        parse_event(&push, BODY).unwrap().git_ref(),
        Some("refs/heads/main")
    );
    // No event header: a push, as older senders (and tests) post.
    assert!(matches!(
        parse_event(&HeaderMap::new(), BODY),
        Ok(WebhookEvent::Push(_))
    ));
    let ping = headers(&[("x-github-event", "ping")]);
    assert_eq!(
        parse_event(&ping, br#"{"zen":"Keep it logically awesome."}"#),
        Ok(WebhookEvent::Ignored {
            event: "ping".to_string()
        })
    );
    let gitlab_push = headers(&[("x-gitlab-event", "Push Hook")]);
    assert!(matches!(
        parse_event(&gitlab_push, BODY),
        Ok(WebhookEvent::Push(_))
    ));
}

#[test]
fn pull_requests_name_the_forges_head_ref() {
    // The shape Gitea sends (trimmed): `number` and `pull_request.head`.
    let gitea = br#"{"action":"opened","number":3,"pull_request":{"number":3,
        "head":{"label":"feature","ref":"feature","sha":"89abcdef0123456789abcdef0123456789abcdef","repo_id":1},
        "base":{"ref":"main","sha":"0123456789abcdef0123456789abcdef01234567"}}}"#;
    for header in ["x-gitea-event", "x-forgejo-event", "x-github-event"] {
        let h = headers(&[(header, "pull_request")]);
        assert_eq!(
            parse_event(&h, gitea),
            Ok(WebhookEvent::PullRequest {
                git_ref: "refs/pull/3/head".to_string(),
                head: "89abcdef0123456789abcdef0123456789abcdef".to_string(),
            }),
            "{header}"
        );
    }
    let gitlab = br#"{"object_kind":"merge_request","object_attributes":{"iid":7,
        "last_commit":{"id":"89abcdef0123456789abcdef0123456789abcdef"}}}"#;
    let h = headers(&[("x-gitlab-event", "Merge Request Hook")]);
    assert_eq!(
        parse_event(&h, gitlab).unwrap().git_ref(),
        Some("refs/merge-requests/7/head")
    );
}

#[test]
fn malformed_pull_requests_are_refused_with_the_missing_field() {
    let h = headers(&[("x-gitea-event", "pull_request")]);
    let no_head = br#"{"action":"opened","number":3,"pull_request":{"number":3}}"#;
    let e = parse_event(&h, no_head).unwrap_err();
    assert!(e.to_string().contains("pull_request.head.sha"), "{e}");
    let evil = br#"{"number":3,"pull_request":{"head":{"sha":"../../x"}}}"#;
    assert!(matches!(
        parse_event(&h, evil),
        Err(WebhookError::BadPayload { .. })
    ));
    assert!(matches!(
        parse_event(&h, b"[1,2"),
        Err(WebhookError::BadPayload { .. })
    ));
}
