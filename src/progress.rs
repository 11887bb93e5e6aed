//! Progress lines for output that is not a terminal (CI logs, the daemon's
//! log): a waiting line is printed when it changes, and while it stays the
//! same only a heartbeat at most every [`HEARTBEAT`], so a ten-minute health
//! wait is a handful of lines rather than one per poll.
//!
//! Pure: the caller passes the clock, so the rules are tested without
//! sleeping.

use std::time::{Duration, Instant};

/// Longest silence while a line stays the same.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// Decides which of a stream of repeated progress lines to print.
///
/// Expected flow: call [`LineThrottle::offer`] on every poll with the
/// current line; print what it returns. Call [`LineThrottle::reset`] when
/// the wait ends (or other output intervenes), so the next wait starts with
/// its first line printed.
#[derive(Debug, Clone)]
pub struct LineThrottle {
    heartbeat: Duration,
    /// The line last offered, when it was first offered, and when it (or
    /// its heartbeat) was last printed.
    current: Option<(String, Instant, Instant)>,
}

impl Default for LineThrottle {
    fn default() -> Self {
        LineThrottle::new(HEARTBEAT)
    }
}

impl LineThrottle {
    /// A throttle printing a heartbeat after `heartbeat` of an unchanged line.
    pub fn new(heartbeat: Duration) -> LineThrottle {
        LineThrottle {
            heartbeat,
            current: None,
        }
    }

    /// What to print for `line` offered at `now`: the line itself when it
    /// differs from the last one, a heartbeat (`line (still waiting after
    /// 1m 30s)`) when it has not been printed for the heartbeat period, else
    /// nothing.
    pub fn offer(&mut self, line: &str, now: Instant) -> Option<String> {
        match &mut self.current {
            Some((last, since, printed)) if last == line => {
                if now.saturating_duration_since(*printed) < self.heartbeat {
                    return None;
                }
                *printed = now;
                let waited = whole_seconds(now.saturating_duration_since(*since));
                Some(format!(
                    "{line} (still waiting after {})",
                    humantime::format_duration(waited)
                ))
            }
            _ => {
                self.current = Some((line.to_string(), now, now));
                Some(line.to_string())
            }
        }
    }

    /// Forgets the last line: the next offer is printed.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polls(throttle: &mut LineThrottle, start: Instant, lines: &[(u64, &str)]) -> Vec<String> {
        lines
            .iter()
            .filter_map(|(ms, line)| throttle.offer(line, start + Duration::from_millis(*ms)))
            .collect()
    }

    #[test]
    fn an_unchanged_line_is_printed_once_then_only_as_a_heartbeat() {
        let start = Instant::now();
        let mut t = LineThrottle::default();
        // A poll every 500 ms for 10 minutes: 1,200 offers of one line.
        let offers: Vec<(u64, &str)> = (0..1200).map(|i| (i * 500, "waiting: 0 of 1")).collect();
        let printed = polls(&mut t, start, &offers);
        assert_eq!(printed.len(), 1 + 19, "{printed:#?}");
        assert_eq!(printed[0], "waiting: 0 of 1");
        assert_eq!(printed[1], "waiting: 0 of 1 (still waiting after 30s)");
        assert_eq!(printed[2], "waiting: 0 of 1 (still waiting after 1m)");
        assert_eq!(
            printed.last().unwrap(),
            "waiting: 0 of 1 (still waiting after 9m 30s)"
        );
    }

    #[test]
    fn every_change_is_printed_at_once_and_restarts_the_heartbeat() {
        let start = Instant::now();
        let mut t = LineThrottle::new(Duration::from_secs(30));
        let printed = polls(
            &mut t,
            start,
            &[
                (0, "0 of 2"),
                (500, "0 of 2"),
                (1000, "1 of 2"),
                (1500, "1 of 2"),
                (29_000, "1 of 2"),
                (31_500, "1 of 2"),
                (32_000, "0 of 2"),
            ],
        );
        assert_eq!(
            printed,
            vec![
                "0 of 2",
                "1 of 2",
                "1 of 2 (still waiting after 30s)",
                "0 of 2"
            ]
        );
    }

    #[test]
    fn reset_prints_the_next_line_even_if_it_repeats() {
        let start = Instant::now();
        let mut t = LineThrottle::default();
        assert!(t.offer("a", start).is_some());
        assert!(t.offer("a", start).is_none());
        t.reset();
        assert_eq!(t.offer("a", start).as_deref(), Some("a"));
    }

    #[test]
    fn a_clock_going_backwards_prints_nothing_extra() {
        let start = Instant::now() + Duration::from_secs(60);
        let mut t = LineThrottle::default();
        assert!(t.offer("a", start).is_some());
        assert!(t.offer("a", start - Duration::from_secs(50)).is_none());
    }
}
