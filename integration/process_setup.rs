//! How the container's process is set up, checked from inside: its cwd, its
//! terminal, and `exec --process` files, in runc's terms.

use crate::common::console::run_on_console;
use crate::common::Bundle;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The cwd is entered while the init is still root: a 0700 directory of
/// root's is the cwd of a process running as uid 42.
#[test]
fn cwd_only_root_may_enter_is_entered_before_the_user_switch() {
    let mut b = Bundle::new("cwdroot");
    let dir = b.rootfs().join("private");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    b.config["process"]["cwd"] = json!("/private");
    b.config["process"]["user"] = json!({"uid": 42, "gid": 42});
    b.sh("echo $(id -u) $(pwd)");
    let out = b.run(&[]);
    assert_eq!(out.stdout, "42 /private\n", "{out}");
}

/// A cwd root may not enter but the user may is entered again after the
/// user switch: in a user namespace, root's CAP_DAC_OVERRIDE does not reach
/// a 0700 directory whose group is unmapped; its owner, uid 42, may enter.
#[test]
fn cwd_only_the_user_may_enter_is_entered_after_the_user_switch() {
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 1},
                     {"containerID": 42, "hostID": 42, "size": 1}]);
    let mut b = crate::userns::userns_bundle("cwduser", map.clone(), map);
    // Group 5 (devpts' gid=5) is not mapped here.
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if let Some(o) = m["options"].as_array_mut() {
            o.retain(|o| o != "gid=5");
        }
    }
    let dir = b.rootfs().join("mine");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(42), Some(4242)).unwrap();
    b.config["process"]["cwd"] = json!("/mine");
    b.config["process"]["user"] = json!({"uid": 42, "gid": 42});
    b.sh("echo $(id -u) $(pwd)");
    let out = b.run(&[]);
    assert_eq!(out.stdout, "42 /mine\n", "{out}");
}

/// The pty keeps devpts' group (tty, 5), as runc leaves it; its owner is
/// the process's user.
#[test]
fn pty_keeps_the_tty_group_and_belongs_to_the_user() {
    let mut b = Bundle::new("ptygroup");
    b.config["process"]["terminal"] = json!(true);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.sh("echo owner=$(stat -c %u:%g $(tty))");
    let text = run_on_console(&b, WAIT);
    assert!(text.contains("owner=1000:5"), "got {text:?} from the pty");
    b.wait_for_status("stopped", WAIT);
}

/// `exec --process FILE` without `user` runs as uid 0, gid 0, as runc reads it.
#[test]
fn exec_process_file_without_user_runs_as_root() {
    let mut b = Bundle::new("execnouser");
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.args(&["sleep", "60"]);
    b.create().ok();
    let file = b.dir().join("process.json");
    std::fs::write(
        &file,
        json!({"args": ["sh", "-c", "echo $(id -u):$(id -g)"], "cwd": "/",
               "env": ["PATH=/bin"]})
        .to_string(),
    )
    .unwrap();
    let out = b
        .rt_args(&["exec", "--process", &file.display().to_string(), b.id()])
        .ok();
    assert_eq!(out.stdout, "0:0\n", "{out}");
}
