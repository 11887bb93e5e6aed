//! The clock rollouts read: wall time in production, a clock the test
//! moves by hand ([`ManualClock`]) where a test must control time windows
//! and pauses. Only the waits before batches read it; timeouts of health
//! gates keep using tokio's monotonic timers.

use std::sync::atomic::{AtomicU64, Ordering};

/// Tells the time in unix seconds.
pub trait Clock: Send + Sync {
    /// Unix seconds now.
    fn now(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        super::record::now()
    }
}

/// A clock that stands still until told otherwise.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock showing `at` (unix seconds).
    pub fn at(at: u64) -> ManualClock {
        ManualClock(AtomicU64::new(at))
    }

    /// Sets the time to `at`.
    pub fn set(&self, at: u64) {
        self.0.store(at, Ordering::Release);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}
