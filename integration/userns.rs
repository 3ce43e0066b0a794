//! User namespaces: multi-range uid/gid maps as the container sees them,
//! bad maps refused by `create` with nothing left behind.

use crate::common::{assert_mentions, skip_if_runc, Bundle};
use serde_json::{json, Value};
use std::os::unix::fs::{chown, symlink, PermissionsExt};

/// Three ranges each: most ids shifted to 100000+, uid/gid 1000 kept as is.
fn three_ranges() -> Value {
    json!([
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 1000, "hostID": 1000, "size": 1},
        {"containerID": 1001, "hostID": 101001, "size": 1000}
    ])
}

/// A bundle with a new user namespace and `uid`/`gid` maps.
pub fn userns_bundle(name: &str, uid: Value, gid: Value) -> Bundle {
    let mut b = Bundle::new(name);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = uid;
    b.config["linux"]["gidMappings"] = gid;
    b
}

#[test]
fn multi_range_maps_are_what_the_container_sees() {
    let mut b = userns_bundle("usernsmulti", three_ranges(), three_ranges());
    let own = b.rootfs().join("own");
    std::fs::create_dir_all(&own).unwrap();
    // host owner -> owner inside, one file per range and one unmapped.
    let files = [
        ("first", (100005, 100007), "5:7"),
        ("identity", (1000, 1000), "1000:1000"),
        ("third", (101004, 101009), "1004:1009"),
        ("unmapped", (0, 0), "65534:65534"),
    ];
    for (name, (u, g), want) in files {
        let p = own.join(name);
        std::fs::write(&p, name).unwrap();
        chown(&p, Some(u), Some(g)).unwrap();
        b.config["annotations"][format!("runr.checker.owner./own/{name}")] = json!(want);
    }
    // A symlink is judged by its own owner, not its target's.
    let link = own.join("link");
    symlink("first", &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(100001), Some(100002)).unwrap();
    b.config["annotations"]["runr.checker.owner./own/link"] = json!("1:2");
    let out = b.run_checker();
    for what in [
        "/proc/self/uid_map is",
        "/proc/self/gid_map is",
        "owner of /own/third",
    ] {
        assert!(out.stdout.contains(what), "no check of {what}:\n{out}");
    }
}

#[test]
fn files_created_inside_get_the_mapped_host_owner() {
    let mut b = userns_bundle("usernscreate", three_ranges(), three_ranges());
    let dir = b.rootfs().join("made");
    std::fs::create_dir_all(&dir).unwrap();
    chown(&dir, Some(100000), Some(100000)).unwrap();
    b.config["root"]["readonly"] = json!(false);
    let caps = json!(["CAP_CHOWN", "CAP_KILL"]);
    b.config["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
    b.sh("touch /made/root && chown 1000:1000 /made/root && touch /made/two && chown 1002:3 /made/two");
    b.run(&[]).ok();
    use std::os::unix::fs::MetadataExt;
    let owner = |n: &str| {
        let m = std::fs::metadata(dir.join(n)).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(owner("root"), (1000, 1000));
    assert_eq!(owner("two"), (101002, 100003));
}

/// `create` fails naming `words`, and leaves nothing behind.
#[track_caller]
fn refused(b: &Bundle, words: &[&str]) {
    if skip_if_runc(
        "runc 1.1.5 fails at the kernel's map write (EINVAL) without naming the problem",
    ) {
        return;
    }
    let out = b.create().failed();
    assert_mentions(&out, words);
    b.assert_no_leftovers();
    b.state().failed();
}

#[test]
fn overlapping_uid_ranges_are_refused() {
    let uid = json!([
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 500, "hostID": 200000, "size": 10}
    ]);
    let b = userns_bundle("usernsoverlap", uid, three_ranges());
    refused(&b, &["overlap"]);
}

#[test]
fn overlapping_host_gid_ranges_are_refused() {
    let gid = json!([
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 5000, "hostID": 100999, "size": 10}
    ]);
    let b = userns_bundle("usernsoverlaphost", three_ranges(), gid);
    refused(&b, &["overlap"]);
}

#[test]
fn zero_size_range_is_refused() {
    let uid = json!([
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 2000, "hostID": 300000, "size": 0}
    ]);
    let b = userns_bundle("usernszero", uid, three_ranges());
    refused(&b, &["size is 0", "size 0", "zero"]);
}

#[test]
fn more_ranges_than_the_kernel_allows_are_refused() {
    let many: Vec<Value> = (0..341)
        .map(|i| json!({"containerID": i, "hostID": 100000 + i, "size": 1}))
        .collect();
    let b = userns_bundle("usernsmany", json!(many), three_ranges());
    refused(&b, &["340", "too many"]);
}

/// The inode of the user namespace that owns the namespace file `path`
/// (ioctl NS_GET_USERNS).
fn owning_userns(path: &str) -> u64 {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("opening {path}: {e}"));
    // SAFETY: the ioctl takes no argument and returns a new fd or -1.
    let fd = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_USERNS) };
    assert!(
        fd >= 0,
        "NS_GET_USERNS on {path}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let owner = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    owner.metadata().unwrap().ino()
}

fn ns_inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .ino()
}

/// A container joining another one's user namespace by path: its new mount,
/// uts, ipc, network and pid namespaces belong to that user namespace (as
/// runc makes them), and its processes see that namespace's maps.
#[test]
fn new_namespaces_belong_to_a_user_namespace_joined_by_path() {
    let mut first = userns_bundle("usernsfirst", three_ranges(), three_ranges());
    first.args(&["sleep", "60"]);
    first.create().ok();
    first.start().ok();
    let first_pid = first.state_json()["pid"].as_i64().unwrap();
    let userns_path = format!("/proc/{first_pid}/ns/user");
    let userns = ns_inode(&userns_path);

    let mut b = Bundle::new("usernsjoin");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user", "path": userns_path}));
    // runc wants the maps even for a joined namespace; they must then match it.
    b.config["linux"]["uidMappings"] = three_ranges();
    b.config["linux"]["gidMappings"] = three_ranges();
    b.args(&["sleep", "60"]);
    b.create().ok();
    b.start().ok();
    let pid = b.state_json()["pid"].as_i64().unwrap();
    assert_eq!(ns_inode(&format!("/proc/{pid}/ns/user")), userns);
    for ns in ["mnt", "uts", "ipc", "net", "pid"] {
        let path = format!("/proc/{pid}/ns/{ns}");
        assert_ne!(
            ns_inode(&path),
            ns_inode(&format!("/proc/{first_pid}/ns/{ns}")),
            "{ns} namespace is not new"
        );
        assert_eq!(
            owning_userns(&path),
            userns,
            "the container's new {ns} namespace is not owned by the joined user namespace"
        );
    }
    // Inside: root of the joined namespace, with its maps; exec gets there too.
    let out = b
        .rt_args(&["exec", b.id(), "sh", "-c", "id -u; cat /proc/self/uid_map"])
        .ok();
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.first(), Some(&vec!["0"]), "{out}");
    assert_eq!(
        lines[1..].to_vec(),
        vec![
            vec!["0", "100000", "1000"],
            vec!["1000", "1000", "1"],
            vec!["1001", "101001", "1000"]
        ],
        "{out}"
    );
    b.kill("KILL").ok();
    first.kill("KILL").ok();
}

/// A host directory owned by `owner`, with a file `f` owned the same.
fn host_dir_owned(b: &Bundle, name: &str, owner: u32) -> std::path::PathBuf {
    let d = b.dir().join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("f"), name).unwrap();
    for p in [d.clone(), d.join("f")] {
        chown(&p, Some(owner), Some(owner)).unwrap();
    }
    d
}

fn one(c: u32, h: u32) -> Value {
    json!([{"containerID": c, "hostID": h, "size": 1}])
}

/// Idmapped bind mounts: a host dir of uid 1000 shows as root's inside and
/// root's dir as 1000's; what root creates inside lands as 1000 on the host.
#[test]
fn idmapped_mounts_shift_owners_both_ways() {
    if skip_if_runc("runc 1.1.5 has no idmapped mounts") {
        return;
    }
    let mut b = Bundle::new("idmapmount");
    let of_1000 = host_dir_owned(&b, "of1000", 1000);
    let of_root = host_dir_owned(&b, "ofroot", 0);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": "/mnt/of1000", "type": "bind", "source": of_1000,
        "options": ["bind", "idmap"], "uidMappings": one(1000, 0), "gidMappings": one(1000, 0)}),
    );
    mounts.push(
        json!({"destination": "/mnt/ofroot", "type": "bind", "source": of_root,
        "options": ["rbind", "ro"], "uidMappings": one(0, 1000), "gidMappings": one(0, 1000)}),
    );
    for (path, want) in [
        ("/mnt/of1000", "0:0"),
        ("/mnt/of1000/f", "0:0"),
        ("/mnt/ofroot", "1000:1000"),
        ("/mnt/ofroot/f", "1000:1000"),
    ] {
        b.config["annotations"][format!("runr.checker.owner.{path}")] = json!(want);
    }
    b.run_checker();
    b.sh("touch /mnt/of1000/made && mkdir /mnt/of1000/dir");
    b.run(&[]).ok();
    use std::os::unix::fs::MetadataExt;
    for made in ["made", "dir"] {
        let m = std::fs::metadata(of_1000.join(made)).unwrap();
        assert_eq!(
            (m.uid(), m.gid()),
            (1000, 1000),
            "owner of {made} on the host"
        );
    }
}

/// `idmap` without maps of its own takes the container's user namespace maps.
#[test]
fn idmap_option_uses_the_container_maps() {
    if skip_if_runc("runc 1.1.5 has no idmapped mounts") {
        return;
    }
    let mut b = userns_bundle("idmapopt", three_ranges(), three_ranges());
    let d = host_dir_owned(&b, "shared", 5);
    // Root of the container cannot create it in a rootfs owned by the host's root.
    std::fs::create_dir_all(b.rootfs().join("mnt/shared")).unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/mnt/shared", "type": "bind", "source": d, "options": ["bind", "idmap"]}),
    );
    // Disk uid 5 -> 100005 by the idmap -> 5 again in the container's namespace.
    b.config["annotations"]["runr.checker.owner./mnt/shared/f"] = json!("5:5");
    b.run_checker();
}

#[test]
fn idmap_on_a_non_bind_mount_is_refused() {
    if skip_if_runc("runc 1.1.5 has no idmapped mounts") {
        return;
    }
    let mut b = Bundle::new("idmaptmpfs");
    b.config["mounts"].as_array_mut().unwrap().push(json!({"destination": "/mnt/t",
        "type": "tmpfs", "source": "tmpfs", "uidMappings": one(0, 1000), "gidMappings": one(0, 1000)}));
    let out = b.create().failed();
    assert_mentions(&out, &["only supported for bind mounts"]);
    b.assert_no_leftovers();
}

#[test]
fn features_claim_idmap_only_when_the_kernel_has_it() {
    if skip_if_runc("runc 1.1.5 has no features command") {
        return;
    }
    let b = Bundle::new("idmapfeatures");
    let f = b.rt_args(&["features"]).ok().json();
    // The probe: mount_setattr exists (Linux 5.12+) iff it does not fail with ENOSYS.
    // SAFETY: fd -1 only makes the call fail.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            0x1000,
            std::ptr::null::<u8>(),
            0usize,
        )
    };
    let has = r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS);
    assert_eq!(
        f["linux"]["mountExtensions"]["idmap"]["enabled"],
        json!(has),
        "{f}"
    );
    let opts = f["mountOptions"].as_array().unwrap();
    assert!(opts.contains(&json!("idmap")) && opts.contains(&json!("ridmap")));
}

/// A bind source below a directory only the host's root may traverse is
/// opened by the runtime before the user namespace exists (as runc does),
/// so the container's root, an unprivileged uid on the host, still gets it.
#[test]
fn bind_source_only_host_root_may_reach_is_mounted() {
    let mut b = userns_bundle("usernsbindsrc", three_ranges(), three_ranges());
    let secret = b.dir().join("secret");
    let data = secret.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("file"), "behind-0700\n").unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("file"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    // The rootfs is the host root's: the container's root may not make /data.
    std::fs::create_dir_all(b.rootfs().join("data")).unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/data", "type": "bind", "source": data.display().to_string(),
        "options": ["rbind", "ro"]}));
    b.args(&["cat", "/data/file"]);
    let out = b.run(&[]);
    assert_eq!(out.stdout, "behind-0700\n", "{out}");
}
