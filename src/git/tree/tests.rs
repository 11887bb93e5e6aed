//! Real repositories in temp dirs, with trees built entry by entry so
//! that links, submodules, odd names and corrupt objects can be made.

use crate::git::{GitError, RepoSource, Snapshot};
use git2::{ObjectType, Oid, Repository};

struct Repo {
    _dir: tempfile::TempDir,
    repo: Repository,
}

/// One entry of a tree to build: name, and what it is.
enum Entry {
    File(&'static [u8]),
    Dir(Vec<(Vec<u8>, Entry)>),
    Link(&'static str),
    Submodule,
    /// A tree object whose bytes git cannot parse.
    CorruptDir,
    /// An entry naming a blob that is not in the repository.
    MissingFile,
}

fn name(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("git init");
        Repo { _dir: dir, repo }
    }

    fn tree(&self, entries: &[(Vec<u8>, Entry)]) -> Oid {
        let mut builder = self.repo.treebuilder(None).expect("treebuilder");
        for (name, entry) in entries {
            let (oid, mode) = match entry {
                Entry::File(bytes) => (self.repo.blob(bytes).expect("blob"), 0o100644),
                Entry::Dir(inner) => (self.tree(inner), 0o040000),
                Entry::Link(target) => (self.repo.blob(target.as_bytes()).expect("blob"), 0o120000),
                Entry::Submodule => (Oid::from_str(&"ab".repeat(20)).expect("oid"), 0o160000),
                Entry::CorruptDir => {
                    let odb = self.repo.odb().expect("odb");
                    let oid = odb
                        .write(ObjectType::Tree, b"100644 no-terminator")
                        .expect("write raw tree");
                    (oid, 0o040000)
                }
                Entry::MissingFile => (Oid::from_str(&"cd".repeat(20)).expect("oid"), 0o100644),
            };
            builder.insert(name.clone(), oid, mode).expect("insert");
        }
        builder.write().expect("write tree")
    }

    fn snapshot(&self, entries: Vec<(Vec<u8>, Entry)>) -> Result<Snapshot, GitError> {
        git2::opts::strict_object_creation(false);
        let tree = self.repo.find_tree(self.tree(&entries)).expect("tree");
        let sig = git2::Signature::now("t", "t@example.com").expect("signature");
        let commit = self
            .repo
            .commit(None, &sig, &sig, "test", &tree, &[])
            .expect("commit");
        let repo = Repository::open(self.repo.path()).expect("open");
        RepoSource::with_subdir(repo, "").snapshot_at(commit)
    }
}

const CLUSTER: &[u8] = b"apiVersion: tranche.dev/v1alpha1\nkind: Cluster\n";

#[test]
fn only_the_fleet_entries_are_walked() {
    let repo = Repo::new();
    let snapshot = repo
        .snapshot(vec![
            (
                name("clusters"),
                Entry::Dir(vec![(name("a.yaml"), Entry::File(CLUSTER))]),
            ),
            (
                name("docs"),
                Entry::Dir(vec![
                    (
                        b"caf\xe9".to_vec(),
                        Entry::Dir(vec![(name("x"), Entry::File(b"x"))]),
                    ),
                    (name("broken"), Entry::CorruptDir),
                    (name("vendor"), Entry::Submodule),
                    (name("latest"), Entry::Link("../..")),
                ]),
            ),
            (b"\xff".to_vec(), Entry::File(b"x")),
            (name("README.md"), Entry::File(b"# fleet")),
        ])
        .expect("snapshot");
    assert_eq!(
        snapshot.files.keys().collect::<Vec<_>>(),
        ["clusters/a.yaml"]
    );
    assert!(snapshot.refused.is_empty(), "{:?}", snapshot.refused);
}

#[test]
fn links_submodules_odd_names_and_corrupt_objects_are_refused_by_path() {
    let repo = Repo::new();
    let snapshot = repo
        .snapshot(vec![
            (
                name("clusters"),
                Entry::Dir(vec![
                    (name("a.yaml"), Entry::Link("/etc/passwd")),
                    (name("b.yaml"), Entry::Submodule),
                    (name(".gitkeep"), Entry::Link("elsewhere")),
                ]),
            ),
            (
                name("apps"),
                Entry::Dir(vec![(
                    name("shop"),
                    Entry::Dir(vec![
                        (name("placement.yaml"), Entry::File(b"kind: Placement\n")),
                        (name("manifests"), Entry::CorruptDir),
                        (b"ov\xe9rrides".to_vec(), Entry::Dir(vec![])),
                        (b"b\xffd.yaml".to_vec(), Entry::File(b"x")),
                        (name("gone.yaml"), Entry::MissingFile),
                    ]),
                )]),
            ),
            (name("policies"), Entry::Submodule),
        ])
        .expect("snapshot");
    assert_eq!(
        snapshot.files.keys().collect::<Vec<_>>(),
        ["apps/shop/placement.yaml"]
    );
    let refused: Vec<(&str, &str)> = snapshot
        .refused
        .iter()
        .map(|(path, why)| (path.as_str(), why.split(':').next().unwrap_or_default()))
        .collect();
    assert_eq!(
        refused,
        [
            ("apps/shop/b\u{FFFD}d.yaml", "the name is not UTF-8 (shown with \u{FFFD} for the bytes that are not)"),
            ("apps/shop/gone.yaml", "git cannot read this file (object not found - cannot read header for (cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd))"),
            ("apps/shop/manifests/", "git cannot read this directory (failed to parse tree"),
            ("apps/shop/ov\u{FFFD}rrides/", "the name is not UTF-8 (shown with \u{FFFD} for the bytes that are not)"),
            ("clusters/a.yaml", "a symbolic link"),
            ("clusters/b.yaml", "a submodule"),
            ("policies", "a submodule"),
        ]
    );
}

#[test]
fn deep_trees_are_walked_without_recursion() {
    let repo = Repo::new();
    // Built bottom-up in a loop: 3,000 directories, one inside the other.
    let mut oid = repo.tree(&[(name("x.yaml"), Entry::File(b"x"))]);
    for i in 0..3_000 {
        let mut builder = repo.repo.treebuilder(None).expect("treebuilder");
        builder
            .insert(format!("d{}", i % 10), oid, 0o040000)
            .expect("insert");
        oid = builder.write().expect("write tree");
    }
    let tree = repo.repo.find_tree(oid).expect("tree");
    let read = crate::git::tree::read(&repo.repo, &tree, "c0ffee");
    // `read` starts at the fleet root: wrap the chain in apps/ first.
    assert!(read.expect("read").files.is_empty());
    let mut builder = repo.repo.treebuilder(None).expect("treebuilder");
    builder.insert("apps", oid, 0o040000).expect("insert");
    let root = repo
        .repo
        .find_tree(builder.write().expect("root"))
        .expect("tree");
    let read = crate::git::tree::read(&repo.repo, &root, "c0ffee").expect("read");
    assert_eq!(read.files.len(), 1);
    assert!(read.files.keys().all(|p| p.starts_with("apps/d9/d8/")));
}

#[test]
fn files_over_the_size_limit_are_refused_unread() {
    static BIG: std::sync::LazyLock<Vec<u8>> =
        std::sync::LazyLock::new(|| vec![b'#'; crate::limits::MAX_FILE_BYTES as usize + 1]);
    let repo = Repo::new();
    let big: &'static [u8] = BIG.as_slice();
    let snapshot = repo
        .snapshot(vec![(
            name("policies"),
            Entry::Dir(vec![(name("huge.yaml"), Entry::File(big))]),
        )])
        .expect("snapshot");
    assert!(snapshot.files.is_empty());
    assert_eq!(
        snapshot.refused["policies/huge.yaml"],
        "16777217 bytes, more than tranche reads from one file (16 MiB)"
    );
}

#[test]
fn a_commit_is_read_up_to_its_size_limit() {
    static FULL: std::sync::LazyLock<Vec<u8>> =
        std::sync::LazyLock::new(|| vec![b'#'; crate::limits::MAX_FILE_BYTES as usize]);
    let repo = Repo::new();
    let full: &'static [u8] = FULL.as_slice();
    // Nine files at the per-file limit: 144 MiB, over the 128 MiB a commit may hold.
    let files = (0..9)
        .map(|i| (name(&format!("p{i}.yaml")), Entry::File(full)))
        .collect();
    match repo.snapshot(vec![(name("policies"), Entry::Dir(files))]) {
        Err(e @ GitError::TooLarge { .. }) => assert!(
            e.to_string().ends_with(
                "the fleet's files add up to more than 128 MiB at policies/p8.yaml (the limit per \
                 commit): tranche reads no further"
            ),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
}
