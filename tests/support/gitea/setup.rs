//! The daemon on a fleet repository hosted by the test Gitea: what the
//! forge suites (tests/gitea.rs, and later PR comments and approvals) share.
//! The repository is private, so the daemon's clone really needs the bot's
//! token; the daemon reaches it over HTTP, as a user's daemon would.

use super::{Gitea, GiteaRepo, GiteaStatus, GiteaUser};
use crate::support::daemon::{free_port, Daemon};
use crate::support::fixtures::shop_repo;
use crate::support::FixtureRepo;
use std::time::Duration;

/// The secret the harness's webhooks and daemons share.
pub const WEBHOOK_SECRET: &str = "gitea-webhook-secret";

/// A repository on the shared Gitea, a bot with write access whose token
/// the daemon uses, and the local work tree pushed to it.
pub struct GiteaSetup {
    pub gitea: &'static Gitea,
    pub repo: GiteaRepo,
    pub bot: GiteaUser,
    pub local: FixtureRepo,
    pub dir: tempfile::TempDir,
    /// The first commit, pushed to `main` by [`setup`].
    pub v1: String,
}

/// A private repository `name` on the shared Gitea holding the shop fleet
/// (clusters `a` and `b`), a bot `<name>-bot` with write access, and files
/// with its token and the webhook secret for the daemon.
pub async fn setup(name: &str) -> GiteaSetup {
    setup_with_scopes(name, &["write:repository"]).await
}

/// [`setup`] with a bot token of `scopes` (comments need `write:issue`).
pub async fn setup_with_scopes(name: &str, scopes: &[&str]) -> GiteaSetup {
    let gitea = Gitea::shared().await;
    let repo = gitea.create_repo(name, true).await;
    let bot = gitea
        .create_user_with_scopes(&format!("{name}-bot"), scopes)
        .await;
    gitea.add_collaborator(&repo, &bot.name, "write").await;
    let local = shop_repo(&["a", "b"]);
    let v1 = local.commit("shop v1");
    gitea.push(local.path(), &repo, "main");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot-token"), format!("{}\n", bot.token)).unwrap();
    std::fs::write(dir.path().join("webhook-secret"), WEBHOOK_SECRET).unwrap();
    GiteaSetup {
        gitea,
        repo,
        bot,
        local,
        dir,
        v1,
    }
}

impl GiteaSetup {
    /// Starts `tranche run`: the repository by URL with the bot's token,
    /// statuses to Gitea, fetching every `poll`.
    pub async fn daemon(&self, poll: &str, extra: &str) -> Daemon {
        let port = free_port();
        let d = self.dir.path();
        let config = format!(
            "repo:\n  url: {url}\n  branch: main\n  auth:\n    username: {bot}\n    tokenFile: {d}/bot-token\n\
             pollInterval: {poll}\nclusters:\n  clustersDir: {d}/clusters\nstateDir: {d}/state\n\
             listen: 127.0.0.1:{port}\npublicUrl: http://127.0.0.1:{port}\n\
             forge:\n  provider: gitea\n  apiUrl: {api}\n  repository: {full}\n  tokenFile: {d}/bot-token\n\
             webhook:\n  secretFile: {d}/webhook-secret\nresyncInterval: 0s\n{extra}",
            url = self.gitea.clone_url(&self.repo),
            bot = self.bot.name,
            d = d.display(),
            api = self.gitea.url,
            full = self.repo.full_name(),
        );
        Daemon::start(d, "daemon", &config, port).await
    }

    /// Commits and pushes `main`; the new commit.
    pub fn push_commit(&self, message: &str) -> String {
        let sha = self.local.commit(message);
        self.gitea.push(self.local.path(), &self.repo, "main");
        sha
    }

    /// The statuses of `sha` and `context` once the last one is final
    /// (on timeout, the panic shows the daemon's log).
    pub async fn final_statuses(
        &self,
        daemon: &Daemon,
        sha: &str,
        context: &str,
    ) -> Vec<GiteaStatus> {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let s = self.gitea.statuses_of(&self.repo, sha, context).await;
            if s.last().is_some_and(|p| p.state != "pending") {
                return s;
            }
            if std::time::Instant::now() > deadline {
                let log = daemon.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "no final {context} status on {sha} in Gitea after 120 s (so far: {:#?});\n\
                     daemon log:\n{}",
                    lines(&s),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A file of directory cluster `cluster`.
    pub fn cluster_file(&self, cluster: &str, rel: &str) -> String {
        let p = self.dir.path().join("clusters").join(cluster).join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    pub fn assert_no_secrets_in(&self, daemon: &Daemon) {
        let log = daemon.log();
        assert!(
            !log.contains(&self.bot.token),
            "the bot token leaked into the log"
        );
        assert!(
            !log.contains(WEBHOOK_SECRET),
            "the webhook secret leaked into the log"
        );
    }
}

/// The shop Deployment's file in a directory cluster.
pub const DEPLOYMENT_FILE: &str = "apps/Deployment/shop/web.yaml";

/// `state: description` of each status, for assertion messages.
pub fn lines(s: &[GiteaStatus]) -> Vec<String> {
    s.iter()
        .map(|p| format!("{}: {}", p.state, p.description))
        .collect()
}

/// A metric's value in the daemon's `/metrics` (0 when absent).
pub async fn metric(daemon: &Daemon, series: &str) -> u64 {
    let (_, text) = daemon.text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}
