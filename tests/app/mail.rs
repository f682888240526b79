//! Mail, against a real SMTP server (aiosmtpd, see `smtp.rs`): receipts,
//! extension and request decisions, moved deadlines, reminders and digests,
//! each once; none lost while the server is down; none doubled by two
//! instances; and the outbox page.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use handin::models::outbox::{self, NewMail, State};
use handin::models::{course, requests};
use handin::services::mailer::{self, Post, Round};
use rocket::http::{Method, Status};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::admin::ask_extension;
use crate::smtp::{SmtpSink, header};
use crate::support::*;

/// The seeded app, mailing to `sink` from handin@example.ac.uk, with links
/// to https://handin.example.ac.uk; its worker runs every `poll` seconds
/// (0: only when a test runs a round).
async fn mailing(sink: &SmtpSink, poll: u64) -> TestApp {
    mailing_with(sink, vec![("mail_poll_seconds", json!(poll))]).await
}

/// As [`mailing`], with other settings.
async fn mailing_with(sink: &SmtpSink, mut settings: Vec<(&'static str, Value)>) -> TestApp {
    settings.extend([
        ("mail_url", json!(sink.url())),
        ("mail_from", json!("handin <handin@example.ac.uk>")),
        ("public_url", json!("https://handin.example.ac.uk")),
    ]);
    TestApp::with(Options {
        settings,
        ..Default::default()
    })
    .await
}

/// One round of the worker, as every instance runs it every few seconds.
async fn round(t: &TestApp) -> Round {
    mailer::run_once(&Post::new(t.app())).await.unwrap()
}

async fn outbox_rows(t: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find().all(&t.app().db).await.unwrap()
}

fn text(mail: &Value) -> &str {
    mail["text"].as_str().unwrap_or("")
}

fn subjects(mails: &[Value]) -> Vec<String> {
    mails
        .iter()
        .map(|m| header(m, "subject").to_string())
        .collect()
}

#[rocket::async_test]
async fn every_attempt_is_mailed_its_receipt_by_the_worker_with_the_receipt_attached() {
    let sink = SmtpSink::start();
    let t = mailing(&sink, 1).await;
    let id = t.hand_in("alice", "coursework", "first").await;
    let mails = sink.wait_for(1, Duration::from_secs(20));
    assert_eq!(mails.len(), 1, "the worker sends the receipt on its own");
    let mail = &mails[0];
    assert_eq!(mail["rcpt_tos"], json!(["alice@example.ac.uk"]));
    assert_eq!(header(mail, "from"), "handin <handin@example.ac.uk>");
    assert!(
        header(mail, "to").contains("<alice@example.ac.uk>"),
        "{mail}"
    );
    assert!(
        header(mail, "subject").starts_with("Receipt: COMP6248 Coursework, attempt 1 ("),
        "{mail}"
    );
    assert!(
        header(mail, "message-id").ends_with("@example.ac.uk>"),
        "{mail}"
    );

    let token = t.token("alice").await;
    let (_, receipt) = t
        .api_json(
            &token,
            Method::Get,
            &format!("/api/v1/submissions/{id}"),
            None,
        )
        .await;
    let sha256 = receipt["sha256"].as_str().unwrap();
    for part in [&mail["text"], &mail["html"]] {
        // (HTML escapes "/" as "&#x2f;": the same text to a reader.)
        let body = part.as_str().unwrap().replace("&#x2f;", "/");
        for wanted in [
            sha256,
            receipt["received_at"].as_str().unwrap(),
            receipt["received_local"].as_str().unwrap(),
            receipt["status_text"].as_str().unwrap(),
            "Europe/London",
        ] {
            assert!(body.contains(wanted), "{wanted} is not in {body}");
        }
    }
    let link = format!("https://handin.example.ac.uk/submissions/{id}");
    assert!(text(mail).contains(&link), "{mail}");
    let attachments = mail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["name"], "receipt-COMP6248-coursework-1.json");
    let attached: Value =
        serde_json::from_str(attachments[0]["content"].as_str().unwrap()).unwrap();
    // The signed receipt file: what the student keeps to prove it (evidence.rs checks it).
    assert_eq!(attached["format"], "handin-receipt/1");
    assert!(
        attached["jws"]
            .as_str()
            .is_some_and(|j| j.split('.').count() == 3)
    );
    assert_eq!(attached["payload"]["sha256"], sha256);
    assert_eq!(attached["payload"]["submission_id"], id);
    assert_eq!(attached["payload"]["received_at"], receipt["received_at"]);

    // One mail per event: the worker goes round again and sends nothing more.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(sink.mails().len(), 1);
    let rows = outbox_rows(&t).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, State::Sent);
}

#[rocket::async_test]
async fn mail_waits_while_the_server_is_down_and_none_is_lost() {
    let mut sink = SmtpSink::on_free_port();
    let t = mailing(&sink, 0).await;
    // The uploads do not wait for, or fail because of, the mail server.
    t.hand_in("alice", "coursework", "one").await;
    t.hand_in("bob", "coursework", "two").await;
    let tried = round(&t).await;
    assert_eq!((tried.delivered, tried.retrying), (0, 2));
    for row in outbox_rows(&t).await {
        assert_eq!(row.state, State::Queued);
        assert_eq!(row.attempts, 1);
        assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()));
        assert_eq!(
            row.next_attempt_at,
            utc("2020-05-29T11:01:00Z"),
            "a minute's wait first"
        );
    }
    // Before the wait is over, nothing is tried.
    t.set_time("2020-05-29T11:00:59Z");
    assert_eq!(round(&t).await, Round::default());

    sink.listen();
    t.set_time("2020-05-29T11:01:00Z");
    let r = round(&t).await;
    assert_eq!(r.delivered, 2, "{r:?} {:?}", outbox_rows(&t).await);
    let mails = sink.mails();
    let to: BTreeSet<String> = mails.iter().map(|m| m["rcpt_tos"][0].to_string()).collect();
    assert_eq!(
        to,
        BTreeSet::from([
            "\"alice@example.ac.uk\"".to_string(),
            "\"bob@example.ac.uk\"".to_string()
        ])
    );
    assert_eq!(round(&t).await, Round::default());
    assert_eq!(sink.mails().len(), 2, "none sent twice");
}

#[rocket::async_test]
async fn two_instances_sending_at_once_send_each_mail_once() {
    let sink = SmtpSink::start();
    let t = mailing(&sink, 0).await;
    let queued: Vec<NewMail> = (0..40)
        .map(|i| NewMail {
            kind: "receipt",
            recipient_id: None,
            to_address: format!("s{i}@example.ac.uk"),
            to_name: format!("Student {i}"),
            subject: format!("mail {i}"),
            text_body: "text".into(),
            html_body: "<p>html</p>".into(),
            attachment: None,
            dedupe_key: None,
        })
        .collect();
    outbox::enqueue(&t.app().db, queued, utc("2020-05-29T11:00:00Z"))
        .await
        .unwrap();
    // A second instance: its own connections to the same database, its own name.
    let other = handin::open(t.app().config.clone(), Arc::new(t.clock.clone()))
        .await
        .unwrap();
    let (one, two) = (Post::new(t.app()), Post::new(&other));
    let (a, b) = rocket::tokio::join!(mailer::run_once(&one), mailer::run_once(&two));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.delivered + b.delivered, 40, "{a:?} {b:?}");
    let mails = sink.wait_for(40, Duration::from_secs(10));
    assert_eq!(mails.len(), 40);
    let ids: BTreeSet<&str> = mails.iter().map(|m| header(m, "message-id")).collect();
    let said: BTreeSet<String> = subjects(&mails).into_iter().collect();
    assert_eq!((ids.len(), said.len()), (40, 40), "each mail once");
}

#[rocket::async_test]
async fn extensions_requests_and_moved_deadlines_are_mailed_to_the_students_they_concern() {
    let sink = SmtpSink::start();
    let t = mailing(&sink, 0).await;
    let admin = t.token("admin").await;
    let extension = "/api/v1/courses/COMP6248/assignments/coursework/extensions/bob";
    for until in ["2020-06-02T16:00", "2020-06-04T16:00"] {
        let body = json!({"until": until, "reason": "illness"});
        let (status, _) = t.api_json(&admin, Method::Put, extension, Some(body)).await;
        assert_eq!(status, Status::Ok);
    }
    assert_eq!(round(&t).await.delivered, 2);
    let mails = sink.mails();
    assert_eq!(
        subjects(&mails),
        [
            "Extension granted: COMP6248 Coursework",
            "Extension changed: COMP6248 Coursework"
        ]
    );
    assert!(
        text(&mails[0]).contains("your deadline is now\nTue 2 Jun 2020, 16:00 BST"),
        "{}",
        text(&mails[0])
    );
    assert!(
        text(&mails[1]).contains("Tue 2 Jun 2020, 16:00 BST and is now Thu 4 Jun 2020, 16:00 BST"),
        "{}",
        text(&mails[1])
    );
    assert!(text(&mails[1]).contains("Reason: illness"));
    assert_eq!(mails[1]["rcpt_tos"], json!(["bob@example.ac.uk"]));

    // The deadline moves a day: alice is told; bob's extension is beyond
    // both, so his deadline does not change and he is not told; carol is
    // in another course.
    t.move_coursework("2020-05-30 16:00", Some("2020-06-05 16:00"), "the strike")
        .await;
    assert_eq!(round(&t).await.delivered, 1);
    let mail = &sink.mails()[2];
    assert_eq!(mail["rcpt_tos"], json!(["alice@example.ac.uk"]));
    assert_eq!(
        header(mail, "subject"),
        "Deadline moved: COMP6248 Coursework, now Sat 30 May 2020, 16:00 BST"
    );
    for wanted in [
        "Was:  Fri 29 May 2020, 16:00 BST",
        "Now:  Sat 30 May 2020, 16:00 BST",
        "Reason: the strike",
    ] {
        assert!(text(mail).contains(wanted), "{wanted}: {}", text(mail));
    }

    // Revoked: bob's deadline is the moved one again.
    let (status, _) = t.api_json(&admin, Method::Delete, extension, None).await;
    assert_eq!(status, Status::NoContent);
    assert_eq!(round(&t).await.delivered, 1);
    let mail = &sink.mails()[3];
    assert_eq!(
        header(mail, "subject"),
        "Extension revoked: COMP6248 Coursework"
    );
    assert!(
        text(mail).contains("your deadline is Sat 30 May 2020, 16:00 BST again"),
        "{}",
        text(mail)
    );

    // A request: more information needed, then not approved, then approved.
    t.login("alice").await;
    let decide = |decision: &'static str, until: &'static str| {
        let t = &t;
        async move {
            t.login("alice").await;
            let csrf = t.csrf().await;
            let asked = ask_extension(t, &csrf, "flu", b"").await;
            assert_eq!(asked.status(), Status::SeeOther);
            let id = requests::Entity::find()
                .all(&t.app().db)
                .await
                .unwrap()
                .last()
                .unwrap()
                .id;
            t.login("admin").await;
            let fields = format!("decision={decision}&until={until}&comment=see+the+office");
            let path = format!("/courses/COMP6248/assignments/coursework/extension-requests/{id}");
            assert_eq!(t.submit(&path, &fields).await.status(), Status::SeeOther);
            round(t).await.delivered
        }
    };
    assert_eq!(decide("more_information", "").await, 1);
    assert_eq!(decide("reject", "").await, 1);
    assert_eq!(decide("approve", "2020-06-03T16%3A00").await, 1);
    let mails = sink.mails();
    assert_eq!(
        subjects(&mails[4..]),
        [
            "Extension request more information needed: COMP6248 Coursework",
            "Extension request not approved: COMP6248 Coursework",
            "Extension request approved: COMP6248 Coursework",
        ]
    );
    assert!(
        text(&mails[5]).contains("your deadline stays Sat 30 May 2020, 16:00 BST"),
        "{}",
        text(&mails[5])
    );
    assert!(
        text(&mails[6]).contains("your deadline is now Wed 3 Jun 2020, 16:00 BST"),
        "{}",
        text(&mails[6])
    );
    assert!(text(&mails[6]).contains("They said: see the office"));
    assert!(
        mails[4..]
            .iter()
            .all(|m| m["rcpt_tos"] == json!(["alice@example.ac.uk"]))
    );
}

#[rocket::async_test]
async fn reminders_go_once_to_those_with_nothing_handed_in_before_their_own_deadline() {
    let sink = SmtpSink::start();
    let t = mailing_with(&sink, vec![("reminder_hours", json!([48, 2]))]).await;
    t.set_time("2020-05-20T00:00:00Z");
    let admin = t.token("admin").await;
    let bob = "/api/v1/courses/COMP6248/assignments/coursework/extensions/bob";
    let body = json!({"until": "2020-06-03T16:00", "reason": "illness"});
    assert_eq!(
        t.api_json(&admin, Method::Put, bob, Some(body)).await.0,
        Status::Ok
    );
    // Carol turns reminders off.
    t.login("carol").await;
    assert_eq!(
        t.submit("/calendar", "action=reminders-off").await.status(),
        Status::SeeOther
    );
    assert!(
        t.page("/calendar")
            .await
            .contains("Reminders before your deadlines are <strong>off</strong>")
    );
    round(&t).await;
    let before = sink.mails().len();
    let reminders = |from: usize| -> Vec<Value> {
        sink.mails()[from..]
            .iter()
            .filter(|m| header(m, "subject").starts_with("Reminder"))
            .cloned()
            .collect()
    };

    // The coursework is due Fri 29 May 16:00 BST (15:00 UTC).
    t.set_time("2020-05-27T14:59:59Z");
    assert_eq!(round(&t).await.written, 0, "a second before 48 hours");
    t.set_time("2020-05-27T15:00:00Z");
    assert_eq!(round(&t).await.written, 1, "alice only");
    let sent = reminders(before);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["rcpt_tos"], json!(["alice@example.ac.uk"]));
    assert_eq!(
        header(&sent[0], "subject"),
        "Reminder: COMP6248 Coursework is due in 2 d 0 h"
    );
    assert!(
        text(&sent[0]).contains("at Fri 29 May 2020, 16:00 BST"),
        "{}",
        text(&sent[0])
    );
    assert!(
        text(&sent[0])
            .contains("https://handin.example.ac.uk/courses/COMP6248/assignments/coursework")
    );
    t.set_time("2020-05-28T10:00:00Z");
    assert_eq!(round(&t).await.written, 0, "never twice");

    // Alice hands in: no two-hour reminder for her.
    t.set_time("2020-05-29T12:00:00Z");
    t.hand_in("alice", "coursework", "done").await;
    t.set_time("2020-05-29T13:00:00Z");
    assert_eq!(round(&t).await.written, 0);

    // Bob's own deadline is his extension's.
    t.set_time("2020-06-01T15:00:00Z");
    assert_eq!(round(&t).await.written, 1);
    let sent = reminders(before);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["rcpt_tos"], json!(["bob@example.ac.uk"]));
    assert!(
        text(&sent[1]).contains("at Wed 3 Jun 2020, 16:00 BST"),
        "{}",
        text(&sent[1])
    );
    t.set_time("2020-06-03T13:30:00Z");
    assert_eq!(round(&t).await.written, 1, "and his two-hour one");
    assert_eq!(
        header(&reminders(before)[2], "subject"),
        "Reminder: COMP6248 Coursework is due in 1 h 30 min"
    );
    assert_eq!(round(&t).await.written, 0);
}

#[rocket::async_test]
async fn a_daily_digest_of_waiting_requests_goes_to_whoever_decides_without_names_when_anonymous() {
    let sink = SmtpSink::start();
    let t = mailing(&sink, 0).await;
    let comp6248 = course::find_by_code(&t.app().db, "COMP6248")
        .await
        .unwrap()
        .unwrap();
    let mut active: course::ActiveModel = comp6248.into();
    active.markers_grant_extensions = Set(true);
    active.update(&t.app().db).await.unwrap();
    t.change_coursework(|a| a.anonymous = Set(true)).await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    assert_eq!(
        ask_extension(&t, &csrf, "flu", b"").await.status(),
        Status::SeeOther
    );

    // 07:59:59 in London: not yet.
    t.set_time("2020-05-29T06:59:59Z");
    assert_eq!(round(&t).await, Round::default());
    t.set_time("2020-05-29T07:00:00Z");
    let first = round(&t).await;
    assert_eq!((first.written, first.delivered), (1, 1));
    let mails = sink.mails();
    let digest = &mails[0];
    assert_eq!(digest["rcpt_tos"], json!(["mark@example.ac.uk"]));
    assert_eq!(
        header(digest, "subject"),
        "COMP6248: 1 extension request waiting (2020-05-29)"
    );
    let body = text(digest);
    assert!(body.contains("- Coursework: "), "{body}");
    assert!(
        body.contains("asks until Fri 5 Jun 2020, 16:00 BST"),
        "{body}"
    );
    assert!(
        !body.to_lowercase().contains("alice"),
        "anonymous marking holds: {body}"
    );
    assert!(
        !digest["html"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("alice")
    );

    t.set_time("2020-05-29T18:00:00Z");
    assert_eq!(round(&t).await, Round::default(), "once a day");
    t.set_time("2020-05-30T07:00:00Z");
    assert_eq!(round(&t).await.delivered, 1, "the next day, still waiting");
}

#[rocket::async_test]
async fn without_a_mail_server_mail_goes_to_the_outbox_page_which_only_administrators_see() {
    let t = TestApp::new().await;
    t.hand_in("alice", "coursework", "first").await;
    let done = round(&t).await;
    assert_eq!(done.delivered, 1);
    let row = outbox_rows(&t).await.remove(0);
    assert_eq!(row.state, State::Logged);

    for who in ["alice", "mark"] {
        t.login(who).await;
        let status = t.client.get("/admin/outbox").dispatch().await.status();
        assert_eq!(status, Status::Forbidden, "{who}");
        let resend = t
            .submit(&format!("/admin/outbox/{}/resend", row.id), "")
            .await;
        assert_eq!(resend.status(), Status::Forbidden, "{who}");
    }
    t.login("admin").await;
    let page = t.page("/admin/outbox").await;
    for wanted in [
        "Receipt: COMP6248 Coursework, attempt 1",
        "alice@example.ac.uk",
        "logged",
        "the log (no mail_url set)",
        "receipt-COMP6248-coursework-1.json",
    ] {
        assert!(page.contains(&html(wanted)), "{wanted} is not on the page");
    }
    // Sending again needs the form's token, and goes on the record.
    let forged = t
        .client
        .post(format!("/admin/outbox/{}/resend", row.id))
        .header(rocket::http::ContentType::Form)
        .body("csrf=forged")
        .dispatch()
        .await;
    assert_eq!(forged.status(), Status::Forbidden);
    assert_eq!(outbox_rows(&t).await[0].state, State::Logged);
    let resent = t
        .submit(&format!("/admin/outbox/{}/resend", row.id), "")
        .await;
    assert_eq!(resent.status(), Status::SeeOther);
    assert_eq!(outbox_rows(&t).await[0].state, State::Queued);
    let again = t
        .submit(&format!("/admin/outbox/{}/resend", row.id), "")
        .await;
    assert_eq!(again.status(), Status::Conflict, "already waiting");
    assert_eq!(round(&t).await.delivered, 1);
    assert!(
        t.page("/admin/audit?action=mail_resent")
            .await
            .contains("mail_resent")
    );
    let failed = t.page("/admin/outbox?state=failed").await;
    assert!(failed.contains("No mail failed yet."), "{failed}");
}
