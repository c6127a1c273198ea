//! A finished reader response, compressed once when it is made.

use std::io::Write;

use std::sync::OnceLock;

use actix_web::body::BoxBody;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
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
    /// `etag` and `content_type` as header values, made once: a hit copies
    /// references instead of validating strings.
    etag_value: HeaderValue,
    type_value: HeaderValue,
    /// The request metrics of this page's route, taken on its first serve
    /// through the router; the fast lane (`http::lane`) serves only entries
    /// that have them.
    pub lane: OnceLock<crate::metrics::RouteMetrics>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("created_ms", &self.created_ms)
            .field("generation", &self.generation)
            .field("content_type", &self.content_type)
            .field("etag", &self.etag)
            .field("len", &self.body.len())
            .finish()
    }
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
        Self::assemble(
            now_ms(),
            generation,
            rendered.content_type.to_owned(),
            etag,
            [body, gzip, br],
        )
    }

    fn assemble(
        created_ms: i64,
        generation: u64,
        content_type: String,
        etag: String,
        [body, gzip, br]: [Bytes; 3],
    ) -> Self {
        let value = |s: &str| {
            HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
        };
        Self {
            created_ms,
            generation,
            etag_value: value(&etag),
            type_value: value(&content_type),
            content_type,
            etag,
            body,
            gzip,
            br,
            lane: OnceLock::new(),
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

    /// The response to a request with these headers: 304 when the client
    /// has it, else the best encoding the client accepts. Both the router's
    /// path and the fast lane answer with it, so they cannot differ.
    pub fn respond(
        &self,
        request: &HeaderMap,
        cache_control: &HeaderValue,
        state: &'static str,
    ) -> HttpResponse {
        let etag_matches = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == self.etag || t.trim() == "*")
            });
        let accepts = request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let accepts = |coding: &str| {
            accepts.split(',').any(|part| {
                let mut bits = part.trim().split(';');
                bits.next() == Some(coding) && !bits.any(|q| q.trim() == "q=0")
            })
        };
        let (status, body, encoding) = if etag_matches {
            (StatusCode::NOT_MODIFIED, BoxBody::new(()), None)
        } else if !self.br.is_empty() && accepts("br") {
            (StatusCode::OK, BoxBody::new(self.br.clone()), Some("br"))
        } else if !self.gzip.is_empty() && accepts("gzip") {
            (
                StatusCode::OK,
                BoxBody::new(self.gzip.clone()),
                Some("gzip"),
            )
        } else {
            // `identity` keeps the compression middleware from redoing work per request.
            (
                StatusCode::OK,
                BoxBody::new(self.body.clone()),
                Some("identity"),
            )
        };
        let mut response = HttpResponse::with_body(status, body);
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag_value.clone());
        headers.insert(header::CACHE_CONTROL, cache_control.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        headers.insert(
            header::HeaderName::from_static("x-cache"),
            HeaderValue::from_static(state),
        );
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_TYPE, self.type_value.clone());
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
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
        Some(Self::assemble(
            head["c"].as_i64()?,
            generation,
            head["t"].as_str()?.to_owned(),
            head["e"].as_str()?.to_owned(),
            [
                Bytes::copy_from_slice(parts[1]),
                Bytes::copy_from_slice(parts[2]),
                Bytes::copy_from_slice(parts[3]),
            ],
        ))
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
