//! Rebuild when a migration is added: `sqlx::migrate!` embeds the files it
//! finds at compile time and watches the existing ones, not the directory.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/postgres");
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
}
