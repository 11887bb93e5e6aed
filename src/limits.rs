//! How much input tranche reads from one commit, in one place, so a
//! hostile or broken commit cannot exhaust memory (an alias bomb, a huge
//! blob, a storm of documents). Every limit is checked before the input
//! is held in full, and a breach is an error naming the file.
//!
//! Sizes after parsing count what YAML aliases expand to: an anchored
//! value used N times counts N times. "Text" is the bytes of every key and
//! string; a "node" is one scalar, key, list or mapping. While a file is
//! parsed, the parser holds it to the per-file limits (so memory stays
//! bounded whatever the input); each document is then held to the
//! per-document ones, and the commit's files to the per-commit ones.
//!
//! The README's "Limits" section lists the same figures.

/// Bytes of one file as committed (the git blob), checked before it is read.
pub const MAX_FILE_BYTES: u64 = 16 * MIB;

/// Bytes of every file tranche reads from one commit, checked before each
/// blob is read.
pub const MAX_COMMIT_BYTES: u64 = 128 * MIB;

/// Text of one YAML document after aliases are expanded.
pub const MAX_DOCUMENT_TEXT: usize = 4 * MIB as usize;

/// Nodes of one YAML document after aliases are expanded.
pub const MAX_DOCUMENT_NODES: usize = 200_000;

/// Text of all the documents of one file after aliases are expanded.
pub const MAX_FILE_TEXT: usize = 16 * MIB as usize;

/// Nodes of all the documents of one file after aliases are expanded.
pub const MAX_FILE_NODES: usize = 1_000_000;

/// Documents in one file (empty ones included).
pub const MAX_FILE_DOCUMENTS: usize = 10_000;

/// Text of every YAML file of one commit after aliases are expanded.
pub const MAX_COMMIT_TEXT: usize = 128 * MIB as usize;

/// Nodes of every YAML file of one commit after aliases are expanded.
pub const MAX_COMMIT_NODES: usize = 4_000_000;

/// Lists and mappings nested in one another (Kubernetes' deepest schemas
/// stay well below; the parser and the checks recurse this deep at most).
pub const MAX_NESTING: usize = 100;

/// Events (scalars, starts and ends of lists and mappings) that aliases
/// may replay in one file.
pub const MAX_ALIAS_REPLAYED_EVENTS: usize = 200_000;

const MIB: u64 = 1024 * 1024;

// A document fits in a file, a file in a commit.
const _: () = assert!(MAX_DOCUMENT_TEXT <= MAX_FILE_TEXT && MAX_FILE_TEXT <= MAX_COMMIT_TEXT);
const _: () = assert!(MAX_DOCUMENT_NODES <= MAX_FILE_NODES && MAX_FILE_NODES <= MAX_COMMIT_NODES);
const _: () = assert!(MAX_FILE_BYTES <= MAX_COMMIT_BYTES);

/// `bytes` for messages: `16 MiB`, `3.5 KiB`, `512 bytes`.
pub fn human_bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB => format!("{:.1} KiB", b as f64 / KIB as f64),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(MAX_FILE_BYTES), "16 MiB");
        assert_eq!(human_bytes(3 * MIB / 2), "1.5 MiB");
        assert_eq!(human_bytes(3584), "3.5 KiB");
        assert_eq!(human_bytes(512), "512 bytes");
    }
}
