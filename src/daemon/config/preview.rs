//! `preview:` in the daemon's configuration: which refs get a plan preview.

use serde::{Deserialize, Serialize};

/// `preview:` — which refs get a `tranche/plan` status.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PreviewConfig {
    /// Refs to preview (e.g. `refs/pull/12/head`, `refs/heads/feature`,
    /// or a bare branch name). `*` matches within one path segment:
    /// `refs/pull/*/head` is every pull request, `refs/heads/release-*`
    /// every release branch.
    pub refs: Vec<String>,
    /// Preview every branch other than the tracked one.
    pub all_branches: bool,
}

impl PreviewConfig {
    /// Whether the ref `name` (the forge's full name, e.g. `refs/pull/3/head`)
    /// is previewed.
    pub fn wants(&self, name: &str) -> bool {
        self.all_branches
            || self.refs.iter().any(|pattern| {
                let full = if pattern.starts_with("refs/") {
                    pattern.clone()
                } else {
                    format!("refs/heads/{pattern}")
                };
                ref_matches(&full, name)
            })
    }
}

/// Segment-wise glob: same number of `/`-separated segments, each matching,
/// where `*` stands for any run of characters within a segment.
fn ref_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), name.split('/').collect());
    p.len() == n.len() && p.iter().zip(&n).all(|(p, n)| segment_matches(p, n))
}

pub(super) fn segment_matches(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('*').collect();
    let (last, middle) = parts.split_last().unwrap_or((&"", &[]));
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}
