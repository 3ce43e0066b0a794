//! Link options of the runr binary alone (its final link; nothing else is
//! rebuilt), both pure layout, no change in behaviour:
//! - packed relative relocations (RELR): the static-pie start-up applies a
//!   few KB instead of ~300 KB of relocation entries, still position
//!   independent (ASLR kept). Needs glibc >= 2.36's static start-up code.
//! - the functions create/start/state/delete execute placed first
//!   (hot.order, made by hack/gen-runr-order.sh), so they share few pages:
//!   a smaller peak RSS, fewer page faults. lld only; names that no longer
//!   exist (code or toolchain changed) are skipped, new functions go to
//!   the default place.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=hot.order");
    println!("cargo:rerun-if-env-changed=RUNR_NO_LINK_LAYOUT");
    if std::env::var_os("RUNR_NO_LINK_LAYOUT").is_some() {
        return;
    }
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
        && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if !linux_gnu {
        return;
    }
    if glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bin=runr=-Wl,-z,pack-relative-relocs");
    }
    let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("hot.order");
    if order.is_file() && links_with_lld() {
        println!(
            "cargo:rustc-link-arg-bin=runr=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=runr=-Wl,--no-warn-symbol-ordering");
    }
}

/// The build host's glibc (whose static start-up code runr links).
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (a, b) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// rustc >= 1.90 links x86_64-unknown-linux-gnu with its own lld unless a
/// linker is configured.
fn links_with_lld() -> bool {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    if flags.contains("linker")
        || std::env::var_os("RUSTC_LINKER").is_some()
        || std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
    {
        return false;
    }
    if std::env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    // "rustc 1.95.0 (...)"
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
