//! Bad input, one regression test per defect of issue 9 (items 5–11): the
//! real binary runs `tranche validate` on real git repositories in temp
//! dirs, and each test checks the exit code and that the message names
//! the file (and line, key, object or field) concerned.

mod support;

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};
use support::{tranche_blocking, FixtureRepo};

const CLUSTER: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a, labels: {env: prod}}\n";
const PLACEMENT: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec: {clusterAffinity: {labelSelector: {}}}\n";
const MANIFEST: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {a: b}\n";

/// A valid fleet: cluster `a`, app `shop` (Duplicated) with one ConfigMap.
fn fleet() -> FixtureRepo {
    let repo = FixtureRepo::new();
    repo.write("clusters/a.yaml", CLUSTER)
        .write("apps/shop/placement.yaml", PLACEMENT)
        .write("apps/shop/manifests/app.yaml", MANIFEST);
    repo
}

fn validate(repo: &FixtureRepo) -> (Option<i32>, String) {
    let out = tranche_blocking(&["validate", repo.path().to_str().expect("utf-8 path")]);
    (out.status.code(), stderr(&out))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that `validate` fails (exit 1) and prints every line of `want`.
fn assert_invalid(repo: &FixtureRepo, want: &[&str]) {
    let (code, err) = validate(repo);
    assert_eq!(code, Some(1), "{err}");
    for line in want {
        assert!(
            err.lines().any(|l| l == *line),
            "no line {line:?} in:\n{err}"
        );
    }
    let count = format!("{} problem(s) found", want.len());
    assert!(err.contains(&count), "expected {count}:\n{err}");
}

fn assert_valid(repo: &FixtureRepo) {
    let (code, err) = validate(repo);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn alias_bomb_is_refused_within_a_memory_limit() {
    // The input: ~1 MB, one large anchored string used through
    // 2,000 aliases (4.1 GB once expanded). tranche runs with 1 GiB of
    // address space: it must refuse the file, not abort.
    let repo = fleet();
    let mut bomb = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bomb, namespace: shop}}\ndata:\n  a: &big {}\n  list: [",
        "x".repeat(500_000)
    );
    bomb.push_str(&vec!["*big"; 2_000].join(", "));
    bomb.push_str("]\n");
    repo.write("apps/shop/manifests/bomb.yaml", &bomb);
    repo.commit("alias bomb");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tranche"));
    command.args(["validate", repo.path().to_str().expect("utf-8 path")]);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let out = command.output().expect("run tranche");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with(
            "apps/shop/manifests/bomb.yaml[doc 0]: invalid YAML: the file expands to more than \
             16 MiB of text once aliases are expanded at line 6"
        )),
        "{err}"
    );
}

#[test]
fn duplicate_keys_are_errors_naming_file_line_and_key() {
    let repo = fleet();
    // The access widening of the issue: the second `namespaces` used to win.
    repo.write(
        "policies/access.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: default}\nspec:\n  \
         apps:\n    shop:\n      namespaces: [shop]\n      namespaces: [\"*\"]\n",
    )
    .write(
        "apps/shop/manifests/app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata:\n  \
         a: b\n  a: c\n",
    )
    .write(
        "clusters/a.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nkind: Cluster\nmetadata: {name: a}\n",
    );
    repo.commit("duplicate keys");
    let hint = "a key may appear only once in a mapping";
    assert_invalid(
        &repo,
        &[
            &format!("apps/shop/manifests/app.yaml[doc 0]: invalid YAML: duplicate key \"a\" at line 6, column 3: {hint}"),
            &format!("clusters/a.yaml: invalid YAML: duplicate key \"kind\" at line 3, column 1: {hint}"),
            &format!("policies/access.yaml[doc 0]: invalid YAML: duplicate key \"namespaces\" at line 8, column 7: {hint}"),
        ],
    );
}

#[test]
fn replicas_outside_divided_apps_are_checked_as_int32() {
    let repo = fleet();
    let deployment = |name: &str, replicas: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\n\
             spec: {{replicas: {replicas}}}\n"
        )
    };
    let docs = [
        deployment("negative", "-5"),
        deployment("float", "2.5"),
        deployment("text", "\"3\""),
        deployment("flag", "true"),
        deployment("list", "[3]"),
        deployment("huge", "2147483648"),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: low, \
         namespace: shop}\nspec: {minReplicas: -1, maxReplicas: 3}\n"
            .to_string(),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: high, \
         namespace: shop}\nspec: {maxReplicas: 9223372036854775807}\n"
            .to_string(),
    ];
    repo.write("apps/shop/manifests/workloads.yaml", &docs.join("---\n"))
        .write(
            "apps/shop/manifests/infinite.yaml",
            &deployment("infinite", ".inf"),
        );
    repo.commit("bad replica counts");
    let file = "apps/shop/manifests/workloads.yaml";
    let int32 = "as Kubernetes' int32 fields take)";
    // Each document is 4 lines and a `---`: its `spec` is line 4 + 5 × doc.
    let replicas = |doc: usize, name: &str, shown: &str| {
        format!(
            "{file}[doc {doc}]: spec.replicas: Deployment \"{name}\": {shown} is not a replica \
             count (an integer from 0 to 2147483647, {int32} (line {})",
            4 + 5 * doc
        )
    };
    assert_invalid(
        &repo,
        &[
            "apps/shop/manifests/infinite.yaml[doc 0]: invalid YAML: .inf at line 4, column 18 is \
             not a number a Kubernetes object can hold (JSON has no infinity or NaN); quote it if \
             it is text",
            &replicas(0, "negative", "-5"),
            &replicas(1, "float", "2.5"),
            &replicas(2, "text", "\"3\" (a string)"),
            &replicas(3, "flag", "true (a boolean)"),
            &replicas(4, "list", "a list"),
            &replicas(5, "huge", "2147483648"),
            &format!(
                "{file}[doc 6]: spec.minReplicas: HorizontalPodAutoscaler \"low\": minReplicas -1 \
                 is invalid (an integer from 1 to 2147483647, {int32} (line 34)"
            ),
            &format!(
                "{file}[doc 7]: spec.maxReplicas: HorizontalPodAutoscaler \"high\": maxReplicas \
                 9223372036854775807 is invalid (an integer from 1 to 2147483647, {int32} (line 39)"
            ),
        ],
    );
}

#[test]
fn lists_where_a_mapping_is_expected_are_refused() {
    let repo = fleet();
    repo.write(
        "clusters/a.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: [a, {labels: {env: prod}}]\n",
    )
    .write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec: {clusterAffinity: [[a], {}]}\n",
    );
    repo.commit("lists for mappings");
    assert_invalid(
        &repo,
        &[
            "apps/shop/placement.yaml: spec.clusterAffinity: invalid type: sequence, expected a \
             mapping (line 3)",
            "clusters/a.yaml: metadata: invalid type: sequence, expected a mapping (line 3)",
        ],
    );
}

#[test]
fn submodules_and_symlinks_in_fleet_directories_are_errors() {
    let repo = fleet();
    repo.write("docs/guide.txt", "outside the fleet directories");
    std::os::unix::fs::symlink("/etc/hostname", repo.path().join("clusters/b.yaml"))
        .expect("symlink");
    std::os::unix::fs::symlink("../guide.txt", repo.path().join("docs/latest.txt"))
        .expect("symlink");
    repo.git(&["add", "-A"]);
    let sha = "0123456789abcdef0123456789abcdef01234567";
    for path in [
        "clusters/c.yaml",
        "apps/shop/manifests/vendored",
        "docs/vendored",
    ] {
        repo.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{sha},{path}"),
        ]);
    }
    repo.git(&["commit", "-q", "-m", "links and submodules"]);
    let submodule = "a submodule: tranche does not read other repositories; commit the files here";
    assert_invalid(
        &repo,
        &[
            &format!("apps/shop/manifests/vendored: {submodule}"),
            "clusters/b.yaml: a symbolic link: commit the file itself (tranche reads the files of \
             the commit, and a link's target may lie outside it)",
            &format!("clusters/c.yaml: {submodule}"),
        ],
    );
}

#[test]
fn non_utf8_names_and_corrupt_trees_name_the_path_and_outside_ones_are_ignored() {
    use std::os::unix::ffi::OsStrExt;
    let repo = fleet();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9");
    std::fs::create_dir_all(repo.path().join("docs").join(odd)).expect("mkdir");
    std::fs::write(repo.path().join("docs").join(odd).join("notes.txt"), "x").expect("write");
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-q",
        "-m",
        "an odd name outside the fleet directories",
    ]);
    assert_valid(&repo);
    let garbage = repo.path().join("garbage");
    std::fs::write(&garbage, "100644 no-terminator").expect("write");
    let corrupt = repo.git(&["hash-object", "-t", "tree", "--literally", "-w", "garbage"]);
    std::fs::remove_file(&garbage).expect("remove");
    let corrupt = corrupt.trim();
    // A corrupt directory outside the fleet directories is never read.
    replace_in_head(&repo, &["docs", "broken"], corrupt);
    assert_valid(&repo);

    std::fs::write(
        repo.path()
            .join("apps/shop/manifests")
            .join(std::ffi::OsStr::from_bytes(b"caf\xe9.yaml")),
        MANIFEST,
    )
    .expect("write");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "an odd name inside"]);
    replace_in_head(&repo, &["apps", "shop", "overrides"], corrupt);
    let (code, err) = validate(&repo);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.lines().any(|l| l
            == "apps/shop/manifests/caf\u{FFFD}.yaml: the name is not UTF-8 (shown with \u{FFFD} \
                for the bytes that are not): rename it; tranche reads UTF-8 names only"),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with(
            "apps/shop/overrides/: git cannot read this directory (failed to parse tree: "
        ) && l.ends_with("): the repository is corrupt")),
        "{err}"
    );
    assert!(err.contains("2 problem(s) found"), "{err}");
}

/// Commits HEAD's tree with the entry at `path` replaced by `oid` (a
/// tree); the directories on the way are rebuilt with `git mktree`, byte
/// for byte (names need not be UTF-8).
fn replace_in_head(repo: &FixtureRepo, path: &[&str], oid: &str) {
    let root = rebuild(repo, Some("HEAD^{tree}"), path, oid);
    let commit = repo.git(&["commit-tree", &root, "-p", "HEAD", "-m", "replace an entry"]);
    repo.git(&["update-ref", "HEAD", commit.trim()]);
}

fn rebuild(repo: &FixtureRepo, tree: Option<&str>, path: &[&str], oid: &str) -> String {
    let (name, rest) = path.split_first().expect("a path");
    let listing = tree
        .map(|t| git_bytes(repo, &["ls-tree", "-z", t], &[]))
        .unwrap_or_default();
    let suffix = format!("\t{name}");
    let named = |e: &[u8]| e.ends_with(suffix.as_bytes());
    let entries: Vec<&[u8]> = listing
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .collect();
    let inner = if rest.is_empty() {
        oid.to_string()
    } else {
        let sub = entries.iter().find(|e| named(e)).map(|e| {
            let text = String::from_utf8_lossy(e);
            text.split_whitespace()
                .nth(2)
                .unwrap_or_default()
                .to_string()
        });
        rebuild(repo, sub.as_deref(), rest, oid)
    };
    let mut input: Vec<u8> = Vec::new();
    for e in entries.iter().filter(|e| !named(e)) {
        input.extend_from_slice(e);
        input.push(0);
    }
    input.extend_from_slice(format!("040000 tree {inner}\t{name}\0").as_bytes());
    let out = git_bytes(repo, &["mktree", "-z", "--missing"], &input);
    String::from_utf8_lossy(&out).trim().to_string()
}

/// The git CLI with `stdin`; its stdout as bytes.
fn git_bytes(repo: &FixtureRepo, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("git")
        .args(args)
        .current_dir(repo.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("git");
    assert!(out.status.success(), "git {args:?} failed");
    out.stdout
}

#[test]
fn a_leading_byte_order_mark_is_accepted() {
    let repo = fleet();
    repo.write("clusters/a.yaml", &format!("\u{feff}{CLUSTER}"))
        .write(
            "apps/shop/manifests/app.yaml",
            &format!("\u{feff}{MANIFEST}"),
        );
    repo.commit("files saved with a BOM");
    assert_valid(&repo);
}
