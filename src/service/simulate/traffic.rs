//! The simulated day: hotline tickets and patrol reports as the hotline and the phones would send them, in time
//! order. Tickets come where people live, in the topic mix of the season and the rhythm of the day; some give only
//! an address; some callers call again; some buildings call together (a heating failure, a burst pipe); planted
//! hotspots raise a topic in one place for some days. Deterministic: the same seed gives the same traffic.

use crate::geo::crs::{Crs, from_wgs84};
use crate::service::chain::seed::{fake_mobile, fake_name};
use crate::service::intake::{CallerInput, LocationInput, ReportInput, TicketInput};
use crate::service::simulate::model;
use crate::service::simulate::world::{Spot, World, scatter};
use chrono::{Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::VecDeque;

/// Share of tickets that give only an address, no point.
pub const ADDRESS_ONLY_SHARE: f64 = 0.12;
/// Share of tickets from a caller who called on the same topic at the same place before.
pub const REPEAT_SHARE: f64 = 0.05;
/// Chance per ticket on a building topic that the whole building calls (5-10 more callers within hours).
const INCIDENT_SHARE: f64 = 0.004;
/// Callers remembered for repeat calls.
const RECENT_CALLERS: usize = 20_000;
/// Topics a planted hotspot may raise: place-bound problems an analyst can see on a map.
const HOTSPOT_TOPICS: [&str; 8] = [
    "0101", "0201", "0203", "0501", "0502", "0601", "0901", "0304",
];
/// Topics where whole buildings call together.
const BUILDING_TOPICS: [&str; 4] = ["0701", "0702", "0802", "0803"];

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// First day (Beijing time).
    pub start: NaiveDate,
    /// Number of days.
    pub days: u32,
    /// Random seed.
    pub seed: u64,
    /// Share of Beijing's volume (1.0: about 13,000 tickets and 3,000 patrol reports a day).
    pub scale: f64,
    /// Planted hotspots.
    pub hotspots: usize,
}

/// A topic the simulation may use.
#[derive(Debug, Clone)]
pub struct Topic {
    /// Four-digit code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
}

/// A planted hotspot and what was planted (the ground truth an analysis should find).
#[derive(Debug, Clone, Serialize)]
pub struct Hotspot {
    /// The cell at its centre.
    pub cell: String,
    /// The community.
    pub community: String,
    /// The community's name.
    pub community_name: String,
    /// The topic raised.
    pub topic: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Extra tickets a day.
    pub per_day: u32,
    /// Centre (WGS-84).
    pub lon: f64,
    /// Centre (WGS-84).
    pub lat: f64,
    /// Extra tickets fall within this distance of the centre.
    pub radius_m: f64,
    /// Extra tickets generated.
    pub tickets: u32,
}

/// One thing that happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// A hotline ticket.
    Ticket(TicketInput),
    /// A patrol report by the grid member of `cell`.
    Report {
        /// The report.
        input: ReportInput,
        /// The cell whose grid member files it.
        cell: String,
    },
}

#[derive(Debug, Clone)]
struct Caller {
    name: String,
    phone: String,
    topic: usize,
    building: (f64, f64),
    address: String,
}

/// The generator.
pub struct Traffic<'a> {
    world: &'a World<'a>,
    topics: Vec<Topic>,
    patrol_pick: Option<WeightedIndex<f64>>,
    plan: Plan,
    rng: ChaCha8Rng,
    recent: VecDeque<Caller>,
    hotspots: Vec<Hotspot>,
    beijing: FixedOffset,
}

fn local_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Utc.fix())
}

impl<'a> Traffic<'a> {
    /// Plans the traffic (and its hotspots) over these topics.
    pub fn new(world: &'a World<'a>, topics: Vec<Topic>, plan: Plan) -> Traffic<'a> {
        let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
        let codes: Vec<&str> = topics.iter().map(|t| t.code.as_str()).collect();
        let patrol_pick = WeightedIndex::new(model::patrol_topic_weights(&codes)).ok();
        let hotspot_topics: Vec<&str> = HOTSPOT_TOPICS
            .iter()
            .copied()
            .filter(|t| codes.contains(t))
            .collect();
        let mut hotspots = Vec::new();
        if !hotspot_topics.is_empty() {
            for _ in 0..plan.hotspots {
                let spot = world.spot(&mut rng);
                let length = rng.random_range(5..=14).min(plan.days.max(1));
                let from = plan.start
                    + Duration::days(i64::from(
                        rng.random_range(0..=plan.days.saturating_sub(length)),
                    ));
                hotspots.push(Hotspot {
                    cell: spot.cell().to_owned(),
                    community: spot.community.code.clone(),
                    community_name: spot.community.name.clone(),
                    topic: hotspot_topics[rng.random_range(0..hotspot_topics.len())].to_owned(),
                    from,
                    to: from + Duration::days(i64::from(length) - 1),
                    per_day: ((rng.random_range(4.0..12.0) * plan.scale.max(0.05)).round() as u32)
                        .max(2),
                    lon: spot.building.lon,
                    lat: spot.building.lat,
                    radius_m: 120.0,
                    tickets: 0,
                });
            }
        }
        Traffic {
            world,
            topics,
            patrol_pick,
            plan,
            rng,
            recent: VecDeque::new(),
            hotspots,
            beijing: local_offset(),
        }
    }

    /// The planted hotspots, with the tickets generated so far.
    pub fn hotspots(&self) -> &[Hotspot] {
        &self.hotspots
    }

    /// Tickets and reports planned over all days (building incidents come on top).
    pub fn planned(&self) -> u64 {
        let codes: Vec<&str> = self.topics.iter().map(|t| t.code.as_str()).collect();
        (0..self.plan.days)
            .map(|k| {
                let day = self.plan.start + Duration::days(i64::from(k));
                let (t, r) = self.volume(&codes, day);
                let h: u32 = self
                    .hotspots
                    .iter()
                    .filter(|h| (h.from..=h.to).contains(&day))
                    .map(|h| h.per_day)
                    .sum();
                u64::from(t + r + h)
            })
            .sum()
    }

    fn volume(&self, codes: &[&str], day: NaiveDate) -> (u32, u32) {
        let f = self.plan.scale * model::weekday_factor(day);
        let tickets = model::TICKETS_PER_DAY * f * model::season_volume(codes, day.month());
        let reports = model::REPORTS_PER_DAY * f;
        (tickets.round() as u32, reports.round() as u32)
    }

    /// The events of the `k`-th day, in time order.
    pub fn day(&mut self, k: u32) -> Vec<(NaiveDateTime, Event)> {
        let day = self.plan.start + Duration::days(i64::from(k));
        let owned: Vec<String> = self.topics.iter().map(|t| t.code.clone()).collect();
        let codes: Vec<&str> = owned.iter().map(String::as_str).collect();
        let (tickets, reports) = self.volume(&codes, day);
        let Ok(topic_pick) = WeightedIndex::new(model::ticket_topic_weights(&codes, day.month()))
        else {
            return Vec::new();
        };
        let mut out: Vec<(NaiveDateTime, Event)> = Vec::new();
        let mut seq = 0u32;
        for _ in 0..tickets {
            let topic = topic_pick.sample(&mut self.rng);
            let at = self.time_of_day(day, |h| model::hourly_weight(codes[topic], h));
            if self.rng.random_bool(REPEAT_SHARE) && !self.recent.is_empty() {
                let caller = self.recent[self.rng.random_range(0..self.recent.len())].clone();
                let point = scatter(caller.building.0, caller.building.1, 20.0, &mut self.rng);
                let t = self.ticket(&mut seq, day, at, &caller, Some(point));
                out.push((at, t));
                continue;
            }
            let spot = self.world.spot(&mut self.rng);
            let radius = radius_for(codes[topic]);
            let caller = self.new_caller(topic, spot);
            let point = (!self.rng.random_bool(ADDRESS_ONLY_SHARE))
                .then(|| scatter(spot.building.lon, spot.building.lat, radius, &mut self.rng));
            out.push((at, self.ticket(&mut seq, day, at, &caller, point)));
            if BUILDING_TOPICS.contains(&codes[topic]) && self.rng.random_bool(INCIDENT_SHARE) {
                for _ in 0..self.rng.random_range(5..=10) {
                    let later = at + Duration::minutes(self.rng.random_range(1..360));
                    let neighbour = self.new_caller(topic, spot);
                    let p = scatter(spot.building.lon, spot.building.lat, 15.0, &mut self.rng);
                    let t = self.ticket(&mut seq, day, later, &neighbour, Some(p));
                    out.push((later, t));
                }
            }
        }
        for h in 0..self.hotspots.len() {
            let spot = &self.hotspots[h];
            if !(spot.from..=spot.to).contains(&day) {
                continue;
            }
            let Some(topic) = codes.iter().position(|c| *c == spot.topic) else {
                continue;
            };
            let (lon, lat, radius, n) = (spot.lon, spot.lat, spot.radius_m, spot.per_day);
            let community = self.world.community(&spot.community);
            for _ in 0..n {
                let at = self.time_of_day(day, |h| model::hourly_weight(codes[topic], h));
                let mut caller = match community {
                    Some(c) => {
                        let s = self.world.in_community(c, &mut self.rng);
                        self.new_caller(topic, s)
                    }
                    None => continue,
                };
                caller.building = (lon, lat);
                let p = scatter(lon, lat, radius, &mut self.rng);
                out.push((at, self.ticket(&mut seq, day, at, &caller, Some(p))));
                self.hotspots[h].tickets += 1;
            }
        }
        if let Some(pick) = self.patrol_pick.clone() {
            for _ in 0..reports {
                let topic = pick.sample(&mut self.rng);
                let at = self.time_of_day(day, model::patrol_hour_weight);
                let spot = self.world.spot(&mut self.rng);
                let (lon, lat) = self.world.near_in_cell(&spot, 60.0, &mut self.rng);
                let fixed = codes[topic].starts_with("01") && self.rng.random_bool(0.3);
                let id = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
                out.push((
                    at,
                    Event::Report {
                        input: ReportInput {
                            id: Some(id.hyphenated().to_string()),
                            reported_at: Some(self.local(at)),
                            topic: codes[topic].to_owned(),
                            text: format!(
                                "巡查发现{}{}附近{}。",
                                spot.community.name, spot.building.name, self.topics[topic].name_zh
                            ),
                            location: LocationInput {
                                lon,
                                lat,
                                crs: None,
                            },
                            photos: Vec::new(),
                            fixed_on_the_spot: fixed,
                        },
                        cell: spot.cell().to_owned(),
                    },
                ));
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out
    }

    fn time_of_day(&mut self, day: NaiveDate, weight: impl Fn(u32) -> f64) -> NaiveDateTime {
        let hours: Vec<f64> = (0..24).map(&weight).collect();
        let hour = WeightedIndex::new(&hours).map_or(12, |w| w.sample(&mut self.rng) as u32);
        let seconds = hour * 3600 + self.rng.random_range(0..3600);
        day.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::seconds(i64::from(seconds))
    }

    fn local(&self, at: NaiveDateTime) -> chrono::DateTime<FixedOffset> {
        self.beijing
            .from_local_datetime(&at)
            .single()
            .unwrap_or_else(|| self.beijing.from_utc_datetime(&at))
    }

    fn new_caller(&mut self, topic: usize, spot: Spot<'_>) -> Caller {
        let c = spot.community;
        let address = match self.rng.random_range(0..10) {
            0..=3 => format!("{}{}{}{}", c.district, c.street, c.name, spot.building.name),
            4..=6 => format!("{}{}{}", c.street, c.name, spot.building.name),
            7 | 8 => format!("{}{}附近", c.name, spot.building.name),
            _ => format!("{}{}附近", c.district, c.street),
        };
        let caller = Caller {
            name: fake_name(&mut self.rng),
            phone: fake_mobile(&mut self.rng),
            topic,
            building: (spot.building.lon, spot.building.lat),
            address,
        };
        if self.recent.len() >= RECENT_CALLERS {
            self.recent.pop_front();
        }
        self.recent.push_back(caller.clone());
        caller
    }

    fn ticket(
        &mut self,
        seq: &mut u32,
        day: NaiveDate,
        at: NaiveDateTime,
        caller: &Caller,
        point: Option<(f64, f64)>,
    ) -> Event {
        *seq += 1;
        let topic = &self.topics[caller.topic];
        let address = if point.is_none() && self.rng.random_bool(0.08) {
            // Some callers cannot say where: the ticket waits for a person to place it.
            "我家楼下".to_owned()
        } else {
            caller.address.clone()
        };
        let location = point.map(|(lon, lat)| {
            let crs = match self.rng.random_range(0..20) {
                0..=15 => Crs::Wgs84,
                16..=18 => Crs::Gcj02,
                _ => Crs::Bd09,
            };
            let (x, y) = from_wgs84(crs, lon, lat);
            LocationInput {
                lon: (x * 1e6).round() / 1e6,
                lat: (y * 1e6).round() / 1e6,
                crs: Some(crs.as_str().to_owned()),
            }
        });
        let (request_type, text) = match topic.code.as_str() {
            "9901" => ("enquiry", format!("咨询{}相关政策。", caller.address)),
            "9902" => (
                "praise",
                format!("表扬{}工作人员服务热情。", caller.address),
            ),
            _ => {
                let types = ["complaint", "complaint", "help", "report", "suggestion"];
                let endings = [
                    "请尽快处理。",
                    "已经好几天了，希望有关部门解决。",
                    "影响居民生活，请相关部门核实。",
                    "多次反映未解决。",
                ];
                (
                    types[self.rng.random_range(0..types.len())],
                    format!(
                        "市民反映{}{}问题，{}",
                        caller.address,
                        topic.name_zh,
                        endings[self.rng.random_range(0..endings.len())]
                    ),
                )
            }
        };
        let channels = [
            "phone", "phone", "phone", "phone", "phone", "phone", "phone", "app", "wechat", "web",
        ];
        Event::Ticket(TicketInput {
            ticket_no: format!("SIM{}-{}-{:06}", self.plan.seed, day.format("%Y%m%d"), seq),
            received_at: Some(self.local(at)),
            channel: channels[self.rng.random_range(0..channels.len())].to_owned(),
            request_type: request_type.to_owned(),
            topic: topic.code.clone(),
            text,
            caller: CallerInput {
                name: caller.name.clone(),
                phone: caller.phone.clone(),
                confidential: self.rng.random_bool(0.03),
            },
            address: Some(address).filter(|_| point.is_none() || self.rng.random_bool(0.6)),
            location,
        })
    }
}

/// How far from the caller's building the problem is: at home for utilities, housing and neighbours' noise, in
/// the street for the rest.
fn radius_for(topic: &str) -> f64 {
    match topic.get(..2) {
        Some("07" | "08") => 15.0,
        Some("06") => 40.0,
        Some("10" | "11" | "99") => 30.0,
        _ => 90.0,
    }
}
