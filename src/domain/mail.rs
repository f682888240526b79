//! When mail goes: which reminder is due before a deadline, when a failed
//! mail is tried again, and which day's digest is due.

use chrono::{DateTime, NaiveDate, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;

/// The reminder due now before `deadline`, given the hours before it that
/// reminders go (`[48, 2]`): the nearest whose time has come, or none once
/// the deadline has passed. A student who was not reminded 48 h before
/// (the worker was down, the extension came later) gets only the 2 h one
/// when that time comes, not both at once.
pub fn reminder_due(deadline: DateTime<Utc>, now: DateTime<Utc>, hours: &[u32]) -> Option<u32> {
    if now >= deadline {
        return None;
    }
    hours
        .iter()
        .copied()
        .filter(|h| deadline - TimeDelta::hours(i64::from(*h)) <= now)
        .min()
}

/// After this many tries a mail is marked failed (an administrator can
/// still send it again).
pub const MAX_TRIES: i32 = 12;

/// The longest wait between two tries.
const LONGEST_WAIT: TimeDelta = TimeDelta::hours(1);

/// When a mail that has now failed `tries` times is tried again: the wait
/// doubles from `first_wait` up to an hour; none after [`MAX_TRIES`].
pub fn retry_at(tries: i32, now: DateTime<Utc>, first_wait: TimeDelta) -> Option<DateTime<Utc>> {
    if tries >= MAX_TRIES {
        return None;
    }
    let doublings = u32::try_from(tries.clamp(1, 31) - 1).unwrap_or(0);
    let wait = first_wait
        .checked_mul(1i32 << doublings.min(20))
        .unwrap_or(LONGEST_WAIT)
        .min(LONGEST_WAIT);
    Some(now + wait)
}

/// The day (in `zone`) whose digest is due at `now`: today once it is
/// past `hour` o'clock there, otherwise none yet.
pub fn digest_day(now: DateTime<Utc>, zone: Tz, hour: u32) -> Option<NaiveDate> {
    let local = now.with_timezone(&zone);
    (local.hour() >= hour).then(|| local.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    const DUE: &str = "2026-03-29T15:00:00Z";

    #[test]
    fn no_reminder_before_the_first_is_due() {
        let one_second_early = at("2026-03-27T14:59:59Z");
        assert_eq!(reminder_due(at(DUE), one_second_early, &[48, 2]), None);
    }

    #[test]
    fn the_first_reminder_is_due_48_hours_before_to_the_second() {
        assert_eq!(
            reminder_due(at(DUE), at("2026-03-27T15:00:00Z"), &[48, 2]),
            Some(48)
        );
        assert_eq!(
            reminder_due(at(DUE), at("2026-03-29T12:59:59Z"), &[48, 2]),
            Some(48)
        );
    }

    #[test]
    fn the_nearest_reminder_wins_once_its_time_has_come() {
        assert_eq!(
            reminder_due(at(DUE), at("2026-03-29T13:00:00Z"), &[2, 48]),
            Some(2)
        );
        assert_eq!(
            reminder_due(at(DUE), at("2026-03-29T14:59:59Z"), &[48, 2]),
            Some(2)
        );
    }

    #[test]
    fn nothing_is_due_at_or_after_the_deadline() {
        assert_eq!(reminder_due(at(DUE), at(DUE), &[48, 2]), None);
        assert_eq!(
            reminder_due(at(DUE), at("2026-03-30T00:00:00Z"), &[48, 2]),
            None
        );
        assert_eq!(reminder_due(at(DUE), at("2026-03-29T14:00:00Z"), &[]), None);
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour_then_stop() {
        let now = at(DUE);
        let minute = TimeDelta::minutes(1);
        assert_eq!(retry_at(1, now, minute), Some(now + minute));
        assert_eq!(retry_at(2, now, minute), Some(now + minute * 2));
        assert_eq!(retry_at(4, now, minute), Some(now + minute * 8));
        assert_eq!(retry_at(7, now, minute), Some(now + TimeDelta::hours(1)));
        assert_eq!(
            retry_at(MAX_TRIES - 1, now, minute),
            Some(now + TimeDelta::hours(1))
        );
        assert_eq!(retry_at(MAX_TRIES, now, minute), None);
    }

    #[test]
    fn the_digest_is_due_from_its_hour_in_the_course_zone() {
        let london: Tz = "Europe/London".parse().unwrap();
        // 07:59:59 BST is 06:59:59 UTC.
        assert_eq!(digest_day(at("2026-06-01T06:59:59Z"), london, 8), None);
        assert_eq!(
            digest_day(at("2026-06-01T07:00:00Z"), london, 8),
            NaiveDate::from_ymd_opt(2026, 6, 1)
        );
        // In winter 08:00 in London is 08:00 UTC.
        assert_eq!(digest_day(at("2026-12-01T07:30:00Z"), london, 8), None);
    }
}
