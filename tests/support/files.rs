//! The files a fleet's processes and clients read: token file (one
//! identity per component), audit policy, service-account key pair, and
//! kubeconfigs (the tests' one, and one per component per cluster).

use super::binaries::openssl;
use serde_json::json;
use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// User of the admin token (in `system:masters`): tranche and the tests.
pub const ADMIN_USER: &str = "admin";
/// User of the limited token (no groups beyond `system:authenticated`).
pub const LIMITED_USER: &str = "limited";
/// Users of the components that run beside each current-release
/// apiserver, so audit logs tell their writes from tranche's. Their
/// `system:` prefix keeps them out of [`super::is_mutating`].
pub const CONTROLLER_MANAGER_USER: &str = "system:kube-controller-manager";
/// See [`CONTROLLER_MANAGER_USER`].
pub const SCHEDULER_USER: &str = "system:kube-scheduler";
/// See [`CONTROLLER_MANAGER_USER`].
pub const KWOK_USER: &str = "system:kwok";

/// A random-enough token for a throwaway cluster.
pub fn new_token(prefix: &str) -> String {
    let a = RandomState::new().build_hasher().finish();
    let b = RandomState::new().build_hasher().finish();
    format!("{prefix}-{a:016x}{b:016x}")
}

/// The bearer tokens of a fleet, one per identity.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// [`ADMIN_USER`].
    pub admin: String,
    /// [`LIMITED_USER`].
    pub limited: String,
    /// [`CONTROLLER_MANAGER_USER`].
    pub controller_manager: String,
    /// [`SCHEDULER_USER`].
    pub scheduler: String,
    /// [`KWOK_USER`].
    pub kwok: String,
}

impl Tokens {
    /// Fresh tokens.
    pub fn new() -> Tokens {
        Tokens {
            admin: new_token("admin"),
            limited: new_token("limited"),
            controller_manager: new_token("kcm"),
            scheduler: new_token("scheduler"),
            kwok: new_token("kwok"),
        }
    }

    /// The `--token-auth-file` lines: token, user, uid, groups.
    fn csv(&self) -> String {
        let masters = [
            (&self.admin, ADMIN_USER),
            (&self.controller_manager, CONTROLLER_MANAGER_USER),
            (&self.scheduler, SCHEDULER_USER),
            (&self.kwok, KWOK_USER),
        ];
        let mut text: String = masters
            .iter()
            .map(|(token, user)| format!("{token},{user},{user}-uid,system:masters\n"))
            .collect();
        text.push_str(&format!(
            "{},{LIMITED_USER},{LIMITED_USER}-uid\n",
            self.limited
        ));
        text
    }
}

/// Paths of the shared configuration files, all under one directory.
pub struct FleetFiles {
    /// `--token-auth-file`.
    pub tokens: PathBuf,
    /// `--audit-policy-file`.
    pub audit_policy: PathBuf,
    /// `--service-account-key-file`.
    pub sa_pub: PathBuf,
    /// `--service-account-signing-key-file` and the controller-manager's
    /// `--service-account-private-key-file`.
    pub sa_key: PathBuf,
}

/// The audit policy: every request at `Metadata`, except the components'
/// reads and kwok's node and lease heartbeats (noise that would make the
/// logs large; their writes to workloads stay).
const AUDIT_POLICY: &str = r#"apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-controller-manager", "system:kube-scheduler", "system:kwok"]
  verbs: ["get", "list", "watch"]
- level: None
  users: ["system:kwok"]
  resources:
  - group: ""
    resources: ["nodes", "nodes/status"]
  - group: "coordination.k8s.io"
    resources: ["leases"]
- level: Metadata
"#;

/// Writes the token file, audit policy and service-account keys into `dir`.
pub fn write_fleet_files(dir: &Path, tokens: &Tokens) -> FleetFiles {
    let files = FleetFiles {
        tokens: dir.join("tokens.csv"),
        audit_policy: dir.join("audit-policy.yaml"),
        sa_pub: dir.join("sa.pub"),
        sa_key: dir.join("sa.key"),
    };
    write(&files.tokens, &tokens.csv());
    write(&files.audit_policy, AUDIT_POLICY);
    run_openssl(&["genrsa", "-out"], &files.sa_key, &["2048"]);
    let out = Command::new(openssl())
        .args(["rsa", "-pubout", "-in"])
        .arg(&files.sa_key)
        .arg("-out")
        .arg(&files.sa_pub)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl rsa -pubout failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    files
}

fn run_openssl(args: &[&str], file: &Path, rest: &[&str]) {
    let out = Command::new(openssl())
        .args(args)
        .arg(file)
        .args(rest)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One kubeconfig context: its name, the cluster's name and server URL.
pub struct ContextEntry {
    /// Context name (what `spec.context` of a tranche Cluster says).
    pub context: String,
    /// The fleet's cluster it reaches.
    pub cluster: String,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
}

/// Writes a kubeconfig with, per entry, a context (admin) and a context
/// `<context>-limited`. The current context is the first entry's.
pub fn write_kubeconfig(path: &Path, entries: &[ContextEntry], tokens: &Tokens) {
    let mut clusters = Vec::new();
    let mut contexts = Vec::new();
    for e in entries {
        if !clusters
            .iter()
            .any(|c: &serde_json::Value| c["name"] == e.cluster)
        {
            clusters.push(json!({
                "name": e.cluster,
                "cluster": {"server": e.server, "insecure-skip-tls-verify": true}
            }));
        }
        contexts.push(
            json!({"name": e.context, "context": {"cluster": e.cluster, "user": ADMIN_USER}}),
        );
        contexts.push(json!({"name": format!("{}-limited", e.context), "context": {"cluster": e.cluster, "user": LIMITED_USER}}));
    }
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": entries.first().map(|e| e.context.clone()).unwrap_or_default(),
        "clusters": clusters,
        "contexts": contexts,
        "users": [
            {"name": ADMIN_USER, "user": {"token": tokens.admin}},
            {"name": LIMITED_USER, "user": {"token": tokens.limited}}
        ]
    });
    write(path, &tranche::yaml::to_string(&kubeconfig));
}

/// Writes the kubeconfig one component uses: one cluster, one token.
pub fn write_component_kubeconfig(path: &Path, server: &str, user: &str, token: &str) {
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "fleet",
        "clusters": [{"name": "fleet", "cluster": {"server": server, "insecure-skip-tls-verify": true}}],
        "contexts": [{"name": "fleet", "context": {"cluster": "fleet", "user": user}}],
        "users": [{"name": user, "user": {"token": token}}]
    });
    write(path, &tranche::yaml::to_string(&kubeconfig));
}

/// Writes `text` to `path`, panicking with the path on failure.
pub fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
