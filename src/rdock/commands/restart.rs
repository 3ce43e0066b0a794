//! `rdock restart [-t SECS] CONTAINER...`: stop (if running), then start.
use super::Context;
use crate::cli::StopArgs;
use crate::container::{self, hostconfig, record};
use anyhow::Result;

pub fn run(ctx: &Context, a: StopArgs) -> Result<i32> {
    let mut code = 0;
    for n in &a.containers {
        let res = record::find(&ctx.root, n).and_then(|r| {
            let secs = hostconfig::stop_secs(&record::dir_of(&ctx.root, &r.id), a.time);
            container::stop(&ctx.root, &r, secs)?;
            // What the start would refuse (a --device gone...), with its message.
            hostconfig::refresh(&ctx.root, &record::dir_of(&ctx.root, &r.id))?;
            container::prepare_start(&ctx.root, &r.id)?;
            container::start_detached(&ctx.root, &r.id, false)?;
            crate::events::container(&ctx.root, &r, "restart", &[]);
            Ok(())
        });
        match res {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
            }
        }
    }
    Ok(code)
}
