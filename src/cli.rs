//! The command line: `serve`, `migrate`, `geodata build|check|import`, `locate`, `report assessment`, `phone`, ...

use crate::auth::role::Role;
use crate::config::{DbArgs, ServeArgs};
use crate::geo::place::Level;
use crate::geo::validate::Problem;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};

pub mod analytics;
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

/// Which report.
#[derive(Debug, Subcommand)]
pub enum ReportWhat {
    /// The monthly assessment (一份卷子) of the whole city, ranked: rates, score, points, month-on-month change
    /// (the same figures as GET /api/v1/assessment).
    Assessment {
        /// The month, YYYY-MM (Beijing time).
        #[arg(long)]
        month: String,
        /// street, district, department or handler.
        #[arg(long, default_value = "street")]
        level: String,
        /// csv (a header line, one line per entity) or json (what the API answers).
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
    },
    /// The heat map of the whole city: tickets and cases per place of a level over a window of days, with the
    /// period before (the same figures as GET /api/v1/heatmap).
    Heatmap {
        /// district, street, community or cell.
        #[arg(long)]
        level: String,
        /// First day, YYYY-MM-DD (Beijing).
        #[arg(long)]
        from: String,
        /// Last day, included.
        #[arg(long)]
        to: String,
        /// First- or second-level topic code (repeatable).
        #[arg(long)]
        topic: Vec<String>,
        /// hotline, patrol, mixed or proactive (repeatable).
        #[arg(long)]
        source: Vec<String>,
        /// open, closed or overdue (repeatable).
        #[arg(long)]
        status: Vec<String>,
        /// csv (a header line, one line per place) or geojson (what the API answers).
        #[arg(long, default_value = "csv", value_parser = ["csv", "geojson"])]
        format: String,
    },
}

/// The CSV columns of `report assessment`.
pub const ASSESSMENT_CSV_HEADER: [&str; 24] = [
    "rank",
    "code",
    "name",
    "tickets",
    "responded",
    "reached",
    "resolved",
    "partly_resolved",
    "unresolved",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "score",
    "points",
    "response_rate_change",
    "resolution_rate_change",
    "satisfaction_rate_change",
    "score_change",
    "whistles_summoned",
    "whistles_late",
    "whistles_missing",
];

fn report_assessment(month: &str, level: &str, format: &str, db: &DbArgs) -> anyhow::Result<()> {
    use crate::http::assessment::AssessmentDto;
    use crate::service::assessment as service;
    use std::io::Write;
    let month = service::parse_month(Some(month))?;
    let level = service::parse_level(Some(level))?;
    let db = open(db)?;
    let everyone =
        crate::service::auth::Principal::machine("report", "gridline report", Role::Admin);
    let a: AssessmentDto = service::assess(&db, &everyone, month, level)?.into();
    let mut out = std::io::stdout().lock();
    if format == "json" {
        serde_json::to_writer_pretty(&mut out, &a)?;
        writeln!(out)?;
        return Ok(());
    }
    // Rates to 4 decimals, scores and points to 2, nothing for a missing value.
    let num =
        |x: Option<f64>, places: usize| x.map_or_else(String::new, |x| format!("{x:.places$}"));
    let mut w = csv::Writer::from_writer(out);
    w.write_record(ASSESSMENT_CSV_HEADER)?;
    for e in &a.entries {
        let whistle = |f: fn(&crate::http::assessment::WhistleDto) -> i64| {
            e.whistles
                .as_ref()
                .map_or_else(String::new, |x| f(x).to_string())
        };
        w.write_record([
            e.rank.map_or_else(String::new, |r| r.to_string()),
            e.code.clone(),
            e.name.clone().unwrap_or_default(),
            e.tickets.to_string(),
            e.responded.to_string(),
            e.reached.to_string(),
            e.resolved.to_string(),
            e.partly_resolved.to_string(),
            e.unresolved.to_string(),
            e.satisfied.to_string(),
            e.basically_satisfied.to_string(),
            e.dissatisfied.to_string(),
            num(e.response_rate, 4),
            num(e.resolution_rate, 4),
            num(e.satisfaction_rate, 4),
            num(e.score, 2),
            num(Some(e.points), 2),
            num(e.change.response_rate, 4),
            num(e.change.resolution_rate, 4),
            num(e.change.satisfaction_rate, 4),
            num(e.change.score, 2),
            whistle(|x| x.summoned),
            whistle(|x| x.late),
            whistle(|x| x.missing),
        ])?;
    }
    w.flush()?;
    Ok(())
}

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

/// `gridline user ...`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a user with their jurisdiction and units, all or nothing; the password comes from
    /// GRIDLINE_USER_PASSWORD, or a random one is printed once. A department handler needs --topic to see cases
    /// and --unit to report in and work them for their department.
    Add {
        /// Sign-in name.
        username: String,
        /// One of admin, hotline_operator, dispatcher, street_handler, department_handler, community_secretary,
        /// grid_member, leader.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Name shown to people (default: the user name).
        #[arg(long)]
        name: Option<String>,
        /// A place code of the user's jurisdiction (repeatable); everything inside it is visible.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A topic code a department handler answers for (repeatable); without one they see no case.
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// The id of a unit the user acts for (repeatable; `GET /api/v1/units` lists them): a department handler
        /// reports in and works cases only for their units.
        #[arg(long = "unit")]
        units: Vec<String>,
    },
    /// List users.
    List,
    /// Refuse sign-in for a user and revoke their tokens (or allow it again with --enable).
    Disable {
        /// Sign-in name.
        username: String,
        /// Enable instead.
        #[arg(long)]
        enable: bool,
    },
    /// Set a new password (GRIDLINE_USER_PASSWORD, or a random one printed once) and revoke the user's tokens.
    ResetPassword {
        /// Sign-in name.
        username: String,
    },
    /// Forget a user's failed sign-ins, so that they may sign in from any address at once.
    Unlock {
        /// Sign-in name.
        username: String,
    },
}

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

fn import_tickets(
    file: &std::path::Path,
    format: Option<&str>,
    rejects: Option<PathBuf>,
    batch: u32,
    db: &DbArgs,
) -> anyhow::Result<()> {
    use crate::service::ticket_import::{self, Format};
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
    let state = crate::app::prepare(&db.database_url()?, 2)?;
    let (db, geo) = (&state.db, state.geo());
    let actor = crate::service::auth::Principal::machine(
        &format!(
            "import:{}",
            file.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ),
        "bulk import",
        crate::auth::role::Role::HotlineOperator,
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
        || chrono::Utc::now().naive_utc(),
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

/// What to do with the topic taxonomy.
#[derive(Debug, Subcommand)]
pub enum TopicsAction {
    /// Replace the taxonomy from a CSV file (header: code,parent_code,name_zh,name_en,time_class,grid_class,
    /// department,merge_radius_m,merge_window_hours,merge_same_building); topics left out become inactive.
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

/// Policy values.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Print the stored values (key=value); keys not listed take their defaults.
    List,
    /// Store a value, checked by the policy that reads it.
    Set {
        /// The key, e.g. work.7d.ladder.
        key: String,
        /// The value, e.g. remind:2880,supervise:4320,investigate:5760.
        value: String,
    },
    /// Remove a stored value: the default applies again.
    Unset {
        /// The key.
        key: String,
    },
}

fn policy_command(action: PolicyAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::policy;
    let db = open(db)?;
    match action {
        PolicyAction::List => {
            for (key, value) in policy::list(&db)? {
                println!("{key}={value}");
            }
        }
        PolicyAction::Set { key, value } => {
            policy::set(&db, &key, &value)?;
            println!("{key}={}", value.trim());
        }
        PolicyAction::Unset { key } => {
            if !policy::unset(&db, &key)? {
                anyhow::bail!("no value is stored for {key}: its default applies");
            }
        }
    }
    Ok(())
}

/// Scheduled work.
#[derive(Debug, Subcommand)]
pub enum WorkAction {
    /// One scheduler pass (auto-dispatch, then escalation), as the server runs it on its timer; prints what it did
    /// as JSON. Safe to repeat: nothing is dispatched or escalated twice. A pass crosses at most
    /// `work.escalation.max_per_pass` rungs; `escalations_deferred` counts the work left due for the next passes.
    Tick {
        /// The moment to act at (RFC 3339; default now).
        #[arg(long, value_parser = parse_rfc3339)]
        now: Option<chrono::NaiveDateTime>,
    },
}

fn parse_rfc3339(s: &str) -> Result<chrono::NaiveDateTime, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.naive_utc())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time (2026-03-01T08:00:00Z): {e}"))
}

fn work_command(action: WorkAction, db: &DbArgs) -> anyhow::Result<()> {
    let db = open(db)?;
    match action {
        WorkAction::Tick { now } => {
            let now = now.unwrap_or_else(|| chrono::Utc::now().naive_utc());
            let report = crate::service::scheduler::tick(&db, now)?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}

fn topics_command(action: TopicsAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::topics::{self, TopicError};
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

fn chain_command(action: ChainAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::chain;
    let db = open(db)?;
    crate::service::geodata::ensure_loaded(&db)?;
    match action {
        ChainAction::Import { file } => {
            let bytes = read_file(&file)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))?;
            match chain::import_csv(&db, &text) {
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

/// `gridline apikey ...`
#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Create a key; the secret is printed once.
    Add {
        /// What the key is for.
        name: String,
        /// The role the key acts with.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id.
        id: String,
    },
}

fn apikey_command(action: ApiKeyAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::auth;
    let db = open(db)?;
    match action {
        ApiKeyAction::Add { name, role } => {
            let k = auth::create_api_key(&db, &name, role)?;
            println!("created key {} ({role})", k.id);
            println!(
                "secret (shown once; send as Authorization: Bearer ...): {}",
                k.key
            );
        }
        ApiKeyAction::List => {
            for k in auth::list_api_keys(&db)? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!("{:<34} {:<20} {:<8} {}", k.id, k.role, state, k.name);
            }
        }
        ApiKeyAction::Revoke { id } => {
            auth::revoke_api_key(&db, &id)
                .map_err(|_| anyhow::anyhow!("no active API key has the id {id:?}"))?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a role: use one of {}",
            Role::ALL.map(Role::as_str).join(", ")
        )
    })
}

/// The password for `user add` and `user reset-password`: from the environment, or generated and printed.
fn new_password() -> (String, bool) {
    match std::env::var("GRIDLINE_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crate::auth::password::generate(), true),
    }
}

fn user_command(action: UserAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::auth;
    let db = open(db)?;
    match action {
        UserAction::Add {
            username,
            role,
            name,
            scopes,
            topics,
            units,
        } => {
            let (password, generated) = new_password();
            auth::create_user(
                &db,
                &auth::NewUser {
                    username: &username,
                    display_name: name.as_deref().unwrap_or(&username),
                    role,
                    password: &password,
                    places: &scopes,
                    topics: &topics,
                    units: &units,
                },
            )?;
            println!(
                "added {username} ({})",
                crate::domain::text::a(role.as_str())
            );
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserAction::List => {
            for u in auth::list_users(&db)? {
                println!(
                    "{:<24} {:<20} {:<9} {}",
                    u.username,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.display_name
                );
            }
        }
        UserAction::Disable { username, enable } => {
            auth::set_disabled(&db, &username, !enable)?;
            println!(
                "{username} {}",
                if enable {
                    "enabled"
                } else {
                    "disabled; their tokens are revoked"
                }
            );
        }
        UserAction::ResetPassword { username } => {
            let (password, generated) = new_password();
            auth::reset_password(&db, &username, &password)?;
            println!("password of {username} replaced; their tokens are revoked");
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserAction::Unlock { username } => {
            let forgotten = auth::unlock(&db, &username)?;
            println!("{username} unlocked ({forgotten} recent sign-in attempts forgotten)");
        }
    }
    Ok(())
}

/// Creates the first admin on a database without users (password from GRIDLINE_ADMIN_PASSWORD, or a random one
/// printed once on standard output, never logged).
fn bootstrap_admin(db: &crate::db::Db) -> anyhow::Result<()> {
    let given = std::env::var("GRIDLINE_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    if let Some(generated) = crate::service::auth::ensure_admin(db, given.as_deref())
        .context("creating the first admin")?
    {
        println!(
            "first start: created user \"admin\" with password {generated} (shown once; change it with `gridline user reset-password admin`)"
        );
    }
    Ok(())
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

/// The largest boundary file read (compressed or not).
const MAX_FILE_BYTES: u64 = 512 << 20;

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

fn print_problems(problems: &[Problem]) {
    for p in problems {
        println!("{}\t{}\t{}", p.feature, p.kind, p.message);
    }
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
            let db = open(&db)?;
            let loaded = crate::service::geodata::ensure_loaded(&db)?;
            crate::service::topics::ensure_loaded(&db)?;
            bootstrap_admin(&db)?;
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
        Command::Geodata { action } => match action {
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
        },
        Command::User { action, db } => user_command(action, &db),
        Command::Apikey { action, db } => apikey_command(action, &db),
        Command::Chain { action, db } => chain_command(action, &db),
        Command::Topics { action, db } => topics_command(action, &db),
        Command::Work { action, db } => work_command(action, &db),
        Command::Policy { action, db } => policy_command(action, &db),
        Command::Simulate(args) => simulate(&args),
        Command::Import {
            what:
                ImportWhat::Tickets {
                    file,
                    format,
                    rejects,
                    batch,
                },
            db,
        } => import_tickets(&file, format.as_deref(), rejects, batch, &db),
        Command::Phone(args) => crate::phone::cli::run(args),
        Command::Locate { lon, lat, crs, db } => locate(&lon, &lat, &crs, &db),
        Command::Report {
            what:
                ReportWhat::Assessment {
                    month,
                    level,
                    format,
                },
            db,
        } => report_assessment(&month, &level, &format, &db),
        Command::Report {
            what:
                ReportWhat::Heatmap {
                    level,
                    from,
                    to,
                    topic,
                    source,
                    status,
                    format,
                },
            db,
        } => analytics::report_heatmap(
            &open(&db)?,
            &level,
            &from,
            &to,
            &topic,
            &source,
            &status,
            &format,
        ),
        Command::Analytics { action, db } => analytics::analytics(action, &open(&db)?),
    }
}

fn open(db: &DbArgs) -> anyhow::Result<crate::db::Db> {
    crate::db::Db::connect(&db.database_url()?, 2).context("opening the database")
}

fn geodata_check(
    file: &std::path::Path,
    level: Option<Layer>,
    standalone: bool,
    db: &DbArgs,
) -> anyhow::Result<()> {
    use crate::service::geodata;
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
    use crate::service::geodata::{self, ImportError};
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
        Layer::Places(level) => match geodata::import(&db, &bytes, level, drop_below) {
            Ok(r) => println!(
                "imported {} {} places (replacing {}); removed below: {} places, {} buildings. Restart the server to use them.",
                r.inserted, r.level, r.removed, r.dropped_below, r.dropped_buildings
            ),
            Err(ImportError::Refused(problems)) => return Err(refused(problems)),
            Err(e) => return Err(e.into()),
        },
        Layer::Buildings => match geodata::import_buildings(&db, &bytes) {
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

fn locate(lon: &str, lat: &str, crs: &str, db: &DbArgs) -> anyhow::Result<()> {
    let p = crate::geo::lonlat::Lonlat::parse(Some(lon), Some(lat), Some(crs))
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
        crate::geo::index::Method::Snapped => format!("snapped ({:.0} m)", located.snap_distance_m),
    };
    out.push_str(&format!("{:<10} {}\n", "method", method));
    print!("{out}");
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let url = args.db.database_url()?;
    let workers = args.workers()?;
    let state = actix_web::web::Data::new(
        crate::app::prepare_state(&url, (workers as u32 * 4).max(8))?
            .with_trusted_proxies(args.trusted_proxies.clone()),
    );
    bootstrap_admin(&state.db)?;
    if args.demo {
        demo_data(
            &state,
            args.demo_scale,
            &args.db.data_dir.join("simulation-truth.json"),
        )?;
    }
    if args.scheduler_secs > 0 {
        crate::service::scheduler::spawn(
            state.db.clone(),
            std::time::Duration::from_secs(args.scheduler_secs),
        )
        .context("cannot start the work scheduler")?;
        tracing::info!(every_secs = args.scheduler_secs, "work scheduler started");
    }
    // Unfinished photo uploads past their time are dropped on a timer, not only when someone starts a new one.
    let clock = state.clock.clone();
    let _sweeper = crate::service::photos::spawn_sweeper(
        state.db.clone(),
        state.photos.clone(),
        crate::service::photos::SWEEP_EVERY,
        move || clock.now(),
    )
    .context("cannot start the upload sweep")?;
    actix_web::rt::System::new().block_on(async move {
        let (server, addr) = crate::app::server(state, args.bind, workers)
            .with_context(|| format!("cannot listen on {}", args.bind))?;
        tracing::info!(%addr, workers, "listening");
        server.await.context("server failed")
    })
}

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

fn simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    use crate::service::simulate::{self, traffic::Plan};
    use std::io::Write;
    let plan = Plan {
        start: args.start.unwrap_or_else(|| {
            chrono::Utc::now().date_naive() - chrono::Duration::days(i64::from(args.days))
        }),
        days: args.days,
        seed: args.seed,
        scale: args.scale,
        hotspots: usize::from(args.hotspots),
    };
    let plan_end = plan.start + chrono::Duration::days(i64::from(plan.days));
    let state = crate::app::prepare(&args.db.database_url()?, 2)?;
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
        let (sum, truth) = simulate::run(
            &state.db,
            &state.geo(),
            plan,
            chrono::Utc::now().naive_utc(),
            progress,
        )?;
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
                .min(chrono::Utc::now().naive_utc());
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
fn demo_data(
    state: &crate::app::AppState,
    scale: f64,
    truth_path: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::service::simulate::{self, traffic::Plan};
    if crate::service::cases::any_stored(&state.db)? {
        tracing::info!("demo: cases are already stored; no simulated data added");
        return Ok(());
    }
    let plan = Plan {
        start: chrono::Utc::now().date_naive() - chrono::Duration::days(30),
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
    let (sum, truth) = simulate::run(
        &state.db,
        &state.geo(),
        plan,
        chrono::Utc::now().naive_utc(),
        |p| {
            if last.elapsed().as_secs() >= 5 {
                last = std::time::Instant::now();
                tracing::info!(done = p.done, planned = p.planned, "demo: simulating");
            }
        },
    )?;
    let work = simulate::work::play(&state.db, 1, chrono::Utc::now().naive_utc(), |n| {
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
