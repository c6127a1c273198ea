//! Halftone: a self-hosted webcomic publishing platform.
//!
//! See `ARCHITECTURE.md` at the repository root for the map of this crate.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod backup;
pub mod cache;
pub mod cli;
pub mod cluster;
pub mod comics;
pub mod comments;
pub mod config;
pub mod db;
pub mod demo;
pub mod email;
pub mod error;
pub mod events;
pub mod fediverse;
pub mod feeds;
pub mod health;
pub mod http;
pub mod import;
pub mod leases;
pub mod media;
pub mod metrics;
pub mod net;
pub mod newsletter;
pub mod queue;
pub mod reader;
pub mod render;
pub mod search;
pub mod site;
pub mod startup;
pub mod telemetry;
pub mod time;
pub mod tokens;
