//! Smoke-test Job analysis (issue 13) with the real binary against REAL
//! clusters of the current release: tranche creates the policy's Job in
//! each cluster of a batch after its health gate, and the real Job
//! controller (kube-controller-manager) decides whether it completed. kwok
//! completes Job pods, and fails those whose image ends in `:fails`
//! (tests/support/kwok/pod-fail.yaml).

mod support;

use serde_json::Value;
use support::fixtures::{deployment, shop_image, shop_repo};
use support::{tranche, FixtureRepo, TestFleet};

const V1: &str = "registry.example.com/shop/web:1.0.0";

fn policy(smoke_image: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: test}}\nspec:\n  \
         steps: [1, 1]\n  healthTimeout: 90s\n  bakeTime: 0s\n  onFailure: Rollback\n  analysis:\n    checks:\n      \
         - name: smoke\n        job:\n          timeout: 60s\n          manifest:\n            apiVersion: batch/v1\n            \
         kind: Job\n            metadata: {{name: smoke, namespace: shop}}\n            spec:\n              backoffLimit: 0\n              \
         template:\n                spec:\n                  restartPolicy: Never\n                  \
         containers: [{{name: smoke, image: \"{smoke_image}\"}}]\n"
    )
}

async fn apply(
    fleet: &TestFleet,
    repo: &FixtureRepo,
    state: &std::path::Path,
) -> (i32, Value, String) {
    let out = tranche(&[
        "apply",
        &repo.path().display().to_string(),
        "--kubeconfig",
        &fleet.kubeconfig_path().display().to_string(),
        "--state-dir",
        &state.display().to_string(),
        "--output",
        "json",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("report JSON: {e}\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn condition(job: &Value, kind: &str) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == kind && c["status"] == "True")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smoke_job_that_completes_passes_and_one_that_fails_rolls_the_batch_back() {
    let names = ["a", "b"]; // batches [a] [b]
    let fleet = TestFleet::start(&names).await;
    let state = tempfile::tempdir().unwrap();
    let repo = shop_repo(&names);
    repo.write(
        "policies/rollout.yaml",
        &policy("registry.example.com/smoke:ok"),
    );
    let v1 = repo.commit("shop v1 with a smoke test");

    let (code, report, err) = apply(&fleet, &repo, state.path()).await;
    assert_eq!(code, 0, "{report}\n{err}");
    assert_eq!(report["outcome"], "succeeded", "{report:#}");
    let job_name = format!("smoke-{}", &v1[..7]);
    for c in names {
        let job = fleet
            .get(c, "batch/v1", "Job", Some("shop"), &job_name)
            .await
            .unwrap_or_else(|| panic!("{c}: no Job shop/{job_name}"));
        assert!(condition(&job, "Complete"), "{c}: {job:#}");
        assert_eq!(
            job["metadata"]["labels"]["tranche.dev/analysis-check"],
            "smoke"
        );
        assert!(
            err.contains(&format!(
                "analysis smoke on {c}: Complete (1 succeeded) (ok)"
            )),
            "{err}"
        );
    }

    // v2: a new image, and a smoke test whose pod fails.
    let since_b = fleet.audit_len("b").await;
    repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:2.0.0", 2),
    );
    repo.write(
        "policies/rollout.yaml",
        &policy("registry.example.com/smoke:fails"),
    );
    let v2 = repo.commit("shop v2 with a failing smoke test");
    let (code, report, err) = apply(&fleet, &repo, state.path()).await;
    assert_eq!(code, 1, "{report}\n{err}");
    assert_eq!(report["outcome"], "rolledBack", "{report:#}");
    let failure = &report["failure"];
    assert_eq!(failure["cluster"], "a", "{failure}");
    assert_eq!(failure["object"], "analysis smoke", "{failure}");
    let reason = failure["reason"].as_str().unwrap();
    let failed_job = format!("smoke-{}", &v2[..7]);
    assert!(
        reason.starts_with(&format!(
            "Job shop/{failed_job}: Failed (BackoffLimitExceeded"
        )),
        "names the Job and what the Job controller said: {reason}"
    );
    assert!(reason.ends_with("1 pod(s) failed)"), "{reason}");
    let job = fleet
        .get("a", "batch/v1", "Job", Some("shop"), &failed_job)
        .await
        .expect("the failed Job is left for inspection");
    assert!(condition(&job, "Failed"), "{job:#}");
    assert_eq!(shop_image(&fleet, "a").await, V1, "a rolled back");
    // Batch 2 never started: nothing was written to b, not even a Job.
    let writes = fleet.mutating_requests("b", since_b).await;
    assert!(
        writes.is_empty(),
        "b was touched: {:?}",
        writes.iter().map(support::object_ref).collect::<Vec<_>>()
    );
    assert_eq!(shop_image(&fleet, "b").await, V1);
}
