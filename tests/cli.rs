//! The offline commands, `tranche validate` and `tranche render`, run as the
//! real binary on git repositories made in temp dirs: the golden rendering
//! of `examples/repo-layout`, reading older revisions with `--rev`, and the
//! errors a user sees for an invalid repository, a path outside git and an
//! unknown revision.
//!
//! Golden files are plain files, `tests/golden/repo-layout/<cluster>/<app>.yaml`:
//! exactly what `tranche render` writes for the example committed at a fixed
//! time by a fixed identity (so the commit id in every `tranche.dev/commit`
//! annotation is stable). After an intended change to rendering or to the
//! example, rewrite them with `UPDATE_GOLDEN=1 cargo test --test cli` and
//! review the diff.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::{tranche_blocking, FixtureRepo};
use tranche::git::Snapshot;

/// 2026-01-01T00:00:00Z: the example's commit time, fixed so its id is too.
const EXAMPLE_TIME: i64 = 1_767_225_600;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    manifest_dir().join("tests/golden/repo-layout")
}

/// The example fleet as the single commit of a new repository; its id.
/// Markdown is left out: editing the example's README must not move the
/// commit id that every golden file records.
fn example_repo() -> (FixtureRepo, String) {
    support::use_tools(); // its kustomize and Helm apps
    let repo = FixtureRepo::new();
    repo.copy_dir_filtered(&manifest_dir().join("examples/repo-layout"), "", |p| {
        p.extension().is_none_or(|e| e != "md")
    });
    let commit = repo.commit_at("example fleet", EXAMPLE_TIME);
    (repo, commit)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir`, by `/`-separated relative path.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    let files = Snapshot::from_dir("", dir).expect("read dir").files;
    files
        .into_iter()
        .map(|(rel, bytes)| (rel, String::from_utf8(bytes).expect("utf-8 file")))
        .collect()
}

/// `tranche render <repo> --rev <rev> --out <tmp>`, which must succeed;
/// the files written.
fn render(repo: &Path, rev: &str) -> BTreeMap<String, String> {
    let out = tempfile::tempdir().expect("temp dir");
    let run = tranche_blocking(&[
        "render",
        repo.to_str().expect("utf-8 path"),
        "--rev",
        rev,
        "--out",
        out.path().to_str().expect("utf-8 path"),
    ]);
    assert!(
        run.status.success(),
        "render --rev {rev} failed: {}",
        stderr(&run)
    );
    let files = read_tree(out.path());
    assert!(!files.is_empty(), "render --rev {rev} wrote nothing");
    files
}

#[test]
fn example_renders_as_the_golden_files() {
    let (repo, _) = example_repo();
    let rendered = render(repo.path(), "HEAD");
    let golden = golden_dir();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        if golden.exists() {
            std::fs::remove_dir_all(&golden).expect("clear golden dir");
        }
        for (rel, text) in &rendered {
            let path = golden.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write golden file");
        }
        return;
    }
    let expected = read_tree(&golden);
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "rendered files differ from tests/golden/repo-layout \
         (UPDATE_GOLDEN=1 cargo test --test cli rewrites them, if the change is intended)"
    );
    for (rel, text) in &rendered {
        let want = &expected[rel];
        if text != want {
            let diff = similar::TextDiff::from_lines(want.as_str(), text.as_str());
            panic!(
                "{rel} differs from its golden file (UPDATE_GOLDEN=1 rewrites it, if intended):\n{}",
                diff.unified_diff().header("golden", "rendered")
            );
        }
    }
}

#[test]
fn the_same_commit_renders_byte_identical_output() {
    let (first, a) = example_repo();
    let (second, b) = example_repo();
    assert_eq!(a, b, "a fixed identity and time give the same commit id");
    let once = render(first.path(), "HEAD");
    assert_eq!(once, render(first.path(), "HEAD"), "rendered twice");
    assert_eq!(
        once,
        render(second.path(), &b),
        "rendered from another clone"
    );
    let annotation = format!("tranche.dev/commit: {a}");
    for (rel, text) in &once {
        assert!(text.contains(&annotation), "{rel} lacks {annotation}");
    }
}

#[test]
fn older_revisions_validate_and_render_with_rev() {
    let (repo, v1) = example_repo();
    let path = repo.path().to_str().expect("utf-8 path").to_string();
    let deployment = "apps/checkout/manifests/deployment.yaml";
    let text = std::fs::read_to_string(repo.path().join(deployment)).expect("read");
    let (old_image, new_image) = ("shop/checkout:2.14.1", "shop/checkout:2.15.0");
    assert!(
        text.contains(old_image),
        "{deployment} changed: fix the test"
    );
    repo.write(deployment, &text.replace(old_image, new_image));
    let v2 = repo.commit("checkout 2.15.0");
    let placement = "apps/checkout/placement.yaml";
    let text = std::fs::read_to_string(repo.path().join(placement)).expect("read");
    assert!(text.contains("exclude: [prod-ap-south-3]"));
    repo.write(
        placement,
        &text.replace("exclude: [prod-ap-south-3]", "exclude: [prod-mars-1]"),
    );
    let cluster = "clusters/stg-eu-west-1.yaml";
    let text = std::fs::read_to_string(repo.path().join(cluster)).expect("read");
    repo.write(
        cluster,
        &text.replace("rolloutOrder: 0", "rolloutOrder: first"),
    );
    repo.commit("break placement and registry");

    let head = tranche_blocking(&["validate", &path]);
    assert_eq!(head.status.code(), Some(1), "{}", stderr(&head));
    let lines = stderr(&head);
    assert!(
        lines.lines().any(|l| l.starts_with(
            "apps/checkout/placement.yaml: spec.clusterAffinity.exclude[0]: unknown cluster \"prod-mars-1\""
        )),
        "{lines}"
    );
    assert!(
        lines
            .lines()
            .any(|l| l.starts_with("clusters/stg-eu-west-1.yaml: spec.rolloutOrder")),
        "{lines}"
    );

    for rev in ["HEAD~1", v1.as_str()] {
        let ok = tranche_blocking(&["validate", &path, "--rev", rev]);
        assert_eq!(ok.status.code(), Some(0), "--rev {rev}: {}", stderr(&ok));
        assert!(
            stdout(&ok).contains("is valid: 12 clusters, 8 apps"),
            "{}",
            stdout(&ok)
        );
    }

    let checkout = "prod-eu-west-1/checkout.yaml";
    let old = render(repo.path(), &v1);
    assert!(old[checkout].contains(old_image) && !old[checkout].contains(new_image));
    assert!(old[checkout].contains(&format!("tranche.dev/commit: {v1}")));
    assert_eq!(old, read_tree(&golden_dir()), "v1 is the golden commit");
    let newer = render(repo.path(), "HEAD~1");
    assert!(newer[checkout].contains(new_image));
    assert!(newer[checkout].contains(&format!("tranche.dev/commit: {v2}")));

    let broken = tranche_blocking(&[
        "render",
        &path,
        "--out",
        repo.path().join("out").to_str().expect("utf-8 path"),
    ]);
    assert!(!broken.status.success());
    assert!(
        stderr(&broken).contains("prod-mars-1"),
        "{}",
        stderr(&broken)
    );
}

#[test]
fn a_path_outside_git_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_str().expect("utf-8 path");
    for command in ["validate", "render"] {
        let mut args = vec![command, path];
        if command == "render" {
            args.extend(["--out", path]);
        }
        let out = tranche_blocking(&args);
        // validate: 0 valid, 1 not valid (whatever the reason); others: 2 error.
        let expected = if command == "validate" { 1 } else { 2 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{command}: {}",
            stderr(&out)
        );
        let message = stderr(&out);
        assert!(
            message.contains(path) && message.contains("not inside a git repository"),
            "{command}: {message}"
        );
    }
    let missing = dir.path().join("no-such-dir");
    let out = tranche_blocking(&["validate", missing.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{}: no such directory", missing.display())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_revision_is_named_in_the_error() {
    let (repo, _) = example_repo();
    let path = repo.path().to_str().expect("utf-8 path");
    for rev in ["no-such-branch", "HEAD~5"] {
        let out = tranche_blocking(&["validate", path, "--rev", rev]);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{rev}: {message}");
        assert!(
            message.starts_with(&format!(
                "error: revision {rev:?} does not name a commit in "
            )),
            "{rev}: {message}"
        );
        // git's own reason, once.
        let reasons =
            message.matches("not found").count() + message.matches("does not exist").count();
        assert_eq!(reasons, 1, "{rev}: {message}");
    }
}
