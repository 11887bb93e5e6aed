//! Five-field cron schedules (`minute hour day-of-month month
//! day-of-week`), as time windows name their opening times: each field is
//! `*`, a number, a range `a-b`, any of these with a step `/n`, or a
//! comma-separated list of them. Day of week 0 and 7 are Sunday. As in
//! Vixie cron, when both day fields are restricted a day matches either.

use jiff::civil::DateTime;
use std::str::FromStr;

/// A parsed schedule: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

/// Why a schedule does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(String);

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Cron, CronError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(CronError(format!(
                "{} field(s); a schedule has 5: minute hour day-of-month month day-of-week, \
                 e.g. \"0 9 * * 1-5\"",
                fields.len()
            )));
        };
        let mut weekdays = field(weekday, "day-of-week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes: field(minute, "minute", 0, 59)?,
            hours: field(hour, "hour", 0, 23)?,
            days: field(day, "day-of-month", 1, 31)?,
            months: field(month, "month", 1, 12)?,
            weekdays,
            days_restricted: day != "*",
            weekdays_restricted: weekday != "*",
        })
    }
}

impl Cron {
    /// Whether the minute starting at `t` (civil time) is scheduled.
    pub fn matches(&self, t: &DateTime) -> bool {
        let has = |bits: u64, v: i8| v >= 0 && bits & (1u64 << v) != 0;
        let weekday = t.weekday().to_sunday_zero_offset();
        let day = has(self.days, t.day());
        let wday = has(self.weekdays, weekday);
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || wday,
            _ => day && wday,
        };
        has(self.minutes, t.minute())
            && has(self.hours, t.hour())
            && has(self.months, t.month())
            && day_ok
    }
}

/// Parses one field into a bit set over `lo..=hi`.
fn field(text: &str, name: &str, lo: u32, hi: u32) -> Result<u64, CronError> {
    let bad = |why: String| CronError(format!("{name} field {text:?}: {why}"));
    let number = |s: &str| -> Result<u32, CronError> {
        let v: u32 = s
            .parse()
            .map_err(|_| bad(format!("{s:?} is not a number")))?;
        if v < lo || v > hi {
            return Err(bad(format!("{v} is outside {lo}-{hi}")));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|&s| s >= 1)
                    .ok_or_else(|| bad(format!("step {s:?} must be a number ≥ 1")))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(bad(format!("range {a}-{b} runs backwards")));
            }
            (a, b)
        } else {
            let v = number(range)?;
            (v, if part.contains('/') { hi } else { v })
        };
        for v in (from..=to).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime {
        text.parse().unwrap()
    }

    #[test]
    fn fields_steps_ranges_and_lists() {
        let c: Cron = "*/15 9-17 * * 1-5".parse().unwrap();
        assert!(c.matches(&t("2026-12-02T09:45"))); // Wednesday
        assert!(!c.matches(&t("2026-12-02T09:50")));
        assert!(!c.matches(&t("2026-12-02T18:00")));
        assert!(!c.matches(&t("2026-12-06T10:00"))); // Sunday
        let c: Cron = "0 0 * * 0,6".parse().unwrap();
        assert!(c.matches(&t("2026-12-06T00:00")));
        let sunday_seven: Cron = "0 0 * * 7".parse().unwrap();
        assert!(sunday_seven.matches(&t("2026-12-06T00:00")));
        let c: Cron = "5 4 1 1 *".parse().unwrap();
        assert!(c.matches(&t("2027-01-01T04:05")));
        assert!(!c.matches(&t("2027-02-01T04:05")));
    }

    #[test]
    fn both_day_fields_restricted_match_either() {
        let c: Cron = "0 12 1 * 1".parse().unwrap();
        assert!(c.matches(&t("2026-12-01T12:00"))); // the 1st, a Tuesday
        assert!(c.matches(&t("2026-12-07T12:00"))); // a Monday
        assert!(!c.matches(&t("2026-12-08T12:00")));
    }

    #[test]
    fn bad_schedules_say_which_field() {
        let table = [
            ("0 9 * *", "4 field(s); a schedule has 5"),
            ("60 9 * * *", "minute field \"60\": 60 is outside 0-59"),
            (
                "0 9-7 * * *",
                "hour field \"9-7\": range 9-7 runs backwards",
            ),
            (
                "0 9 * * mon",
                "day-of-week field \"mon\": \"mon\" is not a number",
            ),
            (
                "*/0 9 * * *",
                "minute field \"*/0\": step \"0\" must be a number ≥ 1",
            ),
            ("0 9 0 * *", "day-of-month field \"0\": 0 is outside 1-31"),
        ];
        for (text, want) in table {
            let err = text.parse::<Cron>().unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}: {err}");
        }
    }
}
