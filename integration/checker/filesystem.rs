//! The filesystem as the container sees it: root, mounts, read-only and
//! masked paths, devices, sysctls.

use crate::mountinfo::{self, Mount};
use crate::tap::Tap;
use serde_json::Value;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// Mount options that show up per mount in mountinfo, with the option that
/// clears each.
const MOUNT_FLAGS: &[(&str, &str)] = &[
    ("ro", "rw"),
    ("nosuid", "suid"),
    ("nodev", "dev"),
    ("noexec", "exec"),
    ("noatime", "atime"),
    ("nodiratime", "diratime"),
    ("relatime", "norelatime"),
];

pub fn check(config: &Value, tap: &mut Tap) {
    let mounts = match mountinfo::read() {
        Ok(m) => m,
        Err(e) => {
            tap.fail("mountinfo", e);
            return;
        }
    };
    check_root(config, &mounts, tap);
    check_mounts(config, &mounts, tap);
    check_readonly_paths(config, &mounts, tap);
    check_masked_paths(config, &mounts, tap);
    check_devices(config, tap);
    check_sysctl(config, tap);
}

/// Touches `path` (utimensat): the cheapest write that works the same on
/// files, directories and procfs, and fails with EROFS on a read-only mount
/// before any permission check.
fn write_probe(path: &str) -> std::io::Result<()> {
    let c_path = std::ffi::CString::new(path).map_err(std::io::Error::other)?;
    // c_path outlives the call; a null times pointer means "now".
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c_path.as_ptr(), std::ptr::null(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn is_erofs(r: &std::io::Result<()>) -> bool {
    matches!(r, Err(e) if e.raw_os_error() == Some(libc::EROFS))
}

fn check_root(config: &Value, mounts: &[Mount], tap: &mut Tap) {
    let readonly = config["root"]["readonly"].as_bool().unwrap_or(false);
    match mountinfo::at(mounts, "/") {
        Some(m) => tap.eq("root mount read-only flag", readonly, m.has_option("ro")),
        None => tap.fail("root mount", "no mount at / in mountinfo"),
    }
    if let (Some(want), Some(m)) = (
        config["linux"]["rootfsPropagation"].as_str(),
        mountinfo::at(mounts, "/"),
    ) {
        let got = m.propagation();
        let want = want.trim_start_matches('r');
        // Making a mount the slave of a peer group that is not shared leaves
        // it private (the host's root may well be private).
        let ok = got == want || (want == "slave" && got == "private");
        tap.check(
            "rootfs propagation",
            ok,
            format!("expected {want}, got {got} ({})", m.optional.join(" ")),
        );
    }
    let probe = write_probe("/");
    if readonly {
        tap.check(
            "root is read-only (EROFS)",
            is_erofs(&probe),
            format!("expected EROFS, got {probe:?}"),
        );
    } else {
        // Only the read-only flag matters here: EACCES for a non-root user is fine.
        tap.check("root is writable", !is_erofs(&probe), "got EROFS");
    }
}

fn check_mounts(config: &Value, mounts: &[Mount], tap: &mut Tap) {
    for want in config["mounts"].as_array().into_iter().flatten() {
        let Some(dest) = want["destination"].as_str() else {
            continue;
        };
        let what = format!("mount {dest}");
        let Some(got) = mountinfo::at(mounts, dest) else {
            tap.fail(
                &what,
                "no mount at this destination in /proc/self/mountinfo",
            );
            continue;
        };
        let options: Vec<&str> = want["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let bind = options.iter().any(|o| *o == "bind" || *o == "rbind");
        let fs_type = want["type"].as_str().unwrap_or("");
        // cgroup (v1) is a tmpfs of per-controller mounts; bind keeps the source's type.
        if !bind
            && !fs_type.is_empty()
            && fs_type != "bind"
            && fs_type != "cgroup"
            && fs_type != "none"
        {
            tap.eq(format!("{what} type"), fs_type, got.fs_type.as_str());
        } else {
            tap.ok(format!("{what} exists"));
        }
        // A v1 cgroup mount is a tmpfs holding one mount per controller:
        // the options apply to those.
        let targets: Vec<&Mount> = if fs_type == "cgroup" && got.fs_type == "tmpfs" {
            let prefix = format!("{}/", got.mount_point);
            mounts
                .iter()
                .filter(|m| m.fs_type == "cgroup" && m.mount_point.starts_with(&prefix))
                .collect()
        } else {
            vec![got]
        };
        if let Some(want) = options
            .iter()
            .rev()
            .find_map(|o| match o.trim_start_matches('r') {
                p @ ("shared" | "slave" | "private" | "unbindable") => Some(p),
                _ => None,
            })
        {
            tap.eq(format!("{what} propagation"), want, got.propagation());
        }
        for target in targets {
            let what = format!("mount {}", target.mount_point);
            check_mount_flags(&what, &options, target, tap);
            if options.contains(&"ro") {
                let probe = write_probe(&target.mount_point);
                tap.check(
                    format!("{what} write fails with EROFS"),
                    is_erofs(&probe),
                    format!("expected EROFS, got {probe:?}"),
                );
            }
        }
        // devpts' mode= is for new ptys, not its root directory.
        let mode = options
            .iter()
            .find_map(|o| o.strip_prefix("mode="))
            .filter(|_| got.fs_type == "tmpfs");
        if let Some(mode) = mode {
            if let (Ok(want_mode), Ok(meta)) = (u32::from_str_radix(mode, 8), fs::metadata(dest)) {
                tap.eq(
                    format!("{what} mode"),
                    format!("{want_mode:o}"),
                    format!("{:o}", meta.mode() & 0o7777),
                );
            }
        }
    }
}

fn check_mount_flags(what: &str, options: &[&str], got: &Mount, tap: &mut Tap) {
    for (set, clear) in MOUNT_FLAGS {
        // The last of an option and its opposite wins.
        let wanted = options.iter().rev().find_map(|o| {
            if o == set {
                Some(true)
            } else if o == clear {
                Some(false)
            } else {
                None
            }
        });
        let shown = got.mount_options.join(",");
        match wanted {
            Some(true) => tap.check(
                format!("{what} {set}"),
                got.has_option(set),
                format!("expected {set}, got {shown}"),
            ),
            // "norelatime" is not shown as such; only check the others.
            Some(false) if *set != "relatime" => tap.check(
                format!("{what} {clear}"),
                !got.has_option(set),
                format!("expected {clear}, got {shown}"),
            ),
            _ => {}
        }
    }
}

fn check_readonly_paths(config: &Value, mounts: &[Mount], tap: &mut Tap) {
    for path in config["linux"]["readonlyPaths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let what = format!("readonly path {path}");
        if fs::symlink_metadata(path).is_err() {
            tap.skip(&what, "does not exist in the container");
            continue;
        }
        match mountinfo::containing(mounts, path) {
            Some(m) => tap.check(
                format!("{what} mount is ro"),
                m.has_option("ro"),
                format!(
                    "mount at {} is {}",
                    m.mount_point,
                    m.mount_options.join(",")
                ),
            ),
            None => tap.fail(&what, "no mount contains it"),
        }
        let probe = write_probe(path);
        tap.check(
            format!("{what} write fails with EROFS"),
            is_erofs(&probe),
            format!("expected EROFS, got {probe:?}"),
        );
    }
}

fn check_masked_paths(config: &Value, mounts: &[Mount], tap: &mut Tap) {
    for path in config["linux"]["maskedPaths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let what = format!("masked path {path}");
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                tap.skip(&what, "does not exist in the container");
                continue;
            }
            Err(e) => {
                tap.fail(&what, format!("stat: {e}"));
                continue;
            }
        };
        if meta.is_dir() {
            let entries = fs::read_dir(path).map(|d| d.count()).unwrap_or(usize::MAX);
            tap.eq(format!("{what} is an empty directory"), 0, entries);
            let fs_type = mountinfo::at(mounts, path).map(|m| m.fs_type.clone());
            tap.eq(
                format!("{what} is covered by a tmpfs"),
                Some("tmpfs".to_string()),
                fs_type,
            );
        } else {
            tap.check(
                format!("{what} is a character device"),
                meta.file_type().is_char_device(),
                format!("got file type {:?}", meta.file_type()),
            );
            let content = fs::read(path).map(|c| c.len());
            tap.check(
                format!("{what} reads as empty"),
                matches!(content, Ok(0)),
                format!("got {content:?}"),
            );
        }
    }
}

fn major(rdev: u64) -> u64 {
    libc::major(rdev) as u64
}

fn minor(rdev: u64) -> u64 {
    libc::minor(rdev) as u64
}

fn check_devices(config: &Value, tap: &mut Tap) {
    // config-linux.md "Default Devices" and "/dev symbolic links".
    for (path, maj, min) in [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ] {
        match fs::metadata(path) {
            Ok(m) if m.file_type().is_char_device() => tap.eq(
                format!("default device {path} (major, minor)"),
                (maj, min),
                (major(m.rdev()), minor(m.rdev())),
            ),
            Ok(m) => tap.fail(
                format!("default device {path}"),
                format!("not a char device: {:?}", m.file_type()),
            ),
            Err(e) => tap.fail(format!("default device {path}"), e),
        }
    }
    tap.check(
        "default device /dev/ptmx",
        fs::metadata("/dev/ptmx").is_ok(),
        "missing",
    );
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let got = fs::read_link(link).map(|p| p.display().to_string()).ok();
        tap.eq(format!("symlink {link}"), Some(target.to_string()), got);
    }

    for dev in config["linux"]["devices"].as_array().into_iter().flatten() {
        let Some(path) = dev["path"].as_str() else {
            continue;
        };
        let what = format!("device {path}");
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                tap.fail(&what, e);
                continue;
            }
        };
        let ft = meta.file_type();
        let got_type = if ft.is_char_device() {
            "c"
        } else if ft.is_block_device() {
            "b"
        } else if ft.is_fifo() {
            "p"
        } else {
            "other"
        };
        let want_type = match dev["type"].as_str() {
            Some("u") => "c",
            Some(t) => t,
            None => "?",
        };
        tap.eq(format!("{what} type"), want_type, got_type);
        if want_type != "p" {
            let want = (
                dev["major"].as_u64().unwrap_or(0),
                dev["minor"].as_u64().unwrap_or(0),
            );
            tap.eq(
                format!("{what} (major, minor)"),
                want,
                (major(meta.rdev()), minor(meta.rdev())),
            );
        }
        if let Some(mode) = dev["fileMode"].as_u64() {
            tap.eq(
                format!("{what} mode"),
                format!("{:o}", mode & 0o777),
                format!("{:o}", meta.mode() & 0o777),
            );
        }
        if let Some(uid) = dev["uid"].as_u64() {
            tap.eq(format!("{what} uid"), uid as u32, meta.uid());
        }
        if let Some(gid) = dev["gid"].as_u64() {
            tap.eq(format!("{what} gid"), gid as u32, meta.gid());
        }
    }
}

fn check_sysctl(config: &Value, tap: &mut Tap) {
    let Some(sysctl) = config["linux"]["sysctl"].as_object() else {
        return;
    };
    for (key, want) in sysctl {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let got =
            fs::read_to_string(&path).map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
        let want = want
            .as_str()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match got {
            Ok(got) => tap.eq(format!("sysctl {key}"), want, got),
            Err(e) => tap.fail(format!("sysctl {key}"), format!("reading {path}: {e}")),
        }
    }
}
