//! Pull requests on the test Gitea for the suites that comment on them
//! (tests/pull_requests.rs): comments read and written as a given user,
//! branches opened as pull requests, pull requests merged.

use super::setup::GiteaSetup;
use super::GiteaUser;
use reqwest::Method;
use serde_json::json;

/// One comment as Gitea returns it.
#[derive(Debug, Clone)]
pub struct Said {
    /// Gitea's id.
    pub id: u64,
    /// Author's login.
    pub author: String,
    /// Markdown.
    pub body: String,
}

impl GiteaSetup {
    /// The comments of pull request `pr`, oldest first.
    pub async fn comments(&self, pr: u64) -> Vec<Said> {
        let path = format!("/repos/{}/issues/{pr}/comments", self.repo.full_name());
        let v = self.gitea.api_ok(Method::GET, &path, None).await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| Said {
                id: c["id"].as_u64().unwrap(),
                author: c["user"]["login"].as_str().unwrap_or_default().into(),
                body: c["body"].as_str().unwrap_or_default().into(),
            })
            .collect()
    }

    /// `who` comments `body` on pull request `pr`.
    pub async fn say(&self, who: &GiteaUser, pr: u64, body: &str) {
        let path = format!("/repos/{}/issues/{pr}/comments", self.repo.full_name());
        let (code, answer) = self
            .gitea
            .api_as(
                &who.token,
                Method::POST,
                &path,
                Some(json!({ "body": body })),
            )
            .await;
        assert_eq!(code, 201, "{} comments {body:?}: {answer}", who.name);
    }

    /// Opens a pull request from a new branch `branch` of main with
    /// `files` changed; its number and head.
    pub async fn open_pull(
        &self,
        branch: &str,
        files: &[(&str, &str)],
        title: &str,
    ) -> (u64, String) {
        self.local.git(&["checkout", "-q", "main"]);
        self.local.git(&["checkout", "-q", "-b", branch]);
        for (path, text) in files {
            self.local.write(path, text);
        }
        let head = self.local.commit(title);
        self.gitea.push(self.local.path(), &self.repo, branch);
        let pr = self
            .gitea
            .create_pull(&self.repo, branch, "main", title)
            .await;
        (pr, head)
    }

    /// Merges `pr` with a merge commit (Gitea's own); the merge commit,
    /// pulled into the work tree's main for the next branch.
    pub async fn merge(&self, pr: u64) -> String {
        let full = self.repo.full_name();
        let path = format!("/repos/{full}/pulls/{pr}/merge");
        // Gitea checks mergeability in the background and answers 405
        // "Please try again later" until it is done.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (code, answer) = self
                .gitea
                .api(Method::POST, &path, Some(json!({"Do": "merge"})))
                .await;
            if (200..300).contains(&code) {
                break;
            }
            assert!(
                code == 405 && std::time::Instant::now() < deadline,
                "merge #{pr}: {code} {answer}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        let v = self
            .gitea
            .api_ok(Method::GET, &format!("/repos/{full}/pulls/{pr}"), None)
            .await;
        let sha = v["merge_commit_sha"].as_str().unwrap().to_string();
        let authed = self.gitea.clone_url(&self.repo).replacen(
            "http://",
            &format!("http://{}:{}@", self.bot.name, self.bot.password),
            1,
        );
        self.local.git(&["checkout", "-q", "main"]);
        self.local
            .git(&["pull", "-q", "--ff-only", &authed, "main"]);
        sha
    }
}
