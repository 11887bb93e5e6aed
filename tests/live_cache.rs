//! Plans that ask nothing when nothing changed (issue 12), on a real
//! cluster of the current release, counted in its audit log: after an
//! apply, a no-op plan reads one list per kind and dry-runs only the
//! Secret (never remembered); an edit behind tranche's back (spec, or a
//! label tranche sets) is still found; a same-named foreign object is still
//! found with a GET and refused.

mod support;

use serde_json::{json, Value};
use std::sync::Arc;
use support::fixtures::shop_repo;
use support::{tranche, TestFleet};

const C: &str = "n1";

struct Env {
    fleet: Arc<TestFleet>,
    repo: support::FixtureRepo,
    state: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        let fleet = Arc::new(TestFleet::start(&[C]).await);
        let repo = shop_repo(&[C]);
        repo.commit("shop v1");
        Env {
            fleet,
            repo,
            state: tempfile::tempdir().unwrap(),
        }
    }

    async fn run(&self, verb: &str) -> (i32, String, String) {
        let repo = self.repo.path().display().to_string();
        let kc = self.fleet.kubeconfig_path().display().to_string();
        let state = self.state.path().display().to_string();
        let mut args = vec![verb, repo.as_str(), "--kubeconfig", kc.as_str()];
        match verb {
            "apply" => args.extend(["--state-dir", state.as_str()]),
            _ => args.extend(["--output", "json"]),
        }
        let out = tranche(&args).await;
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Plans, returning the exit code, (action, Kind/name) pairs and what
    /// tranche (user `admin`) sent meanwhile.
    async fn plan(&self) -> (i32, Vec<(String, String)>, Vec<Value>) {
        let since = self.fleet.audit_len(C).await;
        let (code, out, err) = self.run("plan").await;
        let plan: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("plan JSON: {e}\n{out}\n{err}"));
        let actions = plan["clusters"][0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let what = format!(
                    "{}/{}",
                    c["kind"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                );
                (c["action"].as_str().unwrap().to_string(), what)
            })
            .collect();
        let sent = self
            .fleet
            .audit_events(C)
            .await
            .into_iter()
            .skip(since)
            .filter(|e| support::user(e) == "admin")
            .collect();
        (code, actions, sent)
    }
}

/// Requests about objects (not `/version` or discovery) with this verb.
fn verbs(sent: &[Value], verb: &str) -> Vec<String> {
    sent.iter()
        .filter(|e| e["verb"] == verb && e["objectRef"]["resource"].is_string())
        .map(support::object_ref)
        .collect()
}

fn dry_runs(sent: &[Value]) -> Vec<String> {
    sent.iter()
        .filter(|e| e["verb"] == "patch" && support::request_uri(e).contains("dryRun"))
        .map(support::object_ref)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_op_plan_asks_nothing_per_object_but_edits_and_foreign_objects_are_found() {
    let env = Env::start().await;
    let (code, _, err) = env.run("apply").await;
    assert_eq!(code, 0, "{err}");

    // No-op: lists only, one per kind (plus the inventories); the Secret
    // is the one object dry-run, and no object is read one by one.
    let (code, actions, sent) = env.plan().await;
    assert_eq!(code, 0, "{actions:?}");
    assert!(actions.iter().all(|(a, _)| a == "unchanged"), "{actions:?}");
    assert_eq!(dry_runs(&sent), vec!["patch secrets shop/db"], "{sent:#?}");
    assert_eq!(
        verbs(&sent, "get"),
        Vec::<String>::new(),
        "no GET per object"
    );
    assert!(
        verbs(&sent, "list").len() <= 6,
        "one list per kind: {:?}",
        verbs(&sent, "list")
    );
    assert!(
        sent.iter().all(|e| !support::is_mutating(e)),
        "a plan writes nothing"
    );

    // A spec edit behind tranche's back (a new generation) is found.
    let scaled = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 5}});
    env.fleet
        .apply_as(C, "kubectl", &scaled, true)
        .await
        .expect("scale by hand");
    let (code, actions, sent) = env.plan().await;
    assert_eq!(code, 3);
    assert!(
        actions.contains(&("update".into(), "Deployment/web".into())),
        "{actions:?}"
    );
    assert!(dry_runs(&sent).contains(&"patch deployments shop/web".to_string()));

    // A label tranche sets, changed by hand (no new generation), is found.
    let relabelled = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"tranche.dev/policy": "by-hand"}}});
    env.fleet
        .apply_as(C, "kubectl", &relabelled, true)
        .await
        .expect("relabel by hand");
    let (_, actions, _) = env.plan().await;
    assert!(
        actions.contains(&("update".into(), "Service/web".into())),
        "{actions:?}"
    );

    // A new object whose name a foreign object already holds: the lists
    // (tranche's labels) do not hold it, a GET finds it, it is refused.
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "extra", "namespace": "shop"}, "data": {"owner": "someone-else"}});
    env.fleet
        .apply_as(C, "kubectl", &foreign, false)
        .await
        .expect("foreign object");
    env.repo.write(
        "apps/shop/manifests/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop\ndata:\n  owner: tranche\n",
    );
    env.repo.commit("an object named like a foreign one");
    let (_, actions, sent) = env.plan().await;
    assert!(
        actions.contains(&("forbidden".into(), "ConfigMap/extra".into())),
        "{actions:?}"
    );
    assert!(verbs(&sent, "get").contains(&"get configmaps shop/extra".to_string()));
    let since = env.fleet.audit_len(C).await;
    let (code, _, err) = env.run("apply").await;
    assert_eq!(code, 1, "the foreign object fails the apply\n{err}");
    let cm = env
        .fleet
        .get(C, "v1", "ConfigMap", Some("shop"), "extra")
        .await
        .unwrap();
    assert_eq!(
        cm["data"],
        json!({"owner": "someone-else"}),
        "foreign data untouched"
    );
    let touched: Vec<String> = env
        .fleet
        .mutating_requests(C, since)
        .await
        .iter()
        .map(support::object_ref)
        .filter(|r| r.ends_with("configmaps shop/extra"))
        .collect();
    assert_eq!(touched, Vec::<String>::new());
}
