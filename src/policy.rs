//! Who may do what: the one place access is decided.
//!
//! Every route's guard (`web::guards`) and every use case that works on a
//! thing found by id (`services::work`) asks [`allows`]; nothing else maps a
//! role to "allowed". The facts it decides on (a user's role in a course)
//! come from `models::access`.

use chrono::{DateTime, Utc};

use crate::models::access::CourseRole;
use crate::models::marking::Naming;
use crate::models::{assignment, course, user};

/// Something a person may want to do in a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// See an assignment's page: everyone in the course.
    SeeAssignment,
    /// Upload a bundle: the course's students.
    HandIn,
    /// Ask for an extension: the course's students.
    AskForExtension,
    /// See a submission's receipt and download its bundle: its author
    /// (`own`, even after leaving the course) and the course's markers.
    SeeWork { own: bool },
    /// See everyone's submissions, download them, export the table.
    Mark,
    /// Grant, edit, revoke and import extensions: administrators, and the
    /// course's markers where the course allows it.
    GrantExtension,
    /// Decide extension requests: whoever may grant extensions.
    DecideRequest,
    /// Read a request's evidence: its author, and whoever may decide it.
    SeeEvidence { own: bool },
    /// Courses, assignments, rosters: administrators.
    Administer,
    /// The audit log: administrators.
    ReadAudit,
}

/// Whether someone with `role` in `course` may do `act` there.
pub fn allows(role: Option<CourseRole>, act: Act, course: &course::Model) -> bool {
    use CourseRole::{Admin, Marker, Student};
    match act {
        Act::SeeWork { own: true } | Act::SeeEvidence { own: true } => true,
        Act::SeeAssignment => role.is_some(),
        Act::HandIn | Act::AskForExtension => role == Some(Student),
        Act::Mark | Act::SeeWork { own: false } => matches!(role, Some(Marker | Admin)),
        Act::GrantExtension | Act::DecideRequest | Act::SeeEvidence { own: false } => match role {
            Some(Admin) => true,
            Some(Marker) => course.markers_grant_extensions,
            _ => false,
        },
        Act::Administer | Act::ReadAudit => role == Some(Admin),
    }
}

/// Whether `user` may do `act` where no course is concerned (the
/// administration pages, the audit log): only acts that are not about a
/// course's work can be allowed this way.
pub fn allows_everywhere(user: &user::Model, act: Act) -> bool {
    matches!(act, Act::Administer | Act::ReadAudit) && user.is_admin()
}

/// Whether students are shown to this role by candidate number only: markers
/// on an anonymous assignment until its marks are released. Administrators
/// always see names.
pub fn hides_names(role: CourseRole, assignment: &assignment::Model, now: DateTime<Utc>) -> bool {
    assignment.anonymous && role != CourseRole::Admin && !assignment.marks_released(now)
}

/// How the marker's table names students for this role: administrators see
/// names and candidate numbers; markers of an anonymous assignment see
/// candidate numbers only, and from the release of the marks both (the
/// candidate number is what their notes and files were keyed by).
pub fn naming(role: CourseRole, assignment: &assignment::Model, now: DateTime<Utc>) -> Naming {
    Naming {
        hides_names: hides_names(role, assignment, now),
        shows_candidates: assignment.anonymous || role == CourseRole::Admin,
    }
}

/// What a refused person is told.
pub fn refusal(act: Act, course: &course::Model, assignment: &assignment::Model) -> String {
    match act {
        Act::SeeAssignment => format!("You are not enrolled in {}.", course.code),
        Act::HandIn => format!(
            "Only students enrolled in {} can hand in {}.",
            course.code, assignment.title
        ),
        Act::AskForExtension => "Only the course's students can ask for an extension.".into(),
        Act::Mark | Act::SeeWork { .. } => format!(
            "Only the markers of {} can see everyone's submissions.",
            course.code
        ),
        Act::GrantExtension | Act::DecideRequest | Act::SeeEvidence { .. } => format!(
            "Only administrators can manage extensions for {}.",
            course.code
        ),
        Act::Administer | Act::ReadAudit => "Only administrators can do that.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::column::{ClosureDays, Zone};
    use CourseRole::{Admin, Marker, Student};

    fn course(markers_grant_extensions: bool) -> course::Model {
        course::Model {
            id: 1,
            code: "COMP6248".into(),
            title: "Differentiable Programming".into(),
            time_zone: Zone(chrono_tz::Europe::London),
            closure_days: ClosureDays::default(),
            markers_grant_extensions,
        }
    }

    /// Every act against every role, in both kinds of course. Each row:
    /// the act, then whether (nobody, student, marker, admin) may, where
    /// markers may not grant, and where they may.
    #[test]
    fn the_policy_table() {
        let table: [(Act, [bool; 4], [bool; 4]); 12] = [
            (
                Act::SeeAssignment,
                [false, true, true, true],
                [false, true, true, true],
            ),
            (
                Act::HandIn,
                [false, true, false, false],
                [false, true, false, false],
            ),
            (
                Act::AskForExtension,
                [false, true, false, false],
                [false, true, false, false],
            ),
            (
                Act::SeeWork { own: true },
                [true, true, true, true],
                [true, true, true, true],
            ),
            (
                Act::SeeWork { own: false },
                [false, false, true, true],
                [false, false, true, true],
            ),
            (
                Act::Mark,
                [false, false, true, true],
                [false, false, true, true],
            ),
            (
                Act::GrantExtension,
                [false, false, false, true],
                [false, false, true, true],
            ),
            (
                Act::DecideRequest,
                [false, false, false, true],
                [false, false, true, true],
            ),
            (
                Act::SeeEvidence { own: true },
                [true, true, true, true],
                [true, true, true, true],
            ),
            (
                Act::SeeEvidence { own: false },
                [false, false, false, true],
                [false, false, true, true],
            ),
            (
                Act::Administer,
                [false, false, false, true],
                [false, false, false, true],
            ),
            (
                Act::ReadAudit,
                [false, false, false, true],
                [false, false, false, true],
            ),
        ];
        let roles = [None, Some(Student), Some(Marker), Some(Admin)];
        for (act, strict, lenient) in table {
            for (i, role) in roles.into_iter().enumerate() {
                assert_eq!(
                    allows(role, act, &course(false)),
                    strict[i],
                    "{act:?} {role:?}"
                );
                assert_eq!(
                    allows(role, act, &course(true)),
                    lenient[i],
                    "{act:?} {role:?} (markers grant)"
                );
            }
        }
    }

    #[test]
    fn only_administrators_act_outside_a_course_and_only_as_administrators() {
        let person = |role| user::Model {
            id: 1,
            username: "x".into(),
            display_name: "X".into(),
            email: String::new(),
            role,
            password_hash: String::new(),
            created_at: chrono::Utc::now(),
            provider_identity: None,
            calendar_token: None,
            mail_reminders: true,
        };
        let admin = person(user::Role::Admin);
        let marker = person(user::Role::Marker);
        assert!(allows_everywhere(&admin, Act::Administer));
        assert!(allows_everywhere(&admin, Act::ReadAudit));
        assert!(!allows_everywhere(&marker, Act::Administer));
        assert!(!allows_everywhere(&admin, Act::Mark));
        assert!(!allows_everywhere(&admin, Act::HandIn));
    }

    #[test]
    fn names_are_hidden_from_markers_of_anonymous_assignments_only() {
        let mut a = assignment::Model {
            id: 1,
            course_id: 1,
            slug: "labs".into(),
            title: "Labs".into(),
            opens_at: None,
            due_at: chrono::Utc::now(),
            hard_close_at: None,
            grace_seconds: 0,
            max_bundle_bytes: 1,
            required_files: Default::default(),
            anonymous: false,
            late_policy: Default::default(),
            max_mark: 10000,
            pass_mark: None,
            marks_released_at: None,
            feedback_files: false,
            declaration: None,
            counted_attempt: "latest".into(),
            penalty_floor_at_pass: false,
        };
        let now = chrono::Utc::now();
        assert!(!hides_names(Marker, &a, now));
        a.anonymous = true;
        assert!(hides_names(Marker, &a, now));
        assert!(!hides_names(Admin, &a, now));
        // Names come out with the marks, and not a second before.
        a.marks_released_at = Some(now + chrono::Duration::seconds(1));
        assert!(hides_names(Marker, &a, now));
        a.marks_released_at = Some(now);
        assert!(!hides_names(Marker, &a, now));
    }
}
