//! The contract: every registered route is in api-spec/openapi.yaml and every route there is registered.

use crate::common;

use std::collections::BTreeSet;

#[test]
fn every_registered_route_is_in_the_spec_and_every_spec_route_is_registered() {
    let registered: BTreeSet<(String, String)> = gridline::app::route_list()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_ascii_lowercase(), p.to_owned()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in common::spec::spec()["paths"].as_object().unwrap() {
        for method in ["get", "head", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_owned(), path.clone()));
            }
        }
    }
    let missing: Vec<_> = registered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the spec: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&registered).collect();
    assert!(
        stale.is_empty(),
        "spec routes that are not registered: {stale:?}"
    );
}

#[test]
fn every_operation_documents_its_errors_with_the_error_schema() {
    for (path, item) in common::spec::spec()["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "head", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue; // path-level keys such as `parameters`
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} has a success response"
            );
            if path.starts_with("/api/") {
                assert!(
                    responses.contains_key("default"),
                    "{method} {path} documents the default error"
                );
            }
        }
    }
}
