//! Statements built at run time over the kept counts (filters of any length), with every value bound: the text
//! numbers its binds for PostgreSQL (`$1`, ...) and leaves them plain for SQLite (`?`). Only text and dates are
//! bound; the callers bound how many values they bind.

use crate::db::DbConnection;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Date, Text};

/// A value bound to a statement.
pub(crate) enum Bind {
    /// Text.
    Text(String),
    /// A day.
    Date(NaiveDate),
}

/// A statement's text and its binds.
pub(crate) struct Sql {
    text: String,
    binds: Vec<Bind>,
    numbered: bool,
}

impl Sql {
    /// A statement for `conn`'s backend, starting with `start`.
    pub(crate) fn new(conn: &DbConnection, start: &str) -> Sql {
        Sql {
            text: start.to_owned(),
            binds: Vec::new(),
            numbered: matches!(conn, DbConnection::Pg(_)),
        }
    }

    /// Whether the statement is for PostgreSQL.
    pub(crate) fn is_pg(&self) -> bool {
        self.numbered
    }

    /// Appends text.
    pub(crate) fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Appends a bound value's placeholder.
    pub(crate) fn bind(&mut self, b: Bind) {
        self.binds.push(b);
        if self.numbered {
            self.text.push_str(&format!("${}", self.binds.len()));
        } else {
            self.text.push('?');
        }
    }

    /// ` AND (col = v1 OR col = v2 ...)` (or `LIKE 'v%'` when `prefix`); nothing for no values.
    pub(crate) fn any_of(&mut self, col: &str, values: &[String], prefix: bool) {
        if values.is_empty() {
            return;
        }
        self.push(" AND (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            self.push(col);
            self.push(if prefix { " LIKE " } else { " = " });
            self.bind(Bind::Text(if prefix { format!("{v}%") } else { v.clone() }));
        }
        self.push(")");
    }

    /// Runs the statement and reads its rows.
    pub(crate) fn load<T>(self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        crate::with_backend!(conn, c => {
            let mut q = diesel::sql_query(self.text).into_boxed();
            for b in self.binds {
                q = match b {
                    Bind::Text(s) => q.bind::<Text, _>(s),
                    Bind::Date(d) => q.bind::<Date, _>(d),
                };
            }
            q.load::<T>(c)
        })
    }
}
