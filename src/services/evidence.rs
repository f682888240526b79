//! Receipts that prove themselves: each accepted attempt's receipt signed
//! (JWS) and appended to the evidence log with the deadline moves and the
//! extensions granted and revoked; the public keys (JWKS), the log's
//! checkpoints and proofs for anyone to fetch; and checking a saved
//! receipt without trusting handin's database.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::App;
use crate::domain::deadline::DeadlineRule;
use crate::error::{Error, Result};
use crate::evidence::jws::{self, Jwk};
use crate::evidence::merkle::{Hash, check_record, check_tree, record_hash};
use crate::evidence::note::{Checkpoint, parse_verifier_key, verifier_key};
use crate::evidence::{Notary, b64, from_b64, sha256};
use crate::models::log::{self, Included, Statement};
use crate::models::{submission, user};

/// What the receipt file says it is.
pub const RECEIPT_FORMAT: &str = "handin-receipt/1";

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The signed statement of an accepted attempt: what it was, when it
/// arrived, and how it stood against the deadline that applied.
pub fn receipt_statement(
    notary: &Notary,
    row: &submission::Model,
    (course, assignment, student): (&str, &str, &str),
    rule: &DeadlineRule,
    log_index: u64,
) -> String {
    let files: Vec<String> = row.entries().into_iter().map(|e| e.path).collect();
    let payload = json!({
        "iss": notary.origin,
        "typ": "receipt",
        "kid": notary.signer.kid(),
        "log_index": log_index,
        "submission_id": row.id,
        "course": course,
        "assignment": assignment,
        "student": student,
        "attempt": row.attempt,
        "received_at": rfc3339(row.received_at),
        "received_at_ms": row.received_at.timestamp_millis(),
        "upload_started_at": rfc3339(row.upload_started_at),
        "sha256": row.sha256,
        "size": row.size,
        "files_sha256": hex::encode(sha256(files.join("\n").as_bytes())),
        "deadline": rfc3339(rule.effective_deadline()),
        "status": rule.judge(row.received_at).code(),
        "iat": row.received_at.timestamp(),
    });
    notary.signer.jws(&payload)
}

/// Appends a change of deadline (a move, an extension granted or revoked)
/// to the log, in the caller's transaction.
pub async fn log_change(
    txn: &impl sea_orm::ConnectionTrait,
    notary: &Notary,
    kind: &'static str,
    facts: Value,
    at: DateTime<Utc>,
) -> std::result::Result<(), sea_orm::DbErr> {
    crate::db::lock_log(txn).await?;
    let sign = |index: u64| {
        let mut payload = json!({
            "iss": notary.origin,
            "typ": kind,
            "kid": notary.signer.kid(),
            "log_index": index,
            "at": rfc3339(at),
        });
        if let (Some(all), Some(more)) = (payload.as_object_mut(), facts.as_object()) {
            all.extend(more.clone());
        }
        notary.signer.jws(&payload)
    };
    let statement = Statement {
        kind,
        submission_id: None,
        signed: &sign,
    };
    log::append(txn, &notary.signer, &notary.origin, statement, at).await?;
    Ok(())
}

/// The receipt file a student keeps: the signed receipt, its place in the
/// log with the proof, and the checkpoint it was issued with.
pub fn receipt_file(app: &App, logged: &Included) -> Value {
    let payload = jws::payload_of(&logged.statement);
    json!({
        "format": RECEIPT_FORMAT,
        "jws": logged.statement,
        "payload": payload,
        "log": {
            "origin": app.notary.origin,
            "index": logged.index,
            "tree_size": logged.tree_size,
            "leaf_sha256": b64(&sha256(logged.statement.as_bytes())),
            "inclusion_proof": logged.proof.iter().map(|h| b64(&h.0)).collect::<Vec<_>>(),
            "checkpoint": logged.checkpoint,
        },
        "jwks_url": app.config.public_url.as_deref()
            .map(|u| format!("{}/.well-known/jwks.json", u.trim_end_matches('/'))),
    })
}

/// The receipt file's name: `receipt-COURSE-ASSIGNMENT-ATTEMPT.json`.
pub fn receipt_file_name(course: &str, assignment: &str, attempt: i32) -> String {
    format!("receipt-{course}-{assignment}-{attempt}.json")
}

/// A submission's signed receipt file, for its student (or staff who may
/// see who handed it in: the receipt names the student).
pub async fn signed_receipt(app: &App, who: &user::Model, id: i32) -> Result<(String, String)> {
    let (course, assignment, attempt) = super::work::named_attempt(app, who, id).await?;
    let logged = log::receipt_of(&app.db, id)
        .await?
        .ok_or_else(|| Error::not_found("signed receipt (this attempt predates signing)"))?;
    let file = receipt_file(app, &logged);
    let name = receipt_file_name(&course, &assignment, attempt);
    Ok((
        name,
        serde_json::to_string_pretty(&file).map_err(Error::internal)?,
    ))
}

/// Every key that ever signed, as JWKs with when each signed.
pub async fn published_keys(app: &App) -> Result<Vec<Jwk>> {
    Ok(log::keys(&app.db)
        .await?
        .into_iter()
        .filter_map(|k| {
            let public: [u8; 32] = crate::evidence::from_b64url(&k.public_key)
                .ok()?
                .try_into()
                .ok()?;
            let mut jwk = Jwk::for_key(&public);
            jwk.valid_from = Some(rfc3339(k.valid_from));
            jwk.valid_until = k.retired_at.map(rfc3339);
            Some(jwk)
        })
        .collect())
}

/// Every key that ever signed: a JWKS.
pub async fn jwks(app: &App) -> Result<Value> {
    Ok(json!({ "keys": published_keys(app).await? }))
}

/// The newest signed checkpoint.
pub async fn latest_checkpoint(app: &App) -> Result<String> {
    log::latest_checkpoint(&app.db)
        .await?
        .map(|c| c.note)
        .ok_or_else(|| Error::not_found("checkpoint: nothing has been logged yet"))
}

/// The log's size now, refusing proofs about trees it never had.
async fn check_size(app: &App, size: u64) -> Result<()> {
    let now = log::size(&app.db).await?;
    if size == 0 || size > now {
        return Err(Error::invalid(format!(
            "The log has {now} entries: ask about a tree of 1 to {now}."
        )));
    }
    Ok(())
}

pub async fn inclusion_proof(app: &App, index: u64, size: u64) -> Result<Value> {
    check_size(app, size).await?;
    if index >= size {
        return Err(Error::invalid(format!(
            "Entry {index} is not in a tree of {size}."
        )));
    }
    let proof = log::inclusion(&app.db, size, index).await?;
    Ok(
        json!({ "index": index, "tree_size": size, "proof": proof.iter().map(|h| b64(&h.0)).collect::<Vec<_>>() }),
    )
}

pub async fn consistency_proof(app: &App, old: u64, new: u64) -> Result<Value> {
    check_size(app, new).await?;
    if old == 0 || old > new {
        return Err(Error::invalid(format!(
            "Ask about an old size from 1 to {new}."
        )));
    }
    let proof = log::consistency(&app.db, old, new).await?;
    Ok(
        json!({ "old_size": old, "new_size": new, "proof": proof.iter().map(|h| b64(&h.0)).collect::<Vec<_>>() }),
    )
}

/// What checking a receipt found: each thing it proves, in plain words,
/// or why it does not.
#[derive(Debug, Default)]
pub struct Findings {
    pub proved: Vec<String>,
    pub failed: Vec<String>,
}

fn hashes(values: &Value) -> std::result::Result<Vec<Hash>, String> {
    values
        .as_array()
        .ok_or("the proof is not a list")?
        .iter()
        .map(|v| {
            let bytes: [u8; 32] = from_b64(v.as_str().unwrap_or_default())?
                .try_into()
                .map_err(|_| "a proof hash is not 32 bytes".to_string())?;
            Ok(Hash(bytes))
        })
        .collect()
}

/// Checks a saved receipt file against public keys (a JWKS), and the
/// bundle's bytes if given: the signature, the bundle's SHA-256, the
/// checkpoint's signature and the inclusion proof. Nothing here reads
/// handin's database.
pub fn check_receipt(file: &Value, jwks: &Value, bundle_sha256: Option<&str>) -> Findings {
    let mut found = Findings::default();
    let keys: Vec<Jwk> = serde_json::from_value(jwks["keys"].clone()).unwrap_or_default();
    let Some(jws_text) = file["jws"].as_str() else {
        found
            .failed
            .push("This is not a handin receipt file (it has no \"jws\").".into());
        return found;
    };
    let checked = match jws::verify(jws_text, &keys) {
        Ok(checked) => checked,
        Err(why) => {
            found
                .failed
                .push(format!("The signature does not check: {why}."));
            return found;
        }
    };
    let p = &checked.payload;
    if p["typ"] != "receipt" {
        found.failed.push(format!(
            "This is a signed {} statement, not a receipt.",
            p["typ"]
        ));
        return found;
    }
    if let Some(why) = key_out_of_date(&keys, &checked.kid, p["received_at"].as_str()) {
        found.failed.push(why);
        return found;
    }
    found.proved.push(format!(
        "handin's key {} signed this receipt: {} {} attempt {} by {}, received {} ({} bytes, SHA-256 {}), judged {} against the deadline {}.",
        checked.kid, p["course"].as_str().unwrap_or("?"), p["assignment"].as_str().unwrap_or("?"),
        p["attempt"], p["student"].as_str().unwrap_or("?"), p["received_at"].as_str().unwrap_or("?"),
        p["size"], p["sha256"].as_str().unwrap_or("?"), p["status"].as_str().unwrap_or("?"),
        p["deadline"].as_str().unwrap_or("?"),
    ));
    if let Some(actual) = bundle_sha256 {
        if Some(actual) == p["sha256"].as_str() {
            found.proved.push(
                "The bundle given is the one handed in: its SHA-256 is the receipt's.".into(),
            );
        } else {
            found.failed.push(format!(
                "The bundle given is not the one handed in: its SHA-256 is {actual}, the receipt's is {}.",
                p["sha256"].as_str().unwrap_or("?")
            ));
        }
    }
    let log = &file["log"];
    // The log is the one the signed receipt names, whatever the file says.
    let origin = p["iss"].as_str().unwrap_or_default();
    if log["origin"].as_str() != Some(origin) {
        found.failed.push(format!(
            "The file's log is not {origin}, the one the receipt was signed into."
        ));
        return found;
    }
    let Some(key) = keys.iter().find(|k| k.kid == checked.kid) else {
        return found;
    };
    let Ok(public) = key.public_key() else {
        return found;
    };
    let checkpoint = match Checkpoint::open(
        log["checkpoint"].as_str().unwrap_or_default(),
        origin,
        &public,
    ) {
        Ok(c) => c,
        Err(why) => {
            found
                .failed
                .push(format!("The log's checkpoint does not check: {why}."));
            return found;
        }
    };
    let index = log["index"].as_u64().unwrap_or(u64::MAX);
    if p["log_index"].as_u64() != Some(index) {
        found
            .failed
            .push("The receipt's own log position is not the one the file claims.".into());
        return found;
    }
    let leaf = record_hash(&sha256(jws_text.trim().as_bytes()));
    let root = Hash(checkpoint.root);
    match hashes(&log["inclusion_proof"]) {
        Ok(proof) if check_record(&proof, checkpoint.size, root, index, leaf).is_ok() => {
            found.proved.push(format!(
                "The receipt is entry {index} of log {origin}, whose signed checkpoint of {} includes it: handin cannot later deny or change it without the log showing it to anyone who kept a later checkpoint.",
                entries(checkpoint.size)
            ));
        }
        _ => found.failed.push(format!(
            "The inclusion proof does not lead from entry {index} to the checkpoint's root: the receipt is not in that log."
        )),
    }
    found
}

/// Why a key could not have signed at `at`, if it could not: a receipt
/// dated outside its key's time (a key used after it was retired, as after
/// a leak) proves nothing.
fn key_out_of_date(keys: &[Jwk], kid: &str, at: Option<&str>) -> Option<String> {
    let key = keys.iter().find(|k| k.kid == kid)?;
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc());
    let at = at.and_then(parse)?;
    let from = key.valid_from.as_deref().and_then(parse);
    let until = key.valid_until.as_deref().and_then(parse);
    let early = from.is_some_and(|from| at < from);
    let late = until.is_some_and(|until| at > until);
    (early || late).then(|| {
        format!(
            "The receipt says {} but key {kid} signed only from {} until {}: it cannot have signed this.",
            rfc3339(at),
            key.valid_from.as_deref().unwrap_or("its start"),
            key.valid_until.as_deref().unwrap_or("now")
        )
    })
}

/// "1 entry", "2 entries".
pub fn entries(n: u64) -> String {
    if n == 1 {
        "1 entry".to_string()
    } else {
        format!("{n} entries")
    }
}

/// What a monitor keeps between runs: the log's key and its last checkpoint.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Watched {
    pub origin: String,
    pub verifier_key: String,
    pub public_key: String,
    pub size: u64,
    pub root: String,
    pub checkpoint: String,
}

/// Checks a log's new checkpoint against what a monitor saw last: signed by
/// the key it knows, and (with the consistency proof) an extension of the
/// tree it saw. Returns what to keep.
pub fn check_progress(
    last: Option<&Watched>,
    note: &str,
    (keys, new_key): (&Value, Option<&str>),
    proof: Option<&Value>,
) -> std::result::Result<Watched, String> {
    let (origin, public) = match last {
        // After a rotation: the new key, as handin's operators announced it.
        Some(last) if new_key.is_some() => {
            let (name, public) = parse_verifier_key(new_key.unwrap_or_default())?;
            if name != last.origin {
                return Err(format!("the new key is for {name}, not {}", last.origin));
            }
            (name, public)
        }
        Some(last) => {
            let public: [u8; 32] = from_b64(&last.public_key)?
                .try_into()
                .map_err(|_| "the kept key is not 32 bytes")?;
            (last.origin.clone(), public)
        }
        None => {
            // First run: trust the key the log publishes now (and keep it).
            let origin = note.lines().next().unwrap_or_default().to_string();
            let keys: Vec<Jwk> = serde_json::from_value(keys["keys"].clone()).unwrap_or_default();
            let key = keys
                .iter()
                .find(|k| k.valid_until.is_none())
                .ok_or("the log publishes no current key")?;
            (origin, key.public_key()?)
        }
    };
    let checkpoint = Checkpoint::open(note, &origin, &public)?;
    if let Some(last) = last {
        let old_root: [u8; 32] = from_b64(&last.root)?
            .try_into()
            .map_err(|_| "bad kept root")?;
        if checkpoint.size < last.size {
            return Err(format!(
                "the log shrank: it had {} entries and now says {}",
                last.size, checkpoint.size
            ));
        }
        if checkpoint.size == last.size {
            if checkpoint.root != old_root {
                return Err(format!(
                    "the log was rewritten: the tree of {} entries had another root before",
                    last.size
                ));
            }
        } else {
            let proof = hashes(
                proof
                    .ok_or("no consistency proof")?
                    .get("proof")
                    .unwrap_or(&Value::Null),
            )?;
            check_tree(&proof, checkpoint.size, Hash(checkpoint.root), last.size, Hash(old_root))
                .map_err(|_| {
                    format!(
                        "the log was rewritten: its tree of {} entries does not extend the tree of {} it showed before",
                        checkpoint.size, last.size
                    )
                })?;
        }
    }
    Ok(Watched {
        verifier_key: verifier_key(&origin, &public),
        public_key: b64(&public),
        origin,
        size: checkpoint.size,
        root: b64(&checkpoint.root),
        checkpoint: note.to_string(),
    })
}

/// The receipt checker page, with `keys` (a JWKS) inside it, and its
/// content security policy: only its own script and style, no connections,
/// no forms, so nothing dropped on it can leave the reader's browser.
pub fn checker_page(keys: &Value, origin: &str) -> (String, String) {
    const PAGE: &str = include_str!("../../templates/verify/checker.html");
    const SCRIPT: &str = include_str!("../../templates/verify/checker.js");
    const STYLE: &str = include_str!("../../templates/verify/checker.css");
    // JSON in a script element: "</" would end the element.
    let keys = keys.to_string().replace("</", "<\\/");
    let origin = origin
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let page = PAGE
        .replace("/*ORIGIN*/", &origin)
        .replace("/*KEYS*/", &keys)
        .replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT);
    let policy = format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; img-src 'none'; \
         connect-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
        b64(&sha256(SCRIPT.as_bytes())),
        b64(&sha256(STYLE.as_bytes()))
    );
    (page, policy)
}
