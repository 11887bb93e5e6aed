//! Placement: which clusters each app goes to.
//!
//! An app's candidates are the whole registry, or — with `followApps` —
//! the union of the clusters of the apps it follows (how a ConfigMap or
//! Secret shared by several apps goes wherever they go). Its clusters are
//! the candidates its affinity selects by the one rule every target obeys
//! ([`crate::model::ClusterAffinity::selects`], as
//! [`crate::model::ClusterTarget::matches`]): in `clusterNames` if any, AND
//! matched by `labelSelector` if set, AND not in `exclude`. Validation
//! allows only `exclude` beside `followApps`, so a follower goes to the
//! followed union minus its exclusions.
//!
//! Validation already rejects unknown names and follow cycles; placement
//! checks again and returns an error instead of looping or skipping.

use crate::model::{App, Fleet};
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

/// The clusters of every app, by app name.
pub fn placed_clusters(
    fleet: &Fleet,
) -> Result<BTreeMap<String, BTreeSet<String>>, Vec<PlacementError>> {
    placed_clusters_knowing(fleet, BTreeMap::new())
}

/// [`placed_clusters`], with the clusters of some apps already known
/// (what the last commit's placement gave them, when neither the registry
/// nor their placement nor that of any app they follow changed since: the
/// caller vouches for it). The others are worked out as usual, every
/// name is checked, and cycles through any app not in `known` are found.
pub fn placed_clusters_knowing(
    fleet: &Fleet,
    known: BTreeMap<String, BTreeSet<String>>,
) -> Result<BTreeMap<String, BTreeSet<String>>, Vec<PlacementError>> {
    let mut errors: Vec<PlacementError> = fleet
        .apps
        .values()
        .flat_map(|app| unknown_names(fleet, app))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let done = known
        .into_iter()
        .filter_map(|(name, set)| Some((fleet.apps.get_key_value(&name)?.0.as_str(), set)))
        .collect();
    let mut resolver = Resolver {
        fleet,
        done,
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

/// Cluster names in `clusterNames` or `exclude` that are not in the
/// registry, and `followApps` entries that are not apps.
fn unknown_names(fleet: &Fleet, app: &App) -> Vec<PlacementError> {
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
    errors
}

/// Works out apps' clusters depth first (an app after the apps it
/// follows), memoized; `path` holds the apps being resolved so a cycle is
/// detected instead of recursing forever.
struct Resolver<'a> {
    fleet: &'a Fleet,
    done: BTreeMap<&'a str, BTreeSet<String>>,
    path: Vec<&'a str>,
}

impl<'a> Resolver<'a> {
    fn resolve(&mut self, name: &'a str) -> Result<(), PlacementError> {
        if self.done.contains_key(name) {
            return Ok(());
        }
        if let Some(start) = self.path.iter().position(|p| *p == name) {
            return Err(self.cycle_error(start));
        }
        let fleet = self.fleet;
        let Some(app) = fleet.apps.get(name) else {
            return Ok(());
        };
        let affinity = &app.placement.affinity;
        let selected = |c: &String| fleet.clusters.get(c).is_some_and(|c| affinity.selects(c));
        let mut set: BTreeSet<String> = if affinity.follow_apps.is_empty() {
            // Only the names selected are copied (the registry is large).
            (fleet.clusters.iter())
                .filter(|(_, c)| affinity.selects(c))
                .map(|(name, _)| name.clone())
                .collect()
        } else {
            self.path.push(name);
            let mut union = BTreeSet::new();
            for followed in &affinity.follow_apps {
                if let Err(e) = self.resolve(followed.as_str()) {
                    self.path.pop();
                    return Err(e);
                }
                if let Some(theirs) = self.done.get(followed.as_str()) {
                    union.extend(theirs.iter().cloned());
                }
            }
            self.path.pop();
            union.into_iter().filter(selected).collect()
        };
        if let Some(m) = &app.placement.migration {
            crate::render::migration::trim(&mut set, m).map_err(|(field, message)| {
                PlacementError {
                    file: app.placement.file.clone(),
                    app: app.name.clone(),
                    field,
                    message,
                }
            })?;
        }
        self.done.insert(name, set);
        Ok(())
    }

    /// The cycle `path[start..]`, reported the same way whichever app it
    /// was entered from.
    fn cycle_error(&self, start: usize) -> PlacementError {
        let mut cycle: Vec<String> = self.path[start..].iter().map(|s| s.to_string()).collect();
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
        PlacementError {
            file: file.unwrap_or_default(),
            app: cycle[0].clone(),
            field: "spec.clusterAffinity.followApps".into(),
            message: format!(
                "apps follow each other in a cycle ({}); give one of them its own clusterNames or labelSelector",
                cycle.join(" → ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{App, ClusterAffinity, LabelSelector};
    use crate::render::testkit::{eu, fleet, names, set};

    /// An app whose affinity is (clusterNames, labelSelector, exclude,
    /// followApps).
    fn app(
        name: &str,
        (cluster_names, label_selector, exclude, follow_apps): (
            &[&str],
            Option<LabelSelector>,
            &[&str],
            &[&str],
        ),
    ) -> App {
        let mut app = crate::render::testkit::app(name, vec![]);
        app.placement.affinity = ClusterAffinity {
            cluster_names: names(cluster_names),
            label_selector,
            exclude: names(exclude),
            follow_apps: names(follow_apps),
        };
        app
    }

    fn follows(name: &str, apps: &[&str]) -> App {
        app(name, (&[], None, &[], apps))
    }

    #[test]
    fn names_and_selector_minus_exclude_and_followers_minus_exclude() {
        let f = fleet(vec![
            app("a", (&[], eu(), &["eu-2"], &[])),
            app("b", (&["us-1"], None, &[], &[])),
            follows("shared", &["a", "b"]),
            app("shared-but-us", (&[], None, &["us-1"], &["a", "b"])),
            // Names AND selector: eu-1 and us-1 are named, only eu-1 is in eu.
            app("named-in-eu", (&["eu-1", "us-1"], eu(), &[], &[])),
            app("all-but-eu-1", (&[], None, &["eu-1"], &[])),
            app("all", (&[], Some(LabelSelector::default()), &[], &[])),
        ]);
        let placed = placed_clusters(&f).unwrap();
        assert_eq!(placed["a"], set(&["eu-1"]));
        assert_eq!(placed["b"], set(&["us-1"]));
        assert_eq!(placed["shared"], set(&["eu-1", "us-1"]));
        // Exclusions apply to the followed union too.
        assert_eq!(placed["shared-but-us"], set(&["eu-1"]));
        assert_eq!(placed["named-in-eu"], set(&["eu-1"]));
        assert_eq!(placed["all-but-eu-1"], set(&["eu-2", "us-1"]));
        assert_eq!(placed["all"], set(&["eu-1", "eu-2", "us-1"]));
    }

    /// Validation rejects followApps beside clusterNames or labelSelector;
    /// should such a fleet reach rendering, the criteria filter the followed
    /// union like any candidates (never widening it).
    #[test]
    fn criteria_beside_follow_apps_only_narrow_the_union() {
        let f = fleet(vec![
            app("b", (&["eu-1", "us-1"], None, &[], &[])),
            app("c", (&["eu-2", "us-1"], None, &[], &["b"])),
        ]);
        assert_eq!(placed_clusters(&f).unwrap()["c"], set(&["us-1"]));
    }

    #[test]
    fn follow_chains_resolve_in_dependency_order() {
        let f = fleet(vec![
            follows("a", &["b"]),
            follows("b", &["c"]),
            app("c", (&["eu-1"], None, &[], &[])),
        ]);
        assert_eq!(placed_clusters(&f).unwrap()["a"], set(&["eu-1"]));
    }

    #[test]
    fn cycles_are_an_error_not_a_hang() {
        let f = fleet(vec![
            follows("a", &["b"]),
            follows("b", &["c"]),
            follows("c", &["a"]),
            follows("d", &["d"]),
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
        let f = fleet(vec![app("a", (&["mars-1"], None, &["venus"], &["ghost"]))]);
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
}
