//! Hostile and broken input, through the web form, the API and raw HTTP:
//! each case gets a clear error with the fitting status and leaves the
//! database and `uploads/` exactly as they were.

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::path::Path;

use rocket::http::{ContentType, Status};

use crate::server::{self, Server};
use crate::support::*;

/// Patches every entry's declared uncompressed size (local and central headers).
fn declare_size(bytes: &mut [u8], size: u32) {
    for i in 0..bytes.len().saturating_sub(30) {
        match &bytes[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => bytes[i + 22..i + 26].copy_from_slice(&size.to_le_bytes()),
            [0x50, 0x4b, 0x01, 0x02] => bytes[i + 24..i + 28].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
    }
}

fn many_entries(n: usize) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..n {
        writer.start_file(format!("f{i}"), options).unwrap();
    }
    writer.start_file("report.pdf", options).unwrap();
    writer.write_all(b"%PDF").unwrap();
    writer.finish().unwrap().into_inner()
}

#[rocket::async_test]
async fn bombs_are_refused_through_the_form_and_the_api() {
    let t = TestApp::new().await;
    let mut declared = zip_of(&[("report.pdf", b"%PDF tiny"), ("b", b"tiny")]);
    declare_size(&mut declared, 0xF000_0000); // two entries "of" 3.75 GiB each
    assert!(declared.len() < 1000);
    let crowded = many_entries(100_000);
    let token = t.token("alice").await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    for (case, bytes, message) in [
        (
            "declared gigabytes",
            &declared,
            "would unpack to more than 4096 MiB",
        ),
        (
            "100,000 entries",
            &crowded,
            "has 100001 entries; at most 10000",
        ),
    ] {
        let before = t.snapshot().await;
        // Labs: 100 MiB allowed, so the entry count is what refuses the crowded zip.
        let response = t
            .upload_api(&token, "COMP6248/assignments/labs", bytes)
            .await;
        assert_eq!(response.status(), Status::UnprocessableEntity, "{case}");
        let body: serde_json::Value =
            serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{case}: {body}"
        );
        let response = t.upload_form("labs", Some(&csrf), "b.zip", bytes).await;
        assert_eq!(response.status(), Status::UnprocessableEntity, "{case}");
        assert_eq!(t.snapshot().await, before, "{case}");
    }
}

#[rocket::async_test]
async fn malformed_multipart_and_oversized_fields_are_refused() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/submissions";
    let auth = || bearer(&token);
    let cases: Vec<(&str, ContentType, Vec<u8>, Status)> = vec![
        (
            "no boundary",
            ContentType::new("multipart", "form-data"),
            b"--x\r\n".to_vec(),
            Status::UnsupportedMediaType,
        ),
        (
            "garbage body",
            ContentType::new("multipart", "form-data").with_params(("boundary", "zzz")),
            b"this is not multipart at all".to_vec(),
            Status::BadRequest,
        ),
        (
            "a megabyte before the first part",
            ContentType::new("multipart", "form-data").with_params(("boundary", "zzz")),
            [vec![b'x'; 1 << 20], b"\r\n--zzz\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"b.zip\"\r\n\r\nPK\r\n--zzz--\r\n".to_vec()].concat(),
            Status::BadRequest,
        ),
        (
            "not multipart",
            ContentType::JSON,
            b"{\"bundle\": \"x\"}".to_vec(),
            Status::UnsupportedMediaType,
        ),
    ];
    for (case, content_type, body, expected) in cases {
        let before = t.snapshot().await;
        let response = t
            .client
            .post(path)
            .header(content_type)
            .header(auth())
            .body(body)
            .dispatch()
            .await;
        let status = response.status();
        let text = response.into_string().await.unwrap();
        assert_eq!(status, expected, "{case}: {text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            !body["message"].as_str().unwrap_or_default().is_empty(),
            "{case}"
        );
        assert_eq!(t.snapshot().await, before, "{case}");
    }
    // A text field far over its limit, before a valid bundle.
    t.login("alice").await;
    let huge = "a".repeat(100_000);
    let (content_type, body) = multipart(&[
        Part::text("csrf", &huge),
        Part::file("bundle", "b.zip", &coursework_zip("x")),
    ]);
    let response = t
        .client
        .post("/courses/COMP6248/assignments/coursework/submissions")
        .header(content_type)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::PayloadTooLarge);
    assert!(
        response
            .into_string()
            .await
            .unwrap()
            .contains("A form field was longer")
    );
    assert_eq!(t.snapshot().await, (0, vec![]));
}

#[rocket::async_test]
async fn a_thousand_character_name_is_shortened_and_shown_escaped() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let name = format!("{}<b>.zip", "ü".repeat(1000));
    let response = t
        .upload_form("coursework", Some(&csrf), &name, &coursework_zip("x"))
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    let row = handin::models::submission::Entity::find()
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.original_name.chars().count(), 255);
    assert!(row.stored_path.starts_with("bundles/") && row.stored_path.len() < 60);
    use sea_orm::EntityTrait;
}

#[rocket::async_test]
async fn path_traversal_in_ids_and_slugs_finds_nothing() {
    let t = TestApp::new().await;
    t.hand_in("alice", "coursework", "x").await;
    t.login("admin").await;
    let admin = t.token("admin").await;
    for path in [
        "/courses/..%2F..%2Fetc/assignments/passwd",
        "/courses/COMP6248/assignments/..%2Fcoursework",
        "/courses/COMP6248/assignments/coursework/marking/..%2F..%2Fadmin",
        "/courses/%2e%2e/assignments/%2e%2e/marking",
        "/submissions/..%2F1",
        "/submissions/1%2F..%2F2/bundle",
        "/submissions/-1/bundle",
        "/extension-requests/..%2F..%2Fetc%2Fpasswd/evidence",
        "/admin/courses/..%2FCOMP6248",
        "/admin/courses/COMP6248/assignments/..%2F..",
    ] {
        let status = t.client.get(path).dispatch().await.status();
        assert!(matches!(status.code, 400 | 404 | 422), "{path}: {status}");
        let api = t
            .client
            .get(format!("/api/v1{path}"))
            .header(bearer(&admin))
            .dispatch()
            .await
            .status();
        assert!(matches!(api.code, 400 | 404 | 422), "API {path}: {api}");
    }
}

const BINARY: &str = env!("CARGO_BIN_EXE_handin");

#[test]
fn lying_about_the_length_stores_nothing() {
    let dir = crate::database::TestDir::new();
    let token = rocket::tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(TestApp::open_for_the_binary(dir.path()));
    let server = Server::start(Path::new(BINARY), dir.path());
    let big = zip_of(&[("report.pdf", &noise(3_000_000))]);
    let (head, tail) = server::multipart_frame("big.zip");
    let body = [head.as_slice(), &big, &tail].concat();
    let send = |declared: usize, chunked: bool| {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        let length = if chunked {
            "Transfer-Encoding: chunked".to_string()
        } else {
            format!("Content-Length: {declared}")
        };
        let request = format!(
            "POST /api/v1/courses/COMP6248/assignments/open/submissions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: {}\r\n{length}\r\n\r\n",
            server::multipart_content_type()
        );
        stream.write_all(request.as_bytes()).unwrap();
        if chunked {
            for piece in body.chunks(65536) {
                let _ = stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes());
                let _ = stream.write_all(piece);
                let _ = stream.write_all(b"\r\n");
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        } else {
            let _ = stream.write_all(&body);
        }
        server::read_reply(stream).map(|r| (r.status, String::from_utf8_lossy(&r.body).to_string()))
    };
    // Claims 1 KiB, sends 3 MB: only the claimed bytes are read, the form is cut short.
    let (status, _) = send(1024, false).unwrap();
    assert!(matches!(status, 400 | 413 | 422), "short claim: {status}");
    // No length at all, 3 MB chunked, over the 1 MiB limit: 413 with the reason.
    let (status, body) = send(0, true).unwrap();
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("larger than the 1 MiB allowed for Open"),
        "{body}"
    );
    let files: usize = ["incoming", "bundles"]
        .iter()
        .map(|d| server::files_under(&dir.path().join("uploads").join(d)))
        .sum();
    assert_eq!(files, 0);
    drop(server);
}

/// RFC 9112 §6.1: a request with both lengths is how requests are smuggled
/// past a proxy. The server (hyper, beneath Rocket) reads such a body by
/// Transfer-Encoding alone and closes the connection after answering, so a
/// request hidden behind the body is never read. Every page carries the
/// security headers.
#[test]
fn a_request_with_both_lengths_smuggles_nothing_and_pages_have_security_headers() {
    let dir = crate::database::TestDir::new();
    let server = Server::start(Path::new(BINARY), dir.path());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
              GET /static/handin.css HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
    let mut answer = Vec::new();
    // The server must close the connection: a timeout here means it kept it
    // open for the hidden request.
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    assert!(
        !answer.contains("text/css"),
        "the hidden request was answered"
    );

    let page = server::request(server.addr, "GET", "/login", &[], b"").unwrap();
    assert_eq!(page.status, 200);
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let missing = server::request(server.addr, "GET", "/nowhere", &[], b"").unwrap();
    assert!(missing.header("content-security-policy").is_some());
}

/// Small forms with a file are read like uploads: the CSRF token first and
/// checked before anything else, a limit on every field, and a time limit
/// on the whole body, so a stalled or forged form holds nothing.
#[test]
fn small_forms_check_the_token_first_limit_each_field_and_do_not_wait_forever() {
    let dir = crate::database::TestDir::new();
    rocket::tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async {
            let t = TestApp::with_dir(dir.path()).await;
            t.app().db.close_by_ref().await.unwrap();
        });
    let server = Server::start_with(
        Path::new(BINARY),
        dir.path(),
        &[("ROCKET_SMALL_FORM_SECONDS", "2")],
    );
    let cookie = server.login("alice", PASSWORD);
    let page = server::request(
        server.addr,
        "GET",
        "/courses/COMP6248/assignments/coursework",
        &[("Cookie", cookie.clone())],
        b"",
    )
    .unwrap();
    let csrf = hidden_value(&String::from_utf8_lossy(&page.body), "csrf");
    let path = "/courses/COMP6248/assignments/coursework/extension-request";
    let send = |parts: &[Part<'_>]| {
        let (content_type, body) = multipart(parts);
        server::request(
            server.addr,
            "POST",
            path,
            &[
                ("Cookie", cookie.clone()),
                ("Content-Type", content_type.to_string()),
            ],
            &body,
        )
        .unwrap()
    };
    let long = "x".repeat(1 << 20);
    // A megabyte of reason before the token: refused for the token.
    let reply = send(&[Part::text("reason", &long), Part::text("csrf", &csrf)]);
    assert_eq!(reply.status, 403);
    // With the token first, a reason over its limit: refused for its length.
    let reply = send(&[Part::text("csrf", &csrf), Part::text("reason", &long)]);
    assert_eq!(reply.status, 413);
    let page = String::from_utf8_lossy(&reply.body).to_string();
    assert!(
        page.contains(&html("The field 'reason' is longer")),
        "{page}"
    );

    // A body that stalls after its token is cut off after 2 s.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let (content_type, _) = multipart(&[]);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: {content_type}\r\nContent-Length: 1000000\r\n\r\n\
         --{}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n",
        BOUNDARY
    );
    let started = std::time::Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    let reply = server::read_reply(stream).unwrap();
    assert_eq!(
        reply.status,
        408,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let files = server::files_under(&dir.path().join("uploads/incoming"));
    assert_eq!(files, 0);
}
