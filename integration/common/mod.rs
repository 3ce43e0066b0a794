//! The harness of runr's conformance suite: bundles built from a busybox
//! rootfs, a driver for the runtime under test with a timeout on every
//! command, and checks that nothing was left behind.
//!
//! The runtime under test is `$RUNR_TEST_RUNTIME`, or the runr binary of this
//! package. Every test gets its own directory under /tmp, its own `--root`,
//! container id and cgroup path, so tests run in parallel threads.

#![allow(dead_code)] // each test module uses a different part of the harness

pub mod bundle;
pub mod console;
pub mod leftovers;
pub mod products;
pub mod runtime;

pub use bundle::Bundle;
pub use runtime::{runtime_is_runc, Output};

/// Skips the calling test when the runtime under test is runc, printing why.
/// Use: `if skip_if_runc("runc 1.1.5 has no time namespace") { return; }`
pub fn skip_if_runc(reason: &str) -> bool {
    // RUNR_TEST_NO_SKIP=1 runs them anyway, to see whether runc still fails.
    let forced = std::env::var_os("RUNR_TEST_NO_SKIP").is_some_and(|v| v == "1");
    if runtime_is_runc() && !forced {
        eprintln!("SKIP (runtime under test is runc): {reason}");
        true
    } else {
        false
    }
}

/// True when `text` (lowercased) contains any of `words`: error messages
/// are matched loosely so that both runc's and runr's wording pass.
pub fn mentions_any(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(&w.to_lowercase()))
}

/// Asserts that a failed command's stderr (or log) names the problem.
#[track_caller]
pub fn assert_mentions(out: &Output, words: &[&str]) {
    assert!(
        mentions_any(&out.stderr, words) || mentions_any(&out.stdout, words),
        "expected the error message to mention one of {words:?}\n{out}"
    );
}
