//! Cases and what they are made of: hotline tickets, patrol reports and the merge decisions that put them there.

use crate::db::DbConnection;
use crate::db::schema::{cases, merge_decisions, reports, ticket_media, tickets};
use crate::domain::workflow::Status;
use chrono::NaiveDateTime;
use diesel::prelude::*;

type Backend = <DbConnection as Connection>::Backend;

/// Runs a query on the connection inside the enum, typed for its backend: diesel then caches the prepared statement
/// by the query's type instead of building its SQL text on every call (as it does through the multi-backend
/// connection). For the statements intake runs for every item.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConnection::Sqlite($c) => $body,
            DbConnection::Pg($c) => $body,
        }
    };
}

/// A stored case.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct CaseRow {
    /// Id.
    pub id: String,
    /// Its district ('' while unplaced).
    pub district_code: String,
    /// The most precise place known (cell, community, street or district).
    pub place_code: Option<String>,
    /// Longitude (WGS-84) of its first item with a point.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// The building of its first item, if any.
    pub building_code: Option<String>,
    /// Topic code.
    pub topic_code: String,
    /// Workflow status.
    pub status: String,
    /// `hotline`, `patrol` or `mixed`.
    pub source: String,
    /// 0 normal, higher is more urgent.
    pub priority: i32,
    /// 群体性诉求.
    pub group_request: bool,
    /// One of its tickets repeats an earlier one.
    pub repeat_request: bool,
    /// Tickets in it.
    pub ticket_count: i32,
    /// Different callers among them.
    pub caller_count: i32,
    /// Patrol reports in it.
    pub report_count: i32,
    /// When its first item came.
    pub opened_at: NaiveDateTime,
    /// When its latest item came.
    pub last_item_at: NaiveDateTime,
    /// The responsibility chain when it opened (JSON).
    pub chain: String,
    /// Bumped by every change.
    pub version: i32,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// What a new case is about, where, and when its first item came: the fields it takes from what opens it.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    /// Its district ('' while unplaced).
    pub district: &'a str,
    /// The most precise place known.
    pub place_code: Option<&'a str>,
    /// Its point (longitude, latitude), when placed by one.
    pub point: Option<(f64, f64)>,
    /// Its building.
    pub building: Option<&'a str>,
    /// Topic code.
    pub topic: &'a str,
    /// `hotline`, `patrol` or `proactive`.
    pub source: &'a str,
    /// When its first item came (or it was made).
    pub at: NaiveDateTime,
    /// The responsibility chain snapshot.
    pub chain: &'a str,
}

impl CaseRow {
    /// A case not stored yet, with a new id: received, nothing counted, version 0, stamped `stamp`.
    pub fn opening(o: &Opening<'_>, stamp: NaiveDateTime) -> CaseRow {
        CaseRow {
            id: crate::domain::ids::CaseId::generate().to_string(),
            district_code: o.district.to_owned(),
            place_code: o.place_code.map(str::to_owned),
            lon: o.point.map(|x| x.0),
            lat: o.point.map(|x| x.1),
            building_code: o.building.map(str::to_owned),
            topic_code: o.topic.to_owned(),
            status: Status::Received.as_str().into(),
            source: o.source.to_owned(),
            priority: 0,
            group_request: false,
            repeat_request: false,
            ticket_count: 0,
            caller_count: 0,
            report_count: 0,
            opened_at: o.at,
            last_item_at: o.at,
            chain: o.chain.to_owned(),
            version: 0,
            created_at: stamp,
            updated_at: stamp,
        }
    }

    /// Where this case is and what it is about, as a new case beside it would open.
    pub fn as_opening(&self) -> Opening<'_> {
        Opening {
            district: &self.district_code,
            place_code: self.place_code.as_deref(),
            point: self.lon.zip(self.lat),
            building: self.building_code.as_deref(),
            topic: &self.topic_code,
            source: &self.source,
            at: self.opened_at,
            chain: &self.chain,
        }
    }
}

/// A stored hotline ticket.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    /// Id.
    pub id: String,
    /// The hotline's ticket number.
    pub ticket_no: String,
    /// SHA-256 of the content as sent (idempotency).
    pub content_sha256: String,
    /// The case it is in.
    pub case_id: String,
    /// Its district ('' while unplaced).
    pub district_code: String,
    /// Received by the hotline (UTC).
    pub received_at: NaiveDateTime,
    /// Channel.
    pub channel: String,
    /// Request type.
    pub request_type: String,
    /// Topic code.
    pub topic_code: String,
    /// What the caller said.
    pub body: String,
    /// Caller's name (personal data).
    pub caller_name: String,
    /// Caller's phone (personal data).
    pub caller_phone: String,
    /// The caller asked for confidentiality.
    pub caller_confidential: bool,
    /// Address as given.
    pub address_text: String,
    /// Longitude (WGS-84) when a point was given.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// point / cell / community / street / district / unknown.
    pub location_precision: String,
    /// The place it was placed in.
    pub place_code: Option<String>,
    /// The nearest building.
    pub building_code: Option<String>,
    /// The responsibility chain at intake (JSON).
    pub chain: String,
    /// The earlier ticket of the same caller and topic this one repeats.
    pub repeat_of: Option<String>,
    /// Who filed it.
    pub created_by: String,
    /// Stored (UTC).
    pub created_at: NaiveDateTime,
}

/// A stored patrol report.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    /// Id (the phone's UUID).
    pub id: String,
    /// SHA-256 of the content as sent (idempotency).
    pub content_sha256: String,
    /// The case it is in.
    pub case_id: String,
    /// Its district.
    pub district_code: String,
    /// The grid member's user id.
    pub reporter_id: String,
    /// When the member reported it (UTC).
    pub reported_at: NaiveDateTime,
    /// Topic code.
    pub topic_code: String,
    /// Description.
    pub body: String,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Its cell.
    pub place_code: String,
    /// The nearest building.
    pub building_code: Option<String>,
    /// JSON array of photo SHA-256s.
    pub photos: String,
    /// Fixed on the spot (随手做).
    pub fixed_on_the_spot: bool,
    /// Outside the member's own cells.
    pub outside_scope: bool,
    /// The responsibility chain at intake (JSON).
    pub chain: String,
    /// Stored (UTC).
    pub created_at: NaiveDateTime,
    /// 1 when filed, +1 on each edit (from the phone: `update_report`, `attach_photo`).
    pub version: i32,
}

/// A stored merge decision.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = merge_decisions)]
pub struct DecisionRow {
    /// Id.
    pub id: String,
    /// The case the item went to.
    pub case_id: String,
    /// `ticket` or `report`.
    pub item_kind: String,
    /// The item's id.
    pub item_id: String,
    /// `opened`, `joined` or `split` (moved out by a dispatcher).
    pub outcome: String,
    /// For `joined`: the case chosen; for `split`: the case it left.
    pub candidate_case_id: Option<String>,
    /// Metres.
    pub distance_m: Option<f64>,
    /// Hours.
    pub age_hours: Option<f64>,
    /// Score.
    pub score: Option<f64>,
    /// In words.
    pub reason: String,
    /// `system` or the user who decided.
    pub actor: String,
    /// When.
    pub decided_at: NaiveDateTime,
    /// When it was undone.
    pub undone_at: Option<NaiveDateTime>,
}

/// Inserts a case.
pub fn insert_case(conn: &mut DbConnection, row: &CaseRow) -> QueryResult<()> {
    native!(conn, |c| diesel::insert_into(cases::table)
        .values(row)
        .execute(c))
    .map(|_| ())
}

/// Writes every field of a case.
pub fn update_case(conn: &mut DbConnection, row: &CaseRow) -> QueryResult<usize> {
    native!(conn, |c| diesel::update(cases::table.find(&row.id))
        .set(row)
        .execute(c))
}

/// One case.
pub fn case(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CaseRow>> {
    cases::table
        .find(id)
        .select(CaseRow::as_select())
        .first(conn)
        .optional()
}

/// Whether any case is stored.
pub fn any_case(conn: &mut DbConnection) -> QueryResult<bool> {
    Ok(cases::table
        .select(cases::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Cases with these ids.
pub fn cases_by_id(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<CaseRow>> {
    cases::table
        .filter(cases::id.eq_any(ids))
        .select(CaseRow::as_select())
        .load(conn)
}

/// Cases that still take new items (not closed, merged away or fixed on the spot) on a topic whose point lies in a
/// box and whose latest item is at or after `since` (at most `limit`, in no particular order).
pub fn candidates_near(
    conn: &mut DbConnection,
    topic: &str,
    (min_lon, min_lat, max_lon, max_lat): (f64, f64, f64, f64),
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    native!(conn, |c| cases::table
        .filter(cases::topic_code.eq(topic))
        .filter(cases::status.ne(Status::Closed.as_str()))
        .filter(cases::status.ne(Status::Merged.as_str()))
        .filter(cases::status.ne(Status::SelfResolved.as_str()))
        .filter(cases::lat.between(min_lat, max_lat))
        .filter(cases::lon.between(min_lon, max_lon))
        .filter(cases::last_item_at.ge(since))
        // No ORDER BY: it would tempt the planner into the (topic, opened_at) index, scanning every case on the
        // topic; the caller orders the few candidates itself.
        .limit(limit)
        .select(CaseRow::as_select())
        .load(c))
}

/// Cases that still take new items on a topic at a building whose latest item is at or after `since` (at most
/// `limit`, in no particular order).
pub fn candidates_at_building(
    conn: &mut DbConnection,
    topic: &str,
    building: &str,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    native!(conn, |c| cases::table
        .filter(cases::building_code.eq(building))
        .filter(cases::topic_code.eq(topic))
        .filter(cases::status.ne(Status::Closed.as_str()))
        .filter(cases::status.ne(Status::Merged.as_str()))
        .filter(cases::status.ne(Status::SelfResolved.as_str()))
        .filter(cases::last_item_at.ge(since))
        .limit(limit)
        .select(CaseRow::as_select())
        .load(c))
}

/// Inserts a ticket.
pub fn insert_ticket(conn: &mut DbConnection, row: &TicketRow) -> QueryResult<()> {
    native!(conn, |c| diesel::insert_into(tickets::table)
        .values(row)
        .execute(c))
    .map(|_| ())
}

/// The ticket with a hotline number.
pub fn ticket_by_no(conn: &mut DbConnection, ticket_no: &str) -> QueryResult<Option<TicketRow>> {
    native!(conn, |c| tickets::table
        .filter(tickets::ticket_no.eq(ticket_no))
        .select(TicketRow::as_select())
        .first(c)
        .optional())
}

/// Which of these hotline numbers are stored.
pub fn stored_ticket_nos(conn: &mut DbConnection, nos: &[String]) -> QueryResult<Vec<String>> {
    tickets::table
        .filter(tickets::ticket_no.eq_any(nos))
        .select(tickets::ticket_no)
        .load(conn)
}

/// One ticket.
pub fn ticket(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .first(conn)
        .optional()
}

/// The tickets of a case, oldest first.
pub fn tickets_of(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::case_id.eq(case_id))
        .order((tickets::received_at.asc(), tickets::id.asc()))
        .select(TicketRow::as_select())
        .load(conn)
}

/// The latest earlier ticket of a caller on a topic received in `[since, until]`.
pub fn earlier_ticket_of_caller(
    conn: &mut DbConnection,
    phone: &str,
    topic: &str,
    since: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Option<TicketRow>> {
    native!(conn, |c| tickets::table
        .filter(tickets::caller_phone.eq(phone))
        .filter(tickets::topic_code.eq(topic))
        .filter(tickets::received_at.between(since, until))
        .order((tickets::received_at.desc(), tickets::id.desc()))
        .select(TicketRow::as_select())
        .first(c)
        .optional())
}

/// Ticket count, different callers (each anonymous caller, without a phone, counts as one of their own), and
/// whether any ticket repeats an earlier one, for a case.
pub fn ticket_stats(conn: &mut DbConnection, case_id: &str) -> QueryResult<(i64, i64, bool)> {
    let (n, known): (i64, i64) = tickets::table
        .filter(tickets::case_id.eq(case_id))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::count(tickets::caller_phone).aggregate_distinct(),
        ))
        .first(conn)?;
    let anonymous: i64 = tickets::table
        .filter(tickets::case_id.eq(case_id))
        .filter(tickets::caller_phone.eq(""))
        .count()
        .get_result(conn)?;
    // `known` counted '' once if any ticket is anonymous.
    let callers = known - i64::from(anonymous > 0) + anonymous;
    let repeats: i64 = tickets::table
        .filter(tickets::case_id.eq(case_id))
        .filter(tickets::repeat_of.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((n, callers, repeats > 0))
}

/// Whether a case already has a ticket from this phone.
pub fn caller_in_case(conn: &mut DbConnection, case_id: &str, phone: &str) -> QueryResult<bool> {
    native!(conn, |c| diesel::select(diesel::dsl::exists(
        tickets::table
            .filter(tickets::case_id.eq(case_id))
            .filter(tickets::caller_phone.eq(phone)),
    ))
    .get_result(c))
}

/// Moves a ticket to another case.
pub fn move_ticket(conn: &mut DbConnection, id: &str, case_id: &str) -> QueryResult<usize> {
    diesel::update(tickets::table.find(id))
        .set(tickets::case_id.eq(case_id))
        .execute(conn)
}

/// Inserts a report.
pub fn insert_report(conn: &mut DbConnection, row: &ReportRow) -> QueryResult<()> {
    native!(conn, |c| diesel::insert_into(reports::table)
        .values(row)
        .execute(c))
    .map(|_| ())
}

/// One report.
pub fn report(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ReportRow>> {
    native!(conn, |c| reports::table
        .find(id)
        .select(ReportRow::as_select())
        .first(c)
        .optional())
}

/// The reports of a case, oldest first.
pub fn reports_of(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<ReportRow>> {
    reports::table
        .filter(reports::case_id.eq(case_id))
        .order((reports::reported_at.asc(), reports::id.asc()))
        .select(ReportRow::as_select())
        .load(conn)
}

/// How many reports a case has.
pub fn report_count(conn: &mut DbConnection, case_id: &str) -> QueryResult<i64> {
    reports::table
        .filter(reports::case_id.eq(case_id))
        .count()
        .get_result(conn)
}

/// Moves a report to another case.
pub fn move_report(conn: &mut DbConnection, id: &str, case_id: &str) -> QueryResult<usize> {
    diesel::update(reports::table.find(id))
        .set(reports::case_id.eq(case_id))
        .execute(conn)
}

/// Records a merge decision.
pub fn insert_decision(conn: &mut DbConnection, row: &DecisionRow) -> QueryResult<()> {
    native!(conn, |c| diesel::insert_into(merge_decisions::table)
        .values(row)
        .execute(c))
    .map(|_| ())
}

/// The decisions about items of a case or naming it as the case they left, in time order.
pub fn decisions_of(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<DecisionRow>> {
    merge_decisions::table
        .filter(
            merge_decisions::case_id
                .eq(case_id)
                .or(merge_decisions::candidate_case_id.eq(case_id)),
        )
        .order((merge_decisions::decided_at.asc(), merge_decisions::id.asc()))
        .select(DecisionRow::as_select())
        .load(conn)
}

/// The standing (not undone) decision that put an item in its case.
pub fn standing_decision(
    conn: &mut DbConnection,
    item_id: &str,
) -> QueryResult<Option<DecisionRow>> {
    merge_decisions::table
        .filter(merge_decisions::item_id.eq(item_id))
        .filter(merge_decisions::undone_at.is_null())
        .order((
            merge_decisions::decided_at.desc(),
            merge_decisions::id.desc(),
        ))
        .select(DecisionRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a decision undone.
pub fn undo_decision(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(merge_decisions::table.find(id))
        .set(merge_decisions::undone_at.eq(Some(at)))
        .execute(conn)
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases inside one of these place codes (`None`: the whole city; empty: nothing).
    pub scope: Option<Vec<String>>,
    /// Only cases on one of these topics or classes (`None`: any).
    pub topics: Option<Vec<String>>,
    /// Only the case holding the ticket with this hotline number.
    pub ticket_no: Option<String>,
    /// Only cases inside this place code.
    pub place: Option<String>,
    /// Only this topic, or this class (two digits).
    pub topic: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only group requests.
    pub group_request: Option<bool>,
    /// Only repeat requests.
    pub repeat_request: Option<bool>,
    /// Only cases that could not be placed anywhere (the queue for a person to place), or only placed ones.
    pub unplaced: Option<bool>,
    /// Opened at or after.
    pub from: Option<NaiveDateTime>,
    /// Opened before.
    pub to: Option<NaiveDateTime>,
    /// Continue after this (opened_at, id), newest first.
    pub before: Option<(NaiveDateTime, String)>,
    /// Only cases whose work is past its completion deadline at this moment and not yet replied or closed.
    pub overdue_at: Option<NaiveDateTime>,
}

/// A condition on a case, for boxed queries of the `cases` table.
pub(crate) type CaseCondition =
    Box<dyn BoxableExpression<cases::table, Backend, SqlType = diesel::sql_types::Bool>>;

/// The cases inside a reader's scope, as the case list limits it: inside one of `places` (`None`: anywhere;
/// empty: nothing) and on one of `topics` (`None`: any; by prefix), placed only when `placed_only`; `None` when
/// nothing is excluded.
pub(crate) fn in_scope(
    places: Option<&[String]>,
    topics: Option<&[String]>,
    placed_only: bool,
) -> Option<CaseCondition> {
    let mut conditions: Vec<CaseCondition> = Vec::new();
    if let Some(places) = places {
        conditions.push(any_of(places.iter().map(|code| inside(code))));
    }
    if let Some(topics) = topics {
        conditions.push(any_of(topics.iter().map(|t| -> CaseCondition {
            Box::new(cases::topic_code.like(format!("{t}%")))
        })));
    }
    if placed_only {
        conditions.push(Box::new(cases::place_code.is_not_null()));
    }
    conditions.into_iter().reduce(|a, b| Box::new(a.and(b)))
}

/// Cases inside a place code: the district column narrows (it is indexed), the prefix decides.
fn inside(code: &str) -> CaseCondition {
    let district = code.get(..6).unwrap_or(code).to_owned();
    if code.len() <= 6 {
        Box::new(cases::district_code.eq(district))
    } else {
        Box::new(
            cases::district_code
                .eq(district)
                .and(cases::place_code.assume_not_null().like(format!("{code}%"))),
        )
    }
}

/// The disjunction of the conditions (false for none). Built without a constant seed such as `1 = 0 OR ...`: with
/// one, SQLite no longer sees the district condition and scans every case in time order.
fn any_of(conditions: impl Iterator<Item = CaseCondition>) -> CaseCondition {
    conditions
        .reduce(|a, b| Box::new(a.or(b)))
        .unwrap_or_else(|| Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0")))
}

/// Cases in `status` (`received` or `returned`: both indexed) oldest first, after `after` (opened_at, id), at most
/// `limit`.
pub fn waiting(
    conn: &mut DbConnection,
    status: &str,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    let mut q = cases::table
        .filter(cases::status.eq(status))
        .order((cases::opened_at.asc(), cases::id.asc()))
        .limit(limit)
        .select(CaseRow::as_select())
        .into_boxed();
    if let Some((t, id)) = after {
        q = q.filter(
            cases::opened_at
                .gt(*t)
                .or(cases::opened_at.eq(*t).and(cases::id.gt(id.clone()))),
        );
    }
    q.load(conn)
}

/// Cases newest first, at most `limit`.
pub fn list(conn: &mut DbConnection, f: &CaseFilter, limit: i64) -> QueryResult<Vec<CaseRow>> {
    let mut q = cases::table
        .select(CaseRow::as_select())
        .order((cases::opened_at.desc(), cases::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(scope) = &f.scope {
        q = q.filter(any_of(scope.iter().map(|code| inside(code))));
    }
    if let Some(topics) = &f.topics {
        q = q.filter(any_of(topics.iter().map(|t| -> CaseCondition {
            Box::new(cases::topic_code.like(format!("{t}%")))
        })));
    }
    if let Some(no) = &f.ticket_no {
        q = q.filter(
            cases::id.eq_any(
                tickets::table
                    .filter(tickets::ticket_no.eq(no.clone()))
                    .select(tickets::case_id),
            ),
        );
    }
    if let Some(p) = &f.place {
        q = q.filter(inside(p));
    }
    if let Some(t) = &f.topic {
        q = if t.len() == 2 {
            q.filter(cases::topic_code.like(format!("{t}%")))
        } else {
            q.filter(cases::topic_code.eq(t.clone()))
        };
    }
    if let Some(s) = &f.status {
        q = q.filter(cases::status.eq(s.clone()));
    }
    if let Some(s) = &f.source {
        q = q.filter(cases::source.eq(s.clone()));
    }
    if let Some(now) = f.overdue_at {
        use crate::db::schema::case_work;
        q = q.filter(
            cases::id.eq_any(
                case_work::table
                    .filter(case_work::complete_due_at.lt(now))
                    .filter(case_work::replied_at.is_null())
                    .filter(case_work::closed_at.is_null())
                    .select(case_work::case_id),
            ),
        );
    }
    if let Some(g) = f.group_request {
        q = q.filter(cases::group_request.eq(g));
    }
    if let Some(r) = f.repeat_request {
        q = q.filter(cases::repeat_request.eq(r));
    }
    if let Some(u) = f.unplaced {
        q = if u {
            q.filter(cases::place_code.is_null())
        } else {
            q.filter(cases::place_code.is_not_null())
        };
    }
    if let Some(t) = f.from {
        q = q.filter(cases::opened_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(cases::opened_at.lt(t));
    }
    if let Some((at, id)) = &f.before {
        q = q.filter(
            cases::opened_at
                .lt(*at)
                .or(cases::opened_at.eq(*at).and(cases::id.lt(id.clone()))),
        );
    }
    q.load(conn)
}

/// A ticket as the public may see it: no caller name, phone or address text is ever read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct PublicTicketRow {
    /// Id.
    pub id: String,
    /// The case it is in.
    pub case_id: String,
    /// Received (UTC).
    pub received_at: NaiveDateTime,
    /// Topic code.
    pub topic_code: String,
    /// What the caller said (may hold contact details: redact before showing).
    pub body: String,
    /// The caller asked for confidentiality.
    pub caller_confidential: bool,
    /// Longitude (WGS-84) when a point was given.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// The place it was placed in.
    pub place_code: Option<String>,
    /// Stored (UTC).
    pub created_at: NaiveDateTime,
}

/// The public view of a ticket with what its case says about progress.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseProgressRow {
    /// Workflow status.
    pub status: String,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Which tickets the public list holds.
#[derive(Debug, Clone, Default)]
pub struct PublicTicketFilter {
    /// Only these ticket ids.
    pub ids: Option<Vec<String>>,
    /// Only these topic codes.
    pub topics: Option<Vec<String>>,
    /// Received at or after.
    pub from: Option<NaiveDateTime>,
    /// Received at or before.
    pub to: Option<NaiveDateTime>,
    /// `Some(true)`: only tickets whose case has one of these statuses; `Some(false)`: only the others.
    pub statuses: Option<(bool, Vec<String>)>,
}

/// Tickets newest first with their case's progress: `limit` of them after skipping `offset`.
pub fn public_tickets(
    conn: &mut DbConnection,
    f: &PublicTicketFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<(PublicTicketRow, CaseProgressRow)>> {
    let mut q = tickets::table
        .inner_join(cases::table)
        .select((PublicTicketRow::as_select(), CaseProgressRow::as_select()))
        .order((tickets::received_at.desc(), tickets::id.desc()))
        .offset(offset)
        .limit(limit)
        .into_boxed();
    if let Some(ids) = &f.ids {
        q = q.filter(tickets::id.eq_any(ids.clone()));
    }
    if let Some(topics) = &f.topics {
        q = q.filter(tickets::topic_code.eq_any(topics.clone()));
    }
    if let Some(t) = f.from {
        q = q.filter(tickets::received_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(tickets::received_at.le(t));
    }
    match &f.statuses {
        Some((true, s)) => q = q.filter(cases::status.eq_any(s.clone())),
        Some((false, s)) => q = q.filter(cases::status.ne_all(s.clone())),
        None => {}
    }
    q.load(conn)
}

/// Records the photo link sent with a new ticket.
pub fn insert_media(
    conn: &mut DbConnection,
    ticket_id: &str,
    url: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(ticket_media::table)
        .values((
            ticket_media::ticket_id.eq(ticket_id),
            ticket_media::url.eq(url),
            ticket_media::created_at.eq(at),
        ))
        .execute(conn)
}

/// The photo links of these tickets: (ticket id, url).
pub fn media_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    ticket_media::table
        .filter(ticket_media::ticket_id.eq_any(ids))
        .select((ticket_media::ticket_id, ticket_media::url))
        .load(conn)
}

/// The (ticket id, case id) of the tickets of these cases.
pub fn ticket_ids_of(
    conn: &mut DbConnection,
    case_ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in case_ids.chunks(500) {
        out.extend(
            tickets::table
                .filter(tickets::case_id.eq_any(chunk))
                .select((tickets::id, tickets::case_id))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}
