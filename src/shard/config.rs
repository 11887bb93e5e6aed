//! `sharding:` in the daemon config. The Leases and the protocol's
//! ConfigMaps live where `leaderElection:` points (its kubeconfig,
//! context and namespace), which sharding therefore requires.

use serde::{Deserialize, Serialize};

/// Shard settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ShardingConfig {
    /// Number of shards; clusters are spread over them by a stable hash.
    pub shards: usize,
    /// Compete for the leader Lease and coordinate when holding it.
    pub coordinator: bool,
    /// Compete for a shard Lease and work its clusters when holding it.
    pub shard: bool,
    /// Shard Leases are `<prefix>-<i>`, their status ConfigMaps
    /// `<prefix>-<i>-status`.
    pub lease_prefix: String,
    /// The batch plan ConfigMap.
    pub plan_name: String,
}

impl Default for ShardingConfig {
    fn default() -> Self {
        ShardingConfig {
            shards: 1,
            coordinator: true,
            shard: true,
            lease_prefix: "tranche-shard".into(),
            plan_name: "tranche-batch-plan".into(),
        }
    }
}

impl ShardingConfig {
    /// Name of shard `i`'s Lease.
    pub fn lease_name(&self, i: usize) -> String {
        format!("{}-{i}", self.lease_prefix)
    }

    /// Name of shard `i`'s status ConfigMap.
    pub fn status_name(&self, i: usize) -> String {
        format!("{}-{i}-status", self.lease_prefix)
    }

    /// Errors in the settings, as a message.
    pub fn check(&self, has_leader_election: bool) -> Result<(), String> {
        if self.shards == 0 {
            return Err("sharding: shards must be at least 1".into());
        }
        if !self.coordinator && !self.shard {
            return Err("sharding: a replica must be a coordinator, a shard or both".into());
        }
        if !has_leader_election {
            return Err(
                "sharding: needs leaderElection: (where the Leases and ConfigMaps live)".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let c = ShardingConfig::default();
        assert_eq!(c.lease_name(3), "tranche-shard-3");
        assert_eq!(c.status_name(0), "tranche-shard-0-status");
    }

    #[test]
    fn bad_settings_are_refused() {
        let zero = ShardingConfig {
            shards: 0,
            ..ShardingConfig::default()
        };
        assert!(zero.check(true).is_err());
        let idle = ShardingConfig {
            coordinator: false,
            shard: false,
            ..ShardingConfig::default()
        };
        assert!(idle.check(true).is_err());
        assert!(ShardingConfig::default().check(false).is_err());
        assert!(ShardingConfig::default().check(true).is_ok());
    }

    #[test]
    fn the_daemon_config_checks_its_sharding_block() {
        use crate::daemon::config::DaemonConfig;
        let parse = |text: &str| -> Result<DaemonConfig, String> {
            let c: DaemonConfig = crate::yaml::from_str(text).map_err(|e| e.message)?;
            c.check()?;
            Ok(c)
        };
        let c = parse("repo: {path: /r}\nleaderElection: {}\nsharding: {shards: 4}\n").unwrap();
        let s = c.sharding.unwrap();
        assert_eq!((s.shards, s.coordinator, s.shard), (4, true, true));
        let alone = parse("repo: {path: /r}\nsharding: {shards: 2}\n").unwrap_err();
        assert!(alone.contains("leaderElection"), "{alone}");
        assert!(parse("repo: {path: /r}\nleaderElection: {}\nsharding: {shard: 2}\n").is_err());
    }
}
