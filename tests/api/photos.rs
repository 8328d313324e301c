//! Photo evidence through the real routes: resumable uploads, refusals of bad bytes, stored files and derivatives,
//! the rights on originals, and which of a report's photos are present, missing or doubtful.

use crate::common;

use actix_web::http::Method;
use common::{Resp, TestApp, jpeg};
use gridline::domain::access::Role;
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
pub(crate) fn with_exif(jpeg: &[u8], orientation: u16, lon: f64, lat: f64, taken: &str) -> Vec<u8> {
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
pub(crate) async fn upload(app: &TestApp, token: &str, bytes: &[u8], mime: &str) -> Resp {
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

/// Files a report at the test spot naming `photos`; its id.
async fn report_with(app: &TestApp, token: &str, photos: &[&str]) -> String {
    let (lon, lat, _) = common::spot();
    let r = app
        .post_as(
            token,
            "/api/v1/reports",
            json!({
                "reported_at": "2026-03-03T10:00:00+08:00",
                "topic": "0101",
                "text": "垃圾堆放",
                "location": { "lon": lon, "lat": lat },
                "photos": photos
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["report"]["id"].as_str().unwrap().to_owned()
}

/// A street in another district than the test spot's.
fn another_street(cell: &str) -> &'static str {
    if cell.starts_with("110105") {
        "110101001"
    } else {
        "110105026"
    }
}

/// The statuses `token` gets for the photo's original, display copy, thumbnail and `HEAD` (of the photo and of its
/// display copy).
async fn statuses(app: &TestApp, token: &str, hash: &str) -> [u16; 5] {
    let mut out = [0; 5];
    for (i, variant) in ["original", "display", "thumb"].into_iter().enumerate() {
        out[i] = get_bytes(app, token, &format!("/api/v1/photos/{hash}/{variant}"))
            .await
            .0;
    }
    out[3] = head(app, token, &format!("/api/v1/photos/{hash}"))
        .await
        .status
        .as_u16();
    out[4] = head(app, token, &format!("/api/v1/photos/{hash}/display"))
        .await
        .status
        .as_u16();
    out
}

#[actix_web::test]
async fn a_photo_is_read_only_within_the_jurisdiction_of_the_case_it_belongs_to() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let photo = jpeg(300, 200, 11);
    let hash = sha(&photo);
    assert_eq!(
        upload(&app, &member, &photo, "image/jpeg").await.json["complete"],
        true
    );
    report_with(&app, &member, &[&hash]).await;
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let other_street = app.token(Role::StreetHandler, &[another_street(&cell)]);
    assert_eq!(statuses(&app, &street, &hash).await, [200; 5]);
    assert_eq!(statuses(&app, &member, &hash).await, [200; 5]);
    assert_eq!(statuses(&app, &other_street, &hash).await, [404; 5]);
    // Display copies are for those who may see the case; the original (with its position) by role as well.
    let leader = app.token(Role::Leader, &[&cell[..6]]);
    assert_eq!(
        statuses(&app, &leader, &hash).await,
        [403, 200, 200, 200, 200]
    );
    let other_leader = app.token(Role::Leader, &[&another_street(&cell)[..6]]);
    assert_eq!(statuses(&app, &other_leader, &hash).await, [404; 5]);
    // HEAD on a file answers as GET does, without the body.
    let r = head(&app, &street, &format!("/api/v1/photos/{hash}/display")).await;
    assert_eq!(r.headers.get("content-type").unwrap(), "image/jpeg");
    assert_eq!(
        r.headers.get("etag").unwrap().to_str().unwrap(),
        format!("\"{hash}\"")
    );
}

#[actix_web::test]
async fn a_photo_attached_to_nothing_is_visible_only_to_its_uploader() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let uploader = app.token(Role::GridMember, &[&cell]);
    let photo = jpeg(300, 200, 6);
    let hash = sha(&photo);
    assert_eq!(
        upload(&app, &uploader, &photo, "image/jpeg").await.json["complete"],
        true
    );
    assert_eq!(statuses(&app, &uploader, &hash).await, [200; 5]);
    let neighbour = app.token(Role::GridMember, &[&cell]);
    let admin = app.token(Role::Admin, &[]);
    let dispatcher = app.token(Role::Dispatcher, &["110000"]);
    for who in [&neighbour, &admin, &dispatcher] {
        assert_eq!(statuses(&app, who, &hash).await, [404; 5]);
    }
    // Nobody without a token.
    let r = app.get(&format!("/api/v1/photos/{hash}/thumb")).await;
    assert_eq!(r.status, 401);
}

#[actix_web::test]
async fn sending_bytes_stored_for_another_scope_grants_no_access_to_their_uses() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let photo = jpeg(300, 200, 12);
    let hash = sha(&photo);
    assert_eq!(
        upload(&app, &member, &photo, "image/jpeg").await.json["complete"],
        true
    );
    report_with(&app, &member, &[&hash]).await;
    let stranger = app.token(Role::GridMember, &[another_street(&cell)]);
    // Nothing tells the stranger the photo exists: the start of an upload asks for its bytes like any other.
    let r = start(&app, &stranger, &hash, photo.len(), "image/jpeg").await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["complete"], false);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let r = patch(&app, &stranger, &id, 0, &photo).await;
    assert_eq!(r.json["complete"], true, "{}", r.json);
    // Holding the same bytes does not reach the member's report.
    assert_eq!(statuses(&app, &stranger, &hash).await, [404; 5]);
    // Naming the hash in a report of one's own proves nothing either: the report shows it missing until the bytes
    // come from its reporter.
    let hash_only = app.token(Role::GridMember, &[another_street(&cell)]);
    let report = report_with(&app, &hash_only, &[&hash]).await;
    assert_eq!(statuses(&app, &hash_only, &hash).await, [404; 5]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let r = app
        .get_as(&street, &format!("/api/v1/reports/{report}/photos"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["missing"], json!([hash]), "{}", r.json);
    // The member and the street still see it, through the member's report.
    assert_eq!(statuses(&app, &member, &hash).await, [200; 5]);
    assert_eq!(statuses(&app, &street, &hash).await, [200; 5]);
}

#[actix_web::test]
async fn unfinished_uploads_are_bounded_per_user_and_per_phone() {
    use gridline::service::sync::photos::{
        MAX_OPEN_UPLOAD_BYTES_PER_USER, MAX_OPEN_UPLOADS_PER_DEVICE, MAX_OPEN_UPLOADS_PER_USER,
    };
    let app = TestApp::beijing();
    let fake = |i: usize| format!("{i:064x}");
    // By count: the 33rd unfinished upload of one user is refused.
    let member = app.token(Role::GridMember, &[]);
    for i in 0..MAX_OPEN_UPLOADS_PER_USER {
        let r = start(&app, &member, &fake(i), 1 << 20, "image/jpeg").await;
        assert_eq!(r.status, 201, "{i}: {}", r.json);
    }
    let r = start(&app, &member, &fake(1000), 1 << 20, "image/jpeg").await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["code"], "too_many_open_uploads");
    // Resuming one of them is not a new upload.
    let r = start(&app, &member, &fake(0), 1 << 20, "image/jpeg").await;
    assert_eq!(r.status, 200, "{}", r.json);
    // By bytes: 20 MB each, the upload past 256 MiB is refused.
    let other = app.token(Role::GridMember, &[]);
    let size = 20 << 20;
    let fit = (MAX_OPEN_UPLOAD_BYTES_PER_USER / size) as usize;
    for i in 0..fit {
        let r = start(&app, &other, &fake(2000 + i), size as usize, "image/jpeg").await;
        assert_eq!(r.status, 201, "{i}: {}", r.json);
    }
    let r = start(&app, &other, &fake(3000), size as usize, "image/jpeg").await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["code"], "too_many_open_uploads");
    // Per phone: a registered phone has a smaller share.
    let third = app.token(Role::GridMember, &[]);
    let r = app
        .post_as(&third, "/api/v1/devices", json!({"name": "华为 Mate 60"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let device = r.json["token"].as_str().unwrap().to_owned();
    for i in 0..MAX_OPEN_UPLOADS_PER_DEVICE {
        let r = start(&app, &device, &fake(4000 + i), 1 << 20, "image/jpeg").await;
        assert_eq!(r.status, 201, "{i}: {}", r.json);
    }
    let r = start(&app, &device, &fake(5000), 1 << 20, "image/jpeg").await;
    assert_eq!(r.status, 409, "{}", r.json);
    // The same user signed in otherwise still has room.
    let r = start(&app, &third, &fake(5000), 1 << 20, "image/jpeg").await;
    assert_eq!(r.status, 201, "{}", r.json);
}

#[test]
fn uploads_started_at_once_still_stop_at_the_bound() {
    use gridline::service::sync::photos::{self, MAX_OPEN_UPLOADS_PER_USER};
    let app = TestApp::beijing();
    let member = app.token(Role::GridMember, &[]);
    let user = gridline::service::auth::authenticate(&app.state.db, &member, app.state.clock.now())
        .unwrap();
    let over = 16;
    let threads = MAX_OPEN_UPLOADS_PER_USER + over;
    // All started at once from threads of their own (on PostgreSQL each on its own connection of the pool), so
    // only a count-and-insert under one lock keeps the bound.
    let gate = std::sync::Barrier::new(threads);
    let answers: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (app, user, gate) = (&app, &user, &gate);
                s.spawn(move || {
                    gate.wait();
                    photos::start_upload(
                        &app.state.db,
                        &app.state.photos,
                        user,
                        None,
                        &format!("{:064x}", 7000 + i),
                        1 << 20,
                        "image/jpeg",
                        app.state.clock.now(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = answers.iter().filter(|r| r.is_ok()).count();
    let refused = answers
        .iter()
        .filter(|r| matches!(r, Err(photos::PhotoError::TooManyUploads { .. })))
        .count();
    assert_eq!((created, refused), (MAX_OPEN_UPLOADS_PER_USER, over));
}

#[actix_web::test]
async fn expired_uploads_are_swept_on_a_timer_without_a_new_upload() {
    let app = TestApp::beijing();
    let member = app.token(Role::GridMember, &[]);
    let photo = jpeg(300, 200, 13);
    let r = start(&app, &member, &sha(&photo), photo.len(), "image/jpeg").await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        patch(&app, &member, &id, 0, &photo[..100]).await.status,
        200
    );
    let uploads = app.photo_dir.path().join("uploads");
    let files = || std::fs::read_dir(&uploads).unwrap().count();
    let row = || {
        gridline::store::photos::upload(&mut app.state.db.reader().unwrap(), &id)
            .unwrap()
            .is_some()
    };
    assert_eq!((files(), row()), (1, true));
    let state = app.state.clone();
    let clock = state.clock.clone();
    let sweeper = gridline::service::sync::photos::spawn_sweeper(
        state.db.clone(),
        state.photos.clone(),
        std::time::Duration::from_millis(20),
        move || clock.now(),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!((files(), row()), (1, true), "not expired yet");
    app.state.clock.advance(chrono::Duration::hours(25));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while row() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(sweeper);
    assert_eq!((files(), row()), (0, false), "swept by the timer");
}

#[actix_web::test]
async fn a_jpeg_whose_header_claims_more_pixels_than_its_data_holds_is_refused() {
    let app = TestApp::beijing();
    let member = app.token(Role::GridMember, &[]);
    let mut photo = jpeg(640, 480, 14);
    let sof = photo.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    photo[sof + 5..sof + 9].copy_from_slice(&[0x09, 0xC4, 0x3E, 0x80]);
    let r = upload(&app, &member, &photo, "image/jpeg").await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["code"], "corrupt_image");
    assert_eq!(
        head(&app, &member, &format!("/api/v1/photos/{}", sha(&photo)))
            .await
            .status,
        404
    );
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

#[actix_web::test]
async fn a_photo_a_phone_pushes_with_a_report_is_read_within_the_reports_jurisdiction() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let r = app
        .post_as(&member, "/api/v1/devices", json!({"name": "华为 Mate 60"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let device = r.json["token"].as_str().unwrap().to_owned();
    let first = jpeg(300, 200, 15);
    let second = jpeg(300, 200, 16);
    for p in [&first, &second] {
        assert_eq!(
            upload(&app, &device, p, "image/jpeg").await.json["complete"],
            true
        );
    }
    let report = "00000000-0000-4000-8000-000000000151";
    let r = app
        .post_as(
            &device,
            "/api/v1/sync/push",
            json!({"ops": [
                {"op_id": "00000000-0000-4000-8000-000000000001", "device_seq": 1, "kind": "create_report",
                 "entity_id": report, "payload": {"topic": "0103", "text": "小广告",
                 "location": {"lon": lon, "lat": lat}, "photos": [sha(&first)]}},
                {"op_id": "00000000-0000-4000-8000-000000000002", "device_seq": 2, "kind": "attach_photo",
                 "entity_id": report, "base_version": 1, "payload": {"sha256": sha(&second)}}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let other_street = app.token(Role::StreetHandler, &[another_street(&cell)]);
    for p in [&first, &second] {
        assert_eq!(statuses(&app, &street, &sha(p)).await, [200; 5]);
        assert_eq!(statuses(&app, &other_street, &sha(p)).await, [404; 5]);
    }
}

/// `jpeg` with an APP1 segment that says `Exif` but holds no TIFF structure anyone could read.
fn with_broken_exif(jpeg: &[u8]) -> Vec<u8> {
    let body = b"Exif\0\0this is not a TIFF header at all, just bytes";
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((2 + body.len()) as u16).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[actix_web::test]
async fn a_photo_whose_exif_cannot_be_read_is_stored_and_flagged_as_doubtful() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let broken = with_broken_exif(&jpeg(320, 240, 21));
    let plain = jpeg(320, 240, 22);
    for p in [&broken, &plain] {
        let r = upload(&app, &member, p, "image/jpeg").await;
        assert_eq!(r.json["complete"], true, "{}", r.json);
    }
    let report = report_with(&app, &member, &[&sha(&broken), &sha(&plain)]).await;
    let r = app
        .get_as(&member, &format!("/api/v1/reports/{report}/photos"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let photos = r.json["photos"].as_array().unwrap();
    assert_eq!(photos[0]["present"], true, "{}", photos[0]);
    assert_eq!(photos[0]["doubtful"], true, "{}", photos[0]);
    assert_eq!(photos[0]["reasons"], json!(["exif_unreadable"]));
    // A photo without any EXIF is not flagged: there was nothing to read.
    assert_eq!(photos[1]["doubtful"], false, "{}", photos[1]);
    assert_eq!(photos[1]["reasons"], json!([]));
}

#[actix_web::test]
async fn a_reports_exif_positions_are_shown_only_to_readers_of_originals() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let photo = with_exif(&jpeg(320, 240, 23), 1, lon, lat, "2026:03:03 10:05:00");
    assert_eq!(
        upload(&app, &member, &photo, "image/jpeg").await.json["complete"],
        true
    );
    let report = report_with(&app, &member, &[&sha(&photo)]).await;
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let leader = app.token(Role::Leader, &[&cell[..6]]);
    let position = |r: &Resp| {
        let p = &r.json["photos"][0];
        (p["exif_lon"].as_f64(), p["exif_lat"].as_f64())
    };
    for (who, original) in [(&member, true), (&street, true), (&leader, false)] {
        let r = app
            .get_as(who, &format!("/api/v1/reports/{report}/photos"))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        // The same rule as the original itself.
        let (status, _, _) = get_bytes(
            &app,
            who,
            &format!("/api/v1/photos/{}/original", sha(&photo)),
        )
        .await;
        assert_eq!(status == 200, original, "original: {status}");
        let (exif_lon, exif_lat) = position(&r);
        if original {
            assert!((exif_lon.unwrap() - lon).abs() < 1e-4, "{}", r.json);
            assert!((exif_lat.unwrap() - lat).abs() < 1e-4, "{}", r.json);
        } else {
            assert_eq!((exif_lon, exif_lat), (None, None), "{}", r.json);
            // The flags and the distance are still there for a person to judge.
            assert!(r.json["photos"][0]["distance_m"].as_f64().unwrap() < 1.0);
            assert_eq!(r.json["photos"][0]["doubtful"], false);
        }
    }
}

#[actix_web::test]
async fn a_photo_with_more_than_500_uses_is_judged_by_all_of_them() {
    use diesel::Connection;
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let photo = jpeg(300, 200, 24);
    let hash = sha(&photo);
    assert_eq!(
        upload(&app, &member, &photo, "image/jpeg").await.json["complete"],
        true
    );
    // The member's report, in the test cell, is the photo's last use in the order uses are stored (reports after
    // cases); before it, 501 cases in another district name it as evidence.
    let report = report_with(&app, &member, &[&hash]).await;
    let elsewhere = another_street(&cell);
    {
        let mut c = app.state.db.writer().unwrap();
        let r = gridline::store::cases::report(&mut c, &report)
            .unwrap()
            .unwrap();
        let case = gridline::store::cases::case(&mut c, &r.case_id)
            .unwrap()
            .unwrap();
        c.transaction::<_, diesel::result::Error, _>(|c| {
            let mut uses = Vec::new();
            for i in 0..501 {
                let mut k = case.clone();
                k.id = format!("case_0000many{i:04}");
                k.place_code = Some(elsewhere.to_owned());
                k.district_code = elsewhere[..6].to_owned();
                k.lon = None;
                k.lat = None;
                k.building_code = None;
                gridline::store::cases::insert_case(c, &k)?;
                uses.push(gridline::store::photos::UseRow {
                    sha256: hash.clone(),
                    kind: gridline::store::photos::kind::CASE.into(),
                    item_id: k.id,
                    attached_by: "someone else".into(),
                    vouched: true,
                    created_at: case.opened_at,
                });
            }
            gridline::store::photos::insert_uses(c, &uses)
        })
        .unwrap();
    }
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    assert_eq!(statuses(&app, &street, &hash).await, [200; 5]);
    let other_street = app.token(Role::StreetHandler, &[elsewhere]);
    assert_eq!(statuses(&app, &other_street, &hash).await, [200; 5]);
    let third = if cell.starts_with("110108") {
        "110106001"
    } else {
        "110108001"
    };
    let stranger = app.token(Role::StreetHandler, &[third]);
    assert_eq!(statuses(&app, &stranger, &hash).await, [404; 5]);
}
