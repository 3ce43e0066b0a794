//! Config tests: each builds a config that asks for something, runs
//! runr-checker as the container process and expects every check to pass
//! (config.md, config-linux.md).

use crate::common::bundle::host_ns_inode;
use crate::common::{skip_if_runc, Bundle};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn namespaces(b: &mut Bundle) -> &mut Vec<Value> {
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("linux.namespaces")
}

#[test]
fn default_config_passes_the_checker() {
    let mut b = Bundle::new("default");
    let out = b.run_checker();
    assert!(out.stdout.contains("ok"), "{out}");
    b.assert_no_leftovers();
}

#[test]
fn writable_root_is_writable_and_readonly_root_is_not() {
    let mut b = Bundle::new("rootrw");
    b.config["root"]["readonly"] = json!(false);
    b.run_checker();
    let mut b = Bundle::new("rootro");
    b.config["root"]["readonly"] = json!(true);
    b.run_checker();
}

#[test]
fn mounts_get_their_type_and_options() {
    let mut b = Bundle::new("mounts");
    let host_dir = b.dir().join("shared");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("file"), "from-host").unwrap();
    let src = host_dir.display().to_string();
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": "/mnt/tmpfs", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"]}),
    );
    mounts.push(json!({"destination": "/mnt/bind-ro", "type": "bind", "source": src, "options": ["rbind", "ro", "nosuid"]}));
    mounts.push(json!({"destination": "/mnt/bind-rw", "type": "none", "source": src, "options": ["bind", "rw"]}));
    mounts.push(json!({"destination": "/mnt/noatime", "type": "tmpfs", "source": "tmpfs", "options": ["noatime", "ro"]}));
    b.run_checker();
    // The bind mounts show the host's files.
    b.sh("cat /mnt/bind-ro/file && echo -n changed > /mnt/bind-rw/file");
    b.run(&[]).ok();
    assert_eq!(
        std::fs::read_to_string(host_dir.join("file")).unwrap(),
        "changed"
    );
}

/// runc's `tmpcopyup`: the image's files under the destination are copied
/// into the tmpfs (owners, modes and symlinks kept, symlinks not followed),
/// writes land in the tmpfs, and `ro` applies after the copy.
#[test]
fn tmpcopyup_copies_the_images_files_into_the_tmpfs() {
    let mut b = Bundle::new("tmpcopyup");
    let d = b.rootfs().join("data");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/file"), "from-image").unwrap();
    std::fs::set_permissions(d.join("sub/file"), std::fs::Permissions::from_mode(0o604)).unwrap();
    std::os::unix::fs::chown(d.join("sub/file"), Some(1000), Some(1001)).unwrap();
    std::os::unix::fs::symlink("/etc/shadow-of-host", d.join("link")).unwrap();
    std::fs::create_dir_all(b.rootfs().join("rodata")).unwrap();
    std::fs::write(b.rootfs().join("rodata/f"), "ro-copy").unwrap();
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}));
    mounts.push(json!({"destination": "/rodata", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "ro"]}));
    b.sh(
        "grep -q ' /data tmpfs ' /proc/mounts && echo on-tmpfs; cat /data/sub/file; echo; \
          stat -c '%a %u %g' /data/sub/file; readlink /data/link; \
          echo new > /data/new && echo written; cat /rodata/f; echo; \
          (echo x > /rodata/f) 2>/dev/null || echo ro-refused",
    );
    let out = b.run(&[]).ok();
    let want =
        "on-tmpfs\nfrom-image\n604 1000 1001\n/etc/shadow-of-host\nwritten\nro-copy\nro-refused\n";
    assert_eq!(out.stdout, want, "{out}");
    // The image's file itself is untouched.
    assert_eq!(
        std::fs::read_to_string(d.join("sub/file")).unwrap(),
        "from-image"
    );
}

#[test]
fn new_namespaces_differ_from_the_hosts() {
    let mut b = Bundle::new("nsnew");
    for kind in ["cgroup"] {
        if host_ns_inode(kind).is_some() && !namespaces(&mut b).iter().any(|n| n["type"] == kind) {
            namespaces(&mut b).push(json!({"type": kind}));
        }
    }
    b.run_checker();
}

#[test]
fn namespaces_not_listed_are_the_hosts() {
    let mut b = Bundle::new("nshost");
    namespaces(&mut b).retain(|n| n["type"] != "network" && n["type"] != "ipc");
    b.run_checker();
}

/// A process of our own in new network and uts namespaces, to join by path.
struct NsHolder(Child);

impl NsHolder {
    fn start() -> NsHolder {
        let child = Command::new("unshare")
            .args(["--net", "--uts", "sleep", "60"])
            .spawn()
            .expect("running unshare");
        let holder = NsHolder(child);
        let host = host_ns_inode("net");
        let start = Instant::now();
        while holder.inode("net") == host || holder.inode("net").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "unshare did not enter a new netns"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        holder
    }

    fn path(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.0.id())
    }

    fn inode(&self, name: &str) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(self.path(name)).ok().map(|m| m.ino())
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn namespace_paths_are_joined() {
    let holder = NsHolder::start();
    let mut b = Bundle::new("nspath");
    for (kind, name) in [("network", "net"), ("uts", "uts")] {
        for n in namespaces(&mut b).iter_mut() {
            if n["type"] == kind {
                n["path"] = json!(holder.path(name));
            }
        }
        b.config["annotations"][format!("runr.checker.ns.{kind}")] =
            json!(holder.inode(name).unwrap().to_string());
    }
    // Joining a uts namespace that the container does not own: leave the hostname alone.
    b.config.as_object_mut().unwrap().remove("hostname");
    b.run_checker();
}

#[test]
fn hostname_is_set() {
    let mut b = Bundle::new("hostname");
    b.config["hostname"] = json!("it-hostname");
    b.run_checker();
}

#[test]
fn domainname_is_set() {
    if skip_if_runc("runc 1.1.5 predates runtime-spec 1.1 `domainname`") {
        return;
    }
    let mut b = Bundle::new("domainname");
    b.config["domainname"] = json!("it.example");
    b.run_checker();
}

#[test]
fn time_namespace_gets_its_offsets() {
    if skip_if_runc("runc 1.1.5 has no time namespace support") {
        return;
    }
    let mut b = Bundle::new("timens");
    namespaces(&mut b).push(json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 3600, "nanosecs": 0}});
    b.run_checker();
}

#[test]
fn user_groups_and_umask_are_applied() {
    let mut b = Bundle::new("user");
    b.config["process"]["user"] =
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 0o027});
    b.run_checker();
}

#[test]
fn capability_sets_are_applied_for_root() {
    let mut b = Bundle::new("capsroot");
    let set = json!([
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
        "CAP_SETGID",
        "CAP_DAC_OVERRIDE"
    ]);
    b.config["process"]["capabilities"] = json!({
        "bounding": set, "effective": set, "permitted": set,
        "inheritable": ["CAP_KILL", "CAP_CHOWN"], "ambient": ["CAP_KILL"],
    });
    b.run_checker();
}

#[test]
fn ambient_capabilities_reach_a_non_root_user() {
    let mut b = Bundle::new("capsambient");
    let set = json!(["CAP_NET_BIND_SERVICE", "CAP_KILL"]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config["process"]["capabilities"] = json!({
        "bounding": set, "effective": set, "permitted": set, "inheritable": set, "ambient": ["CAP_NET_BIND_SERVICE"],
    });
    b.run_checker();
}

#[test]
fn rlimits_are_applied() {
    let mut b = Bundle::new("rlimits");
    // Below the host's hard limits: the host lacks CAP_SYS_RESOURCE to raise them.
    b.config["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 1000, "hard": 2000},
    ]);
    b.run_checker();
}

#[test]
fn cwd_and_env_are_applied() {
    let mut b = Bundle::new("cwdenv");
    b.config["process"]["cwd"] = json!("/home/user");
    b.config["process"]["env"] = json!(["PATH=/bin", "IT_VAR=some value", "EMPTY="]);
    b.run_checker();
}

#[test]
fn cwd_is_created_when_missing() {
    let mut b = Bundle::new("cwdmissing");
    b.config["root"]["readonly"] = json!(false);
    b.config["process"]["cwd"] = json!("/does/not/exist");
    b.run_checker();
}

#[test]
fn readonly_paths_are_read_only_inside() {
    let mut b = Bundle::new("readonly");
    b.config["root"]["readonly"] = json!(false);
    b.write_rootfs_file("srv/ro-dir/file", "x");
    b.write_rootfs_file("srv/ro-file", "x");
    let paths = b.config["linux"]["readonlyPaths"].as_array_mut().unwrap();
    paths.push(json!("/srv/ro-dir"));
    paths.push(json!("/srv/ro-file"));
    paths.push(json!("/srv/does-not-exist"));
    b.run_checker();
}

#[test]
fn masked_paths_are_masked_inside() {
    let mut b = Bundle::new("masked");
    b.write_rootfs_file("srv/masked-dir/secret", "secret");
    b.write_rootfs_file("srv/masked-file", "secret");
    let paths = b.config["linux"]["maskedPaths"].as_array_mut().unwrap();
    paths.push(json!("/srv/masked-dir"));
    paths.push(json!("/srv/masked-file"));
    paths.push(json!("/srv/does-not-exist"));
    b.run_checker();
}

#[test]
fn sysctls_are_set_inside() {
    let mut b = Bundle::new("sysctl");
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"});
    b.run_checker();
}

#[test]
fn devices_are_created_with_type_numbers_mode_and_owner() {
    let mut b = Bundle::new("devices");
    b.config["linux"]["devices"] = json!([
        {"path": "/dev/it-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1000},
        {"path": "/dev/it-loop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600, "uid": 0, "gid": 0},
        {"path": "/dev/sub/it-zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666},
        {"path": "/dev/it-fifo", "type": "p", "fileMode": 0o644},
    ]);
    b.run_checker();
}

#[test]
fn no_new_privileges_is_applied_both_ways() {
    for nnp in [true, false] {
        let mut b = Bundle::new(if nnp { "nnpon" } else { "nnpoff" });
        b.config["process"]["noNewPrivileges"] = json!(nnp);
        b.run_checker();
    }
}

#[test]
fn oom_score_adj_is_applied() {
    let mut b = Bundle::new("oomscore");
    // Raising only: lowering needs CAP_SYS_RESOURCE, which this host lacks.
    b.config["process"]["oomScoreAdj"] = json!(500);
    b.run_checker();
}

#[test]
fn cgroup_limits_are_visible_inside() {
    let mut b = Bundle::new("cgroups");
    b.config["linux"]["resources"]["memory"] =
        json!({"limit": 64 * 1024 * 1024 + 100, "reservation": 32 * 1024 * 1024});
    b.config["linux"]["resources"]["pids"] = json!({"limit": 123});
    b.config["linux"]["resources"]["cpu"] =
        json!({"shares": 512, "quota": 50000, "period": 100000});
    let out = b.run_checker();
    assert!(
        out.stdout.contains("ok") && !out.stdout.contains("pids.max # SKIP"),
        "the cgroup files were not visible:\n{out}"
    );
}

#[test]
fn rootfs_propagation_is_applied() {
    for propagation in ["private", "rslave", "shared"] {
        if propagation == "shared"
            && skip_if_runc("runc 1.1.5 leaves the root private with rootfsPropagation \"shared\"")
        {
            continue;
        }
        let mut b = Bundle::new(&format!("rootprop{propagation}"));
        b.config["linux"]["rootfsPropagation"] = json!(propagation);
        b.run_checker();
    }
}

#[test]
fn mount_propagation_options_are_applied() {
    let mut b = Bundle::new("mountprop");
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": "/mnt/shared", "type": "tmpfs", "source": "tmpfs", "options": ["rshared"]}));
    mounts.push(json!({"destination": "/mnt/private", "type": "tmpfs", "source": "tmpfs", "options": ["private"]}));
    b.run_checker();
}

/// The checker is only worth something if it notices what a runtime did not
/// do: run a plain container while the checker expects much more.
#[test]
fn checker_reports_what_the_runtime_did_not_apply() {
    let mut b = Bundle::new("checkerneg");
    b.config["root"]["readonly"] = json!(false);
    let mut expected = b.config.clone();
    expected["hostname"] = json!("not-the-hostname");
    expected["process"]["user"] =
        json!({"uid": 1000, "gid": 1000, "additionalGids": [77], "umask": 0o077});
    expected["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100}]);
    expected["process"]["env"] = json!(["NOT_SET=1"]);
    expected["process"]["cwd"] = json!("/tmp");
    expected["process"]["noNewPrivileges"] = json!(!b.config["process"]["noNewPrivileges"]
        .as_bool()
        .unwrap_or(false));
    expected["process"]["oomScoreAdj"] = json!(321);
    expected["process"]["capabilities"]["bounding"] = json!(["CAP_CHOWN"]);
    expected["root"]["readonly"] = json!(true);
    expected["linux"]["readonlyPaths"] = json!(["/etc"]);
    expected["linux"]["maskedPaths"] = json!(["/etc/passwd", "/home"]);
    expected["linux"]["sysctl"] = json!({"kernel.msgmax": "1"});
    expected["linux"]["devices"] =
        json!([{"path": "/dev/it-missing", "type": "c", "major": 1, "minor": 3}]);
    expected["linux"]["resources"]["pids"] = json!({"limit": 77});
    expected["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/mnt/none", "type": "tmpfs", "source": "tmpfs"}));
    expected["mounts"][0]["options"] = json!(["ro", "nosuid"]);
    // The container gets a network namespace; the checker expects the host's.
    expected["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");

    let out = b.run_checker_expecting(&expected);
    assert!(
        !out.success(),
        "the checker passed a container that ignores its config:\n{out}"
    );
    let failures: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("not ok"))
        .collect();
    for what in [
        "hostname",
        "- uid",
        "- gid",
        "additional gid 77",
        "umask",
        "rlimit RLIMIT_NOFILE",
        "env NOT_SET=1",
        "cwd",
        "NoNewPrivs",
        "oom_score_adj",
        "capabilities CapBnd",
        "root mount read-only flag",
        "readonly path /etc",
        "masked path /etc/passwd",
        "masked path /home",
        "sysctl kernel.msgmax",
        "device /dev/it-missing",
        "cgroup pids.max",
        "mount /mnt/none",
        "network namespace is the host's",
    ] {
        assert!(
            failures.iter().any(|l| l.contains(what)),
            "the checker did not report {what:?}:\n{out}"
        );
    }
}

/// Without a mount namespace in the config the container runs in the
/// caller's (unlisted namespaces are inherited; runc does the same): its
/// mounts are made under the rootfs, which it is chrooted into, and go with
/// `delete`.
#[test]
fn no_mount_namespace_runs_in_the_callers_and_delete_unmounts() {
    if crate::common::skip_if_runc(
        "runc 1.1.5 makes the caller's / rslave and leaves its mounts under the rootfs",
    ) {
        return;
    }
    let mut b = Bundle::new("nomntns");
    namespaces(&mut b).retain(|n| n["type"] != "mount");
    b.config["linux"]["maskedPaths"] = json!([]);
    b.config["linux"]["readonlyPaths"] = json!([]);
    b.config["root"]["readonly"] = json!(false);
    let host = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    b.args(&["sleep", "60"]);
    b.create().ok();
    let pid = b.state_json()["pid"].as_i64().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap(),
        host
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        b.rootfs().canonicalize().unwrap()
    );
    let rootfs = b.rootfs().canonicalize().unwrap().display().to_string();
    let mounted = |what: &str| {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&format!(" {rootfs}/{what} "))
    };
    assert!(mounted("proc"), "no proc under the rootfs");
    b.rt_args(&["delete", "--force", b.id()]).ok();
    assert!(!mounted("proc"), "proc left mounted under the rootfs");
    b.assert_no_leftovers();
}

/// What needs a mount namespace of its own is refused without one.
#[test]
fn masked_paths_without_a_mount_namespace_are_refused() {
    if crate::common::skip_if_runc("runc 1.1.5 would set up in the caller's mount namespace") {
        return;
    }
    let mut b = Bundle::new("nomntnsmask");
    namespaces(&mut b).retain(|n| n["type"] != "mount");
    let out = b.create().failed();
    assert!(
        out.stderr
            .contains("unable to restrict sys entries without a private MNT namespace"),
        "{out}"
    );
    b.assert_no_leftovers();
}
