//! A reference phone client for offline sync: what a grid member's app does, in Rust, so the server's promises can
//! be tested end to end over real HTTP and a person can drive it by hand (`gridline phone`).
//!
//! The phone keeps everything in its own SQLite file ([`queue`]): it records reports, edits, photos and case steps
//! with no network at all, each with a new UUID and the next device sequence number. When told the network is up,
//! [`Phone::sync`] sends what the server lacks, in this order:
//!
//! 1. photos first (a report's photos should be there when it arrives): ask whether the server has each one, and if
//!    not send it in pieces, resuming from the server's offset after a cut;
//! 2. operations in device order, in batches of at most [`crate::service::sync::push::MAX_OPS`], keeping each result
//!    before the next batch goes; a batch whose answer was lost is sent again as it was (the server answers
//!    `duplicate` with the original decision for what it already applied);
//! 3. every result read back (`GET /sync/ops?since=`), so no decision goes unseen;
//! 4. the pull feed, keeping its cursor.
//!
//! Each step keeps its progress in the phone's file as it goes, so a phone killed at any point (or a server that
//! dies) loses nothing: the next sync carries on.

pub mod cli;
pub mod client;
pub mod queue;

use crate::service::intake::ReportInput;
use crate::service::sync::push::OpResult;
use client::{Appended, Transport, TransportError};
use queue::{Decision, LocalOp, Queue, QueueError};
use serde_json::Value;
use std::path::Path;

pub use client::Retry;

/// Errors of the phone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// The phone's own file.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The server could not be reached or refused a request.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The phone has not been registered with a server.
    #[error("the phone is not registered: run register first")]
    NotRegistered,
    /// The phone is registered already (its device order would restart).
    #[error("the phone is registered already as device {0}")]
    AlreadyRegistered(String),
    /// Something the phone was asked to record is not usable.
    #[error("{0}")]
    Invalid(String),
    /// The server keeps an operation waiting for one the phone does not have.
    #[error("the server waits for device_seq {0}, which this phone cannot send")]
    Stuck(i64),
}

/// How a sync goes.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Operations per push (at most [`crate::service::sync::push::MAX_OPS`]).
    pub batch: usize,
    /// Bytes per photo piece.
    pub piece: usize,
    /// Pull the feed after pushing.
    pub pull: bool,
    /// Changes per pull page.
    pub pull_limit: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            batch: crate::service::sync::push::MAX_OPS,
            piece: 256 << 10,
            pull: true,
            pull_limit: 200,
        }
    }
}

/// Where a sync stands, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Photos stored of the photos to send.
    Photos {
        /// Done.
        done: u64,
        /// Of.
        total: u64,
    },
    /// Operations decided of the operations to send.
    Ops {
        /// Done.
        done: u64,
        /// Of.
        total: u64,
    },
    /// Pull pages read.
    Pulled {
        /// Pages.
        pages: u64,
    },
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Photos the server now has that it lacked.
    pub photos_sent: u64,
    /// Photos the server refused (kept on the phone with the reason).
    pub photos_refused: u64,
    /// Pushes sent (retries included).
    pub pushes: u64,
    /// Operations that got their final result in this sync.
    pub decided: u64,
    /// Results read back.
    pub read_back: u64,
    /// Cases and reports pulled.
    pub pulled: u64,
}

/// A counted state of the queue, for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The device's id on its server.
    pub device_id: Option<String>,
    /// The server.
    pub server: Option<String>,
    /// Operations per state (`pending`, `sent`, `done`).
    pub ops: Vec<(String, i64)>,
    /// Photos per state (`pending`, `stored`, `refused`).
    pub photos: Vec<(String, i64)>,
    /// The pull cursor.
    pub cursor: Option<String>,
}

const DEVICE_ID: &str = "device_id";
const DEVICE_TOKEN: &str = "device_token";
const SERVER: &str = "server";
const RESULTS_SINCE: &str = "results_since";
const PULL_CURSOR: &str = "pull_cursor";

/// The phone: its file, and the way it records and syncs.
#[derive(Debug)]
pub struct Phone {
    queue: Queue,
}

impl Phone {
    /// Opens the phone's file at `path` (made when missing).
    pub fn open(path: &Path) -> Result<Phone, PhoneError> {
        Ok(Phone {
            queue: Queue::open(path)?,
        })
    }

    /// The phone's queue, to look into.
    pub fn queue(&mut self) -> &mut Queue {
        &mut self.queue
    }

    /// Registers the phone with the server `transport` reaches, as the member whose sign-in token is `user_token`,
    /// and keeps the device's token. Returns the device's id.
    pub fn register(
        &mut self,
        transport: &Transport,
        user_token: &str,
        name: &str,
    ) -> Result<String, PhoneError> {
        if let Some(id) = self.queue.get(DEVICE_ID)? {
            return Err(PhoneError::AlreadyRegistered(id));
        }
        // Not retried: a lost answer would leave a device whose token nobody has; the member registers again.
        let (id, token) = transport.register(user_token, name)?;
        self.queue.set(DEVICE_TOKEN, &token)?;
        self.queue.set(SERVER, transport.base())?;
        self.queue.set(DEVICE_ID, &id)?;
        tracing::info!(device = %id, server = transport.base(), "phone registered");
        Ok(id)
    }

    /// Records a new patrol report (its id is made here when it has none). Returns the operation.
    pub fn create_report(&mut self, mut report: ReportInput) -> Result<LocalOp, PhoneError> {
        let id = report
            .id
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        let payload =
            serde_json::to_value(&report).map_err(|e| PhoneError::Invalid(e.to_string()))?;
        Ok(self.queue.record("create_report", &id, None, &payload)?)
    }

    /// Records a new text for a report, made against its `base_version`.
    pub fn update_report(
        &mut self,
        report_id: &str,
        base_version: i32,
        text: &str,
    ) -> Result<LocalOp, PhoneError> {
        Ok(self.queue.record(
            "update_report",
            report_id,
            Some(base_version),
            &serde_json::json!({ "text": text }),
        )?)
    }

    /// Keeps a photo for upload; returns its SHA-256 (to name in a report, an attachment or a step's evidence).
    pub fn add_photo(&mut self, bytes: &[u8], mime: &str) -> Result<String, PhoneError> {
        if bytes.is_empty() {
            return Err(PhoneError::Invalid("a photo has at least one byte".into()));
        }
        Ok(self.queue.add_photo(bytes, mime)?)
    }

    /// Records adding a photo (already kept with [`Phone::add_photo`]) to a report's evidence.
    pub fn attach_photo(&mut self, report_id: &str, sha256: &str) -> Result<LocalOp, PhoneError> {
        Ok(self.queue.record(
            "attach_photo",
            report_id,
            None,
            &serde_json::json!({ "sha256": sha256 }),
        )?)
    }

    /// Records a step on a case (`{"action": "note", "note": ...}` and the like), against `base_version` when
    /// given.
    pub fn transition(
        &mut self,
        case_id: &str,
        base_version: Option<i32>,
        step: &Value,
    ) -> Result<LocalOp, PhoneError> {
        if step.get("action").and_then(Value::as_str).is_none() {
            return Err(PhoneError::Invalid("a step names its action".into()));
        }
        Ok(self
            .queue
            .record("transition", case_id, base_version, step)?)
    }

    /// Counts of what the phone holds.
    pub fn status(&mut self) -> Result<Status, PhoneError> {
        Ok(Status {
            device_id: self.queue.get(DEVICE_ID)?,
            server: self.queue.get(SERVER)?,
            ops: self.queue.counts()?,
            photos: self.queue.photo_counts()?,
            cursor: self.queue.get(PULL_CURSOR)?,
        })
    }

    /// Sends what the server lacks and reads back what it decided (see the module's comment for the order).
    /// On an error the work done so far is kept; the next sync carries on from there.
    pub fn sync(
        &mut self,
        transport: &Transport,
        options: &SyncOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<SyncReport, PhoneError> {
        let token = self
            .queue
            .get(DEVICE_TOKEN)?
            .ok_or(PhoneError::NotRegistered)?;
        let mut report = SyncReport::default();
        self.send_photos(transport, &token, options, &mut report, progress)?;
        self.push_ops(transport, &token, options, &mut report, progress)?;
        self.read_back(transport, &token, &mut report)?;
        if options.pull {
            self.pull(transport, &token, options, &mut report, progress)?;
        }
        tracing::info!(?report, "sync done");
        Ok(report)
    }

    fn send_photos(
        &mut self,
        t: &Transport,
        token: &str,
        options: &SyncOptions,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), PhoneError> {
        let photos = self.queue.unsent_photos()?;
        let total = photos.len() as u64;
        for (n, photo) in photos.into_iter().enumerate() {
            progress(Progress::Photos {
                done: n as u64,
                total,
            });
            let stored = t.retrying("photo HEAD", || t.photo_stored(token, &photo.sha256))?;
            let outcome = if stored {
                Ok(())
            } else {
                let bytes = self.queue.photo_bytes(&photo.sha256)?;
                self.upload(t, token, &photo, &bytes, options.piece.max(1))
            };
            match outcome {
                Ok(()) => {
                    self.queue.photo_finished(&photo.sha256, "stored", None)?;
                    report.photos_sent += u64::from(!stored);
                }
                Err(PhoneError::Transport(e)) if !e.is_transient() => {
                    // Refused for good (bad bytes, too large): kept on the phone with the reason, never resent.
                    tracing::warn!(sha256 = %photo.sha256, error = %e, "photo refused");
                    self.queue
                        .photo_finished(&photo.sha256, "refused", Some(&e.to_string()))?;
                    report.photos_refused += 1;
                }
                Err(e) => return Err(e),
            }
        }
        progress(Progress::Photos { done: total, total });
        Ok(())
    }

    /// Sends one photo in pieces; after a cut, asks the server where it stands and resumes from there.
    fn upload(
        &mut self,
        t: &Transport,
        token: &str,
        photo: &queue::LocalPhoto,
        bytes: &[u8],
        piece: usize,
    ) -> Result<(), PhoneError> {
        let size = bytes.len() as u64;
        let start = |q: &mut Queue| -> Result<Option<(String, u64)>, PhoneError> {
            let a = t.retrying("upload start", || {
                t.start_upload(token, &photo.sha256, size, &photo.mime)
            })?;
            match (a.complete, a.id) {
                (true, _) => Ok(None),
                (false, Some(id)) => {
                    q.photo_progress(&photo.sha256, Some(&id), a.offset)?;
                    Ok(Some((id, a.offset)))
                }
                (false, None) => {
                    Err(TransportError::Decode("an open upload without an id".into()).into())
                }
            }
        };
        let resumed = match &photo.upload_id {
            Some(id) => t
                .retrying("upload offset", || t.upload_offset(token, id))?
                .map(|offset| (id.clone(), offset)),
            None => None,
        };
        let (mut id, mut offset) = match resumed {
            Some(at) => at,
            None => match start(&mut self.queue)? {
                Some(at) => at,
                None => return Ok(()),
            },
        };
        let mut failures = 0u32;
        loop {
            let from = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let to = from.saturating_add(piece).min(bytes.len());
            match t.append(token, &id, offset, &bytes[from..to]) {
                Ok(Appended::Taken(a)) => {
                    failures = 0;
                    if a.complete {
                        return Ok(());
                    }
                    offset = a.offset;
                    self.queue
                        .photo_progress(&photo.sha256, Some(&id), offset)?;
                }
                Ok(Appended::Elsewhere(current)) => offset = current,
                Ok(Appended::Gone) => match start(&mut self.queue)? {
                    Some((new_id, at)) => (id, offset) = (new_id, at),
                    None => return Ok(()),
                },
                Err(e) if e.is_transient() => {
                    failures += 1;
                    if failures >= t.retry.attempts.max(1) {
                        return Err(e.into());
                    }
                    std::thread::sleep(t.retry.backoff * failures);
                    // The piece may have landed: the server's offset says.
                    match t.retrying("upload offset", || t.upload_offset(token, &id))? {
                        Some(current) => offset = current,
                        None => match start(&mut self.queue)? {
                            Some((new_id, at)) => (id, offset) = (new_id, at),
                            None => return Ok(()),
                        },
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn push_ops(
        &mut self,
        t: &Transport,
        token: &str,
        options: &SyncOptions,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), PhoneError> {
        let batch = options.batch.clamp(1, crate::service::sync::push::MAX_OPS) as i64;
        let total = self
            .queue
            .counts()?
            .iter()
            .filter(|(s, _)| s != queue::state::DONE)
            .map(|(_, n)| *n as u64)
            .sum();
        let mut done = 0u64;
        loop {
            progress(Progress::Ops { done, total });
            let ops = self.queue.open_ops(batch)?;
            let Some(first) = ops.first().map(|o| o.seq) else {
                return Ok(());
            };
            let seqs: Vec<i64> = ops.iter().map(|o| o.seq).collect();
            self.queue.mark_sent(&seqs, 1)?;
            let wire: Vec<Value> = ops.iter().map(LocalOp::wire).collect();
            let mut tries: u32 = 0;
            let results = t.retrying("push", || {
                tries += 1;
                t.push(token, wire.clone())
            });
            report.pushes += u64::from(tries);
            if tries > 1 {
                self.queue
                    .mark_sent(&seqs, i32::try_from(tries - 1).unwrap_or(i32::MAX))?;
            }
            let results = results?;
            let decisions: Vec<Decision<'_>> = results.iter().filter_map(decision).collect();
            let decided = self.queue.record_decisions(&decisions)? as u64;
            done += decided;
            report.decided += decided;
            if decided == 0 {
                // Everything sent is waiting for an earlier operation the server never got.
                return Err(PhoneError::Stuck(first));
            }
        }
    }

    fn read_back(
        &mut self,
        t: &Transport,
        token: &str,
        report: &mut SyncReport,
    ) -> Result<(), PhoneError> {
        let mut since: i64 = self
            .queue
            .get(RESULTS_SINCE)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        loop {
            let page = t.retrying("results", || t.results(token, since))?;
            if page.items.is_empty() {
                return Ok(());
            }
            let decisions: Vec<Decision<'_>> = page.items.iter().filter_map(decision).collect();
            // A result the phone had not got (its answer was lost on the last try) is kept now.
            self.queue.record_decisions(&decisions)?;
            report.read_back += page.items.len() as u64;
            since = page.next_since;
            self.queue.set(RESULTS_SINCE, &since.to_string())?;
        }
    }

    fn pull(
        &mut self,
        t: &Transport,
        token: &str,
        options: &SyncOptions,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), PhoneError> {
        let mut pages = 0;
        loop {
            let cursor = self.queue.get(PULL_CURSOR)?;
            let page = t.retrying("pull", || {
                t.pull(token, cursor.as_deref(), options.pull_limit)
            })?;
            report.pulled += (page.cases.len() + page.reports.len()) as u64;
            self.queue.set(PULL_CURSOR, &page.next_cursor)?;
            pages += 1;
            progress(Progress::Pulled { pages });
            if !page.has_more {
                return Ok(());
            }
        }
    }
}

/// The decision a result carries: a duplicate stands for its original decision.
fn decision(r: &OpResult) -> Option<Decision<'_>> {
    let status = match (r.status.as_str(), r.original_status.as_deref()) {
        ("duplicate", Some(original)) => original,
        (s, _) => s,
    };
    Some(Decision {
        op_id: r.op_id.as_deref()?,
        status,
        code: r.code.as_deref(),
        message: r.message.as_deref(),
        result: r.result.as_ref().map(Value::to_string),
        result_seq: r.result_seq,
    })
}
