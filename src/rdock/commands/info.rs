//! `rdock info` / `rdock system info`: docker's fields that mean something here.
use super::Context;
use crate::container::{record, record::State, runtime};
use anyhow::Result;

fn cgroup_version() -> &'static str {
    // A unified hierarchy at the top means cgroup v2; else v1 (or hybrid).
    match nix::sys::statfs::statfs("/sys/fs/cgroup") {
        Ok(s) if s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC => "2",
        _ => "1",
    }
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

fn total_memory() -> String {
    let kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    format!("{:.2}GiB", kb as f64 / 1024.0 / 1024.0)
}

pub fn run(ctx: &Context) -> Result<i32> {
    let all = record::list(&ctx.root)?;
    let running = all
        .iter()
        .filter(|r| r.live_state() == State::Running)
        .count();
    let images = ctx.store()?.list()?.len();
    let default = runtime::locate(ctx.runtime.as_deref()).ok();
    let default_name = default
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "runr".into());
    let mut runtimes: Vec<String> = ["runr", "runc", "crun"]
        .iter()
        .filter(|n| runtime::locate(Some(n)).is_ok() || **n == default_name)
        .map(|n| n.to_string())
        .collect();
    runtimes.dedup();
    let uts = nix::sys::utsname::uname()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("Client:");
    println!(" Version:    {}", env!("CARGO_PKG_VERSION"));
    println!();
    println!("Server:");
    println!(" Containers: {}", all.len());
    println!("  Running: {running}");
    println!("  Paused: 0");
    println!("  Stopped: {}", all.len() - running);
    println!(" Images: {images}");
    println!(" Server Version: {}", env!("CARGO_PKG_VERSION"));
    println!(" Storage Driver: overlay2");
    println!(" Logging Driver: json-file");
    println!(" Cgroup Driver: cgroupfs");
    println!(" Cgroup Version: {}", cgroup_version());
    println!(" Runtimes: {}", runtimes.join(" "));
    println!(" Default Runtime: {default_name}");
    println!(" Kernel Version: {}", uts.release().to_string_lossy());
    println!(" Operating System: {}", os_name());
    println!(" OSType: linux");
    println!(" Architecture: {}", uts.machine().to_string_lossy());
    println!(" CPUs: {cpus}");
    println!(" Total Memory: {}", total_memory());
    println!(" Name: {}", uts.nodename().to_string_lossy());
    println!(" Docker Root Dir: {}", ctx.root.display());
    Ok(0)
}
