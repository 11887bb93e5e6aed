//! A generator of malformed repositories: the files of
//! `examples/repo-layout`, changed by a few random mutations of the kinds
//! a fuzzer of the loader finds defects with (truncations, type swaps,
//! duplicated keys, aliases and alias bombs, byte order marks, odd names,
//! deep nesting, stray bytes, entries git would refuse).

use proptest::prelude::*;
use proptest::sample::Index;
use tranche::git::Snapshot;

/// Scalars and shapes swapped in for a value.
const VALUES: &[&str] = &[
    "[1, 2]",
    "{a: b}",
    "true",
    "2.5",
    "\"3\"",
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "-5",
    "0",
    "2147483648",
    "9223372036854775808",
    "null",
    "~",
    "",
    "[]",
    "{}",
    "!!binary ////",
    "*undefined",
    "&anchor x",
    "0755",
    "yes",
    "'",
    "\"unterminated",
    "- a",
    "? x",
    "{",
    "]",
    "[name, {labels: {a: b}}]",
    "Bad Name!",
    "../../etc",
    "kube-system",
];

/// Bytes inserted somewhere in a file.
const BYTES: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xc3",
    b"\t",
    b"\r\n",
    b"\n---\n",
    b"\n...\n",
    b"&a ",
    b"*a",
    b"? ",
    b"<<: *a\n",
    b"%YAML 1.1\n",
    b"!!map ",
    b"\xef\xbb\xbf",
    b"# comment\n",
    b": ",
];

/// Names a file may be moved to.
const NAMES: &[&str] = &[
    "clusters/UPPER.yaml",
    "clusters/with space.yaml",
    "clusters/ünï.yaml",
    "clusters/.yaml",
    "clusters/x.yml",
    "clusters/sub/x.yaml",
    "clusters/x.json",
    "apps/Bad_App/placement.yaml",
    "apps/new/manifests/x.yaml",
    "apps/new/overrides/x.yaml",
    "apps/x.yaml",
    "apps/checkout/manifests/deep/x.yaml",
    "apps/checkout/placement.yml",
    "policies/extra.yaml",
    "policies/.hidden.yaml",
    "tranche.yml",
    "README.md",
    "docs/notes.yaml",
    "apps/checkout/manifests/a:b.yaml",
    "apps/checkout/manifests/\u{FFFD}.yaml",
];

/// Why git would refuse an entry (the snapshot's `refused`).
const REFUSALS: &[&str] = &[
    "a symbolic link: commit the file itself",
    "a submodule: tranche does not read other repositories",
    "the name is not UTF-8",
    "git cannot read this file: the repository is corrupt",
];

/// One change to a repository.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Cut the file at a fraction of its length (maybe inside a character).
    Truncate(Index, Index),
    /// Replace the value of a `key: value` line (or a list item).
    SwapValue(Index, Index, &'static str),
    /// Repeat a line (a duplicated key in a mapping, an item in a list).
    DuplicateLine(Index, Index),
    /// Put bytes before a line.
    InsertBytes(Index, Index, &'static [u8]),
    /// Put a UTF-8 (or UTF-16) byte order mark first.
    ByteOrderMark(Index, bool),
    /// Add a top-level key whose value is one anchored string of `size`
    /// bytes used `uses` times.
    AliasBomb(Index, usize, usize),
    /// Add a top-level key nested `depth` deep, in flow or block style.
    Nest(Index, usize, bool),
    /// Move a file to another (odd) name.
    Rename(Index, &'static str),
    /// Remove a file.
    Remove(Index),
    /// Make a file an entry git refuses.
    Refuse(Index, &'static str),
}

/// A mutation, weighted towards the ones that reach deep into the loader.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<Index>;
    prop_oneof![
        2 => (index(), index()).prop_map(|(f, at)| Mutation::Truncate(f, at)),
        6 => (index(), index(), proptest::sample::select(VALUES))
            .prop_map(|(f, l, v)| Mutation::SwapValue(f, l, v)),
        3 => (index(), index()).prop_map(|(f, l)| Mutation::DuplicateLine(f, l)),
        3 => (index(), index(), proptest::sample::select(BYTES))
            .prop_map(|(f, l, b)| Mutation::InsertBytes(f, l, b)),
        1 => (index(), any::<bool>()).prop_map(|(f, u)| Mutation::ByteOrderMark(f, u)),
        1 => (index(), 1usize..1_000_000, 1usize..5_000)
            .prop_map(|(f, size, uses)| Mutation::AliasBomb(f, size, uses)),
        1 => (index(), 1usize..400, any::<bool>()).prop_map(|(f, d, flow)| Mutation::Nest(f, d, flow)),
        2 => (index(), proptest::sample::select(NAMES)).prop_map(|(f, n)| Mutation::Rename(f, n)),
        1 => index().prop_map(Mutation::Remove),
        1 => (index(), proptest::sample::select(REFUSALS)).prop_map(|(f, w)| Mutation::Refuse(f, w)),
    ]
}

impl Mutation {
    /// Applies the mutation to `snapshot` (a no-op when it has no files).
    pub fn apply(&self, snapshot: &mut Snapshot) {
        let paths: Vec<String> = snapshot.files.keys().cloned().collect();
        if paths.is_empty() {
            return;
        }
        let pick = |i: &Index| paths[i.index(paths.len())].clone();
        match self {
            Mutation::Truncate(f, at) => {
                let bytes = file(snapshot, &pick(f));
                let cut = at.index(bytes.len() + 1);
                bytes.truncate(cut);
            }
            Mutation::SwapValue(f, l, value) => edit_line(file(snapshot, &pick(f)), l, |line| {
                let (head, _) = match line.find(": ") {
                    Some(at) => line.split_at(at + 2),
                    None => match line.find("- ") {
                        Some(at) => line.split_at(at + 2),
                        None => (line, ""),
                    },
                };
                vec![format!("{head}{value}")]
            }),
            Mutation::DuplicateLine(f, l) => edit_line(file(snapshot, &pick(f)), l, |line| {
                vec![line.into(), line.into()]
            }),
            Mutation::InsertBytes(f, l, inserted) => {
                let bytes = file(snapshot, &pick(f));
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        bytes
                            .iter()
                            .enumerate()
                            .filter(|(_, b)| **b == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .collect();
                let at = starts[l.index(starts.len())].min(bytes.len());
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::ByteOrderMark(f, utf16) => {
                let bom: &[u8] = if *utf16 { b"\xff\xfe" } else { b"\xef\xbb\xbf" };
                file(snapshot, &pick(f)).splice(0..0, bom.iter().copied());
            }
            Mutation::AliasBomb(f, size, uses) => {
                let mut text = format!("\nbomb: &bomb {}\nbombs: [", "b".repeat(*size));
                text.push_str(&vec!["*bomb"; *uses].join(", "));
                text.push_str("]\n");
                file(snapshot, &pick(f)).extend_from_slice(text.as_bytes());
            }
            Mutation::Nest(f, depth, flow) => {
                let text = if *flow {
                    format!("\ndeep: {}1{}\n", "[".repeat(*depth), "]".repeat(*depth))
                } else {
                    let mut t = String::from("\n");
                    for d in 0..*depth {
                        t.push_str(&format!("{}k{d}:\n", " ".repeat(d)));
                    }
                    t
                };
                file(snapshot, &pick(f)).extend_from_slice(text.as_bytes());
            }
            Mutation::Rename(f, to) => {
                if let Some(bytes) = snapshot.files.remove(&pick(f)) {
                    snapshot.files.insert(to.to_string(), bytes);
                }
            }
            Mutation::Remove(f) => {
                snapshot.files.remove(&pick(f));
            }
            Mutation::Refuse(f, why) => {
                let path = pick(f);
                snapshot.files.remove(&path);
                snapshot.refused.insert(path, why.to_string());
            }
        }
    }
}

fn file<'s>(snapshot: &'s mut Snapshot, path: &str) -> &'s mut Vec<u8> {
    snapshot.files.entry(path.to_string()).or_default()
}

/// Replaces line `l` of the (lossily decoded) text by what `change` returns.
fn edit_line(bytes: &mut Vec<u8>, l: &Index, change: impl Fn(&str) -> Vec<String>) {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return;
    }
    let at = l.index(lines.len());
    let new = change(&lines[at]);
    lines.splice(at..=at, new);
    *bytes = (lines.join("\n") + "\n").into_bytes();
}
