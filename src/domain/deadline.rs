//! Deadlines: local wall-clock times in a course's zone, effective deadlines
//! with extensions and grace, the late flag and working days late.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

use super::duration;

/// Why a wall-clock time cannot be turned into an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalTimeError {
    /// The text is not `YYYY-MM-DD HH:MM` (seconds optional).
    Unreadable(String),
    /// The time falls in a spring-forward gap: it never happens in that zone.
    DoesNotExist { local: NaiveDateTime, zone: Tz },
}

impl std::fmt::Display for LocalTimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalTimeError::Unreadable(text) => {
                write!(f, "'{text}' is not a time of the form YYYY-MM-DD HH:MM")
            }
            LocalTimeError::DoesNotExist { local, zone } => write!(
                f,
                "{} does not exist in {zone}: the clocks go forward over it (daylight saving); choose another time",
                local.format("%Y-%m-%d %H:%M")
            ),
        }
    }
}

impl std::error::Error for LocalTimeError {}

/// Reads `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` (a `T` may stand for the space).
pub fn parse_wall_clock(text: &str) -> Result<NaiveDateTime, LocalTimeError> {
    let text = text.trim();
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .ok_or_else(|| LocalTimeError::Unreadable(text.to_string()))
}

/// The instant a wall-clock time in `zone` means.
///
/// A time in a spring-forward gap is refused. A time in an autumn fold (it
/// happens twice) resolves to the *later* of the two instants: a deadline
/// written as 01:30 on the night the clocks go back then gives students the
/// whole of both 01:30s, so nobody loses an hour to an ambiguity they did not
/// write.
pub fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Result<DateTime<Utc>, LocalTimeError> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(_, later) => Ok(later.with_timezone(&Utc)),
        LocalResult::None => Err(LocalTimeError::DoesNotExist { local, zone }),
    }
}

/// Parses a wall-clock time and resolves it in `zone` (see [`local_to_utc`]).
pub fn parse_local(text: &str, zone: Tz) -> Result<DateTime<Utc>, LocalTimeError> {
    local_to_utc(parse_wall_clock(text)?, zone)
}

/// An instant written either as a wall-clock time in `zone`
/// (`2020-06-05 16:00`) or as RFC 3339 with an offset.
pub fn parse_instant(text: &str, zone: Tz) -> Result<DateTime<Utc>, LocalTimeError> {
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => Ok(t.with_timezone(&Utc)),
        Err(_) => parse_local(text, zone),
    }
}

/// A wall-clock time for a form field (`2020-05-29T16:00`), in `zone`.
pub fn form_value(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Everything that decides one student's deadline for one assignment.
#[derive(Debug, Clone)]
pub struct DeadlineRule {
    pub due: DateTime<Utc>,
    pub grace: Duration,
    pub hard_close: Option<DateTime<Utc>>,
    /// The student's extension, if they hold one.
    pub extension: Option<DateTime<Utc>>,
    pub zone: Tz,
    /// Days the university is closed (besides weekends), in the course's zone.
    pub closure_days: Vec<NaiveDate>,
}

/// How a submission stands against its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// At or before the assignment's own deadline (plus grace).
    OnTime,
    /// After the assignment's deadline, but within the student's extension.
    WithinExtension { until: DateTime<Utc> },
    /// After the effective deadline (plus grace).
    Late { by: Duration, working_days: u32 },
}

impl Standing {
    /// The API's name for the status: `on_time`, `extension` or `late`.
    pub fn code(&self) -> &'static str {
        match self {
            Standing::OnTime => "on_time",
            Standing::WithinExtension { .. } => "extension",
            Standing::Late { .. } => "late",
        }
    }

    /// The status as a student reads it: "on time", "late by 2 h 13 min
    /// (1 working day)", "on time within your extension until ...".
    pub fn describe(&self, zone: Tz) -> String {
        match self {
            Standing::OnTime => "on time".to_string(),
            Standing::WithinExtension { until } => {
                format!(
                    "on time within your extension until {}",
                    format_local(*until, zone)
                )
            }
            Standing::Late { by, working_days } => {
                format!(
                    "late by {} ({})",
                    duration::human(*by),
                    duration::working_days(*working_days)
                )
            }
        }
    }

    /// The status as staff read it: the extension is the student's, not theirs.
    pub fn describe_for_staff(&self, zone: Tz) -> String {
        match self {
            Standing::WithinExtension { until } => {
                format!("within extension until {}", format_local(*until, zone))
            }
            other => other.describe(zone),
        }
    }

    pub fn working_days_late(&self) -> u32 {
        match self {
            Standing::Late { working_days, .. } => *working_days,
            _ => 0,
        }
    }

    pub fn late_by_seconds(&self) -> i64 {
        match self {
            Standing::Late { by, .. } => by.num_seconds(),
            _ => 0,
        }
    }
}

impl DeadlineRule {
    /// The later of the assignment's deadline and the student's extension.
    pub fn effective_deadline(&self) -> DateTime<Utc> {
        match self.extension {
            Some(until) if until > self.due => until,
            _ => self.due,
        }
    }

    /// True when the student holds an extension beyond the assignment's deadline.
    pub fn has_extension(&self) -> bool {
        self.effective_deadline() > self.due
    }

    /// When uploads stop being accepted from this student, if ever: the hard
    /// close, unless their extension (plus grace) reaches later.
    pub fn closes_at(&self) -> Option<DateTime<Utc>> {
        let close = self.hard_close?;
        let extended = self.effective_deadline() + self.grace;
        Some(if self.has_extension() && extended > close {
            extended
        } else {
            close
        })
    }

    /// Whether an upload arriving at `at` may still be accepted.
    pub fn accepts_upload_at(&self, at: DateTime<Utc>) -> bool {
        self.closes_at().is_none_or(|close| at <= close)
    }

    /// Judges a submission received at `received`.
    ///
    /// Exactly at the line is on time; one second after is late. Grace moves
    /// the line but not the reference: lateness is measured from the effective
    /// deadline itself, so "late by" never hides the grace that was allowed.
    pub fn judge(&self, received: DateTime<Utc>) -> Standing {
        if received <= self.due + self.grace {
            return Standing::OnTime;
        }
        let effective = self.effective_deadline();
        if received <= effective + self.grace {
            return Standing::WithinExtension { until: effective };
        }
        Standing::Late {
            by: received - effective,
            working_days: working_days_late(effective, received, self.zone, &self.closure_days),
        }
    }
}

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

/// A deadline as a person reads it: "Fri 29 May 2020, 16:00 BST".
pub fn format_local(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// As [`format_local`], with seconds: for receipts, where the second matters.
pub fn format_local_precise(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .format("%a %-d %b %Y, %H:%M:%S %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::London;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn rule(due: &str) -> DeadlineRule {
        DeadlineRule {
            due: parse_local(due, London).unwrap(),
            grace: Duration::zero(),
            hard_close: None,
            extension: None,
            zone: London,
            closure_days: vec![],
        }
    }

    #[test]
    fn coursework_deadline_in_may_is_15_utc() {
        assert_eq!(
            parse_local("2020-05-29 16:00", London).unwrap(),
            utc("2020-05-29T15:00:00Z")
        );
        assert_eq!(
            parse_local("2020-01-29 16:00", London).unwrap(),
            utc("2020-01-29T16:00:00Z")
        );
    }

    #[test]
    fn exactly_at_the_deadline_is_on_time_and_one_second_later_is_late() {
        let r = rule("2020-05-29 16:00");
        assert_eq!(r.judge(utc("2020-05-29T15:00:00Z")), Standing::OnTime);
        assert_eq!(
            r.judge(utc("2020-05-29T15:00:01Z")),
            Standing::Late {
                by: Duration::seconds(1),
                working_days: 1
            }
        );
        assert_eq!(r.judge(utc("2020-05-29T15:00:00.999Z")).code(), "late");
    }

    #[test]
    fn a_time_in_the_spring_gap_is_refused_and_the_message_says_so() {
        let err = parse_local("2020-03-29 01:30", London).unwrap_err();
        assert!(matches!(err, LocalTimeError::DoesNotExist { .. }));
        assert!(err.to_string().contains("does not exist in Europe/London"));
    }

    #[test]
    fn an_autumn_fold_time_takes_the_later_instant() {
        // 01:30 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
        assert_eq!(
            parse_local("2020-10-25 01:30", London).unwrap(),
            utc("2020-10-25T01:30:00Z")
        );
    }

    #[test]
    fn instants_are_local_or_rfc3339_with_an_offset() {
        assert_eq!(
            parse_instant("2020-06-05 16:00", London).unwrap(),
            utc("2020-06-05T15:00:00Z")
        );
        assert_eq!(
            parse_instant("2020-06-05T16:00:00+02:00", London).unwrap(),
            utc("2020-06-05T14:00:00Z")
        );
        assert_eq!(
            form_value(utc("2020-06-05T15:00:00Z"), London),
            "2020-06-05T16:00"
        );
    }

    #[test]
    fn unreadable_times_are_refused() {
        assert!(matches!(
            parse_local("29/05/2020 16:00", London),
            Err(LocalTimeError::Unreadable(_))
        ));
        assert!(parse_local("2020-05-29T16:00", London).is_ok());
        assert!(parse_local("2020-05-29 16:00:30", London).is_ok());
    }

    #[test]
    fn an_extension_turns_a_late_submission_into_extension() {
        let mut r = rule("2020-05-29 16:00");
        let received = utc("2020-06-01T10:00:00Z");
        assert_eq!(r.judge(received).code(), "late");
        r.extension = Some(parse_local("2020-06-05 16:00", London).unwrap());
        assert_eq!(
            r.judge(received),
            Standing::WithinExtension {
                until: r.extension.unwrap()
            }
        );
        // Before the original deadline it is simply on time.
        assert_eq!(r.judge(utc("2020-05-29T14:00:00Z")), Standing::OnTime);
        // After the extension it is late, measured from the extension.
        assert_eq!(
            r.judge(utc("2020-06-05T15:30:00Z")),
            Standing::Late {
                by: Duration::minutes(30),
                working_days: 1
            }
        );
    }

    #[test]
    fn an_extension_earlier_than_the_deadline_changes_nothing() {
        let mut r = rule("2020-05-29 16:00");
        r.extension = Some(utc("2020-05-20T15:00:00Z"));
        assert_eq!(r.effective_deadline(), r.due);
        assert!(!r.has_extension());
    }

    #[test]
    fn grace_moves_the_line_but_lateness_counts_from_the_deadline() {
        let mut r = rule("2020-05-29 16:00");
        r.grace = Duration::minutes(5);
        assert_eq!(r.judge(utc("2020-05-29T15:05:00Z")), Standing::OnTime);
        assert_eq!(
            r.judge(utc("2020-05-29T15:05:01Z")),
            Standing::Late {
                by: Duration::seconds(301),
                working_days: 1
            }
        );
    }

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

    #[test]
    fn the_hard_close_refuses_uploads_unless_an_extension_reaches_later() {
        let mut r = rule("2020-05-29 16:00");
        r.hard_close = Some(parse_local("2020-06-05 16:00", London).unwrap());
        assert!(r.accepts_upload_at(utc("2020-06-05T15:00:00Z")));
        assert!(!r.accepts_upload_at(utc("2020-06-05T15:00:01Z")));
        r.extension = Some(parse_local("2020-06-12 16:00", London).unwrap());
        assert!(r.accepts_upload_at(utc("2020-06-12T15:00:00Z")));
        assert!(!r.accepts_upload_at(utc("2020-06-12T15:00:01Z")));
        r.hard_close = None;
        assert!(r.accepts_upload_at(utc("2030-01-01T00:00:00Z")));
    }

    #[test]
    fn standings_read_as_sentences() {
        let r = rule("2020-05-29 16:00");
        assert_eq!(
            r.judge(utc("2020-05-29T17:13:00Z")).describe(London),
            "late by 2 h 13 min (1 working day)"
        );
        assert_eq!(
            r.judge(utc("2020-05-29T14:00:00Z")).describe(London),
            "on time"
        );
        let until = parse_local("2020-06-05 16:00", London).unwrap();
        assert_eq!(
            Standing::WithinExtension { until }.describe(London),
            "on time within your extension until Fri 5 Jun 2020, 16:00 BST"
        );
    }

    #[test]
    fn deadlines_are_shown_with_their_zone() {
        let due = parse_local("2020-05-29 16:00", London).unwrap();
        assert_eq!(format_local(due, London), "Fri 29 May 2020, 16:00 BST");
        let winter = parse_local("2020-01-10 16:00", London).unwrap();
        assert_eq!(format_local(winter, London), "Fri 10 Jan 2020, 16:00 GMT");
    }
}
