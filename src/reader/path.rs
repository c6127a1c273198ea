//! What reader URLs carry, parsed once: the series of `/series/{series}/…`
//! and the slug of a page, chapter, tag, character or static page. A slug
//! that cannot be one is a 404 before any handler runs.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};

use crate::comics::Slug;
use crate::error::AppError;

/// The series a URL names (`/series/{series}/…`), or the primary one.
#[derive(Debug, Clone)]
pub struct InSeries(pub Option<String>);

impl InSeries {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl FromRequest for InSeries {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(InSeries(
            req.match_info().get("series").map(str::to_owned),
        )))
    }
}

/// The slug a URL ends in (`{slug}` or `{chapter}`).
#[derive(Debug, Clone)]
pub struct PathSlug(pub Slug);

impl FromRequest for PathSlug {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let info = req.match_info();
        let raw = info.get("slug").or_else(|| info.get("chapter"));
        ready(
            raw.and_then(|s| Slug::parse(s).ok())
                .map(PathSlug)
                .ok_or(AppError::NotFound),
        )
    }
}
