//! The live demo a developer gets on the first `cargo run`: COMP6248 with its
//! two deadlines in the coming year, and one student, marker and administrator.

use chrono::{Datelike, NaiveDate, NaiveTime};
use chrono_tz::Europe::London;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::App;
use crate::domain::zone::local_to_utc;
use crate::models::user::{self, Account, Role};
use crate::services::catalogue::{self, AssignmentSpec, CourseSpec};
use crate::services::roster;

/// The first year, from `today`, in which 20 May 16:00 is still ahead.
pub fn demo_year(now: chrono::DateTime<chrono::Utc>) -> i32 {
    let year = now.with_timezone(&London).year();
    let labs_due = |y| {
        NaiveDate::from_ymd_opt(y, 5, 20)
            .map(|d| d.and_time(NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default()))
            .and_then(|t| local_to_utc(t, London).ok())
    };
    if labs_due(year).is_some_and(|due| due > now) {
        year
    } else {
        year + 1
    }
}

/// Where a person reaches this server: the public address if one is set,
/// else the address and port it listens on (loopback for "any").
pub fn address(rocket: &rocket::Config, config: &crate::config::AppConfig) -> String {
    if let Some(public) = &config.public_url {
        return public.trim_end_matches('/').to_string();
    }
    let host = match rocket.address {
        any if any.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    format!("http://{host}:{}", rocket.port)
}

/// `address` is where the demo's users log in (printed with their passwords).
pub async fn create_if_empty(app: &App, address: &str) -> Result<(), String> {
    if user::Entity::find()
        .count(&app.db)
        .await
        .map_err(|e| e.to_string())?
        > 0
    {
        return Ok(());
    }
    let now = app.clock.now();
    let year = demo_year(now);
    let spec = CourseSpec {
        code: "COMP6248".into(),
        title: "Differentiable Programming".into(),
        time_zone: "Europe/London".into(),
        closure_days: vec![],
        markers_grant_extensions: false,
        assignments: vec![
            AssignmentSpec {
                slug: "labs".into(),
                title: "Lab exercises".into(),
                due: format!("{year}-05-20 16:00"),
                required_files: vec!["lab*/**/*.ipynb".into()],
                ..AssignmentSpec::default()
            },
            AssignmentSpec {
                slug: "coursework".into(),
                title: "Coursework".into(),
                due: format!("{year}-05-29 16:00"),
                hard_close: Some(format!("{year}-06-05 16:00")),
                required_files: vec!["report.pdf".into()],
                late_policy: "uk_standard".into(),
                feedback_files: Some(true),
                ..AssignmentSpec::default()
            },
        ],
    };
    let change = catalogue::Change {
        actor_id: None,
        at: now,
        reason: "demo",
    };
    catalogue::apply(app, &[spec], &change)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\nDemo course COMP6248 \"Differentiable Programming\" created (deadlines in {year}). Log in at {address} with:"
    );
    for (username, name, role) in [
        ("student", "Sam Student", Role::Student),
        ("marker", "Morgan Marker", Role::Marker),
        ("admin", "Alex Admin", Role::Admin),
    ] {
        let password = user::generate_password();
        let account = Account {
            username: username.to_string(),
            display_name: name.to_string(),
            email: format!("{username}@example.ac.uk"),
            role,
        };
        roster::add(app, &account, &password, Some("COMP6248"))
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "  {:<8} {:<8} password: {password}",
            role.as_str(),
            username
        );
    }
    println!("These passwords are shown once; delete handin.sqlite to start the demo afresh.\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_banner_names_the_address_the_server_listens_on() {
        let mut rocket = rocket::Config {
            port: 8123,
            ..rocket::Config::default()
        };
        let mut config = crate::config::AppConfig::default();
        assert_eq!(address(&rocket, &config), "http://127.0.0.1:8123");
        rocket.address = "0.0.0.0".parse().unwrap();
        assert_eq!(address(&rocket, &config), "http://127.0.0.1:8123");
        rocket.address = "::1".parse().unwrap();
        assert_eq!(address(&rocket, &config), "http://[::1]:8123");
        config.public_url = Some("https://handin.example.ac.uk/".into());
        assert_eq!(address(&rocket, &config), "https://handin.example.ac.uk");
    }

    #[test]
    fn the_demo_uses_the_next_year_in_which_the_labs_deadline_is_ahead() {
        assert_eq!(
            demo_year(Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0).unwrap()),
            2027
        );
        assert_eq!(
            demo_year(Utc.with_ymd_and_hms(2027, 5, 20, 14, 59, 59).unwrap()),
            2027
        );
        assert_eq!(
            demo_year(Utc.with_ymd_and_hms(2027, 5, 20, 15, 0, 0).unwrap()),
            2028
        );
    }
}
