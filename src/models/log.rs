//! The evidence log's rows: the public keys that signed (`signing_keys`),
//! the log's entries (each a signed statement, its leaf the statement's
//! SHA-256), the Merkle tree's stored subtree hashes, and every signed
//! checkpoint. Appending happens in the caller's transaction: an entry is
//! written with the event it records, or not at all.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};

use crate::evidence::jws::Signer;
use crate::evidence::merkle::{self, Hash, Reader};
use crate::evidence::note::Checkpoint;
use crate::evidence::{b64, from_b64, sha256};

pub mod signing_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        /// The 32-byte public key, base64url (the JWK's `x`).
        pub public_key: String,
        pub valid_from: DateTimeUtc,
        pub retired_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod entry {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_entries")]
    pub struct Model {
        /// The position in the log, from 0, gapless.
        #[sea_orm(primary_key, auto_increment = false)]
        pub idx: i64,
        /// `receipt`, `deadline_moved`, `extension_granted`, `extension_revoked`.
        pub kind: String,
        pub submission_id: Option<i32>,
        /// The signed statement (a compact JWS). It may name people; the
        /// log publishes only its hash.
        pub statement: String,
        /// SHA-256 of the statement, base64: the leaf's data.
        pub leaf: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod stored_hash {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_hashes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub idx: i64,
        /// base64
        pub hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod checkpoint {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "checkpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub size: i64,
        /// base64
        pub root: String,
        /// The signed note.
        pub note: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn corrupt(what: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("the evidence log: {what}"))
}

fn decode_hash(text: &str) -> Result<Hash, DbErr> {
    let bytes: [u8; 32] = from_b64(text)
        .map_err(corrupt)?
        .try_into()
        .map_err(|_| corrupt("a stored hash is not 32 bytes"))?;
    Ok(Hash(bytes))
}

/// Runs a tree computation on the stored hashes it needs: once to learn
/// which, then on those fetched.
async fn on_stored<T>(
    db: &impl ConnectionTrait,
    compute: impl Fn(&Reader) -> Result<T, tlog_tiles::Error>,
) -> Result<T, DbErr> {
    let recorder = Reader::recording();
    // Learning which hashes: the answer of this pass is not used.
    let _ = compute(&recorder);
    let wanted: Vec<i64> = recorder.asked().into_iter().map(|i| i as i64).collect();
    let mut fetched = HashMap::new();
    for chunk in wanted.chunks(500) {
        for row in stored_hash::Entity::find()
            .filter(stored_hash::Column::Idx.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            fetched.insert(row.idx as u64, decode_hash(&row.hash)?);
        }
    }
    compute(&Reader::known(fetched)).map_err(corrupt)
}

/// How many entries the log holds.
pub async fn size(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let last: Option<i64> = entry::Entity::find()
        .select_only()
        .column_as(entry::Column::Idx.max(), "last")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    Ok(last.map_or(0, |l| l as u64 + 1))
}

/// What the log says of one entry: where it is, and the checkpoint it was
/// first included in, with the proof.
#[derive(Debug, Clone)]
pub struct Included {
    pub index: u64,
    pub statement: String,
    pub tree_size: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

/// Something to append: its kind, the submission it is the receipt of,
/// and the statement, signed, given its position in the log.
pub struct Statement<'a> {
    pub kind: &'static str,
    pub submission_id: Option<i32>,
    pub signed: &'a (dyn Fn(u64) -> String + Sync),
}

/// Appends a statement in the caller's transaction (which on PostgreSQL
/// must hold the log's lock: see `db::lock_log`), with the stored hashes
/// and the checkpoint of the new size, signed.
pub async fn append(
    txn: &impl ConnectionTrait,
    signer: &Signer,
    origin: &str,
    statement: Statement<'_>,
    at: DateTime<Utc>,
) -> Result<Included, DbErr> {
    let index = size(txn).await?;
    let signed = (statement.signed)(index);
    let leaf = sha256(signed.as_bytes());
    let new = on_stored(txn, |r| merkle::stored_hashes(index, &leaf, r)).await?;
    entry::ActiveModel {
        idx: Set(index as i64),
        kind: Set(statement.kind.to_string()),
        submission_id: Set(statement.submission_id),
        statement: Set(signed.clone()),
        leaf: Set(b64(&leaf)),
        created_at: Set(at),
    }
    .insert(txn)
    .await?;
    let first = merkle::first_stored_index(index);
    let rows = new
        .iter()
        .enumerate()
        .map(|(k, hash)| stored_hash::ActiveModel {
            idx: Set((first + k as u64) as i64),
            hash: Set(b64(&hash.0)),
        });
    stored_hash::Entity::insert_many(rows).exec(txn).await?;
    let size = index + 1;
    let root = on_stored(txn, |r| merkle::tree_hash(size, r)).await?;
    let note = Checkpoint {
        origin: origin.to_string(),
        size,
        root: root.0,
    }
    .signed(signer);
    checkpoint::ActiveModel {
        size: Set(size as i64),
        root: Set(b64(&root.0)),
        note: Set(note.clone()),
        created_at: Set(at),
    }
    .insert(txn)
    .await?;
    let proof = on_stored(txn, |r| merkle::inclusion_proof(size, index, r)).await?;
    Ok(Included {
        index,
        statement: signed,
        tree_size: size,
        proof,
        checkpoint: note,
    })
}

/// A submission's receipt in the log, with its proof against the
/// checkpoint issued with it.
pub async fn receipt_of(
    db: &impl ConnectionTrait,
    submission_id: i32,
) -> Result<Option<Included>, DbErr> {
    let Some(row) = entry::Entity::find()
        .filter(entry::Column::SubmissionId.eq(submission_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let (index, tree_size) = (row.idx as u64, row.idx as u64 + 1);
    let Some(issued) = checkpoint::Entity::find_by_id(tree_size as i64)
        .one(db)
        .await?
    else {
        return Err(corrupt(format!("no checkpoint of size {tree_size}")));
    };
    let proof = on_stored(db, |r| merkle::inclusion_proof(tree_size, index, r)).await?;
    Ok(Some(Included {
        index,
        statement: row.statement,
        tree_size,
        proof,
        checkpoint: issued.note,
    }))
}

/// The newest signed checkpoint, if anything was logged.
pub async fn latest_checkpoint(
    db: &impl ConnectionTrait,
) -> Result<Option<checkpoint::Model>, DbErr> {
    checkpoint::Entity::find()
        .order_by_desc(checkpoint::Column::Size)
        .one(db)
        .await
}

/// The proof that entry `index` is in the tree of `size` entries.
pub async fn inclusion(
    db: &impl ConnectionTrait,
    size: u64,
    index: u64,
) -> Result<Vec<Hash>, DbErr> {
    on_stored(db, |r| merkle::inclusion_proof(size, index, r)).await
}

/// The proof that the tree of `old` entries is the start of that of `new`.
pub async fn consistency(
    db: &impl ConnectionTrait,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, DbErr> {
    on_stored(db, |r| merkle::consistency_proof(new, old, r)).await
}

/// Every entry, in order (for `handin verify`, which rebuilds the tree).
pub async fn entries(db: &impl ConnectionTrait) -> Result<Vec<entry::Model>, DbErr> {
    entry::Entity::find()
        .order_by_asc(entry::Column::Idx)
        .all(db)
        .await
}

pub async fn stored_hashes(db: &impl ConnectionTrait) -> Result<Vec<stored_hash::Model>, DbErr> {
    stored_hash::Entity::find()
        .order_by_asc(stored_hash::Column::Idx)
        .all(db)
        .await
}

pub async fn checkpoints(db: &impl ConnectionTrait) -> Result<Vec<checkpoint::Model>, DbErr> {
    checkpoint::Entity::find()
        .order_by_asc(checkpoint::Column::Size)
        .all(db)
        .await
}

/// The id of the key that signs now, if any key was ever published.
pub async fn current_key(db: &impl ConnectionTrait) -> Result<Option<String>, DbErr> {
    Ok(signing_key::Entity::find()
        .filter(signing_key::Column::RetiredAt.is_null())
        .order_by_desc(signing_key::Column::ValidFrom)
        .one(db)
        .await?
        .map(|k| k.kid))
}

/// The log's name, as its newest checkpoint gives it, if it has one.
pub async fn origin(db: &impl ConnectionTrait) -> Result<Option<String>, DbErr> {
    Ok(latest_checkpoint(db)
        .await?
        .and_then(|c| c.note.lines().next().map(str::to_string)))
}

/// Every key that ever signed, oldest first.
pub async fn keys(db: &impl ConnectionTrait) -> Result<Vec<signing_key::Model>, DbErr> {
    signing_key::Entity::find()
        .order_by_asc(signing_key::Column::ValidFrom)
        .all(db)
        .await
}

/// Publishes `signer`'s public key (once), and retires any other key still
/// marked as signing: the newest key is the one that signs.
pub async fn publish_key(
    db: &impl ConnectionTrait,
    signer: &Signer,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let known = signing_key::Entity::find_by_id(signer.kid().to_string())
        .one(db)
        .await?;
    if known.is_some() {
        return Ok(());
    }
    signing_key::Entity::update_many()
        .col_expr(
            signing_key::Column::RetiredAt,
            sea_orm::sea_query::Expr::value(at),
        )
        .filter(signing_key::Column::RetiredAt.is_null())
        .exec(db)
        .await?;
    let row = signing_key::ActiveModel {
        kid: Set(signer.kid().to_string()),
        public_key: Set(signer.jwk.x.clone()),
        valid_from: Set(at),
        retired_at: Set(None),
    };
    // Instances starting together with the same key publish it once.
    let once = sea_orm::sea_query::OnConflict::column(signing_key::Column::Kid)
        .do_nothing()
        .to_owned();
    signing_key::Entity::insert(row)
        .on_conflict(once)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
