//! Simulated traffic: realistic in mix and place, filed through intake, deterministic, resumable, with its hotspots
//! written as ground truth.

use crate::common;

use chrono::NaiveDate;
use common::TestDb;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamp};
use gridline::db::DbConnection;
use gridline::geo::address::AddressMatcher;
use gridline::geo::crs::haversine_m;
use gridline::service::chain::index::SharedChainIndex;
use gridline::service::intake::Geo;
use gridline::service::simulate::{self, traffic::Plan};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Point {
    #[diesel(sql_type = Text)]
    topic_code: String,
    #[diesel(sql_type = Nullable<Double>)]
    lon: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    lat: Option<f64>,
    #[diesel(sql_type = Timestamp)]
    received_at: chrono::NaiveDateTime,
}

fn count(c: &mut DbConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(c)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// What intake's `Geo` borrows: the place index, the address matcher and the chain index over `db`.
fn geo_parts(
    db: &gridline::db::Db,
) -> (
    std::sync::Arc<gridline::geo::index::PlaceIndex>,
    AddressMatcher,
    SharedChainIndex,
) {
    let index = common::beijing_index();
    let addresses = AddressMatcher::from_index(&index);
    let chain = SharedChainIndex::load(db).unwrap();
    (index, addresses, chain)
}

fn plan() -> Plan {
    Plan {
        start: NaiveDate::from_ymd_opt(2026, 1, 12).unwrap(),
        days: 3,
        seed: 7,
        scale: 0.03,
        hotspots: 3,
    }
}

#[test]
fn simulated_winter_days_look_like_beijing_and_a_second_run_adds_nothing() {
    let t = TestDb::beijing();
    let db = t.open();
    let (index, addresses, chain) = geo_parts(&db);
    let geo = Geo {
        index: &index,
        addresses: &addresses,
        chain: &chain,
    };
    let mut last = None;
    let (sum, truth) = simulate::run(&db, &geo, plan(), chrono::Utc::now().naive_utc(), |p| {
        last = Some(p)
    })
    .unwrap();
    let last = last.expect("progress was reported");
    assert_eq!(last.done, sum.tickets + sum.reports);
    assert_eq!(sum.rejected, 0);
    assert!(sum.tickets > 900 && sum.reports > 150, "{sum:?}");

    let mut c = db.writer().unwrap();
    let tickets = count(&mut c, "SELECT COUNT(*) AS n FROM tickets");
    assert_eq!(tickets as u64, sum.tickets);
    // Some tickets give only an address; most of those are placed by the names in it, a few wait for a person.
    let no_point = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM tickets WHERE lon IS NULL",
    );
    let share = no_point as f64 / tickets as f64;
    assert!((0.06..0.20).contains(&share), "address-only share {share}");
    let by_name = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM tickets WHERE lon IS NULL AND location_precision = 'community'",
    );
    assert!(
        by_name * 2 > no_point,
        "{by_name} of {no_point} placed at a community"
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) AS n FROM tickets WHERE place_code IS NULL"
        ) as u64,
        sum.unplaced_tickets
    );
    assert!(sum.unplaced_tickets > 0 && sum.unplaced_tickets * 20 < sum.tickets);
    // Repeat callers, and buildings calling together.
    assert!(sum.repeat_tickets > 0);
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) AS n FROM tickets WHERE repeat_of IS NOT NULL"
        ) as u64,
        sum.repeat_tickets
    );
    // January: heating is the most common topic; 朝阳 calls far more than 延庆.
    let heating = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM tickets WHERE topic_code = '0701'",
    );
    let top_other = count(
        &mut c,
        "SELECT MAX(k) AS n FROM (SELECT COUNT(*) AS k FROM tickets WHERE topic_code <> '0701' GROUP BY topic_code) x",
    );
    assert!(heating > top_other, "heating {heating}, next {top_other}");
    let chaoyang = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM tickets WHERE district_code = '110105'",
    );
    let yanqing = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM tickets WHERE district_code = '110119'",
    );
    assert!(chaoyang > 4 * yanqing, "朝阳 {chaoyang}, 延庆 {yanqing}");
    // Patrol reports come from the cell's own grid member, mostly on sanitation and street order.
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) AS n FROM reports WHERE outside_scope"
        ),
        0
    );
    let street = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM reports WHERE topic_code LIKE '01%' OR topic_code LIKE '02%'",
    );
    assert!(
        street * 10 > 7 * sum.reports as i64,
        "{street} of {}",
        sum.reports
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) AS n FROM reports WHERE reporter_id NOT LIKE 'person_%'"
        ),
        0
    );

    // Each planted hotspot's tickets are there, near its centre, on its topic, in its days.
    assert_eq!(truth.hotspots.len(), 3);
    let points: Vec<Point> = diesel::sql_query(
        "SELECT topic_code, lon, lat, received_at FROM tickets WHERE lon IS NOT NULL",
    )
    .load(&mut *c)
    .unwrap();
    for h in &truth.hotspots {
        assert!(h.tickets > 0, "{h:?}");
        assert!(h.cell.starts_with(&h.community));
        let from = h.from.and_hms_opt(0, 0, 0).unwrap() - chrono::Duration::hours(8);
        let to = h.to.and_hms_opt(23, 59, 59).unwrap() - chrono::Duration::hours(8);
        let near = points
            .iter()
            .filter(|p| {
                p.topic_code == h.topic
                    && (from..=to).contains(&p.received_at)
                    && haversine_m((p.lon.unwrap(), p.lat.unwrap()), (h.lon, h.lat))
                        <= h.radius_m + 5.0
            })
            .count();
        assert!(near as u32 >= h.tickets, "{near} near {h:?}");
    }
    drop(c);

    // The same seed again: everything is recognised, nothing new is stored.
    let (again, _) =
        simulate::run(&db, &geo, plan(), chrono::Utc::now().naive_utc(), |_| {}).unwrap();
    assert_eq!(again.tickets + again.reports, 0, "{again:?}");
    assert_eq!(again.skipped, sum.tickets + sum.reports);

    // The export of the same plan is byte-for-byte the same each time and holds exactly the filed tickets.
    let mut a = Vec::new();
    let mut b = Vec::new();
    let (n, _) = simulate::export(&db, &geo, plan(), &mut a, |_| {}).unwrap();
    simulate::export(&db, &geo, plan(), &mut b, |_| {}).unwrap();
    assert_eq!(a, b);
    assert_eq!(n, sum.tickets);
    assert_eq!(a.iter().filter(|&&x| x == b'\n').count() as u64, n);
}

#[derive(QueryableByName)]
struct Step {
    #[diesel(sql_type = Text)]
    case_id: String,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Text)]
    from_status: String,
    #[diesel(sql_type = Text)]
    to_status: String,
    #[diesel(sql_type = Text)]
    actor_role: String,
    #[diesel(sql_type = Timestamp)]
    at: chrono::NaiveDateTime,
}

#[test]
fn simulated_cases_are_handled_only_by_steps_the_workflow_allows() {
    use gridline::domain::access::Role;
    use gridline::domain::workflow::{self, Action, Origin, Status};
    let t = TestDb::beijing();
    let db = t.open();
    let (index, addresses, chain) = geo_parts(&db);
    let geo = Geo {
        index: &index,
        addresses: &addresses,
        chain: &chain,
    };
    let plan = Plan {
        days: 6,
        scale: 0.01,
        ..plan()
    };
    let until = NaiveDate::from_ymd_opt(2026, 1, 18)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    simulate::run(&db, &geo, plan, chrono::Utc::now().naive_utc(), |_| {}).unwrap();
    let work = simulate::work::play(&db, 7, until, |_| {}).unwrap();
    assert!(work.dispatched > 300, "{work:?}");
    assert!(work.replied > work.dispatched / 2, "{work:?}");
    assert!(
        work.closed > 0 && work.reopened > 0 && work.self_resolved > 0,
        "{work:?}"
    );
    assert!(work.callbacks > 0);
    // Played again: nothing is received any more but what the rules cannot route.
    let again = simulate::work::play(&db, 7, until, |_| {}).unwrap();
    assert_eq!(again.dispatched, 0, "{again:?}");

    let mut c = db.writer().unwrap();
    let steps: Vec<Step> = diesel::sql_query(
        "SELECT case_id, action, from_status, to_status, actor_role, at FROM case_transitions \
         ORDER BY case_id, seq",
    )
    .load(&mut *c)
    .unwrap();
    assert!(steps.len() as u64 > work.dispatched * 3);
    let mut previous: Option<&Step> = None;
    for s in &steps {
        let first = previous.is_none_or(|p| p.case_id != s.case_id);
        if first {
            assert_eq!(s.from_status, "received", "{}", s.case_id);
        } else {
            let p = previous.unwrap();
            assert_eq!(p.to_status, s.from_status, "{}", s.case_id);
            assert!(p.at <= s.at, "{}", s.case_id);
        }
        assert!(s.at <= until);
        let from = Status::parse(&s.from_status).unwrap();
        let action = Action::parse(&s.action).unwrap();
        let role = Role::parse(&s.actor_role).unwrap();
        let allowed = [Origin::Hotline, Origin::Patrol].into_iter().any(|o| {
            workflow::decide(from, o, role, action).is_ok_and(|st| st.to.as_str() == s.to_status)
        });
        assert!(
            allowed,
            "{} {} by {} from {}",
            s.case_id, s.action, s.actor_role, s.from_status
        );
        previous = Some(s);
    }
    // Each case's status is where its last step left it; dispatched cases have their clocks.
    let mismatched = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM cases k JOIN case_transitions t ON t.case_id = k.id \
         WHERE t.seq = (SELECT MAX(seq) FROM case_transitions u WHERE u.case_id = k.id) AND t.to_status <> k.status",
    );
    assert_eq!(mismatched, 0);
    let dispatched_without_work = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM case_transitions t WHERE t.action = 'dispatch' \
         AND NOT EXISTS (SELECT 1 FROM case_work w WHERE w.case_id = t.case_id)",
    );
    assert_eq!(dispatched_without_work, 0);
    // A reopened case is handled again as a street would: none whose reopen lies more than three days (three times
    // the longest response time) before the end is left with the reopen as its last step, and its work is in a
    // new cycle that counts from the reopen.
    let cutoff = (until - chrono::Duration::days(3))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let reopened_early = count(
        &mut c,
        &format!(
            "SELECT COUNT(DISTINCT case_id) AS n FROM case_transitions WHERE action = 'reopen' AND at < '{cutoff}'"
        ),
    );
    assert!(
        reopened_early > 0,
        "the simulation reopens cases early enough to see them handled again"
    );
    let left_unhandled = count(
        &mut c,
        &format!(
            "SELECT COUNT(*) AS n FROM case_transitions t WHERE t.action = 'reopen' AND t.at < '{cutoff}' \
             AND t.seq = (SELECT MAX(seq) FROM case_transitions u WHERE u.case_id = t.case_id)"
        ),
    );
    assert_eq!(
        left_unhandled, 0,
        "{reopened_early} cases reopened before {cutoff}"
    );
    let second_round = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM ticket_callbacks WHERE round = 2",
    );
    assert!(second_round > 0);
    let wrong_cycle = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM case_work w WHERE w.cycle <> 1 + (SELECT COUNT(*) FROM case_transitions t \
         WHERE t.case_id = w.case_id AND t.action = 'reopen') \
         OR w.cycle_started_at <> COALESCE((SELECT MAX(t.at) FROM case_transitions t \
         WHERE t.case_id = w.case_id AND t.action = 'reopen'), w.dispatched_at)",
    );
    assert_eq!(wrong_cycle, 0);
    let reached = count(
        &mut c,
        "SELECT COUNT(*) AS n FROM ticket_callbacks WHERE contacted",
    );
    let all = count(&mut c, "SELECT COUNT(*) AS n FROM ticket_callbacks");
    assert!(
        reached * 100 > all * 85 && reached < all,
        "{reached} of {all}"
    );

    // Evidence is attached to its case as a real step attaches it, so the photo rule reads it the same way.
    let evidence: Vec<Evidence> = diesel::sql_query(
        "SELECT k.id AS case_id, k.place_code, t.evidence, t.actor_id FROM case_transitions t \
         JOIN cases k ON k.id = t.case_id WHERE t.evidence <> '[]'",
    )
    .load(&mut *c)
    .unwrap();
    assert!(evidence.len() > 100, "{}", evidence.len());
    let uses: Vec<Use> = diesel::sql_query(
        "SELECT sha256, item_id, attached_by, vouched FROM photo_uses WHERE kind = 'case'",
    )
    .load(&mut *c)
    .unwrap();
    let uses: std::collections::HashMap<(String, String), &Use> = uses
        .iter()
        .map(|u| ((u.sha256.clone(), u.item_id.clone()), u))
        .collect();
    for e in &evidence {
        let shas: Vec<String> = serde_json::from_str(&e.evidence).unwrap();
        for sha in shas {
            let u = uses
                .get(&(sha.clone(), e.case_id.clone()))
                .unwrap_or_else(|| panic!("no use of {sha} on {}", e.case_id));
            assert!(u.vouched && u.attached_by == e.actor_id, "{sha}");
        }
    }
    // A simulated photo is read through its case: by its street, not by another.
    let e = evidence
        .iter()
        .find(|e| e.place_code.as_ref().is_some_and(|p| p.len() >= 9))
        .unwrap();
    let place = e.place_code.clone().unwrap();
    let sha: Vec<String> = serde_json::from_str(&e.evidence).unwrap();
    let at = chrono::Utc::now().naive_utc();
    gridline::store::photos::insert_photo(
        &mut c,
        &gridline::store::photos::PhotoRow {
            sha256: sha[0].clone(),
            size: 1,
            mime: "image/jpeg".into(),
            width: 1,
            height: 1,
            exif_lon: None,
            exif_lat: None,
            exif_taken_at: None,
            uploaded_by: e.actor_id.clone(),
            created_at: at,
            exif_unreadable: false,
        },
    )
    .unwrap();
    let handler = |places: &str| gridline::domain::access::Principal {
        id: "reader".into(),
        username: "reader".into(),
        display_name: "reader".into(),
        role: Role::StreetHandler,
        places: vec![places.to_owned()],
        topics: Vec::new(),
    };
    let elsewhere = if place.starts_with("110101") {
        "110105026"
    } else {
        "110101001"
    };
    assert!(
        gridline::service::sync::photos::may_read(&mut c, &handler(&place[..9]), &sha[0]).unwrap()
    );
    assert!(
        !gridline::service::sync::photos::may_read(&mut c, &handler(elsewhere), &sha[0]).unwrap()
    );
}

#[derive(QueryableByName)]
struct Evidence {
    #[diesel(sql_type = Text)]
    case_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    place_code: Option<String>,
    #[diesel(sql_type = Text)]
    evidence: String,
    #[diesel(sql_type = Text)]
    actor_id: String,
}

#[derive(QueryableByName)]
struct Use {
    #[diesel(sql_type = Text)]
    sha256: String,
    #[diesel(sql_type = Text)]
    item_id: String,
    #[diesel(sql_type = Text)]
    attached_by: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    vouched: bool,
}
