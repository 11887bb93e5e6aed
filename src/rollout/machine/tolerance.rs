//! `maxFailures`: how many clusters of a batch may fail before the batch
//! fails. A tolerated cluster leaves the batch (it is neither gated nor
//! done, and is named in the outcome); the rest of the batch goes on. Once
//! the batch's failures exceed the allowance, the first failure beyond it
//! fails the batch as usual.

use super::Terms;
use crate::rollout::record::{Failure, RolloutRecord};

/// Records `failures` of batch `batch` as tolerated while the allowance
/// lasts; returns the failure that fails the batch, if any.
pub(super) fn judge(
    record: &mut RolloutRecord,
    batch: usize,
    failures: Vec<Failure>,
    terms: &Terms,
) -> Option<Failure> {
    let members = record.batch(batch).to_vec();
    let allowed = terms.max_failures.of(members.len());
    let mut count = members
        .iter()
        .filter(|c| record.tolerated.contains_key(*c))
        .count();
    for f in failures {
        if record.tolerated.contains_key(&f.cluster) {
            continue;
        }
        if count >= allowed || !members.contains(&f.cluster) {
            return Some(f);
        }
        count += 1;
        record.tolerated.insert(f.cluster.clone(), f);
    }
    None
}
