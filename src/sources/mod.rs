//! App sources other than plain YAML: Kustomize apps, rendered by the real
//! `kustomize` (or `kubectl kustomize`), and Helm chart apps, rendered by
//! the real `helm template` ([`helm`]), from the commit's tree.
//!
//! This is the one step between [`crate::git`] and [`crate::model`] that
//! runs a program. [`Sources::prepare`] takes a commit's [`Snapshot`],
//! finds the kustomize apps ([`kustomize`]), refuses remote bases before
//! anything runs, writes the commit's files to a temp dir (never the work
//! tree), runs `kustomize build` there ([`tool`]: timeout, bounded output,
//! clean environment, no network) and hands the model a snapshot in which
//! each such app's sources are replaced by the build's output, read from
//! `apps/<app>/manifests/kustomization.yaml`. The model then checks those
//! objects, and render places, splits, overrides and stamps them, exactly
//! like plain manifests.
//!
//! Renders are cached by (the content of every directory the build reads,
//! the tool's version): an app that did not change does not run the tool
//! again. Failures are per app, name the app and the kustomization file,
//! carry the tool's stderr with Secret values masked ([`mask`]), and make
//! the commit invalid.

mod chart;
pub mod helm;
pub mod kustomize;
pub mod mask;
mod render;
pub mod tool;

pub use render::{Prepared, Render};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Environment variable naming the kustomize binary (else `kustomize`,
/// then `kubectl kustomize`, from `PATH`).
pub const KUSTOMIZE_ENV: &str = "TRANCHE_KUSTOMIZE";

/// Environment variable naming the helm binary (else `helm` from `PATH`).
pub const HELM_ENV: &str = "TRANCHE_HELM";

/// Environment variable setting the render timeout in seconds.
pub const TIMEOUT_ENV: &str = "TRANCHE_RENDER_TIMEOUT";

/// Renders kept in the cache: enough for every kustomize app of a large
/// fleet at two commits (the current one and the one rollbacks go to).
const CACHE_ENTRIES: usize = 4096;

/// The renderer for kustomize apps, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KustomizeCommand {
    /// `<path> build <dir>`.
    Kustomize(PathBuf),
    /// `<path> kustomize <dir>` (kubectl's built-in kustomize).
    Kubectl(PathBuf),
}

/// A renderer found and asked for its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// How it is called.
    pub command: KustomizeCommand,
    /// What it says its version is, e.g. `v5.8.1`.
    pub version: String,
}

impl Tool {
    /// `kustomize v5.8.1 (/usr/local/bin/kustomize)`, for reports.
    pub fn describe(&self) -> String {
        match &self.command {
            KustomizeCommand::Kustomize(p) => {
                format!("kustomize {} ({})", self.version, p.display())
            }
            KustomizeCommand::Kubectl(p) => {
                format!("kubectl kustomize {} ({})", self.version, p.display())
            }
        }
    }
}

/// helm, found and asked for its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmTool {
    /// The binary.
    pub path: PathBuf,
    /// What `helm version --short` says, e.g. `v3.22.0`.
    pub version: String,
}

impl HelmTool {
    /// `helm v3.22.0 (/usr/local/bin/helm)`, for reports.
    pub fn describe(&self) -> String {
        format!("helm {} ({})", self.version, self.path.display())
    }
}

/// Renderers and their cache. One per process is enough ([`shared`]); the
/// cache is what lets an unchanged app skip the tool on the next commit.
#[derive(Debug)]
pub struct Sources {
    /// The configured kustomize, or `None` to look it up on `PATH`.
    kustomize: Option<KustomizeCommand>,
    /// How long one render may take.
    timeout: Duration,
    /// The kustomize found (or why none), asked once.
    tool: OnceLock<Result<Tool, String>>,
    /// The configured helm, or `None` to look it up on `PATH`.
    helm: Option<PathBuf>,
    /// The helm found (or why none), asked once.
    helm_tool: OnceLock<Result<HelmTool, String>>,
    /// Rendered output by cache key.
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, (u64, std::sync::Arc<Vec<u8>>)>,
    tick: u64,
}

impl Sources {
    /// Renderers looked up on `PATH` at first use.
    pub fn from_path() -> Sources {
        Sources::new(None, tool::DEFAULT_TIMEOUT)
    }

    /// Renderers from the environment: [`KUSTOMIZE_ENV`] and
    /// [`TIMEOUT_ENV`], else `PATH` and the default timeout.
    pub fn from_env() -> Sources {
        let kustomize = std::env::var_os(KUSTOMIZE_ENV)
            .filter(|v| !v.is_empty())
            .map(|p| KustomizeCommand::Kustomize(PathBuf::from(p)));
        let timeout = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(tool::DEFAULT_TIMEOUT);
        let helm = std::env::var_os(HELM_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Sources::new(kustomize, timeout).with_helm(helm)
    }

    /// The same renderers with helm at `helm` (`None`: `PATH`).
    pub fn with_helm(mut self, helm: Option<PathBuf>) -> Sources {
        self.helm = helm;
        self.helm_tool = OnceLock::new();
        self
    }

    /// The helm in use, or why there is none.
    pub fn helm(&self) -> Result<&HelmTool, String> {
        self.helm_tool
            .get_or_init(|| find_helm(self.helm.clone(), self.timeout))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Renderers with an explicit kustomize (or `None`: `PATH`) and timeout.
    pub fn new(kustomize: Option<KustomizeCommand>, timeout: Duration) -> Sources {
        Sources {
            kustomize,
            timeout,
            tool: OnceLock::new(),
            helm: None,
            helm_tool: OnceLock::new(),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The kustomize in use, or why there is none.
    pub fn kustomize(&self) -> Result<&Tool, String> {
        self.tool
            .get_or_init(|| find_kustomize(self.kustomize.clone(), self.timeout))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn cached(&self, key: &str) -> Option<std::sync::Arc<Vec<u8>>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.tick += 1;
        let tick = cache.tick;
        cache.entries.get_mut(key).map(|(used, out)| {
            *used = tick;
            out.clone()
        })
    }

    fn store(&self, key: String, output: std::sync::Arc<Vec<u8>>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.tick += 1;
        let tick = cache.tick;
        if cache.entries.len() >= CACHE_ENTRIES {
            // drop the least recently used entry
            if let Some(oldest) = cache
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
            {
                cache.entries.remove(&oldest);
            }
        }
        cache.entries.insert(key, (tick, output));
    }
}

/// The process's renderers, configured from the environment at first use
/// ([`Sources::from_env`]).
pub fn shared() -> &'static Sources {
    static SHARED: OnceLock<Sources> = OnceLock::new();
    SHARED.get_or_init(Sources::from_env)
}

fn find_kustomize(configured: Option<KustomizeCommand>, timeout: Duration) -> Result<Tool, String> {
    let command = match configured {
        Some(c) => c,
        None => match tool::find_on_path("kustomize") {
            Some(p) => KustomizeCommand::Kustomize(p),
            None => match tool::find_on_path("kubectl") {
                Some(p) => KustomizeCommand::Kubectl(p),
                None => {
                    return Err(format!(
                        "no kustomize on PATH (and no kubectl): install kustomize v5 or set \
                         {KUSTOMIZE_ENV} to its path"
                    ))
                }
            },
        },
    };
    let home = tempfile::tempdir().map_err(|e| format!("cannot make a temp dir: {e}"))?;
    let (path, args): (&PathBuf, &[&str]) = match &command {
        KustomizeCommand::Kustomize(p) => (p, &["version"]),
        KustomizeCommand::Kubectl(p) => (p, &["version", "--client"]),
    };
    let out = tool::run(
        path,
        args,
        home.path(),
        home.path(),
        timeout,
        "kustomize version",
    )
    .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = match &command {
        KustomizeCommand::Kustomize(_) => text.trim().to_string(),
        KustomizeCommand::Kubectl(_) => text
            .lines()
            .find_map(|l| l.strip_prefix("Kustomize Version:"))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| format!("{} does not say its kustomize version", path.display()))?,
    };
    Ok(Tool { command, version })
}

fn find_helm(configured: Option<PathBuf>, timeout: Duration) -> Result<HelmTool, String> {
    let path = configured
        .or_else(|| tool::find_on_path("helm"))
        .ok_or_else(|| format!("no helm on PATH: install helm v3 or set {HELM_ENV} to its path"))?;
    let home = tempfile::tempdir().map_err(|e| format!("cannot make a temp dir: {e}"))?;
    let out = tool::run(
        &path,
        &["version", "--short"],
        home.path(),
        home.path(),
        timeout,
        "helm version",
    )
    .map_err(|e| e.to_string())?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(HelmTool { path, version })
}
