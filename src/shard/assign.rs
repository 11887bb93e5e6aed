//! Which shard owns a cluster: rendezvous (highest random weight) hashing
//! over SHA-256. Every replica computes the same answer from the cluster's
//! name and the shard count alone, so no table has to be shared; adding a
//! shard moves only the clusters the new shard wins (about 1/N of them),
//! and removing one moves only that shard's clusters.

use sha2::{Digest, Sha256};

/// The shard (`0..shards`) that owns `cluster`. `shards` of 0 counts as 1.
pub fn shard_of(cluster: &str, shards: usize) -> usize {
    (0..shards.max(1))
        .max_by_key(|&shard| (score(cluster, shard), std::cmp::Reverse(shard)))
        .unwrap_or(0)
}

/// The clusters of `clusters` that `shard` owns, in the given order.
pub fn owned(clusters: &[String], shard: usize, shards: usize) -> Vec<&String> {
    clusters
        .iter()
        .filter(|c| shard_of(c, shards) == shard)
        .collect()
}

/// The weight of `shard` for `cluster`: the first 8 bytes of
/// SHA-256(`cluster` NUL `shard`).
fn score(cluster: &str, shard: usize) -> u64 {
    let mut hash = Sha256::new();
    hash.update(cluster.as_bytes());
    hash.update([0u8]);
    hash.update((shard as u64).to_be_bytes());
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(seed: &[String]) -> Vec<String> {
        let mut v = seed.to_vec();
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn one_shard_owns_everything() {
        for c in ["a", "prod-eu-1", ""] {
            assert_eq!(shard_of(c, 1), 0);
            assert_eq!(shard_of(c, 0), 0);
        }
    }

    /// Replicas of different releases must agree during an upgrade: the
    /// values are pinned (computed independently, with Python's hashlib).
    #[test]
    fn known_assignments_are_pinned() {
        let four: Vec<usize> = ["c1", "c2", "c3", "c4", "c5", "c6"]
            .iter()
            .map(|c| shard_of(c, 4))
            .collect();
        assert_eq!(four, vec![0, 3, 2, 1, 0, 0]);
        let two: Vec<usize> = (1..=10).map(|i| shard_of(&format!("w{i:02}"), 2)).collect();
        assert_eq!(two, vec![1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    }

    proptest! {
        // Each case hashes hundreds of names: fewer cases keep it quick.
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn stable_and_in_range(name in "[a-z0-9-]{1,40}", shards in 1usize..64) {
            let s = shard_of(&name, shards);
            prop_assert!(s < shards);
            prop_assert_eq!(s, shard_of(&name, shards));
        }

        /// Growing from N to N+1 shards moves a cluster only to the new
        /// shard, and moves about 1/(N+1) of them.
        #[test]
        fn adding_a_shard_moves_only_its_share(
            seed in proptest::collection::vec("[a-z0-9-]{3,24}", 400..600),
            shards in 1usize..12,
        ) {
            let clusters = names(&seed);
            let mut moved = 0usize;
            for c in &clusters {
                let before = shard_of(c, shards);
                let after = shard_of(c, shards + 1);
                if before != after {
                    prop_assert_eq!(after, shards, "{} moved between old shards", c);
                    moved += 1;
                }
            }
            let n = clusters.len() as f64;
            let expected = n / (shards + 1) as f64;
            // Binomial: within 5 standard deviations of the expectation.
            let sd = (n * (1.0 / (shards + 1) as f64) * (1.0 - 1.0 / (shards + 1) as f64)).sqrt();
            prop_assert!((moved as f64 - expected).abs() <= 5.0 * sd + 1.0,
                "moved {} of {}, expected about {:.0}", moved, clusters.len(), expected);
        }

        /// Over random names each shard gets close to its share: the
        /// largest and the smallest shard are within a bound.
        #[test]
        fn balanced(
            seed in proptest::collection::vec("[a-z0-9-]{3,24}", 900..1100),
            shards in 2usize..9,
        ) {
            let clusters = names(&seed);
            let mut counts = vec![0usize; shards];
            for c in &clusters {
                counts[shard_of(c, shards)] += 1;
            }
            let mean = clusters.len() as f64 / shards as f64;
            let max = *counts.iter().max().unwrap_or(&0) as f64;
            let min = *counts.iter().min().unwrap_or(&0) as f64;
            // 5 standard deviations of a binomial share each side.
            let sd = (mean * (1.0 - 1.0 / shards as f64)).sqrt();
            prop_assert!(max - mean <= 5.0 * sd, "counts {:?}", counts);
            prop_assert!(mean - min <= 5.0 * sd, "counts {:?}", counts);
        }

        #[test]
        fn owned_partitions_the_clusters(
            seed in proptest::collection::vec("[a-z0-9-]{3,12}", 0..50),
            shards in 1usize..6,
        ) {
            let clusters = names(&seed);
            let total: usize = (0..shards).map(|s| owned(&clusters, s, shards).len()).sum();
            prop_assert_eq!(total, clusters.len());
        }
    }
}
