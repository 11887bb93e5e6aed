//! A fleet of two commits for fault tests, and the invariant every rollout
//! between them must keep, checked against what the apiservers really hold.
//!
//! The app `sweep` has only kinds that are healthy once they exist
//! (ConfigMaps, a Secret), so the tests hold with or without controllers:
//! v1 runs `keep` (v=1) and `gone`, v2 runs `keep` (v=2) and `added`; both
//! run the Secret `db`. Each cluster also holds `foreign`, a ConfigMap
//! that is not tranche's.
//!
//! The invariant, after any `tranche apply` ([`check_run`]): every cluster
//! the output does not name as left behind is exactly on the commit the
//! output says (and the fleet memory agrees), its cluster record included;
//! nothing tranche did not create was touched; what both commits have was
//! never deleted; what only the old commit had is only missing where the
//! new commit is there in full.

use super::{FixtureRepo, TestFleet};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The app's namespace.
pub const NS: &str = "sweep";

/// The repository and its two commits.
pub struct TwoCommits {
    /// The repository.
    pub repo: FixtureRepo,
    /// First commit.
    pub v1: String,
    /// Second commit.
    pub v2: String,
}

fn configmap(name: &str, v: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {NS}\ndata:\n  v: \"{v}\"\n")
}

/// Commits v1 and v2 of the `sweep` app on `clusters` (one batch per
/// cluster for three clusters, no bake).
pub fn two_commits(clusters: &[&str]) -> TwoCommits {
    let repo = FixtureRepo::new();
    for c in clusters {
        repo.write(
            &format!("clusters/{c}.yaml"),
            &super::fixtures::cluster(c, None),
        );
    }
    repo.write(
        "policies/rollout.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
         steps: [1, 2, 7]\n  healthTimeout: 10s\n  bakeTime: 0s\n  onFailure: Rollback\n  maxParallel: 10\n",
    );
    repo.write(
        "apps/sweep/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: sweep}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n",
    );
    let common = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  \
         name: db\n  namespace: {NS}\ntype: Opaque\nstringData:\n  password: hunter2-very-secret\n"
    );
    let write = |objects: &[String]| {
        repo.write(
            "apps/sweep/manifests/objects.yaml",
            &format!("{common}---\n{}", objects.join("---\n")),
        );
    };
    write(&[configmap("keep", "1"), configmap("gone", "1")]);
    let v1 = repo.commit("sweep v1");
    write(&[configmap("keep", "2"), configmap("added", "2")]);
    let v2 = repo.commit("sweep v2");
    TwoCommits { repo, v1, v2 }
}

impl TwoCommits {
    /// `1` or `2`: which version `commit` is.
    pub fn version(&self, commit: &str) -> &'static str {
        if commit == self.v1 {
            "1"
        } else {
            "2"
        }
    }

    /// The other commit.
    pub fn other(&self, commit: &str) -> &str {
        if commit == self.v1 {
            &self.v2
        } else {
            &self.v1
        }
    }
}

/// What one cluster holds, read from its apiserver directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// `tranche-system/tranche.cluster`'s commit.
    pub record: Option<String>,
    /// The commit of an apply journal still in the record (an apply that
    /// did not settle).
    pub journal: Option<String>,
    /// The app inventory's `(commit, pending)`.
    pub inventory: Option<(Option<String>, Option<String>)>,
    /// ConfigMaps and Secrets of the namespace: name → (uid, data.v).
    pub objects: BTreeMap<String, (String, Option<String>)>,
    /// `foreign`'s resourceVersion.
    pub foreign: Option<String>,
}

async fn list(fleet: &TestFleet, cluster: &str, path: &str) -> Vec<Value> {
    let (code, body) = fleet
        .request(cluster, Method::GET, path, None, "application/json")
        .await;
    assert_eq!(code, 200, "{cluster}: GET {path}: {body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// Reads what `cluster` holds now.
pub async fn truth(fleet: &TestFleet, cluster: &str) -> Truth {
    let system = list(
        fleet,
        cluster,
        "/api/v1/namespaces/tranche-system/configmaps",
    )
    .await;
    let data = |name: &str, key: &str| -> Option<Option<String>> {
        let cm = system.iter().find(|c| c["metadata"]["name"] == name)?;
        Some(cm["data"][key].as_str().map(str::to_string))
    };
    let record = data("tranche.cluster", "commit").flatten();
    let journal = data("tranche.cluster", "pending").flatten();
    let inventory = system
        .iter()
        .find(|c| c["data"]["app"] == "sweep")
        .map(|c| {
            let get = |k: &str| c["data"][k].as_str().map(str::to_string);
            (get("commit"), get("pending"))
        });
    let mut objects = BTreeMap::new();
    let mut foreign = None;
    for kind in ["configmaps", "secrets"] {
        for o in list(fleet, cluster, &format!("/api/v1/namespaces/{NS}/{kind}")).await {
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if name == "foreign" {
                foreign = o["metadata"]["resourceVersion"]
                    .as_str()
                    .map(str::to_string);
                continue;
            }
            if kind == "secrets" && name != "db" {
                continue; // service-account token Secrets of the namespace
            }
            let uid = o["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let v = o["data"]["v"].as_str().map(str::to_string);
            if name != "kube-root-ca.crt" {
                objects.insert(name, (uid, v));
            }
        }
    }
    Truth {
        record,
        journal,
        inventory,
        objects,
        foreign,
    }
}

/// Creates `foreign` (not tranche's) on every cluster; the namespace is
/// created if needed.
pub async fn add_foreign(fleet: &TestFleet) {
    for c in fleet.names() {
        fleet.create_namespace(c, NS).await;
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "foreign", "namespace": NS}, "data": {"owner": "someone else"}});
        let path = format!("/api/v1/namespaces/{NS}/configmaps");
        let (code, v) = fleet
            .request(c, Method::POST, &path, Some(body), "application/json")
            .await;
        assert!(
            code == 201 || code == 409,
            "{c}: creating foreign: {code} {v}"
        );
    }
}

/// Problems if `t` is not exactly `commit` of `commits`: its record, its
/// inventory and its objects.
pub fn not_on(t: &Truth, commits: &TwoCommits, commit: &str) -> Vec<String> {
    let mut p = Vec::new();
    if t.record.as_deref() != Some(commit) {
        p.push(format!("cluster record is {:?}", t.record));
    }
    if t.inventory != Some((Some(commit.to_string()), None)) {
        p.push(format!("inventory (commit, pending) is {:?}", t.inventory));
    }
    if let Some(pending) = &t.journal {
        p.push(format!(
            "an apply journal of {pending} is left in the record"
        ));
    }
    p.extend(objects_off(t, commits, commit));
    p
}

/// Problems if the app's objects in `t` are not exactly those of `commit`.
pub fn objects_off(t: &Truth, commits: &TwoCommits, commit: &str) -> Vec<String> {
    let v = commits.version(commit);
    let mut p = Vec::new();
    let (only, not) = if v == "1" {
        ("gone", "added")
    } else {
        ("added", "gone")
    };
    for (name, want) in [("keep", Some(v)), (only, Some(v)), ("db", None)] {
        match t.objects.get(name) {
            Some((_, got)) if got.as_deref() == want => {}
            other => p.push(format!("{name} is {other:?}, want v={want:?}")),
        }
    }
    if t.objects.contains_key(not) {
        p.push(format!("{not} exists"));
    }
    p
}

/// What one `tranche apply -o json` said.
#[derive(Debug, Clone)]
pub struct Said {
    /// Exit code.
    pub code: i32,
    /// The JSON on stdout (a report, or `{error, leftBehind}`).
    pub json: Value,
    /// The last line on stderr.
    pub last_line: String,
}

impl Said {
    /// Clusters the output names as left behind.
    pub fn left_behind(&self) -> Vec<String> {
        self.json["leftBehind"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["cluster"].as_str().map(str::to_string))
            .collect()
    }
}

/// Checks the invariant after a run of `tranche apply` to `new` from a
/// fleet that was entirely on `old` (`start`: each cluster's truth then).
/// `now` is each cluster's truth after the run, `memory` the fleet
/// memory's cluster commits. Returns the problems found.
pub fn check_run(
    commits: &TwoCommits,
    old: &str,
    new: &str,
    start: &BTreeMap<String, Truth>,
    now: &BTreeMap<String, Truth>,
    said: &Said,
    memory: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let outcome = said.json["outcome"].as_str().unwrap_or("error");
    let description = said.json["description"]
        .as_str()
        .or(said.json["error"].as_str())
        .unwrap_or_default();
    if said.last_line != description {
        problems.push(format!(
            "the last line {:?} is not the outcome {description:?}",
            said.last_line
        ));
    }
    let expected_code = match outcome {
        "succeeded" | "nothingToDo" => 0,
        "error" => said.code.max(1),
        _ => 1,
    };
    if said.code != expected_code {
        problems.push(format!("exit code {} for {outcome}", said.code));
    }
    let left = said.left_behind();
    for (cluster, t) in now {
        let s = &start[cluster];
        let mut p = Vec::new();
        if t.foreign != s.foreign {
            p.push(format!(
                "foreign changed: {:?} → {:?}",
                s.foreign, t.foreign
            ));
        }
        for shared in ["keep", "db"] {
            let (a, b) = (s.objects.get(shared), t.objects.get(shared));
            if a.map(|x| &x.0) != b.map(|x| &x.0) {
                p.push(format!("{shared} was deleted or recreated: {a:?} → {b:?}"));
            }
        }
        let known = match outcome {
            "succeeded" | "nothingToDo" => Some(new),
            "rolledBack" | "rollbackFailed" if !left.contains(cluster) => Some(old),
            _ if left.contains(cluster) => None,
            // A stop: a cluster it does not name was not written.
            _ => Some(old),
        };
        match known {
            Some(commit) => {
                p.extend(not_on(t, commits, commit));
                if memory.get(cluster).map(String::as_str) != Some(commit) {
                    p.push(format!("the fleet memory says {:?}", memory.get(cluster)));
                }
            }
            None => {
                // Left behind: whatever it holds, what the old commit had
                // is only missing if the new commit is there in full (a
                // rollback may have brought it back as a new object).
                let old_only = if commits.version(old) == "1" {
                    "gone"
                } else {
                    "added"
                };
                if !t.objects.contains_key(old_only) && !objects_off(t, commits, new).is_empty() {
                    p.push(format!(
                        "{old_only} was pruned though {new} is not there in full"
                    ));
                }
            }
        }
        problems.extend(p.into_iter().map(|x| format!("{cluster}: {x}")));
    }
    problems
}
