//! Storage on both backends: first start loads the dataset once, migrations are repeatable, bad URLs are refused.

use crate::common;

use common::TestDb;
use gridline::db::{Backend, Db, DbError};
use gridline::service::admin::geodata;
use gridline::store::places as store;

#[test]
fn the_first_start_loads_beijing_once_and_a_restart_keeps_it() {
    let t = TestDb::empty();
    let db = t.open();
    assert!(
        geodata::ensure_loaded(&db).unwrap(),
        "loads into an empty database"
    );
    let mut c = db.reader().unwrap();
    let places = store::count(&mut c).unwrap();
    let buildings = store::count_buildings(&mut c).unwrap();
    let expected: usize = gridline::geo::dataset::places().unwrap().len();
    assert_eq!(places as usize, expected);
    assert!(buildings >= 100_000);
    assert_eq!(
        store::meta(&mut c, "dataset").unwrap().as_deref(),
        Some(gridline::geo::dataset::NAME)
    );
    drop(c);
    drop(db);
    let db = t.open();
    assert!(
        !geodata::ensure_loaded(&db).unwrap(),
        "a restart does not load again"
    );
    let mut c = db.reader().unwrap();
    assert_eq!(store::count(&mut c).unwrap(), places);
    let index = geodata::load_index(&db).unwrap();
    assert_eq!(index.cell_count(), common::beijing_index().cell_count());
    assert_eq!(index.building_count() as i64, buildings);
}

#[test]
fn stored_places_read_back_as_they_were_written() {
    let t = TestDb::beijing();
    let db = t.open();
    let mut c = db.reader().unwrap();
    let row = store::get(&mut c, "110105").unwrap().unwrap();
    assert_eq!(row.name, "朝阳区");
    assert_eq!(row.parent_code.as_deref(), Some("110000"));
    let original = gridline::geo::dataset::places()
        .unwrap()
        .into_iter()
        .find(|p| p.code.as_str() == "110105")
        .unwrap();
    assert_eq!(
        gridline::geo::layers::multipolygon_from_json(&row.geometry).unwrap(),
        original.geometry
    );
    assert_eq!(
        store::children(&mut c, "110105").unwrap().len() as i64,
        store::count_below(&mut c, "110105", "street").unwrap()
    );
    assert!(store::get(&mut c, "110105999").unwrap().is_none());
}

#[test]
fn migrations_can_run_again_on_a_migrated_database() {
    let t = TestDb::beijing();
    let db = t.open();
    db.migrate().unwrap();
    Db::connect(&t.url, 1).unwrap().migrate().unwrap();
    assert!(db.ping());
}

#[test]
fn the_url_scheme_picks_the_backend_and_unknown_schemes_are_refused() {
    assert_eq!(
        Backend::from_url("data/gridline.db").unwrap().0,
        Backend::Sqlite
    );
    assert_eq!(
        Backend::from_url("sqlite:///tmp/x.db").unwrap(),
        (Backend::Sqlite, "/tmp/x.db".to_owned())
    );
    assert_eq!(
        Backend::from_url("postgres://u@h/db").unwrap().0,
        Backend::Postgres
    );
    assert_eq!(
        Backend::from_url("postgresql://u@h/db").unwrap().0,
        Backend::Postgres
    );
    assert!(
        matches!(Backend::from_url("mysql://root@localhost/x"), Err(DbError::UnsupportedScheme(s)) if s == "mysql")
    );
}

#[test]
fn sqlite_connections_have_wal_busy_timeout_and_foreign_keys() {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    if common::postgres_url().is_some() {
        return; // SQLite only.
    }
    let t = TestDb::beijing();
    let db = t.open();
    let mut c = db.reader().unwrap();
    let gridline::db::DbConnection::Sqlite(conn) = &mut *c else {
        panic!("expected SQLite")
    };
    let get = |conn: &mut diesel::SqliteConnection, sql: &str| {
        diesel::sql_query(sql).get_result::<V>(conn).unwrap().v
    };
    assert_eq!(
        get(conn, "SELECT timeout AS v FROM pragma_busy_timeout"),
        5000
    );
    assert_eq!(
        get(conn, "SELECT foreign_keys AS v FROM pragma_foreign_keys"),
        1
    );
    #[derive(QueryableByName)]
    struct M {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result::<M>(conn)
        .unwrap()
        .journal_mode;
    assert_eq!(mode, "wal");
}
