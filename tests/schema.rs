//! The JSON Schemas of tranche's file kinds: the copies shipped under
//! `schemas/` are exactly what `tranche schema` generates from the loader's
//! types, every file of the example repository and every tranche snippet
//! of the README validates against them (with the real `jsonschema`
//! validator), and they reject what the loader rejects.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tranche::schema::{any, files, kind, ANY_FILE};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Resolves `file:///schemas/<file>` to the generated schemas (no network).
struct Shipped;

impl jsonschema::Retrieve for Shipped {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri.path().as_str();
        let file = path.strip_prefix("/schemas/").ok_or("outside /schemas/")?;
        let text = files()
            .into_iter()
            .find(|(f, _)| *f == file)
            .map(|(_, t)| t)
            .ok_or("no such schema")?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn validator(file: &str, schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_base_uri(format!("file:///schemas/{file}"))
        .with_retriever(Shipped)
        .build(schema)
        .unwrap_or_else(|e| panic!("{file} is not a valid schema: {e}"))
}

/// Problems of one document against `tranche.json` and its kind's schema.
fn problems(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = validator(ANY_FILE, &any())
        .iter_errors(doc)
        .map(|e| format!("{ANY_FILE}: {} at {}", e, e.instance_path()))
        .collect();
    if let Some(k) = doc["kind"].as_str().and_then(kind) {
        out.extend(
            validator(k.file, &k.schema())
                .iter_errors(doc)
                .map(|e| format!("{}: {} at {}", k.file, e, e.instance_path())),
        );
    }
    out
}

fn yaml_docs(text: &str) -> Vec<Value> {
    tranche::yaml::parse_documents(text)
        .unwrap_or_else(|(i, e)| panic!("YAML doc {i}: {e}"))
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

fn is_tranche(doc: &Value) -> bool {
    doc["apiVersion"] == "tranche.dev/v1alpha1"
}

#[test]
fn shipped_schemas_are_the_generated_ones() {
    let dir = root().join("schemas");
    let generated = files();
    for (file, text) in &generated {
        let shipped = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("schemas/{file}: {e} (run `tranche schema --out schemas`)"));
        assert!(
            &shipped == text,
            "schemas/{file} differs from the types: run `tranche schema --out schemas`"
        );
    }
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(on_disk, generated.len(), "stray files in schemas/");
    // `tranche schema KIND` prints the same text.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tranche"))
        .args(["schema", "rolloutpolicy"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read_to_string(dir.join("rolloutpolicy.json")).unwrap()
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_tranche"))
        .args(["schema", "Deployment"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown kind \"Deployment\""));
}

fn tranche_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Kubernetes objects, kustomize bases, charts and Helm values.
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !["manifests", "base", "chart", "values"].contains(&name) {
                tranche_files(&path, out);
            }
        } else if path.file_name().is_some_and(|n| n == "values.yaml") {
            // an app's Helm values
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn the_example_repository_and_built_in_policies_validate() {
    let mut paths = Vec::new();
    tranche_files(&root().join("examples/repo-layout"), &mut paths);
    tranche_files(&root().join("policies"), &mut paths);
    let mut kinds = std::collections::BTreeSet::new();
    let mut checked = 0;
    for path in &paths {
        for doc in yaml_docs(&std::fs::read_to_string(path).unwrap()) {
            assert!(is_tranche(&doc), "{} is not a tranche file", path.display());
            let p = problems(&doc);
            assert!(p.is_empty(), "{}: {p:#?}", path.display());
            kinds.insert(doc["kind"].as_str().unwrap().to_string());
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} documents found");
    assert_eq!(kinds.len(), 9, "every kind is exercised: {kinds:?}");
}

#[test]
fn every_tranche_snippet_of_the_readme_validates() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut checked = 0;
    for block in readme.split("```yaml\n").skip(1) {
        let body = block.split("\n```").next().unwrap();
        if body.contains('…') {
            continue; // the envelope sketch, with placeholders
        }
        for doc in yaml_docs(body) {
            if !is_tranche(&doc) {
                continue; // Kubernetes manifests, the daemon config
            }
            let p = problems(&doc);
            assert!(p.is_empty(), "README snippet:\n{body}\n{p:#?}");
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} README snippets validated");
}

#[test]
fn schemas_reject_what_the_loader_rejects() {
    let cases = [
        (
            "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity: {}\n  replicaScheduling:\n    replicaSchedulingTyp: Divided\n",
            "typo",
        ),
        ("apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nspec: {}\n", "cluster without a name"),
        ("apiVersion: tranche.dev/v1beta1\nkind: Cluster\nmetadata: {name: a}\n", "wrong apiVersion"),
        ("apiVersion: tranche.dev/v1alpha1\nkind: Deployment\n", "not a tranche kind"),
        (
            "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: x}\nspec:\n  onFailure: Explode\n",
            "unknown enum value",
        ),
        (
            "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a, labels: {tier: 1}}\n",
            "unquoted number label",
        ),
    ];
    for (text, what) in cases {
        let doc = &yaml_docs(text)[0];
        assert!(!problems(doc).is_empty(), "{what} passed the schema");
        assert!(
            !validator(ANY_FILE, &any()).is_valid(doc),
            "{what} passed {ANY_FILE} alone"
        );
    }
}
