//! Pull requests on the forge: the one comment tranche keeps on each
//! previewed pull request (the plan, then the rollout after the merge),
//! and the commands people with write access give in comments
//! (`/tranche approve|pause|resume|abort`) and labels (`tranche/pause`).
//!
//! **Which rollout a command addresses.** A command on a pull request
//! acts on the rollout in flight only if that rollout is for the pull
//! request's merge commit (merge, squash or rebase, as the forge reports
//! it) or its head (a fast-forward); a command on a commit (GitHub,
//! GitLab) only if the rollout is for that commit. Anything else is
//! refused with a reply, so an approval meant for one change never lets
//! another through.
//!
//! **Who may.** The commenter's (labeller's) access is asked of the forge
//! each time; less than write access is refused with a reply naming it.
//! Orders go through [`super::control::give`], as the control API's do,
//! and are recorded as `alice via a comment on #3`. A label is taken off
//! again once acted on, so it can be put on again.

mod feed;

use super::control::{give, Refusal};
use crate::report::forge::{Conversation, Person, Thread};
use crate::report::pr::view::Preview;
use crate::report::pr::{self, comment_command, label_command, CommandText, PullComment};
use crate::report::webhook::{CommentEvent, LabelEvent};
use crate::revision::short;
use crate::rollout::event::{Observer, RolloutEvent};
use crate::rollout::inbox::Inbox;
use crate::rollout::machine::control::{Command, Order};
use crate::rollout::state::RolloutState;
use feed::CommentFeed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Pull requests kept in memory (their comments and feeds), newest first.
const TRACKED: usize = 200;

/// `pullRequests:` in the daemon config (needs `forge:`; commands arrive
/// through `webhook:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PullRequestsConfig {
    /// Keep one comment on each previewed pull request.
    pub comment: bool,
    /// Act on comment and label commands.
    pub commands: bool,
}

impl Default for PullRequestsConfig {
    fn default() -> Self {
        PullRequestsConfig {
            comment: true,
            commands: true,
        }
    }
}

/// What one pull request's comment says, and where its edits go.
struct Tracked {
    comment: PullComment,
    feed: CommentFeed,
}

/// The daemon's side of pull requests.
pub struct PullRequests {
    conversation: Arc<dyn Conversation>,
    config: PullRequestsConfig,
    inbox: Arc<Inbox>,
    state: RolloutState,
    tracked: Mutex<BTreeMap<u64, Tracked>>,
}

impl PullRequests {
    /// Pull requests over `conversation`, giving orders through `inbox`.
    pub fn new(
        conversation: Arc<dyn Conversation>,
        config: PullRequestsConfig,
        inbox: Arc<Inbox>,
        state: RolloutState,
    ) -> PullRequests {
        PullRequests {
            conversation,
            config,
            inbox,
            state,
            tracked: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether commands are acted on.
    pub fn commands(&self) -> bool {
        self.config.commands
    }

    /// The number of a pull request's head ref (`refs/pull/3/head`,
    /// `refs/merge-requests/3/head`).
    pub fn number_of(git_ref: &str) -> Option<u64> {
        let rest = git_ref
            .strip_prefix("refs/pull/")
            .or_else(|| git_ref.strip_prefix("refs/merge-requests/"))?;
        rest.strip_suffix("/head")?.parse().ok()
    }

    /// Shows `preview` of `head` in pull request `pull`'s comment (keeping
    /// no progress: a new head is a new plan).
    pub fn show_preview(&self, pull: u64, head: &str, preview: Preview) {
        if !self.config.comment {
            return;
        }
        let comment = PullComment {
            head: head.to_string(),
            preview,
            progress: None,
        };
        self.show(pull, comment);
    }

    fn show(&self, pull: u64, comment: PullComment) {
        let body = pr::render(&comment);
        let mut tracked = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        match tracked.get_mut(&pull) {
            Some(t) => {
                t.comment = comment;
                t.feed.show(body);
            }
            None => {
                let feed = CommentFeed::start(self.conversation.clone(), pull, body);
                tracked.insert(pull, Tracked { comment, feed });
                while tracked.len() > TRACKED {
                    tracked.pop_first();
                }
            }
        }
    }

    /// The tracked pull request a commit of the branch comes from: one
    /// whose previewed head is the commit or one it merges (`merged`: its
    /// parents after the first), else the number its `message` names
    /// (`(#3)`, `!3`) if tracked.
    pub fn pull_of(&self, commit: &str, merged: &[String], message: &str) -> Option<u64> {
        let tracked = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        let by_head = tracked
            .iter()
            .find(|(_, t)| t.comment.head == commit || merged.iter().any(|p| p == &t.comment.head));
        if let Some((n, _)) = by_head {
            return Some(*n);
        }
        named_pulls(message)
            .into_iter()
            .find(|n| tracked.contains_key(n))
    }

    /// An observer that shows the rollout of `commit` in pull request
    /// `pull`'s comment.
    pub fn progress(self: &Arc<Self>, pull: u64, commit: &str) -> PullProgress {
        PullProgress {
            pulls: self.clone(),
            pull,
            commit: commit.to_string(),
        }
    }

    fn on_rollout_event(&self, pull: u64, commit: &str, event: &RolloutEvent) {
        let mut tracked = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        let Some(t) = tracked.get_mut(&pull) else {
            return;
        };
        let progress = match &mut t.comment.progress {
            Some(p) if p.commit == commit => p,
            other => other.insert(pr::RolloutProgress::new(commit)),
        };
        if progress.apply(event) {
            t.feed.show(pr::render(&t.comment));
        }
    }

    /// Acts on a new comment: a command from someone with write access
    /// goes to the rollout; every command gets a reply.
    pub async fn on_comment(&self, c: CommentEvent) {
        if c.body.contains(pr::MARKER) {
            return;
        }
        let Some(text) = comment_command(&c.body) else {
            return;
        };
        let command = match text {
            CommandText::Known(command) => command,
            CommandText::Unknown(word) => {
                let reply = format!(
                    "@{}: tranche does not know `/tranche {word}`; the commands are \
                     `approve`, `pause`, `resume` and `abort`.",
                    c.author.login
                );
                self.reply(&c.thread, &reply).await;
                return;
            }
        };
        let via = match &c.thread {
            Thread::Pull(n) => format!("a comment on #{n}"),
            Thread::Commit(sha) => format!("a comment on {}", short(sha.as_str())),
        };
        let answer = self.command(&c.thread, &c.author, command, &via).await;
        self.reply(&c.thread, &format!("@{}: {answer}", c.author.login))
            .await;
    }

    /// Acts on labels put on a pull request: each `tranche/<command>`
    /// label is a command, answered in a comment and then taken off.
    pub async fn on_labels(&self, l: LabelEvent) {
        let thread = Thread::Pull(l.pull);
        for label in &l.labels {
            let Some(command) = label_command(label) else {
                continue;
            };
            let via = format!("the label {label} on #{}", l.pull);
            let answer = self.command(&thread, &l.by, command, &via).await;
            self.reply(&thread, &format!("@{}: `{label}`: {answer}", l.by.login))
                .await;
            if let Err(e) = self.conversation.remove_label(l.pull, label).await {
                tracing::warn!(pull = l.pull, %label, error = %e, "cannot take the label off");
            }
        }
    }

    /// Checks the person's access and the rollout addressed, then gives
    /// the order; what to tell the person.
    async fn command(&self, thread: &Thread, who: &Person, command: Command, via: &str) -> String {
        match self.conversation.access(who).await {
            Ok(access) if access.may_control() => {}
            Ok(access) => {
                tracing::warn!(user = %who.login, %command, access = access.as_str(),
                    "command refused: no write access");
                return format!(
                    "refused: `{command}` needs write access to the repository, and you have {} \
                     access. Nothing changed.",
                    access.as_str()
                );
            }
            Err(e) => {
                tracing::warn!(user = %who.login, error = %e, "cannot check access");
                return format!(
                    "refused: tranche cannot check your access to the repository ({e}). \
                     Nothing changed."
                );
            }
        }
        let commits = match thread {
            Thread::Commit(sha) => vec![sha.clone()],
            Thread::Pull(n) => match self.conversation.pull(*n).await {
                Ok(info) => info.commits().into_iter().map(String::from).collect(),
                Err(e) => return format!("refused: cannot read pull request #{n} ({e})."),
            },
        };
        let running = match self.state.record() {
            Ok(Some(r)) => r.commit,
            Ok(None) => return format!("refused: {}.", Refusal::NoRollout),
            Err(e) => return format!("refused: {e}"),
        };
        if !commits.contains(&running) {
            return format!(
                "refused: the rollout in flight is for {}, which is not this {}. Nothing changed.",
                short(&running),
                match thread {
                    Thread::Pull(_) => "pull request's merge commit or head",
                    Thread::Commit(_) => "commit",
                }
            );
        }
        let order = Order {
            command,
            by: format!("{} via {via}", who.login),
        };
        tracing::info!(user = %who.login, %command, %via, "command from the forge");
        match give(&self.inbox, &self.state, order).await {
            Ok(what) => format!("done: {what}."),
            Err(why) => format!("refused: {why}."),
        }
    }

    async fn reply(&self, thread: &Thread, body: &str) {
        if let Err(e) = self.conversation.post(thread, body).await {
            tracing::warn!(error = %e, "cannot reply on the forge");
        }
    }
}

/// Shows a rollout's events in a pull request's comment.
pub struct PullProgress {
    pulls: Arc<PullRequests>,
    pull: u64,
    commit: String,
}

impl Observer for PullProgress {
    fn on_event(&self, event: &RolloutEvent) {
        self.pulls.on_rollout_event(self.pull, &self.commit, event);
    }
}

/// The pull request numbers a merge message names: `(#3)`, `#3 from`
/// (GitHub, Gitea) and `!3` (GitLab).
fn named_pulls(message: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, c) in message.char_indices() {
        if c == '#' || c == '!' {
            let digits: String = message[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_numbers_from_refs_and_merge_messages() {
        assert_eq!(PullRequests::number_of("refs/pull/12/head"), Some(12));
        assert_eq!(
            PullRequests::number_of("refs/merge-requests/4/head"),
            Some(4)
        );
        assert_eq!(PullRequests::number_of("refs/heads/main"), None);
        assert_eq!(PullRequests::number_of("refs/pull/x/head"), None);
        assert_eq!(
            named_pulls("Merge pull request 'Try 5.0.0' (#3) from feature into main"),
            vec![3]
        );
        assert_eq!(
            named_pulls("Title\n\nSee merge request acme/fleet!7"),
            vec![7]
        );
        assert!(named_pulls("no number # here").is_empty());
    }
}
