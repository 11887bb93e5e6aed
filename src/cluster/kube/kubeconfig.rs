//! Reading kubeconfigs: one file, `$KUBECONFIG`/`~/.kube/config`, or a
//! directory of files merged (one Secret per cluster, as `deploy/` mounts
//! them). Errors keep only their first line: YAML errors quote the file
//! around the fault, which may hold a token.

use super::classify;
use ::kube::config::Kubeconfig;
use std::path::Path;

/// Reads a kubeconfig file (`None`: `$KUBECONFIG` or `~/.kube/config`).
/// A directory is read as one kubeconfig per file, merged in file-name
/// order (how `deploy/` mounts one Secret per cluster).
pub fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, String> {
    if let Some(dir) = path.filter(|p| p.is_dir()) {
        return read_kubeconfig_dir(dir);
    }
    let read = match path {
        Some(p) => Kubeconfig::read_from(p).map_err(|e| (p.display().to_string(), e)),
        None => Kubeconfig::read().map_err(|e| ("$KUBECONFIG or ~/.kube/config".to_string(), e)),
    };
    read.map_err(|(where_, e)| {
        let cause = classify::chain_text(&e);
        format!("cannot read kubeconfig {where_}: {}", first_line(&cause))
    })
}

/// Merges every regular, non-hidden file of `dir` (sorted by name).
fn read_kubeconfig_dir(dir: &Path) -> Result<Kubeconfig, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read kubeconfig directory {}: {e}", dir.display()))?;
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let mut merged: Option<Kubeconfig> = None;
    for f in files {
        let one = read_kubeconfig(Some(&f))?;
        merged = Some(match merged {
            None => one,
            Some(m) => m.merge(one).map_err(|e| {
                format!(
                    "cannot merge kubeconfig {}: {}",
                    f.display(),
                    first_line(&e.to_string())
                )
            })?,
        });
    }
    merged.ok_or_else(|| format!("kubeconfig directory {} holds no files", dir.display()))
}

/// The first line of a kubeconfig error: YAML errors go on to quote the
/// file around the fault, which may hold a token.
pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster: {{server: 'https://{name}.example:6443'}}\n\
             users:\n- name: {name}\n  user: {{token: t-{name}}}\ncontexts:\n- name: {name}\n  context: {{cluster: {name}, user: {name}}}\n"
        )
    }

    #[test]
    fn a_directory_of_kubeconfigs_is_merged() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("eu-1"), config("eu-1")).unwrap();
        std::fs::write(dir.path().join("us-1"), config("us-1")).unwrap();
        std::fs::write(dir.path().join(".hidden"), "not yaml: [").unwrap();
        let kc = read_kubeconfig(Some(dir.path())).unwrap();
        let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["eu-1", "us-1"]);
    }

    #[test]
    fn an_empty_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_kubeconfig(Some(dir.path())).unwrap_err();
        assert!(err.contains("holds no files"), "{err}");
    }
}
