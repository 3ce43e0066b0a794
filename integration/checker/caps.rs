//! The five capability sets, as /proc/self/status shows them after execve.

use crate::process::status_field;
use crate::tap::Tap;
use serde_json::Value;

/// Capability names in bit order (capability.h).
const NAMES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

fn mask_of(list: &Value) -> u64 {
    let mut mask = 0;
    for name in list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let short = name.strip_prefix("CAP_").unwrap_or(name);
        if let Some(bit) = NAMES.iter().position(|n| *n == short) {
            mask |= 1 << bit;
        }
    }
    mask
}

fn names_of(mask: u64) -> String {
    let names: Vec<&str> = (0..64)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| NAMES.get(b).copied().unwrap_or("?"))
        .collect();
    format!("[{}]", names.join(","))
}

fn status_mask(field: &str) -> Option<u64> {
    u64::from_str_radix(&status_field(field)?, 16).ok()
}

pub fn check(config: &Value, tap: &mut Tap) {
    let caps = &config["process"]["capabilities"];
    if caps.is_null() {
        tap.skip("capabilities", "process.capabilities not set");
        return;
    }
    let last_cap: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    let known = if last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (last_cap + 1)) - 1
    };
    let bounding = mask_of(&caps["bounding"]) & known;
    let inheritable = mask_of(&caps["inheritable"]) & known;
    // The kernel keeps an ambient capability only while it is both
    // permitted and inheritable (capabilities(7)), whatever was asked.
    let ambient = mask_of(&caps["ambient"]) & inheritable & mask_of(&caps["permitted"]) & known;

    // execve(2) recomputes permitted and effective (capabilities(7)): with
    // no file capabilities, a uid-0 process gets inheritable | bounding,
    // any other gets only its ambient set.
    // geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let permitted = if root {
        inheritable | bounding | ambient
    } else {
        ambient
    };
    let effective = permitted;

    for (field, want) in [
        ("CapBnd", bounding),
        ("CapInh", inheritable),
        ("CapAmb", ambient),
        ("CapPrm", permitted),
        ("CapEff", effective),
    ] {
        match status_mask(field) {
            Some(got) if got == want => tap.ok(format!("capabilities {field}")),
            Some(got) => tap.fail(
                format!("capabilities {field}"),
                format!(
                    "expected {}, got {} (missing {}, extra {})",
                    want,
                    got,
                    names_of(want & !got),
                    names_of(got & !want)
                ),
            ),
            None => tap.fail(format!("capabilities {field}"), "not in /proc/self/status"),
        }
    }
}
