//! Child processes of a fleet: spawning with logs, killing, free loopback
//! ports, and the reaper that cleans up if the test binary dies.

use super::binaries::tail;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// `n` distinct free loopback ports. All listeners are held until every
/// port is picked, so one fleet never gets the same port twice.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"))
        })
        .collect();
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .map(|a| a.port())
                .unwrap_or_else(|e| panic!("no local address: {e}"))
        })
        .collect()
}

/// A running child whose stdout and stderr go to `log`.
pub struct Proc {
    /// What it is, for messages (`etcd`, `kube-apiserver c1`).
    pub label: String,
    /// Combined output.
    pub log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    /// Starts `cmd` with output appended to `log`.
    pub fn spawn(label: &str, mut cmd: Command, log: &Path) -> Proc {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot dup {}: {e}", log.display()));
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} ({:?}): {e}", cmd.get_program()));
        Proc {
            label: label.to_string(),
            log: log.to_path_buf(),
            child: Some(child),
        }
    }

    /// Process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Some(status)` once the process has exited (it is then reaped).
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status.to_string())
            }
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// Whether it is still running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL and wait (no zombie); a no-op once stopped.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The last lines of its output, for panic messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&fs::read_to_string(&self.log).unwrap_or_default(), lines)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A watchdog process that, when the test binary exits or dies without
/// cleaning up (its stdin pipe closes), kills the pids listed in a file and
/// removes the fleet's directories. It runs in its own process group, so a
/// Ctrl-C on `cargo test` does not kill it before it has cleaned up.
pub struct Reaper {
    child: Child,
    stdin: Option<ChildStdin>,
    pid_file: PathBuf,
    pids: Mutex<BTreeMap<String, u32>>,
}

impl Reaper {
    /// Starts the reaper for `dirs`; pids are registered with [`Reaper::track`].
    pub fn start(pid_file: &Path, dirs: &[&Path]) -> Reaper {
        fs::write(pid_file, "")
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", pid_file.display()));
        let script = r#"pids="$1"; shift
read -r cmd
[ "$cmd" = done ] && exit 0
kill -9 $(cat "$pids") 2>/dev/null
sleep 0.3
rm -rf "$@""#;
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(script)
            .arg("tranche-fleet-reaper")
            .arg(pid_file)
            .args(dirs);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the fleet reaper (bash): {e}"));
        let stdin = child.stdin.take();
        Reaper {
            child,
            stdin,
            pid_file: pid_file.to_path_buf(),
            pids: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records the pid of the process `label` (replacing an earlier one).
    pub fn track(&self, label: &str, pid: u32) {
        let mut pids = self.pids.lock().unwrap_or_else(|p| p.into_inner());
        pids.insert(label.to_string(), pid);
        let text: String = pids.values().map(|p| format!("{p}\n")).collect();
        let tmp = self.pid_file.with_extension("tmp");
        let written = fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, &self.pid_file));
        written.unwrap_or_else(|e| panic!("cannot write {}: {e}", self.pid_file.display()));
    }

    /// Tells the reaper everything is cleaned up already, and waits for it.
    pub fn dismiss(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"done\n");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.dismiss();
    }
}
