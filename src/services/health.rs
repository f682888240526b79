//! Whether this instance can take work: its database and its store answer.

use crate::App;

/// `Ok`, or what is wrong in a few words (shown to anyone who asks, so no
/// detail: the details go to the log).
pub async fn readiness(app: &App) -> Result<(), &'static str> {
    if let Err(e) = crate::db::ping(&app.db).await {
        rocket::warn!("readiness: the database does not answer: {e}");
        return Err("database unavailable");
    }
    if let Err(e) = app.uploads.check().await {
        rocket::warn!("readiness: the uploads store does not answer: {e}");
        return Err("storage unavailable");
    }
    Ok(())
}
