//! The README's first command, end to end: `bash scripts/quickstart.sh`
//! run from a fresh copy of the repository's tracked files (nothing
//! untracked, no `target/`), with the binary under test instead of a
//! release build. It must run the daemon through a deploy, an image bump,
//! a rolled-back bad commit and its revert, then stop the daemon it started.

use std::path::Path;
use std::process::Command;

fn fresh_copy(to: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git ls-files");
    assert!(files.status.success());
    for rel in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).expect("utf-8 path"));
        let from = root.join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&from, &dest).expect("copy");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn quickstart_runs_the_daemon_through_deploy_rollback_and_revert() {
    let checkout = tempfile::tempdir().unwrap();
    fresh_copy(checkout.path());
    let out = checkout.path().join("qs");
    let output = Command::new("bash")
        .arg("scripts/quickstart.sh")
        .current_dir(checkout.path())
        .env("TRANCHE_BIN", env!("CARGO_BIN_EXE_tranche"))
        .env("TRANCHE_QUICKSTART_DIR", &out)
        .env("TRANCHE_QUICKSTART_PORT", free_port().to_string())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run quickstart");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for want in [
        "web view: http://127.0.0.1:",
        "planned 3 batch(es) of 2:2:8",
        "batch 1/3 applying: stg-eu-west-1, stg-us-east-1",
        "batch 2/3 healthy (4/12 clusters)",
        "rolled back: prod-ap-south-2 ConfigMap shop-config/feature-flags exists and is not managed by tranche",
        "prod-ap-south-1 rolled back to",
        "no changes: every cluster already runs this",
        "nothing_to_do",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout
            .matches("deployed to 12 cluster(s) in 3 batch(es) commit=")
            .count(),
        2,
        "{stdout}"
    );
    // The daemon it started is gone.
    let pid = std::fs::read_to_string(out.join("daemon.pid")).expect("pid file");
    assert!(
        stdout.contains(&format!("daemon stopped (pid {})", pid.trim())),
        "{stdout}"
    );
    let alive = Command::new("kill")
        .args(["-0", pid.trim()])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("kill -0");
    assert!(!alive.success(), "daemon {pid} still running");
    // The rollback put batches 1-2 back and left the hand-made object alone.
    let clusters = out.join("clusters");
    let settings = |c: &str| {
        std::fs::read_to_string(
            clusters
                .join(c)
                .join("core/ConfigMap/shop-config/shop-settings.yaml"),
        )
        .expect("shop-settings")
    };
    for c in ["stg-eu-west-1", "prod-ap-south-2", "prod-us-east-3"] {
        assert!(settings(c).contains("Spring sale"), "{c}: {}", settings(c));
    }
    let hand = std::fs::read_to_string(
        clusters.join("prod-ap-south-2/core/ConfigMap/shop-config/feature-flags.yaml"),
    )
    .expect("hand-made ConfigMap");
    assert!(
        hand.contains("\"false\"") && !hand.contains("managed-by"),
        "{hand}"
    );
    assert!(!clusters
        .join("prod-ap-south-1/core/ConfigMap/shop-config/feature-flags.yaml")
        .exists());
}
