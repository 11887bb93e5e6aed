//! How a rollout is staged over clusters, as validated data: batch
//! [`Steps`] (a ratio, or cumulative counts and percentages), the
//! failures a batch tolerates ([`Allowance`]), and the cron-like
//! [`TimeWindow`]s in which a new batch may start. Pure queries, no clock:
//! callers pass the instant.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::fmt;
use std::time::Duration;

/// `spec.steps`: how many clusters each batch holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Steps {
    /// Plain integers, e.g. `[1, 2, 7]`: shares of the clusters.
    Ratio(Vec<u32>),
    /// Any percentage in the list, e.g. `[1, 10%, 100%]`: each entry is the
    /// cumulative number of clusters done by the end of its batch (a count,
    /// or a share of all participants rounded up). The last entry is 100%.
    Targets(Vec<Target>),
}

/// One cumulative entry of [`Steps::Targets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// This many clusters in total.
    Count(u32),
    /// This share (1–100) of the participants, rounded up.
    Percent(u32),
}

impl Target {
    /// The cumulative number of clusters among `n` this entry asks for
    /// (never more than `n`).
    pub fn of(self, n: usize) -> usize {
        match self {
            Target::Count(c) => usize::try_from(c).unwrap_or(usize::MAX).min(n),
            Target::Percent(p) => {
                let share = (n as u128 * u128::from(p)).div_ceil(100);
                usize::try_from(share).unwrap_or(n).min(n)
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Count(c) => write!(f, "{c}"),
            Target::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `spec.maxFailures`: clusters of one batch allowed to fail before the
/// batch fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// This many clusters (0: any failure fails the batch).
    Count(u32),
    /// This share (0–100) of the batch, rounded down.
    Percent(u32),
}

impl Default for Allowance {
    /// No failure tolerated.
    fn default() -> Allowance {
        Allowance::Count(0)
    }
}

impl Allowance {
    /// How many of a batch of `size` clusters may fail.
    pub fn of(self, size: usize) -> usize {
        match self {
            Allowance::Count(c) => usize::try_from(c).unwrap_or(usize::MAX),
            Allowance::Percent(p) => {
                usize::try_from(size as u128 * u128::from(p) / 100).unwrap_or(size)
            }
        }
    }
}

/// One entry of `spec.windows`: a batch may start while `now` lies within
/// `duration` after a time the cron `schedule` names, in `time_zone`.
#[derive(Debug, Clone)]
pub struct TimeWindow {
    /// The schedule as written (`0 9 * * 1-5`).
    pub schedule_text: String,
    /// The parsed schedule.
    pub schedule: super::cron::Cron,
    /// How long the window stays open after each scheduled time.
    pub duration: Duration,
    /// IANA name of the time zone (`UTC`, `Europe/Berlin`).
    pub zone_name: String,
    /// The zone itself.
    pub zone: TimeZone,
}

impl PartialEq for TimeWindow {
    fn eq(&self, other: &Self) -> bool {
        self.schedule_text == other.schedule_text
            && self.duration == other.duration
            && self.zone_name == other.zone_name
    }
}

impl Eq for TimeWindow {}

/// Longest window accepted: scanning back over it stays cheap.
pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 24 * 3600);

impl TimeWindow {
    /// Whether the window is open at `at` (unix seconds).
    pub fn is_open(&self, at: u64) -> bool {
        let minutes = self.duration.as_secs().div_ceil(60);
        let at_minute = at - at % 60;
        (0..minutes).any(|back| {
            at_minute
                .checked_sub(back * 60)
                .is_some_and(|t| self.fires_at(t) && t + self.duration.as_secs() > at)
        })
    }

    /// Whether the schedule names the minute starting at `t`.
    fn fires_at(&self, t: u64) -> bool {
        let Ok(ts) = Timestamp::from_second(i64::try_from(t).unwrap_or(i64::MAX)) else {
            return false;
        };
        self.schedule
            .matches(&ts.to_zoned(self.zone.clone()).datetime())
    }

    /// The first instant at or after `at` when the window is open,
    /// searched up to 400 days ahead (`None` beyond).
    pub fn next_open(&self, at: u64) -> Option<u64> {
        if self.is_open(at) {
            return Some(at);
        }
        let start = at - at % 60 + 60;
        let limit = 400u64 * 24 * 60;
        (0..limit)
            .map(|i| start + i * 60)
            .find(|&t| self.fires_at(t))
    }
}

impl fmt::Display for TimeWindow {
    /// `"0 9 * * 1-5" for 8h (Europe/Berlin)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} for {} ({})",
            self.schedule_text,
            humantime::format_duration(self.duration),
            self.zone_name
        )
    }
}

/// Whether a new batch may start at `at` under `windows` (none: always).
pub fn windows_open(windows: &[TimeWindow], at: u64) -> bool {
    windows.is_empty() || windows.iter().any(|w| w.is_open(at))
}

/// The first instant at or after `at` when some window is open.
pub fn next_open(windows: &[TimeWindow], at: u64) -> Option<u64> {
    if windows.is_empty() {
        return Some(at);
    }
    windows.iter().filter_map(|w| w.next_open(at)).min()
}

/// Formats unix seconds as an RFC 3339 instant in UTC (for messages).
pub fn instant(at: u64) -> String {
    Timestamp::from_second(i64::try_from(at).unwrap_or(i64::MAX))
        .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        .unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(schedule: &str, minutes: u64, zone: &str) -> TimeWindow {
        TimeWindow {
            schedule_text: schedule.into(),
            schedule: schedule.parse().unwrap(),
            duration: Duration::from_secs(minutes * 60),
            zone_name: zone.into(),
            zone: TimeZone::get(zone).unwrap(),
        }
    }

    fn at(text: &str) -> u64 {
        text.parse::<Timestamp>().unwrap().as_second() as u64
    }

    #[test]
    fn targets_round_up_and_cap() {
        assert_eq!(Target::Percent(10).of(10), 1);
        assert_eq!(Target::Percent(10).of(11), 2);
        assert_eq!(Target::Percent(100).of(7), 7);
        assert_eq!(Target::Count(5).of(3), 3);
        assert_eq!(Target::Count(2).of(30), 2);
    }

    #[test]
    fn allowances_round_down() {
        let table = [
            (Allowance::Count(0), 10, 0),
            (Allowance::Count(1), 10, 1),
            (Allowance::Count(3), 1, 3),
            (Allowance::Percent(10), 7, 0),
            (Allowance::Percent(10), 10, 1),
            (Allowance::Percent(25), 9, 2),
            (Allowance::Percent(100), 4, 4),
        ];
        for (allowance, size, want) in table {
            assert_eq!(allowance.of(size), want, "{allowance:?} of {size}");
        }
    }

    #[test]
    fn a_window_is_open_for_its_duration_in_its_zone() {
        // Weekdays 09:00–17:00 in Berlin (UTC+1 in winter).
        let w = window("0 9 * * 1-5", 8 * 60, "Europe/Berlin");
        // Wednesday 2026-12-02.
        assert!(!w.is_open(at("2026-12-02T07:59:00Z")));
        assert!(w.is_open(at("2026-12-02T08:00:00Z")));
        assert!(w.is_open(at("2026-12-02T15:59:59Z")));
        assert!(!w.is_open(at("2026-12-02T16:00:00Z")));
        // Saturday.
        assert!(!w.is_open(at("2026-12-05T10:00:00Z")));
        assert_eq!(
            w.next_open(at("2026-12-05T10:00:00Z")),
            Some(at("2026-12-07T08:00:00Z"))
        );
        assert_eq!(
            next_open(std::slice::from_ref(&w), at("2026-12-02T09:00:00Z")),
            Some(at("2026-12-02T09:00:00Z"))
        );
        assert!(windows_open(&[], 0));
        assert!(!windows_open(&[w], at("2026-12-05T10:00:00Z")));
    }

    #[test]
    fn a_window_across_midnight_and_in_summer_time() {
        let w = window("30 22 * * *", 120, "America/New_York");
        // 22:30 EDT = 02:30 UTC next day in July.
        assert!(w.is_open(at("2026-07-02T02:30:00Z")));
        assert!(w.is_open(at("2026-07-02T04:29:00Z")));
        assert!(!w.is_open(at("2026-07-02T04:30:00Z")));
        assert_eq!(instant(at("2026-07-02T04:30:00Z")), "2026-07-02T04:30:00Z");
    }
}
