//! [`Conversation`] on GitHub (REST API 2022-11-28): pull request comments
//! are issue comments; access is `GET /repos/{o}/{r}/collaborators/{u}/permission`
//! (`admin`, `maintain`, `write`, `triage`, `read`, `none`; 404 for a
//! stranger), which needs a token with push access.

use super::super::conversation::{
    comments_of, is_not_found, missing, sha_at, Comment, Conversation, Person, PullInfo, Thread,
};
use super::super::http::{check_sha, encode_segment};
use super::super::ForgeError;
use super::GitHub;
use crate::report::pr::Access;
use reqwest::Method;
use serde_json::json;

impl GitHub {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, ForgeError> {
        self.endpoint
            .exchange(method, &self.api, path, self.headers()?, body.as_ref())
            .await
    }
}

#[async_trait::async_trait]
impl Conversation for GitHub {
    async fn comments(&self, pull: u64) -> Result<Vec<Comment>, ForgeError> {
        let path = format!("{}/issues/{pull}/comments?per_page=100", self.repo_path());
        Ok(comments_of(
            &self.call(Method::GET, &path, None).await?,
            "user",
        ))
    }

    async fn post(&self, thread: &Thread, body: &str) -> Result<(), ForgeError> {
        let path = match thread {
            Thread::Pull(n) => format!("{}/issues/{n}/comments", self.repo_path()),
            Thread::Commit(sha) => {
                check_sha(sha)?;
                format!("{}/commits/{sha}/comments", self.repo_path())
            }
        };
        self.call(Method::POST, &path, Some(json!({ "body": body })))
            .await
            .map(|_| ())
    }

    async fn edit(&self, _pull: u64, id: u64, body: &str) -> Result<(), ForgeError> {
        let path = format!("{}/issues/comments/{id}", self.repo_path());
        self.call(Method::PATCH, &path, Some(json!({ "body": body })))
            .await
            .map(|_| ())
    }

    async fn access(&self, person: &Person) -> Result<Access, ForgeError> {
        let path = format!(
            "{}/collaborators/{}/permission",
            self.repo_path(),
            encode_segment(&person.login)
        );
        match self.call(Method::GET, &path, None).await {
            Ok(v) => Ok(Access::from_permission(
                v["permission"].as_str().unwrap_or_default(),
            )),
            Err(e) if is_not_found(&e) => Ok(Access::None),
            Err(e) => Err(e),
        }
    }

    async fn pull(&self, pull: u64) -> Result<PullInfo, ForgeError> {
        let path = format!("{}/pulls/{pull}", self.repo_path());
        let v = self.call(Method::GET, &path, None).await?;
        Ok(PullInfo {
            head: sha_at(&v["head"], "sha").ok_or_else(|| missing("github", &path, "head.sha"))?,
            merge_commit: sha_at(&v, "merge_commit_sha").filter(|_| v["merged"] == true),
        })
    }

    async fn remove_label(&self, pull: u64, label: &str) -> Result<(), ForgeError> {
        let path = format!(
            "{}/issues/{pull}/labels/{}",
            self.repo_path(),
            encode_segment(label)
        );
        self.call(Method::DELETE, &path, None).await.map(|_| ())
    }
}
