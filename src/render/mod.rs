//! Tera templates and static assets, both embedded in the binary so a
//! single file runs the site (debug builds read them from disk instead, so a
//! template edit shows on the next start without a rebuild of the crate).

pub mod assets;
pub mod markdown;
pub mod theme;

use std::collections::HashMap;

use rust_embed::RustEmbed;
use serde::Serialize;

pub use assets::Assets;

use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct ReaderTemplates;

#[derive(RustEmbed)]
#[folder = "admin/templates/"]
#[prefix = "admin/"]
struct AdminTemplates;

pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    pub fn load(assets: &Assets) -> anyhow::Result<Self> {
        let mut tera = tera::Tera::default();
        let mut sources = Vec::new();
        for name in ReaderTemplates::iter().chain(AdminTemplates::iter()) {
            let file = ReaderTemplates::get(&name)
                .or_else(|| AdminTemplates::get(&name))
                .ok_or_else(|| anyhow::anyhow!("template {name} vanished"))?;
            let text = String::from_utf8(file.data.into_owned())
                .map_err(|_| anyhow::anyhow!("template {name} is not UTF-8"))?;
            sources.push((name.to_string(), text));
        }
        tera.add_raw_templates(sources)?;
        tera.autoescape_on(vec![".html", ".xml"]);
        tera.set_escape_fn(escape_html);
        tera.register_function("asset", assets.tera_function());
        Ok(Self { tera })
    }

    /// Renders `name` with one typed context struct.
    pub fn render<T: Serialize>(&self, name: &str, context: &T) -> Result<String, AppError> {
        let context = tera::Context::from_serialize(context)?;
        Ok(self.tera.render(name, &context)?)
    }
}

/// Escapes the five characters that matter in HTML text and attributes.
/// (Tera's default also escapes `/`, which bloats every URL for no gain.)
pub fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Serializes a value as JSON safe to place inside `<script>` (JSON-LD).
pub fn json_for_script<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "{}".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// For the tera `asset` function's argument map.
pub(crate) type TeraArgs = HashMap<String, tera::Value>;
