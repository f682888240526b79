//! The university's working-day calendar: lateness counted in working days,
//! weekends and closure days excluded, immune to daylight-saving changes.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// Whether `day` is a working day: not a weekend, not a closure day.
pub fn is_working_day(day: NaiveDate, closure_days: &[NaiveDate]) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !closure_days.contains(&day)
}

/// How many working days late `received` is against `deadline`.
///
/// Counted as the university does, not in 24-hour steps: a submission is n
/// working days late when it arrives after the deadline moved on by n-1
/// working days and no later than the deadline moved on by n working days,
/// each step keeping the deadline's wall-clock time in the course's zone. A
/// DST change therefore never adds or removes a day, and a weekend or a
/// closure day is never counted.
pub fn working_days_late(
    deadline: DateTime<Utc>,
    received: DateTime<Utc>,
    zone: Tz,
    closure_days: &[NaiveDate],
) -> u32 {
    if received <= deadline {
        return 0;
    }
    let local = deadline.with_timezone(&zone).naive_local();
    let (mut day, time) = (local.date(), local.time());
    let mut days = 0u32;
    loop {
        // Step to the next working day at the same wall-clock time.
        loop {
            day = match day.succ_opt() {
                Some(next) => next,
                None => return days + 1,
            };
            if is_working_day(day, closure_days) {
                break;
            }
        }
        days += 1;
        if received <= same_wall_clock(day.and_time(time), zone) {
            return days;
        }
    }
}

/// The instant of a wall-clock time that is known to be a deadline moved on
/// by whole days. Should it land in a DST gap, the first instant after the
/// gap is used, so the step is never shorter than the day it stands for.
fn same_wall_clock(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(_, later) => later.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps are at most a few hours: walk forward a minute at a time.
            let mut probe = local;
            loop {
                probe += Duration::minutes(1);
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::zone::parse_local;
    use chrono_tz::Europe::London;

    #[test]
    fn working_days_skip_the_weekend() {
        // Friday 29 May 2020 16:00 BST.
        let due = parse_local("2020-05-29 16:00", London).unwrap();
        let days = |t: &str| working_days_late(due, parse_local(t, London).unwrap(), London, &[]);
        assert_eq!(days("2020-05-29 16:00"), 0);
        assert_eq!(days("2020-05-29 16:01"), 1);
        assert_eq!(days("2020-05-30 12:00"), 1); // Saturday
        assert_eq!(days("2020-06-01 16:00"), 1); // Monday, exactly one working day on
        assert_eq!(days("2020-06-01 16:00:01"), 2);
        assert_eq!(days("2020-06-05 16:00"), 5);
        assert_eq!(days("2020-06-05 16:01"), 6);
    }

    #[test]
    fn working_days_skip_closure_days() {
        // Friday 22 May 2020; Monday 25 May 2020 was a bank holiday.
        let due = parse_local("2020-05-22 16:00", London).unwrap();
        let closed = [NaiveDate::from_ymd_opt(2020, 5, 25).unwrap()];
        let received = parse_local("2020-05-26 10:00", London).unwrap();
        assert_eq!(working_days_late(due, received, London, &closed), 1);
        assert_eq!(working_days_late(due, received, London, &[]), 2);
    }

    #[test]
    fn working_days_do_not_change_across_the_dst_change() {
        // Friday 27 March 2020 16:00 GMT; clocks went forward on Sunday 29 March.
        let due = parse_local("2020-03-27 16:00", London).unwrap();
        // Monday 30 March 15:59 BST is 14:59 UTC: fewer than 72 real hours
        // would say otherwise, but it is within one working day.
        let received = parse_local("2020-03-30 15:59", London).unwrap();
        assert_eq!(working_days_late(due, received, London, &[]), 1);
        assert_eq!(
            working_days_late(
                due,
                parse_local("2020-03-30 16:01", London).unwrap(),
                London,
                &[]
            ),
            2
        );
        // And across the autumn change (25 October 2020).
        let due = parse_local("2020-10-23 16:00", London).unwrap();
        let received = parse_local("2020-10-26 16:00", London).unwrap();
        assert_eq!(working_days_late(due, received, London, &[]), 1);
    }

    #[test]
    fn a_step_landing_in_a_dst_gap_takes_the_first_instant_after_it() {
        // Israel moved its clocks forward on Friday 27 March 2020 at 02:00, a
        // working day: a Thursday 02:30 deadline moved on one working day lands
        // in the gap, so the day ends at 03:00 local instead.
        let zone: Tz = "Asia/Jerusalem".parse().unwrap();
        let due = parse_local("2020-03-26 02:30", zone).unwrap();
        let at = |t: &str| parse_local(t, zone).unwrap();
        assert_eq!(working_days_late(due, at("2020-03-27 03:00"), zone, &[]), 1);
        assert_eq!(working_days_late(due, at("2020-03-27 03:01"), zone, &[]), 2);
    }
}
