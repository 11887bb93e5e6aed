//! rollout (being built).
