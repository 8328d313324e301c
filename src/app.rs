//! The application: shared state, route configuration (used by `serve` and by the in-process tests alike) and
//! starting the HTTP server.

use crate::db::Db;
use crate::error::ApiError;
use crate::geo::address::AddressMatcher;
use crate::geo::index::PlaceIndex;
use crate::http::{self, Routes};
use crate::service::intake::Geo;
use crate::service::{geodata, topics};
use actix_web::{App, HttpRequest, HttpServer, dev::Server, middleware, web};
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;

/// The largest JSON body accepted (a batch of 10,000 points is about 600 KiB).
pub const MAX_JSON_BYTES: usize = 4 << 20;

/// What every handler shares: the database and the read-only place index.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The place index, built once at start.
    pub index: Arc<PlaceIndex>,
    /// Place names for tickets that come with address text only.
    pub addresses: Arc<AddressMatcher>,
}

impl AppState {
    /// What intake needs of the geography.
    pub fn geo(&self) -> Geo<'_> {
        Geo {
            index: &self.index,
            addresses: &self.addresses,
        }
    }
}

/// Opens the database, loads the default dataset on first start and builds the index.
pub fn prepare(database_url: &str, pool_size: u32) -> anyhow::Result<web::Data<AppState>> {
    let started = std::time::Instant::now();
    let db = Db::connect(database_url, pool_size).context("opening the database")?;
    if geodata::ensure_loaded(&db).context("loading the default dataset")? {
        tracing::info!("first start: the default Beijing dataset was loaded into the database");
    }
    if topics::ensure_loaded(&db).context("loading the topic taxonomy")? {
        tracing::info!("first start: the built-in topic taxonomy was loaded");
    }
    let index = geodata::load_index(&db).context("building the place index")?;
    let addresses = AddressMatcher::from_index(&index);
    tracing::info!(
        cells = index.cell_count(),
        buildings = index.building_count(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ready"
    );
    Ok(web::Data::new(AppState {
        db,
        index: Arc::new(index),
        addresses: Arc::new(addresses),
    }))
}

fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::TooLarge {
            code: "payload_too_large",
            message: format!(
                "the request body is larger than {} MiB",
                MAX_JSON_BYTES >> 20
            ),
        },
        E::ContentType => ApiError::bad_request(
            "unsupported_content_type",
            "send the body as Content-Type: application/json",
        ),
        E::Deserialize(e) => ApiError::bad_request(
            "invalid_json",
            format!("the body is not the expected JSON: {e}"),
        ),
        other => ApiError::bad_request(
            "invalid_body",
            format!("the body could not be read: {other}"),
        ),
    }
    .into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(
        "invalid_query",
        format!("the query string could not be read: {err}"),
    )
    .into()
}

fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_path", format!("the path could not be read: {err}")).into()
}

async fn no_route(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "route_not_found",
        format!(
            "there is no {} {}; see api-spec/openapi.yaml",
            req.method(),
            req.path()
        ),
    ))
}

/// Registers state, extractor limits, every route and the fallback.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state)
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_JSON_BYTES)
                .error_handler(json_error),
        )
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .default_service(web::to(no_route));
    http::api(&mut Routes::new(Some(cfg)));
}

/// Every (method, path) the API registers.
pub fn route_list() -> Vec<(actix_web::http::Method, &'static str)> {
    let mut r = Routes::new(None);
    http::api(&mut r);
    r.into_list()
}

/// Binds and returns the server (not yet awaited) and the address it listens on (port 0 picks a free one).
pub fn server(
    state: web::Data<AppState>,
    bind: SocketAddr,
    workers: usize,
) -> std::io::Result<(Server, SocketAddr)> {
    let srv = HttpServer::new(move || {
        let state = state.clone();
        App::new()
            .wrap(middleware::Compress::default())
            .wrap(tracing_actix_web::TracingLogger::default())
            .configure(move |cfg| configure(cfg, state))
    })
    .workers(workers.max(1))
    .shutdown_timeout(10)
    .bind(bind)?;
    let addr = srv.addrs().first().copied().unwrap_or(bind);
    Ok((srv.run(), addr))
}
