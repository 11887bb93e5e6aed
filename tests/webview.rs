//! The web view end to end: the real `tranche run` rolling a real git
//! repository out to REAL clusters of the current Kubernetes release (health
//! from the real Deployment controller), watched in a real headless Chromium over
//! WebDriver. The page must show the batch grid advance batch by batch,
//! then a bad commit fail its health gate with the reason and roll back,
//! the per-object diff with Secret values masked, and work from the
//! keyboard. Screenshots are kept under `target/webview/`.

mod support;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use support::browser::Browser;
use support::daemon::{free_port, Daemon};
use support::fixtures::{broken_override, deployment, rollout_policy, shop_repo};
use support::{eventually, TestFleet};

const V2: &str = "registry.example.com/shop/web:2.0.0";

/// Where screenshots go (kept after the test, printed).
fn artifact(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("webview").join(name)
}

/// `[cluster, state]` of every grid cell, the heading, and the failure box.
const READ_GRID: &str = "return {
    cells: [...document.querySelectorAll('#grid .cell')].map(c => [c.dataset.cluster, c.dataset.state]),
    title: document.getElementById('rollout-title').textContent,
    failure: document.getElementById('failure').hidden ? '' : document.getElementById('failure').textContent,
    live: document.getElementById('live').textContent,
    commit: document.getElementById('rollout').dataset.commit || '',
};";

fn state_of(snapshot: &Value, cluster: &str) -> String {
    snapshot["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c[0] == cluster)
        .and_then(|c| c[1].as_str())
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_a_rollout_batch_by_batch_and_shows_why_it_rolled_back() {
    let names = ["a", "b", "c"];
    let fleet = Arc::new(TestFleet::start(&names).await);
    let repo = shop_repo(&names);
    // 3 clusters in batches of 1: each batch bakes 2 s, long enough to see.
    repo.write("policies/rollout.yaml", &rollout_policy("Rollback", "2s"));
    repo.commit("shop: first deploy");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\n",
        repo = repo.path().display(),
        kc = fleet.kubeconfig_path().display(),
        state = dir.path().join("state").display(),
    );
    let daemon = Daemon::start(dir.path(), "webview", &config, port).await;
    let browser = Browser::start(1366, 900).await;
    browser.goto(&daemon.url).await;
    eventually(
        "the first deploy on the page",
        Duration::from_secs(90),
        || async {
            let s = browser.eval(READ_GRID, json!([])).await;
            let done = s["live"] == "live"
                && s["title"] == "Last rollout"
                && names.iter().all(|c| state_of(&s, c) == "healthy");
            done.then_some(())
        },
    )
    .await;

    // v1: watch the grid while the daemon rolls it out.
    repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:1.1.0", 2),
    );
    let v1 = repo.commit("shop 1.1.0");
    let mut seen: Vec<Value> = Vec::new();
    let mut shot_taken = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let s = browser.eval(READ_GRID, json!([])).await;
        if seen.last() != Some(&s) {
            if !shot_taken && state_of(&s, "a") == "healthy" && state_of(&s, "c") == "pending" {
                browser.screenshot(&artifact("rolling-out.png")).await;
                shot_taken = true;
            }
            seen.push(s.clone());
        }
        let done = s["title"] == "Last rollout"
            && names.iter().all(|c| state_of(&s, c) == "healthy")
            && s["commit"] == v1.as_str();
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "v1 not rolled out on the page: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let states: Vec<Vec<String>> = seen
        .iter()
        .map(|s| names.iter().map(|c| state_of(s, c)).collect())
        .collect();
    let busy = |x: &str| x == "applying" || x == "gating";
    let at = |want: [&dyn Fn(&str) -> bool; 3]| {
        states
            .iter()
            .position(|s| s.iter().zip(want).all(|(x, f)| f(x)))
    };
    let healthy = |x: &str| x == "healthy";
    let pending = |x: &str| x == "pending";
    let batch1 = at([&busy, &pending, &pending]);
    let batch2 = at([&healthy, &busy, &pending]);
    let batch3 = at([&healthy, &healthy, &busy]);
    assert!(
        batch1.is_some() && batch1 < batch2 && batch2 < batch3,
        "the grid must advance one batch at a time: {states:?}\n{}\n{}",
        daemon.json("/api/status").await,
        daemon.log()
    );
    assert!(shot_taken, "screenshot while batch 3 waits");
    println!(
        "screenshot during the rollout: {}",
        artifact("rolling-out.png").display()
    );

    // A bad commit: b's pods crash-loop, its Deployment never becomes available.
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    repo.write("apps/shop/overrides/broken.yaml", &broken_override(&["b"]));
    repo.write(
        "apps/shop/manifests/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ntype: Opaque\nstringData:\n  \
         password: rotated-hunter3-secret\n",
    );
    let v2 = repo.commit("shop 2.0.0: new checkout flow");
    let last = eventually(
        "the rollback on the page",
        Duration::from_secs(90),
        || async {
            let s = browser.eval(READ_GRID, json!([])).await;
            let done = s["title"] == "Last rollout"
                && s["commit"] == v2.as_str()
                && state_of(&s, "a") == "rolledBack"
                && state_of(&s, "b") == "rolledBack"
                && state_of(&s, "c") == "notStarted";
            done.then_some(s)
        },
    )
    .await;
    let failure = last["failure"].as_str().unwrap_or_default();
    assert!(
        failure.contains("Deployment shop/web") && failure.contains("ProgressDeadlineExceeded"),
        "the rollback reason is shown: {failure:?}"
    );
    assert!(failure.contains("rolled back"), "{failure:?}");

    // The commit, its author and message are there.
    let page = browser.source().await;
    assert!(
        page.contains("shop 2.0.0: new checkout flow") && page.contains(&v2[..7]),
        "commit shown"
    );

    // Keyboard: focus a, arrow to b, Enter opens b's details.
    browser
        .eval(
            "document.querySelector('[data-cluster=\"a\"]').focus(); return null;",
            json!([]),
        )
        .await;
    browser.keys("\u{E014}").await; // ArrowRight
    let focused = browser
        .eval("return document.activeElement.dataset.cluster;", json!([]))
        .await;
    assert_eq!(focused, "b", "arrow keys move between cells");
    browser.keys("\u{E007}").await; // Enter
    let objects = eventually("b's object changes", Duration::from_secs(20), || async {
        let t = browser
            .eval(
                "return document.getElementById('detail').hidden ? '' : document.getElementById('detail').textContent;",
                json!([]),
            )
            .await;
        let t = t.as_str().unwrap_or_default().to_string();
        (t.contains("Deployment shop/web") && t.contains("Secret shop/db")).then_some(t)
    })
    .await;
    assert!(objects.contains(&v1[..7]), "b ran v1 before: {objects}");
    browser.click("#detail-objects details summary").await;
    let diff = browser
        .eval(
            "return [...document.querySelectorAll('#detail-objects pre.diff')].map(p => p.textContent).join('\\n');",
            json!([]),
        )
        .await;
    let diff = diff.as_str().unwrap_or_default();
    assert!(
        diff.contains("registry.example.com/shop/web:broken"),
        "the Deployment diff shows b's new (broken) image: {diff}"
    );
    let page = browser.source().await;
    for secret in ["hunter2-very-secret", "rotated-hunter3-secret"] {
        assert!(!page.contains(secret), "a Secret value reached the page");
    }
    assert!(
        page.contains("*** (after)"),
        "the Secret change shows masked"
    );
    browser
        .eval("window.scrollTo(0, 0); return null;", json!([]))
        .await;
    let shot = artifact("rolled-back.png");
    browser.screenshot(&shot).await;
    println!("screenshot after the rollback: {}", shot.display());
    browser
        .eval(
            "document.getElementById('detail').scrollIntoView(); return null;",
            json!([]),
        )
        .await;
    let shot = artifact("object-diff.png");
    browser.screenshot(&shot).await;
    println!("screenshot of b's object changes: {}", shot.display());

    // The same data, as /api/status documents it.
    let status = daemon.json("/api/status").await;
    let lr = &status["lastRollout"];
    assert_eq!(lr["commit"], v2.as_str());
    assert_eq!(lr["outcome"], "rolledBack");
    assert_eq!(lr["clusters"]["b"]["state"], "rolledBack");
    assert_eq!(lr["clusters"]["b"]["previous"], v1.as_str());
    assert_eq!(lr["clusters"]["c"]["state"], "notStarted");
    assert_eq!(lr["failure"]["cluster"], "b");
    assert_eq!(
        status["commits"][v2.as_str()]["subject"],
        "shop 2.0.0: new checkout flow"
    );
    let (code, _) = daemon.text("/api/changes?commit=nothex&cluster=b").await;
    assert_eq!(code, 400);
    let (code, body) = daemon
        .text(&format!("/api/changes?commit={v2}&cluster=zz"))
        .await;
    assert_eq!(code, 404, "{body}");
}
