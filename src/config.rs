//! Configuration from flags and the environment, checked before anything starts.

use crate::http::client_addr::TrustedProxies;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the data lives (shared by every command that opens the database).
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Directory for the SQLite database and media.
    #[arg(long, env = "GRIDLINE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL: a SQLite path (default: DATA_DIR/gridline.db) or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

/// `serve` settings.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GRIDLINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "GRIDLINE_WORKERS")]
    pub workers: Option<usize>,
    /// Start with a month of simulated activity (`gridline simulate`) when no case is stored yet.
    #[arg(long, env = "GRIDLINE_DEMO")]
    pub demo: bool,
    /// Share of Beijing's volume the demo simulates (1.0: about 400,000 tickets a month).
    #[arg(long, env = "GRIDLINE_DEMO_SCALE", default_value_t = 1.0, value_parser = parse_scale)]
    pub demo_scale: f64,
    /// Seconds between passes of the work scheduler (auto-dispatch, escalation); 0 turns it off (then run
    /// `gridline work tick` from cron).
    #[arg(long, env = "GRIDLINE_SCHEDULER_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub scheduler_secs: u64,
    /// Reverse proxies whose X-Forwarded-For header names the client, for sign-in throttling: a comma-separated
    /// list of IP addresses and CIDR networks (default: none; the header is then ignored).
    #[arg(long, env = "GRIDLINE_TRUSTED_PROXIES", default_value = "", value_parser = parse_trusted_proxies)]
    pub trusted_proxies: TrustedProxies,
    /// Database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// A list of trusted proxies (see [`TrustedProxies::parse`]).
pub fn parse_trusted_proxies(s: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(s)
}

/// A share of Beijing's simulated volume: above 0, at most 10.
pub fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 10.0 => Ok(x),
        _ => Err(format!("{s:?}: give a number above 0 and at most 10")),
    }
}

/// A configuration problem, stated in one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl DbArgs {
    /// The database URL to use; creates the data directory, refusing one that cannot be created.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        if let Some(url) = self
            .database_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            crate::db::Backend::from_url(url)
                .map_err(|e| ConfigError(format!("DATABASE_URL: {e}")))?;
            return Ok(url.to_owned());
        }
        std::fs::create_dir_all(&self.data_dir).map_err(|e| {
            ConfigError(format!(
                "GRIDLINE_DATA_DIR: cannot create {}: {e}",
                self.data_dir.display()
            ))
        })?;
        let path = self.data_dir.join("gridline.db");
        path.to_str().map(str::to_owned).ok_or_else(|| {
            ConfigError(format!(
                "GRIDLINE_DATA_DIR: {} is not valid UTF-8",
                self.data_dir.display()
            ))
        })
    }
}

impl ServeArgs {
    /// Worker threads to run.
    pub fn workers(&self) -> Result<usize, ConfigError> {
        match self.workers {
            Some(0) => Err(ConfigError("GRIDLINE_WORKERS: must be at least 1".into())),
            Some(n) => Ok(n),
            None => Ok(std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)),
        }
    }
}

/// Where photos are kept: `GRIDLINE_PHOTO_DIR` when set, else `photos/` next to the SQLite database file (so
/// `DATA_DIR/photos` by default), else (PostgreSQL, or no database named) `./data/photos`. Nothing is created until
/// the first photo arrives.
pub fn photo_dir(database_url: Option<&str>) -> PathBuf {
    if let Some(dir) = std::env::var_os("GRIDLINE_PHOTO_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match database_url.map(crate::db::Backend::from_url) {
        Some(Ok((crate::db::Backend::Sqlite, path))) => std::path::Path::new(&path)
            .parent()
            .map_or_else(|| PathBuf::from("photos"), |p| p.join("photos")),
        _ => PathBuf::from("./data/photos"),
    }
}
