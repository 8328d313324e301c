//! Database access: one binary for SQLite (embedded, the default) and PostgreSQL, chosen by the URL's scheme.
//!
//! Guarantees: every pooled SQLite connection has `busy_timeout`, WAL, `synchronous=NORMAL` and foreign keys on;
//! SQLite writes go through a pool of one connection so two writers never race for the lock; migrations for the
//! connection's backend are embedded in the binary and applied by [`Db::connect`]. Diesel calls are blocking: the
//! HTTP layer runs them in `web::block`, never on an async worker.

pub mod schema;

use crate::analytics::cube::Cube;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// SQLite (bundled).
    Sqlite(SqliteConnection),
    /// PostgreSQL (libpq bundled).
    Pg(PgConnection),
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file path, `sqlite://PATH` or `file:PATH`.
    Sqlite,
    /// `postgres://` or `postgresql://`.
    Postgres,
}

/// Errors of opening or preparing a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The URL names a backend gridline does not have.
    #[error(
        "unsupported database URL scheme {0:?}: use a file path or sqlite://PATH for SQLite, postgres://... for PostgreSQL"
    )]
    UnsupportedScheme(String),
    /// The connection could not be made.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// The pool could not hand out a connection.
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl Backend {
    /// Picks the backend from a database URL; the SQLite path is returned without its scheme.
    pub fn from_url(url: &str) -> Result<(Backend, String), DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok((Backend::Sqlite, path.to_owned()));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(DbError::UnsupportedScheme(scheme.to_owned()));
        }
        Ok((Backend::Sqlite, url.to_owned()))
    }
}

/// SQLite page cache of a reading connection, in KiB.
const READER_CACHE_KIB: u32 = 8 * 1024;
/// SQLite page cache of the writing connection, in KiB.
const WRITER_CACHE_KIB: u32 = 256 * 1024;

/// The r2d2 manager: opens a connection of the right backend and prepares it.
#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
    target: String,
    /// SQLite page cache per connection, in KiB.
    cache_kib: u32,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.target)?;
                // busy_timeout first, so the others wait for a lock instead of failing; one statement each.
                c.batch_execute("PRAGMA busy_timeout = 5000")?;
                c.batch_execute("PRAGMA journal_mode = WAL")?;
                c.batch_execute("PRAGMA synchronous = NORMAL")?;
                c.batch_execute("PRAGMA foreign_keys = ON")?;
                // The default page cache (2 MiB) is far smaller than the indexes intake touches: every statement
                // would read pages back from the OS. Pages are mapped rather than copied where the OS allows.
                c.batch_execute(&format!("PRAGMA cache_size = -{}", self.cache_kib))?;
                c.batch_execute("PRAGMA mmap_size = 8589934592")?;
                c.batch_execute("PRAGMA temp_store = MEMORY")?;
                // Checkpoints run in the background (see `Db::checkpoint_in_background`); this is only the safety
                // net for processes that run none (a commit past 40 MiB of log checkpoints, stalling that commit).
                c.batch_execute("PRAGMA wal_autocheckpoint = 10000")?;
                Ok(DbConnection::Sqlite(c))
            }
            Backend::Postgres => Ok(DbConnection::Pg(PgConnection::establish(&self.target)?)),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// A pool of connections.
pub type Pool = r2d2::Pool<Manager>;
/// A connection taken from a [`Pool`].
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// How long an answer made from what a read saw stands for the writes of other processes (a command such as an
/// import, another server on the same PostgreSQL) when this process wrote nothing since ([`Db::unchanged_since`]).
pub const OTHERS_SEEN_WITHIN: Duration = Duration::from_millis(250);

/// When a read began, as [`Db::unchanged_since`] checks it: how many writes of this process had ended, and the
/// instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMark {
    writes: u64,
    at: Instant,
}

impl ReadMark {
    /// Whether this mark was taken after `other`.
    pub fn later_than(&self, other: &ReadMark) -> bool {
        self.at > other.at
    }
}

/// The connection for writing, taken from its pool; when it goes back, it counts as one write of this process
/// (after whatever it committed), so that answers kept from reads before it are no longer trusted
/// ([`Db::unchanged_since`]).
pub struct Writer {
    conn: PooledConn,
    writes: Arc<AtomicU64>,
}

impl std::ops::Deref for Writer {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

/// The leaders' counts held in memory beside a database (empty until first read); kept equal to the stored rows by
/// `service::analytics::counts`.
pub type CountsInMemory = RwLock<Option<Cube>>;

/// The database: a pool for reads and a pool for writes (the same pool on PostgreSQL, a pool of one on SQLite), and
/// for a server, the copy of the heat-map counts it keeps in memory ([`Db::with_counts_in_memory`]).
#[derive(Clone, Debug)]
pub struct Db {
    /// Which backend.
    pub backend: Backend,
    read: Pool,
    write: Pool,
    counts: Option<Arc<CountsInMemory>>,
    /// Writing connections handed back by this handle and its clones ([`Writer`]).
    writes: Arc<AtomicU64>,
}

impl Db {
    /// Opens the database at `url`, creating a SQLite file's directory if needed, and applies migrations.
    /// Connections are opened as they are first needed (the server: a pool of many that a quiet server never fills).
    pub fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        Db::open(url, max_connections, false)
    }

    /// As [`Db::connect`], with every connection of the pool opened before it returns. For a process that exits
    /// when its work is done (a command): the pool opens connections on a worker thread of its own, and a
    /// connection still being opened there when the process exits (two readers taken at once, then a quick exit)
    /// meets libpq's TLS and GSSAPI state torn down by the exit handlers under it — a segmentation fault after the
    /// work was done. Opened up front, no connection is ever being opened at exit.
    pub fn connect_opened(url: &str, max_connections: u32) -> Result<Db, DbError> {
        Db::open(url, max_connections, true)
    }

    fn open(url: &str, max_connections: u32, opened: bool) -> Result<Db, DbError> {
        let (backend, target) = Backend::from_url(url)?;
        if backend == Backend::Sqlite
            && target != ":memory:"
            && let Some(dir) = std::path::Path::new(&target)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Migration(format!("cannot create {}: {e}", dir.display())))?;
        }
        let build = |size: u32, cache_kib: u32| {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(if opened { size } else { 0 }))
                .connection_timeout(Duration::from_secs(10))
                // A connection to a PostgreSQL server can die with the server or the network, so it is tried
                // (`SELECT 1`) before each use; one to a SQLite file cannot, and the try cost a statement at every
                // checkout.
                .test_on_check_out(backend == Backend::Postgres)
                .build(Manager {
                    backend,
                    target: target.clone(),
                    cache_kib,
                })
        };
        let read = build(max_connections.max(1), READER_CACHE_KIB)?;
        let write = if backend == Backend::Sqlite {
            // The one writer touches every index of every insert: a larger cache keeps their hot pages.
            build(1, WRITER_CACHE_KIB)?
        } else {
            read.clone()
        };
        let db = Db {
            backend,
            read,
            write,
            counts: None,
            writes: Arc::default(),
        };
        db.migrate()?;
        Ok(db)
    }

    /// The same database with the heat-map counts kept in memory (a server: many reads of the same counts); every
    /// clone shares the one copy.
    pub fn with_counts_in_memory(self) -> Db {
        Db {
            counts: Some(Arc::default()),
            ..self
        }
    }

    /// The copy of the counts in memory, when this handle keeps one.
    pub fn counts_in_memory(&self) -> Option<&CountsInMemory> {
        self.counts.as_deref()
    }

    /// Applies pending migrations of this backend.
    pub fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.writer()?;
        let result = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
            DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        };
        result.map_err(|e| DbError::Migration(e.to_string()))
    }

    /// A connection for reading.
    pub fn reader(&self) -> Result<PooledConn, DbError> {
        Ok(self.read.get()?)
    }

    /// The connection for writing (on SQLite the only one).
    pub fn writer(&self) -> Result<Writer, DbError> {
        Ok(Writer {
            conn: self.write.get()?,
            writes: self.writes.clone(),
        })
    }

    /// Marks the start of a read whose answer may be kept ([`Db::unchanged_since`]).
    pub fn mark(&self) -> ReadMark {
        ReadMark {
            writes: self.writes.load(Ordering::SeqCst),
            at: Instant::now(),
        }
    }

    /// Whether an answer made from a read that began at `mark` still holds: no writing connection of this process
    /// was handed back since (so every write of this process that ended before the read is in it, and none came
    /// after), and it is younger than [`OTHERS_SEEN_WITHIN`] (the bound on seeing other processes' writes).
    pub fn unchanged_since(&self, mark: ReadMark) -> bool {
        self.writes.load(Ordering::SeqCst) == mark.writes && mark.at.elapsed() < OTHERS_SEEN_WITHIN
    }

    /// On SQLite, copies the write-ahead log back into the database every half second from a thread of its own
    /// (a passive checkpoint: it never blocks the writer), so that commits never stall for a checkpoint. The thread
    /// stops when the returned guard is dropped. On PostgreSQL it does nothing.
    pub fn checkpoint_in_background(&self) -> CheckpointGuard {
        let guard = CheckpointGuard(std::sync::Arc::new(()));
        if self.backend != Backend::Sqlite {
            return guard;
        }
        let alive = std::sync::Arc::downgrade(&guard.0);
        let pool = self.read.clone();
        let spawned = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                while alive.upgrade().is_some() {
                    std::thread::sleep(Duration::from_millis(500));
                    let done = pool.get().map_err(DbError::from).and_then(|mut c| {
                        c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
                            .map_err(DbError::from)
                    });
                    if let Err(e) = done {
                        tracing::warn!(error = %e, "background checkpoint failed");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the background checkpoint; commits will checkpoint");
        }
        guard
    }

    /// Whether the database answers.
    pub fn ping(&self) -> bool {
        self.reader()
            .and_then(|mut c| Ok(diesel::sql_query("SELECT 1").execute(&mut *c)?))
            .is_ok()
    }
}

/// Keeps the background checkpoint running while it lives.
#[derive(Debug, Clone)]
pub struct CheckpointGuard(std::sync::Arc<()>);

/// Runs the same diesel expression on the concrete connection inside a [`DbConnection`], for queries the
/// multi-backend cannot express (multi-row INSERT): `with_backend!(conn, c => query.execute(c))`.
#[macro_export]
macro_rules! with_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Pg($c) => $body,
        }
    };
}
