//! Dynamic weights of one app: its pod template's requests, its clusters'
//! capacities, and the fallback to static weights.
//!
//! The pod is the app's first workload with a pod template (the kind
//! table's pod-spec pointer, [`crate::kinds`]); an app's clusters share one
//! split, so one pod sizes it. When no capacity is known at all (the caller
//! read none, as `tranche render` and `validate` do), or every cluster is
//! excluded, the static weights are used and a warning says so — the app
//! is never scaled to nothing by broken metrics.

use super::summary::pod_requests;
use super::{dynamic_weights, Capacities, CapacityWarning, DynamicWeights};
use crate::kinds::KindTable;
use crate::model::App;
use crate::object::ObjectRef;
use crate::render::RenderError;
use std::collections::{BTreeMap, BTreeSet};

/// What rendering reads beside the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderInputs {
    /// Free capacity per cluster (`None`: not read; dynamic weights fall
    /// back to static ones with a warning).
    pub capacities: Option<Capacities>,
    /// Weights last used per app, for the hysteresis.
    pub previous_weights: BTreeMap<String, BTreeMap<String, u64>>,
    /// Clusters failed over per app (`spec.failover`): weight 0.
    pub failed: crate::render::Failed,
}

/// Why an app's clusters got their weights, for `plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightNote {
    /// The computed weights; `None` when static weights were used.
    pub dynamic: Option<DynamicWeights>,
    /// Warnings (excluded clusters, fallback).
    pub warnings: Vec<String>,
}

/// Dynamic weights of `app` over `selected`, or `Ok(None)` when the app
/// does not use them. Falls back (a note without `dynamic`) as the module
/// doc says.
// The error joins the render's error list (Vec<RenderError>) as is; boxing
// it here would only be unboxed at the one caller.
#[allow(clippy::result_large_err)]
pub fn app_dynamic_weights(
    app: &App,
    selected: &BTreeSet<String>,
    inputs: &RenderInputs,
    kinds: &KindTable,
) -> Result<Option<WeightNote>, RenderError> {
    if app.placement.dynamic_weight.is_none() {
        return Ok(None);
    }
    let Some(capacities) = &inputs.capacities else {
        return Ok(Some(WeightNote {
            dynamic: None,
            warnings: vec![format!(
                "app {}: dynamicWeight: no cluster capacity read; static weights used",
                app.name
            )],
        }));
    };
    let field = "spec.replicaScheduling.weightPreference.dynamicWeight";
    let pod = app.manifests.iter().find_map(|m| {
        let id = ObjectRef::from_object(&m.object)?;
        kinds.replicas_pointer(id.group(), &id.kind)?;
        let pointer = kinds.pod_spec_pointer(id.group(), &id.kind)?;
        m.object.pointer(pointer).map(pod_requests)
    });
    let Some(pod) = pod else {
        return Err(RenderError::at(
            &app.placement.file,
            field,
            &format!("app {}", app.name),
            "dynamicWeight needs a workload with a pod template in the app",
        ));
    };
    let previous = inputs.previous_weights.get(&app.name);
    let dynamic = dynamic_weights(selected, capacities, pod, previous).map_err(|e| {
        RenderError::at(
            &app.placement.file,
            field,
            &format!("app {}", app.name),
            e.to_string(),
        )
    })?;
    let mut warnings: Vec<String> = dynamic
        .warnings
        .iter()
        .map(|w: &CapacityWarning| format!("app {}: {w}", app.name))
        .collect();
    if dynamic.weights.is_empty() {
        warnings.push(format!(
            "app {}: dynamicWeight: every cluster excluded; static weights used",
            app.name
        ));
        return Ok(Some(WeightNote {
            dynamic: None,
            warnings,
        }));
    }
    Ok(Some(WeightNote {
        dynamic: Some(dynamic),
        warnings,
    }))
}
