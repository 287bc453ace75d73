//! The HTTP API, end to end: each test starts the real server against its
//! own database.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

mod auth;
mod contract;
mod demo;
mod emulation;
mod errors;
mod export;
mod faults;
mod finality;
mod hardening;
mod health;
mod history_filters;
mod history_search;
mod live;
mod object_store;
mod oidc;
mod openapi;
mod pg_restart;
mod policy;
mod projects;
mod recording_search;
mod recordings;
mod retention;
mod retention_preview;
mod roles;
mod sessions;
mod text_backfill;
