//! Placement: which clusters each app goes to.
//!
//! An app's clusters are `((clusterNames ∪ labelSelector matches) − exclude)
//! ∪ (the clusters of every app in followApps)`. Exclusions do not remove
//! followed clusters: an app follows others because their objects need its
//! objects (a shared ConfigMap or Secret), wherever they go. An affinity
//! with neither names nor selector selects nothing by itself (only what it
//! follows); an empty label selector matches every cluster.
//!
//! Validation already rejects unknown names and follow cycles; placement
//! checks again and returns an error instead of looping or skipping.

use crate::model::{App, Cluster, ClusterTarget, Fleet};
use crate::render::RenderError;
use std::collections::{BTreeMap, BTreeSet};

/// Why an app's clusters could not be computed: unknown cluster or app
/// names, or apps that follow each other in a cycle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct PlacementError {
    /// Placement file of the app.
    pub file: String,
    /// App whose placement is wrong.
    pub app: String,
    /// Field concerned, e.g. `spec.clusterAffinity.followApps`.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl PlacementError {
    /// The same problem as a [`RenderError`], as `render` reports it.
    pub fn to_render_error(&self) -> RenderError {
        RenderError::at(
            &self.file,
            &self.field,
            &format!("app {}", self.app),
            self.message.clone(),
        )
    }
}

/// Whether `target` includes `cluster`: by name or selector (no names and no
/// selector = every cluster), and not excluded.
pub fn target_includes(target: &ClusterTarget, cluster: &Cluster) -> bool {
    if target.exclude.iter().any(|n| n == &cluster.name) {
        return false;
    }
    if target.cluster_names.is_empty() && target.label_selector.is_none() {
        return true;
    }
    target.cluster_names.iter().any(|n| n == &cluster.name)
        || target
            .label_selector
            .as_ref()
            .is_some_and(|s| s.matches(&cluster.labels))
}

/// The clusters of every app, by app name.
pub fn placed_clusters(
    fleet: &Fleet,
) -> Result<BTreeMap<String, BTreeSet<String>>, Vec<PlacementError>> {
    let mut errors = Vec::new();
    let mut own = BTreeMap::new();
    for (name, app) in &fleet.apps {
        match own_clusters(fleet, app) {
            Ok(set) => {
                own.insert(name.as_str(), set);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut resolver = Resolver {
        fleet,
        own,
        done: BTreeMap::new(),
        path: Vec::new(),
    };
    for name in fleet.apps.keys() {
        if let Err(e) = resolver.resolve(name) {
            // One cycle is reported once, from the first app that reaches it.
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(resolver
            .done
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect())
    } else {
        Err(errors)
    }
}

/// `(clusterNames ∪ selector matches) − exclude`, without followed apps.
fn own_clusters(fleet: &Fleet, app: &App) -> Result<BTreeSet<String>, Vec<PlacementError>> {
    let affinity = &app.placement.affinity;
    let error = |field: &str, message: String| PlacementError {
        file: app.placement.file.clone(),
        app: app.name.clone(),
        field: format!("spec.clusterAffinity.{field}"),
        message,
    };
    let mut errors = Vec::new();
    for (field, names) in [
        ("clusterNames", &affinity.cluster_names),
        ("exclude", &affinity.exclude),
    ] {
        for name in names.iter().filter(|n| !fleet.clusters.contains_key(*n)) {
            errors.push(error(
                field,
                format!("cluster {name:?} is not in the registry (clusters/*.yaml); fix the name or add the cluster"),
            ));
        }
    }
    for followed in affinity
        .follow_apps
        .iter()
        .filter(|a| !fleet.apps.contains_key(*a))
    {
        errors.push(error(
            "followApps",
            format!("app {followed:?} does not exist under apps/; fix the name"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut set: BTreeSet<String> = affinity.cluster_names.iter().cloned().collect();
    if let Some(selector) = &affinity.label_selector {
        set.extend(
            fleet
                .clusters
                .values()
                .filter(|c| selector.matches(&c.labels))
                .map(|c| c.name.clone()),
        );
    }
    for excluded in &affinity.exclude {
        set.remove(excluded);
    }
    Ok(set)
}

/// Adds followed apps' clusters, depth first, memoized; `path` holds the
/// apps being resolved so a cycle is detected instead of recursing forever.
struct Resolver<'a> {
    fleet: &'a Fleet,
    own: BTreeMap<&'a str, BTreeSet<String>>,
    done: BTreeMap<&'a str, BTreeSet<String>>,
    path: Vec<&'a str>,
}

impl<'a> Resolver<'a> {
    fn resolve(&mut self, name: &'a str) -> Result<(), PlacementError> {
        if self.done.contains_key(name) {
            return Ok(());
        }
        if let Some(start) = self.path.iter().position(|p| *p == name) {
            let mut cycle: Vec<String> = self.path[start..].iter().map(|s| s.to_string()).collect();
            // Report a cycle the same way whichever app it was entered from.
            let first = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| n.as_str())
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(first);
            cycle.push(cycle[0].clone());
            let file = self
                .fleet
                .apps
                .get(cycle[0].as_str())
                .map(|a| a.placement.file.clone());
            return Err(PlacementError {
                file: file.unwrap_or_default(),
                app: cycle[0].clone(),
                field: "spec.clusterAffinity.followApps".into(),
                message: format!(
                    "apps follow each other in a cycle ({}); give one of them its own clusterNames or labelSelector",
                    cycle.join(" → ")
                ),
            });
        }
        let fleet = self.fleet;
        let Some(app) = fleet.apps.get(name) else {
            return Ok(());
        };
        self.path.push(name);
        let mut set = self.own.get(name).cloned().unwrap_or_default();
        for followed in &app.placement.affinity.follow_apps {
            let result = self.resolve(followed.as_str());
            if let Err(e) = result {
                self.path.pop();
                return Err(e);
            }
            if let Some(theirs) = self.done.get(followed.as_str()) {
                set.extend(theirs.iter().cloned());
            }
        }
        self.path.pop();
        self.done.insert(name, set);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{App, ClusterAffinity, LabelSelector};
    use crate::render::testkit::{cluster, eu, fleet, names, set};

    fn app(name: &str, affinity: ClusterAffinity) -> App {
        let mut app = crate::render::testkit::app(name, vec![]);
        app.placement.affinity = affinity;
        app
    }

    #[test]
    fn names_union_selector_minus_exclude_union_followed() {
        let f = fleet(vec![
            app(
                "a",
                ClusterAffinity {
                    label_selector: eu(),
                    exclude: names(&["eu-2"]),
                    ..Default::default()
                },
            ),
            app(
                "b",
                ClusterAffinity {
                    cluster_names: names(&["us-1"]),
                    ..Default::default()
                },
            ),
            app(
                "shared",
                ClusterAffinity {
                    follow_apps: names(&["a", "b"]),
                    ..Default::default()
                },
            ),
            app(
                "c",
                ClusterAffinity {
                    cluster_names: names(&["eu-2"]),
                    exclude: names(&["us-1"]),
                    follow_apps: names(&["b"]),
                    ..Default::default()
                },
            ),
            app("none", ClusterAffinity::default()),
            app(
                "all",
                ClusterAffinity {
                    label_selector: Some(LabelSelector::default()),
                    ..Default::default()
                },
            ),
        ]);
        let placed = placed_clusters(&f).unwrap();
        assert_eq!(placed["a"], set(&["eu-1"]));
        assert_eq!(placed["b"], set(&["us-1"]));
        assert_eq!(placed["shared"], set(&["eu-1", "us-1"]));
        // Exclusions apply to the app's own selection, not to what it follows.
        assert_eq!(placed["c"], set(&["eu-2", "us-1"]));
        assert_eq!(placed["none"], set(&[]));
        assert_eq!(placed["all"], set(&["eu-1", "eu-2", "us-1"]));
    }

    #[test]
    fn follow_chains_resolve_in_dependency_order() {
        let f = fleet(vec![
            app(
                "a",
                ClusterAffinity {
                    follow_apps: names(&["b"]),
                    ..Default::default()
                },
            ),
            app(
                "b",
                ClusterAffinity {
                    follow_apps: names(&["c"]),
                    ..Default::default()
                },
            ),
            app(
                "c",
                ClusterAffinity {
                    cluster_names: names(&["eu-1"]),
                    ..Default::default()
                },
            ),
        ]);
        assert_eq!(placed_clusters(&f).unwrap()["a"], set(&["eu-1"]));
    }

    #[test]
    fn cycles_are_an_error_not_a_hang() {
        let f = fleet(vec![
            app(
                "a",
                ClusterAffinity {
                    follow_apps: names(&["b"]),
                    ..Default::default()
                },
            ),
            app(
                "b",
                ClusterAffinity {
                    follow_apps: names(&["c"]),
                    ..Default::default()
                },
            ),
            app(
                "c",
                ClusterAffinity {
                    follow_apps: names(&["a"]),
                    ..Default::default()
                },
            ),
            app(
                "d",
                ClusterAffinity {
                    follow_apps: names(&["d"]),
                    ..Default::default()
                },
            ),
        ]);
        let errors = placed_clusters(&f).unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].contains("(a → b → c → a)"), "{}", text[0]);
        assert!(text[0].starts_with("apps/a/placement.yaml"), "{}", text[0]);
        assert!(text[1].contains("(d → d)"), "{}", text[1]);
    }

    #[test]
    fn unknown_names_are_errors() {
        let f = fleet(vec![app(
            "a",
            ClusterAffinity {
                cluster_names: names(&["mars-1"]),
                exclude: names(&["venus"]),
                follow_apps: names(&["ghost"]),
                ..Default::default()
            },
        )]);
        let errors = placed_clusters(&f).unwrap_err();
        assert_eq!(errors.len(), 3);
        assert!(errors[0]
            .to_string()
            .contains("clusterNames: cluster \"mars-1\" is not in the registry"));
        assert!(errors[1].to_string().contains("exclude: cluster \"venus\""));
        assert!(errors[2]
            .to_string()
            .contains("app \"ghost\" does not exist"));
        assert_eq!(errors[2].file, "apps/a/placement.yaml");
        assert_eq!(
            errors[2].to_render_error().to_string(),
            "apps/a/placement.yaml: spec.clusterAffinity.followApps: app a: app \"ghost\" does not exist under apps/; fix the name"
        );
    }

    #[test]
    fn targets_without_names_or_selector_match_everything_but_exclusions() {
        let c = cluster("eu-1", &[("region", "eu")]);
        assert!(target_includes(&ClusterTarget::default(), &c));
        let excluded = ClusterTarget {
            exclude: names(&["eu-1"]),
            ..Default::default()
        };
        assert!(!target_includes(&excluded, &c));
        let by_name = ClusterTarget {
            cluster_names: names(&["us-1"]),
            ..Default::default()
        };
        assert!(!target_includes(&by_name, &c));
        let by_label = ClusterTarget {
            label_selector: eu(),
            ..Default::default()
        };
        assert!(target_includes(&by_label, &c));
        let either = ClusterTarget {
            cluster_names: names(&["us-1"]),
            label_selector: eu(),
            ..Default::default()
        };
        assert!(target_includes(&either, &c));
    }
}
