//! The numbers behind simulated traffic, from DESIGN.md's "Realistic volumes": Beijing's 12345 takes about 13,000
//! requests needing dispatch a day; districts weigh by their 2020 census population; the topic mix follows the 2020
//! mix (market 19.5 %, utilities + housing 25 %, labour/health/education 26 %, construction 10.9 %, transport 9.4 %,
//! social order 9.2 %); heating complaints peak from November to March, noise, barbecues and waterlogging in summer;
//! calls follow the working day. Pure functions and tables, no I/O.

use chrono::{Datelike, NaiveDate, Weekday};

/// Hotline tickets a day for all of Beijing at scale 1, before the season (30 days ≈ 400,000 tickets).
pub const TICKETS_PER_DAY: f64 = 13_000.0;
/// Patrol reports a day for all of Beijing at scale 1.
pub const REPORTS_PER_DAY: f64 = 3_000.0;

/// 2020 census population of Beijing's districts, in thousands.
pub const DISTRICT_POPULATION: [(&str, f64); 16] = [
    ("110101", 709.0),
    ("110102", 1_106.0),
    ("110105", 3_452.0),
    ("110106", 2_019.0),
    ("110107", 568.0),
    ("110108", 3_133.0),
    ("110109", 393.0),
    ("110111", 1_313.0),
    ("110112", 1_841.0),
    ("110113", 1_324.0),
    ("110114", 2_269.0),
    ("110115", 1_993.0),
    ("110116", 441.0),
    ("110117", 457.0),
    ("110118", 528.0),
    ("110119", 346.0),
];

/// The weight of a district: its population (thousands), or for a district not in the census table, the mean.
pub fn district_weight(code: &str) -> f64 {
    DISTRICT_POPULATION
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(1_368.0, |(_, p)| *p)
}

/// Share of hotline tickets per topic class, in per cent (sums to 100).
const CLASS_SHARE: [(&str, f64); 13] = [
    ("01", 2.5),
    ("02", 2.2),
    ("03", 2.5),
    ("04", 1.5),
    ("05", 6.9),
    ("06", 3.5),
    ("07", 11.0),
    ("08", 14.0),
    ("09", 9.4),
    ("10", 19.5),
    ("11", 22.0),
    ("12", 1.0),
    ("99", 4.0),
];

/// Share of patrol reports per topic class, in per cent: mostly sanitation and street order.
const PATROL_SHARE: [(&str, f64); 5] = [
    ("01", 55.0),
    ("02", 30.0),
    ("03", 8.0),
    ("04", 4.0),
    ("05", 3.0),
];

/// The season of a topic in a month (1 = its usual level).
pub fn seasonal_factor(topic: &str, month: u32) -> f64 {
    let summer = matches!(month, 6..=8);
    match topic {
        // Heating: trial firing in late October, the season from 15 November to 15 March.
        "0701" => match month {
            11 => 4.0,
            12 | 1 => 5.0,
            2 => 3.5,
            3 => 2.0,
            10 => 0.8,
            _ => 0.05,
        },
        "0203" => match month {
            5..=9 => 3.0,
            4 | 10 => 1.2,
            _ => 0.2,
        },
        "0304" => match month {
            7 | 8 => 6.0,
            6 | 9 => 2.0,
            _ => 0.1,
        },
        "0601" | "0501" if summer => 1.8,
        "0601" | "0501" if matches!(month, 5 | 9) => 1.3,
        "0401" | "0703" if summer => 1.6,
        "0602" if summer => 1.4,
        "1104" if matches!(month, 4..=8) => 2.0,
        _ => 1.0,
    }
}

/// How busy the hotline is in each hour of the day (Beijing time); the mean is about 1.
const HOURLY: [f64; 24] = [
    0.20, 0.12, 0.08, 0.06, 0.06, 0.10, 0.30, 0.70, 1.30, 1.80, 1.90, 1.70, 1.20, 1.30, 1.60, 1.70,
    1.60, 1.30, 1.00, 1.00, 1.00, 0.90, 0.70, 0.40,
];

/// The weight of an hour for a topic: night noise and barbecue calls come in the evening and at night.
pub fn hourly_weight(topic: &str, hour: u32) -> f64 {
    let base = HOURLY[(hour % 24) as usize];
    match topic {
        "0501" | "0601" | "0203" if !(2..20).contains(&hour) => base * 3.0,
        _ => base,
    }
}

/// Patrols happen in the working day (08:00-18:00).
pub fn patrol_hour_weight(hour: u32) -> f64 {
    if (8..18).contains(&hour) { 1.0 } else { 0.0 }
}

/// Fewer calls at the weekend.
pub fn weekday_factor(day: NaiveDate) -> f64 {
    match day.weekday() {
        Weekday::Sat | Weekday::Sun => 0.8,
        _ => 1.0,
    }
}

/// Relative weights of the given topics in a month for the hotline: the class share spread over the class's
/// topics, times the season. `topics` are four-digit codes.
pub fn ticket_topic_weights(topics: &[&str], month: u32) -> Vec<f64> {
    weights(topics, &CLASS_SHARE, month)
}

/// Relative weights of the given topics for patrol reports (no season: patrols see what is there).
pub fn patrol_topic_weights(topics: &[&str]) -> Vec<f64> {
    weights(topics, &PATROL_SHARE, 0)
}

fn weights(topics: &[&str], shares: &[(&str, f64)], month: u32) -> Vec<f64> {
    let class_of = |t: &str| t.get(..2).unwrap_or("").to_owned();
    topics
        .iter()
        .map(|t| {
            let class = class_of(t);
            let share = shares
                .iter()
                .find(|(c, _)| *c == class)
                .map_or(0.0, |(_, s)| *s);
            let siblings = topics
                .iter()
                .filter(|o| class_of(o) == class)
                .count()
                .max(1);
            let season = if month == 0 {
                1.0
            } else {
                seasonal_factor(t, month)
            };
            share / siblings as f64 * season
        })
        .collect()
}

/// How much busier than usual the hotline is in a month: the season's weights against the usual ones.
pub fn season_volume(topics: &[&str], month: u32) -> f64 {
    let usual: f64 = weights(topics, &CLASS_SHARE, 0).iter().sum();
    if usual <= 0.0 {
        return 1.0;
    }
    ticket_topic_weights(topics, month).iter().sum::<f64>() / usual
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPICS: [&str; 8] = [
        "0101", "0203", "0601", "0701", "0702", "1001", "1101", "9901",
    ];

    #[test]
    fn shares_sum_to_one_hundred() {
        assert!((CLASS_SHARE.iter().map(|c| c.1).sum::<f64>() - 100.0).abs() < 1e-9);
        assert!((PATROL_SHARE.iter().map(|c| c.1).sum::<f64>() - 100.0).abs() < 1e-9);
        let total: f64 = DISTRICT_POPULATION.iter().map(|d| d.1).sum();
        assert!((21_000.0..23_000.0).contains(&total), "{total}");
    }

    #[test]
    fn heating_peaks_in_winter_and_barbecue_in_summer() {
        let w = |month| ticket_topic_weights(&TOPICS, month);
        let heating = |m| w(m)[3] / w(m).iter().sum::<f64>();
        let barbecue = |m| w(m)[1] / w(m).iter().sum::<f64>();
        assert!(heating(1) > 10.0 * heating(7));
        assert!(barbecue(7) > 5.0 * barbecue(1));
        assert!(season_volume(&TOPICS, 1) > season_volume(&TOPICS, 5));
    }

    #[test]
    fn utilities_split_their_share_between_topics() {
        let w = ticket_topic_weights(&TOPICS, 5);
        // 0701 and 0702 share class 07's 11 %; 0702 has no season.
        assert!((w[4] - 5.5).abs() < 1e-9);
    }

    #[test]
    fn patrols_see_sanitation_and_street_order_and_not_wages() {
        let w = patrol_topic_weights(&TOPICS);
        assert!(w[0] > 0.0 && w[1] > 0.0);
        assert_eq!(w[6], 0.0);
        assert_eq!(patrol_hour_weight(3), 0.0);
    }

    #[test]
    fn the_working_day_is_busier_than_the_night_and_night_noise_is_late() {
        assert!(hourly_weight("1001", 10) > 5.0 * hourly_weight("1001", 3));
        assert!(hourly_weight("0601", 23) > hourly_weight("1001", 23));
        let sat = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
        assert!(weekday_factor(sat) < 1.0);
        assert!((district_weight("110105") - 3_452.0).abs() < 1e-9);
    }
}
