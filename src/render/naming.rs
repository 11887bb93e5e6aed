//! Policy names: `<app>-<kind>-<name>` for workloads, `<app>-<name>` for
//! other objects, lowercased, invalid characters turned into `-`. Names
//! over 63 characters keep a prefix and end in `-` + 10 hex chars of the
//! sha256 of the full (sanitized) name, so they stay valid DNS-1123 labels
//! (usable as label values), stable across runs and distinct for distinct
//! inputs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// Maximum length of a DNS-1123 label and of a label value.
pub const MAX_LEN: usize = 63;
/// Hex characters of the sha256 suffix on shortened names.
const HASH_LEN: usize = 10;

/// A valid DNS-1123 label naming an (app, object) pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyName(String);

impl PolicyName {
    /// Policy name of a workload: `<app>-<kind>-<name>`. The kind is
    /// lowercased first (kinds are CamelCase; `Deployment` and `deployment`
    /// are the same kind here), so ordinary names stay readable.
    pub fn for_workload(app: &str, kind: &str, name: &str) -> PolicyName {
        PolicyName::from_raw(&format!("{app}-{}-{name}", kind.to_ascii_lowercase()))
    }

    /// Policy name of a non-workload object: `<app>-<name>`.
    pub fn for_object(app: &str, name: &str) -> PolicyName {
        PolicyName::from_raw(&format!("{app}-{name}"))
    }

    /// Name of an app's inventory on a cluster: `<app>`, made a valid label.
    pub fn for_app(app: &str) -> PolicyName {
        PolicyName::from_raw(app)
    }

    /// Sanitizes and, when needed, shortens any string into a policy name.
    ///
    /// A name is kept as is when it already is a valid label that
    /// sanitizing leaves alone. Otherwise (too long, or characters were
    /// changed — even only lowercased — so two inputs could meet) it becomes
    /// a prefix plus `-` and 10 hex chars of sha256 of the raw input:
    /// distinct inputs, distinct names.
    pub fn from_raw(raw: &str) -> PolicyName {
        let full = sanitize(raw);
        if full.len() <= MAX_LEN && full == raw {
            return PolicyName(full);
        }
        let hash = hex::encode(Sha256::digest(raw.as_bytes()));
        let keep = MAX_LEN - HASH_LEN - 1;
        let prefix = full[..full.len().min(keep)].trim_end_matches('-');
        let prefix = if prefix.is_empty() { "x" } else { prefix };
        PolicyName(format!("{prefix}-{}", &hash[..HASH_LEN]))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lowercase; every character outside `[a-z0-9-]` → `-`; runs of `-`
/// collapsed; leading/trailing `-` trimmed; empty → `x`.
fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.to_string()
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` is a valid DNS-1123 label (≤ 63, `[a-z0-9]([-a-z0-9]*[a-z0-9])?`).
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_stay_readable() {
        assert_eq!(
            PolicyName::for_workload("shop", "Deployment", "web").as_str(),
            "shop-deployment-web"
        );
        assert_eq!(
            PolicyName::for_object("shop", "web-config").as_str(),
            "shop-web-config"
        );
        assert_eq!(PolicyName::for_app("shop").as_str(), "shop");
    }

    #[test]
    fn changed_or_long_names_get_a_hash_suffix() {
        let dotted = PolicyName::for_object("shop", "web.config");
        assert!(dotted.as_str().starts_with("shop-web-config-"), "{dotted}");
        assert_eq!(dotted.as_str().len(), "shop-web-config-".len() + HASH_LEN);
        assert_ne!(dotted, PolicyName::for_object("shop", "web-config"));
        let long = PolicyName::for_workload(
            "a-very-long-application-name",
            "StatefulSet",
            &"x".repeat(60),
        );
        assert_eq!(long.as_str().len(), MAX_LEN);
        assert!(is_dns1123_label(long.as_str()));
        assert_eq!(
            long,
            PolicyName::for_workload(
                "a-very-long-application-name",
                "StatefulSet",
                &"x".repeat(60)
            )
        );
    }

    #[test]
    fn case_only_differences_stay_distinct() {
        // Regression: "Foo" and "foo" both lowercased to "foo".
        assert_ne!(PolicyName::from_raw("Foo"), PolicyName::from_raw("foo"));
        assert_eq!(PolicyName::from_raw("foo").as_str(), "foo");
        assert!(is_dns1123_label(PolicyName::from_raw("Foo").as_str()));
    }

    #[test]
    fn hopeless_inputs_still_give_valid_labels() {
        for raw in ["", "---", "ÄÖÜ", "_.", &"-".repeat(100)] {
            let name = PolicyName::from_raw(raw);
            assert!(is_dns1123_label(name.as_str()), "{raw:?} → {name}");
        }
        assert_ne!(PolicyName::from_raw(""), PolicyName::from_raw("---"));
    }

    #[test]
    fn dns1123_labels() {
        assert!(is_dns1123_label("a-1"));
        assert!(!is_dns1123_label("-a") && !is_dns1123_label("a-") && !is_dns1123_label("A"));
        assert!(!is_dns1123_label("") && !is_dns1123_label(&"a".repeat(64)));
    }
}
