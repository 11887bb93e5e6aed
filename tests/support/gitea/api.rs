//! What tests do with a running [`Gitea`] through its API and git over
//! HTTP: users and tokens, repositories and collaborators, pushes, commit
//! statuses, pull requests, webhooks, and raw calls for anything else.

use super::{basic_token, client, Gitea, GiteaRepo, GiteaStatus, GiteaUser, ADMIN};
use crate::support::files::new_token;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

impl Gitea {
    /// Calls the API (`/api/v1` + `path`) as the administrator; the status
    /// code and the JSON answer (`Null` when empty).
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.api_as(&self.admin_token, method, path, body).await
    }

    /// Calls the API with another user's token.
    pub async fn api_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = client()
            .request(method.clone(), format!("{}/api/v1{path}", self.url))
            .header("Authorization", format!("token {token}"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("Gitea {method} {path}: {e}"));
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Like [`Gitea::api`], panicking unless the answer is 2xx.
    pub async fn api_ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (code, answer) = self.api(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&code),
            "Gitea {method} {path}: HTTP {code}: {answer}"
        );
        answer
    }

    /// A new user (not an administrator) and a token with `scopes` made
    /// through the API with the user's own password.
    pub async fn create_user_with_scopes(&self, name: &str, scopes: &[&str]) -> GiteaUser {
        let password = new_token("pw");
        self.api_ok(
            Method::POST,
            "/admin/users",
            Some(json!({
                "username": name, "email": format!("{name}@example.com"),
                "password": password, "must_change_password": false,
            })),
        )
        .await;
        let token = basic_token(&self.url, name, &password, scopes).await;
        GiteaUser {
            name: name.to_string(),
            password,
            token,
        }
    }

    /// A new user with a `write:repository` token: enough to fetch over
    /// HTTP and post commit statuses, which is all tranche needs.
    pub async fn create_user(&self, name: &str) -> GiteaUser {
        self.create_user_with_scopes(name, &["write:repository"])
            .await
    }

    /// An empty repository owned by the administrator, default branch `main`.
    pub async fn create_repo(&self, name: &str, private: bool) -> GiteaRepo {
        let v = self
            .api_ok(
                Method::POST,
                "/user/repos",
                Some(json!({"name": name, "private": private, "default_branch": "main"})),
            )
            .await;
        GiteaRepo {
            owner: v["owner"]["login"].as_str().unwrap_or(ADMIN).to_string(),
            name: name.to_string(),
        }
    }

    /// Gives `user` `permission` (`read`, `write`, `admin`) on `repo`.
    pub async fn add_collaborator(&self, repo: &GiteaRepo, user: &str, permission: &str) {
        let path = format!("/repos/{}/collaborators/{user}", repo.full_name());
        self.api_ok(Method::PUT, &path, Some(json!({"permission": permission})))
            .await;
    }

    /// The HTTP clone URL (no credentials in it).
    pub fn clone_url(&self, repo: &GiteaRepo) -> String {
        format!("{}/{}.git", self.url, repo.full_name())
    }

    /// `git push --force` of `refspec` from the work tree at `local`, over
    /// HTTP as the administrator.
    pub fn push(&self, local: &Path, repo: &GiteaRepo, refspec: &str) {
        let authed = self.clone_url(repo).replacen(
            "http://",
            &format!("http://{ADMIN}:{}@", self.admin_password),
            1,
        );
        let out = Command::new("git")
            .args(["push", "-q", "--force", &authed, refspec])
            .current_dir(local)
            .output()
            .unwrap_or_else(|e| panic!("git push: {e}"));
        assert!(
            out.status.success(),
            "git push {refspec} to Gitea: {}",
            String::from_utf8_lossy(&out.stderr).replace(&self.admin_password, "***")
        );
    }

    /// Every status of `sha`, oldest first, read through Gitea's API
    /// (Gitea's `highestindex` sorts by index ascending, despite its name).
    pub async fn statuses(&self, repo: &GiteaRepo, sha: &str) -> Vec<GiteaStatus> {
        let path = format!(
            "/repos/{}/commits/{sha}/statuses?sort=highestindex&limit=50",
            repo.full_name()
        );
        let v = self.api_ok(Method::GET, &path, None).await;
        let text = |s: &Value, k: &str| s[k].as_str().unwrap_or_default().to_string();
        v.as_array()
            .map(|all| {
                all.iter()
                    .map(|s| GiteaStatus {
                        state: text(s, "status"),
                        context: text(s, "context"),
                        description: text(s, "description"),
                        target_url: text(s, "target_url"),
                        creator: s["creator"]["login"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Statuses of `sha` with `context`, oldest first.
    pub async fn statuses_of(
        &self,
        repo: &GiteaRepo,
        sha: &str,
        context: &str,
    ) -> Vec<GiteaStatus> {
        let mut all = self.statuses(repo, sha).await;
        all.retain(|s| s.context == context);
        all
    }

    /// Opens a pull request from branch `head` into `base`; its number.
    /// Gitea records a pushed branch asynchronously (its push queue), and
    /// answers 404 to a pull request from a branch it has not recorded yet:
    /// this waits until the API knows the branch.
    pub async fn create_pull(&self, repo: &GiteaRepo, head: &str, base: &str, title: &str) -> u64 {
        let branch = format!("/repos/{}/branches/{head}", repo.full_name());
        crate::support::eventually(
            &format!("Gitea records branch {head}"),
            std::time::Duration::from_secs(60),
            || async { (self.api(Method::GET, &branch, None).await.0 == 200).then_some(()) },
        )
        .await;
        let path = format!("/repos/{}/pulls", repo.full_name());
        let v = self
            .api_ok(
                Method::POST,
                &path,
                Some(json!({"head": head, "base": base, "title": title})),
            )
            .await;
        v["number"]
            .as_u64()
            .unwrap_or_else(|| panic!("no PR number in {v}"))
    }

    /// Adds a Gitea-type webhook sending `events` (e.g. `push`,
    /// `pull_request`) as JSON to `url`, signed with `secret`; its id.
    pub async fn add_webhook(
        &self,
        repo: &GiteaRepo,
        url: &str,
        secret: &str,
        events: &[&str],
    ) -> u64 {
        let path = format!("/repos/{}/hooks", repo.full_name());
        let body = json!({
            "type": "gitea", "active": true, "events": events,
            "config": {"url": url, "content_type": "json", "secret": secret},
        });
        let v = self.api_ok(Method::POST, &path, Some(body)).await;
        v["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no hook id in {v}"))
    }

    /// Deletes a webhook. (Gitea's API cannot change a hook's secret:
    /// `PATCH …/hooks/{id}` ignores `config.secret`; replace the hook.)
    pub async fn delete_webhook(&self, repo: &GiteaRepo, hook: u64) {
        let path = format!("/repos/{}/hooks/{hook}", repo.full_name());
        self.api_ok(Method::DELETE, &path, None).await;
    }

    /// Gitea's combined state of `sha` (the one its commit list and PR page show).
    pub async fn combined_state(&self, repo: &GiteaRepo, sha: &str) -> String {
        let path = format!("/repos/{}/commits/{sha}/status", repo.full_name());
        let v = self.api_ok(Method::GET, &path, None).await;
        v["state"].as_str().unwrap_or_default().to_string()
    }
}
