//! The deadline rule: one student's effective deadline (extension and
//! grace), when uploads open and close for them, and how a submission stands.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::calendar::working_days_late;
use super::readable;
use super::zone::format_local;

#[derive(Debug, Clone)]
pub struct DeadlineRule {
    /// Uploads are refused before this, if set.
    pub opens: Option<DateTime<Utc>>,
    pub due: DateTime<Utc>,
    pub grace: Duration,
    pub hard_close: Option<DateTime<Utc>>,
    /// The student's extension, if they hold one.
    pub extension: Option<DateTime<Utc>>,
    pub zone: Tz,
    /// Days the university is closed (besides weekends), in the course's zone.
    pub closure_days: Vec<NaiveDate>,
}

/// Whether uploads are accepted at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadWindow {
    NotYetOpen {
        opens: DateTime<Utc>,
    },
    Open,
    /// Closed at the hard close (or the student's later extension).
    Closed {
        closed: DateTime<Utc>,
    },
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
                    readable::duration(*by),
                    readable::working_days(*working_days)
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

/// Which of a student's attempts counts (is marked, downloaded as theirs,
/// shown as their status): set per assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Counts {
    /// The latest, on time or not.
    #[default]
    Latest,
    /// The latest that is not late, when there is one; else the latest. A
    /// late attempt then never takes an on-time one's place.
    LatestOnTime,
}

impl Counts {
    pub fn parse(text: &str) -> Result<Counts, String> {
        match text.trim() {
            "" | "latest" => Ok(Counts::Latest),
            "latest_on_time" => Ok(Counts::LatestOnTime),
            other => Err(format!(
                "'{other}' is not a choice of attempt: use latest or latest_on_time"
            )),
        }
    }

    pub fn spelling(self) -> &'static str {
        match self {
            Counts::Latest => "latest",
            Counts::LatestOnTime => "latest_on_time",
        }
    }

    /// How a student reads it.
    pub fn explain(self) -> &'static str {
        match self {
            Counts::Latest => "the latest attempt counts",
            Counts::LatestOnTime => {
                "the latest on-time attempt counts (the latest of all, if none is on time)"
            }
        }
    }

    /// Which attempt counts, by its place in a list newest first, given
    /// whether each is late (asked newest first, and no further than
    /// needed: judging costs).
    pub fn pick(self, mut late: impl Iterator<Item = bool>) -> Option<usize> {
        match self {
            Counts::Latest => late.next().map(|_| 0),
            Counts::LatestOnTime => {
                let mut any = false;
                for (index, is_late) in late.enumerate() {
                    any = true;
                    if !is_late {
                        return Some(index);
                    }
                }
                any.then_some(0)
            }
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

    /// Whether an upload arriving at `at` is too early, welcome, or too late.
    pub fn window_at(&self, at: DateTime<Utc>) -> UploadWindow {
        match (self.opens, self.closes_at()) {
            (Some(opens), _) if at < opens => UploadWindow::NotYetOpen { opens },
            (_, Some(closed)) if at > closed => UploadWindow::Closed { closed },
            _ => UploadWindow::Open,
        }
    }

    /// Whether an upload arriving at `at` may be accepted.
    pub fn accepts_upload_at(&self, at: DateTime<Utc>) -> bool {
        self.window_at(at) == UploadWindow::Open
    }

    /// Whether an attempt arriving at `at` would be late while the attempt
    /// that counts now (received at `latest`) is not: the late one would
    /// take its place, so the student must say they mean it. Returns how
    /// late the new attempt would be.
    pub fn late_over_on_time(
        &self,
        latest: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Option<Duration> {
        match (self.judge(latest?), self.judge(at)) {
            (Standing::Late { .. }, _) => None,
            (_, Standing::Late { by, .. }) => Some(by),
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::zone::{parse_instant, parse_local};
    use chrono_tz::Europe::London;

    /// An instant written in RFC 3339 (the zone module tests that reading).
    fn utc(text: &str) -> DateTime<Utc> {
        parse_instant(text, London).unwrap()
    }

    fn rule(due: &str) -> DeadlineRule {
        DeadlineRule {
            opens: None,
            due: parse_local(due, London).unwrap(),
            grace: Duration::zero(),
            hard_close: None,
            extension: None,
            zone: London,
            closure_days: vec![],
        }
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
    fn the_attempt_that_counts_is_chosen_as_the_assignment_says() {
        // Newest first: late, late, on time, late.
        let late = [true, true, false, true];
        assert_eq!(Counts::Latest.pick(late.into_iter()), Some(0));
        assert_eq!(Counts::LatestOnTime.pick(late.into_iter()), Some(2));
        assert_eq!(Counts::LatestOnTime.pick([true, true].into_iter()), Some(0));
        assert_eq!(Counts::LatestOnTime.pick(std::iter::empty()), None);
        assert_eq!(Counts::parse("latest_on_time"), Ok(Counts::LatestOnTime));
        assert!(Counts::parse("best").is_err());
    }

    #[test]
    fn a_late_attempt_over_an_on_time_one_is_caught_to_the_second() {
        let mut r = rule("2020-05-29 16:00");
        let on_time = Some(utc("2020-05-29T14:58:00Z"));
        // At the deadline: still on time, nothing to confirm.
        assert_eq!(
            r.late_over_on_time(on_time, utc("2020-05-29T15:00:00Z")),
            None
        );
        assert_eq!(
            r.late_over_on_time(on_time, utc("2020-05-29T15:02:00Z")),
            Some(Duration::minutes(2))
        );
        // Nothing handed in, or the attempt that counts is late already.
        assert_eq!(r.late_over_on_time(None, utc("2020-05-29T15:02:00Z")), None);
        let late = Some(utc("2020-05-29T15:00:01Z"));
        assert_eq!(r.late_over_on_time(late, utc("2020-05-29T15:02:00Z")), None);
        // Within an extension an attempt is not late.
        r.extension = Some(utc("2020-06-01T15:00:00Z"));
        assert_eq!(
            r.late_over_on_time(on_time, utc("2020-05-29T15:02:00Z")),
            None
        );
        assert_eq!(
            r.late_over_on_time(on_time, utc("2020-06-01T15:00:30Z")),
            Some(Duration::seconds(30))
        );
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
    fn uploads_open_at_the_opening_second_and_not_before() {
        let mut r = rule("2020-05-29 16:00");
        let opens = parse_local("2020-05-01 09:00", London).unwrap();
        r.opens = Some(opens);
        r.hard_close = Some(parse_local("2020-06-05 16:00", London).unwrap());
        assert_eq!(
            r.window_at(utc("2020-05-01T07:59:59Z")),
            UploadWindow::NotYetOpen { opens }
        );
        assert_eq!(r.window_at(utc("2020-05-01T08:00:00Z")), UploadWindow::Open);
        assert_eq!(
            r.window_at(utc("2020-06-05T15:00:01Z")),
            UploadWindow::Closed {
                closed: r.hard_close.unwrap()
            }
        );
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
}
