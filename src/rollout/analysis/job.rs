//! Smoke-test Jobs: the check's Job is created in each cluster of the batch
//! under a name carrying the commit (`smoke-1a2b3c4`), replacing one left
//! by an earlier attempt, and the real Job controller's conditions say
//! whether it completed. The Job is left in place afterwards, for
//! inspection (set `ttlSecondsAfterFinished` in the manifest to have the
//! cluster remove it).

use super::Reading;
use crate::cluster::{ApplyOptions, ClusterApi};
use crate::object::ObjectRef;
use crate::revision::short;
use serde_json::Value;
use std::time::Duration;

/// Label naming the analysis check on the Jobs tranche creates.
pub const LABEL_CHECK: &str = "tranche.dev/analysis-check";
/// How long an old Job of the same name may take to go away.
const GONE_WITHIN: Duration = Duration::from_secs(30);

/// The Job to create for `commit`: the manifest named `<name>-<commit>`,
/// labelled with the check. Pure.
pub fn job_object(manifest: &Value, check: &str, commit: &str) -> Value {
    let mut job = manifest.clone();
    let name = job
        .pointer("/metadata/name")
        .and_then(|v| v.as_str())
        .unwrap_or("smoke")
        .to_string();
    if let Some(meta) = job.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("name".into(), format!("{name}-{}", short(commit)).into());
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(LABEL_CHECK.into(), check.into());
        }
    }
    job
}

/// What a Job's status says. Pure.
pub fn job_state(live: Option<&Value>) -> Reading {
    let Some(job) = live else {
        return Reading::Error("the Job is gone".into());
    };
    let conditions = job
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let holds = |kind: &str| {
        conditions.iter().find(|c| {
            c.get("type").and_then(|t| t.as_str()) == Some(kind)
                && c.get("status").and_then(|s| s.as_str()) == Some("True")
        })
    };
    let count = |field: &str| {
        job.pointer(&format!("/status/{field}"))
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    if let Some(c) = holds("Failed") {
        let text = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("");
        return Reading::Bad(format!(
            "Failed ({}: {}; {} pod(s) failed)",
            text("reason"),
            text("message"),
            count("failed")
        ));
    }
    if holds("Complete").is_some() {
        return Reading::Good(format!("Complete ({} succeeded)", count("succeeded")));
    }
    Reading::Pending(format!(
        "running ({} active, {} succeeded, {} failed)",
        count("active"),
        count("succeeded"),
        count("failed")
    ))
}

/// Creates `job` in the cluster, after deleting one of the same name left
/// by an earlier attempt; returns its reference.
pub async fn start(api: &dyn ClusterApi, job: &Value) -> Result<ObjectRef, String> {
    let Some(id) = ObjectRef::from_object(job) else {
        return Err("the Job has no name".into());
    };
    let old = api.get(&id).await.map_err(|e| e.to_string())?;
    if old.is_some() {
        api.delete(&id).await.map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + GONE_WITHIN;
        while api.get(&id).await.map_err(|e| e.to_string())?.is_some() {
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "the earlier {id} is not gone after {GONE_WITHIN:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    api.apply(job, ApplyOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(id)
}

/// Reads the Job's state.
pub async fn read(api: &dyn ClusterApi, id: &ObjectRef) -> Reading {
    match api.get(id).await {
        Ok(live) => job_state(live.as_ref()),
        Err(e) => Reading::Error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_job_carries_the_commit_and_check() {
        let m = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "smoke", "namespace": "shop"}});
        let j = job_object(&m, "smoke-test", "1a2b3c4d5e6f");
        assert_eq!(j["metadata"]["name"], "smoke-1a2b3c4");
        assert_eq!(j["metadata"]["labels"][LABEL_CHECK], "smoke-test");
    }

    #[test]
    fn conditions_decide() {
        let failed = json!({"status": {"failed": 1, "conditions": [
            {"type": "FailureTarget", "status": "True"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert_eq!(
            job_state(Some(&failed)),
            Reading::Bad("Failed (BackoffLimitExceeded: Job has reached the specified backoff limit; 1 pod(s) failed)".into())
        );
        let done = json!({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(
            job_state(Some(&done)),
            Reading::Good("Complete (1 succeeded)".into())
        );
        let running = json!({"status": {"active": 1}});
        assert!(matches!(job_state(Some(&running)), Reading::Pending(_)));
    }
}
