//! `rdock update --restart POLICY CONTAINER...`: the only setting of
//! docker's `update` that rdock changes (the monitor reads the policy at
//! each exit, so it applies to a running container too).
use super::Context;
use crate::cli::UpdateArgs;
use crate::container::record::{self, Record};
use crate::container::restart::RestartPolicy;
use anyhow::{bail, Result};

pub fn run(ctx: &Context, a: UpdateArgs) -> Result<i32> {
    let Some(restart) = &a.restart else {
        bail!("You must provide one or more flags when using this command.");
    };
    let policy = RestartPolicy::parse(restart);
    Ok(super::each(&a.containers, |n| {
        let policy = policy.clone()?;
        let r = record::find(&ctx.root, n)?;
        if r.auto_remove && !policy.is_none() {
            bail!("Cannot update container {}: Restart policy cannot be updated because AutoRemove is enabled for the container", r.id);
        }
        Record::update(&ctx.root, &r.id, |r| r.restart_policy = policy)?;
        Ok(())
    }))
}
