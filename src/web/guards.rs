//! Request guards built on the access policy: the guard is the check. A
//! handler that takes `Allowed<Mark>` runs only for someone the policy lets
//! mark that assignment; one that takes `Global<Administer>` only for
//! administrators.

use std::marker::PhantomData;
use std::ops::Deref;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::uri;

use super::error::{AppError, fail};
use super::session::Caller;
use crate::App;
use crate::policy::{self, Act};
use crate::services::Scope;

/// An act as a type, so that a guard can name it.
pub trait Permission: Send + Sync + 'static {
    const ACT: Act;
}

macro_rules! permissions {
    ($($name:ident => $act:expr),* $(,)?) => {
        $(
            #[doc = concat!("The policy's `", stringify!($act), "`.")]
            pub struct $name;
            impl Permission for $name {
                const ACT: Act = $act;
            }
        )*
    };
}

permissions! {
    SeeAssignment => Act::SeeAssignment,
    HandIn => Act::HandIn,
    AskForExtension => Act::AskForExtension,
    Mark => Act::Mark,
    GrantExtension => Act::GrantExtension,
    DecideRequest => Act::DecideRequest,
    Administer => Act::Administer,
    ReadAudit => Act::ReadAudit,
}

/// The assignment named by the route (`/courses/<code>/assignments/<slug>/…`,
/// under `/` or `/api/v1`), with a caller the policy allows to do `P` there.
pub struct Allowed<P> {
    pub caller: Caller,
    pub scope: Scope,
    act: PhantomData<P>,
}

impl<P> Deref for Allowed<P> {
    type Target = Scope;

    fn deref(&self) -> &Scope {
        &self.scope
    }
}

impl<P> Allowed<P> {
    /// The assignment's page, where a person goes back to.
    pub fn page(&self) -> String {
        assignment_page(&self.scope)
    }

    /// The assignment's extensions page, where staff go back to.
    pub fn extensions_page(&self) -> String {
        let (code, slug) = (&self.course.code, &self.assignment.slug);
        uri!(super::extensions::extensions_page(code, slug)).to_string()
    }
}

#[rocket::async_trait]
impl<'r, P: Permission> FromRequest<'r> for Allowed<P> {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AppError> {
        let caller = rocket::outcome::try_outcome!(request.guard::<Caller>().await);
        let Some(app) = request.rocket().state::<App>() else {
            return fail(request, AppError::internal("application state missing"));
        };
        // Segments after the mount point: courses/<code>/assignments/<slug>.
        let segment = |n| {
            request
                .param::<&str>(n)
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        match Scope::find(app, caller.user.clone(), segment(1), segment(3), P::ACT).await {
            Ok(scope) => Outcome::Success(Allowed {
                caller,
                scope,
                act: PhantomData,
            }),
            Err(error) => fail(request, error.into()),
        }
    }
}

/// The page of the assignment in scope.
pub fn assignment_page(scope: &Scope) -> String {
    let (code, slug) = (&scope.course.code, &scope.assignment.slug);
    uri!(super::pages::assignment_page(code, slug)).to_string()
}

/// A caller the policy allows to do `P` where no course is concerned.
pub struct Global<P> {
    pub caller: Caller,
    act: PhantomData<P>,
}

#[rocket::async_trait]
impl<'r, P: Permission> FromRequest<'r> for Global<P> {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AppError> {
        let caller = rocket::outcome::try_outcome!(request.guard::<Caller>().await);
        if policy::allows_everywhere(&caller.user, P::ACT) {
            Outcome::Success(Global {
                caller,
                act: PhantomData,
            })
        } else {
            fail(
                request,
                AppError::forbidden("Only administrators can do that."),
            )
        }
    }
}
