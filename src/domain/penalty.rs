//! Late policies: what lateness, in working days, does to the mark.

use serde::{Deserialize, Serialize};

/// An assignment's late policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LatePolicy {
    /// Lateness is shown but the mark is not changed.
    #[default]
    None,
    /// Southampton's standard: × 0.9, 0.8, 0.7, 0.6, 0.5 for 1 to 5 working
    /// days late; 0 after that.
    UkStandard,
    /// `percent` of the mark off per working day late, at most `cap` percent.
    PerDay { percent: u32, cap: u32 },
    /// `points` percentage points of the maximum mark off per working day
    /// late, at most `cap` points (a mark never goes below 0).
    PointsPerDay { points: u32, cap: u32 },
}

impl LatePolicy {
    /// Reads the form and file spelling: `none`, `uk_standard`, or
    /// `per_day:PERCENT:CAP` (e.g. `per_day:10:50`).
    pub fn parse(text: &str) -> Result<LatePolicy, String> {
        let text = text.trim();
        match text {
            "" | "none" => return Ok(LatePolicy::None),
            "uk_standard" => return Ok(LatePolicy::UkStandard),
            _ => {}
        }
        let bad = || {
            format!(
                "'{text}' is not a late policy: use none, uk_standard, per_day:PERCENT:CAP \
                 or points_per_day:POINTS:CAP"
            )
        };
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        let (amount, cap) = rest.split_once(':').ok_or_else(bad)?;
        let amount: u32 = amount.trim().parse().map_err(|_| bad())?;
        let cap: u32 = cap.trim().parse().map_err(|_| bad())?;
        if amount == 0 || amount > 100 || cap == 0 || cap > 100 {
            return Err(format!(
                "'{text}': the amount per day and the cap must be between 1 and 100"
            ));
        }
        match kind {
            "per_day" => Ok(LatePolicy::PerDay {
                percent: amount,
                cap,
            }),
            "points_per_day" => Ok(LatePolicy::PointsPerDay {
                points: amount,
                cap,
            }),
            _ => Err(bad()),
        }
    }

    /// The spelling [`parse`](Self::parse) reads.
    pub fn spelling(&self) -> String {
        match self {
            LatePolicy::None => "none".into(),
            LatePolicy::UkStandard => "uk_standard".into(),
            LatePolicy::PerDay { percent, cap } => format!("per_day:{percent}:{cap}"),
            LatePolicy::PointsPerDay { points, cap } => format!("points_per_day:{points}:{cap}"),
        }
    }

    /// The kind, the amount per day and the cap, for the form's fields.
    pub fn parts(&self) -> (&'static str, u32, u32) {
        match self {
            LatePolicy::None => ("none", 10, 100),
            LatePolicy::UkStandard => ("uk_standard", 10, 100),
            LatePolicy::PerDay { percent, cap } => ("per_day", *percent, *cap),
            LatePolicy::PointsPerDay { points, cap } => ("points_per_day", *points, *cap),
        }
    }

    /// What the policy says, for the forms and pages.
    pub fn explain(&self) -> String {
        match self {
            LatePolicy::None => "no penalty (lateness is shown only)".into(),
            LatePolicy::UkStandard => {
                "university standard: mark × 0.9, 0.8, 0.7, 0.6, 0.5 for 1–5 working days late, 0 after".into()
            }
            LatePolicy::PerDay { percent, cap } => {
                format!("{percent}% off per working day late, at most {cap}% off")
            }
            LatePolicy::PointsPerDay { points, cap } => format!(
                "{points} percentage points of the maximum mark off per working day late, at most {cap}"
            ),
        }
    }

    /// Percentage points of the maximum mark taken off after
    /// `working_days` late (for [`LatePolicy::PointsPerDay`]; 0 for the
    /// others, which scale the mark instead).
    pub fn points_off(&self, working_days: u32) -> u32 {
        match self {
            LatePolicy::PointsPerDay { points, cap } => {
                points.saturating_mul(working_days).min(*cap).min(100)
            }
            _ => 0,
        }
    }

    /// The percentage of the mark kept, 0 to 100, after `working_days` late.
    pub fn kept_percent(&self, working_days: u32) -> u32 {
        if working_days == 0 {
            return 100;
        }
        match self {
            LatePolicy::None => 100,
            LatePolicy::UkStandard if working_days <= 5 => 100 - 10 * working_days,
            LatePolicy::UkStandard => 0,
            LatePolicy::PerDay { percent, cap } => {
                100 - percent.saturating_mul(working_days).min(*cap).min(100)
            }
            // Points come off the maximum, not a share of the mark.
            LatePolicy::PointsPerDay { .. } => 100,
        }
    }

    /// The multiplier as people write it: "1", "0.9", "0.75", "0"; empty
    /// for a policy that takes points off instead.
    pub fn multiplier(&self, working_days: u32) -> String {
        if matches!(self, LatePolicy::PointsPerDay { .. }) {
            return String::new();
        }
        let kept = self.kept_percent(working_days);
        match kept {
            100 => "1".into(),
            0 => "0".into(),
            k if k % 10 == 0 => format!("0.{}", k / 10),
            k => format!("0.{k:02}"),
        }
    }

    /// "1 working day late: mark × 0.9", or `None` when nothing changes.
    pub fn describe(&self, working_days: u32) -> Option<String> {
        if working_days == 0 || *self == LatePolicy::None {
            return None;
        }
        let days = super::readable::working_days(working_days);
        if let LatePolicy::PointsPerDay { .. } = self {
            return Some(format!(
                "{days} late: {} percentage points of the maximum off",
                self.points_off(working_days)
            ));
        }
        Some(format!(
            "{days} late: mark × {}",
            self.multiplier(working_days)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uk_standard_at_0_1_5_and_6_working_days() {
        let p = LatePolicy::UkStandard;
        assert_eq!(
            [0, 1, 2, 5, 6, 30].map(|d| p.kept_percent(d)),
            [100, 90, 80, 50, 0, 0]
        );
        assert_eq!(p.multiplier(1), "0.9");
        assert_eq!(p.multiplier(6), "0");
        assert_eq!(p.describe(1).unwrap(), "1 working day late: mark × 0.9");
        assert_eq!(p.describe(5).unwrap(), "5 working days late: mark × 0.5");
        assert_eq!(p.describe(6).unwrap(), "6 working days late: mark × 0");
        assert_eq!(p.describe(0), None);
    }

    #[test]
    fn a_percentage_per_day_stops_at_its_cap() {
        let p = LatePolicy::PerDay {
            percent: 15,
            cap: 50,
        };
        assert_eq!(
            [0, 1, 3, 4, 10].map(|d| p.kept_percent(d)),
            [100, 85, 55, 50, 50]
        );
        assert_eq!(p.multiplier(1), "0.85");
        assert_eq!(
            LatePolicy::PerDay {
                percent: 5,
                cap: 100
            }
            .multiplier(1),
            "0.95"
        );
    }

    #[test]
    fn the_penalty_follows_working_days_across_a_weekend_a_closure_day_and_the_dst_change() {
        use crate::domain::calendar::working_days_late;
        use crate::domain::zone::parse_local;
        use chrono_tz::Europe::London;
        let at = |t: &str| parse_local(t, London).unwrap();
        let p = LatePolicy::UkStandard;
        let kept = |due: &str, received: &str, closed: &[chrono::NaiveDate]| {
            p.kept_percent(working_days_late(at(due), at(received), London, closed))
        };
        // Friday deadline, Monday morning: one working day, whatever the weekend.
        assert_eq!(kept("2020-05-29 16:00", "2020-06-01 10:00", &[]), 90);
        // Monday 25 May 2020 was a bank holiday.
        let holiday = [chrono::NaiveDate::from_ymd_opt(2020, 5, 25).unwrap()];
        assert_eq!(kept("2020-05-22 16:00", "2020-05-26 10:00", &holiday), 90);
        assert_eq!(kept("2020-05-22 16:00", "2020-05-26 10:00", &[]), 80);
        // Across the clocks going forward on Sunday 29 March 2020.
        assert_eq!(kept("2020-03-27 16:00", "2020-04-03 16:00", &[]), 50);
        assert_eq!(kept("2020-03-27 16:00", "2020-04-03 16:01", &[]), 0);
        assert_eq!(kept("2020-03-27 16:00", "2020-03-27 16:00", &[]), 100);
    }

    #[test]
    fn points_per_day_come_off_the_maximum_up_to_the_cap() {
        let p = LatePolicy::PointsPerDay { points: 5, cap: 30 };
        assert_eq!(
            [0, 1, 2, 6, 10].map(|d| p.points_off(d)),
            [0, 5, 10, 30, 30]
        );
        assert_eq!(p.kept_percent(3), 100);
        assert_eq!(p.multiplier(3), "");
        assert_eq!(
            p.describe(2).unwrap(),
            "2 working days late: 10 percentage points of the maximum off"
        );
    }

    #[test]
    fn no_policy_never_changes_the_mark() {
        assert_eq!(LatePolicy::None.kept_percent(9), 100);
        assert_eq!(LatePolicy::None.describe(9), None);
    }

    #[test]
    fn policies_parse_and_spell_back() {
        for text in [
            "none",
            "uk_standard",
            "per_day:10:50",
            "points_per_day:5:30",
        ] {
            assert_eq!(LatePolicy::parse(text).unwrap().spelling(), text);
        }
        assert!(LatePolicy::parse("per_day:0:50").is_err());
        assert!(
            LatePolicy::parse("harsh")
                .unwrap_err()
                .contains("not a late policy")
        );
    }
}
