//! One flag style: `-o/--output json|text` on every command that prints a
//! result, with the JSON shapes the README documents (`status --json`
//! kept as an alias of `-o json`).

mod support;

use serde_json::Value;
use std::process::{Command, Output};
use support::FixtureRepo;

fn tranche(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tranche"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tranche")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn example() -> (FixtureRepo, String) {
    support::use_tools(); // its kustomize and Helm apps
    let repo = FixtureRepo::new();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/repo-layout");
    repo.copy_dir(&example, "");
    let sha = repo.commit("example");
    (repo, sha)
}

#[test]
fn validate_prints_its_verdict_and_problems_as_json() {
    let (repo, sha) = example();
    let path = repo.path().to_str().unwrap().to_string();
    let ok = tranche(&["validate", &path, "-o", "json"]);
    assert_eq!(ok.status.code(), Some(0));
    let v = json(&ok);
    assert_eq!(v["commit"], sha.as_str());
    assert_eq!(v["valid"], true);
    assert_eq!(
        (v["clusters"].as_u64(), v["apps"].as_u64()),
        (Some(12), Some(8))
    );
    assert_eq!(v["problems"], serde_json::json!([]));

    repo.write("clusters/prod-eu-west-1.yaml", "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {name: wrong}\nspec: {contxt: x}\n");
    repo.commit("broken");
    let bad = tranche(&["validate", &path, "--output", "json"]);
    assert_eq!(bad.status.code(), Some(1));
    let v = json(&bad);
    assert_eq!(v["valid"], false);
    let problems = v["problems"].as_array().unwrap();
    assert!(!problems.is_empty());
    assert!(
        problems.iter().all(|p| p["location"]
            .as_str()
            .unwrap()
            .starts_with("clusters/prod-eu-west-1.yaml")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["message"].as_str().unwrap().contains("contxt")),
        "{problems:#?}"
    );
    // The misspelt key is on line 4 of the file; the line is a field of
    // its own in JSON and a ` (line N)` suffix in text.
    let contxt = problems
        .iter()
        .find(|p| p["location"] == "clusters/prod-eu-west-1.yaml: spec.contxt")
        .expect("a problem at spec.contxt");
    assert_eq!(contxt["line"], 4, "{contxt:#}");
    assert!(
        !contxt["message"].as_str().unwrap().contains("(line"),
        "{contxt:#}"
    );
    // Text stays as it was: problems on stderr.
    let text = tranche(&["validate", &path]);
    assert_eq!(text.status.code(), Some(1));
    assert!(text.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.contains("problem(s) found"));
    assert!(
        stderr.lines().any(
            |l| l.starts_with("clusters/prod-eu-west-1.yaml: spec.contxt: ")
                && l.ends_with(" (line 4)")
        ),
        "{stderr}"
    );
}

#[test]
fn render_and_status_print_json_too() {
    let (repo, sha) = example();
    let path = repo.path().to_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let r = tranche(&[
        "render",
        &path,
        "--out",
        out.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert!(r.status.success());
    let v = json(&r);
    assert_eq!(v["commit"], sha.as_str());
    assert_eq!(v["clusters"].as_object().unwrap().len(), 12);
    // 42 of the plain apps, catalog and reviews on 12, cart and openkruise on 6.
    assert_eq!(v["files"], 78);
    assert!(v["clusters"]["stg-eu-west-1"]
        .as_array()
        .unwrap()
        .contains(&Value::from("checkout.yaml")));
    assert!(out.path().join("stg-eu-west-1/checkout.yaml").is_file());

    let state = tempfile::tempdir().unwrap();
    let clusters = tempfile::tempdir().unwrap();
    let applied = tranche(&[
        "apply",
        &path,
        "--clusters-dir",
        clusters.path().to_str().unwrap(),
        "--state-dir",
        state.path().to_str().unwrap(),
    ]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let dir = state.path().to_str().unwrap();
    let a = json(&tranche(&["status", "--state-dir", dir, "-o", "json"]));
    let b = json(&tranche(&["status", "--state-dir", dir, "--json"]));
    assert_eq!(a, b, "--json is -o json");
    assert_eq!(a["current"], Value::Null);
    assert_eq!(a["fleet"]["lastGood"], sha.as_str());
    assert_eq!(a["fleet"]["history"][0]["outcome"], "succeeded");
    let text = tranche(&["status", "--state-dir", dir]);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("in flight: none"));
}
