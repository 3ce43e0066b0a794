//! `rdock wait CONTAINER...`: blocks until each exits, prints the exit codes.
use super::Context;
use crate::cli::ContainersArgs;
use crate::container::record::{self, Record, State};
use anyhow::Result;
use std::time::Duration;

pub fn run(ctx: &Context, a: ContainersArgs) -> Result<i32> {
    let mut code = 0;
    for n in &a.containers {
        match record::find(&ctx.root, n).map(|r| wait_exit(&ctx.root, &r.id)) {
            Ok(Some(c)) => println!("{c}"),
            // Removed while we waited (--rm): docker prints what the daemon
            // saw; here the record is gone with the code.
            Ok(None) => println!("0"),
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// The exit code once the container has exited; None if it was removed.
pub fn wait_exit(root: &std::path::Path, id: &str) -> Option<i32> {
    loop {
        let r = Record::load(root, id).ok()?;
        if r.live_state() == State::Exited {
            // 255: a monitor that died without recording the exit.
            return Some(r.exit_code.unwrap_or(255));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
