//! The command line: `serve`, `migrate`, `geodata build|check|import`, `locate`.

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
    /// Geodata: build the default dataset, check or import boundaries.
    Geodata {
        /// What to do with geodata.
        #[command(subcommand)]
        action: GeodataAction,
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
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Geodata { action: GeodataAction::Build { seed, source, out } } => crate::geo::build::build_to_dir(&source, &out, seed),
    }
}
