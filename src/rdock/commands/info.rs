//! `rdock info` / `rdock system info` and `rdock version`: docker's fields
//! that mean something here; `-f` renders them as docker's structs.
use super::Context;
use crate::cli::FormatArgs;
use crate::container::{record, record::State, runtime};
use crate::template::{Options, Template};
use anyhow::Result;
use serde_json::{json, Value};

/// docker's API version, which rdock's output shapes follow.
const API_VERSION: &str = "1.41";

/// `-f` for info and version: a parse error exits 64 ("template parsing
/// error: "), a failed execution prints an empty line and the bare Go
/// error, exit 1.
fn print_formatted(f: &str, name: &str, root_type: &str, v: &Value) -> Result<i32> {
    let t = Template::parse(f, name).map_err(|e| e.reworded("template parsing error: ", 64))?;
    let opts = Options {
        name,
        root_type,
        ..Options::default()
    };
    match t.execute(v, &opts) {
        Ok(s) => {
            println!("{s}");
            Ok(0)
        }
        Err(e) => {
            println!();
            Err(e.reworded("", 1).into())
        }
    }
}

fn version_json() -> Value {
    let uts = nix::sys::utsname::uname().ok();
    let kernel = uts
        .as_ref()
        .map(|u| u.release().to_string_lossy().to_string())
        .unwrap_or_default();
    let version = env!("CARGO_PKG_VERSION");
    let commit = option_env!("RDOCK_BUILD").unwrap_or("dev");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    json!({
        "Client": {
            "Platform": {"Name": "rdock"},
            "Version": version,
            "ApiVersion": API_VERSION,
            "DefaultAPIVersion": API_VERSION,
            "GitCommit": commit,
            "GoVersion": "",
            "Os": "linux",
            "Arch": arch,
            "BuildTime": "",
            "Context": "default",
            "Experimental": false,
        },
        "Server": {
            "Platform": {"Name": "rdock"},
            "Components": [{"Name": "Engine", "Version": version,
                            "Details": {"ApiVersion": API_VERSION, "Arch": arch, "Os": "linux",
                                        "KernelVersion": kernel, "GitCommit": commit}}],
            "Version": version,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": "1.12",
            "GitCommit": commit,
            "GoVersion": "",
            "Os": "linux",
            "Arch": arch,
            "KernelVersion": kernel,
            "BuildTime": "",
        },
    })
}

/// `rdock version [-f TEMPLATE]`.
pub fn version(_ctx: &Context, a: FormatArgs) -> Result<i32> {
    match a.format.as_deref() {
        Some(f) if !f.is_empty() => {
            print_formatted(f, "version", "system.versionInfo", &version_json())
        }
        _ => {
            println!("{}", super::version_line());
            Ok(0)
        }
    }
}

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

fn mem_total_bytes() -> u64 {
    let kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    kb * 1024
}

fn total_memory() -> String {
    format!(
        "{:.2}GiB",
        mem_total_bytes() as f64 / 1024.0 / 1024.0 / 1024.0
    )
}

pub fn run(ctx: &Context, a: FormatArgs) -> Result<i32> {
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
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        let v = json!({
            "ID": "",
            "Containers": all.len(),
            "ContainersRunning": running,
            "ContainersPaused": all.iter().filter(|r| crate::container::pause::is_paused(&ctx.root, r)).count(),
            "ContainersStopped": all.len() - running,
            "Images": images,
            "Driver": "overlay2",
            "DriverStatus": [],
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                        "Authorization": null, "Log": ["json-file"]},
            "MemTotal": mem_total_bytes(),
            "NCPU": cpus,
            "KernelVersion": uts.release().to_string_lossy(),
            "OperatingSystem": os_name(),
            "OSType": "linux",
            "OSVersion": "",
            "Architecture": uts.machine().to_string_lossy(),
            "Name": uts.nodename().to_string_lossy(),
            "ServerVersion": env!("CARGO_PKG_VERSION"),
            "DockerRootDir": ctx.root,
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": cgroup_version(),
            "DefaultRuntime": default_name,
            "Runtimes": runtimes.iter().map(|r| (r.clone(), json!({"path": r}))).collect::<serde_json::Map<_, _>>(),
            "Labels": [],
            "Warnings": null,
        });
        return print_formatted(f, "", "system.info", &v);
    }
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
