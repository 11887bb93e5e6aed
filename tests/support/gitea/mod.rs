//! A REAL Gitea on loopback, the forge the daemon's forge tests run against
//! (built from the Go module proxy by `scripts/build-gitea.sh`; see
//! /work/shared/K8S-TEST-CLUSTERS.md, "A real forge").
//!
//! ```ignore
//! let gitea = support::gitea::Gitea::shared().await;   // one per test binary
//! let bot = gitea.create_user("tranche-bot").await;     // a user and its token
//! let repo = gitea.create_repo("fleet", true).await;    // owned by the admin
//! gitea.add_collaborator(&repo, &bot.name, "write").await;
//! gitea.push(local.path(), &repo, "main");              // git over HTTP
//! let statuses = gitea.statuses(&repo, &sha).await;     // Gitea's own API
//! let pr = gitea.create_pull(&repo, "feature", "main", "Try it").await;
//! let hook = gitea.add_webhook(&repo, &url, "secret", &["push"]).await;
//! let (code, body) = gitea.api(Method::GET, "/repos/…", None).await; // anything else
//! ```
//!
//! Module `api` holds those calls; module `setup` puts a daemon on a fleet
//! repository hosted here (what the forge suites share).
//!
//! * SQLite, no SSH, no mail, offline; webhooks may target loopback.
//! * Runs as root with `GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true` (CI
//!   and these machines run as root; Gitea refuses otherwise).
//! * Every call builds its own HTTP client, so a shared Gitea outlives any
//!   one test's tokio runtime.
//! * The process is killed and its directory removed on drop, and by a
//!   reaper if the test binary exits without dropping (shared instance).
//! * A missing binary fails the test loudly: no forge test passes without
//!   a real Gitea. `$TRANCHE_GITEA` may name the directory the build script
//!   prints (holding `gitea` and `static-root`).

mod api;
pub mod pulls;
pub mod setup;

use super::binaries::tail;
use super::files::new_token;
use super::process::{free_ports, Proc, Reaper};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const PORT_ATTEMPTS: u32 = 3;
/// The site administrator the harness creates ("admin" is reserved by Gitea).
pub const ADMIN: &str = "platform";

/// A running Gitea.
pub struct Gitea {
    /// Root URL, e.g. `http://127.0.0.1:3456` (what `forge.apiUrl` takes).
    pub url: String,
    admin_password: String,
    admin_token: String,
    proc: Mutex<Proc>,
    reaper: Reaper,
    dir: Option<TempDir>,
}

/// A Gitea user made by the harness, with a token.
#[derive(Debug, Clone)]
pub struct GiteaUser {
    /// Login.
    pub name: String,
    /// Password (basic auth, e.g. for git over HTTP).
    pub password: String,
    /// Personal access token.
    pub token: String,
}

/// A repository on the test Gitea.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiteaRepo {
    /// Owner login.
    pub owner: String,
    /// Repository name.
    pub name: String,
}

impl GiteaRepo {
    /// `owner/name`, as `forge.repository` takes it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// One commit status as Gitea's API returns it.
#[derive(Debug, Clone)]
pub struct GiteaStatus {
    /// `pending`, `success`, `failure`, `error` or `warning`.
    pub state: String,
    /// e.g. `tranche/rollout`.
    pub context: String,
    /// One line for humans.
    pub description: String,
    /// Link shown beside the status.
    pub target_url: String,
    /// Login of the user whose token posted it.
    pub creator: String,
}

impl Gitea {
    /// One Gitea per test binary, started on first use; it lives until the
    /// binary exits (the reaper then stops it). Tests sharing it use their
    /// own repositories.
    pub async fn shared() -> &'static Gitea {
        static SHARED: tokio::sync::OnceCell<&'static Gitea> = tokio::sync::OnceCell::const_new();
        SHARED
            .get_or_init(|| async { &*Box::leak(Box::new(Gitea::start().await)) })
            .await
    }

    /// Starts a Gitea of its own, with the administrator [`ADMIN`] and a token.
    pub async fn start() -> Gitea {
        let build = gitea_build();
        let dir = tempfile::Builder::new()
            .prefix("tranche-gitea-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for Gitea: {e}"));
        let reaper = Reaper::start(&dir.path().join("pids"), &[dir.path()]);
        let password = new_token("pw");
        let started = Instant::now();
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_ports(1)[0];
            let ini = write_app_ini(dir.path(), port, &build.static_root);
            run_cli(&build.bin, dir.path(), &ini, &["migrate"]);
            let _ = create_admin(&build.bin, dir.path(), &ini, &password);
            let url = format!("http://127.0.0.1:{port}");
            let mut proc = Proc::spawn(
                "gitea",
                gitea_command(&build.bin, dir.path(), &ini, &["web"]),
                &dir.path().join("gitea.out"),
            );
            if let Some(pid) = proc.pid() {
                reaper.track("gitea", pid);
            }
            match wait_ready(&mut proc, &url, dir.path()).await {
                Ok(()) => {
                    let admin_token = basic_token(&url, ADMIN, &password, &["all"]).await;
                    eprintln!(
                        "[test gitea] ready at {url} in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                    return Gitea {
                        url,
                        admin_password: password,
                        admin_token,
                        proc: Mutex::new(proc),
                        reaper,
                        dir: Some(dir),
                    };
                }
                Err(log) if log.contains("address already in use") => {
                    eprintln!("[test gitea] port {port} taken; retrying on another");
                    last = log;
                }
                Err(log) => panic!("Gitea did not start:\n{log}"),
            }
        }
        panic!("Gitea could not get a free port after {PORT_ATTEMPTS} attempts:\n{last}");
    }

    /// The administrator's token (scope `all`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The end of Gitea's own log, for assertion messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let proc = self.proc.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = proc.log_tail(lines);
        if let Some(dir) = &self.dir {
            let log = std::fs::read_to_string(dir.path().join("log/gitea.log")).unwrap_or_default();
            text.push_str(&tail(&log, lines));
        }
        text
    }
}

impl Drop for Gitea {
    fn drop(&mut self) {
        self.proc.lock().unwrap_or_else(|p| p.into_inner()).kill();
        self.reaper.dismiss();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// Where the build script put Gitea.
struct Build {
    bin: PathBuf,
    static_root: PathBuf,
}

/// `$TRANCHE_GITEA`, else the build script's output (built at most once
/// per test binary; seconds when cached).
fn gitea_build() -> &'static Build {
    static BUILD: OnceLock<Result<Build, String>> = OnceLock::new();
    let found = BUILD.get_or_init(|| {
        let dir = match std::env::var_os("TRANCHE_GITEA") {
            Some(d) => PathBuf::from(d),
            None => {
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-gitea.sh");
                let out = Command::new("bash")
                    .arg(&script)
                    .output()
                    .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
                let stdout = String::from_utf8_lossy(&out.stdout);
                if !out.status.success() {
                    return Err(format!(
                        "{} failed ({}):\n{}",
                        script.display(),
                        out.status,
                        tail(&String::from_utf8_lossy(&out.stderr), 40)
                    ));
                }
                PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
            }
        };
        let bin = dir.join("gitea");
        let static_root = std::fs::read_to_string(dir.join("static-root"))
            .map(|s| PathBuf::from(s.trim()))
            .map_err(|e| format!("{}/static-root: {e}", dir.display()))?;
        if !bin.is_file() || !static_root.join("options/locale").is_dir() {
            return Err(format!(
                "{} has no gitea binary, or {} has no options/locale (run scripts/build-gitea.sh)",
                dir.display(),
                static_root.display()
            ));
        }
        Ok(Build { bin, static_root })
    });
    match found {
        Ok(b) => b,
        Err(e) => panic!("no Gitea for the forge tests: {e}"),
    }
}

fn write_app_ini(dir: &Path, port: u16, static_root: &Path) -> PathBuf {
    let d = dir.display();
    let text = format!(
        "APP_NAME = tranche test forge\nRUN_MODE = prod\nWORK_PATH = {d}\n\n\
         [database]\nDB_TYPE = sqlite3\nPATH = {d}/data/gitea.db\n\n\
         [server]\nPROTOCOL = http\nHTTP_ADDR = 127.0.0.1\nHTTP_PORT = {port}\n\
         ROOT_URL = http://127.0.0.1:{port}/\nDOMAIN = 127.0.0.1\nOFFLINE_MODE = true\n\
         DISABLE_SSH = true\nSTART_SSH_SERVER = false\nLFS_START_SERVER = false\n\
         APP_DATA_PATH = {d}/data\nSTATIC_ROOT_PATH = {static_root}\n\n\
         [repository]\nROOT = {d}/repos\nDEFAULT_BRANCH = main\n\n\
         [security]\nINSTALL_LOCK = true\n\n\
         [service]\nDISABLE_REGISTRATION = true\n\n\
         [webhook]\nALLOWED_HOST_LIST = loopback\nDELIVER_TIMEOUT = 10\n\n\
         [mailer]\nENABLED = false\n\n[oauth2]\nENABLED = false\n\n[actions]\nENABLED = false\n\n\
         [indexer]\nISSUE_INDEXER_TYPE = db\n\n\
         [cron.update_checker]\nENABLED = false\n\n\
         [log]\nMODE = file\nLEVEL = Info\nROOT_PATH = {d}/log\n",
        static_root = static_root.display(),
    );
    let path = dir.join("app.ini");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

fn gitea_command(bin: &Path, dir: &Path, ini: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .arg("--config")
        .arg(ini)
        .env("GITEA_WORK_DIR", dir)
        .env("GITEA_CUSTOM", dir.join("custom"))
        .env("HOME", dir.join("home"))
        .env("GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT", "true")
        .current_dir(dir);
    cmd
}

/// Runs a Gitea CLI command to completion, panicking with its output on failure.
fn run_cli(bin: &Path, dir: &Path, ini: &Path, args: &[&str]) -> String {
    let out = gitea_command(bin, dir, ini, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gitea {args:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "gitea {args:?} failed:\n{}",
        tail(&text, 30)
    );
    text
}

/// Creates the administrator (a second attempt after a port clash finds it there).
fn create_admin(bin: &Path, dir: &Path, ini: &Path, password: &str) -> Result<(), String> {
    let args = [
        "admin",
        "user",
        "create",
        "--admin",
        "--username",
        ADMIN,
        "--password",
        password,
        "--email",
        "platform@example.com",
        "--must-change-password=false",
    ];
    let out = gitea_command(bin, dir, ini, &args)
        .output()
        .map_err(|e| format!("cannot run gitea admin user create: {e}"))?;
    let text = String::from_utf8_lossy(&out.stderr).replace(password, "***");
    if out.status.success() || text.contains("already exists") {
        Ok(())
    } else {
        panic!("gitea admin user create failed:\n{}", tail(&text, 20))
    }
}

/// Waits until the API answers; `Err(log)` when the process died.
async fn wait_ready(proc: &mut Proc, url: &str, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let log = |proc: &Proc| {
        let own = std::fs::read_to_string(dir.join("log/gitea.log")).unwrap_or_default();
        format!("{}\n{}", proc.log_tail(30), tail(&own, 30))
    };
    loop {
        if let Some(status) = proc.exited() {
            return Err(format!("gitea web exited ({status}):\n{}", log(proc)));
        }
        let answer = client().get(format!("{url}/api/v1/version")).send().await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            panic!("Gitea not ready after 120 s:\n{}", log(proc));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates a token for `user` through the API with basic auth.
async fn basic_token(url: &str, user: &str, password: &str, scopes: &[&str]) -> String {
    let resp = client()
        .post(format!("{url}/api/v1/users/{user}/tokens"))
        .basic_auth(user, Some(password))
        .json(&json!({"name": new_token("tranche-tests"), "scopes": scopes}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Gitea token for {user}: {e}"));
    let code = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    v["sha1"]
        .as_str()
        .filter(|_| code.is_success())
        .unwrap_or_else(|| panic!("Gitea token for {user}: HTTP {code}: {v}"))
        .to_string()
}

fn client() -> reqwest::Client {
    tranche::cluster::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}
