//! CSV files people upload (rosters, extensions): read with a fixed header,
//! every line numbered, every bad line reported, nothing used if any is bad.

use crate::error::{Error, Result};

/// Reads a CSV with the given header; returns each data line with its
/// number (1 is the header). Any problem refuses the whole file.
pub fn records(text: &str, header: &[&str]) -> Result<Vec<(usize, Vec<String>)>> {
    // Excel's "CSV UTF-8" starts with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let found: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|f| f.to_lowercase()).collect(),
        Err(e) => return Err(Error::invalid(format!("line 1: not CSV ({e})"))),
    };
    if found != header {
        return Err(Error::invalid(format!(
            "line 1: the header must be {}, not {}",
            header.join(","),
            found.join(",")
        )));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        match record {
            Ok(r) if r.len() == header.len() => {
                rows.push((line, r.iter().map(str::to_string).collect()))
            }
            Ok(r) => errors.push(format!(
                "line {line}: {} fields, expected {}",
                r.len(),
                header.len()
            )),
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push("the file has no lines after the header".into());
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(Error::Invalid(errors))
    }
}

/// The problems of a file, or nothing if there are none.
pub fn refuse_if_any(errors: Vec<String>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(result: Result<Vec<(usize, Vec<String>)>>) -> Vec<String> {
        match result {
            Err(Error::Invalid(problems)) => problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn the_header_and_field_counts_are_checked_with_line_numbers() {
        let header = ["username", "until", "reason"];
        assert!(problems(records("user,until\nx,y", &header))[0].starts_with("line 1"));
        assert_eq!(
            problems(records("username,until,reason\na,b,c\nd,e\n", &header)),
            vec!["line 3: 2 fields, expected 3"]
        );
        let rows = records(
            "Username,Until,Reason\n ab1g23 , 2020-06-05 16:00 ,\"ill, then worse\"\n",
            &header,
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![(
                2,
                vec![
                    "ab1g23".into(),
                    "2020-06-05 16:00".into(),
                    "ill, then worse".into()
                ]
            )]
        );
    }
}
