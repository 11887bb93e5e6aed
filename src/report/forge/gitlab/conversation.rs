//! [`Conversation`] on GitLab (API v4): merge request comments are notes
//! (system notes left out); access is the member's `access_level` from
//! `GET /projects/{p}/members/all/{user id}` (inherited members included;
//! 404 for a stranger), the id coming from the webhook or from
//! `GET /users?username=`.

use super::super::conversation::{
    comments_of, id_of, is_not_found, missing, sha_at, Comment, Conversation, Person, PullInfo,
    Thread,
};
use super::super::http::{check_sha, encode_segment};
use super::super::ForgeError;
use super::GitLab;
use crate::report::pr::Access;
use reqwest::Method;
use serde_json::json;

impl GitLab {
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

    async fn user_id(&self, person: &Person) -> Result<Option<u64>, ForgeError> {
        if person.id.is_some() {
            return Ok(person.id);
        }
        let path = format!("/api/v4/users?username={}", encode_segment(&person.login));
        let v = self.call(Method::GET, &path, None).await?;
        Ok(v.as_array()
            .and_then(|a| a.first())
            .and_then(|u| id_of(&u["id"])))
    }
}

#[async_trait::async_trait]
impl Conversation for GitLab {
    async fn comments(&self, pull: u64) -> Result<Vec<Comment>, ForgeError> {
        let path = format!(
            "{}/merge_requests/{pull}/notes?per_page=100&sort=asc&order_by=created_at",
            self.project_path()
        );
        let v = self.call(Method::GET, &path, None).await?;
        let system: Vec<u64> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|n| n["system"] == true)
                    .filter_map(|n| id_of(&n["id"]))
                    .collect()
            })
            .unwrap_or_default();
        let mut all = comments_of(&v, "author");
        all.retain(|c| !system.contains(&c.id));
        Ok(all)
    }

    async fn post(&self, thread: &Thread, body: &str) -> Result<(), ForgeError> {
        let (path, body) = match thread {
            Thread::Pull(n) => (
                format!("{}/merge_requests/{n}/notes", self.project_path()),
                json!({ "body": body }),
            ),
            Thread::Commit(sha) => {
                check_sha(sha)?;
                (
                    format!("{}/repository/commits/{sha}/comments", self.project_path()),
                    json!({ "note": body }),
                )
            }
        };
        self.call(Method::POST, &path, Some(body)).await.map(|_| ())
    }

    async fn edit(&self, pull: u64, id: u64, body: &str) -> Result<(), ForgeError> {
        let path = format!("{}/merge_requests/{pull}/notes/{id}", self.project_path());
        self.call(Method::PUT, &path, Some(json!({ "body": body })))
            .await
            .map(|_| ())
    }

    async fn access(&self, person: &Person) -> Result<Access, ForgeError> {
        let Some(id) = self.user_id(person).await? else {
            return Ok(Access::None);
        };
        let path = format!("{}/members/all/{id}", self.project_path());
        match self.call(Method::GET, &path, None).await {
            Ok(v) => Ok(Access::from_gitlab_level(
                v["access_level"].as_u64().unwrap_or(0),
            )),
            Err(e) if is_not_found(&e) => Ok(Access::None),
            Err(e) => Err(e),
        }
    }

    async fn pull(&self, pull: u64) -> Result<PullInfo, ForgeError> {
        let path = format!("{}/merge_requests/{pull}", self.project_path());
        let v = self.call(Method::GET, &path, None).await?;
        Ok(PullInfo {
            head: sha_at(&v, "sha").ok_or_else(|| missing("gitlab", &path, "sha"))?,
            merge_commit: sha_at(&v, "merge_commit_sha")
                .or_else(|| sha_at(&v, "squash_commit_sha")),
        })
    }

    async fn remove_label(&self, pull: u64, label: &str) -> Result<(), ForgeError> {
        let path = format!("{}/merge_requests/{pull}", self.project_path());
        self.call(Method::PUT, &path, Some(json!({ "remove_labels": label })))
            .await
            .map(|_| ())
    }
}
