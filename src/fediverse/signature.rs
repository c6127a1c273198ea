//! HTTP Signatures as the fediverse speaks them (draft-cavage-http-signatures,
//! the variant Mastodon, Pleroma, Misskey, GoToSocial and Fedify all accept):
//! our deliveries and fetches are signed, incoming activities verified.
//!
//! Keys are RSA (Mastodon verifies nothing else). `rsa` makes and reads the
//! PEM files; signing and verifying go through ring, whose RSA is
//! constant-time (the `rsa` crate's private-key operations are not:
//! RUSTSEC-2023-0071).

use base64::Engine as _;
use ring::signature as sig;
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use sha2::Digest as _;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Our key pair (one for the site; each actor names it as its own key).
pub struct KeyPair {
    ring: sig::RsaKeyPair,
    public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A new 2048-bit key, with its private half as PKCS#8 PEM to store.
    pub fn generate() -> anyhow::Result<(Self, String)> {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
        let pem = private.to_pkcs8_pem(LineEnding::LF)?.to_string();
        Ok((Self::from_pem(&pem)?, pem))
    }

    pub fn from_pem(private_pem: &str) -> anyhow::Result<Self> {
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(private_pem)?;
        let der = private.to_pkcs8_der()?;
        let ring = sig::RsaKeyPair::from_pkcs8(der.as_bytes())
            .map_err(|e| anyhow::anyhow!("unusable RSA key: {e}"))?;
        let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF)?;
        Ok(Self { ring, public_pem })
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as actors publish it.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0; self.ring.public().modulus_len()];
        // Fails only for a buffer of the wrong size, which `modulus_len` rules out.
        let _ = self.ring.sign(
            &sig::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            data,
            &mut out,
        );
        out
    }
}

/// A remote actor's public key.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// PKCS#1 RSAPublicKey DER, what ring verifies with.
    der: Vec<u8>,
}

impl PublicKey {
    /// Reads `-----BEGIN PUBLIC KEY-----` (SPKI, the usual) or
    /// `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1, some older servers).
    pub fn from_pem(pem: &str) -> Result<Self, SigError> {
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
            .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem.trim()))
            .map_err(|_| SigError::BadKey)?;
        let der = key.to_pkcs1_der().map_err(|_| SigError::BadKey)?;
        Ok(Self {
            der: der.as_bytes().to_vec(),
        })
    }

    pub fn verify(&self, data: &[u8], signature: &[u8]) -> bool {
        sig::UnparsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, &self.der)
            .verify(data, signature)
            .is_ok()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigError {
    #[error("no Signature header")]
    Missing,
    #[error("the Signature header cannot be read")]
    Malformed,
    #[error("the signature does not cover {0}")]
    NotCovered(&'static str),
    #[error("a signed header is missing: {0}")]
    MissingHeader(String),
    #[error("the Date is outside the accepted window")]
    Expired,
    #[error("the Digest does not match the body")]
    Digest,
    #[error("the key cannot be read")]
    BadKey,
    #[error("the signature does not verify")]
    Invalid,
}

/// The `Signature` header's parts.
#[derive(Debug, Clone)]
pub struct SignatureHeader {
    pub key_id: String,
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
}

impl SignatureHeader {
    pub fn parse(value: &str) -> Result<Self, SigError> {
        let mut key_id = None;
        let mut headers = None;
        let mut signature = None;
        let mut rest = value.trim();
        while !rest.is_empty() {
            let (name, after) = rest.split_once('=').ok_or(SigError::Malformed)?;
            let after = after.strip_prefix('"').ok_or(SigError::Malformed)?;
            let end = after.find('"').ok_or(SigError::Malformed)?;
            let field = &after[..end];
            match name.trim().to_ascii_lowercase().as_str() {
                "keyid" => key_id = Some(field.to_owned()),
                "headers" => {
                    headers = Some(
                        field
                            .split_ascii_whitespace()
                            .map(str::to_ascii_lowercase)
                            .collect(),
                    )
                }
                "signature" => {
                    signature = Some(B64.decode(field).map_err(|_| SigError::Malformed)?)
                }
                // rsa-sha256 or hs2019: with an RSA key both mean RSASSA-PKCS1-v1_5 SHA-256.
                _ => {}
            }
            rest = after[end + 1..].trim_start_matches([',', ' ']);
        }
        Ok(Self {
            key_id: key_id.ok_or(SigError::Malformed)?,
            // The draft's default when `headers` is absent.
            headers: headers.unwrap_or_else(|| vec!["date".to_owned()]),
            signature: signature.ok_or(SigError::Malformed)?,
        })
    }

    /// The string that was signed, from the request's method, target and headers.
    pub fn signing_string<'a>(
        &self,
        method: &str,
        path_and_query: &str,
        header: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<String, SigError> {
        let mut lines = Vec::with_capacity(self.headers.len());
        for name in &self.headers {
            let value = match name.as_str() {
                "(request-target)" => {
                    format!("{} {path_and_query}", method.to_ascii_lowercase())
                }
                other => header(other)
                    .ok_or_else(|| SigError::MissingHeader(other.to_owned()))?
                    .trim()
                    .to_owned(),
            };
            lines.push(format!("{name}: {value}"));
        }
        Ok(lines.join("\n"))
    }

    /// What a signature must cover for us to believe it: the target, the
    /// host and the date — and the body's digest for a POST.
    pub fn check_coverage(&self, has_body: bool) -> Result<(), SigError> {
        let covers = |h: &str| self.headers.iter().any(|x| x == h);
        if !covers("(request-target)") {
            return Err(SigError::NotCovered("(request-target)"));
        }
        if !covers("host") {
            return Err(SigError::NotCovered("host"));
        }
        if !covers("date") {
            return Err(SigError::NotCovered("date"));
        }
        if has_body && !covers("digest") {
            return Err(SigError::NotCovered("digest"));
        }
        Ok(())
    }
}

/// `SHA-256=…` for a `Digest` header.
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", B64.encode(sha2::Sha256::digest(body)))
}

/// Whether a `Digest` header names this body (SHA-256 is the one we take).
pub fn digest_matches(header: &str, body: &[u8]) -> bool {
    let ours = digest(body);
    header.split(',').any(|part| {
        let part = part.trim();
        part.len() == ours.len()
            && part[..8].eq_ignore_ascii_case("SHA-256=")
            && part[8..] == ours[8..]
    })
}

/// An HTTP date (`Date` header) for a Unix time.
pub fn http_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Mastodon's window: a date at most an hour ahead, at most 12 hours old.
pub fn date_is_fresh(header: &str, now: i64) -> bool {
    match chrono::DateTime::parse_from_rfc2822(header.trim()) {
        Ok(date) => {
            let t = date.timestamp();
            t <= now + 3600 && t >= now - 12 * 3600
        }
        Err(_) => false,
    }
}

/// The headers that sign an outgoing request (`Host`, `Date`, `Digest` for a
/// body, `Signature`), in the form Mastodon expects.
pub fn sign_request(
    key: &KeyPair,
    key_id: &str,
    method: &str,
    url: &url::Url,
    body: Option<&[u8]>,
    now: i64,
) -> Vec<(&'static str, String)> {
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_owned(),
    };
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let date = http_date(now);
    let mut headers = vec![("host", host.clone()), ("date", date.clone())];
    let mut names = "(request-target) host date".to_owned();
    let mut lines = format!(
        "(request-target): {} {target}\nhost: {host}\ndate: {date}",
        method.to_ascii_lowercase()
    );
    if let Some(body) = body {
        let d = digest(body);
        lines.push_str(&format!("\ndigest: {d}"));
        names.push_str(" digest");
        headers.push(("digest", d));
    }
    let signature = B64.encode(key.sign(lines.as_bytes()));
    headers.push((
        "signature",
        format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{names}\",signature=\"{signature}\""
        ),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> &'static KeyPair {
        static KEY: std::sync::OnceLock<KeyPair> = std::sync::OnceLock::new();
        KEY.get_or_init(|| KeyPair::generate().expect("key").0)
    }

    fn verify(
        headers: &[(&'static str, String)],
        method: &str,
        target: &str,
    ) -> Result<(), SigError> {
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        let parsed = SignatureHeader::parse(get("signature").ok_or(SigError::Missing)?)?;
        let text = parsed.signing_string(method, target, get)?;
        let public = PublicKey::from_pem(key().public_pem())?;
        if public.verify(text.as_bytes(), &parsed.signature) {
            Ok(())
        } else {
            Err(SigError::Invalid)
        }
    }

    #[test]
    fn a_signed_request_verifies_and_a_changed_one_does_not() {
        let url: url::Url = "https://example.com:8443/ap/inbox?x=1"
            .parse()
            .expect("url");
        let body = br#"{"type":"Follow"}"#;
        let headers = sign_request(
            key(),
            "https://a/actor#main-key",
            "POST",
            &url,
            Some(body),
            1_700_000_000,
        );
        assert_eq!(verify(&headers, "POST", "/ap/inbox?x=1"), Ok(()));
        let parsed = SignatureHeader::parse(&headers[3].1).expect("parse");
        assert_eq!(parsed.key_id, "https://a/actor#main-key");
        assert_eq!(parsed.check_coverage(true), Ok(()));
        assert!(digest_matches(&headers[2].1, body));
        assert!(!digest_matches(&headers[2].1, b"{}"));
        // Another target, another host: refused.
        assert_eq!(
            verify(&headers, "POST", "/ap/other"),
            Err(SigError::Invalid)
        );
        let mut moved = headers.clone();
        moved[0].1 = "evil.example".to_owned();
        assert_eq!(
            verify(&moved, "POST", "/ap/inbox?x=1"),
            Err(SigError::Invalid)
        );
    }

    #[test]
    fn coverage_and_dates_are_checked() {
        let parsed = SignatureHeader::parse(
            r#"keyId="k",algorithm="hs2019",headers="(request-target) host date",signature="AAAA""#,
        )
        .expect("parse");
        assert_eq!(parsed.check_coverage(false), Ok(()));
        assert_eq!(
            parsed.check_coverage(true),
            Err(SigError::NotCovered("digest"))
        );
        assert!(SignatureHeader::parse("keyId=k").is_err());
        let now = 1_700_000_000;
        assert!(date_is_fresh(&http_date(now - 60), now));
        assert!(!date_is_fresh(&http_date(now - 13 * 3600), now));
        assert!(!date_is_fresh(&http_date(now + 2 * 3600), now));
        assert!(!date_is_fresh("yesterday", now));
    }
}
