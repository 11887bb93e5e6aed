//! Running `helm template` for one chart app: the common render and one
//! per cluster group, each run twice on a cache miss to catch charts that
//! render differently every time, and the group renders turned into
//! override documents ([`super::helm::variant_overrides`]).

use super::helm::{variant_overrides, HelmApp};
use super::tool::{self, ToolError};
use super::{mask, HelmTool, Sources};
use crate::git::Snapshot;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// What a chart app turns into: its manifests and its override documents.
pub struct ChartOutput {
    /// `helm template` with the common values.
    pub manifests: Arc<Vec<u8>>,
    /// Overrides for the cluster groups with their own values (YAML).
    pub overrides: Option<Vec<u8>>,
    /// Whether every render came from the cache.
    pub cached: bool,
}

impl Sources {
    /// Renders `app` in the commit written out at `root` (`None` until a
    /// render misses the cache; `materialize` makes it).
    pub(super) fn chart(
        &self,
        snapshot: &Snapshot,
        app: &HelmApp,
        helm: &HelmTool,
        root: &mut dyn FnMut() -> Result<std::path::PathBuf, String>,
    ) -> Result<ChartOutput, String> {
        let mut cached = true;
        let mut render = |files: &[String]| -> Result<Arc<Vec<u8>>, String> {
            let key = key(snapshot, app, helm, files);
            if let Some(out) = self.cached(&key) {
                return Ok(out);
            }
            cached = false;
            let dir = root()?;
            let first = self
                .template(helm, &dir, app, files)
                .map_err(|e| masked(snapshot, app, e))?;
            let second = self
                .template(helm, &dir, app, files)
                .map_err(|e| masked(snapshot, app, e))?;
            if first != second {
                return Err(
                    "the chart renders differently on two runs of helm template (random \
                     functions such as randAlphaNum, genCA or uuidv4, or now): tranche \
                     needs one rendering per commit"
                        .to_string(),
                );
            }
            let out = Arc::new(first);
            self.store(key, out.clone());
            Ok(out)
        };
        let manifests = render(&[])?;
        let mut docs = Vec::new();
        let base = parse(&manifests)?;
        for (files, clusters) in &app.groups {
            if files.is_empty() || clusters.is_empty() {
                continue;
            }
            let variant = parse(&render(files)?)?;
            let group = variant_overrides(&base, &variant, clusters)
                .map_err(|why| format!("with {}: the chart {why}", files.join(", ")))?;
            docs.extend(group);
        }
        let overrides = (!docs.is_empty()).then(|| crate::yaml::to_documents(&docs).into_bytes());
        Ok(ChartOutput {
            manifests,
            overrides,
            cached,
        })
    }

    fn template(
        &self,
        helm: &HelmTool,
        root: &Path,
        app: &HelmApp,
        files: &[String],
    ) -> Result<Vec<u8>, ToolError> {
        let home = tempfile::tempdir().map_err(|e| ToolError::Spawn {
            path: "temp dir".to_string(),
            reason: e.to_string(),
        })?;
        let mut args: Vec<&str> = vec![
            "template",
            &app.release,
            &app.chart,
            "--namespace",
            &app.namespace,
            "--include-crds",
        ];
        for f in app.base_values.iter().chain(files) {
            args.extend(["--values", f.as_str()]);
        }
        let what = format!("helm template {} {}", app.release, app.chart);
        tool::run(&helm.path, &args, root, home.path(), self.timeout, &what).map(|o| o.stdout)
    }
}

/// The tool error with every Secret value of the app's inputs masked.
fn masked(snapshot: &Snapshot, app: &HelmApp, e: ToolError) -> String {
    let prefix = format!("apps/{}/", app.app);
    let chart = format!("{}/", app.chart);
    let inputs = snapshot
        .files
        .iter()
        .filter(|(p, _)| p.starts_with(&prefix) || p.starts_with(&chart))
        .map(|(_, c)| c.as_slice());
    mask::mask(&e.to_string(), &mask::secret_values(inputs))
}

fn parse(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let text = String::from_utf8_lossy(bytes);
    crate::yaml::parse_documents(&text)
        .map(|docs| docs.into_iter().map(|(_, v)| v).collect())
        .map_err(|(i, e)| format!("helm template's output, document {i}: {e}"))
}

/// sha256 over helm's version, the release, the chart's files and the
/// values files used.
fn key(snapshot: &Snapshot, app: &HelmApp, helm: &HelmTool, files: &[String]) -> String {
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    for s in [
        helm.describe().as_str(),
        &app.release,
        &app.namespace,
        &app.chart,
    ] {
        part(s.as_bytes());
    }
    let chart = format!("{}/", app.chart);
    for (path, content) in &snapshot.files {
        if path.starts_with(&chart) {
            part(path.as_bytes());
            part(content);
        }
    }
    for f in app.base_values.iter().chain(files) {
        part(f.as_bytes());
        part(snapshot.files.get(f).map(Vec::as_slice).unwrap_or_default());
    }
    hex::encode(hash.finalize())
}
