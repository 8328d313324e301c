//! `gridline report ...`: reports written to standard output (the monthly report: to a folder), with the same
//! figures the API answers.

use super::open;
use crate::config::DbArgs;
use crate::domain::access::Role;
use clap::Subcommand;

/// Which report.
#[derive(Debug, Subcommand)]
pub enum ReportWhat {
    /// The monthly assessment (一份卷子) of the whole city, ranked: rates, score, points, month-on-month change
    /// (the same figures as GET /api/v1/assessment).
    Assessment {
        /// The month, YYYY-MM (Beijing time).
        #[arg(long)]
        month: String,
        /// street, district, department or handler.
        #[arg(long, default_value = "street")]
        level: String,
        /// csv (a header line, one line per entity) or json (what the API answers).
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
    },
    /// The heat map of the whole city: tickets and cases per place of a level over a window of days, with the
    /// period before (the same figures as GET /api/v1/heatmap).
    Heatmap {
        /// district, street, community or cell.
        #[arg(long)]
        level: String,
        /// First day, YYYY-MM-DD (Beijing).
        #[arg(long)]
        from: String,
        /// Last day, included.
        #[arg(long)]
        to: String,
        /// First- or second-level topic code (repeatable).
        #[arg(long)]
        topic: Vec<String>,
        /// hotline, patrol, mixed or proactive (repeatable).
        #[arg(long)]
        source: Vec<String>,
        /// open, closed or overdue (repeatable).
        #[arg(long)]
        status: Vec<String>,
        /// csv (a header line, one line per place) or geojson (what the API answers).
        #[arg(long, default_value = "csv", value_parser = ["csv", "geojson"])]
        format: String,
    },
    /// The monthly topic (每月一题) report of the city or of one district: report.html (one file, readable offline)
    /// and report.md with the topic ranking, the candidates for next month's list and PNG maps (calls per street,
    /// the newest hot spot scan's clusters), written to a folder.
    Monthly {
        /// The month, YYYY-MM (Beijing time).
        #[arg(long)]
        month: String,
        /// Only this district (6-digit code); default: the whole city.
        #[arg(long)]
        district: Option<String>,
        /// The folder to write to (created if missing).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Width of the maps in pixels (64 to 4096).
        #[arg(long, default_value_t = 1000)]
        width: u32,
    },
}

/// The CSV columns of `report assessment`.
pub const ASSESSMENT_CSV_HEADER: [&str; 24] = [
    "rank",
    "code",
    "name",
    "tickets",
    "responded",
    "reached",
    "resolved",
    "partly_resolved",
    "unresolved",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "score",
    "points",
    "response_rate_change",
    "resolution_rate_change",
    "satisfaction_rate_change",
    "score_change",
    "whistles_summoned",
    "whistles_late",
    "whistles_missing",
];

/// Runs `gridline report WHAT`.
pub(super) fn run(what: ReportWhat, db: &DbArgs) -> anyhow::Result<()> {
    match what {
        ReportWhat::Assessment {
            month,
            level,
            format,
        } => report_assessment(&month, &level, &format, db),
        ReportWhat::Heatmap {
            level,
            from,
            to,
            topic,
            source,
            status,
            format,
        } => super::analytics::report_heatmap(
            &open(db)?,
            &level,
            &from,
            &to,
            &topic,
            &source,
            &status,
            &format,
        ),
        ReportWhat::Monthly {
            month,
            district,
            out,
            width,
        } => super::monthly::run(&month, district.as_deref(), &out, width, db),
    }
}

fn report_assessment(month: &str, level: &str, format: &str, db: &DbArgs) -> anyhow::Result<()> {
    use crate::http::assessment::AssessmentDto;
    use crate::service::assessment as service;
    use std::io::Write;
    let month = service::parse_month(Some(month))?;
    let level = service::parse_level(Some(level))?;
    let db = open(db)?;
    let everyone =
        crate::domain::access::Principal::machine("report", "gridline report", Role::Admin);
    let a: AssessmentDto = service::assess(&db, &everyone, month, level, super::now())?.into();
    let mut out = std::io::stdout().lock();
    if format == "json" {
        serde_json::to_writer_pretty(&mut out, &a)?;
        writeln!(out)?;
        return Ok(());
    }
    // Rates to 4 decimals, scores and points to 2, nothing for a missing value.
    let num =
        |x: Option<f64>, places: usize| x.map_or_else(String::new, |x| format!("{x:.places$}"));
    let mut w = csv::Writer::from_writer(out);
    w.write_record(ASSESSMENT_CSV_HEADER)?;
    for e in &a.entries {
        let whistle = |f: fn(&crate::http::assessment::WhistleDto) -> i64| {
            e.whistles
                .as_ref()
                .map_or_else(String::new, |x| f(x).to_string())
        };
        w.write_record([
            e.rank.map_or_else(String::new, |r| r.to_string()),
            e.code.clone(),
            e.name.clone().unwrap_or_default(),
            e.tickets.to_string(),
            e.responded.to_string(),
            e.reached.to_string(),
            e.resolved.to_string(),
            e.partly_resolved.to_string(),
            e.unresolved.to_string(),
            e.satisfied.to_string(),
            e.basically_satisfied.to_string(),
            e.dissatisfied.to_string(),
            num(e.response_rate, 4),
            num(e.resolution_rate, 4),
            num(e.satisfaction_rate, 4),
            num(e.score, 2),
            num(Some(e.points), 2),
            num(e.change.response_rate, 4),
            num(e.change.resolution_rate, 4),
            num(e.change.satisfaction_rate, 4),
            num(e.change.score, 2),
            whistle(|x| x.summoned),
            whistle(|x| x.late),
            whistle(|x| x.missing),
        ])?;
    }
    w.flush()?;
    Ok(())
}
