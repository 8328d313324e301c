//! `gridline simulate ...` and `serve --demo`: simulated activity through the intake services, its planted
//! hotspots written as JSON.

use super::progress_bar;
use crate::config::DbArgs;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

/// `gridline simulate ...`
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Days to simulate (1-366).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// First day, YYYY-MM-DD (default: DAYS days before today).
    #[arg(long)]
    pub start: Option<chrono::NaiveDate>,
    /// Random seed: the same seed gives the same traffic (and a second run files nothing new).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of Beijing's volume (1.0: about 13,000 tickets and 3,000 patrol reports a day).
    #[arg(long, default_value_t = 1.0, value_parser = crate::config::parse_scale)]
    pub scale: f64,
    /// Hotspots to plant (0-100).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(0..=100))]
    pub hotspots: u16,
    /// Where to write the planted hotspots (default: DATA_DIR/simulation-truth.json).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Write the hotline tickets as JSON Lines to this file (for `gridline import tickets`) instead of filing them.
    #[arg(long)]
    pub export: Option<PathBuf>,
    /// Then handle the simulated cases as streets would (dispatch, accept, reply, callbacks, close or reopen) up
    /// to the end of the simulated days or now, whichever is earlier.
    #[arg(long, conflicts_with = "export")]
    pub workflow: bool,
    /// Database.
    #[command(flatten)]
    pub db: DbArgs,
}

pub(super) fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    use crate::service::simulate::{self, traffic::Plan};
    use std::io::Write;
    let plan = Plan {
        start: args
            .start
            .unwrap_or_else(|| super::now().date() - chrono::Duration::days(i64::from(args.days))),
        days: args.days,
        seed: args.seed,
        scale: args.scale,
        hotspots: usize::from(args.hotspots),
    };
    let plan_end = plan.start + chrono::Duration::days(i64::from(plan.days));
    let state = crate::http::state::prepare(&args.db.database_url()?, 2)?;
    let bar = progress_bar("items");
    let progress = |p: simulate::Progress| {
        bar.set_length(p.planned);
        bar.set_position(p.done);
    };
    let started = std::time::Instant::now();
    let mut out = std::io::stdout().lock();
    let truth = if let Some(path) = &args.export {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut w = std::io::BufWriter::new(file);
        let (tickets, truth) = simulate::export(&state.db, &state.geo(), plan, &mut w, progress)?;
        bar.finish_and_clear();
        writeln!(
            out,
            "{tickets} tickets written to {} in {:.1} s",
            path.display(),
            started.elapsed().as_secs_f64()
        )?;
        truth
    } else {
        let (sum, truth) = simulate::run(&state.db, &state.geo(), plan, super::now(), progress)?;
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        writeln!(
            out,
            "{} tickets and {} patrol reports in {secs:.1} s ({:.0} items/s): {} cases opened, {} repeat tickets, \
             {} group requests, {} tickets waiting to be placed, {} already there, {} refused",
            sum.tickets,
            sum.reports,
            (sum.tickets + sum.reports) as f64 / secs.max(1e-9),
            sum.cases_opened,
            sum.repeat_tickets,
            sum.group_cases,
            sum.unplaced_tickets,
            sum.skipped,
            sum.rejected
        )?;
        tracing::info!(?sum, "simulation finished");
        if args.workflow {
            let end = plan_end
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .min(super::now());
            let started = std::time::Instant::now();
            let bar = progress_bar("cases");
            let work = simulate::work::play(&state.db, args.seed, end, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            writeln!(
                out,
                "handled up to {end}: {} cases dispatched, {} replied, {} closed, {} reopened, {} fixed on the spot, \
                 {} callbacks, {} left for a dispatcher, in {:.1} s",
                work.dispatched,
                work.replied,
                work.closed,
                work.reopened,
                work.self_resolved,
                work.callbacks,
                work.unrouted,
                started.elapsed().as_secs_f64()
            )?;
        }
        truth
    };
    let path = args
        .truth
        .clone()
        .unwrap_or_else(|| args.db.data_dir.join("simulation-truth.json"));
    write_truth(&path, &truth)?;
    writeln!(
        out,
        "{} planted hotspots written to {}",
        truth.hotspots.len(),
        path.display()
    )?;
    Ok(())
}

/// Writes the planted hotspots of a simulation (its ground truth) as JSON.
fn write_truth(
    path: &std::path::Path,
    truth: &crate::service::simulate::GroundTruth,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(truth)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// `serve --demo`: a month of simulated activity up to today, when no case is stored yet; the planted hotspots are
/// written to `truth_path` as `simulate` writes them.
pub(super) fn demo_data(
    state: &crate::http::state::AppState,
    scale: f64,
    truth_path: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::service::simulate::{self, traffic::Plan};
    if crate::service::cases::read::any_stored(&state.db)? {
        tracing::info!("demo: cases are already stored; no simulated data added");
        return Ok(());
    }
    let plan = Plan {
        start: super::now().date() - chrono::Duration::days(30),
        days: 30,
        seed: 1,
        scale,
        hotspots: 6,
    };
    tracing::info!(
        scale,
        "demo: simulating a month of activity before listening"
    );
    let mut last = std::time::Instant::now();
    let (sum, truth) = simulate::run(&state.db, &state.geo(), plan, super::now(), |p| {
        if last.elapsed().as_secs() >= 5 {
            last = std::time::Instant::now();
            tracing::info!(done = p.done, planned = p.planned, "demo: simulating");
        }
    })?;
    let work = simulate::work::play(&state.db, 1, super::now(), |n| {
        if last.elapsed().as_secs() >= 5 {
            last = std::time::Instant::now();
            tracing::info!(cases = n, "demo: handling the simulated cases");
        }
    })?;
    tracing::info!(?work, "demo: simulated handling done");
    write_truth(truth_path, &truth)?;
    tracing::info!(
        tickets = sum.tickets,
        reports = sum.reports,
        cases = sum.cases_opened,
        hotspots = truth.hotspots.len(),
        truth = %truth_path.display(),
        "demo: simulated data ready (planted hotspots written to the truth file)"
    );
    Ok(())
}
