//! Deadlines in people's calendars: the private feed and the one-off .ics,
//! read back by a library nobody here wrote (Python's `icalendar`).

use rocket::http::{ContentType, Status};
use serde_json::{Value, json};

use crate::support::*;

/// The events of a calendar as Python's `icalendar` reads them: UID,
/// summary, start in UTC, SEQUENCE and how many alarms.
fn read_with_python(ics: &str) -> Vec<Value> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = r#"
import sys, json, datetime, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.read())
out = []
for e in cal.walk('VEVENT'):
    start = e.decoded('DTSTART').astimezone(datetime.timezone.utc)
    out.append({"uid": str(e['UID']), "summary": str(e['SUMMARY']),
                "start": start.strftime('%Y-%m-%dT%H:%M:%SZ'),
                "sequence": int(e.get('SEQUENCE', 0)), "alarms": len(e.walk('VALARM'))})
print(json.dumps(out))
"#;
    let mut python = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (with `pip install icalendar`; .ci/run does it)");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(ics.as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "Python's icalendar could not read the feed (is it installed?)"
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The person's feed address (made now), as a path.
async fn feed_path(t: &TestApp, who: &str) -> String {
    t.login(who).await;
    assert_eq!(
        t.submit("/calendar", "action=new").await.status(),
        Status::SeeOther
    );
    let page = t.page("/calendar").await;
    let address = hidden_value(
        &page.replace("readonly value=", "name=\"feed\" value="),
        "feed",
    )
    .replace("&#x2f;", "/");
    let path = address.split_once("/calendar/").unwrap().1;
    format!("/calendar/{path}")
}

async fn events(t: &TestApp, path: &str) -> Vec<Value> {
    let response = t.client.get(path).dispatch().await;
    assert_eq!(response.status(), Status::Ok, "{path}");
    assert_eq!(
        response.content_type().unwrap().to_string(),
        "text/calendar; charset=utf-8"
    );
    read_with_python(&response.into_string().await.unwrap())
}

fn coursework(events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| e["summary"] == "COMP6248: Coursework due")
        .cloned()
        .unwrap_or_else(|| panic!("no coursework in {events:?}"))
}

#[rocket::async_test]
async fn a_students_feed_shows_their_own_deadlines_and_follows_every_change() {
    let t = TestApp::new().await;
    let alice = feed_path(&t, "alice").await;
    let bob = feed_path(&t, "bob").await;
    // 16:00 in London in May is 15:00 UTC; a reminder a day and two hours before.
    let first = coursework(&events(&t, &alice).await);
    assert_eq!(first["start"], "2020-05-29T15:00:00Z");
    assert_eq!(
        (first["sequence"].as_i64(), first["alarms"].as_i64()),
        (Some(0), Some(2))
    );
    assert_eq!(events(&t, &alice).await.len(), 2, "labs and coursework");

    // Alice's extension is in her calendar, not in bob's.
    let admin = t.token("admin").await;
    let (status, _) = t
        .api_json(
            &admin,
            rocket::http::Method::Put,
            "/api/v1/courses/COMP6248/assignments/coursework/extensions/alice",
            Some(json!({"until": "2020-06-05 16:00", "reason": "ill"})),
        )
        .await;
    assert_eq!(status, Status::Ok);
    let extended = coursework(&events(&t, &alice).await);
    assert_eq!(extended["start"], "2020-06-05T15:00:00Z");
    assert_eq!(
        (extended["uid"].clone(), extended["sequence"].as_i64()),
        (first["uid"].clone(), Some(1))
    );
    // ...nor does hers change his event.
    let his = coursework(&events(&t, &bob).await);
    assert_eq!(his["start"], "2020-05-29T15:00:00Z");
    assert_eq!(his["sequence"], 0);

    // The deadline moves past the clocks going back: 16:00 is then 16:00 UTC.
    t.move_coursework("2020-11-02 16:00", None, "test").await;
    let after = coursework(&events(&t, &bob).await);
    assert_eq!(after["start"], "2020-11-02T16:00:00Z");
    assert_eq!(after["sequence"], 1, "one move");
    let before = coursework(&events(&t, &bob).await);
    assert_eq!(before["uid"], after["uid"]);

    // A new address: the old one opens nothing; turned off, neither does it.
    t.login("alice").await;
    t.submit("/calendar", "action=new").await;
    assert_eq!(
        t.client.get(&alice).dispatch().await.status(),
        Status::NotFound
    );
    t.login("bob").await;
    t.submit("/calendar", "action=off").await;
    assert_eq!(
        t.client.get(&bob).dispatch().await.status(),
        Status::NotFound
    );
    assert_eq!(
        t.client
            .get("/calendar/not-a-secret.ics")
            .dispatch()
            .await
            .status(),
        Status::NotFound
    );
}

#[rocket::async_test]
async fn one_deadline_downloads_as_an_ics_file() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let response = t
        .client
        .get("/courses/COMP6248/assignments/coursework/calendar.ics")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Content-Disposition"),
        Some("attachment; filename=\"COMP6248-coursework.ics\"")
    );
    assert_eq!(
        response.content_type(),
        Some(ContentType::new("text", "calendar").with_params(("charset", "utf-8")))
    );
    let events = read_with_python(&response.into_string().await.unwrap());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["start"], "2020-05-29T15:00:00Z");
}
