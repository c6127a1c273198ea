//! Static files (`static/`) served under `/static/{hash}/{name}`, where the
//! hash is of the file's bytes: a deploy changes the URL, so browsers may
//! cache each URL for a year.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use rust_embed::RustEmbed;

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
