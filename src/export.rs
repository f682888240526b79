//! The marker's table as CSV: for the marks spreadsheet, and as the
//! all-submissions zip's manifest.

use crate::models::marking::{AttemptRow, StudentRow};

const HEADER: [&str; 12] = [
    "student",
    "name",
    "attempt",
    "received_utc",
    "received_local",
    "sha256",
    "size",
    "status",
    "late_seconds",
    "working_days_late",
    "mark_multiplier",
    "extension_until",
];

/// Where a bundle sits inside the all-submissions zip: one folder per student.
pub fn path_in_zip(row: &StudentRow, attempt: &AttemptRow) -> String {
    format!("{}/{}", row.label, attempt.download_name)
}

/// A spreadsheet must not run what a student typed: cells that would start
/// a formula are prefixed with an apostrophe.
pub fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// One line per student (latest attempt), or per attempt with `all_attempts`;
/// students with nothing handed in get a line with status `not_submitted`.
/// With `with_paths`, a last column says where each bundle is in the zip.
pub fn csv(rows: &[StudentRow], all_attempts: bool, with_paths: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = HEADER.to_vec();
    if with_paths {
        header.push("path");
    }
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(&header);
    for row in rows {
        let attempts: Vec<&AttemptRow> = if all_attempts {
            row.attempts.iter().collect()
        } else {
            row.latest.iter().collect()
        };
        let who = [cell(&row.label), cell(row.name.as_deref().unwrap_or(""))];
        let until = row.extension_until.clone().unwrap_or_default();
        if attempts.is_empty() {
            let mut record: Vec<String> = who.to_vec();
            record.extend(["", "", "", "", "", row.status, "", "", "", &until].map(String::from));
            if with_paths {
                record.push(String::new());
            }
            let _ = writer.write_record(&record);
        }
        for attempt in attempts {
            let mut record: Vec<String> = who.to_vec();
            record.extend([
                attempt.attempt.to_string(),
                attempt.received_at.clone(),
                attempt.received_local.clone(),
                attempt.sha256.clone(),
                attempt.size.to_string(),
                attempt.status.to_string(),
                attempt.late_by_seconds.to_string(),
                attempt.working_days_late.to_string(),
                attempt.mark_multiplier.clone(),
                until.clone(),
            ]);
            if with_paths {
                record.push(path_in_zip(row, attempt));
            }
            let _ = writer.write_record(&record);
        }
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("Ada Lovelace"), "Ada Lovelace");
    }
}
