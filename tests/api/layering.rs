//! The layering of `src/` (STYLE.md: `http → service → {domain, store, geo, media, analytics}`), kept by a check
//! instead of by memory: the pure layers import neither the web framework nor the database, and the use-cases do
//! not import the web framework; and the use-cases, the store and auth read the time only from the injected clock
//! (`src/clock.rs`), never from the system's, so a test or the simulator can move every timestamp.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively (`dir` itself when it is a file).
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The files under `src/{layer}` whose code (comments aside) names one of `crates`, with the offending line.
fn imports(layer: &str, crates: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for krate in crates {
                let named = code.match_indices(krate).any(|(i, _)| {
                    let before = code[..i].chars().next_back();
                    let after = &code[i + krate.len()..];
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && after.starts_with("::")
                });
                if named {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

/// The lines under `src/{layer}` whose code (comments aside) contains one of `needles`.
fn mentions(layer: &str, needles: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|needle| code.contains(needle)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

/// The ways of reading the system's clock; only `src/clock.rs` (and the command line and HTTP edges, which hand
/// the time on) may use them.
const SYSTEM_CLOCK: [&str; 5] = [
    "Utc::now(",
    "Local::now(",
    "SystemTime::now(",
    "Utc::today(",
    "Local::today(",
];

#[test]
fn the_use_cases_the_store_and_auth_take_the_time_from_the_injected_clock() {
    for layer in ["service", "store", "auth"] {
        let found = mentions(layer, &SYSTEM_CLOCK);
        assert!(
            found.is_empty(),
            "src/{layer} reads the system clock (take `now` from the caller, or the `Clock` for a timer):\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_clock_check_sees_a_read_of_the_system_clock_where_there_is_one() {
    assert!(!mentions("clock.rs", &SYSTEM_CLOCK).is_empty());
    // The phone's command line stamps what it queues with the phone's own clock.
    assert!(!mentions("phone", &SYSTEM_CLOCK).is_empty());
}

#[test]
fn the_pure_layers_and_the_use_cases_do_not_import_the_web_framework() {
    for layer in ["domain", "geo", "analytics", "service"] {
        let found = imports(layer, &["actix_web", "actix_http", "actix_rt", "actix"]);
        assert!(
            found.is_empty(),
            "src/{layer} imports actix (HTTP concerns belong in src/http):\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_pure_layers_do_not_import_the_database() {
    for layer in ["domain", "geo", "analytics"] {
        let found = imports(layer, &["diesel", "diesel_migrations"]);
        assert!(
            found.is_empty(),
            "src/{layer} imports diesel (queries belong in src/store):\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    // Who may do what is pure (domain::access); the extractor and the state belong to the HTTP layer.
    let pure: &[&str] = &[
        "crate::service",
        "crate::http",
        "crate::store",
        "crate::db",
        "crate::app",
        "crate::cli",
        "crate::auth",
    ];
    let rules: [(&str, &[&str]); 6] = [
        ("domain", pure),
        ("geo", pure),
        ("analytics", pure),
        (
            "store",
            &["crate::service", "crate::http", "crate::app", "crate::cli"],
        ),
        ("service", &["crate::http", "crate::app", "crate::cli"]),
        ("auth", &["crate::service", "crate::http", "crate::app"]),
    ];
    for (layer, above) in rules {
        let found = imports(layer, above);
        assert!(
            found.is_empty(),
            "src/{layer} imports a layer above it (dependencies point inward):\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_check_sees_an_import_where_there_is_one() {
    // The check itself must be able to fail: src/http imports actix and src/store imports diesel.
    assert!(!imports("http", &["actix_web"]).is_empty());
    assert!(!imports("store", &["diesel"]).is_empty());
    assert!(!imports("http", &["crate::service"]).is_empty());
}
