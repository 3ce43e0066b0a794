//! What confines the container, checked from inside: its cgroup namespace is
//! rooted at its own cgroup, the device cgroup allows only the default set
//! and `resources.devices`, the seccomp filter is in place during create (so
//! startContainer hooks run under it), and mounts are as read-only and as
//! isolated as configured.

use crate::common::Bundle;
use serde_json::json;

fn namespaces(b: &mut Bundle) -> &mut Vec<serde_json::Value> {
    b.config["linux"]["namespaces"].as_array_mut().unwrap()
}

fn with_cgroupns(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    if !namespaces(&mut b).iter().any(|n| n["type"] == "cgroup") {
        namespaces(&mut b).push(json!({"type": "cgroup"}));
    }
    b
}

fn cgroup_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The container's cgroup is the root of its cgroup namespace: every line
/// of /proc/self/cgroup reads `/`, and /sys/fs/cgroup shows its own limits,
/// not the host's tree.
#[test]
fn cgroup_namespace_is_rooted_at_the_containers_cgroup() {
    let mut b = with_cgroupns("cgroupns");
    b.config["linux"]["resources"]["memory"] = json!({"limit": 64 * 1024 * 1024});
    b.config["linux"]["resources"]["pids"] = json!({"limit": 77});
    let (mem, pids) = if cgroup_v2() {
        ("memory.max", "pids.max")
    } else {
        ("memory/memory.limit_in_bytes", "pids/pids.max")
    };
    b.sh(&format!(
        "grep -v ':/$' /proc/self/cgroup; \
         echo mem=$(cat /sys/fs/cgroup/{mem}) pids=$(cat /sys/fs/cgroup/{pids}); \
         ls /sys/fs/cgroup/pids/ | grep -c runr-it-"
    ));
    let out = b.run(&[]);
    assert_eq!(out.stdout, "mem=67108864 pids=77\n0\n", "{out}");
}

/// Sub-cgroups the container makes (its cgroup mount is writable here) are
/// removed with it by `delete --force`, their processes killed.
#[test]
fn delete_force_removes_the_containers_sub_cgroups() {
    let mut b = with_cgroupns("cgroupsub");
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/sys/fs/cgroup" {
            m["options"] = json!(["nosuid", "noexec", "nodev"]);
        }
    }
    let sub = if cgroup_v2() { "" } else { "pids/" };
    b.sh(&format!(
        "mkdir -p /sys/fs/cgroup/{sub}a/b && sleep 1000 & \
         sleep 0.2; echo $! > /sys/fs/cgroup/{sub}a/b/cgroup.procs; wait"
    ));
    b.create().ok();
    b.start().ok();
    let host = std::path::Path::new("/sys/fs/cgroup")
        .join(sub)
        .join(b.cgroups_path().trim_start_matches('/'))
        .join("a/b");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(host.join("cgroup.procs"))
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "the container made no sub-cgroup {}",
            host.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    b.rt_args(&["delete", "--force", b.id()]).ok();
    assert!(!host.exists(), "{} is left", host.display());
    b.assert_no_leftovers();
}

/// Reading the kernel log also needs CAP_SYSLOG (dmesg_restrict), and
/// mknod CAP_MKNOD: granted, so that only the device cgroup can refuse.
fn with_device_caps(b: &mut Bundle) {
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        caps.push(json!("CAP_SYSLOG"));
        caps.push(json!("CAP_MKNOD"));
    }
}

fn kmsg() -> serde_json::Value {
    json!({"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o644})
}

/// A node in `linux.devices` is created, not allowed: under deny-all only
/// the default set and `resources.devices` may be opened (runc's rules).
#[test]
fn listed_devices_are_not_allowed_without_a_device_rule() {
    let mut b = Bundle::new("devdeny");
    with_device_caps(&mut b);
    b.config["linux"]["devices"] = json!([kmsg()]);
    b.config["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    b.sh(
        "test -c /dev/kmsg && echo node; head -c1 /dev/kmsg >/dev/null 2>&1 || echo denied; \
          echo x > /dev/null && echo null-ok",
    );
    let out = b.run(&[]);
    assert_eq!(out.stdout, "node\ndenied\nnull-ok\n", "{out}");
}

/// An explicit rule allows it; access letters other than r, w, m are dropped
/// (`rwa` reads as `rw`) instead of reaching the kernel.
#[test]
fn device_rules_allow_and_their_access_is_filtered_to_rwm() {
    let mut b = Bundle::new("devallow");
    with_device_caps(&mut b);
    b.config["linux"]["devices"] = json!([kmsg()]);
    b.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"}
    ]);
    b.sh("head -c1 /dev/kmsg >/dev/null && echo read; mknod /dev/k2 c 1 11 && echo mknod-default");
    let out = b.run(&[]);
    assert_eq!(out.stdout, "read\nmknod-default\n", "{out}");
}

/// A profile that fails mkdir and mkdirat with EPERM, or hands them to an agent.
fn seccomp_on_mkdir(action: &str) -> serde_json::Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action}]
    })
}

/// The filter is in place before the start barrier: the startContainer
/// hook, run by the init after `start`, runs under it (as with runc), with
/// and without no_new_privs.
#[test]
fn start_container_hooks_run_under_the_seccomp_filter() {
    for nnp in [true, false] {
        let mut b = Bundle::new("seccomphook");
        b.config["root"]["readonly"] = json!(false);
        b.config["process"]["noNewPrivileges"] = json!(nnp);
        if !nnp {
            for set in ["bounding", "effective", "permitted"] {
                let caps = b.config["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap();
                caps.push(json!("CAP_SYS_ADMIN"));
            }
        }
        b.config["linux"]["seccomp"] = seccomp_on_mkdir("SCMP_ACT_ERRNO");
        b.config["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
            "mkdir /hookdir 2>/dev/null && echo unfiltered > /hook || echo filtered > /hook"]}]});
        b.args(&["cat", "/hook"]);
        let out = b.run(&[]);
        assert_eq!(out.stdout, "filtered\n", "noNewPrivileges {nnp}: {out}");
    }
}

/// A seccomp agent for the tests: accepts one connection at `path`, keeps
/// the JSON state it was sent, and closes the listener fd it got (so that
/// notified syscalls fail with ENOSYS and the container goes on).
struct Agent {
    got: std::sync::mpsc::Receiver<String>,
}

impl Agent {
    fn listen(path: &std::path::Path) -> Agent {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let sock = std::os::unix::net::UnixListener::bind(path).unwrap();
        let (tx, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (conn, _) = sock.accept().unwrap();
            let mut buf = vec![0u8; 65536];
            let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::empty(),
            )
            .unwrap();
            let mut fds = 0;
            for c in msg.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(v) = c {
                    for fd in v {
                        // SAFETY: the fd was just received and is ours alone.
                        drop(unsafe { OwnedFd::from_raw_fd(fd) });
                        fds += 1;
                    }
                }
            }
            let n = msg.bytes;
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let _ = tx.send(format!("fds={fds} {text}"));
        });
        Agent { got }
    }
}

/// SCMP_ACT_NOTIFY: the listener reaches the agent during `create` (before
/// `start`, which would be too late), with and without no_new_privs; the
/// agent lets it go, so the notified syscall fails with ENOSYS.
#[test]
fn seccomp_listener_reaches_the_agent_during_create() {
    for nnp in [true, false] {
        let mut b = Bundle::new("seccompnotify");
        let sock = b.dir().join("agent.sock");
        let agent = Agent::listen(&sock);
        b.config["process"]["noNewPrivileges"] = json!(nnp);
        if !nnp {
            for set in ["bounding", "effective", "permitted"] {
                let caps = b.config["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap();
                caps.push(json!("CAP_SYS_ADMIN"));
            }
        }
        let mut profile = seccomp_on_mkdir("SCMP_ACT_NOTIFY");
        profile["listenerPath"] = json!(sock.display().to_string());
        profile["listenerMetadata"] = json!("meta-1");
        b.config["linux"]["seccomp"] = profile;
        b.sh("mkdir /tmp/x 2>&1; true");
        b.create().ok();
        let msg = agent
            .got
            .recv_timeout(std::time::Duration::from_secs(1))
            .unwrap_or_else(|_| panic!("noNewPrivileges {nnp}: no listener after create"));
        assert!(
            msg.starts_with("fds=1 ") && msg.contains("meta-1") && msg.contains("\"creating\""),
            "{msg}"
        );
        b.start().ok();
        b.wait_for_status("stopped", std::time::Duration::from_secs(10));
        b.delete().ok();
    }
}

/// No agent at `listenerPath`: create fails with runc's words and leaves
/// nothing behind.
#[test]
fn seccomp_notify_without_an_agent_fails_create_cleanly() {
    let mut b = Bundle::new("seccompnoagent");
    let mut profile = seccomp_on_mkdir("SCMP_ACT_NOTIFY");
    profile["listenerPath"] = json!(b.dir().join("nobody.sock").display().to_string());
    b.config["linux"]["seccomp"] = profile;
    let out = b.create().failed();
    assert!(
        out.stderr
            .contains("failed to connect with seccomp agent specified in the seccomp profile"),
        "{out}"
    );
    b.assert_no_leftovers();
}

/// Notify on write is refused before anything exists, as runc does (the
/// handover itself writes).
#[test]
fn seccomp_notify_on_write_is_refused() {
    let mut b = Bundle::new("seccompnotifywrite");
    let mut profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]});
    profile["listenerPath"] = json!(b.dir().join("agent.sock").display().to_string());
    b.config["linux"]["seccomp"] = profile;
    let out = b.create().failed();
    assert!(
        out.stderr
            .contains("SCMP_ACT_NOTIFY cannot be used for the write syscall"),
        "{out}"
    );
    b.assert_no_leftovers();
}

/// `rro` makes the whole tree read-only, submounts included (runc's
/// recursive options through mount_setattr): the host's /dev with its
/// /dev/shm, bound `rbind,rro`.
#[test]
fn rro_makes_every_submount_read_only() {
    let mut b = Bundle::new("rro");
    b.config["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/hostdev", "type": "bind", "source": "/dev",
               "options": ["rbind", "rro", "nosuid", "noexec"]}),
    );
    let name = format!("runr-it-rro-{}", std::process::id());
    b.sh(&format!(
        "touch /hostdev/shm/{name} 2>&1 | grep -q 'Read-only file system' && echo shm-ro; \
         grep -q ' /hostdev/shm .*ro,' /proc/self/mountinfo && echo flag-ro"
    ));
    let out = b.run(&[]);
    let _ = std::fs::remove_file(format!("/dev/shm/{name}"));
    assert_eq!(out.stdout, "shm-ro\nflag-ro\n", "{out}");
}

/// With --no-pivot the host's mounts stay below the moved rootfs; its full
/// /proc must not be among them, or a user namespace inside could mount a
/// fresh, unmasked procfs (the kernel allows that only when one is visible).
#[test]
fn no_pivot_leaves_no_host_proc_to_mount_a_fresh_one() {
    let mut b = Bundle::new("nopivotproc");
    b.config["root"]["readonly"] = json!(false);
    // To map root into the new user namespace (5.12+ wants CAP_SETFCAP).
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        for c in ["CAP_SETUID", "CAP_SETGID", "CAP_SETFCAP"] {
            caps.push(json!(c));
        }
    }
    b.sh(
        "mkdir -p /p; unshare -U -r -m -p -f mount -t proc proc /p 2>/dev/null \
          && echo mounted || echo refused",
    );
    let out = b.run(&["--no-pivot"]);
    assert_eq!(out.stdout, "refused\n", "{out}");
}

/// A read-only /dev tmpfs gets its device nodes, then becomes read-only.
#[test]
fn read_only_dev_is_populated_then_read_only() {
    let mut b = Bundle::new("devro");
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev" {
            m["options"].as_array_mut().unwrap().push(json!("ro"));
        }
    }
    b.sh(
        "[ -c /dev/null ] && echo null; touch /dev/x 2>&1 | grep -q 'Read-only' && echo ro; \
          echo x > /dev/null && echo writable-null",
    );
    let out = b.run(&[]);
    assert_eq!(out.stdout, "null\nro\nwritable-null\n", "{out}");
}

/// A /proc that is a symlink in the image is refused with runc's words.
#[test]
fn symlinked_proc_is_refused_with_runcs_words() {
    let b = Bundle::new("procsymlink");
    let proc_dir = b.rootfs().join("proc");
    let _ = std::fs::remove_dir_all(&proc_dir);
    std::os::unix::fs::symlink("/tmp", &proc_dir).unwrap();
    let out = b.run(&[]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("must be mounted on ordinary directory"),
        "{out}"
    );
    b.assert_no_leftovers();
}

/// A startContainer hook the filter kills fails the run, in runc's words.
#[test]
fn start_container_hook_killed_by_the_filter_is_reported_like_runc() {
    let mut b = Bundle::new("seccomphookkill");
    b.config["linux"]["seccomp"] = seccomp_on_mkdir("SCMP_ACT_KILL");
    b.config["hooks"] = json!({"startContainer": [{"path": "/bin/sh",
        "args": ["sh", "-c", "mkdir /dev/shm/foo"]}]});
    b.args(&["true"]);
    let out = b.run(&[]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("error running hook") && out.stderr.contains("bad system call"),
        "{out}"
    );
}

/// A mount of a v1 hierarchy outside /sys/fs/cgroup (here a sub-cgroup
/// bound elsewhere, as another container set up in the caller's mount
/// namespace has) is not taken for the host's hierarchy when the
/// container's /sys/fs/cgroup is built.
#[test]
fn only_the_hosts_hierarchies_are_mirrored_into_the_container() {
    if cgroup_v2() || !std::path::Path::new("/sys/fs/cgroup/pids").is_dir() {
        eprintln!("SKIP: needs a cgroup v1 pids hierarchy");
        return;
    }
    struct Stray(std::path::PathBuf, std::path::PathBuf);
    impl Drop for Stray {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(&self.1, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir(&self.1);
            let _ = std::fs::remove_dir(self.1.parent().unwrap());
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let id = std::process::id();
    let cg = std::path::PathBuf::from(format!("/sys/fs/cgroup/pids/runr-it-stray-{id}"));
    let at = std::path::PathBuf::from(format!("/tmp/runr-it-stray-{id}/pids"));
    std::fs::create_dir_all(&cg).unwrap();
    std::fs::create_dir_all(&at).unwrap();
    let _stray = Stray(cg.clone(), at.clone());
    nix::mount::mount(
        Some(&cg),
        &at,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap();
    let mut b = Bundle::new("straycg");
    b.sh("cat /sys/fs/cgroup/pids/pids.max");
    let out = b.run(&[]);
    assert_eq!(out.code, Some(0), "{out}");
}

/// Without resources (runr then joins the v1 hierarchies itself, without
/// libcgroups' manager), the init is in the container's cgroup in every
/// controller hierarchy and name=systemd, its cpuset is filled from the
/// parents down a new nested path, its device list is runr's; delete removes
/// every directory of it.
#[test]
fn a_container_without_resources_is_in_its_cgroup_in_every_hierarchy() {
    if cgroup_v2() {
        eprintln!("SKIP: needs cgroup v1");
        return;
    }
    let mut b = Bundle::new("cgjoin");
    let nested = format!("{}/a/b", b.cgroups_path());
    b.config["linux"]["cgroupsPath"] = json!(nested);
    b.config["linux"]["resources"] = json!({});
    b.args(&["sleep", "60"]);
    b.create().ok();
    let pid = b.state_json()["pid"].as_i64().unwrap();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let root = std::path::Path::new("/sys/fs/cgroup");
    for line in cgroup.lines() {
        let mut f = line.splitn(3, ':');
        let (_, names, path) = (f.next(), f.next().unwrap(), f.next().unwrap());
        // rdma and misc were never joined (as before, and as libcgroups).
        if names == "rdma" || names == "misc" {
            continue;
        }
        assert_eq!(path, nested, "{line} in\n{cgroup}");
    }
    let dir = |h: &str| root.join(h).join(nested.trim_start_matches('/'));
    let cpus = std::fs::read_to_string(dir("cpuset").join("cpuset.cpus")).unwrap();
    let mems = std::fs::read_to_string(dir("cpuset").join("cpuset.mems")).unwrap();
    assert!(!cpus.trim().is_empty() && !mems.trim().is_empty());
    let devices = std::fs::read_to_string(dir("devices").join("devices.list")).unwrap();
    assert!(
        devices.contains("c 1:3 rwm") && !devices.contains("a *:*"),
        "{devices}"
    );
    b.rt_args(&["delete", "--force", b.id()]).ok();
    let left: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path().join(nested.trim_start_matches('/')))
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "left after delete: {left:?}");
    // The parents stay (as with runc); remove them for the leftover check.
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let top = e.path().join(b.cgroups_path().trim_start_matches('/'));
        let _ = std::fs::remove_dir(top.join("a"));
        let _ = std::fs::remove_dir(&top);
    }
    b.assert_no_leftovers();
}
