//! Regression tests for published container-runtime CVEs: each one attacks
//! the runtime under test the way the published exploit attacked runc and
//! asserts that the attack fails. See SECURITY.md for the list.
//!
//! Nothing here touches a file of the host that matters: attacks on the
//! runtime binary use a private copy of it, redirections aim at files under
//! the test's own directory.

use crate::common::console::ConsoleSocket;
use crate::common::runtime::runtime_bin;
use crate::common::{mentions_any, skip_if_runc, Bundle};
use serde_json::json;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A private copy of the runtime binary, so that a successful attack
/// overwrites nothing that other tests use.
fn runtime_copy(dir: &Path) -> (PathBuf, Vec<u8>) {
    let copy = dir.join("runtime-copy");
    std::fs::copy(runtime_bin(), &copy).expect("copying the runtime binary");
    let bytes = std::fs::read(&copy).unwrap();
    (copy, bytes)
}

fn write_exec(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn wait_for_file(path: &Path, timeout: Duration) -> String {
    let t0 = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if s.ends_with('\n') {
                return s;
            }
        }
        assert!(
            t0.elapsed() < timeout,
            "{} was not written in time",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn host_mountpoints_under(dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&dir))
        .collect()
}

/// CVE-2019-5736 and CVE-2016-9962, the init side: while the container's
/// init waits for `start` it is still the runtime (the host binary, holding
/// host fds). A process in the container's pid namespace with the same uid
/// and capabilities must not be able to open /proc/<init>/exe (nor ptrace
/// it): that needs the init to be non-dumpable. Were it open, the attacker
/// would keep the fd and write the host binary once the init has exec'd.
#[test]
fn cve_2019_5736_init_exe_cannot_be_opened_from_the_container() {
    let base = Bundle::new("cve5736init");
    let (copy, before) = runtime_copy(base.dir());
    let mut a = Bundle::with_runtime("cve5736init", &copy);
    a.args(&["sleep", "30"]);
    a.create().ok();
    let pid = a.state_json()["pid"].as_i64().unwrap();

    // The attacker: a second container in the first one's pid namespace.
    let mut b = Bundle::new("cve5736attacker");
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    for n in ns.iter_mut() {
        if n["type"] == "pid" {
            n["path"] = json!(format!("/proc/{pid}/ns/pid"));
        }
    }
    b.config["root"]["readonly"] = json!(false);
    b.sh(
        "if command exec 3</proc/1/exe 2>/dev/null; then echo OPENED >/out; else echo DENIED >/out; fi; \
         while [ ! -e /go ]; do sleep 0.1; done; \
         if [ -e /proc/self/fd/3 ] && (echo PWNED >/proc/self/fd/3) 2>/dev/null; \
         then echo WROTE >>/out; else echo NOWRITE >>/out; fi; echo done >>/out",
    );
    b.create().ok();
    b.start().ok();
    let out = b.rootfs().join("out");
    wait_for_file(&out, WAIT);
    a.start().ok();
    // Let the init exec sleep: the binary is then no longer busy.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(b.rootfs().join("go"), "").unwrap();
    b.wait_for_status("stopped", WAIT);
    let log = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "the runtime binary was overwritten from the container: {log}"
    );
    assert!(
        log.starts_with("DENIED"),
        "the init's exe was opened: {log}"
    );
    b.delete().ok();
    a.kill("KILL").ok();
    a.wait_for_status("stopped", WAIT);
    a.delete().ok();
    b.assert_no_leftovers();
    a.assert_no_leftovers();
}

/// CVE-2019-5736, the exploit as published: the container plants an
/// executable `#!/proc/self/exe`; `exec` of it makes the kernel run the
/// binary behind the exec'ing process's /proc/self/exe inside the container,
/// where a process of the container grabs it through /proc/<pid>/exe and
/// writes it once it is no longer busy. runr refuses to exec a script whose
/// interpreter is the runtime itself, so the runtime never runs in the
/// container; the attacker loop asserts that nothing could be written.
#[test]
fn cve_2019_5736_exec_of_a_script_interpreted_by_proc_self_exe_cannot_overwrite_the_runtime() {
    let base = Bundle::new("cve5736exec");
    let (copy, before) = runtime_copy(base.dir());
    let mut a = Bundle::with_runtime("cve5736exec", &copy);
    write_exec(&a.rootfs().join("evil"), "#!/proc/self/exe\n");
    write_exec(&a.rootfs().join("evil2"), "#!/evil\n");
    a.config["root"]["readonly"] = json!(false);
    // Grab every process whose exe is not busybox (the only binary in the
    // rootfs) and try to write it until it is no longer busy.
    a.sh("while [ ! -e /stop ]; do for d in /proc/[0-9]*; do \
           [ \"$d\" = /proc/$$ ] && continue; \
           command exec 3<\"$d/exe\" 2>/dev/null || continue; \
           if [ /proc/$$/fd/3 -ef /bin/busybox ]; then exec 3<&-; continue; fi; \
           echo \"grabbed $d\" >>/log; n=0; \
           while [ $n -lt 300 ]; do \
             if (echo PWNED >/proc/$$/fd/3) 2>/dev/null; then echo WROTE >>/log; break; fi; \
             n=$((n+1)); done; \
           exec 3<&-; done; done; echo stopped >>/log");
    a.create().ok();
    a.start().ok();
    let mut outputs = Vec::new();
    for i in 0..15 {
        let evil = if i % 2 == 0 { "/evil" } else { "/evil2" };
        let o = a.rt_args(&["exec", a.id(), evil]);
        outputs.push(o.to_string());
    }
    std::fs::write(a.rootfs().join("stop"), "").unwrap();
    a.wait_for_status("stopped", WAIT);
    let log = std::fs::read_to_string(a.rootfs().join("log")).unwrap_or_default();
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "the runtime binary was overwritten from the container:\n{log}"
    );
    assert!(!log.contains("WROTE"), "{log}");
    // The attacker was alive until told to stop.
    assert!(
        log.contains("stopped"),
        "the attacker loop died early:\n{log}"
    );
    if !skip_if_runc("runc 1.1.5 runs a sealed memfd copy of itself instead of refusing") {
        // The runtime never ran inside the container: every exec was refused.
        for o in &outputs {
            assert!(
                !o.contains("exit code Some(0)") && mentions_any(o, &["interpreter", "refus"]),
                "exec of a #!/proc/self/exe script was not refused:\n{o}"
            );
        }
    }
    a.delete().ok();
    a.assert_no_leftovers();
}

/// CVE-2016-9962: the init, holding host fds (exec.fifo, the sync socket)
/// while it waits for `start`, must not be ptrace-able nor its exe and fds
/// openable by a process that has the same uid and capabilities but not
/// CAP_SYS_PTRACE (what a container's root is).
#[test]
fn cve_2016_9962_waiting_init_is_not_dumpable() {
    let mut b = Bundle::new("cve9962");
    b.args(&["sleep", "30"]);
    b.create().ok();
    let pid = b.state_json()["pid"].as_i64().unwrap();
    for target in ["exe", "fd/0"] {
        let out = std::process::Command::new("setpriv")
            .args(["--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace", "--"])
            .args(["cat", &format!("/proc/{pid}/{target}")])
            .stdout(std::process::Stdio::null())
            .output()
            .expect("running setpriv");
        assert!(
            !out.status.success(),
            "/proc/{pid}/{target} of the waiting init was readable without CAP_SYS_PTRACE"
        );
    }
    b.kill("KILL").ok();
    b.wait_for_status("stopped", WAIT);
    b.delete().ok();
    b.assert_no_leftovers();
}

/// CVE-2024-21626: the container process sees no fd beyond stdio, neither
/// as the container's process nor through `exec`.
#[test]
fn cve_2024_21626_no_host_fd_reaches_the_container() {
    let mut b = Bundle::new("cve21626fds");
    // `; true` keeps sh from exec'ing ls, so ls lists the shell's fds.
    b.sh("ls /proc/$$/fd; true");
    let out = b.run(&[]).ok();
    let fds: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2"], "{out}");

    b.args(&["sleep", "30"]);
    b.create().ok();
    b.start().ok();
    let out = b
        .rt_args(&["exec", b.id(), "sh", "-c", "ls /proc/$$/fd; true"])
        .ok();
    let fds: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2"], "{out}");
    b.kill("KILL").ok();
    b.wait_for_status("stopped", WAIT);
    b.delete().ok();
    b.assert_no_leftovers();
}

/// What the container saw of its cwd: a host directory shows up as
/// "(unreachable)" in getcwd or leads to the marker file outside the rootfs.
const CWD_PROBE: &str = "pwd; ls -a . .. ../.. ../../.. 2>/dev/null; true";

fn assert_cwd_inside(out: &crate::common::Output) {
    if !out.success() {
        return; // refused: fine
    }
    assert!(
        !out.stdout.contains("unreachable") && !out.stdout.contains("HOSTMARK"),
        "the cwd is outside the container:\n{out}"
    );
}

/// CVE-2024-21626: `process.cwd` = /proc/self/fd/N, N a directory fd the
/// runtime still holds when it chdirs, would leave the process in a host
/// directory. Each N must be refused or land inside the container.
#[test]
fn cve_2024_21626_cwd_through_a_leaked_fd_stays_inside() {
    let base = Bundle::new("cve21626cwd");
    std::fs::write(base.dir().join("HOSTMARK"), "").unwrap();
    std::fs::write(base.bundle_dir().join("HOSTMARK"), "").unwrap();
    for n in 3..=10 {
        let mut b = Bundle::new("cve21626cwd");
        std::fs::write(b.dir().join("HOSTMARK"), "").unwrap();
        std::fs::write(b.bundle_dir().join("HOSTMARK"), "").unwrap();
        b.config["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        b.sh(CWD_PROBE);
        let out = b.run(&[]);
        assert_cwd_inside(&out);
        b.assert_no_leftovers();
    }
    // The same through `exec --cwd`.
    let mut b = Bundle::new("cve21626execcwd");
    std::fs::write(b.dir().join("HOSTMARK"), "").unwrap();
    std::fs::write(b.bundle_dir().join("HOSTMARK"), "").unwrap();
    b.args(&["sleep", "30"]);
    b.create().ok();
    b.start().ok();
    for n in 3..=10 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = b.rt_args(&["exec", "--cwd", &cwd, b.id(), "sh", "-c", CWD_PROBE]);
        assert_cwd_inside(&out);
    }
    b.kill("KILL").ok();
    b.wait_for_status("stopped", WAIT);
    b.delete().ok();
    b.assert_no_leftovers();
}

/// CVE-2019-16884: a rootfs whose /proc is a symlink (here to a host
/// directory by its absolute path) must not get procfs mounted through it:
/// the mount is refused or lands inside the rootfs, never on the host.
#[test]
fn cve_2019_16884_proc_symlink_in_rootfs_does_not_mount_on_the_host() {
    let mut b = Bundle::new("cve16884");
    let host = b.dir().join("hostproc");
    std::fs::create_dir(&host).unwrap();
    let proc_dir = b.rootfs().join("proc");
    std::fs::remove_dir(&proc_dir).unwrap();
    symlink(&host, &proc_dir).unwrap();
    b.sh("true");
    let out = b.run(&[]);
    assert!(
        host_mountpoints_under(b.dir()).is_empty(),
        "mounted on the host: {:?}\n{out}",
        host_mountpoints_under(b.dir())
    );
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0, "{out}");
    b.assert_no_leftovers();
}

/// A bind mount whose destination reaches the container's /proc through
/// symlinks in the rootfs (`link` -> /proc, destination `dest`) must be
/// refused: bound over procfs, a fake directory would receive the writes the
/// runtime makes to /proc (LSM labels, sysctls, oom_score_adj).
fn bind_through_proc_symlink_is_refused(name: &str, link: &str, dest: &str) {
    let mut b = Bundle::new(name);
    let fake = b.dir().join("fakeproc");
    std::fs::create_dir_all(fake.join("sys")).unwrap();
    std::fs::write(fake.join("FAKE"), "").unwrap();
    symlink("/proc", b.rootfs().join(link)).unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": dest, "type": "bind",
        "source": fake.display().to_string(), "options": ["bind"]}));
    b.sh(
        "[ -e /proc/FAKE ] || [ -e /proc/sys/FAKE ] && echo COVERED; \
          [ -e /proc/self/status ] || echo NOPROC; true",
    );
    let out = b.run(&[]);
    if out.success() {
        assert!(
            !out.stdout.contains("COVERED") && !out.stdout.contains("NOPROC"),
            "the bind mount covered the container's /proc:\n{out}"
        );
    }
    assert!(host_mountpoints_under(b.dir()).is_empty(), "{out}");
    b.assert_no_leftovers();
}

/// CVE-2019-19921: a bind mount destination that is a symlink to /proc.
#[test]
fn cve_2019_19921_bind_destination_symlinked_to_proc_does_not_cover_proc() {
    bind_through_proc_symlink_is_refused("cve19921", "evil", "/evil");
}

/// CVE-2023-27561 (the 19921 fix regressed): the symlink is a parent of the
/// destination, so the mount would cover /proc/sys.
#[test]
fn cve_2023_27561_bind_under_a_symlink_to_proc_does_not_cover_proc_sys() {
    bind_through_proc_symlink_is_refused("cve27561", "evildir", "/evildir/sys");
}

/// CVE-2025-31133: /dev/null replaced by a symlink (here to a file of the
/// host) so that masking binds that file over the masked paths. The masked
/// path must be the real null device, or the container refused.
#[test]
fn cve_2025_31133_masking_never_binds_what_dev_null_points_to() {
    let mut b = Bundle::new("cve31133");
    let host = b.dir().join("hostfile");
    std::fs::write(&host, "HOSTDATA\n").unwrap();
    // No tmpfs on /dev: the rootfs's own /dev is used, with the planted link.
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
    let null = b.rootfs().join("dev/null");
    let _ = std::fs::remove_file(&null);
    symlink(&host, &null).unwrap();
    b.config["linux"]["maskedPaths"] = json!(["/proc/kcore", "/etc/hostname"]);
    b.write_rootfs_file("/etc/hostname", "container\n");
    b.sh("cat /etc/hostname; stat -c '%t:%T' /etc/hostname; true");
    let out = b.run(&[]);
    if out.success() {
        assert!(!out.stdout.contains("HOSTDATA"), "{out}");
        assert!(
            out.stdout.contains("1:3"),
            "not masked by /dev/null:\n{out}"
        );
    }
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "HOSTDATA\n");
    assert!(host_mountpoints_under(b.dir()).is_empty(), "{out}");
    b.assert_no_leftovers();
}

/// CVE-2025-52565: /dev/console in the rootfs a symlink (to a host file by
/// its absolute path): the console bind mount must land inside the rootfs
/// or be refused, never cover the host file.
#[test]
fn cve_2025_52565_console_bind_does_not_follow_a_symlink_out() {
    let mut b = Bundle::new("cve52565");
    let host = b.dir().join("hostconsole");
    std::fs::write(&host, "HOST\n").unwrap();
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
    let console = b.rootfs().join("dev/console");
    let _ = std::fs::remove_file(&console);
    symlink(&host, &console).unwrap();
    b.config["process"]["terminal"] = json!(true);
    b.args(&["sleep", "30"]);
    let sock_path = b.dir().join("console.sock");
    let sock = ConsoleSocket::listen(&sock_path);
    b.write_config();
    b.track(b.id());
    let out = b
        .rt()
        .args(&[
            "create",
            "--bundle",
            &b.bundle_dir().display().to_string(),
            "--console-socket",
            &sock_path.display().to_string(),
            b.id(),
        ])
        .run();
    if out.success() {
        let _master = sock.master(WAIT);
    }
    assert!(
        host_mountpoints_under(&host).is_empty(),
        "the console was bound over the host file:\n{out}"
    );
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "HOST\n");
    b.kill("KILL");
    b.delete();
    b.rt_args(&["delete", "--force", b.id()]);
    b.assert_no_leftovers();
}

/// CVE-2025-52881: the runtime's writes to procfs (sysctls, oom_score_adj)
/// redirected to another file by mounts over /proc. Here /proc/sys/net/ipv4
/// is a tmpfs (allowed by the config): a sysctl write must go to procfs or
/// fail, never create a file elsewhere.
#[test]
fn cve_2025_52881_sysctl_write_is_only_made_to_procfs() {
    let mut b = Bundle::new("cve52881sysctl");
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/proc/sys/net/ipv4", "type": "tmpfs", "source": "tmpfs"}));
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    b.sh("cat /proc/sys/net/ipv4/ip_forward 2>&1; true");
    let out = b.run(&[]);
    assert!(
        !out.success(),
        "a sysctl was written to a file that is not on procfs:\n{out}"
    );
    b.assert_no_leftovers();
}

/// CVE-2025-52881, oom_score_adj: with a tmpfs over /proc/1 (the init's
/// /proc/self inside the container), the write must still reach the kernel
/// (it is made from the host side) or fail.
#[test]
fn cve_2025_52881_oom_score_adj_is_not_redirected() {
    let mut b = Bundle::new("cve52881oom");
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/proc/1", "type": "tmpfs", "source": "tmpfs"}));
    b.config["process"]["oomScoreAdj"] = json!(423);
    b.args(&["sleep", "30"]);
    let out = b.create();
    if out.success() {
        let pid = b.state_json()["pid"].as_i64().unwrap();
        let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
        assert_eq!(adj.trim(), "423", "oom_score_adj was written elsewhere");
        b.kill("KILL").ok();
        b.wait_for_status("stopped", WAIT);
        b.delete().ok();
    }
    b.assert_no_leftovers();
}

/// CVE-2019-5736, the second line of defence: whatever runr process a
/// container could ever reach (an `exec` joining it, or runr itself run
/// inside it through a `#!/proc/self/exe` script swapped in after the
/// interpreter check) runs from a read-only mount or a sealed copy, so a
/// handle on its /proc/<pid>/exe kept past its exit cannot be reopened for
/// writing.
#[test]
fn cve_2019_5736_a_kept_handle_on_the_runtime_exe_cannot_be_written() {
    if skip_if_runc("runc 1.1.5 is covered by its own sealed memfd copy") {
        return;
    }
    let base = Bundle::new("cve5736keep");
    let (copy, before) = runtime_copy(base.dir());
    let mut a = Bundle::with_runtime("cve5736keep", &copy);
    a.args(&["sleep", "30"]);
    a.create().ok();
    a.start().ok();
    let mut exec = std::process::Command::new(&copy)
        .arg("--root")
        .arg(a.root())
        .args(["exec", a.id(), "sleep", "1"])
        .spawn()
        .expect("spawning runr exec");
    std::thread::sleep(Duration::from_millis(300));
    let exe = format!("/proc/{}/exe", exec.id());
    let kept = std::fs::File::open(&exe).expect("opening the exec's exe from the host");
    exec.wait().unwrap();
    use std::os::fd::AsRawFd;
    let reopen = format!("/proc/self/fd/{}", kept.as_raw_fd());
    let w = std::fs::OpenOptions::new().write(true).open(&reopen);
    assert!(
        w.is_err(),
        "the runtime's exe could be reopened for writing"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    a.kill("KILL").ok();
    a.wait_for_status("stopped", WAIT);
    a.delete().ok();
    a.assert_no_leftovers();
}
