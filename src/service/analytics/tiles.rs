//! Vector tiles of the place layers for one reader, from the in-memory tile index (no PostGIS needed).
//!
//! What is cached in process and when it is dropped: the layers (outlines read from the database once, cut into
//! shared arcs, simplified per zoom at first use) and the geometry of each tile cut so far, at most
//! [`MAX_CACHED_TILES`] tiles (then the tile cache starts over). Both belong to one *generation*, named by the
//! geodata metadata (`geodata_meta`, which every `geodata import` rewrites): each request reads that fingerprint
//! (one small query) and a changed fingerprint starts a new, empty generation. Shapes change only on an import;
//! what depends on the reader (which features they may see) is applied to the cached geometry at each request.
//!
//! Scope, as for places: a tile holds only the features inside the reader's jurisdiction
//! ([`policy::can_see_place`]); a tile with none of them is empty (the route answers 204). A layer whose places
//! are all larger than the reader's jurisdiction (the districts layer for a street's secretary) is refused with
//! [`TileError::LayerOutOfScope`], so a client learns which layers it may draw rather than drawing blank tiles.
//!
//! Labels: beside each polygon layer a tile holds `{layer}_labels`, the label point (code and name) of each of the
//! reader's places whose label lies in that tile ([`LayerGeometry::labels`]), so that a map names each place once.
//!
//! Counts: each feature of the districts, streets, communities and cells layers carries the heat map's numbers of
//! its place ([`heatmap::PlaceNumbers`], same names, same filters checked by the same code, the reader's topics
//! bounding them as in the heat map); a number the heat map gives as null is left out of the feature. They are summed
//! for the tile's places from the counts the server keeps in memory (`counts::sums`). Without a window, the last
//! [`DEFAULT_WINDOW_DAYS`] Beijing days up to today. Buildings carry their households only (counts are kept down to
//! cells). The tile's ETag is a digest of its bytes, so it changes when a count in it changes.
//!
//! Finished tiles are kept too, per tile, reader (role, places, topics) and filters as written (with the day, which
//! ends a default window), for one version of the counts (`count_cursor.version`, read by [`Tiles::tile`] after the
//! counts caught up): a tile asked again before any count changed is answered with the same bytes; the first
//! request after a change starts the cache over. At most [`MAX_ENCODED_BYTES`] bytes (then it starts over).
//! [`Tiles::kept`] answers a kept tile without reading the database at all while the latest request that read the
//! counts' version still holds ([`Db::unchanged_since`]): this process wrote nothing since (every change of counts,
//! geodata, taxonomy or accounts made through this server is a write, seen at the next tile) and it is younger than
//! [`crate::db::OTHERS_SEEN_WITHIN`] (a change by another process — an import command, a second server — shows
//! within that).

use crate::analytics::counts::{Tally, Window, local_day};
use crate::analytics::tiles::encode::{self, Feature};
use crate::analytics::tiles::layer::LayerGeometry;
use crate::analytics::tiles::xyz::TileId;
use crate::analytics::tiles::{TileLayer, xyz};
use crate::db::{Db, DbConnection, DbError, ReadMark};
use crate::domain::access as policy;
use crate::domain::access::Principal;
use crate::error::{ErrorKind, ServiceError};
use crate::geo::layers;
use crate::geo::place::CITY_CODE;
use crate::service::analytics::heatmap::{
    self, Filters, HeatError, NUMBER_FIELDS, PlaceNumbers, Scope,
};
use crate::store::places as store;
use chrono::{Duration, NaiveDateTime};
use geo::Geometry;
use geozero::mvt::TileValue;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// How many tiles' geometry one generation keeps (a z14 cell tile holds about 100 outlines, some 20 KB).
pub const MAX_CACHED_TILES: usize = 20_000;

/// How many bytes of finished tiles one version of the counts keeps (then the cache of finished tiles starts over).
pub const MAX_ENCODED_BYTES: usize = 64 << 20;

/// The window of a tile's counts when the request names none: this many Beijing days, up to today.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;

/// Errors of serving a tile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The zoom lies outside the layer's band.
    #[error(
        "the {layer} layer is served at zooms {min} to {max}; maps draw deeper zooms from zoom {max}"
    )]
    ZoomOutOfBand {
        /// The layer.
        layer: &'static str,
        /// Its first zoom.
        min: u8,
        /// Its last zoom.
        max: u8,
    },
    /// No place of the layer lies inside the reader's jurisdiction.
    #[error(
        "no place of the {layer} layer lies inside your jurisdiction; draw the layers of your own places and below ({allowed})"
    )]
    LayerOutOfScope {
        /// The layer.
        layer: &'static str,
        /// The layers the reader may read.
        allowed: String,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Stored geometry could not be read.
    #[error("stored geometry of {code} is unreadable: {reason}")]
    StoredGeometry {
        /// The place.
        code: String,
        /// Why.
        reason: String,
    },
    /// The tile could not be encoded.
    #[error(transparent)]
    Encode(#[from] encode::EncodeError),
    /// A filter of the counts was refused (the heat map's codes).
    #[error(transparent)]
    Filter(#[from] HeatError),
}

crate::error::from_query_error!(TileError);

impl ServiceError for TileError {
    fn kind(&self) -> ErrorKind {
        match self {
            TileError::ZoomOutOfBand { .. } => ErrorKind::Invalid("zoom_out_of_band"),
            TileError::LayerOutOfScope { .. } => ErrorKind::Forbidden("layer_out_of_scope"),
            TileError::Filter(e) => e.kind(),
            TileError::Db(_) | TileError::StoredGeometry { .. } | TileError::Encode(_) => {
                ErrorKind::Internal
            }
        }
    }

    fn details(&self) -> crate::error::Details {
        match self {
            TileError::Filter(e) => e.details(),
            _ => crate::error::Details::None,
        }
    }
}

/// What a feature says besides its shape.
#[derive(Debug)]
struct Info {
    code: String,
    name: String,
    parent: Option<String>,
    /// Households in the geodata (of the building, or of every building inside the place); `None`: none.
    households: Option<i64>,
}

/// The counts filters of a tile request as the client wrote them (the heat map's: `from`, `to`, `topic`,
/// `source`, `status`).
#[derive(Debug, Clone, Default)]
pub struct TileFilters {
    /// First day, `YYYY-MM-DD` (Beijing).
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
    /// Topic codes (repeatable).
    pub topics: Vec<String>,
    /// Sources (repeatable).
    pub sources: Vec<String>,
    /// Status classes (repeatable).
    pub statuses: Vec<String>,
}

impl TileFilters {
    /// The window and filters checked as the heat map checks them, for a reader whose clock says `now`.
    fn check(&self, db: &Db, scope: &Scope, now: NaiveDateTime) -> Result<Filters, HeatError> {
        let today = local_day(now);
        let default = Window {
            from: today - Duration::days(DEFAULT_WINDOW_DAYS - 1),
            to: today,
        };
        let window = heatmap::window(self.from.as_deref(), self.to.as_deref(), Some(default))?;
        heatmap::filters(
            db,
            window,
            &self.topics,
            &self.sources,
            &self.statuses,
            scope,
        )
    }
}

/// One layer held in memory.
#[derive(Debug)]
struct Layer {
    infos: Vec<Info>,
    geometry: LayerGeometry,
}

/// What one tile holds for every reader: the features' pieces cut to it and the label points that lie in it.
#[derive(Debug)]
struct Cut {
    shapes: Vec<(u32, Geometry<f64>)>,
    labels: Vec<(u32, Geometry<f64>)>,
}

type TileGeometry = Arc<Cut>;

impl Layer {
    /// The pieces (of a [`Cut`]) whose places `user` may see, with their facts.
    fn visible_to<'a>(
        &'a self,
        user: &Principal,
        pieces: &'a [(u32, Geometry<f64>)],
    ) -> Vec<(&'a Info, &'a Geometry<f64>)> {
        let all = city_wide(user);
        pieces
            .iter()
            .filter_map(|(f, g)| {
                let info = self.infos.get(*f as usize)?;
                (all || policy::can_see_place(user, &info.code)).then_some((info, g))
            })
            .collect()
    }
}

/// The layers and tiles built from one state of the geodata.
#[derive(Debug, Default)]
struct Generation {
    fingerprint: String,
    layers: [Mutex<Option<Arc<Layer>>>; 5],
    tiles: Mutex<HashMap<(TileLayer, TileId), TileGeometry>>,
    encoded: Mutex<Encoded>,
}

/// Finished tiles of one version of the counts, by tile, reader and filters (`None`: the tile is empty for them),
/// and the latest request that read that version ([`Tiles::kept`] trusts the tiles while it holds).
#[derive(Debug, Default)]
struct Encoded {
    version: i64,
    bytes: usize,
    tiles: HashMap<String, Option<TileBytes>>,
    /// The numbers of places summed so far, by level and filters, then place code.
    numbers: HashMap<String, HashMap<String, (Tally, Tally)>>,
    read: Option<ReadMark>,
}

impl Encoded {
    /// Drops the finished tiles and the numbers summed for them, keeping the version and the read that found it.
    fn forget(&mut self) {
        self.tiles.clear();
        self.numbers.clear();
        self.bytes = 0;
    }

    /// Starts over at `version` when it holds another version's tiles or has reached its bound.
    fn at(&mut self, version: i64) {
        if self.version != version || self.bytes >= MAX_ENCODED_BYTES {
            *self = Encoded {
                version,
                ..Encoded::default()
            };
        }
    }

    /// Notes that a request that began at `mark` found the counts at this version.
    fn seen(&mut self, mark: ReadMark) {
        if self.read.is_none_or(|r| mark.later_than(&r)) {
            self.read = Some(mark);
        }
    }
}

/// The in-process tile index and cache shared by every request.
#[derive(Debug, Default)]
pub struct Tiles {
    current: Mutex<Arc<Generation>>,
}

/// A tile for a reader.
#[derive(Debug, Clone)]
pub struct TileBytes {
    /// The MVT bytes (shared: a kept tile is not copied for each request).
    pub bytes: bytes::Bytes,
    /// A strong validator of the bytes (quoted, as the `ETag` header carries it).
    pub etag: String,
}

/// The TileJSON facts of a layer for a reader.
#[derive(Debug, Clone)]
pub struct LayerSummary {
    /// [west, south, east, north] of the reader's features (WGS-84); `None` when they have none.
    pub bounds: Option<[f64; 4]>,
    /// How many features the reader sees.
    pub features: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the reader sees every place.
fn city_wide(user: &Principal) -> bool {
    policy::can_see_place(user, CITY_CODE)
}

/// Whether some place of `layer` lies inside the reader's jurisdiction.
pub fn layer_in_scope(user: &Principal, layer: TileLayer) -> bool {
    city_wide(user) || user.places.iter().any(|p| p.len() <= layer.code_len())
}

fn check_scope(user: &Principal, layer: TileLayer) -> Result<(), TileError> {
    if layer_in_scope(user, layer) {
        return Ok(());
    }
    let allowed: Vec<&str> = TileLayer::ALL
        .into_iter()
        .filter(|l| layer_in_scope(user, *l))
        .map(TileLayer::name)
        .collect();
    Err(TileError::LayerOutOfScope {
        layer: layer.name(),
        allowed: if allowed.is_empty() {
            "none: your account has no places".into()
        } else {
            allowed.join(", ")
        },
    })
}

/// The zoom band check.
pub fn check_zoom(layer: TileLayer, z: u8) -> Result<(), TileError> {
    let band = layer.zooms();
    if band.contains(&z) {
        return Ok(());
    }
    Err(TileError::ZoomOutOfBand {
        layer: layer.name(),
        min: *band.start(),
        max: *band.end(),
    })
}

fn load_layer(conn: &mut DbConnection, layer: TileLayer) -> Result<Layer, TileError> {
    let started = std::time::Instant::now();
    let built = match layer.level() {
        Some(level) => {
            let rows = store::all_of_levels(conn, &[level.as_str()])?;
            // Households per place, as the heat map sums them: every building whose code the place's prefixes.
            let mut households: HashMap<String, i64> = HashMap::new();
            for b in store::all_buildings(conn)? {
                if let Some(prefix) = b.code.get(..level.code_len()) {
                    *households.entry(prefix.to_owned()).or_default() += i64::from(b.households);
                }
            }
            let mut infos = Vec::with_capacity(rows.len());
            let mut shapes = Vec::with_capacity(rows.len());
            for row in rows {
                let g = layers::multipolygon_from_json(&row.geometry).map_err(|reason| {
                    TileError::StoredGeometry {
                        code: row.code.clone(),
                        reason,
                    }
                })?;
                shapes.push(g);
                infos.push(Info {
                    households: households.get(&row.code).copied().filter(|h| *h > 0),
                    code: row.code,
                    name: row.name,
                    parent: row.parent_code,
                });
            }
            Layer {
                infos,
                geometry: LayerGeometry::polygons(&shapes),
            }
        }
        None => {
            let rows = store::all_buildings(conn)?;
            let points: Vec<(f64, f64)> = rows.iter().map(|b| (b.lon, b.lat)).collect();
            Layer {
                infos: rows
                    .into_iter()
                    .map(|b| Info {
                        code: b.code,
                        name: b.name,
                        parent: Some(b.cell_code),
                        households: Some(i64::from(b.households)),
                    })
                    .collect(),
                geometry: LayerGeometry::points(&points),
            }
        }
    };
    tracing::info!(
        layer = layer.name(),
        features = built.infos.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "tile layer built"
    );
    Ok(built)
}

impl Tiles {
    /// The generation for the geodata as stored now (a new, empty one when an import changed it).
    fn generation(&self, conn: &mut DbConnection) -> Result<Arc<Generation>, TileError> {
        let fingerprint = store::meta_fingerprint(conn)?;
        let mut current = lock(&self.current);
        if current.fingerprint != fingerprint {
            *current = Arc::new(Generation {
                fingerprint,
                ..Generation::default()
            });
        }
        Ok(current.clone())
    }

    fn layer(generation: &Generation, db: &Db, layer: TileLayer) -> Result<Arc<Layer>, TileError> {
        let slot = &generation.layers[layer as usize];
        // Held while building, so that concurrent first requests build the layer once.
        let mut guard = lock(slot);
        if let Some(l) = guard.as_ref() {
            return Ok(l.clone());
        }
        let built = Arc::new(load_layer(&mut *db.reader()?, layer)?);
        *guard = Some(built.clone());
        Ok(built)
    }

    /// Builds a layer and the simplified polygons of every zoom of its band ahead of the first tile (benchmarks
    /// and warm-up at start).
    pub fn warm(&self, db: &Db, layer: TileLayer) -> Result<(), TileError> {
        let generation = self.generation(&mut *db.reader()?)?;
        let l = Tiles::layer(&generation, db, layer)?;
        for z in layer.zooms() {
            l.geometry.warm(z);
        }
        Ok(())
    }

    /// Forgets the geometry of every tile cut so far and the finished tiles (the layers stay, and what the last
    /// read of the counts' version found): for benchmarks of uncached tiles.
    pub fn forget_tiles(&self) {
        let current = lock(&self.current).clone();
        lock(&current.tiles).clear();
        lock(&current.encoded).forget();
    }

    /// Forgets the finished tiles (the geometry of the tiles cut so far stays): for benchmarks of a tile whose
    /// geometry is cached and whose counts are summed again.
    pub fn forget_finished(&self) {
        let current = lock(&self.current).clone();
        lock(&current.encoded).forget();
    }

    /// Tile `t` of `layer` for `user`, with the counts under `filters` (the clock says `now`): `None` when it holds
    /// none of their features.
    pub fn tile(
        &self,
        db: &Db,
        user: &Principal,
        layer: TileLayer,
        t: TileId,
        filters: &TileFilters,
        now: NaiveDateTime,
    ) -> Result<Option<TileBytes>, TileError> {
        check_zoom(layer, t.z())?;
        check_scope(user, layer)?;
        let key = key(layer, t, user, filters, now);
        // The counts' version and the geodata's generation: as the latest request read them while that holds
        // (`read` stays `None`: this request read nothing new), else read after the counts caught up.
        let (generation, version, read) = match self.known(db) {
            Some((generation, version)) => (generation, version, None),
            None => {
                let mark = db.mark();
                crate::service::analytics::counts::current(db, now)?;
                let mut conn = db.reader()?;
                let version = crate::store::counts::version(&mut conn)?;
                (self.generation(&mut conn)?, version, Some(mark))
            }
        };
        let scope = Scope::of(user);
        let filters = match layer.level() {
            Some(_) => Some(filters.check(db, &scope, now)?),
            None => None,
        };
        {
            let mut encoded = lock(&generation.encoded);
            if encoded.version == version
                && let Some(done) = encoded.tiles.get(&key).cloned()
            {
                if let Some(mark) = read {
                    encoded.seen(mark);
                }
                return Ok(done);
            }
        }
        let done = encode_tile(
            &generation,
            version,
            db,
            user,
            layer,
            t,
            filters.as_ref(),
            &scope,
            now,
        )?;
        let mut encoded = lock(&generation.encoded);
        encoded.at(version);
        encoded.bytes += done.as_ref().map_or(0, |d| d.bytes.len()) + key.len();
        encoded.tiles.insert(key, done.clone());
        if let Some(mark) = read {
            encoded.seen(mark);
        }
        Ok(done)
    }

    /// The current generation and the counts' version the latest request read, while what it read still holds
    /// ([`Db::unchanged_since`]).
    fn known(&self, db: &Db) -> Option<(Arc<Generation>, i64)> {
        let generation = lock(&self.current).clone();
        let version = {
            let encoded = lock(&generation.encoded);
            db.unchanged_since(encoded.read?)
                .then_some(encoded.version)?
        };
        Some((generation, version))
    }

    /// Tile `t` as kept, without reading the database, when nothing it depends on can have changed since the
    /// latest request that read the counts ([`Db::unchanged_since`]: no write of this process since, and not long
    /// ago); `None`: ask [`Tiles::tile`]. Only tiles that request made (or found) for the same reader and filters
    /// are kept, so whatever it refused is refused again there.
    pub fn kept(
        &self,
        db: &Db,
        user: &Principal,
        layer: TileLayer,
        t: TileId,
        filters: &TileFilters,
        now: NaiveDateTime,
    ) -> Option<Option<TileBytes>> {
        let generation = lock(&self.current).clone();
        let encoded = lock(&generation.encoded);
        if !db.unchanged_since(encoded.read?) {
            return None;
        }
        encoded
            .tiles
            .get(&key(layer, t, user, filters, now))
            .cloned()
    }

    /// Checks the counts filters of `layer` for `user` as a tile request checks them (a TileJSON document names
    /// them in its URL template, so a map learns of a bad filter once, not at every tile).
    pub fn check_filters(
        db: &Db,
        user: &Principal,
        layer: TileLayer,
        filters: &TileFilters,
        now: NaiveDateTime,
    ) -> Result<(), TileError> {
        if layer.level().is_some() {
            filters.check(db, &Scope::of(user), now)?;
        }
        Ok(())
    }

    /// The bounds and feature count of `layer` as `user` sees it (for TileJSON).
    pub fn summary(
        &self,
        db: &Db,
        user: &Principal,
        layer: TileLayer,
    ) -> Result<LayerSummary, TileError> {
        check_scope(user, layer)?;
        let generation = self.generation(&mut *db.reader()?)?;
        let data = Tiles::layer(&generation, db, layer)?;
        let all = city_wide(user);
        let mut bounds: Option<[f64; 4]> = None;
        let mut features = 0;
        for (k, info) in data.infos.iter().enumerate() {
            if !(all || policy::can_see_place(user, &info.code)) {
                continue;
            }
            features += 1;
            if let Some(b) = data.geometry.bounds_lonlat(k) {
                let acc = bounds.get_or_insert(b);
                *acc = [
                    acc[0].min(b[0]),
                    acc[1].min(b[1]),
                    acc[2].max(b[2]),
                    acc[3].max(b[3]),
                ];
            }
        }
        Ok(LayerSummary { bounds, features })
    }
}

/// The properties of a label point, with their TileJSON types.
pub const LABEL_FIELDS: [(&str, &str); 2] = [("code", "String"), ("name", "String")];

/// What a finished tile is kept under: the tile, who reads it (role, places and topics: what they may see and the
/// topics that bound their numbers), the filters as the request wrote them and the Beijing day (a window left out ends today; the filters
/// are checked before a tile is kept, and checked filters depend only on these).
fn key(
    layer: TileLayer,
    t: TileId,
    user: &Principal,
    filters: &TileFilters,
    now: NaiveDateTime,
) -> String {
    format!(
        "{}/{}/{}/{}|{}|{:?}|{:?}|{:?}|{}",
        layer.name(),
        t.z(),
        t.x(),
        t.y(),
        user.role,
        user.places,
        user.topics,
        filters,
        local_day(now)
    )
}

/// Cuts (or takes from the geometry cache), fills and encodes tile `t` of `layer` for `user`.
#[expect(
    clippy::too_many_arguments,
    reason = "the request's parts, already checked by the caller"
)]
fn encode_tile(
    generation: &Generation,
    version: i64,
    db: &Db,
    user: &Principal,
    layer: TileLayer,
    t: TileId,
    filters: Option<&Filters>,
    scope: &Scope,
    now: NaiveDateTime,
) -> Result<Option<TileBytes>, TileError> {
    let data = Tiles::layer(generation, db, layer)?;
    let cached = lock(&generation.tiles).get(&(layer, t)).cloned();
    let geometry = match cached {
        Some(g) => g,
        None => {
            let g: TileGeometry = Arc::new(Cut {
                shapes: data.geometry.tile(t),
                labels: data
                    .geometry
                    .labels(t)
                    .into_iter()
                    .map(|(f, p)| (f, Geometry::Point(p)))
                    .collect(),
            });
            let mut tiles = lock(&generation.tiles);
            if tiles.len() >= MAX_CACHED_TILES {
                tiles.clear();
            }
            tiles.insert((layer, t), g.clone());
            g
        }
    };
    let visible = data.visible_to(user, &geometry.shapes);
    if visible.is_empty() {
        return Ok(None);
    }
    let counts = match (layer.level(), filters) {
        (Some(level), Some(filters)) => {
            let codes: Vec<&str> = visible.iter().map(|(i, _)| i.code.as_str()).collect();
            Some(numbers(
                generation, version, db, level, filters, scope, &codes, now,
            )?)
        }
        _ => None,
    };
    let features: Vec<Feature<'_>> = visible
        .into_iter()
        .enumerate()
        .map(|(k, (info, g))| {
            let numbers = counts.as_ref().map(|c| {
                let (now, before) = c.get(k).copied().unwrap_or_default();
                PlaceNumbers::new(now, before, info.households)
            });
            feature(info, numbers, g)
        })
        .collect();
    let labels: Vec<Feature<'_>> = data
        .visible_to(user, &geometry.labels)
        .into_iter()
        .map(|(info, g)| label(info, g))
        .collect();
    let mut layers = vec![(layer.name(), features.as_slice())];
    layers.extend(layer.labels_name().map(|name| (name, labels.as_slice())));
    let bytes = encode::encode(&layers)?;
    let digest = Sha256::digest(&bytes);
    let etag = format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Ok(Some(TileBytes {
        bytes: bytes.into(),
        etag,
    }))
}

/// The numbers of the places `codes` of `level` under `filters`, in that order: those already summed for the
/// counts' `version` and the same filters are taken from beside the finished tiles, the others are
/// summed (in one pass over the copy in memory) and kept there. A map view's tiles, and the tiles of other zooms over
/// the same places, sum each place once; a tile never sums more than its own places.
#[expect(
    clippy::too_many_arguments,
    reason = "the tile request's parts, already checked by the caller"
)]
fn numbers(
    generation: &Generation,
    version: i64,
    db: &Db,
    level: crate::geo::place::Level,
    filters: &Filters,
    scope: &Scope,
    codes: &[&str],
    now: NaiveDateTime,
) -> Result<Vec<(Tally, Tally)>, TileError> {
    // A place's numbers depend on the filters alone (the reader's topics bound them there), not on who asks.
    let key = format!("{level:?}|{filters:?}");
    let mut out = vec![(Tally::default(), Tally::default()); codes.len()];
    let mut missing: Vec<usize> = Vec::new();
    {
        let encoded = lock(&generation.encoded);
        let kept = encoded
            .numbers
            .get(&key)
            .filter(|_| encoded.version == version);
        for (k, code) in codes.iter().enumerate() {
            match kept.and_then(|n| n.get(*code)) {
                Some(v) => out[k] = *v,
                None => missing.push(k),
            }
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let summed = heatmap::counts_by_place(
        db,
        level,
        filters,
        scope,
        Some(missing.iter().map(|k| codes[*k].to_owned()).collect()),
        Some(version),
        now,
    )?;
    let mut encoded = lock(&generation.encoded);
    encoded.at(version);
    let kept = encoded.numbers.entry(key).or_default();
    let before = kept.len();
    for k in missing {
        let v = summed.get(codes[k]).copied().unwrap_or_default();
        out[k] = v;
        kept.insert(codes[k].to_owned(), v);
    }
    // About a hundred bytes a place (its code, two tallies, the map's slot).
    let added = kept.len() - before;
    encoded.bytes += added * 100;
    Ok(out)
}

/// A place's label point: its code ([`LABEL_FIELDS`]) and name; the id is the code.
fn label<'a>(info: &Info, geometry: &'a Geometry<f64>) -> Feature<'a> {
    Feature {
        id: info.code.parse().unwrap_or(0),
        geometry,
        properties: vec![
            ("code", TileValue::Str(info.code.clone())),
            ("name", TileValue::Str(info.name.clone())),
        ],
    }
}

/// A feature with its place's facts (those of its label, its parent, households) and, on the counted layers, its
/// numbers (a number that is null in the heat map is left out: MVT has no null).
fn feature<'a>(
    info: &Info,
    numbers: Option<PlaceNumbers>,
    geometry: &'a Geometry<f64>,
) -> Feature<'a> {
    let Feature {
        id, mut properties, ..
    } = label(info, geometry);
    if let Some(p) = &info.parent {
        properties.push(("parent", TileValue::Str(p.clone())));
    }
    match numbers {
        Some(n) => {
            let ints = [
                ("tickets", Some(n.tickets)),
                ("cases", Some(n.cases)),
                ("households", n.households),
                ("previous_tickets", Some(n.previous_tickets)),
                ("previous_cases", Some(n.previous_cases)),
            ];
            let reals = [
                ("tickets_per_1000_households", n.tickets_per_1000_households),
                ("cases_per_1000_households", n.cases_per_1000_households),
                ("tickets_change_pct", n.tickets_change_pct),
                ("cases_change_pct", n.cases_change_pct),
            ];
            properties.extend(
                ints.into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, TileValue::Int(v)))),
            );
            properties.extend(
                reals
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, TileValue::Double(v)))),
            );
        }
        None => {
            if let Some(h) = info.households {
                properties.push(("households", TileValue::Int(h)));
            }
        }
    }
    Feature {
        id,
        geometry,
        properties,
    }
}

/// The fields each layer's features carry, with their TileJSON types (the counted layers: the heat map's numbers).
pub fn fields(layer: TileLayer) -> Vec<(&'static str, &'static str)> {
    let mut f = LABEL_FIELDS.to_vec();
    f.push(("parent", "String"));
    if layer.level().is_some() {
        f.extend(NUMBER_FIELDS);
    } else {
        f.push(("households", "Number"));
    }
    f
}

/// The tiles of `layer`'s zoom band that cover a lon/lat box (for checks over the whole city).
pub fn covering_tiles(layer: TileLayer, bbox: [f64; 4]) -> Vec<TileId> {
    let mut out = Vec::new();
    for z in layer.zooms() {
        let (xs, ys) = xyz::covering(z, bbox);
        for x in xs {
            for y in ys.clone() {
                out.extend(TileId::new(z, x, y));
            }
        }
    }
    out
}
