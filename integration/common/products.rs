//! Where the tests find the products they drive: runr and rdock are built by
//! `make build` (`cargo build --release`) into the target directory above the
//! test binary (target/TRIPLE/release/deps/TEST); the project's root is the
//! parent of this package.

use std::path::PathBuf;

/// A product binary of this build, e.g. `runr` or `rdock`.
pub fn product(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/.../deps");
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "{} is missing: build the products first (`make build`, or `cargo build --release`)",
        p.display()
    );
    p
}

/// The project's root (for hack/ scripts).
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
