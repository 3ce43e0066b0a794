//! `rdock rm [-f] [-v] CONTAINER...`
use super::Context;
use crate::cli::RmArgs;
use crate::container::{self, record};
use anyhow::Result;

pub fn run(ctx: &Context, a: RmArgs) -> Result<i32> {
    let mut code = 0;
    for c in &a.containers {
        let res = record::find(&ctx.root, c).and_then(|r| {
            container::remove(&ctx.root, &r, a.force)?;
            if a.volumes {
                container::remove_anonymous_volumes(&ctx.root, &r);
            }
            Ok(())
        });
        match res {
            Ok(()) => println!("{c}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
            }
        }
    }
    Ok(code)
}
