//! Stored photos (`photos`) and uploads in progress (`photo_uploads`). The bytes are in the photo store; these rows
//! say what is there and who sent it.

use crate::db::DbConnection;
use crate::db::schema::{photo_uploads, photos};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub struct PhotoRow {
    /// SHA-256 of the original's bytes (hex).
    pub sha256: String,
    /// Bytes of the original.
    pub size: i64,
    /// `image/jpeg` or `image/png`.
    pub mime: String,
    /// Width as shown (EXIF orientation applied).
    pub width: i32,
    /// Height as shown.
    pub height: i32,
    /// Longitude from the photo's EXIF (WGS-84).
    pub exif_lon: Option<f64>,
    /// Latitude from the photo's EXIF.
    pub exif_lat: Option<f64>,
    /// EXIF DateTimeOriginal in UTC.
    pub exif_taken_at: Option<NaiveDateTime>,
    /// The user who uploaded it first.
    pub uploaded_by: String,
    /// When it was stored.
    pub created_at: NaiveDateTime,
}

/// An upload in progress.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photo_uploads)]
pub struct UploadRow {
    /// Id (`upl_…`).
    pub id: String,
    /// The SHA-256 the client declared.
    pub sha256: String,
    /// The size the client declared.
    pub size: i64,
    /// The MIME type the client declared.
    pub mime: String,
    /// Bytes received and on disk (the offset the next piece must start at).
    pub received: i64,
    /// The user uploading.
    pub created_by: String,
    /// When it was started.
    pub created_at: NaiveDateTime,
    /// When a piece last arrived.
    pub updated_at: NaiveDateTime,
    /// When it is given up if not finished.
    pub expires_at: NaiveDateTime,
}

/// One photo.
pub fn photo(conn: &mut DbConnection, sha256: &str) -> QueryResult<Option<PhotoRow>> {
    photos::table
        .find(sha256)
        .select(PhotoRow::as_select())
        .first(conn)
        .optional()
}

/// The stored photos among `shas`.
pub fn photos_among(conn: &mut DbConnection, shas: &[String]) -> QueryResult<Vec<PhotoRow>> {
    photos::table
        .filter(photos::sha256.eq_any(shas))
        .select(PhotoRow::as_select())
        .load(conn)
}

/// Inserts a photo unless one with its hash is stored (same hash, same bytes); whether it was inserted.
pub fn insert_photo(conn: &mut DbConnection, row: &PhotoRow) -> QueryResult<bool> {
    if photo(conn, &row.sha256)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(photos::table)
        .values(row)
        .execute(conn)?;
    Ok(true)
}

/// Inserts an upload.
pub fn insert_upload(conn: &mut DbConnection, row: &UploadRow) -> QueryResult<()> {
    diesel::insert_into(photo_uploads::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// One upload.
pub fn upload(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UploadRow>> {
    photo_uploads::table
        .find(id)
        .select(UploadRow::as_select())
        .first(conn)
        .optional()
}

/// The unexpired upload of `sha256` by `user`, if any.
pub fn open_upload_of(
    conn: &mut DbConnection,
    sha256: &str,
    user: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<UploadRow>> {
    photo_uploads::table
        .filter(photo_uploads::sha256.eq(sha256))
        .filter(photo_uploads::created_by.eq(user))
        .filter(photo_uploads::expires_at.gt(now))
        .order(photo_uploads::created_at.desc())
        .select(UploadRow::as_select())
        .first(conn)
        .optional()
}

/// Moves an upload's offset from `from` to `to`; whether it was still at `from`.
pub fn advance_upload(
    conn: &mut DbConnection,
    id: &str,
    from: i64,
    to: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        photo_uploads::table
            .filter(photo_uploads::id.eq(id))
            .filter(photo_uploads::received.eq(from)),
    )
    .set((
        photo_uploads::received.eq(to),
        photo_uploads::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes an upload.
pub fn delete_upload(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(photo_uploads::table.find(id)).execute(conn)
}

/// The ids of uploads expired at `now`.
pub fn expired_uploads(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    photo_uploads::table
        .filter(photo_uploads::expires_at.le(now))
        .select(photo_uploads::id)
        .limit(100)
        .load(conn)
}
