//! Translation of an OCI seccomp profile into a BPF program.
//!
//! Semantics follow runc with libseccomp:
//! - the native ABI is always filtered, plus every listed ABI of this host;
//!   any other ABI (an unlisted x86 or x32 call) is killed (KILL_THREAD, the
//!   libseccomp bad-arch action); architectures this kernel never reports are
//!   ignored;
//! - names an ABI lacks are skipped there; names no architecture has are errors;
//! - a rule whose action equals the default action is dropped;
//! - a rule naming one argument index twice becomes one rule per condition;
//! - on 32-bit ABIs only the low 32 bits of arguments are compared;
//! - unless the default action lets calls through (ALLOW, LOG, TRACE) or
//!   already returns ENOSYS, syscalls numbered above the highest one the
//!   profile names get ENOSYS, so newer syscalls look unimplemented.
//!
//! For one syscall, conditional rules are tried in profile order before its
//! unconditional rule; the first that matches decides.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, LinuxSyscall};

use super::arch::{self, Abi, X32_SYSCALL_BIT};
use super::bpf::{Asm, Cond, Label, Target};
use super::SeccompError;

/// Offsets in struct seccomp_data.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

/// Conditional branches per dispatch chunk before shared returns are repeated,
/// so that branches to them stay short.
const DISPATCH_CHUNK: usize = 100;

/// Kernel limit on filter length (BPF_MAXINSNS).
pub(super) const MAX_INSNS: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Condition {
    pub(super) index: u32,
    pub(super) op: LinuxSeccompOperator,
    pub(super) value: u64,
    pub(super) value_two: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Rule {
    pub(super) action: u32,
    pub(super) conds: Vec<Condition>,
}

/// What to do for one syscall number on one ABI.
#[derive(Default, Debug)]
struct SyscallRules {
    conditional: Vec<Rule>,
    unconditional: Option<u32>,
}

/// The profile after validation, before code generation.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) default: u32,
    pub(super) abis: Vec<Abi>,
    /// Syscall name and its rules, in profile order.
    pub(super) rules: Vec<(String, Rule)>,
    /// Every name the profile mentions (also those whose rules were dropped).
    pub(super) names: BTreeSet<String>,
    pub(super) enosys_stub: bool,
    pub(super) uses_notify: bool,
}

/// The seccomp return value of an action.
pub(super) fn action_ret(action: LinuxSeccompAction, errno: Option<u32>) -> u32 {
    let data = |ret: u32| ret | (errno.unwrap_or(libc::EPERM as u32) & libc::SECCOMP_RET_DATA);
    match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            libc::SECCOMP_RET_KILL_THREAD
        }
        LinuxSeccompAction::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => data(libc::SECCOMP_RET_ERRNO),
        LinuxSeccompAction::ScmpActTrace => data(libc::SECCOMP_RET_TRACE),
        LinuxSeccompAction::ScmpActNotify => libc::SECCOMP_RET_USER_NOTIF,
        LinuxSeccompAction::ScmpActLog => libc::SECCOMP_RET_LOG,
        LinuxSeccompAction::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
    }
}

pub(super) fn plan(profile: &LinuxSeccomp) -> Result<Plan, SeccompError> {
    let default_action = profile.default_action();
    if default_action == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::NotifyAsDefault);
    }
    let default = action_ret(default_action, profile.default_errno_ret());

    let mut abis = vec![Abi::NATIVE];
    for &a in profile.architectures().iter().flatten() {
        match Abi::from_spec(a) {
            Some(abi) => abis.push(abi),
            None => log::debug!("seccomp: architecture {a} cannot occur on this host, ignored"),
        }
    }
    abis.sort();
    abis.dedup();

    let mut rules = Vec::new();
    let mut names = BTreeSet::new();
    let mut uses_notify = false;
    for syscall in profile.syscalls().iter().flatten() {
        for name in syscall.names() {
            if !arch::is_known_syscall(name) {
                return Err(SeccompError::UnknownSyscall(name.clone()));
            }
            names.insert(name.clone());
        }
        let action = action_ret(syscall.action(), syscall.errno_ret());
        if action == default {
            continue;
        }
        if syscall.action() == LinuxSeccompAction::ScmpActNotify {
            uses_notify = true;
            // The init hands the listener over after the filter is loaded: a
            // notified write (runc's refusal) or sendmsg (what runr's
            // channel sends with) would wait for an agent that has nothing yet.
            if let Some(n) = syscall
                .names()
                .iter()
                .find(|n| *n == "write" || *n == "sendmsg")
            {
                return Err(SeccompError::NotifyOn(n.clone()));
            }
        }
        for rule in split_rules(syscall, action)? {
            for name in syscall.names() {
                rules.push((name.clone(), rule.clone()));
            }
        }
    }

    let permissive_default = matches!(
        default_action,
        LinuxSeccompAction::ScmpActAllow
            | LinuxSeccompAction::ScmpActLog
            | LinuxSeccompAction::ScmpActTrace
    );
    let enosys_stub =
        !permissive_default && profile.default_errno_ret() != Some(libc::ENOSYS as u32);
    Ok(Plan {
        default,
        abis,
        rules,
        names,
        enosys_stub,
        uses_notify,
    })
}

/// The rules of one profile entry: one rule with all conditions ANDed, or,
/// when an argument index repeats, one rule per condition (as runc does).
fn split_rules(syscall: &LinuxSyscall, action: u32) -> Result<Vec<Rule>, SeccompError> {
    let mut conds = Vec::new();
    for arg in syscall.args().iter().flatten() {
        if arg.index() > 5 {
            return Err(SeccompError::ArgIndex {
                syscall: syscall.names().join(","),
                index: arg.index(),
            });
        }
        conds.push(Condition {
            index: arg.index() as u32,
            op: arg.op(),
            value: arg.value(),
            value_two: arg.value_two().unwrap_or(0),
        });
    }
    let mut seen = BTreeSet::new();
    let repeated = !conds.iter().all(|c| seen.insert(c.index));
    Ok(if repeated {
        conds
            .into_iter()
            .map(|c| Rule {
                action,
                conds: vec![c],
            })
            .collect()
    } else {
        vec![Rule { action, conds }]
    })
}

/// Generates the BPF program for a plan.
pub(super) fn generate(plan: &Plan) -> Vec<libc::sock_filter> {
    let mut asm = Asm::default();
    let bad_arch = asm.label();
    let has = |abi| plan.abis.contains(&abi);

    asm.load(OFF_ARCH);
    let x86_64_family = asm.label();
    asm.branch(
        Cond::Eq,
        Abi::X86_64.audit_arch(),
        Target::Label(x86_64_family),
        Target::Next,
    );
    let i386 = asm.label();
    if has(Abi::X86) {
        asm.branch(
            Cond::Eq,
            Abi::X86.audit_arch(),
            Target::Label(i386),
            Target::Next,
        );
    }
    asm.jump(bad_arch);

    // x86_64 and x32 share AUDIT_ARCH_X86_64; x32 numbers carry a flag bit.
    asm.bind(x86_64_family);
    asm.load(OFF_NR);
    let x32 = asm.label();
    let x32_target = if has(Abi::X32) { x32 } else { bad_arch };
    asm.branch(
        Cond::Set,
        X32_SYSCALL_BIT,
        Target::Label(x32_target),
        Target::Next,
    );
    section(&mut asm, plan, Abi::X86_64);
    if has(Abi::X32) {
        asm.bind(x32);
        section(&mut asm, plan, Abi::X32);
    }
    if has(Abi::X86) {
        asm.bind(i386);
        asm.load(OFF_NR);
        section(&mut asm, plan, Abi::X86);
    }
    asm.bind(bad_arch);
    asm.ret(libc::SECCOMP_RET_KILL_THREAD);
    asm.assemble()
}

/// The filter for one ABI; the syscall number is in A on entry.
fn section(asm: &mut Asm, plan: &Plan, abi: Abi) {
    let mut by_nr: BTreeMap<u32, SyscallRules> = BTreeMap::new();
    for (name, rule) in &plan.rules {
        let Some(nr) = abi.syscall(name) else {
            continue;
        };
        let entry = by_nr.entry(nr).or_default();
        if rule.conds.is_empty() {
            entry.unconditional.get_or_insert(rule.action);
        } else {
            entry.conditional.push(rule.clone());
        }
    }

    let max_nr = plan.names.iter().filter_map(|n| abi.syscall(n)).max();
    if let (true, Some(max_nr)) = (plan.enosys_stub, max_nr) {
        let known = asm.label();
        asm.branch(Cond::Gt, max_nr, Target::Next, Target::Label(known));
        asm.ret(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
        asm.bind(known);
    }

    // Dispatch: syscalls with one unconditional action branch straight to a
    // shared return; the others to their own block after the dispatch.
    let mut blocks = Vec::new();
    let entries: Vec<_> = by_nr.iter().collect();
    for (i, chunk) in entries.chunks(DISPATCH_CHUNK).enumerate() {
        let mut rets: BTreeMap<u32, Label> = BTreeMap::new();
        for &(&nr, rules) in chunk {
            let to = match (rules.conditional.is_empty(), rules.unconditional) {
                (true, Some(action)) => *rets.entry(action).or_insert_with(|| asm.label()),
                _ => {
                    let l = asm.label();
                    blocks.push((l, rules));
                    l
                }
            };
            asm.branch(Cond::Eq, nr, Target::Label(to), Target::Next);
        }
        let last = (i + 1) * DISPATCH_CHUNK >= entries.len();
        let next_chunk = asm.label();
        if last {
            asm.ret(plan.default);
        } else {
            asm.jump(next_chunk);
        }
        for (action, label) in rets {
            asm.bind(label);
            asm.ret(action);
        }
        asm.bind(next_chunk);
    }
    if entries.is_empty() {
        asm.ret(plan.default);
    }

    for (label, rules) in blocks {
        asm.bind(label);
        for rule in &rules.conditional {
            let fail = asm.label();
            for cond in &rule.conds {
                condition(asm, cond, abi.has_64bit_args(), fail);
            }
            asm.ret(rule.action);
            asm.bind(fail);
        }
        asm.ret(rules.unconditional.unwrap_or(plan.default));
    }
}

/// Emits code that falls through when `cond` holds and jumps to `fail` otherwise.
fn condition(asm: &mut Asm, c: &Condition, wide: bool, fail: Label) {
    use LinuxSeccompOperator as Op;
    let lo_off = OFF_ARGS + 8 * c.index;
    let hi_off = lo_off + 4;
    let (v, v2) = (c.value, c.value_two);
    let (hi, lo) = ((v >> 32) as u32, v as u32);
    let f = Target::Label(fail);
    let n = Target::Next;
    if !wide {
        asm.load(lo_off);
        match c.op {
            Op::ScmpCmpEq => asm.branch(Cond::Eq, lo, n, f),
            Op::ScmpCmpNe => asm.branch(Cond::Eq, lo, f, n),
            Op::ScmpCmpGt => asm.branch(Cond::Gt, lo, n, f),
            Op::ScmpCmpGe => asm.branch(Cond::Ge, lo, n, f),
            Op::ScmpCmpLt => asm.branch(Cond::Ge, lo, f, n),
            Op::ScmpCmpLe => asm.branch(Cond::Gt, lo, f, n),
            Op::ScmpCmpMaskedEq => {
                asm.and(lo);
                asm.branch(Cond::Eq, v2 as u32, n, f);
            }
        }
        return;
    }
    let pass = asm.label();
    let p = Target::Label(pass);
    asm.load(hi_off);
    match c.op {
        Op::ScmpCmpEq => {
            asm.branch(Cond::Eq, hi, n, f);
            asm.load(lo_off);
            asm.branch(Cond::Eq, lo, n, f);
        }
        Op::ScmpCmpNe => {
            asm.branch(Cond::Eq, hi, n, p);
            asm.load(lo_off);
            asm.branch(Cond::Eq, lo, f, n);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            asm.branch(Cond::Gt, hi, p, n);
            asm.branch(Cond::Eq, hi, n, f);
            asm.load(lo_off);
            let low = if c.op == Op::ScmpCmpGt {
                Cond::Gt
            } else {
                Cond::Ge
            };
            asm.branch(low, lo, n, f);
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            asm.branch(Cond::Gt, hi, f, n);
            asm.branch(Cond::Eq, hi, n, p);
            asm.load(lo_off);
            // lo < v  <=>  !(lo >= v);  lo <= v  <=>  !(lo > v)
            let low = if c.op == Op::ScmpCmpLt {
                Cond::Ge
            } else {
                Cond::Gt
            };
            asm.branch(low, lo, f, n);
        }
        Op::ScmpCmpMaskedEq => {
            asm.and((v >> 32) as u32);
            asm.branch(Cond::Eq, (v2 >> 32) as u32, n, f);
            asm.load(lo_off);
            asm.and(lo);
            asm.branch(Cond::Eq, v2 as u32, n, f);
        }
    }
    asm.bind(pass);
}
