//! [`Sources::prepare`]: a commit's snapshot in, the snapshot the model
//! reads out — every kustomize app's sources replaced by its build output.

use super::kustomize::{self, KustomizeApp};
use super::tool::{self, ToolError};
use super::{mask, KustomizeCommand, Sources, Tool};
use crate::git::Snapshot;
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
    /// Renders the kustomize apps of `snapshot` (see the module doc of
    /// [`crate::sources`]); every app that cannot be rendered is an error
    /// naming the app and its kustomization file.
    pub fn prepare<'a>(&self, snapshot: &'a Snapshot) -> Result<Prepared<'a>, ModelErrors> {
        let apps = kustomize::apps(snapshot);
        if apps.is_empty() {
            return Ok(Prepared {
                snapshot: Cow::Borrowed(snapshot),
                renders: Vec::new(),
            });
        }
        let mut errors = Vec::new();
        let mut outputs = Vec::new();
        let mut workdir: Option<tempfile::TempDir> = None;
        for (app, (root, file)) in &apps {
            let walked = match kustomize::walk(snapshot, app, root, file) {
                Ok(walked) => walked,
                Err(refused) => {
                    errors.extend(refused.into_iter().map(|r| {
                        ModelError::field(
                            &r.file,
                            &r.field,
                            format!("kustomize app {app}: {}", r.message),
                        )
                    }));
                    continue;
                }
            };
            let tool = match self.kustomize() {
                Ok(tool) => tool,
                Err(why) => {
                    errors.push(ModelError::file(
                        file,
                        format!("kustomize app {app}: {why}"),
                    ));
                    continue;
                }
            };
            let key = cache_key(snapshot, &walked, tool);
            if let Some(out) = self.cached(&key) {
                outputs.push((walked, out, true));
                continue;
            }
            let dir = match &workdir {
                Some(d) => d,
                None => {
                    match materialize(snapshot) {
                        Ok(d) => workdir.insert(d),
                        Err(e) => {
                            errors.push(ModelError::file(
                            file,
                            format!("kustomize app {app}: cannot write the commit to a temp dir: {e}"),
                        ));
                            continue;
                        }
                    }
                }
            };
            match self.build(tool, dir.path(), &walked) {
                Ok(out) => {
                    let out = Arc::new(out);
                    self.store(key, out.clone());
                    outputs.push((walked, out, false));
                }
                Err(e) => {
                    let secrets = mask::secret_values(inputs(snapshot, &walked));
                    let message = mask::mask(&e.to_string(), &secrets);
                    tracing::warn!(app = %app, tool = %tool.describe(), "kustomize build failed");
                    errors.push(ModelError::file(
                        file,
                        format!("kustomize app {app}: {message}"),
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ModelErrors(errors));
        }
        let mut files = snapshot.files.clone();
        let mut renders = Vec::new();
        let tool = self.kustomize().map(Tool::describe).unwrap_or_default();
        for (walked, out, cached) in outputs {
            let prefix = format!("apps/{}/", walked.app);
            files.retain(|path, _| match path.strip_prefix(&prefix) {
                Some(rest) => keeps(rest),
                None => true,
            });
            files.insert(output_path(&walked.app), out.as_ref().clone());
            tracing::debug!(app = %walked.app, tool = %tool, cached, "kustomize app rendered");
            renders.push(Render {
                app: walked.app,
                tool: tool.clone(),
                cached,
            });
        }
        Ok(Prepared {
            snapshot: Cow::Owned(Snapshot {
                commit: snapshot.commit.clone(),
                files,
                refused: snapshot.refused.clone(),
            }),
            renders,
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

/// What of a kustomize app's directory the model still reads: the
/// placement, the overrides and documentation.
fn keeps(rest: &str) -> bool {
    let base = rest
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(rest, "placement.yaml" | "placement.yml")
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
