//! Finding the programs a fleet needs: kube-apiserver (built once and
//! cached by `scripts/build-apiserver.sh`), etcd and openssl. Anything
//! missing is a panic with what to do: tests must not pass without a cluster.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of the kube-apiserver binary (`$TRANCHE_KUBE_APISERVER`, else the
/// build script's output). Built at most once per test binary.
pub fn kube_apiserver() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("TRANCHE_KUBE_APISERVER") {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(format!(
                    "TRANCHE_KUBE_APISERVER={} is not a file",
                    p.display()
                ))
            };
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-apiserver.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = stdout.lines().last().map(str::trim).unwrap_or_default();
        if out.status.success() && Path::new(path).is_file() {
            Ok(PathBuf::from(path))
        } else {
            Err(format!(
                "{} failed ({}):\n{}\n{}",
                script.display(),
                out.status,
                stdout,
                tail(&String::from_utf8_lossy(&out.stderr), 40)
            ))
        }
    });
    match found {
        Ok(p) => p.clone(),
        Err(e) => panic!("no kube-apiserver for the test fleet: {e}"),
    }
}

/// Path of etcd (`$TRANCHE_ETCD`, else `etcd` on PATH or /usr/bin/etcd).
pub fn etcd() -> PathBuf {
    if let Some(p) = std::env::var_os("TRANCHE_ETCD") {
        return PathBuf::from(p);
    }
    on_path("etcd").unwrap_or_else(|| {
        panic!("etcd not found on PATH: install Debian's etcd-server (scripts/build-apiserver.sh does) or set TRANCHE_ETCD")
    })
}

/// Path of openssl (used once per fleet for the service-account key pair).
pub fn openssl() -> PathBuf {
    on_path("openssl")
        .unwrap_or_else(|| panic!("openssl not found on PATH: install Debian's openssl"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The last `lines` lines of a text.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
