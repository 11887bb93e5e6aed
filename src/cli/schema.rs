//! `tranche schema [KIND]`: the JSON Schema of a file kind on stdout, or
//! with `--out DIR` every schema file (what `schemas/` ships).

use crate::schema::{any, files, kind, pretty, KINDS};
use anyhow::Context;
use std::path::Path;

/// Runs `schema`.
pub fn run(name: Option<&str>, out: Option<&Path>) -> anyhow::Result<u8> {
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let all = files();
        for (file, text) in &all {
            let path = dir.join(file);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        println!("wrote {} schemas to {}", all.len(), dir.display());
        return Ok(0);
    }
    let schema = match name {
        None => any(),
        Some(n) => match kind(n) {
            Some(k) => k.schema(),
            None => {
                let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
                eprintln!("error: unknown kind {n:?}; kinds: {}", names.join(", "));
                return Ok(2);
            }
        },
    };
    print!("{}", pretty(&schema));
    Ok(0)
}
