//! The web app in a real browser: headless Chromium against the real server
//! (serving `frontend/dist`) and its own database, with data seeded through
//! the HTTP API (`seed.rs`). Build the app first: `scripts/build-frontend.sh`.
//! One file per page: `history.rs`, `session.rs`, `player.rs`, `policy.rs`;
//! `workflows.rs` for demo sign-in, export, retention status and the
//! browser terminal.
//!
//! `TERMAUDIT_SCREENSHOTS=1` also writes `docs/screenshots/history.png` and
//! `session.png` (in `history.rs`), `player.png` and `policy.png` (in
//! `player.rs`) and `terminal.png` (in `workflows.rs`).

mod hardening;
mod history;
mod player;
mod policy;
mod seed;
mod session;
mod workflows;

/// The project every test seeds.
const PROJECT: &str = "demo";
