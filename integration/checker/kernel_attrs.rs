//! Scheduler, I/O priority, personality and memory policy, as the kernel
//! reports them to the process itself.

use crate::tap::Tap;
use serde_json::Value;

#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

pub fn check(config: &Value, tap: &mut Tap) {
    let s = &config["process"]["scheduler"];
    if s.is_object() {
        check_scheduler(s, tap);
    }
    let io = &config["process"]["ioPriority"];
    if io.is_object() {
        let class = match io["class"].as_str().unwrap_or("IOPRIO_CLASS_BE") {
            "IOPRIO_CLASS_RT" => 1,
            "IOPRIO_CLASS_BE" => 2,
            _ => 3,
        };
        let want = (class << 13) | io["priority"].as_i64().unwrap_or(0);
        // ioprio_get(IOPRIO_WHO_PROCESS, self) takes plain integers.
        let got = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, 0) };
        tap.eq("ioprio_get", want, got);
    }
    let p = &config["linux"]["personality"];
    if p.is_object() {
        let want = if p["domain"] == "LINUX32" { 8 } else { 0 };
        // personality(0xffffffff) only reads the current value.
        let got = unsafe { libc::personality(0xffff_ffff) } & 0xff;
        tap.eq("personality domain", want, got);
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        // uname fills the struct we own.
        unsafe { libc::uname(&mut u) };
        let machine = unsafe { std::ffi::CStr::from_ptr(u.machine.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        let want = if p["domain"] == "LINUX32" {
            "i686"
        } else {
            "x86_64"
        };
        tap.eq("uname machine", want.to_string(), machine);
    }
    let m = &config["linux"]["memoryPolicy"];
    if m.is_object() {
        check_mempolicy(m, tap);
    }
}

fn check_scheduler(s: &Value, tap: &mut Tap) {
    let mut a = SchedAttr::default();
    // sched_getattr writes at most `size` bytes into the struct we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut a as *mut SchedAttr,
            std::mem::size_of::<SchedAttr>() as u32,
            0,
        )
    };
    if r != 0 {
        tap.fail("sched_getattr", std::io::Error::last_os_error());
        return;
    }
    let policy = match s["policy"].as_str().unwrap_or("") {
        "SCHED_OTHER" => 0,
        "SCHED_FIFO" => 1,
        "SCHED_RR" => 2,
        "SCHED_BATCH" => 3,
        "SCHED_IDLE" => 5,
        "SCHED_DEADLINE" => 6,
        _ => 99,
    };
    tap.eq("sched policy", policy, a.policy);
    if let Some(n) = s["nice"].as_i64() {
        tap.eq("sched nice", n as i32, a.nice);
    }
    tap.eq(
        "sched priority",
        s["priority"].as_u64().unwrap_or(0) as u32,
        a.priority,
    );
    let reset = s["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f == "SCHED_RESET_ON_FORK"));
    tap.eq("sched reset-on-fork", reset, a.flags & 1 != 0);
    for (k, got) in [
        ("runtime", a.runtime),
        ("deadline", a.deadline),
        ("period", a.period),
    ] {
        if let Some(want) = s[k].as_u64() {
            tap.eq(format!("sched {k}"), want, got);
        }
    }
}

fn check_mempolicy(m: &Value, tap: &mut Tap) {
    let mut mode: i32 = -1;
    let mut mask = [0 as libc::c_ulong; 16];
    // get_mempolicy writes the mode and at most maxnode bits into buffers we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode as *mut i32,
            mask.as_mut_ptr(),
            (mask.len() * 64) as libc::c_ulong,
            0usize,
            0usize,
        )
    };
    if r != 0 {
        tap.fail("get_mempolicy", std::io::Error::last_os_error());
        return;
    }
    let mut want = match m["mode"].as_str().unwrap_or("") {
        "MPOL_DEFAULT" => 0,
        "MPOL_PREFERRED" => 1,
        "MPOL_BIND" => 2,
        "MPOL_INTERLEAVE" => 3,
        "MPOL_LOCAL" => 4,
        "MPOL_PREFERRED_MANY" => 5,
        "MPOL_WEIGHTED_INTERLEAVE" => 6,
        _ => -1,
    };
    for f in m["flags"].as_array().into_iter().flatten() {
        want |= match f.as_str().unwrap_or("") {
            "MPOL_F_NUMA_BALANCING" => 1 << 13,
            "MPOL_F_RELATIVE_NODES" => 1 << 14,
            "MPOL_F_STATIC_NODES" => 1 << 15,
            _ => 0,
        };
    }
    tap.eq("mempolicy mode", want, mode);
    if let Some(n) = m["nodes"].as_str().and_then(|n| n.parse::<usize>().ok()) {
        tap.eq(
            format!("mempolicy node {n}"),
            true,
            mask[n / 64] & (1 << (n % 64)) != 0,
        );
    }
}
