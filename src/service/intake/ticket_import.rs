//! Bulk import of a hotline system's export (CSV or JSON Lines) through the same intake as `POST /api/v1/tickets`.
//!
//! Guarantees: one bad row never stops the others (it is reported with its line number and reason); rows are
//! committed in batches, so an interrupted import keeps what it committed, and running it again skips ticket
//! numbers already stored (it resumes); memory stays bounded (rows stream through, rejects are handed out as they
//! happen).

use crate::db::Db;
use crate::domain::access::Principal;
use crate::error::ServiceError;
use crate::service::intake::pipeline;
use crate::service::intake::{
    self, CallerInput, Geo, IntakeError, LocationInput, PreparedTicket, TicketInput,
};
use crate::store::cases as store;
use chrono::NaiveDateTime;
use std::io::BufRead;

/// The longest line (or CSV record) accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The CSV header of an export.
pub const CSV_HEADER: [&str; 13] = [
    "ticket_no",
    "received_at",
    "channel",
    "request_type",
    "topic",
    "text",
    "caller_name",
    "caller_phone",
    "caller_confidential",
    "address",
    "lon",
    "lat",
    "crs",
];

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with [`CSV_HEADER`].
    Csv,
    /// One JSON ticket (as `POST /api/v1/tickets` takes it) per line.
    JsonLines,
}

impl Format {
    /// From a file name: `.csv`, or `.jsonl` / `.ndjson` / `.json`.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// A row of the file: its line number and the ticket, or why it cannot be read.
#[derive(Debug)]
pub struct Row {
    /// 1-based line number.
    pub line: usize,
    /// The ticket, or why the row is not one.
    pub ticket: Result<TicketInput, String>,
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line number.
    pub line: usize,
    /// The ticket number, when the row had one.
    pub ticket_no: String,
    /// Stable code.
    pub code: String,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows read.
    pub rows: usize,
    /// Tickets stored now.
    pub imported: usize,
    /// Tickets already stored (an earlier run, or the same ticket twice in the file).
    pub skipped: usize,
    /// Rows refused.
    pub rejected: usize,
}

fn csv_ticket(rec: &csv::StringRecord) -> Result<TicketInput, String> {
    if rec.len() != CSV_HEADER.len() {
        return Err(format!(
            "expected {} fields, found {}",
            CSV_HEADER.len(),
            rec.len()
        ));
    }
    let f = |i: usize| rec.get(i).unwrap_or("").trim();
    let opt = |i: usize| Some(f(i).to_owned()).filter(|s| !s.is_empty());
    let number = |i: usize| -> Result<Option<f64>, String> {
        match f(i) {
            "" => Ok(None),
            s => s
                .parse::<f64>()
                .map(Some)
                .map_err(|_| format!("{} {s:?} is not a number", CSV_HEADER[i])),
        }
    };
    let received_at = match f(1) {
        "" => None,
        s => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| format!("received_at {s:?} is not an RFC 3339 time"))?,
        ),
    };
    let location = match (number(10)?, number(11)?) {
        (Some(lon), Some(lat)) => Some(LocationInput {
            lon,
            lat,
            crs: opt(12),
        }),
        (None, None) => None,
        _ => return Err("give both lon and lat, or neither".into()),
    };
    Ok(TicketInput {
        ticket_no: f(0).to_owned(),
        received_at,
        channel: f(2).to_owned(),
        request_type: f(3).to_owned(),
        topic: f(4).to_owned(),
        text: f(5).to_owned(),
        caller: CallerInput {
            name: f(6).to_owned(),
            phone: f(7).to_owned(),
            confidential: matches!(f(8), "true" | "1" | "yes"),
        },
        address: opt(9),
        location,
    })
}

/// The rows of a file, streamed.
pub fn rows<R: BufRead + Send + 'static>(
    reader: R,
    format: Format,
) -> Box<dyn Iterator<Item = Row> + Send> {
    match format {
        Format::JsonLines => Box::new(
            reader
                .split(b'\n')
                .enumerate()
                .filter(|(_, line)| {
                    !matches!(line, Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace))
                })
                .map(|(i, line)| {
                    let ticket = match line {
                        Err(e) => Err(format!("cannot read the line: {e}")),
                        Ok(bytes) if bytes.len() > MAX_LINE_BYTES => {
                            Err(format!("the line is longer than {MAX_LINE_BYTES} bytes"))
                        }
                        Ok(bytes) => serde_json::from_slice::<TicketInput>(&bytes)
                            .map_err(|e| format!("not a ticket: {e}")),
                    };
                    Row { line: i + 1, ticket }
                }),
        ),
        Format::Csv => {
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(reader);
            let header_ok = rdr
                .headers()
                .map(|h| h.iter().map(str::trim).eq(CSV_HEADER))
                .unwrap_or(false);
            if !header_ok {
                return Box::new(std::iter::once(Row {
                    line: 1,
                    ticket: Err(format!("the header must be {}", CSV_HEADER.join(","))),
                }));
            }
            Box::new(rdr.into_records().map(|rec| match rec {
                Ok(rec) => {
                    let line = rec.position().map_or(0, |p| p.line() as usize);
                    let too_long = rec.as_slice().len() > MAX_LINE_BYTES;
                    Row {
                        line,
                        ticket: if too_long {
                            Err(format!("the record is longer than {MAX_LINE_BYTES} bytes"))
                        } else {
                            csv_ticket(&rec)
                        },
                    }
                }
                Err(e) => Row {
                    line: e.position().map_or(0, |p| p.line() as usize),
                    ticket: Err(format!("malformed CSV: {e}")),
                },
            }))
        }
    }
}

fn code_of(e: &IntakeError) -> &'static str {
    e.code().unwrap_or("error")
}

/// A batch read and placed, waiting to be written.
struct Placed {
    rows: usize,
    skipped: usize,
    rejects: Vec<Reject>,
    meta: Vec<(usize, String)>,
    prepared: Vec<Result<PreparedTicket, IntakeError>>,
}

/// Reads a batch, skips ticket numbers already stored and places the rest (no writes).
fn place(
    db: &Db,
    geo: &Geo<'_>,
    actor: &Principal,
    chunk: Vec<Row>,
    now: NaiveDateTime,
) -> Result<Placed, IntakeError> {
    let nos: Vec<String> = chunk
        .iter()
        .filter_map(|r| r.ticket.as_ref().ok())
        .map(|t| t.ticket_no.trim().to_owned())
        .collect();
    let stored: std::collections::HashSet<String> =
        store::stored_ticket_nos(&mut *db.reader()?, &nos)?
            .into_iter()
            .collect();
    let mut placed = Placed {
        rows: chunk.len(),
        skipped: 0,
        rejects: Vec::new(),
        meta: Vec::with_capacity(chunk.len()),
        prepared: Vec::with_capacity(chunk.len()),
    };
    for row in chunk {
        match row.ticket {
            Err(reason) => placed.rejects.push(Reject {
                line: row.line,
                ticket_no: String::new(),
                code: "malformed_row".into(),
                reason,
            }),
            Ok(t) if stored.contains(t.ticket_no.trim()) => placed.skipped += 1,
            Ok(t) => {
                placed.meta.push((row.line, t.ticket_no.trim().to_owned()));
                placed
                    .prepared
                    .push(intake::prepare_ticket(geo, &t, actor, now));
            }
        }
    }
    Ok(placed)
}

/// Imports rows in batches of `batch`: one thread reads and places, this one writes, each batch checked against
/// the time `clock` tells when it is filed. Calls `progress(rows done)`
/// after each batch and `reject` for each refused row. Fails only when the database fails (what was committed
/// before stays).
#[expect(
    clippy::too_many_arguments,
    reason = "the source, its batching, the clock and the two callbacks are each the caller's to choose"
)]
pub fn import(
    db: &Db,
    geo: &Geo<'_>,
    actor: &Principal,
    rows: impl Iterator<Item = Row> + Send,
    batch: usize,
    clock: impl Fn() -> NaiveDateTime + Sync,
    mut progress: impl FnMut(usize),
    mut reject: impl FnMut(Reject),
) -> Result<Summary, IntakeError> {
    let mut sum = Summary::default();
    let read = pipeline::run(
        |send| -> Result<(), IntakeError> {
            let mut rows = rows.peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Row> = rows.by_ref().take(batch.max(1)).collect();
                if !send(place(db, geo, actor, chunk, clock())?) {
                    break;
                }
            }
            Ok(())
        },
        |placed: Placed| -> Result<(), IntakeError> {
            sum.rows += placed.rows;
            sum.skipped += placed.skipped;
            sum.rejected += placed.rejects.len();
            placed.rejects.into_iter().for_each(&mut reject);
            let filed = intake::file_tickets(db, clock(), placed.prepared)?;
            for ((line, no), result) in placed.meta.into_iter().zip(filed) {
                match result {
                    Ok(f) if f.created => sum.imported += 1,
                    Ok(_) => sum.skipped += 1,
                    Err(IntakeError::Db(e)) => return Err(IntakeError::Db(e)),
                    Err(e) => {
                        sum.rejected += 1;
                        reject(Reject {
                            line,
                            ticket_no: no,
                            code: code_of(&e).into(),
                            reason: e.to_string(),
                        });
                    }
                }
            }
            progress(sum.rows);
            Ok(())
        },
        || IntakeError::Lookup("reading the file failed".into()),
    )?;
    read?;
    crate::service::analytics::counts::catch_up(db, clock())?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_tickets_and_bad_rows_say_why() {
        let text = format!(
            "{}\nT1,2026-03-03T09:00:00+08:00,phone,complaint,0101,垃圾,张三,13800000000,false,朝阳区,116.4,39.9,\nT2,yesterday,phone,complaint,0101,垃圾,张三,13800000000,false,,,,\nT3,,phone,complaint,0101,垃圾,张三,13800000000,true,望京街道,116.4,,\n",
            CSV_HEADER.join(",")
        );
        let rows: Vec<Row> = rows(std::io::Cursor::new(text.into_bytes()), Format::Csv).collect();
        assert_eq!(rows.len(), 3);
        let t1 = rows[0].ticket.as_ref().unwrap();
        assert_eq!(t1.location.as_ref().unwrap().lon, 116.4);
        assert_eq!(rows[1].line, 3);
        assert!(rows[1].ticket.as_ref().unwrap_err().contains("received_at"));
        assert!(
            rows[2]
                .ticket
                .as_ref()
                .unwrap_err()
                .contains("both lon and lat")
        );
    }

    #[test]
    fn json_lines_are_numbered_and_a_bad_line_does_not_hide_the_next() {
        let text = "{\"ticket_no\":\"A\",\"channel\":\"phone\",\"request_type\":\"help\",\"topic\":\"0101\",\"text\":\"x\",\"caller\":{\"name\":\"a\",\"phone\":\"1\"}}\nnot json\n{\"ticket_no\":\"B\",\"channel\":\"phone\",\"request_type\":\"help\",\"topic\":\"0101\",\"text\":\"x\",\"caller\":{\"name\":\"a\",\"phone\":\"1\"}}\n";
        let rows: Vec<Row> = rows(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            Format::JsonLines,
        )
        .collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].line, 2);
        assert!(rows[1].ticket.is_err());
        assert_eq!(rows[2].ticket.as_ref().unwrap().ticket_no, "B");
    }
}
