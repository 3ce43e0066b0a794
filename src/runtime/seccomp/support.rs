//! What seccomp features this build and kernel really provide, for `features`.

use oci_spec::runtime::LinuxSeccompOperator as Op;
use oci_spec::runtime::{LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag};
use serde::Serialize;

use super::arch::Abi;
use super::filter::action_ret;

/// The `linux.seccomp` part of `runr features`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Support {
    pub enabled: bool,
    pub actions: Vec<String>,
    pub operators: Vec<String>,
    pub archs: Vec<String>,
    pub known_flags: Vec<String>,
    pub supported_flags: Vec<String>,
}

const ACTIONS: [Action; 9] = [
    Action::ScmpActAllow,
    Action::ScmpActErrno,
    Action::ScmpActKill,
    Action::ScmpActKillProcess,
    Action::ScmpActKillThread,
    Action::ScmpActLog,
    Action::ScmpActNotify,
    Action::ScmpActTrace,
    Action::ScmpActTrap,
];

const OPERATORS: [Op; 7] = [
    Op::ScmpCmpEq,
    Op::ScmpCmpGe,
    Op::ScmpCmpGt,
    Op::ScmpCmpLe,
    Op::ScmpCmpLt,
    Op::ScmpCmpMaskedEq,
    Op::ScmpCmpNe,
];

const FLAGS: [Flag; 4] = [
    Flag::SeccompFilterFlagLog,
    Flag::SeccompFilterFlagSpecAllow,
    Flag::SeccompFilterFlagTsync,
    Flag::SeccompFilterFlagWaitKillableRecv,
];

/// Probes the kernel: actions with SECCOMP_GET_ACTION_AVAIL, flags by how
/// seccomp(2) rejects them.
pub fn support() -> Support {
    let names = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>();
    Support {
        enabled: action_available(libc::SECCOMP_RET_ALLOW),
        actions: names(
            &mut ACTIONS
                .iter()
                .filter(|a| action_available(action_ret(**a, None) & libc::SECCOMP_RET_ACTION_FULL))
                .map(ToString::to_string),
        ),
        operators: names(&mut OPERATORS.iter().map(ToString::to_string)),
        archs: names(&mut Abi::ALL.iter().map(|a| a.name().to_string())),
        known_flags: names(&mut FLAGS.iter().map(ToString::to_string)),
        supported_flags: names(
            &mut FLAGS
                .iter()
                .filter(|f| flag_supported(super::filter_flag(**f)))
                .map(ToString::to_string),
        ),
    }
}

fn action_available(action: u32) -> bool {
    // SAFETY: SECCOMP_GET_ACTION_AVAIL only reads the u32 we point to.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    ret == 0
}

fn flag_supported(mut flag: libc::c_ulong) -> bool {
    // The kernel accepts WAIT_KILLABLE_RECV only together with a listener.
    if flag == libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
        flag |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    }
    // SAFETY: a NULL program makes the kernel fail with EFAULT after it has
    // accepted the flags (EINVAL if not); nothing is installed either way.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flag,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && nix::errno::Errno::last() == nix::errno::Errno::EFAULT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_reports_what_this_kernel_offers() {
        let s = support();
        assert!(s.enabled);
        assert!(s.actions.contains(&"SCMP_ACT_ERRNO".to_string()));
        assert_eq!(s.operators.len(), 7);
        assert_eq!(
            s.archs,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        );
        assert!(s
            .supported_flags
            .contains(&"SECCOMP_FILTER_FLAG_TSYNC".to_string()));
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("knownFlags").is_some() && json.get("supportedFlags").is_some());
    }
}
