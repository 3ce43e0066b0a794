//! docker's default seccomp profile, written as data from docker's
//! documentation ("Seccomp security profiles for Docker"): an allowlist
//! (default action EPERM) of every syscall the x86 tables know except the
//! ones docker blocks. Some blocked syscalls come back when the container
//! holds the capability that gates them, as in docker.
use serde_json::{json, Value};

/// Blocked whatever the capabilities: obsolete, not namespaced, or a
/// history of kernel bugs.
const BLOCKED: &[&str] = &[
    "_sysctl",
    "add_key",
    "create_module",
    "get_kernel_syms",
    // Blocked by docker since 25.0: io_uring bypasses the syscall filter for
    // the operations it submits and has had many kernel bugs.
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "modify_ldt",
    "nfsservctl",
    "query_module",
    "request_key",
    "sysfs",
    "uselib",
    "ustat",
    "vm86",
    "vm86old",
];

/// Blocked unless the container holds the capability named first.
const GATED: &[(&str, &[&str])] = &[
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "pivot_root",
            "quotactl",
            "quotactl_fd",
            "setns",
            "swapoff",
            "swapon",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "finit_module", "init_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_TIME",
        &[
            "adjtimex",
            "clock_adjtime",
            "clock_settime",
            "settimeofday",
            "stime",
        ],
    ),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
            "userfaultfd",
        ],
    ),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    (
        "CAP_SYS_NICE",
        &["get_mempolicy", "mbind", "move_pages", "set_mempolicy"],
    ),
    (
        "CAP_DAC_READ_SEARCH",
        &["name_to_handle_at", "open_by_handle_at"],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
];

/// Allowed only with some arguments (or with CAP_SYS_ADMIN for clone*).
const CONDITIONAL: &[&str] = &["clone", "clone3", "personality"];

/// Namespace flags of clone(2): CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
/// NEWUSER, NEWPID, NEWNET. Without CAP_SYS_ADMIN, clone may set none.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// personality(2) values that only select Linux behaviour: PER_LINUX,
/// PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and the query 0xffffffff.
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// The profile for a container whose capabilities are `caps` (CAP_ names),
/// as the OCI `linux.seccomp` object.
pub fn profile(caps: &[String]) -> Value {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let mut denied: Vec<&str> = BLOCKED.iter().chain(CONDITIONAL).copied().collect();
    let mut allowed_gated: Vec<&str> = Vec::new();
    for (cap, names) in GATED {
        if has(cap) {
            allowed_gated.extend_from_slice(names);
        } else {
            denied.extend_from_slice(names);
        }
    }
    let mut allowed: Vec<&str> = ::runtime::seccomp::known_syscalls()
        .into_iter()
        .filter(|n| !denied.contains(n))
        .collect();
    allowed.extend(allowed_gated);
    allowed.sort_unstable();
    allowed.dedup();

    let mut rules = vec![json!({ "names": allowed, "action": "SCMP_ACT_ALLOW" })];
    rules.push(json!({
        "names": ["personality"], "action": "SCMP_ACT_ALLOW",
        "args": PERSONALITIES.iter().map(|p| json!({
            "index": 0, "value": p, "op": "SCMP_CMP_EQ"
        })).collect::<Vec<_>>()
    }));
    if has("CAP_SYS_ADMIN") {
        rules.push(json!({ "names": ["clone", "clone3"], "action": "SCMP_ACT_ALLOW" }));
    } else {
        rules.push(json!({
            "names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{ "index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ" }]
        }));
        // clone3 hides its flags in memory the filter cannot read: ENOSYS
        // makes libc fall back to clone, whose flags the rule above sees.
        rules.push(json!({
            "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS
        }));
    }
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(p: &Value) -> Vec<String> {
        p["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    }

    fn default_caps() -> Vec<String> {
        crate::container::spec::DEFAULT_CAPS
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn default_profile_blocks_the_documented_syscalls() {
        let p = profile(&default_caps());
        let a = allowed(&p);
        for n in [
            "mount",
            "unshare",
            "setns",
            "reboot",
            "swapon",
            "keyctl",
            "ptrace",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
        ] {
            assert!(!a.iter().any(|x| x == n), "{n} allowed");
        }
        for n in ["read", "write", "execve", "openat", "socket", "sethostname"] {
            assert!(a.iter().any(|x| x == n), "{n} blocked");
        }
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
    }

    #[test]
    fn capabilities_bring_back_their_syscalls() {
        let mut caps = default_caps();
        caps.push("CAP_SYS_ADMIN".into());
        caps.push("CAP_SYS_BOOT".into());
        let a = allowed(&profile(&caps));
        for n in ["mount", "unshare", "setns", "reboot"] {
            assert!(a.iter().any(|x| x == n), "{n} still blocked");
        }
        assert!(!a.iter().any(|x| x == "keyctl"));
    }

    #[test]
    fn runr_compiles_the_profile() {
        for caps in [default_caps(), vec!["CAP_SYS_ADMIN".to_string()]] {
            let v = profile(&caps);
            let s = ::runtime::seccomp::parse_profile(&v).unwrap();
            ::runtime::seccomp::compile(&s).unwrap();
        }
    }
}
