//! runc-style logging: text (`time="..." level=info msg="..."`) or JSON lines
//! (`{"level":"error","msg":"...","time":"..."}`) to `--log FILE`, else stderr.
//! containerd and conmon read the last `msg` of that file when a command fails.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use log::LevelFilter;

use crate::cli::LogFormat;
use runtime::timefmt;

pub fn init(log_file: Option<&Path>, format: LogFormat, debug: bool) {
    let target = match log_file.map(|p| OpenOptions::new().create(true).append(true).open(p)) {
        Some(Ok(f)) => env_logger::Target::Pipe(Box::new(f)),
        // runc falls back to stderr too when the file cannot be opened.
        _ => env_logger::Target::Stderr,
    };
    // runr's own warnings always; libraries (libcgroups reports through
    // tracing's log bridge) only their errors, unless --debug.
    let (own, deps) = if debug {
        (LevelFilter::Debug, LevelFilter::Debug)
    } else {
        (LevelFilter::Info, LevelFilter::Error)
    };
    let json = format == LogFormat::Json;
    env_logger::Builder::new()
        .filter_level(deps)
        .filter_module("runtime", own)
        .filter_module("sysutil", own)
        .filter_module("runr", own)
        .target(target)
        .format(move |buf, record| {
            let level = record.level().as_str().to_ascii_lowercase();
            let msg = record.args().to_string();
            let time = timefmt::now_rfc3339();
            if json {
                let line = serde_json::json!({ "level": level, "msg": msg, "time": time });
                writeln!(buf, "{line}")
            } else {
                writeln!(buf, "time={time:?} level={level} msg={msg:?}")
            }
        })
        .init();
}
