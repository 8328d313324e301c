//! Open311 GeoReport v2 use-cases: the services (the active topics of the taxonomy), turning a citizen app's
//! request into a hotline ticket (filed through the same intake as `POST /api/v1/tickets`), and the public list of
//! requests. The public list never reads a caller's name, phone or address text (see
//! [`store::PublicTicketRow`]); contact details inside the text are blotted out and points coarsened
//! ([`crate::domain::privacy`]); a confidential caller's text, point and photo are not shown at all.

use crate::db::{Db, DbError};
use crate::domain::ids::random_id;
use crate::domain::open311::{CLOSED_STATUSES, PublicStatus, public_status, status_note};
use crate::domain::privacy::{coarse, redact_contacts};
use crate::domain::time::rfc3339;
use crate::domain::topic::{TimeClass, TopicCode};
use crate::error::InvalidField;
use crate::geo::index::PlaceIndex;
use crate::geo::place::Level;
use crate::service::admin::topics::{self, TopicError};
use crate::service::intake::{CallerInput, LocationInput, TicketInput};
use crate::store::cases::{self as store, CaseProgressRow, PublicTicketFilter, PublicTicketRow};
use crate::store::topics::TopicRow;
use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Errors of the Open311 use-cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Open311Error {
    /// A parameter (as Open311 names it) is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No active service has this code.
    #[error("there is no service {0}; see services.json")]
    UnknownService(String),
    /// The taxonomy could not be read.
    #[error("{0}")]
    Lookup(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(Open311Error);

impl crate::error::ServiceError for Open311Error {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Open311Error::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            Open311Error::UnknownService(_) => ErrorKind::NotFound("unknown_service"),
            Open311Error::Lookup(_) | Open311Error::Db(_) => ErrorKind::Internal,
        }
    }
}

impl From<TopicError> for Open311Error {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::Db(db) => Open311Error::Db(db),
            other => Open311Error::Lookup(other.to_string()),
        }
    }
}

fn invalid(param: &'static str, message: impl Into<String>) -> Open311Error {
    Open311Error::Invalid(InvalidField::new(param, message))
}

/// A service: an active four-digit topic.
#[derive(Debug, Clone)]
pub struct Service {
    /// The topic code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The Chinese name of its class.
    pub group: String,
    /// The department the dispatch catalogue names.
    pub department: String,
    /// The time allowed.
    pub time_class: Option<TimeClass>,
}

impl Service {
    /// Tags for finding it: its names and its class.
    pub fn keywords(&self) -> String {
        [&self.name_zh, &self.name_en, &self.group]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.replace(',', " "))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The time allowed in words (`7 天`).
    pub fn time_limit(&self) -> Option<String> {
        let h = self.time_class?.hours();
        Some(if h % 24 == 0 {
            format!("{} 天", h / 24)
        } else {
            format!("{h} 小时")
        })
    }
}

fn services_of(rows: &[TopicRow]) -> Vec<Service> {
    let classes: HashMap<&str, &str> = rows
        .iter()
        .filter(|r| r.parent_code.is_none())
        .map(|r| (r.code.as_str(), r.name_zh.as_str()))
        .collect();
    rows.iter()
        .filter(|r| r.active && TopicCode::parse(&r.code).is_some_and(|c| !c.is_class()))
        .map(|r| Service {
            code: r.code.clone(),
            name_zh: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            group: r
                .parent_code
                .as_deref()
                .and_then(|p| classes.get(p))
                .map(|s| (*s).to_owned())
                .unwrap_or_default(),
            department: r.department.clone(),
            time_class: TimeClass::parse(&r.time_class),
        })
        .collect()
}

/// Every service, in code order.
pub fn services(db: &Db) -> Result<Vec<Service>, Open311Error> {
    Ok(services_of(&topics::list(db)?))
}

/// The service with this code, if it is active.
pub fn service(db: &Db, code: &str) -> Result<Option<Service>, Open311Error> {
    Ok(services(db)?.into_iter().find(|s| s.code == code))
}

/// A request as a citizen's app posts it (Open311 parameter names; everything as sent, not yet checked).
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    /// `service_code`.
    pub service_code: Option<String>,
    /// `lat` (WGS-84).
    pub lat: Option<String>,
    /// `long` (WGS-84).
    pub long: Option<String>,
    /// `address_string`.
    pub address_string: Option<String>,
    /// `address_id`: here a place code (district to cell).
    pub address_id: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `first_name`.
    pub first_name: Option<String>,
    /// `last_name`.
    pub last_name: Option<String>,
    /// `phone`.
    pub phone: Option<String>,
    /// `media_url`.
    pub media_url: Option<String>,
    /// The `Idempotency-Key` header: the same key (from the same client) files once.
    pub idempotency_key: Option<String>,
}

/// The longest `media_url` kept.
pub const MAX_MEDIA_URL_CHARS: usize = 1000;
/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;
/// Ticket numbers of Open311 requests start with this.
pub const TICKET_NO_PREFIX: &str = "O311-";

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn number(param: &'static str, raw: &str) -> Result<f64, Open311Error> {
    raw.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| invalid(param, format!("{:?} is not a number", clip(raw))))
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The ticket number of a request: from the client's idempotency key (so a retry files once; keys of different
/// clients never meet), else random.
pub fn ticket_no(client_id: &str, idempotency_key: Option<&str>) -> String {
    match idempotency_key {
        Some(key) => {
            let digest = Sha256::digest(format!("{client_id}\n{key}").as_bytes());
            let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("{TICKET_NO_PREFIX}{hex}")
        }
        None => random_id(TICKET_NO_PREFIX),
    }
}

/// The place names of a place code (district, street, community; a cell is named by its community; the city is
/// the whole jurisdiction and left out), as one line.
pub fn place_names(index: &PlaceIndex, code: &str) -> Option<String> {
    let mut names = Vec::new();
    let mut next = Some(code.to_owned());
    while let Some(c) = next {
        let p = index.place(&c)?;
        if !matches!(p.level, Level::City | Level::Cell) {
            names.push(p.name.clone());
        }
        next = p.parent.clone();
    }
    names.reverse();
    (!names.is_empty()).then(|| names.concat())
}

/// The hotline ticket for a request from a client (`client_id`, its principal). The request must name a service
/// (checked to be active by the caller of this function) and a place: `lat` and `long`, or `address_string`, or
/// `address_id`. Name and phone are optional (an app may file anonymously); e-mail and device id are not kept.
pub fn ticket_input(
    req: &NewRequest,
    service: &Service,
    index: &PlaceIndex,
    client_id: &str,
) -> Result<(TicketInput, Option<String>), Open311Error> {
    let location = match (given(&req.lat), given(&req.long)) {
        (Some(lat), Some(long)) => Some(LocationInput {
            lon: number("long", long)?,
            lat: number("lat", lat)?,
            crs: None,
        }),
        (None, None) => None,
        (Some(_), None) => return Err(invalid("long", "lat was given without long")),
        (None, Some(_)) => return Err(invalid("lat", "long was given without lat")),
    };
    let mut address = given(&req.address_string).map(str::to_owned);
    if let Some(id) = given(&req.address_id) {
        let names = place_names(index, id).ok_or_else(|| {
            invalid(
                "address_id",
                format!("{:?} is not a place code (district to cell)", clip(id)),
            )
        })?;
        address = Some(match address {
            Some(a) => format!("{names} {a}"),
            None => names,
        });
    }
    if location.is_none() && address.is_none() {
        return Err(invalid(
            "lat",
            "a location is required: lat and long, address_string or address_id",
        ));
    }
    let media_url = match given(&req.media_url) {
        None => None,
        Some(u) => {
            let lower = u.to_ascii_lowercase();
            if u.chars().count() > MAX_MEDIA_URL_CHARS
                || !(lower.starts_with("https://") || lower.starts_with("http://"))
                || u.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(invalid(
                    "media_url",
                    format!("must be an http(s) URL of at most {MAX_MEDIA_URL_CHARS} characters"),
                ));
            }
            Some(u.to_owned())
        }
    };
    if let Some(key) = given(&req.idempotency_key)
        && (key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS
            || !key.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(invalid(
            "Idempotency-Key",
            format!("must be at most {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters"),
        ));
    }
    let first = given(&req.first_name).unwrap_or("");
    let last = given(&req.last_name).unwrap_or("");
    // Chinese names put the family name first, without a space.
    let name = if (first.chars().chain(last.chars())).any(|c| !c.is_ascii()) {
        format!("{last}{first}")
    } else {
        format!("{first} {last}").trim().to_owned()
    };
    let text = given(&req.description)
        .unwrap_or(&service.name_zh)
        .to_owned();
    Ok((
        TicketInput {
            ticket_no: ticket_no(client_id, given(&req.idempotency_key)),
            received_at: None,
            channel: "app".into(),
            request_type: "complaint".into(),
            topic: service.code.clone(),
            text,
            caller: CallerInput {
                name,
                phone: given(&req.phone).unwrap_or("").to_owned(),
                confidential: false,
            },
            address,
            location,
        },
        media_url,
    ))
}

/// Records the photo link of a newly filed ticket, at `at`.
pub fn attach_media(
    db: &Db,
    ticket_id: &str,
    url: &str,
    at: NaiveDateTime,
) -> Result<(), Open311Error> {
    store::insert_media(&mut *db.writer()?, ticket_id, url, at)?;
    Ok(())
}

/// The most requests one page holds.
pub const MAX_PAGE_SIZE: i64 = 200;
/// Pages reach at most this far into a list (narrow the dates or the services to see more).
pub const MAX_DEPTH: i64 = 10_000;
/// The widest `start_date`..`end_date` span, and the window when they are not given.
pub const MAX_SPAN_DAYS: i64 = 90;
/// The most ids or codes one query may list.
pub const MAX_LISTED: usize = 200;

/// A query of `GET requests.json`, as sent.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    /// `service_request_id`: comma-separated ids (when given, every other filter is ignored).
    pub ids: Option<String>,
    /// `service_code`: comma-separated codes.
    pub service_codes: Option<String>,
    /// `start_date`.
    pub start: Option<NaiveDateTime>,
    /// `end_date`.
    pub end: Option<NaiveDateTime>,
    /// `status`: `open`, `closed` or both, comma-separated.
    pub status: Option<String>,
    /// `page` (from 1).
    pub page: Option<String>,
    /// `page_size`.
    pub page_size: Option<String>,
}

fn list_param(param: &'static str, raw: Option<&str>) -> Result<Option<Vec<String>>, Open311Error> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let items: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if items.len() > MAX_LISTED {
        return Err(invalid(
            param,
            format!("lists more than {MAX_LISTED} values"),
        ));
    }
    if let Some(bad) = items.iter().find(|s| s.len() > 64) {
        return Err(invalid(param, format!("{:?}… is too long", clip(bad))));
    }
    Ok(Some(items))
}

fn whole(
    param: &'static str,
    raw: Option<&str>,
    default: i64,
    max: i64,
) -> Result<i64, Open311Error> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(param, format!("must be a whole number from 1 to {max}"))),
    }
}

/// A checked query: the filter, the offset and the page size.
pub fn filter_of(
    q: &RequestQuery,
    now: NaiveDateTime,
) -> Result<(PublicTicketFilter, i64, i64), Open311Error> {
    let page_size = whole(
        "page_size",
        q.page_size.as_deref(),
        MAX_PAGE_SIZE,
        MAX_PAGE_SIZE,
    )?;
    let page = whole("page", q.page.as_deref(), 1, MAX_DEPTH)?;
    let offset = (page - 1) * page_size;
    if offset + page_size > MAX_DEPTH {
        return Err(invalid(
            "page",
            format!(
                "pages reach at most {MAX_DEPTH} requests deep; narrow start_date and end_date or service_code"
            ),
        ));
    }
    if let Some(ids) = list_param("service_request_id", q.ids.as_deref())? {
        let filter = PublicTicketFilter {
            ids: Some(ids),
            ..PublicTicketFilter::default()
        };
        return Ok((filter, offset, page_size));
    }
    let topics = list_param("service_code", q.service_codes.as_deref())?;
    if let Some(bad) = topics
        .iter()
        .flatten()
        .find(|c| TopicCode::parse(c).is_none_or(|t| t.is_class()))
    {
        return Err(invalid(
            "service_code",
            format!("{:?} is not a four-digit service code", clip(bad)),
        ));
    }
    let span = Duration::days(MAX_SPAN_DAYS);
    let (from, to) = match (q.start, q.end) {
        (Some(s), Some(e)) if e < s => {
            return Err(invalid("end_date", "is before start_date"));
        }
        (Some(s), Some(e)) if e - s > span => {
            return Err(invalid(
                "end_date",
                format!("start_date to end_date may span at most {MAX_SPAN_DAYS} days"),
            ));
        }
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + span),
        (None, Some(e)) => (e - span, e),
        (None, None) => (now - span, now),
    };
    let mut wanted = Vec::new();
    for s in list_param("status", q.status.as_deref())?
        .into_iter()
        .flatten()
    {
        wanted.push(
            PublicStatus::parse(&s).ok_or_else(|| {
                invalid("status", format!("{:?} is not open or closed", clip(&s)))
            })?,
        );
    }
    let closed: Vec<String> = CLOSED_STATUSES.iter().map(|s| (*s).to_owned()).collect();
    let statuses = match (
        wanted.contains(&PublicStatus::Open),
        wanted.contains(&PublicStatus::Closed),
    ) {
        (true, false) => Some((false, closed)),
        (false, true) => Some((true, closed)),
        _ => None,
    };
    Ok((
        PublicTicketFilter {
            ids: None,
            topics,
            from: Some(from),
            to: Some(to),
            statuses,
        },
        offset,
        page_size,
    ))
}

/// A request as the public sees it: every field already fit to publish.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    /// The ticket id.
    pub id: String,
    /// Open or closed.
    pub status: PublicStatus,
    /// The step of the loop in words.
    pub status_note: Option<&'static str>,
    /// The service code.
    pub service_code: String,
    /// The service name (Chinese), when the topic is known.
    pub service_name: Option<String>,
    /// The text, contact details blotted out; `None` for a confidential caller.
    pub description: Option<String>,
    /// The street office answering for the place, else the topic's department.
    pub agency: Option<String>,
    /// A notice (e.g. that the text is withheld).
    pub notice: Option<String>,
    /// Received (RFC 3339).
    pub requested: String,
    /// Last change of its case (RFC 3339).
    pub updated: String,
    /// When the time allowed runs out (RFC 3339).
    pub expected: Option<String>,
    /// District, street and community names of where it was placed.
    pub address: Option<String>,
    /// Coarsened point (WGS-84): (lon, lat).
    pub point: Option<(f64, f64)>,
    /// The photo link.
    pub media_url: Option<String>,
}

/// The street (with its district) answering for a place, when it is placed at a street or below.
fn street_of(index: &PlaceIndex, code: &str) -> Option<String> {
    let street = index.place(code.get(..9)?)?;
    let district = index.place(code.get(..6)?)?;
    (street.level == Level::Street).then(|| format!("{}{}", district.name, street.name))
}

/// The notice shown in place of a confidential caller's text.
pub const WITHHELD_NOTICE: &str = "应来电人要求，诉求内容和位置不公开";

fn public_request(
    index: &PlaceIndex,
    services: &HashMap<String, Service>,
    (t, progress): (PublicTicketRow, CaseProgressRow),
    media: Option<String>,
) -> PublicRequest {
    let service = services.get(&t.topic_code);
    let place = t.place_code.as_deref();
    let confidential = t.caller_confidential;
    let expected = service
        .and_then(|s| s.time_class)
        .map(|c| rfc3339(t.received_at + Duration::hours(i64::from(c.hours()))));
    PublicRequest {
        status: public_status(&progress.status),
        status_note: status_note(&progress.status),
        service_name: service.map(|s| s.name_zh.clone()),
        description: (!confidential).then(|| redact_contacts(&t.body)),
        agency: place
            .and_then(|p| street_of(index, p))
            .or_else(|| service.map(|s| s.department.clone())),
        notice: confidential.then(|| WITHHELD_NOTICE.to_owned()),
        requested: rfc3339(t.received_at),
        updated: rfc3339(progress.updated_at.max(t.created_at)),
        expected,
        address: place.and_then(|p| place_names(index, p)),
        point: t
            .lon
            .zip(t.lat)
            .filter(|_| !confidential)
            .map(|(lon, lat)| (coarse(lon), coarse(lat))),
        media_url: media.filter(|_| !confidential),
        service_code: t.topic_code,
        id: t.id,
    }
}

/// One page of requests as the public sees them, newest first.
pub fn requests(
    db: &Db,
    index: &PlaceIndex,
    filter: &PublicTicketFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<PublicRequest>, Open311Error> {
    let services: HashMap<String, Service> = services_of(&topics::list(db)?)
        .into_iter()
        .map(|s| (s.code.clone(), s))
        .collect();
    let mut c = db.reader()?;
    let rows = store::public_tickets(&mut c, filter, offset, limit)?;
    let ids: Vec<String> = rows.iter().map(|(t, _)| t.id.clone()).collect();
    let mut media: HashMap<String, String> = store::media_of(&mut c, &ids)?.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let m = media.remove(&row.0.id);
            public_request(index, &services, row, m)
        })
        .collect())
}

/// One request as the public sees it.
pub fn request(
    db: &Db,
    index: &PlaceIndex,
    id: &str,
) -> Result<Option<PublicRequest>, Open311Error> {
    let filter = PublicTicketFilter {
        ids: Some(vec![id.to_owned()]),
        ..PublicTicketFilter::default()
    };
    Ok(requests(db, index, &filter, 0, 1)?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        Service {
            code: "0101".into(),
            name_zh: "暴露垃圾".into(),
            name_en: "exposed rubbish".into(),
            group: "市容环卫".into(),
            department: "城市管理委员会".into(),
            time_class: Some(TimeClass::Days7),
        }
    }

    fn index() -> PlaceIndex {
        PlaceIndex::new(&[], &[])
    }

    #[test]
    fn a_request_becomes_an_app_complaint_with_its_point_and_caller() {
        let req = NewRequest {
            service_code: Some("0101".into()),
            lat: Some("39.9087".into()),
            long: Some("116.3975".into()),
            description: Some("垃圾没人清".into()),
            first_name: Some("三".into()),
            last_name: Some("张".into()),
            phone: Some("13812345678".into()),
            ..NewRequest::default()
        };
        let (t, media) = ticket_input(&req, &service(), &index(), "key:1").unwrap();
        assert_eq!(t.channel, "app");
        assert_eq!(t.request_type, "complaint");
        assert_eq!(t.topic, "0101");
        assert_eq!(t.caller.name, "张三");
        assert_eq!(t.caller.phone, "13812345678");
        let loc = t.location.unwrap();
        assert_eq!((loc.lon, loc.lat), (116.3975, 39.9087));
        assert!(t.ticket_no.starts_with(TICKET_NO_PREFIX));
        assert_eq!(media, None);
    }

    #[test]
    fn without_a_description_the_service_names_the_problem_and_latin_names_keep_their_order() {
        let req = NewRequest {
            address_string: Some("朝阳区望京街道".into()),
            first_name: Some("Anna".into()),
            last_name: Some("Li".into()),
            ..NewRequest::default()
        };
        let (t, _) = ticket_input(&req, &service(), &index(), "key:1").unwrap();
        assert_eq!(t.text, "暴露垃圾");
        assert_eq!(t.caller.name, "Anna Li");
        assert_eq!(t.caller.phone, "");
        assert!(t.location.is_none());
    }

    #[test]
    fn a_request_needs_a_whole_location_and_a_web_media_url() {
        let err = |req: NewRequest| ticket_input(&req, &service(), &index(), "k").unwrap_err();
        assert!(matches!(
            err(NewRequest::default()),
            Open311Error::Invalid(InvalidField { field: "lat", .. })
        ));
        let half = NewRequest {
            lat: Some("39.9".into()),
            ..NewRequest::default()
        };
        assert!(matches!(
            err(half),
            Open311Error::Invalid(InvalidField { field: "long", .. })
        ));
        let nan = NewRequest {
            lat: Some("NaN".into()),
            long: Some("116.4".into()),
            ..NewRequest::default()
        };
        assert!(matches!(
            err(nan),
            Open311Error::Invalid(InvalidField { field: "lat", .. })
        ));
        let file = NewRequest {
            address_string: Some("望京".into()),
            media_url: Some("file:///etc/passwd".into()),
            ..NewRequest::default()
        };
        assert!(matches!(
            err(file),
            Open311Error::Invalid(InvalidField {
                field: "media_url",
                ..
            })
        ));
        let unknown_place = NewRequest {
            address_id: Some("999999".into()),
            ..NewRequest::default()
        };
        assert!(matches!(
            err(unknown_place),
            Open311Error::Invalid(InvalidField {
                field: "address_id",
                ..
            })
        ));
    }

    #[test]
    fn the_same_idempotency_key_gives_the_same_ticket_number_only_for_the_same_client() {
        let a = ticket_no("key:1", Some("abc"));
        assert_eq!(a, ticket_no("key:1", Some("abc")));
        assert_ne!(a, ticket_no("key:2", Some("abc")));
        assert_ne!(ticket_no("key:1", None), ticket_no("key:1", None));
        assert_eq!(a.len(), TICKET_NO_PREFIX.len() + 32);
    }

    #[test]
    fn queries_default_to_the_last_90_days_and_bound_paging() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-03T00:00:00Z")
            .unwrap()
            .naive_utc();
        let (f, offset, size) = filter_of(&RequestQuery::default(), now).unwrap();
        assert_eq!((offset, size), (0, MAX_PAGE_SIZE));
        assert_eq!(f.to, Some(now));
        assert_eq!(f.from, Some(now - Duration::days(90)));
        assert!(f.statuses.is_none());

        let q = RequestQuery {
            page: Some("3".into()),
            page_size: Some("10".into()),
            status: Some("open".into()),
            ..RequestQuery::default()
        };
        let (f, offset, size) = filter_of(&q, now).unwrap();
        assert_eq!((offset, size), (20, 10));
        assert_eq!(f.statuses, Some((false, vec!["closed".to_owned()])));

        let bad = |q: RequestQuery| filter_of(&q, now).unwrap_err();
        let deep = RequestQuery {
            page: Some("51".into()),
            ..RequestQuery::default()
        };
        assert!(matches!(
            bad(deep),
            Open311Error::Invalid(InvalidField { field: "page", .. })
        ));
        let big = RequestQuery {
            page_size: Some("201".into()),
            ..RequestQuery::default()
        };
        assert!(matches!(
            bad(big),
            Open311Error::Invalid(InvalidField {
                field: "page_size",
                ..
            })
        ));
        let wide = RequestQuery {
            start: Some(now - Duration::days(91)),
            end: Some(now),
            ..RequestQuery::default()
        };
        assert!(matches!(
            bad(wide),
            Open311Error::Invalid(InvalidField {
                field: "end_date",
                ..
            })
        ));
        let class = RequestQuery {
            service_codes: Some("0101,01".into()),
            ..RequestQuery::default()
        };
        assert!(matches!(
            bad(class),
            Open311Error::Invalid(InvalidField {
                field: "service_code",
                ..
            })
        ));
    }

    #[test]
    fn ids_override_every_other_filter() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap();
        let q = RequestQuery {
            ids: Some("tkt_a, tkt_b".into()),
            service_codes: Some("nonsense".into()),
            ..RequestQuery::default()
        };
        let (f, _, _) = filter_of(&q, now).unwrap();
        assert_eq!(f.ids, Some(vec!["tkt_a".to_owned(), "tkt_b".to_owned()]));
        assert!(f.from.is_none() && f.topics.is_none());
    }
}
