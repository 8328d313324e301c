//! Patrol reports of grid members: checked and placed ([`prepare_report`]), stored ([`store_report`], inside a
//! transaction: the phone's pushes and the simulator batch them) and filed one at a time ([`file_report`]).

use crate::db::{Db, DbConnection};
use crate::domain::access::Principal;
use crate::domain::ids::ReportId;
use crate::service::cases::merge::NewItem;
use crate::service::intake::filing::{self, Filed, Rules, first_result};
use crate::service::intake::input::{
    self, MAX_PHOTOS, MAX_TEXT_CHARS, ReportInput, at_or, content_hash, invalid, photo_hash, point,
    text,
};
use crate::service::intake::place::{Placement, by_point, snapshot};
use crate::service::intake::{Geo, IntakeError};
use crate::store::cases::{self as store, Opening, ReportRow};
use chrono::NaiveDateTime;

/// A report checked and placed, ready to store.
#[derive(Debug, Clone)]
pub struct PreparedReport {
    row: ReportRow,
    placement: Placement,
}

/// Checks a patrol report, places it and takes its chain snapshot (no database access). Outside the reporter's own
/// places it is accepted but flagged; outside every cell it is refused. `now` is the server's clock (the time of a
/// report sent without one).
pub fn prepare_report(
    geo: &Geo<'_>,
    input: &ReportInput,
    reporter: &Principal,
    now: NaiveDateTime,
) -> Result<PreparedReport, IntakeError> {
    let id = match input.id.as_deref() {
        Some(raw) => {
            ReportId::parse(raw).ok_or_else(|| invalid("id", format!("{raw:?} is not a UUID")))?
        }
        None => ReportId::generate(),
    };
    let body = text("text", &input.text, MAX_TEXT_CHARS, true)?;
    if input.photos.len() > MAX_PHOTOS {
        return Err(invalid("photos", format!("at most {MAX_PHOTOS} photos")));
    }
    let mut photos = Vec::with_capacity(input.photos.len());
    for p in &input.photos {
        let p = photo_hash(p)
            .ok_or_else(|| invalid("photos", format!("{p:?} is not a SHA-256 in hex")))?;
        if !photos.contains(&p) {
            photos.push(p);
        }
    }
    let topic = input::topic(&input.topic)?;
    let given = point(&input.location)?;
    let reported_at = at_or(input.reported_at, now);
    let placement = by_point(geo, given).ok_or(IntakeError::OutsideArea)?;
    let cell = placement.place_code.clone().unwrap_or_default();
    let chain = snapshot(geo, Some(&cell), reported_at);
    Ok(PreparedReport {
        row: ReportRow {
            id: id.to_string(),
            content_sha256: content_hash(&(input, &reporter.id)),
            case_id: String::new(),
            district_code: placement.district(),
            reporter_id: reporter.id.clone(),
            reported_at,
            topic_code: topic,
            body,
            lon: given.lon,
            lat: given.lat,
            outside_scope: !crate::domain::access::can_see_place(reporter, &cell),
            place_code: cell,
            building_code: placement.building.clone(),
            photos: serde_json::to_string(&photos).unwrap_or_else(|_| "[]".into()),
            fixed_on_the_spot: input.fixed_on_the_spot,
            chain,
            created_at: now,
            version: 1,
        },
        placement,
    })
}

/// Stores a prepared report inside the caller's transaction: the first result again when the same report was
/// filed before, `ReportIdReused` when its id was used for another.
pub fn store_report(
    c: &mut DbConnection,
    prepared: &PreparedReport,
    rules: &mut Rules,
) -> Result<Filed<ReportRow>, IntakeError> {
    let report = &prepared.row;
    if let Some(r) = store::report(c, &report.id)? {
        if r.content_sha256 != report.content_sha256 {
            return Err(IntakeError::ReportIdReused(report.id.clone()));
        }
        let (case_id, id) = (r.case_id.clone(), r.id.clone());
        return first_result(c, r, &case_id, &id);
    }
    let p = &prepared.placement;
    let item = NewItem {
        kind: "report",
        id: &report.id,
        case: Opening {
            at: report.reported_at,
            topic: &report.topic_code,
            district: &report.district_code,
            place_code: p.place_code.as_deref(),
            point: p.point,
            building: p.building.as_deref(),
            chain: &report.chain,
            source: "patrol",
        },
    };
    let count = |_: &mut DbConnection, case: &mut store::CaseRow| -> Result<(), IntakeError> {
        case.report_count += 1;
        Ok(())
    };
    filing::file_item(c, rules, &item, "reported_at", count, |c, case_id| {
        let mut stored = report.clone();
        stored.case_id = case_id.to_owned();
        store::insert_report(c, &stored)?;
        let photos: Vec<String> = serde_json::from_str(&stored.photos).unwrap_or_default();
        crate::store::photos::attach_to_report(
            c,
            &stored.id,
            &stored.reporter_id,
            &photos,
            stored.created_at,
        )?;
        Ok(stored)
    })
}

/// Files one patrol report by a grid member (or anyone allowed to report) at `now`, in its own transaction.
pub fn file_report(
    db: &Db,
    geo: &Geo<'_>,
    input: &ReportInput,
    reporter: &Principal,
    now: NaiveDateTime,
) -> Result<Filed<ReportRow>, IntakeError> {
    let prepared = prepare_report(geo, input, reporter, now)?;
    let (id, hash) = (prepared.row.id.clone(), prepared.row.content_sha256.clone());
    let result = filing::file_batch(db, now, vec![Ok(prepared)], store_report).and_then(|mut r| {
        r.pop()
            .unwrap_or_else(|| Err(IntakeError::Lookup("no result".into())))
    });
    filing::first_on_duplicate(result, || existing_report(db, &id, &hash))
}

fn existing_report(db: &Db, id: &str, hash: &str) -> Result<Option<Filed<ReportRow>>, IntakeError> {
    let mut c = db.reader()?;
    let Some(r) = store::report(&mut c, id)? else {
        return Ok(None);
    };
    if r.content_sha256 != hash {
        return Err(IntakeError::ReportIdReused(id.to_owned()));
    }
    let case_id = r.case_id.clone();
    first_result(&mut c, r, &case_id, id).map(Some)
}
