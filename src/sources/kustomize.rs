//! Kustomize apps, the pure part: which apps are kustomizations, which
//! directories of the commit a build reads (for the render cache key), and
//! which references are refused before kustomize ever runs — remote bases
//! (URLs, `github.com/…`, `git@…`), paths that leave the repository or are
//! not in the commit, and Helm inflation inside a kustomization (it would
//! need the network; use a Helm chart app instead).
//!
//! An app is a kustomize app when `apps/<app>/manifests/` or `apps/<app>/`
//! holds a `kustomization.yaml` (or `.yml`, or `Kustomization`). Its bases
//! and components may live anywhere in the commit's fleet directory,
//! usually beside it (`apps/<app>/base/`, `apps/<app>/components/`).

use crate::git::Snapshot;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// File names kustomize reads as a kustomization, in its order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields of a kustomization that name other kustomizations or files.
const REFERENCE_FIELDS: [&str; 3] = ["resources", "bases", "components"];

/// Fields that make kustomize inflate Helm charts (network, --enable-helm).
const HELM_FIELDS: [&str; 2] = ["helmCharts", "helmChartInflationGenerator"];

/// One kustomize app of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KustomizeApp {
    /// App name.
    pub app: String,
    /// Directory kustomize builds (`apps/<app>/manifests` or `apps/<app>`).
    pub root: String,
    /// Its kustomization file, for messages.
    pub file: String,
    /// Every directory the build reads (the root, its bases and components),
    /// sorted: the files under them make the cache key.
    pub dirs: BTreeSet<String>,
}

/// A reference refused before running kustomize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The kustomization file holding it.
    pub file: String,
    /// `resources[2]` and the like.
    pub field: String,
    /// Why.
    pub message: String,
}

/// The kustomization file of `dir`, if it has one.
pub fn kustomization_in(snapshot: &Snapshot, dir: &str) -> Option<String> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| format!("{dir}/{f}"))
        .find(|p| snapshot.files.contains_key(p))
}

/// The kustomize apps of `snapshot`, by name: `apps/<app>/manifests` when
/// it holds a kustomization, else `apps/<app>`.
pub fn apps(snapshot: &Snapshot) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for path in snapshot.files.keys() {
        let parts: Vec<&str> = path.split('/').collect();
        let (app, dir) = match parts.as_slice() {
            ["apps", app, "manifests", f] if KUSTOMIZATION_FILES.contains(f) => {
                (*app, format!("apps/{app}/manifests"))
            }
            ["apps", app, f] if KUSTOMIZATION_FILES.contains(f) => (*app, format!("apps/{app}")),
            _ => continue,
        };
        let Some(file) = kustomization_in(snapshot, &dir) else {
            continue;
        };
        // manifests/ wins over the app directory
        let manifests = dir.ends_with("/manifests");
        match out.get(app) {
            Some((root, _)) if root != &dir && !manifests => {}
            _ => {
                out.insert(app.to_string(), (dir, file));
            }
        }
    }
    out
}

/// Walks the kustomization graph of `root` (an app's build directory):
/// the directories it reads, or every reference refused.
pub fn walk(
    snapshot: &Snapshot,
    app: &str,
    root: &str,
    file: &str,
) -> Result<KustomizeApp, Vec<Refused>> {
    let mut dirs = BTreeSet::new();
    let mut refused = Vec::new();
    let mut pending = vec![(root.to_string(), file.to_string())];
    while let Some((dir, file)) = pending.pop() {
        if !dirs.insert(dir.clone()) {
            continue;
        }
        let text = String::from_utf8_lossy(&snapshot.files[&file]).into_owned();
        // kustomize itself reports a malformed kustomization, with its words
        let Ok(Value::Object(doc)) = crate::yaml::from_str::<Value>(&text) else {
            continue;
        };
        for field in HELM_FIELDS {
            if doc.contains_key(field) {
                refused.push(Refused {
                    file: file.clone(),
                    field: field.to_string(),
                    message: "Helm inflation inside a kustomization is not run (it needs the \
                              network and --enable-helm): make the chart a Helm chart app"
                        .to_string(),
                });
            }
        }
        for field in REFERENCE_FIELDS {
            let Some(Value::Array(items)) = doc.get(field) else {
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let Some(reference) = item.as_str() else {
                    continue;
                };
                let at = format!("{field}[{i}]");
                match resolve(snapshot, &dir, reference) {
                    Reference::File => {}
                    Reference::Dir(sub) => match kustomization_in(snapshot, &sub) {
                        Some(f) => pending.push((sub, f)),
                        None => refused.push(Refused {
                            file: file.clone(),
                            field: at,
                            message: format!(
                                "{reference:?} is a directory of the commit without a \
                                 kustomization.yaml"
                            ),
                        }),
                    },
                    Reference::Refused(message) => refused.push(Refused {
                        file: file.clone(),
                        field: at,
                        message,
                    }),
                }
            }
        }
    }
    if refused.is_empty() {
        Ok(KustomizeApp {
            app: app.to_string(),
            root: root.to_string(),
            file: file.to_string(),
            dirs,
        })
    } else {
        refused.sort_by(|a, b| (&a.file, &a.field).cmp(&(&b.file, &b.field)));
        Err(refused)
    }
}

enum Reference {
    File,
    Dir(String),
    Refused(String),
}

fn resolve(snapshot: &Snapshot, dir: &str, reference: &str) -> Reference {
    if is_remote(reference) {
        return Reference::Refused(format!(
            "remote base {reference:?} refused: tranche renders only what the commit holds \
             (vendor it into the repository, e.g. under apps/<app>/base/)"
        ));
    }
    let Some(path) = normalize(dir, reference) else {
        return Reference::Refused(format!(
            "{reference:?} leaves the repository's fleet directory"
        ));
    };
    if snapshot.files.contains_key(&path) {
        return Reference::File;
    }
    let prefix = format!("{path}/");
    if snapshot.files.keys().any(|k| k.starts_with(&prefix)) {
        return Reference::Dir(path);
    }
    Reference::Refused(format!(
        "{reference:?} is not in the commit (resolved to {path})"
    ))
}

/// References kustomize would fetch: URLs and go-getter style repo paths.
pub fn is_remote(reference: &str) -> bool {
    let r = reference.trim();
    r.contains("://")
        || r.starts_with("git@")
        || r.starts_with("github.com/")
        || r.starts_with("gitlab.com/")
        || r.starts_with("bitbucket.org/")
        || r.contains("?ref=")
        || r.contains(".git//")
}

/// `dir` + `reference` as a `/`-separated path of the snapshot, or `None`
/// when it climbs above the fleet root or is absolute.
fn normalize(dir: &str, reference: &str) -> Option<String> {
    if reference.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in reference.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(files: &[(&str, &str)]) -> Snapshot {
        Snapshot::from_files("c0ffee", files.iter().map(|(p, c)| (*p, *c)))
    }

    #[test]
    fn an_overlay_reads_its_base() {
        let s = snapshot(&[
            (
                "apps/shop/manifests/kustomization.yaml",
                "resources: [../base]\n",
            ),
            (
                "apps/shop/base/kustomization.yaml",
                "resources: [deploy.yaml]\n",
            ),
            ("apps/shop/base/deploy.yaml", "kind: Deployment\n"),
        ]);
        let found = apps(&s);
        let (root, file) = &found["shop"];
        let app = walk(&s, "shop", root, file).unwrap();
        assert_eq!(
            app.dirs.into_iter().collect::<Vec<_>>(),
            ["apps/shop/base", "apps/shop/manifests"]
        );
    }

    #[test]
    fn remote_and_escaping_references_are_refused() {
        let s = snapshot(&[(
            "apps/shop/kustomization.yaml",
            "resources:\n- https://github.com/acme/base?ref=v1\n- github.com/acme/x//base\n\
             - ../../../outside\n- missing.yaml\ncomponents: [git@github.com:acme/c.git]\n",
        )]);
        let errs = walk(&s, "shop", "apps/shop", "apps/shop/kustomization.yaml").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "components[0]",
                "resources[0]",
                "resources[1]",
                "resources[2]",
                "resources[3]"
            ]
        );
        assert!(
            errs[1].message.starts_with("remote base \"https://"),
            "{errs:?}"
        );
        assert!(errs[3].message.contains("leaves"), "{errs:?}");
        assert!(errs[4].message.contains("not in the commit"), "{errs:?}");
    }

    #[test]
    fn helm_inflation_is_refused() {
        let s = snapshot(&[(
            "apps/shop/kustomization.yaml",
            "helmCharts: [{name: redis, repo: https://charts.example.com}]\n",
        )]);
        let errs = walk(&s, "shop", "apps/shop", "apps/shop/kustomization.yaml").unwrap_err();
        assert_eq!(errs[0].field, "helmCharts");
    }
}
