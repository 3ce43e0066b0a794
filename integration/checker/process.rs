//! The process: user and groups, umask, rlimits, cwd, env, no_new_privs,
//! oom_score_adj.

use crate::tap::Tap;
use serde_json::Value;

/// A `Name:\tvalue` line of /proc/self/status.
pub fn status_field(name: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix(name)?
            .strip_prefix(':')
            .map(|v| v.trim().to_string())
    })
}

pub fn check(config: &Value, tap: &mut Tap) {
    let process = &config["process"];
    check_user(&process["user"], tap);
    check_rlimits(process, tap);
    check_cwd_and_env(process, tap);

    let want_nnp = process["noNewPrivileges"].as_bool().unwrap_or(false);
    tap.eq(
        "NoNewPrivs",
        Some(if want_nnp { "1" } else { "0" }.to_string()),
        status_field("NoNewPrivs"),
    );

    if let Some(want) = process["oomScoreAdj"].as_i64() {
        let got = std::fs::read_to_string("/proc/self/oom_score_adj")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok());
        tap.eq("oom_score_adj", Some(want), got);
    }
}

fn check_user(user: &Value, tap: &mut Tap) {
    let want_uid = user["uid"].as_u64().unwrap_or(0) as u32;
    let want_gid = user["gid"].as_u64().unwrap_or(0) as u32;
    // These getters cannot fail.
    let (uid, euid, gid, egid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    tap.eq("uid", want_uid, uid);
    tap.eq("euid", want_uid, euid);
    tap.eq("gid", want_gid, gid);
    tap.eq("egid", want_gid, egid);

    let groups = supplementary_groups();
    if let Some(extra) = user["additionalGids"].as_array() {
        for g in extra.iter().filter_map(Value::as_u64) {
            tap.check(
                format!("additional gid {g}"),
                groups.contains(&(g as u32)),
                format!("expected {g} among the groups, got {groups:?}"),
            );
        }
    }
    if let Some(want) = user["umask"].as_u64() {
        let got = status_field("Umask").and_then(|v| u32::from_str_radix(&v, 8).ok());
        tap.eq("umask", Some(want as u32), got);
    }
}

fn supplementary_groups() -> Vec<u32> {
    // Asking for the count first (size 0) is the documented way to size the buffer.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let mut groups = vec![0 as libc::gid_t; n.max(0) as usize];
    // The buffer holds exactly n entries.
    let n = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
    groups.truncate(n.max(0) as usize);
    groups
}

fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => return None,
    })
}

fn check_rlimits(process: &Value, tap: &mut Tap) {
    for rl in process["rlimits"].as_array().into_iter().flatten() {
        let name = rl["type"].as_str().unwrap_or("?");
        let Some(resource) = rlimit_resource(name) else {
            tap.fail(format!("rlimit {name}"), "unknown rlimit type");
            continue;
        };
        let mut got = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // getrlimit writes only into `got`.
        if unsafe { libc::getrlimit(resource, &mut got) } != 0 {
            tap.fail(format!("rlimit {name}"), std::io::Error::last_os_error());
            continue;
        }
        let want = (
            rl["soft"].as_u64().unwrap_or(0),
            rl["hard"].as_u64().unwrap_or(0),
        );
        tap.eq(
            format!("rlimit {name} (soft, hard)"),
            want,
            (got.rlim_cur, got.rlim_max),
        );
    }
}

fn check_cwd_and_env(process: &Value, tap: &mut Tap) {
    if let Some(want) = process["cwd"].as_str() {
        let got = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tap.eq("cwd", crate::mountinfo::normalize(want), got);
    }
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    for want in process["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        tap.check(
            format!("env {want}"),
            env.iter().any(|e| e == want),
            format!("expected {want:?} in the environment"),
        );
    }
}
