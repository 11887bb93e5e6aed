//! The external renderers (kustomize, helm): where the binary is, which
//! version it is, and how it runs — with a timeout, bounded output, no
//! network and an environment that holds nothing of the daemon's.
//!
//! The environment is cleared: the tool sees `PATH` (its own directory and
//! the system ones, so `kubectl kustomize` and helm's `git` still work),
//! `HOME` and the tool's cache/config directories inside the render's temp
//! dir, and `HTTP(S)_PROXY` pointing at a closed loopback port, so a
//! renderer that tries the network fails fast instead of fetching (or
//! sending a token anywhere). No kubeconfig, forge token or cloud
//! credential reaches it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bytes of standard output one render may produce (the commit limit: the
/// output is read as that commit's manifests).
pub const MAX_OUTPUT_BYTES: u64 = crate::limits::MAX_COMMIT_BYTES;

/// Bytes of standard error kept for the message.
pub const MAX_STDERR_BYTES: u64 = 16 * 1024;

/// How long one render may take unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A proxy nobody listens on: the discard port on loopback.
const NO_NETWORK_PROXY: &str = "http://127.0.0.1:9";

/// Why a tool run did not give output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The binary could not be started.
    #[error("cannot run {path}: {reason}")]
    Spawn {
        /// The binary.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The tool exited with a failure.
    #[error("{what} failed ({status}): {stderr}")]
    Failed {
        /// The command, e.g. `kustomize build`.
        what: String,
        /// Exit status as text.
        status: String,
        /// Its standard error (bounded, Secret values masked by the caller).
        stderr: String,
    },
    /// The tool ran longer than the timeout and was killed.
    #[error("{what} did not finish within {}s and was stopped", .timeout.as_secs())]
    Timeout {
        /// The command.
        what: String,
        /// The limit.
        timeout: Duration,
    },
    /// The tool wrote more than [`MAX_OUTPUT_BYTES`].
    #[error(
        "{what} wrote more than {} of output and was stopped",
        crate::limits::human_bytes(MAX_OUTPUT_BYTES)
    )]
    TooMuchOutput {
        /// The command.
        what: String,
    },
}

/// What one run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error (bounded).
    pub stderr: String,
}

/// Runs `program args…` in `dir` with the clean environment described in
/// the module doc (`home` holds the tool's HOME and caches), killing it
/// after `timeout`. `what` names the command in errors.
pub fn run(
    program: &Path,
    args: &[&str],
    dir: &Path,
    home: &Path,
    timeout: Duration,
    what: &str,
) -> Result<Output, ToolError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", search_path(program))
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("HELM_CACHE_HOME", home.join("cache/helm"))
        .env("HELM_CONFIG_HOME", home.join("config/helm"))
        .env("HELM_DATA_HOME", home.join("data/helm"))
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("HTTP_PROXY", NO_NETWORK_PROXY)
        .env("HTTPS_PROXY", NO_NETWORK_PROXY)
        .env("http_proxy", NO_NETWORK_PROXY)
        .env("https_proxy", NO_NETWORK_PROXY)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut command).map_err(|e| ToolError::Spawn {
        path: program.display().to_string(),
        reason: e.to_string(),
    })?;
    let stdout = child
        .stdout
        .take()
        .map(|s| bounded_reader(s, MAX_OUTPUT_BYTES + 1));
    let stderr = child
        .stderr
        .take()
        .map(|s| bounded_reader(s, MAX_STDERR_BYTES));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(ToolError::Spawn {
                    path: program.display().to_string(),
                    reason: e.to_string(),
                })
            }
        }
    };
    let Some(status) = status else {
        // The child only: it is ours, started above.
        let _ = child.kill();
        let _ = child.wait();
        return Err(ToolError::Timeout {
            what: what.to_string(),
            timeout,
        });
    };
    let stdout = stdout.map(join).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr.map(join).unwrap_or_default()).into_owned();
    if stdout.len() as u64 > MAX_OUTPUT_BYTES {
        return Err(ToolError::TooMuchOutput {
            what: what.to_string(),
        });
    }
    if !status.success() {
        return Err(ToolError::Failed {
            what: what.to_string(),
            status: status.to_string(),
            stderr: stderr.trim().to_string(),
        });
    }
    Ok(Output { stdout, stderr })
}

/// Starts `command`, trying again a few times while the binary is "text
/// file busy": a file just written (a wrapper script) can be held open for
/// writing by a process another thread is forking at that moment.
fn spawn(command: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

/// Reads at most `limit` bytes on a thread of its own, then drains the
/// rest (so the child never blocks on a full pipe).
fn bounded_reader(
    mut source: impl Read + Send + 'static,
    limit: u64,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = (&mut source).take(limit).read_to_end(&mut kept);
        let _ = std::io::copy(&mut source, &mut std::io::sink());
        kept
    })
}

fn join(handle: std::thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    handle.join().unwrap_or_default()
}

/// The tool's own directory first, then the system ones.
fn search_path(program: &Path) -> String {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(parent) = program.parent().filter(|p| !p.as_os_str().is_empty()) {
        dirs.push(parent.to_path_buf());
    }
    dirs.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
    std::env::join_paths(dirs)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/usr/bin:/bin".to_string())
}

/// The first executable `name` on the daemon's `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("tool");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_environment_holds_nothing_of_the_daemon() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("TRANCHE_TEST_SECRET_TOKEN", "hunter2");
        let tool = script(dir.path(), "env");
        let out = run(&tool, &[], dir.path(), dir.path(), DEFAULT_TIMEOUT, "env").unwrap();
        let env = String::from_utf8(out.stdout).unwrap();
        assert!(!env.contains("hunter2"), "{env}");
        assert!(env.contains("HTTPS_PROXY=http://127.0.0.1:9"), "{env}");
    }

    #[test]
    fn a_failure_keeps_stderr_and_the_status() {
        let dir = tempfile::tempdir().unwrap();
        let tool = script(dir.path(), "echo broken chart >&2; exit 3");
        let err = run(
            &tool,
            &[],
            dir.path(),
            dir.path(),
            DEFAULT_TIMEOUT,
            "helm template",
        );
        match err {
            Err(ToolError::Failed { what, stderr, .. }) => {
                assert_eq!(
                    (what.as_str(), stderr.as_str()),
                    ("helm template", "broken chart")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_hanging_tool_is_stopped_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let tool = script(dir.path(), "exec sleep 30");
        let timeout = Duration::from_millis(300);
        let err = run(
            &tool,
            &[],
            dir.path(),
            dir.path(),
            timeout,
            "kustomize build",
        );
        assert!(matches!(err, Err(ToolError::Timeout { .. })), "{err:?}");
    }
}
