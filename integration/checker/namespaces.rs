//! Namespaces, hostname and domainname.

use crate::tap::Tap;
use serde_json::Value;
use std::os::unix::fs::MetadataExt;

/// Every namespace type of config-linux.md, with its /proc/self/ns name.
const TYPES: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

fn annotation(config: &Value, key: &str) -> Option<u64> {
    config["annotations"][key].as_str()?.parse().ok()
}

fn inode(proc_name: &str) -> Option<u64> {
    // For pid and time namespaces the *_for_children link is what a child
    // would join; the process itself lives in the plain one.
    std::fs::metadata(format!("/proc/self/ns/{proc_name}"))
        .ok()
        .map(|m| m.ino())
}

pub fn check(config: &Value, tap: &mut Tap) {
    let listed = config["linux"]["namespaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (kind, proc_name) in TYPES {
        let Some(ours) = inode(proc_name) else {
            continue; // the kernel lacks this namespace type
        };
        let entry = listed.iter().find(|n| n["type"].as_str() == Some(kind));
        let host = annotation(config, &format!("runr.checker.host-ns.{kind}"));
        match entry {
            Some(n) if n["path"].as_str().is_some_and(|p| !p.is_empty()) => {
                match annotation(config, &format!("runr.checker.ns.{kind}")) {
                    Some(want) => tap.eq(format!("{kind} namespace joined from path"), want, ours),
                    None => tap.skip(
                        format!("{kind} namespace joined from path"),
                        "no expected inode given",
                    ),
                }
            }
            Some(_) => match host {
                Some(host) => tap.check(
                    format!("{kind} namespace is new"),
                    ours != host,
                    format!("expected an inode other than the host's {host}, got {ours}"),
                ),
                None => tap.skip(format!("{kind} namespace is new"), "host inode not given"),
            },
            None => {
                if let Some(host) = host {
                    tap.eq(
                        format!("{kind} namespace is the host's (not requested)"),
                        host,
                        ours,
                    );
                }
            }
        }
    }
    check_uts(config, tap);
    check_time_offsets(config, tap);
}

/// linux.timeOffsets, as /proc/self/timens_offsets shows them
/// ("monotonic SECS NANOSECS" lines).
fn check_time_offsets(config: &Value, tap: &mut Tap) {
    let Some(offsets) = config["linux"]["timeOffsets"].as_object() else {
        return;
    };
    let text = std::fs::read_to_string("/proc/self/timens_offsets").unwrap_or_default();
    for (clock, want) in offsets {
        let want = (
            want["secs"].as_i64().unwrap_or(0),
            want["nanosecs"].as_i64().unwrap_or(0),
        );
        let got = text.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&clock.as_str()) && f.len() == 3)
                .then(|| (f[1].parse().unwrap_or(-1), f[2].parse().unwrap_or(-1)))
        });
        tap.eq(
            format!("time offset {clock} (secs, nanosecs)"),
            Some(want),
            got,
        );
    }
}

fn uts_field(field: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_uts(config: &Value, tap: &mut Tap) {
    // utsname is plain old data, so all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // uname only fills the struct we own.
    if unsafe { libc::uname(&mut uts) } != 0 {
        tap.fail("uname", std::io::Error::last_os_error());
        return;
    }
    if let Some(want) = config["hostname"].as_str() {
        tap.eq("hostname", want.to_string(), uts_field(&uts.nodename));
    }
    if let Some(want) = config["domainname"].as_str() {
        tap.eq("domainname", want.to_string(), uts_field(&uts.domainname));
    }
}
