//! `failover:` and `dynamicWeights:` — how often the leader looks at what
//! renders beside git (cluster health for `spec.failover`, free capacity
//! for `dynamicWeight`) and rolls out an input change when it matters.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `failover:` — the failover loop (apps with `spec.failover`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FailoverConfig {
    /// How often every placed cluster is pinged and the app's workloads on
    /// it judged; `0s` turns the loop off.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
}

impl Default for FailoverConfig {
    /// Every 10 s.
    fn default() -> Self {
        FailoverConfig {
            check_interval: Duration::from_secs(10),
        }
    }
}

/// `dynamicWeights:` — recomputing weights by free capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DynamicWeightsConfig {
    /// How often capacities are read again and the weights recomputed (a
    /// change beyond the hysteresis rolls out); `0s`: only at commits.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

impl Default for DynamicWeightsConfig {
    /// Every minute.
    fn default() -> Self {
        DynamicWeightsConfig {
            interval: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::DaemonConfig;
    use std::time::Duration;

    #[test]
    fn intervals_default_and_parse() {
        let c: DaemonConfig = crate::yaml::from_str("repo: {path: /srv/fleet}\n").unwrap();
        assert_eq!(c.failover.check_interval, Duration::from_secs(10));
        assert_eq!(c.dynamic_weights.interval, Duration::from_secs(60));
        let c: DaemonConfig = crate::yaml::from_str(
            "repo: {path: /srv/fleet}\nfailover: {checkInterval: 2s}\ndynamicWeights: {interval: 0s}\n",
        )
        .unwrap();
        assert_eq!(c.failover.check_interval, Duration::from_secs(2));
        assert!(c.dynamic_weights.interval.is_zero());
        assert!(crate::yaml::from_str::<DaemonConfig>(
            "repo: {path: /srv/fleet}\nfailover: {interval: 2s}\n"
        )
        .is_err());
    }
}
