//! `gridline geodata ...`: build the default dataset, check a boundary file, import a level (all or nothing).

use super::{open, read_file};
use crate::config::DbArgs;
use crate::geo::place::Level;
use crate::geo::validate::Problem;
use clap::Subcommand;
use std::path::PathBuf;

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
    /// Validate a GeoJSON boundary file and print every problem with the feature's code.
    Check {
        /// A GeoJSON FeatureCollection (may be gzip-compressed) with `code` and `name` properties, WGS-84.
        file: PathBuf,
        /// The level: district, street, community, cell or building (default: from each code's length).
        #[arg(long, value_parser = parse_level)]
        level: Option<Layer>,
        /// Check the file alone, not against the places of the level above in the database.
        #[arg(long)]
        standalone: bool,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replace one level with the places of a file; refused, changing nothing, if the check finds any problem.
    Import {
        /// A GeoJSON FeatureCollection (may be gzip-compressed) with `code` and `name` properties, WGS-84.
        file: PathBuf,
        /// The level the file holds: district, street, community, cell or building.
        #[arg(long, value_parser = parse_level)]
        level: Layer,
        /// Remove the levels below (and buildings) when they would no longer nest; import them next, top-down.
        #[arg(long)]
        drop_below: bool,
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs `gridline geodata ACTION`.
pub(super) fn run(action: GeodataAction) -> anyhow::Result<()> {
    match action {
        GeodataAction::Build { seed, source, out } => {
            crate::geo::build::build_to_dir(&source, &out, seed)
        }
        GeodataAction::Check {
            file,
            level,
            standalone,
            db,
        } => geodata_check(&file, level, standalone, &db),
        GeodataAction::Import {
            file,
            level,
            drop_below,
            db,
        } => geodata_import(&file, level, drop_below, &db),
    }
}

/// A layer a file can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Polygons of one level of the hierarchy.
    Places(Level),
    /// Building points.
    Buildings,
}

fn parse_level(s: &str) -> Result<Layer, String> {
    match (s, Level::parse(s)) {
        ("building", _) => Ok(Layer::Buildings),
        (_, Some(Level::City) | None) => Err(format!(
            "{s:?} is not one of district, street, community, cell, building"
        )),
        (_, Some(l)) => Ok(Layer::Places(l)),
    }
}

fn print_problems(problems: &[Problem]) {
    for p in problems {
        println!("{}\t{}\t{}", p.feature, p.kind, p.message);
    }
}

fn geodata_check(
    file: &std::path::Path,
    level: Option<Layer>,
    standalone: bool,
    db: &DbArgs,
) -> anyhow::Result<()> {
    use crate::service::admin::geodata;
    let bytes = read_file(file)?;
    let db = if standalone && level != Some(Layer::Buildings) {
        None
    } else {
        Some(open(db)?)
    };
    if let Some(db) = &db {
        geodata::ensure_loaded(db)?;
    }
    let (count, problems) = match (level, &db) {
        (Some(Layer::Buildings), Some(db)) => {
            let (buildings, problems) = geodata::check_buildings_file(db, &bytes)?;
            (buildings.len(), problems)
        }
        (level, db) => {
            let level = match level {
                Some(Layer::Places(l)) => Some(l),
                _ => None,
            };
            let (places, problems) = geodata::check_file(db.as_ref(), &bytes, level)?;
            (places.len(), problems)
        }
    };
    print_problems(&problems);
    if !problems.is_empty() {
        anyhow::bail!("{}: {} problem(s)", file.display(), problems.len());
    }
    println!("{}: {count} features, no problems", file.display());
    Ok(())
}

fn geodata_import(
    file: &std::path::Path,
    level: Layer,
    drop_below: bool,
    db: &DbArgs,
) -> anyhow::Result<()> {
    use crate::service::admin::geodata::{self, ImportError};
    let bytes = read_file(file)?;
    let db = open(db)?;
    geodata::ensure_loaded(&db)?;
    let refused = |problems: Vec<Problem>| {
        print_problems(&problems);
        anyhow::anyhow!(
            "{}: {} problem(s); nothing was imported",
            file.display(),
            problems.len()
        )
    };
    match level {
        Layer::Places(level) => match geodata::import(&db, &bytes, level, drop_below, super::now())
        {
            Ok(r) => println!(
                "imported {} {} places (replacing {}); removed below: {} places, {} buildings. Restart the server to use them.",
                r.inserted, r.level, r.removed, r.dropped_below, r.dropped_buildings
            ),
            Err(ImportError::Refused(problems)) => return Err(refused(problems)),
            Err(e) => return Err(e.into()),
        },
        Layer::Buildings => match geodata::import_buildings(&db, &bytes, super::now()) {
            Ok((removed, inserted)) => {
                println!(
                    "imported {inserted} buildings (replacing {removed}). Restart the server to use them."
                )
            }
            Err(ImportError::Refused(problems)) => return Err(refused(problems)),
            Err(e) => return Err(e.into()),
        },
    }
    Ok(())
}
