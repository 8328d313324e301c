//! `gridline import ...`: resumable bulk imports; refused rows go to a rejects file with their line and reason.

use super::progress_bar;
use crate::config::DbArgs;
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Hotline tickets from a CSV or JSON Lines export: resumable (ticket numbers already stored are skipped), bad
    /// rows go to a rejects file with their line numbers and reasons.
    Tickets {
        /// The export (.csv, or .jsonl / .ndjson).
        file: PathBuf,
        /// The format, when the file name does not say.
        #[arg(long, value_parser = ["csv", "jsonl"])]
        format: Option<String>,
        /// Where to write refused rows (default: FILE.rejects.csv).
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Rows per transaction.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
}

/// Runs `gridline import WHAT`.
pub(super) fn run(what: ImportWhat, db: &DbArgs) -> anyhow::Result<()> {
    match what {
        ImportWhat::Tickets {
            file,
            format,
            rejects,
            batch,
        } => import_tickets(&file, format.as_deref(), rejects, batch, db),
    }
}

fn import_tickets(
    file: &std::path::Path,
    format: Option<&str>,
    rejects: Option<PathBuf>,
    batch: u32,
    db: &DbArgs,
) -> anyhow::Result<()> {
    use crate::service::intake::ticket_import::{self, Format};
    use std::io::{BufRead, Write};
    let format = match format {
        Some("csv") => Format::Csv,
        Some(_) => Format::JsonLines,
        None => Format::from_path(file).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: say --format csv or --format jsonl (the name does not end in .csv or .jsonl)",
                file.display()
            )
        })?,
    };
    let open_file = || {
        std::fs::File::open(file)
            .map(std::io::BufReader::new)
            .with_context(|| format!("cannot read {}", file.display()))
    };
    let lines = open_file()?.split(b'\n').count();
    let state = crate::http::state::prepare(&db.database_url()?, 2)?;
    let (db, geo) = (&state.db, state.geo());
    let actor = crate::domain::access::Principal::machine(
        &format!(
            "import:{}",
            file.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ),
        "bulk import",
        crate::domain::access::Role::HotlineOperator,
    );
    let rejects_path = rejects.unwrap_or_else(|| {
        let mut p = file.as_os_str().to_owned();
        p.push(".rejects.csv");
        PathBuf::from(p)
    });
    let mut rejects_out = csv::Writer::from_path(&rejects_path)
        .with_context(|| format!("cannot write {}", rejects_path.display()))?;
    rejects_out.write_record(["line", "ticket_no", "code", "reason"])?;
    let bar = progress_bar("rows");
    bar.set_length(lines.saturating_sub(usize::from(format == Format::Csv)) as u64);
    let started = std::time::Instant::now();
    let mut write_error = None;
    let summary = ticket_import::import(
        db,
        &geo,
        &actor,
        ticket_import::rows(open_file()?, format),
        batch as usize,
        super::now,
        |done| bar.set_position(done as u64),
        |r| {
            if let Err(e) =
                rejects_out.write_record([r.line.to_string(), r.ticket_no, r.code, r.reason])
            {
                write_error.get_or_insert(e);
            }
        },
    );
    bar.finish_and_clear();
    rejects_out.flush()?;
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("cannot write {}", rejects_path.display()));
    }
    let summary = summary?;
    let secs = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} rows in {secs:.1} s ({:.0} rows/s): {} imported, {} already there (skipped), {} rejected{}",
        summary.rows,
        summary.rows as f64 / secs.max(1e-9),
        summary.imported,
        summary.skipped,
        summary.rejected,
        if summary.rejected > 0 {
            format!(" (see {})", rejects_path.display())
        } else {
            String::new()
        }
    )?;
    tracing::info!(
        rows = summary.rows,
        imported = summary.imported,
        skipped = summary.skipped,
        rejected = summary.rejected,
        "ticket import finished"
    );
    Ok(())
}
