//! The HTTP API, end to end: each test starts the real server against its
//! own database.

mod auth;
mod errors;
mod health;
mod openapi;
mod policy;
mod projects;
mod recordings;
mod sessions;
