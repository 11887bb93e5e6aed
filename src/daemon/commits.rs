//! Who made a commit and why: author, subject and message, time, and the
//! link to the commit on the forge, for the web view. Read from the git
//! repository the daemon deploys from, cached per sha (commits never
//! change), with the cache bounded.

use crate::report::forge::{ForgeConfig, Provider};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Commits kept in the cache.
const CACHE_LEN: usize = 512;
/// Longest commit message kept, in bytes (the rest is cut with `…`).
const MAX_MESSAGE: usize = 4096;

/// One commit, as the web view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// Author name.
    pub author: String,
    /// First line of the message.
    pub subject: String,
    /// The rest of the message (may be empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Author time, Unix seconds.
    pub time: i64,
    /// The commit's page on the forge, when a forge is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Reads and caches commit details.
#[derive(Debug)]
pub struct CommitBook {
    repo: PathBuf,
    links: Option<ForgeLinks>,
    cache: Mutex<BTreeMap<String, Option<CommitInfo>>>,
}

impl CommitBook {
    /// Commits of the repository at (or above) `repo`; links from `forge`.
    pub fn new(repo: PathBuf, forge: Option<&ForgeConfig>) -> CommitBook {
        CommitBook {
            repo,
            links: forge.and_then(ForgeLinks::from_config),
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    /// Details of each commit found (unknown shas are left out).
    pub fn describe(&self, commits: &[String]) -> BTreeMap<String, CommitInfo> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let missing: Vec<&String> = commits.iter().filter(|c| !cache.contains_key(*c)).collect();
        if !missing.is_empty() {
            let repo = git2::Repository::open_ext(
                &self.repo,
                git2::RepositoryOpenFlags::empty(),
                std::iter::empty::<&std::ffi::OsStr>(),
            );
            if let Ok(repo) = repo {
                if cache.len() + missing.len() > CACHE_LEN {
                    cache.clear();
                }
                for c in missing {
                    let info = read_commit(&repo, c).map(|mut i| {
                        i.url = self.links.as_ref().map(|l| l.commit_url(c));
                        i
                    });
                    cache.insert(c.clone(), info);
                }
            }
        }
        commits
            .iter()
            .filter_map(|c| Some((c.clone(), cache.get(c)?.clone()?)))
            .collect()
    }
}

fn read_commit(repo: &git2::Repository, sha: &str) -> Option<CommitInfo> {
    let oid = git2::Oid::from_str(sha).ok()?;
    let commit = repo.find_commit(oid).ok()?;
    let message = String::from_utf8_lossy(commit.message_bytes()).to_string();
    let (subject, body) = match message.split_once('\n') {
        Some((s, b)) => (s.trim().to_string(), b.trim().to_string()),
        None => (message.trim().to_string(), String::new()),
    };
    let author = commit.author();
    let info = CommitInfo {
        author: String::from_utf8_lossy(author.name_bytes()).to_string(),
        subject: cut(subject),
        body: cut(body),
        time: author.when().seconds(),
        url: None,
    };
    Some(info)
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// How to link to a commit on the configured forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeLinks {
    /// Web root of the forge (no trailing `/`).
    web: String,
    /// Repository path on it.
    repository: String,
    provider: Provider,
}

impl ForgeLinks {
    /// Links for a forge configuration (None for a GitLab numeric project
    /// id, whose path is unknown).
    pub fn from_config(f: &ForgeConfig) -> Option<ForgeLinks> {
        let api = f.api_url.as_deref().map(|u| u.trim_end_matches('/'));
        let web = match (f.provider, api) {
            (Provider::Github, None | Some("https://api.github.com")) => {
                "https://github.com".to_string()
            }
            (Provider::Github, Some(u)) => u.strip_suffix("/api/v3").unwrap_or(u).to_string(),
            (Provider::Gitlab, None) => "https://gitlab.com".to_string(),
            (Provider::Gitlab | Provider::Gitea, Some(u)) => u.to_string(),
            (Provider::Gitea, None) => return None,
        };
        let repository = f.repository.trim_matches('/').to_string();
        if f.provider == Provider::Gitlab && repository.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(ForgeLinks {
            web,
            repository,
            provider: f.provider,
        })
    }

    /// The web page of `sha`.
    pub fn commit_url(&self, sha: &str) -> String {
        match self.provider {
            Provider::Gitlab => format!("{}/{}/-/commit/{sha}", self.web, self.repository),
            Provider::Github | Provider::Gitea => {
                format!("{}/{}/commit/{sha}", self.web, self.repository)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forge(provider: Provider, api: Option<&str>, repo: &str) -> ForgeConfig {
        ForgeConfig {
            provider,
            api_url: api.map(str::to_string),
            repository: repo.to_string(),
            token_file: None,
            token_env: Some("T".into()),
        }
    }

    #[test]
    fn links_point_at_each_forges_commit_page() {
        let cases = [
            (
                Provider::Github,
                None,
                "acme/fleet",
                Some("https://github.com/acme/fleet/commit/abc"),
            ),
            (
                Provider::Github,
                Some("https://ghe.acme.example/api/v3/"),
                "acme/fleet",
                Some("https://ghe.acme.example/acme/fleet/commit/abc"),
            ),
            (
                Provider::Gitea,
                Some("https://git.acme.example"),
                "acme/fleet",
                Some("https://git.acme.example/acme/fleet/commit/abc"),
            ),
            (Provider::Gitea, None, "acme/fleet", None),
            (
                Provider::Gitlab,
                None,
                "group/sub/fleet",
                Some("https://gitlab.com/group/sub/fleet/-/commit/abc"),
            ),
            (
                Provider::Gitlab,
                Some("https://gl.acme.example"),
                "1234",
                None,
            ),
        ];
        for (p, api, repo, want) in cases {
            let got = ForgeLinks::from_config(&forge(p, api, repo)).map(|l| l.commit_url("abc"));
            assert_eq!(got.as_deref(), want, "{p} {api:?} {repo}");
        }
    }

    #[test]
    fn commits_are_read_from_git_and_unknown_ones_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let sig = git2::Signature::new(
            "Ada Lovelace",
            "ada@example.com",
            &git2::Time::new(1_700_000_000, 0),
        )
        .unwrap();
        let tree = repo
            .find_tree(repo.index().unwrap().write_tree().unwrap())
            .unwrap();
        let oid = repo
            .commit(
                Some("HEAD"),
                &sig,
                &sig,
                "storefront 1.4.3\n\nWhy: faster checkout.\n",
                &tree,
                &[],
            )
            .unwrap()
            .to_string();
        let book = CommitBook::new(
            dir.path().to_path_buf(),
            Some(&forge(Provider::Github, None, "acme/fleet")),
        );
        let unknown = "0".repeat(40);
        let got = book.describe(&[oid.clone(), unknown.clone(), "not-a-sha".into()]);
        assert_eq!(got.len(), 1);
        let info = &got[&oid];
        assert_eq!(info.author, "Ada Lovelace");
        assert_eq!(info.subject, "storefront 1.4.3");
        assert_eq!(info.body, "Why: faster checkout.");
        assert_eq!(info.time, 1_700_000_000);
        assert_eq!(
            info.url.as_deref(),
            Some(format!("https://github.com/acme/fleet/commit/{oid}").as_str())
        );
        assert_eq!(cut("é".repeat(3000)).len(), 4096 + '…'.len_utf8());
    }
}
