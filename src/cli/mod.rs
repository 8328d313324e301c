//! The command line: `serve`, `migrate`, `geodata build|check|import`, `locate`, `report assessment`, `phone`, ...
//! This file holds the top level (the clap tree and the dispatch); each command group lives in its own file.

mod analytics;
mod chain;
mod forewarning;
mod geodata;
mod hotspots;
mod import;
mod locate;
mod monthly;
mod policy;
mod report;
mod scan;
mod serve;
mod simulate;
mod topics;
mod user;
mod work;

pub use chain::ChainAction;
pub use geodata::{GeodataAction, Layer};
pub use import::ImportWhat;
pub use policy::PolicyAction;
pub use report::{ASSESSMENT_CSV_HEADER, ReportWhat};
pub use simulate::SimulateArgs;
pub use topics::TopicsAction;
pub use user::{ApiKeyAction, UserAction};
pub use work::WorkAction;

use crate::config::{DbArgs, ServeArgs};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// gridline: 12345 hotline tickets and grid management on one map.
#[derive(Debug, Parser)]
#[command(name = "gridline", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (loads the Beijing dataset on first start).
    Serve(ServeArgs),
    /// Apply database migrations and load the default dataset if the database is empty, then exit.
    Migrate(DbArgs),
    /// Geodata: build the default dataset, check or import boundaries.
    Geodata {
        /// What to do with geodata.
        #[command(subcommand)]
        action: GeodataAction,
    },
    /// Manage user accounts.
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserAction,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Bulk changes to the responsibility chain.
    Chain {
        /// What to do.
        #[command(subcommand)]
        action: ChainAction,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// The topic taxonomy: replace it from a CSV file (all or nothing) or export it.
    Topics {
        /// What to do.
        #[command(subcommand)]
        action: TopicsAction,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Policy values (deadlines, the escalation ladder, dual dispatch, ...): list, set (checked), unset.
    Policy {
        /// What to do.
        #[command(subcommand)]
        action: PolicyAction,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// The case workflow's scheduled work.
    Work {
        /// What to do.
        #[command(subcommand)]
        action: WorkAction,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Bulk imports.
    Import {
        /// What to import.
        #[command(subcommand)]
        what: ImportWhat,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Simulate realistic activity (hotline tickets, patrol reports, planted hotspots) through the intake services.
    Simulate(SimulateArgs),
    /// Manage API keys for machine clients (e.g. the hotline system's integration).
    Apikey {
        /// What to do.
        #[command(subcommand)]
        action: ApiKeyAction,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// The heat-map counts: recompute them from the raw rows.
    Analytics {
        /// What to do.
        #[command(subcommand)]
        action: analytics::AnalyticsAction,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Reports, written to standard output.
    Report {
        /// Which report.
        #[command(subcommand)]
        what: ReportWhat,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// The reference phone client: record reports offline in a local SQLite file, sync when the network is up.
    Phone(crate::phone::cli::PhoneArgs),
    /// Hot spot scans of a polygon layer from a file (Getis-Ord Gi*).
    Scan {
        /// Which scan.
        #[command(subcommand)]
        what: scan::ScanWhat,
    },
    /// Print the place chain of a point, as GET /api/v1/locate answers it.
    Locate {
        /// Longitude.
        #[arg(allow_negative_numbers = true)]
        lon: String,
        /// Latitude.
        #[arg(allow_negative_numbers = true)]
        lat: String,
        /// The CRS of the point: wgs84, gcj02 or bd09.
        #[arg(long, default_value = "wgs84")]
        crs: String,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs the command line; the exit code is 0 on success.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Structured logs on stderr: `RUST_LOG` filters (default `info`), `GRIDLINE_LOG_FORMAT=json` for JSON lines.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("GRIDLINE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Migrate(db) => serve::migrate(&db),
        Command::Geodata { action } => geodata::run(action),
        Command::User { action, db } => user::run(action, &db),
        Command::Apikey { action, db } => user::apikey_command(action, &db),
        Command::Chain { action, db } => chain::run(action, &db),
        Command::Topics { action, db } => topics::run(action, &db),
        Command::Work { action, db } => work::run(action, &db),
        Command::Policy { action, db } => policy::run(action, &db),
        Command::Simulate(args) => simulate::run(&args),
        Command::Import { what, db } => import::run(what, &db),
        Command::Phone(args) => crate::phone::cli::run(args),
        Command::Scan { what } => scan::run(what),
        Command::Locate { lon, lat, crs, db } => locate::run(&lon, &lat, &crs, &db),
        Command::Report { what, db } => report::run(what, &db),
        Command::Analytics { action, db } => analytics::analytics(action, &open(&db)?),
    }
}

/// The time a command acts at: the system's clock (nothing moves a command's clock).
fn now() -> chrono::NaiveDateTime {
    crate::clock::Clock::default().now()
}

/// Opens the database (migrations applied) with a small pool, as every command but `serve` needs it; its
/// connections are opened before the command starts, so none is still being opened when the command exits.
fn open(db: &DbArgs) -> anyhow::Result<crate::db::Db> {
    crate::db::Db::connect_opened(&db.database_url()?, 2).context("opening the database")
}

/// The largest boundary file read (compressed or not).
const MAX_FILE_BYTES: u64 = 512 << 20;

/// Reads a whole input file, refusing one larger than [`MAX_FILE_BYTES`].
fn read_file(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        anyhow::bail!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_FILE_BYTES >> 20
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// A progress bar on stderr counting `unit`s, with the rate and the time left.
fn progress_bar(unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  {{elapsed}} elapsed, {{eta}} left"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
