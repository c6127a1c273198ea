//! Integration tests: the real server on 127.0.0.1, a real database (SQLite
//! file, or MariaDB with `HALFTONE_TEST_DATABASE_URL`). One test binary keeps
//! the build lean; modules group the tests by feature.

mod common;

mod admin_auth;
mod admin_editor;
mod admin_manage;
mod analytics;
mod architecture;
mod backup;
mod browser;
mod cache;
mod catalog;
mod cli;
mod cluster;
mod comments;
mod fediverse;
mod feeds;
mod health;
mod import;
mod import_foreign;
mod import_foreign_more;
mod media;
mod navigation;
mod newsletter;
mod outage;
mod queries;
mod reader;
mod scheduling;
mod search;
mod system;
mod units;
