//! `gridline serve` and `gridline migrate`: the server with its timers, and the database made ready without it.

use super::open;
use super::simulate::demo_data;
use super::user::bootstrap_admin;
use crate::config::{DbArgs, ServeArgs};
use anyhow::Context;

/// Applies the migrations, loads the default dataset and taxonomy into an empty database, creates the first admin.
pub(super) fn migrate(db: &DbArgs) -> anyhow::Result<()> {
    let db = open(db)?;
    let loaded = crate::service::admin::geodata::ensure_loaded(&db)?;
    crate::service::admin::topics::ensure_loaded(&db)?;
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

/// Starts the HTTP server and its timers; returns when the server stops.
pub(super) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let url = args.db.database_url()?;
    let workers = args.workers()?;
    let state = actix_web::web::Data::new(
        crate::http::state::prepare_state(&url, (workers as u32 * 4).max(8))?
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
    crate::service::hotspots::jobs::fail_interrupted(&state.db, state.clock.now())?;
    if args.scheduler_secs > 0 {
        let (db, index, clock) = (state.db.clone(), state.index.clone(), state.clock.clone());
        crate::service::cases::scheduler::spawn(
            state.db.clone(),
            std::time::Duration::from_secs(args.scheduler_secs),
            state.clock.clone(),
            move || {
                if let Err(e) = crate::service::hotspots::jobs::monthly(&db, &index, &clock) {
                    tracing::error!(error = %e, "monthly hot spot scans failed; trying again next pass");
                }
                if let Err(e) = crate::service::hotspots::forewarning::propose(&db, &index, &clock) {
                    tracing::error!(error = %e, "seasonal forewarning failed; trying again next pass");
                }
            },
        )
        .context("cannot start the work scheduler")?;
        tracing::info!(every_secs = args.scheduler_secs, "work scheduler started");
    }
    // The heat-map counts follow the change log on a timer (reads catch up first as well).
    let clock = state.clock.clone();
    let _counts = crate::service::analytics::counts::keep_up(
        state.db.clone(),
        crate::service::analytics::counts::CATCH_UP_EVERY,
        move || clock.now(),
    )
    .context("cannot start the counting thread")?;
    // The tile layers (outlines cut into shared arcs, simplified per zoom) are built in the background at start, so
    // that the first map after a start does not wait for them (about a second for the cells).
    let (tiles, db) = (state.tiles.clone(), state.db.clone());
    std::thread::Builder::new()
        .name("gridline-tiles".into())
        .spawn(move || {
            for layer in crate::analytics::tiles::TileLayer::ALL {
                if let Err(e) = tiles.warm(&db, layer) {
                    tracing::error!(layer = layer.name(), error = %e, "building a tile layer at start failed");
                }
            }
        })
        .context("cannot start the tile layers' warm-up")?;
    // Unfinished photo uploads past their time are dropped on a timer, not only when someone starts a new one.
    let clock = state.clock.clone();
    let _sweeper = crate::service::sync::photos::spawn_sweeper(
        state.db.clone(),
        state.photos.clone(),
        crate::service::sync::photos::SWEEP_EVERY,
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
