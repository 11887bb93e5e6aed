//! `tranche render`: writes `<out>/<cluster>/<app>.yaml` (objects in apply
//! order), byte-identical for the same commit.

use super::{OutputFormat, RepoArgs};
use crate::git::RepoSource;
use crate::render::fleet::rendering_to_yaml;
use crate::revision::Revision;
use anyhow::Context;
use std::path::Path;

/// Runs `render`.
pub fn run(args: &RepoArgs, out: &Path, output: OutputFormat) -> anyhow::Result<u8> {
    let source = RepoSource::open(&args.repo)?;
    let rev = Revision::read(&source, &args.rev)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut files = 0;
    let mut written = serde_json::Map::new();
    for (name, cluster) in &rev.rendering.clusters {
        let dir = out.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (app, rendered) in &cluster.apps {
            let path = dir.join(format!("{app}.yaml"));
            std::fs::write(&path, rendering_to_yaml(rendered))
                .with_context(|| format!("writing {}", path.display()))?;
            files += 1;
        }
        let apps: Vec<String> = cluster.apps.keys().map(|a| format!("{a}.yaml")).collect();
        written.insert(name.clone(), serde_json::json!(apps));
    }
    if output == OutputFormat::Json {
        let v = serde_json::json!({
            "commit": rev.commit,
            "out": out.display().to_string(),
            "clusters": written,
            "files": files,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!(
        "rendered {} to {}: {} clusters, {files} files",
        rev.short(),
        out.display(),
        rev.rendering.clusters.len()
    );
    // Why a migrating app's clusters got their replicas.
    for (name, app) in &rev.fleet.apps {
        if let Some(m) = &app.placement.migration {
            println!("  {name}: {} (from {})", m.describe(), m.from.join(", "));
        }
    }
    Ok(0)
}
