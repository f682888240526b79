//! Marks: numbers with at most two decimals, kept exactly (in hundredths),
//! checked against an assignment's maximum, and the late policy applied to
//! them.

use std::fmt;

use serde::{Serialize, Serializer};

use super::penalty::LatePolicy;

/// A mark in hundredths of a point: 72.5 is `Points(7250)`. Exact, so that
/// adding up and comparing with a pass mark never rounds the wrong way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(pub i64);

impl Points {
    /// Reads "72", "72.5", "72.25" (a comma for the point too, as some
    /// spreadsheets write it). At most two decimals, never negative.
    pub fn parse(text: &str) -> Result<Points, String> {
        let text = text.trim();
        let bad = || format!("'{text}' is not a mark: write a number such as 65 or 72.5");
        if text.is_empty() {
            return Err("the mark is empty".to_string());
        }
        let normal = text.replace(',', ".");
        let (whole, fraction) = normal.split_once('.').unwrap_or((&normal, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad());
        }
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if !digits(whole) || !digits(fraction) {
            return Err(if normal.starts_with('-') {
                format!("'{text}' is negative: a mark is 0 or more")
            } else {
                bad()
            });
        }
        if fraction.len() > 2 {
            return Err(format!("'{text}' has more than two decimals"));
        }
        if whole.len() > 9 {
            return Err(bad());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        Ok(Points(whole * 100 + fraction))
    }

    /// As people write it: "72", "72.5", "72.25".
    pub fn shown(self) -> String {
        let (whole, hundredths) = (self.0 / 100, self.0 % 100);
        match hundredths {
            0 => whole.to_string(),
            h if h % 10 == 0 => format!("{whole}.{}", h / 10),
            h => format!("{whole}.{h:02}"),
        }
    }

    /// This mark with `percent` of it kept, to the nearest hundredth
    /// (halves up).
    pub fn keep_percent(self, percent: u32) -> Points {
        Points((self.0 * i64::from(percent) + 50) / 100)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.shown())
    }
}

/// A raw mark checked against the assignment's maximum.
pub fn check(raw: Points, max: Points) -> Result<Points, String> {
    if raw > max {
        return Err(format!("{raw} is more than the maximum mark, {max}"));
    }
    Ok(raw)
}

/// The mark after the late policy, and the rule as it was applied (kept
/// with the mark, so that a later change of policy does not quietly change
/// a mark already given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalised {
    pub final_mark: Points,
    /// "none", or "uk_standard: 2 working days late, mark × 0.8".
    pub rule: String,
}

/// Applies `policy` to `raw` for work `working_days` late (0: on time,
/// within an extension, or nothing handed in).
/// `max` is the assignment's maximum mark (points-per-day policies take
/// their points off it); with `floor` (the pass mark, where the assignment
/// says so), a mark that passed before the penalty never ends below it.
pub fn penalise(
    raw: Points,
    (max, floor): (Points, Option<Points>),
    policy: &LatePolicy,
    working_days: u32,
) -> Penalised {
    let off = max.keep_percent(policy.points_off(working_days));
    let after = Points((raw.keep_percent(policy.kept_percent(working_days)).0 - off.0).max(0));
    let mut rule = match policy.describe(working_days) {
        Some(description) => format!("{}: {description}", policy.spelling()),
        None => "none".to_string(),
    };
    let final_mark = match floor {
        Some(pass) if raw >= pass && after < pass => {
            rule.push_str(&format!("; raised to the pass mark, {pass}"));
            pass
        }
        _ => after,
    };
    Penalised { final_mark, rule }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_read_exactly_with_at_most_two_decimals() {
        for (text, hundredths) in [
            ("72", 7200),
            ("72.5", 7250),
            ("72.25", 7225),
            (" 0 ", 0),
            ("0.05", 5),
            ("72,5", 7250),
            (".5", 50),
            ("100.", 10000),
        ] {
            assert_eq!(Points::parse(text), Ok(Points(hundredths)), "{text}");
        }
        for bad in [
            "",
            "abc",
            "-1",
            "1.234",
            "1e3",
            "7 2",
            ".",
            "1.2.3",
            "NaN",
            "9999999999",
        ] {
            assert!(Points::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Points::parse("-1").unwrap_err().contains("negative"));
    }

    #[test]
    fn marks_are_shown_as_people_write_them() {
        assert_eq!(Points(7200).shown(), "72");
        assert_eq!(Points(7250).shown(), "72.5");
        assert_eq!(Points(7225).shown(), "72.25");
        assert_eq!(Points(5).shown(), "0.05");
        assert_eq!(Points(0).shown(), "0");
    }

    #[test]
    fn a_mark_above_the_maximum_is_refused() {
        assert_eq!(check(Points(10000), Points(10000)), Ok(Points(10000)));
        let error = check(Points(10050), Points(10000)).unwrap_err();
        assert_eq!(error, "100.5 is more than the maximum mark, 100");
    }

    #[test]
    fn the_late_policy_is_applied_and_its_rule_recorded() {
        let uk = LatePolicy::UkStandard;
        assert_eq!(
            penalise(Points(6500), (Points(10000), None), &uk, 0),
            Penalised {
                final_mark: Points(6500),
                rule: "none".into()
            }
        );
        let two_days = penalise(Points(6500), (Points(10000), None), &uk, 2);
        assert_eq!(two_days.final_mark, Points(5200));
        assert_eq!(
            two_days.rule,
            "uk_standard: 2 working days late: mark × 0.8"
        );
        assert_eq!(
            penalise(Points(6500), (Points(10000), None), &uk, 6).final_mark,
            Points(0)
        );
        // 10% off of 72.25 is 65.025: to the nearest hundredth, halves up.
        let per_day = LatePolicy::PerDay {
            percent: 10,
            cap: 50,
        };
        assert_eq!(
            penalise(Points(7225), (Points(10000), None), &per_day, 1).final_mark,
            Points(6503)
        );
        assert_eq!(
            penalise(Points(7225), (Points(10000), None), &LatePolicy::None, 3).final_mark,
            Points(7225)
        );
    }

    #[test]
    fn points_come_off_the_maximum_and_the_pass_mark_can_hold() {
        let points = LatePolicy::PointsPerDay { points: 5, cap: 30 };
        let out_of_50 = (Points(5000), None);
        // 5 points of 50 is 2.5 marks a day.
        assert_eq!(
            penalise(Points(4000), out_of_50, &points, 2).final_mark,
            Points(3500)
        );
        assert_eq!(
            penalise(Points(500), out_of_50, &points, 10).final_mark,
            Points(0)
        );
        // A pass (40 of 100) before the penalty stays a pass; a fail stays as it is.
        let uk = LatePolicy::UkStandard;
        let floored = (Points(10000), Some(Points(4000)));
        let held = penalise(Points(4500), floored, &uk, 2);
        assert_eq!(held.final_mark, Points(4000));
        assert!(
            held.rule.ends_with("raised to the pass mark, 40"),
            "{}",
            held.rule
        );
        assert_eq!(
            penalise(Points(7000), floored, &uk, 1).final_mark,
            Points(6300)
        );
        assert_eq!(
            penalise(Points(3500), floored, &uk, 1).final_mark,
            Points(3150)
        );
    }
}
