//! What runs beside each current-release apiserver to make it a whole
//! cluster: kube-controller-manager (every controller: Deployment,
//! ReplicaSet, garbage collector, namespace, service account, HPA, …),
//! kube-scheduler, and kwok, which plays the kubelet of a few fake Nodes
//! (created here, with capacity) and moves pods through the stages in
//! `tests/support/kwok/`. Each component has its own token user (see
//! `files`), so audit logs tell its writes from tranche's.

use super::binaries::{program, Program};
use super::files::{
    self, write_component_kubeconfig, Tokens, CONTROLLER_MANAGER_USER, KWOK_USER, SCHEDULER_USER,
};
use super::http;
use super::process::{Proc, Reaper};
use super::versions::K8s;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The fake Nodes of every cluster: name, zone. Each has
/// [`NODE_CAPACITY`]; the scheduler keeps pods beyond it Pending.
pub const NODES: [(&str, &str); 2] = [("kwok-node-a", "zone-a"), ("kwok-node-b", "zone-b")];
/// `status.capacity` (= allocatable) of each fake Node.
pub const NODE_CAPACITY: (&str, &str, &str) = ("16", "64Gi", "110");
/// Pod CIDR kwok hands out pod IPs from.
const CLUSTER_CIDR: &str = "10.244.0.0/16";
/// How long a Node may miss heartbeats before it is marked NotReady.
const NODE_GRACE: &str = "5m";

/// kwok's configuration: every stage file, concatenated.
const STAGES: [&str; 7] = [
    include_str!("kwok/node-initialize.yaml"),
    include_str!("kwok/node-heartbeat-with-lease.yaml"),
    include_str!("kwok/pod-ready.yaml"),
    include_str!("kwok/pod-crash-loop.yaml"),
    include_str!("kwok/pod-complete.yaml"),
    include_str!("kwok/pod-fail.yaml"),
    include_str!("kwok/pod-delete.yaml"),
];

/// The components of one cluster besides its apiserver.
pub struct Components {
    /// controller-manager, scheduler, kwok.
    pub procs: Vec<Proc>,
}

/// Writes kwok's stage file once per fleet; returns its path.
pub fn write_stages(dir: &Path) -> PathBuf {
    let path = dir.join("kwok-stages.yaml");
    files::write(&path, &STAGES.join("\n---\n"));
    path
}

/// Everything one cluster's components need.
pub struct ComponentSpec<'a> {
    /// Cluster name (for labels and messages).
    pub name: &'a str,
    /// The cluster's directory (certs, logs, kubeconfigs).
    pub dir: &'a Path,
    /// `https://127.0.0.1:<port>` of its apiserver.
    pub server: &'a str,
    /// The fleet's tokens.
    pub tokens: &'a Tokens,
    /// The service-account signing key (controller-manager's token controller).
    pub sa_key: &'a Path,
    /// kwok's stage file.
    pub stages: &'a Path,
    /// Where pids are registered.
    pub reaper: &'a Reaper,
}

impl ComponentSpec<'_> {
    /// Creates the fake Nodes, starts the three components and waits until
    /// the Nodes are Ready and the controllers have made the `default`
    /// ServiceAccount (pods can then be created). Panics with the logs'
    /// tails if that takes longer than `timeout`.
    pub async fn start(&self, timeout: Duration) -> Components {
        self.create_nodes().await;
        let kubeconfig = |component: &str, user: &str, token: &str| {
            let path = self.dir.join(format!("{component}.kubeconfig"));
            write_component_kubeconfig(&path, self.server, user, token);
            path.display().to_string()
        };
        let kcm = kubeconfig(
            "controller-manager",
            CONTROLLER_MANAGER_USER,
            &self.tokens.controller_manager,
        );
        let sched = kubeconfig("scheduler", SCHEDULER_USER, &self.tokens.scheduler);
        let kwok = kubeconfig("kwok", KWOK_USER, &self.tokens.kwok);
        let certs = self.dir.join("certs");
        let mut cmd = Command::new(program(K8s::Current, Program::ControllerManager));
        cmd.args([
            format!("--kubeconfig={kcm}"),
            format!("--authentication-kubeconfig={kcm}"),
            format!("--authorization-kubeconfig={kcm}"),
            format!("--root-ca-file={}", certs.join("apiserver.crt").display()),
            format!(
                "--service-account-private-key-file={}",
                self.sa_key.display()
            ),
            "--leader-elect=false".into(),
            "--use-service-account-credentials=false".into(),
            "--controllers=*".into(),
            "--secure-port=0".into(),
            "--kube-api-qps=1000".into(),
            "--kube-api-burst=2000".into(),
            format!("--cluster-cidr={CLUSTER_CIDR}"),
            // kwok renews its Nodes' Leases every 10 s; on a starved machine
            // a renewal can come late, and with the default 50 s grace the
            // Nodes would flap NotReady and take healthy pods with them.
            format!("--node-monitor-grace-period={NODE_GRACE}"),
        ]);
        let kcm_proc = self.spawn("kube-controller-manager", cmd, "controller-manager.log");
        let mut cmd = Command::new(program(K8s::Current, Program::Scheduler));
        cmd.args([
            format!("--kubeconfig={sched}"),
            format!("--authentication-kubeconfig={sched}"),
            format!("--authorization-kubeconfig={sched}"),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
        ]);
        let sched_proc = self.spawn("kube-scheduler", cmd, "scheduler.log");
        let kwok_proc = self.spawn_kwok(&kwok, "kwok.log");
        let mut components = Components {
            procs: vec![kcm_proc, sched_proc, kwok_proc],
        };
        let mut settled = self.wait_settled(&mut components, timeout).await;
        // kwok v0.8 has been seen to panic while starting on a loaded
        // machine (exit status 2, once in many fleets): start it once more.
        let kwok_died = match &settled {
            Err(why) if why.starts_with("kwok ") => Some(why.clone()),
            _ => None,
        };
        if let Some(why) = kwok_died {
            eprintln!(
                "[test fleet] cluster {}: {why}; starting kwok again",
                self.name
            );
            components.procs[2] = self.spawn_kwok(&kwok, "kwok-again.log");
            settled = self.wait_settled(&mut components, timeout).await;
        }
        if let Err(why) = settled {
            let tails: Vec<String> = components
                .procs
                .iter()
                .map(|p| format!("--- {} ({}):\n{}", p.label, p.log.display(), p.log_tail(15)))
                .collect();
            panic!("cluster {}: {why}\n{}", self.name, tails.join("\n"));
        }
        components
    }

    /// kwok, playing the kubelet of the fake Nodes.
    fn spawn_kwok(&self, kubeconfig: &str, log: &str) -> Proc {
        let mut cmd = Command::new(program(K8s::Current, Program::Kwok));
        cmd.args([
            format!("--kubeconfig={kubeconfig}"),
            "--manage-all-nodes=true".into(),
            format!("--cidr={CLUSTER_CIDR}"),
            "--node-ip=127.0.0.1".into(),
            // Its own port per process (`:0`): a clash would kill this kwok.
            "--server-address=127.0.0.1:0".into(),
            format!("--config={}", self.stages.display()),
        ]);
        self.spawn("kwok", cmd, log)
    }

    fn spawn(&self, what: &str, cmd: Command, log: &str) -> Proc {
        let label = format!("{what} {}", self.name);
        let proc = Proc::spawn(&label, cmd, &self.dir.join(log));
        if let Some(pid) = proc.pid() {
            self.reaper.track(&label, pid);
        }
        proc
    }

    async fn request(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| ("application/json", b.to_string()));
        http::send(self.server, &self.tokens.admin, method, path, body)
            .await
            .unwrap_or_else(|e| panic!("cluster {}: {e}", self.name))
    }

    async fn create_nodes(&self) {
        let (cpu, memory, pods) = NODE_CAPACITY;
        for (node, zone) in NODES {
            let capacity = json!({"cpu": cpu, "memory": memory, "pods": pods});
            let body = json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "name": node,
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": {
                        "kubernetes.io/hostname": node, "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64", "type": "kwok",
                        "topology.kubernetes.io/zone": zone,
                    },
                },
                "status": {"capacity": capacity, "allocatable": capacity},
            });
            match self
                .request(Method::POST, "/api/v1/nodes", Some(body))
                .await
            {
                (201 | 409, _) => {}
                (code, v) => panic!(
                    "cluster {}: creating Node {node}: HTTP {code}: {v}",
                    self.name
                ),
            }
        }
    }

    /// Ok once every Node is Ready and the `default` ServiceAccount exists.
    async fn wait_settled(&self, c: &mut Components, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            for p in &mut c.procs {
                if let Some(status) = p.exited() {
                    return Err(format!("{} exited ({status}) while starting", p.label));
                }
            }
            let (code, nodes) = self.request(Method::GET, "/api/v1/nodes", None).await;
            let ready = code == 200 && nodes_ready(&nodes) >= NODES.len();
            let sa = "/api/v1/namespaces/default/serviceaccounts/default";
            if ready && self.request(Method::GET, sa, None).await.0 == 200 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not settled within {timeout:?} (Nodes Ready: {ready}; the default ServiceAccount is made by the controller-manager)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How many Nodes of a NodeList have `Ready=True`.
fn nodes_ready(list: &Value) -> usize {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| {
            n["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .count()
}
