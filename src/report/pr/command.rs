//! What a comment or a label asks for: `/tranche approve|pause|resume|abort`
//! on a line of its own (the first such line counts), or a label
//! `tranche/approve|pause|resume|abort` on the pull request; and who may
//! ask ([`Access`]: write access or more). Pure.

use crate::rollout::machine::control::Command;

/// What starts a command line in a comment.
pub const COMMAND_PREFIX: &str = "/tranche";
/// What starts a command label.
pub const LABEL_PREFIX: &str = "tranche/";

/// A command line found in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandText {
    /// A known command.
    Known(Command),
    /// `/tranche` followed by something else (answered with the list).
    Unknown(String),
}

/// The command a comment gives: its first line that is `/tranche` and a
/// word (leading spaces allowed). `None` when no line is one, so ordinary
/// discussion (and tranche's own comments, which never start a line so)
/// is left alone.
pub fn comment_command(body: &str) -> Option<CommandText> {
    body.lines().find_map(|line| {
        let rest = line.trim().strip_prefix(COMMAND_PREFIX)?;
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return None;
        }
        let word: String = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        Some(match Command::parse(&word.to_ascii_lowercase()) {
            Some(c) => CommandText::Known(c),
            None => CommandText::Unknown(word),
        })
    })
}

/// The command a label gives (`tranche/pause` → pause).
pub fn label_command(label: &str) -> Option<Command> {
    Command::parse(
        &label
            .trim()
            .strip_prefix(LABEL_PREFIX)?
            .to_ascii_lowercase(),
    )
}

/// A person's access to the repository, as the forge reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// No access (or unknown to the repository).
    None,
    /// Read (GitHub `read`/`triage`, GitLab guest/reporter).
    Read,
    /// Write (GitHub `write`/`maintain`, Gitea `write`, GitLab developer).
    Write,
    /// Admin or owner (GitLab maintainer/owner).
    Admin,
}

impl Access {
    /// Whether this access may approve, pause, resume or abort.
    pub fn may_control(self) -> bool {
        self >= Access::Write
    }

    /// GitHub's and Gitea's `permission` spelling.
    pub fn from_permission(text: &str) -> Access {
        match text {
            "admin" | "owner" => Access::Admin,
            "write" | "maintain" => Access::Write,
            "read" | "triage" => Access::Read,
            _ => Access::None,
        }
    }

    /// GitLab's `access_level` (30 is Developer, who may push).
    pub fn from_gitlab_level(level: u64) -> Access {
        match level {
            40.. => Access::Admin,
            30..=39 => Access::Write,
            10..=29 => Access::Read,
            _ => Access::None,
        }
    }

    /// Lowercase name for replies.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::None => "no",
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "admin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_a_line_of_its_own() {
        use CommandText::*;
        assert_eq!(
            comment_command("/tranche approve"),
            Some(Known(Command::Approve))
        );
        assert_eq!(
            comment_command("looks good\n  /tranche PAUSE please\n/tranche abort"),
            Some(Known(Command::Pause))
        );
        assert_eq!(comment_command("/tranche"), Some(Unknown(String::new())));
        assert_eq!(
            comment_command("/tranche deploy"),
            Some(Unknown("deploy".into()))
        );
        assert_eq!(comment_command("please /tranche approve"), None);
        assert_eq!(comment_command("/tranchey approve"), None);
        assert_eq!(comment_command("comment `/tranche approve`"), None);
    }

    #[test]
    fn labels_name_commands() {
        assert_eq!(label_command("tranche/pause"), Some(Command::Pause));
        assert_eq!(label_command("tranche/Abort"), Some(Command::Abort));
        assert_eq!(label_command("tranche/ship"), None);
        assert_eq!(label_command("pause"), None);
    }

    #[test]
    fn write_access_or_more_may_control() {
        assert!(Access::from_permission("write").may_control());
        assert!(Access::from_permission("maintain").may_control());
        assert!(Access::from_permission("admin").may_control());
        assert!(!Access::from_permission("read").may_control());
        assert!(!Access::from_permission("triage").may_control());
        assert!(!Access::from_permission("none").may_control());
        assert!(Access::from_gitlab_level(30).may_control());
        assert!(Access::from_gitlab_level(50).may_control());
        assert!(!Access::from_gitlab_level(20).may_control());
        assert!(!Access::from_gitlab_level(0).may_control());
    }
}
