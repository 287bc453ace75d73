//! The HTTP API, end to end: each test starts the real server against its
//! own database.

mod auth;
mod errors;
mod export;
mod health;
mod openapi;
mod projects;
mod sessions;
