//! Finding the programs a fleet needs, per Kubernetes version: built once
//! and cached by `scripts/build-k8s.sh` (current release: kube-apiserver,
//! kube-controller-manager, kube-scheduler, etcd 3.6, kwok) and
//! `scripts/build-apiserver.sh` (v1.20.2 kube-apiserver), plus openssl.
//! Anything missing is a panic saying what to do: tests must not pass
//! without a cluster.
//!
//! Environment: `TRANCHE_K8S_BIN` (a directory holding the current
//! release's binaries; default: what `scripts/build-k8s.sh` prints),
//! `TRANCHE_KUBE_APISERVER` (the v1.20 kube-apiserver; default: what
//! `scripts/build-apiserver.sh` prints), `TRANCHE_ETCD` (etcd for every
//! version; default: the current release's etcd 3.6).

use super::versions::K8s;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A program of a control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// kube-apiserver.
    Apiserver,
    /// kube-controller-manager (current release only).
    ControllerManager,
    /// kube-scheduler (current release only).
    Scheduler,
    /// kwok, the fake kubelet for fake Nodes (current release only).
    Kwok,
}

impl Program {
    fn file_name(self) -> &'static str {
        match self {
            Program::Apiserver => "kube-apiserver",
            Program::ControllerManager => "kube-controller-manager",
            Program::Scheduler => "kube-scheduler",
            Program::Kwok => "kwok",
        }
    }
}

/// Path of `program` for `version`; builds (or finds cached) on first use.
pub fn program(version: K8s, program: Program) -> PathBuf {
    match (version, program) {
        (K8s::V1_20, Program::Apiserver) => oldest_apiserver(),
        (K8s::V1_20, other) => panic!(
            "{} is not built for Kubernetes 1.20: its fleets run kube-apiserver only",
            other.file_name()
        ),
        (K8s::Sim, p) => panic!(
            "simulated clusters run no {}: they are served in this process",
            p.file_name()
        ),
        (K8s::Current, p) => {
            let path = current_dir().join(p.file_name());
            assert!(
                path.is_file(),
                "{} is missing: run scripts/build-k8s.sh",
                path.display()
            );
            path
        }
    }
}

/// Path of etcd (`$TRANCHE_ETCD`, else the current release's etcd 3.6,
/// which v1.20's apiserver also works with).
pub fn etcd() -> PathBuf {
    if let Some(p) = std::env::var_os("TRANCHE_ETCD") {
        return PathBuf::from(p);
    }
    let path = current_dir().join("etcd");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-k8s.sh or set TRANCHE_ETCD",
        path.display()
    );
    path
}

/// The directory of the current release's binaries.
fn current_dir() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = DIR.get_or_init(|| {
        if let Some(p) = std::env::var_os("TRANCHE_K8S_BIN") {
            let p = PathBuf::from(p);
            return if p.is_dir() {
                Ok(p)
            } else {
                Err(format!(
                    "TRANCHE_K8S_BIN={} is not a directory",
                    p.display()
                ))
            };
        }
        run_build_script("scripts/build-k8s.sh").and_then(|p| {
            if p.is_dir() {
                Ok(p)
            } else {
                Err(format!(
                    "build-k8s.sh printed {}, not a directory",
                    p.display()
                ))
            }
        })
    });
    match found {
        Ok(p) => p.clone(),
        Err(e) => panic!("no current Kubernetes release for the test fleet: {e}"),
    }
}

/// The v1.20 kube-apiserver (`$TRANCHE_KUBE_APISERVER`, else the build
/// script's output). Built at most once per test binary.
fn oldest_apiserver() -> PathBuf {
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
        run_build_script("scripts/build-apiserver.sh").and_then(|p| {
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!(
                    "build-apiserver.sh printed {}, not a file",
                    p.display()
                ))
            }
        })
    });
    match found {
        Ok(p) => p.clone(),
        Err(e) => panic!("no kube-apiserver v1.20 for the test fleet: {e}"),
    }
}

/// Runs a build script of the repository; its last stdout line is a path.
fn run_build_script(rel: &str) -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout.lines().last().map(str::trim).unwrap_or_default();
    if out.status.success() && !path.is_empty() {
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

/// The directory holding kustomize and helm (`$TRANCHE_TOOLS_BIN`, else
/// what `scripts/build-tools.sh` prints). Built at most once per binary.
pub fn tools_dir() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = DIR.get_or_init(|| {
        let dir = match std::env::var_os("TRANCHE_TOOLS_BIN") {
            Some(p) => PathBuf::from(p),
            None => run_build_script("scripts/build-tools.sh")?,
        };
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(format!("{} is not a directory", dir.display()))
        }
    });
    match found {
        Ok(p) => p.clone(),
        Err(e) => panic!("no kustomize/helm for the tests (scripts/build-tools.sh): {e}"),
    }
}

/// Points the `tranche` binaries this test process starts at the pinned
/// kustomize and helm ([`tools_dir`]) through `TRANCHE_KUSTOMIZE` and
/// `TRANCHE_HELM`, for tests that run the binary on a fleet with
/// kustomize or Helm apps (`examples/repo-layout`). Idempotent.
pub fn use_tools() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = tools_dir();
        std::env::set_var("TRANCHE_KUSTOMIZE", dir.join("kustomize"));
        std::env::set_var("TRANCHE_HELM", dir.join("helm"));
    });
}
