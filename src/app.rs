//! The application: route configuration (used by `serve` and by the in-process tests alike) and
//! starting the HTTP server. The state the routes share is `crate::http::state`.

use crate::error::ApiError;
use crate::http::state::AppState;
use crate::http::{self, Routes};
use actix_web::{App, HttpRequest, HttpServer, dev::Server, middleware, web};
use std::net::SocketAddr;

/// The largest JSON body accepted (a batch of 10,000 points is about 600 KiB).
pub const MAX_JSON_BYTES: usize = 4 << 20;

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

fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_path", format!("the path could not be read: {err}")).into()
}

async fn no_route(req: HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    if http::open311::is_open311(req.path()) {
        return http::open311::no_route(&req);
    }
    ApiError::not_found(
        "route_not_found",
        format!(
            "there is no {} {}; see api-spec/openapi.yaml",
            req.method(),
            req.path()
        ),
    )
    .error_response()
}

/// Registers state, extractor limits, every route and the fallback.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state)
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_JSON_BYTES)
                .error_handler(json_error),
        )
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
