//! The files a fleet's apiservers and clients read: token file, audit
//! policy, service-account key pair and the kubeconfig.

use super::binaries::openssl;
use serde_json::json;
use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// User of the admin token (in `system:masters`).
pub const ADMIN_USER: &str = "admin";
/// User of the limited token (no groups beyond `system:authenticated`).
pub const LIMITED_USER: &str = "limited";

/// A random-enough token for a throwaway cluster.
pub fn new_token(prefix: &str) -> String {
    let a = RandomState::new().build_hasher().finish();
    let b = RandomState::new().build_hasher().finish();
    format!("{prefix}-{a:016x}{b:016x}")
}

/// Paths of the shared configuration files, all under one directory.
pub struct FleetFiles {
    /// `--token-auth-file`.
    pub tokens: PathBuf,
    /// `--audit-policy-file`.
    pub audit_policy: PathBuf,
    /// `--service-account-key-file`.
    pub sa_pub: PathBuf,
    /// `--service-account-signing-key-file`.
    pub sa_key: PathBuf,
}

/// Writes the token file, audit policy and service-account keys into `dir`.
pub fn write_fleet_files(dir: &Path, admin_token: &str, limited_token: &str) -> FleetFiles {
    let files = FleetFiles {
        tokens: dir.join("tokens.csv"),
        audit_policy: dir.join("audit-policy.yaml"),
        sa_pub: dir.join("sa.pub"),
        sa_key: dir.join("sa.key"),
    };
    write(
        &files.tokens,
        &format!("{admin_token},{ADMIN_USER},{ADMIN_USER}-uid,system:masters\n{limited_token},{LIMITED_USER},{LIMITED_USER}-uid\n"),
    );
    write(
        &files.audit_policy,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [\"RequestReceived\"]\nrules:\n- level: Metadata\n",
    );
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

/// Writes a kubeconfig with, per `(name, server)`, a context `name` (admin)
/// and a context `name-limited`. The current context is the first cluster.
pub fn write_kubeconfig(
    path: &Path,
    clusters: &[(String, String)],
    admin_token: &str,
    limited_token: &str,
) {
    let mut cluster_entries = Vec::new();
    let mut contexts = Vec::new();
    for (name, server) in clusters {
        cluster_entries.push(json!({
            "name": name,
            "cluster": {"server": server, "insecure-skip-tls-verify": true}
        }));
        contexts.push(json!({"name": name, "context": {"cluster": name, "user": ADMIN_USER}}));
        contexts.push(json!({"name": format!("{name}-limited"), "context": {"cluster": name, "user": LIMITED_USER}}));
    }
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": clusters.first().map(|(n, _)| n.clone()).unwrap_or_default(),
        "clusters": cluster_entries,
        "contexts": contexts,
        "users": [
            {"name": ADMIN_USER, "user": {"token": admin_token}},
            {"name": LIMITED_USER, "user": {"token": limited_token}}
        ]
    });
    write(path, &tranche::yaml::to_string(&kubeconfig));
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
