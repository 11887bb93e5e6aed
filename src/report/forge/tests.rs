use super::*;

#[test]
fn truncation_keeps_short_text_and_marks_cuts() {
    assert_eq!(truncate_description("batch 1/3", 140), "batch 1/3");
    let long = "é".repeat(200);
    let cut = truncate_description(&long, 140);
    assert_eq!(cut.chars().count(), 140);
    assert!(cut.ends_with('…'));
    assert_eq!(truncate_description(&"x".repeat(140), 140), "x".repeat(140));
}

#[test]
fn transient_errors_are_network_429_and_5xx() {
    let http = |status| ForgeError::Http {
        forge: "github".into(),
        status,
        path: "/".into(),
        message: String::new(),
        retry_after: None,
    };
    assert!(http(500).is_transient());
    assert!(http(503).is_transient());
    assert!(http(429).is_transient());
    assert!(!http(404).is_transient());
    assert!(!http(422).is_transient());
    assert!(!ForgeError::Config {
        message: "x".into()
    }
    .is_transient());
}

#[test]
fn config_reads_camel_case_yaml() {
    let c: ForgeConfig = crate::yaml::from_str(
        "provider: forgejo\napiUrl: https://git.example.com\nrepository: acme/fleet\ntokenEnv: TOK\n",
    )
    .unwrap();
    assert_eq!(c.provider, Provider::Gitea);
    assert_eq!(c.api_url.as_deref(), Some("https://git.example.com"));
    assert_eq!(c.token_env.as_deref(), Some("TOK"));
    assert!(
        crate::yaml::from_str::<ForgeConfig>("provider: github\nrepository: a/b\nbogus: 1\n")
            .is_err()
    );
}

#[test]
fn build_refuses_missing_or_double_token() {
    let mut c = ForgeConfig {
        provider: Provider::Github,
        api_url: None,
        repository: "acme/fleet".into(),
        token_file: None,
        token_env: None,
    };
    assert!(matches!(build(&c), Err(ForgeError::Config { .. })));
    c.token_file = Some("/x".into());
    c.token_env = Some("Y".into());
    assert!(matches!(build(&c), Err(ForgeError::Config { .. })));
}
