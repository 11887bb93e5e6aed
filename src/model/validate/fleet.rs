//! Checks across files and apps: followApps cycles, objects claimed twice,
//! objects outside an app's AccessPolicy, and override resource selectors
//! that pick nothing.

use super::{Loc, Problems};
use crate::kinds::KindTable;
use crate::model::{AccessPolicy, AccessRequest, Manifest, OverrideFile, Placement};
use std::collections::BTreeMap;

const FOLLOW: &str = "spec.clusterAffinity.followApps";

/// Reports every followApps cycle once, naming it (`a -> b -> a`) at the
/// placement of the app where it was entered.
pub fn follow_cycles(placements: &BTreeMap<String, Placement>, p: &mut Problems) {
    let mut done: BTreeMap<&str, bool> = BTreeMap::new();
    let mut stack: Vec<&str> = Vec::new();
    for app in placements.keys() {
        visit(app, placements, &mut done, &mut stack, p);
    }
}

/// Depth-first walk; `done[app]` is false while `app` is on the stack.
fn visit<'a>(
    app: &'a str,
    placements: &'a BTreeMap<String, Placement>,
    done: &mut BTreeMap<&'a str, bool>,
    stack: &mut Vec<&'a str>,
    p: &mut Problems,
) {
    if done.contains_key(app) {
        return;
    }
    let Some(placement) = placements.get(app) else {
        return;
    };
    done.insert(app, false);
    stack.push(app);
    for next in &placement.affinity.follow_apps {
        match done.get(next.as_str()) {
            None => visit(next, placements, done, stack, p),
            Some(false) => {
                let start = stack.iter().position(|a| a == next).unwrap_or(0);
                let mut cycle: Vec<&str> = stack[start..].to_vec();
                cycle.push(next);
                let file = placements
                    .get(next.as_str())
                    .map_or(placement.file.as_str(), |pl| pl.file.as_str());
                p.push(
                    Loc::file(file),
                    FOLLOW,
                    format!(
                        "followApps cycle: {}: an app cannot follow itself, directly or through \
                         other apps",
                        cycle.join(" -> ")
                    ),
                );
            }
            Some(true) => {}
        }
    }
    stack.pop();
    done.insert(app, true);
}

/// Reports each object (group, kind, namespace, name) defined more than
/// once, at every later definition, naming the first.
pub fn duplicate_objects(manifests: &BTreeMap<String, Vec<Manifest>>, p: &mut Problems) {
    let mut seen: BTreeMap<_, (&str, &Manifest)> = BTreeMap::new();
    for (app, list) in manifests {
        for m in list {
            let Some(id) = m.id() else { continue };
            match seen.get(&id.group_kind_key()) {
                None => {
                    seen.insert(id.group_kind_key(), (app.as_str(), m));
                }
                Some((first_app, first)) => {
                    let owner = if *first_app == app {
                        String::new()
                    } else {
                        format!("app {first_app} in ")
                    };
                    p.push(
                        Loc::doc(&m.file, m.doc),
                        "",
                        format!(
                            "{id} is already defined by {owner}{}: each object belongs to exactly \
                             one app (share it with followApps instead)",
                            first.source()
                        ),
                    );
                }
            }
        }
    }
}

/// Reports each object the AccessPolicy does not allow `app` to create,
/// as written in its manifests. Loading has already namespaced them by the
/// kind table (cluster-scoped kinds carry no namespace, every other kind
/// one), so the scope of a kind the built-in table does not know is read
/// from that. Rendering checks every object again after its overrides,
/// with the fleet's table (`crate::render::check`).
pub fn access(app: &str, manifests: &[Manifest], policy: &AccessPolicy, p: &mut Problems) {
    let rule = policy.for_app(app);
    for m in manifests {
        let Some(id) = m.id() else { continue };
        let request = AccessRequest::judged(KindTable::builtin(), &id);
        if let Some(why) = rule.denial(&request) {
            p.push(
                Loc::doc(&m.file, m.doc),
                "",
                format!("{id} is not allowed for app {app} by the AccessPolicy: {why}"),
            );
        }
    }
}

/// Reports resource selectors of an override (read from `loc`) that match
/// none of the app's objects: almost always a typo.
pub fn unmatched_selectors(
    loc: Loc<'_>,
    app: &str,
    file: &OverrideFile,
    manifests: &[Manifest],
    p: &mut Problems,
) {
    for (i, sel) in file.resource_selectors.iter().enumerate() {
        if !manifests
            .iter()
            .any(|m| m.id().is_some_and(|id| sel.matches(&id)))
        {
            p.push(
                loc,
                &format!("spec.resourceSelectors[{i}]"),
                format!(
                    "matches no object of app {app} (check apiVersion, kind, namespace and name)"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClusterAffinity, HpaMode, ModelError, ReplicaScheduling};
    use serde_json::json;

    fn placement(app: &str, follows: &[&str]) -> (String, Placement) {
        let affinity = ClusterAffinity {
            follow_apps: follows.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let file = format!("apps/{app}/placement.yaml");
        let pl = Placement {
            file,
            affinity,
            replicas: ReplicaScheduling::Duplicated,
            hpa: HpaMode::Duplicate,
            namespace: None,
            migration: None,
            dynamic_weight: None,
            failover: None,
        };
        (app.to_string(), pl)
    }

    fn errors(p: Problems) -> Vec<ModelError> {
        p.finish(()).err().map(|e| e.0).unwrap_or_default()
    }

    #[test]
    fn follow_cycles_are_named() {
        let placements: BTreeMap<_, _> = [
            placement("a", &["b"]),
            placement("b", &["c"]),
            placement("c", &["a"]),
            placement("d", &["d"]),
            placement("e", &["a"]),
        ]
        .into();
        let mut p = Problems::default();
        follow_cycles(&placements, &mut p);
        assert_eq!(
            errors(p),
            [
                ModelError::field(
                    "apps/a/placement.yaml",
                    FOLLOW,
                    "followApps cycle: a -> b -> c -> a: an app cannot follow itself, directly or through other apps"
                ),
                ModelError::field(
                    "apps/d/placement.yaml",
                    FOLLOW,
                    "followApps cycle: d -> d: an app cannot follow itself, directly or through other apps"
                ),
            ]
        );
    }

    fn manifest(file: &str, doc: usize, api_version: &str, name: &str) -> Manifest {
        let object = json!({"apiVersion": api_version, "kind": "HorizontalPodAutoscaler",
                            "metadata": {"name": name, "namespace": "shop"}});
        Manifest {
            file: file.into(),
            doc,
            object,
        }
    }

    #[test]
    fn objects_in_two_apps_name_both_files() {
        let manifests: BTreeMap<_, _> = [
            (
                "a".to_string(),
                vec![manifest(
                    "apps/a/manifests/x.yaml",
                    0,
                    "autoscaling/v1",
                    "h",
                )],
            ),
            (
                "b".to_string(),
                vec![manifest(
                    "apps/b/manifests/y.yaml",
                    2,
                    "autoscaling/v2",
                    "h",
                )],
            ),
        ]
        .into();
        let mut p = Problems::default();
        duplicate_objects(&manifests, &mut p);
        assert_eq!(
            errors(p),
            [ModelError::doc(
                "apps/b/manifests/y.yaml",
                2,
                None,
                "HorizontalPodAutoscaler shop/h is already defined by app a in \
                 apps/a/manifests/x.yaml[doc 0]: each object belongs to exactly one app (share \
                 it with followApps instead)"
            )]
        );
    }
}
