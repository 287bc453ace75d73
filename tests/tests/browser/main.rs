//! The web app in a real browser: headless Chromium against the real server
//! (serving `frontend/dist`) and its own database, with data seeded through
//! the HTTP API (`seed.rs`). Build the app first: `scripts/build-frontend.sh`.
//! One file per page: `history.rs`, `session.rs`, `player.rs`, `policy.rs`;
//! `live.rs` a session watched live ("Watch live"),
//! `workflows.rs` for demo sign-in, export, retention status and the
//! browser terminal; `demo.rs` the demo's terminals as Alice meets them;
//! more of a page in `history_filters.rs`,
//! `history_rows.rs`, `player_view.rs`, `policy_preview.rs`. Across pages:
//! `tour.rs` visits every page for `a11y.rs` (axe-core, keyboard) and
//! `phone.rs` (390 px); `first_paint.rs` is `index.html` before the wasm.
//!
//! `TERMAUDIT_SCREENSHOTS=1` also writes `docs/screenshots/history.png` and
//! `session.png` (in `history.rs`), `player.png` and `policy.png` (in
//! `player.rs`), `terminal.png` (the demo program, in `demo.rs`) and, at 390 px,
//! `phone-history.png` and `phone-player.png` (in `phone.rs`).

mod a11y;
mod demo;
mod first_paint;
mod hardening;
mod history;
mod history_filters;
mod history_rows;
mod live;
mod oidc;
mod phone;
mod player;
mod player_view;
mod policy;
mod policy_preview;
mod seed;
mod session;
mod session_page;
mod tour;
mod workflows;

/// The project every test seeds.
const PROJECT: &str = "demo";
