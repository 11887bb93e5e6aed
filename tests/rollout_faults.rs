//! Rollouts under injected faults (issue 10): the real binary against REAL
//! kube-apiservers, through the fault proxy of `tests/support/proxy.rs`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::proxy::{Fault, ProxySet};
use support::TestFleet;
use tranche::cluster::kube::Backoff;
use tranche::cluster::{ClusterApi, KubeCluster};

/// tranche's driver for `name` through its proxy, without retries.
async fn through(proxies: &ProxySet, name: &str) -> KubeCluster {
    KubeCluster::from_kubeconfig(name, Some(proxies.kubeconfig_path()), name)
        .await
        .unwrap()
        .with_backoff(Backoff {
            tries: 1,
            first_delay: Duration::from_millis(1),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_forwards_and_injects_each_fault() {
    let fleet = Arc::new(TestFleet::start(&["p"]).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    let api = through(&proxies, "p").await;
    api.ping().await.expect("forwarded to the apiserver");
    for (code, word) in [(500, "500"), (503, "503"), (429, "429")] {
        proxies.add(Fault::at(proxies.count()).answer(code));
        let err = api.ping().await.unwrap_err().to_string();
        assert!(err.contains(word), "{code}: {err}");
        api.ping()
            .await
            .expect("a fault fires once unless told otherwise");
    }
    // A pattern, for one cluster, twice.
    proxies.add(
        Fault::on("GET", "/version")
            .cluster("p")
            .answer(500)
            .times(2),
    );
    assert!(api.ping().await.is_err());
    assert!(api.ping().await.is_err());
    api.ping().await.unwrap();
    // An index fault with times(3) also hits the retries of that request.
    let retrying = KubeCluster::from_kubeconfig("p", Some(proxies.kubeconfig_path()), "p")
        .await
        .unwrap()
        .with_backoff(Backoff {
            tries: 3,
            first_delay: Duration::from_millis(1),
        });
    proxies.add(Fault::at(proxies.count()).answer(500).times(3));
    assert!(retrying.ping().await.is_err(), "three tries, three 500s");
    proxies.add(Fault::at(proxies.count()).answer(500).times(2));
    retrying.ping().await.expect("the third try gets through");
    // A reset is a dropped connection: the cluster looks unreachable.
    proxies.add(Fault::at(proxies.count()).reset());
    let err = api.ping().await.unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    api.ping().await.unwrap();
    // A hang never answers (a short client timeout shows it).
    proxies.add(Fault::at(proxies.count()).hang());
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let hung = client
        .get(format!("{}/version", proxies.url("p")))
        .bearer_auth(fleet.admin_token())
        .send()
        .await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    // One-way delays add up to the round trip; requests in flight are counted.
    proxies.set_delay(Duration::from_millis(150), Duration::from_millis(100));
    let started = Instant::now();
    api.ping().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    proxies.reset();
    let pings = futures::future::join_all((0..3).map(|_| api.ping())).await;
    assert!(pings.iter().all(Result::is_ok));
    assert_eq!(proxies.peak_in_flight(), 3);
    assert_eq!(proxies.in_flight(), 0);
    assert_eq!(proxies.requests().len(), 3);
    proxies.set_delay(Duration::ZERO, Duration::ZERO);
    // Stopping the apiserver: it is down, and requests are reset.
    proxies.add(Fault::at(proxies.count()).stop_apiserver());
    assert!(api.ping().await.unwrap_err().is_unreachable());
    assert!(!fleet.is_running("p"));
    assert!(api.ping().await.unwrap_err().is_unreachable());
    proxies.restart_apiserver("p").await;
    api.ping().await.expect("back after a restart");
}
