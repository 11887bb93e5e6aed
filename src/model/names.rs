//! Syntax rules for names and keys as Kubernetes enforces them (DNS-1123
//! labels and subdomains, DNS-1035 labels, label keys and values) plus RFC
//! 6901 JSON pointers. Each check returns why a string is invalid, phrased
//! to follow the offending value in a message.

/// Longest DNS-1123 / DNS-1035 label, label name part and label value.
pub const MAX_LABEL_LEN: usize = 63;
/// Longest DNS-1123 subdomain.
pub const MAX_SUBDOMAIN_LEN: usize = 253;

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters: cluster, app and
/// namespace names.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.len() > MAX_LABEL_LEN {
        return Err(format!(
            "must be at most {MAX_LABEL_LEN} characters (has {})",
            s.len()
        ));
    }
    if !is_label_body(s) {
        return Err(
            "must consist of lowercase letters, digits and '-', and start and end with \
                    a letter or digit"
                .to_string(),
        );
    }
    Ok(())
}

/// Dot-separated DNS-1123 labels, at most 253 characters: most object names.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.len() > MAX_SUBDOMAIN_LEN {
        return Err(format!(
            "must be at most {MAX_SUBDOMAIN_LEN} characters (has {})",
            s.len()
        ));
    }
    if !s.split('.').all(is_label_body) {
        return Err(
            "must consist of lowercase letters, digits, '-' and '.', and start and end \
                    with a letter or digit"
                .to_string(),
        );
    }
    Ok(())
}

/// `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters: Service names.
pub fn dns1035_label(s: &str) -> Result<(), String> {
    dns1123_label(s)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".to_string());
    }
    Ok(())
}

/// RBAC names: anything usable as a URL path segment (not `.`/`..`, no
/// `/` or `%`), e.g. `system:aggregate-to-view`.
pub fn path_segment_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".to_string());
    }
    if s == "." || s == ".." {
        return Err("must not be '.' or '..'".to_string());
    }
    if s.contains(['/', '%']) {
        return Err("must not contain '/' or '%'".to_string());
    }
    Ok(())
}

/// A label key: optional DNS-1123 subdomain prefix and `/`, then a name of
/// at most 63 alphanumerics, `-`, `_`, `.` starting and ending alphanumeric.
pub fn label_key(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Err("has an empty prefix before '/'".to_string());
        }
        dns1123_subdomain(p).map_err(|why| format!("prefix {p:?} {why}"))?;
    }
    if name.is_empty() {
        return Err("must have a name (after the optional 'prefix/')".to_string());
    }
    label_name(name)
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`
/// starting and ending alphanumeric.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    label_name(s)
}

/// An RFC 6901 JSON pointer naming a field inside the object: starts with
/// `/`, and `~` only as `~0` (for `~`) or `~1` (for `/`).
pub fn json_pointer(s: &str) -> Result<(), String> {
    if !s.starts_with('/') {
        return Err("must be a JSON pointer starting with '/', e.g. /spec/replicas".to_string());
    }
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(
                "has '~' not followed by 0 or 1 (write ~0 for '~' and ~1 for '/')".to_string(),
            );
        }
    }
    Ok(())
}

fn label_name(s: &str) -> Result<(), String> {
    if s.len() > MAX_LABEL_LEN {
        return Err(format!(
            "must be at most {MAX_LABEL_LEN} characters (has {})",
            s.len()
        ));
    }
    let ok_inner = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ok_ends = s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(ok_inner && ok_ends) {
        return Err(
            "must consist of letters, digits, '-', '_' and '.', and start and end with \
                    a letter or digit"
                .to_string(),
        );
    }
    Ok(())
}

fn is_label_body(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.chars().all(|c| alnum(c) || c == '-')
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_dns1123() {
        assert!(dns1123_label("eu-west-1").is_ok());
        assert!(dns1123_label("1a").is_ok());
        assert!(dns1123_label("EU").is_err());
        assert!(dns1123_label("-a").is_err());
        assert!(dns1123_label("a-").is_err());
        assert!(dns1123_label("a.b").is_err());
        assert!(dns1123_label("").is_err());
        assert!(dns1123_label(&"a".repeat(63)).is_ok());
        assert_eq!(
            dns1123_label(&"a".repeat(64)).unwrap_err(),
            "must be at most 63 characters (has 64)"
        );
    }

    #[test]
    fn subdomains_allow_dots() {
        assert!(dns1123_subdomain("web.shop-1").is_ok());
        assert!(dns1123_subdomain("web..shop").is_err());
        assert!(dns1123_subdomain("web_shop").is_err());
        assert!(dns1123_subdomain(&"a".repeat(254)).is_err());
    }

    #[test]
    fn dns1035_needs_a_leading_letter() {
        assert!(dns1035_label("web").is_ok());
        assert_eq!(
            dns1035_label("1web").unwrap_err(),
            "must start with a lowercase letter"
        );
    }

    #[test]
    fn rbac_names_are_path_segments() {
        assert!(path_segment_name("system:aggregate-to-view").is_ok());
        assert!(path_segment_name("a/b").is_err());
        assert!(path_segment_name("..").is_err());
    }

    #[test]
    fn label_keys_and_values() {
        assert!(label_key("topology.kubernetes.io/region").is_ok());
        assert!(label_key("env").is_ok());
        assert!(label_key("Env_1.x").is_ok());
        assert!(label_key("/env").is_err());
        assert!(label_key("a/").is_err());
        assert!(label_key("Bad_Prefix/env").is_err());
        assert!(label_key("env!").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("v1.2_3").is_ok());
        assert!(label_value("-x").is_err());
        assert!(label_value(&"a".repeat(64)).is_err());
    }

    #[test]
    fn json_pointers() {
        assert!(json_pointer("/spec/replicas").is_ok());
        assert!(json_pointer("/metadata/annotations/a~1b~0c").is_ok());
        assert!(json_pointer("spec/replicas").is_err());
        assert!(json_pointer("").is_err());
        assert!(json_pointer("/a~2").is_err());
        assert!(json_pointer("/a~").is_err());
    }
}
