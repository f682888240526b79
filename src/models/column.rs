//! Values kept as text in the database and parsed once, when a row is read:
//! a time zone, closure days, required files and a late policy. A damaged
//! value fails the read with an error that names it, instead of quietly
//! becoming a default (a late policy of "none", a zone of UTC).

use chrono::NaiveDate;
use chrono_tz::Tz;
use sea_orm::DeriveValueType;
use serde::Serialize;

use crate::domain::penalty::LatePolicy;

/// A stored value that does not parse.
#[derive(Debug)]
pub struct Unreadable(String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreadable {}

fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Unreadable> {
    serde_json::from_str(text).map_err(|e| Unreadable(format!("stored {what} '{text}': {e}")))
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Lists of strings and dates always serialise.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// A course's time zone, by its IANA name (`Europe/London`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, DeriveValueType)]
#[sea_orm(value_type = "String", from_str = "Zone::read", to_str = "Zone::write")]
pub struct Zone(pub Tz);

impl Zone {
    fn read(text: &str) -> Result<Zone, Unreadable> {
        text.parse()
            .map(Zone)
            .map_err(|_| Unreadable(format!("stored time zone '{text}' is not a zone")))
    }

    fn write(&self) -> String {
        self.0.name().to_string()
    }
}

/// Days the university is closed, besides weekends (a JSON list of dates).
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveValueType)]
#[sea_orm(
    value_type = "String",
    from_str = "ClosureDays::read",
    to_str = "ClosureDays::write"
)]
pub struct ClosureDays(pub Vec<NaiveDate>);

impl ClosureDays {
    fn read(text: &str) -> Result<ClosureDays, Unreadable> {
        json("closure days", text).map(ClosureDays)
    }

    fn write(&self) -> String {
        to_json(&self.0)
    }
}

/// The files a bundle must contain: patterns such as `report.pdf` or
/// `lab*/**/*.ipynb` (a JSON list).
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveValueType)]
#[sea_orm(
    value_type = "String",
    from_str = "RequiredFiles::read",
    to_str = "RequiredFiles::write"
)]
pub struct RequiredFiles(pub Vec<String>);

impl RequiredFiles {
    fn read(text: &str) -> Result<RequiredFiles, Unreadable> {
        json("required files", text).map(RequiredFiles)
    }

    fn write(&self) -> String {
        to_json(&self.0)
    }
}

/// An assignment's late policy, as spelt in imports (`uk_standard`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, DeriveValueType)]
#[sea_orm(
    value_type = "String",
    from_str = "Policy::read",
    to_str = "Policy::write"
)]
pub struct Policy(pub LatePolicy);

impl Policy {
    fn read(text: &str) -> Result<Policy, Unreadable> {
        LatePolicy::parse(text)
            .map(Policy)
            .map_err(|e| Unreadable(format!("stored late policy: {e}")))
    }

    fn write(&self) -> String {
        self.0.spelling()
    }
}

// In audit records (a row's before and after) each value reads as written.
impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl Serialize for ClosureDays {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Serialize for RequiredFiles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.spelling())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_values_are_refused_not_defaulted() {
        assert!(Zone::read("Europe/Nowhere").is_err());
        assert!(ClosureDays::read("[\"2020-13-01\"]").is_err());
        assert!(RequiredFiles::read("report.pdf").is_err());
        assert!(Policy::read("lenient").is_err());
    }

    #[test]
    fn values_read_back_as_written() {
        let zone = Zone(chrono_tz::Europe::London);
        assert_eq!(Zone::read(&zone.write()).unwrap(), zone);
        let days = ClosureDays(vec![NaiveDate::from_ymd_opt(2020, 5, 25).unwrap()]);
        assert_eq!(ClosureDays::read(&days.write()).unwrap(), days);
        let files = RequiredFiles(vec!["report.pdf".into(), "lab*/**/*.ipynb".into()]);
        assert_eq!(RequiredFiles::read(&files.write()).unwrap(), files);
        let policy = Policy(LatePolicy::PerDay {
            percent: 10,
            cap: 50,
        });
        assert_eq!(Policy::read(&policy.write()).unwrap(), policy);
    }
}
