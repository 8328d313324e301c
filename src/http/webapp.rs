//! The browser app: the files under `web/` are compiled into the binary (one file to deploy, no network needed) and
//! served at `/` and `/web/...` with their content types, an `ETag` (304 on `If-None-Match`), gzip made once per
//! file, and a Content-Security-Policy that lets the page load nothing from anywhere but this server.

use crate::error::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// An embedded file: its path under `/web/` (the page itself is `index.html`), bytes and content type.
struct Asset {
    path: &'static str,
    bytes: &'static [u8],
    mime: &'static str,
    /// Served from a path that names a pinned version's files: browsers may keep it for a day without asking.
    vendored: bool,
}

macro_rules! asset {
    ($path:literal, $mime:literal, $vendored:literal) => {
        Asset {
            path: $path,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
            mime: $mime,
            vendored: $vendored,
        }
    };
}

/// How many files the app has.
const COUNT: usize = 12;

static ASSETS: [Asset; COUNT] = [
    asset!("index.html", "text/html; charset=utf-8", false),
    asset!("app.js", "text/javascript; charset=utf-8", false),
    asset!("app.css", "text/css; charset=utf-8", false),
    asset!("map.js", "text/javascript; charset=utf-8", false),
    asset!("leaders.js", "text/javascript; charset=utf-8", false),
    asset!("hotspots.js", "text/javascript; charset=utf-8", false),
    asset!("forewarning.js", "text/javascript; charset=utf-8", false),
    asset!("my.js", "text/javascript; charset=utf-8", false),
    asset!(
        "vendor/maplibre-gl/maplibre-gl.mjs",
        "text/javascript; charset=utf-8",
        true
    ),
    asset!(
        "vendor/maplibre-gl/maplibre-gl-worker.mjs",
        "text/javascript; charset=utf-8",
        true
    ),
    asset!(
        "vendor/maplibre-gl/maplibre-gl.css",
        "text/css; charset=utf-8",
        true
    ),
    asset!(
        "vendor/maplibre-gl/LICENSE.txt",
        "text/plain; charset=utf-8",
        true
    ),
];

/// Per asset, made on first request: the strong ETag and the gzip-compressed bytes.
static PREPARED: [OnceLock<(String, Vec<u8>)>; COUNT] = [const { OnceLock::new() }; COUNT];

/// Only this server: scripts, styles, images (and thumbnails fetched as blobs), workers and requests.
const CSP: &str = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; img-src 'self' blob: data:; \
     style-src 'self' 'unsafe-inline'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

fn prepared(i: usize) -> &'static (String, Vec<u8>) {
    PREPARED[i].get_or_init(|| {
        let a = &ASSETS[i];
        let digest = Sha256::digest(a.bytes);
        let mut hex = String::with_capacity(32);
        for b in &digest[..16] {
            use std::fmt::Write;
            let _ = write!(hex, "{b:02x}");
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let compressed = std::io::Write::write_all(&mut gz, a.bytes)
            .and_then(|()| gz.finish())
            .unwrap_or_default();
        (format!("\"{hex}\""), compressed)
    })
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn serve(req: &HttpRequest, path: &str) -> Result<HttpResponse, ApiError> {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return Err(ApiError::not_found(
            "file_not_found",
            format!("the web app has no file {path}"),
        ));
    };
    let a = &ASSETS[i];
    let (etag, gz) = prepared(i);
    let cache = if a.vendored {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if a.mime.starts_with("text/html") {
        res.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if fresh {
        return Ok(res.finish());
    }
    res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(a.mime)));
    if !gz.is_empty() && accepts_gzip(req) {
        res.insert_header((header::CONTENT_ENCODING, "gzip"));
        return Ok(res.body(gz.as_slice()));
    }
    Ok(res.body(a.bytes))
}

/// `GET /`: the app's page.
pub async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "index.html")
}

/// `GET /web/{file}`: the app's own scripts and styles.
pub async fn file(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&req, &file.into_inner())
}

/// `GET /web/vendor/maplibre-gl/{file}`: MapLibre GL JS as vendored from its npm package, with its licence.
pub async fn maplibre(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&req, &format!("vendor/maplibre-gl/{}", file.into_inner()))
}

/// The app's own files (beside the vendored MapLibre): path, bytes as embedded, bytes gzipped. For the size check.
pub fn own_files() -> Vec<(&'static str, usize, usize)> {
    ASSETS
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.vendored)
        .map(|(i, a)| (a.path, a.bytes.len(), prepared(i).1.len()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_type_and_distinct_path() {
        let mut paths: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len());
        assert!(ASSETS.iter().all(|a| !a.bytes.is_empty()));
        assert!(
            ASSETS
                .iter()
                .filter(|a| a.path.ends_with("js"))
                .all(|a| a.mime == "text/javascript; charset=utf-8")
        );
    }
}
