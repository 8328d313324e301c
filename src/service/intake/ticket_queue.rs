//! Group commit for hotline tickets: requests hand their prepared ticket to one writer thread, which files whatever
//! has queued up (up to [`MAX_BATCH`]) in one transaction — one savepoint per ticket, so one bad ticket never undoes
//! another — and answers each request with its own result.
//!
//! SQLite has one writer; committing each ticket alone spends most of the time writing the same index pages again.
//! Batching what arrives while the previous batch commits costs a lone ticket nothing and lets many concurrent ones
//! share a commit. The queue is bounded: when it is full the request is refused (503, retry) rather than queued
//! without limit.

use crate::db::Db;
use crate::error::{Details, ErrorKind, ServiceError};
use crate::service::intake::{self, Filed, IntakeError, PreparedTicket};
use crate::store::cases::TicketRow;
use chrono::NaiveDateTime;
use std::sync::mpsc;

/// The most tickets one transaction files.
pub const MAX_BATCH: usize = 200;
/// The most tickets waiting for the writer.
pub const MAX_QUEUED: usize = 10_000;

type Reply = tokio::sync::oneshot::Sender<Result<Filed<TicketRow>, IntakeError>>;
/// A ticket, the server's clock reading when it arrived, and where its answer goes.
type Job = (PreparedTicket, NaiveDateTime, Reply);

/// The handle requests file through; cloning it is cheap. The writer thread stops when every handle is dropped.
#[derive(Debug, Clone)]
pub struct TicketQueue {
    tx: mpsc::SyncSender<Job>,
}

/// Why a ticket could not be queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// Too many tickets are waiting.
    #[error("too many tickets are waiting to be stored; retry in a moment")]
    Full,
    /// The writer thread is gone.
    #[error("the ticket writer has stopped")]
    Stopped,
}

impl TicketQueue {
    /// Starts the writer thread.
    pub fn start(db: Db) -> TicketQueue {
        let (tx, rx) = mpsc::sync_channel::<Job>(MAX_QUEUED);
        let spawned = std::thread::Builder::new()
            .name("ticket-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    // The latest arrival's clock reading: a ticket is never judged by a clock older than its own.
                    let now = batch.iter().map(|j| j.1).max().unwrap_or_default();
                    let (tickets, replies): (Vec<_>, Vec<_>) =
                        batch.into_iter().map(|(t, _, r)| (t, r)).unzip();
                    match intake::file_tickets(&db, now, tickets.into_iter().map(Ok).collect()) {
                        Ok(results) => {
                            for (reply, result) in replies.into_iter().zip(results) {
                                // The request may have gone away; its ticket is stored all the same.
                                let _ = reply.send(result);
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, tickets = replies.len(), "a batch of tickets failed");
                            for reply in replies {
                                let _ = reply.send(Err(IntakeError::Lookup(format!(
                                    "the batch of tickets failed: {e}"
                                ))));
                            }
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the ticket writer; tickets will be refused");
        }
        TicketQueue { tx }
    }

    /// Files a prepared ticket that arrived when the server's clock said `now`, and waits for its result: the path
    /// every ticket the API receives takes, from the hotline (`POST /api/v1/tickets`) or a citizen's app (Open311).
    /// A ticket filed before (or at the same time by another writer) answers with its first result.
    pub async fn file(
        &self,
        ticket: PreparedTicket,
        now: NaiveDateTime,
    ) -> Result<Filed<TicketRow>, QueueOutcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx
            .try_send((ticket, now, reply))
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => QueueOutcome::Queue(QueueError::Full),
                mpsc::TrySendError::Disconnected(_) => QueueOutcome::Queue(QueueError::Stopped),
            })?;
        answer
            .await
            .map_err(|_| QueueOutcome::Queue(QueueError::Stopped))?
            .map_err(QueueOutcome::Intake)
    }
}

/// What can go wrong filing through the queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueOutcome {
    /// The queue refused or lost the ticket.
    #[error(transparent)]
    Queue(QueueError),
    /// Intake refused the ticket or the database failed.
    #[error(transparent)]
    Intake(IntakeError),
}

impl ServiceError for QueueOutcome {
    /// A full or stopped queue is 503 `busy` (retry); a refusal of intake keeps its own kind and code.
    fn kind(&self) -> ErrorKind {
        match self {
            QueueOutcome::Queue(_) => ErrorKind::Unavailable("busy"),
            QueueOutcome::Intake(e) => e.kind(),
        }
    }

    fn details(&self) -> Details {
        match self {
            QueueOutcome::Queue(_) => Details::None,
            QueueOutcome::Intake(e) => e.details(),
        }
    }
}
