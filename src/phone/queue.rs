//! The phone's own file: a SQLite database holding its queue of operations (each with the result the server gave
//! it), the photos it still has to send and where it stands with the server (device token, pull cursor, results
//! read back). It is the phone's file, not the server's: its small schema is made here with `CREATE TABLE IF NOT
//! EXISTS`, not by the server's migrations.
//!
//! Guarantee: every change is one local transaction with `synchronous=FULL`, so whatever the phone recorded or
//! learnt survives the app being killed at any point; an operation's sequence number is taken in the same
//! transaction that stores it, so the device's order has no gaps and no repeats.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Integer, Nullable, Text};
use std::path::Path;

/// Errors of the local file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The file could not be opened.
    #[error("cannot open the phone's database {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        source: diesel::ConnectionError,
    },
    /// A statement failed.
    #[error("the phone's database: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Where an operation stands on the phone.
pub mod state {
    /// Recorded, never sent.
    pub const PENDING: &str = "pending";
    /// Sent at least once; no final answer yet (lost answer, or `waiting`).
    pub const SENT: &str = "sent";
    /// The server decided it (applied, conflict or rejected); its result is kept.
    pub const DONE: &str = "done";
}

/// An operation in the phone's queue.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct LocalOp {
    /// The device sequence number (1, 2, 3, ...).
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    /// The phone's UUID for it.
    #[diesel(sql_type = Text)]
    pub op_id: String,
    /// `create_report`, `update_report`, `attach_photo` or `transition`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The report or case it acts on.
    #[diesel(sql_type = Text)]
    pub entity_id: String,
    /// The entity's version it was made against.
    #[diesel(sql_type = Nullable<Integer>)]
    pub base_version: Option<i32>,
    /// The payload (JSON).
    #[diesel(sql_type = Text)]
    pub payload: String,
    /// `pending`, `sent` or `done` (see [`state`]).
    #[diesel(sql_type = Text)]
    pub state: String,
    /// The server's decision: `applied`, `conflict`, `rejected` (or `waiting` while undecided).
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<String>,
    /// A rejection's code.
    #[diesel(sql_type = Nullable<Text>)]
    pub code: Option<String>,
    /// The server's message.
    #[diesel(sql_type = Nullable<Text>)]
    pub message: Option<String>,
    /// What came of it (JSON).
    #[diesel(sql_type = Nullable<Text>)]
    pub result: Option<String>,
    /// The number of the decision among the device's results.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub result_seq: Option<i64>,
    /// How many times it was sent.
    #[diesel(sql_type = Integer)]
    pub sends: i32,
}

impl LocalOp {
    /// The operation as `POST /api/v1/sync/push` takes it.
    pub fn wire(&self) -> serde_json::Value {
        serde_json::json!({
            "op_id": self.op_id,
            "device_seq": self.seq,
            "kind": self.kind,
            "entity_id": self.entity_id,
            "base_version": self.base_version,
            "payload": serde_json::from_str::<serde_json::Value>(&self.payload)
                .unwrap_or(serde_json::Value::Null),
        })
    }
}

/// A photo the phone holds, and how far its upload got.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct LocalPhoto {
    /// SHA-256 of its bytes (hex).
    #[diesel(sql_type = Text)]
    pub sha256: String,
    /// Its size in bytes.
    #[diesel(sql_type = BigInt)]
    pub size: i64,
    /// `image/jpeg` or `image/png`.
    #[diesel(sql_type = Text)]
    pub mime: String,
    /// The server's upload, once started.
    #[diesel(sql_type = Nullable<Text>)]
    pub upload_id: Option<String>,
    /// Bytes the server had at last look.
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    /// `pending`, `stored` or `refused`.
    #[diesel(sql_type = Text)]
    pub state: String,
    /// Why the server refused it.
    #[diesel(sql_type = Nullable<Text>)]
    pub message: Option<String>,
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = Binary)]
    bytes: Vec<u8>,
}

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY NOT NULL,
    op_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    base_version INTEGER,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    status TEXT,
    code TEXT,
    message TEXT,
    result TEXT,
    result_seq INTEGER,
    sends INTEGER NOT NULL DEFAULT 0,
    recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS ops_open ON ops (state, seq);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY NOT NULL,
    bytes BLOB NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    upload_id TEXT,
    sent INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    message TEXT,
    added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
";

const OP_COLUMNS: &str = "seq, op_id, kind, entity_id, base_version, payload, state, status, code, message, result, result_seq, sends";
const PHOTO_COLUMNS: &str = "sha256, size, mime, upload_id, sent, state, message";

/// The server's decision on one operation, as the phone keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<'a> {
    /// The operation.
    pub op_id: &'a str,
    /// `applied`, `conflict`, `rejected` or `waiting`.
    pub status: &'a str,
    /// A rejection's code.
    pub code: Option<&'a str>,
    /// The server's message.
    pub message: Option<&'a str>,
    /// What came of it (JSON text).
    pub result: Option<String>,
    /// The number of the decision among the device's results.
    pub result_seq: Option<i64>,
}

/// The phone's database.
pub struct Queue {
    conn: SqliteConnection,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queue")
    }
}

impl Queue {
    /// Opens (creating when needed) the phone's database at `path`.
    pub fn open(path: &Path) -> Result<Queue, QueueError> {
        let url = path.to_string_lossy().into_owned();
        let mut conn = SqliteConnection::establish(&url).map_err(|source| QueueError::Open {
            path: url.clone(),
            source,
        })?;
        // FULL: a recorded operation is on disk before the call returns, even if the phone loses power.
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;",
        )?;
        conn.batch_execute(SCHEMA)?;
        Ok(Queue { conn })
    }

    /// A value of the phone's settings.
    pub fn get(&mut self, key: &str) -> Result<Option<String>, QueueError> {
        Ok(diesel::sql_query("SELECT value FROM meta WHERE key = ?")
            .bind::<Text, _>(key)
            .get_result::<Value>(&mut self.conn)
            .optional()?
            .map(|v| v.value))
    }

    /// Sets a value of the phone's settings.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), QueueError> {
        diesel::sql_query(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind::<Text, _>(key)
        .bind::<Text, _>(value)
        .execute(&mut self.conn)?;
        Ok(())
    }

    /// Records an operation with a new UUID and the next sequence number; nothing is sent.
    pub fn record(
        &mut self,
        kind: &str,
        entity_id: &str,
        base_version: Option<i32>,
        payload: &serde_json::Value,
    ) -> Result<LocalOp, QueueError> {
        let op_id = uuid::Uuid::new_v4().to_string();
        let payload = payload.to_string();
        self.conn
            .immediate_transaction(|c| {
                diesel::sql_query(
                    "INSERT INTO ops (seq, op_id, kind, entity_id, base_version, payload)
                 VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM ops), ?, ?, ?, ?, ?)",
                )
                .bind::<Text, _>(&op_id)
                .bind::<Text, _>(kind)
                .bind::<Text, _>(entity_id)
                .bind::<Nullable<Integer>, _>(base_version)
                .bind::<Text, _>(&payload)
                .execute(c)?;
                diesel::sql_query(format!("SELECT {OP_COLUMNS} FROM ops WHERE op_id = ?"))
                    .bind::<Text, _>(&op_id)
                    .get_result::<LocalOp>(c)
            })
            .map_err(Into::into)
    }

    /// Keeps a photo's bytes for upload; returns its SHA-256. Adding the same bytes again changes nothing.
    pub fn add_photo(&mut self, bytes: &[u8], mime: &str) -> Result<String, QueueError> {
        use sha2::Digest;
        let sha = crate::auth::token::hex(&sha2::Sha256::digest(bytes));
        diesel::sql_query(
            "INSERT INTO photos (sha256, bytes, size, mime) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind::<Text, _>(&sha)
        .bind::<Binary, _>(bytes)
        .bind::<BigInt, _>(bytes.len() as i64)
        .bind::<Text, _>(mime)
        .execute(&mut self.conn)?;
        Ok(sha)
    }

    /// The photos not yet stored on the server nor refused by it, oldest first.
    pub fn unsent_photos(&mut self) -> Result<Vec<LocalPhoto>, QueueError> {
        Ok(diesel::sql_query(format!(
            "SELECT {PHOTO_COLUMNS} FROM photos WHERE state = 'pending' ORDER BY added_at, sha256"
        ))
        .load(&mut self.conn)?)
    }

    /// Every photo the phone holds.
    pub fn photos(&mut self) -> Result<Vec<LocalPhoto>, QueueError> {
        Ok(diesel::sql_query(format!(
            "SELECT {PHOTO_COLUMNS} FROM photos ORDER BY added_at, sha256"
        ))
        .load(&mut self.conn)?)
    }

    /// A photo's bytes.
    pub fn photo_bytes(&mut self, sha: &str) -> Result<Vec<u8>, QueueError> {
        Ok(
            diesel::sql_query("SELECT bytes FROM photos WHERE sha256 = ?")
                .bind::<Text, _>(sha)
                .get_result::<Bytes>(&mut self.conn)?
                .bytes,
        )
    }

    /// Notes where a photo's upload stands.
    pub fn photo_progress(
        &mut self,
        sha: &str,
        upload_id: Option<&str>,
        sent: u64,
    ) -> Result<(), QueueError> {
        diesel::sql_query("UPDATE photos SET upload_id = ?, sent = ? WHERE sha256 = ?")
            .bind::<Nullable<Text>, _>(upload_id)
            .bind::<BigInt, _>(i64::try_from(sent).unwrap_or(i64::MAX))
            .bind::<Text, _>(sha)
            .execute(&mut self.conn)?;
        Ok(())
    }

    /// Notes that a photo is stored on the server (`stored`) or was refused by it (`refused`, with why).
    pub fn photo_finished(
        &mut self,
        sha: &str,
        state: &str,
        message: Option<&str>,
    ) -> Result<(), QueueError> {
        diesel::sql_query("UPDATE photos SET state = ?, message = ?, sent = size WHERE sha256 = ?")
            .bind::<Text, _>(state)
            .bind::<Nullable<Text>, _>(message)
            .bind::<Text, _>(sha)
            .execute(&mut self.conn)?;
        Ok(())
    }

    /// Up to `limit` operations without a final answer, in device order.
    pub fn open_ops(&mut self, limit: i64) -> Result<Vec<LocalOp>, QueueError> {
        Ok(diesel::sql_query(format!(
            "SELECT {OP_COLUMNS} FROM ops WHERE state <> 'done' ORDER BY seq LIMIT ?"
        ))
        .bind::<BigInt, _>(limit)
        .load(&mut self.conn)?)
    }

    /// Every operation, in device order.
    pub fn ops(&mut self) -> Result<Vec<LocalOp>, QueueError> {
        Ok(
            diesel::sql_query(format!("SELECT {OP_COLUMNS} FROM ops ORDER BY seq"))
                .load(&mut self.conn)?,
        )
    }

    /// One operation.
    pub fn op(&mut self, op_id: &str) -> Result<Option<LocalOp>, QueueError> {
        Ok(
            diesel::sql_query(format!("SELECT {OP_COLUMNS} FROM ops WHERE op_id = ?"))
                .bind::<Text, _>(op_id)
                .get_result(&mut self.conn)
                .optional()?,
        )
    }

    /// Notes that these operations were sent `times` more times (before a push goes out: once).
    pub fn mark_sent(&mut self, seqs: &[i64], times: i32) -> Result<(), QueueError> {
        self.conn.immediate_transaction(|c| {
            for &seq in seqs {
                diesel::sql_query(
                    "UPDATE ops SET sends = sends + ?,
                       state = CASE state WHEN 'pending' THEN 'sent' ELSE state END WHERE seq = ?",
                )
                .bind::<Integer, _>(times)
                .bind::<BigInt, _>(seq)
                .execute(c)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        Ok(())
    }

    /// Keeps the server's decisions, all in one transaction; a `waiting` one stays open. Returns how many became
    /// final.
    pub fn record_decisions(&mut self, decisions: &[Decision<'_>]) -> Result<usize, QueueError> {
        self.conn
            .immediate_transaction(|c| {
                let mut done = 0;
                for d in decisions {
                    let to = if d.status == "waiting" {
                        state::SENT
                    } else {
                        state::DONE
                    };
                    done += diesel::sql_query(
                        "UPDATE ops SET state = ?, status = ?, code = ?, message = ?, result = ?, result_seq = ?
                         WHERE op_id = ? AND state <> 'done'",
                    )
                    .bind::<Text, _>(to)
                    .bind::<Text, _>(d.status)
                    .bind::<Nullable<Text>, _>(d.code)
                    .bind::<Nullable<Text>, _>(d.message)
                    .bind::<Nullable<Text>, _>(d.result.as_deref())
                    .bind::<Nullable<BigInt>, _>(d.result_seq)
                    .bind::<Text, _>(d.op_id)
                    .execute(c)?
                        * usize::from(to == state::DONE);
                }
                Ok::<_, diesel::result::Error>(done)
            })
            .map_err(Into::into)
    }

    /// How many operations are in each state.
    pub fn counts(&mut self) -> Result<Vec<(String, i64)>, QueueError> {
        Ok(
            diesel::sql_query("SELECT state, COUNT(*) AS n FROM ops GROUP BY state ORDER BY state")
                .load::<Count>(&mut self.conn)?
                .into_iter()
                .map(|c| (c.state, c.n))
                .collect(),
        )
    }

    /// How many photos are in each state.
    pub fn photo_counts(&mut self) -> Result<Vec<(String, i64)>, QueueError> {
        Ok(diesel::sql_query(
            "SELECT state, COUNT(*) AS n FROM photos GROUP BY state ORDER BY state",
        )
        .load::<Count>(&mut self.conn)?
        .into_iter()
        .map(|c| (c.state, c.n))
        .collect())
    }
}
