//! Deadlines in people's own calendars: a private feed (iCalendar, RFC
//! 5545) per person, opened by a secret in its address, and a one-off
//! `.ics` per assignment. Each student's events show the deadline as it
//! applies to them (their extension included), with reminders; staff see
//! their courses' deadlines. An event keeps its UID when its deadline moves
//! and raises its SEQUENCE, so calendars update it rather than add another.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Trigger};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::Scope;
use crate::App;
use crate::error::{Error, Result};
use crate::models::access::CourseRole;
use crate::models::overview::{self, AssignmentView};
use crate::models::{audit, user};

/// Reminders before a student's own deadline.
const REMINDERS: [(i64, &str); 2] = [(24 * 60, "1 day"), (2 * 60, "2 hours")];

/// The person's feed address (its secret), if they made one.
pub fn link(who: &user::Model) -> Option<&str> {
    who.calendar_token.as_deref()
}

/// Makes a new feed address for the person: the old one stops working.
pub async fn renew(app: &App, who: user::Model) -> Result<String> {
    let token = hex::encode(rand::random::<[u8; 24]>());
    user::set_calendar_token(&app.db, who, Some(token.clone())).await?;
    Ok(token)
}

/// Turns the person's feed off: its address stops working.
pub async fn turn_off(app: &App, who: user::Model) -> Result<()> {
    user::set_calendar_token(&app.db, who, None).await?;
    Ok(())
}

/// Turns mail reminders before the person's deadlines on or off.
pub async fn set_reminders(app: &App, who: user::Model, on: bool) -> Result<()> {
    user::set_mail_reminders(&app.db, who, on).await?;
    Ok(())
}

/// How many times each event has changed: its deadline moved, or (for a
/// student) their extension granted, edited or revoked.
async fn sequences(
    app: &App,
    assignment_ids: &[i32],
    student_id: Option<i32>,
) -> Result<HashMap<i32, u32>> {
    use sea_orm::Condition;
    // The moves, and this student's own extension changes (never everyone's).
    let theirs = match student_id {
        Some(id) => Condition::all().add(audit::Column::StudentId.eq(id)).add(
            audit::Column::Action.is_in([
                "extension_granted",
                "extension_edited",
                "extension_revoked",
            ]),
        ),
        None => Condition::any(),
    };
    let changes = audit::Entity::find()
        .filter(audit::Column::AssignmentId.is_in(assignment_ids.iter().copied()))
        .filter(
            Condition::any()
                .add(audit::Column::Action.eq("deadline_moved"))
                .add(theirs),
        )
        .all(&app.db)
        .await?;
    let mut counts = HashMap::new();
    for id in changes
        .into_iter()
        .filter_map(|change| change.assignment_id)
    {
        *counts.entry(id).or_insert(0) += 1;
    }
    Ok(counts)
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One assignment's event, as it applies to `who`.
fn event(
    app: &App,
    who: &user::Model,
    view: &AssignmentView,
    sequence: u32,
    now: DateTime<Utc>,
) -> Option<Event> {
    let student = view.role == CourseRole::Student;
    let at = view
        .effective_deadline
        .as_deref()
        .filter(|_| student)
        .and_then(instant)
        .or_else(|| instant(&view.due))?;
    let mut description = if student && view.has_extension {
        format!(
            "Your extended deadline: {}.",
            view.effective_deadline_local.clone().unwrap_or_default()
        )
    } else {
        format!("Deadline: {}.", view.due_local)
    };
    if let Some(close) = &view.hard_close_local {
        description.push_str(&format!(" Uploads close: {close}."));
    }
    let path = format!("/courses/{}/assignments/{}", view.course, view.slug);
    let address = match &app.config.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => path,
    };
    description.push_str(&format!(" Hand in at {address}"));
    let mut event = Event::new();
    event
        // Stable: the same person's same assignment, however often it moves.
        .uid(&format!(
            "{}-{}-{}@handin",
            view.course, view.slug, who.username
        ))
        .summary(&format!("{}: {} due", view.course, view.title))
        .description(&description)
        .starts(at)
        .ends(at)
        .sequence(sequence)
        .timestamp(now);
    if app.config.public_url.is_some() {
        event.url(&address);
    }
    if student {
        for (minutes, before) in REMINDERS {
            event.alarm(Alarm::display(
                &format!("{} {} is due in {before}", view.course, view.title),
                Trigger::before_start(Duration::minutes(minutes)),
            ));
        }
    }
    Some(event.done())
}

async fn calendar(app: &App, who: &user::Model, views: Vec<AssignmentView>) -> Result<String> {
    let now = app.clock.now();
    let ids: Vec<i32> = views.iter().map(|v| v.assignment_id).collect();
    let sequences = sequences(app, &ids, Some(who.id)).await?;
    let mut calendar = Calendar::new();
    calendar.name("handin: deadlines");
    for view in &views {
        let sequence = sequences.get(&view.assignment_id).copied().unwrap_or(0);
        if let Some(event) = event(app, who, view, sequence, now) {
            calendar.push(event);
        }
    }
    Ok(calendar.done().to_string())
}

/// The feed the secret `token` opens: every deadline of its owner's courses.
pub async fn feed(app: &App, token: &str) -> Result<String> {
    let who = user::find_by_calendar_token(&app.db, token)
        .await?
        .ok_or_else(|| Error::not_found("calendar"))?;
    let views = overview::for_user(&app.db, &who, app.clock.now()).await?;
    calendar(app, &who, views).await
}

/// One assignment's deadline as it applies to the person in scope.
pub async fn assignment_ics(app: &App, scope: &Scope) -> Result<(String, String)> {
    let page = super::overview::assignment_page(app, scope).await?;
    let name = format!("{}-{}.ics", scope.course.code, scope.assignment.slug);
    Ok((name, calendar(app, &scope.user, vec![page.view]).await?))
}
