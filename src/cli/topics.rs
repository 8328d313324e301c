//! `gridline topics ...`: the topic taxonomy as CSV, replaced all or nothing.

use super::{open, read_file};
use crate::config::DbArgs;
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// What to do with the topic taxonomy.
#[derive(Debug, Subcommand)]
pub enum TopicsAction {
    /// Replace the taxonomy from a CSV file (header: code,parent_code,name_zh,name_en,time_class,grid_class,
    /// department,merge_radius_m,merge_window_hours,merge_same_building,season — season `MM-DD..MM-DD` or empty, and
    /// the column may be left out); topics left out become inactive.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Write the active taxonomy as CSV.
    Export {
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `gridline topics ACTION`.
pub(super) fn run(action: TopicsAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::admin::topics::{self, TopicError};
    let db = open(db)?;
    topics::ensure_loaded(&db)?;
    match action {
        TopicsAction::Import { file } => {
            let bytes = read_file(&file)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))?;
            match topics::import_csv(&db, &text) {
                Ok(n) => println!(
                    "the taxonomy now has {n} active topics and classes (a running server reads it at once)"
                ),
                Err(TopicError::Invalid(errors)) => {
                    for e in &errors {
                        println!("{e}");
                    }
                    anyhow::bail!(
                        "{}: {} bad line(s); nothing was changed",
                        file.display(),
                        errors.len()
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        TopicsAction::Export { out } => {
            let text = topics::export_csv(&db)?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}
