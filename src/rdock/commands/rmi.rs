//! `rdock rmi` / `rdock image rm`
use super::Context;
use crate::cli::RmiArgs;
use anyhow::Result;

pub fn run(ctx: &Context, a: RmiArgs) -> Result<i32> {
    let store = ctx.store()?;
    let mut code = 0;
    for name in &a.images {
        let id = store.find(name).map(|r| r.id).unwrap_or_default();
        match store.remove(name, a.force) {
            Ok(lines) => {
                crate::events::image_removed(&ctx.root, &id, &lines);
                lines.iter().for_each(|l| println!("{l}"))
            }
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
            }
        }
    }
    Ok(code)
}
