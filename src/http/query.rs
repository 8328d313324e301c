//! Query strings of every `/api/v1` route: [`Query`] is the only extractor for them (clippy refuses actix's
//! `web::Query`, see `clippy.toml`). A parameter the route does not know is a 400 `unknown_query_parameter` that
//! lists the parameters it accepts, never silently ignored (a misspelt filter used to answer an unfiltered list);
//! a value outside a fixed set is a 400 that lists the accepted values ([`one_of`]: `invalid_query_value`, or the
//! parameter's own documented code through [`one_of_coded`], e.g. `unknown_crs`). Every fixed-value parameter of
//! every route is refused through [`not_one_of`], so each such refusal carries `accepted`.
//!
//! The accepted names are read from the query type itself (the field list serde derives for it), so a route's
//! documentation in the error cannot drift from what it parses.

use crate::error::ApiError;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::de::{self, DeserializeOwned, Visitor};
use std::future::{Ready, ready};

/// The longest query string read (a list route's filters fit in a few hundred bytes).
pub const MAX_QUERY_BYTES: usize = 4 << 10;

/// Proposals, scans and such per page when the query names none.
const DEFAULT_PER_PAGE: usize = 20;

/// The query of a paged list: `page` (from 1) and `per_page` (the service checks their range).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page, from 1.
    pub page: Option<usize>,
    /// Items per page (1 to 100, default 20).
    pub per_page: Option<usize>,
}

impl PageQuery {
    /// (page, per page), defaults filled in.
    pub fn get(&self) -> (usize, usize) {
        paging(self.page, self.per_page)
    }
}

/// (page, per page) of a list query's two parameters, defaults filled in (page 1, 20 a page).
pub fn paging(page: Option<usize>, per_page: Option<usize>) -> (usize, usize) {
    (page.unwrap_or(1), per_page.unwrap_or(DEFAULT_PER_PAGE))
}

/// The query of a route that takes no parameters (any given is refused).
#[derive(Debug, serde::Deserialize)]
pub struct NoParameters {}

/// A route's parsed query string; see the module comment.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parsed query.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// Parses a query string into `T`, refusing parameters `T` does not have.
pub fn parse<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("the query string is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let unreadable = |e: serde_urlencoded::de::Error| {
        ApiError::bad_request(
            "invalid_query",
            format!("the query string could not be read: {e}"),
        )
    };
    if let Some(accepted) = field_names::<T>() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).map_err(unreadable)?;
        if let Some((name, _)) = pairs.iter().find(|(k, _)| !accepted.contains(&k.as_str())) {
            let name: String = name.chars().take(40).collect();
            return Err(ApiError::BadValue {
                code: "unknown_query_parameter",
                message: if accepted.is_empty() {
                    format!("this route takes no query parameters, but {name:?} was given")
                } else {
                    format!(
                        "{name:?} is not a parameter of this route; it accepts {}",
                        accepted.join(", ")
                    )
                },
                accepted: accepted.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
    }
    serde_urlencoded::from_str(raw).map_err(unreadable)
}

/// `value` when it is one of `accepted`, else a 400 `invalid_query_value` naming the parameter and the accepted
/// values.
pub fn one_of(
    name: &str,
    value: Option<String>,
    accepted: &[&str],
) -> Result<Option<String>, ApiError> {
    one_of_coded("invalid_query_value", name, value, accepted)
}

/// [`one_of`] for a parameter whose refusal has a documented code of its own (e.g. `unknown_crs`).
pub fn one_of_coded(
    code: &'static str,
    name: &str,
    value: Option<String>,
    accepted: &[&str],
) -> Result<Option<String>, ApiError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if accepted.contains(&v.as_str()) => Ok(Some(v)),
        Some(v) => Err(not_one_of(code, name, &v, accepted)),
    }
}

/// The 400 for `value` of parameter `name` outside its fixed set `accepted`, with `code` and the values in
/// `accepted`.
pub fn not_one_of(code: &'static str, name: &str, value: &str, accepted: &[&str]) -> ApiError {
    ApiError::BadValue {
        code,
        message: format!(
            "{name} {:?} is not one of {}",
            value.chars().take(40).collect::<String>(),
            accepted.join(", ")
        ),
        accepted: accepted.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The field names serde derived for a struct `T`; `None` when `T` is not read as a plain struct (e.g. a map, or
/// a struct with a flattened part), whose names cannot be known in advance.
fn field_names<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut names = None;
    // The deserializer only records the names and then stops with an error, which is expected.
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// A deserializer that records the field list a derived `Deserialize` passes to `deserialize_struct`.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Filter {
        status: Option<String>,
        limit: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    struct Nothing {}

    fn body(e: ApiError) -> (String, Vec<String>) {
        match e {
            ApiError::BadValue { code, accepted, .. } => (code.to_owned(), accepted),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_accepted_names_are_the_structs_fields() {
        assert_eq!(field_names::<Filter>(), Some(&["status", "limit"][..]));
        assert_eq!(field_names::<Nothing>(), Some(&[][..]));
        assert_eq!(
            field_names::<std::collections::HashMap<String, String>>(),
            None
        );
    }

    #[test]
    fn known_parameters_parse_and_an_unknown_one_is_refused_with_the_accepted_names() {
        let f: Filter = parse("status=closed&limit=5").unwrap();
        assert_eq!((f.status.as_deref(), f.limit), (Some("closed"), Some(5)));
        let (code, accepted) = body(parse::<Filter>("stauts=closed").unwrap_err());
        assert_eq!(code, "unknown_query_parameter");
        assert_eq!(accepted, ["status", "limit"]);
        let (code, accepted) = body(parse::<Nothing>("x=1").unwrap_err());
        assert_eq!(
            (code.as_str(), accepted.len()),
            ("unknown_query_parameter", 0)
        );
    }

    #[test]
    fn a_value_outside_the_set_is_refused_with_the_accepted_values() {
        assert_eq!(
            one_of("source", Some(" patrol ".into()), &["hotline", "patrol"]).unwrap(),
            Some("patrol".into())
        );
        assert_eq!(
            one_of("source", Some(String::new()), &["hotline"]).unwrap(),
            None
        );
        let (code, accepted) =
            body(one_of("source", Some("fax".into()), &["hotline", "patrol"]).unwrap_err());
        assert_eq!(code, "invalid_query_value");
        assert_eq!(accepted, ["hotline", "patrol"]);
    }
}
