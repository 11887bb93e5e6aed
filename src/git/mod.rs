//! Reading the repository through git2: a commit's tree, never the work
//! tree, so what is rendered is exactly what was committed.

pub mod notes;
pub mod snapshot;
pub mod tree;

pub use snapshot::{GitError, RepoSource, Snapshot};
