//! CSV imports: rosters (`username,name,email,role,course`) and extensions
//! (`username,until,reason`). Every line is checked first and every bad
//! line is reported with its number; a file with any bad line changes
//! nothing. Then everything is written in one transaction, on the record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::domain::deadline::parse_instant;
use crate::models::{assignment, audit, course, enrolment, extension, user};

/// What went wrong on which line (1 is the header).
pub type LineErrors = Vec<String>;

/// Reads a CSV with the given header; returns each data line with its number.
fn records(text: &str, header: &[&str]) -> Result<Vec<(usize, Vec<String>)>, LineErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let found: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|f| f.to_lowercase()).collect(),
        Err(e) => return Err(vec![format!("line 1: not CSV ({e})")]),
    };
    if found != header {
        return Err(vec![format!(
            "line 1: the header must be {}, not {}",
            header.join(","),
            found.join(",")
        )]);
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
        Err(errors)
    }
}

#[derive(Debug, Default)]
pub struct RosterReport {
    /// New accounts and their first passwords, to hand out once.
    pub created: Vec<(String, String)>,
    pub updated: usize,
    pub enrolments: usize,
}

struct RosterLine {
    user: user::RosterUser,
    password: String,
    course_id: Option<i32>,
}

/// Imports a roster: existing users are updated (their passwords kept),
/// new ones created with a generated first password, enrolments added.
pub async fn import_roster(
    db: &DatabaseConnection,
    text: &str,
    actor_id: Option<i32>,
    at: DateTime<Utc>,
) -> Result<RosterReport, LineErrors> {
    let rows = records(text, &["username", "name", "email", "role", "course"])?;
    let courses: HashMap<String, i32> = course::Entity::find()
        .all(db)
        .await
        .map_err(|e| vec![e.to_string()])?
        .into_iter()
        .map(|c| (c.code, c.id))
        .collect();
    let mut errors = Vec::new();
    let mut lines: Vec<RosterLine> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, fields) in rows {
        let [username, name, email, role, course] =
            <[String; 5]>::try_from(fields).unwrap_or_default();
        let mut problems = Vec::new();
        if let Err(e) = user::check_username(&username) {
            problems.push(e);
        }
        if let Some(first) = seen.insert(username.clone(), line) {
            problems.push(format!("{username} is already on line {first}"));
        }
        if name.is_empty() {
            problems.push("the name is empty".into());
        }
        if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
            problems.push(format!("'{email}' is not an email address"));
        }
        let role = user::Role::parse(&role).map_err(|e| problems.push(e)).ok();
        let course_id = if course.is_empty() {
            None
        } else {
            let id = courses.get(&course).copied();
            if id.is_none() {
                problems.push(format!("there is no course {course}"));
            }
            id
        };
        match role {
            Some(role) if problems.is_empty() => {
                let password = user::generate_password();
                let user = user::RosterUser {
                    username,
                    display_name: name,
                    email,
                    role,
                    new_password_hash: String::new(),
                };
                lines.push(RosterLine {
                    user,
                    password,
                    course_id,
                });
            }
            _ => errors.push(format!("line {line}: {}", problems.join("; "))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Hash first passwords before taking the write lock: argon2 is slow on purpose.
    let lines = rocket::tokio::task::spawn_blocking(move || {
        lines
            .into_iter()
            .map(|mut l| {
                l.user.new_password_hash = user::hash_password(&l.password).unwrap_or_default();
                l
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| vec![e.to_string()])?;
    write_roster(db, lines, actor_id, at)
        .await
        .map_err(|e| vec![e.to_string()])
}

async fn write_roster(
    db: &DatabaseConnection,
    lines: Vec<RosterLine>,
    actor_id: Option<i32>,
    at: DateTime<Utc>,
) -> Result<RosterReport, sea_orm::DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let mut report = RosterReport::default();
    for line in lines {
        let (row, before) = user::upsert_keeping_password(&txn, &line.user, at).await?;
        match before {
            None => report.created.push((row.username.clone(), line.password)),
            Some(old_role) => {
                report.updated += 1;
                if old_role != row.role {
                    let entry = audit::Entry {
                        actor_id,
                        action: "role_changed",
                        student_id: Some(row.id),
                        before: Some(old_role),
                        after: Some(row.role.clone()),
                        details: format!("roster import: {}", row.username),
                        ..Default::default()
                    };
                    audit::record(&txn, at, entry).await?;
                }
            }
        }
        if let Some(course_id) = line.course_id {
            let role = if line.user.role == user::Role::Student {
                enrolment::STUDENT
            } else {
                enrolment::MARKER
            };
            enrolment::enrol(&txn, row.id, course_id, role).await?;
            report.enrolments += 1;
        }
    }
    let entry = audit::Entry {
        actor_id,
        action: "roster_imported",
        details: format!(
            "{} created, {} updated, {} enrolments",
            report.created.len(),
            report.updated,
            report.enrolments
        ),
        ..Default::default()
    };
    audit::record(&txn, at, entry).await?;
    txn.commit().await?;
    Ok(report)
}

/// Imports extensions for one assignment: `until` is a wall-clock time in the
/// course's zone or RFC 3339 with an offset; the first column holds a
/// username, or a candidate number when `by_candidate`. Returns how many
/// were granted.
pub async fn import_extensions(
    db: &DatabaseConnection,
    course: &course::Model,
    assignment: &assignment::Model,
    text: &str,
    by: i32,
    at: DateTime<Utc>,
    by_candidate: bool,
) -> Result<usize, LineErrors> {
    let rows = records(text, &["username", "until", "reason"])?;
    // Under anonymous marking a marker names students by candidate number.
    let students = if by_candidate {
        crate::models::marking::candidates(db, course.id)
            .await
            .map(|c| c.into_iter().map(|(id, c)| (c, id)).collect())
    } else {
        enrolled_students(db, course.id).await
    }
    .map_err(|e| vec![e.to_string()])?;
    let mut errors = Vec::new();
    let mut grants = Vec::new();
    let mut seen: HashMap<i32, usize> = HashMap::new();
    for (line, fields) in rows {
        let [username, until, reason] = <[String; 3]>::try_from(fields).unwrap_or_default();
        let mut problems = Vec::new();
        let student = students.get(&username).copied();
        if student.is_none() {
            problems.push(format!("{username} is not a student of {}", course.code));
        }
        let until = parse_instant(&until, course.zone())
            .map_err(|e| problems.push(e.to_string()))
            .ok();
        if reason.is_empty() {
            problems.push("the reason is empty".into());
        }
        if let Some(id) = student
            && let Some(first) = seen.insert(id, line)
        {
            problems.push(format!("{username} is already on line {first}"));
        }
        match (student, until) {
            (Some(student_id), Some(until)) if problems.is_empty() => {
                grants.push(extension::Grant {
                    student_id,
                    until,
                    reason,
                });
            }
            _ => errors.push(format!("line {line}: {}", problems.join("; "))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let decision = extension::Decision {
        course_id: course.id,
        assignment_id: assignment.id,
        by,
        at,
    };
    extension::grant(db, &decision, &grants)
        .await
        .map_err(|e| vec![e.to_string()])?;
    Ok(grants.len())
}

/// The course's students by username.
pub async fn enrolled_students(
    db: &DatabaseConnection,
    course_id: i32,
) -> Result<HashMap<String, i32>, sea_orm::DbErr> {
    Ok(enrolment::students(db, course_id)
        .await?
        .into_iter()
        .map(|u| (u.username, u.id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_and_field_counts_are_checked_with_line_numbers() {
        assert!(
            records("user,until\nx,y", &["username", "until", "reason"]).unwrap_err()[0]
                .starts_with("line 1")
        );
        let errors = records(
            "username,until,reason\na,b,c\nd,e\n",
            &["username", "until", "reason"],
        )
        .unwrap_err();
        assert_eq!(errors, vec!["line 3: 2 fields, expected 3"]);
        let rows = records(
            "Username,Until,Reason\n ab1g23 , 2020-06-05 16:00 ,\"ill, then worse\"\n",
            &["username", "until", "reason"],
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
