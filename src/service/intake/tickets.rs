//! Hotline tickets: checked and placed ([`prepare_ticket`], no database), stored ([`store_ticket`], inside a
//! transaction) and filed in batches ([`file_tickets`]: the ticket queue, imports).

use crate::db::{Db, DbConnection};
use crate::domain::access::Principal;
use crate::domain::ids::{MAX_TICKET_NO_CHARS, TicketId, is_ticket_no};
use crate::service::cases::merge::NewItem;
use crate::service::intake::filing::{self, Filed, Rules, first_result};
use crate::service::intake::input::{
    self, CHANNELS, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_TEXT_CHARS, ONLINE_CHANNELS,
    REQUEST_TYPES, TicketInput, at_or, content_hash, invalid, one_of, point, text,
};
use crate::service::intake::place::{Placement, by_address, by_point, snapshot};
use crate::service::intake::{Geo, IntakeError};
use crate::store::cases::{self as store, Opening, TicketRow};
use chrono::{Duration, NaiveDateTime};

/// A ticket checked and placed, ready to store.
#[derive(Debug, Clone)]
pub struct PreparedTicket {
    row: TicketRow,
    placement: Placement,
}

/// Checks a ticket, places it and takes its chain snapshot (no database access); `now` is the server's clock (the
/// time of a ticket sent without one).
pub fn prepare_ticket(
    geo: &Geo<'_>,
    input: &TicketInput,
    actor: &Principal,
    now: NaiveDateTime,
) -> Result<PreparedTicket, IntakeError> {
    let ticket_no = text("ticket_no", &input.ticket_no, MAX_TICKET_NO_CHARS, true)?;
    if !is_ticket_no(&ticket_no) {
        return Err(invalid(
            "ticket_no",
            "may hold only letters, digits and - _ . /",
        ));
    }
    let channel = one_of("channel", &input.channel, &CHANNELS)?;
    let request_type = one_of("request_type", &input.request_type, &REQUEST_TYPES)?;
    let body = text("text", &input.text, MAX_TEXT_CHARS, true)?;
    let caller_name = text("caller.name", &input.caller.name, MAX_NAME_CHARS, false)?;
    // A call always shows a number; a citizen app or web form may file without one (an anonymous caller, who is
    // never counted as a repeat nor as the same caller as anyone else).
    let caller_phone = text(
        "caller.phone",
        &input.caller.phone,
        MAX_PHONE_CHARS,
        !ONLINE_CHANNELS.contains(&channel.as_str()),
    )?;
    if !caller_phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
    {
        return Err(invalid(
            "caller.phone",
            "may hold only digits, +, - and spaces",
        ));
    }
    let address = text(
        "address",
        input.address.as_deref().unwrap_or(""),
        crate::geo::address::MAX_ADDRESS_CHARS,
        false,
    )?;
    let topic = input::topic(&input.topic)?;
    let given = input.location.as_ref().map(point).transpose()?;
    let received_at = at_or(input.received_at, now);
    let placement = given
        .and_then(|p| by_point(geo, p))
        .unwrap_or_else(|| by_address(geo, &address));
    let chain = snapshot(geo, placement.place_code.as_deref(), received_at);
    Ok(PreparedTicket {
        row: TicketRow {
            id: TicketId::generate().to_string(),
            ticket_no,
            content_sha256: content_hash(input),
            case_id: String::new(),
            district_code: placement.district(),
            received_at,
            channel,
            request_type,
            topic_code: topic,
            body,
            caller_name,
            caller_phone,
            caller_confidential: input.caller.confidential,
            address_text: address,
            lon: given.map(|p| p.lon),
            lat: given.map(|p| p.lat),
            location_precision: placement.precision.as_str().to_owned(),
            place_code: placement.place_code.clone(),
            building_code: placement.building.clone(),
            chain,
            repeat_of: None,
            created_by: actor.username.clone(),
            created_at: now,
        },
        placement,
    })
}

/// Stores a prepared ticket inside the caller's transaction: the first result again when the same ticket was
/// filed before, `TicketNoReused` when its number was used for another.
pub fn store_ticket(
    c: &mut DbConnection,
    prepared: &PreparedTicket,
    rules: &mut Rules,
) -> Result<Filed<TicketRow>, IntakeError> {
    let mut ticket = prepared.row.clone();
    if let Some(t) = store::ticket_by_no(c, &ticket.ticket_no)? {
        if t.content_sha256 != ticket.content_sha256 {
            return Err(IntakeError::TicketNoReused(ticket.ticket_no));
        }
        let (case_id, id) = (t.case_id.clone(), t.id.clone());
        return first_result(c, t, &case_id, &id);
    }
    let anonymous = ticket.caller_phone.is_empty();
    if !anonymous {
        let since =
            ticket.received_at - Duration::days(i64::from(rules.policy().repeat_window_days));
        ticket.repeat_of = store::earlier_ticket_of_caller(
            c,
            &ticket.caller_phone,
            &ticket.topic_code,
            since,
            ticket.received_at,
        )?
        .map(|t| t.id);
    }
    let p = &prepared.placement;
    let item = NewItem {
        kind: "ticket",
        id: &ticket.id,
        case: Opening {
            at: ticket.received_at,
            topic: &ticket.topic_code,
            district: &ticket.district_code,
            place_code: p.place_code.as_deref(),
            point: p.point,
            building: p.building.as_deref(),
            chain: &ticket.chain,
            source: "hotline",
        },
    };
    let (phone, repeat) = (ticket.caller_phone.clone(), ticket.repeat_of.is_some());
    let count = |c: &mut DbConnection, case: &mut store::CaseRow| -> Result<(), IntakeError> {
        let new_caller =
            anonymous || case.ticket_count == 0 || !store::caller_in_case(c, &case.id, &phone)?;
        case.ticket_count += 1;
        case.caller_count += i32::from(new_caller);
        case.repeat_request |= repeat;
        Ok(())
    };
    let mut stored = ticket.clone();
    filing::file_item(c, rules, &item, "received_at", count, |c, case_id| {
        stored.case_id = case_id.to_owned();
        store::insert_ticket(c, &stored)?;
        Ok(stored)
    })
}

/// Files many tickets in one transaction at `now` (see [`filing::file_batch`]). A ticket stored concurrently by
/// another writer (a retry on another connection, PostgreSQL) answers with that first result.
pub fn file_tickets(
    db: &Db,
    now: NaiveDateTime,
    prepared: Vec<Result<PreparedTicket, IntakeError>>,
) -> Result<Vec<Result<Filed<TicketRow>, IntakeError>>, IntakeError> {
    let keys: Vec<Option<(String, String)>> = prepared
        .iter()
        .map(|p| {
            p.as_ref()
                .ok()
                .map(|p| (p.row.ticket_no.clone(), p.row.content_sha256.clone()))
        })
        .collect();
    let results = filing::file_batch(db, now, prepared, store_ticket)?;
    Ok(results
        .into_iter()
        .zip(keys)
        .map(|(result, key)| match key {
            Some((no, hash)) => {
                filing::first_on_duplicate(result, || existing_ticket(db, &no, &hash))
            }
            None => result,
        })
        .collect())
}

/// The first result of a ticket already stored, `TicketNoReused` when its content differs, `None` if absent.
fn existing_ticket(
    db: &Db,
    ticket_no: &str,
    hash: &str,
) -> Result<Option<Filed<TicketRow>>, IntakeError> {
    let mut c = db.reader()?;
    let Some(t) = store::ticket_by_no(&mut c, ticket_no)? else {
        return Ok(None);
    };
    if t.content_sha256 != hash {
        return Err(IntakeError::TicketNoReused(ticket_no.to_owned()));
    }
    let (case_id, id) = (t.case_id.clone(), t.id.clone());
    first_result(&mut c, t, &case_id, &id).map(Some)
}
