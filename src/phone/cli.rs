//! `gridline phone --db FILE …`: drive the reference phone by hand — register it, record reports, edits, photos
//! and case steps offline, sync when the network is up (with a progress bar), and show what it holds.

use super::client::Transport;
use super::{Phone, Progress, SyncOptions};
use crate::service::intake::{LocationInput, ReportInput};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// `gridline phone` arguments.
#[derive(Debug, Args)]
pub struct PhoneArgs {
    /// The phone's own SQLite file (made when missing).
    #[arg(long, env = "GRIDLINE_PHONE_DB", default_value = "phone.sqlite")]
    pub db: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub action: PhoneAction,
}

/// What the phone does.
#[derive(Debug, Subcommand)]
pub enum PhoneAction {
    /// Register the phone with a server as the signed-in member (token from `POST /api/v1/auth/login`).
    Register {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// The member's sign-in token.
        #[arg(long, env = "GRIDLINE_TOKEN", hide_env_values = true)]
        token: String,
        /// What to call the phone.
        #[arg(long, default_value = "gridline phone")]
        name: String,
    },
    /// Record a patrol report (offline).
    Report {
        /// Topic code (four digits).
        #[arg(long)]
        topic: String,
        /// Description.
        #[arg(long)]
        text: String,
        /// Longitude (WGS-84).
        #[arg(long, allow_negative_numbers = true)]
        lon: f64,
        /// Latitude (WGS-84).
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        /// A photo file (JPEG or PNG) to go with it; repeat for more.
        #[arg(long)]
        photo: Vec<PathBuf>,
        /// Fixed on the spot (随手做).
        #[arg(long)]
        fixed: bool,
    },
    /// Record a new text of a report, made against its version (offline).
    Edit {
        /// The report's id.
        report: String,
        /// The version the edit is made against.
        #[arg(long)]
        version: i32,
        /// The new text.
        #[arg(long)]
        text: String,
    },
    /// Record adding a photo file to a report (offline).
    Photo {
        /// The report's id.
        report: String,
        /// The photo file (JPEG or PNG).
        file: PathBuf,
    },
    /// Record a step on a case (offline), e.g. `--action note --note 已联系物业`.
    Step {
        /// The case's id, or the id of a report of it (a case opened on this phone offline).
        case: String,
        /// The action: note, accept, start, reply, self_resolve, ...
        #[arg(long)]
        action: String,
        /// Reason or note.
        #[arg(long)]
        note: Option<String>,
        /// An evidence photo file (JPEG or PNG); repeat for several (self_resolve: before and after).
        #[arg(long = "photo")]
        photos: Vec<PathBuf>,
        /// The case version the step is made against.
        #[arg(long)]
        version: Option<i32>,
    },
    /// The network is up: send photos and operations, read every result back, pull.
    Sync {
        /// Another server address than the one registered with (the same server behind another name).
        #[arg(long)]
        server: Option<String>,
        /// Seconds each request may take.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Do not pull the feed.
        #[arg(long)]
        no_pull: bool,
        /// Operations per push (1–500; fewer for a poor connection).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=500))]
        batch: u16,
    },
    /// What the phone holds: operations and photos per state, the last results.
    Status,
}

fn mime_of(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        _ => "image/jpeg",
    }
}

fn read_photo(phone: &mut Phone, path: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(phone.add_photo(&bytes, mime_of(path))?)
}

/// Runs `gridline phone …`.
pub fn run(args: PhoneArgs) -> anyhow::Result<()> {
    let mut phone = Phone::open(&args.db)?;
    match args.action {
        PhoneAction::Register {
            server,
            token,
            name,
        } => {
            let t = Transport::new(&server, Duration::from_secs(30));
            let id = phone.register(&t, &token, &name)?;
            println!("registered as device {id}");
        }
        PhoneAction::Report {
            topic,
            text,
            lon,
            lat,
            photo,
            fixed,
        } => {
            let photos = photo
                .iter()
                .map(|p| read_photo(&mut phone, p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let op = phone.create_report(ReportInput {
                id: None,
                reported_at: Some(chrono::Utc::now().fixed_offset()),
                topic,
                text,
                location: LocationInput {
                    lon,
                    lat,
                    crs: None,
                },
                photos,
                fixed_on_the_spot: fixed,
            })?;
            println!("report {} recorded (operation {})", op.entity_id, op.seq);
        }
        PhoneAction::Edit {
            report,
            version,
            text,
        } => {
            let op = phone.update_report(&report, version, &text)?;
            println!("edit recorded (operation {})", op.seq);
        }
        PhoneAction::Photo { report, file } => {
            let sha = read_photo(&mut phone, &file)?;
            let op = phone.attach_photo(&report, &sha)?;
            println!("photo {sha} recorded (operation {})", op.seq);
        }
        PhoneAction::Step {
            case,
            action,
            note,
            photos,
            version,
        } => {
            let mut step = serde_json::json!({ "action": action });
            if let Some(n) = note {
                step["note"] = n.into();
            }
            if !photos.is_empty() {
                let evidence = photos
                    .iter()
                    .map(|f| read_photo(&mut phone, f))
                    .collect::<anyhow::Result<Vec<String>>>()?;
                step["evidence"] = evidence.into();
            }
            let op = phone.transition(&case, version, &step)?;
            println!("step recorded (operation {})", op.seq);
        }
        PhoneAction::Sync {
            server,
            timeout,
            no_pull,
            batch,
        } => {
            let server = match server {
                Some(s) => s,
                None => phone
                    .status()?
                    .server
                    .context("the phone is not registered: run `gridline phone register` first")?,
            };
            let t = Transport::new(&server, Duration::from_secs(timeout.max(1)));
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:>10} {bar:40} {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let options = SyncOptions {
                pull: !no_pull,
                batch: usize::from(batch),
                ..SyncOptions::default()
            };
            let done = phone.sync(&t, &options, &mut |p| match p {
                Progress::Photos { done, total } => {
                    bar.set_message("photos");
                    bar.set_length(total);
                    bar.set_position(done);
                }
                Progress::Ops { done, total } => {
                    bar.set_message("operations");
                    bar.set_length(total);
                    bar.set_position(done);
                }
                Progress::Pulled { pages } => {
                    bar.set_message("pulled");
                    bar.set_length(pages);
                    bar.set_position(pages);
                }
            });
            bar.finish_and_clear();
            let done = done?;
            println!(
                "{} photos sent, {} refused; {} operations decided in {} pushes; {} results read back; {} pulled",
                done.photos_sent,
                done.photos_refused,
                done.decided,
                done.pushes,
                done.read_back,
                done.pulled
            );
        }
        PhoneAction::Status => {
            let s = phone.status()?;
            println!(
                "device {} at {}",
                s.device_id.as_deref().unwrap_or("(not registered)"),
                s.server.as_deref().unwrap_or("-")
            );
            for (state, n) in &s.ops {
                println!("operations {state}: {n}");
            }
            for (state, n) in &s.photos {
                println!("photos {state}: {n}");
            }
            for op in phone.queue().ops()?.iter().rev().take(10).rev() {
                println!(
                    "{:>6} {:<14} {:<36} {:<8} {}",
                    op.seq,
                    op.kind,
                    op.entity_id,
                    op.status.as_deref().unwrap_or(&op.state),
                    op.code
                        .as_deref()
                        .or(op.result.as_deref())
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
