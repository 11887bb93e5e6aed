//! How each of an app's objects is spread over the app's clusters, worked
//! out once per app (not per cluster): which clusters get a copy and what
//! replica count or HPA bounds each copy carries.
//!
//! * An HPA that targets a workload of the same app (Deployment,
//!   StatefulSet or ReplicaSet in the same namespace) owns the workload's
//!   replicas: every copy of the workload omits `spec.replicas`.
//! * Divided app, HPA mode Split: the HPA's bounds are split by weight
//!   ([`crate::render::hpa`]); the HPA and its workload go only to clusters
//!   whose max share is > 0.
//! * Divided app, HPA mode Duplicate (or a Duplicated app): the HPA is
//!   copied unchanged to every cluster, the workload too (without replicas).
//! * Divided app, workload without an HPA: `spec.replicas` (1 when absent)
//!   is split by weight; clusters whose share is 0 get no copy of it (so
//!   `replicas: 0` removes the workload from every cluster, while the app's
//!   other objects stay).
//! * Everything else is copied unchanged to every cluster of the app.

use crate::kinds::KindTable;
use crate::model::{App, HpaMode, Manifest};
use crate::object::ObjectRef;
use crate::render::hpa::{replica_count, split_bounds_by, Bounds, ScaleTarget, MAX_REPLICAS};
use crate::render::migration::Split;
use crate::render::RenderError;
use std::collections::{BTreeMap, BTreeSet};

/// Where copies of one object go and what each carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spread {
    /// An unchanged copy on every cluster of the app.
    Everywhere,
    /// A workload whose replicas an HPA owns: `spec.replicas` removed, on
    /// these clusters (`None`: every cluster of the app).
    HpaOwned(Option<BTreeSet<String>>),
    /// A Divided workload: `spec.replicas` per cluster; clusters with 0 or
    /// not listed get no copy.
    Replicas(BTreeMap<String, u64>),
    /// A split HPA: bounds per cluster; clusters not listed get no copy.
    Bounds(BTreeMap<String, Bounds>),
}

/// What one cluster's copy of an object carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// The object as written.
    Unchanged,
    /// `spec.replicas` removed (an HPA owns it).
    NoReplicas,
    /// `spec.replicas` set to this count.
    Replicas(u64),
    /// HPA `minReplicas`/`maxReplicas` set to these bounds.
    Bounds(Bounds),
}

impl Spread {
    /// The copy `cluster` gets, `None` when it gets none. `cluster` must be
    /// one of the app's clusters.
    pub fn on(&self, cluster: &str) -> Option<Shape> {
        match self {
            Spread::Everywhere => Some(Shape::Unchanged),
            Spread::HpaOwned(None) => Some(Shape::NoReplicas),
            Spread::HpaOwned(Some(set)) => set.contains(cluster).then_some(Shape::NoReplicas),
            Spread::Replicas(map) => map
                .get(cluster)
                .filter(|n| **n > 0)
                .map(|n| Shape::Replicas(*n)),
            Spread::Bounds(map) => map.get(cluster).map(|b| Shape::Bounds(*b)),
        }
    }
}

/// Identity and spread of each manifest of `app`, in manifest order.
/// `weights` is `Some` when the app is Divided (how its clusters split);
/// which kinds are HPAs and where workloads keep their replica count comes
/// from `kinds`.
pub fn spread_app(
    app: &App,
    weights: Option<&Split>,
    kinds: &KindTable,
) -> Result<Vec<(ObjectRef, Spread)>, Vec<RenderError>> {
    let replicas = |id: &ObjectRef| kinds.replicas_pointer(id.group(), &id.kind);
    let mut errors = Vec::new();
    let ids: Vec<Option<ObjectRef>> = app
        .manifests
        .iter()
        .map(|m| {
            let id = ObjectRef::from_object(&m.object);
            if id.is_none() {
                errors.push(RenderError::at(
                    &source(m),
                    "metadata.name",
                    &format!("document {}", m.doc),
                    "an object needs apiVersion, kind and metadata.name",
                ));
            }
            id
        })
        .collect();
    let split_hpas = weights.filter(|_| app.placement.hpa == HpaMode::Split);

    // HPA index → index of the workload it scales (same app and namespace).
    let mut targets: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, m) in app.manifests.iter().enumerate() {
        let Some(hpa_id) = ids[i]
            .as_ref()
            .filter(|id| kinds.is_hpa(id.group(), &id.kind))
        else {
            continue;
        };
        let Some(target) = ScaleTarget::of(&m.object) else {
            continue;
        };
        let found = ids.iter().position(|id| {
            id.as_ref().is_some_and(|id| {
                replicas(id).is_some() && id.namespace == hpa_id.namespace && target.is(id)
            })
        });
        if let Some(w) = found {
            targets.insert(i, w);
        }
    }

    let mut spreads: Vec<Spread> = vec![Spread::Everywhere; app.manifests.len()];
    let mut owned: BTreeMap<usize, Option<BTreeSet<String>>> = BTreeMap::new();
    for (&h, &w) in &targets {
        let entry = owned
            .entry(w)
            .or_insert_with(|| split_hpas.map(|_| BTreeSet::new()));
        let Some(weights) = split_hpas else { continue };
        let m = &app.manifests[h];
        match Bounds::of(&m.object) {
            Ok(bounds) => {
                let split = split_bounds_by(bounds, weights);
                // Several HPAs on one workload: it goes wherever any of them goes.
                if let Some(set) = entry {
                    set.extend(split.keys().cloned());
                }
                spreads[h] = Spread::Bounds(split);
            }
            Err(e) => errors.push(RenderError::at(
                &source(m),
                e.field,
                &describe(&ids[h]),
                e.message,
            )),
        }
    }
    for (i, m) in app.manifests.iter().enumerate() {
        let Some(id) = &ids[i] else { continue };
        if let Some(clusters) = owned.remove(&i) {
            spreads[i] = Spread::HpaOwned(clusters);
        } else if let (Some(weights), Some(pointer)) = (weights, replicas(id)) {
            match m.object.pointer(pointer) {
                None | Some(serde_json::Value::Null) => {
                    spreads[i] = Spread::Replicas(weights.of(1))
                }
                Some(v) => match replica_count(v) {
                    Some(n) => spreads[i] = Spread::Replicas(weights.of(n)),
                    None => errors.push(RenderError::at(
                        &source(m),
                        &pointer.trim_start_matches('/').replace('/', "."),
                        &id.to_string(),
                        format!("{v} is not a replica count (an integer from 0 to {MAX_REPLICAS})"),
                    )),
                },
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ids.into_iter().flatten().zip(spreads).collect())
}

/// `file[doc N]`: where a manifest came from.
pub fn source(m: &Manifest) -> String {
    format!("{}[doc {}]", m.file, m.doc)
}

fn describe(id: &Option<ObjectRef>) -> String {
    id.as_ref()
        .map_or_else(|| "object".to_string(), ObjectRef::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testkit::{app, config_map, deployment, hpa, set, weights as w};
    use serde_json::json;

    fn spreads(app: &App, weights: Option<&BTreeMap<String, u64>>) -> Vec<Spread> {
        let split = weights.map(|w| Split::plain(w.clone()));
        spread_app(app, split.as_ref(), KindTable::builtin())
            .unwrap()
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }

    #[test]
    fn divided_workload_replicas_are_split_and_zero_shares_get_no_copy() {
        let a = app(
            "shop",
            vec![
                deployment("web", Some(2)),
                deployment("api", None),
                config_map("cfg"),
            ],
        );
        let weights = w(&[("eu-1", 1), ("eu-2", 1), ("us-1", 1)]);
        let s = spreads(&a, Some(&weights));
        assert_eq!(
            s[0],
            Spread::Replicas(w(&[("eu-1", 1), ("eu-2", 1), ("us-1", 0)]))
        );
        assert_eq!(s[0].on("us-1"), None);
        assert_eq!(s[0].on("eu-2"), Some(Shape::Replicas(1)));
        // Absent spec.replicas counts as 1.
        assert_eq!(s[1].on("eu-1"), Some(Shape::Replicas(1)));
        assert_eq!(s[1].on("eu-2"), None);
        assert_eq!(s[2].on("us-1"), Some(Shape::Unchanged));
    }

    #[test]
    fn split_hpa_owns_replicas_and_max_share_zero_drops_hpa_and_workload() {
        let a = app(
            "shop",
            vec![deployment("web", Some(9)), hpa("v2", "web", Some(1), 2)],
        );
        let weights = w(&[("eu-1", 3), ("eu-2", 2), ("us-1", 1)]);
        let s = spreads(&a, Some(&weights));
        assert_eq!(s[0], Spread::HpaOwned(Some(set(&["eu-1", "eu-2"]))));
        assert_eq!(s[0].on("us-1"), None);
        assert_eq!(s[0].on("eu-1"), Some(Shape::NoReplicas));
        assert_eq!(
            s[1].on("eu-1"),
            Some(Shape::Bounds(Bounds { min: 1, max: 1 }))
        );
        assert_eq!(
            s[1].on("eu-2"),
            Some(Shape::Bounds(Bounds { min: 1, max: 1 }))
        );
        assert_eq!(s[1].on("us-1"), None);
    }

    #[test]
    fn duplicate_mode_and_duplicated_apps_copy_hpas_and_drop_replicas() {
        let mut a = app(
            "shop",
            vec![deployment("web", Some(9)), hpa("v1", "web", None, 4)],
        );
        let weights = w(&[("eu-1", 3), ("us-1", 1)]);
        let dup = spreads(&a, None);
        assert_eq!(dup, [Spread::HpaOwned(None), Spread::Everywhere]);
        a.placement.hpa = HpaMode::Duplicate;
        assert_eq!(
            spreads(&a, Some(&weights)),
            [Spread::HpaOwned(None), Spread::Everywhere]
        );
    }

    #[test]
    fn hpas_only_own_workloads_of_the_same_namespace_and_app() {
        let mut other_ns = deployment("web", Some(4));
        other_ns["metadata"]["namespace"] = json!("elsewhere");
        let a = app(
            "shop",
            vec![
                other_ns,
                hpa("v2", "web", None, 4),
                hpa("v2", "missing", None, 4),
            ],
        );
        let weights = w(&[("eu-1", 1), ("us-1", 1)]);
        let s = spreads(&a, Some(&weights));
        assert_eq!(s[0], Spread::Replicas(w(&[("eu-1", 2), ("us-1", 2)])));
        assert_eq!(s[1], Spread::Everywhere);
        assert_eq!(s[2], Spread::Everywhere);
    }

    #[test]
    fn bad_counts_are_errors_naming_file_field_and_object() {
        let mut bad = deployment("web", None);
        bad["spec"]["replicas"] = json!("three");
        let a = app(
            "shop",
            vec![
                bad,
                deployment("api", None),
                hpa("v2", "api", Some(5), 2),
                json!({"kind": "X"}),
            ],
        );
        let weights = w(&[("eu-1", 1)]);
        let errors: Vec<String> =
            spread_app(&a, Some(&Split::plain(weights)), KindTable::builtin())
                .unwrap_err()
                .iter()
                .map(|e| e.to_string())
                .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0]
                .starts_with("apps/shop/manifests/all.yaml[doc 3]: metadata.name: document 3:"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains("[doc 2]: spec.maxReplicas: HorizontalPodAutoscaler shop/api"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].contains(
                "[doc 0]: spec.replicas: Deployment shop/web: \"three\" is not a replica count"
            ),
            "{}",
            errors[2]
        );
    }
}
