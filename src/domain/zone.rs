//! Wall-clock times in a course's time zone: reading them (refusing times
//! that never happen), turning them into instants, and showing instants
//! with the zone they are in.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

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
/// (With seconds when it has any, as a form field can hold them.)
pub fn form_value(instant: DateTime<Utc>, zone: Tz) -> String {
    let format = if has_seconds(instant) {
        "%Y-%m-%dT%H:%M:%S"
    } else {
        "%Y-%m-%dT%H:%M"
    };
    instant.with_timezone(&zone).format(format).to_string()
}

/// Whether a time falls between whole minutes: a deadline set to the
/// second must show its seconds wherever it is shown.
fn has_seconds(instant: DateTime<Utc>) -> bool {
    instant.second() != 0 || instant.nanosecond() != 0
}

/// A deadline as a person reads it: "Fri 29 May 2020, 16:00 BST" (and
/// "16:00:30" when it is set to the second).
pub fn format_local(instant: DateTime<Utc>, zone: Tz) -> String {
    if has_seconds(instant) {
        return format_local_precise(instant, zone);
    }
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
    fn a_time_set_to_the_second_shows_its_seconds() {
        assert_eq!(
            format_local(utc("2020-05-29T15:00:00Z"), London),
            "Fri 29 May 2020, 16:00 BST"
        );
        assert_eq!(
            format_local(utc("2020-05-29T14:59:30Z"), London),
            "Fri 29 May 2020, 15:59:30 BST"
        );
        assert_eq!(
            form_value(utc("2020-05-29T14:59:30Z"), London),
            "2020-05-29T15:59:30"
        );
        // The form's value reads back as the same instant.
        assert_eq!(
            parse_instant("2020-05-29T15:59:30", London).unwrap(),
            utc("2020-05-29T14:59:30Z")
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
    fn deadlines_are_shown_with_their_zone() {
        let due = parse_local("2020-05-29 16:00", London).unwrap();
        assert_eq!(format_local(due, London), "Fri 29 May 2020, 16:00 BST");
        let winter = parse_local("2020-01-10 16:00", London).unwrap();
        assert_eq!(format_local(winter, London), "Fri 10 Jan 2020, 16:00 GMT");
    }
}
