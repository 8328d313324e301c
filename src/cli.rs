//! The command line: `serve`, `migrate`, `geodata build|check|import`, `locate`.

use crate::config::{DbArgs, ServeArgs};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
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

/// `gridline geodata ...`
#[derive(Debug, Subcommand)]
pub enum GeodataAction {
    /// Generate the default Beijing dataset from geodata/source into geodata/beijing.
    Build {
        /// Random seed; the same seed gives the same bytes.
        #[arg(long, default_value_t = crate::geo::build::DEFAULT_SEED)]
        seed: u64,
        /// Directory holding beijing-districts.geojson and beijing-divisions.csv.
        #[arg(long, default_value = "geodata/source")]
        source: PathBuf,
        /// Where to write the layers.
        #[arg(long, default_value = "geodata/beijing")]
        out: PathBuf,
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
        Command::Serve(args) => serve(args),
        Command::Migrate(db) => {
            let url = db.database_url()?;
            let db = crate::db::Db::connect(&url, 2).context("opening the database")?;
            let loaded = crate::service::geodata::ensure_loaded(&db)?;
            println!(
                "migrations applied{}",
                if loaded {
                    "; the default Beijing dataset was loaded"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Geodata {
            action: GeodataAction::Build { seed, source, out },
        } => crate::geo::build::build_to_dir(&source, &out, seed),
        Command::Locate { lon, lat, crs, db } => {
            let p = crate::geo::lonlat::Lonlat::parse(Some(&lon), Some(&lat), Some(&crs))
                .map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))?;
            let state = crate::app::prepare(&db.database_url()?, 2)?;
            let located = state.index.locate(p.lon, p.lat).ok_or_else(|| {
                anyhow::anyhow!(
                    "lon={:.6}, lat={:.6} is outside the jurisdiction (outside_jurisdiction)",
                    p.lon,
                    p.lat
                )
            })?;
            let mut out = String::new();
            for place in &located.chain {
                out.push_str(&format!(
                    "{:<10} {}  {}\n",
                    place.level.as_str(),
                    place.code,
                    place.name
                ));
            }
            if let Some((b, d)) = located.building {
                out.push_str(&format!(
                    "{:<10} {}  {} ({} households, {:.0} m away)\n",
                    "building", b.code, b.name, b.households, d
                ));
            }
            let method = match located.method {
                crate::geo::index::Method::Exact => "exact".to_owned(),
                crate::geo::index::Method::Snapped => {
                    format!("snapped ({:.0} m)", located.snap_distance_m)
                }
            };
            out.push_str(&format!("{:<10} {}\n", "method", method));
            print!("{out}");
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let url = args.db.database_url()?;
    let workers = args.workers()?;
    let state = crate::app::prepare(&url, (workers as u32 * 4).max(8))?;
    actix_web::rt::System::new().block_on(async move {
        let (server, addr) = crate::app::server(state, args.bind, workers)
            .with_context(|| format!("cannot listen on {}", args.bind))?;
        tracing::info!(%addr, workers, "listening");
        server.await.context("server failed")
    })
}
