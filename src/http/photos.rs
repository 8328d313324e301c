//! Photo evidence over HTTP: a tus-like resumable upload (`POST /api/v1/photo-uploads`, `PATCH` and `HEAD
//! /api/v1/photo-uploads/{id}`), `HEAD /api/v1/photos/{sha256}` (is it stored?), the stored variants
//! (`GET /api/v1/photos/{sha256}/thumb|display|original`) and `GET /api/v1/reports/{id}/photos` (present, missing,
//! doubtful).
//!
//! Pieces are read from the payload stream and bounded here ([`MAX_PIECE`], 413 `piece_too_large` in the common
//! error shape): actix's `PayloadConfig` (256 KiB default) bounds only the `Bytes`/`String` extractors, which this
//! route does not use, so it is deliberately not what limits it. Ingest (hashing, decoding, encoding) is blocking
//! work and runs in `web::block`.

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::state::AppState;
use crate::media::store::Variant;
use crate::service::sync::photos::{self as service, MAX_PIECE, PhotoError, UploadState};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

/// The content type of a piece (tus).
pub const PIECE_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// Body of `POST /api/v1/photo-uploads`.
#[derive(Debug, Deserialize)]
pub struct NewUpload {
    /// SHA-256 of the whole file (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// `image/jpeg` (or `image/png`).
    pub mime: String,
}

/// Where an upload stands.
#[derive(Debug, Serialize)]
pub struct UploadOut {
    /// The upload's id (null when the photo is already stored: nothing to send).
    pub id: Option<String>,
    /// The photo.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Bytes received: the next piece starts here.
    pub offset: u64,
    /// Whether the photo is stored.
    pub complete: bool,
}

impl From<UploadState> for UploadOut {
    fn from(s: UploadState) -> Self {
        UploadOut {
            id: s.id,
            sha256: s.sha256,
            size: s.size,
            offset: s.offset,
            complete: s.complete,
        }
    }
}

fn tus_headers(res: &mut actix_web::HttpResponseBuilder, offset: u64, size: u64) {
    res.insert_header(("Upload-Offset", offset.to_string()))
        .insert_header(("Upload-Length", size.to_string()))
        .insert_header(("Tus-Resumable", "1.0.0"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
}

fn upload_answer(state: UploadState) -> HttpResponse {
    let mut res = if state.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    tus_headers(&mut res, state.offset, state.size);
    if let Some(id) = &state.id {
        res.insert_header((header::LOCATION, format!("/api/v1/photo-uploads/{id}")));
    }
    res.json(UploadOut::from(state))
}

/// `POST /api/v1/photo-uploads`: 201 with a new upload at offset 0, 200 with the user's unfinished upload of the
/// same photo, or 200 `complete` when the photo is already stored and the user may read it; 409
/// `too_many_open_uploads` past the bounds on unfinished uploads per user and per phone.
pub async fn create_upload(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<NewUpload>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let b = body.into_inner();
    let now = state.clock.now();
    let st = state.clone();
    let out = web::block(move || {
        let device = me.device.as_ref().map(|d| d.id.as_str());
        service::start_upload(
            &st.db, &st.photos, &me.user, device, &b.sha256, b.size, &b.mime, now,
        )
    })
    .await??;
    Ok(upload_answer(out))
}

/// `HEAD /api/v1/photo-uploads/{id}`: the offset (`Upload-Offset`) to resume from.
pub async fn upload_offset(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let st = state.clone();
    let out = web::block(move || service::upload_offset(&st.db, &me.user, &id, now)).await??;
    let mut res = HttpResponse::Ok();
    tus_headers(&mut res, out.offset, out.size);
    Ok(res.finish())
}

fn offset_header(req: &HttpRequest) -> Result<u64, ApiError> {
    req.headers()
        .get("Upload-Offset")
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_upload_offset",
                "send the piece's offset in Upload-Offset",
            )
        })?
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_upload_offset",
                "Upload-Offset is a whole number of bytes",
            )
        })
}

fn too_large() -> ApiError {
    ApiError::TooLarge {
        code: "piece_too_large",
        message: format!(
            "a piece carries at most {} MiB: send the file in smaller pieces",
            MAX_PIECE >> 20
        ),
    }
}

/// `PATCH /api/v1/photo-uploads/{id}`: appends a piece at `Upload-Offset` (409 `offset_mismatch` with the current
/// offset otherwise); the last piece stores the photo (200 `complete`) or refuses it (4xx, nothing kept).
pub async fn append(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.eq_ignore_ascii_case(PIECE_CONTENT_TYPE) {
        return Err(ApiError::bad_request(
            "unsupported_content_type",
            format!("send a piece as Content-Type: {PIECE_CONTENT_TYPE}"),
        ));
    }
    let offset = offset_header(&req)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_PIECE) {
        return Err(too_large());
    }
    let mut piece = web::BytesMut::with_capacity(declared.unwrap_or(64 << 10).min(MAX_PIECE));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request("invalid_body", format!("the body could not be read: {e}"))
        })?;
        if piece.len() + chunk.len() > MAX_PIECE {
            return Err(too_large());
        }
        piece.extend_from_slice(&chunk);
    }
    let now = state.clock.now();
    let st = state.clone();
    let id = id.into_inner();
    let out =
        web::block(move || service::append(&st.db, &st.photos, &me.user, &id, offset, &piece, now))
            .await?;
    match out {
        Ok(s) => {
            let mut res = HttpResponse::Ok();
            tus_headers(&mut res, s.offset, s.size);
            Ok(res.json(UploadOut::from(s)))
        }
        Err(PhotoError::OffsetMismatch { current, given }) => {
            let err = ApiError::from(PhotoError::OffsetMismatch { current, given });
            let mut res = err.error_response();
            if let Ok(v) = header::HeaderValue::from_str(&current.to_string()) {
                res.headers_mut()
                    .insert(header::HeaderName::from_static("upload-offset"), v);
            }
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

/// `HEAD /api/v1/photos/{sha256}`: 200 when stored and visible to the user, 404 otherwise (send it).
pub async fn head_photo(
    state: web::Data<AppState>,
    me: CurrentUser,
    sha: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let sha = service::parse_hash(&sha)?;
    let st = state.clone();
    let s = sha.clone();
    if web::block(move || service::is_readable(&st.db, &me.user, &s)).await?? {
        Ok(HttpResponse::Ok()
            .insert_header((header::ETAG, format!("\"{sha}\"")))
            .finish())
    } else {
        Err(PhotoError::PhotoNotFound(sha.to_string()).into())
    }
}

async fn send(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: CurrentUser,
    sha: String,
    variant: Variant,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let etag = format!("\"{}\"", sha.trim().to_ascii_lowercase());
    let st = state.clone();
    let file =
        web::block(move || service::read(&st.db, &st.photos, &me.user, &sha, variant)).await??;
    // Checked after the rights: a 304 must not tell a user without them that the photo exists.
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    // Content addressed: the bytes under a name never change. Private: only signed-in users may see them.
    res.insert_header((
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    ))
    .insert_header((header::ETAG, etag))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if matches {
        return Ok(res.finish());
    }
    res.content_type(file.mime);
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(res.finish());
    }
    Ok(res.body(file.bytes))
}

/// `GET` (or `HEAD`) `/api/v1/photos/{sha256}/thumb`: the thumbnail JPEG (long side ≤ 320), metadata stripped.
pub async fn thumb(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: CurrentUser,
    sha: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    send(req, state, me, sha.into_inner(), Variant::Thumb).await
}

/// `GET` (or `HEAD`) `/api/v1/photos/{sha256}/display`: the display JPEG (long side ≤ 2048), metadata stripped.
pub async fn display(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: CurrentUser,
    sha: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    send(req, state, me, sha.into_inner(), Variant::Display).await
}

/// `GET` (or `HEAD`) `/api/v1/photos/{sha256}/original`: the uploaded bytes with their EXIF, for the roles that
/// may read originals and the uploader (403 `original_forbidden` to others who may read the photo, 404 to the rest).
pub async fn original(
    req: HttpRequest,
    state: web::Data<AppState>,
    me: CurrentUser,
    sha: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    send(req, state, me, sha.into_inner(), Variant::Original).await
}

/// One photo a report names.
#[derive(Debug, Serialize)]
pub struct ReportPhotoOut {
    /// The photo.
    pub sha256: String,
    /// Whether it is stored (false: the phone still has to send it).
    pub present: bool,
    /// MIME type of the original, when present.
    pub mime: Option<String>,
    /// Width as shown, when present.
    pub width: Option<i32>,
    /// Height as shown, when present.
    pub height: Option<i32>,
    /// Position from the photo's EXIF, when it has one and the reader may read the original.
    pub exif_lon: Option<f64>,
    /// Latitude from the photo's EXIF.
    pub exif_lat: Option<f64>,
    /// EXIF time (UTC), when it has one.
    pub exif_taken_at: Option<String>,
    /// Metres between the EXIF position and the report's point.
    pub distance_m: Option<f64>,
    /// Hours between the EXIF time and the report's time.
    pub hours_apart: Option<f64>,
    /// Whether the photo's own EXIF disagrees with the report (a flag, not a refusal).
    pub doubtful: bool,
    /// Why: `exif_position_far`, `exif_time_far`, `exif_unreadable`.
    pub reasons: Vec<String>,
}

/// The thresholds used.
#[derive(Debug, Serialize)]
pub struct EvidencePolicyOut {
    /// Policy `photos.doubtful_distance_m`.
    pub doubtful_distance_m: f64,
    /// Policy `photos.doubtful_hours`.
    pub doubtful_hours: f64,
}

/// Answer of `GET /api/v1/reports/{id}/photos`.
#[derive(Debug, Serialize)]
pub struct ReportPhotosOut {
    /// The report.
    pub report_id: String,
    /// Every photo it names, in its order.
    pub photos: Vec<ReportPhotoOut>,
    /// The photos still to be sent.
    pub missing: Vec<String>,
    /// The thresholds used.
    pub policy: EvidencePolicyOut,
}

/// `GET /api/v1/reports/{id}/photos`
pub async fn report_photos(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
) -> Result<web::Json<ReportPhotosOut>, ApiError> {
    let st = state.clone();
    let r = web::block(move || service::report_photos(&st.db, &me.user, &id)).await??;
    let photos: Vec<ReportPhotoOut> = r
        .photos
        .into_iter()
        .map(|p| ReportPhotoOut {
            present: p.stored.is_some(),
            mime: p.stored.as_ref().map(|s| s.mime.clone()),
            width: p.stored.as_ref().map(|s| s.width),
            height: p.stored.as_ref().map(|s| s.height),
            exif_lon: p.stored.as_ref().and_then(|s| s.exif_lon),
            exif_lat: p.stored.as_ref().and_then(|s| s.exif_lat),
            exif_taken_at: p.stored.as_ref().and_then(|s| s.exif_taken_at).map(|t| {
                t.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            distance_m: p.distance_m.map(|d| (d * 10.0).round() / 10.0),
            hours_apart: p.hours_apart.map(|h| (h * 100.0).round() / 100.0),
            doubtful: !p.doubts.is_empty(),
            reasons: p.doubts.iter().map(|d| (*d).to_owned()).collect(),
            sha256: p.sha256,
        })
        .collect();
    let missing = photos
        .iter()
        .filter(|p| !p.present)
        .map(|p| p.sha256.clone())
        .collect();
    Ok(web::Json(ReportPhotosOut {
        report_id: r.report_id,
        photos,
        missing,
        policy: EvidencePolicyOut {
            doubtful_distance_m: r.policy.distance_m,
            doubtful_hours: r.policy.hours,
        },
    }))
}
