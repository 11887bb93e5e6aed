//! [`Conversation`] on Gitea and Forgejo (checked against Gitea v1.26.1
//! in `tests/pull_requests.rs`): pull request comments are issue comments;
//! access is `GET /api/v1/repos/{o}/{r}/collaborators/{u}/permission`,
//! which Gitea answers for other users only to a repository
//! administrator, so tranche's token needs admin access for comment
//! commands. Labels are removed by id. Gitea has no commit comments: a
//! reply to one cannot be posted.

use super::super::conversation::{
    comments_of, id_of, is_not_found, missing, sha_at, Comment, Conversation, Person, PullInfo,
    Thread,
};
use super::super::http::encode_segment;
use super::super::ForgeError;
use super::Gitea;
use crate::report::pr::Access;
use reqwest::Method;
use serde_json::json;

impl Gitea {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, ForgeError> {
        self.endpoint
            .exchange(method, &self.server, path, self.headers()?, body.as_ref())
            .await
    }
}

#[async_trait::async_trait]
impl Conversation for Gitea {
    async fn comments(&self, pull: u64) -> Result<Vec<Comment>, ForgeError> {
        let path = format!("{}/issues/{pull}/comments", self.repo_path());
        Ok(comments_of(
            &self.call(Method::GET, &path, None).await?,
            "user",
        ))
    }

    async fn post(&self, thread: &Thread, body: &str) -> Result<(), ForgeError> {
        let Thread::Pull(n) = thread else {
            return Err(ForgeError::Config {
                message: "gitea: Gitea has no commit comments to reply to".to_string(),
            });
        };
        let path = format!("{}/issues/{n}/comments", self.repo_path());
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
            head: sha_at(&v["head"], "sha").ok_or_else(|| missing("gitea", &path, "head.sha"))?,
            merge_commit: sha_at(&v, "merge_commit_sha").filter(|_| v["merged"] == true),
        })
    }

    async fn remove_label(&self, pull: u64, label: &str) -> Result<(), ForgeError> {
        let path = format!("{}/issues/{pull}/labels", self.repo_path());
        let labels = self.call(Method::GET, &path, None).await?;
        let id = labels
            .as_array()
            .and_then(|all| all.iter().find(|l| l["name"] == label))
            .and_then(|l| id_of(&l["id"]));
        match id {
            Some(id) => self
                .call(Method::DELETE, &format!("{path}/{id}"), None)
                .await
                .map(|_| ()),
            None => Ok(()),
        }
    }
}
