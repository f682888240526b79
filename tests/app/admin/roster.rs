//! Rosters imported all or nothing; small forms that refuse multipart bodies.

use super::*;

#[rocket::async_test]
async fn a_roster_with_one_bad_line_changes_nothing_and_a_good_one_creates_and_updates() {
    let t = TestApp::new().await;
    let users_before = user::Entity::find().count(&t.app().db).await.unwrap();
    let bad = "username,name,email,role,course\nnew1,New One,new1@example.ac.uk,student,COMP6248\nbad user,X,x@y,student,COMP6248\nnew2,New Two,,wizard,NOPE\n";
    let errors = match handin::services::roster::import(t.app(), bad, None).await {
        Err(handin::error::Error::Invalid(errors)) => errors,
        other => panic!("expected the lines refused, got {other:?}"),
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("line 3: 'bad user' is not a valid username"));
    assert!(
        errors[1].starts_with("line 4: ")
            && errors[1].contains("unknown role 'wizard'")
            && errors[1].contains("no course NOPE")
    );
    assert_eq!(
        user::Entity::find().count(&t.app().db).await.unwrap(),
        users_before
    );

    // Through the page: bob becomes a marker (his password kept), two new students arrive.
    t.login("admin").await;
    let csrf = t.csrf().await;
    let form_id = hidden_value(&t.page("/admin").await, "form_id");
    let good = "username,name,email,role,course\nnew1,New One,new1@example.ac.uk,student,COMP6248\nnew2,New Two,,student,COMP6248\nbob,Robert Example,bob@example.ac.uk,marker,COMP6248\n";
    let send = || {
        let (content_type, body) = multipart(&[
            Part::text("csrf", &csrf),
            Part::text("form_id", &form_id),
            Part::file("csv", "roster.csv", good.as_bytes()),
        ]);
        t.client
            .post("/admin/roster")
            .header(content_type)
            .body(body)
            .dispatch()
    };
    // Through the page, a bad file is refused on the page itself, a line each.
    let (content_type, body) = multipart(&[
        Part::text("csrf", &csrf),
        Part::text("form_id", &form_id),
        Part::file("csv", "roster.csv", bad.as_bytes()),
    ]);
    let refused = t
        .client
        .post("/admin/roster")
        .header(content_type)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    assert!(page.contains("id=\"roster-errors\""), "{page}");
    assert_eq!(page.matches("<li>line ").count(), 2, "{page}");
    assert!(page.contains("Log out"), "{page}");
    let response = send().await;
    assert_eq!(response.status(), Status::Ok);
    let page = response.into_string().await.unwrap();
    assert!(
        page.contains("2 created, 1 updated, 3 enrolments"),
        "{page}"
    );
    let db = &t.app().db;
    let bob = user::find_by_username(db, "bob").await.unwrap().unwrap();
    assert_eq!(
        (bob.role.as_str(), bob.display_name.as_str()),
        ("marker", "Robert Example")
    );
    assert!(
        user::verify_password(PASSWORD, &bob.password_hash),
        "an existing password is kept"
    );
    assert_eq!(audit_count(&t, "roster_imported").await, 1);
    assert_eq!(audit_count(&t, "role_changed").await, 1);
    // A new student can log in with the password shown once.
    let new1 = user::find_by_username(db, "new1").await.unwrap().unwrap();
    let shown = page
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    assert!(user::verify_password(shown, &new1.password_hash));
    // A refresh sends the same form again: nothing is imported twice, and
    // the first passwords stay as they were.
    let again = send().await;
    assert_eq!(again.status(), Status::Conflict);
    let said = again.into_string().await.unwrap();
    assert!(said.contains("This roster was imported already"), "{said}");
    assert_eq!(audit_count(&t, "roster_imported").await, 1);
    let new1 = user::find_by_username(db, "new1").await.unwrap().unwrap();
    assert!(user::verify_password(shown, &new1.password_hash));
}

#[rocket::async_test]
async fn forms_without_files_refuse_multipart_bodies() {
    let t = TestApp::new().await;
    let (content_type, body) = multipart(&[
        Part::text("csrf", "x"),
        Part::text("username", "alice"),
        Part::text("password", &"p".repeat(100_000)),
    ]);
    let status = t
        .client
        .post("/login")
        .header(content_type)
        .body(body)
        .dispatch()
        .await
        .status();
    // No route takes it: the login route accepts web forms only.
    assert_eq!(status, Status::NotFound);
    // The same path as a web form is the login route (which refuses the
    // missing token): the 404 above came from the body's type alone.
    let status = t
        .client
        .post("/login")
        .header(ContentType::Form)
        .body("csrf=x&username=alice&password=p")
        .dispatch()
        .await
        .status();
    assert_eq!(status, Status::Forbidden);
}
