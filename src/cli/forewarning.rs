//! `gridline scan forewarning`: the seasonal forewarning (冬病夏治) the scheduler proposes after every pass, now (or
//! as of `--date`): one scan of last season per seasonal topic and district due, each run once; prints one line per
//! proposal and one per cluster. A refusal is one line starting with its stable code and a non-zero exit.

use crate::config::DbArgs;
use crate::domain::access::{Principal, Role};
use crate::domain::time::parse_day;
use crate::error::ServiceError;
use crate::service::hotspots::scan::ScanResult;
use crate::service::hotspots::{forewarning, jobs};
use clap::Args;
use std::io::Write;

/// Arguments of `scan forewarning`.
#[derive(Debug, Args)]
pub struct ForewarningArgs {
    /// The day to propose as of, YYYY-MM-DD (Beijing; default: today).
    #[arg(long)]
    pub date: Option<String>,
    /// Database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `scan forewarning`.
pub fn run(args: &ForewarningArgs) -> anyhow::Result<()> {
    let state = crate::http::state::prepare(&args.db.database_url()?, 2)?;
    let clock = crate::clock::Clock::default();
    let today = match &args.date {
        Some(d) => {
            parse_day("date", Some(d.as_str())).map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?
        }
        None => crate::analytics::counts::local_day(super::now()),
    };
    let started = std::time::Instant::now();
    let proposed = forewarning::propose_on(&state.db, &state.index, &clock, today)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code().unwrap_or("forewarning_failed")))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} forewarning(s) proposed as of {today} in {:.1} s",
        proposed.len(),
        started.elapsed().as_secs_f64()
    )?;
    let reader = Principal::machine("cli", "command line", Role::Admin);
    for p in &proposed {
        let scan = jobs::get(&state.db, &reader, &p.scan_id)
            .map_err(|e| anyhow::anyhow!("{}: {e}", e.code().unwrap_or("scan_failed")))?;
        let clusters = match &scan.result {
            Some(ScanResult::Gistar(found)) => found.clusters.as_slice(),
            _ => &[],
        };
        writeln!(
            out,
            "district {} topic {} season starts {}: last season {} to {}, scan {} {}{}, {} cluster(s)",
            p.district,
            p.topic,
            p.season_starts,
            p.from,
            p.to,
            scan.id,
            scan.status,
            scan.error
                .as_ref()
                .map(|(code, message)| format!(" ({code}: {message})"))
                .unwrap_or_default(),
            clusters.len()
        )?;
        for cl in clusters {
            writeln!(out, "  {}", super::hotspots::cluster_line(cl))?;
        }
    }
    if !proposed.is_empty() {
        writeln!(
            out,
            "a leader accepts a cluster with POST /api/v1/scans/{{id}}/tasks (GET /api/v1/forewarnings lists them)"
        )?;
    }
    Ok(())
}
