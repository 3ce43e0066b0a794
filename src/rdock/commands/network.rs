//! `rdock network ls`: docker's three default networks. Only host and none
//! work; bridge is listed but runs on the host network (no netavark yet).
use super::Context;
use crate::image::digest::sha256_of;
use crate::rdock::cli::{NetworkCommand, QuietArgs};
use crate::rdock::format::print_table;
use anyhow::Result;

pub fn run(_ctx: &Context, c: NetworkCommand) -> Result<i32> {
    let NetworkCommand::Ls(QuietArgs { quiet }) = c;
    let rows: Vec<Vec<String>> = [("bridge", "bridge"), ("host", "host"), ("none", "null")]
        .iter()
        .map(|(name, driver)| {
            let id = sha256_of(name.as_bytes());
            let id = id.trim_start_matches("sha256:")[..12].to_string();
            vec![id, name.to_string(), driver.to_string(), "local".into()]
        })
        .collect();
    if quiet {
        rows.iter().for_each(|r| println!("{}", r[0]));
    } else {
        print_table(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &rows);
    }
    Ok(0)
}
