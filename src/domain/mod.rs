//! Pure rules: deadlines, lateness, working days, penalties and bundle checks.
//!
//! Nothing in here touches HTTP, the database, the file system or the clock:
//! every function takes the instants it needs, so each rule is unit-tested to
//! the second.

pub mod bundle;
pub mod calendar;
pub mod deadline;
pub mod feedback;
pub mod mail;
pub mod marks;
pub mod names;
pub mod penalty;
pub mod preview;
pub mod readable;
pub mod throttle;
pub mod zone;
