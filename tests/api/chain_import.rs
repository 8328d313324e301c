//! `gridline chain import` / `export`: all or nothing, with line-numbered errors.

use crate::common;

use common::TestDb;
use gridline::service::chain;

/// Imports `text` with nothing in memory to keep current (as the command line does).
fn import(
    db: &gridline::db::Db,
    text: &str,
) -> Result<usize, Result<Vec<chain::LineError>, chain::ChainError>> {
    let index = chain::index::SharedChainIndex::default();
    chain::import_csv(db, &index, text, chrono::Utc::now().naive_utc())
}

fn export(db: &gridline::db::Db) -> String {
    let mut out = Vec::new();
    chain::export_csv(db, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// 10,000 lines re-assigning the generated grid members of 10,000 cells from 2026-02-01.
fn reassignments(exported: &str) -> Vec<String> {
    let mut lines = vec!["kind,target,person_id,unit_id,valid_from".to_owned()];
    for l in exported
        .lines()
        .skip(1)
        .filter(|l| l.contains(",grid_member,"))
        .take(10_000)
    {
        let f: Vec<&str> = l.split(',').collect();
        lines.push(format!(
            "grid_member,{},{},,2026-02-01T00:00:00+08:00",
            f[2], f[3]
        ));
    }
    assert_eq!(lines.len(), 10_001);
    lines
}

#[test]
fn one_bad_line_among_10000_changes_nothing_and_is_reported_by_number() {
    let t = TestDb::beijing();
    let db = t.open();
    let before = export(&db);
    let mut lines = reassignments(&before);
    // Line 5001 of the file (data line 5000) names a cell that does not exist.
    let parts: Vec<String> = lines[5000].split(',').map(str::to_owned).collect();
    lines[5000] = format!(
        "{},110101999999999,{},{},{}",
        parts[0], parts[2], parts[3], parts[4]
    );
    let Err(Ok(errors)) = import(&db, &lines.join("\n")) else {
        panic!("the file was applied")
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 5001);
    assert!(
        errors[0].message.contains("110101999999999"),
        "{}",
        errors[0].message
    );
    assert_eq!(export(&db), before, "nothing changed");
    let good = reassignments(&before);
    assert_eq!(import(&db, &good.join("\n")).unwrap(), 10_000);
    let after = export(&db);
    assert_eq!(after.lines().count(), before.lines().count() + 10_000);
}

#[test]
fn malformed_lines_and_headers_are_each_reported() {
    let t = TestDb::beijing();
    let db = t.open();
    let Err(Ok(e)) = import(&db, "who,where\nx,y\n") else {
        panic!()
    };
    assert_eq!(e[0].line, 1);
    let file = "kind,target,person_id,unit_id,valid_from,valid_to\n\
                grid_member,110101001001001,person_nope,,2026-02-01T00:00:00Z,\n\
                mayor,110101001001001,,,2026-02-01T00:00:00Z,\n\
                grid_member,110101001001001,,,yesterday,\n\
                grid_member,110101001001001,,,2026-02-01T00:00:00Z,2026-01-01T00:00:00Z\n";
    let Err(Ok(e)) = import(&db, file) else {
        panic!()
    };
    let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 5], "{e:?}");
}

#[test]
fn export_writes_every_assignment_with_its_history() {
    let t = TestDb::beijing();
    let db = t.open();
    let csv = export(&db);
    let header = csv.lines().next().unwrap();
    assert_eq!(header, chain::CSV_COLUMNS.join(","));
    let places = gridline::geo::dataset::places().unwrap();
    let cells = places
        .iter()
        .filter(|p| p.level == gridline::geo::place::Level::Cell)
        .count();
    assert_eq!(
        csv.lines().filter(|l| l.contains(",grid_member,")).count(),
        cells
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(["chain", "export"])
        .env("DATABASE_URL", &t.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), csv);
}
