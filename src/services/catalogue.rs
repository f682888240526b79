//! The catalogue: courses, assignments and their deadlines, written as
//! wall-clock times in each course's zone, from a file (`handin import
//! FILE.toml`) or from the administrators' forms, through the same code.
//!
//! Everything is checked before anything is written, then written in one
//! transaction, on the record; importing the same file twice changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use super::mail::{self, Links};
use crate::App;
use crate::config::AppConfig;
use crate::domain::bundle::compile_pattern;
use crate::domain::deadline::Counts;
use crate::domain::marks::Points;
use crate::domain::penalty::LatePolicy;
use crate::domain::zone::parse_local;
use crate::error::{Error, Result};
use crate::evidence::Notary;
use crate::models::column::{ClosureDays, Policy, RequiredFiles, Zone};
use crate::models::{assignment, audit, closure_day, course, enrolment, extension, mark, outbox};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportFile {
    /// The university's closure days, shared by every course (left out:
    /// kept as they are).
    #[serde(default)]
    pub closure_days: Option<Vec<String>>,
    #[serde(default, rename = "course")]
    pub courses: Vec<CourseSpec>,
}

/// Dates as `YYYY-MM-DD`, or every one that is not, named with `whose`.
fn dates(texts: &[String], whose: &str) -> std::result::Result<Vec<NaiveDate>, Vec<String>> {
    let mut errors = Vec::new();
    let days = texts
        .iter()
        .filter_map(|d| {
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map_err(|_| {
                    errors.push(format!(
                        "{whose}: closure day '{d}' is not a date (YYYY-MM-DD)"
                    ))
                })
                .ok()
        })
        .collect();
    if errors.is_empty() {
        Ok(days)
    } else {
        Err(errors)
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CourseSpec {
    pub code: String,
    pub title: String,
    pub time_zone: String,
    #[serde(default)]
    pub closure_days: Vec<String>,
    /// Whether the course's markers may grant extensions.
    #[serde(default)]
    pub markers_grant_extensions: bool,
    #[serde(default, rename = "assignment")]
    pub assignments: Vec<AssignmentSpec>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSpec {
    pub slug: String,
    pub title: String,
    pub opens: Option<String>,
    pub due: String,
    pub hard_close: Option<String>,
    #[serde(default)]
    pub grace_minutes: u32,
    pub max_bundle_mib: Option<u64>,
    #[serde(default)]
    pub required_files: Vec<String>,
    /// Markers see candidate numbers instead of names.
    #[serde(default)]
    pub anonymous: bool,
    /// `none` (the default), `uk_standard`, or `per_day:PERCENT:CAP`.
    #[serde(default)]
    pub late_policy: String,
    /// The highest mark (default 100).
    #[serde(default)]
    pub max_mark: Option<MarkSetting>,
    /// The pass mark, if there is one (`""`: none).
    #[serde(default)]
    pub pass_mark: Option<MarkSetting>,
    /// Markers return feedback files with the marks.
    #[serde(default)]
    pub feedback_files: Option<bool>,
    /// A statement students tick before uploading (`""`: none).
    #[serde(default)]
    pub declaration: Option<String>,
    /// Which attempt counts: `latest` (the default) or `latest_on_time`.
    #[serde(default)]
    pub counts: Option<String>,
    /// A late penalty never takes a passing mark below the pass mark.
    #[serde(default)]
    pub penalty_floor_at_pass: Option<bool>,
}

/// Which of the marking settings an import says. One it leaves out keeps
/// what the assignment has: re-importing an old deadlines file must not
/// put the maximum mark back to 100 under marks already given.
#[derive(Debug, Clone, Copy)]
struct Says {
    max_mark: bool,
    pass_mark: bool,
    feedback_files: bool,
    declaration: bool,
    counts: bool,
    penalty_floor_at_pass: bool,
}

/// A mark in a file (`max_mark = 100`, `pass_mark = 39.5`) or typed in a form.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum MarkSetting {
    Number(f64),
    Text(String),
}

impl MarkSetting {
    fn read(&self) -> Result<Points, String> {
        match self {
            MarkSetting::Number(n) => Points::parse(&n.to_string()),
            MarkSetting::Text(t) => Points::parse(t),
        }
    }
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

/// Codes and slugs appear in URLs and file names: keep them plain.
fn check_code(kind: &str, text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 40
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} '{text}' must be 1 to 40 letters, digits, '-' or '_'"
        ))
    }
}

/// A course spec checked and resolved to instants.
struct Resolved {
    course: course::Model,
    assignments: Vec<(assignment::Model, Says)>,
}

fn resolve(spec: &CourseSpec, config: &AppConfig) -> Result<Resolved, Vec<String>> {
    let mut errors = Vec::new();
    let code = &spec.code;
    if let Err(e) = check_code("course code", code) {
        errors.push(e);
    }
    let zone: Tz = spec.time_zone.parse().unwrap_or_else(|_| {
        errors.push(format!(
            "{code}: '{}' is not a time zone (use a name such as Europe/London)",
            spec.time_zone
        ));
        Tz::UTC
    });
    let closure_days: Vec<NaiveDate> = spec
        .closure_days
        .iter()
        .filter_map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| {
                    errors.push(format!(
                        "{code}: closure day '{d}' is not a date (YYYY-MM-DD)"
                    ))
                })
                .ok()
        })
        .collect();
    let course = course::Model {
        id: 0,
        code: code.clone(),
        title: spec.title.trim().to_string(),
        time_zone: Zone(zone),
        closure_days: ClosureDays(closure_days),
        markers_grant_extensions: spec.markers_grant_extensions,
    };
    let mut assignments = Vec::new();
    for a in &spec.assignments {
        let name = format!("{code}/{}", a.slug);
        let mut time = |field: &str, text: &str| -> Option<DateTime<Utc>> {
            parse_local(text, zone)
                .map_err(|e| errors.push(format!("{name}: {field}: {e}")))
                .ok()
        };
        let due = time("due", &a.due);
        let opens = a.opens.as_deref().and_then(|t| time("opens", t));
        let hard_close = a.hard_close.as_deref().and_then(|t| time("hard_close", t));
        if let Err(e) = check_code("assignment slug", &a.slug) {
            errors.push(format!("{name}: {e}"));
        }
        if a.title.trim().is_empty() {
            errors.push(format!("{name}: the title is empty"));
        }
        let grace = chrono::Duration::minutes(i64::from(a.grace_minutes));
        if let (Some(due), Some(close)) = (due, hard_close) {
            if close < due {
                errors.push(format!("{name}: hard_close is before the deadline"));
            } else if close < due + grace {
                // Uploads would close while still counted as on time.
                errors.push(format!(
                    "{name}: hard_close is before the end of the {}-minute grace period",
                    a.grace_minutes
                ));
            }
        }
        if let (Some(due), Some(opens)) = (due, opens)
            && opens > due
        {
            errors.push(format!("{name}: opens is after the deadline"));
        }
        let max_mib = a.max_bundle_mib.unwrap_or(config.default_bundle_mib);
        if max_mib == 0 || max_mib > config.max_upload_mib {
            errors.push(format!(
                "{name}: max_bundle_mib must be between 1 and {} (the server's max_upload_mib)",
                config.max_upload_mib
            ));
        }
        let late_policy = LatePolicy::parse(&a.late_policy).unwrap_or_else(|e| {
            errors.push(format!("{name}: {e}"));
            LatePolicy::None
        });
        let mark = |field: &str, setting: &Option<MarkSetting>| match setting {
            None => None,
            Some(MarkSetting::Text(t)) if t.trim().is_empty() => None,
            Some(setting) => Some(setting.read().map_err(|e| format!("{name}: {field}: {e}"))),
        };
        let max_mark = match mark("max_mark", &a.max_mark) {
            None => Points(10000),
            Some(Ok(max)) if max.0 > 0 => max,
            Some(Ok(_)) => {
                errors.push(format!("{name}: max_mark must be more than 0"));
                Points(10000)
            }
            Some(Err(e)) => {
                errors.push(e);
                Points(10000)
            }
        };
        let pass_mark = match mark("pass_mark", &a.pass_mark) {
            Some(Ok(pass)) if pass > max_mark => {
                errors.push(format!(
                    "{name}: pass_mark is more than max_mark ({max_mark})"
                ));
                None
            }
            Some(Ok(pass)) => Some(pass),
            Some(Err(e)) => {
                errors.push(e);
                None
            }
            None => None,
        };
        for pattern in &a.required_files {
            if let Err(e) = compile_pattern(pattern) {
                errors.push(format!("{name}: {e}"));
            }
        }
        let says = Says {
            max_mark: a.max_mark.is_some(),
            pass_mark: a.pass_mark.is_some(),
            feedback_files: a.feedback_files.is_some(),
            declaration: a.declaration.is_some(),
            counts: a.counts.is_some(),
            penalty_floor_at_pass: a.penalty_floor_at_pass.is_some(),
        };
        let counts = Counts::parse(a.counts.as_deref().unwrap_or("")).unwrap_or_else(|e| {
            errors.push(format!("{name}: counts: {e}"));
            Counts::Latest
        });
        let declaration = a
            .declaration
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        if declaration
            .as_ref()
            .is_some_and(|d| d.chars().count() > crate::services::TEXT_LIMIT)
        {
            errors.push(format!(
                "{name}: the declaration is longer than {} characters",
                crate::services::TEXT_LIMIT
            ));
        }
        if let Some(due) = due {
            let assignment = assignment::Model {
                id: 0,
                course_id: 0,
                slug: a.slug.clone(),
                title: a.title.trim().to_string(),
                opens_at: opens,
                due_at: due,
                hard_close_at: hard_close,
                grace_seconds: i64::from(a.grace_minutes) * 60,
                max_bundle_bytes: (max_mib * 1024 * 1024) as i64,
                required_files: RequiredFiles(a.required_files.clone()),
                anonymous: a.anonymous,
                late_policy: Policy(late_policy),
                max_mark: max_mark.0,
                pass_mark: pass_mark.map(|p| p.0),
                // Set by releasing marks, never by an import.
                marks_released_at: None,
                feedback_files: a.feedback_files.unwrap_or(false),
                declaration,
                counted_attempt: counts.spelling().to_string(),
                penalty_floor_at_pass: a.penalty_floor_at_pass.unwrap_or(false),
            };
            assignments.push((assignment, says));
        }
    }
    if errors.is_empty() {
        Ok(Resolved {
            course,
            assignments,
        })
    } else {
        Err(errors)
    }
}

/// Who is changing courses and assignments, when, and why: every change is
/// put on the record.
pub struct Change<'a> {
    pub actor_id: Option<i32>,
    pub at: DateTime<Utc>,
    /// Required when a deadline moves.
    pub reason: &'a str,
}

/// Reads and applies an import file.
pub async fn import_file(app: &App, text: &str, change: &Change<'_>) -> Result<ImportReport> {
    let file: ImportFile =
        toml::from_str(text).map_err(|e| Error::invalid(format!("the file is not valid: {e}")))?;
    apply_all(app, (&file.courses, file.closure_days.as_deref()), change).await
}

/// Checks every course first, then writes them all in one transaction.
pub async fn apply(app: &App, specs: &[CourseSpec], change: &Change<'_>) -> Result<ImportReport> {
    apply_all(app, (specs, None), change).await
}

/// The university's closure days.
pub async fn university_closure_days(app: &App) -> Result<Vec<NaiveDate>> {
    Ok(closure_day::university(&app.db).await?)
}

/// Replaces the university's closure days (from the administrators' page).
pub async fn set_university_closure_days(app: &App, actor_id: i32, text: &str) -> Result<bool> {
    let texts: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    let days = dates(&texts, "the university").map_err(Error::Invalid)?;
    let txn = crate::db::begin_write(&app.db).await?;
    let changed = closure_day::replace(&txn, &days, Some(actor_id), app.clock.now()).await?;
    txn.commit().await?;
    Ok(changed)
}

/// The courses, and the university's closure days if the file gives them.
async fn apply_all(
    app: &App,
    (specs, university): (&[CourseSpec], Option<&[String]>),
    change: &Change<'_>,
) -> Result<ImportReport> {
    let (db, config) = (&app.db, &app.config);
    let mut resolved = Vec::new();
    let mut errors = Vec::new();
    let university = match university.map(|days| dates(days, "closure_days")) {
        None => None,
        Some(Ok(days)) => Some(days),
        Some(Err(mut e)) => {
            errors.append(&mut e);
            None
        }
    };
    for spec in specs {
        match resolve(spec, config) {
            Ok(r) => resolved.push(r),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let txn = crate::db::begin_write(db).await?;
    let mut report = ImportReport::default();
    if let Some(days) = university
        && closure_day::replace(&txn, &days, change.actor_id, change.at).await?
    {
        report.updated += 1;
    }
    for r in resolved {
        let course_id = upsert_course(&txn, r.course, &mut report, change).await?;
        for (a, says) in r.assignments {
            let wanted = assignment::Model { course_id, ..a };
            let told = (Links(config.public_url.as_deref()), app.notary.as_ref());
            upsert_assignment(&txn, wanted, says, (&mut report, told), change).await?;
        }
    }
    txn.commit().await?;
    Ok(report)
}

fn json(value: &impl serde::Serialize) -> Option<String> {
    serde_json::to_string(value).ok()
}

async fn upsert_course(
    db: &impl sea_orm::ConnectionTrait,
    wanted: course::Model,
    report: &mut ImportReport,
    change: &Change<'_>,
) -> Result<i32> {
    let existing = course::find_by_code(db, &wanted.code).await?;
    let (id, action, before) = match existing {
        Some(existing)
            if existing
                == course::Model {
                    id: existing.id,
                    ..wanted.clone()
                } =>
        {
            report.unchanged += 1;
            return Ok(existing.id);
        }
        Some(existing) => {
            let before = json(&existing);
            let mut active: course::ActiveModel = course::Model {
                id: existing.id,
                ..wanted.clone()
            }
            .into();
            active = active.reset_all();
            active.id = sea_orm::ActiveValue::Unchanged(existing.id);
            active.update(db).await?;
            report.updated += 1;
            (existing.id, "course_updated", before)
        }
        None => {
            let mut active: course::ActiveModel = wanted.clone().into();
            active.id = sea_orm::ActiveValue::NotSet;
            let id = active.insert(db).await?.id;
            report.created += 1;
            (id, "course_created", None)
        }
    };
    let entry = audit::Entry {
        actor_id: change.actor_id,
        action,
        course_id: Some(id),
        before,
        after: json(&course::Model { id, ..wanted }),
        details: change.reason.to_string(),
        ..Default::default()
    };
    audit::record(db, change.at, entry).await?;
    Ok(id)
}

async fn upsert_assignment(
    db: &impl sea_orm::ConnectionTrait,
    wanted: assignment::Model,
    says: Says,
    (report, (links, notary)): (&mut ImportReport, (Links<'_>, &Notary)),
    change: &Change<'_>,
) -> Result<()> {
    let existing = assignment::Entity::find()
        .filter(assignment::Column::CourseId.eq(wanted.course_id))
        .filter(assignment::Column::Slug.eq(wanted.slug.as_str()))
        .one(db)
        .await?;
    // An import says nothing of releasing marks: what was decided stays;
    // and a marking setting it leaves out stays as it is.
    let wanted = match &existing {
        None => wanted,
        Some(e) => assignment::Model {
            marks_released_at: e.marks_released_at,
            max_mark: if says.max_mark {
                wanted.max_mark
            } else {
                e.max_mark
            },
            pass_mark: if says.pass_mark {
                wanted.pass_mark
            } else {
                e.pass_mark
            },
            feedback_files: if says.feedback_files {
                wanted.feedback_files
            } else {
                e.feedback_files
            },
            declaration: if says.declaration {
                wanted.declaration
            } else {
                e.declaration.clone()
            },
            counted_attempt: if says.counts {
                wanted.counted_attempt
            } else {
                e.counted_attempt.clone()
            },
            penalty_floor_at_pass: if says.penalty_floor_at_pass {
                wanted.penalty_floor_at_pass
            } else {
                e.penalty_floor_at_pass
            },
            ..wanted
        },
    };
    check_marking(db, existing.as_ref(), &wanted).await?;
    let (id, action, before) = match existing {
        Some(existing)
            if existing
                == assignment::Model {
                    id: existing.id,
                    ..wanted.clone()
                } =>
        {
            report.unchanged += 1;
            return Ok(());
        }
        Some(existing) => {
            let moved = existing.due_at != wanted.due_at;
            if moved && change.reason.trim().is_empty() {
                return Err(Error::invalid(format!(
                    "moving the deadline of {} needs a reason",
                    existing.title
                )));
            }
            let before = json(&existing);
            let mut active: assignment::ActiveModel = assignment::Model {
                id: existing.id,
                ..wanted.clone()
            }
            .into();
            // Every field is written; the id stays the key.
            active = active.reset_all();
            active.id = sea_orm::ActiveValue::Unchanged(existing.id);
            let updated = active.update(db).await?;
            report.updated += 1;
            if moved {
                tell_deadline_moved(db, (&existing, &updated), change, links).await?;
                let course = course::Entity::find_by_id(updated.course_id)
                    .one(db)
                    .await?;
                let facts = serde_json::json!({
                    "course": course.map(|c| c.code).unwrap_or_default(),
                    "assignment": updated.slug,
                    "deadline_before": existing.due_at.to_rfc3339(),
                    "deadline": updated.due_at.to_rfc3339(),
                    "reason": change.reason,
                });
                super::evidence::log_change(db, notary, "deadline_moved", facts, change.at).await?;
            }
            (
                existing.id,
                if moved {
                    "deadline_moved"
                } else {
                    "assignment_updated"
                },
                before,
            )
        }
        None => {
            let mut active: assignment::ActiveModel = wanted.clone().into();
            active.id = sea_orm::ActiveValue::NotSet;
            let id = active.insert(db).await?.id;
            report.created += 1;
            (id, "assignment_created", None)
        }
    };
    let entry = audit::Entry {
        actor_id: change.actor_id,
        action,
        course_id: Some(wanted.course_id),
        assignment_id: Some(id),
        before,
        after: json(&assignment::Model { id, ..wanted }),
        details: change.reason.to_string(),
        ..Default::default()
    };
    Ok(audit::record(db, change.at, entry).await?)
}

/// Mails every student whose own deadline the move changes (those with an
/// extension beyond both the old and the new deadline keep theirs, and are
/// not told), in the transaction that moves it.
async fn tell_deadline_moved(
    db: &impl sea_orm::ConnectionTrait,
    (before, after): (&assignment::Model, &assignment::Model),
    change: &Change<'_>,
    links: Links<'_>,
) -> Result<()> {
    let Some(course) = course::Entity::find_by_id(after.course_id).one(db).await? else {
        return Ok(());
    };
    let closed = closure_day::university(db).await?;
    let extensions = extension::until_by_student(db, after.id).await?;
    let mut mails = Vec::new();
    for student in enrolment::students(db, course.id).await? {
        let held = extensions.get(&student.id).copied();
        let was = before.rule(&course, held, &closed).effective_deadline();
        let now = after.rule(&course, held, &closed).effective_deadline();
        if was != now {
            let times = (was, now);
            mails.extend(mail::deadline_moved(
                &student,
                &course,
                after,
                times,
                change.reason,
                links,
            ));
        }
    }
    outbox::enqueue(db, mails, change.at).await?;
    Ok(())
}

/// Refuses marking settings that do not fit together or that marks already
/// given would break: a pass mark above the maximum, or a maximum below a
/// mark a student has (change those marks first).
async fn check_marking(
    db: &impl sea_orm::ConnectionTrait,
    existing: Option<&assignment::Model>,
    wanted: &assignment::Model,
) -> Result<()> {
    let name = &wanted.slug;
    if let Some(pass) = wanted.pass_mark.filter(|p| *p > wanted.max_mark) {
        return Err(Error::invalid(format!(
            "{name}: the pass mark ({}) is more than the maximum mark ({})",
            Points(pass),
            Points(wanted.max_mark)
        )));
    }
    let Some(existing) = existing.filter(|e| wanted.max_mark < e.max_mark) else {
        return Ok(());
    };
    use sea_orm::{PaginatorTrait, QueryOrder};
    let above = mark::Entity::find()
        .filter(mark::Column::AssignmentId.eq(existing.id))
        .filter(mark::Column::RawMark.gt(wanted.max_mark))
        .order_by_desc(mark::Column::RawMark);
    let count = above.clone().count(db).await?;
    if let Some(highest) = above.one(db).await? {
        return Err(Error::invalid(format!(
            "{name}: {count} mark{} above the new maximum of {} (the highest is {}); \
             change {} first",
            if count == 1 { " is" } else { "s are" },
            Points(wanted.max_mark),
            highest.raw(),
            if count == 1 { "it" } else { "them" }
        )));
    }
    Ok(())
}

/// A course as the administrators' form gives it (its assignments are
/// kept as they are).
pub struct CourseForm<'a> {
    pub code: &'a str,
    pub title: &'a str,
    pub time_zone: &'a str,
    /// Dates separated by commas, spaces or new lines.
    pub closure_days: &'a str,
    pub markers_grant_extensions: bool,
}

/// Creates or updates a course from the form; returns its code.
pub async fn save_course(app: &App, actor_id: i32, form: CourseForm<'_>) -> Result<String> {
    let code = form.code.trim().to_string();
    let spec = CourseSpec {
        code: code.clone(),
        title: form.title.to_string(),
        time_zone: form.time_zone.trim().to_string(),
        closure_days: form
            .closure_days
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
        markers_grant_extensions: form.markers_grant_extensions,
        assignments: vec![],
    };
    let change = Change {
        actor_id: Some(actor_id),
        at: app.clock.now(),
        reason: "",
    };
    apply(app, &[spec], &change).await?;
    Ok(code)
}

/// Why an assignment is changed from the admin page, and whether a move
/// into the past or the next 24 hours was confirmed.
pub struct AssignmentChange<'a> {
    pub reason: &'a str,
    pub confirmed_soon: bool,
}

/// A deadline moved this close (or into the past) may catch students out:
/// the form asks first.
const SOON: chrono::Duration = chrono::Duration::hours(24);

/// Creates or updates one assignment of an existing course; moving its
/// deadline needs a reason, and moving it into the past or the next 24
/// hours a confirmation.
pub async fn save_assignment(
    app: &App,
    actor_id: i32,
    course: &course::Model,
    assignment: AssignmentSpec,
    change: AssignmentChange<'_>,
) -> Result<()> {
    let now = app.clock.now();
    let existing = assignment::find_by_codes(&app.db, &course.code, assignment.slug.trim()).await?;
    let due = parse_local(&assignment.due, course.zone()).ok();
    if let (Some((_, existing)), Some(due)) = (existing, due)
        && due != existing.due_at
        && due < now + SOON
        && !change.confirmed_soon
    {
        let when = if due <= now {
            "into the past"
        } else {
            "to less than 24 hours from now"
        };
        return Err(Error::Conflict(format!(
            "This moves the deadline of {} {when} ({}): students may not see it in time. \
             Tick \"Yes, move it\" and save again. Nothing was changed.",
            existing.title,
            crate::domain::zone::format_local(due, course.zone())
        )));
    }
    let reason = change.reason;
    let spec = CourseSpec {
        code: course.code.clone(),
        title: course.title.clone(),
        time_zone: course.zone_name().to_string(),
        closure_days: course
            .closure_days()
            .iter()
            .map(|d| d.to_string())
            .collect(),
        markers_grant_extensions: course.markers_grant_extensions,
        assignments: vec![assignment],
    };
    let change = Change {
        actor_id: Some(actor_id),
        at: app.clock.now(),
        reason: reason.trim(),
    };
    apply(app, &[spec], &change).await?;
    Ok(())
}

/// Every course, by code.
pub async fn courses(app: &App) -> Result<Vec<course::Model>> {
    use sea_orm::QueryOrder;
    Ok(course::Entity::find()
        .order_by_asc(course::Column::Code)
        .all(&app.db)
        .await?)
}

/// A course, by code.
pub async fn find_course(app: &App, code: &str) -> Result<course::Model> {
    course::find_by_code(&app.db, code)
        .await?
        .ok_or_else(|| Error::not_found("course"))
}

/// A course and its assignments, soonest deadline first.
pub async fn course(app: &App, code: &str) -> Result<(course::Model, Vec<assignment::Model>)> {
    let course = find_course(app, code).await?;
    let assignments = assignment::of_courses(&app.db, &[course.id]).await?;
    Ok((course, assignments))
}

/// An assignment with its course.
pub async fn assignment(
    app: &App,
    code: &str,
    slug: &str,
) -> Result<(course::Model, assignment::Model)> {
    assignment::find_by_codes(&app.db, code, slug)
        .await?
        .ok_or_else(|| Error::not_found("assignment"))
}
