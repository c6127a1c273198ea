//! Comic pages drawn by code: panels, sea, sky, a lighthouse, a paper boat,
//! round characters and speech balloons. Deterministic for a given seed, so
//! the demo is the same on every machine and nothing is downloaded.

use image::{Rgb, RgbImage};

/// A tiny deterministic generator (no need for cryptographic randomness).
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self(
            seed.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        )
    }

    pub fn next(&mut self, below: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(below.max(1))) as u32
    }
}

/// The palette of a chapter's mood.
#[derive(Clone, Copy)]
pub struct Mood {
    pub sky_top: [u8; 3],
    pub sky_bottom: [u8; 3],
    pub sea: [u8; 3],
}

pub const FOG: Mood = Mood {
    sky_top: [196, 204, 212],
    sky_bottom: [232, 234, 236],
    sea: [120, 140, 156],
};
pub const STORM: Mood = Mood {
    sky_top: [38, 48, 78],
    sky_bottom: [92, 104, 138],
    sea: [30, 58, 92],
};
pub const HARBOUR: Mood = Mood {
    sky_top: [250, 178, 120],
    sky_bottom: [255, 228, 170],
    sea: [52, 110, 150],
};

const INK: Rgb<u8> = Rgb([24, 22, 28]);
const PAPER: Rgb<u8> = Rgb([250, 248, 243]);

/// A full page of `rows` × varying columns of panels.
pub fn page(width: u32, height: u32, mood: Mood, seed: u64) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, PAPER);
    let mut dice = Dice::new(seed);
    let margin = 36;
    let gutter = 20;
    let rows = 2 + dice.next(2);
    let row_h = (height - 2 * margin - (rows - 1) * gutter) / rows;
    for r in 0..rows {
        let cols = 1 + dice.next(3).min(2);
        let col_w = (width - 2 * margin - (cols - 1) * gutter) / cols;
        for c in 0..cols {
            let x = margin + c * (col_w + gutter);
            let y = margin + r * (row_h + gutter);
            panel(&mut img, x, y, col_w, row_h, mood, &mut dice);
        }
    }
    img
}

/// One wide panel, for spreads and slices of a long scroll.
pub fn strip(width: u32, height: u32, mood: Mood, seed: u64) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, PAPER);
    let mut dice = Dice::new(seed);
    panel(&mut img, 24, 24, width - 48, height - 48, mood, &mut dice);
    img
}

/// A character portrait for the cast page.
pub fn portrait(size: u32, color: [u8; 3], seed: u64) -> RgbImage {
    let mut img = RgbImage::from_pixel(size, size, Rgb([238, 234, 224]));
    let mut dice = Dice::new(seed);
    let r = size / 3;
    character(
        &mut img,
        size / 2,
        size / 2 + size / 10,
        r,
        Rgb(color),
        &mut dice,
    );
    frame(&mut img, 0, 0, size, size, 8);
    img
}

fn panel(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, mood: Mood, dice: &mut Dice) {
    let horizon = y + h * (50 + dice.next(20)) / 100;
    for py in y..y + h {
        let color = if py < horizon {
            lerp(
                mood.sky_top,
                mood.sky_bottom,
                (py - y) as f32 / (horizon - y).max(1) as f32,
            )
        } else {
            let wave = (((py - horizon) / 6) % 2) as u8 * 10;
            Rgb([
                mood.sea[0].saturating_add(wave),
                mood.sea[1].saturating_add(wave),
                mood.sea[2].saturating_add(wave),
            ])
        };
        for px in x..x + w {
            img.put_pixel(px, py, color);
        }
    }
    // Waves: a row of little arcs on the horizon.
    let mut wx = x;
    while wx + 30 < x + w {
        ellipse(
            img,
            wx + 15,
            horizon + 8,
            14,
            5,
            Rgb([235, 240, 245]),
            false,
        );
        wx += 34;
    }
    match dice.next(3) {
        0 => lighthouse(
            img,
            x + w * (15 + dice.next(60)) / 100,
            horizon,
            h / 2,
            dice,
        ),
        1 => boat(
            img,
            x + w * (20 + dice.next(55)) / 100,
            horizon,
            w.min(h) / 5,
        ),
        _ => {}
    }
    let figures = 1 + dice.next(2);
    for i in 0..figures {
        let cx = x + w * (25 + 50 * i) / 100 / figures.max(1) + w / 6;
        let r = (w.min(h) / 9).max(10);
        let colors = [Rgb([232, 96, 76]), Rgb([88, 160, 112]), Rgb([240, 200, 80])];
        character(
            img,
            cx.min(x + w - r - 4),
            (horizon + r / 2).min(y + h - r - 4),
            r,
            colors[dice.next(3) as usize],
            dice,
        );
    }
    if dice.next(4) > 0 {
        let bw = (w / 3).max(60);
        let bh = (h / 6).max(30);
        let bx = x + 12 + dice.next(w.saturating_sub(bw + 24).max(1));
        let by = y + 12;
        balloon(img, bx, by, bw, bh);
    }
    frame(img, x, y, w, h, 5);
}

fn lighthouse(img: &mut RgbImage, cx: u32, base: u32, height: u32, dice: &mut Dice) {
    let w = (height / 6).max(8);
    let top = base.saturating_sub(height);
    for (i, py) in (top..base).enumerate() {
        let stripe = (i as u32 * 5 / height.max(1)).is_multiple_of(2);
        let color = if stripe {
            Rgb([236, 236, 230])
        } else {
            Rgb([200, 56, 48])
        };
        for px in cx.saturating_sub(w / 2)..cx + w / 2 {
            if px < img.width() && py < img.height() {
                img.put_pixel(px, py, color);
            }
        }
    }
    let glow = Rgb([255, 236, 140 + dice.next(80) as u8]);
    ellipse(img, cx, top, w * 2 / 3, w / 2, glow, true);
}

fn boat(img: &mut RgbImage, cx: u32, waterline: u32, size: u32) {
    for dy in 0..size / 2 {
        let half = size / 2 - dy;
        for px in cx.saturating_sub(half)..cx + half {
            let py = waterline.saturating_sub(dy);
            if px < img.width() && py < img.height() {
                img.put_pixel(px, py, Rgb([250, 250, 250]));
            }
        }
    }
}

fn character(img: &mut RgbImage, cx: u32, cy: u32, r: u32, color: Rgb<u8>, dice: &mut Dice) {
    ellipse(img, cx, cy, r, r, color, true);
    ellipse(img, cx, cy, r, r, INK, false);
    let eye = (r / 6).max(2);
    let look = dice.next(3) as i32 - 1;
    for side in [-1i32, 1] {
        let ex = (cx as i32 + side * r as i32 / 3 + look * eye as i32 / 2).max(0) as u32;
        ellipse(img, ex, cy.saturating_sub(r / 5), eye, eye + 1, INK, true);
    }
    for dx in 0..r / 2 {
        let px = cx - r / 4 + dx;
        // A smile: lowest in the middle.
        let py = cy + r / 2 - (dx as i32 - (r / 4) as i32).unsigned_abs() / 3;
        if px < img.width() && py < img.height() {
            img.put_pixel(px, py, INK);
        }
    }
}

fn balloon(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32) {
    let (cx, cy) = (x + w / 2, y + h / 2);
    ellipse(img, cx, cy, w / 2, h / 2, Rgb([255, 255, 255]), true);
    ellipse(img, cx, cy, w / 2, h / 2, INK, false);
    // "Words": short ink lines inside the balloon.
    for line in 0..2 {
        let ly = cy - h / 8 + line * h / 4;
        let len = w / 2 - line * w / 8;
        for px in cx - len / 2..cx + len / 2 {
            for t in 0..3 {
                if px < img.width() && ly + t < img.height() {
                    img.put_pixel(px, ly + t, INK);
                }
            }
        }
    }
}

fn frame(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, thickness: u32) {
    for px in x..x + w {
        for t in 0..thickness {
            img.put_pixel(px, y + t, INK);
            img.put_pixel(px, y + h - 1 - t, INK);
        }
    }
    for py in y..y + h {
        for t in 0..thickness {
            img.put_pixel(x + t, py, INK);
            img.put_pixel(x + w - 1 - t, py, INK);
        }
    }
}

fn ellipse(img: &mut RgbImage, cx: u32, cy: u32, rx: u32, ry: u32, color: Rgb<u8>, filled: bool) {
    let (rx, ry) = (rx.max(1) as f32, ry.max(1) as f32);
    let (x0, x1) = (
        (cx as f32 - rx - 2.0).max(0.0) as u32,
        (cx as f32 + rx + 2.0) as u32,
    );
    let (y0, y1) = (
        (cy as f32 - ry - 2.0).max(0.0) as u32,
        (cy as f32 + ry + 2.0) as u32,
    );
    for py in y0..y1.min(img.height()) {
        for px in x0..x1.min(img.width()) {
            let dx = (px as f32 - cx as f32) / rx;
            let dy = (py as f32 - cy as f32) / ry;
            let d = dx * dx + dy * dy;
            let hit = if filled {
                d <= 1.0
            } else {
                (0.82..=1.0).contains(&d)
            };
            if hit {
                img.put_pixel(px, py, color);
            }
        }
    }
}

fn lerp(a: [u8; 3], b: [u8; 3], t: f32) -> Rgb<u8> {
    let mix =
        |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t.clamp(0.0, 1.0)) as u8;
    Rgb([mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2])])
}

/// PNG bytes of an image, as a cartoonist's file would be.
pub fn png_bytes(img: &RgbImage) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    // Encoding into memory cannot fail for a valid RGB buffer.
    let _ = image::codecs::png::PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    );
    out
}
