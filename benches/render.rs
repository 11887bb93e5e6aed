//! Rendering throughput, printed as figures (no assertions):
//!
//! (a) a generated fleet of 200 apps × 50 clusters (each app: Deployment,
//!     Service, ConfigMap, HPA; Divided weights; 2 override files) rendered
//!     whole, as renders (app × cluster pairs) per second;
//! (b) the same kind of per-cluster overlay rendered by `kubectl kustomize`
//!     (a base plus one overlay per cluster: replicas patch, image override,
//!     labels), timed on a sample and extrapolated per render;
//! (c) the example repository `examples/repo-layout` (12 clusters, its 6 plain-manifest apps),
//!     read from disk into a snapshot, loaded and validated
//!     (`tranche::model::load::load`) then rendered: renders per second for
//!     load + render, and for render alone.
//!
//! Run with `cargo bench --bench render`.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};
use tranche::model::{
    App, Cluster, ClusterAffinity, ClusterTarget, Fleet, HpaMode, ImageComponent, ImageOverrider,
    LabelSelector, ListOverrider, Manifest, MapOverrider, OverrideFile, OverrideOp, OverrideRule,
    Overriders, Placement, PlaintextOp, ReplicaScheduling, WeightRule,
};

const APPS: usize = 200;
const CLUSTERS: usize = 50;
const KUSTOMIZE_SAMPLE: usize = 50;

fn main() {
    let fleet = generated_fleet();
    let (per_second, elapsed, objects) = bench_tranche(&fleet);
    let renders = APPS * CLUSTERS;
    println!(
        "(a) tranche: {APPS} apps × {CLUSTERS} clusters = {renders} renders ({objects} objects)"
    );
    println!(
        "    best of 5: {:.1} ms for {renders} renders → {:.0} renders/s ({:.1} µs per render)",
        ms(elapsed),
        per_second,
        elapsed.as_secs_f64() * 1e6 / renders as f64
    );
    match bench_kustomize() {
        Ok(per_render) => {
            let k_rate = 1.0 / per_render.as_secs_f64();
            println!(
                "(b) kubectl kustomize: {KUSTOMIZE_SAMPLE} overlays, {:.1} ms per render → {:.1} renders/s; \
                 {renders} renders would take {:.1} s",
                ms(per_render),
                k_rate,
                per_render.as_secs_f64() * renders as f64
            );
            println!(
                "    ratio: tranche is {:.0}× faster per render",
                per_second / k_rate
            );
        }
        Err(why) => println!("(b) kubectl kustomize: skipped ({why})"),
    }
    bench_example();
}

/// Part (c): the example repository, loaded and rendered.
fn bench_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/repo-layout");
    let mut snapshot =
        tranche::git::Snapshot::from_dir("0123456789abcdef0123456789abcdef01234567", &root)
            .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()));
    // The kustomize and Helm apps need the real tools (rendered by
    // `tranche::sources` before the model): only their placements stay.
    snapshot.files.retain(|path, _| {
        !["apps/catalog/", "apps/reviews/"]
            .iter()
            .any(|app| path.starts_with(app))
            || path.ends_with("/placement.yaml")
    });
    let fleet = tranche::model::load::load(&snapshot)
        .unwrap_or_else(|e| panic!("examples/repo-layout must validate:\n{e}"));
    let rendering = tranche::render::render(&fleet)
        .unwrap_or_else(|e| panic!("examples/repo-layout must render: {e:?}"));
    let renders: usize = rendering.clusters.values().map(|c| c.apps.len()).sum();
    let objects: usize = rendering
        .clusters
        .values()
        .flat_map(|c| c.apps.values())
        .map(|a| a.objects.len())
        .sum();
    const ROUNDS: u32 = 200;
    let time = |work: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..ROUNDS {
                    work();
                }
                start.elapsed() / ROUNDS
            })
            .min()
            .unwrap_or_default()
    };
    let load_and_render = time(&|| {
        let fleet = tranche::model::load::load(&snapshot).ok();
        std::hint::black_box(fleet.map(|f| tranche::render::render(&f)));
    });
    let render_only = time(&|| {
        std::hint::black_box(tranche::render::render(&fleet).ok());
    });
    println!(
        "(c) examples/repo-layout: {} apps × {} clusters placed as {renders} renders ({objects} objects)",
        fleet.apps.len(),
        fleet.clusters.len()
    );
    for (what, took) in [
        ("load + render", load_and_render),
        ("render alone", render_only),
    ] {
        println!(
            "    {what}: best of 5 × {ROUNDS}: {:.3} ms per commit → {:.0} renders/s",
            ms(took),
            renders as f64 / took.as_secs_f64()
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Renders the fleet 5 times; the best run.
fn bench_tranche(fleet: &Fleet) -> (f64, Duration, usize) {
    let mut best = Duration::MAX;
    let mut objects = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let rendering = tranche::render::render(fleet)
            .unwrap_or_else(|e| panic!("bench fleet must render: {e:?}"));
        best = best.min(start.elapsed());
        objects = rendering
            .clusters
            .values()
            .flat_map(|c| c.apps.values())
            .map(|a| a.objects.len())
            .sum();
        std::hint::black_box(&rendering);
    }
    ((APPS * CLUSTERS) as f64 / best.as_secs_f64(), best, objects)
}

fn generated_fleet() -> Fleet {
    let regions = ["eu", "us", "ap"];
    let clusters: BTreeMap<String, Cluster> = (0..CLUSTERS)
        .map(|i| {
            let name = format!("cluster-{i:03}");
            let labels = [
                ("region".to_string(), regions[i % 3].to_string()),
                ("env".into(), "prod".into()),
            ]
            .into();
            let c = Cluster {
                name: name.clone(),
                labels,
                context: name.clone(),
                rollout_order: None,
                file: format!("clusters/{name}.yaml"),
            };
            (name, c)
        })
        .collect();
    let apps = (0..APPS)
        .map(|i| generated_app(i, &clusters))
        .map(|a| (a.name.clone(), a))
        .collect();
    Fleet {
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        clusters,
        apps,
        // The built-in policies: every namespace but the system ones.
        policies: tranche::model::builtin_policies(),
        kinds: tranche::kinds::KindTable::default(),
    }
}

fn generated_app(i: usize, clusters: &BTreeMap<String, Cluster>) -> App {
    let name = format!("app-{i:03}");
    let file = format!("apps/{name}/manifests/app.yaml");
    let objects = [
        deployment(&name),
        service(&name),
        config_map(&name),
        hpa(&name),
    ];
    let manifests = objects
        .into_iter()
        .enumerate()
        .map(|(doc, object)| Manifest {
            file: file.clone(),
            doc,
            object,
        })
        .collect();
    let weights = clusters
        .keys()
        .enumerate()
        .map(|(j, c)| WeightRule {
            target: ClusterTarget {
                cluster_names: vec![c.clone()],
                ..Default::default()
            },
            weight: 1 + ((i + j) % 5) as u64,
        })
        .collect();
    App {
        name: name.clone(),
        manifests,
        placement: Placement {
            file: format!("apps/{name}/placement.yaml"),
            affinity: ClusterAffinity {
                label_selector: Some(LabelSelector::default()),
                ..Default::default()
            },
            replicas: ReplicaScheduling::Divided { weights },
            hpa: HpaMode::Split,
            namespace: None,
            migration: None,
            dynamic_weight: None,
            failover: None,
        },
        overrides: vec![everywhere(&name), regional(&name, clusters)],
    }
}

/// Override file 1: every cluster gets a registry mirror and a label.
fn everywhere(app: &str) -> OverrideFile {
    OverrideFile {
        file: format!("apps/{app}/overrides/all.yaml"),
        resource_selectors: vec![],
        rules: vec![OverrideRule {
            index: 0,
            target: ClusterTarget::default(),
            overriders: Overriders {
                image: vec![ImageOverrider {
                    path: None,
                    component: ImageComponent::Registry,
                    operator: OverrideOp::Add,
                    value: "mirror.example.com".into(),
                }],
                labels: vec![MapOverrider {
                    operator: OverrideOp::Add,
                    value: [("tier".to_string(), "web".to_string())].into(),
                }],
                ..Default::default()
            },
        }],
    }
}

/// Override file 2: eu clusters get an env var and a flag; one named
/// cluster gets a pinned tag.
fn regional(app: &str, clusters: &BTreeMap<String, Cluster>) -> OverrideFile {
    let eu = LabelSelector {
        match_labels: [("region".to_string(), "eu".to_string())].into(),
        match_expressions: vec![],
    };
    let first = clusters.keys().next().cloned().unwrap_or_default();
    OverrideFile {
        file: format!("apps/{app}/overrides/regional.yaml"),
        resource_selectors: vec![tranche::model::ResourceSelector {
            kind: Some("Deployment".into()),
            ..Default::default()
        }],
        rules: vec![
            OverrideRule {
                index: 0,
                target: ClusterTarget {
                    label_selector: Some(eu),
                    ..Default::default()
                },
                overriders: Overriders {
                    plaintext: vec![PlaintextOp {
                        path: "/spec/template/spec/containers/0/env".into(),
                        operator: OverrideOp::Add,
                        value: Some(json!([{"name": "REGION", "value": "eu"}])),
                    }],
                    args: vec![ListOverrider {
                        container_name: "web".into(),
                        operator: OverrideOp::Add,
                        value: vec!["--gdpr".into()],
                    }],
                    ..Default::default()
                },
            },
            OverrideRule {
                index: 1,
                target: ClusterTarget {
                    cluster_names: vec![first],
                    ..Default::default()
                },
                overriders: Overriders {
                    image: vec![ImageOverrider {
                        path: None,
                        component: ImageComponent::Tag,
                        operator: OverrideOp::Replace,
                        value: "1.27.3".into(),
                    }],
                    ..Default::default()
                },
            },
        ],
    }
}

fn deployment(app: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": app, "labels": {"app": app}},
        "spec": {
            "replicas": 100,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{
                    "name": "web", "image": "nginx:1.27", "args": ["--port=8080"],
                    "ports": [{"containerPort": 8080}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}
                }]}
            }
        }
    })
}

fn service(app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": app},
           "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}})
}

fn config_map(app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": app},
           "data": {"LOG_LEVEL": "info", "FEATURE_X": "on"}})
}

fn hpa(app: &str) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": app},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 50, "maxReplicas": 200,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}})
}

/// Times `kubectl kustomize` over a sample of overlays; time per render.
fn bench_kustomize() -> Result<Duration, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let root = dir.path();
    let write = |path: &str, text: String| -> Result<(), String> {
        let p = root.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let docs: Vec<Value> = vec![
        deployment("app-000"),
        service("app-000"),
        config_map("app-000"),
        hpa("app-000"),
    ];
    write("base/app.yaml", tranche::yaml::to_documents(&docs))?;
    write("base/kustomization.yaml", "resources:\n- app.yaml\n".into())?;
    for i in 0..KUSTOMIZE_SAMPLE {
        let overlay = format!(
            "resources:\n- ../../base\n\
             replicas:\n- name: web\n  count: {}\n\
             images:\n- name: nginx\n  newName: mirror.example.com/nginx\n  newTag: \"1.27\"\n\
             labels:\n- pairs:\n    tier: web\n    cluster: cluster-{i:03}\n  includeSelectors: false\n",
            1 + i % 5
        );
        write(
            &format!("overlays/cluster-{i:03}/kustomization.yaml"),
            overlay,
        )?;
    }
    // One warm-up run so the first exec's page faults are not counted.
    run_kustomize(&root.join("overlays/cluster-000"))?;
    let start = Instant::now();
    for i in 0..KUSTOMIZE_SAMPLE {
        run_kustomize(&root.join(format!("overlays/cluster-{i:03}")))?;
    }
    Ok(start.elapsed() / KUSTOMIZE_SAMPLE as u32)
}

fn run_kustomize(dir: &std::path::Path) -> Result<(), String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| format!("kubectl not runnable: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "kubectl kustomize failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
