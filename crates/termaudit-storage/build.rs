//! Rebuilds the crate when a migration is added or changed: refinery embeds
//! `migrations/` at compile time, and a stale build would migrate without
//! the new file (and the tests' template, named by the files, would lack it).

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
