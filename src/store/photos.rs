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
    /// Whether it carries EXIF that could not be read at all (a doubtful-evidence flag).
    pub exif_unreadable: bool,
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

/// The most cases in the reader's scope read to decide whether they may see a photo (every one of them is in the
/// scope, so the first decides; see [`cases_of_bound_uses`]).
pub const MAX_USES_READ: i64 = 500;

/// The scope of the cases a reader may see, as the case list limits it (`store::cases::in_scope`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseScope {
    /// Inside one of these place codes (`None`: anywhere).
    pub places: Option<Vec<String>>,
    /// On one of these topics, by prefix (`None`: any).
    pub topics: Option<Vec<String>>,
    /// Placed cases only.
    pub placed_only: bool,
}

/// Whether `user` sent the bytes of photo `sha256`.
pub fn is_holder(conn: &mut DbConnection, sha256: &str, user: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        photo_holders::table
            .filter(photo_holders::sha256.eq(sha256))
            .filter(photo_holders::user_id.eq(user)),
    ))
    .get_result(conn)
}

/// Whether photo `sha256` has a bound use (vouched for, or attached by someone who sent its bytes) attached by
/// anyone but `user`.
pub fn bound_use_by_another(
    conn: &mut DbConnection,
    sha256: &str,
    user: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        photo_uses::table
            .filter(photo_uses::sha256.eq(sha256))
            .filter(photo_uses::attached_by.ne(user))
            .filter(
                photo_uses::vouched
                    .eq(true)
                    .or(photo_uses::attached_by.eq_any(
                        photo_holders::table
                            .filter(photo_holders::sha256.eq(sha256))
                            .select(photo_holders::user_id),
                    )),
            ),
    ))
    .get_result(conn)
}

/// The place and topic of the cases that photo `sha256` belongs to through a bound use (a report naming it, or a
/// step's evidence; vouched for, or attached by someone who sent its bytes) and that lie in `scope`, at most
/// `limit`. Every use of the photo is considered, however many: the scope is applied in the query (the reader's
/// cases are looked up by the use's item, through the cases' own indexes), not to a first slice of the uses.
pub fn cases_of_bound_uses(
    conn: &mut DbConnection,
    sha256: &str,
    scope: &CaseScope,
    limit: i64,
) -> QueryResult<Vec<(Option<String>, String)>> {
    let bound = |kind: &'static str| {
        photo_uses::table
            .filter(photo_uses::sha256.eq(sha256.to_owned()))
            .filter(photo_uses::kind.eq(kind))
            .filter(
                photo_uses::vouched
                    .eq(true)
                    .or(photo_uses::attached_by.eq_any(
                        photo_holders::table
                            .filter(photo_holders::sha256.eq(sha256.to_owned()))
                            .select(photo_holders::user_id),
                    )),
            )
            .select(photo_uses::item_id)
    };
    let in_scope = || {
        crate::store::cases::in_scope(
            scope.places.as_deref(),
            scope.topics.as_deref(),
            scope.placed_only,
        )
    };
    let mut q = cases::table
        .filter(cases::id.eq_any(bound(kind::CASE)))
        .select((cases::place_code, cases::topic_code))
        .limit(limit)
        .into_boxed();
    if let Some(c) = in_scope() {
        q = q.filter(c);
    }
    let mut out: Vec<(Option<String>, String)> = q.load(conn)?;
    let left = limit - out.len() as i64;
    if left > 0 {
        let mut q = cases::table
            .filter(
                cases::id.eq_any(
                    reports::table
                        .filter(reports::id.eq_any(bound(kind::REPORT)))
                        .select(reports::case_id),
                ),
            )
            .select((cases::place_code, cases::topic_code))
            .limit(left)
            .into_boxed();
        if let Some(c) = in_scope() {
            q = q.filter(c);
        }
        out.extend(q.load::<(Option<String>, String)>(conn)?);
    }
    Ok(out)
}

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

/// Records new uses in bulk (a bulk writer's: none of them may be stored already).
pub fn insert_uses(conn: &mut DbConnection, rows: &[UseRow]) -> QueryResult<()> {
    for chunk in rows.chunks(500) {
        crate::with_backend!(conn, c => diesel::insert_into(photo_uses::table).values(chunk).execute(c))?;
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
