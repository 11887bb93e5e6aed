//! Notes on real repositories in temp dirs, read back with libgit2 and with
//! the git CLI (`git log --notes=tranche`), as a person would.

use super::*;
use std::path::Path;
use std::process::Command;

fn repo_with_commit() -> (tempfile::TempDir, Repository, Oid) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let sig = Signature::now("dev", "dev@example.com").unwrap();
    let tree_id = repo.index().unwrap().write_tree().unwrap();
    let commit = {
        let tree = repo.find_tree(tree_id).unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "deploy shop v2", &tree, &[])
            .unwrap()
    };
    (dir, repo, commit)
}

fn note(outcome: &str, description: &str) -> DeployNote {
    DeployNote {
        outcome: outcome.to_string(),
        description: description.to_string(),
        batches: vec![
            vec!["canary".into()],
            vec!["prod-a".into(), "prod-b".into()],
        ],
        clusters: vec!["canary".into(), "prod-a".into(), "prod-b".into()],
        started_at: "2026-05-01T10:00:00Z".to_string(),
        finished_at: "2026-05-01T10:04:31Z".to_string(),
        attempts: Vec::new(),
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=cli", "-c", "user.email=cli@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn missing_note_reads_as_none() {
    let (_dir, repo, commit) = repo_with_commit();
    assert_eq!(read_note(&repo, commit).unwrap(), None);
}

#[test]
fn written_note_reads_back() {
    let (_dir, repo, commit) = repo_with_commit();
    let n = note("success", "3/3 clusters");
    write_note(&repo, commit, &n).unwrap();
    assert_eq!(read_note(&repo, commit).unwrap(), Some(n));
}

#[test]
fn overwrite_keeps_earlier_stories_as_attempts() {
    let (_dir, repo, commit) = repo_with_commit();
    write_note(&repo, commit, &note("rolled_back", "prod-b unhealthy")).unwrap();
    write_note(&repo, commit, &note("error", "cluster unreachable")).unwrap();
    write_note(&repo, commit, &note("success", "3/3 clusters")).unwrap();
    let stored = read_note(&repo, commit).unwrap().unwrap();
    assert_eq!(stored.outcome, "success");
    let history: Vec<_> = stored.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(history, ["rolled_back", "error"]);
}

#[test]
fn git_log_shows_the_note() {
    let (dir, repo, commit) = repo_with_commit();
    write_note(&repo, commit, &note("success", "batch 2/2 · 3/3 clusters")).unwrap();
    let log = git(dir.path(), &["log", "--notes=tranche", "-1"]);
    assert!(log.contains("Notes (tranche):"), "{log}");
    assert!(log.contains("outcome: success"), "{log}");
    assert!(log.contains("batch 2/2 · 3/3 clusters"), "{log}");
    assert!(log.contains("prod-b"), "{log}");
}

#[test]
fn signature_falls_back_to_tranche() {
    // A config file of its own: the machine's global identity must not leak in.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, "[core]\n\tbare = false\n").unwrap();
    let mut config = git2::Config::open(&path).unwrap();
    let sig = signature(&config).unwrap();
    assert_eq!(
        (sig.name().unwrap(), sig.email().unwrap()),
        ("tranche", "tranche@localhost")
    );
    config.set_str("user.name", "Fleet Bot").unwrap();
    config.set_str("user.email", "bot@example.com").unwrap();
    let sig = signature(&config).unwrap();
    assert_eq!(
        (sig.name().unwrap(), sig.email().unwrap()),
        ("Fleet Bot", "bot@example.com")
    );
}

#[test]
fn note_is_signed_with_the_repository_identity() {
    let (dir, repo, commit) = repo_with_commit();
    repo.config()
        .unwrap()
        .set_str("user.name", "Fleet Bot")
        .unwrap();
    repo.config()
        .unwrap()
        .set_str("user.email", "bot@example.com")
        .unwrap();
    write_note(&repo, commit, &note("success", "ok")).unwrap();
    let author = git(dir.path(), &["log", "-1", "--format=%an <%ae>", NOTES_REF]);
    assert_eq!(author.trim(), "Fleet Bot <bot@example.com>");
}

#[test]
fn hand_written_note_is_malformed_and_gets_replaced() {
    let (dir, repo, commit) = repo_with_commit();
    git(
        dir.path(),
        &[
            "notes",
            "--ref=tranche",
            "add",
            "-m",
            "looks good to me",
            &commit.to_string(),
        ],
    );
    let err = read_note(&repo, commit).unwrap_err();
    assert!(matches!(err, NoteError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains(&commit.to_string()));
    write_note(&repo, commit, &note("success", "ok")).unwrap();
    let stored = read_note(&repo, commit).unwrap().unwrap();
    assert!(stored.attempts.is_empty());
}
