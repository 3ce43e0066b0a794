//! runr-checker: runs as the container process and verifies, from inside,
//! that the runtime applied what the bundle's config.json asked for.
//!
//! Usage: `runr-checker [CONFIG]` (default `/runr-checker.json`, a copy of
//! the bundle's config.json that the test puts into the rootfs). Prints one
//! TAP-like line per check on stdout and exits 0 only if every check passed.
//!
//! The test passes facts only the host knows through annotations:
//! `runr.checker.host-ns.<type>` (the host's namespace inode, so a new
//! namespace can be told apart from the host's) and `runr.checker.ns.<type>`
//! (the inode a namespace joined by path must have), and
//! `runr.checker.owner.<path>` (the `UID:GID` a file must show inside).

mod caps;
mod cgroups;
mod filesystem;
mod ids;
mod kernel_attrs;
mod mountinfo;
mod namespaces;
mod process;
mod tap;

use serde_json::Value;
use std::process::ExitCode;

const DEFAULT_CONFIG: &str = "/runr-checker.json";

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_CONFIG.to_string());
    let config: Value = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            println!("not ok 1 - read config {path}: {e}");
            return ExitCode::from(2);
        }
    };

    let mut tap = tap::Tap::default();
    namespaces::check(&config, &mut tap);
    ids::check(&config, &mut tap);
    process::check(&config, &mut tap);
    caps::check(&config, &mut tap);
    filesystem::check(&config, &mut tap);
    cgroups::check(&config, &mut tap);
    kernel_attrs::check(&config, &mut tap);
    tap.finish()
}
