//! Pull requests: the one comment tranche keeps on each (its content in
//! [`view`], its markdown in [`render`], the rollout's progress in
//! [`progress`], all pure), the commands people give in comments and
//! labels ([`command`], pure), and keeping the comment in place over the
//! forge's [`Conversation`](crate::report::forge::Conversation)
//! ([`thread`]).

pub mod command;
pub mod problems;
pub mod progress;
pub mod render;
pub mod thread;
pub mod view;

pub use command::{comment_command, label_command, Access, CommandText};
pub use progress::{BatchState, RolloutProgress};
pub use render::{render, MARKER};
pub use view::{ChangeView, ClusterView, PlanView, PullComment};
