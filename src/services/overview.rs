//! What a person sees of their assignments: the dashboard, and one
//! assignment's page (for a student: their attempts and requests too).

use super::Scope;
use crate::App;
use crate::error::Result;
use crate::models::overview::{self, AssignmentView};
use crate::models::receipt::Receipt;
use crate::models::requests::{self, RequestView};
use crate::models::{closure_day, extension, submission};
use crate::policy::Act;

/// Every assignment the user can see, soonest deadline first.
pub async fn dashboard(app: &App, who: &crate::models::user::Model) -> Result<Vec<AssignmentView>> {
    Ok(overview::for_user(&app.db, who, app.clock.now()).await?)
}

/// One assignment as the person in scope sees it.
pub struct AssignmentPage {
    pub view: AssignmentView,
    /// The student's own attempts, newest first (empty for staff).
    pub attempts: Vec<Receipt>,
    /// The student's own extension requests (empty for staff).
    pub requests: Vec<RequestView>,
}

pub async fn assignment_page(app: &App, scope: &Scope) -> Result<AssignmentPage> {
    let now = app.clock.now();
    // Those who hand in here see their own attempts and requests.
    if !scope.allows(Act::HandIn) {
        let closed = closure_day::university(&app.db).await?;
        let view = overview::build(
            &scope.course,
            &scope.assignment,
            scope.role,
            (None, &closed),
            now,
        );
        return Ok(AssignmentPage {
            view,
            attempts: Vec::new(),
            requests: Vec::new(),
        });
    }
    let (course, assignment, me) = (&scope.course, &scope.assignment, &scope.user);
    let state = overview::student_state(&app.db, assignment.id, me.id).await?;
    let closed = closure_day::university(&app.db).await?;
    let mut view = overview::build(
        course,
        assignment,
        scope.role,
        (Some(state.clone()), &closed),
        now,
    );
    view.moved = overview::recent_moves(&app.db, &[assignment.id], now)
        .await?
        .get(&assignment.id)
        .map(|m| overview::describe_move(m, course.zone()));
    Ok(AssignmentPage {
        attempts: receipts(scope, state.0, &closed, &attempt_rows(app, scope).await?),
        requests: requests::for_student(&app.db, course, assignment, me).await?,
        view,
    })
}

/// A student's own attempts as receipts, newest first.
pub async fn own_attempts(app: &App, scope: &Scope) -> Result<Vec<Receipt>> {
    let extension = extension::until_for(&app.db, scope.assignment.id, scope.user.id).await?;
    let closed = closure_day::university(&app.db).await?;
    Ok(receipts(
        scope,
        extension,
        &closed,
        &attempt_rows(app, scope).await?,
    ))
}

async fn attempt_rows(app: &App, scope: &Scope) -> Result<Vec<submission::Model>> {
    Ok(submission::attempts(&app.db, scope.assignment.id, scope.user.id).await?)
}

fn receipts(
    scope: &Scope,
    extension: Option<chrono::DateTime<chrono::Utc>>,
    closed: &[chrono::NaiveDate],
    attempts: &[submission::Model],
) -> Vec<Receipt> {
    let rule = scope.assignment.rule(&scope.course, extension, closed);
    attempts
        .iter()
        .map(|s| Receipt::build(s, &scope.assignment, &scope.course, &scope.user, &rule))
        .collect()
}
