//! Photo ingest throughput: 12-megapixel JPEGs (4000×3000, photographic texture with sensor noise, quality 90,
//! 4:2:0 chroma as phone cameras write, 3.7 MB: about the size a phone sends) through
//! [`gridline::media::ingest::ingest`] — SHA-256 check, header walk, EXIF, DCT-scaled decode, display (long side
//! 2048) and thumbnail (320) JPEGs — on one thread and on two.
//!
//! Run: `cargo bench --bench photos` (prints photos/s; not criterion, so the figures are the unit).
//! Target (issue 6): at least 40 photos/s on 2 cores.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use gridline::media::PhotoHash;
use gridline::media::ingest::{encode_rgb, ingest};
use std::time::Instant;

/// A photo-like 4000×3000 image: smooth gradients and shapes (sky, walls, a road) plus per-pixel noise.
fn photo(seed: u32) -> Vec<u8> {
    let (w, h) = (4000usize, 3000usize);
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let mut data = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        for col in 0..w {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let noise = (x % 25) as i32 - 12;
            let (fx, fy) = (col as f32 / w as f32, row as f32 / h as f32);
            let base = if fy < 0.4 {
                [120.0 + 80.0 * fy, 160.0 + 60.0 * fy, 230.0 - 40.0 * fx]
            } else if ((col / 250) + (row / 180)) % 3 == 0 {
                [180.0 - 60.0 * fy, 150.0 - 30.0 * fx, 120.0]
            } else {
                [
                    90.0 + 40.0 * (fx * 20.0).sin(),
                    95.0,
                    100.0 + 30.0 * (fy * 15.0).cos(),
                ]
            };
            for c in base {
                data.push((c as i32 + noise).clamp(0, 255) as u8);
            }
        }
    }
    encode_rgb(&data, w as u32, h as u32, 90).unwrap()
}

fn main() {
    let photos: Vec<(Vec<u8>, PhotoHash)> = (0..4)
        .map(|i| {
            let p = photo(i + 1);
            let h = PhotoHash::of(&p);
            (p, h)
        })
        .collect();
    println!(
        "photos: 4000x3000 JPEG, quality 90, 4:2:0, {:.1} MB each",
        photos[0].0.len() as f64 / 1e6
    );
    // Warm up.
    for (p, h) in &photos {
        ingest(p, h).unwrap();
    }
    let rounds = 40;
    let started = Instant::now();
    for i in 0..rounds {
        let (p, h) = &photos[i % photos.len()];
        let got = ingest(p, h).unwrap();
        assert!(got.display.len() > 1000 && got.thumb.len() > 100);
    }
    let one = rounds as f64 / started.elapsed().as_secs_f64();
    println!(
        "one thread: {one:.1} photos/s ({:.1} ms each)",
        1000.0 / one
    );
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2 {
            let photos = &photos;
            s.spawn(move || {
                for i in 0..rounds {
                    let (p, h) = &photos[(i + t) % photos.len()];
                    ingest(p, h).unwrap();
                }
            });
        }
    });
    let two = (2 * rounds) as f64 / started.elapsed().as_secs_f64();
    println!("two threads: {two:.1} photos/s (target: at least 40)");
}
