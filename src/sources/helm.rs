//! Helm chart apps, the pure part: which apps are charts, their settings
//! (`apps/<app>/helm.yaml`), which values files each cluster gets (the
//! `targetCluster` rules of overrides), and how a per-cluster render
//! becomes override documents over the common one.
//!
//! ```yaml
//! # apps/<app>/helm.yaml (optional when apps/<app>/chart/Chart.yaml exists)
//! apiVersion: tranche.dev/v1alpha1
//! kind: HelmChart
//! spec:
//!   chart: chart              # a chart directory inside the app (default: chart)
//!   releaseName: shop         # default: the app name
//!   values:                   # after apps/<app>/values.yaml, in this order
//!     - file: values/eu.yaml
//!       targetCluster: {labelSelector: {matchLabels: {region: eu}}}
//! ```
//!
//! The release namespace (`helm template --namespace`) is the namespace
//! the app's objects get when they set none: the Placement's
//! `spec.namespace`, else `tranche.yaml`'s `spec.defaultNamespace`, else
//! `default`.
//!
//! Clusters are grouped by the values files they get. The group with none
//! is rendered with `values.yaml` alone: that render is the app's
//! manifests. Every other group is rendered with its files too, and each
//! object that differs becomes an RFC 6902 override (`plaintext`) aimed at
//! exactly that group's clusters, so placement, split and the user's own
//! overrides work as for plain manifests.

use crate::git::Snapshot;
use crate::model::raw::ClusterTarget as RawTarget;
use crate::model::validate::selector::cluster_target;
use crate::model::validate::{Known, Loc, Problems};
use crate::model::{Cluster, ClusterTarget};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `spec` of `kind: HelmChart` (`apps/<app>/helm.yaml`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmSpec {
    /// Chart directory, relative to the app directory. Default `chart`.
    pub chart: Option<String>,
    /// Release name. Default: the app name.
    pub release_name: Option<String>,
    /// Per-cluster values files.
    #[serde(default)]
    pub values: Vec<ValuesEntry>,
}

/// One per-cluster values file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValuesEntry {
    /// Path relative to the app directory.
    pub file: String,
    /// Clusters that get it.
    #[serde(default)]
    pub target_cluster: RawTarget,
}

/// One chart app, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmApp {
    /// App name.
    pub app: String,
    /// The file errors name (`helm.yaml`, or `chart/Chart.yaml`).
    pub file: String,
    /// Chart directory in the snapshot.
    pub chart: String,
    /// Release name.
    pub release: String,
    /// Release namespace.
    pub namespace: String,
    /// `apps/<app>/values.yaml` when present.
    pub base_values: Option<String>,
    /// Cluster groups: the values files (snapshot paths) → their clusters.
    /// The empty list is the common render.
    pub groups: BTreeMap<Vec<String>, Vec<String>>,
}

/// The chart apps of a snapshot, checked against its clusters.
pub fn apps(snapshot: &Snapshot, p: &mut Problems) -> Vec<HelmApp> {
    let mut names: Vec<&str> = Vec::new();
    for path in snapshot.files.keys() {
        let parts: Vec<&str> = path.split('/').collect();
        if let ["apps", app, "helm.yaml"] | ["apps", app, "chart", "Chart.yaml"] = parts.as_slice()
        {
            if names.last() != Some(app) && !names.contains(app) {
                names.push(app);
            }
        }
    }
    let clusters = clusters(snapshot);
    names
        .into_iter()
        .filter_map(|app| app_of(snapshot, app, &clusters, p))
        .collect()
}

fn app_of(
    snapshot: &Snapshot,
    app: &str,
    clusters: &[Cluster],
    p: &mut Problems,
) -> Option<HelmApp> {
    let dir = format!("apps/{app}");
    let settings = format!("{dir}/helm.yaml");
    let before = p.len();
    let (file, spec) = match snapshot.files.get(&settings) {
        None => (format!("{dir}/chart/Chart.yaml"), HelmSpec::default()),
        Some(bytes) => (settings.clone(), read_spec(&settings, bytes, p)?),
    };
    let loc = Loc::file(&file);
    let chart = match normalize(&dir, spec.chart.as_deref().unwrap_or("chart")) {
        Some(c) if snapshot.files.contains_key(&format!("{c}/Chart.yaml")) => c,
        _ => {
            p.push(loc, "spec.chart", format!(
                "helm app {app}: no chart: {:?} is not a directory with a Chart.yaml inside the fleet directory",
                spec.chart.as_deref().unwrap_or("chart")
            ));
            return None;
        }
    };
    let known = Known {
        clusters: clusters.iter().map(|c| c.name.clone()).collect(),
        apps: Default::default(),
    };
    let mut targets: Vec<(String, ClusterTarget)> = Vec::new();
    for (i, entry) in spec.values.iter().enumerate() {
        let field = format!("spec.values[{i}]");
        match normalize(&dir, &entry.file).filter(|f| snapshot.files.contains_key(f)) {
            Some(path) => {
                let target = cluster_target(
                    loc,
                    &format!("{field}.targetCluster"),
                    entry.target_cluster.clone(),
                    &known,
                    p,
                );
                targets.push((path, target));
            }
            None => p.push(
                loc,
                &format!("{field}.file"),
                format!(
                    "helm app {app}: {:?} is not a file of the app in this commit",
                    entry.file
                ),
            ),
        }
    }
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    groups.entry(Vec::new()).or_default();
    for cluster in clusters {
        let chosen: Vec<String> = targets
            .iter()
            .filter(|(_, t)| t.matches(cluster))
            .map(|(f, _)| f.clone())
            .collect();
        groups.entry(chosen).or_default().push(cluster.name.clone());
    }
    let base_values = Some(format!("{dir}/values.yaml")).filter(|f| snapshot.files.contains_key(f));
    (p.len() == before).then(|| HelmApp {
        app: app.to_string(),
        file,
        chart,
        release: spec.release_name.unwrap_or_else(|| app.to_string()),
        namespace: namespace(snapshot, &dir),
        base_values,
        groups,
    })
}

fn read_spec(file: &str, bytes: &[u8], p: &mut Problems) -> Option<HelmSpec> {
    let loc = Loc::file(file);
    let text = String::from_utf8_lossy(bytes);
    let doc: Value = match crate::yaml::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            p.push(loc, "", e.to_string());
            return None;
        }
    };
    if doc.get("kind").and_then(Value::as_str) != Some("HelmChart") {
        p.push(loc, "kind", "expected kind: HelmChart");
        return None;
    }
    match crate::yaml::from_value::<HelmSpec>(doc.get("spec").cloned().unwrap_or(json!({}))) {
        Ok(spec) => Some(spec),
        Err(e) => {
            p.push(loc, "spec", e.to_string());
            None
        }
    }
}

/// Cluster names and labels, read leniently (the model reports bad files).
fn clusters(snapshot: &Snapshot) -> Vec<Cluster> {
    let mut out = Vec::new();
    for (path, bytes) in &snapshot.files {
        let Some(stem) = path
            .strip_prefix("clusters/")
            .and_then(|f| f.strip_suffix(".yaml").or_else(|| f.strip_suffix(".yml")))
        else {
            continue;
        };
        let doc: Value = crate::yaml::from_str(&String::from_utf8_lossy(bytes)).unwrap_or_default();
        let labels = doc
            .pointer("/metadata/labels")
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default();
        out.push(Cluster {
            name: stem.to_string(),
            labels,
            context: stem.to_string(),
            rollout_order: None,
            file: path.clone(),
        });
    }
    out
}

/// The namespace the model gives the app's namespace-less objects.
fn namespace(snapshot: &Snapshot, dir: &str) -> String {
    let field = |path: &str, pointer: &str| -> Option<String> {
        let bytes = snapshot.files.get(path)?;
        let doc: Value = crate::yaml::from_str(&String::from_utf8_lossy(bytes)).ok()?;
        doc.pointer(pointer)?.as_str().map(str::to_string)
    };
    field(&format!("{dir}/placement.yaml"), "/spec/namespace")
        .or_else(|| field("tranche.yaml", "/spec/defaultNamespace"))
        .or_else(|| field("tranche.yml", "/spec/defaultNamespace"))
        .unwrap_or_else(|| "default".to_string())
}

fn normalize(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains("://") {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').collect();
    for s in rel.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/")).filter(|p| !p.is_empty())
}

/// The override documents that turn the common render `base` into the
/// group render `variant` on `clusters`, or the message when the variant
/// adds or removes objects (values may change objects, not the set).
pub fn variant_overrides(
    base: &[Value],
    variant: &[Value],
    clusters: &[String],
) -> Result<Vec<Value>, String> {
    let key = |o: &Value| crate::object::ObjectRef::from_object(o).map(|r| r.to_string());
    let base_by: BTreeMap<_, _> = base.iter().filter_map(|o| Some((key(o)?, o))).collect();
    let variant_by: BTreeMap<_, _> = variant.iter().filter_map(|o| Some((key(o)?, o))).collect();
    if let Some(extra) = variant_by.keys().find(|k| !base_by.contains_key(*k)) {
        return Err(format!("renders {extra}, which the common values do not"));
    }
    if let Some(missing) = base_by.keys().find(|k| !variant_by.contains_key(*k)) {
        return Err(format!(
            "does not render {missing}, which the common values do"
        ));
    }
    let mut docs = Vec::new();
    for (id, before) in &base_by {
        let after = variant_by[id];
        let patch = json_patch::diff(before, after);
        if patch.0.is_empty() {
            continue;
        }
        let ops: Vec<Value> = serde_json::to_value(&patch)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|op| {
                let mut out = json!({"path": op["path"], "operator": op["op"]});
                if let Some(v) = op.get("value") {
                    out["value"] = v.clone();
                }
                out
            })
            .collect();
        let mut selector = json!({"apiVersion": before["apiVersion"], "kind": before["kind"], "name": before["metadata"]["name"]});
        if let Some(ns) = before.pointer("/metadata/namespace") {
            selector["namespace"] = ns.clone();
        }
        docs.push(json!({
            "apiVersion": "tranche.dev/v1alpha1",
            "kind": "Override",
            "spec": {
                "resourceSelectors": [selector],
                "overrideRules": [{
                    "targetCluster": {"clusterNames": clusters},
                    "overriders": {"plaintext": ops},
                }],
            },
        }));
    }
    Ok(docs)
}
