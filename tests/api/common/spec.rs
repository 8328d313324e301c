//! Validation of responses against `api-spec/openapi.yaml` (OpenAPI 3.1, whose schemas are JSON Schema 2020-12).

use serde_json::Value;
use std::sync::OnceLock;

/// The spec as JSON.
pub fn spec() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.yaml");
        let text = std::fs::read_to_string(path).expect("read the spec");
        serde_yaml_ng::from_str(&text).expect("the spec is YAML")
    })
}

/// The spec path template that matches a concrete path (`/api/v1/places/110105` → `/api/v1/places/{code}`).
pub fn template_for(path: &str) -> Option<String> {
    let paths = spec()["paths"].as_object()?;
    let segs: Vec<&str> = path.split('/').collect();
    paths
        .keys()
        .find(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segs.len()
                && ts
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .cloned()
}

/// Panics unless `body` matches the schema the spec gives for this method, path and status.
pub fn check_response(method: &actix_web::http::Method, uri: &str, status: u16, body: &Value) {
    let path = uri.split('?').next().unwrap_or(uri);
    // Unknown routes answer the common error shape; under /open311/ the Open311 one.
    let fallback = if path.starts_with("/open311/") {
        serde_json::json!({"$ref": "#/components/schemas/Open311Errors"})
    } else {
        serde_json::json!({"$ref": "#/components/schemas/Error"})
    };
    let Some(template) = template_for(path) else {
        assert_eq!(
            status, 404,
            "{method} {uri}: not in the spec but answered {status}"
        );
        validate(&fallback, body, uri);
        return;
    };
    let op = &spec()["paths"][&template][method.as_str().to_ascii_lowercase()];
    if !op.is_object() {
        // A method the path does not have: the fallback's 404.
        assert_eq!(
            status, 404,
            "{method} {template}: not in the spec but answered {status}"
        );
        validate(&fallback, body, uri);
        return;
    }
    let responses = &op["responses"];
    let resp = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"));
    let Some(resp) = resp else {
        panic!("{method} {template}: status {status} is not documented; body {body}");
    };
    let resp = resolve(resp);
    let content = &resp["content"];
    // A CSV answer (`format=csv`) is not JSON: its columns are checked by the test that asks for it.
    if body.is_null() && content.get("text/csv").is_some() {
        return;
    }
    let Some(schema) = content
        .get("application/json")
        .or_else(|| content.get("application/geo+json"))
        .map(|c| &c["schema"])
    else {
        return;
    };
    validate(schema, body, uri);
}

fn resolve(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            spec().pointer(pointer).unwrap_or(v)
        }
        None => v,
    }
}

fn validate(schema: &Value, body: &Value, uri: &str) {
    let mut root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec()["components"].clone(),
    });
    root["allOf"] = serde_json::json!([schema.clone()]);
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("schema for {uri} is invalid: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{uri}: response does not match the spec:\n{}\nbody: {}",
        errors.join("\n"),
        truncate(body)
    );
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 2000 {
        format!(
            "{}…",
            &s[..s
                .char_indices()
                .nth(2000)
                .map(|(i, _)| i)
                .unwrap_or(s.len())]
        )
    } else {
        s
    }
}
