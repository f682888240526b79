//! Login throttling through the real login form: a guesser is slowed per
//! address and username, the student is never locked out, and forwarding
//! headers count only from trusted proxies.

use rocket::http::Status;

use crate::support::*;

/// A login from `from`, as a browser there would post it.
async fn login_from(
    t: &TestApp,
    from: &str,
    forwarded: Option<&str>,
    username: &str,
    password: &str,
) -> Status {
    let attempt = LoginAttempt {
        username,
        password,
        from: Some(format!("{from}:40000").parse().unwrap()),
        forwarded,
        ..LoginAttempt::default()
    };
    t.try_login(attempt).await.status()
}

#[rocket::async_test]
async fn a_guesser_waits_and_the_student_still_logs_in() {
    let t = TestApp::new().await;
    for n in 0..5 {
        let status = login_from(&t, "10.0.0.1", None, "alice", "guess").await;
        assert_eq!(status, Status::Unauthorized, "guess {n}");
    }
    // The clock has not moved: the sixth guess must wait, unchecked.
    let status = login_from(&t, "10.0.0.1", None, "alice", "guess").await;
    assert_eq!(status, Status::TooManyRequests);
    // Not even the right password gets through from there now...
    let status = login_from(&t, "10.0.0.1", None, "alice", PASSWORD).await;
    assert_eq!(status, Status::TooManyRequests);
    // ...but from the student's own machine it does, and bob is not slowed.
    assert_eq!(
        login_from(&t, "10.0.0.2", None, "alice", PASSWORD).await,
        Status::SeeOther
    );
    assert_eq!(
        login_from(&t, "10.0.0.1", None, "bob", PASSWORD).await,
        Status::SeeOther
    );
    // A second later the guesser may try once more.
    t.set_time("2020-05-29T11:00:01Z");
    assert_eq!(
        login_from(&t, "10.0.0.1", None, "alice", "guess").await,
        Status::Unauthorized
    );
    // A name no account can have is refused unchecked, and not remembered:
    // however many, however long, they never fill the throttle's table.
    let long = "n".repeat(10_000);
    for _ in 0..10 {
        assert_eq!(
            login_from(&t, "10.0.0.3", None, &long, "guess").await,
            Status::Unauthorized
        );
    }
    // Writing another address into X-Forwarded-For changes nothing.
    let status = login_from(&t, "10.0.0.1", Some("10.9.9.9"), "alice", "guess").await;
    assert_eq!(status, Status::TooManyRequests);
}

#[rocket::async_test]
async fn behind_a_trusted_proxy_the_forwarded_address_counts() {
    let t = TestApp::with(Options {
        trusted_proxies: vec!["10.0.0.254".into()],
        ..Options::default()
    })
    .await;
    let proxy = "10.0.0.254";
    for _ in 0..5 {
        login_from(&t, proxy, Some("192.0.2.1"), "alice", "guess").await;
    }
    assert_eq!(
        login_from(&t, proxy, Some("192.0.2.1"), "alice", "guess").await,
        Status::TooManyRequests
    );
    // Another client behind the same proxy is someone else; a client who
    // writes the guesser's address first is judged by its own.
    assert_eq!(
        login_from(&t, proxy, Some("192.0.2.2"), "alice", PASSWORD).await,
        Status::SeeOther
    );
    assert_eq!(
        login_from(&t, proxy, Some("192.0.2.1, 192.0.2.3"), "alice", PASSWORD).await,
        Status::SeeOther
    );
}
