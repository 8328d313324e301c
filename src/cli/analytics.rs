//! `gridline analytics rebuild` (recompute the heat-map counts from the raw rows and report every difference) and
//! `gridline report heatmap` (the heat map of the whole city as CSV or GeoJSON, as GET /api/v1/heatmap answers it).

use crate::db::Db;
use crate::domain::access::Principal;
use crate::domain::access::Role;
use clap::Subcommand;
use std::io::Write;

/// `gridline analytics ...`
#[derive(Debug, Subcommand)]
pub enum AnalyticsAction {
    /// Recompute the heat-map counts from the raw cases and tickets and print every row that differed; stores the
    /// recomputed counts unless --check. Exits with an error when a difference was found with --check.
    Rebuild {
        /// Only compare: change nothing.
        #[arg(long)]
        check: bool,
        /// The time the status classes are taken at (default: now), e.g. 2026-03-31T16:00:00.
        #[arg(long)]
        now: Option<chrono::NaiveDateTime>,
    },
}

/// Runs an `analytics` action.
pub fn analytics(action: AnalyticsAction, db: &Db) -> anyhow::Result<()> {
    match action {
        AnalyticsAction::Rebuild { check, now } => {
            let now = now.unwrap_or_else(super::now);
            let diffs = crate::service::analytics::counts::rebuild(db, now, !check)?;
            let mut out = std::io::stdout().lock();
            for d in &diffs {
                let k = &d.key;
                writeln!(
                    out,
                    "{} {} {} topic {} source {} {}: stored {} tickets {} cases, raw rows {} tickets {} cases",
                    k.level,
                    k.place,
                    k.day,
                    k.topic,
                    k.source,
                    k.class.as_str(),
                    d.stored.tickets,
                    d.stored.cases,
                    d.counted.tickets,
                    d.counted.cases
                )?;
            }
            writeln!(
                out,
                "{} difference(s){}",
                diffs.len(),
                if check {
                    ""
                } else {
                    "; the counts now equal the raw rows"
                }
            )?;
            if check && !diffs.is_empty() {
                anyhow::bail!(
                    "the kept counts differ from the raw rows in {} row(s)",
                    diffs.len()
                );
            }
            Ok(())
        }
    }
}

/// `gridline report heatmap`: the whole city's heat map.
#[expect(clippy::too_many_arguments, reason = "one per command-line option")]
pub fn report_heatmap(
    db: &Db,
    level: &str,
    from: &str,
    to: &str,
    topics: &[String],
    sources: &[String],
    statuses: &[String],
    format: &str,
) -> anyhow::Result<()> {
    use crate::error::ServiceError;
    use crate::http::heatmap::{HeatMapDto, csv};
    use crate::service::analytics::heatmap::{self as service, HeatRequest};
    let index = crate::service::admin::geodata::load_index(db)?;
    let everyone = Principal::machine("report", "gridline report", Role::Admin);
    let req = HeatRequest {
        level: Some(level.to_owned()),
        from: Some(from.to_owned()),
        to: Some(to.to_owned()),
        topics: topics.to_vec(),
        sources: sources.to_vec(),
        statuses: statuses.to_vec(),
        within: None,
    };
    let h: HeatMapDto = service::heatmap(db, &index, &everyone, &req, super::now())
        .map_err(|e| anyhow::anyhow!("{} ({})", e, e.code().unwrap_or("database")))?
        .into();
    let mut out = std::io::stdout().lock();
    if format == "geojson" {
        serde_json::to_writer_pretty(&mut out, &h)?;
        writeln!(out)?;
    } else {
        out.write_all(csv(&h).as_bytes())?;
    }
    Ok(())
}
