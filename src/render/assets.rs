//! Static files (`static/`) served under `/static/{hash}/{name}`, where the
//! hash is of the file's bytes: a deploy changes the URL, so browsers may
//! cache each URL for a year.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use rust_embed::RustEmbed;
use sha2::Digest;

use super::TeraArgs;

#[derive(RustEmbed)]
#[folder = "static/"]
struct StaticFiles;

#[derive(RustEmbed)]
#[folder = "admin/static/"]
#[prefix = "admin/"]
struct AdminStaticFiles;

pub struct Asset {
    pub bytes: Cow<'static, [u8]>,
    pub hash: String,
    pub mime: String,
}

#[derive(Clone)]
pub struct Assets {
    files: Arc<HashMap<String, Asset>>,
}

impl Assets {
    pub fn load() -> Self {
        let mut files = HashMap::new();
        let embedded = StaticFiles::iter()
            .filter_map(|n| StaticFiles::get(&n).map(|f| (n, f)))
            .chain(
                AdminStaticFiles::iter().filter_map(|n| AdminStaticFiles::get(&n).map(|f| (n, f))),
            );
        for (name, file) in embedded {
            let hash = hex::encode(&file.metadata.sha256_hash()[..6]);
            let mime = mime_guess::from_path(name.as_ref()).first_or_octet_stream();
            let mime = match mime.type_() {
                mime_guess::mime::TEXT | mime_guess::mime::APPLICATION
                    if mime.get_param("charset").is_none() =>
                {
                    format!("{mime}; charset=utf-8")
                }
                _ => mime.to_string(),
            };
            files.insert(
                name.to_string(),
                Asset {
                    bytes: file.data,
                    hash,
                    mime,
                },
            );
        }
        let icon = favicon_ico();
        files.insert(
            "favicon.ico".to_owned(),
            Asset {
                hash: hex::encode(&sha2::Sha256::digest(&icon)[..6]),
                bytes: Cow::Owned(icon),
                mime: "image/x-icon".to_owned(),
            },
        );
        Self {
            files: Arc::new(files),
        }
    }

    /// The cache-busting URL of a static file (`/static/ab12cd/app.css`).
    pub fn url(&self, name: &str) -> String {
        match self.files.get(name) {
            Some(asset) => format!("/static/{}/{name}", asset.hash),
            None => {
                tracing::warn!(asset = name, "template asks for a missing static file");
                format!("/static/missing/{name}")
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Asset> {
        self.files.get(name)
    }

    /// `{{ asset(name="app.css") }}` in templates.
    pub fn tera_function(&self) -> impl tera::Function {
        let assets = self.clone();
        move |args: &TeraArgs| -> tera::Result<tera::Value> {
            let name = args
                .get("name")
                .and_then(|v| v.as_str())
                .ok_or_else(|| tera::Error::msg("asset() needs name=\"…\""))?;
            Ok(tera::Value::String(assets.url(name)))
        }
    }
}

/// `/favicon.ico` for the clients that ask for it by that name (old
/// browsers, feed readers, link previews): the halftone mark of
/// `favicon.svg`, drawn at 16, 32 and 48 px (4× supersampled).
fn favicon_ico() -> Vec<u8> {
    use image::codecs::ico::{IcoEncoder, IcoFrame};
    let frames: Vec<IcoFrame<'static>> = [16u32, 32, 48]
        .iter()
        .filter_map(|&size| {
            let rgba = draw_mark(size);
            IcoFrame::as_png(rgba.as_raw(), size, size, image::ExtendedColorType::Rgba8).ok()
        })
        .collect();
    let mut out = Vec::new();
    if IcoEncoder::new(&mut out).encode_images(&frames).is_err() {
        out.clear();
    }
    out
}

fn draw_mark(size: u32) -> image::RgbaImage {
    const SS: u32 = 4;
    let big = size * SS;
    let scale = big as f32 / 64.0;
    // (cx, cy, r) in the SVG's 64-unit box.
    let dots = [
        (16.0, 16.0, 6.0),
        (32.0, 16.0, 4.5),
        (48.0, 16.0, 3.0),
        (16.0, 32.0, 4.5),
        (32.0, 32.0, 3.0),
        (48.0, 32.0, 1.8),
        (16.0, 48.0, 3.0),
        (32.0, 48.0, 1.8),
        (48.0, 48.0, 1.0),
    ];
    let inside_rounded = |x: f32, y: f32| {
        let r = 12.0;
        let cx = x.clamp(r, 64.0 - r);
        let cy = y.clamp(r, 64.0 - r);
        (x - cx).powi(2) + (y - cy).powi(2) <= r * r
    };
    let sample = image::RgbaImage::from_fn(big, big, |px, py| {
        let (x, y) = ((px as f32 + 0.5) / scale, (py as f32 + 0.5) / scale);
        if !inside_rounded(x, y) {
            return image::Rgba([0, 0, 0, 0]);
        }
        let dot = dots
            .iter()
            .any(|(cx, cy, r)| (x - cx).powi(2) + (y - cy).powi(2) <= r * r);
        if dot {
            image::Rgba([0xff, 0x8a, 0x78, 0xff])
        } else {
            image::Rgba([0x1d, 0x1b, 0x22, 0xff])
        }
    });
    image::imageops::resize(&sample, size, size, image::imageops::FilterType::Triangle)
}
