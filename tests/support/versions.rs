//! Which Kubernetes a test fleet runs, and which ones a test run selects.
//!
//! * [`K8s::Current`]: the current release (`K8S_CURRENT` in
//!   `scripts/versions.env`, built by `scripts/build-k8s.sh`), a whole
//!   control plane per cluster: kube-apiserver, kube-controller-manager,
//!   kube-scheduler and kwok with fake Nodes. Every live, rollout and daemon
//!   test runs on it, since only it has controllers here.
//! * [`K8s::V1_20`]: the oldest supported release, v1.20.2 (built from
//!   Debian's source by `scripts/build-apiserver.sh`): a kube-apiserver
//!   only, for the smaller set of tests about what differs there (server-side
//!   apply without list-map key defaults, `autoscaling/v2beta2`).
//!
//! * [`K8s::Sim`]: the simulated clusters of module `sim`, many in this
//!   process, no controllers (workloads are healthy at once). Selected with
//!   `TRANCHE_K8S=sim`, it stands in for the current release: every fleet
//!   a test asks of [`K8s::Current`] is simulated instead, and tests that
//!   need real controllers for what they check skip, saying why
//!   (`TestFleet::needs_real_cluster`). No Kubernetes build is needed.
//!
//! `TRANCHE_K8S` (comma-separated: `current`, `1.20`, `sim`, or `all`;
//! default `all`, which is `current,1.20`) selects the versions the
//! version-specific tests use. Tests of a version left out print that they
//! were skipped and pass; the build of that version is then not needed
//! (`scripts/test.sh` skips it too).

use std::fmt;

/// A Kubernetes release the harness can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum K8s {
    /// The current release with real controllers and kwok nodes.
    Current,
    /// v1.20.2, kube-apiserver only.
    V1_20,
    /// Simulated clusters (module `sim`), standing in for `Current`.
    Sim,
}

/// The environment variable selecting versions.
pub const SELECT_VAR: &str = "TRANCHE_K8S";

impl K8s {
    /// Every version the harness knows, newest first.
    pub const ALL: [K8s; 2] = [K8s::Current, K8s::V1_20];

    /// The name used in `TRANCHE_K8S` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            K8s::Current => "current",
            K8s::V1_20 => "1.20",
            K8s::Sim => "sim",
        }
    }

    /// Whether clusters of this version run kube-controller-manager,
    /// kube-scheduler and kwok (else only kube-apiserver).
    pub fn has_controllers(self) -> bool {
        self == K8s::Current
    }

    /// Whether `TRANCHE_K8S` selects this version (`Current` is selected
    /// by `sim` too: the simulation stands in for it).
    pub fn is_selected(self) -> bool {
        let selected = selection();
        selected.contains(&self) || (self == K8s::Current && selected.contains(&K8s::Sim))
    }

    /// The version a fleet asked of `self` really runs: `Sim` for
    /// `Current` when `TRANCHE_K8S` selects `sim`.
    pub fn fleet_version(self) -> K8s {
        if self == K8s::Current && selection().contains(&K8s::Sim) {
            K8s::Sim
        } else {
            self
        }
    }

    /// [`K8s::is_selected`], printing a skip notice for `test` when not.
    pub fn selected_for(self, test: &str) -> bool {
        let selected = self.is_selected();
        if !selected {
            eprintln!(
                "[test fleet] {test}: skipped on Kubernetes {self} ({SELECT_VAR} leaves it out)"
            );
        }
        selected
    }
}

impl fmt::Display for K8s {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The versions `TRANCHE_K8S` selects (default: [`K8s::ALL`]).
fn selection() -> Vec<K8s> {
    match std::env::var(SELECT_VAR) {
        Ok(spec) => parse(&spec).unwrap_or_else(|e| panic!("{SELECT_VAR}={spec:?}: {e}")),
        Err(_) => K8s::ALL.to_vec(),
    }
}

/// Parses a `TRANCHE_K8S` value: versions separated by commas.
pub fn parse(spec: &str) -> Result<Vec<K8s>, String> {
    let mut versions = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let found: &[K8s] = match word {
            "all" => &K8s::ALL,
            "current" | "latest" => &[K8s::Current],
            "1.20" | "v1.20" | "v1.20.2" | "oldest" => &[K8s::V1_20],
            "sim" | "simulated" => &[K8s::Sim],
            other => {
                return Err(format!(
                    "unknown Kubernetes version {other:?} (use current, 1.20, sim or all)"
                ))
            }
        };
        for v in found {
            if !versions.contains(v) {
                versions.push(*v);
            }
        }
    }
    if versions.is_empty() {
        return Err("no version selected (use current, 1.20, sim or all)".to_string());
    }
    Ok(versions)
}
