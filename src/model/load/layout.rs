//! Where each file of a fleet goes, decided from its path alone.
//!
//! ```text
//! tranche.yaml                     repository settings (optional)
//! clusters/<name>.yaml             one Cluster per file
//! policies/*.yaml                  RolloutPolicy / DiffPolicy / AccessPolicy
//! apps/<app>/placement.yaml        where the app goes
//! apps/<app>/manifests/*.yaml      Kubernetes objects
//! apps/<app>/overrides/*.yaml      per-cluster changes
//! ```
//!
//! `.yml` works wherever `.yaml` does. README and markdown files are
//! allowed anywhere, hidden files (`.gitkeep`) are ignored, and other
//! top-level files and directories (CI config, docs) are not read. Inside
//! `clusters/`, `policies/` and `apps/` anything else is an error, so a
//! misplaced or misnamed file is not silently skipped.

use crate::model::validate::{Known, Loc, Problems};
use std::collections::BTreeMap;

/// The files of a fleet, sorted by kind.
#[derive(Debug, Default)]
pub struct Layout<'a> {
    /// `tranche.yaml`, when present.
    pub repository: Option<&'a str>,
    /// Cluster files by name (the file stem).
    pub clusters: BTreeMap<String, &'a str>,
    /// Policy files, in path order.
    pub policies: Vec<&'a str>,
    /// App directories by name.
    pub apps: BTreeMap<String, AppFiles<'a>>,
}

/// The files of one app directory.
#[derive(Debug, Default)]
pub struct AppFiles<'a> {
    /// `placement.yaml`, when present.
    pub placement: Option<&'a str>,
    /// Manifest files, in path order.
    pub manifests: Vec<&'a str>,
    /// Override files, in path order.
    pub overrides: Vec<&'a str>,
}

impl Layout<'_> {
    /// The cluster and app names that exist, whatever their files contain.
    pub fn known(&self) -> Known {
        Known {
            clusters: self.clusters.keys().cloned().collect(),
            apps: self.apps.keys().cloned().collect(),
        }
    }
}

const APP_FILES: &str =
    "an app directory holds placement.yaml, manifests/*.yaml and overrides/*.yaml (and README or \
     markdown files)";

/// Sorts `paths` (relative to the fleet root, `/`-separated) by kind,
/// reporting files that have no place, except those in `reported` (whose
/// problem is already known, like entries the snapshot refused).
pub fn classify<'a>(
    paths: impl IntoIterator<Item = &'a String>,
    reported: &BTreeMap<String, String>,
    p: &mut Problems,
) -> Layout<'a> {
    let mut layout = Layout::default();
    for path in paths {
        let parts: Vec<&str> = path.split('/').collect();
        let base = parts.last().copied().unwrap_or_default();
        if parts.iter().any(|s| s.starts_with('.')) || is_documentation(base) {
            continue;
        }
        let unexpected = |p: &mut Problems, why: &str| {
            if !reported.contains_key(path) {
                p.push(Loc::file(path), "", format!("unexpected file: {why}"));
            }
        };
        match parts.as_slice() {
            ["tranche.yaml" | "tranche.yml"] => match layout.repository {
                Some(first) => p.push(
                    Loc::file(path),
                    "",
                    format!("{first} is also present: keep one repository settings file"),
                ),
                None => layout.repository = Some(path),
            },
            ["clusters", file] if stem(file).is_some() => {
                let name = stem(file).unwrap_or_default();
                match layout.clusters.get(name) {
                    Some(first) => p.push(
                        Loc::file(path),
                        "",
                        format!("{first} also defines cluster {name:?}: keep one file per cluster"),
                    ),
                    None => {
                        layout.clusters.insert(name.to_string(), path);
                    }
                }
            }
            ["clusters", ..] => unexpected(p, "clusters/ holds one <name>.yaml file per cluster"),
            ["policies", file] if stem(file).is_some() => layout.policies.push(path),
            ["policies", ..] => unexpected(p, "policies/ holds *.yaml policy files"),
            ["apps", _] => unexpected(p, "apps/ holds one directory per app"),
            ["apps", app, rest @ ..] => {
                let files = layout.apps.entry(app.to_string()).or_default();
                match rest {
                    ["placement.yaml" | "placement.yml"] => match files.placement {
                        Some(first) => p.push(
                            Loc::file(path),
                            "",
                            format!("{first} is also present: keep one placement file"),
                        ),
                        None => files.placement = Some(path),
                    },
                    ["manifests", file] if stem(file).is_some() => files.manifests.push(path),
                    ["overrides", file] if stem(file).is_some() => files.overrides.push(path),
                    _ => unexpected(p, APP_FILES),
                }
            }
            _ => {}
        }
    }
    layout
}

/// The name of a YAML file without its extension.
fn stem(file: &str) -> Option<&str> {
    file.strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".yml"))
        .filter(|s| !s.is_empty())
}

/// README files and markdown are documentation and allowed anywhere.
fn is_documentation(base: &str) -> bool {
    let lower = base.to_ascii_lowercase();
    lower.starts_with("readme") || lower.ends_with(".md") || lower.ends_with(".markdown")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    fn classify_paths(paths: &[&str]) -> (Vec<String>, Vec<ModelError>) {
        let owned: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
        let mut p = Problems::default();
        let layout = classify(&owned, &BTreeMap::new(), &mut p);
        let mut found = Vec::new();
        found.extend(layout.repository.map(|r| format!("repo {r}")));
        found.extend(
            layout
                .clusters
                .iter()
                .map(|(n, f)| format!("cluster {n} {f}")),
        );
        found.extend(layout.policies.iter().map(|f| format!("policy {f}")));
        for (app, files) in &layout.apps {
            found.extend(files.placement.map(|f| format!("{app} placement {f}")));
            found.extend(
                files
                    .manifests
                    .iter()
                    .map(|f| format!("{app} manifest {f}")),
            );
            found.extend(
                files
                    .overrides
                    .iter()
                    .map(|f| format!("{app} override {f}")),
            );
        }
        (found, p.finish(()).err().map(|e| e.0).unwrap_or_default())
    }

    #[test]
    fn files_are_sorted_by_kind() {
        let (found, errors) = classify_paths(&[
            "tranche.yaml",
            "clusters/eu-1.yaml",
            "clusters/us-1.yml",
            "policies/rollout.yaml",
            "apps/shop/placement.yaml",
            "apps/shop/manifests/a.yaml",
            "apps/shop/overrides/eu.yml",
            "apps/shop/README.md",
            "apps/shop/manifests/.gitkeep",
            "docs/guide.txt",
            ".github/workflows/ci.yaml",
            "LICENSE",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            found,
            [
                "repo tranche.yaml",
                "cluster eu-1 clusters/eu-1.yaml",
                "cluster us-1 clusters/us-1.yml",
                "policy policies/rollout.yaml",
                "shop placement apps/shop/placement.yaml",
                "shop manifest apps/shop/manifests/a.yaml",
                "shop override apps/shop/overrides/eu.yml",
            ]
        );
    }

    #[test]
    fn files_in_unexpected_places_are_errors() {
        let (_, errors) = classify_paths(&[
            "apps/shop/placement.yaml",
            "apps/shop/values.json",
            "apps/shop/manifests/sub/x.yaml",
            "apps/stray.yaml",
            "clusters/eu-1.json",
        ]);
        let app_files = format!("unexpected file: {APP_FILES}");
        assert_eq!(
            errors,
            [
                ModelError::file("apps/shop/manifests/sub/x.yaml", app_files.as_str()),
                ModelError::file("apps/shop/values.json", app_files.as_str()),
                ModelError::file(
                    "apps/stray.yaml",
                    "unexpected file: apps/ holds one directory per app"
                ),
                ModelError::file(
                    "clusters/eu-1.json",
                    "unexpected file: clusters/ holds one <name>.yaml file per cluster"
                ),
            ]
        );
    }

    #[test]
    fn one_file_per_cluster() {
        let (_, errors) = classify_paths(&["clusters/eu-1.yaml", "clusters/eu-1.yml"]);
        assert_eq!(
            errors,
            [ModelError::file(
                "clusters/eu-1.yml",
                "clusters/eu-1.yaml also defines cluster \"eu-1\": keep one file per cluster"
            )]
        );
    }
}
