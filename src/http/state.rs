//! The application state every handler shares (the database, the place and chain indexes, the ticket queue, the
//! clock, photos, ...) and how it is built at start: the database opened, the default dataset and taxonomy loaded on
//! first start, the two indexes built.

use crate::clock::Clock;
use crate::db::{CheckpointGuard, Db};
use crate::geo::address::AddressMatcher;
use crate::geo::index::PlaceIndex;
use crate::http::client_addr::TrustedProxies;
use crate::service::admin::{geodata, topics};
use crate::service::cases::public_status::LookupLimits;
use crate::service::chain::index::SharedChainIndex;
use crate::service::intake::Geo;
use crate::service::intake::ticket_queue::TicketQueue;
use crate::service::sync::photos::Photos;
use actix_web::web;
use anyhow::Context;
use std::sync::Arc;

/// What every handler shares: the database, the read-only place index and the chain index.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The place index, built once at start.
    pub index: Arc<PlaceIndex>,
    /// Place names for tickets that come with address text only.
    pub addresses: Arc<AddressMatcher>,
    /// The responsibility chain in memory, loaded at start and refreshed by the service of every write that changes it.
    pub chain: SharedChainIndex,
    /// Group commit of hotline tickets.
    pub tickets: TicketQueue,
    /// Keeps SQLite's log checkpointed in the background.
    pub checkpoints: CheckpointGuard,
    /// The time workflow steps are taken at and clocks are read against.
    pub clock: Clock,
    /// Photo files and uploads in progress.
    pub photos: Arc<Photos>,
    /// The reverse proxies whose `X-Forwarded-For` names the client (for sign-in throttling); none by default.
    pub trusted_proxies: TrustedProxies,
    /// How many public status lookups each address and ticket number has made (in memory: a restart forgets).
    pub public_lookups: LookupLimits,
    /// Vector-tile layers and the geometry of tiles cut so far (rebuilt after a geodata import).
    pub tiles: Arc<crate::service::analytics::tiles::Tiles>,
    /// Tokens checked lately (a map view's tiles check their token once).
    pub sign_ins: Arc<crate::service::auth::RecentSignIns>,
}

impl AppState {
    /// What intake needs of the geography and the chain.
    pub fn geo(&self) -> Geo<'_> {
        Geo {
            index: &self.index,
            addresses: &self.addresses,
            chain: &self.chain,
        }
    }
}

impl AppState {
    /// The state over a database whose place index is already built: loads the chain index. Photos go to the
    /// default directory for `db` ([`crate::config::photo_dir`]); [`AppState::with_photo_dir`] moves them.
    pub fn new(db: Db, index: Arc<PlaceIndex>) -> anyhow::Result<AppState> {
        let photos = open_photos(&crate::config::photo_dir(None))?;
        let chain = load_chain(&db)?;
        Ok(AppState::assemble(db, index, chain, photos))
    }

    /// The state over its loaded parts: keeps the heat-map counts in memory, starts the ticket queue and the
    /// background checkpoints, everything else at its default.
    fn assemble(
        db: Db,
        index: Arc<PlaceIndex>,
        chain: SharedChainIndex,
        photos: Arc<Photos>,
    ) -> AppState {
        // A server reads the same counts for every heat map and tile: it keeps them in memory.
        let db = db.with_counts_in_memory();
        let addresses = Arc::new(AddressMatcher::from_index(&index));
        let tickets = TicketQueue::start(db.clone());
        let checkpoints = db.checkpoint_in_background();
        AppState {
            db,
            index,
            addresses,
            chain,
            tickets,
            checkpoints,
            clock: Clock::default(),
            photos,
            trusted_proxies: TrustedProxies::default(),
            public_lookups: LookupLimits::default(),
            tiles: Arc::default(),
            sign_ins: Arc::default(),
        }
    }

    /// The same state believing `X-Forwarded-For` from `proxies`.
    pub fn with_trusted_proxies(self, proxies: TrustedProxies) -> AppState {
        AppState {
            trusted_proxies: proxies,
            ..self
        }
    }

    /// The same state with photos kept in `dir`.
    pub fn with_photo_dir(self, dir: &std::path::Path) -> anyhow::Result<AppState> {
        Ok(AppState {
            photos: open_photos(dir)?,
            ..self
        })
    }
}

fn open_photos(dir: &std::path::Path) -> anyhow::Result<Arc<Photos>> {
    let photos = Photos::local(dir)
        .with_context(|| format!("GRIDLINE_PHOTO_DIR: cannot use {}", dir.display()))?;
    Ok(Arc::new(photos))
}

fn load_chain(db: &Db) -> anyhow::Result<SharedChainIndex> {
    let started = std::time::Instant::now();
    let chain = SharedChainIndex::load(db).context("building the chain index")?;
    let (stats, bytes) = {
        let i = chain.read();
        (i.stats(), i.heap_bytes())
    };
    tracing::info!(
        assignments = stats.assignments,
        people = stats.people,
        units = stats.units,
        heap_mib = bytes >> 20,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "chain index built"
    );
    Ok(chain)
}

/// Opens the database, loads the default dataset on first start and builds the place and chain indexes.
pub fn prepare(database_url: &str, pool_size: u32) -> anyhow::Result<web::Data<AppState>> {
    prepare_state(database_url, pool_size).map(web::Data::new)
}

/// [`prepare`], answering the state itself (to be changed further before serving).
pub fn prepare_state(database_url: &str, pool_size: u32) -> anyhow::Result<AppState> {
    let started = std::time::Instant::now();
    let db = Db::connect(database_url, pool_size).context("opening the database")?;
    let photos = open_photos(&crate::config::photo_dir(Some(database_url)))?;
    if geodata::ensure_loaded(&db).context("loading the default dataset")? {
        tracing::info!("first start: the default Beijing dataset was loaded into the database");
    }
    if topics::ensure_loaded(&db).context("loading the topic taxonomy")? {
        tracing::info!("first start: the built-in topic taxonomy was loaded");
    }
    // The two indexes are independent: build them side by side (each takes about half a second).
    let (index, chain) = std::thread::scope(|s| {
        let chain = s.spawn(|| load_chain(&db));
        let index = geodata::load_index(&db).context("building the place index");
        let chain = chain
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("building the chain index panicked")));
        (index, chain)
    });
    let (index, chain) = (index?, chain?);
    let state = AppState::assemble(db, Arc::new(index), chain, photos);
    tracing::info!(
        cells = state.index.cell_count(),
        buildings = state.index.building_count(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ready"
    );
    Ok(state)
}
