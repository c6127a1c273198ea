//! A finished reader response, compressed once when it is made.

use std::io::Write;

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// What a reader handler produces: a body and its type (status 200).
pub struct Rendered {
    pub body: String,
    pub content_type: &'static str,
}

impl Rendered {
    pub fn html(body: String) -> Self {
        Self {
            body,
            content_type: "text/html; charset=utf-8",
        }
    }
}

/// A cached response with its precompressed variants.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Unix milliseconds when rendered (also meaningful across nodes).
    pub created_ms: i64,
    /// The node-local generation it belongs to (see `PageCache`).
    pub generation: u64,
    pub content_type: String,
    pub etag: String,
    pub body: Bytes,
    pub gzip: Bytes,
    pub br: Bytes,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Entry {
    /// Builds an entry, compressing the body with gzip and Brotli now so that
    /// serving it costs nothing but a copy of a reference.
    pub fn new(rendered: Rendered, generation: u64) -> Self {
        let body = Bytes::from(rendered.body);
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..12]));
        let gzip = {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::new(6),
            );
            let _ = encoder.write_all(&body);
            encoder.finish().map(Bytes::from).unwrap_or_default()
        };
        let br = {
            let mut out = Vec::with_capacity(body.len() / 4);
            {
                let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                let _ = writer.write_all(&body);
            }
            Bytes::from(out)
        };
        Self {
            created_ms: now_ms(),
            generation,
            content_type: rendered.content_type.to_owned(),
            etag,
            body,
            gzip,
            br,
        }
    }

    pub fn age_ms(&self) -> i64 {
        now_ms() - self.created_ms
    }

    /// Bytes held in memory (for the cache's size bound).
    pub fn weight(&self) -> u32 {
        (self.body.len() + self.gzip.len() + self.br.len() + self.content_type.len() + 64)
            .min(u32::MAX as usize) as u32
    }

    /// The response for `req`: 304 when the client has it, else the best
    /// encoding the client accepts.
    pub fn respond(
        &self,
        req: &HttpRequest,
        cache_control: &str,
        state: &'static str,
    ) -> HttpResponse {
        let etag_matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == self.etag || t.trim() == "*")
            });
        let mut response = HttpResponse::build(if etag_matches {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::OK
        });
        response
            .insert_header((header::ETAG, self.etag.clone()))
            .insert_header((header::CACHE_CONTROL, cache_control.to_owned()))
            .insert_header((header::VARY, "Accept-Encoding"))
            .insert_header(("x-cache", state));
        if etag_matches {
            return response.finish();
        }
        response.insert_header((header::CONTENT_TYPE, self.content_type.clone()));
        let accepts = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let accepts = |coding: &str| {
            accepts.split(',').any(|part| {
                let mut bits = part.trim().split(';');
                bits.next() == Some(coding) && !bits.any(|q| q.trim() == "q=0")
            })
        };
        if !self.br.is_empty() && accepts("br") {
            response
                .insert_header((header::CONTENT_ENCODING, "br"))
                .body(self.br.clone())
        } else if !self.gzip.is_empty() && accepts("gzip") {
            response
                .insert_header((header::CONTENT_ENCODING, "gzip"))
                .body(self.gzip.clone())
        } else {
            // `identity` keeps the compression middleware from redoing work per request.
            response
                .insert_header((header::CONTENT_ENCODING, "identity"))
                .body(self.body.clone())
        }
    }

    /// Compact binary form for Redis: a JSON head, then the three bodies.
    pub fn to_bytes(&self) -> Vec<u8> {
        let head =
            serde_json::json!({ "c": self.created_ms, "t": self.content_type, "e": self.etag })
                .to_string();
        let mut out =
            Vec::with_capacity(16 + head.len() + self.body.len() + self.gzip.len() + self.br.len());
        for part in [head.as_bytes(), &self.body, &self.gzip, &self.br] {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8], generation: u64) -> Option<Self> {
        let mut parts = Vec::with_capacity(4);
        let mut rest = bytes;
        for _ in 0..4 {
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            parts.push(rest.get(4..4 + len)?);
            rest = &rest[4 + len..];
        }
        let head: serde_json::Value = serde_json::from_slice(parts[0]).ok()?;
        Some(Self {
            created_ms: head["c"].as_i64()?,
            generation,
            content_type: head["t"].as_str()?.to_owned(),
            etag: head["e"].as_str()?.to_owned(),
            body: Bytes::copy_from_slice(parts[1]),
            gzip: Bytes::copy_from_slice(parts[2]),
            br: Bytes::copy_from_slice(parts[3]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_bytes_and_compress() {
        let entry = Entry::new(Rendered::html("<p>hello</p>".repeat(100)), 3);
        assert!(entry.gzip.len() < entry.body.len() && entry.br.len() < entry.body.len());
        let back = Entry::from_bytes(&entry.to_bytes(), 7).unwrap();
        assert_eq!(
            (back.etag.clone(), back.body.clone(), back.generation),
            (entry.etag.clone(), entry.body.clone(), 7)
        );
        assert!(Entry::from_bytes(&entry.to_bytes()[..10], 0).is_none());
    }
}
