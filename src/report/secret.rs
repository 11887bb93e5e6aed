//! A credential held in memory (forge token, webhook secret) that cannot leak
//! through formatting: `Debug` and `Display` print `***`, and load errors name
//! where the secret was looked for, never what was read.

use std::fmt;
use std::path::{Path, PathBuf};

/// Errors loading a secret. None of them carries the secret's content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read secret file {path}: {source} (check the path and its permissions)")]
    Unreadable {
        /// The file named in the configuration.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file holds nothing but whitespace.
    #[error("secret file {path} is empty (write the token into it)")]
    EmptyFile {
        /// The file named in the configuration.
        path: PathBuf,
    },
    /// The environment variable is unset, empty or not UTF-8.
    #[error("environment variable {var} is unset or empty (export the token in it)")]
    MissingEnv {
        /// The variable named in the configuration.
        var: String,
    },
}

/// A secret string. Only [`Secret::expose`] hands out the content.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret already in memory (tests, values from a Kubernetes Secret).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Reads a secret file, dropping the trailing newline editors and
    /// `kubectl create secret --from-file` leave behind.
    pub fn from_file(path: &Path) -> Result<Secret, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let value = text.trim_end_matches(['\n', '\r']);
        if value.trim().is_empty() {
            return Err(SecretError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        Ok(Secret(value.to_string()))
    }

    /// Reads a secret from an environment variable.
    pub fn from_env(var: &str) -> Result<Secret, SecretError> {
        match std::env::var(var) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret(value)),
            _ => Err(SecretError::MissingEnv {
                var: var.to_string(),
            }),
        }
    }

    /// The secret itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the secret in `text` with `***`, for text
    /// that came from elsewhere (a forge echoing a header in an error body).
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A URL without its user info, for messages: `https://user:token@host/x`
/// → `https://***@host/x`. A password may hold unencoded `@` or `/`, so
/// everything up to the last `@` before the first `/` that follows an `@`
/// goes: an `@` in a path is rare and hiding more is the safe side.
/// Strings without `://` (scp-like `git@host:path`) carry no password and
/// are returned as they are.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let Some(first_at) = rest.find('@') else {
        return url.to_string();
    };
    let host_end = rest[first_at..]
        .find('/')
        .map_or(rest.len(), |i| first_at + i);
    let last_at = rest[..host_end].rfind('@').unwrap_or(first_at);
    format!("{}***{}", &url[..scheme_end], &rest[last_at..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn formatting_hides_the_value() {
        let s = Secret::new("ghp_hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(***)");
        assert_eq!(s.expose(), "ghp_hunter2");
    }

    #[test]
    fn file_trailing_newline_is_trimmed() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "tok en").unwrap();
        let s = Secret::from_file(f.path()).unwrap();
        assert_eq!(s.expose(), "tok en");
    }

    #[test]
    fn file_errors_name_the_file_not_the_content() {
        let missing = Path::new("/nonexistent/tranche/token");
        let err = Secret::from_file(missing).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/tranche/token"), "{err}");

        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "   ").unwrap();
        let err = Secret::from_file(f.path()).unwrap_err().to_string();
        assert!(err.contains("is empty"), "{err}");
    }

    #[test]
    fn env_missing_names_the_variable() {
        let err = Secret::from_env("TRANCHE_TEST_SURELY_UNSET_VAR").unwrap_err();
        assert!(err.to_string().contains("TRANCHE_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let s = Secret::new("abc123");
        assert_eq!(
            s.redact("token abc123 / Bearer abc123"),
            "token *** / Bearer ***"
        );
        assert_eq!(Secret::new("").redact("text"), "text");
    }

    #[test]
    fn urls_lose_all_their_user_info() {
        for (url, want) in [
            (
                "https://bot:s3cret@git.example.com/a.git",
                "https://***@git.example.com/a.git",
            ),
            (
                "https://bot:p@ss@w0rd@git.example.com/a.git",
                "https://***@git.example.com/a.git",
            ),
            (
                "https://bot:p/ss@git.example.com/a.git",
                "https://***@git.example.com/a.git",
            ),
            (
                "ssh://git@git.example.com:22/a.git",
                "ssh://***@git.example.com:22/a.git",
            ),
            (
                "https://git.example.com/a.git",
                "https://git.example.com/a.git",
            ),
            (
                "git@github.com:acme/fleet.git",
                "git@github.com:acme/fleet.git",
            ),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }
}
