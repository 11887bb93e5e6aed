//! Property test of the repository loader on malformed repositories
//! ([`mutations`]: `examples/repo-layout` with one to four random changes),
//! bounded in time and memory so that it runs in every CI build.
//!
//! For every generated repository, loading and rendering it
//! (`model::load`, then `render::render`, as `tranche validate` does):
//!
//! 1. never panics;
//! 2. when it fails, names a path of the repository in every error (a file
//!    or directory of the snapshot, an entry it refused, or the
//!    `placement.yaml` an app directory lacks);
//! 3. when it succeeds, renders the same objects again (rendering is a
//!    pure function of the commit), and every rendered object passes the
//!    validation of hand-written ones (`render::check::verify`, in
//!    [`accepted`]).
//!
//! Bounds: the cases run in a child process limited to
//! [`MEMORY_LIMIT`] of address space (an out-of-memory abort fails the
//! test instead of hanging the machine) and killed after [`TIME_LIMIT`].
//! `TRANCHE_MALFORMED_CASES` (default [`CASES`]) and
//! `TRANCHE_MALFORMED_SEED` (a number, default 0; the run is
//! deterministic for a seed) explore further.

mod mutations;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::cell::Cell;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tranche::git::Snapshot;
use tranche::render::Rendering;

/// Cases per run.
const CASES: u32 = 256;
/// Address space of the child process that runs the cases.
const MEMORY_LIMIT: u64 = 2 << 30;
/// Wall-clock time the child may take.
const TIME_LIMIT: Duration = Duration::from_secs(600);
/// Set in the child's environment.
const CHILD: &str = "TRANCHE_MALFORMED_CHILD";

#[test]
fn malformed_repositories_are_refused_by_path_without_panics_within_bounds() {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "--exact",
            "malformed_cases",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let mut child = command.spawn().expect("spawn the cases");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            child.kill().expect("kill the cases");
            child.wait().expect("reap the cases");
            panic!("the cases took more than {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(status.success(), "the cases failed ({status}):\n{text}");
    assert!(
        text.contains("malformed cases:"),
        "the cases did not run:\n{text}"
    );
    println!(
        "{}",
        text.lines()
            .find(|l| l.contains("malformed cases:"))
            .unwrap_or_default()
    );
}

/// The cases themselves; does nothing unless started by the test above.
#[test]
fn malformed_cases() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let cases = env_number("TRANCHE_MALFORMED_CASES").unwrap_or(CASES.into()) as u32;
    let seed = env_number("TRANCHE_MALFORMED_SEED").unwrap_or(0);
    let config = Config {
        cases,
        max_shrink_iters: 256,
        failure_persistence: None,
        ..Config::default()
    };
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let base = example();
    let started = Instant::now();
    let tally = Tally::default();
    let result = runner.run(
        &proptest::collection::vec(mutations::mutation(), 1..=4),
        |changes| {
            let mut snapshot = base.clone();
            for change in &changes {
                change.apply(&mut snapshot);
            }
            check(&snapshot, &tally)
        },
    );
    if let Err(e) = result {
        panic!("seed {seed}: {e}");
    }
    println!(
        "malformed cases: {cases} (seed {seed}) in {:.1?}: {} accepted, {} refused with {} errors",
        started.elapsed(),
        tally.accepted.get(),
        tally.refused.get(),
        tally.errors.get()
    );
}

/// What the cases came to (shrinking runs included).
#[derive(Default)]
struct Tally {
    accepted: Cell<usize>,
    refused: Cell<usize>,
    errors: Cell<usize>,
}

impl Tally {
    fn add(counter: &Cell<usize>, n: usize) {
        counter.set(counter.get() + n);
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn example() -> Snapshot {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/repo-layout");
    let mut snapshot = Snapshot::from_dir("0123456789abcdef0123456789abcdef01234567", &root)
        .expect("read examples/repo-layout");
    snapshot.files.retain(|path, _| !path.ends_with(".md"));
    // The kustomize and Helm apps need the real tools (rendered by
    // `tranche::sources` before the model): only their placements stay.
    snapshot.files.retain(|path, _| {
        !["apps/catalog/", "apps/reviews/"]
            .iter()
            .any(|app| path.starts_with(app))
            || path.ends_with("/placement.yaml")
    });
    snapshot
}

/// Loads and renders `snapshot`, checking properties 2 and 3 (a panic,
/// property 1, fails the case by itself).
fn check(snapshot: &Snapshot, tally: &Tally) -> Result<(), TestCaseError> {
    let fleet = match tranche::model::load(snapshot) {
        Ok(fleet) => fleet,
        Err(errors) => {
            Tally::add(&tally.refused, 1);
            Tally::add(&tally.errors, errors.0.len());
            for e in &errors.0 {
                names_a_path(snapshot, &e.location(), &e.to_string())?;
            }
            return Ok(());
        }
    };
    match tranche::render::render(&fleet) {
        Ok(rendering) => {
            Tally::add(&tally.accepted, 1);
            accepted(&fleet, &rendering)
        }
        Err(errors) => {
            Tally::add(&tally.refused, 1);
            Tally::add(&tally.errors, errors.len());
            for e in &errors {
                names_a_path(snapshot, &e.file, &e.to_string())?;
            }
            Ok(())
        }
    }
}

/// Property 3, for a repository the loader accepted.
fn accepted(fleet: &tranche::model::Fleet, rendering: &Rendering) -> Result<(), TestCaseError> {
    let again =
        tranche::render::render(fleet).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert!(
        &again == rendering,
        "rendering the same fleet twice differs"
    );
    // Every rendered object passes the checks a hand-written one does
    // (identity, names, scope, labels, replicas, AccessPolicy).
    let problems = tranche::render::check::verify(fleet, rendering);
    prop_assert!(
        problems.is_empty(),
        "an accepted repository rendered objects that fail validation: {:?}",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    Ok(())
}

/// Whether `location` (`path`, `path[doc N]`, `path: field`, …) starts
/// with a path the repository has, or a `placement.yaml` an app lacks.
fn names_a_path(snapshot: &Snapshot, location: &str, error: &str) -> Result<(), TestCaseError> {
    let entries = snapshot.files.keys().chain(snapshot.refused.keys());
    let known = entries.flat_map(|path| {
        let dirs = path
            .match_indices('/')
            .map(|(i, _)| path[..=i].to_string())
            .collect::<Vec<_>>();
        let placement = path
            .strip_prefix("apps/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(app, _)| format!("apps/{app}/placement.yaml"));
        std::iter::once(path.clone()).chain(dirs).chain(placement)
    });
    let named = known.into_iter().any(|path| {
        location.strip_prefix(path.as_str()).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with("[doc ") || rest.starts_with(": ")
        })
    });
    prop_assert!(named, "the error names no path of the repository: {error}");
    Ok(())
}
