//! SeaORM entities and the queries that belong to each, one file per aggregate.

pub mod access;
pub mod api_token;
pub mod assignment;
pub mod audit;
pub mod closure_day;
pub mod column;
pub mod course;
pub mod enrolment;
pub mod extension;
pub mod feedback_file;
pub mod instance;
pub mod log;
pub mod login_failure;
pub mod mark;
pub mod marking;
pub mod outbox;
pub mod overview;
pub mod receipt;
pub mod requests;
pub mod session;
pub mod submission;
pub mod user;
