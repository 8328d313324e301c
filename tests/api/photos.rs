//! Photo evidence through the real routes: resumable uploads, refusals of bad bytes, stored files and derivatives,
//! the rights on originals, and which of a report's photos are present, missing or doubtful.

use crate::common;

use actix_web::http::Method;
use common::{Resp, TestApp, jpeg};
use gridline::auth::role::Role;
use gridline::media::PhotoHash;
use serde_json::json;

fn rational(v: f64) -> Vec<u8> {
    let deg = v.trunc();
    let min = ((v - deg) * 60.0).trunc();
    let sec = ((v - deg) * 60.0 - min) * 60.0;
    let mut out = Vec::new();
    for (n, d) in [
        (deg as u32, 1u32),
        (min as u32, 1),
        ((sec * 1000.0).round() as u32, 1000),
    ] {
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&d.to_le_bytes());
    }
    out
}

fn entry(tag: u16, kind: u16, count: u32, value: [u8; 4]) -> Vec<u8> {
    let mut e = tag.to_le_bytes().to_vec();
    e.extend_from_slice(&kind.to_le_bytes());
    e.extend_from_slice(&count.to_le_bytes());
    e.extend_from_slice(&value);
    e
}

/// `jpeg` with an EXIF APP1 segment spliced in after SOI: orientation, GPS position and DateTimeOriginal.
fn with_exif(jpeg: &[u8], orientation: u16, lon: f64, lat: f64, taken: &str) -> Vec<u8> {
    // Layout (offsets from the TIFF header): IFD0 at 8 (3 entries), Exif IFD at 50 (1 entry, its string at 68),
    // GPS IFD at 88 (4 entries, latitude at 142, longitude at 166).
    let mut t = b"II".to_vec();
    t.extend_from_slice(&42u16.to_le_bytes());
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    let mut o = [0u8; 4];
    o[..2].copy_from_slice(&orientation.to_le_bytes());
    t.extend(entry(0x0112, 3, 1, o));
    t.extend(entry(0x8769, 4, 1, 50u32.to_le_bytes()));
    t.extend(entry(0x8825, 4, 1, 88u32.to_le_bytes()));
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 50);
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend(entry(0x9003, 2, 20, 68u32.to_le_bytes()));
    t.extend_from_slice(&0u32.to_le_bytes());
    let mut s = taken.as_bytes().to_vec();
    s.resize(20, 0);
    t.extend(s);
    assert_eq!(t.len(), 88);
    t.extend_from_slice(&4u16.to_le_bytes());
    t.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    t.extend(entry(0x0002, 5, 3, 142u32.to_le_bytes()));
    t.extend(entry(0x0003, 2, 2, *b"E\0\0\0"));
    t.extend(entry(0x0004, 5, 3, 166u32.to_le_bytes()));
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 142);
    t.extend(rational(lat));
    t.extend(rational(lon));
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + t.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend(t);
    let mut out = jpeg[..2].to_vec();
    out.extend(app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A tiny PNG whose header declares 100000×100000 pixels.
fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&[0, 0, 0, 0]);
    };
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn sha(bytes: &[u8]) -> String {
    PhotoHash::of(bytes).to_string()
}

async fn start(app: &TestApp, token: &str, sha: &str, size: usize, mime: &str) -> Resp {
    app.post_as(
        token,
        "/api/v1/photo-uploads",
        json!({"sha256": sha, "size": size, "mime": mime}),
    )
    .await
}

async fn patch(app: &TestApp, token: &str, id: &str, offset: usize, piece: &[u8]) -> Resp {
    let auth = format!("Bearer {token}");
    let offset = offset.to_string();
    app.send_raw(
        Method::PATCH,
        &format!("/api/v1/photo-uploads/{id}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/offset+octet-stream"),
            ("Upload-Offset", &offset),
        ],
        Some(piece.to_vec()),
    )
    .await
}

async fn head(app: &TestApp, token: &str, uri: &str) -> Resp {
    let auth = format!("Bearer {token}");
    app.send_raw(Method::HEAD, uri, &[("Authorization", &auth)], None)
        .await
}

async fn get_bytes(
    app: &TestApp,
    token: &str,
    uri: &str,
) -> (u16, Vec<u8>, actix_web::http::header::HeaderMap) {
    use actix_web::{App, test};
    let state = app.state.clone();
    let svc =
        test::init_service(App::new().configure(move |cfg| gridline::app::configure(cfg, state)))
            .await;
    let req = test::TestRequest::get()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .to_request();
    let res = test::call_service(&svc, req).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, test::read_body(res).await.to_vec(), headers)
}

/// Uploads `bytes` whole in pieces of `piece`; the last answer.
async fn upload(app: &TestApp, token: &str, bytes: &[u8], mime: &str) -> Resp {
    let r = start(app, token, &sha(bytes), bytes.len(), mime).await;
    if r.json["complete"] == true {
        return r;
    }
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let mut last = r;
    for (i, piece) in bytes.chunks(256 << 10).enumerate() {
        last = patch(app, token, &id, i * (256 << 10), piece).await;
        if last.status != 200 {
            return last;
        }
    }
    last
}

fn offset_header(r: &Resp) -> u64 {
    r.headers
        .get("Upload-Offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[actix_web::test]
async fn a_photo_sent_in_pieces_survives_a_cut_and_resumes_where_the_server_stands() {
    let app = TestApp::beijing();
    let me = app.token(Role::GridMember, &[]);
    let photo = jpeg(1200, 900, 1);
    let hash = sha(&photo);
    assert_eq!(
        head(&app, &me, &format!("/api/v1/photos/{hash}"))
            .await
            .status,
        404
    );
    let r = start(&app, &me, &hash, photo.len(), "image/jpeg").await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["offset"], 0);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let third = photo.len() / 3;
    let r = patch(&app, &me, &id, 0, &photo[..third]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["offset"], third);
    // The connection is cut during the second piece: the phone does not know what arrived, so it asks.
    let r = head(&app, &me, &format!("/api/v1/photo-uploads/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(offset_header(&r), third as u64);
    // A piece at the wrong offset is refused with where the upload stands.
    let r = patch(&app, &me, &id, third + 10, &photo[third + 10..2 * third]).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["code"], "offset_mismatch");
    assert_eq!(offset_header(&r), third as u64);
    // Starting again finds the unfinished upload.
    let r = start(&app, &me, &hash, photo.len(), "image/jpeg").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json["id"].as_str(), r.json["offset"].as_u64()),
        (Some(id.as_str()), Some(third as u64))
    );
    let r = patch(&app, &me, &id, third, &photo[third..]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["complete"], true);
    assert_eq!(
        head(&app, &me, &format!("/api/v1/photos/{hash}"))
            .await
            .status,
        200
    );
    // Content addressed: the same photo again needs no bytes.
    let r = start(&app, &me, &hash, photo.len(), "image/jpeg").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["complete"], true);
    assert!(r.json["id"].is_null());
    // The finished upload is gone.
    assert_eq!(
        head(&app, &me, &format!("/api/v1/photo-uploads/{id}"))
            .await
            .status,
        404
    );

    // Every stored original hashes to its name; derivatives fit their sizes.
    let root = app.photo_dir.path();
    let original =
        std::fs::read(root.join(format!("original/{}/{}/{hash}", &hash[..2], &hash[2..4])))
            .unwrap();
    assert_eq!(sha(&original), hash);
    let (status, thumb, headers) =
        get_bytes(&app, &me, &format!("/api/v1/photos/{hash}/thumb")).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").unwrap(), "image/jpeg");
    assert_eq!(
        headers.get("etag").unwrap().to_str().unwrap(),
        format!("\"{hash}\"")
    );
    assert!(
        headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        gridline::media::ingest::jpeg_header(&thumb).unwrap(),
        (320, 240)
    );
    let (status, display, _) =
        get_bytes(&app, &me, &format!("/api/v1/photos/{hash}/display")).await;
    assert_eq!(status, 200);
    assert_eq!(
        gridline::media::ingest::jpeg_header(&display).unwrap(),
        (1200, 900)
    );
    let no_files_left = std::fs::read_dir(root.join("uploads")).unwrap().count();
    assert_eq!(no_files_left, 0);
}

#[actix_web::test]
async fn orientation_is_applied_and_the_derivatives_carry_no_exif() {
    let app = TestApp::beijing();
    let me = app.token(Role::GridMember, &[]);
    let photo = with_exif(
        &jpeg(640, 320, 2),
        6,
        116.3975,
        39.9087,
        "2026:03:03 10:05:00",
    );
    let hash = sha(&photo);
    let r = upload(&app, &me, &photo, "image/jpeg").await;
    assert_eq!(r.json["complete"], true, "{}", r.json);
    let (_, display, _) = get_bytes(&app, &me, &format!("/api/v1/photos/{hash}/display")).await;
    let (_, thumb, _) = get_bytes(&app, &me, &format!("/api/v1/photos/{hash}/thumb")).await;
    // Orientation 6: turned 90° clockwise, so the wide photo stands and its left (red) half is on top.
    assert_eq!(
        gridline::media::ingest::jpeg_header(&display).unwrap(),
        (320, 640)
    );
    assert_eq!(
        gridline::media::ingest::jpeg_header(&thumb).unwrap(),
        (160, 320)
    );
    let pixels: Vec<u8> = mozjpeg::Decompress::new_mem(&display)
        .unwrap()
        .rgb()
        .unwrap()
        .read_scanlines()
        .unwrap();
    let (top, bottom) = (&pixels[..3], &pixels[pixels.len() - 3..]);
    assert!(top[0] > 150 && top[2] < 100, "top is red: {top:?}");
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "bottom is blue: {bottom:?}"
    );
    for d in [&display, &thumb] {
        assert!(
            !d.windows(4).any(|w| w == b"Exif"),
            "no EXIF in a derivative"
        );
    }
    // The original keeps it, for those who may read it.
    let (status, original, _) =
        get_bytes(&app, &me, &format!("/api/v1/photos/{hash}/original")).await;
    assert_eq!(status, 200);
    assert_eq!(original, photo);
}

#[actix_web::test]
async fn bad_bytes_are_refused_each_with_its_code_and_nothing_is_stored() {
    let app = TestApp::beijing();
    let me = app.token(Role::GridMember, &[]);
    let good = jpeg(400, 300, 3);
    let truncated = good[..good.len() * 2 / 3].to_vec();
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend(std::iter::repeat_n(7u8, 500));
    let mut jpeg_bomb = jpeg(16, 16, 4);
    // The frame header of a 16×16 JPEG made to declare 65000×65000.
    let sof = jpeg_bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .unwrap();
    jpeg_bomb[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated_image", truncated, "image/jpeg"),
        ("too_many_pixels", png_bomb(), "image/png"),
        ("too_many_pixels", jpeg_bomb, "image/jpeg"),
        (
            "not_an_image",
            b"%PDF-1.7 this is a document, not a photo".repeat(20),
            "image/jpeg",
        ),
        ("unsupported_format", heic, "image/jpeg"),
    ];
    for (code, bytes, mime) in cases {
        let r = upload(&app, &me, &bytes, mime).await;
        assert_eq!(r.status, 422, "{code}: {}", r.json);
        assert_eq!(r.json["code"], code);
        let hash = sha(&bytes);
        assert_eq!(
            head(&app, &me, &format!("/api/v1/photos/{hash}"))
                .await
                .status,
            404,
            "{code}"
        );
    }
    // A wrong hash: the bytes are discarded, nothing stored.
    let other = jpeg(200, 100, 5);
    let r = start(&app, &me, &sha(&good), other.len(), "image/jpeg").await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    let r = patch(&app, &me, &id, 0, &other).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["code"], "hash_mismatch");
    assert_eq!(
        head(&app, &me, &format!("/api/v1/photos/{}", sha(&good)))
            .await
            .status,
        404
    );
    assert_eq!(
        head(&app, &me, &format!("/api/v1/photo-uploads/{id}"))
            .await
            .status,
        404
    );
    // Refused at the start: too large, HEIC declared.
    let r = start(&app, &me, &sha(&good), 21 << 20, "image/jpeg").await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (413, Some("photo_too_large"))
    );
    let r = start(&app, &me, &sha(&good), 1000, "image/heic").await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (422, Some("unsupported_format"))
    );
    let r = start(&app, &me, "abc", 1000, "image/jpeg").await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (400, Some("invalid_sha256"))
    );
    // A piece past the declared size.
    let r = start(&app, &me, &sha(&good), 100, "image/jpeg").await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    let r = patch(&app, &me, &id, 0, &good[..200]).await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (413, Some("beyond_declared_size"))
    );
    // PNG is accepted too.
    let p = png(300, 200);
    let r = upload(&app, &me, &p, "image/png").await;
    assert_eq!(r.json["complete"], true, "{}", r.json);
}

#[actix_web::test]
async fn originals_are_for_the_uploader_and_the_roles_that_handle_evidence() {
    let app = TestApp::beijing();
    let uploader = app.token(Role::GridMember, &[]);
    let photo = jpeg(300, 200, 6);
    let hash = sha(&photo);
    assert_eq!(
        upload(&app, &uploader, &photo, "image/jpeg").await.json["complete"],
        true
    );
    let uri = format!("/api/v1/photos/{hash}/original");
    let another_member = app.token(Role::GridMember, &[]);
    let leader = app.token(Role::Leader, &[]);
    let dispatcher = app.token(Role::Dispatcher, &[]);
    for (who, status) in [
        (&uploader, 200),
        (&dispatcher, 200),
        (&another_member, 403),
        (&leader, 403),
    ] {
        let (got, body, _) = get_bytes(&app, who, &uri).await;
        assert_eq!(got, status);
        if status == 403 {
            let e: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(e["code"], "original_forbidden");
        }
    }
    // Display and thumbnail are open to every signed-in user; nobody without a token.
    let (got, _, _) = get_bytes(&app, &leader, &format!("/api/v1/photos/{hash}/display")).await;
    assert_eq!(got, 200);
    let r = app.get(&format!("/api/v1/photos/{hash}/thumb")).await;
    assert_eq!(r.status, 401);
}

#[actix_web::test]
async fn a_reports_photos_are_present_missing_or_doubtful() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let near = with_exif(&jpeg(320, 240, 7), 1, lon, lat, "2026:03:03 10:05:00");
    let far = with_exif(
        &jpeg(320, 240, 8),
        1,
        lon + 0.01,
        lat,
        "2026:03:05 10:00:00",
    );
    let missing = "c".repeat(64);
    for p in [&near, &far] {
        assert_eq!(
            upload(&app, &member, p, "image/jpeg").await.json["complete"],
            true
        );
    }
    let r = app
        .post_as(
            &member,
            "/api/v1/reports",
            json!({
                "id": "7f9619ff-8b86-d011-b42d-00c04fc964ff",
                "reported_at": "2026-03-03T10:00:00+08:00",
                "topic": "0101",
                "text": "垃圾堆放",
                "location": { "lon": lon, "lat": lat },
                "photos": [sha(&near), sha(&far), missing]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let report = r.json["report"]["id"].as_str().unwrap().to_owned();
    let r = app
        .get_as(&member, &format!("/api/v1/reports/{report}/photos"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["missing"], json!([missing]));
    let photos = r.json["photos"].as_array().unwrap();
    assert_eq!(photos[0]["present"], true);
    assert_eq!(photos[0]["doubtful"], false, "{}", photos[0]);
    assert!(photos[0]["distance_m"].as_f64().unwrap() < 1.0);
    assert_eq!(photos[1]["doubtful"], true);
    assert_eq!(
        photos[1]["reasons"],
        json!(["exif_position_far", "exif_time_far"])
    );
    assert_eq!(photos[2]["present"], false);
    // Thresholds are policy.
    let admin = app.token(Role::Admin, &[]);
    let r = common::put_policy(&app, &admin, "photos.doubtful_hours", "72").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = app
        .get_as(&member, &format!("/api/v1/reports/{report}/photos"))
        .await;
    assert_eq!(r.json["photos"][1]["reasons"], json!(["exif_position_far"]));
    // Outside the jurisdiction the report does not exist.
    let elsewhere = app.token(Role::GridMember, &["110105026041001"]);
    let r = app
        .get_as(&elsewhere, &format!("/api/v1/reports/{report}/photos"))
        .await;
    assert_eq!(r.status, 404);
}
