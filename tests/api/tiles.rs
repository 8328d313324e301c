//! Vector tiles over HTTP: tiles decode with an MVT reader (geozero's), every polygon is valid with MVT's winding,
//! neighbours share their edges, every tile of each layer's first zoom over Beijing answers, tiles hold only the
//! reader's places, bad input gets a code, empty tiles 204, ETag and 304, and an import starts the cache over.
//! Counts: a tile's features carry the heat map's numbers for the same places and filters, bad filters get the heat
//! map's codes, and a new ticket changes the tile and its ETag.

use crate::common::{self, TestApp};
use actix_web::http::Method;
use actix_web::{App, test};
use geo::{Geometry, LineString, MultiPolygon, Validation};
use geozero::mvt::{Message, Tile, TileValue};
use gridline::analytics::tiles::xyz::{self, TileId};
use gridline::analytics::tiles::{BUFFER, EXTENT, TileLayer};
use gridline::domain::access::Role;
use std::collections::{HashMap, HashSet};

/// Tiananmen.
const CENTRE: (f64, f64) = (116.3975, 39.9087);
/// The default dataset's grid covers this box.
const BEIJING: [f64; 4] = [115.4, 39.4, 117.56, 41.11];

struct Raw {
    status: u16,
    headers: actix_web::http::header::HeaderMap,
    body: Vec<u8>,
}

async fn fetch(app: &TestApp, token: Option<&str>, uri: &str, headers: &[(&str, &str)]) -> Raw {
    let state = app.state.clone();
    let svc =
        test::init_service(App::new().configure(move |cfg| gridline::app::configure(cfg, state)))
            .await;
    let mut req = test::TestRequest::get().uri(uri);
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let res = test::call_service(&svc, req.to_request()).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = test::read_body(res).await.to_vec();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    common::spec::check_response(&Method::GET, uri, status, &json);
    Raw {
        status,
        headers,
        body,
    }
}

/// The tile of zoom `z` holding a lon/lat.
fn tile_at(z: u8, (lon, lat): (f64, f64)) -> TileId {
    let (x, y) = xyz::project(lon, lat);
    let n = f64::from(TileId::count(z));
    TileId::new(z, (x * n) as u32, (y * n) as u32).unwrap()
}

fn uri(layer: &str, t: TileId) -> String {
    format!("/tiles/{layer}/{}/{}/{}.mvt", t.z(), t.x(), t.y())
}

struct Decoded {
    id: u64,
    props: HashMap<String, TileValue>,
    geometry: Geometry<f64>,
}

/// The features of `layer` in a tile, checking that the tile holds that layer first and at most its labels beside.
fn decode(bytes: &[u8], layer: &str) -> Vec<Decoded> {
    let tile = Tile::decode(bytes).expect("an MVT");
    let names: Vec<&str> = tile.layers.iter().map(|l| l.name.as_str()).collect();
    let labels = format!("{layer}_labels");
    assert!(
        names.first() == Some(&layer) && names[1..].iter().all(|n| *n == labels),
        "layers {names:?}"
    );
    decode_layer(bytes, layer)
}

/// The features of the tile's layer `name` (none when the tile has no such layer).
fn decode_layer(bytes: &[u8], name: &str) -> Vec<Decoded> {
    let tile = Tile::decode(bytes).expect("an MVT");
    let Some(l) = tile.layers.iter().find(|l| l.name == name) else {
        return Vec::new();
    };
    assert_eq!(
        (l.name.as_str(), l.version, l.extent),
        (name, 2, Some(EXTENT))
    );
    l.features
        .iter()
        .map(|f| {
            let mut w = geozero::geo_types::GeoWriter::new();
            geozero::mvt::process_geom(f, &mut w).expect("geometry decodes");
            let props = f
                .tags
                .chunks(2)
                .map(|kv| {
                    (
                        l.keys[kv[0] as usize].clone(),
                        TileValue::try_from(l.values[kv[1] as usize].clone()).unwrap(),
                    )
                })
                .collect();
            Decoded {
                id: f.id.expect("feature id"),
                props,
                geometry: w.take_geometry().expect("a geometry"),
            }
        })
        .collect()
}

fn polygons(g: &Geometry<f64>) -> MultiPolygon<f64> {
    match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(mp) => mp.clone(),
        other => panic!("not a polygon: {other:?}"),
    }
}

fn code(d: &Decoded) -> String {
    match &d.props["code"] {
        TileValue::Str(s) => s.clone(),
        other => panic!("code {other:?}"),
    }
}

/// Every polygon valid, exterior rings of positive and holes of negative area by MVT's formula.
fn assert_valid(features: &[Decoded]) {
    for f in features {
        if matches!(f.geometry, Geometry::Point(_)) {
            continue;
        }
        for p in polygons(&f.geometry).0 {
            assert!(
                p.is_valid(),
                "feature {} is invalid: {:?}",
                f.id,
                p.validation_errors()
            );
            assert!(
                area(p.exterior()) > 0.0,
                "feature {}: exterior winding",
                f.id
            );
            assert!(
                p.interiors().iter().all(|h| area(h) < 0.0),
                "feature {}: hole winding",
                f.id
            );
        }
    }
}

fn area(ring: &LineString<f64>) -> f64 {
    gridline::analytics::tiles::clip::mvt_ring_area(ring)
}

type Edge = ((i64, i64), (i64, i64));

/// The edges of features that no other feature has reversed, leaving out those on the clip box (where the tile
/// cuts every feature alike): inside a city covered without gaps there must be none.
fn unshared_edges(features: &[Decoded]) -> Vec<(u64, Edge)> {
    let lo = -i64::from(BUFFER);
    let hi = i64::from(EXTENT + BUFFER);
    let mut owner: HashMap<Edge, u64> = HashMap::new();
    let mut all = Vec::new();
    for f in features {
        for p in polygons(&f.geometry).0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for l in ring.lines() {
                    let e = (
                        (l.start.x as i64, l.start.y as i64),
                        (l.end.x as i64, l.end.y as i64),
                    );
                    owner.insert(e, f.id);
                    all.push((f.id, e));
                }
            }
        }
    }
    let on_box = |((ax, ay), (bx, by)): Edge| {
        (ax == bx && (ax == lo || ax == hi)) || (ay == by && (ay == lo || ay == hi))
    };
    all.into_iter()
        .filter(|&(id, e)| !on_box(e) && owner.get(&(e.1, e.0)).is_none_or(|&o| o == id))
        .collect()
}

#[actix_web::test]
async fn tiles_over_the_centre_decode_valid_and_neighbours_share_every_edge() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    // One tile per polygon layer, wholly inside the city (the layer's outline, where edges are legitimately
    // unshared, does not reach them): z9 116.02–116.72° E, 39.91–40.45° N; z10 116.37–116.72° E, 39.91–40.18° N.
    // Districts at z9 are simplified (a 100 m step is under 7 units there).
    for (layer, z, point, digits) in [
        ("districts", 9, (116.37, 40.17), 6),
        ("streets", 10, (116.45, 39.95), 9),
        ("communities", 12, CENTRE, 12),
        ("cells", 14, CENTRE, 15),
    ] {
        let t = tile_at(z, point);
        let r = fetch(&app, Some(&admin), &uri(layer, t), &[]).await;
        assert_eq!(r.status, 200, "{layer}");
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "application/vnd.mapbox-vector-tile"
        );
        let features = decode(&r.body, layer);
        assert!(features.len() >= 2, "{layer}: {} features", features.len());
        for f in &features {
            let c = code(f);
            assert_eq!(c.len(), digits);
            assert_eq!(f.id.to_string(), c);
            assert!(matches!(&f.props["name"], TileValue::Str(n) if !n.is_empty()));
            assert!(
                matches!(&f.props["parent"], TileValue::Str(p) if c.starts_with(p.as_str()) || p == "110000"),
                "{c}: {:?}",
                f.props["parent"]
            );
        }
        assert_valid(&features);
        let unshared = unshared_edges(&features);
        assert!(
            unshared.is_empty(),
            "{layer} z{z}: {} edges without their neighbour, e.g. {:?}",
            unshared.len(),
            &unshared[..unshared.len().min(5)]
        );
    }
}

#[actix_web::test]
async fn every_tile_of_each_layers_first_zoom_over_beijing_answers() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    for layer in TileLayer::ALL {
        let z = *layer.zooms().start();
        let (xs, ys) = xyz::covering(z, BEIJING);
        // The buildings' first zoom has about 12,000 tiles over the city: a band across the centre is enough
        // here; benches/tiles.rs fetches every tile of every band.
        let ys = if layer == TileLayer::Buildings {
            let y = tile_at(z, CENTRE).y();
            y..=y
        } else {
            ys
        };
        let (mut full, mut empty) = (0, 0);
        for x in xs {
            for y in ys.clone() {
                let t = TileId::new(z, x, y).unwrap();
                let r = fetch(&app, Some(&admin), &uri(layer.name(), t), &[]).await;
                match r.status {
                    200 => {
                        let features = decode(&r.body, layer.name());
                        assert!(!features.is_empty());
                        assert_valid(&features);
                        full += 1;
                    }
                    204 => empty += 1,
                    s => panic!("{} answered {s}", uri(layer.name(), t)),
                }
            }
        }
        assert!(full > 0, "{}: {full} tiles, {empty} empty", layer.name());
    }
}

/// A cell near the centre: its community, street and district codes.
fn centre_cell() -> String {
    let index = common::beijing_index();
    index
        .cell_code(index.cell_at(CENTRE.0, CENTRE.1).unwrap())
        .to_owned()
}

#[actix_web::test]
async fn a_secretarys_tile_holds_only_their_community_and_a_stranger_gets_none() {
    let app = TestApp::beijing();
    let cell = centre_cell();
    let community = &cell[..12];
    let secretary = app.token(Role::CommunitySecretary, &[community]);
    let admin = app.token(Role::Admin, &[]);
    let t = tile_at(14, CENTRE);
    let all = decode(
        &fetch(&app, Some(&admin), &uri("cells", t), &[]).await.body,
        "cells",
    );
    let r = fetch(&app, Some(&secretary), &uri("cells", t), &[]).await;
    assert_eq!(r.status, 200);
    let mine = decode(&r.body, "cells");
    assert!(!mine.is_empty() && mine.len() < all.len());
    assert!(mine.iter().all(|f| code(f).starts_with(community)));
    assert!(mine.iter().any(|f| code(f) == cell));
    // Buildings and their own community's outline too; nothing at the levels above.
    let b = fetch(&app, Some(&secretary), &uri("buildings", t), &[]).await;
    if b.status == 200 {
        assert!(
            decode(&b.body, "buildings")
                .iter()
                .all(|f| code(f).starts_with(community))
        );
    }
    let c = fetch(
        &app,
        Some(&secretary),
        &uri("communities", tile_at(12, CENTRE)),
        &[],
    )
    .await;
    let communities = decode(&c.body, "communities");
    assert_eq!(communities.len(), 1);
    assert_eq!(code(&communities[0]), community);
    for layer in ["districts", "streets"] {
        let z = *TileLayer::parse(layer).unwrap().zooms().start();
        let r = fetch(&app, Some(&secretary), &uri(layer, tile_at(z, CENTRE)), &[]).await;
        assert_eq!(r.status, 403, "{layer}");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["code"], "layer_out_of_scope");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("communities, cells, buildings")
        );
    }
    // A secretary of a community in another district: the same tile holds nothing of theirs.
    let far = gridline::geo::dataset::places()
        .unwrap()
        .into_iter()
        .find(|p| p.code.as_str().len() == 12 && p.code.as_str().starts_with("110111"))
        .unwrap();
    let stranger = app.token(Role::CommunitySecretary, &[far.code.as_str()]);
    assert_eq!(
        fetch(&app, Some(&stranger), &uri("cells", t), &[])
            .await
            .status,
        204
    );
    // A district leader sees the districts layer, with their district only.
    let district = &cell[..6];
    let leader = app.token(Role::Leader, &[district]);
    let r = fetch(
        &app,
        Some(&leader),
        &uri("districts", tile_at(9, CENTRE)),
        &[],
    )
    .await;
    let d = decode(&r.body, "districts");
    assert_eq!(
        d.iter().map(code).collect::<Vec<_>>(),
        vec![district.to_owned()]
    );
}

/// How often each place is labelled over the 3 × 3 cell tiles of z14 around the centre for `token`, checking that
/// each label lies in its tile, names a place whose outline is in the same tile, and carries its name; and the
/// places whose outlines reach into the middle tile.
async fn labels_around_the_centre(
    app: &TestApp,
    token: &str,
) -> (HashMap<String, usize>, HashSet<String>) {
    let middle = tile_at(14, CENTRE);
    let (mut labelled, mut reaching) = (HashMap::new(), HashSet::new());
    for dx in 0..3 {
        for dy in 0..3 {
            let t = TileId::new(14, middle.x() + dx - 1, middle.y() + dy - 1).unwrap();
            let r = fetch(app, Some(token), &uri("cells", t), &[]).await;
            if r.status == 204 {
                continue;
            }
            assert_eq!(r.status, 200);
            let shapes: HashSet<String> = decode(&r.body, "cells").iter().map(code).collect();
            for l in decode_layer(&r.body, "cells_labels") {
                let Geometry::Point(p) = l.geometry else {
                    panic!("a label is a point: {:?}", l.geometry)
                };
                assert!((0.0..=4096.0).contains(&p.x()) && (0.0..=4096.0).contains(&p.y()));
                assert!(
                    shapes.contains(&code(&l)),
                    "{} labelled outside its outline",
                    code(&l)
                );
                assert!(matches!(&l.props["name"], TileValue::Str(n) if !n.is_empty()));
                *labelled.entry(code(&l)).or_insert(0) += 1;
            }
            if t == middle {
                reaching = shapes;
            }
        }
    }
    (labelled, reaching)
}

#[actix_web::test]
async fn each_place_is_labelled_once_whatever_tiles_its_outline_crosses() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let (labelled, reaching) = labels_around_the_centre(&app, &admin).await;
    // A cell (well under a z14 tile across) that reaches into the middle tile has its label in the block.
    assert!(
        reaching.len() > 20,
        "{} cells in the middle tile",
        reaching.len()
    );
    for c in &reaching {
        assert_eq!(
            labelled.get(c),
            Some(&1),
            "{c} labelled {:?} times",
            labelled.get(c)
        );
    }
    assert!(labelled.values().all(|n| *n == 1), "{labelled:?}");
    // A community's secretary: labels of their own cells only, each once.
    let cell = centre_cell();
    let community = &cell[..12];
    let secretary = app.token(Role::CommunitySecretary, &[community]);
    let (mine, reaching) = labels_around_the_centre(&app, &secretary).await;
    assert!(mine.contains_key(&cell), "{mine:?}");
    assert!(mine.keys().all(|c| c.starts_with(community)), "{mine:?}");
    assert!(reaching.iter().all(|c| mine.get(c) == Some(&1)));
}

#[actix_web::test]
async fn tilejson_gives_the_url_band_fields_and_the_readers_bounds() {
    let app = TestApp::beijing();
    let cell = centre_cell();
    let admin = app.token(Role::Admin, &[]);
    let r = app.get_as(&admin, "/tiles/cells.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["tilejson"], "3.0.0");
    assert!(
        r.json["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/tiles/cells/{z}/{x}/{y}.mvt")
    );
    assert_eq!(
        (r.json["minzoom"].as_u64(), r.json["maxzoom"].as_u64()),
        (Some(12), Some(15))
    );
    assert_eq!(r.json["vector_layers"][0]["id"], "cells");
    assert_eq!(r.json["vector_layers"][0]["fields"]["code"], "String");
    assert_eq!(r.json["vector_layers"][1]["id"], "cells_labels");
    assert_eq!(r.json["vector_layers"][1]["fields"]["name"], "String");
    let city: Vec<f64> = serde_json::from_value(r.json["bounds"].clone()).unwrap();
    assert!(city[0] < 115.5 && city[2] > 117.4 && city[1] < 39.5 && city[3] > 41.0);
    let secretary = app.token(Role::CommunitySecretary, &[&cell[..12]]);
    let r = app.get_as(&secretary, "/tiles/cells.json").await;
    let mine: Vec<f64> = serde_json::from_value(r.json["bounds"].clone()).unwrap();
    assert!(
        mine[2] - mine[0] < 0.1 && mine[3] - mine[1] < 0.1,
        "a community's box: {mine:?}"
    );
    assert!(
        mine[0] <= CENTRE.0 && CENTRE.0 <= mine[2] && mine[1] <= CENTRE.1 && CENTRE.1 <= mine[3]
    );
    let r = app.get_as(&secretary, "/tiles/districts.json").await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (403, Some("layer_out_of_scope"))
    );
    let r = app.get_as(&admin, "/tiles/roads.json").await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (404, Some("layer_not_found"))
    );
    for field in [
        "tickets",
        "cases",
        "households",
        "tickets_per_1000_households",
        "previous_cases",
        "cases_change_pct",
    ] {
        assert_eq!(
            cells_field(&app, &admin, field).await,
            Some("Number".into()),
            "{field}"
        );
    }
    let buildings = app.get_as(&admin, "/tiles/buildings.json").await;
    assert_eq!(
        buildings.json["vector_layers"][0]["fields"]["households"],
        "Number"
    );
    assert!(buildings.json["vector_layers"][0]["fields"]["tickets"].is_null());
    assert_eq!(
        buildings.json["vector_layers"].as_array().map(Vec::len),
        Some(1),
        "points need no label layer"
    );
    // Filters are checked and carried into the URL template.
    let r = app
        .get_as(
            &admin,
            "/tiles/cells.json?from=2026-11-01&to=2026-11-30&topic=01",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(
        r.json["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/tiles/cells/{z}/{x}/{y}.mvt?from=2026-11-01&to=2026-11-30&topic=01"),
        "{}",
        r.json["tiles"][0]
    );
    let r = app.get_as(&admin, "/tiles/cells.json?topic=77").await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (400, Some("unknown_topic"))
    );
}

async fn cells_field(app: &TestApp, token: &str, field: &str) -> Option<String> {
    let r = app.get_as(token, "/tiles/cells.json").await;
    r.json["vector_layers"][0]["fields"][field]
        .as_str()
        .map(str::to_owned)
}

/// Files a hotline ticket at a point, received at `at` (RFC 3339).
async fn file(app: &TestApp, op: &str, no: &str, topic: &str, (lon, lat): (f64, f64), at: &str) {
    let r = app
        .post_as(
            op,
            "/api/v1/tickets",
            serde_json::json!({
                "ticket_no": no,
                "received_at": at,
                "channel": "phone",
                "request_type": "complaint",
                "topic": topic,
                "text": "路口井盖丢了，晚上很危险",
                "caller": { "name": "李四", "phone": format!("1391234{:04}", no.len() * 97 % 10_000) },
                "location": { "lon": lon, "lat": lat }
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
}

/// A tile feature's numbers as the heat map writes them (JSON; a number the tile leaves out is null).
fn tile_numbers(f: &Decoded) -> serde_json::Map<String, serde_json::Value> {
    use gridline::service::analytics::heatmap::NUMBER_FIELDS;
    NUMBER_FIELDS
        .iter()
        .map(|(name, _)| {
            let v = match f.props.get(*name) {
                None => serde_json::Value::Null,
                Some(TileValue::Int(i)) => serde_json::json!(i),
                Some(TileValue::Double(d)) => serde_json::json!(d),
                Some(other) => panic!("{name}: {other:?}"),
            };
            ((*name).to_owned(), v)
        })
        .collect()
}

/// The heat map's numbers of every place of a response, by code.
fn heat_numbers(
    r: &serde_json::Value,
) -> HashMap<String, serde_json::Map<String, serde_json::Value>> {
    use gridline::service::analytics::heatmap::NUMBER_FIELDS;
    r["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["code"].as_str().unwrap().to_owned(),
                NUMBER_FIELDS
                    .iter()
                    .map(|(name, _)| ((*name).to_owned(), p[*name].clone()))
                    .collect(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn the_counts_in_a_tile_equal_the_heat_maps_for_the_same_places_and_filters() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    // Tickets around Tiananmen over eight days: four in the window asked for, four in the period before it.
    let topics = ["0101", "0201", "0303", "0101"];
    for k in 0..24u32 {
        let point = (
            CENTRE.0 + f64::from(k % 5) * 0.0031 - 0.006,
            CENTRE.1 + f64::from(k % 7) * 0.0023 - 0.007,
        );
        let at = format!("2026-11-{:02}T{:02}:30:00+08:00", 20 + k % 8, 8 + k % 10);
        file(
            &app,
            &op,
            &format!("T-{k}"),
            topics[(k % 4) as usize],
            point,
            &at,
        )
        .await;
    }
    let cell = centre_cell();
    let admin = app.token(Role::Admin, &[]);
    let secretary = app.token(Role::CommunitySecretary, &[&cell[..12]]);
    let window = "from=2026-11-24&to=2026-11-27";
    let mut compared = 0;
    let mut counted = 0;
    for filters in [
        window.to_owned(),
        format!("{window}&topic=01&topic=0303&source=hotline&status=open"),
    ] {
        for (reader, layer, level, z) in [
            (&admin, "cells", "cell", 14),
            (&admin, "communities", "community", 12),
            (&admin, "streets", "street", 10),
            (&admin, "districts", "district", 9),
            (&secretary, "cells", "cell", 14),
        ] {
            let t = tile_at(z, CENTRE);
            let r = fetch(
                &app,
                Some(reader),
                &format!("{}?{filters}", uri(layer, t)),
                &[],
            )
            .await;
            assert_eq!(r.status, 200, "{layer} {filters}");
            let features = decode(&r.body, layer);
            let heat = app
                .get_as(reader, &format!("/api/v1/heatmap?level={level}&{filters}"))
                .await;
            assert_eq!(heat.status, 200, "{}", heat.json);
            let heat = heat_numbers(&heat.json);
            for f in &features {
                let c = code(f);
                let expected = heat
                    .get(&c)
                    .unwrap_or_else(|| panic!("{c} is in the tile, not in the heat map"));
                assert_eq!(&tile_numbers(f), expected, "{layer} {c} {filters}");
                compared += 1;
                counted += usize::from(expected["tickets"].as_i64() != Some(0));
            }
        }
    }
    assert!(
        compared > 100 && counted >= 10,
        "{compared} compared, {counted} with tickets"
    );
}

#[actix_web::test]
async fn bad_tile_filters_get_the_heat_maps_codes() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let tile = uri("cells", tile_at(14, CENTRE));
    for (query, code) in [
        ("from=2026-11-05&to=2026-11-01", "window_reversed"),
        ("from=2025-01-01&to=2026-11-01", "window_too_long"),
        ("from=2026-11-01", "missing_parameter"),
        ("from=2026-11-01&to=2026-11-31", "invalid_date"),
        ("from=2026-11-01&to=2026-11-30&topic=77", "unknown_topic"),
        ("from=2026-11-01&to=2026-11-30&source=fax", "unknown_source"),
        (
            "from=2026-11-01&to=2026-11-30&status=lost",
            "unknown_status",
        ),
        (
            "from=2026-11-01&to=2026-11-30&colour=red",
            "unknown_query_parameter",
        ),
    ] {
        let heat = app
            .get_as(&admin, &format!("/api/v1/heatmap?level=cell&{query}"))
            .await;
        let r = app.get_as(&admin, &format!("{tile}?{query}")).await;
        assert_eq!(
            (r.status.as_u16(), r.json["code"].as_str()),
            (heat.status.as_u16(), Some(code)),
            "{query}: {}",
            r.json
        );
        assert_eq!(heat.json["code"], code, "{query}");
    }
    // Without a window, the last 30 days: the tile answers.
    assert_eq!(fetch(&app, Some(&admin), &tile, &[]).await.status, 200);
}

#[actix_web::test]
async fn a_new_ticket_changes_the_tile_its_count_and_its_etag() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let path = uri("cells", tile_at(14, (lon, lat)));
    let tickets_of = |features: &[Decoded]| {
        features
            .iter()
            .find(|f| code(f) == cell)
            .map(|f| f.props["tickets"].clone())
    };
    let first = fetch(&app, Some(&admin), &path, &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        tickets_of(&decode(&first.body, "cells")),
        Some(TileValue::Int(0))
    );
    let etag = first
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let now = app.state.clock.now().and_utc().to_rfc3339();
    file(&app, &op, "E-1", "0101", (lon, lat), &now).await;
    let after = fetch(&app, Some(&admin), &path, &[("If-None-Match", &etag)]).await;
    assert_eq!(after.status, 200);
    assert_ne!(after.headers.get("etag").unwrap().to_str().unwrap(), etag);
    assert_eq!(
        tickets_of(&decode(&after.body, "cells")),
        Some(TileValue::Int(1))
    );
}

#[actix_web::test]
async fn bad_tile_requests_get_a_code_and_never_a_500() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    for (path, status, code) in [
        ("/tiles/roads/14/13489/6208.mvt", 404, "layer_not_found"),
        ("/tiles/cells/11/1686/776.mvt", 400, "zoom_out_of_band"),
        ("/tiles/cells/16/13489/6208.mvt", 400, "zoom_out_of_band"),
        ("/tiles/cells/99999999999/0/0.mvt", 400, "invalid_tile"),
        ("/tiles/cells/14/16384/6208.mvt", 400, "tile_out_of_range"),
        ("/tiles/cells/14/0/4294967295.mvt", 400, "tile_out_of_range"),
        ("/tiles/cells/14/-1/6208.mvt", 400, "invalid_tile"),
        ("/tiles/cells/14/x/6208.mvt", 400, "invalid_tile"),
        ("/tiles/cells/14/13489/+6208.mvt", 400, "invalid_tile"),
        (
            "/tiles/cells/14/13489/6208.mvt?colour=red",
            400,
            "unknown_query_parameter",
        ),
        (
            "/tiles/buildings/16/53957/24832.mvt?topic=01",
            400,
            "unknown_query_parameter",
        ),
    ] {
        let r = app.get_as(&admin, path).await;
        assert_eq!(r.status.as_u16(), status, "{path}: {:?}", r.json);
        assert_eq!(r.json["code"], code, "{path}");
    }
    let r = fetch(&app, None, "/tiles/cells/14/13489/6208.mvt", &[]).await;
    assert_eq!(r.status, 401);
}

#[actix_web::test]
async fn an_empty_tile_is_204_and_a_fresh_etag_304() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let r = fetch(&app, Some(&admin), "/tiles/cells/12/0/0.mvt", &[]).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let path = uri("cells", tile_at(14, CENTRE));
    let first = fetch(&app, Some(&admin), &path, &[]).await;
    assert_eq!(first.status, 200);
    let etag = first
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    assert_eq!(
        first.headers.get("cache-control").unwrap(),
        "private, no-cache"
    );
    assert_eq!(first.headers.get("vary").unwrap(), "Authorization");
    let again = fetch(&app, Some(&admin), &path, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.headers.get("etag").unwrap().to_str().unwrap(), etag);
    let stale = fetch(&app, Some(&admin), &path, &[("If-None-Match", "\"0000\"")]).await;
    assert_eq!((stale.status, stale.body.len()), (200, first.body.len()));
    // Another reader's tile differs, and so does its validator.
    let cell = centre_cell();
    let secretary = app.token(Role::CommunitySecretary, &[&cell[..12]]);
    let theirs = fetch(&app, Some(&secretary), &path, &[("If-None-Match", &etag)]).await;
    assert_eq!(theirs.status, 200);
    assert_ne!(theirs.headers.get("etag").unwrap().to_str().unwrap(), etag);
}

#[actix_web::test]
async fn a_geodata_import_starts_the_tile_cache_over() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let path = uri("cells", tile_at(14, CENTRE));
    assert_eq!(fetch(&app, Some(&admin), &path, &[]).await.status, 200);
    // Re-import the districts as they are, dropping every level below them: the cells are gone.
    let districts: Vec<gridline::geo::place::Place> = gridline::geo::dataset::places()
        .unwrap()
        .into_iter()
        .filter(|p| p.level == gridline::geo::place::Level::District)
        .collect();
    let mut bytes = Vec::new();
    gridline::geo::layers::write_places(&mut bytes, &districts).unwrap();
    gridline::service::admin::geodata::import(
        &app.state.db,
        &bytes,
        gridline::geo::place::Level::District,
        true,
        app.state.clock.now(),
    )
    .unwrap();
    assert_eq!(fetch(&app, Some(&admin), &path, &[]).await.status, 204);
    let codes: HashSet<String> = decode(
        &fetch(
            &app,
            Some(&admin),
            &uri("districts", tile_at(9, CENTRE)),
            &[],
        )
        .await
        .body,
        "districts",
    )
    .iter()
    .map(code)
    .collect();
    assert!(codes.contains(&centre_cell()[..6]));
}

/// The z14 cell tile `t` as the server keeps it for `user` (default filters), when it would answer from memory.
fn kept_tile(
    app: &TestApp,
    user: &gridline::domain::access::Principal,
    t: TileId,
) -> Option<Option<gridline::service::analytics::tiles::TileBytes>> {
    app.state.tiles.kept(
        &app.state.db,
        user,
        TileLayer::Cells,
        t,
        &gridline::service::analytics::tiles::TileFilters::default(),
        app.state.clock.now(),
    )
}

/// Fetches `path` until the tile it made is kept and answered without the database ([`Tiles::kept`]: it holds for
/// a moment after the request that read the counts), at most a few times; the kept bytes.
async fn kept_after_fetch(
    app: &TestApp,
    token: &str,
    path: &str,
    user: &gridline::domain::access::Principal,
    t: TileId,
) -> Option<Vec<u8>> {
    for _ in 0..20 {
        let r = fetch(app, Some(token), path, &[]).await;
        assert_eq!(r.status, 200);
        if let Some(kept) = kept_tile(app, user, t) {
            let kept = kept.expect("a tile with features");
            assert_eq!(
                kept.bytes.as_ref(),
                r.body.as_slice(),
                "the kept tile is the one just answered"
            );
            return Some(kept.bytes.to_vec());
        }
    }
    None
}

#[actix_web::test]
async fn a_kept_tile_answers_until_a_write_here_or_for_a_moment_after_one_elsewhere() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let op = app.token(Role::HotlineOperator, &[]);
    let now = app.state.clock.now();
    let user = gridline::service::auth::authenticate(&app.state.db, &admin, now).unwrap();
    let (lon, lat, cell) = common::spot();
    let t = tile_at(14, (lon, lat));
    let path = uri("cells", t);
    let tickets_of = |bytes: &[u8]| {
        decode(bytes, "cells")
            .iter()
            .find(|f| code(f) == cell)
            .map(|f| f.props["tickets"].clone())
    };
    let kept = kept_after_fetch(&app, &admin, &path, &user, t)
        .await
        .expect("a tile asked again at once is kept");
    assert_eq!(tickets_of(&kept), Some(TileValue::Int(0)));

    // A write through this server: the kept tile is no longer trusted, and the next tile counts it.
    let at = now.and_utc().to_rfc3339();
    file(&app, &op, "K-1", "0101", (lon, lat), &at).await;
    assert!(
        kept_tile(&app, &user, t).is_none(),
        "a write of this process leaves no kept tile trusted"
    );
    let kept = kept_after_fetch(&app, &admin, &path, &user, t)
        .await
        .expect("kept again");
    assert_eq!(tickets_of(&kept), Some(TileValue::Int(1)));

    // Another process (a second handle on the database, as an import command) changes the counts: once the bound
    // has passed, the tile is made again from what is stored.
    common::set_counted_tickets(&app.db.open(), &cell, 7);
    std::thread::sleep(gridline::db::OTHERS_SEEN_WITHIN);
    assert!(
        kept_tile(&app, &user, t).is_none(),
        "no kept tile is trusted past the bound"
    );
    let r = fetch(&app, Some(&admin), &path, &[]).await;
    assert_eq!(tickets_of(&r.body), Some(TileValue::Int(7)));
}

#[actix_web::test]
async fn a_department_handlers_tile_counts_their_topics_only_beside_the_citys() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let dept = app.token_with_topics(Role::DepartmentHandler, &[&cell[..6]], &["01"]);
    let at = app.state.clock.now().and_utc().to_rfc3339();
    file(&app, &op, "D-1", "0101", (lon, lat), &at).await;
    file(&app, &op, "D-2", "0201", (lon, lat), &at).await;
    let path = uri("cells", tile_at(14, (lon, lat)));
    let tickets_of = |bytes: &[u8]| {
        decode(bytes, "cells")
            .iter()
            .find(|f| code(f) == cell)
            .map(|f| f.props["tickets"].clone())
    };
    // The same tile, filters and counts' version for both: each gets the numbers their topics bound, whoever
    // asked first, and asked again.
    for _ in 0..2 {
        let city = fetch(&app, Some(&admin), &path, &[]).await;
        assert_eq!(city.status, 200);
        assert_eq!(tickets_of(&city.body), Some(TileValue::Int(2)));
        let mine = fetch(&app, Some(&dept), &path, &[]).await;
        assert_eq!(mine.status, 200);
        assert_eq!(tickets_of(&mine.body), Some(TileValue::Int(1)));
    }
}
