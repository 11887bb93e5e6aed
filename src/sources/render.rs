//! [`Sources::prepare`]: a commit's snapshot in, the snapshot the model
//! reads out — every kustomize app's sources replaced by its build output,
//! every chart app's by `helm template`'s output and the overrides of its
//! per-cluster values.

use super::kustomize::{self, KustomizeApp};
use super::tool::{self, ToolError};
use super::{helm, mask, KustomizeCommand, Sources, Tool};
use crate::git::Snapshot;
use crate::model::validate::Problems;
use crate::model::{ModelError, ModelErrors};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// A commit's snapshot ready for the model, and what was rendered for it.
#[derive(Debug)]
pub struct Prepared<'a> {
    /// The snapshot itself when no app needed a renderer, else a copy with
    /// the rendered apps' sources replaced by their output.
    pub snapshot: Cow<'a, Snapshot>,
    /// One entry per rendered app, in app order.
    pub renders: Vec<Render>,
}

/// One app rendered by a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Render {
    /// App name.
    pub app: String,
    /// The tool, its version and path (`kustomize v5.8.1 (/usr/bin/kustomize)`).
    pub tool: String,
    /// Whether the output came from the cache (the tool did not run).
    pub cached: bool,
}

/// Where a kustomize app's output is read from by the model.
pub fn output_path(app: &str) -> String {
    format!("apps/{app}/manifests/kustomization.yaml")
}

impl Sources {
    /// Renders the kustomize and Helm chart apps of `snapshot` (see the
    /// module doc of [`crate::sources`]); every app that cannot be rendered
    /// is an error naming the app and its file.
    pub fn prepare<'a>(&self, snapshot: &'a Snapshot) -> Result<Prepared<'a>, ModelErrors> {
        let apps = kustomize::apps(snapshot);
        let mut problems = Problems::default();
        let charts = helm::apps(snapshot, &mut problems);
        if apps.is_empty() && charts.is_empty() && problems.is_empty() {
            return Ok(Prepared {
                snapshot: Cow::Borrowed(snapshot),
                renders: Vec::new(),
            });
        }
        let mut errors = problems.into_errors().0;
        let mut workdir = Workdir {
            snapshot,
            dir: None,
        };
        let mut replacements = Vec::new();
        for (app, (root, file)) in &apps {
            match self.kustomize_app(snapshot, app, root, file, &mut workdir) {
                Ok(r) => replacements.push(r),
                Err(e) => errors.extend(e),
            }
        }
        for chart in &charts {
            if apps.contains_key(&chart.app) {
                errors.push(ModelError::file(
                    &chart.file,
                    format!(
                        "app {} is both a kustomization and a Helm chart: keep one",
                        chart.app
                    ),
                ));
                continue;
            }
            let helm = match self.helm() {
                Ok(h) => h,
                Err(why) => {
                    errors.push(ModelError::file(
                        &chart.file,
                        format!("helm app {}: {why}", chart.app),
                    ));
                    continue;
                }
            };
            let mut root = || workdir.path();
            match self.chart(snapshot, chart, helm, &mut root) {
                Ok(out) => {
                    let mut files = vec![(
                        format!("apps/{}/manifests/helm-template.yaml", chart.app),
                        out.manifests.as_ref().clone(),
                    )];
                    files.extend(out.overrides.map(|o| {
                        (
                            format!("apps/{}/overrides/00-helm-values.yaml", chart.app),
                            o,
                        )
                    }));
                    replacements.push(Replacement {
                        app: chart.app.clone(),
                        files,
                        keep_manifests: true,
                        render: Render {
                            app: chart.app.clone(),
                            tool: helm.describe(),
                            cached: out.cached,
                        },
                    });
                }
                Err(why) => {
                    tracing::warn!(app = %chart.app, tool = %helm.describe(), "helm template failed");
                    errors.push(ModelError::file(
                        &chart.file,
                        format!("helm app {}: {why}", chart.app),
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ModelErrors(errors));
        }
        let mut files = snapshot.files.clone();
        let mut renders = Vec::new();
        for r in replacements {
            let prefix = format!("apps/{}/", r.app);
            files.retain(|path, _| match path.strip_prefix(&prefix) {
                Some(rest) => keeps(rest, r.keep_manifests),
                None => true,
            });
            files.extend(r.files);
            tracing::debug!(app = %r.app, tool = %r.render.tool, cached = r.render.cached, "app rendered");
            renders.push(r.render);
        }
        renders.sort_by(|a, b| a.app.cmp(&b.app));
        Ok(Prepared {
            snapshot: Cow::Owned(Snapshot {
                commit: snapshot.commit.clone(),
                files,
                refused: snapshot.refused.clone(),
            }),
            renders,
        })
    }

    fn kustomize_app(
        &self,
        snapshot: &Snapshot,
        app: &str,
        root: &str,
        file: &str,
        workdir: &mut Workdir<'_>,
    ) -> Result<Replacement, Vec<ModelError>> {
        let walked = kustomize::walk(snapshot, app, root, file).map_err(|refused| {
            refused
                .into_iter()
                .map(|r| {
                    ModelError::field(
                        &r.file,
                        &r.field,
                        format!("kustomize app {app}: {}", r.message),
                    )
                })
                .collect::<Vec<_>>()
        })?;
        let fail = |why: String| {
            vec![ModelError::file(
                file,
                format!("kustomize app {app}: {why}"),
            )]
        };
        let tool = self.kustomize().map_err(fail)?;
        let key = cache_key(snapshot, &walked, tool);
        let (out, cached) = match self.cached(&key) {
            Some(out) => (out, true),
            None => {
                let dir = workdir.path().map_err(fail)?;
                match self.build(tool, &dir, &walked) {
                    Ok(out) => {
                        let out = Arc::new(out);
                        self.store(key, out.clone());
                        (out, false)
                    }
                    Err(e) => {
                        let secrets = mask::secret_values(inputs(snapshot, &walked));
                        tracing::warn!(app = %app, tool = %tool.describe(), "kustomize build failed");
                        return Err(fail(mask::mask(&e.to_string(), &secrets)));
                    }
                }
            }
        };
        Ok(Replacement {
            app: app.to_string(),
            files: vec![(output_path(app), out.as_ref().clone())],
            keep_manifests: false,
            render: Render {
                app: app.to_string(),
                tool: tool.describe(),
                cached,
            },
        })
    }

    fn build(&self, tool: &Tool, root: &Path, app: &KustomizeApp) -> Result<Vec<u8>, ToolError> {
        let home = tempfile::tempdir().map_err(|e| ToolError::Spawn {
            path: "temp dir".to_string(),
            reason: e.to_string(),
        })?;
        let (path, verb) = match &tool.command {
            KustomizeCommand::Kustomize(p) => (p, "build"),
            KustomizeCommand::Kubectl(p) => (p, "kustomize"),
        };
        let out = tool::run(
            path,
            &[verb, &app.root],
            root,
            home.path(),
            self.timeout,
            &format!("kustomize build {}", app.root),
        )?;
        Ok(out.stdout)
    }
}

/// What one rendered app puts in the model's snapshot.
struct Replacement {
    app: String,
    /// Files added (the output, and for charts the overrides of groups).
    files: Vec<(String, Vec<u8>)>,
    /// Whether `manifests/` stays (charts may ship plain objects beside).
    keep_manifests: bool,
    render: Render,
}

/// The commit's files written to a temp dir, once, on the first render
/// that misses the cache.
struct Workdir<'a> {
    snapshot: &'a Snapshot,
    dir: Option<tempfile::TempDir>,
}

impl Workdir<'_> {
    fn path(&mut self) -> Result<std::path::PathBuf, String> {
        if self.dir.is_none() {
            let dir = materialize(self.snapshot)
                .map_err(|e| format!("cannot write the commit to a temp dir: {e}"))?;
            self.dir = Some(dir);
        }
        Ok(self
            .dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }
}

/// What of a rendered app's directory the model still reads: the
/// placement, the overrides, documentation (and, for charts, manifests).
fn keeps(rest: &str, manifests: bool) -> bool {
    let base = rest
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    (manifests && rest.starts_with("manifests/"))
        || matches!(rest, "placement.yaml" | "placement.yml")
        || rest.starts_with("overrides/")
        || base.starts_with("readme")
        || base.ends_with(".md")
}

/// The files a build of `app` reads.
fn inputs<'s>(snapshot: &'s Snapshot, app: &KustomizeApp) -> impl Iterator<Item = &'s [u8]> {
    let dirs: Vec<String> = app.dirs.iter().map(|d| format!("{d}/")).collect();
    snapshot
        .files
        .iter()
        .filter(move |(path, _)| dirs.iter().any(|d| path.starts_with(d)))
        .map(|(_, content)| content.as_slice())
}

/// sha256 over the tool's version and every file under the directories
/// the build reads (path and content, length-prefixed).
fn cache_key(snapshot: &Snapshot, app: &KustomizeApp, tool: &Tool) -> String {
    let mut hash = Sha256::new();
    for part in [tool.describe().as_bytes(), app.root.as_bytes()] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    let dirs: Vec<String> = app.dirs.iter().map(|d| format!("{d}/")).collect();
    for (path, content) in &snapshot.files {
        if dirs.iter().any(|d| path.starts_with(d.as_str())) {
            for part in [path.as_bytes(), content.as_slice()] {
                hash.update((part.len() as u64).to_le_bytes());
                hash.update(part);
            }
        }
    }
    hex::encode(hash.finalize())
}

/// Writes the snapshot's files under a new temp dir.
fn materialize(snapshot: &Snapshot) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (path, content) in &snapshot.files {
        let safe = !path.is_empty()
            && !path.starts_with('/')
            && path
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        if !safe {
            continue;
        }
        let target = dir.path().join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, content)?;
    }
    Ok(dir)
}
