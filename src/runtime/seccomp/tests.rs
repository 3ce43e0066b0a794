//! Translation tests run the generated BPF in a small interpreter; kernel
//! tests load real filters in forked children and report through exit codes.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompOperator as Op};
use serde_json::{json, Value};

use super::arch::{Abi, X32_SYSCALL_BIT};
use super::*;

const EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_THREAD: u32 = libc::SECCOMP_RET_KILL_THREAD;

fn errno_ret(errno: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | errno as u32
}

fn profile(v: Value) -> LinuxSeccomp {
    parse_profile(&v).unwrap_or_else(|e| panic!("profile {v}: {e}"))
}

fn compiled(v: Value) -> SeccompProgram {
    compile(&profile(v)).unwrap()
}

/// What the filter returns for syscall `name` on `abi` with `args`.
fn eval(prog: &SeccompProgram, abi: Abi, name: &str, args: [u64; 6]) -> u32 {
    eval_nr(prog, abi, abi.syscall(name).unwrap(), args)
}

fn eval_nr(prog: &SeccompProgram, abi: Abi, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&abi.audit_arch().to_ne_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
    }
    bpf::run(&prog.filter, &data)
}

/// The operator semantics of libseccomp, on 64-bit values.
fn holds(op: Op, arg: u64, value: u64, value_two: u64) -> bool {
    match op {
        Op::ScmpCmpNe => arg != value,
        Op::ScmpCmpLt => arg < value,
        Op::ScmpCmpLe => arg <= value,
        Op::ScmpCmpEq => arg == value,
        Op::ScmpCmpGe => arg >= value,
        Op::ScmpCmpGt => arg > value,
        Op::ScmpCmpMaskedEq => arg & value == value_two,
    }
}

const OPS: [(Op, &str); 7] = [
    (Op::ScmpCmpNe, "SCMP_CMP_NE"),
    (Op::ScmpCmpLt, "SCMP_CMP_LT"),
    (Op::ScmpCmpLe, "SCMP_CMP_LE"),
    (Op::ScmpCmpEq, "SCMP_CMP_EQ"),
    (Op::ScmpCmpGe, "SCMP_CMP_GE"),
    (Op::ScmpCmpGt, "SCMP_CMP_GT"),
    (Op::ScmpCmpMaskedEq, "SCMP_CMP_MASKED_EQ"),
];

/// Above 2^32 so that both halves matter.
const VALUE: u64 = 0x1_0000_0005;
const MASK: u64 = 0xf_0000_00ff;
const PROBES: [u64; 13] = [
    0,
    4,
    5,
    6,
    VALUE - 1,
    VALUE,
    VALUE + 1,
    0x1_0000_0000,
    0x2_0000_0005,
    0xffff_ffff,
    0x1_ffff_ff05,
    0x3_0000_0105,
    u64::MAX,
];

/// getppid fails with errno 20+i when arg1 == i and `arg0 <op i> VALUE`.
fn operator_profile() -> Value {
    let rules: Vec<Value> = OPS
        .iter()
        .enumerate()
        .map(|(i, (op, name))| {
            let (value, value_two) = if *op == Op::ScmpCmpMaskedEq {
                (MASK, VALUE)
            } else {
                (VALUE, 0)
            };
            json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 20 + i,
                   "args": [{"index": 1, "value": i, "op": "SCMP_CMP_EQ"},
                            {"index": 0, "value": value, "valueTwo": value_two, "op": name}]})
        })
        .collect();
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
}

fn expected_operator_result(i: usize, arg: u64) -> Option<i32> {
    let (op, _) = OPS[i];
    let (value, value_two) = if op == Op::ScmpCmpMaskedEq {
        (MASK, VALUE)
    } else {
        (VALUE, 0)
    };
    holds(op, arg, value, value_two).then_some(20 + i as i32)
}

// ---- translation -------------------------------------------------------

#[test]
fn every_action_maps_to_its_kernel_return_value() {
    let cases = [
        ("SCMP_ACT_ALLOW", None, ALLOW),
        ("SCMP_ACT_ERRNO", None, EPERM),
        ("SCMP_ACT_ERRNO", Some(95), errno_ret(95)),
        ("SCMP_ACT_KILL", None, KILL_THREAD),
        ("SCMP_ACT_KILL_THREAD", None, KILL_THREAD),
        (
            "SCMP_ACT_KILL_PROCESS",
            None,
            libc::SECCOMP_RET_KILL_PROCESS,
        ),
        ("SCMP_ACT_TRAP", None, libc::SECCOMP_RET_TRAP),
        ("SCMP_ACT_TRACE", None, libc::SECCOMP_RET_TRACE | 1),
        ("SCMP_ACT_TRACE", Some(77), libc::SECCOMP_RET_TRACE | 77),
        ("SCMP_ACT_LOG", None, libc::SECCOMP_RET_LOG),
        ("SCMP_ACT_NOTIFY", None, libc::SECCOMP_RET_USER_NOTIF),
    ];
    for (action, errno, want) in cases {
        let mut rule = json!({"names": ["getpid"], "action": action});
        if let Some(e) = errno {
            rule["errnoRet"] = json!(e);
        }
        let prog = compiled(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                                   "syscalls": [rule]}),
        );
        assert_eq!(eval(&prog, Abi::X86_64, "getpid", [0; 6]), want, "{action}");
        assert_eq!(eval(&prog, Abi::X86_64, "getppid", [0; 6]), ENOSYS);
        assert_eq!(prog.uses_notify(), action == "SCMP_ACT_NOTIFY");
    }
}

#[test]
fn default_action_uses_default_errno_ret() {
    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13}));
    assert_eq!(eval(&prog, Abi::X86_64, "getpid", [0; 6]), errno_ret(13));
    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ERRNO"}));
    assert_eq!(eval(&prog, Abi::X86_64, "getpid", [0; 6]), EPERM);
}

#[test]
fn unlisted_architectures_are_killed_and_native_is_always_filtered() {
    let rule = json!([{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]);
    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rule}));
    assert_eq!(eval(&prog, Abi::X86_64, "getpid", [0; 6]), errno_ret(95));
    assert_eq!(eval(&prog, Abi::X86, "getpid", [0; 6]), KILL_THREAD);
    assert_eq!(eval(&prog, Abi::X32, "getpid", [0; 6]), KILL_THREAD);

    // Listing only x86 still filters the native ABI, as libseccomp does.
    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
                               "architectures": ["SCMP_ARCH_X86"], "syscalls": rule}));
    assert_eq!(eval(&prog, Abi::X86_64, "getpid", [0; 6]), errno_ret(95));
    assert_eq!(eval(&prog, Abi::X86, "getpid", [0; 6]), errno_ret(95));
    assert_eq!(eval(&prog, Abi::X32, "getpid", [0; 6]), KILL_THREAD);
}

#[test]
fn each_listed_architecture_uses_its_own_syscall_numbers() {
    let prog = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_ARM"],
        "syscalls": [{"names": ["getpid", "socketcall", "arm_fadvise64_64"],
                      "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]}));
    for abi in Abi::ALL {
        assert_eq!(
            eval(&prog, *abi, "getpid", [0; 6]),
            errno_ret(95),
            "{abi:?}"
        );
        assert_eq!(eval(&prog, *abi, "getppid", [0; 6]), ALLOW, "{abi:?}");
    }
    assert_eq!(eval(&prog, Abi::X86, "socketcall", [0; 6]), errno_ret(95));
    // x86_64's getpid number (39) is umask on i386: not matched there.
    assert_eq!(eval_nr(&prog, Abi::X86, 39, [0; 6]), ALLOW);
    assert_eq!(
        eval_nr(&prog, Abi::X32, 20 | X32_SYSCALL_BIT, [0; 6]),
        ALLOW
    );
}

#[test]
fn every_operator_compares_both_halves_of_64_bit_arguments() {
    let prog = compiled(operator_profile());
    for (i, (_, op_name)) in OPS.iter().enumerate() {
        for arg in PROBES {
            let want = expected_operator_result(i, arg).map_or(ALLOW, errno_ret);
            let got = eval(&prog, Abi::X86_64, "getppid", [arg, i as u64, 0, 0, 0, 0]);
            assert_eq!(got, want, "{op_name} with arg {arg:#x}");
        }
    }
}

#[test]
fn thirty_two_bit_abis_compare_only_low_words() {
    let prog = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": VALUE, "op": "SCMP_CMP_EQ"}]}]}));
    assert_eq!(eval(&prog, Abi::X86, "getppid", [5, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(eval(&prog, Abi::X86, "getppid", [6, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        eval(&prog, Abi::X86_64, "getppid", [5, 0, 0, 0, 0, 0]),
        ALLOW
    );
}

#[test]
fn conditions_of_one_rule_must_all_hold() {
    let prog = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                               {"index": 5, "value": 9, "op": "SCMP_CMP_GE"}]}]}));
    assert_eq!(
        eval(&prog, Abi::X86_64, "getppid", [1, 0, 0, 0, 0, 9]),
        EPERM
    );
    assert_eq!(
        eval(&prog, Abi::X86_64, "getppid", [1, 0, 0, 0, 0, 8]),
        ALLOW
    );
    assert_eq!(
        eval(&prog, Abi::X86_64, "getppid", [2, 0, 0, 0, 0, 9]),
        ALLOW
    );
}

#[test]
fn a_repeated_argument_index_splits_into_separate_rules() {
    let prog = compiled(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                               {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}));
    assert_eq!(
        eval(&prog, Abi::X86_64, "getppid", [1, 0, 0, 0, 0, 0]),
        EPERM
    );
    assert_eq!(
        eval(&prog, Abi::X86_64, "getppid", [2, 0, 0, 0, 0, 0]),
        EPERM
    );
    assert_eq!(
        eval(&prog, Abi::X86_64, "getppid", [3, 0, 0, 0, 0, 0]),
        ALLOW
    );
}

#[test]
fn conditional_rules_are_tried_before_the_unconditional_one() {
    let prog = compiled(json!({
        "defaultAction": "SCMP_ACT_KILL",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_KILL",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}));
    let p = |arg| eval(&prog, Abi::X86_64, "personality", [arg, 0, 0, 0, 0, 0]);
    assert_eq!(p(0xffff_ffff), ALLOW);
    assert_eq!(p(0), errno_ret(22));
    // Same action as the default: dropped, like runc does.
    assert_eq!(p(8), errno_ret(22));
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    let allow = json!([{"names": ["getpid", "exit_group"], "action": "SCMP_ACT_ALLOW"}]);
    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": allow}));
    assert_eq!(eval(&prog, Abi::X86_64, "getppid", [0; 6]), EPERM);
    assert_eq!(eval(&prog, Abi::X86_64, "listmount", [0; 6]), ENOSYS);
    assert_eq!(eval(&prog, Abi::X86_64, "exit_group", [0; 6]), ALLOW);

    let prog = compiled(json!({"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": allow}));
    assert_eq!(eval(&prog, Abi::X86_64, "listmount", [0; 6]), ENOSYS);

    let prog = compiled(json!({"defaultAction": "SCMP_ACT_LOG", "syscalls": allow}));
    assert_eq!(
        eval(&prog, Abi::X86_64, "listmount", [0; 6]),
        libc::SECCOMP_RET_LOG
    );
}

#[test]
fn flags_are_passed_to_seccomp_and_notify_adds_a_listener() {
    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}));
    let want = libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    assert_eq!(prog.flags, want);
    assert!(!prog.uses_notify());

    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}));
    assert!(prog.uses_notify());
    let want = libc::SECCOMP_FILTER_FLAG_TSYNC
        | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
        | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    assert_eq!(prog.flags, want);
}

fn parse_error(v: Value) -> String {
    match parse_profile(&v) {
        Ok(p) => compile(&p).unwrap_err().to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_profiles_are_rejected_with_errors_naming_the_problem() {
    let rule = |r: Value| json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [r]});
    assert_eq!(
        parse_error(json!({"defaultAction": "SCMP_ACT_FOO"})),
        r#"unknown seccomp action "SCMP_ACT_FOO""#
    );
    assert_eq!(
        parse_error(rule(json!({"names": ["getpid"], "action": "SCMP_ACT_BAR"}))),
        r#"unknown seccomp action "SCMP_ACT_BAR""#
    );
    assert_eq!(
        parse_error(rule(
            json!({"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]})
        )),
        r#"unknown seccomp operator "SCMP_CMP_XX""#
    );
    assert_eq!(
        parse_error(json!({"defaultAction": "SCMP_ACT_ALLOW",
                           "architectures": ["SCMP_ARCH_VAX"]})),
        r#"unknown seccomp architecture "SCMP_ARCH_VAX""#
    );
    assert_eq!(
        parse_error(json!({"defaultAction": "SCMP_ACT_ALLOW",
                           "flags": ["SECCOMP_FILTER_FLAG_NOPE"]})),
        r#"unknown seccomp flag "SECCOMP_FILTER_FLAG_NOPE""#
    );
    assert_eq!(
        parse_error(rule(json!({"names": ["getpid", "fly_to_moon"],
                                "action": "SCMP_ACT_ERRNO"}))),
        r#"unknown syscall "fly_to_moon""#
    );
    assert!(parse_error(rule(
        json!({"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                                    "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]})
    ))
    .contains("argument index 6 out of range"));
    assert!(parse_error(json!({"defaultAction": "SCMP_ACT_NOTIFY"})).contains("default"));
}

#[test]
fn names_only_other_architectures_have_are_skipped() {
    let prog = compiled(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["s390_pci_mmio_read", "getpid"], "action": "SCMP_ACT_ALLOW"}]}));
    assert_eq!(eval(&prog, Abi::X86_64, "getpid", [0; 6]), ALLOW);
}

// ---- real kernel -------------------------------------------------------

mod kernel {
    use std::ffi::CString;
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};

    use nix::sys::signal::Signal;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};

    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Outcome {
        Exit(i32),
        Killed(Signal),
    }

    /// Exit codes the child uses when it could not even run the body.
    const NO_NEW_PRIVS_FAILED: i32 = 120;
    const LOAD_FAILED: i32 = 121;

    /// Forks; the child sets no_new_privs, loads `prog`, runs `body` and
    /// exits with its result.
    fn in_child(prog: &SeccompProgram, body: impl FnOnce(Option<OwnedFd>) -> i32) -> Outcome {
        // SAFETY: the child only makes syscalls and exits with _exit; what it
        // allocates (the NOTIFY test) is fork-safe with glibc's malloc.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                // SAFETY: plain prctl, then _exit without running destructors.
                unsafe {
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                        libc::_exit(NO_NEW_PRIVS_FAILED);
                    }
                    let code = match prog.load() {
                        Ok(listener) => body(listener),
                        Err(_) => LOAD_FAILED,
                    };
                    libc::_exit(code)
                }
            }
            ForkResult::Parent { child } => match waitpid(child, None).expect("waitpid") {
                WaitStatus::Exited(_, code) => Outcome::Exit(code),
                WaitStatus::Signaled(_, sig, _) => Outcome::Killed(sig),
                other => panic!("unexpected child status {other:?}"),
            },
        }
    }

    /// errno of a raw syscall, 0 on success.
    fn errno_of(nr: libc::c_long, args: [u64; 6]) -> i32 {
        // SAFETY: tests only pass syscalls whose arguments are not pointers
        // or are null/valid as documented at the call site.
        let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
        if r == -1 {
            nix::errno::Errno::last_raw()
        } else {
            0
        }
    }

    fn getcwd_errno() -> i32 {
        let mut buf = [0u8; 256];
        // SAFETY: buf is valid for its length.
        let r = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
        if r == -1 {
            nix::errno::Errno::last_raw()
        } else {
            0
        }
    }

    #[test]
    fn getcwd_fails_with_the_errnos_the_profile_asks_for() {
        let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOTSUP},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}));
        assert_eq!(
            in_child(&prog, |_| getcwd_errno()),
            Outcome::Exit(libc::ENOTSUP)
        );
        let getppid = |_| errno_of(libc::SYS_getppid, [0; 6]);
        assert_eq!(in_child(&prog, getppid), Outcome::Exit(libc::EPERM));
        assert_eq!(
            in_child(&prog, |_| errno_of(libc::SYS_getpid, [0; 6])),
            Outcome::Exit(0)
        );
    }

    #[test]
    fn default_errno_applies_outside_a_small_allow_list() {
        let prog = compiled(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
            "syscalls": [{"names": ["getpid", "exit", "exit_group"],
                          "action": "SCMP_ACT_ALLOW"}]}),
        );
        assert_eq!(
            in_child(&prog, |_| errno_of(libc::SYS_getpid, [0; 6])),
            Outcome::Exit(0)
        );
        let getppid = |_| errno_of(libc::SYS_getppid, [0; 6]);
        assert_eq!(in_child(&prog, getppid), Outcome::Exit(13));
        // Numbered above everything the profile names: looks unimplemented.
        let statmount = |_| errno_of(457, [0; 6]);
        assert_eq!(in_child(&prog, statmount), Outcome::Exit(libc::ENOSYS));
    }

    #[test]
    fn every_operator_filters_real_syscall_arguments() {
        let prog = compiled(operator_profile());
        for (i, (_, op_name)) in OPS.iter().enumerate() {
            let outcome = in_child(&prog, |_| {
                for (n, arg) in PROBES.iter().enumerate() {
                    let want = expected_operator_result(i, *arg).unwrap_or(0);
                    if errno_of(libc::SYS_getppid, [*arg, i as u64, 0, 0, 0, 0]) != want {
                        return 1 + n as i32;
                    }
                }
                0
            });
            assert_eq!(
                outcome,
                Outcome::Exit(0),
                "{op_name}: probe index+1 that failed"
            );
        }
    }

    #[test]
    fn personality_is_allowed_only_with_listed_arguments() {
        // Docker's shape: an allow-list with personality allowed for some values.
        let prog = compiled(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}));
        let query = |_| errno_of(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]);
        assert_eq!(in_child(&prog, query), Outcome::Exit(0));
        let set = |_| errno_of(libc::SYS_personality, [0x0040_0000, 0, 0, 0, 0, 0]);
        assert_eq!(in_child(&prog, set), Outcome::Exit(libc::EPERM));
    }

    #[test]
    fn filter_flags_are_accepted_by_the_kernel() {
        let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}));
        let getppid = |_| errno_of(libc::SYS_getppid, [0; 6]);
        assert_eq!(in_child(&prog, getppid), Outcome::Exit(libc::EPERM));
    }

    #[test]
    fn loading_without_no_new_privs_or_cap_sys_admin_is_a_clear_error() {
        use caps::{CapSet, Capability};
        let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        // SAFETY: the child only drops a capability, tries the load and _exits.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let dropped = caps::drop(None, CapSet::Effective, Capability::CAP_SYS_ADMIN);
                let code = match (dropped, prog.load()) {
                    (Ok(()), Err(SeccompError::LoadPermission)) => 0,
                    _ => 1,
                };
                // SAFETY: leave without running the parent's destructors.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => {
                assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
            }
        }
        let msg = SeccompError::LoadPermission.to_string();
        assert!(msg.contains("no_new_privs") && msg.contains("CAP_SYS_ADMIN"));
    }

    /// getpid through the i386 entry point (int 0x80): nr 20 there.
    fn int80_getpid() -> i32 {
        let ret: i32;
        // SAFETY: i386 getpid takes no arguments; the compat entry clobbers
        // only eax and r8-r11.
        unsafe {
            std::arch::asm!("int 0x80", inlateout("eax") 20 => ret,
                lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _);
        }
        ret
    }

    #[test]
    fn x32_calls_are_killed_unless_listed() {
        let rule = json!([{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]);
        let x32_getpid = |_| errno_of((39 | X32_SYSCALL_BIT).into(), [0; 6]);
        let native_only = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rule}));
        assert_eq!(
            in_child(&native_only, x32_getpid),
            Outcome::Killed(Signal::SIGSYS)
        );
        let with_x32 = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"], "syscalls": rule}));
        assert_eq!(in_child(&with_x32, x32_getpid), Outcome::Exit(95));
    }

    #[test]
    fn i386_calls_are_killed_unless_listed() {
        let none = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]}));
        let probe = in_child(&none, |_| i32::from(int80_getpid() <= 0));
        if probe != Outcome::Exit(0) {
            eprintln!("skipping: no i386 syscall entry on this kernel ({probe:?})");
            return;
        }
        let rule = json!([{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]);
        let native_only = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rule}));
        assert_eq!(
            in_child(&native_only, |_| int80_getpid()),
            Outcome::Killed(Signal::SIGSYS)
        );
        let with_x86 = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": rule}));
        assert_eq!(in_child(&with_x86, |_| -int80_getpid()), Outcome::Exit(95));
    }

    /// Accepts one agent connection, checks the message, answers the first
    /// notification with `value`; returns the ContainerProcessState.
    fn agent(socket: std::os::unix::net::UnixListener, value: i64) -> Value {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        use std::os::fd::FromRawFd;
        let (conn, _) = socket.accept().expect("accept");
        let mut buf = vec![0u8; 4096];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let (len, fd) = {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::empty(),
            )
            .expect("recvmsg");
            let fd = msg.cmsgs().unwrap().find_map(|c| match c {
                ControlMessageOwned::ScmRights(fds) => Some(fds[0]),
                _ => None,
            });
            (msg.bytes, fd.expect("listener fd in SCM_RIGHTS"))
        };
        // SAFETY: SCM_RIGHTS gave us a new fd that nobody else owns.
        let listener = unsafe { OwnedFd::from_raw_fd(fd) };
        let state: Value = serde_json::from_slice(&buf[..len]).expect("agent message is JSON");

        // SAFETY: zeroed plain-data structs, as SECCOMP_IOCTL_NOTIF_RECV requires.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: req is a valid seccomp_notif for the kernel to fill.
        let r = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut req,
            )
        };
        assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
        assert_eq!(req.data.nr, libc::SYS_getppid as i32);
        let mut resp = libc::seccomp_notif_resp {
            id: req.id,
            val: value,
            error: 0,
            flags: 0,
        };
        // SAFETY: resp is a valid seccomp_notif_resp.
        let r = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &mut resp,
            )
        };
        assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
        state
    }

    #[test]
    fn notify_hands_the_listener_to_the_agent_which_answers_the_call() {
        let dir = std::env::temp_dir().join(format!("runr-seccomp-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.sock");
        let socket = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let agent = std::thread::spawn(move || agent(socket, 4242));

        let prog = compiled(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": path, "listenerMetadata": "hello",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}));
        let state = json!({"ociVersion": "1.2.0", "id": "c1", "status": "creating",
                           "pid": 1, "bundle": "/b"});
        let outcome = in_child(&prog, |listener| {
            let Some(listener) = listener else { return 2 };
            let pid = std::process::id() as i32;
            if send_listener(&path, listener.as_fd(), &state, "hello", pid).is_err() {
                return 3;
            }
            drop(listener);
            // SAFETY: getppid has no arguments.
            match unsafe { libc::getppid() } {
                4242 => 0,
                _ => 4,
            }
        });
        let message = agent.join().expect("agent thread");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(outcome, Outcome::Exit(0));
        assert_eq!(message["fds"], json!(["seccompFd"]));
        assert_eq!(message["metadata"], "hello");
        assert_eq!(message["state"]["id"], "c1");
        assert!(message["pid"].as_i64().unwrap() > 1);
    }

    /// Docker/podman's profile, resolved the way podman resolves it for a
    /// container with podman's default capabilities on amd64.
    fn containers_default_profile(raw: &Value) -> Value {
        const CAPS: [&str; 11] = [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FOWNER",
            "CAP_FSETID",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_SETFCAP",
            "CAP_SETGID",
            "CAP_SETPCAP",
            "CAP_SETUID",
            "CAP_SYS_CHROOT",
        ];
        let list = |v: &Value, k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let mut archs = Vec::new();
        for m in raw["archMap"].as_array().unwrap() {
            if m["architecture"] == "SCMP_ARCH_X86_64" {
                archs.push(m["architecture"].clone());
                archs.extend(m["subArchitectures"].as_array().unwrap().iter().cloned());
            }
        }
        let mut syscalls = Vec::new();
        for s in raw["syscalls"].as_array().unwrap() {
            let (inc, exc) = (&s["includes"], &s["excludes"]);
            let arches = list(inc, "arches");
            let included = (arches.is_empty() || arches.iter().any(|a| a == "amd64"))
                && list(inc, "caps").iter().all(|c| CAPS.contains(&c.as_str()));
            let excluded = list(exc, "arches").iter().any(|a| a == "amd64")
                || list(exc, "caps").iter().any(|c| CAPS.contains(&c.as_str()));
            if included && !excluded {
                let mut rule = json!({"names": s["names"], "action": s["action"]});
                for k in ["errnoRet", "args"] {
                    if !s[k].is_null() {
                        rule[k] = s[k].clone();
                    }
                }
                syscalls.push(rule);
            }
        }
        json!({"defaultAction": raw["defaultAction"], "defaultErrnoRet": raw["defaultErrnoRet"],
               "architectures": archs, "syscalls": syscalls})
    }

    #[test]
    fn containers_default_profile_runs_programs_and_blocks_what_it_lists() {
        let path = "/usr/share/containers/seccomp.json";
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: {path} absent (apt-get install containers-common)");
            return;
        };
        let raw: Value = serde_json::from_str(&text).unwrap();
        let prog = compile(&profile(containers_default_profile(&raw))).unwrap();
        assert!(prog.len() < 4096);
        eprintln!(
            "containers default profile: {} BPF instructions",
            prog.len()
        );
        let true_bin = CString::new("/bin/true").unwrap();
        let argv = [true_bin.as_ptr(), std::ptr::null()];
        let checks: [(&str, libc::c_long, [u64; 6], i32); 8] = [
            (
                "keyctl get keyring",
                libc::SYS_keyctl,
                [0, -2i64 as u64, 1, 0, 0, 0],
                0,
            ),
            (
                "unshare user ns",
                libc::SYS_unshare,
                [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0],
                0,
            ),
            (
                "bpf without CAP_SYS_ADMIN",
                libc::SYS_bpf,
                [0; 6],
                libc::EPERM,
            ),
            ("kexec_load", libc::SYS_kexec_load, [0; 6], libc::EPERM),
            (
                "audit netlink socket",
                libc::SYS_socket,
                [libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 9, 0, 0, 0],
                libc::EINVAL,
            ),
            (
                "unlisted personality",
                libc::SYS_personality,
                [0x0040_0000, 0, 0, 0, 0, 0],
                libc::ENOSYS,
            ),
            ("unlisted add_key", libc::SYS_add_key, [0; 6], libc::ENOSYS),
            ("number beyond the table", 1000, [0; 6], libc::ENOSYS),
        ];
        let outcome = in_child(&prog, |_| {
            // An ordinary program still runs under the filter.
            // SAFETY: fork/execv/waitpid in a single-threaded child; argv was
            // built before the outer fork.
            let status = unsafe {
                match libc::fork() {
                    0 => {
                        libc::execv(argv[0], argv.as_ptr());
                        libc::_exit(127)
                    }
                    pid => {
                        let mut status = 0;
                        libc::waitpid(pid, &mut status, 0);
                        status
                    }
                }
            };
            if status != 0 {
                return 100;
            }
            for (n, (_, nr, args, want)) in checks.iter().enumerate() {
                if errno_of(*nr, *args) != *want {
                    return 1 + n as i32;
                }
            }
            0
        });
        let what = match outcome {
            Outcome::Exit(n @ 1..=8) => checks[n as usize - 1].0,
            Outcome::Exit(100) => "running /bin/true",
            _ => "",
        };
        assert_eq!(outcome, Outcome::Exit(0), "failed: {what}");
    }
}
