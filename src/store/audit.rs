//! The audit log of unmasked reads of callers' personal data.

use crate::db::DbConnection;
use crate::db::schema::pii_reads;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One unmasked read: who, when, which record, why.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pii_reads)]
pub struct PiiReadRow {
    /// Id.
    pub id: String,
    /// When (UTC).
    pub read_at: NaiveDateTime,
    /// The reader's user id (or `key:…` for an API key).
    pub user_id: String,
    /// The reader's user name.
    pub username: String,
    /// The reader's role.
    pub role: String,
    /// The ticket whose caller was shown.
    pub ticket_id: String,
    /// Its case.
    pub case_id: String,
    /// Its district.
    pub district_code: String,
    /// Why (the reason the reader gave, or the view).
    pub reason: String,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct PiiReadFilter {
    /// Only reads of this ticket.
    pub ticket_id: Option<String>,
    /// Only reads by this user name.
    pub username: Option<String>,
    /// Only reads at or after.
    pub since: Option<NaiveDateTime>,
    /// Continue after this (read_at, id).
    pub after: Option<(NaiveDateTime, String)>,
}

/// Records reads.
pub fn insert(conn: &mut DbConnection, rows: &[PiiReadRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    crate::with_backend!(conn, c => diesel::insert_into(pii_reads::table).values(rows).execute(c))?;
    Ok(())
}

/// Reads in time order, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    filter: &PiiReadFilter,
    limit: i64,
) -> QueryResult<Vec<PiiReadRow>> {
    let mut q = pii_reads::table
        .select(PiiReadRow::as_select())
        .order((pii_reads::read_at, pii_reads::id))
        .limit(limit)
        .into_boxed();
    if let Some(t) = &filter.ticket_id {
        q = q.filter(pii_reads::ticket_id.eq(t.clone()));
    }
    if let Some(u) = &filter.username {
        q = q.filter(pii_reads::username.eq(u.clone()));
    }
    if let Some(s) = filter.since {
        q = q.filter(pii_reads::read_at.ge(s));
    }
    if let Some((at, id)) = &filter.after {
        q = q.filter(
            pii_reads::read_at
                .gt(*at)
                .or(pii_reads::read_at.eq(*at).and(pii_reads::id.gt(id.clone()))),
        );
    }
    q.load(conn)
}
