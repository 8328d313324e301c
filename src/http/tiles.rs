//! `GET /tiles/{layer}/{z}/{x}/{y}.mvt` (Mapbox Vector Tile 2.1, Web Mercator XYZ) and `GET /tiles/{layer}.json`
//! (TileJSON 3.0.0), signed in and scoped to the reader's jurisdiction (see [`crate::service::analytics::tiles`]).
//!
//! The counted layers (districts, streets, communities, cells) take the heat map's filters as query parameters
//! (`from`, `to`, `topic` and `source` and `status` repeatable), read and checked by the heat map's own code, and
//! carry its numbers per feature; without `from` and `to`, the last 30 Beijing days up to today. Buildings take no
//! parameters.
//!
//! Answers: 200 with the tile, `ETag` (a digest of the bytes, counts included), `Cache-Control: private, no-cache`
//! and `Vary: Authorization` (a tile holds one reader's places under a URL that is the same for every reader, so no
//! cache may hand it to the next reader of the same browser without asking; asking again is a cheap 304); 304 when
//! `If-None-Match`
//! names the current `ETag`; 204 when the tile holds none of the reader's features. Bad input is a 4xx with a code:
//! `layer_not_found` (404), `invalid_tile` (400, not a number), `zoom_out_of_band` and `tile_out_of_range` (400),
//! `layer_out_of_scope` (403), `unknown_query_parameter` (400), and the heat map's codes for its filters
//! (`window_reversed`, `window_too_long`, `invalid_date`, `missing_parameter`, `unknown_topic`, `unknown_source`,
//! `unknown_status`, `too_many_topics` (400), `outside_jurisdiction` (403) for a topic outside a department's).

use crate::analytics::tiles::TileLayer;
use crate::analytics::tiles::xyz::TileId;
use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::heatmap::{all, last, pairs};
use crate::http::state::AppState;
use crate::service::analytics::tiles::{self as service, TileFilters};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use std::collections::BTreeMap;

/// The media type of a vector tile.
pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";
/// A tile is kept only by the reader's own browser, and asked again (304 when unchanged) before each use: the same
/// URL holds another reader's places for another token.
pub const CACHE_CONTROL: &str = "private, no-cache";

fn parse_layer(raw: &str) -> Result<TileLayer, ApiError> {
    TileLayer::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = TileLayer::ALL.iter().map(|l| l.name()).collect();
        ApiError::not_found(
            "layer_not_found",
            format!(
                "there is no tile layer {:?}; the layers are {}",
                raw.chars().take(40).collect::<String>(),
                names.join(", ")
            ),
        )
    })
}

fn parse_tile(layer: TileLayer, z: &str, x: &str, y: &str) -> Result<TileId, ApiError> {
    let number = |name: &str, raw: &str| -> Result<u32, ApiError> {
        // At most 10 digits: anything longer is out of every range and need not be parsed.
        raw.parse::<u32>()
            .ok()
            .filter(|_| raw.len() <= 10 && raw.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_tile",
                    format!(
                        "{name} must be a whole number, not {:?}",
                        raw.chars().take(20).collect::<String>()
                    ),
                )
            })
    };
    let (zn, xn, yn) = (number("z", z)?, number("x", x)?, number("y", y)?);
    let z = u8::try_from(zn).unwrap_or(u8::MAX);
    service::check_zoom(layer, z)?;
    TileId::new(z, xn, yn).ok_or_else(|| {
        ApiError::bad_request(
            "tile_out_of_range",
            format!("at zoom {z} x and y run from 0 to {}", TileId::count(z) - 1),
        )
    })
}

/// The filters the counted layers take.
const TILE_PARAMS: [&str; 5] = ["from", "to", "topic", "source", "status"];

/// The counts filters of a tile request (none for the buildings layer, which carries no counts).
fn tile_filters(layer: TileLayer, raw: &str) -> Result<TileFilters, ApiError> {
    if layer.level().is_none() {
        if let Some((name, _)) = pairs(raw, &TILE_PARAMS)?.first() {
            return Err(ApiError::BadValue {
                code: "unknown_query_parameter",
                message: format!(
                    "{:?}: the buildings layer carries households, not counts (counts are kept down to cells), and takes no parameters",
                    name.chars().take(40).collect::<String>()
                ),
                accepted: Vec::new(),
            });
        }
        return Ok(TileFilters::default());
    }
    let p = pairs(raw, &TILE_PARAMS)?;
    Ok(TileFilters {
        from: last(&p, "from"),
        to: last(&p, "to"),
        topics: all(&p, "topic"),
        sources: all(&p, "source"),
        statuses: all(&p, "status"),
    })
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
pub async fn tile(
    state: web::Data<AppState>,
    me: CurrentUser,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let (layer, z, x, y) = path.into_inner();
    let layer = parse_layer(&layer)?;
    let t = parse_tile(layer, &z, &x, &y)?;
    let filters = tile_filters(layer, req.query_string())?;
    let (db, tiles, now) = (state.db.clone(), state.tiles.clone(), state.clock.now());
    let user = me.user;
    // A tile kept since nothing changed is answered here, without a database read or a thread hop.
    let answer = match tiles.kept(&db, &user, layer, t, &filters, now) {
        Some(kept) => kept,
        None => web::block(move || tiles.tile(&db, &user, layer, t, &filters, now)).await??,
    };
    let Some(tile) = answer else {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
            .insert_header((header::VARY, "Authorization"))
            .finish());
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == tile.etag || t.trim() == "*")
        });
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, tile.etag.clone()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::VARY, "Authorization"));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res.content_type(MVT_CONTENT_TYPE).body(tile.bytes))
}

/// A layer of a TileJSON document.
#[derive(Debug, Serialize)]
pub struct VectorLayer {
    /// The layer's name in the tiles.
    pub id: &'static str,
    /// Its fields and their types.
    pub fields: BTreeMap<&'static str, &'static str>,
    /// What it shows.
    pub description: String,
    /// First zoom.
    pub minzoom: u8,
    /// Last zoom.
    pub maxzoom: u8,
}

/// A TileJSON 3.0.0 document.
#[derive(Debug, Serialize)]
pub struct TileJson {
    /// "3.0.0".
    pub tilejson: &'static str,
    /// The layer's name.
    pub name: &'static str,
    /// "xyz".
    pub scheme: &'static str,
    /// The tile URL template.
    pub tiles: Vec<String>,
    /// First zoom.
    pub minzoom: u8,
    /// Last zoom.
    pub maxzoom: u8,
    /// [west, south, east, north] of the reader's places in the layer (WGS-84).
    pub bounds: [f64; 4],
    /// [lon, lat, zoom] to open the map at.
    pub center: [f64; 3],
    /// The one vector layer.
    pub vector_layers: Vec<VectorLayer>,
}

fn description(layer: TileLayer) -> &'static str {
    match layer {
        TileLayer::Districts => "区 districts",
        TileLayer::Streets => "街道/乡镇 streets and townships",
        TileLayer::Communities => "社区/村 communities and villages",
        TileLayer::Cells => "网格 grid cells",
        TileLayer::Buildings => "楼/院 buildings (points) with their households",
    }
}

/// `GET /tiles/{layer}.json`: the counted layers take the tiles' filters and name them in the URL template.
pub async fn tilejson(
    state: web::Data<AppState>,
    me: CurrentUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<web::Json<TileJson>, ApiError> {
    me.require(Permission::ReadCases)?;
    let layer = parse_layer(&path)?;
    let filters = tile_filters(layer, req.query_string())?;
    let given = pairs(req.query_string(), &TILE_PARAMS)?;
    let query = if given.is_empty() {
        String::new()
    } else {
        format!(
            "?{}",
            serde_urlencoded::to_string(&given).unwrap_or_default()
        )
    };
    let (db, tiles, now) = (state.db.clone(), state.tiles.clone(), state.clock.now());
    let user = me.user;
    let summary = web::block(move || {
        service::Tiles::check_filters(&db, &user, layer, &filters, now)?;
        tiles.summary(&db, &user, layer)
    })
    .await??;
    // A reader with no feature in the layer (the layer is in scope, yet empty for them) gets the city's box.
    let bounds = summary.bounds.unwrap_or([115.4, 39.4, 117.6, 41.1]);
    let band = layer.zooms();
    let conn = req.connection_info();
    let base = format!("{}://{}", conn.scheme(), conn.host());
    Ok(web::Json(TileJson {
        tilejson: "3.0.0",
        name: layer.name(),
        scheme: "xyz",
        tiles: vec![format!(
            "{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{query}",
            layer.name()
        )],
        minzoom: *band.start(),
        maxzoom: *band.end(),
        bounds,
        center: [
            (bounds[0] + bounds[2]) / 2.0,
            (bounds[1] + bounds[3]) / 2.0,
            f64::from(*band.start()),
        ],
        vector_layers: std::iter::once(VectorLayer {
            id: layer.name(),
            fields: service::fields(layer).into_iter().collect(),
            description: description(layer).to_owned(),
            minzoom: *band.start(),
            maxzoom: *band.end(),
        })
        .chain(layer.labels_name().map(|id| VectorLayer {
            id,
            fields: service::LABEL_FIELDS.into_iter().collect(),
            description: format!(
                "one label point per place of {}, in the one tile of a zoom that holds it",
                layer.name()
            ),
            minzoom: *band.start(),
            maxzoom: *band.end(),
        }))
        .collect(),
    }))
}
