//! `gridline chain ...`: the responsibility chain as CSV, applied all or nothing.

use super::{now, open, read_file};
use crate::config::DbArgs;
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// `gridline chain ...`
#[derive(Debug, Subcommand)]
pub enum ChainAction {
    /// Apply a CSV of assignments (id,kind,target,person_id,unit_id,valid_from,valid_to), all or nothing.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Write every assignment, history included, as CSV.
    Export {
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `gridline chain ACTION`.
pub(super) fn run(action: ChainAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::chain;
    let db = open(db)?;
    crate::service::admin::geodata::ensure_loaded(&db)?;
    match action {
        ChainAction::Import { file } => {
            let bytes = read_file(&file)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))?;
            // No server runs in this process: the index the import refreshes is this process's own, empty one.
            let index = chain::index::SharedChainIndex::default();
            match chain::import_csv(&db, &index, &text, now()) {
                Ok(n) => println!(
                    "applied {n} assignments. Restart a running server to see them in its chains."
                ),
                Err(Ok(errors)) => {
                    for e in &errors {
                        println!("line {}: {}", e.line, e.message);
                    }
                    anyhow::bail!(
                        "{}: {} bad line(s); nothing was changed",
                        file.display(),
                        errors.len()
                    );
                }
                Err(Err(e)) => return Err(e.into()),
            }
        }
        ChainAction::Export { out } => {
            let n = match out {
                Some(path) => {
                    let f = std::fs::File::create(&path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    chain::export_csv(&db, std::io::BufWriter::new(f))?
                }
                None => chain::export_csv(&db, std::io::stdout().lock())?,
            };
            eprintln!("exported {n} assignments");
        }
    }
    Ok(())
}
