//! `gridline scan hotspots`: the city's hot spot scan (the same use-case as `POST /api/v1/scans`) from the command
//! line, city-wide or inside one place, with a progress bar; writes the clusters as JSON and prints one line per
//! cluster. A refusal is one line starting with its stable code and a non-zero exit.

use super::progress_bar;
use crate::config::DbArgs;
use crate::domain::access::{Principal, Role};
use crate::error::ServiceError;
use crate::service::hotspots::params::{self, ScanRequest};
use crate::service::hotspots::scan::{self, ScanResult};
use crate::service::hotspots::{ScanError, jobs};
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `scan hotspots`.
#[derive(Debug, Args)]
pub struct HotspotsArgs {
    /// First day, YYYY-MM-DD (Beijing).
    #[arg(long)]
    pub from: String,
    /// Last day, included.
    #[arg(long)]
    pub to: String,
    /// A topic code (2 or 4 digits), scanned on its own; repeatable. None: every second-level topic.
    #[arg(long = "topic")]
    pub topics: Vec<String>,
    /// The layer: cell, community or street.
    #[arg(long, default_value = "cell")]
    pub layer: String,
    /// Only inside this place (a district, street or community code).
    #[arg(long)]
    pub within: Option<String>,
    /// Neighbours: queen, rook or distance:METRES.
    #[arg(long, default_value = "queen")]
    pub weights: String,
    /// Previous windows of the same length taken as each place's usual (0: households only).
    #[arg(long, default_value_t = params::DEFAULT_HISTORY)]
    pub history: u32,
    /// Permutations for the pseudo p-value: 0 for none, else 99 to 9999.
    #[arg(long, default_value_t = 0)]
    pub permutations: u32,
    /// Seed of the permutations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Bins without the false discovery rate correction.
    #[arg(long)]
    pub no_fdr: bool,
    /// Where to write the result (JSON); default: printed clusters only.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// One cluster as a line of text: rank, topic, centre, units, calls (all and counted), expected, strongest z.
pub(super) fn cluster_line(cl: &scan::Cluster) -> String {
    format!(
        "#{} topic {} centre {} ({:.6}, {:.6}) units {} calls {} (counted {}) expected {:.1} z {:.2}",
        cl.rank,
        cl.topic,
        cl.centre.code,
        cl.centre.lon,
        cl.centre.lat,
        cl.units.len(),
        cl.observed,
        cl.counted,
        cl.expected,
        cl.strongest_z
    )
}

fn refuse(e: &ScanError) -> anyhow::Error {
    anyhow::anyhow!("{}: {e}", e.code().unwrap_or("scan_failed"))
}

/// Runs `scan hotspots`.
pub fn run(args: &HotspotsArgs) -> anyhow::Result<()> {
    let state = crate::http::state::prepare(&args.db.database_url()?, 2)?;
    let mut user = Principal::machine("cli", "command line", Role::Admin);
    if let Some(w) = &args.within {
        if state.index.place(w).is_none() {
            anyhow::bail!("place_not_found: no place has the code {w:?}");
        }
        user.role = Role::Leader;
        user.places = vec![w.clone()];
    }
    let req = ScanRequest {
        kind: Some("gistar".into()),
        layer: Some(args.layer.clone()),
        topics: args.topics.clone(),
        from: Some(args.from.clone()),
        to: Some(args.to.clone()),
        weights: Some(args.weights.clone()),
        permutations: Some(args.permutations),
        seed: Some(args.seed),
        history: Some(args.history),
        fdr: Some(!args.no_fdr),
        step: None,
    };
    let mut c = state.db.reader()?;
    let p = params::check(&mut c, &user, &req).map_err(|e| refuse(&e))?;
    drop(c);
    crate::service::analytics::counts::current(&state.db, super::now())?;
    jobs::precheck(&state.db, &state.index, &p).map_err(|e| refuse(&e))?;
    let bar = progress_bar("%");
    bar.set_length(100);
    let started = std::time::Instant::now();
    let result = scan::run(&state.db, &state.index, &p, &mut |share| {
        bar.set_position((share * 100.0).round() as u64);
    })
    .map_err(|e| refuse(&e))?;
    bar.finish_and_clear();
    let ScanResult::Gistar(found) = &result else {
        anyhow::bail!("scan_failed: a gistar scan answered another kind");
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} clusters ({} candidates) over {} {}s, {} to {}, baseline {}{} in {:.1} s",
        found.clusters.len(),
        found.candidates,
        found.units,
        found.layer,
        found.from,
        found.to,
        found.baseline.kind,
        if found.baseline.windows > 0 {
            format!(" ({} previous windows)", found.baseline.windows)
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    )?;
    for cl in &found.clusters {
        writeln!(out, "{}", cluster_line(cl))?;
    }
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_vec_pretty(&result)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "written to {}", path.display())?;
    }
    Ok(())
}
