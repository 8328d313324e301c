//! Stored photos (`photos`), who sent their bytes (`photo_holders`), what they are attached to (`photo_uses`) and
//! uploads in progress (`photo_uploads`). The bytes are in the photo store; these rows say what is there, who sent
//! it and where it is used.

use crate::db::DbConnection;
use crate::db::schema::{cases, photo_holders, photo_uploads, photo_uses, photos, reports};
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
    /// The registered phone it comes from, when it came with a device token.
    pub device_id: Option<String>,
}

/// What a use is attached to.
pub mod kind {
    /// A report (`item_id` is the report's id; its case is looked up when read, so a merge or an unmerge moves the
    /// photo's readers with the report).
    pub const REPORT: &str = "report";
    /// A case, through the evidence of one of its steps (`item_id` is the case's id).
    pub const CASE: &str = "case";
}

/// A photo attached to an item.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = photo_uses)]
pub struct UseRow {
    /// The photo.
    pub sha256: String,
    /// [`kind::REPORT`] or [`kind::CASE`].
    pub kind: String,
    /// The report or case.
    pub item_id: String,
    /// Who attached it (the reporter, the actor of the step).
    pub attached_by: String,
    /// Whether the attacher could read the photo when attaching it (else the use counts once they sent its bytes).
    pub vouched: bool,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A use with the place and topic of the case it belongs to now.
#[derive(Debug, Clone, PartialEq)]
pub struct UseInCase {
    /// The use.
    pub row: UseRow,
    /// The case's most precise place (`None` while unplaced).
    pub place_code: Option<String>,
    /// The case's topic.
    pub topic_code: String,
}

/// The most uses of one photo read to decide who may see it (a photo attached to more items is judged by these).
pub const MAX_USES_READ: i64 = 500;

/// Records that `user` sent the bytes of photo `sha256` (once per photo and user).
pub fn add_holder(
    conn: &mut DbConnection,
    sha256: &str,
    user: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    crate::with_backend!(conn, c => diesel::insert_into(photo_holders::table)
        .values((
            photo_holders::sha256.eq(sha256),
            photo_holders::user_id.eq(user),
            photo_holders::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// The users who sent the bytes of photo `sha256`.
pub fn holders(conn: &mut DbConnection, sha256: &str) -> QueryResult<Vec<String>> {
    photo_holders::table
        .filter(photo_holders::sha256.eq(sha256))
        .select(photo_holders::user_id)
        .limit(MAX_USES_READ)
        .load(conn)
}

/// The photos among `shas` whose bytes `user` sent.
pub fn held_among(
    conn: &mut DbConnection,
    shas: &[String],
    user: &str,
) -> QueryResult<Vec<String>> {
    photo_holders::table
        .filter(photo_holders::sha256.eq_any(shas))
        .filter(photo_holders::user_id.eq(user))
        .select(photo_holders::sha256)
        .load(conn)
}

/// Records uses (an item names a photo once: a second record of the same use is ignored).
pub fn add_uses(conn: &mut DbConnection, rows: &[UseRow]) -> QueryResult<()> {
    for row in rows {
        crate::with_backend!(conn, c => diesel::insert_into(photo_uses::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Records that report `report_id`, filed by `reporter`, names the photos `shas`. Not vouched: such a use counts
/// once the reporter sent the photo's bytes (naming a hash proves nothing).
pub fn attach_to_report(
    conn: &mut DbConnection,
    report_id: &str,
    reporter: &str,
    shas: &[String],
    at: NaiveDateTime,
) -> QueryResult<()> {
    let rows: Vec<UseRow> = shas
        .iter()
        .map(|sha| UseRow {
            sha256: sha.clone(),
            kind: kind::REPORT.into(),
            item_id: report_id.into(),
            attached_by: reporter.into(),
            vouched: false,
            created_at: at,
        })
        .collect();
    add_uses(conn, &rows)
}

/// The uses of photo `sha256` (at most [`MAX_USES_READ`]), each with its case's place and topic now; a use whose
/// report or case is gone is left out.
pub fn uses_in_cases(conn: &mut DbConnection, sha256: &str) -> QueryResult<Vec<UseInCase>> {
    let rows: Vec<UseRow> = photo_uses::table
        .filter(photo_uses::sha256.eq(sha256))
        .order((photo_uses::kind.asc(), photo_uses::item_id.asc()))
        .limit(MAX_USES_READ)
        .select(UseRow::as_select())
        .load(conn)?;
    let report_ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.kind == kind::REPORT)
        .map(|r| r.item_id.as_str())
        .collect();
    let report_cases: Vec<(String, String)> = if report_ids.is_empty() {
        Vec::new()
    } else {
        reports::table
            .filter(reports::id.eq_any(&report_ids))
            .select((reports::id, reports::case_id))
            .load(conn)?
    };
    let case_of = |r: &UseRow| -> Option<String> {
        if r.kind == kind::REPORT {
            report_cases
                .iter()
                .find(|(id, _)| *id == r.item_id)
                .map(|(_, case)| case.clone())
        } else {
            Some(r.item_id.clone())
        }
    };
    let case_ids: Vec<String> = rows.iter().filter_map(case_of).collect();
    let found: Vec<(String, Option<String>, String)> = if case_ids.is_empty() {
        Vec::new()
    } else {
        cases::table
            .filter(cases::id.eq_any(&case_ids))
            .select((cases::id, cases::place_code, cases::topic_code))
            .load(conn)?
    };
    Ok(rows
        .iter()
        .filter_map(|r| {
            let case = case_of(r)?;
            let (_, place, topic) = found.iter().find(|(id, _, _)| *id == case)?;
            Some(UseInCase {
                row: r.clone(),
                place_code: place.clone(),
                topic_code: topic.clone(),
            })
        })
        .collect())
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

/// The declared sizes of the unexpired uploads of `user` (at most `limit` of them).
pub fn open_upload_sizes_of_user(
    conn: &mut DbConnection,
    user: &str,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    photo_uploads::table
        .filter(photo_uploads::created_by.eq(user))
        .filter(photo_uploads::expires_at.gt(now))
        .select(photo_uploads::size)
        .limit(limit)
        .load(conn)
}

/// The declared sizes of the unexpired uploads from device `device` (at most `limit` of them).
pub fn open_upload_sizes_of_device(
    conn: &mut DbConnection,
    device: &str,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    photo_uploads::table
        .filter(photo_uploads::device_id.eq(device))
        .filter(photo_uploads::expires_at.gt(now))
        .select(photo_uploads::size)
        .limit(limit)
        .load(conn)
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
