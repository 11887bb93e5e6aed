//! `policies/*.yaml`: the built-in defaults (the project's own `policies/`,
//! embedded in the binary) and a repository's policy documents laid over
//! them field by field. When `policies/` holds several documents of one
//! kind, `tranche.yaml` picks one by `metadata.name`.

use super::document::{documents, header, loc_in, typed, Files};
use super::repository::RepoSettings;
use crate::model::raw::{AccessSpec, DiffSpec, Document, RolloutSpec, WorkloadKindSpec};
use crate::model::validate::access::AccessPatch;
use crate::model::validate::policy::{DiffPatch, RolloutPatch};
use crate::model::validate::workload::{self, WorkloadKind};
use crate::model::validate::{Known, Loc, Problems};
use crate::model::{names, Policies};

/// The built-in policy files, as shipped in the project's `policies/`.
pub const BUILTIN: [(&str, &str); 5] = [
    (
        "policies/rollout.yaml",
        include_str!("../../../policies/rollout.yaml"),
    ),
    (
        "policies/diff.yaml",
        include_str!("../../../policies/diff.yaml"),
    ),
    (
        "policies/access.yaml",
        include_str!("../../../policies/access.yaml"),
    ),
    (
        "policies/workload-cloneset.yaml",
        include_str!("../../../policies/workload-cloneset.yaml"),
    ),
    (
        "policies/workload-argo-rollout.yaml",
        include_str!("../../../policies/workload-argo-rollout.yaml"),
    ),
];

/// Prefix marking built-in files in messages.
const BUILTIN_PREFIX: &str = "(built-in) ";

const KINDS: [&str; 4] = [
    "RolloutPolicy",
    "DiffPolicy",
    "AccessPolicy",
    "WorkloadKind",
];

/// One checked policy document.
#[derive(Debug, Clone)]
struct PolicyDoc {
    file: String,
    doc: Option<usize>,
    name: String,
    patch: Patch,
}

#[derive(Debug, Clone)]
enum Patch {
    Rollout(RolloutPatch),
    Diff(DiffPatch),
    Access(AccessPatch),
    /// Not laid over a default: every `WorkloadKind` applies, one per
    /// (group, kind); the repository's replaces a built-in one.
    Workload(WorkloadKind),
}

impl Patch {
    fn kind(&self) -> &'static str {
        match self {
            Patch::Rollout(_) => KINDS[0],
            Patch::Diff(_) => KINDS[1],
            Patch::Access(_) => KINDS[2],
            Patch::Workload(_) => KINDS[3],
        }
    }
}

/// The policies in force, and whether they are sound enough to check
/// objects against (the policy files had no problem: a broken AccessPolicy
/// must not turn into a flood of denials under the built-in one).
pub struct Loaded {
    /// Built-in policies with the repository's selected documents laid over.
    pub policies: Policies,
    /// False when any policy file had a problem.
    pub access_checkable: bool,
}

/// The built-in policies, or their problems (a defect of the build).
pub fn builtin(p: &mut Problems) -> Option<Policies> {
    let before = p.len();
    let files = BUILTIN.map(|(path, text)| (format!("{BUILTIN_PREFIX}{path}"), text));
    let parsed: Vec<_> = files
        .iter()
        .map(|(file, text)| (file.as_str(), documents(file, text, p)))
        .collect();
    let docs = read(parsed, &Known::default(), p);
    let mut rollout = None;
    let mut diff = None;
    let mut access = None;
    let mut workload_kinds = Vec::new();
    for d in docs {
        let complete = match d.patch {
            Patch::Rollout(r) => r.complete().map(|r| rollout = Some(r)),
            Patch::Diff(x) => x.complete().map(|x| diff = Some(x)),
            Patch::Access(a) => a.complete().map(|a| access = Some(a)),
            Patch::Workload(w) => {
                workload_kinds.push(w);
                Some(())
            }
        };
        if complete.is_none() {
            p.push(
                Loc {
                    file: &d.file,
                    doc: d.doc,
                },
                "spec",
                "a built-in policy must set every field",
            );
        }
    }
    let (Some(rollout), Some(diff), Some(access)) = (rollout, diff, access) else {
        p.push(
            Loc::file(BUILTIN_PREFIX),
            "",
            "a built-in policy of each kind is missing",
        );
        return None;
    };
    (p.len() == before).then_some(Policies {
        rollout,
        diff,
        access,
        workload_kinds,
    })
}

/// Reads the repository's policy files over `base`.
pub fn load(
    source: &Files<'_>,
    paths: &[&str],
    repo: &RepoSettings,
    known: &Known,
    mut base: Policies,
    p: &mut Problems,
) -> Loaded {
    let before = p.len();
    let parsed: Vec<_> = paths
        .iter()
        .map(|path| (*path, source.documents(path, p)))
        .collect();
    let docs = read(parsed, known, p);
    let selection = [
        &repo.selection.rollout,
        &repo.selection.diff,
        &repo.selection.access,
    ];
    let fields = [
        "spec.policies.rollout",
        "spec.policies.diff",
        "spec.policies.access",
    ];
    for ((kind, wanted), field) in KINDS.into_iter().zip(selection).zip(fields) {
        let of_kind: Vec<&PolicyDoc> = docs.iter().filter(|d| d.patch.kind() == kind).collect();
        duplicate_names(&of_kind, p);
        let Some(chosen) = choose(kind, &of_kind, wanted.as_deref(), repo, field, p) else {
            continue;
        };
        match chosen.patch.clone() {
            Patch::Rollout(r) => r.apply_to(&mut base.rollout),
            Patch::Diff(d) => d.apply_to(&mut base.diff),
            Patch::Access(a) => a.apply_to(&mut base.access),
            Patch::Workload(_) => {}
        }
    }
    workload_kinds(&docs, &mut base.workload_kinds, p);
    Loaded {
        policies: base,
        access_checkable: p.len() == before,
    }
}

/// Checks every policy document of `files` (path, parsed documents).
fn read(
    files: Vec<(&str, Vec<(usize, serde_json::Value)>)>,
    known: &Known,
    p: &mut Problems,
) -> Vec<PolicyDoc> {
    let mut out = Vec::new();
    for (file, docs) in files {
        let count = docs.len();
        for (i, value) in docs {
            out.extend(policy_doc(loc_in(file, i, count), value, known, p));
        }
    }
    out
}

fn policy_doc(
    loc: Loc<'_>,
    value: serde_json::Value,
    known: &Known,
    p: &mut Problems,
) -> Option<PolicyDoc> {
    let kind = header(loc, &value, &KINDS, "policies/", p)?;
    let (meta, patch) = match kind.as_str() {
        "RolloutPolicy" => {
            let d: Document<RolloutSpec> = typed(loc, value, p)?;
            (
                d.metadata,
                Patch::Rollout(RolloutPatch::check(loc, d.spec, p)),
            )
        }
        "DiffPolicy" => {
            let d: Document<DiffSpec> = typed(loc, value, p)?;
            (d.metadata, Patch::Diff(DiffPatch::check(loc, d.spec, p)))
        }
        "WorkloadKind" => {
            let d: Document<WorkloadKindSpec> = typed(loc, value, p)?;
            let w = workload::check(loc, d.spec, p)?;
            (d.metadata, Patch::Workload(w))
        }
        _ => {
            let d: Document<AccessSpec> = typed(loc, value, p)?;
            (
                d.metadata,
                Patch::Access(AccessPatch::check(loc, d.spec, known, p)),
            )
        }
    };
    let Some(name) = meta.name else {
        p.push(
            loc,
            "metadata.name",
            "missing: name the policy (e.g. default) so tranche.yaml can pick it",
        );
        return None;
    };
    if let Err(why) = names::dns1123_subdomain(&name) {
        p.push(
            loc,
            "metadata.name",
            format!("invalid policy name {name:?}: {why}"),
        );
    }
    Some(PolicyDoc {
        file: loc.file.to_string(),
        doc: loc.doc,
        name,
        patch,
    })
}

/// Lays the repository's `WorkloadKind` documents over the built-in ones:
/// one per (group, kind), the repository's replacing a built-in one; two in
/// the repository for the same kind are a problem.
fn workload_kinds(docs: &[PolicyDoc], base: &mut Vec<WorkloadKind>, p: &mut Problems) {
    let mut seen: Vec<&PolicyDoc> = Vec::new();
    for d in docs {
        let Patch::Workload(w) = &d.patch else {
            continue;
        };
        let same = |x: &PolicyDoc| matches!(&x.patch, Patch::Workload(o) if o.group == w.group && o.kind == w.kind);
        if let Some(first) = seen.iter().find(|x| same(x)) {
            p.push(
                Loc {
                    file: &d.file,
                    doc: d.doc,
                },
                "spec.kind",
                format!(
                    "{}/{} is also declared by WorkloadKind {:?} in {}: one per group and kind",
                    w.group, w.kind, first.name, first.file
                ),
            );
            continue;
        }
        seen.push(d);
        base.retain(|b| !(b.group == w.group && b.kind == w.kind));
        base.push(w.clone());
    }
}

fn duplicate_names(docs: &[&PolicyDoc], p: &mut Problems) {
    for (i, d) in docs.iter().enumerate() {
        if let Some(first) = docs[..i].iter().find(|f| f.name == d.name) {
            p.push(
                Loc {
                    file: &d.file,
                    doc: d.doc,
                },
                "metadata.name",
                format!(
                    "{} {:?} is also defined in {}: names must be unique",
                    d.patch.kind(),
                    d.name,
                    first.file
                ),
            );
        }
    }
}

/// The document of one kind that applies: the one `tranche.yaml` names,
/// or the only one.
fn choose<'d>(
    kind: &str,
    docs: &[&'d PolicyDoc],
    wanted: Option<&str>,
    repo: &RepoSettings,
    field: &str,
    p: &mut Problems,
) -> Option<&'d PolicyDoc> {
    let listing = || {
        docs.iter()
            .map(|d| format!("{} in {}", d.name, d.file))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (wanted, docs) {
        (Some(name), _) => {
            let found = docs.iter().find(|d| d.name == name).copied();
            if found.is_none() {
                let file = repo.file.as_deref().unwrap_or("tranche.yaml");
                let have = if docs.is_empty() {
                    "there is none".to_string()
                } else {
                    format!("found: {}", listing())
                };
                p.push(
                    Loc::file(file),
                    field,
                    format!("no {kind} named {name:?} in policies/ ({have})"),
                );
            }
            found
        }
        (None, []) => None,
        (None, [only]) => Some(only),
        (None, [_, second, ..]) => {
            p.push(
                Loc {
                    file: &second.file,
                    doc: second.doc,
                },
                "",
                format!(
                    "several {kind} documents ({}): pick one with {field} in tranche.yaml",
                    listing()
                ),
            );
            None
        }
    }
}
